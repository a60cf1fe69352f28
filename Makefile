# ethpeer — the commands a developer and CI run. `make test` is the one CI calls.
CARGO ?= cargo
BIN := target/release/ethpeer

.PHONY: build test lint bench release size run fmt clean

build:
	$(CARGO) build

INTEROP_DEPS := tests/interop/node_modules/.package-lock.json

# The interop harness's pinned npm packages (a third-party devp2p peer).
$(INTEROP_DEPS): tests/interop/package-lock.json tests/interop/package.json
	cd tests/interop && npm ci --no-audit --no-fund --loglevel=error

# Everything: unit tests, spec vectors, property tests, simulations, CLI, loopback and interop.
test: $(INTEROP_DEPS)
	$(CARGO) test

lint:
	$(CARGO) fmt --check
	$(CARGO) clippy --all-targets -- -D warnings

# A program, not a timed test: prints figures as ratios to floors measured in the same run.
bench:
	$(CARGO) bench --bench wire

release:
	$(CARGO) build --release

size: release
	@ls -l $(BIN) | awk '{printf "ethpeer release binary: %d bytes (%.2f MiB, stripped)\n", $$5, $$5/1048576}'

fmt:
	$(CARGO) fmt

clean:
	$(CARGO) clean

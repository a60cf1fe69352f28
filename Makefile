# ethpeer — the commands a developer and CI run. `make test` is the one CI calls.
CARGO ?= cargo
BIN := target/release/ethpeer

.PHONY: build test lint bench bench-smoke release size run fmt clean sim rpc-venv fuzz fuzz-corpus fuzz-campaign crash-campaign flood

build:
	$(CARGO) build

INTEROP_DEPS := tests/interop/node_modules/.package-lock.json

# The interop harness's pinned npm packages (a third-party devp2p peer).
$(INTEROP_DEPS): tests/interop/package-lock.json tests/interop/package.json
	cd tests/interop && npm ci --no-audit --no-fund --loglevel=error

DISCV5_DEPS := tests/discv5_interop/node_modules/.package-lock.json

# A third-party discovery v5 node: the pinned @chainsafe/discv5 (Lodestar's), for tests/discv5_interop.rs.
$(DISCV5_DEPS): tests/discv5_interop/package-lock.json tests/discv5_interop/package.json
	cd tests/discv5_interop && npm ci --no-audit --no-fund --loglevel=error

CLIQUE_DEPS := tests/clique/node_modules/.package-lock.json

# A live pre-merge (Clique) peer: the pinned ethereumjs client, for the block propagation tests.
$(CLIQUE_DEPS): tests/clique/package-lock.json tests/clique/package.json
	cd tests/clique && npm ci --no-audit --no-fund --loglevel=error

RPC_VENV := tests/rpc/.venv
RPC_PYTHON := $(RPC_VENV)/bin/python

# The RPC tests' pinned Python packages (the Prometheus client's parser), in a virtual environment.
$(RPC_PYTHON): tests/rpc/requirements.txt
	python3 -m venv $(RPC_VENV)
	$(RPC_VENV)/bin/pip install --quiet --disable-pip-version-check -r tests/rpc/requirements.txt
	touch $(RPC_PYTHON)

rpc-venv: $(RPC_PYTHON)

# Everything: unit tests, spec vectors, property tests, simulations, CLI, loopback and interop;
# then the benchmark's correctness checks (bench-smoke, seconds, no new build) and one seed of the
# discovery simulation at full size in release (`make sim SEED=1`, 500 nodes: ~75 s of CPU here,
# plus a release build of the test, ~4 min of CPU here, so CI grows by a few minutes).
test: $(INTEROP_DEPS) $(CLIQUE_DEPS) $(DISCV5_DEPS) $(RPC_PYTHON)
	ETHPEER_TEST_PYTHON=$(CURDIR)/$(RPC_PYTHON) $(CARGO) test
	$(MAKE) bench-smoke
	$(MAKE) sim SEED=1 SEEDS= NODES=500

lint:
	$(CARGO) fmt --check
	$(CARGO) clippy --all-targets -- -D warnings

# The discovery simulations, v4 then v5, at full size (500 nodes) in a release build, printing
# their figures. `make sim SEED=<s> NODES=<n>` replays exactly the run a failure names (both
# versions); `SEEDS=<n>` runs 1..=n.
NODES ?= 500
sim:
	SIM_SEED=$(SEED) SIM_SEEDS=$(SEEDS) SIM_NODES=$(NODES) $(CARGO) test --release --test sim_discv4 --test sim_discv5 -- --nocapture --test-threads=1

# A program, not a timed test: prints figures as ratios to floors measured in the same run, and
# fixed numbers only as "target" or "reference". The discovery figures at 500 nodes (lookup
# rounds, time to fill tables) come from the simulation. Every node it starts has --bootnodes "".
bench:
	$(CARGO) bench --bench wire
	$(MAKE) sim SEED=1

# The benchmark program in the debug build `cargo test` already made, with ETHPEER_BENCH_SMOKE:
# every group's correctness checks run once and each operation is timed once, so the figures it
# prints are not judged (they mean nothing); a failed check, or a group that could not produce its
# figure, fails the run. Loopback only: every node it starts has --bootnodes "".
bench-smoke:
	ETHPEER_BENCH_SMOKE=1 $(CARGO) test --bench wire

# Fuzzing (fuzz/, its own crate; ARCHITECTURE.md "Fuzzing"). The machine has only stable Rust:
# cargo-fuzz runs with RUSTC_BOOTSTRAP=1 and no sanitizer (`-s none`); fuzz/run.sh installs
# cargo-fuzz if missing, builds every target once and runs each for FUZZ_SECONDS from the seed
# corpus, printing execs, coverage, corpus and crashes per target. `make test` runs only the smoke
# (tests/fuzz_smoke.rs: every body on its seeds and seeded mutations, no libFuzzer).
FUZZ_SECONDS ?= 60
# `address` builds the targets with AddressSanitizer instead (into fuzz/target-address/).
FUZZ_SANITIZER ?= none
fuzz-corpus:
	FUZZ_WRITE_CORPUS=$(CURDIR)/fuzz/corpus $(CARGO) test --test fuzz_smoke -- every_target

fuzz: fuzz-corpus
	FUZZ_SECONDS=$(FUZZ_SECONDS) FUZZ_TARGETS="$(FUZZ_TARGETS)" FUZZ_SANITIZER=$(FUZZ_SANITIZER) fuzz/run.sh

# The long campaign: each target until 10 million inputs or 30 minutes, whichever comes first
# (about 7 CPU-hours for all 30 here, most of it the stateful and crypto-bound targets the
# clock stops; not for a shared machine). FUZZ_CAMPAIGN_SECONDS lowers
# the time cap for a shorter run.
FUZZ_CAMPAIGN_SECONDS ?= 1800
fuzz-campaign: fuzz-corpus
	FUZZ_SECONDS=$(FUZZ_CAMPAIGN_SECONDS) FUZZ_RUNS=10000000 FUZZ_TARGETS="$(FUZZ_TARGETS)" fuzz/run.sh

# The kill -9 campaigns at the issue's size (make test runs 10 kills each).
CRASH_RUNS ?= 50
crash-campaign:
	CRASH_RUNS=$(CRASH_RUNS) $(CARGO) test --test crash_campaigns -- --nocapture --test-threads=1

# The namespace floods at the issue's length (make test runs 8 s each).
FLOOD_SECONDS ?= 30
flood:
	FLOOD_SECONDS=$(FLOOD_SECONDS) $(CARGO) test --test flood_namespaces -- --nocapture --test-threads=1

release:
	$(CARGO) build --release

size: release
	@ls -l $(BIN) | awk '{printf "ethpeer release binary: %d bytes (%.2f MiB, stripped)\n", $$5, $$5/1048576}'

fmt:
	$(CARGO) fmt

clean:
	$(CARGO) clean

#!/bin/sh
# Runs every cargo-fuzz target (or those named in $FUZZ_TARGETS) for $FUZZ_SECONDS each, or until
# $FUZZ_RUNS inputs (0: no limit), from the seed corpus in fuzz/corpus/<target>/ (written by
# `make fuzz-corpus`), and prints one line of figures per target: inputs executed, edges covered,
# features, corpus size, peak RSS, crashes. Crashing inputs land in fuzz/artifacts/<target>/;
# the script exits 1 if there is any. Stable Rust: RUSTC_BOOTSTRAP=1, no sanitizer (-s none) unless
# $FUZZ_SANITIZER names one (address: AddressSanitizer, whose runtime the stable toolchain ships;
# built into target-address/, apart from the plain build).
set -eu
cd "$(dirname "$0")"
: "${FUZZ_SECONDS:=60}"
: "${FUZZ_RUNS:=0}"
: "${FUZZ_SANITIZER:=none}"
export RUSTC_BOOTSTRAP=1
command -v cargo-fuzz >/dev/null || cargo install cargo-fuzz --locked
tdir=target
[ "$FUZZ_SANITIZER" = none ] || tdir="target-$FUZZ_SANITIZER"
if [ -n "${FUZZ_TARGETS:-}" ]; then
  for t in $FUZZ_TARGETS; do cargo fuzz build -s "$FUZZ_SANITIZER" --target-dir "$tdir" "$t"; done
else
  cargo fuzz build -s "$FUZZ_SANITIZER" --target-dir "$tdir"
fi
triple=$(rustc -vV | sed -n 's/^host: //p')
targets=${FUZZ_TARGETS:-$(ls fuzz_targets | sed 's/\.rs$//')}
mkdir -p logs
status=0
printf '%-26s %12s %8s %8s %7s %8s %7s\n' target inputs cov ft corpus rss_mb crashes
for t in $targets; do
  mkdir -p "corpus/$t" "artifacts/$t"
  log="logs/$t.log"
  # The binaries cargo fuzz built, run directly: `cargo fuzz run` would first re-check the
  # build, and a worktree checkout (where .git is a file) reruns ethpeer's build script.
  "$tdir/$triple/release/$t" "corpus/$t" \
    -max_total_time="$FUZZ_SECONDS" -runs="$( [ "$FUZZ_RUNS" = 0 ] && echo -1 || echo "$FUZZ_RUNS")" \
    -rss_limit_mb=2048 -malloc_limit_mb=256 -max_len=65536 \
    -print_final_stats=1 -artifact_prefix="artifacts/$t/" >"$log" 2>&1 || status=1
  runs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log" | tail -1)
  rss=$(sed -n 's/^stat::peak_rss_mb: *//p' "$log" | tail -1)
  last=$(grep -E '^#[0-9]+' "$log" | tail -1)
  cov=$(echo "$last" | sed -n 's/.*cov: \([0-9]*\).*/\1/p')
  ft=$(echo "$last" | sed -n 's/.*ft: \([0-9]*\).*/\1/p')
  corp=$(echo "$last" | sed -n 's/.*corp: \([0-9]*\).*/\1/p')
  crashes=$(ls "artifacts/$t" | wc -l)
  printf '%-26s %12s %8s %8s %7s %8s %7s\n' "$t" "${runs:-?}" "${cov:-?}" "${ft:-?}" "${corp:-?}" "${rss:-?}" "$crashes"
  [ "$crashes" = 0 ] || status=1
done
[ "$status" = 0 ] || echo "fuzz: a target crashed or failed; see fuzz/logs/ and fuzz/artifacts/" >&2
exit "$status"

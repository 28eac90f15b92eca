#!/usr/bin/env bash
# Fuzzes every target in fuzz/ (or only the TARGETs named) for SECONDS each (default
# 20), one after the other, and fails if any of them finds a crash (a panic, a failed round-trip assertion, a stack
# overflow or more than 2 GiB of memory). Installs cargo-fuzz when it is missing.
# Runs on the stable toolchain: RUSTC_BOOTSTRAP=1 lets cargo-fuzz pass its -Z flags,
# and without a sanitizer (-s none) no nightly-only runtime is needed.
# Crash inputs land in fuzz/artifacts/<target>/; see docs/fuzzing.md for what to do.
# Usage: bash scripts/fuzz.sh [SECONDS] [TARGET...]
set -euo pipefail
cd "$(dirname "$0")/.."
SECONDS_PER_TARGET="${1:-20}"
shift || true
export RUSTC_BOOTSTRAP=1

# libFuzzer is built with a C++ compiler; the seeds are made by a Python script.
if ! command -v c++ >/dev/null 2>&1 || ! command -v python3 >/dev/null 2>&1; then
  echo "== installing g++ and python3 (apt-get)"
  SUDO=""
  [ "$(id -u)" -ne 0 ] && SUDO="sudo"
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq g++ python3 >/dev/null
fi
if ! cargo fuzz --version >/dev/null 2>&1; then
  echo "== installing cargo-fuzz"
  cargo install cargo-fuzz --locked
fi

bash fuzz/seed.sh
cd fuzz
if [ $# -gt 0 ]; then
  targets="$*"
else
  targets=$(cargo fuzz list)
fi
echo "== building $(echo "$targets" | wc -w) fuzz targets"
cargo fuzz build -s none
mkdir -p target
failed=()
for t in $targets; do
  log="target/fuzz-$t.log"
  echo "== $t: ${SECONDS_PER_TARGET} s"
  # `time` reports the CPU the fuzzer really had (user + sys) beside the wall clock.
  TIMEFORMAT="== $t: %R s wall, %U s user, %S s sys"
  if ! time cargo fuzz run -s none "$t" -- -max_total_time="$SECONDS_PER_TARGET" \
      -rss_limit_mb=2048 -print_final_stats=1 2>"$log"; then
    tail -n 40 "$log" >&2
    failed+=("$t")
  fi
  grep -E '^Done|^stat::(number_of_executed_units|average_exec_per_sec|peak_rss_mb)|cov: .* corp:' "$log" | tail -n 4 || true
done
if [ ${#failed[@]} -gt 0 ]; then
  echo "== fuzzing found crashes in: ${failed[*]} (inputs in fuzz/artifacts/)" >&2
  exit 1
fi
echo "== no crashes"

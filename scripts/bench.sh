#!/usr/bin/env bash
# Benchmarks that compare beamnode with BEAM doing the same work in the same run.
# Usage: bash scripts/bench.sh [MESSAGES]
set -euo pipefail
cd "$(dirname "$0")/.."
command -v erl >/dev/null || { echo "erl not found: apt-get install -y erlang-nox elixir" >&2; exit 1; }
cargo run --release --quiet --example bench_receive -- "${1:-1000000}"

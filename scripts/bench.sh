#!/usr/bin/env bash
# The side-by-side benchmark suite (examples/bench_dist.rs): every workload against a
# BEAM target node and a beamnode target in the same run, alternating rounds, medians;
# prints one table row per figure.
#
#   bash scripts/bench.sh --quick            small N, finishes in a few minutes
#   bash scripts/bench.sh                    full mode
#   bash scripts/bench.sh --rounds 5 --only msgs,calls
#       groups: msgs large pingpong calls etf n2n spawn cluster
#   bash scripts/bench.sh --only cluster --cluster-nodes 16   (default 12 BEAM members)
#   bash scripts/bench.sh --only msgs --row "8->8 windowed, driver->target" --side beamnode
#       one row, one side (to profile it: no ratios); --row filters the msgs, large, calls and n2n rows
#   bash scripts/bench.sh --quick --workers 2
#       beamnode nodes on 2 tokio worker threads (default: as `beamnode run`, half the cores)
#   bash scripts/bench.sh receive [MESSAGES] the older receive-throughput example
#                                            (examples/bench_receive.rs)
#
# Builds with one job (the machine is shared); set CARGO_BUILD_JOBS to change that.
set -euo pipefail
cd "$(dirname "$0")/.."
command -v erl >/dev/null || { echo "erl not found: apt-get install -y erlang-nox elixir" >&2; exit 1; }
command -v erlc >/dev/null || { echo "erlc not found: apt-get install -y erlang-nox erlang-dev" >&2; exit 1; }
export CARGO_BUILD_JOBS=${CARGO_BUILD_JOBS:-1}
if [ "${1:-}" = receive ]; then
    shift
    exec cargo run --release --quiet --example bench_receive -- "${1:-1000000}"
fi
cargo build --release --quiet --example bench_dist
echo "load before the run: $(uptime)" >&2
exec target/release/examples/bench_dist "$@"

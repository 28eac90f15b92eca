#!/usr/bin/env bash
# Connect-and-answer time: `beamnode call NODE erlang node '[]'` vs
# `erl_call -sname NODE -c COOKIE -a 'erlang node []'`, N runs each, against the same
# running erl node (on a private EPMD port, so nothing on 4369 is touched).
#
# Two beamnode builds are measured: the normal `cargo build --release` binary and the
# static one of scripts/build-static.sh (musl when Rust's musl target is available,
# else glibc; both are built when missing). The script prints which. Each round runs
# all three once, in an order that rotates from round to round, so that load from
# anything else on the machine and any effect of one run on the next hit all three
# the same way. Every run starts after a 5 ms pause: the target node has finished
# tearing down the previous caller's connection, so each figure is one
# connect-and-answer against an idle node. Each run is timed on its own; the script
# prints the median and mean per run, and the ratio of the medians.
#
#   scripts/bench-call.sh [N]          (default N=200)
set -euo pipefail
cd "$(dirname "$0")/.."
N=${1:-200}
cargo build --quiet --release --bin beamnode
RELEASE=target/release/beamnode
STATIC=$(bash scripts/build-static.sh)
ERL_CALL=$(ls /usr/lib/erlang/lib/erl_interface-*/bin/erl_call 2>/dev/null | head -1)
[ -x "$ERL_CALL" ] || { echo "erl_call not found: apt-get install -y erlang-nox erlang-dev" >&2; exit 1; }
export ERL_EPMD_PORT=${ERL_EPMD_PORT:-43691}
COOKIE=bench_cookie_$$
NODE=bench_target_$$
LOG=$(mktemp)
epmd -daemon
erl -noshell -sname "$NODE" -setcookie "$COOKIE" -eval 'io:format("UP~n"), timer:sleep(infinity).' > "$LOG" 2>&1 &
ERL_PID=$!
cleanup() { kill "$ERL_PID" 2>/dev/null || true; epmd -kill >/dev/null 2>&1 || true; rm -f "$LOG"; }
trap cleanup EXIT
for _ in $(seq 100); do grep -q UP "$LOG" && break; sleep 0.1; done

check_s=$("$STATIC" call --cookie "$COOKIE" "$NODE" erlang node '[]')
check_b=$("$RELEASE" call --cookie "$COOKIE" "$NODE" erlang node '[]')
check_e=$("$ERL_CALL" -sname "$NODE" -c "$COOKIE" -a 'erlang node []')
echo "static build: $STATIC (musl if the path names the musl target)"
echo "beamnode call (static)  -> $check_s"
echo "beamnode call (release) -> $check_b"
echo "erl_call -a             -> $check_e"
[ "$check_b" = "$check_e" ] && [ "$check_s" = "$check_e" ] || { echo "the answers differ" >&2; exit 1; }

# One run's wall time in microseconds, left in $LAST ($EPOCHREALTIME, no subshell:
# nothing but the measured command is forked).
time_one() {
  local start=$EPOCHREALTIME
  "$@" > /dev/null
  local end=$EPOCHREALTIME
  LAST=$(( ${end/./} - ${start/./} ))
}
ts=(); tb=(); te=()
run_static() { time_one "$STATIC" call --cookie "$COOKIE" "$NODE" erlang node '[]'; ts+=("$LAST"); }
run_release() { time_one "$RELEASE" call --cookie "$COOKIE" "$NODE" erlang node '[]'; tb+=("$LAST"); }
run_erl_call() { time_one "$ERL_CALL" -sname "$NODE" -c "$COOKIE" -a 'erlang node []'; te+=("$LAST"); }
order=(run_static run_release run_erl_call)
for i in $(seq "$N"); do
  for j in 0 1 2; do
    sleep 0.005
    "${order[$(( (i + j) % 3 ))]}"
  done
done
stats() { # median and mean in ms of the microsecond figures on stdin
  sort -n | awk '{v[NR]=$1; s+=$1} END {m = (NR % 2) ? v[(NR+1)/2] : (v[NR/2]+v[NR/2+1])/2;
    printf "%.2f %.2f\n", m/1000, s/NR/1000}'
}
read -r ms as < <(printf '%s\n' "${ts[@]}" | stats)
read -r mb ab < <(printf '%s\n' "${tb[@]}" | stats)
read -r me ae < <(printf '%s\n' "${te[@]}" | stats)
printf 'runs: %d each, rotating order, 5 ms pause before each\n' "$N"
printf 'beamnode call, static build  : median %s ms/run, mean %s ms/run\n' "$ms" "$as"
printf 'beamnode call, release build : median %s ms/run, mean %s ms/run\n' "$mb" "$ab"
printf 'erl_call -a                  : median %s ms/run, mean %s ms/run\n' "$me" "$ae"
printf 'erl_call / beamnode static  (medians) = %.2fx\n' "$(echo "$me / $ms" | bc -l)"
printf 'erl_call / beamnode release (medians) = %.2fx\n' "$(echo "$me / $mb" | bc -l)"

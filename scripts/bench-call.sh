#!/usr/bin/env bash
# Connect-and-answer time: `beamnode call NODE erlang node '[]'` vs
# `erl_call -sname NODE -c COOKIE -a 'erlang node []'`, N runs each, against the same
# running erl node (on a private EPMD port, so nothing on 4369 is touched).
#
#   scripts/bench-call.sh [N]          (default N=20)
#   BEAMNODE=target/release/beamnode scripts/bench-call.sh 50
set -euo pipefail
cd "$(dirname "$0")/.."
N=${1:-20}
BEAMNODE=${BEAMNODE:-}
if [ -z "$BEAMNODE" ]; then
  if [ -x target/release/beamnode ]; then BEAMNODE=target/release/beamnode
  else cargo build --quiet --bin beamnode; BEAMNODE=target/debug/beamnode; fi
fi
ERL_CALL=$(ls /usr/lib/erlang/lib/erl_interface-*/bin/erl_call 2>/dev/null | head -1)
[ -x "$ERL_CALL" ] || { echo "erl_call not found: apt-get install -y erlang-nox erlang-dev" >&2; exit 1; }
export ERL_EPMD_PORT=${ERL_EPMD_PORT:-43691}
COOKIE=bench_cookie_$$
NODE=bench_target_$$
epmd -daemon
erl -noshell -sname "$NODE" -setcookie "$COOKIE" -eval 'io:format("UP~n"), timer:sleep(infinity).' > /tmp/bench-call-$$.log 2>&1 &
ERL_PID=$!
cleanup() { kill "$ERL_PID" 2>/dev/null || true; epmd -kill >/dev/null 2>&1 || true; rm -f /tmp/bench-call-$$.log; }
trap cleanup EXIT
for _ in $(seq 100); do grep -q UP /tmp/bench-call-$$.log && break; sleep 0.1; done

check_b=$("$BEAMNODE" call --cookie "$COOKIE" "$NODE" erlang node '[]')
check_e=$("$ERL_CALL" -sname "$NODE" -c "$COOKIE" -a 'erlang node []')
echo "beamnode call -> $check_b"
echo "erl_call -a   -> $check_e"

time_runs() { # prints seconds for N runs of "$@"
  local start end
  start=$(date +%s.%N)
  for _ in $(seq "$N"); do "$@" > /dev/null; done
  end=$(date +%s.%N)
  echo "$end - $start" | bc -l
}
tb=$(time_runs "$BEAMNODE" call --cookie "$COOKIE" "$NODE" erlang node '[]')
te=$(time_runs "$ERL_CALL" -sname "$NODE" -c "$COOKIE" -a 'erlang node []')
printf 'runs: %d  (beamnode binary: %s)\n' "$N" "$BEAMNODE"
printf 'beamnode call : total %.3f s, %.1f ms/run\n' "$tb" "$(echo "$tb * 1000 / $N" | bc -l)"
printf 'erl_call -a   : total %.3f s, %.1f ms/run\n' "$te" "$(echo "$te * 1000 / $N" | bc -l)"
printf 'erl_call / beamnode = %.2fx\n' "$(echo "$te / $tb" | bc -l)"

#!/usr/bin/env bash
# Manual live check (not part of CI): an OTP >= 29 node sends native records (EEP 79)
# to beamnode's `echo` process and checks that what comes back is =:= to what it sent.
#
#   sudo bash scripts/live-native-records.sh [OTP_ROOT]   # default: target/otp-roots/sid
#
# OTP_ROOT is a Debian sid root with erlang installed (scripts/otp-root.sh); its erl runs
# through chroot, so this needs root. Prints PASS and exits 0, or FAIL/why and exits 1.
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=${1:-target/otp-roots/sid}
ROOT=$(readlink -f "$ROOT")
[ -x "$ROOT/usr/bin/erl" ] || { echo "no erl in $ROOT (make one with scripts/otp-root.sh)"; exit 1; }
REL=$(chroot "$ROOT" env HOME=/root erl -noshell -eval 'io:format("~s", [erlang:system_info(otp_release)]), halt().')
[ "$REL" -ge 29 ] || { echo "OTP $REL in $ROOT has no native records (needs 29+)"; exit 1; }
COOKIE=nrlive_$$
HOST=$(hostname -s)
cargo build -q --bin beamnode
./target/debug/beamnode run --sname "nrlive$$" --cookie "$COOKIE" >"/tmp/nrlive$$.log" 2>&1 &
BN=$!
trap 'kill $BN 2>/dev/null || true; rm -rf "$ROOT/tmp/nrlive$$" "/tmp/nrlive$$.log"' EXIT
sleep 2
mkdir -p "$ROOT/tmp/nrlive$$"
cat >"$ROOT/tmp/nrlive$$/nrlive.erl" <<'ERL'
-module(nrlive).
-export([run/1]).
-record #pt{x = 0, y = 0}.
-record #priv{a = 1, b = []}.
-record #e{}.
-export_record([pt, e]).
run(Node) ->
    true = net_kernel:connect_node(Node),
    Terms = [#pt{x = 1, y = 2}, #e{}, #priv{a = <<"bin">>, b = [#pt{}, {t, 1.5}]},
             #{#pt{x = 1} => #priv{}}, [#e{} | #pt{y = -1}]],
    Results = [begin
                   {echo, Node} ! {self(), T},
                   receive {echo, Back} -> {T, Back =:= T}
                   after 5000 -> {T, timeout}
                   end
               end || T <- Terms],
    io:format("~p~n", [Results]),
    true = lists:all(fun({_, R}) -> R =:= true end, Results),
    %% The connection survived: a plain ping still works.
    pong = net_adm:ping(Node),
    io:format("PASS: OTP ~s echoed ~p native-record terms =:= through beamnode~n",
              [erlang:system_info(otp_release), length(Terms)]).
ERL
if chroot "$ROOT" env HOME=/root sh -c "cd /tmp/nrlive$$ && erlc nrlive.erl && \
    erl -noshell -sname nr29_$$ -setcookie $COOKIE \
        -eval 'try nrlive:run(list_to_atom(\"nrlive$$@$HOST\")), halt(0) catch C:E:S -> io:format(\"FAIL: ~p:~p ~p~n\", [C, E, S]), halt(1) end.'"; then
    exit 0
else
    echo "beamnode log:"; cat "/tmp/nrlive$$.log"; exit 1
fi

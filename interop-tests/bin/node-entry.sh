#!/bin/sh
# Entry point of every interop container: starts one node named after its role and
# the container's host name.
#
#   node-entry.sh erl | elixir | beamnode | tests
#
# Env (set by docker-compose.yml):
#   INTEROP_COOKIE   the cluster cookie (written to ~/.erlang.cookie, never printed)
#   INTEROP_NAMES    short (default): ROLE@HOST  |  long: ROLE@HOST.INTEROP_DOMAIN
#   INTEROP_DOMAIN   DNS domain of the long names (default interop.test)
#   INTEROP_TICKTIME net_ticktime in seconds for every node (default 4)
set -eu

role="${1:?usage: node-entry.sh erl|elixir|beamnode|tests}"
shift
names="${INTEROP_NAMES:-short}"
domain="${INTEROP_DOMAIN:-interop.test}"
tick="${INTEROP_TICKTIME:-4}"
# The container's host name (compose sets it to the service name), without a domain.
host="$(cat /proc/sys/kernel/hostname)"
host="${host%%.*}"

case "$names" in
  short) flag=sname; node="$role@$host" ;;
  long) flag=name; node="$role@$host.$domain" ;;
  *) echo "INTEROP_NAMES must be short or long, not $names" >&2; exit 2 ;;
esac

if [ -z "${INTEROP_COOKIE:-}" ]; then
  echo "INTEROP_COOKIE is not set (docker-compose.yml passes it from BEAMNODE_INTEROP_COOKIE)" >&2
  exit 2
fi
umask 077
printf '%s' "$INTEROP_COOKIE" > "$HOME/.erlang.cookie"
chmod 400 "$HOME/.erlang.cookie"

echo "starting $role as $node (net_ticktime $tick)" >&2
case "$role" in
  erl)
    # erl starts epmd itself (-start_epmd true is the default).
    exec erl -noshell -noinput "-$flag" "$node" -kernel net_ticktime "$tick" "$@" ;;
  elixir)
    exec elixir "--$flag" "$node" --erl "-kernel net_ticktime $tick" --no-halt \
      -e 'IO.puts(:stderr, "elixir node #{node()} up")' "$@" ;;
  beamnode)
    # `beamnode run` starts an embedded EPMD when none listens; it reads the cookie
    # from ~/.erlang.cookie when --cookie / BEAMNODE_COOKIE is not given.
    bin=/interop/.build/beamnode
    [ -x "$bin" ] || bin=beamnode
    exec "$bin" run "--$flag" "$node" --ticktime "$tick" "$@" ;;
  tests)
    cd /interop/suite
    exec elixir "--$flag" "$node" --erl "-kernel net_ticktime $tick" run.exs "$@" ;;
  *)
    echo "unknown role $role" >&2; exit 2 ;;
esac

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
#   INTEROP_TLS      1: TLS distribution with /interop/.build/tls/tls.conf (docs/tls.md)
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

# TLS distribution: the same options file for every node (EPMD stays plain).
erl_tls=""
beamnode_tls=""
carrier="tcp"
if [ "${INTEROP_TLS:-0}" = 1 ]; then
  conf=/interop/.build/tls/tls.conf
  [ -r "$conf" ] || { echo "INTEROP_TLS=1 but $conf is missing (docker-suite.sh makes it)" >&2; exit 2; }
  erl_tls="-proto_dist inet_tls -ssl_dist_optfile $conf"
  beamnode_tls="--proto-dist inet_tls --ssl-dist-optfile $conf"
  carrier="tls"
fi

echo "starting $role as $node (net_ticktime $tick, $carrier)" >&2
case "$role" in
  erl)
    # erl starts epmd itself (-start_epmd true is the default).
    # shellcheck disable=SC2086 # $erl_tls is a list of words
    exec erl -noshell -noinput "-$flag" "$node" -kernel net_ticktime "$tick" $erl_tls "$@" ;;
  elixir)
    exec elixir "--$flag" "$node" --erl "-kernel net_ticktime $tick $erl_tls" --no-halt \
      -e 'IO.puts(:stderr, "elixir node #{node()} up")' "$@" ;;
  beamnode)
    # `beamnode run` starts an embedded EPMD when none listens; it reads the cookie
    # from ~/.erlang.cookie when --cookie / BEAMNODE_COOKIE is not given.
    bin=/interop/.build/beamnode
    [ -x "$bin" ] || bin=beamnode
    # shellcheck disable=SC2086 # $beamnode_tls is a list of words
    exec "$bin" run "--$flag" "$node" --ticktime "$tick" $beamnode_tls "$@" ;;
  tests)
    cd /interop/suite
    exec elixir "--$flag" "$node" --erl "-kernel net_ticktime $tick $erl_tls" run.exs "$@" ;;
  *)
    echo "unknown role $role" >&2; exit 2 ;;
esac

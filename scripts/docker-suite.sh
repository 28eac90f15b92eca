#!/usr/bin/env bash
# The Docker interop suite, end to end: base image (built offline with debootstrap when
# missing), beamnode binary, images, a short-name cluster running every scenario, a
# long-name cluster running the :core ones, teardown. Exits non-zero when a scenario
# fails; removes its containers, networks and images whatever happens.
#
#   bash scripts/docker-suite.sh
#
# Env: COMPOSE="docker compose" or "docker-compose" (default: the plugin when present,
# else docker-compose), BEAMNODE_INTEROP_PASSES="short:all long:core short+tls:core"
# (which passes run: NAMES:TAGS, TAGS "all" or a comma list; NAMES+tls runs every node
# with TLS distribution, certificates made here with openssl), ERL_BASE_IMAGE / ELIXIR_BASE_IMAGE /
# BEAMNODE_BASE_IMAGE (use registry images instead of the offline base image),
# BEAMNODE_BIN (a prebuilt binary instead of `cargo build --release`),
# KEEP_IMAGES=1 (keep the images built for this run), BEAMNODE_SOAK_SECONDS /
# BEAMNODE_SOAK_QUIET / BEAMNODE_SOAK_RATE (the soak scenario, docs/soak.md;
# scripts/soak.sh runs it alone for 30 minutes).
#
# The whole script is one { ... } block, read before it runs, so editing or checking
# out this file during a run does not derail that run.
{
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT="$PWD"
T0=$(date +%s)
say() { echo "== [docker-suite $(($(date +%s) - T0))s] $*"; }

if [ -n "${COMPOSE:-}" ]; then
  read -r -a COMPOSE_CMD <<<"$COMPOSE"
elif docker compose version >/dev/null 2>&1; then
  COMPOSE_CMD=(docker compose)
elif command -v docker-compose >/dev/null 2>&1; then
  COMPOSE_CMD=(docker-compose)
else
  echo "docker-suite: neither 'docker compose' nor 'docker-compose' found (apt-get install docker-compose)" >&2
  exit 1
fi
if ! docker info >/dev/null 2>&1; then
  echo "docker-suite: no Docker engine reachable" >&2
  exit 1
fi

RUN_ID="$(date +%s)-$$"
PROJECT_PREFIX="beamnode-it-$RUN_ID"
export BEAMNODE_INTEROP_TAG="it-$RUN_ID"
BEAMNODE_INTEROP_COOKIE="$(head -c 24 /dev/urandom | od -An -tx1 | tr -d ' \n')"
export BEAMNODE_INTEROP_COOKIE
export BEAMNODE_INTEROP_TICKTIME="${BEAMNODE_INTEROP_TICKTIME:-4}"
CONTROL="$(mktemp -d /tmp/beamnode-interop-control.XXXXXX)"
chmod 777 "$CONTROL"
export BEAMNODE_INTEROP_CONTROL="$CONTROL"
STAGE="$ROOT/interop-tests/.build"
PROJECTS=()
CONTROL_PID=""
RUN_PID=""
compose() { "${COMPOSE_CMD[@]}" -f "$ROOT/docker-compose.yml" "$@"; }

stop_control() {
  if [ -n "$CONTROL_PID" ]; then
    kill "$CONTROL_PID" 2>/dev/null || true
    wait "$CONTROL_PID" 2>/dev/null || true
    CONTROL_PID=""
    rm -f "$CONTROL/served"
  fi
}

teardown_project() {
  compose -p "$1" down -v --remove-orphans -t 3 >/dev/null 2>&1 || true
}

cleanup() {
  local rc=$?
  set +e
  [ -n "$RUN_PID" ] && kill "$RUN_PID" 2>/dev/null
  stop_control
  for p in "${PROJECTS[@]}"; do teardown_project "$p"; done
  if [ "${KEEP_IMAGES:-0}" != 1 ]; then
    for svc in erl elixir beamnode tests; do
      docker image rm "beamnode-interop-$svc:$BEAMNODE_INTEROP_TAG" >/dev/null 2>&1
    done
  fi
  # The staged binary stays (git-ignored): a parallel run from this checkout may be
  # building from it.
  rm -rf "$CONTROL"
  say "done in $(($(date +%s) - T0))s, exit $rc"
  exit "$rc"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

# The host side of the runner's control channel (Interop.docker/2): the runner drops
# "ACTION SERVICE" into $CONTROL/ID.req; we run it on that service's container of
# project $1 and answer with ID.out and ID.rc. Only these actions and services.
control_loop() {
  local project=$1 req base action svc cid net rc
  declare -A cids
  for svc in erl elixir beamnode; do cids[$svc]="$(compose -p "$project" ps -q "$svc")"; done
  net="$(docker inspect -f '{{range $k, $v := .NetworkSettings.Networks}}{{$k}}{{end}}' "${cids[beamnode]}")"
  touch "$CONTROL/served"
  set +e # from here on, a failed docker command is an answer, not the loop's end
  while :; do
    for req in "$CONTROL"/*.req; do
      [ -e "$req" ] || continue
      base="${req%.req}"
      read -r action svc <"$req" || true
      rm -f "$req"
      case "$svc" in erl | elixir | beamnode) cid="${cids[$svc]}" ;; *) cid="" ;; esac
      rc=0
      if [ -z "$cid" ]; then
        echo "unknown service '$svc'" >"$base.out"
        rc=2
      else
        case "$action" in
          kill) docker kill "$cid" ;;
          start) docker start "$cid" ;;
          restart) docker restart -t 5 "$cid" ;;
          disconnect) docker network disconnect "$net" "$cid" ;;
          connect) docker network connect --alias "$svc" --alias "$svc.interop.test" "$net" "$cid" ;;
          logs) docker logs "$cid" ;;
          # The node's OS process (PID 1 of its container) seen from outside: open
          # file descriptors and memory, for the soak's baseline checks.
          stat) docker exec "$cid" sh -c 'echo "comm $(cat /proc/1/comm)"; echo "fds $(ls /proc/1/fd | wc -l)"; grep -E "^(VmRSS|VmHWM|Threads):" /proc/1/status' ;;
          *) echo "unknown action '$action'"; false ;;
        esac >"$base.out" 2>&1 || rc=$?
      fi
      [ "$action" = logs ] || [ "$action" = stat ] || echo "   [host] docker $action $svc -> $rc" >&2
      echo "$rc" >"$base.tmp" && mv "$base.tmp" "$base.rc"
    done
    sleep 0.1
  done
}

# 1. Base images: the offline one (made when missing) for each service whose base
# image was not named (ERL_BASE_IMAGE etc., e.g. registry images).
OFFLINE_BASE=beamnode-interop-base:bookworm
if [ "${ERL_BASE_IMAGE:-$OFFLINE_BASE}" = "$OFFLINE_BASE" ] ||
  [ "${ELIXIR_BASE_IMAGE:-$OFFLINE_BASE}" = "$OFFLINE_BASE" ] ||
  [ "${BEAMNODE_BASE_IMAGE:-$OFFLINE_BASE}" = "$OFFLINE_BASE" ]; then
  say "base image"
  bash "$ROOT/interop-tests/base-image.sh" "$OFFLINE_BASE"
fi

# 2. The beamnode binary, built on the host (Debian 12 glibc = the image's).
# Staged by rename, so a parallel run building from $STAGE never sees half a file.
mkdir -p "$STAGE"
if [ -n "${BEAMNODE_BIN:-}" ]; then
  cp "$BEAMNODE_BIN" "$STAGE/beamnode.$$"
else
  say "cargo build --release --bin beamnode"
  cargo build --release --locked --bin beamnode
  if command -v strip >/dev/null 2>&1; then
    strip --strip-debug -o "$STAGE/beamnode.$$" target/release/beamnode
  else
    cp target/release/beamnode "$STAGE/beamnode.$$"
  fi
fi
mv -f "$STAGE/beamnode.$$" "$STAGE/beamnode"

# 2b. TLS distribution material for the +tls passes (docs/tls.md): a CA and one
# certificate for every container's short and long host name, and OTP's options
# file, staged into the images. Test keys, made fresh for every run.
TLS_DIR="$STAGE/tls"
rm -rf "$TLS_DIR"
mkdir -p "$TLS_DIR"
say "TLS test CA and certificate (openssl)"
(
  cd "$TLS_DIR"
  sans="DNS:localhost"
  for h in erl elixir beamnode tests; do sans="$sans,DNS:$h,DNS:$h.interop.test"; done
  openssl req -x509 -new -nodes -newkey ec -pkeyopt ec_paramgen_curve:P-256 -keyout ca.key \
    -out ca.pem -days 2 -subj "/CN=beamnode interop CA" 2>/dev/null
  openssl req -new -nodes -newkey ec -pkeyopt ec_paramgen_curve:P-256 -keyout node.key \
    -out node.csr -subj "/CN=interop node" 2>/dev/null
  printf 'subjectAltName=%s\nextendedKeyUsage=serverAuth,clientAuth\nkeyUsage=digitalSignature\n' \
    "$sans" >node.ext
  openssl x509 -req -in node.csr -CA ca.pem -CAkey ca.key -CAcreateserial -days 2 \
    -extfile node.ext -out node.pem 2>/dev/null
  rm -f ca.key node.csr node.ext ca.srl
  chmod 644 node.key
  d=/interop/.build/tls
  printf '%s\n' \
    "%% Made by scripts/docker-suite.sh: mutual TLS for the interop cluster." \
    "[{server, [{certfile, \"$d/node.pem\"}, {keyfile, \"$d/node.key\"}, {cacertfile, \"$d/ca.pem\"}," \
    "           {verify, verify_peer}, {fail_if_no_peer_cert, true}, {secure_renegotiate, true}]}," \
    " {client, [{certfile, \"$d/node.pem\"}, {keyfile, \"$d/node.key\"}, {cacertfile, \"$d/ca.pem\"}," \
    "           {verify, verify_peer}, {secure_renegotiate, true}]}]." >tls.conf
)

# 3. Images, once for all passes.
say "building images (tag $BEAMNODE_INTEROP_TAG) with ${COMPOSE_CMD[*]}"
if ! compose -p "$PROJECT_PREFIX" build >"$CONTROL/build.log" 2>&1; then
  cat "$CONTROL/build.log" >&2
  exit 1
fi
# The binary comes from the host: check that it runs on the image's glibc.
if ! out="$(docker run --rm --network none --entrypoint /interop/.build/beamnode \
  "beamnode-interop-beamnode:$BEAMNODE_INTEROP_TAG" --version 2>&1)"; then
  echo "docker-suite: the host-built beamnode does not run in its image (glibc older than the host's?):" >&2
  echo "$out" >&2
  exit 1
fi
say "image runs $out"

# 4. Passes.
FAILED=()
FAILED_LOGS=()
PASS_N=0
run_pass() {
  PASS_N=$((PASS_N + 1))
  local names=${1%+tls} tags=$2 project="$PROJECT_PREFIX-${1/+/-}" rc=0 log="$CONTROL/pass-$PASS_N.log"
  PROJECTS+=("$project")
  export BEAMNODE_INTEROP_NAMES="$names"
  if [ "$names" != "$1" ]; then export BEAMNODE_INTEROP_TLS=1; else export BEAMNODE_INTEROP_TLS=0; fi
  if [ "$tags" = all ]; then export BEAMNODE_INTEROP_ONLY=""; else export BEAMNODE_INTEROP_ONLY="$tags"; fi
  say "pass '$1 names' ($tags, TLS distribution ${BEAMNODE_INTEROP_TLS}): project $project"
  compose -p "$project" up -d --no-build erl elixir beamnode
  control_loop "$project" &
  CONTROL_PID=$!
  for _ in $(seq 1 600); do
    [ -e "$CONTROL/served" ] || ! kill -0 "$CONTROL_PID" 2>/dev/null && break
    sleep 0.1
  done
  if [ ! -e "$CONTROL/served" ]; then
    echo "docker-suite: the control loop did not start" >&2
    exit 1
  fi
  say "nodes up; running the tests"
  # In the background + wait, so that a TERM/INT reaches the trap at once.
  # Also kept in $log: a failed pass's failures are printed again at the end, where the
  # tail of a long CI log still shows them.
  compose -p "$project" run --rm -T --no-deps --use-aliases tests > >(tee "$log") 2>&1 &
  RUN_PID=$!
  wait "$RUN_PID" || rc=$?
  RUN_PID=""
  stop_control
  say "tests done; tearing down"
  if [ "$rc" -ne 0 ]; then
    FAILED+=("$1")
    FAILED_LOGS+=("$log")
    say "pass '$1 names' FAILED ($rc); container logs:"
    compose -p "$project" logs --no-color --tail=60 erl elixir beamnode || true
  fi
  teardown_project "$project"
  say "pass '$1 names' finished ($rc)"
}

for pass in ${BEAMNODE_INTEROP_PASSES:-short:all long:core short+tls:core}; do
  run_pass "${pass%%:*}" "${pass#*:}"
done

if [ "${#FAILED[@]}" -ne 0 ]; then
  for i in "${!FAILED[@]}"; do
    say "failures of pass '${FAILED[$i]} names' again (ExUnit's report, at most 200 lines):"
    # Each numbered failure ("  1) test ...") up to the next test or module line, then
    # the summary line.
    awk '/^  [0-9]+\) /{on=1} /^  \* test |^[A-Z]/{on=0} on{print} /^[0-9]+ tests?, /{print}' \
      "${FAILED_LOGS[$i]}" | head -200 || true
  done
  say "FAILED passes: ${FAILED[*]}"
  exit 1
fi
say "all passes green"
exit 0
}

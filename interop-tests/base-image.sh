#!/usr/bin/env bash
# Builds the offline base image for the Docker interop suite: Debian bookworm with
# erlang-nox and elixir, made with debootstrap and `docker import`, for machines whose
# Docker engine cannot pull images. Reuses the image when it already exists.
#
#   interop-tests/base-image.sh [IMAGE]        (default beamnode-interop-base:bookworm)
#
# Env: DEBIAN_MIRROR (default http://deb.debian.org/debian), FORCE=1 rebuilds.
# Only this script contacts the network (the Debian mirror), from the host, never
# from a container.
set -euo pipefail

IMAGE="${1:-beamnode-interop-base:bookworm}"
MIRROR="${DEBIAN_MIRROR:-http://deb.debian.org/debian}"

if [ "${FORCE:-0}" != 1 ] && docker image inspect "$IMAGE" >/dev/null 2>&1; then
  echo "== base image $IMAGE exists, reusing it"
  exit 0
fi
# Parallel runs: one builds, the others wait for it and reuse its image.
if command -v flock >/dev/null 2>&1; then
  exec 9>"/tmp/beamnode-interop-base.lock"
  flock 9
  if [ "${FORCE:-0}" != 1 ] && docker image inspect "$IMAGE" >/dev/null 2>&1; then
    echo "== base image $IMAGE was built meanwhile, reusing it"
    exit 0
  fi
fi

if [ "$(id -u)" -ne 0 ]; then
  echo "base-image.sh: debootstrap needs root (run with sudo)" >&2
  exit 1
fi
if ! command -v debootstrap >/dev/null 2>&1; then
  echo "== installing debootstrap"
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq debootstrap >/dev/null
fi

ROOT="$(mktemp -d /tmp/beamnode-base.XXXXXX)"
cleanup() {
  # debootstrap may leave /proc and /sys mounted in the tree on failure.
  for m in proc sys dev/pts dev; do umount -l "$ROOT/$m" 2>/dev/null || true; done
  rm -rf --one-file-system "$ROOT"
}
trap cleanup EXIT

start=$(date +%s)
echo "== debootstrap bookworm (erlang-nox, elixir) from $MIRROR into $ROOT"
debootstrap --variant=minbase --include=erlang-nox,elixir,ca-certificates \
  bookworm "$ROOT" "$MIRROR" >"$ROOT.log" 2>&1 || {
  tail -30 "$ROOT.log" >&2
  rm -f "$ROOT.log"
  exit 1
}
rm -f "$ROOT.log"
# Slim the tree: package caches and lists are not needed at run time.
rm -rf "$ROOT"/var/cache/apt/archives/*.deb "$ROOT"/var/lib/apt/lists/* \
  "$ROOT"/usr/share/doc/* "$ROOT"/usr/share/man/* "$ROOT"/usr/share/locale/*

echo "== docker import -> $IMAGE"
tar --numeric-owner -C "$ROOT" -c . |
  docker import \
    -c 'ENV LANG=C.UTF-8' \
    -c 'ENV LC_ALL=C.UTF-8' \
    -c 'ENV PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin' \
    -c 'CMD ["/bin/bash"]' \
    -m "beamnode interop base: debian bookworm + erlang-nox + elixir (debootstrap)" \
    - "$IMAGE" >/dev/null
echo "== base image $IMAGE built in $(($(date +%s) - start))s"

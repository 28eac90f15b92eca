#!/usr/bin/env bash
# Builds a statically linked, position-dependent `beamnode` executable — the
# fastest-starting build, for one-shot commands (`beamnode call`, `beamnode ping`) run
# many times from scripts — and prints its path.
#
# Which C library: musl when Rust's musl target is installed or can be installed
# (`rustup target add <arch>-unknown-linux-musl`) and a musl C compiler is there or
# can be installed (Debian's musl-tools: ring, the TLS crypto, has C parts), else glibc. The difference is large
# for a program that lives ~1 ms: glibc's start-up probes the CPU's caches with a few
# dozen CPUID instructions before `main` (each one a trap to the hypervisor on a
# virtual machine: ~0.4 ms of a ~1.5 ms call measured here), musl's does not.
#   musl:  target/static/<arch>-unknown-linux-musl/release/beamnode
#   glibc: target/static/release/beamnode
#
# Why a separate build at all: a static, non-PIE executable has no dynamic loader work
# at start (no shared libraries to map, no relocations, no symbol binding). Only the
# final link needs the flags, so `cargo rustc` passes them to the binary alone; the
# separate target directory keeps the normal build untouched. Symbols are stripped and
# the program is optimised as one unit (fat LTO, one codegen unit): a smaller file,
# fewer pages touched at start.
#
# Caveats. The static build is for short-lived commands; a long-running `beamnode run`
# is better served by the normal build. Both use mimalloc as their allocator (built
# with the musl C compiler for the musl target), not the C library's.
# Host names are resolved the way the C library does it without NSS plug-ins: musl
# reads /etc/hosts and asks the DNS servers of /etc/resolv.conf; static glibc uses its
# built-in `files` and `dns` sources. Other `hosts:` sources in /etc/nsswitch.conf
# (mDNS, LDAP, …) are not consulted by either.
#
#   scripts/build-static.sh           musl if available, else glibc
#   scripts/build-static.sh --glibc   glibc
set -euo pipefail
cd "$(dirname "$0")/.."
export CARGO_PROFILE_RELEASE_LTO=fat CARGO_PROFILE_RELEASE_CODEGEN_UNITS=1
arch=$(rustc -vV | sed -n 's/^host: \([^-]*\)-.*/\1/p')
musl="$arch-unknown-linux-musl"
if [ "${1:-}" != "--glibc" ] && [ "$(uname -s)" = Linux ]; then
  if ! rustup target list --installed 2>/dev/null | grep -qx "$musl"; then
    rustup target add "$musl" >/dev/null 2>&1 || true
  fi
  # ring (rustls's crypto, feature `tls`) has C and assembly parts: a musl C compiler
  # is needed too (Debian's musl-tools, `musl-gcc`).
  if ! command -v musl-gcc >/dev/null 2>&1 && [ "$(id -u)" -eq 0 ] && command -v apt-get >/dev/null 2>&1; then
    { apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq musl-tools; } >/dev/null 2>&1 || true
  fi
  if command -v musl-gcc >/dev/null 2>&1; then
    export "CC_${arch}_unknown_linux_musl=musl-gcc"
  fi
  if rustup target list --installed 2>/dev/null | grep -qx "$musl" && command -v musl-gcc >/dev/null 2>&1; then
    cargo rustc --quiet --locked --release --bin beamnode --target "$musl" --target-dir target/static -- \
      -C target-feature=+crt-static -C relocation-model=static -C strip=symbols
    echo "target/static/$musl/release/beamnode"
    exit 0
  fi
  echo "build-static: the $musl target or musl-gcc (musl-tools) is not available; building against glibc" >&2
fi
# getrandom's `linux_raw` backend: the plain getrandom(2) system call (its default
# probes for the libc wrapper, which a static glibc binary lacks, and falls back to
# opening /dev/random and /dev/urandom).
RUSTFLAGS='--cfg getrandom_backend="linux_raw"' \
  cargo rustc --quiet --locked --release --bin beamnode --target-dir target/static -- \
  -C target-feature=+crt-static -C relocation-model=static -C strip=symbols
echo "target/static/release/beamnode"

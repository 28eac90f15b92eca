#!/usr/bin/env bash
# Builds a statically linked, position-dependent `beamnode` executable into
# target/static/release/beamnode — the fastest-starting build, for one-shot commands
# (`beamnode call`, `beamnode ping`) run many times from scripts.
#
# Why a separate build: a static, non-PIE executable has no dynamic loader work at
# start (no shared libraries to map, no relocations, no lazy symbol binding). Only the
# final link needs the flags, so `cargo rustc` passes them to the binary alone; the
# separate target directory keeps the normal build untouched.
#
# Caveat (glibc): host-name lookups in a static glibc program use the NSS modules
# built into glibc (`files`, `dns`); other `hosts:` sources in /etc/nsswitch.conf would
# need the shared NSS libraries of the same glibc version at run time.
set -euo pipefail
cd "$(dirname "$0")/.."
# getrandom's `linux_raw` backend: the plain getrandom(2) system call (its default
# probes for the libc wrapper, which a static binary lacks, and falls back to opening
# /dev/random and /dev/urandom). Symbols are stripped: a smaller file starts faster.
RUSTFLAGS='--cfg getrandom_backend="linux_raw"' \
  cargo rustc --quiet --release --bin beamnode --target-dir target/static -- \
  -C target-feature=+crt-static -C relocation-model=static -C strip=symbols
echo "target/static/release/beamnode"

#!/usr/bin/env bash
# Builds a Debian root with a newer Erlang/OTP and Elixir, for the interop tests
# against newer OTP (tests/newer_otp/ and the other tests that call
# `newer_otp_root()`). The tests run `erl` inside it with chroot, sharing the host's
# loopback. Needs root and debootstrap.
# Usage: bash scripts/otp-root.sh [DIR [SUITE]]
#   default: target/otp-roots/trixie with Debian trixie (OTP 27, what CI uses);
#   `bash scripts/otp-root.sh target/otp-roots/sid sid` gives Debian sid's OTP (29 in
#   November 2026), then `BEAMNODE_OTP_ROOT=$PWD/target/otp-roots/sid cargo test`.
set -euo pipefail
cd "$(dirname "$0")/.."
dir="${1:-target/otp-roots/trixie}"
suite="${2:-trixie}"
if [ -x "$dir/usr/bin/erl" ]; then
  exit 0
fi
if [ "$(id -u)" -ne 0 ]; then
  echo "scripts/otp-root.sh needs root (debootstrap + chroot)" >&2
  exit 1
fi
command -v debootstrap >/dev/null || {
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq debootstrap >/dev/null
}
echo "== building $dir (Debian $suite with erlang-nox and elixir; a few minutes the first time)"
rm -rf "$dir.tmp"
mkdir -p "$(dirname "$dir")"
if ! debootstrap --variant=minbase --include=erlang-nox,elixir "$suite" "$dir.tmp" http://deb.debian.org/debian >"$dir.log" 2>&1; then
  tail -20 "$dir.log" >&2
  echo "scripts/otp-root.sh: could not build the Debian $suite root in $dir (debootstrap failed;" \
    "its log is $dir.log: no route to the Debian mirror, a package missing from $suite, ...)" >&2
  exit 1
fi
# apt inside the root (for anyone who adds packages by hand) must not refuse a mirror
# whose Release file is past its Valid-Until date, as happens on machines with an old
# snapshot of the archive.
mkdir -p "$dir.tmp/etc/apt/apt.conf.d"
echo 'Acquire::Check-Valid-Until "false";' >"$dir.tmp/etc/apt/apt.conf.d/99no-valid-until"
cp /etc/hosts "$dir.tmp/etc/hosts"
mv "$dir.tmp" "$dir"
chroot "$dir" erl -noshell -eval 'io:format("OTP ~s in '"$dir"'~n", [erlang:system_info(otp_release)]), halt().'

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
debootstrap --variant=minbase --include=erlang-nox,elixir "$suite" "$dir.tmp" http://deb.debian.org/debian >/dev/null
cp /etc/hosts "$dir.tmp/etc/hosts"
mv "$dir.tmp" "$dir"
chroot "$dir" erl -noshell -eval 'io:format("OTP ~s in '"$dir"'~n", [erlang:system_info(otp_release)]), halt().'

#!/usr/bin/env bash
# The whole test suite: unit, property and interop tests against real Erlang/OTP.
# Installs Erlang/OTP and Elixir from Debian packages when they are missing.
set -euo pipefail
cd "$(dirname "$0")/.."

if ! command -v erl >/dev/null 2>&1 || ! command -v elixir >/dev/null 2>&1 || ! command -v epmd >/dev/null 2>&1; then
  echo "== installing Erlang/OTP and Elixir (apt-get install erlang-nox elixir)"
  SUDO=""
  [ "$(id -u)" -ne 0 ] && SUDO="sudo"
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq erlang-nox elixir >/dev/null
fi
# A newer OTP (27, Debian trixie) for the newer_otp test crate (tests/newer_otp/) and the
# newer-OTP tests of the interop and cli crates, built once with
# debootstrap into target/otp-roots/trixie.
SUDO=""
[ "$(id -u)" -ne 0 ] && SUDO="sudo"
$SUDO bash scripts/otp-root.sh
if ! command -v cargo >/dev/null 2>&1; then
  echo "cargo not found: install Rust from https://rustup.rs first" >&2
  exit 1
fi
echo "== $(erl -noshell -eval 'io:format("OTP ~s", [erlang:system_info(otp_release)]), halt().'), $(cargo --version)"
# Relative links of README.md and docs/*.md point to existing files and headings.
if command -v python3 >/dev/null 2>&1; then
  bash scripts/check-doc-links.sh
else
  echo "== python3 not found: skipping scripts/check-doc-links.sh"
fi
cargo test --locked "$@"
if [ $# -eq 0 ]; then
  # The optional `serde` feature (beamnode::serde_term, docs/serde.md): its unit and
  # doc tests, its codec and interop modules, its example, and clippy with it on.
  echo "== feature serde"
  cargo test --locked --features serde --lib serde_term
  cargo test --locked --features serde --doc serde_term
  cargo test --locked --features serde --test codec --test interop -- serde_term:: interop_serde::
  cargo build --locked --features serde --examples
  cargo clippy --locked --quiet --features serde --all-targets -- -D warnings
  cargo clippy --locked --quiet --lib --no-default-features --features serde -- -D warnings
  # The library without the CLI's dependencies, and the crate as it would be published.
  echo "== library alone (--no-default-features) and cargo publish --dry-run"
  cargo clippy --locked --quiet --lib --no-default-features -- -D warnings
  cargo publish --locked --dry-run --allow-dirty --quiet
  # The newer-OTP tests once more against Debian sid's OTP (29 in December 2026), so
  # every change is checked against 25, 27 and 29. A root that cannot be built fails
  # here with the reason (scripts/otp-root.sh).
  echo "== newer-OTP tests against Debian sid's OTP"
  $SUDO bash scripts/otp-root.sh target/otp-roots/sid sid
  BEAMNODE_OTP_ROOT="$PWD/target/otp-roots/sid" cargo test --locked --test newer_otp \
    --test interop --test cli -- interop_newer_otp interop_altact interop_sys:: \
    interop_elixir_rpc:: interop_erl_call:: interop_pg:: interop_blocking:: interop_global:: \
    interop_atom_cache:: interop_native_records::
fi

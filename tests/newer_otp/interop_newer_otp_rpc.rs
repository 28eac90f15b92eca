//! rpc and erpc against a newer OTP (27 by default; issue 5; docs/protocol.md §9.1–§9.4,
//! §5.4), run from the Debian root made by `scripts/otp-root.sh` (see
//! `tests/newer_otp/interop_newer_otp.rs`; `BEAMNODE_OTP_ROOT` picks another, such as OTP 29).
//! The scenarios are the ones run against the host's OTP 25 (tests/rpc_scenarios/):
//! the newer OTP calls beamnode through every rpc/erpc path and compares the shapes
//! with what a second node of its own release gives; then `rpc_client` calls it from
//! Rust.

use crate::client;
use crate::server;

use crate::common::*;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn otp27_calls_rust_through_rpc_and_erpc() {
    server::beam_calls_rust_through_rpc_and_erpc(Some(&newer_otp_root())).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn otp27_sees_nodedown_when_rust_goes_away_mid_call() {
    server::node_going_down_mid_call_gives_nodedown(Some(&newer_otp_root())).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn rust_calls_otp27_with_rpc_client() {
    client::rust_calls_beam_functions(Some(&newer_otp_root())).await;
}

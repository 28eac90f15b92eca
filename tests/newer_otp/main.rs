//! The newer-OTP test crate: tests run only against the newer OTP (27 by default) of the
//! Debian root made by `scripts/otp-root.sh` (`BEAMNODE_OTP_ROOT` picks another).
//! Files mixing OTP 25 and newer-OTP tests are in the interop crate. Run with
//! `cargo test --test newer_otp`.

#[path = "../rpc_scenarios/client.rs"]
mod client;
#[path = "../common/mod.rs"]
mod common;
#[path = "../rpc_scenarios/server.rs"]
mod server;

mod interop_altact;
mod interop_newer_otp;
mod interop_newer_otp_rpc;
mod interop_newer_otp_tls;

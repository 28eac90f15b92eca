//! The command-line test crate: the `beamnode` program (`CARGO_BIN_EXE_beamnode`), its
//! static build, and `erl_call` against beamnode. Run with `cargo test --test cli`.

#[path = "../rpc_scenarios/client.rs"]
mod client;
#[path = "../common/mod.rs"]
mod common;

mod cli_static_build;
mod interop_cli;
mod interop_erl_call;
mod interop_rpc_client;

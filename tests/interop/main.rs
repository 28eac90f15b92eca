//! The interop test crate: every test that starts real `erl`, `elixir` or `epmd`
//! of the host's OTP (25 on Debian 12). One test binary; each module is one former
//! top-level test file, and the tests run in parallel: each uses a private EPMD on a
//! free port and node names from [`common::unique`]. Run with
//! `cargo test --test interop` (a module alone: `cargo test --test interop interop_core::`).

#[path = "../common/mod.rs"]
mod common;
#[path = "../rpc_scenarios/server.rs"]
mod server;

mod epmd_env;
mod epmd_interop;
mod epmd_server;
mod etf_real_erl;
mod handshake_interop;
mod interop_atom_cache;
mod interop_backpressure;
mod interop_bifs;
mod interop_blocking;
mod interop_core;
mod interop_delivery;
mod interop_dest;
mod interop_elixir;
mod interop_elixir_rpc;
mod interop_genserver;
mod interop_global;
mod interop_handles;
mod interop_hostile;
mod interop_introspection;
mod interop_links;
mod interop_monitors;
mod interop_native_records;
mod interop_nodes;
mod interop_one_registry;
mod interop_pacing;
mod interop_pg;
mod interop_pid_wrap;
mod interop_reconnect;
mod interop_rex;
mod interop_robustness;
mod interop_rpc_server;
#[cfg(feature = "serde")]
mod interop_serde;
mod interop_slowloris;
mod interop_spawn;
mod interop_sys;
mod interop_tls;

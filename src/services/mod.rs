//! Built-in processes, written only against the public process API
//! ([`Node`](crate::Node), [`Process`](crate::Process)).
//!
//! - OTP's own services, which a BEAM peer expects to find: [`net_kernel`], [`rex`] and
//!   erpc serving ([`rpc_server`], [`native`]), [`global`], [`pg`], the io protocol
//!   ([`io`]) and the `sys` messages every [`gen_server`] answers.
//! - Building blocks for Rust code: [`gen`] (call, cast, reply, multi_call),
//!   [`gen_server`] (the behaviour), [`rpc_client`] (rpc and erpc to a BEAM node).
//! - Demonstrations: [`demo`], [`echo`], [`kv`] and [`rust_math`] are what
//!   `beamnode run` starts so that a shell user has something to call (docs/walkthrough.md);
//!   tests and examples start them on any node. They are small, use nothing but the
//!   public API, and nothing else in the library depends on them.

pub mod demo;
pub mod echo;
pub mod gen;
pub mod gen_server;
pub mod global;
pub mod io;
pub mod kv;
pub mod native;
pub mod net_kernel;
pub mod pg;
pub mod rex;
pub mod rpc_client;
pub mod rpc_server;
pub mod rust_math;
pub(crate) mod sys;
pub(crate) mod sys_debug;

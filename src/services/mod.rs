//! Built-in processes, written only against the public process API
//! ([`Node`](crate::Node), [`Process`](crate::runtime::Process)).

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

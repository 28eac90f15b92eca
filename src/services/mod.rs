//! Built-in processes, written only against the public process API
//! ([`Node`](crate::Node), [`Process`](crate::runtime::Process)).

pub mod demo;
pub mod echo;
pub mod gen;
pub mod gen_server;
pub mod io;
pub mod kv;
pub mod net_kernel;
pub mod rpc_client;

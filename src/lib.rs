//! beamnode: a Rust node that joins Erlang/Elixir clusters as a distribution peer.
//!
//! Layout, bottom layer first; a module uses only the ones listed before it (see
//! `docs/architecture.md`; `docs/protocol.md` for the protocol sections cited
//! in docs):
//! - [`term`]: the term model; [`etf`]: the External Term Format codec (§6);
//!   `serde_term` (feature `serde`): Rust structs and enums to terms and back.
//! - [`proto`]: sans-IO protocol pieces — flags (§3), EPMD messages (§1), the handshake
//!   state machines (§2), framing and distribution headers (§4), control messages (§5),
//!   tick bookkeeping. No sockets, clocks or random numbers inside.
//! - `tls` (feature `tls`): the rustls configurations of TLS distribution, read from
//!   OTP's `ssl_dist_optfile` (configuration, like [`config`]; docs/tls.md).
//! - [`runtime`]: pids, refs, mailboxes and the process table.
//! - [`node`]: a [`Node`] owns everything and its [`Process`] handles route every
//!   signal; there are no process-wide statics, so several nodes can run in one process.
//! - [`services`]: built-in processes (net_kernel, rex, gen_server, pg, global) written
//!   against the same public process API a library user gets.
//! - [`net`]: the tokio layer that drives the node over sockets — EPMD client and
//!   server, listener, dialer, per-connection driver; [`blocking`]: one connection over
//!   `std::net` for one-shot clients.

pub mod blocking;
pub mod config;
pub mod cookie;
pub mod etf;
pub mod net;
pub mod node;
pub mod proto;
pub mod runtime;
#[cfg(feature = "serde")]
pub mod serde_term;
pub mod services;
pub mod term;
#[cfg(feature = "tls")]
pub mod tls;

pub use config::NodeConfig;
pub use node::{
    ConnectionInfo, MonitorNodesOpts, Node, NodeError, NodeEvent, NodeKind, NodeType,
    ProcessHandle, ProcessInfo,
};
pub use node::{Dest, Process, ProcessSender};
pub use term::{Atom, Pid, Reference, Term};

/// The README's Rust examples, compiled by `cargo test` so they stay true.
#[cfg(doctest)]
#[doc = include_str!("../README.md")]
pub struct ReadmeDoctests;

/// The Rust examples of the guides in `docs/`, compiled by `cargo test --doc`.
#[cfg(doctest)]
pub mod guide_doctests {
    #[doc = include_str!("../docs/processes.md")]
    pub struct ProcessesGuide;
    #[doc = include_str!("../docs/links-monitors.md")]
    pub struct LinksMonitorsGuide;
    #[doc = include_str!("../docs/genserver.md")]
    pub struct GenServerGuide;
    #[doc = include_str!("../docs/rpc.md")]
    pub struct RpcGuide;
    #[doc = include_str!("../docs/pg.md")]
    pub struct PgGuide;
    #[doc = include_str!("../docs/global.md")]
    pub struct GlobalGuide;
    #[cfg(feature = "tls")]
    #[doc = include_str!("../docs/tls.md")]
    pub struct TlsGuide;
    #[cfg(feature = "serde")]
    #[doc = include_str!("../docs/serde.md")]
    pub struct SerdeGuide;
}

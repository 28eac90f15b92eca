//! A second, blocking driver for the sans-IO core: one distribution connection over
//! `std::net`, with no async runtime, no listener and no EPMD registration.
//!
//! One-shot clients (`beamnode call`, `beamnode ping`) connect, ask one thing and exit.
//! For them the cost of starting a [`crate::Node`] — a runtime, a listener, a thread
//! pool that resolves host names — is most of the run time, which is what `erl_call`
//! (a small C program on `erl_interface`) does not pay. This module drives the same
//! codecs the tokio layer uses ([`crate::proto`]: EPMD messages §1, the initiator
//! handshake §2, framing and ticks §4, control messages §5) from plain blocking
//! sockets, resolving the peer's host once.
//!
//! What it is not: a node. It has one pid, answers nothing but the replies it waits
//! for, and does not keep the connection beyond the caller's use. Anything it does not
//! handle (for instance a peer without DFLAG_SPAWN, §9.3) is reported so the caller
//! can use a full [`crate::Node`] instead.

mod connection;
pub mod rpc;

pub use connection::{Connection, DialConfig, DialError};

//! How the node asks for a connection without knowing how connections are made.
//!
//! Sending to a node that is not connected sets a connection up first (auto-connect,
//! as `net_kernel` does when the BEAM sends to an unknown node). The node decides
//! *when* to dial and keeps the queue; the transport that dials lives above it (the
//! tokio layer in `net`) and hands itself to the node as a [`Dial`] when it
//! builds it, so the node never depends on the transport.

use super::Node;
use crate::term::Atom;

/// Sets up a connection to a peer in the background: the role OTP gives the
/// distribution carrier module (`inet_tcp_dist:setup/5`) that `net_kernel` calls.
pub(crate) trait Dial: Send + Sync {
    /// Starts connection attempt `attempt` to `peer` (the id the node's connection
    /// table gave it). Returns at once; the outcome is reported back to `node`'s
    /// connection table, which owns the attempt.
    fn dial(&self, node: Node, peer: Atom, attempt: u64);
}

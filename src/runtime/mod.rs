//! Processes on a beamnode: pids and refs, mailboxes, the process table and registry.
//! The process handle itself, [`Process`](crate::Process), is the node's: each of its
//! operations is a signal the node routes. Nothing here imports the node.
//!
//! A Rust process is a tokio task that owns a [`Process`](crate::Process): its pid
//! and mailbox. The node routes messages to it from local senders and from
//! connections; this module holds the parts that do not need the node, so it sits
//! below it. Mailboxes keep arrival order; selective receive keeps non-matching
//! messages for later, in order, as Erlang's `receive` does.

// The table, the id allocator and the mailbox's shared state are the node's
// internals; what the public API hands out is re-exported here.
pub(crate) mod ids;
pub(crate) mod mailbox;
mod panic;
pub(crate) mod table;

pub use mailbox::{Mailbox, Messages, ReceiveError};
pub use panic::{catch_panic, panic_reason, CatchPanic};
pub use table::{AliasMode, RegisterError, Watched};

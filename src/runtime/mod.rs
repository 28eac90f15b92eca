//! Processes on a beamnode: pids and refs, mailboxes, the process table and registry.
//!
//! A Rust process is a tokio task that owns a [`Process`]: its pid and mailbox. The
//! node routes messages to it from local senders and from connections; this module
//! holds the parts that do not need the node, so it sits below it. Mailboxes keep
//! arrival order; selective receive keeps non-matching messages for later, in order,
//! as Erlang's `receive` does.

pub mod ids;
pub mod mailbox;
pub(crate) mod panic;
pub mod table;

pub use mailbox::Mailbox;
pub use mailbox::ReceiveError;
pub use table::{AliasMode, Watched};

/// The process handle is defined in the node module (each of its operations is a signal
/// the node routes); this keeps `runtime::Process`, the path users already import.
/// It is a name only: no code in `runtime` depends on the node.
pub use crate::node::Process;

//! Processes on a beamnode: pids and refs, mailboxes, the process table and registry.
//!
//! A Rust process is a tokio task that owns a [`Process`]: its pid and mailbox. The
//! node routes messages to it from local senders and from connections. Mailboxes keep
//! arrival order; selective receive keeps non-matching messages for later, in order,
//! as Erlang's `receive` does.

pub mod ids;
pub mod mailbox;
pub mod process;
pub mod table;

pub use mailbox::Mailbox;
pub use mailbox::ReceiveError;
pub use process::Process;
pub use table::{AliasMode, Watched};

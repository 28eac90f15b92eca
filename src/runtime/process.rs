//! The process API a library user (and every built-in service) programs against.

use super::mailbox::Mailbox;
use crate::node::Node;
use crate::term::{Atom, Pid, Reference, Term};
use std::time::Duration;

/// Returned by a receive that timed out.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("receive timed out")]
pub struct ReceiveTimeout;

/// A Rust process: a pid with a mailbox, owned by the task that runs it.
///
/// When the `Process` is dropped the process exits: its pid leaves the process table,
/// its registered name is released and monitors on it fire with the exit reason —
/// `normal`, the reason given to [`Process::exit`], or `{panic, Text}` if the task
/// panicked (a panic ends that process, never the node).
pub struct Process {
    pid: Pid,
    node: Node,
    mailbox: Mailbox,
    exit_reason: Option<Term>,
}

impl std::fmt::Debug for Process {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Process").field("pid", &self.pid).finish()
    }
}

impl Process {
    pub(crate) fn new(pid: Pid, node: Node, mailbox: Mailbox) -> Self {
        Process {
            pid,
            node,
            mailbox,
            exit_reason: None,
        }
    }

    /// This process's pid.
    pub fn pid(&self) -> &Pid {
        &self.pid
    }

    /// The node the process lives on.
    pub fn node(&self) -> &Node {
        &self.node
    }

    /// Sends `msg` to `to` (local or remote; connects first if needed, as BEAM does).
    pub fn send(&self, to: &Pid, msg: Term) {
        self.node.send_from(&self.pid, to, msg)
    }

    /// Sends `msg` to the process registered as `name` on `node` (`{Name, Node} ! Msg`).
    pub fn send_named(&self, name: &Atom, node: &Atom, msg: Term) {
        self.node.send_named_from(&self.pid, name, node, msg)
    }

    /// Sends `msg` to an alias reference (`Alias ! Msg`).
    pub fn send_alias(&self, alias: &Reference, msg: Term) {
        self.node.send_alias_from(&self.pid, alias, msg)
    }

    /// Registers this process under `name`.
    pub fn register(&self, name: &str) -> Result<(), crate::runtime::table::RegisterError> {
        self.node.register(Atom::new(name), &self.pid)
    }

    /// The oldest message, waiting up to `timeout` (`None` = forever).
    pub async fn receive(&mut self, timeout: Option<Duration>) -> Result<Term, ReceiveTimeout> {
        self.mailbox.receive(timeout).await.ok_or(ReceiveTimeout)
    }

    /// The oldest message matching `pattern`, leaving the others queued in order.
    pub async fn receive_match<F>(
        &mut self,
        pattern: F,
        timeout: Option<Duration>,
    ) -> Result<Term, ReceiveTimeout>
    where
        F: FnMut(&Term) -> bool,
    {
        self.mailbox
            .receive_match(pattern, timeout)
            .await
            .ok_or(ReceiveTimeout)
    }

    /// A message already waiting, if any.
    pub fn try_receive(&mut self) -> Option<Term> {
        self.mailbox.try_receive()
    }

    /// Messages waiting in the mailbox.
    pub fn mailbox_len(&self) -> usize {
        self.mailbox.len()
    }

    /// Ends the process with `reason` (monitors see it in their `DOWN`).
    pub fn exit(mut self, reason: Term) {
        self.exit_reason = Some(reason);
    }
}

impl Drop for Process {
    fn drop(&mut self) {
        let reason = match self.exit_reason.take() {
            Some(r) => r,
            None if std::thread::panicking() => {
                Term::tuple(vec![Term::atom("panic"), Term::binary("process panicked")])
            }
            None => Term::atom("normal"),
        };
        self.node.process_exited(&self.pid, reason);
    }
}

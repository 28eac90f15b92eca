//! The process API a library user (and every built-in service) programs against.
//!
//! It lives in `node`, not `runtime`: every operation of a [`Process`] (send, link,
//! monitor, exit) is a signal the node routes, locally or over a connection, so the
//! handle needs the [`Node`]. `runtime` keeps the parts that need no node (mailbox,
//! process table, ids); the handle's public path is `beamnode::Process` (or
//! `beamnode::node::Process`).

use super::delivery::Deliveries;
use super::{Dest, LinkError, Node};
use crate::runtime::mailbox::{Mailbox, ReceiveError};
use crate::runtime::table::{key, AliasMode, RegisterError, Watched};
use crate::term::{Atom, Pid, Reference, Term};
use std::time::Duration;

/// A Rust process: a pid with a mailbox, owned by the task that runs it.
///
/// A process ends when its body returns (reason `normal`), when it calls
/// [`Process::exit`], when its task panics (reason `{panic, Text}`; the node keeps
/// running), or when an exit signal kills it (a linked process died, `exit/2`). Then
/// its pid leaves the table, its name is released, linked processes get exit signals
/// and monitors fire `DOWN`s — locally and across the wire.
///
/// A process made with [`Node::process`] (no task of its own) ends when the value is
/// dropped; one started with [`Node::spawn`] ends when its body finishes.
pub struct Process {
    pid: Pid,
    node: Node,
    mailbox: Mailbox,
    /// Set for processes whose task wrapper reports the exit (see [`Node::spawn`]).
    managed: bool,
    /// The local mailboxes this process sent to lately, so that its sends to local
    /// pids and names take no process-table lock (`node/delivery.rs`, as a connection
    /// delivers). Made on the first local send; the lock is this process's own and
    /// only its sends take it.
    sent_to: std::sync::Mutex<Option<Box<Deliveries>>>,
}

impl std::fmt::Debug for Process {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Process").field("pid", &self.pid).finish()
    }
}

impl Process {
    pub(crate) fn new(pid: Pid, node: Node, mailbox: Mailbox, managed: bool) -> Self {
        Process {
            pid,
            node,
            mailbox,
            managed,
            sent_to: std::sync::Mutex::new(None),
        }
    }

    /// The mailbox's shared state (for the task wrapper of a spawned process).
    pub(crate) fn control(&self) -> crate::runtime::mailbox::MailboxSender {
        self.mailbox.control()
    }

    /// This process's pid.
    pub fn pid(&self) -> &Pid {
        &self.pid
    }

    /// The node the process lives on.
    pub fn node(&self) -> &Node {
        &self.node
    }

    /// `To ! Msg`: sends `msg` to a pid, a registered name (`"name"`, an [`Atom`]), a
    /// `(name, node)` pair or an alias ([`Dest`]); connects first if needed, as BEAM
    /// does.
    ///
    /// Like a BEAM process on a `busy_dist_port`, it waits when the connection's
    /// outgoing queue is over its busy limit ([`crate::NodeConfig::dist_buf_busy_limit`])
    /// until the connection has taken it below again, or is gone, and then queues the
    /// message: so the hard limit never refuses it, whatever its size, and a send
    /// cancelled while waiting queues nothing. Its messages keep their order (each
    /// waits before the next is queued). Local sends never wait.
    pub async fn send(&self, to: impl Into<Dest>, msg: impl Into<Term>) {
        let to = to.into();
        if let Some(node) = self.remote_node(&to) {
            if let Some(q) = self.node.busy_queue(node) {
                q.wait_not_busy().await;
            }
        }
        self.route(to, msg.into(), true);
    }

    /// The node a send to `to` goes to, when it is not this one.
    fn remote_node<'a>(&self, to: &'a Dest) -> Option<&'a Atom> {
        let node = match to {
            Dest::Pid(p) => &p.node,
            Dest::Remote(_, at) => at,
            Dest::Alias(r) => &r.node,
            Dest::Local(_) => return None,
        };
        (node != self.node.name()).then_some(node)
    }

    /// Sends `msg` to the process registered as `name` on `node` (`{Name, Node} ! Msg`);
    /// waits as [`Process::send`] does.
    pub async fn send_named(&self, name: &Atom, node: &Atom, msg: impl Into<Term>) {
        self.send((name, node), msg).await
    }

    /// [`Process::send`] without waiting on a busy connection, for code that cannot
    /// await. When what such senders have queued is already past the connection's hard
    /// limit ([`crate::NodeConfig::dist_buf_max`]) the message is dropped and the
    /// connection closed.
    pub fn send_nowait(&self, to: impl Into<Dest>, msg: impl Into<Term>) {
        self.route(to.into(), msg.into(), false);
    }

    /// [`Process::send_named`] without waiting (see [`Process::send_nowait`]).
    pub fn send_named_nowait(&self, name: &Atom, node: &Atom, msg: impl Into<Term>) {
        self.send_nowait((name, node), msg)
    }

    /// Sends, locally at once or through the destination node's queue; `waits`: the
    /// caller waited for that queue not to be busy (see `outqueue`).
    fn route(&self, to: Dest, msg: Term, waits: bool) {
        let here = self.node.name();
        match &to {
            Dest::Pid(p) if p.node == *here && p.creation == self.node.creation() => {
                self.with_sent_to(|memo| self.node.deliver_local_via(memo, key(p), msg));
            }
            Dest::Local(name) => {
                self.with_sent_to(|memo| self.node.deliver_named_via(memo, name, msg));
            }
            Dest::Remote(name, at) if at == here => {
                self.with_sent_to(|memo| self.node.deliver_named_via(memo, name, msg));
            }
            _ => send_as(&self.node, &self.pid, to, msg, waits),
        }
    }

    fn with_sent_to<R>(&self, f: impl FnOnce(&mut Deliveries) -> R) -> R {
        // Nothing under this lock can panic half-way in a way that matters: a poisoned
        // memory is still a valid one.
        let mut g = self.sent_to.lock().unwrap_or_else(|e| e.into_inner());
        f(g.get_or_insert_with(Default::default))
    }

    /// A handle that sends as this process from anywhere (another task, a callback):
    /// what a process hands to work it starts, such as a reply made later. It can send
    /// only as this process.
    pub fn sender(&self) -> ProcessSender {
        ProcessSender {
            node: self.node.clone(),
            pid: self.pid.clone(),
        }
    }

    /// `erlang:send(To, Msg, [noconnect])`: as [`Process::send`], but a message to a
    /// node with no connection is dropped (false) instead of connecting to it.
    pub fn send_noconnect(&self, to: &Pid, msg: Term) -> bool {
        self.node.send_noconnect_from(&self.pid, to, msg)
    }

    /// `erlang:send({Name, Node}, Msg, [noconnect])` (see [`Process::send_noconnect`]).
    pub fn send_named_noconnect(&self, name: &Atom, node: &Atom, msg: Term) -> bool {
        self.node
            .send_named_noconnect_from(&self.pid, name, node, msg)
    }

    /// Sends `msg` to an alias reference (`Alias ! Msg`); waits as [`Process::send`]
    /// does.
    pub async fn send_alias(&self, alias: &Reference, msg: impl Into<Term>) {
        self.send(alias, msg).await
    }

    /// Registers this process under `name`.
    pub fn register(&self, name: &str) -> Result<(), RegisterError> {
        self.node.register(Atom::new(name), &self.pid)
    }

    /// The oldest message, waiting up to `timeout` (`None` = forever).
    pub async fn receive(&mut self, timeout: Option<Duration>) -> Result<Term, ReceiveError> {
        self.mailbox.receive(timeout).await
    }

    /// The oldest message matching `pattern`, leaving the others queued in order.
    pub async fn receive_match<F>(
        &mut self,
        pattern: F,
        timeout: Option<Duration>,
    ) -> Result<Term, ReceiveError>
    where
        F: FnMut(&Term) -> bool,
    {
        self.mailbox.receive_match(pattern, timeout).await
    }

    /// A message already waiting, if any.
    pub fn try_receive(&mut self) -> Option<Term> {
        self.mailbox.try_receive()
    }

    /// The mailbox as a [`futures_core::Stream`] of messages (for `StreamExt`
    /// combinators, `tokio::select!` loops, …); it ends when the process is killed.
    pub fn messages(&mut self) -> crate::runtime::mailbox::Messages<'_> {
        crate::runtime::mailbox::Messages {
            mailbox: &mut self.mailbox,
        }
    }

    /// Messages waiting in the mailbox.
    pub fn mailbox_len(&self) -> usize {
        self.mailbox.len()
    }

    /// Ends the process with `reason` (links and monitors see it).
    pub fn exit(self, reason: Term) {
        // Ending it marks the mailbox with the reason, which the task wrapper (or the
        // drop below) reads.
        self.node.process_exited(&self.pid, reason);
    }

    /// `process_flag(trap_exit, On)`: exit signals become `{'EXIT', From, Reason}`
    /// messages instead of ending the process (`kill` by `exit/2` still kills).
    /// Returns the previous value.
    pub fn trap_exit(&self, on: bool) -> bool {
        self.node.set_trap_exit(&self.pid, on)
    }

    /// `link(Pid)`: a local or remote link (LINK over the wire).
    pub fn link(&self, other: &Pid) -> Result<(), LinkError> {
        self.node.link(&self.pid, other)
    }

    /// `unlink(Pid)` (UNLINK_ID for remote pids, docs/protocol.md §5.2).
    pub fn unlink(&self, other: &Pid) {
        self.node.unlink(&self.pid, other)
    }

    /// `monitor(process, Pid)`.
    pub fn monitor(&self, target: &Pid) -> Reference {
        self.node
            .monitor(&self.pid, Watched::Pid(target.clone()), false)
    }

    /// `monitor(process, {Name, Node})`.
    pub fn monitor_name(&self, name: &Atom, node: &Atom) -> Reference {
        self.node
            .monitor(&self.pid, Watched::Name(name.clone(), node.clone()), false)
    }

    /// `monitor(process, Target, [{alias, demonitor}])`: the reference is also an
    /// alias of this process until the monitor goes — what `gen_server:call` uses.
    pub fn monitor_alias(&self, target: Watched) -> Reference {
        self.node.monitor(&self.pid, target, true)
    }

    /// `demonitor(Ref)`; true if the monitor was active.
    pub fn demonitor(&self, reference: &Reference) -> bool {
        self.node.demonitor(&self.pid, reference)
    }

    /// `demonitor(Ref, [flush])`: also removes a `DOWN` for it already in the mailbox.
    pub fn demonitor_flush(&mut self, reference: &Reference) -> bool {
        let was = self.node.demonitor(&self.pid, reference);
        while self.mailbox_take_down(reference) {}
        was
    }

    fn mailbox_take_down(&mut self, reference: &Reference) -> bool {
        let is_down = |m: &Term| matches!(m.as_tuple(), Some([tag, Term::Ref(r), ..]) if tag.is_atom("DOWN") && r == reference);
        let mut kept = Vec::new();
        let mut found = false;
        while let Some(m) = self.mailbox.try_receive() {
            if !found && is_down(&m) {
                found = true;
            } else {
                kept.push(m);
            }
        }
        self.mailbox.put_back(kept);
        found
    }

    /// `alias()`: a reference that delivers messages to this process until
    /// [`unalias`](Self::unalias).
    pub fn alias(&self) -> Reference {
        self.node.alias(&self.pid, AliasMode::Explicit)
    }

    /// `alias([reply])`: an alias that works for one message.
    pub fn alias_reply(&self) -> Reference {
        self.node.alias(&self.pid, AliasMode::Reply)
    }

    /// `unalias(Alias)`; true if it was active.
    pub fn unalias(&self, alias: &Reference) -> bool {
        self.node.unalias(&self.pid, alias)
    }

    /// `exit(Pid, Reason)`: an exit signal to another process.
    pub fn exit_process(&self, to: &Pid, reason: Term) {
        self.node.exit_process(&self.pid, to, reason)
    }

    /// The group leader (the process that handles this process's I/O), if any.
    pub fn group_leader(&self) -> Option<Pid> {
        self.node.group_leader_of(&self.pid)
    }

    /// `group_leader(Leader, self())`.
    pub fn set_group_leader(&self, leader: &Pid) {
        self.node.set_group_leader(&self.pid, leader.clone())
    }
}

/// Routes `msg` from local `from` to `to` (`waits`: see [`Node::send_pid`]).
fn send_as(node: &Node, from: &Pid, to: Dest, msg: Term, waits: bool) {
    match to {
        Dest::Pid(p) => node.send_pid(from, &p, msg, waits),
        Dest::Local(n) => node.send_named(from, &n, &node.name().clone(), msg, waits),
        Dest::Remote(n, at) => node.send_named(from, &n, &at, msg, waits),
        Dest::Alias(r) => node.send_alias(from, &r, msg, waits),
    }
}

/// Sends as one process, from any task ([`Process::sender`]). Cloneable; never waits
/// (as [`Process::send_nowait`]).
#[derive(Debug, Clone)]
pub struct ProcessSender {
    node: Node,
    pid: Pid,
}

impl ProcessSender {
    /// The pid messages are sent as.
    pub fn pid(&self) -> &Pid {
        &self.pid
    }

    /// The node of the process.
    pub fn node(&self) -> &Node {
        &self.node
    }

    /// `To ! Msg` as the process (see [`Process::send_nowait`]).
    pub fn send(&self, to: impl Into<Dest>, msg: impl Into<Term>) {
        send_as(&self.node, &self.pid, to.into(), msg.into(), false);
    }
}

impl Drop for Process {
    fn drop(&mut self) {
        if self.managed {
            return; // the task wrapper reports the exit, with a panic's text if any
        }
        let reason = match self.mailbox.exited() {
            Some(r) => r,
            None if std::thread::panicking() => {
                Term::tuple(vec![Term::atom("panic"), Term::binary("process panicked")])
            }
            None => Term::atom("normal"),
        };
        self.node.process_exited(&self.pid, reason);
    }
}

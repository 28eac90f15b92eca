//! [`Node`]: one beamnode instance. It owns the process table, the connections and the
//! network tasks; everything hangs off it (no process-wide statics), so several nodes
//! can run in one test process.

mod apply;
mod connections;
mod delivery;
mod dial;
mod dispatch;
mod functions;
pub mod gen_call;
mod local;
mod monitor_nodes;
mod outqueue;
mod process;
mod signals;
mod spawn;
mod task;

pub use apply::Outcome;
pub use functions::{RpcClass, RpcException, RpcHandler, RpcProcessHandler, RpcResult};
pub use gen_call::Dest;
pub use local::{ProcessHandle, ProcessInfo, SpawnOpts};
pub use monitor_nodes::{MonitorNodesOpts, NodeType};
pub use process::{Process, ProcessSender};
pub use signals::LinkError;
pub use spawn::{SpawnError, SpawnHandler, SpawnRequestOpts, CANNOT_RUN_FUNS};

pub(crate) use connections::{AcceptDecision, ClosedOutcome, ConnStats, UpInfo};
pub(crate) use delivery::Deliveries;
pub(crate) use dial::Dial;
pub(crate) use functions::Callable;
pub(crate) use outqueue::{OutQueue, Outgoing};

use crate::config::NodeConfig;
use crate::proto::control::{ControlMessage, ProcRef};
use crate::proto::dist::EncodedTerm;
use crate::proto::DistFlags;
use crate::runtime::ids::IdAllocator;
use crate::runtime::table::{key, ProcKey, ProcessTable};
use crate::term::{Atom, Pid, Reference, Term};
pub(crate) use connections::Connections;
use std::sync::{Arc, Mutex};
use std::time::Duration;
use tokio::sync::broadcast;
use tracing::debug;

/// A node-level event, as `net_kernel:monitor_nodes(true, [nodedown_reason])` reports.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum NodeEvent {
    /// A connection came up (handshake done). `visible` is false for hidden peers.
    NodeUp { node: Atom, visible: bool },
    /// A connection went down, with OTP's reason atom (`connection_closed`,
    /// `net_tick_timeout`, `disconnect`, …).
    NodeDown { node: Atom, reason: Atom },
}

/// One up connection, as `net_kernel:nodes_info/0` reports it.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct ConnectionInfo {
    /// The peer.
    pub node: Atom,
    /// `normal` (visible) or `hidden` (§3.4).
    pub visible: bool,
    /// The peer's socket address, when the socket still knows it.
    pub address: Option<std::net::SocketAddr>,
    /// TLS distribution (`inet_tls_dist`) rather than plain TCP.
    pub tls: bool,
    /// Messages received and sent on this connection (ticks not counted).
    pub messages_in: u64,
    pub messages_out: u64,
    /// Times this connection turned to reading its socket on a clock because the peer
    /// streamed small messages at it ([`crate::NodeConfig::read_pacing`]).
    pub paced_streams: u64,
    /// Whether it reads on that clock now.
    pub paced: bool,
    /// The negotiated flags (§3.3).
    pub flags: DistFlags,
}

impl ConnectionInfo {
    fn of(node: Atom, info: &UpInfo) -> ConnectionInfo {
        use std::sync::atomic::Ordering::Relaxed;
        ConnectionInfo {
            node,
            visible: info.visible,
            address: info.stats.address,
            tls: info.stats.tls,
            messages_in: info.stats.messages_in.load(Relaxed),
            messages_out: info.stats.messages_out.load(Relaxed),
            paced_streams: info.stats.paced.load(Relaxed),
            paced: info.stats.pacing.load(Relaxed),
            flags: info.flags,
        }
    }
}

/// Which nodes to list (`nodes/1`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum NodeKind {
    Visible,
    Hidden,
    Connected,
    /// `this`: this node only.
    This,
    /// `known`: this node, connected nodes and nodes this node has been connected to
    /// or monitored.
    Known,
}

/// Errors starting or running a node.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum NodeError {
    #[error("invalid node name {0:?}: expected alive@host")]
    BadName(String),
    #[error("could not listen for distribution connections: {0}")]
    Listen(std::io::Error),
    #[error("EPMD registration failed: {0}")]
    Epmd(#[from] crate::proto::epmd::EpmdError),
    #[error("cookie: {0}")]
    Cookie(String),
}

pub(crate) struct NodeInner {
    pub(crate) config: NodeConfig,
    pub(crate) ids: IdAllocator,
    pub(crate) table: ProcessTable,
    pub(crate) conns: Connections,
    pub(crate) events: broadcast::Sender<NodeEvent>,
    /// `monitor_node` / `monitor_nodes` subscriptions (§7.3).
    pub(crate) node_monitors: monitor_nodes::NodeMonitors,
    /// The pid used as sender for messages sent outside any process.
    pub(crate) system_pid: Pid,
    /// The port the distribution listener is bound to.
    pub(crate) listen_port: u16,
    /// Tasks to stop at shutdown, and the EPMD registration guard.
    pub(crate) background: Mutex<Vec<tokio::task::JoinHandle<()>>>,
    /// Whatever keeps the name registered with EPMD (set by the net layer); held only to
    /// be dropped at shutdown, which unregisters the name.
    pub(crate) epmd_registration: Mutex<Option<Box<dyn std::any::Any + Send + Sync>>>,
    /// Sets up connections for auto-connect (see `dial`); given by the net layer.
    pub(crate) dialer: Arc<dyn Dial>,
    /// State that services keep per node (see [`Node::service_state`]).
    pub(crate) service_states:
        Mutex<std::collections::HashMap<std::any::TypeId, Arc<dyn std::any::Any + Send + Sync>>>,
    /// Registered spawnable functions and our outstanding spawn requests (§5.4).
    pub(crate) spawn: spawn::SpawnState,
}

/// A running beamnode. Cheap to clone (a shared handle).
#[derive(Clone)]
pub struct Node {
    pub(crate) inner: Arc<NodeInner>,
}

impl std::fmt::Debug for Node {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Node").field("name", self.name()).finish()
    }
}

impl Node {
    /// Builds the node value around an already bound listener (used by the net layer,
    /// which also defines `Node::start` and gives the node its `dialer`).
    pub(crate) fn from_parts(
        config: NodeConfig,
        creation: u32,
        listen_port: u16,
        dialer: Arc<dyn Dial>,
    ) -> Node {
        let name = Atom::new(&config.name);
        let mut salt = [0u8; 4];
        // The salt only makes refs of successive runs differ; a failing RNG is harmless.
        let _ = getrandom::fill(&mut salt);
        let ids = IdAllocator::new(name, creation, u32::from_le_bytes(salt));
        let system_pid = ids.pid_with_id(1);
        let (events, _) = broadcast::channel(1024);
        let conns = Connections::new(config.dist_buf_busy_limit, config.dist_buf_max);
        Node {
            inner: Arc::new(NodeInner {
                config,
                ids,
                table: ProcessTable::default(),
                conns,
                events,
                node_monitors: Default::default(),
                system_pid,
                listen_port,
                background: Mutex::new(Vec::new()),
                epmd_registration: Mutex::new(None),
                dialer,
                spawn: spawn::SpawnState::default(),
                service_states: Mutex::new(std::collections::HashMap::new()),
            }),
        }
    }

    /// This node's name, `alive@host`.
    pub fn name(&self) -> &Atom {
        self.inner.ids.node()
    }

    /// This incarnation's creation (from EPMD), part of every pid and ref we make.
    pub fn creation(&self) -> u32 {
        self.inner.ids.creation()
    }

    /// The distribution listen port.
    pub fn listen_port(&self) -> u16 {
        self.inner.listen_port
    }

    pub fn config(&self) -> &NodeConfig {
        &self.inner.config
    }

    /// The flags this node offers in handshakes (docs/protocol.md §3).
    pub fn dist_flags(&self) -> DistFlags {
        if self.inner.config.hidden {
            DistFlags::IMPLEMENTED
        } else {
            DistFlags::IMPLEMENTED | DistFlags::PUBLISHED
        }
    }

    /// Moves this node's pid counter (id in the low word, serial in the high word), so
    /// tests can reach the 32-bit id wrap without billions of spawns. Pids made before
    /// stay valid and are never made again.
    #[doc(hidden)]
    pub fn set_next_pid_for_tests(&self, next: u64) {
        self.inner.ids.set_next_pid(next);
    }

    /// Keeps `guard` (the EPMD registration) alive until [`Node::shutdown`].
    pub(crate) fn hold_until_shutdown(&self, guard: Box<dyn std::any::Any + Send + Sync>) {
        *self
            .inner
            .epmd_registration
            .lock()
            .unwrap_or_else(|e| e.into_inner()) = Some(guard);
    }

    /// Aborts `task` (the accept loop) at [`Node::shutdown`].
    pub(crate) fn stop_at_shutdown(&self, task: tokio::task::JoinHandle<()>) {
        self.inner
            .background
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .push(task);
    }

    /// The value of type `T` this node keeps for a service (made with `T::default()` on
    /// first use): per-node state of code built on the public API, such as caches,
    /// without process-wide statics.
    pub fn service_state<T: std::any::Any + Send + Sync + Default>(&self) -> Arc<T> {
        let mut map = self
            .inner
            .service_states
            .lock()
            .unwrap_or_else(|e| e.into_inner());
        let entry = map
            .entry(std::any::TypeId::of::<T>())
            .or_insert_with(|| Arc::new(T::default()));
        match entry.clone().downcast::<T>() {
            Ok(v) => v,
            Err(_) => {
                // Cannot happen: the key is T's TypeId. Replace rather than panic.
                let v = Arc::new(T::default());
                *entry = v.clone();
                v
            }
        }
    }

    /// The node's connection bookkeeping (net_kernel's state), for the drivers in
    /// `net`: they report handshakes, status decisions and ends through it.
    pub(crate) fn connections(&self) -> &Connections {
        &self.inner.conns
    }

    /// Starts dial `attempt` (an id the connection bookkeeping handed out with a new
    /// pending entry) toward `peer` in the background.
    pub(crate) fn dial(&self, peer: &Atom, attempt: u64) {
        self.inner.dialer.dial(self.clone(), peer.clone(), attempt);
    }

    /// A new reference (`make_ref()`).
    pub fn make_ref(&self) -> Reference {
        self.inner.ids.new_ref()
    }

    /// Sends from the node's system pid (for code that is not a process).
    pub fn send(&self, to: impl Into<Dest>, msg: impl Into<Term>) {
        let from = self.inner.system_pid.clone();
        match to.into() {
            Dest::Pid(p) => self.send_from(&from, &p, msg.into()),
            Dest::Local(n) => {
                let here = self.name().clone();
                self.send_named(&from, &n, &here, msg.into(), false);
            }
            Dest::Remote(n, at) => {
                self.send_named(&from, &n, &at, msg.into(), false);
            }
            Dest::Alias(r) => {
                self.send_alias(&from, &r, msg.into(), false);
            }
        }
    }

    /// `To ! Msg` from `from`. Local pids get the message directly; remote ones over
    /// the connection to their node, which is set up first if needed. A pid of an old
    /// incarnation of this node (same name, other creation) is dropped, as OTP does.
    ///
    /// It never waits: past the connection's busy limit the message is still queued
    /// (see [`crate::Process::send`] for the send that waits, as a BEAM process does on
    /// `busy_dist_port`); when what non-waiting senders have queued is already past the
    /// hard limit (`dist_buf_max`) the message is dropped and the connection closed.
    pub(crate) fn send_from(&self, from: &Pid, to: &Pid, msg: Term) {
        self.send_pid(from, to, msg, false);
    }

    /// [`Node::send_from`]; `waits`: the sender waited for the queue not to be busy
    /// (see `outqueue`).
    pub(crate) fn send_pid(&self, from: &Pid, to: &Pid, msg: Term, waits: bool) {
        if to.node == *self.name() {
            if to.creation == self.creation() {
                self.deliver_local(key(to), msg);
            } else {
                debug!(to = %to, "message to an old incarnation dropped");
            }
            return;
        }
        self.route_as(
            &to.node,
            ControlMessage::SendSender {
                from: from.clone(),
                to: to.clone(),
                token: None,
            },
            Some(msg),
            waits,
        )
    }

    /// `erlang:send(To, Msg, [noconnect])` from `from`: as [`Node::send_from`], except
    /// that a message to a node with no connection (up or being set up) is dropped and
    /// `false` returned instead of a connection being set up. OTP's `pg` sends its
    /// peer traffic this way, so that a message racing a node's disconnect does not
    /// reconnect it.
    pub(crate) fn send_noconnect_from(&self, from: &Pid, to: &Pid, msg: Term) -> bool {
        if to.node == *self.name() {
            self.send_from(from, to, msg);
            return true;
        }
        let control = ControlMessage::SendSender {
            from: from.clone(),
            to: to.clone(),
            token: None,
        };
        self.route_existing(&to.node, control, Some(msg))
    }

    /// `erlang:send({Name, Node}, Msg, [noconnect])` from `from` (see
    /// [`Node::send_noconnect_from`]).
    pub(crate) fn send_named_noconnect_from(
        &self,
        from: &Pid,
        name: &Atom,
        node: &Atom,
        msg: Term,
    ) -> bool {
        if node == self.name() {
            self.deliver_named(name, msg);
            return true;
        }
        let control = ControlMessage::RegSend {
            from: from.clone(),
            to_name: name.clone(),
            token: None,
        };
        self.route_existing(node, control, Some(msg))
    }

    /// [`Node::send_named_from`] (`waits` as for [`Node::send_pid`]).
    pub(crate) fn send_named(&self, from: &Pid, name: &Atom, node: &Atom, msg: Term, waits: bool) {
        if node == self.name() {
            self.deliver_named(name, msg);
            return;
        }
        self.route_as(
            node,
            ControlMessage::RegSend {
                from: from.clone(),
                to_name: name.clone(),
                token: None,
            },
            Some(msg),
            waits,
        )
    }

    /// [`Node::send_alias_from`] (`waits` as for [`Node::send_pid`]).
    pub(crate) fn send_alias(&self, from: &Pid, alias: &Reference, msg: Term, waits: bool) {
        if alias.node == *self.name() {
            self.deliver_alias(alias, msg);
            return;
        }
        self.route_as(
            &alias.node,
            ControlMessage::AliasSend {
                from: from.clone(),
                alias: alias.clone(),
                token: None,
            },
            Some(msg),
            waits,
        )
    }

    /// Encodes a message's payload in the sender (see [`EncodedTerm`]); a term the
    /// format cannot carry is dropped with a log line, as it would kill the
    /// connection on the peer (§4.5).
    fn outgoing(control: ControlMessage, payload: Option<Term>, waits: bool) -> Option<Outgoing> {
        let payload = match payload.as_ref().map(EncodedTerm::new).transpose() {
            Ok(p) => p,
            Err(e) => {
                tracing::warn!(op = control.op(), error = %e, "message not sendable; dropped");
                return None;
            }
        };
        Some(Outgoing {
            control,
            payload,
            waits,
        })
    }

    /// The outgoing queue to `node` when it is over its busy limit.
    pub(crate) fn busy_queue(&self, node: &Atom) -> Option<Arc<OutQueue>> {
        self.inner.conns.busy_queue(node)
    }

    /// Queues a control message for `node`, connecting first when needed.
    pub(crate) fn route(&self, node: &Atom, control: ControlMessage, payload: Option<Term>) {
        self.route_as(node, control, payload, false)
    }

    /// [`Node::route`] for a sender that waited for the queue not to be busy (`waits`)
    /// or not: the hard limit applies only to one that did not (see `outqueue`).
    pub(crate) fn route_as(
        &self,
        node: &Atom,
        control: ControlMessage,
        payload: Option<Term>,
        waits: bool,
    ) {
        let Some(out) = Self::outgoing(control, payload, waits) else {
            return;
        };
        let q = self.inner.conns.queue(node, out);
        if let Some(attempt) = q.dial {
            self.inner.dialer.dial(self.clone(), node.clone(), attempt);
        }
    }

    /// Queues a control message for `node` only if a connection to it is up or being
    /// set up (`noconnect`); false if there is none.
    pub(crate) fn route_existing(
        &self,
        node: &Atom,
        control: ControlMessage,
        payload: Option<Term>,
    ) -> bool {
        match Self::outgoing(control, payload, false) {
            Some(out) => self.inner.conns.queue_existing(node, out).queued,
            None => false,
        }
    }

    pub(crate) fn deliver_local(&self, id: ProcKey, msg: Term) -> bool {
        match self.inner.table.sender(id) {
            Some(tx) => tx.send(msg).is_ok(),
            None => false,
        }
    }

    pub(crate) fn deliver_named(&self, name: &Atom, msg: Term) -> bool {
        match self.inner.table.sender_by_name(name) {
            Some(tx) => tx.send(msg).is_ok(),
            None => false,
        }
    }

    /// Sends a monitor `DOWN` to a remote watcher in the form the connection's flags
    /// call for (PAYLOAD_MONITOR_P_EXIT with EXIT_PAYLOAD, else MONITOR_P_EXIT).
    pub(crate) fn send_down(
        &self,
        from: ProcRef,
        watcher: &Pid,
        reference: Reference,
        reason: Term,
    ) {
        if watcher.node == *self.name() {
            return; // local watchers are handled by the signal engine
        }
        let payload_form = self
            .inner
            .conns
            .up_info(&watcher.node)
            .map(|i| i.flags.contains(DistFlags::EXIT_PAYLOAD))
            .unwrap_or(true);
        let (control, payload) = if payload_form {
            (
                ControlMessage::PayloadMonitorPExit {
                    from,
                    to: watcher.clone(),
                    reference,
                },
                Some(reason),
            )
        } else {
            (
                ControlMessage::MonitorPExit {
                    from,
                    to: watcher.clone(),
                    reference,
                    reason,
                },
                None,
            )
        };
        // A DOWN never sets up a connection (the watcher's node is gone otherwise).
        if self.inner.conns.up_info(&watcher.node).is_some() {
            self.route(&watcher.node, control, payload);
        }
    }

    /// The flags negotiated with `node` while a connection to it is up (§3.3).
    pub fn connection_flags(&self, node: &Atom) -> Option<DistFlags> {
        self.inner.conns.up_info(node).map(|i| i.flags)
    }

    /// What `net_kernel:node_info/1` tells of the up connection to `node`.
    pub fn connection_info(&self, node: &Atom) -> Option<ConnectionInfo> {
        let info = self.inner.conns.up_info(node)?;
        Some(ConnectionInfo::of(node.clone(), &info))
    }

    /// [`Node::connection_info`] of every up connection (`net_kernel:nodes_info/0`).
    pub fn connections_info(&self) -> Vec<ConnectionInfo> {
        let mut all: Vec<ConnectionInfo> = (self.inner.conns.up().into_iter())
            .map(|(node, info)| ConnectionInfo::of(node, &info))
            .collect();
        all.sort_by(|a, b| a.node.as_str().cmp(b.node.as_str()));
        all
    }

    /// Connected nodes of the given kind (`nodes(visible | hidden | connected)`).
    pub fn nodes_of(&self, kind: NodeKind) -> Vec<Atom> {
        if matches!(kind, NodeKind::This | NodeKind::Known) {
            return self.nodes_this_or_known(kind);
        }
        let mut v: Vec<Atom> = self
            .inner
            .conns
            .up()
            .into_iter()
            .filter(|(_, i)| match kind {
                NodeKind::Visible => i.visible,
                NodeKind::Hidden => !i.visible,
                NodeKind::Connected | NodeKind::This | NodeKind::Known => true,
            })
            .map(|(n, _)| n)
            .collect();
        v.sort();
        v
    }

    /// Visible connected nodes (`nodes()` / `Node.list()`).
    pub fn nodes(&self) -> Vec<Atom> {
        self.nodes_of(NodeKind::Visible)
    }

    /// Subscribes to nodeup/nodedown events.
    pub fn subscribe(&self) -> broadcast::Receiver<NodeEvent> {
        self.inner.events.subscribe()
    }

    /// Connects to `node` (`net_kernel:connect_node/1`); true when the connection is up.
    pub async fn connect(&self, node: &Atom) -> bool {
        if node == self.name() {
            return true;
        }
        match self.inner.conns.wait_up(node) {
            Ok(up) => up,
            Err((rx, dial)) => {
                if let Some(attempt) = dial {
                    self.inner.dialer.dial(self.clone(), node.clone(), attempt);
                }
                let limit = self.inner.config.setup_time.saturating_mul(3);
                matches!(tokio::time::timeout(limit, rx).await, Ok(Ok(true)))
            }
        }
    }

    /// `net_adm:ping/1`: connects and asks the peer's `net_kernel` `{is_auth, Node}`;
    /// true for `pong`.
    pub async fn ping(&self, node: &Atom) -> bool {
        if node == self.name() {
            return true;
        }
        if !self.connect(node).await {
            return false;
        }
        let mut p = self.process();
        let request = Term::tuple(vec![Term::atom("is_auth"), Term::Atom(self.name().clone())]);
        let dest = gen_call::Dest::Remote(Atom::new("net_kernel"), node.clone());
        matches!(
            gen_call::call(&mut p, &dest, request, Duration::from_secs(10)).await,
            Ok(t) if t.is_atom("yes")
        )
    }

    /// Closes the connection to `node` (`erlang:disconnect_node/1`).
    pub fn disconnect(&self, node: &Atom) -> bool {
        match self.inner.conns.up_info(node) {
            Some(i) => {
                i.kill.notify_one();
                true
            }
            None => false,
        }
    }

    /// Stops the node: closes connections, stops the listener and unregisters from
    /// EPMD.
    pub fn shutdown(&self) {
        self.inner.conns.kill_all();
        for h in self
            .inner
            .background
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .drain(..)
        {
            h.abort();
        }
        self.inner
            .epmd_registration
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .take();
    }

    /// [`Node::shutdown`], then waits until every connection has gone down (its
    /// `nodedown` delivered), at most `limit`. True when all went down in time.
    pub async fn stop(&self, limit: Duration) -> bool {
        let mut events = self.subscribe();
        let mut up: Vec<Atom> = self.nodes_of(NodeKind::Connected);
        self.shutdown();
        // `Duration::MAX` (or anything past the clock's range) means no limit.
        let now = tokio::time::Instant::now();
        let deadline = now
            .checked_add(limit)
            .unwrap_or_else(|| now + Duration::from_secs(100 * 365 * 86_400));
        while !up.is_empty() {
            match tokio::time::timeout_at(deadline, events.recv()).await {
                Ok(Ok(NodeEvent::NodeDown { node, .. })) => up.retain(|n| *n != node),
                Ok(Ok(_)) | Ok(Err(broadcast::error::RecvError::Lagged(_))) => {
                    up.retain(|n| self.connection_flags(n).is_some());
                }
                Ok(Err(broadcast::error::RecvError::Closed)) | Err(_) => break,
            }
        }
        up.is_empty()
    }

    pub(crate) fn emit(&self, ev: NodeEvent) {
        self.node_monitors_event(&ev);
        let _ = self.inner.events.send(ev);
    }
}

/// A node for unit tests: no EPMD registration, listening on loopback.
#[cfg(test)]
pub(crate) async fn test_node(name: &str) -> Node {
    let config = crate::NodeConfig::new(format!("{name}@localhost"), "c")
        .register_with_epmd(false)
        .listen_addr([127, 0, 0, 1].into());
    Node::start(config).await.expect("node starts")
}

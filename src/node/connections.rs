//! The node's view of its connections: pending attempts, up connections, and the
//! per-node outgoing queue that keeps messages in order while a connection is being set
//! up (auto-connect, docs/protocol.md §7.2) — net_kernel's bookkeeping in OTP terms.

use super::outqueue::{OutQueue, Outgoing, Push};
use crate::proto::handshake::{accept_status, Status};
use crate::proto::DistFlags;
use crate::term::Atom;
use arc_swap::ArcSwap;
use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use tokio::sync::{mpsc, oneshot, Notify};
use tracing::warn;

/// What the node keeps for an up connection.
#[derive(Debug, Clone)]
pub(crate) struct UpInfo {
    pub id: u64,
    pub flags: DistFlags,
    pub visible: bool,
    /// Notified to make the connection task close (e.g. the peer reconnected).
    pub kill: Arc<Notify>,
    /// The peer's address and the message counts, for `net_kernel:nodes_info`.
    pub stats: Arc<ConnStats>,
}

/// What `net_kernel:nodes_info` reports of one connection; the counts are kept by the
/// connection's driver.
#[derive(Debug, Default)]
pub(crate) struct ConnStats {
    pub address: Option<std::net::SocketAddr>,
    pub tls: bool,
    pub messages_in: std::sync::atomic::AtomicU64,
    pub messages_out: std::sync::atomic::AtomicU64,
    /// Times the driver turned to reading on a clock (`net::pacing`), and whether it
    /// reads on it now.
    pub paced: std::sync::atomic::AtomicU64,
    pub pacing: std::sync::atomic::AtomicBool,
}

impl ConnStats {
    /// Publishes the connection's counts (`Connection::message_counts`).
    pub fn record(&self, (input, output): (u64, u64)) {
        use std::sync::atomic::Ordering::Relaxed;
        self.messages_in.store(input, Relaxed);
        self.messages_out.store(output, Relaxed);
    }

    /// The driver turned to reading on a clock (`true`) or back to reading on arrival.
    pub fn paced_now(&self, on: bool) {
        use std::sync::atomic::Ordering::Relaxed;
        if on {
            self.paced.fetch_add(1, Relaxed);
        }
        self.pacing.store(on, Relaxed);
    }
}

#[derive(Debug)]
enum Phase {
    Pending {
        attempt: u64,
        waiters: Vec<oneshot::Sender<bool>>,
    },
    Up(UpInfo),
}

/// An accept that found a connection up to the same node and was told by the peer
/// that it really is a new connection (`alive` → `true`, docs/protocol.md §2.6):
/// net_kernel's `up_pending`. It takes the entry over once the old connection is gone.
#[derive(Debug)]
struct Successor {
    attempt: u64,
    /// Told once the old connection has been taken down (nodedown delivered).
    gone: Option<oneshot::Sender<()>>,
}

#[derive(Debug)]
struct Entry {
    queue: Arc<OutQueue>,
    rx: Option<mpsc::UnboundedReceiver<Outgoing>>,
    phase: Phase,
    /// Set while an accept is replacing the up connection (only with `Phase::Up`).
    successor: Option<Successor>,
    /// Set when the up connection has ended ([`Connections::closing`]) until its
    /// nodedown has been delivered ([`Connections::closed`]): the entry keeps its place
    /// meanwhile, so no new connection to the peer comes up, and says nodeup, before
    /// that nodedown (net_kernel's order, docs/protocol.md §2.6). Holds the callers of
    /// [`Connections::wait_up`] that came in between; messages sent meanwhile go to a
    /// fresh queue (only under the lock: a closing entry is not in the published
    /// routes), and a new dial, started once the nodedown is out, serves both.
    closing: Option<Vec<oneshot::Sender<bool>>>,
}

impl Entry {
    fn pending(attempt: u64, limits: (usize, usize)) -> Entry {
        let (queue, rx) = OutQueue::new(limits.0, limits.1);
        Entry {
            queue: Arc::new(queue),
            rx: Some(rx),
            phase: Phase::Pending {
                attempt,
                waiters: Vec::new(),
            },
            successor: None,
            closing: None,
        }
    }
}

/// What the node decides when a peer's name arrives at an accept.
#[derive(Debug, PartialEq, Eq)]
pub(crate) enum AcceptDecision {
    /// Send this status; with an attempt id when the accept now owns (or, after
    /// `alive`, may come to own) the entry.
    Status(Status, Option<u64>),
    /// Another accept is already replacing the up connection to this node: close
    /// without a status, as net_kernel does for `already_pending`.
    AlreadyReplacing,
}

/// How an up connection's end relates to the node's entry for its peer.
#[derive(Debug)]
pub(crate) enum ClosedOutcome {
    /// Another connection owns the entry: nothing to do.
    NotCurrent,
    /// The entry is gone. With an attempt id when callers of `wait_up` came while the
    /// nodedown was being delivered: the caller starts a dial with it.
    Down(Option<u64>),
    /// An accept is waiting to replace the connection: the entry is now that accept's;
    /// the caller tells it (if it is waiting) through `gone`.
    Replaced(Option<oneshot::Sender<()>>),
}

/// Result of queuing a message for a node.
pub(crate) struct Queued {
    /// A new pending entry was made: the caller must start a dial with this attempt id.
    pub dial: Option<u64>,
    /// Whether the message was queued (false: no connection, or dropped at the hard
    /// limit).
    pub queued: bool,
}

/// Default busy limit of a connection's outgoing queue: OTP's `dist_buf_busy_limit`.
pub(crate) const DEFAULT_BUSY_LIMIT: usize = 1024 * 1024;
/// Default hard limit of a connection's outgoing queue.
pub(crate) const DEFAULT_QUEUE_MAX: usize = 64 * 1024 * 1024;

/// Which queue serves each node: a read-only copy of the map's queues, replaced whole
/// (under the map's lock) whenever an entry comes or goes.
type Routes = HashMap<Atom, Arc<OutQueue>>;

/// The node's connections. Setting a connection up or down changes `map` under its
/// lock; sending a message only reads `routes`, a snapshot swapped in atomically after
/// each such change, so senders on different cores share no lock (issue: "no
/// node-wide lock per message"). A sender that meets a closed queue or no entry in the
/// snapshot falls back to the locked path, which sees the current state.
#[derive(Debug)]
pub(crate) struct Connections {
    map: Mutex<HashMap<Atom, Entry>>,
    routes: ArcSwap<Routes>,
    next_id: AtomicU64,
    /// (busy limit, hard limit) of each outgoing queue.
    limits: (usize, usize),
}

impl Default for Connections {
    fn default() -> Self {
        Connections::new(DEFAULT_BUSY_LIMIT, DEFAULT_QUEUE_MAX)
    }
}

impl Connections {
    pub fn new(busy_limit: usize, max: usize) -> Connections {
        Connections {
            map: Mutex::new(HashMap::new()),
            routes: ArcSwap::from_pointee(HashMap::new()),
            next_id: AtomicU64::new(0),
            limits: (busy_limit, max),
        }
    }

    fn new_entry(&self, attempt: u64) -> Entry {
        Entry::pending(attempt, self.limits)
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<Atom, Entry>> {
        self.map.lock().unwrap_or_else(|e| e.into_inner())
    }

    pub fn new_id(&self) -> u64 {
        self.next_id.fetch_add(1, Ordering::Relaxed) + 1
    }

    /// Publishes the queues of `map` to senders. Called with the map's lock held, after
    /// every change that adds or removes an entry, so snapshots are stored in the order
    /// of the changes.
    fn publish(&self, map: &HashMap<Atom, Entry>) {
        let routes: Routes = map
            .iter()
            .filter(|(_, e)| e.closing.is_none())
            .map(|(n, e)| (n.clone(), e.queue.clone()))
            .collect();
        self.routes.store(Arc::new(routes));
    }

    /// The lock-free path of a send: pushes onto the queue the snapshot names for
    /// `node`. Gives the message back when the locked path must decide (no entry, the
    /// queue closed since the snapshot, or a message refused by the hard limit, whose
    /// handling needs the entry's phase).
    fn queue_fast(&self, node: &Atom, out: Outgoing) -> Result<Queued, Box<Outgoing>> {
        let routes = self.routes.load();
        let Some(q) = routes.get(node) else {
            return Err(Box::new(out));
        };
        match q.try_push(out) {
            Ok(_) => Ok(Queued {
                dial: None,
                queued: true,
            }),
            Err((_, out)) => Err(out),
        }
    }

    /// The queue for `node` when it is over its busy limit (from the lock-free
    /// snapshot): what a sender that waits waits on before it queues.
    pub fn busy_queue(&self, node: &Atom) -> Option<Arc<OutQueue>> {
        self.routes
            .load()
            .get(node)
            .filter(|q| q.is_busy())
            .cloned()
    }

    /// Queues `out` for `node`, creating a pending entry (and asking for a dial) when
    /// there is none. One queue per node keeps every sender's messages in order.
    pub fn queue(&self, node: &Atom, out: Outgoing) -> Queued {
        let out = match self.queue_fast(node, out) {
            Ok(q) => return q,
            Err(out) => *out,
        };
        let mut map = self.lock();
        let mut dial = None;
        if !map.contains_key(node) {
            let attempt = self.new_id();
            dial = Some(attempt);
            map.insert(node.clone(), self.new_entry(attempt));
            self.publish(&map);
        }
        let queued = match map.get(node) {
            Some(e) => Self::push(node, e, out),
            None => false,
        };
        Queued { dial, queued }
    }

    /// Queues `out` for `node` only if a connection to it is up or being set up;
    /// `queued: false` (and `out` dropped) otherwise. OTP's `noconnect` send option
    /// (erts queues on a pending connection too, and only refuses to start one).
    pub fn queue_existing(&self, node: &Atom, out: Outgoing) -> Queued {
        let out = match self.queue_fast(node, out) {
            Ok(q) => return q,
            Err(out) => *out,
        };
        let queued = match self.lock().get(node) {
            // Its connection is going down: queuing would start a new one.
            Some(e) if e.closing.is_some() => false,
            Some(e) => Self::push(node, e, out),
            None => false,
        };
        Queued { dial: None, queued }
    }

    /// Pushes onto an entry's queue; past the hard limit the message is dropped and an
    /// up connection closed (see `outqueue`).
    fn push(node: &Atom, e: &Entry, out: Outgoing) -> bool {
        match e.queue.push(out) {
            Push::Queued | Push::Busy => true,
            // The connection is going down; the message is dropped as BEAM drops
            // messages to a node that is gone.
            Push::Closed => false,
            Push::Overflow => {
                match &e.phase {
                    Phase::Up(info) => {
                        warn!(peer = %node, queued = e.queue.bytes(), "outgoing queue over its hard limit (dist_buf_max): the peer is not reading; closing the connection");
                        info.kill.notify_one();
                    }
                    Phase::Pending { .. } => {
                        warn!(peer = %node, queued = e.queue.bytes(), "outgoing queue of a connection being set up is over its hard limit (dist_buf_max); message dropped");
                    }
                }
                false
            }
        }
    }

    /// For `connect`: `Ok(true)` if already up, otherwise a receiver told whether the
    /// pending (maybe new) attempt succeeds, plus the attempt id to dial when new.
    pub fn wait_up(&self, node: &Atom) -> Result<bool, (oneshot::Receiver<bool>, Option<u64>)> {
        let mut map = self.lock();
        let (tx, rx) = oneshot::channel();
        match map.get_mut(node) {
            Some(Entry {
                closing: Some(waiting),
                ..
            }) => {
                waiting.push(tx);
                Err((rx, None))
            }
            Some(Entry {
                phase: Phase::Up(_),
                ..
            }) => Ok(true),
            Some(Entry {
                phase: Phase::Pending { waiters, .. },
                ..
            }) => {
                waiters.push(tx);
                Err((rx, None))
            }
            None => {
                let attempt = self.new_id();
                let mut e = self.new_entry(attempt);
                if let Phase::Pending { waiters, .. } = &mut e.phase {
                    waiters.push(tx);
                }
                map.insert(node.clone(), e);
                self.publish(&map);
                Err((rx, Some(attempt)))
            }
        }
    }

    /// net_kernel's decision when `peer` dials us (docs/protocol.md §2.6).
    pub fn accept_status(&self, our_name: &Atom, peer: &Atom) -> AcceptDecision {
        let mut map = self.lock();
        let (pending, up) = match map.get(peer) {
            None => (false, false),
            Some(Entry {
                successor: Some(_), ..
            }) => return AcceptDecision::AlreadyReplacing,
            Some(Entry {
                phase: Phase::Pending { .. },
                ..
            }) => (true, false),
            Some(Entry {
                phase: Phase::Up(_),
                ..
            }) => (false, true),
        };
        let status = accept_status(our_name.as_str(), peer.as_str(), pending, up);
        match status {
            Status::Ok => {
                let attempt = self.new_id();
                let e = self.new_entry(attempt);
                if let Some(old) = map.insert(peer.clone(), e) {
                    old.queue.close();
                }
                self.publish(&map);
                AcceptDecision::Status(status, Some(attempt))
            }
            Status::OkSimultaneous => {
                // The peer's attempt wins; ours is superseded (it will see `nok`), and
                // this accept inherits the queue of messages waiting for the peer.
                let new = self.new_id();
                if let Some(Entry {
                    phase: Phase::Pending { attempt, .. },
                    ..
                }) = map.get_mut(peer)
                {
                    *attempt = new;
                }
                AcceptDecision::Status(status, Some(new))
            }
            Status::Alive => {
                // net_kernel's `up_pending`: the up connection keeps working until the
                // peer confirms and the handshake is verified.
                let new = self.new_id();
                if let Some(e) = map.get_mut(peer) {
                    e.successor = Some(Successor {
                        attempt: new,
                        gone: None,
                    });
                }
                AcceptDecision::Status(status, Some(new))
            }
            _ => AcceptDecision::Status(status, None),
        }
    }

    /// The accept `attempt` (which got `alive` → `true` and verified the peer) takes
    /// over from the up connection: that connection is told to close, and the returned
    /// receiver fires once it is down and its nodedown delivered (docs/protocol.md §2.6).
    /// `None` when there is nothing to wait for: the old connection is already gone
    /// and the entry is this attempt's, or the attempt lost the entry (then
    /// [`Connections::established`] refuses it).
    pub fn take_over(&self, peer: &Atom, attempt: u64) -> Option<oneshot::Receiver<()>> {
        let mut map = self.lock();
        let e = map.get_mut(peer)?;
        let Phase::Up(info) = &e.phase else {
            return None;
        };
        let s = e.successor.as_mut().filter(|s| s.attempt == attempt)?;
        let (tx, rx) = oneshot::channel();
        s.gone = Some(tx);
        info.kill.notify_one();
        Some(rx)
    }

    /// The handshake of `attempt` finished. Returns the queue to drain if this attempt
    /// still owns the entry, `None` if another connection superseded it.
    pub fn established(
        &self,
        peer: &Atom,
        attempt: u64,
        info: UpInfo,
    ) -> Option<(Arc<OutQueue>, mpsc::UnboundedReceiver<Outgoing>)> {
        let mut map = self.lock();
        let e = map.get_mut(peer)?;
        match &mut e.phase {
            Phase::Pending {
                attempt: a,
                waiters,
            } if *a == attempt => {
                for w in waiters.drain(..) {
                    let _ = w.send(true);
                }
                let rx = e.rx.take();
                e.phase = Phase::Up(info);
                rx.map(|rx| (e.queue.clone(), rx))
            }
            _ => None,
        }
    }

    /// Whether `attempt` still owns the pending entry for `peer` (net_kernel's
    /// `is_pending`, the initiator's answer to `alive`, §2.6).
    pub fn owns_pending(&self, peer: &Atom, attempt: u64) -> bool {
        matches!(self.lock().get(peer), Some(Entry { phase: Phase::Pending { attempt: a, .. }, .. }) if *a == attempt)
    }

    /// The attempt failed before coming up. True if it still owned the entry (its
    /// queued messages are dropped).
    pub fn failed(&self, peer: &Atom, attempt: u64) -> bool {
        let mut map = self.lock();
        if let Some(e) = map.get_mut(peer) {
            if e.successor.as_ref().is_some_and(|s| s.attempt == attempt) {
                // A replacing accept gave up: the up connection simply stays.
                e.successor = None;
                return false;
            }
        }
        let owns = matches!(map.get(peer), Some(Entry { phase: Phase::Pending { attempt: a, .. }, .. }) if *a == attempt);
        if owns {
            if let Some(Entry {
                phase: Phase::Pending { waiters, .. },
                queue,
                ..
            }) = map.remove(peer)
            {
                queue.close();
                for w in waiters {
                    let _ = w.send(false);
                }
            }
            self.publish(&map);
        }
        owns
    }

    /// An up connection ended: its queue is closed (what is still queued is lost with
    /// it) and the entry is marked closing until [`Connections::closed`]. The caller
    /// breaks links, fires monitors and delivers nodedown in between. `None` when
    /// another connection owns the entry (nothing to report); else whether an accept
    /// is waiting to replace it.
    pub fn closing(&self, peer: &Atom, id: u64) -> Option<bool> {
        let mut map = self.lock();
        let e = map.get_mut(peer)?;
        if !matches!(&e.phase, Phase::Up(i) if i.id == id) || e.closing.is_some() {
            return None;
        }
        e.queue.close();
        // Sends from now on queue here, for the connection that comes next.
        let (queue, rx) = OutQueue::new(self.limits.0, self.limits.1);
        e.queue = Arc::new(queue);
        e.rx = Some(rx);
        e.closing = Some(Vec::new());
        let replaced = e.successor.is_some();
        self.publish(&map);
        Some(replaced)
    }

    /// The nodedown of a [`Connections::closing`] connection has been delivered: the
    /// entry goes. When an accept is waiting to replace the connection, the entry
    /// passes to that accept, as net_kernel's `up_pending_nodedown` does; otherwise,
    /// when messages were sent or `connect` called meanwhile, to a new dial (as a send
    /// to a node without a connection starts one). Either way with those messages and
    /// the waiting `connect` callers.
    pub fn closed(&self, peer: &Atom, id: u64) -> ClosedOutcome {
        let mut map = self.lock();
        let current = matches!(
            map.get(peer),
            Some(Entry { phase: Phase::Up(i), closing: Some(_), .. }) if i.id == id
        );
        if !current {
            return ClosedOutcome::NotCurrent;
        }
        let Some(mut old) = map.remove(peer) else {
            return ClosedOutcome::NotCurrent;
        };
        let waiting = old.closing.take().unwrap_or_default();
        // Pushes to a closing entry's queue happen only under this lock (it is not in
        // the routes), so none can land after this look.
        let sent = old.queue.bytes() > 0;
        let (attempt, outcome) = match old.successor.take() {
            Some(s) => (s.attempt, ClosedOutcome::Replaced(s.gone)),
            None if sent || !waiting.is_empty() => {
                let attempt = self.new_id();
                (attempt, ClosedOutcome::Down(Some(attempt)))
            }
            None => {
                old.queue.close();
                self.publish(&map);
                return ClosedOutcome::Down(None);
            }
        };
        map.insert(
            peer.clone(),
            Entry {
                queue: old.queue.clone(),
                rx: old.rx.take(),
                phase: Phase::Pending {
                    attempt,
                    waiters: waiting,
                },
                successor: None,
                closing: None,
            },
        );
        self.publish(&map);
        outcome
    }

    /// Info on the up connection to `peer`.
    pub fn up_info(&self, peer: &Atom) -> Option<UpInfo> {
        match self.lock().get(peer) {
            Some(Entry {
                phase: Phase::Up(i),
                closing: None,
                ..
            }) => Some(i.clone()),
            _ => None,
        }
    }

    /// Up connections with their info.
    pub fn up(&self) -> Vec<(Atom, UpInfo)> {
        self.lock()
            .iter()
            .filter_map(|(n, e)| match (&e.phase, &e.closing) {
                (Phase::Up(i), None) => Some((n.clone(), i.clone())),
                _ => None,
            })
            .collect()
    }

    /// Closes every connection (node shutdown).
    pub fn kill_all(&self) {
        for e in self.lock().values() {
            if let Phase::Up(i) = &e.phase {
                i.kill.notify_one();
            }
        }
    }
}

#[cfg(test)]
mod tests;

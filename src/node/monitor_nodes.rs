//! Node monitoring (docs/protocol.md §7.3): `erlang:monitor_node/2` (`{nodedown, N}`)
//! and `net_kernel:monitor_nodes/1,2` (`{nodeup, N}` / `{nodedown, N}` and, with
//! options, `{nodeup, N, Info}` / `{nodedown, N, Info}`). Like in OTP this is purely
//! local bookkeeping: nothing goes over the wire. Subscriptions are driven by the
//! node's NodeUp/NodeDown points ([`Node::emit`]) and delivered as ordinary messages
//! to the subscribing process. A subscriber that has exited is forgotten the first
//! time a message to it cannot be delivered.
//!
//! Message shapes were checked against OTP 25 (`erl`, see tests/interop/interop_nodes.rs):
//! * no options: `{nodeup, N}` / `{nodedown, N}`, visible nodes only;
//! * any option: `{nodeup, N, [{node_type, T}]}` (the list is `[]` without a
//!   `node_type` option) and `{nodedown, N, [{nodedown_reason, R}, {node_type, T}]}`
//!   (each element only when its option was given, in that order);
//! * `{node_type, visible}` (or only `nodedown_reason`) reports visible nodes,
//!   `{node_type, hidden}` hidden ones, `{node_type, all}` both.

use super::{Node, NodeEvent, NodeKind, Process};
use crate::runtime::table::{key, ProcKey};
use crate::term::{Atom, Term};
use std::collections::{BTreeSet, HashMap};
use std::sync::Mutex;

/// Which connections a `monitor_nodes` subscription reports (`{node_type, T}`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum NodeType {
    Visible,
    Hidden,
    All,
}

/// Options of `net_kernel:monitor_nodes/2`. The default (no options) gives OTP's
/// two-element messages for visible nodes.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash)]
pub struct MonitorNodesOpts {
    /// `nodedown_reason`: nodedown messages carry `{nodedown_reason, R}`.
    pub nodedown_reason: bool,
    /// `{node_type, T}`: which nodes are reported; messages carry `{node_type, T}`.
    pub node_type: Option<NodeType>,
}

impl MonitorNodesOpts {
    /// OTP sends the 3-tuple forms as soon as the option list is not empty.
    fn extended(&self) -> bool {
        self.nodedown_reason || self.node_type.is_some()
    }

    fn reports(&self, visible: bool) -> bool {
        match self.node_type {
            None | Some(NodeType::Visible) => visible,
            Some(NodeType::Hidden) => !visible,
            Some(NodeType::All) => true,
        }
    }

    fn message(&self, up: bool, node: &Atom, visible: bool, reason: Option<&Atom>) -> Term {
        let tag = Term::atom(if up { "nodeup" } else { "nodedown" });
        if !self.extended() {
            return Term::tuple(vec![tag, Term::Atom(node.clone())]);
        }
        let mut info = Vec::new();
        if !up && self.nodedown_reason {
            let r = reason
                .cloned()
                .unwrap_or_else(|| Atom::new("connection_closed"));
            info.push(Term::tuple(vec![
                Term::atom("nodedown_reason"),
                Term::Atom(r),
            ]));
        }
        if self.node_type.is_some() {
            let t = if visible { "visible" } else { "hidden" };
            info.push(Term::tuple(vec![Term::atom("node_type"), Term::atom(t)]));
        }
        Term::tuple(vec![tag, Term::Atom(node.clone()), Term::list(info)])
    }
}

#[derive(Debug, Default)]
struct State {
    /// `monitor_nodes` subscriptions: (pid id, options); one entry per call, as OTP
    /// counts repeated subscriptions.
    subscribers: Vec<(ProcKey, MonitorNodesOpts)>,
    /// `monitor_node(N, true)` calls not yet fired or cancelled: node → pid ids.
    node_monitors: HashMap<Atom, Vec<ProcKey>>,
    /// Whether each up connection is visible (NodeDown events do not say).
    up: HashMap<Atom, bool>,
    /// Every node this node has been connected to or asked about (`nodes(known)`).
    known: BTreeSet<Atom>,
}

/// The node's node-monitoring bookkeeping.
#[derive(Debug, Default)]
pub(crate) struct NodeMonitors {
    state: Mutex<State>,
}

impl NodeMonitors {
    fn lock(&self) -> std::sync::MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }
}

impl State {
    /// Forgets what processes that have exited asked for, so a long-lived node whose
    /// short-lived processes subscribe does not accumulate entries.
    fn prune(&mut self, alive: impl Fn(ProcKey) -> bool) {
        self.subscribers.retain(|(id, _)| alive(*id));
        for v in self.node_monitors.values_mut() {
            v.retain(|id| alive(*id));
        }
        self.node_monitors.retain(|_, v| !v.is_empty());
    }
}

impl Node {
    /// Called at every NodeUp/NodeDown point: delivers the subscribers' messages.
    pub(crate) fn node_monitors_event(&self, ev: &NodeEvent) {
        let (msgs, monitor_node_ids, node) = {
            let mut s = self.inner.node_monitors.lock();
            match ev {
                NodeEvent::NodeUp { node, visible } => {
                    s.up.insert(node.clone(), *visible);
                    s.known.insert(node.clone());
                    let msgs: Vec<(ProcKey, Term)> = s
                        .subscribers
                        .iter()
                        .filter(|(_, o)| o.reports(*visible))
                        .map(|(id, o)| (*id, o.message(true, node, *visible, None)))
                        .collect();
                    (msgs, Vec::new(), node.clone())
                }
                NodeEvent::NodeDown { node, reason } => {
                    let visible = s.up.remove(node).unwrap_or(true);
                    let msgs: Vec<(ProcKey, Term)> = s
                        .subscribers
                        .iter()
                        .filter(|(_, o)| o.reports(visible))
                        .map(|(id, o)| (*id, o.message(false, node, visible, Some(reason))))
                        .collect();
                    let ids = s.node_monitors.remove(node).unwrap_or_default();
                    (msgs, ids, node.clone())
                }
            }
        };
        let mut gone = Vec::new();
        for (id, msg) in msgs {
            if !self.deliver_local(id, msg) {
                gone.push(id);
            }
        }
        for id in monitor_node_ids {
            self.deliver_local(id, nodedown(&node));
        }
        if !gone.is_empty() {
            self.inner
                .node_monitors
                .lock()
                .subscribers
                .retain(|(id, _)| !gone.contains(id));
        }
    }

    /// `nodes(this)` and `nodes(known)` (the other kinds are in [`Node::nodes_of`]).
    pub(crate) fn nodes_this_or_known(&self, kind: NodeKind) -> Vec<Atom> {
        match kind {
            NodeKind::This => vec![self.name().clone()],
            _ => {
                let mut all: BTreeSet<Atom> = self.inner.node_monitors.lock().known.clone();
                all.extend(self.nodes_of(NodeKind::Connected));
                all.insert(self.name().clone());
                all.into_iter().collect()
            }
        }
    }
}

fn nodedown(node: &Atom) -> Term {
    Term::tuple(vec![Term::atom("nodedown"), Term::Atom(node.clone())])
}

impl Process {
    /// `erlang:monitor_node(Node, Flag)`: with `true` this process gets one
    /// `{nodedown, Node}` when the connection to `node` goes (each call adds one); with
    /// `false` one earlier call is cancelled. Like OTP, a node that is not connected
    /// is connected to first; if that fails `{nodedown, Node}` arrives at once.
    /// Monitoring this node itself does nothing.
    pub fn monitor_node(&self, node: &Atom, on: bool) -> bool {
        let me = self.node();
        if node == me.name() {
            return true;
        }
        let id = key(self.pid());
        let mons = &me.inner.node_monitors;
        if !on {
            let mut s = mons.lock();
            if let Some(v) = s.node_monitors.get_mut(node) {
                if let Some(i) = v.iter().position(|x| *x == id) {
                    v.remove(i);
                }
                if v.is_empty() {
                    s.node_monitors.remove(node);
                }
            }
            return true;
        }
        {
            let mut s = mons.lock();
            s.prune(|id| me.inner.table.contains(id));
            s.node_monitors.entry(node.clone()).or_default().push(id);
            s.known.insert(node.clone());
        }
        if me.inner.conns.up_info(node).is_none() {
            let (me, node) = (me.clone(), node.clone());
            let fail = move |me: &Node, node: &Atom| {
                let fire = {
                    let mut s = me.inner.node_monitors.lock();
                    match s.node_monitors.get_mut(node) {
                        Some(v) => match v.iter().position(|x| *x == id) {
                            Some(i) => {
                                v.remove(i);
                                true
                            }
                            None => false,
                        },
                        None => false,
                    }
                };
                if fire {
                    me.deliver_local(id, nodedown(node));
                }
            };
            match tokio::runtime::Handle::try_current() {
                Ok(h) => {
                    h.spawn(async move {
                        if !me.connect(&node).await {
                            fail(&me, &node);
                        }
                    });
                }
                Err(_) => fail(&me, &node),
            }
        }
        true
    }

    /// `net_kernel:monitor_nodes(Flag, Options)`: with `true` this process gets
    /// `nodeup`/`nodedown` messages for the nodes `opts` selects, in OTP's shapes (see
    /// the module docs); with `false` one subscription with the same options is
    /// removed. Returns false when `false` finds no such subscription.
    pub fn monitor_nodes(&self, on: bool, opts: MonitorNodesOpts) -> bool {
        let id = key(self.pid());
        let node = self.node();
        let mut s = node.inner.node_monitors.lock();
        if on {
            s.prune(|id| node.inner.table.contains(id));
            s.subscribers.push((id, opts));
            return true;
        }
        match s
            .subscribers
            .iter()
            .position(|(i, o)| *i == id && *o == opts)
        {
            Some(i) => {
                s.subscribers.remove(i);
                true
            }
            None => false,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn info(pairs: &[(&str, &str)]) -> Term {
        Term::list(
            pairs
                .iter()
                .map(|(k, v)| Term::tuple(vec![Term::atom(k), Term::atom(v)]))
                .collect(),
        )
    }

    /// The shapes OTP 25 printed for the same subscriptions (module docs).
    #[test]
    fn message_shapes_match_otp() {
        let n = Atom::new("peer@localhost");
        let r = Atom::new("disconnect");
        let plain = MonitorNodesOpts::default();
        assert_eq!(
            plain.message(false, &n, true, Some(&r)),
            Term::tuple(vec![Term::atom("nodedown"), Term::Atom(n.clone())])
        );
        assert!(plain.reports(true) && !plain.reports(false));
        let reason = MonitorNodesOpts {
            nodedown_reason: true,
            node_type: None,
        };
        assert_eq!(
            reason.message(true, &n, true, None),
            Term::tuple(vec![Term::atom("nodeup"), Term::Atom(n.clone()), info(&[])])
        );
        let all = MonitorNodesOpts {
            nodedown_reason: true,
            node_type: Some(NodeType::All),
        };
        assert!(all.reports(true) && all.reports(false));
        assert_eq!(
            all.message(false, &n, false, Some(&r)),
            Term::tuple(vec![
                Term::atom("nodedown"),
                Term::Atom(n.clone()),
                info(&[("nodedown_reason", "disconnect"), ("node_type", "hidden")])
            ])
        );
        let hidden = MonitorNodesOpts {
            nodedown_reason: false,
            node_type: Some(NodeType::Hidden),
        };
        assert!(!hidden.reports(true) && hidden.reports(false));
        assert_eq!(
            hidden.message(true, &n, false, None),
            Term::tuple(vec![
                Term::atom("nodeup"),
                Term::Atom(n),
                info(&[("node_type", "hidden")])
            ])
        );
    }
}

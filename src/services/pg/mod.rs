//! `pg`: OTP's process groups (OTP 23+), as a peer of OTP's own scope processes
//! (docs/protocol.md §11), not a proxy. A scope is a process registered under the scope
//! name (default `pg`) on every node that takes part; scopes of the same name on
//! connected nodes find each other and exchange their **local** members:
//!
//! - at start (to every connected visible node) and on each visible `nodeup`:
//!   `{discover, Self}` to `{Scope, Node}` (§11.1; always the two-element form, which
//!   every OTP from 23 on understands);
//! - on `{discover, Peer}` (or OTP 26+'s accepted `{discover, Peer, Version}`): cast
//!   `{sync, Self, [{Group, [Pid]}]}` to `Peer`; if `Peer` is new, monitor it and send
//!   `{discover, Self}` back (§11.1);
//! - `{'$gen_cast', {sync, Peer, Groups}}` replaces everything known from `Peer`;
//! - `{join, Peer, Group, PidOrPids}` / `{leave, Peer, PidOrPids, Groups}` update it;
//!   both are ignored from a peer not discovered (as OTP does);
//! - when a peer scope process goes `DOWN` (exit or `noconnection`), all of its members
//!   are dropped; `nodedown` itself is ignored (§11.1).
//!
//! Local members are monitored and leave every group when they exit; joins and leaves
//! are broadcast to every known peer. Only this node's pids can be joined (§11.2).
//! Like OTP's, every message of the scope except the `sync` cast is sent with
//! `noconnect` ([`Process::send_noconnect`]): a join, leave, discover or monitor
//! notification racing a node's disconnect is dropped rather than reconnecting it.
//!
//! The scope process answers the same gen_server calls as OTP's (`{join_local, G, P}`,
//! `{leave_local, G, P}`, `monitor`, `{monitor, G}`, `{demonitor, Ref}`; §11.3), so
//! monitors send `{Ref, join | leave, Group, Pids}` to their owner. Unlike OTP it
//! does not crash on a message it does not know: it logs and ignores it.
//!
//! Rust code uses a [`Scope`] handle from [`start`]: membership is read from a shared
//! view (like OTP's ETS table), updates go through the scope process.

use super::gen::{self, CallError, Dest, From};
mod api;

use super::gen_server::{self, CallResult, CastResult, GenServer, StartError};
use crate::node::MonitorNodesOpts;
use crate::node::Node;
use crate::term::{Atom, Pid, Reference, Term};
use crate::Process;
use std::collections::HashMap;
use std::sync::{Arc, RwLock};

/// The scope name kernel's `start_pg` and `pg:start_link/0` use.
pub const DEFAULT_SCOPE: &str = "pg";

/// One group in the view: every member (with repeats, one per join) and the local ones.
#[derive(Debug, Default, Clone)]
struct Members {
    all: Vec<Pid>,
    local: Vec<Pid>,
}

/// The membership view the scope process writes and [`Scope`] handles read.
#[derive(Debug, Default)]
struct View {
    groups: HashMap<Term, Members>,
}

/// Removes one occurrence of each of `pids` from `list` (Erlang's `--`).
fn subtract(list: &mut Vec<Pid>, pids: &[Pid]) {
    for p in pids {
        if let Some(i) = list.iter().position(|x| x == p) {
            list.remove(i);
        }
    }
}

impl View {
    fn join(&mut self, group: &Term, pids: &[Pid], local: bool) {
        let m = self.groups.entry(group.clone()).or_default();
        m.all.splice(0..0, pids.iter().cloned());
        if local {
            m.local.splice(0..0, pids.iter().cloned());
        }
    }

    fn leave(&mut self, group: &Term, pids: &[Pid], local: bool) {
        if let Some(m) = self.groups.get_mut(group) {
            subtract(&mut m.all, pids);
            if local {
                subtract(&mut m.local, pids);
            }
            if m.all.is_empty() {
                self.groups.remove(group);
            }
        }
    }
}

/// Why a [`Scope`] operation failed.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[non_exhaustive]
pub enum PgError {
    /// Only pids of this node can join or leave (`{nolocal, Pid}` in OTP).
    #[error("{0} is not a local process")]
    NotLocal(Pid),
    /// The call to the scope process failed (it is not running, …).
    #[error("scope call failed: {0}")]
    Call(#[from] CallError),
    /// The scope process answered something unexpected.
    #[error("unexpected answer from the scope: {0}")]
    BadReply(Term),
}

/// A handle on a running scope: reads come from the shared view, changes are calls to
/// the scope process (as `pg:join/3` etc. are). Cheap to clone.
#[derive(Clone, Debug)]
pub struct Scope {
    name: Atom,
    pid: Pid,
    node: Node,
    view: Arc<RwLock<View>>,
}

/// `pg:start(Scope)`: starts a scope process registered as `scope` on `node` and
/// discovers the scopes of that name on the connected nodes.
pub fn start(node: &Node, scope: &str) -> Result<Scope, StartError> {
    let view = Arc::new(RwLock::new(View::default()));
    let server = ScopeServer {
        scope: Atom::new(scope),
        view: view.clone(),
        local: HashMap::new(),
        remote: HashMap::new(),
        scope_monitors: HashMap::new(),
        group_monitors: HashMap::new(),
    };
    let pid = gen_server::start(node, Some(scope), server)?;
    let handle = Scope {
        name: Atom::new(scope),
        pid,
        node: node.clone(),
        view,
    };
    let scopes = node.service_state::<api::Scopes>();
    let first = {
        let mut map = scopes.0.write().unwrap_or_else(|e| e.into_inner());
        let first = map.is_empty();
        map.insert(handle.name.clone(), handle.clone());
        first
    };
    if first {
        api::register(node);
    }
    Ok(handle)
}

fn pid_list(pids: &[Pid]) -> Term {
    Term::list(pids.iter().cloned().map(Term::Pid).collect())
}

impl Scope {
    /// The scope's name (its registered name).
    pub fn name(&self) -> &Atom {
        &self.name
    }

    /// The scope process.
    pub fn pid(&self) -> &Pid {
        &self.pid
    }

    fn read(&self) -> std::sync::RwLockReadGuard<'_, View> {
        self.view.read().unwrap_or_else(|e| e.into_inner())
    }

    fn ensure_local(&self, pids: &[Pid]) -> Result<(), PgError> {
        match pids.iter().find(|p| &p.node != self.node.name()) {
            Some(p) => Err(PgError::NotLocal(p.clone())),
            None => Ok(()),
        }
    }

    async fn call(&self, request: Term) -> Result<Term, PgError> {
        let mut p = self.node.process();
        Ok(gen::call(&mut p, &Dest::Pid(self.pid.clone()), request, None).await?)
    }

    /// `pg:join(Scope, Group, Pids)`: each pid (local, possibly repeated) joins `group`
    /// once more; the change is visible here when this returns and is sent to every
    /// peer scope.
    pub async fn join(&self, group: Term, pids: &[Pid]) -> Result<(), PgError> {
        self.ensure_local(pids)?;
        let r = self
            .call(Term::tuple(vec![
                Term::atom("join_local"),
                group,
                pid_list(pids),
            ]))
            .await?;
        if r.is_atom("ok") {
            Ok(())
        } else {
            Err(PgError::BadReply(r))
        }
    }

    /// `pg:leave(Scope, Group, Pids)`: true if any of `pids` was a member (`ok`), false
    /// when none was (`not_joined`).
    pub async fn leave(&self, group: Term, pids: &[Pid]) -> Result<bool, PgError> {
        self.ensure_local(pids)?;
        let r = self
            .call(Term::tuple(vec![
                Term::atom("leave_local"),
                group,
                pid_list(pids),
            ]))
            .await?;
        match &r {
            t if t.is_atom("ok") => Ok(true),
            t if t.is_atom("not_joined") => Ok(false),
            _ => Err(PgError::BadReply(r)),
        }
    }

    /// `pg:get_members(Scope, Group)`: every member this node knows of, local and remote.
    pub fn get_members(&self, group: &Term) -> Vec<Pid> {
        self.read()
            .groups
            .get(group)
            .map(|m| m.all.clone())
            .unwrap_or_default()
    }

    /// `pg:get_local_members(Scope, Group)`.
    pub fn get_local_members(&self, group: &Term) -> Vec<Pid> {
        self.read()
            .groups
            .get(group)
            .map(|m| m.local.clone())
            .unwrap_or_default()
    }

    /// `pg:which_groups(Scope)`: the non-empty groups.
    pub fn which_groups(&self) -> Vec<Term> {
        self.read().groups.keys().cloned().collect()
    }

    /// `pg:which_local_groups(Scope)`: groups with at least one local member.
    pub fn which_local_groups(&self) -> Vec<Term> {
        self.read()
            .groups
            .iter()
            .filter(|(_, m)| !m.local.is_empty())
            .map(|(g, _)| g.clone())
            .collect()
    }

    /// `pg:monitor_scope(Scope)` (OTP 25.1+): `process` gets `{Ref, join, Group, Pids}`
    /// and `{Ref, leave, Group, Pids}` for every change from now on; returns `Ref` and
    /// the current groups.
    pub async fn monitor_scope(
        &self,
        process: &mut Process,
    ) -> Result<(Reference, HashMap<Term, Vec<Pid>>), PgError> {
        let r = gen::call(
            process,
            &Dest::Pid(self.pid.clone()),
            Term::atom("monitor"),
            None,
        )
        .await?;
        let parsed = match r.as_tuple() {
            Some([Term::Ref(mref), Term::Map(m)]) => Some((
                mref.clone(),
                m.iter()
                    .map(|(g, ps)| (g.clone(), pids_of(ps).unwrap_or_default()))
                    .collect(),
            )),
            _ => None,
        };
        parsed.ok_or(PgError::BadReply(r))
    }

    /// `pg:monitor(Scope, Group)` (OTP 25.1+): as [`Scope::monitor_scope`] for one group;
    /// returns `Ref` and its current members.
    pub async fn monitor(
        &self,
        process: &mut Process,
        group: Term,
    ) -> Result<(Reference, Vec<Pid>), PgError> {
        let req = Term::tuple(vec![Term::atom("monitor"), group]);
        let r = gen::call(process, &Dest::Pid(self.pid.clone()), req, None).await?;
        let parsed = match r.as_tuple() {
            Some([Term::Ref(mref), ps]) => pids_of(ps).map(|v| (mref.clone(), v)),
            _ => None,
        };
        parsed.ok_or(PgError::BadReply(r))
    }

    /// `pg:demonitor(Scope, Ref)`: false if `mref` was no monitor of this scope. Updates
    /// already in `process`'s mailbox are flushed, as OTP does.
    pub async fn demonitor(
        &self,
        process: &mut Process,
        mref: &Reference,
    ) -> Result<bool, PgError> {
        let req = Term::tuple(vec![Term::atom("demonitor"), Term::Ref(mref.clone())]);
        let r = gen::call(process, &Dest::Pid(self.pid.clone()), req, None).await?;
        if !r.is_atom("ok") {
            return Ok(false);
        }
        let is_update =
            |m: &Term| matches!(m.as_tuple(), Some([Term::Ref(r), _, _, _]) if r == mref);
        while process
            .receive_match(is_update, Some(std::time::Duration::ZERO))
            .await
            .is_ok()
        {}
        Ok(true)
    }
}

/// A pid or a list of pids (`PidOrPids`); `None` if anything else is in it.
fn pids_of(t: &Term) -> Option<Vec<Pid>> {
    match t {
        Term::Pid(p) => Some(vec![p.clone()]),
        _ => t
            .as_list()?
            .iter()
            .map(|e| e.as_pid().cloned())
            .collect::<Option<Vec<_>>>(),
    }
}

/// What the scope knows about one peer scope process.
#[derive(Debug)]
struct Peer {
    mref: Reference,
    groups: HashMap<Term, Vec<Pid>>,
}

/// The scope process's state (OTP's `#state{}`).
struct ScopeServer {
    scope: Atom,
    view: Arc<RwLock<View>>,
    /// Local members: monitor and the groups joined (one entry per join).
    local: HashMap<Pid, (Reference, Vec<Term>)>,
    /// Peer scope processes and their members.
    remote: HashMap<Pid, Peer>,
    /// `monitor_scope` subscriptions: monitor on the subscriber → subscriber.
    scope_monitors: HashMap<Reference, Pid>,
    /// `monitor(Group)` subscriptions: monitor on the subscriber → (subscriber, group).
    group_monitors: HashMap<Reference, (Pid, Term)>,
}

impl ScopeServer {
    fn write(&self) -> std::sync::RwLockWriteGuard<'_, View> {
        self.view.write().unwrap_or_else(|e| e.into_inner())
    }

    fn read(&self) -> std::sync::RwLockReadGuard<'_, View> {
        self.view.read().unwrap_or_else(|e| e.into_inner())
    }

    fn notify(&self, p: &Process, what: &str, group: &Term, pids: &[Pid]) {
        if pids.is_empty() {
            return;
        }
        let msg = |r: &Reference| {
            Term::tuple(vec![
                Term::Ref(r.clone()),
                Term::atom(what),
                group.clone(),
                pid_list(pids),
            ])
        };
        for (r, pid) in &self.scope_monitors {
            p.send_noconnect(pid, msg(r));
        }
        for (r, (pid, g)) in &self.group_monitors {
            if g == group {
                p.send_noconnect(pid, msg(r));
            }
        }
    }

    fn broadcast(&self, p: &Process, msg: Term) {
        for peer in self.remote.keys() {
            p.send_noconnect(peer, msg.clone());
        }
    }

    fn discover_msg(p: &Process) -> Term {
        Term::tuple(vec![Term::atom("discover"), Term::Pid(p.pid().clone())])
    }

    /// `[{Group, [Pid]}]` of the local members, one entry per join.
    fn local_groups(&self) -> Term {
        let mut by_group: HashMap<&Term, Vec<Pid>> = HashMap::new();
        for (pid, (_, groups)) in &self.local {
            for g in groups {
                by_group.entry(g).or_default().push(pid.clone());
            }
        }
        Term::list(
            by_group
                .into_iter()
                .map(|(g, ps)| Term::tuple(vec![g.clone(), pid_list(&ps)]))
                .collect(),
        )
    }

    fn join_local(&mut self, p: &Process, group: Term, pids: Vec<Pid>) -> Term {
        if let Some(bad) = pids.iter().find(|x| &x.node != p.node().name()) {
            return Term::tuple(vec![
                Term::atom("error"),
                Term::tuple(vec![Term::atom("nolocal"), Term::Pid(bad.clone())]),
            ]);
        }
        for pid in &pids {
            match self.local.get_mut(pid) {
                Some((_, groups)) => groups.push(group.clone()),
                None => {
                    let mref = p.monitor(pid);
                    self.local.insert(pid.clone(), (mref, vec![group.clone()]));
                }
            }
        }
        self.write().join(&group, &pids, true);
        self.notify(p, "join", &group, &pids);
        self.broadcast(
            p,
            Term::tuple(vec![
                Term::atom("join"),
                Term::Pid(p.pid().clone()),
                group,
                pid_list(&pids),
            ]),
        );
        Term::atom("ok")
    }

    fn leave_local(&mut self, p: &Process, group: Term, pids: Vec<Pid>) -> Term {
        let mut left = Vec::new();
        for pid in pids {
            let Some((mref, groups)) = self.local.get_mut(&pid) else {
                continue;
            };
            let Some(i) = groups.iter().position(|g| g == &group) else {
                continue;
            };
            groups.remove(i);
            if groups.is_empty() {
                p.demonitor(mref);
                self.local.remove(&pid);
            }
            left.push(pid);
        }
        if left.is_empty() {
            return Term::atom("not_joined");
        }
        self.write().leave(&group, &left, true);
        self.notify(p, "leave", &group, &left);
        self.broadcast(
            p,
            Term::tuple(vec![
                Term::atom("leave"),
                Term::Pid(p.pid().clone()),
                pid_list(&left),
                Term::list(vec![group]),
            ]),
        );
        Term::atom("ok")
    }

    fn discover(&mut self, p: &Process, peer: Pid) {
        let sync = Term::tuple(vec![
            Term::atom("sync"),
            Term::Pid(p.pid().clone()),
            self.local_groups(),
        ]);
        gen::cast(p, &Dest::Pid(peer.clone()), sync);
        if let std::collections::hash_map::Entry::Vacant(slot) = self.remote.entry(peer) {
            let peer = slot.key().clone();
            let mref = p.monitor(&peer);
            p.send_noconnect(&peer, Self::discover_msg(p));
            slot.insert(Peer {
                mref,
                groups: HashMap::new(),
            });
        }
    }

    fn sync(&mut self, p: &Process, peer: Pid, groups: &[Term]) {
        let mut new: HashMap<Term, Vec<Pid>> = HashMap::new();
        for g in groups {
            if let Some([group, pids]) = g.as_tuple() {
                if let Some(pids) = pids_of(pids) {
                    new.insert(group.clone(), pids);
                }
            }
        }
        let (mref, mut old) = match self.remote.remove(&peer) {
            Some(known) => (known.mref, known.groups),
            None => (p.monitor(&peer), HashMap::new()),
        };
        for (group, pids) in &new {
            match old.remove(group) {
                Some(was) if &was == pids => {}
                Some(was) => {
                    self.write().leave(group, &was, false);
                    self.write().join(group, pids, false);
                    self.notify(p, "leave", group, &was);
                    self.notify(p, "join", group, pids);
                }
                None => {
                    self.write().join(group, pids, false);
                    self.notify(p, "join", group, pids);
                }
            }
        }
        for (group, was) in old {
            self.write().leave(&group, &was, false);
            self.notify(p, "leave", &group, &was);
        }
        self.remote.insert(peer, Peer { mref, groups: new });
    }

    fn remote_join(&mut self, p: &Process, peer: &Pid, group: Term, pids: Vec<Pid>) {
        let Some(known) = self.remote.get_mut(peer) else {
            return;
        };
        let entry = known.groups.entry(group.clone()).or_default();
        entry.splice(0..0, pids.iter().cloned());
        self.write().join(&group, &pids, false);
        self.notify(p, "join", &group, &pids);
    }

    fn remote_leave(&mut self, p: &Process, peer: &Pid, pids: Vec<Pid>, groups: Vec<Term>) {
        let Some(known) = self.remote.get_mut(peer) else {
            return;
        };
        for g in &groups {
            if let Some(list) = known.groups.get_mut(g) {
                subtract(list, &pids);
                if list.is_empty() {
                    known.groups.remove(g);
                }
            }
        }
        for g in &groups {
            self.write().leave(g, &pids, false);
            self.notify(p, "leave", g, &pids);
        }
    }

    fn down(&mut self, p: &Process, mref: &Reference, pid: &Pid) {
        if self.scope_monitors.remove(mref).is_some() || self.group_monitors.remove(mref).is_some()
        {
            return;
        }
        if matches!(self.local.get(pid), Some((r, _)) if r == mref) {
            let Some((_, groups)) = self.local.remove(pid) else {
                return;
            };
            let one = [pid.clone()];
            for g in &groups {
                self.write().leave(g, &one, true);
                self.notify(p, "leave", g, &one);
            }
            self.broadcast(
                p,
                Term::tuple(vec![
                    Term::atom("leave"),
                    Term::Pid(p.pid().clone()),
                    Term::Pid(pid.clone()),
                    Term::list(groups),
                ]),
            );
            return;
        }
        if matches!(self.remote.get(pid), Some(peer) if &peer.mref == mref) {
            if let Some(peer) = self.remote.remove(pid) {
                tracing::debug!(scope = %self.scope, peer = %pid, "pg: peer scope down");
                for (g, pids) in peer.groups {
                    self.write().leave(&g, &pids, false);
                    self.notify(p, "leave", &g, &pids);
                }
            }
        }
    }
}

impl GenServer for ScopeServer {
    fn init(&mut self, p: &mut Process) -> Result<(), Term> {
        p.monitor_nodes(true, MonitorNodesOpts::default());
        for n in p.node().nodes() {
            p.send_named_noconnect(&self.scope, &n, Self::discover_msg(p));
        }
        Ok(())
    }

    fn handle_call(&mut self, request: Term, from: &From, p: &mut Process) -> CallResult {
        let answer = match request.as_tuple() {
            Some([op, g, ps]) if op.is_atom("join_local") => match pids_of(ps) {
                Some(pids) => self.join_local(p, g.clone(), pids),
                None => Term::tuple(vec![Term::atom("error"), Term::atom("badarg")]),
            },
            Some([op, g, ps]) if op.is_atom("leave_local") => match pids_of(ps) {
                Some(pids) => self.leave_local(p, g.clone(), pids),
                None => Term::tuple(vec![Term::atom("error"), Term::atom("badarg")]),
            },
            Some([op, g]) if op.is_atom("monitor") => {
                let mref = p.monitor(&from.pid);
                let members = self
                    .read()
                    .groups
                    .get(g)
                    .map(|m| m.all.clone())
                    .unwrap_or_default();
                self.group_monitors
                    .insert(mref.clone(), (from.pid.clone(), g.clone()));
                Term::tuple(vec![Term::Ref(mref), pid_list(&members)])
            }
            Some([op, Term::Ref(r)]) if op.is_atom("demonitor") => {
                if self.scope_monitors.remove(r).is_some()
                    || self.group_monitors.remove(r).is_some()
                {
                    p.demonitor(r);
                    Term::atom("ok")
                } else {
                    Term::atom("false")
                }
            }
            _ if request.is_atom("monitor") => {
                let mref = p.monitor(&from.pid);
                let groups = self
                    .read()
                    .groups
                    .iter()
                    .map(|(g, m)| (g.clone(), pid_list(&m.all)))
                    .collect();
                self.scope_monitors.insert(mref.clone(), from.pid.clone());
                Term::tuple(vec![Term::Ref(mref), Term::map(groups)])
            }
            _ => {
                tracing::debug!(scope = %self.scope, %request, "pg: unknown call");
                Term::tuple(vec![Term::atom("error"), Term::atom("badarg")])
            }
        };
        CallResult::Reply(answer)
    }

    fn handle_cast(&mut self, request: Term, p: &mut Process) -> CastResult {
        match request.as_tuple() {
            Some([op, Term::Pid(peer), groups]) if op.is_atom("sync") => match groups.as_list() {
                Some(gs) => self.sync(p, peer.clone(), gs),
                None => tracing::debug!(%request, "pg: malformed sync ignored"),
            },
            _ => tracing::debug!(scope = %self.scope, %request, "pg: unknown cast ignored"),
        }
        CastResult::NoReply
    }

    fn handle_info(&mut self, msg: Term, p: &mut Process) -> CastResult {
        match msg.as_tuple() {
            Some([op, Term::Pid(peer), group, ps]) if op.is_atom("join") => {
                if let Some(pids) = pids_of(ps) {
                    self.remote_join(p, peer, group.clone(), pids);
                }
            }
            Some([op, Term::Pid(peer), ps, gs]) if op.is_atom("leave") => {
                if let (Some(pids), Some(groups)) = (pids_of(ps), gs.as_list()) {
                    self.remote_leave(p, peer, pids, groups.to_vec());
                }
            }
            Some([op, Term::Pid(peer)]) | Some([op, Term::Pid(peer), _])
                if op.is_atom("discover") =>
            {
                self.discover(p, peer.clone());
            }
            Some([op, Term::Ref(r), kind, Term::Pid(pid), _])
                if op.is_atom("DOWN") && kind.is_atom("process") =>
            {
                self.down(p, r, pid);
            }
            Some([op, Term::Atom(n)]) if op.is_atom("nodeup") => {
                if n != p.node().name() {
                    p.send_named_noconnect(&self.scope, n, Self::discover_msg(p));
                }
            }
            Some([op, _]) if op.is_atom("nodedown") => {}
            _ => tracing::debug!(scope = %self.scope, %msg, "pg: unknown message ignored"),
        }
        CastResult::NoReply
    }

    fn format_state(&self) -> Term {
        Term::map(
            self.read()
                .groups
                .iter()
                .map(|(g, m)| (g.clone(), pid_list(&m.all)))
                .collect(),
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pid(n: u32) -> Pid {
        Pid::new(Atom::new("a@h"), n, 0, 1)
    }

    #[test]
    fn view_counts_repeated_joins_and_drops_empty_groups() {
        let mut v = View::default();
        let g = Term::atom("g");
        v.join(&g, &[pid(1), pid(1)], true);
        v.join(&g, &[pid(2)], false);
        assert_eq!(v.groups[&g].all.len(), 3);
        assert_eq!(v.groups[&g].local, vec![pid(1), pid(1)]);
        v.leave(&g, &[pid(1)], true);
        assert_eq!(v.groups[&g].local, vec![pid(1)]);
        v.leave(&g, &[pid(1), pid(9)], true);
        v.leave(&g, &[pid(2)], false);
        assert!(v.groups.is_empty());
    }

    #[test]
    fn pid_or_pids_is_parsed() {
        assert_eq!(pids_of(&Term::Pid(pid(1))), Some(vec![pid(1)]));
        assert_eq!(pids_of(&Term::Nil), Some(vec![]));
        assert_eq!(
            pids_of(&Term::list(vec![Term::Pid(pid(1)), Term::Pid(pid(2))])),
            Some(vec![pid(1), pid(2)])
        );
        assert_eq!(pids_of(&Term::list(vec![Term::atom("x")])), None);
    }
}

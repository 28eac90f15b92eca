//! The state every part of `global` shares, at the bottom of the module: the protocol
//! constants and term helpers, the tables the server shares with the locker and
//! [`Global`] handles ([`Shared`]), the per-peer [`Session`] record, and the
//! [`Server`] state with the small helpers all its handlers use.
//!
//! The server's behaviour is split by topic: `names` (name and lock tables), `session`
//! (the connect/sync session) and `server` (the `GenServer` dispatch, nodedown,
//! `lost_connection`) each add methods to [`Server`]. They all build on this file
//! and nothing here uses them, so the files depend one way: `state` → `lock`,
//! `names`, `resolve` → `locker`, `session` → `server` → the module root.
//!
//! [`Global`]: super::Global

use crate::services::gen::{self, Dest, From};
use crate::term::{Atom, Pid, Reference, Term};
use crate::Process;
use std::collections::{HashMap, HashSet};
use std::sync::{Arc, Mutex, RwLock};
use std::time::{Duration, Instant};

/// The registered name of the server on every node.
pub const SERVER: &str = "global_name_server";
pub(super) const VSN: i64 = 8;
pub(super) const POP_VSN: i64 = 7;
pub(super) const LOST_CONN_KEEP: Duration = Duration::from_secs(3600);
pub(super) const RPC_TIMEOUT: Duration = Duration::from_secs(3600);

pub(super) fn atom(s: &str) -> Term {
    Term::atom(s)
}

pub(super) fn tuple(v: Vec<Term>) -> Term {
    Term::tuple(v)
}

pub(super) fn server_atom() -> Atom {
    Atom::new(SERVER)
}

pub(super) fn lock_mutex<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|e| e.into_inner())
}

pub(super) fn node_of_list_entry(t: &Term) -> Option<(Atom, i64)> {
    match t {
        Term::Atom(a) => Some((a.clone(), 0)),
        _ => match t.as_tuple() {
            Some([Term::Atom(a), v]) => Some((a.clone(), v.as_int().unwrap_or(0))),
            _ => None,
        },
    }
}

pub(super) fn list_of(t: &Term) -> Vec<Term> {
    t.as_list().map(|l| l.to_vec()).unwrap_or_default()
}

/// ResourceId → (LockRequesterId, holders with their monitors).
type LockTable = HashMap<Term, (Term, Vec<(Pid, Reference)>)>;

/// State shared by the server (writer), the locker and [`Global`] handles (readers).
///
/// [`Global`]: super::Global
#[derive(Debug, Default)]
pub(super) struct Shared {
    /// Name → (Pid, Method) (OTP's `global_names`).
    pub(super) names: RwLock<HashMap<Term, (Pid, Term)>>,
    /// ResourceId → (LockRequesterId, holders with their monitors) (`global_locks`).
    pub(super) locks: Mutex<LockTable>,
    /// Known nodes (atoms).
    pub(super) known: Mutex<Vec<Atom>>,
}

impl Shared {
    /// `can_set_lock/1` as a yes/no.
    pub(super) fn can_set_lock(&self, id: &Term) -> bool {
        let Some([res, req]) = id.as_tuple() else {
            return false;
        };
        match lock_mutex(&self.locks).get(res) {
            Some((r, _)) => r == req,
            None => true,
        }
    }

    pub(super) fn global_locked(&self) -> bool {
        lock_mutex(&self.locks).contains_key(&atom("global"))
    }

    pub(super) fn known(&self) -> Vec<Atom> {
        lock_mutex(&self.known).clone()
    }

    pub(super) fn names(&self) -> std::sync::RwLockReadGuard<'_, HashMap<Term, (Pid, Term)>> {
        self.names.read().unwrap_or_else(|e| e.into_inner())
    }

    pub(super) fn names_mut(&self) -> std::sync::RwLockWriteGuard<'_, HashMap<Term, (Pid, Term)>> {
        self.names.write().unwrap_or_else(|e| e.into_inner())
    }
}

/// Who asked for a name insert, for `lock_still_set/3`.
pub(super) enum Registrar<'a> {
    Pid(&'a Pid),
    /// Ops from a sync session: the `{lock, LockId}` of its ExtraInfo.
    Session(Option<&'a Term>),
}

#[derive(Debug)]
pub(super) enum WaitLock {
    LockIsSet,
    Exchange(Vec<Term>),
}

#[derive(Debug)]
pub(super) enum SaveOps {
    Ops(Vec<Term>),
    Resolved {
        his_known: Vec<Term>,
        names_ext: Term,
        his_resolved: Vec<Term>,
    },
}

/// One connect session (OTP: the resolver entry plus the process-dictionary keys).
#[derive(Debug)]
pub(super) struct Session {
    pub(super) my_tag: Term,
    pub(super) his_tag: Option<Term>,
    pub(super) his_vsn: i64,
    pub(super) wait_lock: Option<WaitLock>,
    pub(super) save_ops: Option<SaveOps>,
    pub(super) lock_id: Option<Term>,
    pub(super) resolver: Option<tokio::task::JoinHandle<()>>,
}

pub(super) struct Server {
    pub(super) shared: Arc<Shared>,
    pub(super) me: Atom,
    pub(super) locker: Option<Pid>,
    pub(super) known: HashMap<Atom, i64>,
    pub(super) pending: HashMap<Atom, i64>,
    pub(super) removing: HashSet<Atom>,
    /// Nodes whose global groups leave us out (`group`): no session until they go down.
    pub(super) ignored: HashSet<Atom>,
    pub(super) synced: Vec<Atom>,
    pub(super) sessions: HashMap<Atom, Session>,
    pub(super) pre_connect: HashMap<Atom, (Term, Term)>,
    /// Name → monitor of its pid; the reverse is looked up by scanning.
    pub(super) name_mon: HashMap<Term, Reference>,
    pub(super) names_ext: Vec<Term>,
    pub(super) global_lock_down: bool,
    pub(super) lost: HashMap<(Atom, Atom), (Term, Term, Instant)>,
    pub(super) cre_ext: i64,
    pub(super) pop: bool,
    /// `{sync, Nodes}` callers and the nodes they still wait for.
    pub(super) syncers: Vec<(From, Vec<Atom>)>,
    /// Syncers to answer `ok` at the end of the current message.
    pub(super) done_syncers: Vec<From>,
    pub(super) next_tag: i64,
}

impl Server {
    /// The initial state of the server of the node named `me`.
    pub(super) fn new(shared: Arc<Shared>, me: Atom) -> Server {
        Server {
            shared,
            me,
            locker: None,
            known: HashMap::new(),
            pending: HashMap::new(),
            removing: HashSet::new(),
            ignored: HashSet::new(),
            synced: Vec::new(),
            sessions: HashMap::new(),
            pre_connect: HashMap::new(),
            name_mon: HashMap::new(),
            names_ext: Vec::new(),
            global_lock_down: false,
            lost: HashMap::new(),
            cre_ext: (getrandom::u64().unwrap_or(1) as i64 & ((1i64 << 59) - 1)) & !0xffff_ffff,
            pop: true,
            syncers: Vec::new(),
            done_syncers: Vec::new(),
            next_tag: 1,
        }
    }

    pub(super) fn send_locker(&self, p: &Process, msg: Term) {
        if let Some(l) = &self.locker {
            p.send_nowait(l, msg);
        }
    }

    pub(super) fn cast_to(&self, p: &Process, node: &Atom, msg: Term) {
        gen::cast(p, &Dest::Remote(server_atom(), node.clone()), msg);
    }

    pub(super) fn volatile_send(&self, p: &Process, node: &Atom, msg: Term) {
        p.send_named_noconnect(&server_atom(), node, msg);
    }

    pub(super) fn publish_known(&self) {
        *lock_mutex(&self.shared.known) = self.known.keys().cloned().collect();
    }

    pub(super) fn node_vsn(&self, n: &Atom) -> i64 {
        if *n == self.me {
            return VSN;
        }
        self.known
            .get(n)
            .or_else(|| self.pending.get(n))
            .copied()
            .unwrap_or(0)
    }

    /// `mk_known_list/2`.
    pub(super) fn known_list(&self, vsn: i64) -> Term {
        Term::list(
            self.known
                .iter()
                .map(|(n, v)| {
                    if vsn < POP_VSN {
                        Term::Atom(n.clone())
                    } else {
                        tuple(vec![Term::Atom(n.clone()), Term::Int(*v)])
                    }
                })
                .collect(),
        )
    }

    pub(super) fn names_list(&self) -> Term {
        Term::list(
            self.shared
                .names()
                .iter()
                .map(|(n, (p, m))| tuple(vec![n.clone(), Term::Pid(p.clone()), m.clone()]))
                .collect(),
        )
    }

    pub(super) fn my_tag(&self, n: &Atom) -> Option<Term> {
        self.sessions.get(n).map(|s| s.my_tag.clone())
    }

    pub(super) fn notify_syncers(&mut self, nodes: &[Atom]) {
        for (_, waiting) in self.syncers.iter_mut() {
            waiting.retain(|w| !nodes.contains(w));
        }
        self.flush_syncers();
    }

    fn flush_syncers(&mut self) {
        let (done, rest): (Vec<_>, Vec<_>) =
            self.syncers.drain(..).partition(|(_, w)| w.is_empty());
        self.syncers = rest;
        self.done_syncers.extend(done.into_iter().map(|(f, _)| f));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lock_table_same_requester_shares() {
        let s = Shared::default();
        let id = tuple(vec![atom("global"), atom("r1")]);
        assert!(s.can_set_lock(&id));
        lock_mutex(&s.locks).insert(atom("global"), (atom("r1"), vec![]));
        assert!(s.can_set_lock(&id));
        assert!(!s.can_set_lock(&tuple(vec![atom("global"), atom("r2")])));
        assert!(s.global_locked());
    }
}

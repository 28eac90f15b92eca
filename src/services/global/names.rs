//! The name table and the lock table (shared with the locker and [`Global`] handles),
//! and the server's side of them: inserts, deletes, `set_lock`/`del_lock`, monitors and
//! owner-exit cleanup.
//!
//! [`Global`]: super::Global

use super::server::Server;
use super::{atom, list_of, lock_mutex};
use crate::runtime::Process;
use crate::term::{Atom, Pid, Reference, Term};
use std::collections::HashMap;
use std::sync::{Mutex, RwLock};

/// ResourceId → (LockRequesterId, holders with their monitors).
type LockTable = HashMap<Term, (Term, Vec<(Pid, Reference)>)>;

/// State shared by the server (writer), the locker and [`Global`] handles (readers).
///
/// [`Global`]: super::Global
#[derive(Debug, Default)]
pub(super) struct Shared {
    /// Name → (Pid, Method) (OTP's `global_names`).
    names: RwLock<HashMap<Term, (Pid, Term)>>,
    /// ResourceId → (LockRequesterId, holders with their monitors) (`global_locks`).
    locks: Mutex<LockTable>,
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

    fn names_mut(&self) -> std::sync::RwLockWriteGuard<'_, HashMap<Term, (Pid, Term)>> {
        self.names.write().unwrap_or_else(|e| e.into_inner())
    }
}

/// Who asked for a name insert, for `lock_still_set/3`.
pub(super) enum Registrar<'a> {
    Pid(&'a Pid),
    /// Ops from a sync session: the `{lock, LockId}` of its ExtraInfo.
    Session(Option<&'a Term>),
}

impl Server {
    // -- names ---------------------------------------------------------------------

    pub(super) fn delete_name(&mut self, p: &Process, name: &Term) {
        if let Some(m) = self.name_mon.remove(name) {
            p.demonitor(&m);
        }
        self.shared.names_mut().remove(name);
        self.names_ext.retain(|e| {
            e.as_tuple()
                .map(|t| t.first() != Some(name))
                .unwrap_or(true)
        });
    }

    fn lock_still_set(&self, who: &Registrar) -> bool {
        let locks = lock_mutex(&self.shared.locks);
        match (locks.get(&atom("global")), who) {
            (Some((_, holders)), Registrar::Pid(pid)) => holders.iter().any(|(h, _)| h == *pid),
            (Some((req, _)), Registrar::Session(lock)) => match lock.and_then(|l| l.as_tuple()) {
                Some([_, id]) => id == req,
                _ => false,
            },
            (None, _) => !self.global_lock_down,
        }
    }

    pub(super) fn ins_name(
        &mut self,
        p: &Process,
        name: Term,
        pid: Pid,
        method: Term,
        who: &Registrar,
    ) {
        self.delete_name(p, &name);
        let m = p.monitor(&pid);
        self.name_mon.insert(name.clone(), m);
        self.shared.names_mut().insert(name.clone(), (pid, method));
        if !self.lock_still_set(who) {
            self.delete_name(p, &name);
        }
    }

    /// `do_ops/5`.
    pub(super) fn do_ops(
        &mut self,
        p: &Process,
        ops: &[Term],
        names_ext: &Term,
        lock: Option<&Term>,
    ) {
        let ext = list_of(names_ext);
        let mut deletes = Vec::new();
        for op in ops {
            match op.as_tuple() {
                Some([k, e]) if k.is_atom("insert") => {
                    if let Some([name, Term::Pid(pid), method]) = e.as_tuple() {
                        let ext_entry = ext.iter().find(|x| {
                            matches!(x.as_tuple(), Some([n, Term::Pid(q), _]) if n == name && q == pid)
                        });
                        self.ins_name(
                            p,
                            name.clone(),
                            pid.clone(),
                            method.clone(),
                            &Registrar::Session(lock),
                        );
                        if let Some(x) = ext_entry {
                            if self.name_mon.contains_key(name) {
                                self.names_ext.push(x.clone());
                            }
                        }
                    }
                }
                Some([k, name]) if k.is_atom("delete") => deletes.push(name.clone()),
                _ => {}
            }
        }
        for name in deletes {
            self.delete_name(p, &name);
        }
    }

    // -- locks ---------------------------------------------------------------------

    pub(super) fn handle_set_lock(&mut self, p: &Process, id: &Term, pid: &Pid) -> bool {
        let Some([res, req]) = id.as_tuple() else {
            return false;
        };
        let mut locks = lock_mutex(&self.shared.locks);
        match locks.get_mut(res) {
            Some((r, holders)) if r == req => {
                if !holders.iter().any(|(h, _)| h == pid) {
                    holders.insert(0, (pid.clone(), p.monitor(pid)));
                }
                true
            }
            Some(_) => false,
            None => {
                let m = p.monitor(pid);
                locks.insert(res.clone(), (req.clone(), vec![(pid.clone(), m)]));
                true
            }
        }
    }

    pub(super) fn handle_del_lock(&mut self, p: &Process, id: &Term, pid: &Pid) {
        let Some([res, req]) = id.as_tuple() else {
            return;
        };
        let mut locks = lock_mutex(&self.shared.locks);
        let Some((r, holders)) = locks.get_mut(res) else {
            return;
        };
        if r != req {
            return;
        }
        if let Some(i) = holders.iter().position(|(h, _)| h == pid) {
            let (_, m) = holders.remove(i);
            p.demonitor(&m);
        }
        if holders.is_empty() {
            locks.remove(res);
            if res.is_atom("global") {
                self.global_lock_down = false;
            }
        }
    }

    pub(super) fn down(&mut self, p: &Process, mref: &Reference) {
        {
            let mut locks = lock_mutex(&self.shared.locks);
            let mut emptied = Vec::new();
            for (res, (_, holders)) in locks.iter_mut() {
                holders.retain(|(_, m)| m != mref);
                if holders.is_empty() {
                    emptied.push(res.clone());
                }
            }
            for res in emptied {
                locks.remove(&res);
                if res.is_atom("global") {
                    self.global_lock_down = true;
                }
            }
        }
        let name = self
            .name_mon
            .iter()
            .find(|(_, m)| *m == mref)
            .map(|(n, _)| n.clone());
        if let Some(name) = name {
            self.delete_name(p, &name);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::services::global::tuple;

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

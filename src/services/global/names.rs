//! The name table and the lock table (shared with the locker and [`Global`] handles),
//! and the server's side of them: inserts, deletes, `set_lock`/`del_lock`, monitors and
//! owner-exit cleanup.
//!
//! [`Global`]: super::Global

use super::state::{atom, list_of, lock_mutex, Registrar, Server};
use crate::term::{Pid, Reference, Term};
use crate::Process;

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

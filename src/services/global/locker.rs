//! The locker (loop_the_locker/1 and friends).

use super::lock::{del_lock, delete_global_lock, random_below, set_lock_on_nodes, the_boss};
use super::state::{atom, list_of, server_atom, tuple, Shared};
use crate::runtime::ReceiveError;
use crate::services::gen::{self, Dest};
use crate::term::{Atom, Pid, Term};
use crate::Process;
use std::sync::Arc;
use std::time::Duration;

#[derive(Debug, Clone)]
struct Him {
    node: Atom,
    locker: Pid,
    my_tag: Term,
    his_tag: Term,
}

pub(super) struct Locker {
    p: Process,
    shared: Arc<Shared>,
    me: Atom,
    cands: Vec<Him>,
    known: Vec<Atom>,
    just_synced: bool,
}

fn host_of(n: &Atom) -> &str {
    n.as_str().split_once('@').map(|(_, h)| h).unwrap_or("")
}

impl Locker {
    pub(super) fn new(p: Process, shared: Arc<Shared>, me: Atom) -> Locker {
        Locker {
            p,
            shared,
            me,
            cands: Vec::new(),
            known: Vec::new(),
            just_synced: false,
        }
    }

    pub(super) async fn run(mut self) {
        loop {
            if let Some(m) = self.p.try_receive() {
                self.message(m).await;
                continue;
            }
            let timeout = if self.cands.is_empty() {
                None
            } else if self.just_synced {
                Some(Duration::ZERO)
            } else if self.known.is_empty() {
                Some(Duration::from_millis(200))
            } else {
                Some(Duration::from_millis(
                    (1000 + 100 * self.known.len() as u64).min(3000),
                ))
            };
            self.just_synced = false;
            match self.p.receive(timeout).await {
                Ok(m) => self.message(m).await,
                Err(ReceiveError::Timeout) => {
                    if !self.shared.global_locked() {
                        self.select_node().await;
                    }
                }
                Err(ReceiveError::Exited(_)) => return,
            }
        }
    }

    fn lock_id(&self, other: &Pid) -> Term {
        let mut v = vec![Term::Pid(self.p.pid().clone()), Term::Pid(other.clone())];
        v.sort();
        tuple(vec![atom("global"), Term::list(v)])
    }

    fn remove_node(&mut self, n: &Atom, tag: &Term) {
        self.cands.retain(|h| !(h.node == *n && h.my_tag == *tag));
    }

    fn run_casts(&self, casts: &Term) {
        for c in list_of(casts) {
            if let Some([Term::Atom(n), msg]) = c.as_tuple() {
                gen::cast(
                    &self.p,
                    &Dest::Remote(server_atom(), n.clone()),
                    msg.clone(),
                );
            }
        }
    }

    fn send_lock_set(&self, is_set: bool, to: &Pid, his_tag: Term) {
        let msg = tuple(vec![
            atom("lock_set"),
            Term::Pid(self.p.pid().clone()),
            atom(if is_set { "true" } else { "false" }),
            Term::list(self.known.iter().cloned().map(Term::Atom).collect()),
            his_tag,
        ]);
        gen::cast(&self.p, &Dest::Remote(server_atom(), to.node.clone()), msg);
    }

    fn update_known(&mut self, m: &Term) -> bool {
        match m.as_tuple() {
            Some([k, nodes]) if k.is_atom("add_to_known") => {
                let mut add: Vec<Atom> = list_of(nodes)
                    .iter()
                    .filter_map(|n| n.as_atom().cloned())
                    .collect();
                add.append(&mut self.known);
                self.known = add;
                true
            }
            Some([k, Term::Atom(n)]) if k.is_atom("remove_from_known") => {
                if let Some(i) = self.known.iter().position(|x| x == n) {
                    self.known.remove(i);
                }
                true
            }
            _ => false,
        }
    }

    async fn message(&mut self, m: Term) {
        if self.update_known(&m) {
            return;
        }
        match m.as_tuple() {
            Some([k, Term::Pid(l), _vsn, his_tag, my_tag]) if k.is_atom("his_the_locker") => {
                self.cands.push(Him {
                    node: l.node.clone(),
                    locker: l.clone(),
                    my_tag: my_tag.clone(),
                    his_tag: his_tag.clone(),
                });
            }
            Some([k, Term::Atom(n), tag, casts]) if k.is_atom("cancel") => {
                if !tag.is_atom("undefined") {
                    self.run_casts(casts);
                    self.remove_node(n, tag);
                }
            }
            Some([k, _, b, ..]) if k.is_atom("lock_set") && b.is_atom("false") => {}
            Some([k, Term::Pid(pid), b, _, tag]) if k.is_atom("lock_set") && b.is_atom("true") => {
                self.spontaneous(pid.clone(), Some(tag.clone())).await;
            }
            Some([k, Term::Pid(pid), b, _]) if k.is_atom("lock_set") && b.is_atom("true") => {
                self.spontaneous(pid.clone(), None).await;
            }
            _ => tracing::warn!(%m, "global locker: unexpected message"),
        }
    }

    /// The peer's locker has locked its partition and ours: lock ours and answer.
    async fn spontaneous(&mut self, pid: Pid, tag: Option<Term>) {
        let n = pid.node.clone();
        let him = self
            .cands
            .iter()
            .find(|h| h.node == n && tag.as_ref().map(|t| *t == h.my_tag).unwrap_or(true))
            .cloned();
        let Some(him) = him else {
            self.send_lock_set(false, &pid, Term::Int(0));
            return;
        };
        let lock_id = self.lock_id(&pid);
        let is_set = self.lock_nodes_safely(&lock_id, &[]).await;
        self.send_lock_set(is_set, &pid, him.his_tag.clone());
        if is_set {
            let mut known2 = vec![self.me.clone()];
            known2.extend(self.known.iter().cloned());
            self.lock_is_set_cast(&n, &him.my_tag, &lock_id);
            self.wait_cancel_lock(&n, &lock_id, &him.my_tag, &known2)
                .await;
            self.just_synced = true;
            self.remove_node(&n, &him.my_tag);
        } else {
            self.just_synced = false;
        }
    }

    fn lock_is_set_cast(&self, n: &Atom, tag: &Term, lock_id: &Term) {
        gen::cast(
            &self.p,
            &Dest::Local(server_atom()),
            tuple(vec![
                atom("lock_is_set"),
                Term::Atom(n.clone()),
                tag.clone(),
                lock_id.clone(),
            ]),
        );
    }

    async fn wait_cancel_lock(&mut self, n: &Atom, lock_id: &Term, tag: &Term, known: &[Atom]) {
        let is_cancel = |m: &Term| matches!(m.as_tuple(), Some([k, Term::Atom(x), t, _]) if k.is_atom("cancel") && x == n && t == tag);
        if let Ok(m) = self.p.receive_match(is_cancel, None).await {
            if let Some([_, _, _, casts]) = m.as_tuple() {
                self.run_casts(casts);
            }
            delete_global_lock(&mut self.p, lock_id, known).await;
        }
    }

    async fn set_lock(&mut self, id: &Term, nodes: &[Atom]) -> bool {
        let nodes: Vec<Atom> = nodes
            .iter()
            .filter(|n| n.as_str() != "nonode@nohost")
            .cloned()
            .collect();
        let shared = self.shared.clone();
        set_lock_on_nodes(&mut self.p, &shared, id, &nodes).await
    }

    /// `lock_nodes_safely/3`.
    async fn lock_nodes_safely(&mut self, id: &Term, extra: &[Atom]) -> bool {
        let mut all = vec![self.me.clone()];
        all.extend(self.known.iter().cloned());
        let boss = the_boss(&all).unwrap_or(self.me.clone());
        let first = vec![boss.clone()];
        if !(boss == self.me || self.shared.can_set_lock(id)) {
            return false;
        }
        if !self.set_lock(id, &first).await {
            return false;
        }
        // update_locker_known/1: take in the known-node updates already queued.
        while let Ok(m) = self
            .p
            .receive_match(
                |m| matches!(m.as_tuple(), Some([k, _]) if k.is_atom("add_to_known") || k.is_atom("remove_from_known")),
                Some(Duration::ZERO),
            )
            .await
        {
            self.update_known(&m);
        }
        let mut second = vec![self.me.clone()];
        second.extend(extra.iter().cloned());
        second.retain(|n| *n != boss);
        if !self.set_lock(id, &second).await {
            del_lock(&mut self.p, id, &first).await;
            return false;
        }
        let rest: Vec<Atom> = self.known.iter().filter(|n| **n != boss).cloned().collect();
        if self.set_lock(id, &rest).await {
            true
        } else {
            let mut so_far = first;
            so_far.extend(second);
            del_lock(&mut self.p, id, &so_far).await;
            false
        }
    }

    /// `select_node/1`: try to lock both partitions for one waiting peer.
    async fn select_node(&mut self) {
        let known = self.known.clone();
        self.cands.retain(|h| !known.contains(&h.node));
        let my_host = host_of(&self.me).to_string();
        let local: Vec<Him> = self
            .cands
            .iter()
            .filter(|h| host_of(&h.node) == my_host)
            .cloned()
            .collect();
        let pool = if local.is_empty() {
            self.cands.clone()
        } else {
            local
        };
        if pool.is_empty() {
            return;
        }
        let him = pool[random_below(pool.len() as u64) as usize].clone();
        let lock_id = self.lock_id(&him.locker);
        if !self
            .lock_nodes_safely(&lock_id, std::slice::from_ref(&him.node))
            .await
        {
            return;
        }
        let mut known1 = vec![self.me.clone(), him.node.clone()];
        known1.extend(self.known.iter().cloned());
        self.send_lock_set(true, &him.locker, him.his_tag.clone());
        self.lock_is_set(&him, &known1, &lock_id).await;
    }

    /// `lock_is_set/5`: wait for the peer's answer (or a cancel).
    async fn lock_is_set(&mut self, him: &Him, known1: &[Atom], lock_id: &Term) {
        loop {
            let n = him.node.clone();
            let tag = him.my_tag.clone();
            let m = self
                .p
                .receive_match(
                    |m| match m.as_tuple() {
                        Some([k, Term::Pid(pp), ..]) if k.is_atom("lock_set") => pp.node == n,
                        Some([k, Term::Atom(x), t, _]) if k.is_atom("cancel") => {
                            *x == n && *t == tag
                        }
                        _ => false,
                    },
                    None,
                )
                .await;
            let Ok(m) = m else { return };
            match m.as_tuple() {
                Some([k, _, b, _, t]) if k.is_atom("lock_set") => {
                    if *t != him.my_tag {
                        continue;
                    }
                    if b.is_atom("true") {
                        return self.true_received(him, known1, lock_id).await;
                    }
                    delete_global_lock(&mut self.p, lock_id, known1).await;
                    return;
                }
                Some([k, _, b, _]) if k.is_atom("lock_set") => {
                    if b.is_atom("true") {
                        return self.true_received(him, known1, lock_id).await;
                    }
                    delete_global_lock(&mut self.p, lock_id, known1).await;
                    return;
                }
                Some([_, _, _, casts]) => {
                    self.run_casts(casts);
                    delete_global_lock(&mut self.p, lock_id, known1).await;
                    self.remove_node(&him.node, &him.my_tag);
                    return;
                }
                _ => return,
            }
        }
    }

    async fn true_received(&mut self, him: &Him, known1: &[Atom], lock_id: &Term) {
        self.lock_is_set_cast(&him.node, &him.my_tag, lock_id);
        self.wait_cancel_lock(&him.node, lock_id, &him.my_tag, known1)
            .await;
        self.just_synced = true;
        self.remove_node(&him.node, &him.my_tag);
    }
}

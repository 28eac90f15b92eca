//! The connect/sync session with one peer, both as the answering and as the initiating
//! side: init_connect, the locker hand-off, exchange, resolved, new_nodes, in_sync.

use super::resolve::exchange_names;
use super::state::{
    atom, list_of, node_of_list_entry, server_atom, tuple, SaveOps, Server, Session, WaitLock,
    POP_VSN, VSN,
};
use crate::services::gen::{self, Dest};
use crate::term::{Atom, Term};
use crate::Process;

impl Server {
    /// `handle_nodeup/2`.
    pub(super) fn nodeup(&mut self, p: &Process, n: &Atom) {
        if self.known.contains_key(n)
            || self.sessions.contains_key(n)
            || *n == self.me
            || self.ignored.contains(n)
        {
            return;
        }
        let tag = Term::Int(self.next_tag);
        self.next_tag += 1;
        self.sessions.insert(
            n.clone(),
            Session {
                my_tag: tag.clone(),
                his_tag: None,
                his_vsn: 0,
                wait_lock: None,
                save_ops: None,
                lock_id: None,
                resolver: None,
            },
        );
        let locker = self.locker.clone().map(Term::Pid).unwrap_or(Term::Nil);
        let init = tuple(vec![
            atom("init_connect"),
            tuple(vec![Term::Int(VSN), tag]),
            Term::Atom(self.me.clone()),
            tuple(vec![
                atom("locker"),
                atom("no_longer_a_pid"),
                Term::Nil,
                locker,
            ]),
        ]);
        self.cast_to(p, n, init);
        if let Some((vsn, msg)) = self.pre_connect.remove(n) {
            self.init_connect(p, &vsn, n, &msg);
        }
    }

    /// `init_connect/6`.
    pub(super) fn init_connect(&mut self, p: &Process, vsn: &Term, n: &Atom, msg: &Term) {
        let Some([his_vsn, his_tag, ..]) = vsn.as_tuple() else {
            tracing::info!(%vsn, node = %n, "global: illegal protocol version");
            return;
        };
        let his_vsn = his_vsn.as_int().unwrap_or(0).min(VSN);
        let his_tag = his_tag.clone();
        if self.pending.contains_key(n) {
            if his_vsn < VSN {
                p.node().disconnect(n);
                return;
            }
            self.volatile_send(
                p,
                n,
                tuple(vec![
                    atom("cancel_connect"),
                    Term::Atom(self.me.clone()),
                    his_tag.clone(),
                ]),
            );
            let old = self.my_tag(n);
            self.restart_connect(p, n, old);
        }
        let his_locker = match msg.as_tuple() {
            Some([_, _, _, Term::Pid(l)]) => l.clone(),
            _ => {
                tracing::info!(%msg, "global: init_connect without a locker pid");
                return;
            }
        };
        let Some(s) = self.sessions.get_mut(n) else {
            self.pre_connect
                .insert(n.clone(), (vsn.clone(), msg.clone()));
            return;
        };
        s.his_tag = Some(his_tag.clone());
        s.his_vsn = his_vsn;
        let my_tag = s.my_tag.clone();
        self.send_locker(
            p,
            tuple(vec![
                atom("his_the_locker"),
                Term::Pid(his_locker),
                Term::Int(his_vsn),
                his_tag.clone(),
                my_tag.clone(),
            ]),
        );
        if his_vsn >= VSN {
            self.volatile_send(
                p,
                n,
                tuple(vec![
                    atom("init_connect_ack"),
                    Term::Atom(self.me.clone()),
                    his_tag,
                    my_tag,
                ]),
            );
        }
        self.pending.insert(n.clone(), his_vsn);
    }

    pub(super) fn reset(&mut self, n: &Atom) {
        if let Some(s) = self.sessions.remove(n) {
            if let Some(r) = s.resolver {
                r.abort();
            }
        }
        self.pre_connect.remove(n);
    }

    /// `cancel_locker/4`: `casts` are `{Node, Msg}` the locker casts before unlocking.
    pub(super) fn cancel_locker(&mut self, p: &Process, n: &Atom, tag: Option<Term>, casts: Term) {
        let t = tag.clone().unwrap_or(atom("undefined"));
        self.send_locker(
            p,
            tuple(vec![atom("cancel"), Term::Atom(n.clone()), t, casts]),
        );
        // send_cancel_connect/3
        if let (Some(v), Some(s)) = (self.pending.get(n), self.sessions.get(n)) {
            if *v >= VSN && Some(&s.my_tag) == tag.as_ref() {
                if let Some(h) = &s.his_tag {
                    self.volatile_send(
                        p,
                        n,
                        tuple(vec![
                            atom("cancel_connect"),
                            Term::Atom(self.me.clone()),
                            h.clone(),
                        ]),
                    );
                }
            }
        }
        if let Some(s) = self.sessions.get_mut(n) {
            if Some(&s.my_tag) == tag.as_ref() {
                if let Some(r) = s.resolver.take() {
                    r.abort();
                }
            }
        }
    }

    pub(super) fn restart_connect(&mut self, p: &Process, n: &Atom, tag: Option<Term>) {
        self.cancel_locker(p, n, tag.clone(), Term::Nil);
        self.reset(n);
        self.pending.remove(n);
        if tag.is_some() {
            self.nodeup(p, n);
        }
    }

    pub(super) fn lock_is_set(&mut self, p: &Process, n: &Atom, tag: &Term, lock_id: Term) {
        if self.my_tag(n).as_ref() != Some(tag) {
            self.cancel_locker(p, n, Some(tag.clone()), Term::Nil);
            return;
        }
        let names = self.names_list();
        let me = self.me.clone();
        let Some(s) = self.sessions.get_mut(n) else {
            return;
        };
        let his = s.his_tag.clone().unwrap_or(atom("undefined"));
        s.lock_id = Some(lock_id);
        let waiting = s.wait_lock.take();
        gen::cast(
            p,
            &Dest::Remote(server_atom(), n.clone()),
            tuple(vec![
                atom("exchange"),
                Term::Atom(me),
                names,
                Term::Nil,
                his,
            ]),
        );
        match waiting {
            Some(WaitLock::Exchange(list)) => {
                s.wait_lock = Some(WaitLock::LockIsSet);
                self.exchange(p, n, list);
            }
            _ => s.wait_lock = Some(WaitLock::LockIsSet),
        }
    }

    pub(super) fn exchange(&mut self, p: &Process, n: &Atom, list: Vec<Term>) {
        let Some(s) = self.sessions.get_mut(n) else {
            return;
        };
        match s.wait_lock.take() {
            Some(WaitLock::LockIsSet) => {
                let node = p.node().clone();
                let shared = self.shared.clone();
                let server = p.pid().clone();
                let peer = n.clone();
                let tag = s.my_tag.clone();
                s.resolver = Some(tokio::spawn(async move {
                    let (ops, res) = exchange_names(&node, &shared, &peer, list).await;
                    let msg = tuple(vec![
                        atom("exchange_ops"),
                        Term::Atom(peer),
                        tag,
                        Term::list(ops),
                        Term::list(res),
                    ]);
                    node.send(&server, tuple(vec![atom("$gen_cast"), msg]));
                }));
            }
            _ => s.wait_lock = Some(WaitLock::Exchange(list)),
        }
    }

    pub(super) fn exchange_ops(
        &mut self,
        p: &Process,
        n: &Atom,
        tag: &Term,
        ops: Vec<Term>,
        res: Term,
    ) {
        if self.my_tag(n).as_ref() != Some(tag) {
            self.cancel_locker(p, n, Some(tag.clone()), Term::Nil);
            return;
        }
        let known = self.known_list(self.node_vsn(n));
        let ext = Term::list(self.names_ext.clone());
        let Some(s) = self.sessions.get_mut(n) else {
            return;
        };
        s.resolver = None;
        let his = s.his_tag.clone().unwrap_or(atom("undefined"));
        gen::cast(
            p,
            &Dest::Remote(server_atom(), n.clone()),
            tuple(vec![
                atom("resolved"),
                Term::Atom(self.me.clone()),
                res,
                known,
                atom("unused"),
                ext,
                his,
            ]),
        );
        if let Some(SaveOps::Resolved {
            his_known,
            names_ext,
            his_resolved,
        }) = s.save_ops.replace(SaveOps::Ops(ops))
        {
            self.resolved(p, n, his_resolved, his_known, names_ext);
        }
    }

    pub(super) fn resolved_cast(&mut self, p: &Process, n: &Atom, tag: &Term, r: SaveOps) {
        if self.my_tag(n).as_ref() != Some(tag) {
            self.cancel_locker(p, n, Some(tag.clone()), Term::Nil);
            return;
        }
        let Some(s) = self.sessions.get_mut(n) else {
            return;
        };
        match s.save_ops.take() {
            Some(SaveOps::Ops(ops)) => {
                s.save_ops = Some(SaveOps::Ops(ops));
                if let SaveOps::Resolved {
                    his_known,
                    names_ext,
                    his_resolved,
                } = r
                {
                    self.resolved(p, n, his_resolved, his_known, names_ext);
                }
            }
            _ => s.save_ops = Some(r),
        }
    }

    /// `resolved/5`.
    fn resolved(
        &mut self,
        p: &Process,
        n: &Atom,
        his_resolved: Vec<Term>,
        his_known: Vec<Term>,
        names_ext: Term,
    ) {
        let Some(s) = self.sessions.get_mut(n) else {
            return;
        };
        let mut ops = match s.save_ops.take() {
            Some(SaveOps::Ops(o)) => o,
            _ => Vec::new(),
        };
        ops.extend(his_resolved);
        let his_vsn = s.his_vsn;
        let lock_id = s.lock_id.clone();
        let my_tag = s.my_tag.clone();
        let mut new_nodes: Vec<(Atom, i64)> = vec![(n.clone(), self.node_vsn(n))];
        let mut his_known_nodes = Vec::new();
        for e in &his_known {
            if let Some((a, v)) = node_of_list_entry(e) {
                let v = if v == 0 { self.node_vsn(&a) } else { v };
                his_known_nodes.push(a.clone());
                new_nodes.push((a, v));
            }
        }
        self.sync_others(p, his_known_nodes.clone());
        let extra = Term::list(vec![
            tuple(vec![atom("vsn"), Term::Int(his_vsn)]),
            tuple(vec![
                atom("lock"),
                lock_id.clone().unwrap_or(atom("undefined")),
            ]),
        ]);
        self.do_ops(p, &ops, &names_ext, lock_id.as_ref());
        self.notify_syncers(std::slice::from_ref(n));
        for c in &his_known_nodes {
            let t = self.my_tag(c);
            self.pending.remove(c);
            self.cancel_locker(p, c, t, Term::Nil);
            self.reset(c);
        }
        let nn_vsn = Term::list(
            new_nodes
                .iter()
                .map(|(a, v)| tuple(vec![Term::Atom(a.clone()), Term::Int(*v)]))
                .collect(),
        );
        let nn_plain = Term::list(
            new_nodes
                .iter()
                .map(|(a, _)| Term::Atom(a.clone()))
                .collect(),
        );
        let ops_t = Term::list(ops);
        let casts = Term::list(
            self.known
                .iter()
                .map(|(k, v)| {
                    let nodes = if *v >= POP_VSN {
                        nn_vsn.clone()
                    } else {
                        nn_plain.clone()
                    };
                    tuple(vec![
                        Term::Atom(k.clone()),
                        tuple(vec![
                            atom("new_nodes"),
                            Term::Atom(self.me.clone()),
                            ops_t.clone(),
                            names_ext.clone(),
                            nodes,
                            extra.clone(),
                        ]),
                    ])
                })
                .collect(),
        );
        self.pending.remove(n);
        self.cancel_locker(p, n, Some(my_tag), casts);
        self.reset(n);
        let added = self.add_to_known(&new_nodes);
        self.send_locker(
            p,
            tuple(vec![
                atom("add_to_known"),
                Term::list(added.into_iter().map(Term::Atom).collect()),
            ]),
        );
        if !self.synced.contains(n) {
            self.synced.push(n.clone());
        }
    }

    fn add_to_known(&mut self, nodes: &[(Atom, i64)]) -> Vec<Atom> {
        let mut added = Vec::new();
        for (n, v) in nodes {
            if *n == self.me {
                continue;
            }
            match self.known.get(n) {
                None => {
                    self.known.insert(n.clone(), *v);
                    added.push(n.clone());
                }
                Some(old) if *old < 0 => {
                    self.known.insert(n.clone(), *v);
                }
                Some(_) => {}
            }
        }
        self.publish_known();
        added
    }

    /// `sync_others/1`: cast `{in_sync, Self, true}` to each node, which connects to it
    /// when needed. OTP's `sync_other` sends `extra_nodedown` only for a nodedown that
    /// is already in its mailbox the moment it starts monitoring the node (`after 0`),
    /// which practically never happens; waiting here for a connection to fail (up to
    /// the set-up time) and then reporting the node lost would make every other node
    /// drop it (`lost_connection`), though it was never connected to us.
    fn sync_others(&self, p: &Process, nodes: Vec<Atom>) {
        for n in nodes {
            gen::cast(
                p,
                &Dest::Remote(server_atom(), n),
                tuple(vec![
                    atom("in_sync"),
                    Term::Atom(self.me.clone()),
                    atom("true"),
                ]),
            );
        }
    }

    pub(super) fn new_nodes(
        &mut self,
        p: &Process,
        ops: &Term,
        names_ext: &Term,
        nodes: &Term,
        extra: &Term,
    ) {
        let list: Vec<(Atom, i64)> = list_of(nodes)
            .iter()
            .filter_map(node_of_list_entry)
            .collect();
        let added = self.add_to_known(&list);
        self.sync_others(p, added.clone());
        let lock = list_of(extra).into_iter().find_map(|e| match e.as_tuple() {
            Some([k, v]) if k.is_atom("lock") => Some(v.clone()),
            _ => None,
        });
        self.do_ops(p, &list_of(ops), names_ext, lock.as_ref());
        self.send_locker(
            p,
            tuple(vec![
                atom("add_to_known"),
                Term::list(added.into_iter().map(Term::Atom).collect()),
            ]),
        );
    }

    pub(super) fn in_sync(&mut self, p: &Process, n: &Atom) {
        self.notify_syncers(std::slice::from_ref(n));
        if !self.synced.contains(n) {
            self.synced.push(n.clone());
        }
        self.pending.remove(n);
        let t = self.my_tag(n);
        self.cancel_locker(p, n, t, Term::Nil);
        self.reset(n);
    }
}

//! The server on top of the other parts: nodedown and `lost_connection` handling, and
//! the [`GenServer`] call/cast/info dispatch to the handlers of `names` and `session`.
//! Its state ([`Server`]) is defined in `state`.

use super::group;
use super::locker::Locker;
use super::state::{
    atom, list_of, tuple, Registrar, SaveOps, Server, LOST_CONN_KEEP, POP_VSN, VSN,
};
use crate::node::MonitorNodesOpts;
use crate::services::gen::From;
use crate::services::gen_server::{CallResult, CastResult, GenServer};
use crate::term::{Atom, Term};
use crate::Process;
use std::collections::HashSet;
use std::time::Instant;

#[derive(Debug, Clone, Copy, PartialEq)]
enum DownKind {
    Disconnected,
    RemoveConnection,
    /// A node with global groups that leaves us out (`handle_nodedown(…, ignore_node)`).
    Ignore,
}

impl Server {
    /// `handle_nodedown/3`.
    fn nodedown(&mut self, p: &Process, n: &Atom, kind: DownKind) {
        let t = self.my_tag(n);
        self.cancel_locker(p, n, t, Term::Nil);
        self.send_locker(
            p,
            tuple(vec![atom("remove_from_known"), Term::Atom(n.clone())]),
        );
        self.reset(n);
        match kind {
            DownKind::RemoveConnection => {
                self.removing.insert(n.clone());
            }
            DownKind::Disconnected => {
                self.ignored.remove(n);
                if !self.removing.remove(n) {
                    self.inform_connection_loss(p, n);
                }
            }
            DownKind::Ignore => {
                self.removing.remove(n);
                self.ignored.insert(n.clone());
            }
        }
        self.pending.remove(n);
        self.known.remove(n);
        self.synced.retain(|x| x != n);
        self.publish_known();
        self.notify_syncers(std::slice::from_ref(n));
    }

    fn multicast(&self, p: &Process, msg: &Term, except: &Atom) {
        let targets: HashSet<&Atom> = self
            .known
            .iter()
            .chain(self.pending.iter())
            .filter(|(n, v)| *n != except && **v >= POP_VSN)
            .map(|(n, _)| n)
            .collect();
        for n in targets {
            self.volatile_send(p, n, msg.clone());
        }
    }

    fn inform_connection_loss(&mut self, p: &Process, n: &Atom) {
        if !self.pop {
            return;
        }
        let xcre = self.cre_ext + i64::from(p.node().creation()) + (1i64 << 59);
        let op = Term::Int(self.next_tag);
        self.next_tag += 1;
        let msg = tuple(vec![
            atom("lost_connection"),
            Term::Atom(self.me.clone()),
            Term::Int(xcre),
            op,
            Term::Atom(n.clone()),
        ]);
        self.multicast(p, &msg, n);
    }

    fn lost_connection(&mut self, p: &Process, msg: &Term) {
        let Some([_, Term::Atom(x), xcre, opid, Term::Atom(y)]) = msg.as_tuple() else {
            return;
        };
        if !self.pop {
            return;
        }
        let now = Instant::now();
        self.lost.retain(|_, (_, _, until)| *until > now);
        let key = (x.clone(), y.clone());
        if let Some((c, o, _)) = self.lost.get(&key) {
            if c == xcre && opid <= o {
                return;
            }
        }
        self.multicast(p, msg, x);
        self.lost
            .insert(key, (xcre.clone(), opid.clone(), now + LOST_CONN_KEEP));
        let rm = if *y == self.me { x.clone() } else { y.clone() };
        if self.known.contains_key(&rm) || self.pending.contains_key(&rm) {
            if self.node_vsn(&rm) < POP_VSN {
                p.node().disconnect(&rm);
            } else {
                self.volatile_send(
                    p,
                    &rm,
                    tuple(vec![atom("remove_connection"), Term::Atom(self.me.clone())]),
                );
            }
            tracing::warn!(node = %rm, "global: dropping a node to prevent overlapping partitions");
            self.nodedown(p, &rm, DownKind::RemoveConnection);
        }
    }
}

impl Server {
    fn reply_done_syncers(&mut self, p: &Process) {
        for f in std::mem::take(&mut self.done_syncers) {
            f.reply(p, atom("ok"));
        }
    }
}

impl GenServer for Server {
    fn init(&mut self, p: &mut Process) -> Result<(), Term> {
        p.monitor_nodes(true, MonitorNodesOpts::default());
        let node = p.node().clone();
        let server = p.pid().clone();
        let shared = self.shared.clone();
        let me = self.me.clone();
        let locker = node.spawn(move |lp| async move {
            let _ = lp.link(&server);
            Locker::new(lp, shared, me).run().await;
        });
        self.locker = Some(locker);
        for n in p.node().nodes() {
            self.nodeup(p, &n);
        }
        Ok(())
    }

    fn handle_call(&mut self, request: Term, from: &From, p: &mut Process) -> CallResult {
        let r = match request.as_tuple() {
            Some([k, id]) if k.is_atom("set_lock") => {
                Term::atom(if self.handle_set_lock(p, id, &from.pid) {
                    "true"
                } else {
                    "false"
                })
            }
            Some([k, id]) if k.is_atom("del_lock") => {
                self.handle_del_lock(p, id, &from.pid);
                atom("true")
            }
            Some([k, name, Term::Pid(pid), method]) if k.is_atom("register") => {
                self.ins_name(
                    p,
                    name.clone(),
                    pid.clone(),
                    method.clone(),
                    &Registrar::Pid(&from.pid),
                );
                atom("yes")
            }
            Some([k, name, Term::Pid(pid), method, reg]) if k.is_atom("register_ext") => {
                self.ins_name(
                    p,
                    name.clone(),
                    pid.clone(),
                    method.clone(),
                    &Registrar::Pid(&from.pid),
                );
                if self.name_mon.contains_key(name) {
                    self.names_ext.push(tuple(vec![
                        name.clone(),
                        Term::Pid(pid.clone()),
                        reg.clone(),
                    ]));
                }
                atom("yes")
            }
            Some([k, name]) if k.is_atom("unregister") => {
                self.delete_name(p, name);
                atom("ok")
            }
            Some([k, nodes]) if k.is_atom("sync") => {
                let up = p.node().nodes();
                let waiting: Vec<Atom> = list_of(nodes)
                    .iter()
                    .filter_map(|n| n.as_atom().cloned())
                    .filter(|n| {
                        *n != self.me
                            && !self.synced.contains(n)
                            && !self.ignored.contains(n)
                            && up.contains(n)
                    })
                    .collect();
                if waiting.is_empty() {
                    atom("ok")
                } else {
                    self.syncers.push((from.clone(), waiting));
                    return CallResult::NoReply;
                }
            }
            _ if request.is_atom("get_known") => self.known_list(0),
            _ if request.is_atom("get_synced") => {
                Term::list(self.synced.iter().cloned().map(Term::Atom).collect())
            }
            _ if request.is_atom("get_protocol_version") => Term::Int(VSN),
            _ if request.is_atom("get_names_ext") => Term::list(self.names_ext.clone()),
            _ => {
                tracing::warn!(%request, "global: unexpected call");
                return CallResult::NoReply;
            }
        };
        CallResult::Reply(r)
    }

    fn handle_cast(&mut self, request: Term, p: &mut Process) -> CastResult {
        match request.as_tuple() {
            Some([k, vsn, Term::Atom(n), msg]) if k.is_atom("init_connect") => {
                self.init_connect(p, vsn, n, msg);
            }
            Some([k, Term::Atom(n), tag, lock_id]) if k.is_atom("lock_is_set") => {
                self.lock_is_set(p, n, tag, lock_id.clone());
            }
            Some([k, Term::Atom(n), names, _ext, tag]) if k.is_atom("exchange") => {
                if self.my_tag(n).as_ref() == Some(tag) {
                    self.exchange(p, n, list_of(names));
                } else {
                    self.cancel_locker(p, n, Some(tag.clone()), Term::Nil);
                }
            }
            Some([k, Term::Atom(n), tag, ops, res]) if k.is_atom("exchange_ops") => {
                self.exchange_ops(p, n, tag, list_of(ops), res.clone());
            }
            Some([k, Term::Atom(n), res, his_known, _, ext, tag]) if k.is_atom("resolved") => {
                let r = SaveOps::Resolved {
                    his_known: list_of(his_known),
                    names_ext: ext.clone(),
                    his_resolved: list_of(res),
                };
                self.resolved_cast(p, n, tag, r);
            }
            Some([k, Term::Atom(_n), ops, ext, nodes, extra]) if k.is_atom("new_nodes") => {
                self.new_nodes(p, ops, ext, nodes, extra);
            }
            Some([k, Term::Atom(n), _]) if k.is_atom("in_sync") => self.in_sync(p, n),
            Some([k, Term::Pid(pid), _, _, tag]) if k.is_atom("lock_set") => {
                if self.my_tag(&pid.node).as_ref() == Some(tag) {
                    self.send_locker(p, request.clone());
                }
            }
            Some([k, Term::Pid(_), _, _]) if k.is_atom("lock_set") => {
                self.send_locker(p, request.clone());
            }
            Some([k, ..]) if k.is_atom("async_del_name") || k.is_atom("async_del_lock") => {}
            _ => tracing::warn!(%request, "global: unexpected cast"),
        }
        self.reply_done_syncers(p);
        CastResult::NoReply
    }

    fn handle_info(&mut self, msg: Term, p: &mut Process) -> CastResult {
        match msg.as_tuple() {
            Some([k, Term::Atom(n)]) if k.is_atom("nodeup") => self.nodeup(p, n),
            Some([k, Term::Atom(n)]) if k.is_atom("nodedown") => {
                self.nodedown(p, n, DownKind::Disconnected)
            }
            // OTP's global takes this message from its own sync_other helpers; ours
            // no longer sends it (session.rs, sync_others), but one sent to the
            // server is handled as OTP's is.
            Some([k, Term::Atom(n)]) if k.is_atom("extra_nodedown") => {
                self.nodedown(p, n, DownKind::Disconnected)
            }
            Some([k, Term::Ref(r), _, _, _]) if k.is_atom("DOWN") => self.down(p, r),
            Some([k, Term::Atom(n)]) if k.is_atom(group::IGNORE) => {
                if p.node().nodes().contains(n) && !self.ignored.contains(n) {
                    self.nodedown(p, n, DownKind::Ignore);
                }
            }
            Some([k, ..]) if k.is_atom("lost_connection") => self.lost_connection(p, &msg),
            Some([k, Term::Atom(n)]) if k.is_atom("remove_connection") => {
                if self.known.contains_key(n) || self.pending.contains_key(n) {
                    p.node().disconnect(n);
                    tracing::warn!(node = %n, "global: disconnected to prevent overlapping partitions");
                    self.nodedown(p, n, DownKind::RemoveConnection);
                }
            }
            Some([k, Term::Atom(n), tag]) if k.is_atom("cancel_connect") => {
                if self.my_tag(n).as_ref() == Some(tag) {
                    self.cancel_locker(p, n, Some(tag.clone()), Term::Nil);
                    self.reset(n);
                    self.pending.remove(n);
                    self.restart_connect(p, n, Some(tag.clone()));
                }
            }
            Some([k, Term::Atom(n), x, y]) if k.is_atom("init_connect_ack") => {
                let my = self.my_tag(n);
                let his = self.sessions.get(n).and_then(|s| s.his_tag.clone());
                if !(my.as_ref() == Some(x) && his.as_ref() == Some(y)) {
                    self.volatile_send(
                        p,
                        n,
                        tuple(vec![
                            atom("cancel_connect"),
                            Term::Atom(self.me.clone()),
                            y.clone(),
                        ]),
                    );
                    self.restart_connect(p, n, my);
                }
            }
            Some([k, Term::Pid(from), r]) if k.is_atom("prepare_shutdown") => {
                self.pop = false;
                p.send_nowait(from, tuple(vec![r.clone(), atom("ok")]));
            }
            _ => tracing::warn!(%msg, "global: unexpected message"),
        }
        self.reply_done_syncers(p);
        CastResult::NoReply
    }

    fn format_state(&self) -> Term {
        tuple(vec![
            atom("global"),
            Term::list(self.known.keys().cloned().map(Term::Atom).collect()),
            Term::list(self.synced.iter().cloned().map(Term::Atom).collect()),
        ])
    }
}

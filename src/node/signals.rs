//! Erlang's signal rules for links, monitors, aliases and exits (docs/protocol.md §5.2,
//! §5.1 MONITOR_P/EXIT rows, §7.3), applied to local processes. Remote ends get the
//! matching control messages; local ends are updated in the process table.
//!
//! Exits that cascade through links are processed from a work list, not by recursion,
//! so a long chain of linked processes cannot overflow the stack.

use super::Node;
use crate::proto::control::{ControlMessage, ProcRef};
use crate::proto::DistFlags;
use crate::runtime::table::{key, AliasMode, LinkState, Monitor, ProcKey, Watch, Watched};
use crate::term::{Atom, Pid, Reference, Term};
use std::collections::VecDeque;

/// Pending work of the signal engine.
enum Work {
    /// An exit signal to local process `target`. `link`: it comes from a link (only
    /// acted on while the link is active); otherwise it is `exit/2`.
    Exit {
        target: ProcKey,
        from: Pid,
        reason: Term,
        link: bool,
    },
    /// Local process `id` ends with `reason`.
    Terminate { id: ProcKey, reason: Term },
}

/// Why `link` failed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum LinkError {
    #[error("no such process")]
    NoProc,
}

fn down_message(reference: Reference, object: Term, reason: Term) -> Term {
    Term::tuple(vec![
        Term::atom("DOWN"),
        Term::Ref(reference),
        Term::atom("process"),
        object,
        reason,
    ])
}

fn watched_object(w: &Watched) -> Term {
    match w {
        Watched::Pid(p) => Term::Pid(p.clone()),
        Watched::Name(n, node) => {
            Term::tuple(vec![Term::Atom(n.clone()), Term::Atom(node.clone())])
        }
    }
}

impl Node {
    fn local_id(&self, pid: &Pid) -> Option<ProcKey> {
        self.inner.ids.is_local_pid(pid).then(|| key(pid))
    }

    fn run(&self, mut work: VecDeque<Work>) {
        while let Some(w) = work.pop_front() {
            match w {
                Work::Exit {
                    target,
                    from,
                    reason,
                    link,
                } => self.exit_step(target, from, reason, link, &mut work),
                Work::Terminate { id, reason } => self.terminate_step(id, reason, &mut work),
            }
        }
    }

    fn exit_step(
        &self,
        target: ProcKey,
        from: Pid,
        reason: Term,
        link: bool,
        work: &mut VecDeque<Work>,
    ) {
        let deliver = self.inner.table.with(|t| {
            let e = t.procs.get_mut(&target)?;
            if link {
                match e.links.get(&from) {
                    Some(LinkState::Active) => {
                        e.links.remove(&from);
                    }
                    // No link, or our unlink is in flight: the signal is ignored.
                    _ => return None,
                }
            }
            let kill = !link && reason.is_atom("kill");
            if kill {
                work.push_back(Work::Terminate {
                    id: target,
                    reason: Term::atom("killed"),
                });
                None
            } else if e.trap_exit {
                Some(e.control.clone())
            } else if reason.is_atom("normal") {
                if !link && from == e.pid {
                    work.push_back(Work::Terminate {
                        id: target,
                        reason: reason.clone(),
                    });
                }
                None
            } else {
                work.push_back(Work::Terminate {
                    id: target,
                    reason: reason.clone(),
                });
                None
            }
        });
        if let Some(tx) = deliver {
            let _ = tx.send(Term::tuple(vec![
                Term::atom("EXIT"),
                Term::Pid(from),
                reason,
            ]));
        }
    }

    fn terminate_step(&self, id: ProcKey, reason: Term, work: &mut VecDeque<Work>) {
        let Some(entry) = self.inner.table.with(|t| t.remove(id)) else {
            return;
        };
        let active = entry
            .links
            .iter()
            .filter(|(_, s)| **s == LinkState::Active)
            .count();
        let mut reason = HandOut::new(reason, 1 + active + entry.monitored_by.len());
        // Marks the mailbox and wakes the process's task, which stops at its next
        // await (node/task.rs); its links and monitors are handled here.
        entry.control.kill(reason.take());
        let me = entry.pid;
        for (other, state) in entry.links {
            if state != LinkState::Active {
                continue;
            }
            match self.local_id(&other) {
                Some(oid) => work.push_back(Work::Exit {
                    target: oid,
                    from: me.clone(),
                    reason: reason.take(),
                    link: true,
                }),
                None if other.node != *self.name() => {
                    self.send_exit_signal(&me, &other, reason.take(), false)
                }
                None => {}
            }
        }
        for m in entry.monitored_by {
            let object = match &m.by_name {
                Some(n) => ProcRef::Name(n.clone()),
                None => ProcRef::Pid(me.clone()),
            };
            if self.local_id(&m.watcher).is_some() {
                self.local_down(&m.watcher, &m.reference, reason.take());
            } else {
                self.send_down(object, &m.watcher, m.reference, reason.take());
            }
        }
        for (reference, watch) in entry.monitoring {
            self.drop_watch(&me, reference, watch);
        }
    }

    /// Removes the far end of a monitor `me` held (the process is gone or demonitors).
    fn drop_watch(&self, me: &Pid, reference: Reference, watch: Watch) {
        if watch.alias {
            self.inner.table.with(|t| t.aliases.remove(&reference));
        }
        if watch.target.node() == self.name() {
            let target = match &watch.target {
                Watched::Pid(p) => self.local_id(p),
                Watched::Name(n, _) => self.inner.table.with(|t| t.resolve(n)),
            };
            if let Some(id) = target {
                self.inner.table.with(|t| {
                    if let Some(e) = t.procs.get_mut(&id) {
                        e.monitored_by
                            .retain(|m| !(m.reference == reference && m.watcher == *me));
                    }
                });
            }
        } else {
            let (node, to) = match watch.target {
                Watched::Pid(p) => (p.node.clone(), ProcRef::Pid(p)),
                Watched::Name(n, node) => (node, ProcRef::Name(n)),
            };
            if self.inner.conns.up_info(&node).is_some() {
                self.route(
                    &node,
                    ControlMessage::DemonitorP {
                        from: me.clone(),
                        to,
                        reference,
                    },
                    None,
                );
            }
        }
    }

    /// Delivers a `DOWN` to local `watcher` if it still holds monitor `reference`.
    fn local_down(&self, watcher: &Pid, reference: &Reference, reason: Term) {
        let Some(id) = self.local_id(watcher) else {
            return;
        };
        let found = self.inner.table.with(|t| {
            let e = t.procs.get_mut(&id)?;
            let w = e.monitoring.remove(reference)?;
            let tx = e.control.clone();
            if w.alias {
                t.aliases.remove(reference);
            }
            Some((tx, w))
        });
        if let Some((tx, w)) = found {
            let _ = tx.send(down_message(
                reference.clone(),
                watched_object(&w.target),
                reason,
            ));
        }
    }

    /// Ends local process `pid` with `reason`: frees its pid and name, sends exit
    /// signals over its links and `DOWN`s to its monitors.
    pub(crate) fn process_exited(&self, pid: &Pid, reason: Term) {
        if let Some(id) = self.local_id(pid) {
            self.run(VecDeque::from([Work::Terminate { id, reason }]));
        }
    }

    /// An exit signal from `from` to local `to` (`exit/2` when `link` is false).
    pub(crate) fn exit_signal_in(&self, from: &Pid, to: &Pid, reason: Term, link: bool) {
        if let Some(target) = self.local_id(to) {
            self.run(VecDeque::from([Work::Exit {
                target,
                from: from.clone(),
                reason,
                link,
            }]));
        }
    }

    /// Sends an exit signal from local `from` to remote `to`: EXIT for links,
    /// EXIT2 for `exit/2`, in the PAYLOAD form when negotiated.
    pub(crate) fn send_exit_signal(&self, from: &Pid, to: &Pid, reason: Term, exit2: bool) {
        let payload_form = self
            .inner
            .conns
            .up_info(&to.node)
            .map(|i| i.flags.contains(DistFlags::EXIT_PAYLOAD))
            .unwrap_or(true);
        let (from, to_pid) = (from.clone(), to.clone());
        let (control, payload) = match (payload_form, exit2) {
            (true, false) => (
                ControlMessage::PayloadExit {
                    from,
                    to: to_pid,
                    token: None,
                },
                Some(reason),
            ),
            (true, true) => (
                ControlMessage::PayloadExit2 {
                    from,
                    to: to_pid,
                    token: None,
                },
                Some(reason),
            ),
            (false, false) => (
                ControlMessage::Exit {
                    from,
                    to: to_pid,
                    reason,
                    token: None,
                },
                None,
            ),
            (false, true) => (
                ControlMessage::Exit2 {
                    from,
                    to: to_pid,
                    reason,
                    token: None,
                },
                None,
            ),
        };
        self.route(&to.node, control, payload);
    }

    /// `exit(To, Reason)` from `from`.
    pub fn exit_process(&self, from: &Pid, to: &Pid, reason: Term) {
        if to.node == *self.name() {
            self.exit_signal_in(from, to, reason, false);
        } else {
            self.send_exit_signal(from, to, reason, true);
        }
    }

    /// Sets `trap_exit` for local `pid`; returns the old value.
    pub(crate) fn set_trap_exit(&self, pid: &Pid, on: bool) -> bool {
        self.inner.table.with(|t| match t.procs.get_mut(&key(pid)) {
            Some(e) => std::mem::replace(&mut e.trap_exit, on),
            None => false,
        })
    }

    /// `link(Other)` by local `me`.
    pub(crate) fn link(&self, me: &Pid, other: &Pid) -> Result<(), LinkError> {
        if me == other {
            return Ok(());
        }
        match self.local_id(other) {
            Some(oid) => {
                let ok = self.inner.table.with(|t| {
                    if !t.procs.contains_key(&oid) || !t.procs.contains_key(&key(me)) {
                        return false;
                    }
                    if let Some(e) = t.procs.get_mut(&key(me)) {
                        e.links.insert(other.clone(), LinkState::Active);
                    }
                    if let Some(e) = t.procs.get_mut(&oid) {
                        e.links.insert(me.clone(), LinkState::Active);
                    }
                    true
                });
                if ok {
                    Ok(())
                } else {
                    Err(LinkError::NoProc)
                }
            }
            None if other.node == *self.name() => Err(LinkError::NoProc), // old incarnation
            None => {
                self.inner.table.with(|t| {
                    if let Some(e) = t.procs.get_mut(&key(me)) {
                        e.links.insert(other.clone(), LinkState::Active);
                    }
                });
                self.route(
                    &other.node,
                    ControlMessage::Link {
                        from: me.clone(),
                        to: other.clone(),
                    },
                    None,
                );
                Ok(())
            }
        }
    }

    /// `unlink(Other)` by local `me` (the UNLINK_ID protocol for remote pids).
    pub(crate) fn unlink(&self, me: &Pid, other: &Pid) {
        match self.local_id(other) {
            Some(oid) => self.inner.table.with(|t| {
                if let Some(e) = t.procs.get_mut(&key(me)) {
                    e.links.remove(other);
                }
                if let Some(e) = t.procs.get_mut(&oid) {
                    e.links.remove(me);
                }
            }),
            None => {
                let id = self.inner.ids.new_unlink_id();
                let had = self.inner.table.with(|t| match t.procs.get_mut(&key(me)) {
                    Some(e) if e.links.get(other) == Some(&LinkState::Active) => {
                        e.links.insert(other.clone(), LinkState::Unlinking(id));
                        true
                    }
                    _ => false,
                });
                if had {
                    self.route(
                        &other.node,
                        ControlMessage::UnlinkId {
                            id,
                            from: me.clone(),
                            to: other.clone(),
                        },
                        None,
                    );
                }
            }
        }
    }

    /// LINK from remote `from` to local `to`.
    pub(crate) fn link_in(&self, from: &Pid, to: &Pid) {
        let linked = self.inner.table.with(|t| match t.procs.get_mut(&key(to)) {
            Some(e) if self.inner.ids.is_local_pid(to) => {
                // Existing state (even an unlink in flight) means the link is ignored.
                e.links.insert_if_absent(from.clone(), LinkState::Active);
                true
            }
            _ => false,
        });
        if !linked {
            self.send_exit_signal(to, from, Term::atom("noproc"), false);
        }
    }

    /// UNLINK_ID from remote `from` to local `to`; always acknowledged (§5.2).
    pub(crate) fn unlink_id_in(&self, id: u64, from: &Pid, to: &Pid) {
        self.inner.table.with(|t| {
            if let Some(e) = t.procs.get_mut(&key(to)) {
                if e.links.get(from) == Some(&LinkState::Active) {
                    e.links.remove(from);
                }
            }
        });
        self.route(
            &from.node,
            ControlMessage::UnlinkIdAck {
                id,
                from: to.clone(),
                to: from.clone(),
            },
            None,
        );
    }

    /// UNLINK_ID_ACK: our unlink `id` from local `to` toward remote `from` is done.
    pub(crate) fn unlink_ack_in(&self, id: u64, from: &Pid, to: &Pid) {
        self.inner.table.with(|t| {
            if let Some(e) = t.procs.get_mut(&key(to)) {
                if e.links.get(from) == Some(&LinkState::Unlinking(id)) {
                    e.links.remove(from);
                }
            }
        });
    }

    /// Old UNLINK (op 4) from a peer without UNLINK_ID.
    pub(crate) fn unlink_in(&self, from: &Pid, to: &Pid) {
        self.inner.table.with(|t| {
            if let Some(e) = t.procs.get_mut(&key(to)) {
                e.links.remove(from);
            }
        });
    }

    /// `monitor(process, Target)` by local `me`; with `alias` the reference is also an
    /// alias of `me` until the monitor goes (`[{alias, demonitor}]`).
    pub(crate) fn monitor(&self, me: &Pid, target: Watched, alias: bool) -> Reference {
        let reference = self.make_ref();
        let watch = Watch {
            target: target.clone(),
            alias,
        };
        let registered = self.inner.table.with(|t| {
            let Some(e) = t.procs.get_mut(&key(me)) else {
                return false;
            };
            e.monitoring.insert(reference.clone(), watch);
            if alias {
                e.aliases.push(reference.clone());
                t.aliases
                    .insert(reference.clone(), (key(me), AliasMode::Demonitor));
            }
            true
        });
        if !registered {
            return reference;
        }
        if target.node() == self.name() {
            let (id, by_name) = match &target {
                Watched::Pid(p) => (self.local_id(p), None),
                Watched::Name(n, _) => (self.inner.table.with(|t| t.resolve(n)), Some(n.clone())),
            };
            let added = id.is_some_and(|id| {
                self.inner.table.with(|t| match t.procs.get_mut(&id) {
                    Some(e) => {
                        e.monitored_by.push(Monitor {
                            reference: reference.clone(),
                            watcher: me.clone(),
                            by_name,
                        });
                        true
                    }
                    None => false,
                })
            });
            if !added {
                self.local_down(me, &reference, Term::atom("noproc"));
            }
        } else {
            let (node, to) = match target {
                Watched::Pid(p) => (p.node.clone(), ProcRef::Pid(p)),
                Watched::Name(n, node) => (node, ProcRef::Name(n)),
            };
            self.route(
                &node,
                ControlMessage::MonitorP {
                    from: me.clone(),
                    to,
                    reference: reference.clone(),
                },
                None,
            );
        }
        reference
    }

    /// `demonitor(Ref)` by local `me`; true if the monitor was active.
    pub(crate) fn demonitor(&self, me: &Pid, reference: &Reference) -> bool {
        let watch = self.inner.table.with(|t| {
            t.procs
                .get_mut(&key(me))
                .and_then(|e| e.monitoring.remove(reference))
        });
        match watch {
            Some(w) => {
                self.drop_watch(me, reference.clone(), w);
                true
            }
            None => false,
        }
    }

    /// MONITOR_P_EXIT / PAYLOAD_MONITOR_P_EXIT from `peer` to local `to`.
    pub(crate) fn monitor_exit_in(&self, to: &Pid, reference: &Reference, reason: Term) {
        self.local_down(to, reference, reason);
    }

    /// A new alias of local `me`.
    pub(crate) fn alias(&self, me: &Pid, mode: AliasMode) -> Reference {
        let reference = self.make_ref();
        self.inner.table.with(|t| {
            if let Some(e) = t.procs.get_mut(&key(me)) {
                e.aliases.push(reference.clone());
                t.aliases.insert(reference.clone(), (key(me), mode));
            }
        });
        reference
    }

    /// Deactivates an alias of local `me`; true if it was active.
    pub(crate) fn unalias(&self, me: &Pid, alias: &Reference) -> bool {
        self.inner.table.with(|t| match t.aliases.get(alias) {
            Some((owner, _)) if *owner == key(me) => {
                t.aliases.remove(alias);
                if let Some(e) = t.procs.get_mut(&key(me)) {
                    e.aliases.retain(|a| a != alias);
                }
                true
            }
            _ => false,
        })
    }

    /// Delivers a message sent to one of our aliases; dropped if the alias is not
    /// active (that is what makes late gen_server replies disappear, §8.1).
    pub(crate) fn deliver_alias(&self, alias: &Reference, msg: Term) -> bool {
        if !self.inner.ids.is_local_ref(alias) {
            return false;
        }
        match self.inner.table.sender_by_alias(alias) {
            Some(tx) => tx.send(msg).is_ok(),
            None => false,
        }
    }

    /// The connection to `peer` is gone (or could not be made): links to its
    /// processes break with `noconnection`, monitors on them fire `DOWN noconnection`,
    /// and monitors its processes held on ours are forgotten (§5.2, §7.3).
    pub(crate) fn connection_lost(&self, peer: &Atom) {
        let mut work = VecDeque::new();
        let mut downs = Vec::new();
        self.inner.table.with(|t| {
            for e in t.procs.values_mut() {
                for (other, state) in e.links.iter() {
                    if other.node == *peer && *state == LinkState::Active {
                        work.push_back(Work::Exit {
                            target: key(&e.pid),
                            from: other.clone(),
                            reason: Term::atom("noconnection"),
                            link: true,
                        });
                    }
                }
                e.links
                    .retain(|other, state| !(other.node == *peer && *state != LinkState::Active));
                let gone: Vec<Reference> = e
                    .monitoring
                    .iter()
                    .filter(|(_, w)| w.target.node() == peer)
                    .map(|(r, _)| r.clone())
                    .collect();
                for r in gone {
                    downs.push((e.pid.clone(), r));
                }
                e.monitored_by.retain(|m| m.watcher.node != *peer);
            }
        });
        for (pid, r) in downs {
            self.local_down(&pid, &r, Term::atom("noconnection"));
        }
        self.run(work);
        self.spawn_connection_lost(peer);
    }
}

/// An exit reason handed to each of at most `left` receivers (the mailbox, then each
/// link and monitor): copies while more are to come, the term itself to the last. The
/// process serving an erpc call (its mailbox and its caller's monitor) copies its
/// reason, which carries the call's result, once instead of twice.
struct HandOut {
    reason: Option<Term>,
    left: usize,
}

impl HandOut {
    fn new(reason: Term, left: usize) -> HandOut {
        HandOut {
            reason: Some(reason),
            left,
        }
    }

    /// The reason for the next receiver. `left` counts every receiver that may ask,
    /// so the term is never gone before the last one asks; should that count ever be
    /// short, later receivers get `normal` rather than a panic.
    fn take(&mut self) -> Term {
        debug_assert!(self.reason.is_some(), "more receivers than counted");
        self.left = self.left.saturating_sub(1);
        let last = if self.left == 0 {
            self.reason.take()
        } else {
            self.reason.clone()
        };
        last.unwrap_or_else(|| Term::atom("normal"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn elements_at(t: &Term) -> Option<*const Term> {
        t.as_tuple().map(|t| t.as_ptr())
    }

    #[test]
    fn hand_out_copies_for_all_but_the_last_receiver() {
        let expected = Term::tuple(vec![Term::atom("res"), Term::atom("return"), Term::Int(3)]);
        let reason = expected.clone();
        let original = elements_at(&reason);
        let mut h = HandOut::new(reason, 3);
        let got: Vec<Term> = (0..3).map(|_| h.take()).collect();
        assert!(got.iter().all(|t| *t == expected));
        assert_ne!(elements_at(&got[0]), original);
        assert_ne!(elements_at(&got[1]), original);
        // The last receiver gets the term itself, not a copy.
        assert_eq!(elements_at(&got[2]), original);
        // A single receiver (an erpc call's process: its caller's monitor is the only
        // other one besides the mailbox, so two) gets it without a copy either.
        let reason = expected.clone();
        let original = elements_at(&reason);
        let mut h = HandOut::new(reason, 2);
        let _mailbox = h.take();
        assert_eq!(elements_at(&h.take()), original);
    }
}

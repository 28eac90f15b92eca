//! Delivery of control messages received from a peer (docs/protocol.md §5): the single
//! dispatch point. Messages for dead or unknown processes are dropped silently, as OTP
//! does (§4.5); signals follow the rules in `signals.rs`.

use super::delivery::Deliveries;
use super::Node;
use crate::proto::control::{altact, ControlMessage, ProcRef};
use crate::runtime::table::key;
use crate::runtime::table::Monitor;
use crate::term::{Atom, Pid, Term};
use tracing::debug;

impl Node {
    /// Handles one message from `peer` (its origin and destination already checked).
    /// `memo` is the connection's memory of mailboxes it delivered to (`delivery.rs`).
    pub(crate) fn dispatch(
        &self,
        memo: &mut Deliveries,
        peer: &Atom,
        control: ControlMessage,
        payload: Option<Term>,
    ) {
        use ControlMessage as C;
        let reason = |p: Option<Term>| p.unwrap_or_else(|| Term::atom("normal"));
        match control {
            C::Send { to, .. } | C::SendSender { to, .. } => {
                if let Some(msg) = payload {
                    self.deliver_to_pid(memo, &to, msg);
                }
            }
            C::RegSend { to_name, .. } => {
                if let Some(msg) = payload {
                    self.deliver_named_via(memo, &to_name, msg);
                }
            }
            C::AliasSend { alias, .. } => {
                if let Some(msg) = payload {
                    self.deliver_alias(&alias, msg);
                }
            }
            C::AltactSigSend {
                flags, from, to, ..
            } => self.altact_in(memo, peer, flags, &from, to, payload),
            C::Link { from, to } => self.link_in(&from, &to),
            C::Unlink { from, to } => self.unlink_in(&from, &to),
            C::UnlinkId { id, from, to } => self.unlink_id_in(id, &from, &to),
            C::UnlinkIdAck { id, from, to } => self.unlink_ack_in(id, &from, &to),
            C::Exit {
                from,
                to,
                reason: r,
                ..
            } => self.exit_signal_in(&from, &to, r, true),
            C::PayloadExit { from, to, .. } => {
                self.exit_signal_in(&from, &to, reason(payload), true)
            }
            C::Exit2 {
                from,
                to,
                reason: r,
                ..
            } => self.exit_signal_in(&from, &to, r, false),
            C::PayloadExit2 { from, to, .. } => {
                self.exit_signal_in(&from, &to, reason(payload), false)
            }
            C::MonitorP {
                from,
                to,
                reference,
            } => self.monitor_in(from, to, reference),
            C::DemonitorP {
                from,
                to,
                reference,
            } => {
                let target = match &to {
                    ProcRef::Pid(p) => Some(key(p)),
                    ProcRef::Name(n) => self.inner.table.with(|t| t.resolve(n)),
                };
                if let Some(id) = target {
                    self.inner.table.with(|t| {
                        if let Some(e) = t.procs.get_mut(&id) {
                            e.monitored_by
                                .retain(|m| !(m.reference == reference && m.watcher == from));
                        }
                    });
                }
            }
            C::MonitorPExit {
                to,
                reference,
                reason: r,
                ..
            } => self.monitor_exit_in(&to, &reference, r),
            C::PayloadMonitorPExit { to, reference, .. } => {
                self.monitor_exit_in(&to, &reference, reason(payload))
            }
            C::GroupLeader { leader, to } => self.set_group_leader(&to, leader),
            C::SpawnRequest {
                req_id,
                from,
                group_leader,
                module,
                function,
                opts,
                ..
            } => self.spawn_request_in(super::spawn::IncomingSpawn {
                req_id,
                from,
                group_leader,
                module,
                function,
                opts,
                args: payload,
            }),
            C::SpawnReply {
                req_id,
                to,
                flags,
                result,
                ..
            } => self.spawn_reply_in(&req_id, &to, flags, result),
            // Every op is handled today; kept so a new variant cannot break the build.
            #[allow(unreachable_patterns)]
            other => {
                debug!(%peer, op = other.op(), "control message not handled; ignored");
            }
        }
    }

    fn deliver_to_pid(&self, memo: &mut Deliveries, to: &Pid, msg: Term) -> bool {
        if self.inner.ids.is_local_pid(to) {
            self.deliver_local_via(memo, key(to), msg)
        } else {
            false
        }
    }

    /// MONITOR_P from a remote process on one of ours (by pid or name). Unknown
    /// targets are answered at once with a `DOWN` `noproc`.
    fn monitor_in(&self, from: Pid, to: ProcRef, reference: crate::term::Reference) {
        let (target, by_name) = match &to {
            ProcRef::Pid(p) if self.inner.ids.is_local_pid(p) => (Some(key(p)), None),
            ProcRef::Pid(_) => (None, None),
            ProcRef::Name(n) => (self.inner.table.with(|t| t.resolve(n)), Some(n.clone())),
        };
        let added = target.is_some_and(|id| {
            self.inner.table.with(|t| match t.procs.get_mut(&id) {
                Some(e) => {
                    e.monitored_by.push(Monitor {
                        reference: reference.clone(),
                        watcher: from.clone(),
                        by_name,
                    });
                    true
                }
                None => false,
            })
        });
        if !added {
            self.send_down(to, &from, reference, Term::atom("noproc"));
        }
    }

    /// ALTACT_SIG_SEND (OTP 28, §5.3): a message or an exit signal to a pid, a
    /// registered name or an alias.
    fn altact_in(
        &self,
        memo: &mut Deliveries,
        peer: &Atom,
        flags: u64,
        from: &Pid,
        to: Term,
        payload: Option<Term>,
    ) {
        let Some(payload) = payload else {
            return;
        };
        if flags & altact::EXIT != 0 {
            let target = match &to {
                Term::Pid(p) => Some(p.clone()),
                Term::Atom(a) => self.whereis(a),
                Term::Ref(r) => self.inner.table.with(|t| {
                    t.aliases
                        .get(r)
                        .and_then(|(id, _)| t.procs.get(id))
                        .map(|e| e.pid.clone())
                }),
                _ => None,
            };
            if let Some(t) = target {
                self.exit_signal_in(from, &t, payload, false);
            }
            return;
        }
        match to {
            Term::Pid(p) => {
                self.deliver_to_pid(memo, &p, payload);
            }
            Term::Atom(a) => {
                self.deliver_named_via(memo, &a, payload);
            }
            Term::Ref(r) => {
                self.deliver_alias(&r, payload);
            }
            _ => debug!(%peer, "ALTACT_SIG_SEND to an unexpected target dropped"),
        }
    }
}

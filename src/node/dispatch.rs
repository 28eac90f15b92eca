//! Delivery of control messages received from a peer (protocol-notes §5). One dispatch
//! point; each family is handled here against the process table.

use super::Node;
use crate::proto::control::{ControlMessage, ProcRef};
use crate::runtime::table::Monitor;
use crate::term::{Atom, Term};
use tracing::{debug, warn};

impl Node {
    /// Handles one message from `peer`. Messages for dead or unknown processes are
    /// dropped silently, as OTP does (§4.5).
    pub(crate) fn dispatch(&self, peer: &Atom, control: ControlMessage, payload: Option<Term>) {
        use ControlMessage as C;
        match control {
            C::Send { to, .. } | C::SendSender { to, .. } => {
                if let Some(msg) = payload {
                    self.deliver_to_pid(&to, msg);
                }
            }
            C::RegSend { to_name, .. } => {
                if let Some(msg) = payload {
                    self.deliver_named(&to_name, msg);
                }
            }
            C::AliasSend { .. } => {
                debug!(%peer, "alias message dropped: no local aliases yet");
            }
            C::AltactSigSend { flags, to, .. } => {
                // OTP 28 (§5.3): NAME (8) → registered name; ALIAS (4) → alias; EXIT (16)
                // → exit signal (not handled yet); otherwise a pid.
                if flags & 16 != 0 {
                    debug!(%peer, "ALTACT exit signal ignored");
                } else if let Some(msg) = payload {
                    match to {
                        Term::Pid(p) => {
                            self.deliver_to_pid(&p, msg);
                        }
                        Term::Atom(a) => {
                            self.deliver_named(&a, msg);
                        }
                        _ => debug!(%peer, "ALTACT alias message dropped: no local aliases yet"),
                    }
                }
            }
            C::MonitorP {
                from,
                to,
                reference,
            } => {
                let (target, by_name) = match &to {
                    ProcRef::Pid(p) if self.inner.ids.is_local_pid(p) => (Ok(p.id), None),
                    ProcRef::Pid(_) => {
                        // Old incarnation or not ours: the process does not exist.
                        self.send_down(to, &from, reference, Term::atom("noproc"));
                        return;
                    }
                    ProcRef::Name(n) => (Err(n), Some(n.clone())),
                };
                let monitor = Monitor {
                    reference: reference.clone(),
                    watcher: from.clone(),
                    by_name,
                };
                if self.inner.table.add_monitor(target, monitor).is_none() {
                    self.send_down(to, &from, reference, Term::atom("noproc"));
                }
            }
            C::DemonitorP {
                from,
                to,
                reference,
            } => {
                let target = match &to {
                    ProcRef::Pid(p) => Ok(p.id),
                    ProcRef::Name(n) => Err(n),
                };
                self.inner.table.remove_monitor(target, &from, &reference);
            }
            C::UnlinkId { id, from, to } => {
                // Links come with issue 4; the ack is owed regardless (§5.2).
                self.route(
                    peer,
                    C::UnlinkIdAck {
                        id,
                        from: to,
                        to: from,
                    },
                    None,
                );
            }
            C::Link { from, to } => {
                if !self.is_process_alive(&to) {
                    self.send_exit(&to, &from, Term::atom("noproc"));
                } else {
                    debug!(%peer, "link request not supported yet; ignored");
                }
            }
            C::SpawnRequest { .. } => {
                // Not advertised (no DFLAG_SPAWN): a peer that sends it anyway broke the
                // protocol.
                warn!(%peer, "SPAWN_REQUEST received although DFLAG_SPAWN was not offered");
            }
            other => {
                debug!(%peer, op = other.op(), "control message not handled yet; ignored");
            }
        }
    }

    fn deliver_to_pid(&self, to: &crate::term::Pid, msg: Term) -> bool {
        if self.inner.ids.is_local_pid(to) {
            self.deliver_local(to.id, msg)
        } else {
            false
        }
    }

    /// An exit signal from local `from` to remote `to` (PAYLOAD_EXIT when negotiated).
    pub(crate) fn send_exit(&self, from: &crate::term::Pid, to: &crate::term::Pid, reason: Term) {
        use crate::proto::DistFlags;
        let payload_form = self
            .inner
            .conns
            .up_info(&to.node)
            .map(|i| i.flags.contains(DistFlags::EXIT_PAYLOAD))
            .unwrap_or(true);
        let (control, payload) = if payload_form {
            (
                ControlMessage::PayloadExit {
                    from: from.clone(),
                    to: to.clone(),
                    token: None,
                },
                Some(reason),
            )
        } else {
            (
                ControlMessage::Exit {
                    from: from.clone(),
                    to: to.clone(),
                    reason,
                    token: None,
                },
                None,
            )
        };
        self.route(&to.node, control, payload);
    }
}

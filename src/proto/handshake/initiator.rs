//! The dialling side (A) of the handshake (docs/protocol.md §2.2, §2.4, §2.5 last
//! paragraph).

use super::digest::{digests_equal, gen_digest, Cookie};
use super::messages::{
    take_frame, Challenge, ChallengeAck, ChallengeReply, OldChallenge, SendName, Status,
    StatusMessage, TAG_V5,
};
use super::{Established, HandshakeError, Step};
use crate::proto::DistFlags;

/// Our name as announced in send_name.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum LocalName {
    /// A full `Name@Host` node name.
    Static(String),
    /// Ask the peer to assign us a name (DFLAG_NAME_ME, OTP 23+): only our host is sent,
    /// and the peer answers `named:` with a full name and a creation (§2.6).
    NameMe {
        /// Our host, without `@`.
        host: String,
    },
}

/// Everything the initiator needs; all randomness is injected.
#[derive(Debug, Clone)]
pub struct InitiatorConfig {
    /// Our node name (or a NAME_ME request).
    pub our_name: LocalName,
    /// Our creation (ignored and sent as 0 with NAME_ME).
    pub our_creation: u32,
    /// The flags we offer. With NAME_ME, NAME_ME is added and PUBLISHED removed (§3.4).
    pub our_flags: DistFlags,
    /// Our cookie for this peer.
    pub cookie: Cookie,
    /// The challenge we send in our reply; take it from a real RNG.
    pub our_challenge: u32,
    /// The node name we dialled; the peer's challenge must carry exactly this name.
    pub peer_name: String,
    /// Our answer if the peer says `alive` (it already has a connection to us): `true`
    /// only if we really are re-establishing a connection we consider pending.
    pub reconnecting: bool,
}

/// What comes after an initiator step.
#[derive(Debug)]
pub enum InitiatorNext {
    /// Waiting for more bytes: read, then call [`Initiator::handle`] again.
    Continue(Initiator),
    /// The handshake is done; switch to 4-byte framing.
    Established(Established),
    /// The peer answered `nok`: it is dialling us at the same time and its attempt
    /// wins (§2.6). Not an error; close this socket quietly.
    Nok,
    /// The peer answered `alive` and we were not reconnecting: we answered `false`
    /// (in `send`); close after writing it.
    AliveDeclined,
}

#[derive(Debug)]
enum Phase {
    Status,
    Challenge,
    Ack {
        peer_flags: DistFlags,
        peer_creation: u32,
    },
}

/// The initiator state machine. Create with [`Initiator::start`].
#[derive(Debug)]
pub struct Initiator {
    cfg: InitiatorConfig,
    our_name: Option<String>,
    our_creation: u32,
    /// The flags actually sent (NAME_ME adjusts them); the negotiation uses these.
    sent_flags: DistFlags,
    phase: Phase,
    buf: Vec<u8>,
}

fn check_full_name(name: &str) -> Result<(), HandshakeError> {
    match name.split_once('@') {
        Some((n, h)) if !n.is_empty() && !h.is_empty() => Ok(()),
        _ => Err(HandshakeError::InvalidNodeName {
            name: name.to_string(),
            reason: "expected Name@Host with both parts non-empty",
        }),
    }
}

impl Initiator {
    /// Validates the config and returns the state waiting for the status, together
    /// with the framed `'N'` send_name to write first. We always send `'N'`: OTP
    /// 25.0–25.2 refuse `'n'` (§2.4, §15 trap 1).
    pub fn start(cfg: InitiatorConfig) -> Result<(Initiator, Vec<u8>), HandshakeError> {
        let (flags, creation, name, our_name) = match &cfg.our_name {
            LocalName::Static(name) => {
                check_full_name(name)?;
                (
                    cfg.our_flags,
                    cfg.our_creation,
                    name.clone(),
                    Some(name.clone()),
                )
            }
            LocalName::NameMe { host } => {
                if host.is_empty() || host.contains('@') {
                    return Err(HandshakeError::InvalidNodeName {
                        name: host.clone(),
                        reason: "a NAME_ME request carries a bare non-empty host",
                    });
                }
                let flags = DistFlags(
                    (cfg.our_flags | DistFlags::NAME_ME).bits() & !DistFlags::PUBLISHED.bits(),
                );
                (flags, 0, host.clone(), None)
            }
        };
        let mut out = Vec::new();
        SendName {
            flags,
            creation,
            name,
        }
        .encode(&mut out)?;
        tracing::debug!(peer = %cfg.peer_name, flags = ?flags, "handshake: sent send_name");
        let our_creation = cfg.our_creation;
        Ok((
            Initiator {
                cfg,
                our_name,
                our_creation,
                sent_flags: flags,
                phase: Phase::Status,
                buf: Vec::new(),
            },
            out,
        ))
    }

    /// Feeds bytes read from the socket (any split; may be empty) and runs as far as
    /// they allow.
    pub fn handle(mut self, input: &[u8]) -> Result<Step<InitiatorNext>, HandshakeError> {
        self.buf.extend_from_slice(input);
        let mut send = Vec::new();
        let next = self.drive(&mut send)?;
        Ok(Step { send, next })
    }

    /// The node name we dialled.
    pub fn peer_name(&self) -> &str {
        &self.cfg.peer_name
    }

    fn drive(mut self, send: &mut Vec<u8>) -> Result<InitiatorNext, HandshakeError> {
        loop {
            let Some((_, used)) = take_frame(&self.buf) else {
                return Ok(InitiatorNext::Continue(self));
            };
            let frame: Vec<u8> = self.buf.drain(..used).collect();
            let body = &frame[2..];
            match self.phase {
                Phase::Status => {
                    if let Some(done) = self.on_status(body, send)? {
                        return Ok(done);
                    }
                }
                Phase::Challenge => self.on_challenge(body, send)?,
                Phase::Ack {
                    peer_flags,
                    peer_creation,
                } => {
                    let ack = ChallengeAck::decode(body)?;
                    let expected = gen_digest(self.cfg.our_challenge, &self.cfg.cookie);
                    if !digests_equal(&ack.digest, &expected) {
                        return Err(HandshakeError::InvalidChallengeAck {
                            peer: self.cfg.peer_name,
                        });
                    }
                    let our_name = self.our_name.unwrap_or_default();
                    let negotiated = self.sent_flags.expand_digest() & peer_flags;
                    tracing::debug!(peer = %self.cfg.peer_name, negotiated = ?negotiated,
                        "handshake: established (initiator)");
                    return Ok(InitiatorNext::Established(Established {
                        peer_name: self.cfg.peer_name,
                        peer_creation,
                        peer_flags,
                        negotiated,
                        our_name,
                        our_creation: self.our_creation,
                        leftover: self.buf,
                        replaces_existing: false,
                    }));
                }
            }
        }
    }

    /// Returns `Some` when the handshake ends here.
    fn on_status(
        &mut self,
        body: &[u8],
        send: &mut Vec<u8>,
    ) -> Result<Option<InitiatorNext>, HandshakeError> {
        let name_me = matches!(self.cfg.our_name, LocalName::NameMe { .. });
        match StatusMessage::decode(body)? {
            StatusMessage::Status(Status::Ok | Status::OkSimultaneous) if !name_me => {
                self.phase = Phase::Challenge;
                Ok(None)
            }
            StatusMessage::Named { name, creation } if name_me => {
                check_full_name(&name)?;
                tracing::debug!(name = %name, creation, "handshake: peer assigned our name");
                self.our_name = Some(name);
                self.our_creation = creation;
                self.phase = Phase::Challenge;
                Ok(None)
            }
            StatusMessage::Status(Status::Nok) => {
                tracing::debug!(peer = %self.cfg.peer_name, "handshake: nok, peer's attempt wins");
                Ok(Some(InitiatorNext::Nok))
            }
            StatusMessage::Status(Status::NotAllowed) => Err(HandshakeError::NotAllowed {
                peer: self.cfg.peer_name.clone(),
            }),
            StatusMessage::Status(Status::Alive) => {
                StatusMessage::AliveReply(self.cfg.reconnecting).encode(send)?;
                if self.cfg.reconnecting {
                    self.phase = Phase::Challenge;
                    Ok(None)
                } else {
                    Ok(Some(InitiatorNext::AliveDeclined))
                }
            }
            other => Err(HandshakeError::UnexpectedStatus(format!("{other:?}"))),
        }
    }

    fn on_challenge(&mut self, body: &[u8], send: &mut Vec<u8>) -> Result<(), HandshakeError> {
        if body.first() == Some(&TAG_V5) {
            // Only OTP <= 22 sends the old challenge; it cannot have the 26+ flags.
            let old = OldChallenge::decode(body)?;
            let flags = DistFlags(u64::from(old.flags)).expand_digest();
            return Err(HandshakeError::MissingFlags {
                peer: old.name,
                missing: flags.missing(DistFlags::REQUIRED),
            });
        }
        let ch = Challenge::decode(body)?;
        if ch.name != self.cfg.peer_name {
            return Err(HandshakeError::NameMismatch {
                dialled: self.cfg.peer_name.clone(),
                got: ch.name,
            });
        }
        let peer_flags = ch.flags.expand_digest();
        let missing = peer_flags.missing(DistFlags::REQUIRED);
        if missing != DistFlags::empty() {
            return Err(HandshakeError::MissingFlags {
                peer: ch.name,
                missing,
            });
        }
        ChallengeReply {
            challenge: self.cfg.our_challenge,
            digest: gen_digest(ch.challenge, &self.cfg.cookie),
        }
        .encode(send)?;
        self.phase = Phase::Ack {
            peer_flags,
            peer_creation: ch.creation,
        };
        Ok(())
    }
}

//! The listening side (B) of the handshake (docs/protocol.md §2.2, §2.4, §2.5, §2.6).

use super::digest::{digests_equal, gen_digest, Cookie};
use super::messages::{
    take_frame, Challenge, ChallengeAck, ChallengeReply, Complement, NameMessage, Status,
    StatusMessage,
};
use super::{Established, HandshakeError, Step};
use crate::proto::DistFlags;

/// Everything the acceptor needs; all randomness is injected.
#[derive(Debug, Clone)]
pub struct AcceptorConfig {
    /// Our full node name, sent in the challenge. It must be exactly the name the peer
    /// dialled, or the peer aborts (§2.5).
    pub our_name: String,
    /// Our creation.
    pub our_creation: u32,
    /// The flags we offer, sent verbatim in the challenge.
    pub our_flags: DistFlags,
    /// Our cookie (can be replaced per peer at the status decision).
    pub cookie: Cookie,
    /// The challenge we send; take it from a real RNG.
    pub our_challenge: u32,
    /// Randomness for a dynamic name: a NAME_ME peer on host H is named
    /// `<this in base 36>@H` (§2.6).
    pub name_me_random: u64,
    /// The creation we assign to a NAME_ME peer.
    pub name_me_creation: u32,
}

/// How an acceptor handshake ended without a connection, when that is not an error.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AcceptorClosed {
    /// We sent `nok`: our own attempt toward this peer wins (§2.6).
    Nok,
    /// We sent `not_allowed` because the driver decided so.
    NotAllowed,
    /// We sent `alive` and the peer answered `false`: keep the existing connection.
    PeerDeclinedAlive,
}

/// What comes after an acceptor step. In every case, first write `Step::send`.
#[derive(Debug)]
pub enum AcceptorNext {
    /// Waiting for more bytes: read, then call [`Acceptor::handle`] again.
    Continue(Acceptor),
    /// The peer's name arrived and passed the checks; the driver must decide the status
    /// (see [`super::accept_status`]) and call [`AcceptorAwaitingStatus::status`].
    NeedStatus(AcceptorAwaitingStatus),
    /// The handshake is done; switch to 4-byte framing.
    Established(Established),
    /// The handshake ended normally without a connection; close after writing `send`.
    Closed(AcceptorClosed),
    /// We refused the peer (`send` holds status `not_allowed`); close after writing it
    /// and report the error (e.g. [`HandshakeError::MissingFlags`]).
    Refused(HandshakeError),
}

#[derive(Debug, Clone)]
struct Peer {
    /// Full name (assigned one for NAME_ME).
    name: String,
    /// Expanded flags; only the low word until the complement arrives for `'n'`.
    flags: DistFlags,
    /// `None` until the complement arrives for `'n'`.
    creation: Option<u32>,
    /// The peer sent the old `'n'` name and owes us a complement.
    old_name: bool,
    /// The peer asked for a dynamic name; holds its host.
    name_me_host: Option<String>,
}

#[derive(Debug)]
enum Phase {
    Name,
    AliveReply,
    Complement,
    Reply,
}

/// The acceptor state machine. Create with [`Acceptor::new`] when a socket is accepted.
#[derive(Debug)]
pub struct Acceptor {
    cfg: AcceptorConfig,
    phase: Phase,
    buf: Vec<u8>,
    peer: Option<Peer>,
    replaces_existing: bool,
}

/// The decision point after the peer's name: the driver knows whether a connection or
/// a pending attempt to this node exists; it calls [`status`](Self::status).
#[derive(Debug)]
pub struct AcceptorAwaitingStatus {
    inner: Acceptor,
    peer: Peer,
}

/// Longest node name accepted: the atom length limit.
pub const MAX_NODE_NAME_CHARS: usize = 255;

impl Acceptor {
    /// Validates our own name and returns the state waiting for the peer's name.
    pub fn new(cfg: AcceptorConfig) -> Result<Acceptor, HandshakeError> {
        match cfg.our_name.split_once('@') {
            Some((n, h)) if !n.is_empty() && !h.is_empty() => {}
            _ => {
                return Err(HandshakeError::InvalidNodeName {
                    name: cfg.our_name.clone(),
                    reason: "expected Name@Host with both parts non-empty",
                })
            }
        }
        Ok(Acceptor {
            cfg,
            phase: Phase::Name,
            buf: Vec::new(),
            peer: None,
            replaces_existing: false,
        })
    }

    /// Feeds bytes read from the socket (any split; may be empty) and runs as far as
    /// they allow.
    pub fn handle(mut self, input: &[u8]) -> Result<Step<AcceptorNext>, HandshakeError> {
        self.buf.extend_from_slice(input);
        let mut send = Vec::new();
        let next = self.drive(&mut send)?;
        Ok(Step { send, next })
    }

    fn drive(mut self, send: &mut Vec<u8>) -> Result<AcceptorNext, HandshakeError> {
        loop {
            let Some((_, used)) = take_frame(&self.buf) else {
                return Ok(AcceptorNext::Continue(self));
            };
            let frame: Vec<u8> = self.buf.drain(..used).collect();
            let body = &frame[2..];
            match self.phase {
                Phase::Name => return self.on_name(body, send),
                Phase::AliveReply => match StatusMessage::decode(body)? {
                    StatusMessage::AliveReply(true) => {
                        self.replaces_existing = true;
                        self.send_challenge(send)?;
                    }
                    StatusMessage::AliveReply(false) => {
                        return Ok(AcceptorNext::Closed(AcceptorClosed::PeerDeclinedAlive))
                    }
                    other => return Err(HandshakeError::UnexpectedStatus(format!("{other:?}"))),
                },
                Phase::Complement => {
                    let c = Complement::decode(body)?;
                    let peer = self.peer_mut()?;
                    let flags = DistFlags(peer.flags.bits() | (u64::from(c.flags_high) << 32))
                        .expand_digest();
                    peer.flags = flags;
                    peer.creation = Some(c.creation);
                    let missing = flags.missing(DistFlags::REQUIRED);
                    if missing != DistFlags::empty() {
                        // The status is already sent; all we can do is close (§2.4).
                        return Err(HandshakeError::MissingFlags {
                            peer: peer.name.clone(),
                            missing,
                        });
                    }
                    self.phase = Phase::Reply;
                }
                Phase::Reply => return self.on_reply(body, send),
            }
        }
    }

    fn peer_mut(&mut self) -> Result<&mut Peer, HandshakeError> {
        // Always set once past AwaitName; an error rather than a panic all the same.
        self.peer.as_mut().ok_or(HandshakeError::Malformed {
            message: "handshake",
            reason: "no peer recorded",
        })
    }

    fn on_name(mut self, body: &[u8], send: &mut Vec<u8>) -> Result<AcceptorNext, HandshakeError> {
        let (flags, creation, name, old_name) = match NameMessage::decode(body)? {
            NameMessage::V6(n) => (n.flags, Some(n.creation), n.name, false),
            NameMessage::V5(n) => (DistFlags(u64::from(n.flags)), None, n.name, true),
        };
        let name_me = !old_name && flags.contains(DistFlags::NAME_ME);
        let (full_name, name_me_host) = if name_me {
            if name.is_empty() || name.contains('@') {
                return Err(HandshakeError::InvalidNodeName {
                    name,
                    reason: "a NAME_ME request must carry a bare non-empty host",
                });
            }
            let assigned = format!("{}@{}", base36(self.cfg.name_me_random), name);
            (assigned, Some(name))
        } else {
            // OTP's `is_node_name`: `string:split(Name, "@", all)` must give exactly
            // two non-empty parts, so a second '@' is refused too.
            match name.split_once('@') {
                Some((n, h)) if !n.is_empty() && !h.is_empty() && !h.contains('@') => {}
                _ => {
                    return Err(HandshakeError::InvalidNodeName {
                        name,
                        reason: "expected Name@Host with both parts non-empty and one '@'",
                    })
                }
            }
            (name, None)
        };
        // The name becomes an atom on every node of the cluster: OTP cannot make one
        // longer than 255 characters and closes the connection (§2.2), so do we —
        // before answering with a challenge.
        if full_name.chars().count() > MAX_NODE_NAME_CHARS {
            return Err(HandshakeError::InvalidNodeName {
                name: full_name.chars().take(64).collect::<String>() + "...",
                reason: "longer than an atom can be (255 characters)",
            });
        }
        let flags = flags.expand_digest();
        // With the old 'n' name only the low word is known yet; the rest is checked
        // when the complement arrives (§2.4).
        let required = if old_name {
            DistFlags::REQUIRED.low_word()
        } else {
            DistFlags::REQUIRED
        };
        let missing = flags.missing(required);
        if missing != DistFlags::empty() {
            StatusMessage::Status(Status::NotAllowed).encode(send)?;
            return Ok(AcceptorNext::Refused(HandshakeError::MissingFlags {
                peer: full_name,
                missing,
            }));
        }
        let creation = if name_me_host.is_some() {
            Some(self.cfg.name_me_creation)
        } else {
            creation
        };
        tracing::debug!(peer = %full_name, flags = ?flags, old_name, "handshake: name received");
        let peer = Peer {
            name: full_name,
            flags,
            creation,
            old_name,
            name_me_host,
        };
        self.peer = Some(peer.clone());
        Ok(AcceptorNext::NeedStatus(AcceptorAwaitingStatus {
            inner: self,
            peer,
        }))
    }

    fn send_challenge(&mut self, send: &mut Vec<u8>) -> Result<(), HandshakeError> {
        Challenge {
            flags: self.cfg.our_flags,
            challenge: self.cfg.our_challenge,
            creation: self.cfg.our_creation,
            name: self.cfg.our_name.clone(),
        }
        .encode(send)?;
        let old_name = self.peer_mut()?.old_name;
        self.phase = if old_name {
            Phase::Complement
        } else {
            Phase::Reply
        };
        Ok(())
    }

    fn on_reply(mut self, body: &[u8], send: &mut Vec<u8>) -> Result<AcceptorNext, HandshakeError> {
        let reply = ChallengeReply::decode(body)?;
        let peer = self.peer_mut()?.clone();
        let expected = gen_digest(self.cfg.our_challenge, &self.cfg.cookie);
        if !digests_equal(&reply.digest, &expected) {
            return Err(HandshakeError::InvalidChallengeReply { peer: peer.name });
        }
        ChallengeAck {
            digest: gen_digest(reply.challenge, &self.cfg.cookie),
        }
        .encode(send)?;
        let negotiated = self.cfg.our_flags.expand_digest() & peer.flags;
        tracing::debug!(peer = %peer.name, negotiated = ?negotiated, "handshake: established (acceptor)");
        Ok(AcceptorNext::Established(Established {
            peer_name: peer.name,
            peer_creation: peer.creation.unwrap_or(0),
            peer_flags: peer.flags,
            negotiated,
            our_name: self.cfg.our_name,
            our_creation: self.cfg.our_creation,
            leftover: self.buf,
            replaces_existing: self.replaces_existing,
        }))
    }
}

impl AcceptorAwaitingStatus {
    /// The peer's full node name (for a NAME_ME peer: the name we will assign).
    pub fn peer_name(&self) -> &str {
        &self.peer.name
    }
    /// The peer's flags, digest expanded; only the low 32 bits for an old `'n'` peer.
    pub fn peer_flags(&self) -> DistFlags {
        self.peer.flags
    }
    /// The peer's creation; `None` for an old `'n'` peer until its complement arrives.
    pub fn peer_creation(&self) -> Option<u32> {
        self.peer.creation
    }
    /// `Some(host)` if the peer asked for a dynamic name.
    pub fn name_me_host(&self) -> Option<&str> {
        self.peer.name_me_host.as_deref()
    }
    /// The peer sent the old `'n'` name (an OTP 23/24 node dialling without EPMD).
    pub fn is_old_name(&self) -> bool {
        self.peer.old_name
    }
    /// Use another cookie for this peer (per-node cookies, `erlang:set_cookie/2`).
    pub fn set_cookie(&mut self, cookie: Cookie) {
        self.inner.cfg.cookie = cookie;
    }

    /// Sends the chosen status and continues. `Ok` and `OkSimultaneous` become `named:`
    /// for a NAME_ME peer and are followed by our `'N'` challenge; `Alive` waits for the
    /// peer's `true`/`false`; `Nok` and `NotAllowed` end the handshake. With
    /// `OkSimultaneous` the driver must abandon its own pending attempt to this node.
    pub fn status(self, status: Status) -> Result<Step<AcceptorNext>, HandshakeError> {
        let mut inner = self.inner;
        let mut send = Vec::new();
        let msg = match (&self.peer.name_me_host, status) {
            (Some(_), Status::Ok | Status::OkSimultaneous) => StatusMessage::Named {
                name: self.peer.name.clone(),
                creation: inner.cfg.name_me_creation,
            },
            (_, s) => StatusMessage::Status(s),
        };
        msg.encode(&mut send)?;
        tracing::debug!(peer = %self.peer.name, status = status.as_str(), "handshake: status sent");
        let next = match status {
            Status::Ok | Status::OkSimultaneous => {
                inner.send_challenge(&mut send)?;
                inner.drive(&mut send)?
            }
            Status::Alive => {
                inner.phase = Phase::AliveReply;
                inner.drive(&mut send)?
            }
            Status::Nok => AcceptorNext::Closed(AcceptorClosed::Nok),
            Status::NotAllowed => AcceptorNext::Closed(AcceptorClosed::NotAllowed),
        };
        Ok(Step { send, next })
    }
}

/// Lower-case base 36, as OTP's dynamic names use.
fn base36(mut n: u64) -> String {
    const DIGITS: &[u8; 36] = b"0123456789abcdefghijklmnopqrstuvwxyz";
    let mut out = Vec::new();
    loop {
        out.push(DIGITS[(n % 36) as usize]);
        n /= 36;
        if n == 0 {
            break;
        }
    }
    out.reverse();
    out.into_iter().map(char::from).collect()
}

#[cfg(test)]
mod tests {
    #[test]
    fn base36_digits() {
        assert_eq!(super::base36(0), "0");
        assert_eq!(super::base36(35), "z");
        assert_eq!(super::base36(36), "10");
    }
}

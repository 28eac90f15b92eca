//! Handshake message layouts (docs/protocol.md §2.2) and their 2-byte framing (§2.1).
//!
//! Decoding is two-pass: [`take_frame`] answers "is a whole message here?" without
//! looking inside, then the `decode` of the expected message parses the body (the bytes
//! after the length, starting with the tag). Nothing is allocated from a length field
//! before the bytes it announces have arrived.
//!
//! Node names in `'N'`/`'n'` messages are turned into atoms by OTP one byte per
//! character (§2.5), so they are Latin-1 here too; the name in a `named:` status is
//! UTF-8.

use super::HandshakeError;
use crate::proto::DistFlags;

/// Tag of the v6 name and challenge messages.
pub const TAG_V6: u8 = b'N';
/// Tag of the old v5 name and challenge messages.
pub const TAG_V5: u8 = b'n';
/// Tag of status messages.
pub const TAG_STATUS: u8 = b's';
/// Tag of the complement message.
pub const TAG_COMPLEMENT: u8 = b'c';
/// Tag of the challenge reply.
pub const TAG_REPLY: u8 = b'r';
/// Tag of the challenge ack.
pub const TAG_ACK: u8 = b'a';

/// If `buf` starts with a whole `Len:16 | Body` message, returns the body and the
/// number of bytes it occupies (2 + Len). `None` means "wait for more bytes".
pub fn take_frame(buf: &[u8]) -> Option<(&[u8], usize)> {
    let len = match buf {
        [hi, lo, ..] => usize::from(u16::from_be_bytes([*hi, *lo])),
        _ => return None,
    };
    let end = 2 + len;
    buf.get(2..end).map(|body| (body, end))
}

/// Appends `Len:16 | body` to `out`.
fn push_frame(out: &mut Vec<u8>, body: &[u8]) -> Result<(), HandshakeError> {
    let len = u16::try_from(body.len()).map_err(|_| HandshakeError::NameTooLong(body.len()))?;
    out.extend_from_slice(&len.to_be_bytes());
    out.extend_from_slice(body);
    Ok(())
}

/// Bounds-checked big-endian reader over one message body.
struct Reader<'a> {
    bytes: &'a [u8],
    message: &'static str,
}

impl<'a> Reader<'a> {
    /// Checks the tag and positions after it.
    fn new(body: &'a [u8], tag: u8, message: &'static str) -> Result<Self, HandshakeError> {
        match body.split_first() {
            None => Err(HandshakeError::EmptyMessage),
            Some((&t, rest)) if t == tag => Ok(Reader {
                bytes: rest,
                message,
            }),
            Some((&t, _)) => Err(HandshakeError::UnexpectedMessage {
                expected: message,
                tag: t,
            }),
        }
    }
    fn take(&mut self, n: usize) -> Result<&'a [u8], HandshakeError> {
        if self.bytes.len() < n {
            return Err(HandshakeError::Malformed {
                message: self.message,
                reason: "truncated",
            });
        }
        let (head, rest) = self.bytes.split_at(n);
        self.bytes = rest;
        Ok(head)
    }
    fn array<const N: usize>(&mut self) -> Result<[u8; N], HandshakeError> {
        let mut a = [0u8; N];
        a.copy_from_slice(self.take(N)?);
        Ok(a)
    }
    fn u16(&mut self) -> Result<u16, HandshakeError> {
        Ok(u16::from_be_bytes(self.array()?))
    }
    fn u32(&mut self) -> Result<u32, HandshakeError> {
        Ok(u32::from_be_bytes(self.array()?))
    }
    fn u64(&mut self) -> Result<u64, HandshakeError> {
        Ok(u64::from_be_bytes(self.array()?))
    }
    /// `Nlen:16, Name:Nlen`, ignoring anything after it (§2.1).
    fn sized_name(&mut self) -> Result<&'a [u8], HandshakeError> {
        let n = usize::from(self.u16()?);
        self.take(n)
    }
    fn rest(&mut self) -> &'a [u8] {
        std::mem::take(&mut self.bytes)
    }
    /// For fixed-size messages: nothing may follow.
    fn finish(&self) -> Result<(), HandshakeError> {
        if self.bytes.is_empty() {
            Ok(())
        } else {
            Err(HandshakeError::Malformed {
                message: self.message,
                reason: "wrong length",
            })
        }
    }
}

/// Name bytes as OTP reads them: one byte per character.
pub fn latin1_to_string(bytes: &[u8]) -> String {
    bytes.iter().map(|&b| char::from(b)).collect()
}

/// A node name as the bytes OTP expects; characters above U+00FF cannot be sent.
pub fn string_to_latin1(name: &str) -> Result<Vec<u8>, HandshakeError> {
    name.chars()
        .map(|c| {
            u8::try_from(u32::from(c)).map_err(|_| HandshakeError::InvalidNodeName {
                name: name.to_string(),
                reason: "characters above U+00FF cannot be sent in a handshake",
            })
        })
        .collect()
}

fn push_sized_name(body: &mut Vec<u8>, name: &[u8]) -> Result<(), HandshakeError> {
    let n = u16::try_from(name.len()).map_err(|_| HandshakeError::NameTooLong(name.len()))?;
    body.extend_from_slice(&n.to_be_bytes());
    body.extend_from_slice(name);
    Ok(())
}

/// v6 send_name `'N', Flags:64, Creation:32, Nlen:16, Name` (A→B). With NAME_ME the
/// name is a bare host and the creation 0.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SendName {
    pub flags: DistFlags,
    pub creation: u32,
    pub name: String,
}

impl SendName {
    pub fn encode(&self, out: &mut Vec<u8>) -> Result<(), HandshakeError> {
        let mut body = vec![TAG_V6];
        body.extend_from_slice(&self.flags.bits().to_be_bytes());
        body.extend_from_slice(&self.creation.to_be_bytes());
        push_sized_name(&mut body, &string_to_latin1(&self.name)?)?;
        push_frame(out, &body)
    }
    pub fn decode(body: &[u8]) -> Result<Self, HandshakeError> {
        let mut r = Reader::new(body, TAG_V6, "send_name")?;
        let flags = DistFlags(r.u64()?);
        let creation = r.u32()?;
        let name = latin1_to_string(r.sized_name()?);
        Ok(SendName {
            flags,
            creation,
            name,
        })
    }
}

/// Old v5 send_name `'n', Version:16, Flags:32, Name` (name = rest of the message),
/// sent by OTP 23/24 when dialling without EPMD (§2.4).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OldSendName {
    pub version: u16,
    pub flags: u32,
    pub name: String,
}

impl OldSendName {
    pub fn encode(&self, out: &mut Vec<u8>) -> Result<(), HandshakeError> {
        let mut body = vec![TAG_V5];
        body.extend_from_slice(&self.version.to_be_bytes());
        body.extend_from_slice(&self.flags.to_be_bytes());
        body.extend_from_slice(&string_to_latin1(&self.name)?);
        push_frame(out, &body)
    }
    pub fn decode(body: &[u8]) -> Result<Self, HandshakeError> {
        let mut r = Reader::new(body, TAG_V5, "old send_name")?;
        let version = r.u16()?;
        let flags = r.u32()?;
        let name = latin1_to_string(r.rest());
        Ok(OldSendName {
            version,
            flags,
            name,
        })
    }
}

/// Either form of the name message, as the acceptor receives it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum NameMessage {
    V6(SendName),
    V5(OldSendName),
}

impl NameMessage {
    pub fn decode(body: &[u8]) -> Result<Self, HandshakeError> {
        match body.first() {
            Some(&TAG_V5) => OldSendName::decode(body).map(NameMessage::V5),
            Some(&TAG_V6) | None => SendName::decode(body).map(NameMessage::V6),
            Some(&tag) => Err(HandshakeError::UnexpectedMessage {
                expected: "send_name",
                tag,
            }),
        }
    }
}

/// The decision net_kernel makes when a name arrives (§2.6); see also
/// [`super::accept_status`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Status {
    /// Continue (becomes `named:` automatically for a NAME_ME peer).
    Ok,
    /// Continue; we abandon our own pending attempt toward this peer.
    OkSimultaneous,
    /// Our own pending attempt toward this peer wins; the peer stops.
    Nok,
    /// The peer is refused.
    NotAllowed,
    /// We already have a connection up to this peer; ask if it is reconnecting.
    Alive,
}

impl Status {
    /// The status text on the wire.
    pub fn as_str(self) -> &'static str {
        match self {
            Status::Ok => "ok",
            Status::OkSimultaneous => "ok_simultaneous",
            Status::Nok => "nok",
            Status::NotAllowed => "not_allowed",
            Status::Alive => "alive",
        }
    }
}

const NAMED_PREFIX: &[u8] = b"named:";

/// Every `'s'` message of §2.2.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum StatusMessage {
    /// B→A: one of the plain status texts.
    Status(Status),
    /// B→A: `named:` with the full node name and creation B assigned to a NAME_ME peer.
    Named { name: String, creation: u32 },
    /// A→B after `alive`: `true` if A really is reconnecting, else `false`.
    AliveReply(bool),
}

impl StatusMessage {
    pub fn encode(&self, out: &mut Vec<u8>) -> Result<(), HandshakeError> {
        let mut body = vec![TAG_STATUS];
        match self {
            StatusMessage::Status(s) => body.extend_from_slice(s.as_str().as_bytes()),
            StatusMessage::AliveReply(true) => body.extend_from_slice(b"true"),
            StatusMessage::AliveReply(false) => body.extend_from_slice(b"false"),
            StatusMessage::Named { name, creation } => {
                body.extend_from_slice(NAMED_PREFIX);
                push_sized_name(&mut body, name.as_bytes())?;
                body.extend_from_slice(&creation.to_be_bytes());
            }
        }
        push_frame(out, &body)
    }
    pub fn decode(body: &[u8]) -> Result<Self, HandshakeError> {
        let mut r = Reader::new(body, TAG_STATUS, "status")?;
        let text = r.rest();
        if let Some(rest) = text.strip_prefix(NAMED_PREFIX) {
            let mut r = Reader {
                bytes: rest,
                message: "named: status",
            };
            let name = std::str::from_utf8(r.sized_name()?)
                .map_err(|_| HandshakeError::Malformed {
                    message: "named: status",
                    reason: "name is not UTF-8",
                })?
                .to_string();
            let creation = r.u32()?;
            return Ok(StatusMessage::Named { name, creation });
        }
        Ok(match text {
            b"ok" => StatusMessage::Status(Status::Ok),
            b"ok_simultaneous" => StatusMessage::Status(Status::OkSimultaneous),
            b"nok" => StatusMessage::Status(Status::Nok),
            b"not_allowed" => StatusMessage::Status(Status::NotAllowed),
            b"alive" => StatusMessage::Status(Status::Alive),
            b"true" => StatusMessage::AliveReply(true),
            b"false" => StatusMessage::AliveReply(false),
            other => {
                return Err(HandshakeError::UnknownStatus(
                    String::from_utf8_lossy(other).into_owned(),
                ))
            }
        })
    }
}

/// v6 challenge `'N', Flags:64, Challenge:32, Creation:32, Nlen:16, Name` (B→A).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Challenge {
    pub flags: DistFlags,
    pub challenge: u32,
    pub creation: u32,
    pub name: String,
}

impl Challenge {
    pub fn encode(&self, out: &mut Vec<u8>) -> Result<(), HandshakeError> {
        let mut body = vec![TAG_V6];
        body.extend_from_slice(&self.flags.bits().to_be_bytes());
        body.extend_from_slice(&self.challenge.to_be_bytes());
        body.extend_from_slice(&self.creation.to_be_bytes());
        push_sized_name(&mut body, &string_to_latin1(&self.name)?)?;
        push_frame(out, &body)
    }
    pub fn decode(body: &[u8]) -> Result<Self, HandshakeError> {
        let mut r = Reader::new(body, TAG_V6, "challenge")?;
        let flags = DistFlags(r.u64()?);
        let challenge = r.u32()?;
        let creation = r.u32()?;
        let name = latin1_to_string(r.sized_name()?);
        Ok(Challenge {
            flags,
            challenge,
            creation,
            name,
        })
    }
}

/// Old v5 challenge `'n', Version:16, Flags:32, Challenge:32, Name` (OTP ≤ 22 only;
/// beamnode never sends it, and refuses it as a sign of a too-old peer).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OldChallenge {
    pub version: u16,
    pub flags: u32,
    pub challenge: u32,
    pub name: String,
}

impl OldChallenge {
    pub fn encode(&self, out: &mut Vec<u8>) -> Result<(), HandshakeError> {
        let mut body = vec![TAG_V5];
        body.extend_from_slice(&self.version.to_be_bytes());
        body.extend_from_slice(&self.flags.to_be_bytes());
        body.extend_from_slice(&self.challenge.to_be_bytes());
        body.extend_from_slice(&string_to_latin1(&self.name)?);
        push_frame(out, &body)
    }
    pub fn decode(body: &[u8]) -> Result<Self, HandshakeError> {
        let mut r = Reader::new(body, TAG_V5, "old challenge")?;
        let version = r.u16()?;
        let flags = r.u32()?;
        let challenge = r.u32()?;
        let name = latin1_to_string(r.rest());
        Ok(OldChallenge {
            version,
            flags,
            challenge,
            name,
        })
    }
}

/// Complement `'c', FlagsHigh:32, Creation:32` (A→B), sent by a peer that used the old
/// `'n'` name and received a `'N'` challenge (§2.2).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Complement {
    pub flags_high: u32,
    pub creation: u32,
}

impl Complement {
    pub fn encode(&self, out: &mut Vec<u8>) -> Result<(), HandshakeError> {
        let mut body = vec![TAG_COMPLEMENT];
        body.extend_from_slice(&self.flags_high.to_be_bytes());
        body.extend_from_slice(&self.creation.to_be_bytes());
        push_frame(out, &body)
    }
    pub fn decode(body: &[u8]) -> Result<Self, HandshakeError> {
        let mut r = Reader::new(body, TAG_COMPLEMENT, "complement")?;
        let flags_high = r.u32()?;
        let creation = r.u32()?;
        r.finish()?;
        Ok(Complement {
            flags_high,
            creation,
        })
    }
}

/// Challenge reply `'r', Challenge:32, Digest:16` — exactly 21 bytes (A→B).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ChallengeReply {
    pub challenge: u32,
    pub digest: [u8; 16],
}

impl ChallengeReply {
    pub fn encode(&self, out: &mut Vec<u8>) -> Result<(), HandshakeError> {
        let mut body = vec![TAG_REPLY];
        body.extend_from_slice(&self.challenge.to_be_bytes());
        body.extend_from_slice(&self.digest);
        push_frame(out, &body)
    }
    pub fn decode(body: &[u8]) -> Result<Self, HandshakeError> {
        let mut r = Reader::new(body, TAG_REPLY, "challenge_reply")?;
        if body.len() != 21 {
            return Err(HandshakeError::Malformed {
                message: "challenge_reply",
                reason: "must be exactly 21 bytes",
            });
        }
        let challenge = r.u32()?;
        let digest = r.array()?;
        Ok(ChallengeReply { challenge, digest })
    }
}

/// Challenge ack `'a', Digest:16` — exactly 17 bytes (B→A).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ChallengeAck {
    pub digest: [u8; 16],
}

impl ChallengeAck {
    pub fn encode(&self, out: &mut Vec<u8>) -> Result<(), HandshakeError> {
        let mut body = vec![TAG_ACK];
        body.extend_from_slice(&self.digest);
        push_frame(out, &body)
    }
    pub fn decode(body: &[u8]) -> Result<Self, HandshakeError> {
        let mut r = Reader::new(body, TAG_ACK, "challenge_ack")?;
        if body.len() != 17 {
            return Err(HandshakeError::Malformed {
                message: "challenge_ack",
                reason: "must be exactly 17 bytes",
            });
        }
        let digest = r.array()?;
        Ok(ChallengeAck { digest })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn frame_needs_whole_message() {
        assert_eq!(take_frame(&[]), None);
        assert_eq!(take_frame(&[0]), None);
        assert_eq!(take_frame(&[0, 3, b's', b'o']), None);
        assert_eq!(
            take_frame(&[0, 3, b's', b'o', b'k', 9]),
            Some((&b"sok"[..], 5))
        );
    }

    #[test]
    fn trailing_bytes_after_names_are_ignored() {
        let mut out = Vec::new();
        SendName {
            flags: DistFlags(5),
            creation: 7,
            name: "a@b".into(),
        }
        .encode(&mut out)
        .unwrap();
        let mut body = out[2..].to_vec();
        body.extend_from_slice(b"junk");
        assert_eq!(SendName::decode(&body).unwrap().name, "a@b");
    }

    #[test]
    fn fixed_size_messages_reject_other_lengths() {
        let mut body = vec![b'a'];
        body.extend_from_slice(&[0; 17]);
        assert!(ChallengeAck::decode(&body).is_err());
        assert!(ChallengeAck::decode(&body[..16]).is_err());
        let mut r = vec![b'r'];
        r.extend_from_slice(&[0; 21]);
        assert!(ChallengeReply::decode(&r).is_err());
        assert!(ChallengeReply::decode(&r[..21]).is_ok());
    }
}

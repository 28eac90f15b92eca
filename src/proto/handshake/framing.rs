//! Handshake framing on the wire: 2-byte lengths over TCP (§2.1), 4-byte lengths
//! over TLS (§17.2).
//!
//! The state machines ([`super::Initiator`], [`super::Acceptor`]) always speak the
//! 2-byte framing. [`HandshakeFraming`] sits between them and the socket: with
//! [`WireFraming::Packet2`] it passes bytes through unchanged; with
//! [`WireFraming::Packet4`] (OTP's `inet_tls_dist`, which opens its TLS sockets with
//! `{packet, 4}` from the start) it turns each complete 4-byte-framed message from the
//! peer into a 2-byte-framed one, one message at a time, and re-frames what the state
//! machine sends. Bytes after the last handshake message are the start of the first
//! post-handshake frame and are handed back untouched by [`HandshakeFraming::leftover`].

use super::HandshakeError;

/// The length prefix handshake messages carry on the wire.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum WireFraming {
    /// `Len:16 | Body` (plain TCP, `inet_tcp_dist`, §2.1).
    Packet2,
    /// `Len:32 | Body` (TLS, `inet_tls_dist`, §17.2).
    Packet4,
}

/// Converts between the wire's handshake framing and the state machines' 2-byte one.
#[derive(Debug)]
pub struct HandshakeFraming {
    wire: WireFraming,
    /// Bytes read from the peer and not yet handed to the state machine.
    buf: Vec<u8>,
}

impl HandshakeFraming {
    /// A converter for `wire`.
    pub fn new(wire: WireFraming) -> Self {
        HandshakeFraming {
            wire,
            buf: Vec::new(),
        }
    }

    /// The framing on the wire.
    pub fn wire(&self) -> WireFraming {
        self.wire
    }

    /// Adds bytes read from the peer.
    pub fn push(&mut self, bytes: &[u8]) {
        self.buf.extend_from_slice(bytes);
    }

    /// The next input for the state machine, in its 2-byte framing, or `None` when it
    /// must wait for more bytes. With 2-byte framing that is everything buffered (the
    /// state machine keeps incomplete messages itself); with 4-byte framing it is one
    /// whole message, so that nothing after the last handshake message is converted.
    /// A 4-byte length above 65535 cannot be a handshake message and is an error.
    pub fn next_input(&mut self) -> Result<Option<Vec<u8>>, HandshakeError> {
        match self.wire {
            WireFraming::Packet2 => {
                if self.buf.is_empty() {
                    Ok(None)
                } else {
                    Ok(Some(std::mem::take(&mut self.buf)))
                }
            }
            WireFraming::Packet4 => {
                let Some(prefix) = self.buf.get(..4) else {
                    return Ok(None);
                };
                let len = u32::from_be_bytes([prefix[0], prefix[1], prefix[2], prefix[3]]);
                let len16 =
                    u16::try_from(len).map_err(|_| HandshakeError::MessageTooLong(len as usize))?;
                let end = 4 + usize::from(len16);
                if self.buf.len() < end {
                    return Ok(None);
                }
                let mut out = Vec::with_capacity(2 + usize::from(len16));
                out.extend_from_slice(&len16.to_be_bytes());
                out.extend_from_slice(&self.buf[4..end]);
                self.buf.drain(..end);
                Ok(Some(out))
            }
        }
    }

    /// What the state machine wants sent (complete 2-byte-framed messages), framed
    /// for the wire.
    pub fn outgoing(&self, send: Vec<u8>) -> Vec<u8> {
        match self.wire {
            WireFraming::Packet2 => send,
            WireFraming::Packet4 => {
                let mut out = Vec::with_capacity(send.len() + 8);
                let mut rest = send.as_slice();
                while let [hi, lo, tail @ ..] = rest {
                    let len = usize::from(u16::from_be_bytes([*hi, *lo]));
                    let (body, next) = tail.split_at(len.min(tail.len()));
                    out.extend_from_slice(&(body.len() as u32).to_be_bytes());
                    out.extend_from_slice(body);
                    rest = next;
                }
                out
            }
        }
    }

    /// Bytes received after the last handshake message that were not handed to the
    /// state machine: they follow the state machine's own leftover
    /// ([`super::Established::leftover`]) as the start of the 4-byte-framed stream.
    pub fn leftover(self) -> Vec<u8> {
        self.buf
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn packet2_passes_through() {
        let mut f = HandshakeFraming::new(WireFraming::Packet2);
        assert_eq!(f.next_input().unwrap(), None);
        f.push(&[0, 3, b's', b'o']);
        assert_eq!(f.next_input().unwrap(), Some(vec![0, 3, b's', b'o']));
        assert_eq!(f.next_input().unwrap(), None);
        assert_eq!(f.outgoing(vec![0, 1, b'x']), vec![0, 1, b'x']);
        assert!(f.leftover().is_empty());
    }

    #[test]
    fn packet4_converts_one_message_at_a_time() {
        let mut f = HandshakeFraming::new(WireFraming::Packet4);
        f.push(&[0, 0, 0, 3, b's', b'o']);
        assert_eq!(f.next_input().unwrap(), None, "incomplete");
        // The rest of the status, then a post-handshake frame (a tick).
        f.push(&[b'k', 0, 0, 0, 0]);
        assert_eq!(f.next_input().unwrap(), Some(vec![0, 3, b's', b'o', b'k']));
        assert_eq!(f.leftover(), vec![0, 0, 0, 0]);
    }

    #[test]
    fn packet4_outgoing_reframes_every_message() {
        let f = HandshakeFraming::new(WireFraming::Packet4);
        let out = f.outgoing(vec![0, 2, b's', b'x', 0, 1, b'a']);
        assert_eq!(out, vec![0, 0, 0, 2, b's', b'x', 0, 0, 0, 1, b'a']);
    }

    #[test]
    fn packet4_refuses_a_long_message() {
        let mut f = HandshakeFraming::new(WireFraming::Packet4);
        f.push(&[0, 1, 0, 0]);
        assert_eq!(f.next_input(), Err(HandshakeError::MessageTooLong(65536)));
    }

    proptest::proptest! {
        /// Whatever the bytes and however they are split, the messages handed on,
        /// framed back for the wire, followed by the leftover, are the input.
        #[test]
        fn packet4_loses_and_moves_nothing(
            input in proptest::collection::vec(proptest::prelude::any::<u8>(), 0..300),
            cuts in proptest::collection::vec(0usize..300, 0..8),
        ) {
            let mut f = HandshakeFraming::new(WireFraming::Packet4);
            let mut cuts = cuts;
            cuts.push(input.len());
            cuts.sort_unstable();
            let mut out = Vec::new();
            let mut at = 0;
            for cut in cuts {
                let cut = cut.min(input.len()).max(at);
                f.push(&input[at..cut]);
                at = cut;
                loop {
                    match f.next_input() {
                        Ok(Some(m)) => out.extend(f.outgoing(m)),
                        Ok(None) => break,
                        Err(_) => return Ok(()),
                    }
                }
            }
            out.extend(f.leftover());
            proptest::prop_assert_eq!(out, input);
        }
    }
}

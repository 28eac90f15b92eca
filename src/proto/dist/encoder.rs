//! Send side of the distribution payload codec (docs/protocol.md §4.2–§4.4).
//!
//! **We never use the atom cache when sending.** A sender that negotiated
//! DIST_HDR_ATOM_CACHE may send every message with zero cache refs (`131 68 0`) and plain
//! atoms (§4.3). Doing so keeps the send side stateless across messages: no cache
//! mirror to keep in sync with the peer's receive table, no dependence on strict
//! in-order delivery of every earlier header, and nothing to get wrong that would make
//! OTP kill the connection ("corrupted header"). The cost is a few bytes per atom.

use super::{
    uses_dist_header, DistError, DIST_FRAG_CONT, DIST_FRAG_HEADER, DIST_HEADER, PASS_THROUGH,
};
use crate::etf::{self, VERSION_MAGIC};
use crate::proto::control::ControlMessage;
use crate::proto::flags::DistFlags;
use crate::proto::framing::{write_frame_header, FrameError, HEADER_LEN};
use crate::term::Term;

/// The trailing term of a message, either as a term or already encoded.
#[derive(Debug, Clone, Copy)]
pub enum Payload<'a> {
    Term(&'a Term),
    /// An ETF body without the version byte, as [`EncodedTerm`] holds it.
    Encoded(&'a [u8]),
}

/// A term encoded once, by whoever sends it, as an ETF body without the version byte.
///
/// The body is the same for every connection whatever flags it negotiated (only the
/// leading 131 differs between pass-through and header mode, §4.2), so a sender can
/// encode its message before it knows which connection will carry it — in its own
/// task, in parallel with other senders — and a connection's outgoing queue can count
/// exactly the bytes it holds (for its busy limit).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EncodedTerm(Vec<u8>);

impl EncodedTerm {
    /// Encodes `term`; fails for terms the format cannot carry.
    pub fn new(term: &Term) -> Result<EncodedTerm, etf::EncodeError> {
        let mut out = Vec::new();
        etf::encode_body_into(term, &mut out)?;
        Ok(EncodedTerm(out))
    }

    /// The ETF body (no version byte).
    pub fn as_bytes(&self) -> &[u8] {
        &self.0
    }

    /// Size of the body in bytes.
    pub fn len(&self) -> usize {
        self.0.len()
    }

    /// Never true for a real term; here for completeness.
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }
}

/// OTP's fragment size (`ERTS_DIST_FRAGMENT_SIZE`, 64 KiB): messages whose encoded
/// control + message exceed it are split when FRAGMENTS is negotiated (§4.4).
pub const FRAGMENT_SIZE: usize = 64 * 1024;

/// Send side of one connection (sans-IO).
#[derive(Debug, Clone)]
pub struct DistEncoder {
    header_mode: bool,
    fragments: bool,
    fragment_size: usize,
    /// Counts fragmented messages; mixed into their sequence ids.
    sequences: u64,
}

impl DistEncoder {
    /// An encoder for a connection with these negotiated flags.
    pub fn new(flags: DistFlags) -> Self {
        DistEncoder {
            header_mode: uses_dist_header(flags),
            fragments: flags.contains(DistFlags::FRAGMENTS),
            fragment_size: FRAGMENT_SIZE,
            sequences: 0,
        }
    }

    /// Overrides the fragment size (at least 1 byte); meant for tests. Receivers accept
    /// any fragment size (§4.4).
    pub fn with_fragment_size(mut self, size: usize) -> Self {
        self.fragment_size = size.max(1);
        self
    }

    /// Appends the complete frame(s) for one message — 4-byte length prefixes included —
    /// to `out`, so a driver can collect many messages and send them in one write.
    /// `payload` must be present exactly when [`ControlMessage::has_payload`] says so. On
    /// error nothing is appended.
    pub fn encode_frame(
        &mut self,
        control: &ControlMessage,
        payload: Option<&Term>,
        out: &mut Vec<u8>,
    ) -> Result<(), DistError> {
        self.encode_message(control, payload.map(Payload::Term), out)
    }

    /// [`DistEncoder::encode_frame`] for a payload that may already be encoded.
    pub fn encode_message(
        &mut self,
        control: &ControlMessage,
        payload: Option<Payload<'_>>,
        out: &mut Vec<u8>,
    ) -> Result<(), DistError> {
        match (control.has_payload(), payload.is_some()) {
            (true, false) => {
                return Err(DistError::MissingPayload {
                    op: control.op(),
                    name: control.name(),
                })
            }
            (false, true) => {
                return Err(DistError::UnexpectedPayload {
                    op: control.op(),
                    name: control.name(),
                })
            }
            _ => {}
        }
        let frame_start = out.len();
        let result = self.encode_unchecked(control, payload, out, frame_start);
        if result.is_err() {
            out.truncate(frame_start);
        }
        result
    }

    fn encode_unchecked(
        &mut self,
        control: &ControlMessage,
        payload: Option<Payload<'_>>,
        out: &mut Vec<u8>,
        frame_start: usize,
    ) -> Result<(), DistError> {
        let control_term = control.to_term();
        out.extend_from_slice(&[0; HEADER_LEN]);
        if !self.header_mode {
            // Pass-through: 112, then each term with its own version byte.
            out.push(PASS_THROUGH);
            etf::encode_into(&control_term, out)?;
            match payload {
                Some(Payload::Term(p)) => etf::encode_into(p, out)?,
                Some(Payload::Encoded(body)) => {
                    out.push(VERSION_MAGIC);
                    out.extend_from_slice(body);
                }
                None => {}
            }
            return patch_len(out, frame_start);
        }
        // Header mode with zero atom-cache refs: `131 68 0`, then bare terms.
        out.extend_from_slice(&[VERSION_MAGIC, DIST_HEADER, 0]);
        let body_start = out.len();
        etf::encode_body_into(&control_term, out)?;
        let control_len = out.len() - body_start;
        match payload {
            Some(Payload::Term(p)) => etf::encode_body_into(p, out)?,
            Some(Payload::Encoded(body)) => out.extend_from_slice(body),
            None => {}
        }
        if !self.fragments || out.len() - body_start <= self.fragment_size {
            return patch_len(out, frame_start);
        }
        let body = out.split_off(body_start);
        out.truncate(frame_start);
        self.write_fragments(control, &body, control_len, out)
    }

    /// Splits `body` (control + message, no version bytes) into a start fragment holding
    /// the whole control term (§4.4) and continuations of `fragment_size` bytes.
    fn write_fragments(
        &mut self,
        control: &ControlMessage,
        body: &[u8],
        control_len: usize,
        out: &mut Vec<u8>,
    ) -> Result<(), DistError> {
        let first_len = control_len.max(self.fragment_size).min(body.len());
        let (first, rest) = body.split_at(first_len);
        let count = 1 + rest.len().div_ceil(self.fragment_size) as u64;
        let seq = self.next_sequence_id(control);

        // Start: 131 69 Seq:64 FragId:64 N=0 Ctrl [Msg…]
        write_frame_header(2 + 8 + 8 + 1 + first.len(), out)?;
        out.extend_from_slice(&[VERSION_MAGIC, DIST_FRAG_HEADER]);
        out.extend_from_slice(&seq.to_be_bytes());
        out.extend_from_slice(&count.to_be_bytes());
        out.push(0);
        out.extend_from_slice(first);

        let mut id = count;
        for chunk in rest.chunks(self.fragment_size) {
            id -= 1;
            // Continuation: 131 70 Seq:64 FragId:64 Msg…
            write_frame_header(2 + 8 + 8 + chunk.len(), out)?;
            out.extend_from_slice(&[VERSION_MAGIC, DIST_FRAG_CONT]);
            out.extend_from_slice(&seq.to_be_bytes());
            out.extend_from_slice(&id.to_be_bytes());
            out.extend_from_slice(chunk);
        }
        Ok(())
    }

    /// A non-zero sequence id. OTP uses the sending process's pid word (§4.4); we mix the
    /// sender's id/serial with a per-connection counter. Uniqueness among *open*
    /// sequences is guaranteed regardless, because [`Self::encode_frame`] writes all
    /// fragments of a message back to back, so at most one of our sequences is ever in
    /// flight on the wire at a time; messages from one sender therefore also arrive in
    /// the order they were encoded.
    fn next_sequence_id(&mut self, control: &ControlMessage) -> u64 {
        self.sequences = self.sequences.wrapping_add(1);
        let sender = control
            .sender()
            .map_or(0, |p| (u64::from(p.id) << 32) | u64::from(p.serial));
        match sender.wrapping_add(self.sequences) {
            0 => 1,
            s => s,
        }
    }
}

/// Writes the payload length of the frame starting at `frame_start` into its prefix.
fn patch_len(out: &mut [u8], frame_start: usize) -> Result<(), DistError> {
    let payload_len = out.len() - frame_start - HEADER_LEN;
    let len = u32::try_from(payload_len).map_err(|_| FrameError::TooLarge {
        len: payload_len,
        max: u32::MAX as usize,
    })?;
    out[frame_start..frame_start + HEADER_LEN].copy_from_slice(&len.to_be_bytes());
    Ok(())
}

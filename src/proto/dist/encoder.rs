//! Send side of the distribution payload codec (docs/protocol.md §4.2–§4.4).
//!
//! With DIST_HDR_ATOM_CACHE negotiated, the atoms of each control tuple (the node
//! names in its pids and references, a registered name, `''`) go through the
//! connection's atom cache (§4.3), as OTP's own sender does: the first message to use
//! an atom carries its text once, later ones a one-byte index, and the receiving BEAM
//! looks the atom up once instead of per message. Message payloads are encoded by
//! their sender before a connection is chosen (`EncodedTerm`), so their atoms are
//! written in full. Fragmented messages carry no refs.

use super::atom_cache::{write_header, MessageRef, MessageRefs, SendCache};
use super::{
    uses_dist_header, DistError, DIST_FRAG_CONT, DIST_FRAG_HEADER, DIST_HEADER, PASS_THROUGH,
};
use crate::etf::{self, Mark, Output, Spliced, VERSION_MAGIC};
use crate::proto::control::encode::{write_control, PlainAtoms};
use crate::proto::control::ControlMessage;
use crate::proto::flags::DistFlags;
use crate::proto::framing::{write_frame_header, FrameError, HEADER_LEN};
use crate::term::Term;

/// The trailing term of a message, either as a term or already encoded.
#[derive(Debug, Clone, Copy)]
pub enum Payload<'a> {
    Term(&'a Term),
    /// A term encoded beforehand.
    Encoded(&'a EncodedTerm),
}

/// A term encoded once, by whoever sends it, as an ETF body without the version byte.
///
/// The body is the same for every connection whatever flags it negotiated (only the
/// leading 131 differs between pass-through and header mode, §4.2), so a sender can
/// encode its message before it knows which connection will carry it — in its own
/// task, in parallel with other senders — and a connection's outgoing queue can count
/// the bytes it holds (for its busy limit). Those are the bytes it will write: a shared
/// binary counts at its length, as BEAM counts a refc binary in a dist buffer, though
/// the memory behind it may be shared with other messages or be a larger received
/// buffer it is a slice of.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EncodedTerm {
    /// Binaries of [`etf::SEND_SHARE_MIN`] bytes or more are shared, not copied
    /// (docs/protocol.md §4.6).
    body: Spliced,
    /// It holds a native record (tag 67), which only a peer with NATIVE_RECORDS reads.
    records: bool,
}

impl EncodedTerm {
    /// Encodes `term`; fails for terms the format cannot carry.
    pub fn new(term: &Term) -> Result<EncodedTerm, etf::EncodeError> {
        let mut body = Spliced::default();
        let records = etf::encode_body_noting_records(term, &mut body)?;
        Ok(EncodedTerm { body, records })
    }

    /// The ETF body (no version byte), its large binaries still shared.
    pub fn body(&self) -> &Spliced {
        &self.body
    }

    /// The ETF body (no version byte) in one vector (copies the large binaries).
    pub fn to_vec(&self) -> Vec<u8> {
        self.body.to_vec()
    }

    /// Whether the term holds a native record (OTP 29, §3.1).
    pub fn has_native_records(&self) -> bool {
        self.records
    }

    /// Size of the body in bytes.
    pub fn len(&self) -> usize {
        self.body.len()
    }

    /// Never true for a real term; here for completeness.
    pub fn is_empty(&self) -> bool {
        self.body.is_empty()
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
    /// The peer reads native records (DFLAG_NATIVE_RECORDS); else a payload holding
    /// one is refused, since the peer would close the connection on tag 67.
    native_records: bool,
    /// Counts fragmented messages; mixed into their sequence ids.
    sequences: u64,
    /// The peer's receive table as our headers set it, when the cache is negotiated.
    atom_cache: Option<SendCache>,
    /// Scratch space for one message: its control tuple and its atom refs, and its
    /// message term when it comes as a term.
    control_buf: Vec<u8>,
    refs: Vec<MessageRef>,
    term_buf: Spliced,
}

/// Scratch space kept between messages; a larger buffer (after one big message) is
/// freed, so a burst does not pin its memory.
const SCRATCH_KEEP: usize = 1 << 20;

impl DistEncoder {
    /// An encoder for a connection with these negotiated flags.
    pub fn new(flags: DistFlags) -> Self {
        DistEncoder {
            header_mode: uses_dist_header(flags),
            fragments: flags.contains(DistFlags::FRAGMENTS),
            fragment_size: FRAGMENT_SIZE,
            native_records: flags.contains(DistFlags::NATIVE_RECORDS),
            sequences: 0,
            atom_cache: (uses_dist_header(flags) && flags.contains(DistFlags::DIST_HDR_ATOM_CACHE))
                .then(SendCache::default),
            control_buf: Vec::new(),
            refs: Vec::new(),
            term_buf: Spliced::default(),
        }
    }

    /// Sends every atom in full (`131 68 0` headers), as before the send-side cache;
    /// for tests that compare bytes.
    pub fn without_atom_cache(mut self) -> Self {
        self.atom_cache = None;
        self
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

    /// [`DistEncoder::encode_frame`] for a payload that may already be encoded, into
    /// any [`Output`] (a connection's transmit queue shares large binaries, §4.6).
    pub fn encode_message<O: Output + ?Sized>(
        &mut self,
        control: &ControlMessage,
        payload: Option<Payload<'_>>,
        out: &mut O,
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
        let frame_start = out.mark();
        let result = self.encode_unchecked(control, payload, out, frame_start);
        if result.is_err() {
            out.rewind(frame_start);
        }
        result
    }

    fn encode_unchecked<O: Output + ?Sized>(
        &mut self,
        control: &ControlMessage,
        payload: Option<Payload<'_>>,
        out: &mut O,
        frame_start: Mark,
    ) -> Result<(), DistError> {
        out.buf().extend_from_slice(&[0; HEADER_LEN]);
        if !self.header_mode {
            // Pass-through: 112, then each term with its own version byte.
            out.buf().extend_from_slice(&[PASS_THROUGH, VERSION_MAGIC]);
            let records = write_control(control, &mut PlainAtoms, out.buf())?;
            self.check_records(records)?;
            match payload {
                Some(Payload::Term(p)) => {
                    out.buf().push(VERSION_MAGIC);
                    put_term(self.native_records, p, out)?;
                }
                Some(Payload::Encoded(e)) => {
                    self.check_records(e.has_native_records())?;
                    out.buf().push(VERSION_MAGIC);
                    e.body().write_to(out);
                }
                None => {}
            }
            return patch_len(out, frame_start);
        }
        // The message term as bytes: encoded beforehand by its sender (the usual case),
        // or encoded here into scratch space. Its size is then known, so a message too
        // big for one frame goes straight to the fragment writer and is copied once
        // (binaries of 4 KiB or more not at all: they stay shared, §4.6).
        let mut term_buf = std::mem::take(&mut self.term_buf);
        let result = self.encode_header_mode(control, payload, &mut term_buf, out, frame_start);
        term_buf.clear();
        if term_buf.capacity() <= SCRATCH_KEEP {
            self.term_buf = term_buf;
        }
        result
    }

    fn encode_header_mode<O: Output + ?Sized>(
        &mut self,
        control: &ControlMessage,
        payload: Option<Payload<'_>>,
        term_buf: &mut Spliced,
        out: &mut O,
        frame_start: Mark,
    ) -> Result<(), DistError> {
        let empty = Spliced::default();
        let body: &Spliced = match payload {
            Some(Payload::Term(p)) => {
                put_term(self.native_records, p, term_buf)?;
                term_buf
            }
            Some(Payload::Encoded(e)) => {
                check_records(self.native_records, e.has_native_records())?;
                e.body()
            }
            None => &empty,
        };
        if let Some(cache) = &mut self.atom_cache {
            // The header lists the control's atoms, so the control goes to scratch
            // space first; the refs count only once the frame is whole.
            self.control_buf.clear();
            self.refs.clear();
            let mut sink = MessageRefs {
                cache,
                refs: &mut self.refs,
            };
            let records = write_control(control, &mut sink, &mut self.control_buf)?;
            check_records(self.native_records, records)?;
            if !self.fragments || self.control_buf.len() + body.len() <= self.fragment_size {
                let buf = out.buf();
                buf.extend_from_slice(&[VERSION_MAGIC, DIST_HEADER]);
                write_header(&self.refs, buf);
                buf.extend_from_slice(&self.control_buf);
                body.write_to(out);
                // The cache counts the refs only for a frame that is whole.
                patch_len(out, frame_start)?;
                cache.commit(&self.refs);
                return Ok(());
            }
            // Too big for one frame: fragments, written with plain atoms below.
        }
        // Header mode with zero atom-cache refs: `131 68 0`, then bare terms.
        self.control_buf.clear();
        let records = write_control(control, &mut PlainAtoms, &mut self.control_buf)?;
        self.check_records(records)?;
        if !self.fragments || self.control_buf.len() + body.len() <= self.fragment_size {
            let buf = out.buf();
            buf.extend_from_slice(&[VERSION_MAGIC, DIST_HEADER, 0]);
            buf.extend_from_slice(&self.control_buf);
            body.write_to(out);
            return patch_len(out, frame_start);
        }
        out.rewind(frame_start);
        let control_bytes = std::mem::take(&mut self.control_buf);
        let result = self.write_fragments(control, &control_bytes, body, out);
        self.control_buf = control_bytes;
        result
    }

    fn check_records(&self, has: bool) -> Result<(), DistError> {
        check_records(self.native_records, has)
    }

    /// Splits the body — `ctrl` (the control term) then `msg` (the message), no
    /// version bytes — into a start fragment holding the whole control term (§4.4) and
    /// continuations of `fragment_size` bytes, copying each byte once (shared binaries
    /// not at all, except pieces under 4 KiB cut off at a fragment's edge, §4.6).
    fn write_fragments<O: Output + ?Sized>(
        &mut self,
        control: &ControlMessage,
        ctrl: &[u8],
        msg: &Spliced,
        out: &mut O,
    ) -> Result<(), DistError> {
        let parts = (ctrl, msg);
        let total = ctrl.len() + msg.len();
        let first_len = ctrl.len().max(self.fragment_size).min(total);
        let count = 1 + (total - first_len).div_ceil(self.fragment_size) as u64;
        let seq = self.next_sequence_id(control);
        let copied = ctrl.len() + msg.copied_len();
        out.buf()
            .reserve(copied + count as usize * (HEADER_LEN + 18) + 1);

        // Start: 131 69 Seq:64 FragId:64 N=0 Ctrl [Msg…]
        let buf = out.buf();
        write_frame_header(2 + 8 + 8 + 1 + first_len, buf)?;
        buf.extend_from_slice(&[VERSION_MAGIC, DIST_FRAG_HEADER]);
        buf.extend_from_slice(&seq.to_be_bytes());
        buf.extend_from_slice(&count.to_be_bytes());
        buf.push(0);
        put_range(out, parts, 0, first_len);

        let mut id = count;
        let mut at = first_len;
        while at < total {
            id -= 1;
            let end = (at + self.fragment_size).min(total);
            // Continuation: 131 70 Seq:64 FragId:64 Msg…
            let buf = out.buf();
            write_frame_header(2 + 8 + 8 + (end - at), buf)?;
            buf.extend_from_slice(&[VERSION_MAGIC, DIST_FRAG_CONT]);
            buf.extend_from_slice(&seq.to_be_bytes());
            buf.extend_from_slice(&id.to_be_bytes());
            put_range(out, parts, at, end);
            at = end;
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

/// Appends bytes `from..to` of `parts.0` followed by `parts.1`.
fn put_range<O: Output + ?Sized>(out: &mut O, parts: (&[u8], &Spliced), from: usize, to: usize) {
    let split = parts.0.len();
    if from < split {
        out.buf().extend_from_slice(&parts.0[from..to.min(split)]);
    }
    if to > split {
        parts
            .1
            .write_range_to(out, from.max(split) - split, to - split);
    }
}

/// Writes the payload length of the frame that starts at `frame_start` into its prefix
/// (shared binaries counted).
fn patch_len<O: Output + ?Sized>(out: &mut O, frame_start: Mark) -> Result<(), DistError> {
    let shared = out.shared_since(frame_start);
    let buf = out.buf();
    let at = frame_start.buf_len();
    let payload_len = buf.len() - at - HEADER_LEN + shared;
    let len = u32::try_from(payload_len).map_err(|_| FrameError::TooLarge {
        len: payload_len,
        max: u32::MAX as usize,
    })?;
    buf[at..at + HEADER_LEN].copy_from_slice(&len.to_be_bytes());
    Ok(())
}

/// Writes a payload term, refusing a native record to a peer without NATIVE_RECORDS.
fn put_term<O: Output + ?Sized>(
    native_records: bool,
    term: &Term,
    out: &mut O,
) -> Result<(), DistError> {
    let has = etf::encode_body_noting_records(term, out)?;
    check_records(native_records, has)
}

fn check_records(native_records: bool, has: bool) -> Result<(), DistError> {
    if has && !native_records {
        return Err(DistError::NativeRecordsNotNegotiated);
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::proto::dist::DistDecoder;
    use crate::proto::transmit::Transmit;
    use crate::term::{Atom, InternalFun, Pid, Terms};
    use proptest::prelude::*;

    fn pid(id: u32) -> Pid {
        Pid::new(Atom::new("a@h"), id, 0, 7)
    }

    fn fun(free_vars: Vec<Term>) -> Term {
        Term::InternalFun(Box::new(InternalFun {
            arity: 0,
            uniq: [3; 16],
            index: 1,
            module: Atom::new("m"),
            old_index: 1,
            old_uniq: 2,
            pid: pid(1),
            free_vars: Terms::from(free_vars),
        }))
    }

    fn big(n: usize, seed: u8) -> Term {
        Term::binary(
            (0..n)
                .map(|k| (k as u8).wrapping_mul(31) ^ seed)
                .collect::<Vec<_>>(),
        )
    }

    fn body_term(e: &EncodedTerm) -> Term {
        let mut v = vec![VERSION_MAGIC];
        v.extend(e.to_vec());
        etf::decode(&v).unwrap()
    }

    /// Every byte the transmit queue holds, in order.
    fn drained(mut t: Transmit) -> Vec<u8> {
        let mut out = Vec::new();
        while !t.is_empty() {
            let c = t.chunk().to_vec();
            t.advance(c.len());
            out.extend(c);
        }
        out
    }

    #[test]
    fn binaries_in_a_fun_are_copied_and_its_size_stays_right() {
        let t = fun(vec![big(8192, 1), fun(vec![big(5000, 2)]), Term::Int(3)]);
        let e = EncodedTerm::new(&t).unwrap();
        // NEW_FUN_EXT's size is patched from the buffer: nothing of it may be shared.
        assert_eq!(e.body().copied_len(), e.len());
        assert_eq!(body_term(&e), t);
        // Beside a fun, a binary is shared again.
        let t = Term::tuple(vec![fun(vec![big(8192, 1)]), big(8192, 3)]);
        let e = EncodedTerm::new(&t).unwrap();
        assert_eq!(e.len() - e.body().copied_len(), 8192);
        assert_eq!(body_term(&e), t);
    }

    fn term() -> impl Strategy<Value = Term> {
        let leaf = prop_oneof![
            (0usize..20_000, any::<u8>()).prop_map(|(n, s)| big(n, s)),
            any::<i64>().prop_map(Term::Int),
            Just(Term::atom("ok")),
        ];
        leaf.prop_recursive(3, 24, 5, |inner| {
            prop_oneof![
                prop::collection::vec(inner.clone(), 0..5).prop_map(Term::tuple),
                prop::collection::vec(inner.clone(), 0..5).prop_map(Term::list),
                prop::collection::vec(inner, 0..3).prop_map(fun),
            ]
        })
    }

    proptest! {
        /// Into a transmit queue (binaries shared) the frames are byte for byte those
        /// written into a plain vector, for a term and for the same term encoded
        /// beforehand, whatever the fragment size; and they decode to the message.
        #[test]
        fn shared_output_is_the_plain_output(
            t in term(),
            fragment_size in prop::option::of(1usize..70_000),
            cache in any::<bool>(),
        ) {
            let flags = DistFlags::IMPLEMENTED;
            let mk = || {
                let e = DistEncoder::new(flags);
                let e = if cache { e } else { e.without_atom_cache() };
                match fragment_size {
                    Some(n) => e.with_fragment_size(n),
                    None => e,
                }
            };
            let control = ControlMessage::Send { to: pid(2), token: None };
            let mut plain = Vec::new();
            mk().encode_message(&control, Some(Payload::Term(&t)), &mut plain).unwrap();
            let mut shared = Transmit::default();
            shared.extend_from_slice(b"before");
            mk().encode_message(&control, Some(Payload::Term(&t)), &mut shared).unwrap();
            let encoded = EncodedTerm::new(&t).unwrap();
            mk().encode_message(&control, Some(Payload::Encoded(&encoded)), &mut shared)
                .unwrap();
            let mut want = b"before".to_vec();
            want.extend_from_slice(&plain);
            want.extend_from_slice(&plain);
            prop_assert_eq!(drained(shared), want);
            let mut dec = DistDecoder::new(flags);
            let mut got = None;
            let mut rest = &plain[..];
            while !rest.is_empty() {
                let len = u32::from_be_bytes(rest[..4].try_into().unwrap()) as usize;
                got = dec.decode(&rest[4..4 + len]).unwrap();
                rest = &rest[4 + len..];
            }
            prop_assert_eq!(got.and_then(|m| m.payload), Some(t));
        }
    }
}

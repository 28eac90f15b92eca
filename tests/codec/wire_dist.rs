//! DistEncoder → DistDecoder in every framing mode, hand-built atom-cache headers and
//! fragments, and robustness against garbage (§4.2–§4.5).

use crate::wire_strategies::{control_message, term};
use beamnode::etf;
use beamnode::proto::control::ControlMessage;
use beamnode::proto::dist::{DistDecoder, DistEncoder, DistError, DistMessage, FragmentLimits};
use beamnode::proto::framing::{Frame, FrameReader};
use beamnode::proto::DistFlags;
use beamnode::{Atom, Pid, Term};
use proptest::prelude::*;

const PASS: DistFlags = DistFlags(0);
const HDR: DistFlags = DistFlags::DIST_HDR_ATOM_CACHE;
fn frag() -> DistFlags {
    DistFlags::DIST_HDR_ATOM_CACHE | DistFlags::FRAGMENTS
}

/// Splits `wire` into frames and feeds every data frame to `dec`.
fn decode_all(dec: &mut DistDecoder, wire: &[u8]) -> Result<Vec<DistMessage>, DistError> {
    let mut reader = FrameReader::new();
    reader.extend(wire);
    let mut out = Vec::new();
    while let Some(frame) = reader.next_frame().unwrap() {
        if let Frame::Data(d) = frame {
            if let Some(m) = dec.decode(d)? {
                out.push(m);
            }
        }
    }
    assert_eq!(reader.buffered(), 0);
    Ok(out)
}

fn count_frames(wire: &[u8]) -> usize {
    let mut reader = FrameReader::new();
    reader.extend(wire);
    let mut n = 0;
    while reader.next_frame().unwrap().is_some() {
        n += 1;
    }
    n
}

fn payload_for(msg: &ControlMessage, t: Term) -> Option<Term> {
    msg.has_payload().then_some(t)
}

fn round_trip(
    flags: DistFlags,
    fragment_size: Option<usize>,
    msg: &ControlMessage,
    payload: Option<Term>,
) -> usize {
    let mut enc = DistEncoder::new(flags);
    if let Some(n) = fragment_size {
        enc = enc.with_fragment_size(n);
    }
    let mut wire = vec![0, 0, 0, 0]; // a tick in front
    enc.encode_frame(msg, payload.as_ref(), &mut wire).unwrap();
    let mut dec = DistDecoder::new(flags);
    let got = decode_all(&mut dec, &wire).unwrap();
    assert_eq!(
        got,
        vec![DistMessage {
            control: msg.clone(),
            payload
        }]
    );
    assert_eq!(dec.open_sequences(), 0);
    assert_eq!(dec.buffered_bytes(), 0);
    count_frames(&wire) - 1
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]

    #[test]
    fn round_trip_pass_through(msg in control_message(), p in term()) {
        let p = payload_for(&msg, p);
        prop_assert_eq!(round_trip(PASS, None, &msg, p), 1);
    }

    #[test]
    fn round_trip_header_only(msg in control_message(), p in term()) {
        let p = payload_for(&msg, p);
        prop_assert_eq!(round_trip(HDR, None, &msg, p.clone()), 1);
        // FRAGMENTS without the atom cache is header mode too (§4.2).
        prop_assert_eq!(round_trip(DistFlags::FRAGMENTS, None, &msg, p), 1);
    }

    #[test]
    fn round_trip_tiny_fragments(msg in control_message(), p in term(), size in 1usize..40) {
        let p = payload_for(&msg, p);
        round_trip(frag(), Some(size), &msg, p);
    }

    /// Control tuples are written directly, not through a term: without cached atoms
    /// the bytes are exactly those of the term encoding.
    #[test]
    fn direct_control_encoding_matches_the_term_encoding(msg in control_message(), p in term()) {
        let p = payload_for(&msg, p);
        let mut out = Vec::new();
        DistEncoder::new(HDR).without_atom_cache().encode_frame(&msg, p.as_ref(), &mut out).unwrap();
        let mut expected = vec![131, 68, 0];
        expected.extend(body(&msg.to_term()));
        if let Some(p) = &p {
            expected.extend(body(p));
        }
        prop_assert_eq!(&out[4..], &expected[..]);
    }

    /// A run of messages through one encoder with the send-side atom cache decodes,
    /// through one decoder, to the same messages: new entries and cached refs agree.
    #[test]
    fn atom_cache_sequences_round_trip(msgs in proptest::collection::vec((control_message(), term()), 1..12)) {
        let mut enc = DistEncoder::new(HDR);
        let mut dec = DistDecoder::new(HDR);
        for (msg, p) in msgs {
            let p = payload_for(&msg, p);
            let mut wire = Vec::new();
            enc.encode_frame(&msg, p.as_ref(), &mut wire).unwrap();
            let got = decode_all(&mut dec, &wire).unwrap();
            prop_assert_eq!(got.len(), 1);
            prop_assert_eq!(&got[0].control, &msg);
            prop_assert_eq!(&got[0].payload, &p);
        }
    }

    #[test]
    fn garbage_never_panics(bytes in proptest::collection::vec(any::<u8>(), 0..200)) {
        for flags in [PASS, HDR, frag()] {
            let mut dec = DistDecoder::new(flags);
            let _ = dec.decode(&bytes);
            for prefix in [&[112u8, 131][..], &[131, 68], &[131, 69, 0, 0, 0, 0, 0, 0, 0, 1], &[131, 70]] {
                let mut b = prefix.to_vec();
                b.extend(&bytes);
                let _ = dec.decode(&b);
            }
        }
        let mut r = FrameReader::with_max_frame_len(1000);
        r.extend(&bytes);
        while let Ok(Some(_)) = r.next_frame() {}
    }

    #[test]
    fn truncated_frames_are_errors_not_panics(msg in control_message(), p in term(), cut in any::<prop::sample::Index>()) {
        let p = payload_for(&msg, p);
        for flags in [PASS, HDR] {
            let mut wire = Vec::new();
            DistEncoder::new(flags).encode_frame(&msg, p.as_ref(), &mut wire).unwrap();
            let payload = &wire[4..];
            let n = cut.index(payload.len());
            if n > 0 {
                prop_assert!(DistDecoder::new(flags).decode(&payload[..n]).is_err());
            }
        }
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(12))]

    /// Payloads well above 64 KiB: several default-size fragments.
    #[test]
    fn round_trip_huge_fragmented(msg in control_message(), len in 65_000usize..300_000, fill in any::<u8>()) {
        let big = Term::tuple(vec![Term::binary(vec![fill; len]), Term::atom("tail")]);
        let p = msg.has_payload().then_some(big);
        let frames = round_trip(frag(), None, &msg, p.clone());
        let mut total = body(&msg.to_term()).len();
        if let Some(p) = &p {
            total += body(p).len();
        }
        // OTP: ceil(size / 64 KiB) fragments once the data exceeds 64 KiB (§4.4).
        prop_assert_eq!(frames, total.div_ceil(64 * 1024));
    }
}

fn sender() -> Pid {
    Pid::new(Atom::new("a@h"), 85, 0, 1234)
}

fn reg_send() -> ControlMessage {
    ControlMessage::RegSend {
        from: sender(),
        to_name: Atom::new("net_kernel"),
        token: None,
    }
}

#[test]
fn huge_payload_is_fragmented_at_64k() {
    let big = Term::binary(vec![7u8; 200_000]);
    let frames = round_trip(frag(), None, &reg_send(), Some(big.clone()));
    // ≈ 200 KB of message in 64 KiB pieces.
    assert_eq!(frames, 4);
    // Without FRAGMENTS: a single frame.
    assert_eq!(round_trip(HDR, None, &reg_send(), Some(big.clone())), 1);
    assert_eq!(round_trip(PASS, None, &reg_send(), Some(big)), 1);
}

#[test]
fn encoder_checks_payload_presence_and_appends() {
    let mut enc = DistEncoder::new(PASS);
    let mut out = vec![1, 2, 3];
    assert!(matches!(
        enc.encode_frame(&reg_send(), None, &mut out),
        Err(DistError::MissingPayload { op: 6, .. })
    ));
    let link = ControlMessage::Link {
        from: sender(),
        to: sender(),
    };
    assert!(matches!(
        enc.encode_frame(&link, Some(&Term::Nil), &mut out),
        Err(DistError::UnexpectedPayload { op: 1, .. })
    ));
    assert_eq!(out, vec![1, 2, 3]);
    enc.encode_frame(&link, None, &mut out).unwrap();
    enc.encode_frame(&reg_send(), Some(&Term::Nil), &mut out)
        .unwrap();
    let got = decode_all(&mut DistDecoder::new(PASS), &out[3..]).unwrap();
    assert_eq!(got.len(), 2);
}

/// `#m.r{a = 1}`, exported: a native record (OTP 29) for the NATIVE_RECORDS rules.
pub(crate) fn one_field_record() -> Term {
    use beamnode::term::NativeRecord;
    Term::Record(Box::new(NativeRecord {
        module: Atom::new("m"),
        name: Atom::new("r"),
        exported: true,
        fields: vec![(Atom::new("a"), Term::Int(1))],
    }))
}

/// A payload holding a native record goes only to a peer with NATIVE_RECORDS, in
/// every framing mode and whether encoded here or beforehand; otherwise the message is
/// refused and nothing is appended.
#[test]
fn native_records_only_to_peers_that_offered_them() {
    use beamnode::proto::dist::{EncodedTerm, Payload};
    let rec = one_field_record();
    let msg = Term::list(vec![Term::Int(1), Term::tuple(vec![rec])]);
    let encoded = EncodedTerm::new(&msg).unwrap();
    assert!(encoded.has_native_records());
    assert!(!EncodedTerm::new(&Term::Nil).unwrap().has_native_records());
    for flags in [PASS, HDR, frag(), HDR | DistFlags::DIST_HDR_ATOM_CACHE] {
        let mut out = vec![9];
        let mut enc = DistEncoder::new(flags);
        assert!(matches!(
            enc.encode_frame(&reg_send(), Some(&msg), &mut out),
            Err(DistError::NativeRecordsNotNegotiated)
        ));
        assert!(matches!(
            enc.encode_message(&reg_send(), Some(Payload::Encoded(&encoded)), &mut out),
            Err(DistError::NativeRecordsNotNegotiated)
        ));
        assert_eq!(out, vec![9], "{flags:?}");
        let with = flags | DistFlags::NATIVE_RECORDS;
        let mut enc = DistEncoder::new(with);
        enc.encode_frame(&reg_send(), Some(&msg), &mut out).unwrap();
        enc.encode_message(&reg_send(), Some(Payload::Encoded(&encoded)), &mut out)
            .unwrap();
        let got = decode_all(&mut DistDecoder::new(with), &out[1..]).unwrap();
        assert_eq!(got.len(), 2);
        assert!(got.iter().all(|m| m.payload.as_ref() == Some(&msg)));
    }
}

/// A native record inside the control tuple itself (an exit reason here) is held to
/// the same rule as one in the payload: refused unless the peer offered
/// NATIVE_RECORDS, in every framing mode, with nothing appended.
#[test]
fn native_records_in_control_messages_only_to_peers_that_offered_them() {
    let rec = one_field_record();
    let exit = ControlMessage::Exit {
        from: sender(),
        to: sender(),
        reason: Term::tuple(vec![Atom::new("shutdown").into(), rec]),
        token: None,
    };
    for flags in [PASS, HDR, frag(), HDR | DistFlags::DIST_HDR_ATOM_CACHE] {
        let mut out = vec![7];
        let mut enc = DistEncoder::new(flags);
        assert!(
            matches!(
                enc.encode_frame(&exit, None, &mut out),
                Err(DistError::NativeRecordsNotNegotiated)
            ),
            "{flags:?}"
        );
        assert_eq!(out, vec![7], "{flags:?}");
        let with = flags | DistFlags::NATIVE_RECORDS;
        let mut enc = DistEncoder::new(with);
        enc.encode_frame(&exit, None, &mut out).unwrap();
        let got = decode_all(&mut DistDecoder::new(with), &out[1..]).unwrap();
        assert_eq!(got.len(), 1);
        assert_eq!(got[0].control, exit);
    }
}

// ---- hand-built bytes -------------------------------------------------------------

fn body(t: &Term) -> Vec<u8> {
    let mut v = Vec::new();
    etf::encode_body_into(t, &mut v).unwrap();
    v
}

/// REG_SEND {6, Pid, '', <cache ref 0>} + <cache ref 1>, terms without version bytes.
fn reg_send_with_cache_refs() -> Vec<u8> {
    let mut v = vec![104, 4, 97, 6];
    v.extend(body(&Term::Pid(sender())));
    v.extend([119, 0, 82, 0]); // '' then ATOM_CACHE_REF 0
    v.extend([82, 1]); // message: ATOM_CACHE_REF 1
    v
}

fn expected_reg_send(msg: &str) -> DistMessage {
    DistMessage {
        control: reg_send(),
        payload: Some(Term::atom(msg)),
    }
}

#[test]
fn atom_cache_new_entries_then_cached_refs() {
    let mut dec = DistDecoder::new(HDR);
    // N=2: ref0 new in segment 0, ref1 new in segment 3; header-flags nibble 0.
    let mut m1 = vec![131, 68, 2, 0xB8, 0x00];
    m1.extend([5, 10]);
    m1.extend(b"net_kernel");
    m1.extend([7, 5]);
    m1.extend(b"hello");
    m1.extend(reg_send_with_cache_refs());
    assert_eq!(dec.decode(&m1).unwrap(), Some(expected_reg_send("hello")));
    assert_eq!(dec.atom_cache().get(5), Some(&Atom::new("net_kernel")));
    assert_eq!(dec.atom_cache().get(3 * 256 + 7), Some(&Atom::new("hello")));

    // Same slots, cached refs only.
    let mut m2 = vec![131, 68, 2, 0x30, 0x00, 5, 7];
    m2.extend(reg_send_with_cache_refs());
    assert_eq!(dec.decode(&m2).unwrap(), Some(expected_reg_send("hello")));

    // Overwrite slot 3*256+7 with a new atom, then use it cached.
    let mut m3 = vec![131, 68, 2, 0xB0, 0x00, 5, 7, 3];
    m3.extend(b"bye");
    m3.extend(reg_send_with_cache_refs());
    assert_eq!(dec.decode(&m3).unwrap(), Some(expected_reg_send("bye")));
    assert_eq!(dec.decode(&m2).unwrap(), Some(expected_reg_send("bye")));

    // A cached ref to an empty slot is fatal.
    let mut m4 = vec![131, 68, 2, 0x30, 0x00, 5, 8];
    m4.extend(reg_send_with_cache_refs());
    assert_eq!(
        dec.decode(&m4),
        Err(DistError::EmptyCacheSlot { slot: 3 * 256 + 8 })
    );
}

#[test]
fn atom_cache_long_atoms() {
    let mut dec = DistDecoder::new(HDR);
    // N=3 (odd): nibbles ref0=0x8, ref1=0x8 | seg 7, ref2=0x8; header nibble (pos 3,
    // high nibble of byte 1) = LongAtoms.
    let mut m = vec![131, 68, 3, 0xF8, 0x18];
    m.extend([1, 0, 10]);
    m.extend(b"net_kernel");
    m.extend([255, 0, 5]);
    m.extend(b"hello");
    m.extend([2, 0, 1, b'x']);
    m.extend(reg_send_with_cache_refs());
    assert_eq!(dec.decode(&m).unwrap(), Some(expected_reg_send("hello")));
    assert_eq!(
        dec.atom_cache().get(7 * 256 + 255),
        Some(&Atom::new("hello"))
    );
    assert_eq!(dec.atom_cache().get(2), Some(&Atom::new("x")));
}

#[test]
fn atom_cache_refs_rejected_without_flag_and_out_of_range() {
    let mut m = vec![131, 68, 1, 0x08, 5, 1, b'a'];
    m.extend(reg_send_with_cache_refs());
    let mut dec = DistDecoder::new(DistFlags::FRAGMENTS);
    assert_eq!(dec.decode(&m), Err(DistError::AtomCacheNotNegotiated));
    // Ref index 1 used by the message but only one atom in the header.
    let mut dec = DistDecoder::new(HDR);
    assert!(matches!(dec.decode(&m), Err(DistError::Term { .. })));
}

#[test]
fn framing_mode_mixing_is_fatal() {
    let mut pass = Vec::new();
    DistEncoder::new(PASS)
        .encode_frame(&reg_send(), Some(&Term::Nil), &mut pass)
        .unwrap();
    let mut hdr = Vec::new();
    DistEncoder::new(HDR)
        .without_atom_cache()
        .encode_frame(&reg_send(), Some(&Term::Nil), &mut hdr)
        .unwrap();
    assert_eq!(
        DistDecoder::new(HDR).decode(&pass[4..]),
        Err(DistError::PassThroughInHeaderMode)
    );
    assert_eq!(
        DistDecoder::new(PASS).decode(&hdr[4..]),
        Err(DistError::HeaderInPassThroughMode)
    );
    // A 131 in front of a term after the header.
    let mut bad = vec![131, 68, 0, 131];
    bad.extend(&hdr[4 + 3..]);
    assert_eq!(
        DistDecoder::new(HDR).decode(&bad),
        Err(DistError::VersionByteInHeaderMode)
    );
    // Fragments need FRAGMENTS.
    let mut f = vec![131, 69];
    f.extend(1u64.to_be_bytes());
    f.extend(1u64.to_be_bytes());
    f.push(0);
    f.extend(&hdr[4 + 3..]);
    assert_eq!(
        DistDecoder::new(HDR).decode(&f),
        Err(DistError::FragmentsNotNegotiated)
    );
    assert!(DistDecoder::new(frag()).decode(&f).unwrap().is_some());
}

#[test]
fn trailing_bytes_missing_payload_and_compressed() {
    let mut hdr = Vec::new();
    DistEncoder::new(HDR)
        .encode_frame(&reg_send(), Some(&Term::Nil), &mut hdr)
        .unwrap();
    let mut extra = hdr[4..].to_vec();
    extra.push(106);
    assert_eq!(
        DistDecoder::new(HDR).decode(&extra),
        Err(DistError::TrailingBytes { count: 1 })
    );
    let no_msg = &hdr[4..hdr.len() - 1];
    assert!(matches!(
        DistDecoder::new(HDR).decode(no_msg),
        Err(DistError::MissingPayload { op: 6, .. })
    ));

    let mut pass = Vec::new();
    DistEncoder::new(PASS)
        .encode_frame(&reg_send(), Some(&Term::Nil), &mut pass)
        .unwrap();
    let mut extra = pass[4..].to_vec();
    extra.push(131);
    assert_eq!(
        DistDecoder::new(PASS).decode(&extra),
        Err(DistError::TrailingBytes { count: 1 })
    );

    // COMPRESSED (80) as the message term: forbidden inside distribution.
    let compressed = etf::encode(&Term::binary(vec![0u8; 100])).unwrap();
    let mut msg = pass[4..pass.len() - 2].to_vec(); // drop `131 106`
    msg.push(131);
    msg.push(80);
    msg.extend((compressed.len() as u32 - 1).to_be_bytes());
    msg.extend(&compressed[1..]); // not really compressed: rejected by tag anyway
    assert!(matches!(
        DistDecoder::new(PASS).decode(&msg),
        Err(DistError::Term { .. })
    ));
}

// ---- fragments -----------------------------------------------------------------

fn start(seq: u64, id: u64, bytes: &[u8]) -> Vec<u8> {
    let mut v = vec![131, 69];
    v.extend(seq.to_be_bytes());
    v.extend(id.to_be_bytes());
    v.push(0);
    v.extend(bytes);
    v
}

fn cont(seq: u64, id: u64, bytes: &[u8]) -> Vec<u8> {
    let mut v = vec![131, 70];
    v.extend(seq.to_be_bytes());
    v.extend(id.to_be_bytes());
    v.extend(bytes);
    v
}

/// Control body and message body of a REG_SEND carrying `msg`.
fn parts(msg: &Term) -> (Vec<u8>, Vec<u8>) {
    (body(&reg_send().to_term()), body(msg))
}

fn the_message() -> Term {
    Term::tuple(vec![Term::atom("hello"), Term::binary(vec![1u8; 30])])
}

#[test]
fn fragments_in_order_and_interleaved() {
    let (ctrl, msg) = parts(&the_message());
    let (a, b) = msg.split_at(10);
    let (b, c) = b.split_at(10);
    let mut dec = DistDecoder::new(frag());
    // Two sequences interleaved.
    assert_eq!(
        dec.decode(&start(7, 3, &[&ctrl[..], a].concat())).unwrap(),
        None
    );
    assert_eq!(
        dec.decode(&start(9, 2, &[&ctrl[..], a, b].concat()))
            .unwrap(),
        None
    );
    assert_eq!(dec.open_sequences(), 2);
    assert_eq!(dec.decode(&cont(7, 2, b)).unwrap(), None);
    let m9 = dec.decode(&cont(9, 1, c)).unwrap().unwrap();
    let m7 = dec.decode(&cont(7, 1, c)).unwrap().unwrap();
    assert_eq!(m7.payload, Some(the_message()));
    assert_eq!(m9, m7);
    assert_eq!(dec.open_sequences(), 0);
    assert_eq!(dec.buffered_bytes(), 0);
    // Empty continuations are fine; the sequence id can be reused once closed.
    assert_eq!(
        dec.decode(&start(7, 3, &[&ctrl[..], &msg].concat()))
            .unwrap(),
        None
    );
    assert_eq!(dec.decode(&cont(7, 2, &[])).unwrap(), None);
    assert!(dec.decode(&cont(7, 1, &[])).unwrap().is_some());
}

/// A message's buffer is sized at its first continuation for every fragment still to
/// come (up to 8 times what arrived), so the bytes are copied once; the limit counts
/// that capacity, so a peer that announces more fragments than it sends cannot make
/// the node hold more than the limit, or more than a few times what it sent.
#[test]
fn fragment_buffer_is_sized_once_within_the_limit() {
    let big = Term::tuple(vec![Term::atom("blob"), Term::binary(vec![7u8; 40_000])]);
    let (ctrl, msg) = parts(&big);
    // Start: the control and 1,000 message bytes; then 4 continuations of 10,000
    // bytes and the rest.
    let (first, rest) = msg.split_at(1000);
    let chunks: Vec<&[u8]> = rest.chunks(10_000).collect();
    assert_eq!(chunks.len(), 4);
    let mut dec = DistDecoder::new(frag());
    let count = 1 + chunks.len() as u64;
    dec.decode(&start(1, count, &[&ctrl[..], first].concat()))
        .unwrap();
    assert_eq!(dec.buffered_bytes(), 1000);
    dec.decode(&cont(1, count - 1, chunks[0])).unwrap();
    // Room for all four continuations at once, not one by one.
    assert_eq!(dec.buffered_bytes(), 1000 + 4 * 10_000);
    for (i, c) in chunks.iter().enumerate().skip(1) {
        let got = dec.decode(&cont(1, count - 1 - i as u64, c)).unwrap();
        assert_eq!(got.is_some(), i == chunks.len() - 1);
        if let Some(m) = got {
            assert_eq!(m.payload, Some(big.clone()));
        }
        if i < chunks.len() - 1 {
            assert_eq!(dec.buffered_bytes(), 1000 + 4 * 10_000);
        }
    }
    assert_eq!(dec.buffered_bytes(), 0);

    // A peer announcing 2^40 fragments gets at most the limit, and fails there.
    let limits = FragmentLimits {
        max_open_sequences: 8,
        max_buffered_bytes: 25_000,
    };
    let mut dec = DistDecoder::with_limits(frag(), limits);
    let count = 1u64 << 40;
    dec.decode(&start(2, count, &[&ctrl[..], first].concat()))
        .unwrap();
    dec.decode(&cont(2, count - 1, chunks[0])).unwrap();
    assert_eq!(dec.buffered_bytes(), 25_000);
    dec.decode(&cont(2, count - 2, chunks[1])).unwrap();
    assert_eq!(
        dec.decode(&cont(2, count - 3, chunks[2])),
        Err(DistError::FragmentBufferFull { max: 25_000 })
    );
    assert!(dec.buffered_bytes() <= 25_000);

    // Announcing 2^40 fragments and sending one byte gets a few bytes of room, not the
    // limit: sizing ahead is bounded by what has arrived.
    let mut dec = DistDecoder::new(frag());
    dec.decode(&start(3, count, &[&ctrl[..], &first[..1]].concat()))
        .unwrap();
    dec.decode(&cont(3, count - 1, &first[1..2])).unwrap();
    assert!(dec.buffered_bytes() <= 32, "{}", dec.buffered_bytes());
}

#[test]
fn fragment_errors() {
    let (ctrl, msg) = parts(&the_message());
    let first = [&ctrl[..], &msg[..5]].concat();
    let mut dec = DistDecoder::new(frag());
    assert_eq!(
        dec.decode(&start(0, 2, &first)),
        Err(DistError::ZeroSequenceId)
    );
    assert_eq!(
        dec.decode(&start(3, 0, &first)),
        Err(DistError::ZeroFragmentId)
    );
    assert_eq!(
        dec.decode(&cont(0, 1, &msg[5..])),
        Err(DistError::ZeroSequenceId)
    );
    assert_eq!(
        dec.decode(&cont(4, 1, &msg[5..])),
        Err(DistError::UnknownSequence { seq: 4 })
    );

    let mut dec = DistDecoder::new(frag());
    dec.decode(&start(5, 3, &first)).unwrap();
    assert_eq!(
        dec.decode(&start(5, 3, &first)),
        Err(DistError::SequenceAlreadyOpen { seq: 5 })
    );
    assert_eq!(
        dec.decode(&cont(5, 1, &msg[5..])),
        Err(DistError::FragmentOutOfOrder {
            seq: 5,
            expected: 2,
            got: 1
        })
    );

    // The control term must be complete in the first fragment.
    let mut dec = DistDecoder::new(frag());
    assert_eq!(
        dec.decode(&start(5, 2, &ctrl[..ctrl.len() - 2])),
        Err(DistError::ControlNotInFirstFragment)
    );

    // Limits.
    let limits = FragmentLimits {
        max_open_sequences: 1,
        max_buffered_bytes: 1 << 20,
    };
    let mut dec = DistDecoder::with_limits(frag(), limits);
    dec.decode(&start(1, 2, &first)).unwrap();
    assert_eq!(
        dec.decode(&start(2, 2, &first)),
        Err(DistError::TooManyOpenSequences { max: 1 })
    );
    let limits = FragmentLimits {
        max_open_sequences: 8,
        max_buffered_bytes: 8,
    };
    let mut dec = DistDecoder::with_limits(frag(), limits);
    dec.decode(&start(1, 3, &ctrl)).unwrap();
    dec.decode(&cont(1, 2, &msg[..8])).unwrap();
    assert_eq!(
        dec.decode(&cont(1, 1, &msg[8..])),
        Err(DistError::FragmentBufferFull { max: 8 })
    );
}

/// The first REG_SEND carries its atoms' text as new cache entries; the second one
/// only their slots (one byte each), and both decode.
#[test]
fn repeated_atoms_travel_as_cache_refs() {
    let mut enc = DistEncoder::new(HDR);
    let mut dec = DistDecoder::new(HDR);
    let (mut first, mut second) = (Vec::new(), Vec::new());
    enc.encode_frame(&reg_send(), Some(&Term::Nil), &mut first)
        .unwrap();
    enc.encode_frame(&reg_send(), Some(&Term::Nil), &mut second)
        .unwrap();
    // 131 68 N: the sender's node, '' and net_kernel.
    assert_eq!(&first[4..7], &[131, 68, 3]);
    assert_eq!(&second[4..7], &[131, 68, 3]);
    let has = |frame: &[u8], text: &[u8]| frame.windows(text.len()).any(|w| w == text);
    assert!(has(&first, b"net_kernel"));
    assert!(!has(&second, b"net_kernel"));
    // Three new-entry nibbles (bit 3 set) in the first, none in the second.
    assert_eq!(first[7] & 0x88, 0x88);
    assert_eq!(second[7] & 0x88, 0);
    assert!(second.len() < first.len());
    for wire in [&first, &second] {
        let got = decode_all(&mut dec, wire).unwrap();
        assert_eq!(got[0].control, reg_send());
    }
    // A decoder that missed the first frame has empty slots: the header is corrupt.
    assert!(matches!(
        DistDecoder::new(HDR).decode(&second[4..]),
        Err(DistError::EmptyCacheSlot { .. })
    ));
}

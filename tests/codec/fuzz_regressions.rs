//! Inputs the fuzz targets (`fuzz/`, docs/fuzzing.md) found to break a rule, kept as
//! tests: each replays the input through the same entry point as its target.

use beamnode::proto::dist::{DistDecoder, DistEncoder, DistError, DistMessage, Payload};
use beamnode::proto::DistFlags;
use beamnode::term::Atom;
use beamnode::Term;

/// The `dist` target's input `crash-d6612b50…` (2026-12-06, after 36.8 M runs): a
/// SEND whose payload holds a native record (tag 67), on a connection without
/// NATIVE_RECORDS. The decoder accepted it, and the message could not be sent back
/// (`NativeRecordsNotNegotiated`). Such a peer breaks the protocol: the decoder now
/// refuses the message and the connection closes.
const DIST_RECORD_WITHOUT_FLAG: &[&str] = &[
    "0b6a008344006804610c77005877000c706c74000063616c6861616a74000000036a613b74000000",
    "04610c77005877000c706c00006361006804610c77005877000c70006a74d4d4d4d4d4d4d46a7400",
    "0000036a61ff7400000004610c77005877000c706c00006361006804610c77005877000c70006361",
    "006804610c77005877000c706c6861616a74006e616a68016101612e6a61ff7400000004610c7700",
    "58770090706c00006361006804610c77006a61004300000000007396969696969696969696969696",
    "96969696969696969696969696969696969696969696969673736273727373737373737373737373",
    "00260000000000000000000000000200680443000000000077007725004300000000007373737373",
    "73737373737373737373737373737373b97373737373732aad6e8344006804680474000000047400",
    "0040006a610068003a61ff6161740000007373737373737373737373626567696e29737373737373",
    "737373000000036a616a77006801616a61ff7400000004610c77005877000c706c00006361006804",
    "610c58770077000c70006361006804610c68016101612e6a61ff7400000004610c77005877000c70",
    "6c00006361006804610c77006a616a5877000c706c7400616161646800636a74000000036a61ff74",
    "00000004610c77005877000c706c00006361006804610c7700587700680000000000000000000000",
    "61006804610c77006a61ff6a6a61ff74000000036a616a770068016101617e616a616a6163",
];

fn unhex(parts: &[&str]) -> Vec<u8> {
    let s: String = parts.concat();
    (0..s.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(&s[i..i + 2], 16).unwrap())
        .collect()
}

/// Replays a `dist` input as the target does: the first byte picks the flags, the
/// rest is chunks of a big-endian u16 length and that many bytes. Every message
/// decoded must encode again with the same flags.
fn replay_dist(input: &[u8]) -> Result<(), DistError> {
    let (&sel, mut rest) = input.split_first().unwrap();
    let mut flags = DistFlags::empty();
    if sel & 1 != 0 {
        flags |= DistFlags::DIST_HDR_ATOM_CACHE;
    }
    if sel & 2 != 0 {
        flags |= DistFlags::FRAGMENTS;
    }
    assert_eq!(sel & 4, 0, "this replay uses the default fragment limits");
    let mut dec = DistDecoder::new(flags);
    while rest.len() >= 2 {
        let len = usize::from(u16::from_be_bytes([rest[0], rest[1]]));
        let n = len.min(rest.len() - 2);
        let payload = &rest[2..2 + n];
        rest = &rest[2 + n..];
        if let Some(msg) = dec.decode(payload)? {
            let mut out = Vec::new();
            DistEncoder::new(flags)
                .encode_message(
                    &msg.control,
                    msg.payload.as_ref().map(Payload::Term),
                    &mut out,
                )
                .expect("a received message must re-encode");
        }
    }
    Ok(())
}

#[test]
fn dist_record_without_the_flag_is_refused() {
    let input = unhex(DIST_RECORD_WITHOUT_FLAG);
    assert!(matches!(
        replay_dist(&input),
        Err(DistError::UnexpectedNativeRecord)
    ));
}

/// The rule itself, both ways: a message holding a record decodes when the flag was
/// negotiated and is refused when it was not.
#[test]
fn native_records_are_received_only_with_the_flag() {
    let record = crate::wire_dist::one_field_record();
    let msg = Term::tuple(vec![Term::atom("x"), record]);
    let to = beamnode::Pid::new(Atom::new("b@h"), 1, 0, 1);
    let control = beamnode::proto::control::ControlMessage::Send { to, token: None };
    let with = DistFlags::FRAGMENTS | DistFlags::NATIVE_RECORDS;
    let mut out = Vec::new();
    DistEncoder::new(with)
        .encode_message(&control, Some(Payload::Term(&msg)), &mut out)
        .unwrap();
    let frame = &out[4..];
    let got: Option<DistMessage> = DistDecoder::new(with).decode(frame).unwrap();
    assert_eq!(got.and_then(|m| m.payload), Some(msg));
    assert!(matches!(
        DistDecoder::new(DistFlags::FRAGMENTS).decode(frame),
        Err(DistError::UnexpectedNativeRecord)
    ));
}

//! The distribution payload decoder (`DistDecoder::decode`) and fragment reassembly.
//! The first input byte picks the negotiated flags (pass-through, header mode with the
//! atom cache, fragments) and the fragment limits; the rest is split into payloads fed
//! in order. Every complete message must re-encode (`DistEncoder`) into frames that a
//! fresh decoder turns back into an equal message.
#![no_main]

#[path = "common.rs"]
mod common;

use beamnode::proto::dist::{DistDecoder, DistEncoder, DistMessage, FragmentLimits, Payload};
use beamnode::proto::DistFlags;
use common::Chunks;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Some((&sel, rest)) = data.split_first() else {
        return;
    };
    let mut flags = DistFlags::empty();
    if sel & 1 != 0 {
        flags = flags | DistFlags::DIST_HDR_ATOM_CACHE;
    }
    if sel & 2 != 0 {
        flags = flags | DistFlags::FRAGMENTS;
    }
    let limits = if sel & 4 != 0 {
        FragmentLimits {
            max_open_sequences: 2,
            max_buffered_bytes: 512,
        }
    } else {
        FragmentLimits::default()
    };
    let mut dec = DistDecoder::with_limits(flags, limits);
    for payload in Chunks(rest) {
        match dec.decode(payload) {
            Ok(Some(msg)) => check(&msg, flags, sel),
            Ok(None) => {}
            Err(e) => {
                let _ = e.to_string();
                break;
            }
        }
        assert!(dec.open_sequences() <= limits.max_open_sequences);
        assert!(dec.buffered_bytes() <= limits.max_buffered_bytes);
    }
});

fn check(msg: &DistMessage, flags: DistFlags, sel: u8) {
    if let Some(p) = &msg.payload {
        common::check_term(p);
    }
    let mut enc = DistEncoder::new(flags);
    if sel & 8 != 0 {
        enc = enc.with_fragment_size(usize::from(sel >> 4) + 1);
    }
    let mut out = Vec::new();
    enc.encode_message(
        &msg.control,
        msg.payload.as_ref().map(Payload::Term),
        &mut out,
    )
    .expect("a received message must re-encode");
    let mut dec = DistDecoder::new(flags);
    let mut got = None;
    let mut rest = &out[..];
    while !rest.is_empty() {
        let len = u32::from_be_bytes(rest[..4].try_into().unwrap()) as usize;
        let payload = &rest[4..4 + len];
        rest = &rest[4 + len..];
        assert!(got.is_none(), "frames after the complete message");
        got = dec.decode(payload).expect("our own frames decode");
    }
    assert_eq!(got.as_ref(), Some(msg));
}

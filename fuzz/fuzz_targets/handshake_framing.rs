//! The 4-byte handshake framing of TLS distribution (`HandshakeFraming`, §17.2) fed
//! arbitrary chunks, with the first input byte choosing the wire framing (bit 0: 2-byte,
//! else 4-byte). What must hold: what comes out of `next_input`, framed for the wire
//! again with `outgoing`, followed by `leftover`, is exactly the input — no byte lost,
//! duplicated or moved — and every message handed on is one whole 2-byte-framed message
//! (4-byte framing).
#![no_main]

#[path = "common.rs"]
mod common;

use beamnode::proto::handshake::{HandshakeFraming, WireFraming};
use common::Chunks;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Some((&sel, rest)) = data.split_first() else {
        return;
    };
    let wire = if sel & 1 == 1 {
        WireFraming::Packet2
    } else {
        WireFraming::Packet4
    };
    let mut f = HandshakeFraming::new(wire);
    let mut fed = Vec::new();
    let mut out = Vec::new();
    for chunk in Chunks(rest) {
        f.push(chunk);
        fed.extend_from_slice(chunk);
        loop {
            match f.next_input() {
                Ok(Some(m)) => {
                    if wire == WireFraming::Packet4 {
                        let len = usize::from(u16::from_be_bytes([m[0], m[1]]));
                        assert_eq!(m.len(), 2 + len, "one whole message");
                    }
                    out.extend(f.outgoing(m));
                }
                Ok(None) => break,
                Err(e) => {
                    let _ = e.to_string();
                    return;
                }
            }
        }
    }
    out.extend(f.leftover());
    assert_eq!(out, fed);
});

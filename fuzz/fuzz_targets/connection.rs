//! A whole up connection (`proto::connection::Connection`, sans-IO): framing, ticks,
//! the payload codec, fragment reassembly and the origin/destination checks, fed
//! arbitrary byte chunks. The first input byte picks the negotiated flags, visibility
//! and small limits; the first chunk is the handshake's leftover. Received messages
//! are sent back, so the encoder sees every decoded term too.
#![no_main]

#[path = "common.rs"]
mod common;

use beamnode::proto::connection::Endpoints;
use beamnode::proto::DistFlags;
use beamnode::Atom;
use common::Chunks;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Some((&sel, rest)) = data.split_first() else {
        return;
    };
    // Names and creation of the OTP 25 captures in tests/codec/etf_captures.rs.
    let mut flags = DistFlags::REQUIRED;
    if sel & 1 != 0 {
        flags |= DistFlags::DIST_HDR_ATOM_CACHE;
    }
    if sel & 2 != 0 {
        flags |= DistFlags::FRAGMENTS;
    }
    if sel & 4 != 0 {
        flags |= DistFlags::SEND_SENDER;
    }
    let ends = Endpoints {
        local: Atom::new("py@localhost"),
        local_creation: 0x6B06_2EBA,
        peer: Atom::new("otp_vis@localhost"),
        flags,
        visible: sel & 8 != 0,
    };
    let cfg = common::connection_config(sel);
    let mut chunks = Chunks(rest);
    let leftover = chunks.next().unwrap_or(&[]);
    common::drive_connection(ends, &cfg, leftover, chunks);
});

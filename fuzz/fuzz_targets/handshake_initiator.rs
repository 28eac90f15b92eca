//! The dialling side of the handshake (`Initiator`), fed arbitrary input chunks. The
//! configuration is the one of vector A in tests/codec/handshake_vectors.rs (a real OTP 25
//! exchange), so the captured replies, digests included, make a seed that reaches
//! `Established`; from there the rest of the input drives the connection.
//! First input byte: bit 0 = we are reconnecting, bit 1 = ask for a dynamic name
//! (NAME_ME), bits 4-5 = connection limits (see `common::connection_config`).
#![no_main]

#[path = "common.rs"]
mod common;

use beamnode::proto::connection::Endpoints;
use beamnode::proto::handshake::{Cookie, Initiator, InitiatorConfig, InitiatorNext, LocalName};
use beamnode::proto::DistFlags;
use beamnode::Atom;
use common::Chunks;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Some((&sel, rest)) = data.split_first() else {
        return;
    };
    let our_name = if sel & 2 != 0 {
        LocalName::NameMe {
            host: "localhost".into(),
        }
    } else {
        LocalName::Static("py@localhost".into())
    };
    let (mut init, first) = Initiator::start(InitiatorConfig {
        our_name,
        our_creation: 0x6B06_2EB9,
        our_flags: DistFlags(0x0000_000D_075F_1FBD),
        cookie: Cookie::new("testcookie").unwrap(),
        our_challenge: 0x1234_ABCD,
        peer_name: "otpa@localhost".into(),
        reconnecting: sel & 1 != 0,
    })
    .unwrap();
    assert!(!first.is_empty());
    let mut chunks = Chunks(rest);
    while let Some(chunk) = chunks.next() {
        let step = match init.handle(chunk) {
            Ok(step) => step,
            Err(e) => {
                let _ = e.to_string();
                return;
            }
        };
        match step.next {
            InitiatorNext::Continue(i) => init = i,
            InitiatorNext::Established(est) => {
                let ends = Endpoints {
                    local: Atom::new(&est.our_name),
                    local_creation: est.our_creation,
                    peer: Atom::new(&est.peer_name),
                    flags: est.negotiated,
                    visible: est.is_visible(),
                };
                let cfg = common::connection_config(sel);
                common::drive_connection(ends, &cfg, &est.leftover, chunks);
                return;
            }
            InitiatorNext::Nok | InitiatorNext::AliveDeclined => return,
        }
    }
});

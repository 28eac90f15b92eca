//! The listening side of the handshake (`Acceptor`), fed arbitrary input chunks,
//! including the status decision: at `NeedStatus` the status comes from the first
//! input byte (bits 0-2: ok, ok_simultaneous, nok, not_allowed, alive, or
//! `accept_status` with bits 3-4 as "pending attempt" / "connection up"; bit 7: switch
//! to another cookie). The configuration is the one of vector B in
//! tests/codec/handshake_vectors.rs (a real OTP 25 exchange), so the captured messages make a
//! seed that reaches `Established`; from there the rest of the input drives the
//! connection.
#![no_main]

#[path = "common.rs"]
mod common;

use beamnode::proto::connection::Endpoints;
use beamnode::proto::handshake::{
    accept_status, Acceptor, AcceptorConfig, AcceptorNext, Cookie, Status,
};
use beamnode::proto::DistFlags;
use beamnode::Atom;
use common::Chunks;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Some((&sel, rest)) = data.split_first() else {
        return;
    };
    let acc = Acceptor::new(AcceptorConfig {
        our_name: "py@localhost".into(),
        our_creation: 0x6B06_2EBA,
        our_flags: DistFlags(0x0000_000D_075F_5FBD),
        cookie: Cookie::new("testcookie").unwrap(),
        our_challenge: 0x1234_ABCD,
        name_me_random: 1,
        name_me_creation: 2,
    })
    .unwrap();
    let mut chunks = Chunks(rest);
    let mut next = AcceptorNext::Continue(acc);
    loop {
        next = match next {
            AcceptorNext::Continue(acc) => {
                let Some(chunk) = chunks.next() else {
                    return;
                };
                match acc.handle(chunk) {
                    Ok(step) => step.next,
                    Err(e) => {
                        let _ = e.to_string();
                        return;
                    }
                }
            }
            AcceptorNext::NeedStatus(mut pending) => {
                let _ = (
                    pending.peer_name(),
                    pending.peer_flags(),
                    pending.peer_creation(),
                    pending.name_me_host(),
                    pending.is_old_name(),
                );
                let status = match sel & 7 {
                    0 => Status::Ok,
                    1 => Status::OkSimultaneous,
                    2 => Status::Nok,
                    3 => Status::NotAllowed,
                    4 => Status::Alive,
                    _ => accept_status(
                        "py@localhost",
                        pending.peer_name(),
                        sel & 8 != 0,
                        sel & 16 != 0,
                    ),
                };
                if sel & 0x80 != 0 {
                    pending.set_cookie(Cookie::new("other").unwrap());
                }
                match pending.status(status) {
                    Ok(step) => step.next,
                    Err(e) => {
                        let _ = e.to_string();
                        return;
                    }
                }
            }
            AcceptorNext::Established(est) => {
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
            AcceptorNext::Closed(_) | AcceptorNext::Refused(_) => return,
        };
    }
});

//! The control-message decoder: arbitrary ETF bytes, decoded, then through
//! `ControlMessage::from_term` as a received control tuple is. A valid control message
//! must survive `to_term` → `from_term` unchanged, and its term must encode.
#![no_main]

#[path = "common.rs"]
mod common;

use beamnode::etf;
use beamnode::proto::control::ControlMessage;
use beamnode::Atom;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(t) = etf::decode(data) else {
        return;
    };
    let Ok(msg) = ControlMessage::from_term(t) else {
        return;
    };
    let _ = (
        msg.op(),
        msg.name(),
        msg.has_payload(),
        msg.sender(),
        msg.token(),
    );
    let _ = msg.check_origin(&Atom::new("otp_vis@localhost"));
    let _ = msg.check_destination(&Atom::new("py@localhost"), 0x6B06_2EBA);
    let term = msg.to_term();
    common::check_term(&term);
    let again = ControlMessage::from_term(term).expect("to_term of a valid message decodes");
    assert_eq!(again, msg);
});

//! The term-text parser (`term::parse::parse_term`, `parse_args`). What parses must
//! print (`Display`) to text that parses back to an equal term, as long as it is
//! shallow enough to be printed in full, and must survive an ETF round trip when it
//! can be encoded.
#![no_main]

#[path = "common.rs"]
mod common;

use beamnode::etf;
use beamnode::term::display::MAX_DEPTH;
use beamnode::term::parse::{parse_args, parse_term};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    let _ = parse_args(text);
    let Ok(t) = parse_term(text) else {
        return;
    };
    let printed = t.to_string();
    if common::depth(&t) <= MAX_DEPTH {
        let back = parse_term(&printed)
            .unwrap_or_else(|e| panic!("printed term {printed:?} does not parse: {e}"));
        assert!(back == t, "{printed:?} parses to another term");
    }
    if let Ok(bytes) = etf::encode(&t) {
        let back = etf::decode(&bytes).expect("our encoding decodes");
        assert!(back == t);
    }
});

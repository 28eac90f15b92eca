//! The ETF decoder: `etf::decode_with` (standalone terms) and `etf::decode_body` (terms
//! after a distribution header), with and without COMPRESSED and an atom cache, picked
//! by the first input byte. Whatever decodes must re-encode and decode to an equal term,
//! and a body decoded from a shared buffer (`etf::decode_body_shared`, binaries sliced
//! instead of copied) must give the same term and length as one decoded from a slice.
#![no_main]

#[path = "common.rs"]
mod common;

use beamnode::etf::{self, DecodeOptions};
use beamnode::Atom;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Some((&sel, bytes)) = data.split_first() else {
        return;
    };
    let cache = [Atom::new("a"), Atom::new("node@host"), Atom::new("")];
    let opts = DecodeOptions {
        atom_cache: (sel & 2 != 0).then_some(&cache[..]),
        allow_compressed: sel & 1 != 0,
        // Small limits now and then, so the depth check is fuzzed too.
        max_depth: if sel & 16 != 0 { 3 } else { usize::MAX },
    };
    if sel & 4 == 0 {
        if let Ok(t) = etf::decode_with(bytes, &opts) {
            common::check_term(&t);
            if sel & 8 != 0 {
                // The compressed encoding decodes to the same term too.
                let z = etf::encode_compressed(&t, u32::from(sel >> 4) % 10)
                    .expect("a decoded term must compress");
                assert!(etf::decode(&z).expect("our compressed term decodes") == t);
            }
        }
    } else if let Ok((t, used)) = etf::decode_body(bytes, &opts) {
        assert!(used <= bytes.len());
        let shared = beamnode::term::Bytes::copy_from_slice(bytes);
        let (s, n) = etf::decode_body_shared(&shared, &opts).expect("decodes when shared");
        assert!(n == used && s == t, "shared decode differs");
        common::check_term(&t);
        // Without the options' extras, the body bytes it used encode the same term.
        let mut body = Vec::new();
        etf::encode_body_into(&t, &mut body).expect("a decoded term must re-encode");
        let (again, n) = etf::decode_body(&body, &DecodeOptions::default()).expect("decodes");
        assert_eq!(n, body.len());
        assert!(again == t);
    }
});

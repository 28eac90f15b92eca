//! The codec test crate: pure encoding/decoding and property tests (ETF, handshake,
//! distribution frames and control messages, EPMD messages and registry, term
//! syntax), with no external process. One test binary; each module is one former
//! top-level test file. Run with `cargo test --test codec`.

#[path = "../common/mod.rs"]
mod common;
mod wire_strategies;

mod epmd_codec;
mod epmd_registry;
mod etf_captures;
mod etf_fixtures;
mod etf_proptest;
mod etf_records;
mod etf_regressions;
mod fuzz_regressions;
mod handshake_props;
mod handshake_vectors;
#[cfg(feature = "serde")]
mod serde_term;
mod term_syntax;
mod wire_control;
mod wire_dist;
mod wire_frames;

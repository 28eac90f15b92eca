//! ETF codec loops on beamnode's side: the corpus written by `make_corpus/2` in
//! bench_beam.erl (`<<Len:32, TermToBinary/binary>>` entries), decoded with
//! `beamnode::etf::decode` and encoded back with `beamnode::etf::encode`.

use beamnode::Term;
use std::hint::black_box;
use std::time::Instant;

/// The corpus entries (each a complete external term, version byte included).
pub fn read_corpus(path: &std::path::Path) -> Vec<Vec<u8>> {
    let bytes = std::fs::read(path).expect("read the ETF corpus");
    let mut out = Vec::new();
    let mut rest = &bytes[..];
    while rest.len() >= 4 {
        let len = u32::from_be_bytes(rest[..4].try_into().unwrap()) as usize;
        out.push(rest[4..4 + len].to_vec());
        rest = &rest[4 + len..];
    }
    out
}

/// Microseconds for `reps` passes of `decode` over every entry.
pub fn decode_us(corpus: &[Vec<u8>], reps: u32) -> f64 {
    let t0 = Instant::now();
    for _ in 0..reps {
        for b in corpus {
            black_box(beamnode::etf::decode(black_box(b)).expect("decode"));
        }
    }
    t0.elapsed().as_secs_f64() * 1e6
}

/// Microseconds for `reps` passes of `encode` over every decoded entry.
pub fn encode_us(corpus: &[Vec<u8>], reps: u32) -> f64 {
    let terms: Vec<Term> = corpus
        .iter()
        .map(|b| beamnode::etf::decode(b).expect("decode"))
        .collect();
    let t0 = Instant::now();
    for _ in 0..reps {
        for t in &terms {
            black_box(beamnode::etf::encode(black_box(t)).expect("encode"));
        }
    }
    t0.elapsed().as_secs_f64() * 1e6
}

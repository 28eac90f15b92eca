//! In-process ETF codec figures (criterion): `beamnode::etf::decode` and `encode` over a
//! corpus built in Rust with the shapes of the side-by-side suite's corpus
//! (`make_corpus/3` in scripts/bench/bench_beam.erl): maps with atom and binary keys,
//! pids, refs, nested tuples, integer lists, strings, floats, and (mixed corpus only)
//! binaries of 16 B..64 KiB. Run with `cargo bench --bench etf`; the suite's
//! `scripts/bench.sh` compares against BEAM, this only tracks beamnode over time.

use beamnode::term::{Float, Pid, Reference};
use beamnode::{Atom, Term};
use criterion::{criterion_group, criterion_main, Criterion, Throughput};
use std::hint::black_box;

fn bin(s: &str) -> Term {
    Term::binary(s.as_bytes())
}

fn string(s: &str) -> Term {
    Term::list(s.bytes().map(|b| Term::Int(b as i64)).collect())
}

fn ints(from: i64, to: i64) -> Term {
    Term::list((from..=to).map(Term::Int).collect())
}

/// A small deterministic generator (xorshift), so both runs build the same corpus.
struct Rng(u64);
impl Rng {
    fn next(&mut self) -> f64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        (self.0 >> 11) as f64 / (1u64 << 53) as f64
    }
}

fn corpus_term(i: i64, rng: &mut Rng, pid: &Pid, r: &Reference) -> Term {
    let a = Term::atom;
    match i % 8 {
        0 => Term::map(vec![
            (a("id"), Term::Int(i)),
            (a("name"), bin(&format!("user_{i}"))),
            (a("active"), a(if i % 3 == 0 { "true" } else { "false" })),
            (a("score"), Term::Float(Float(i as f64 * 1.5))),
            (a("owner"), Term::Pid(pid.clone())),
            (a("session"), Term::Ref(r.clone())),
            (
                a("tags"),
                Term::list(vec![a("alpha"), a("beta"), a("gamma")]),
            ),
            (
                a("address"),
                Term::map(vec![
                    (a("street"), bin("Main Street")),
                    (a("no"), Term::Int(i % 200)),
                    (a("zip"), string("75001")),
                ]),
            ),
        ]),
        1 => Term::map(vec![
            (bin("event"), bin("click")),
            (bin("ts"), Term::Int(1_700_000_000_000 + i)),
            (
                bin("payload"),
                Term::map(vec![
                    (bin("x"), Term::Int(i)),
                    (bin("y"), Term::Int(-i)),
                    (bin("path"), bin("/a/b/c")),
                ]),
            ),
            (bin("ids"), ints(i, i + 20)),
        ]),
        2 => Term::tuple(vec![
            a("order"),
            Term::Int(i),
            Term::tuple(vec![
                a("customer"),
                bin(&format!("c{i}")),
                Term::Pid(pid.clone()),
            ]),
            Term::list(
                (1..=5)
                    .map(|n| {
                        Term::tuple(vec![
                            a("item"),
                            Term::Int(n),
                            Term::Float(Float(n as f64 * 2.25)),
                            bin(&format!("sku-{n}")),
                        ])
                    })
                    .collect(),
            ),
        ]),
        3 => Term::binary(vec![b'x'; (16.0 * 4096f64.powf(rng.next())) as usize]),
        4 => ints(1, 50 + i % 200),
        5 => string(&format!("The quick brown fox jumps over the lazy dog {i}")),
        6 => Term::list(
            (0..32)
                .map(|_| Term::Float(Float(rng.next() * 1000.0)))
                .collect(),
        ),
        _ => Term::tuple(vec![
            a("reply"),
            Term::Ref(r.clone()),
            Term::tuple(vec![
                a("ok"),
                Term::list(vec![
                    Term::tuple(vec![a("key"), Term::Int(i)]),
                    Term::tuple(vec![a("value"), bin(&format!("v{i}"))]),
                    Term::tuple(vec![a("pid"), Term::Pid(pid.clone())]),
                ]),
            ]),
        ]),
    }
}

fn corpus(mixed: bool) -> Vec<Vec<u8>> {
    let node = Atom::new("bench@localhost");
    let pid = Pid::new(node.clone(), 85, 0, 1_700_000_000);
    let r = Reference {
        node,
        creation: 1_700_000_000,
        ids: vec![1, 2, 3],
    };
    let mut rng = Rng(0x9E37_79B9_7F4A_7C15);
    (1..)
        .filter(|i| mixed || i % 8 != 3)
        .take(4000)
        .map(|i| beamnode::etf::encode(&corpus_term(i, &mut rng, &pid, &r)).expect("encode"))
        .collect()
}

fn bench(c: &mut Criterion) {
    for (name, mixed) in [("mixed", true), ("structured", false)] {
        let bytes = corpus(mixed);
        let terms: Vec<Term> = bytes
            .iter()
            .map(|b| beamnode::etf::decode(b).expect("decode"))
            .collect();
        let total: usize = bytes.iter().map(Vec::len).sum();
        let mut g = c.benchmark_group(format!("etf_{name}"));
        g.throughput(Throughput::Bytes(total as u64));
        g.bench_function("decode", |b| {
            b.iter(|| {
                for x in &bytes {
                    black_box(beamnode::etf::decode(black_box(x)).expect("decode"));
                }
            })
        });
        g.bench_function("encode", |b| {
            b.iter(|| {
                for t in &terms {
                    black_box(beamnode::etf::encode(black_box(t)).expect("encode"));
                }
            })
        });
        g.finish();
    }
}

criterion_group!(benches, bench);
criterion_main!(benches);

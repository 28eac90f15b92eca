//! In-process figures for the receive path of distribution messages (criterion):
//! `DistDecoder::decode` of header-mode frames as a peer sends them — a `REG_SEND`
//! control with the atom cache in use, then the message `{seq, N, <<64 bytes>>}`, the
//! shape of the side-by-side suite's small-message rows — with the decoded message
//! dropped, as delivery would. Run with `cargo bench --bench dist`; this tracks
//! beamnode over time, `scripts/bench.sh` compares with BEAM.

use beamnode::proto::control::ControlMessage;
use beamnode::proto::dist::{DistDecoder, DistEncoder, Payload};
use beamnode::proto::flags::DistFlags;
use beamnode::{Atom, Pid, Term};
use criterion::{criterion_group, criterion_main, Criterion, Throughput};
use std::hint::black_box;

/// 1,000 frames (length prefix removed) from one encoder, so that its atom cache
/// entries are created in the first frames and referenced in the rest.
fn frames(flags: DistFlags) -> Vec<Vec<u8>> {
    let mut enc = DistEncoder::new(flags);
    let from = Pid::new(
        Atom::new("bdriver_123456_1@localhost"),
        93,
        0,
        1_700_000_000,
    );
    (0..1000)
        .map(|i| {
            let control = ControlMessage::RegSend {
                from: from.clone(),
                to_name: Atom::new(&format!("sink_{}", i % 8)),
                token: None,
            };
            let msg = Term::tuple(vec![
                Term::atom("seq"),
                Term::Int(i),
                Term::binary([7u8; 64]),
            ]);
            let mut out = Vec::new();
            enc.encode_message(&control, Some(Payload::Term(&msg)), &mut out)
                .expect("encode");
            out.split_off(4)
        })
        .collect()
}

fn bench(c: &mut Criterion) {
    let flags = DistFlags::IMPLEMENTED;
    let frames = frames(flags);
    let mut g = c.benchmark_group("dist");
    g.throughput(Throughput::Elements(frames.len() as u64));
    g.bench_function("decode_reg_send_small", |b| {
        b.iter(|| {
            let mut dec = DistDecoder::new(flags);
            for f in &frames {
                black_box(dec.decode(black_box(f)).expect("decode"));
            }
        })
    });
    g.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);

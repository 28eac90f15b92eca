//! Node to node: the same streams and round trips between two beamnode nodes as between
//! two BEAM nodes. The beamnode pair is a second `beamnode::Node` in this process (the
//! driver, its senders written like `sender/6` in bench_beam.erl: `target::Stream`)
//! talking to the beamnode target; the BEAM pair is the BEAM driver and the BEAM target,
//! timed by `run/2` in bench_beam.erl as in the other groups. Each pair times itself.
//! The beamnode driver node runs on a tokio runtime of its own, with the same number
//! of worker threads as the target's (`--workers`).

use super::*;
use beamnode::Node;
use groups::{int, pingpong_ns, quantile_us, stream_us, Stream};
use std::time::Instant;

/// The beamnode driver: a node, and a process on it that starts streams and pings.
struct RustDriver {
    node: Node,
    ctl: Process,
    target: Atom,
}

impl RustDriver {
    /// Registered sinks `bsink_1..K` on the target, as the BEAM driver asks for them.
    async fn sinks(&mut self, k: usize) {
        let msg = Term::tuple(vec![
            Term::atom("sinks"),
            int(k),
            Term::Pid(self.ctl.pid().clone()),
        ]);
        self.ctl
            .send_named(&Atom::new("bench_tgt"), &self.target, msg)
            .await;
        self.ctl
            .receive_match(|m| m.is_atom("sinks_ready"), Some(Duration::from_secs(120)))
            .await
            .expect("sinks_ready from the beamnode target");
    }

    /// `k` senders, `n` messages in all, to the target's sinks; microseconds from the
    /// first sender's start to the last one's final ack.
    async fn stream_us(
        &mut self,
        k: usize,
        n: usize,
        size: usize,
        ack_every: usize,
        window: usize,
    ) -> f64 {
        self.sinks(k).await;
        let t0 = Instant::now();
        for i in 1..=k {
            let s = target::Stream {
                sink: target::sink_name(i as i64),
                node: self.target.clone(),
                n: (n / k) as i64,
                size,
                ack_every: ack_every as i64,
                window: window as i64,
            };
            let reply = self.ctl.pid().clone();
            self.node.spawn(move |mut p| async move {
                s.run(&mut p).await;
                p.send(&reply, Term::atom("sent")).await;
            });
        }
        for _ in 0..k {
            self.ctl
                .receive_match(|m| m.is_atom("sent"), Some(Duration::from_secs(300)))
                .await
                .expect("every sender done within 300 s");
        }
        t0.elapsed().as_secs_f64() * 1e6
    }

    /// Sorted round trips (ns) to the target's echo, after `warm` discarded.
    async fn pingpong(&mut self, warm: usize, n: usize) -> Vec<f64> {
        let echo = Atom::new("becho");
        let mut rtts = Vec::with_capacity(n);
        for i in 0..warm + n {
            let t0 = Instant::now();
            let ping = Term::tuple(vec![
                Term::atom("ping"),
                Term::Pid(self.ctl.pid().clone()),
                int(i),
            ]);
            self.ctl.send_named(&echo, &self.target, ping).await;
            let want = int(i);
            self.ctl
                .receive_match(
                    |m| matches!(m.as_tuple(), Some([t, j]) if t.is_atom("pong") && *j == want),
                    Some(Duration::from_secs(120)),
                )
                .await
                .expect("pong within 120 s");
            if i >= warm {
                rtts.push(t0.elapsed().as_secs_f64() * 1e9);
            }
        }
        rtts.sort_by(|a, b| a.total_cmp(b));
        rtts
    }
}

pub(crate) async fn group_n2n(b: &mut Bench, o: &Opts, epmd: u16) -> Vec<Row> {
    let n = o.n(320_000, 2_000_000);
    let big = o.n(128, 1024);
    let (warm, pings) = (o.n(1000, 10_000), o.n(10_000, 100_000));
    note(format!(
        "node to node: the same work between two beamnode nodes (beamnode column: a second \
         beamnode node in the bench process drives the beamnode target; its senders are \
         target::Stream, timed with Instant) and between two BEAM nodes (BEAM column: the \
         BEAM driver and the BEAM target, timed by bench_beam.erl), alternating. Streams as \
         in msgs and large ({n} small messages; {big} binaries of 1 MiB, ack every message, \
         window 4); ping-pong as above, {pings} round trips after {warm}."
    ));
    // The driver node has a runtime of its own, as a second `beamnode run` would:
    // two BEAM nodes do not share schedulers either.
    let rt = runtime(o.workers);
    let on_rt = rt.handle().clone();
    let target = b.rust_target.clone();
    let mut d = on_rt
        .spawn(async move {
            let node = rust_node("bench_rdrv", epmd, COOKIE).await;
            let mut d = RustDriver {
                ctl: node.process(),
                node,
                target,
            };
            assert!(
                d.node.connect(&d.target).await,
                "connect the two beamnode nodes"
            );
            // Warm the connection both ways.
            d.pingpong(100, 10).await;
            d
        })
        .await
        .expect("start the beamnode driver node");

    let mut rows = Vec::new();
    let shapes: [(&str, usize, usize, usize, usize, usize); 3] = [
        ("msgs 64 B, 8->8 windowed", 8, n, 64, 1000, 5000),
        ("msgs 64 B, 1->1 flood", 1, n, 64, 0, n),
        ("1 MiB binaries", 1, big, 1 << 20, 1, 4),
    ];
    for (label, k, count, size, ack_every, window) in shapes {
        let mb = label.contains("MiB");
        let mut row = Row::new(
            format!("node to node: {label}"),
            if mb { "MB/s" } else { "msgs/s" },
            true,
        );
        if !o.wants_row(&row.name) {
            continue;
        }
        for r in 0..b.rounds {
            for side in o.sides(r) {
                let us = match side {
                    Side::Rust => {
                        let run = on_rt.spawn(async move {
                            let us = d.stream_us(k, count, size, ack_every, window).await;
                            (d, us)
                        });
                        let us;
                        (d, us) = run.await.expect("beamnode driver stream");
                        us
                    }
                    Side::Beam => {
                        let s = Stream {
                            dir: "to_target",
                            k,
                            n: count,
                            size,
                            ack_every,
                            window,
                        };
                        stream_us(b, Side::Beam, &s).await
                    }
                };
                let v = if mb {
                    (count * size) as f64 / 1e6 / (us / 1e6)
                } else {
                    count as f64 / (us / 1e6)
                };
                row.push(side, v);
            }
        }
        print_progress(&row);
        rows.push(row);
    }
    let mut p50 = Row::new("node to node: ping-pong round trip p50", "µs", false);
    let mut p99 = Row::new("node to node: ping-pong round trip p99", "µs", false);
    for r in 0..b.rounds {
        if !o.wants_row(&p50.name) {
            break;
        }
        for side in o.sides(r) {
            let sorted = match side {
                Side::Rust => {
                    let run = on_rt.spawn(async move {
                        let ns = d.pingpong(warm, pings).await;
                        (d, ns)
                    });
                    let ns;
                    (d, ns) = run.await.expect("beamnode driver ping-pong");
                    ns
                }
                Side::Beam => pingpong_ns(b, Side::Beam, warm, pings).await,
            };
            p50.push(side, quantile_us(&sorted, 0.50));
            p99.push(side, quantile_us(&sorted, 0.99));
        }
    }
    if !p50.rust.is_empty() || !p50.beam.is_empty() {
        print_progress(&p50);
        print_progress(&p99);
        rows.push(p50);
        rows.push(p99);
    }
    drop(d);
    rt.shutdown_background();
    rows
}

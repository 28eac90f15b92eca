//! The workload groups of the side-by-side suite (examples/bench_dist.rs): each runs
//! its rows for every round, BEAM and beamnode alternating, and returns them.

use super::*;

pub(crate) fn int(v: usize) -> Term {
    Term::Int(v as i64)
}

pub(crate) struct Stream {
    pub(crate) dir: &'static str,
    pub(crate) k: usize,
    pub(crate) n: usize,
    pub(crate) size: usize,
    pub(crate) ack_every: usize,
    pub(crate) window: usize,
}

pub(crate) async fn stream_us(b: &mut Bench, side: Side, s: &Stream) -> f64 {
    let args = vec![
        b.target(side),
        int(s.k),
        int(s.n),
        int(s.size),
        int(s.ack_every),
        int(s.window),
    ];
    b.run_us(s.dir, args).await
}

pub(crate) async fn group_msgs(b: &mut Bench, o: &Opts) -> Vec<Row> {
    let n = o.n(320_000, 2_000_000);
    let mut rows = Vec::new();
    note(format!(
        "msgs: {n} messages {{seq, I, <<64 bytes>>}} per run from sender process(es) to sink process(es) \
         (registered bsink_1..K); a stream starts with {{hello, Sender, Total, AckEvery}}. \
         Windowed: the sink acks every 1000, a sender stays at most 5000 ahead of the last ack. \
         8->8: 8 senders to 8 registered sinks, {} each. Flood: no acks until the last message. \
         Timed by the driver from the start to every sender's completion (last ack received).",
        n / 8
    ));
    let shapes: [(&str, usize, usize, usize); 3] = [
        ("1->1 windowed", 1, 1000, 5000),
        ("8->8 windowed", 8, 1000, 5000),
        ("1->1 flood", 1, 0, usize::MAX / 4),
    ];
    for (label, k, ack_every, window) in shapes {
        for (dir, arrow) in [
            ("to_target", "driver->target"),
            ("from_target", "target->driver"),
        ] {
            let window = window.min(n);
            let s = Stream {
                dir,
                k,
                n,
                size: 64,
                ack_every,
                window,
            };
            let mut row = Row::new(format!("msgs 64 B, {label}, {arrow}"), "msgs/s", true)
                .with_cpu("message");
            if !o.wants_row(&row.name) {
                continue;
            }
            for r in 0..b.rounds {
                for side in o.sides(r) {
                    let us = stream_us(b, side, &s).await;
                    row.push(side, n as f64 / (us / 1e6));
                    row.push_cpu(side, b.cpu(side), n as f64);
                }
            }
            print_progress(&row);
            rows.push(row);
        }
    }
    rows
}

pub(crate) async fn group_large(b: &mut Bench, o: &Opts) -> Vec<Row> {
    let mut rows = Vec::new();
    for (size, label, count, ack_every, window) in [
        (64 << 10, "64 KiB", o.n(2048, 16384), 16, 64),
        (1 << 20, "1 MiB", o.n(128, 1024), 1, 4),
    ] {
        let mb = (size * count) as f64 / 1e6;
        note(format!(
            "{label}: {count} messages {{seq, I, <<{label}>>}} ({mb:.0} MB) per run, one sender, \
             one sink acking every {ack_every}, window {window} messages. TCP ceiling: a plain Rust \
             sender thread and receiver thread moving the same bytes in {label} writes over \
             127.0.0.1 (no distribution, no term encoding), measured once per round."
        ));
        let mut ceiling = Row::new(
            format!("loopback TCP ceiling, {label} writes (reference, Rust only)"),
            "MB/s",
            true,
        );
        let mut dir_rows = Vec::new();
        for (dir, arrow) in [
            ("to_target", "driver->target"),
            ("from_target", "target->driver"),
        ] {
            dir_rows.push((
                Stream {
                    dir,
                    k: 1,
                    n: count,
                    size,
                    ack_every,
                    window,
                },
                Row::new(format!("{label} binaries, {arrow}"), "MB/s", true).with_cpu("MB"),
            ));
        }
        dir_rows.retain(|(_, row)| o.wants_row(&row.name));
        for r in 0..b.rounds {
            for (s, row) in dir_rows.iter_mut() {
                for side in o.sides(r) {
                    let us = stream_us(b, side, s).await;
                    row.push(side, mb / (us / 1e6));
                    row.push_cpu(side, b.cpu(side), mb);
                }
            }
            if !o.wants_row(&ceiling.name) {
                continue; // a profile of one row: no reference threads beside it
            }
            let us = tokio::task::spawn_blocking(move || tcp::transfer_us(size, count))
                .await
                .expect("tcp");
            ceiling.rust.push(mb / (us / 1e6));
        }
        for (_, row) in dir_rows {
            print_progress(&row);
            rows.push(row);
        }
        if !ceiling.rust.is_empty() {
            print_progress(&ceiling);
            rows.push(ceiling);
        }
    }
    rows
}

/// The driver's `pingpong` run against `side`'s target: sorted round trips in ns.
pub(crate) async fn pingpong_ns(b: &mut Bench, side: Side, warm: usize, n: usize) -> Vec<f64> {
    let t = b.target(side);
    b.run("pingpong", vec![t, int(warm), int(n)])
        .await
        .as_list()
        .expect("list of round trips")
        .iter()
        .map(|t| t.as_int().expect("ns") as f64)
        .collect()
}

/// The `q` quantile of sorted nanoseconds, in µs.
pub(crate) fn quantile_us(sorted_ns: &[f64], q: f64) -> f64 {
    sorted_ns[((sorted_ns.len() as f64 * q) as usize).min(sorted_ns.len() - 1)] / 1e3
}

pub(crate) async fn group_pingpong(b: &mut Bench, o: &Opts) -> Vec<Row> {
    let (warm, n) = (o.n(1000, 10_000), o.n(10_000, 100_000));
    note(format!(
        "ping-pong: a driver process sends {{ping, self(), I}} to the target's registered echo \
         process (becho), which answers {{pong, I}}; {n} sequential round trips after {warm} \
         discarded, timed one by one with erlang:monotonic_time(nanosecond); p50/p99 per run, \
         median over rounds."
    ));
    let mut p50 = Row::new("ping-pong round trip p50", "µs", false).with_cpu("round trip");
    let mut p99 = Row::new("ping-pong round trip p99", "µs", false);
    for r in 0..b.rounds {
        for side in Bench::order(r) {
            let ns = pingpong_ns(b, side, warm, n).await;
            p50.push(side, quantile_us(&ns, 0.50));
            p50.push_cpu(side, b.cpu(side), (warm + n) as f64);
            p99.push(side, quantile_us(&ns, 0.99));
        }
    }
    print_progress(&p50);
    print_progress(&p99);
    vec![p50, p99]
}

pub(crate) async fn group_calls(b: &mut Bench, o: &Opts) -> Vec<Row> {
    let n = o.n(8_000, 80_000);
    let mut rows = Vec::new();
    note(format!(
        "calls: {n} calls per run split over K concurrent caller processes on the driver, \
         timed from the first to the last answer. rpc/erpc: rpc:call(T, M, F, [1, 2]) / \
         erpc:call(...), answer 3 checked; M:F is rust_math:add/2 on beamnode (a registered \
         Rust rpc function, services::rust_math; bignum-capable) and bench_beam:add/2 \
         (A + B in a compiled Erlang module) on BEAM. gen_server: gen_server:call({{kv, T}}, \
         {{get, k}}) -> {{ok, 1}} into beamnode's services::kv and into a gen_server with the \
         same callbacks (bench_beam) on BEAM. Reverse: K processes on the target call \
         gen_server:call({{kv, Driver}}, {{get, k}}) on the driver's gen_server (beamnode: \
         services::gen::call)."
    ));
    for (kind, label) in [
        ("rpc", "rpc:call"),
        ("erpc", "erpc:call"),
        ("genserver", "gen_server:call {kv,T}"),
    ] {
        for k in [1usize, 8] {
            let mut row = Row::new(
                format!("{label}, driver->target, {k} caller(s)"),
                "calls/s",
                true,
            )
            .with_cpu("call");
            if !o.wants_row(&row.name) {
                continue;
            }
            for r in 0..b.rounds {
                for side in o.sides(r) {
                    let mfa = match side {
                        Side::Rust => ("rust_math", "add"),
                        Side::Beam => ("bench_beam", "add"),
                    };
                    let mfa = Term::tuple(vec![Term::atom(mfa.0), Term::atom(mfa.1)]);
                    let args = vec![b.target(side), Term::atom(kind), int(k), int(n), mfa];
                    let us = b.run_us("calls", args).await;
                    row.push(side, n as f64 / (us / 1e6));
                    row.push_cpu(side, b.cpu(side), n as f64);
                }
            }
            print_progress(&row);
            rows.push(row);
        }
    }
    for k in [1usize, 8] {
        let mut row = Row::new(
            format!("gen_server:call {{kv,Driver}}, target->driver, {k} caller(s)"),
            "calls/s",
            true,
        )
        .with_cpu("call");
        if !o.wants_row(&row.name) {
            continue;
        }
        for r in 0..b.rounds {
            for side in o.sides(r) {
                let args = vec![b.target(side), int(k), int(n)];
                let us = b.run_us("reverse_calls", args).await;
                row.push(side, n as f64 / (us / 1e6));
                row.push_cpu(side, b.cpu(side), n as f64);
            }
        }
        print_progress(&row);
        rows.push(row);
    }
    rows
}

pub(crate) async fn group_etf(b: &mut Bench, o: &Opts, dir: &std::path::Path) -> Vec<Row> {
    let count = 4000;
    let mut rows = Vec::new();
    for (kind, label) in [
        ("mixed", "mixed corpus"),
        ("structured", "structured corpus"),
    ] {
        let path = dir.join(format!("corpus_{kind}.etf"));
        let path_term = Term::binary(path.to_string_lossy().as_bytes());
        b.run(
            "corpus",
            vec![path_term.clone(), int(count), Term::atom(kind)],
        )
        .await;
        let corpus = std::sync::Arc::new(etf::read_corpus(&path));
        let bytes: usize = corpus.iter().map(Vec::len).sum();
        let reps = match kind {
            "mixed" => o.n(100, 500),
            _ => o.n(200, 1000),
        };
        let mb = (bytes * reps) as f64 / 1e6;
        note(format!(
            "ETF {label}: {} terms, {:.2} MB of term_to_binary output made by the driver \
             (make_corpus/3 in bench_beam.erl: maps with atom and binary keys, pids, refs, \
             nested tuples, integer lists, strings, floats{}), written to a file both sides \
             read; {reps} passes per run. beamnode: beamnode::etf::decode / encode (of the \
             decoded terms) in this process; BEAM: binary_to_term / term_to_binary in a \
             freshly spawned process on the driver doing only that loop. MB/s of corpus bytes.",
            corpus.len(),
            bytes as f64 / 1e6,
            if kind == "mixed" {
                ", and one term in 8 a binary of 16 B..64 KiB (log-uniform)"
            } else {
                "; no large binaries"
            }
        ));
        for what in ["decode", "encode"] {
            let mut row = Row::new(format!("ETF {what}, {label}"), "MB/s", true);
            for r in 0..b.rounds {
                for side in Bench::order(r) {
                    let us = match side {
                        Side::Beam => {
                            let args = vec![path_term.clone(), int(reps), Term::atom(what)];
                            b.run_us("etf", args).await
                        }
                        Side::Rust => {
                            let c = corpus.clone();
                            tokio::task::spawn_blocking(move || match what {
                                "decode" => etf::decode_us(&c, reps as u32),
                                _ => etf::encode_us(&c, reps as u32),
                            })
                            .await
                            .expect("etf loop")
                        }
                    };
                    row.push(side, mb / (us / 1e6));
                }
            }
            print_progress(&row);
            rows.push(row);
        }
    }
    rows
}

/// `SPAWN Round Us Rss` lines -> (round, µs, bytes).
fn parse_spawn(line: &str) -> (usize, f64, f64) {
    let f: Vec<&str> = line.split_whitespace().collect();
    (
        f[0].parse().expect("round"),
        f[1].parse().expect("us"),
        f[2].parse().expect("rss"),
    )
}

pub(crate) async fn group_spawn(o: &Opts, epmd: u16, dir: &std::path::Path) -> Vec<Row> {
    let n = o.n(100_000, 1_000_000);
    let rounds = o.rounds + 1;
    note(format!(
        "spawn: {n} processes per round waiting in receive (BEAM: spawn(fun() -> receive stop \
         -> ok end end) in a fresh erl node with +P 4000000; beamnode: node.spawn(|mut p| async \
         move {{ p.receive(None).await }}) in a fresh OS process, the body also bumping two \
         shared counters so the harness knows every task was polled). Time of the spawn loop; \
         memory = VmRSS growth from before the loop to 200 ms after it (beamnode: after every \
         body has run) / {n}, pid list included on both sides. {rounds} rounds in one fresh \
         node per side: round 1 is cold (first touch of memory), rounds 2..{rounds} warm \
         (median; their RSS growth reuses freed memory, so only the cold round's memory is \
         reported). Both sides run one after the other, not interleaved."
    ));
    let mut cold_t = Row::new("spawn idle processes, cold (first round)", "ms", false);
    let mut warm_t = Row::new("spawn idle processes, warm (later rounds)", "ms", false);
    let mut cold_m = Row::new("memory per idle process (cold round)", "bytes", false);
    let mut record = |side: Side, line: &str| {
        let (round, us, rss) = parse_spawn(line);
        if round == 1 {
            cold_t.push(side, us / 1e3);
            cold_m.push(side, rss / n as f64);
        } else {
            // RSS after a warm round says little (freed memory is reused), so only
            // the cold round's growth is reported.
            let _ = rss;
            warm_t.push(side, us / 1e3);
        }
    };
    // BEAM: a fresh node.
    let eval = format!("bench_beam:spawn_main({n}, {rounds}).");
    let pa = dir.to_string_lossy().to_string();
    let mut erl = Erl::start_with(
        &unique("bspawn"),
        COOKIE,
        epmd,
        &eval,
        &["-pa", &pa, "+P", "4000000"],
    );
    for _ in 0..rounds {
        let line = erl.expect("SPAWN ", Duration::from_secs(600)).await;
        record(Side::Beam, &line);
    }
    drop(erl);
    // beamnode: a fresh OS process running this binary in --spawn-child mode.
    let exe = std::env::current_exe().expect("current exe");
    let out = tokio::process::Command::new(exe)
        .args(["--spawn-child", &n.to_string(), &rounds.to_string()])
        .env(WORKERS_ENV, o.workers.to_string())
        .output()
        .await
        .expect("run the spawn child");
    assert!(out.status.success(), "spawn child failed: {out:?}");
    for line in String::from_utf8_lossy(&out.stdout).lines() {
        if let Some(rest) = line.strip_prefix("SPAWN ") {
            record(Side::Rust, rest);
        }
    }
    let rows = vec![cold_t, warm_t, cold_m];
    rows.iter().for_each(print_progress);
    rows
}

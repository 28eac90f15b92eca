//! The side-by-side benchmark suite: every workload runs against a BEAM target node and
//! against a beamnode target (a `beamnode::Node` in this process) in the same run,
//! driven by the same BEAM driver node, alternating BEAM / beamnode round by round;
//! medians per side, one table row per figure. Run with `bash scripts/bench.sh
//! [--quick] [--rounds N] [--only a,b] [--cluster-nodes N]` (groups: msgs, large,
//! pingpong, calls, etf, n2n, spawn, cluster).
//!
//! The BEAM code (driver, BEAM target, fresh nodes for the codec and spawn loops) is
//! `scripts/bench/bench_beam.erl`, compiled with `erlc` into a temp dir at start; the
//! beamnode target's logic is `examples/bench/target.rs`. The driver times everything
//! that crosses the distribution, so both targets are measured by the same OTP code.

#[path = "../tests/common/otp.rs"]
#[allow(dead_code)]
mod common;

#[path = "bench/cluster.rs"]
mod cluster;
#[path = "bench/cpu.rs"]
mod cpu;
#[path = "bench/etf.rs"]
mod etf;
#[path = "bench/groups.rs"]
mod groups;
#[path = "bench/n2n.rs"]
mod n2n;
#[path = "bench/spawn.rs"]
mod spawn;
#[path = "bench/target.rs"]
mod target;
#[path = "bench/tcp.rs"]
mod tcp;

/// The allocator of the `beamnode` command (Cargo.toml, feature `cli`), so the node
/// measured here is the one the command runs.
#[cfg(feature = "cli")]
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

use beamnode::{Atom, Process, Term};
use common::*;
use std::path::PathBuf;
use std::time::Duration;

#[derive(Clone, Copy, PartialEq)]
enum Side {
    Beam,
    Rust,
}

struct Opts {
    quick: bool,
    rounds: usize,
    only: Option<Vec<String>>,
    /// BEAM member nodes in the cluster group.
    cluster_nodes: usize,
    /// `--row TEXT`: only the msgs, large, calls and n2n rows whose name contains TEXT
    /// (to profile one).
    row: Option<String>,
    /// `--side beamnode|beam`: run only that side's targets (to profile one; no ratios).
    side: Option<Side>,
    /// `--workers N`: worker threads of each beamnode node's runtime (default: what
    /// `beamnode run` uses, `beamnode::config::recommended_worker_threads`).
    workers: usize,
}

impl Opts {
    fn parse() -> Opts {
        let mut o = Opts {
            quick: false,
            rounds: 3,
            only: None,
            cluster_nodes: 12,
            row: None,
            side: None,
            workers: beamnode::config::recommended_worker_threads(),
        };
        let mut args = std::env::args().skip(1);
        while let Some(a) = args.next() {
            match a.as_str() {
                "--quick" => o.quick = true,
                "--full" => o.quick = false,
                "--rounds" => {
                    o.rounds = args
                        .next()
                        .and_then(|v| v.parse().ok())
                        .expect("--rounds N")
                }
                "--cluster-nodes" => {
                    o.cluster_nodes = args
                        .next()
                        .and_then(|v| v.parse().ok())
                        .expect("--cluster-nodes N")
                }
                "--only" => {
                    o.only = Some(
                        args.next()
                            .expect("--only groups")
                            .split(',')
                            .map(str::to_string)
                            .collect(),
                    )
                }
                "--row" => o.row = Some(args.next().expect("--row TEXT")),
                "--workers" => {
                    o.workers = args
                        .next()
                        .and_then(|v| v.parse().ok())
                        .filter(|&n| n >= 1)
                        .expect("--workers N (at least 1)")
                }
                "--side" => {
                    o.side = Some(match args.next().as_deref() {
                        Some("beamnode") => Side::Rust,
                        Some("beam") => Side::Beam,
                        _ => panic!("--side beamnode|beam"),
                    })
                }
                other => panic!("unknown argument {other:?}; usage: bench_dist [--quick|--full] [--rounds N] [--only msgs,large,pingpong,calls,etf,n2n,spawn,cluster] [--cluster-nodes N] [--row TEXT] [--side beamnode|beam] [--workers N]"),
            }
        }
        assert!(o.rounds >= 1, "--rounds must be at least 1");
        assert!(o.cluster_nodes >= 1, "--cluster-nodes must be at least 1");
        o
    }
    fn wants(&self, group: &str) -> bool {
        match &self.only {
            None => true,
            Some(g) => g.iter().any(|x| x == group),
        }
    }
    /// Whether a msgs, large, calls or n2n row is to run (`--row`).
    fn wants_row(&self, name: &str) -> bool {
        self.row.as_deref().map_or(true, |r| name.contains(r))
    }
    /// The sides to run in round `r`, alternating (`--side` keeps one).
    fn sides(&self, r: usize) -> Vec<Side> {
        Bench::order(r)
            .into_iter()
            .filter(|s| self.side.map_or(true, |x| x == *s))
            .collect()
    }
    /// `quick` in quick mode, `full` otherwise.
    fn n(&self, quick: usize, full: usize) -> usize {
        if self.quick {
            quick
        } else {
            full
        }
    }
}

/// One table row: a figure measured on both sides (`beam` empty for a reference row
/// such as the TCP ceiling).
struct Row {
    name: String,
    unit: &'static str,
    higher_better: bool,
    rust: Vec<f64>,
    beam: Vec<f64>,
    /// CPU µs per unit of work, (driver, target), per round: see examples/bench/cpu.rs.
    cpu_unit: Option<&'static str>,
    cpu_rust: Vec<(f64, f64)>,
    cpu_beam: Vec<(f64, f64)>,
}

impl Row {
    fn new(name: impl Into<String>, unit: &'static str, higher_better: bool) -> Row {
        Row {
            name: name.into(),
            unit,
            higher_better,
            rust: Vec::new(),
            beam: Vec::new(),
            cpu_unit: None,
            cpu_rust: Vec::new(),
            cpu_beam: Vec::new(),
        }
    }
    /// Also records the CPU time of each run, per `unit` of work ("message", "MB"...).
    fn with_cpu(mut self, unit: &'static str) -> Row {
        self.cpu_unit = Some(unit);
        self
    }
    /// The CPU time of the run just pushed (driver and target seconds, from
    /// [`Bench::cpu`]) over the `units` of work it did.
    fn push_cpu(&mut self, side: Side, (driver, target): (f64, f64), units: f64) {
        let per = |s: f64| s * 1e6 / units;
        match side {
            Side::Rust => self.cpu_rust.push((per(driver), per(target))),
            Side::Beam => self.cpu_beam.push((per(driver), per(target))),
        }
    }
    fn push(&mut self, side: Side, v: f64) {
        match side {
            Side::Rust => self.rust.push(v),
            Side::Beam => self.beam.push(v),
        }
    }
}

static NOTES: std::sync::Mutex<Vec<String>> = std::sync::Mutex::new(Vec::new());

/// A line of the legend printed above the table (what a group's rows measure).
fn note(s: String) {
    NOTES.lock().expect("notes").push(s);
}

fn median(v: &[f64]) -> Option<f64> {
    if v.is_empty() {
        return None;
    }
    let mut s = v.to_vec();
    s.sort_by(|a, b| a.total_cmp(b));
    let m = s.len() / 2;
    Some(if s.len() % 2 == 1 {
        s[m]
    } else {
        (s[m - 1] + s[m]) / 2.0
    })
}

fn fmt_num(v: f64) -> String {
    if v >= 1000.0 {
        let s = format!("{:.0}", v);
        let mut out = String::new();
        for (i, c) in s.chars().enumerate() {
            if i > 0 && (s.len() - i) % 3 == 0 {
                out.push(',');
            }
            out.push(c);
        }
        out
    } else if v >= 100.0 {
        format!("{v:.0}")
    } else if v >= 10.0 {
        format!("{v:.1}")
    } else {
        format!("{v:.2}")
    }
}

fn print_row(r: &Row) {
    let rust = median(&r.rust);
    let beam = median(&r.beam);
    let show = |m: Option<f64>| m.map(fmt_num).unwrap_or_else(|| "—".into());
    let ratio = match (rust, beam) {
        (Some(a), Some(b)) if b > 0.0 => format!("{a:.2}", a = a / b),
        _ => "—".into(),
    };
    println!(
        "| {} | {} ({} is better) | {} | {} | {} |",
        r.name,
        r.unit,
        if r.higher_better { "higher" } else { "lower" },
        show(rust),
        show(beam),
        ratio
    );
}

/// The CPU table: for each row that records it, median CPU µs per unit of work of the
/// driver and of the target, with each target (examples/bench/cpu.rs).
fn print_cpu_table(rows: &[Row]) {
    let rows: Vec<&Row> = rows.iter().filter(|r| r.cpu_unit.is_some()).collect();
    if rows.is_empty() {
        return;
    }
    println!();
    println!(
        "CPU time per unit of work (µs, user + system, median over rounds; lower is better). \
         The driver and the target share the machine's cores, so what a target costs the \
         driver counts too. The beamnode target's figure is the whole bench process."
    );
    println!();
    println!("| workload | per | driver, with beamnode | beamnode target | driver, with BEAM | BEAM target | total beamnode/BEAM |");
    println!("|---|---|---|---|---|---|---|");
    let med =
        |v: &[(f64, f64)], f: fn(&(f64, f64)) -> f64| median(&v.iter().map(f).collect::<Vec<_>>());
    let show = |m: Option<f64>| m.map(fmt_num).unwrap_or_else(|| "—".into());
    for r in rows {
        let (rd, rt) = (med(&r.cpu_rust, |c| c.0), med(&r.cpu_rust, |c| c.1));
        let (bd, bt) = (med(&r.cpu_beam, |c| c.0), med(&r.cpu_beam, |c| c.1));
        let total = match (
            med(&r.cpu_rust, |c| c.0 + c.1),
            med(&r.cpu_beam, |c| c.0 + c.1),
        ) {
            (Some(a), Some(b)) if b > 0.0 => format!("{:.2}", a / b),
            _ => "—".into(),
        };
        println!(
            "| {} | {} | {} | {} | {} | {} | {} |",
            r.name,
            r.cpu_unit.unwrap_or(""),
            show(rd),
            show(rt),
            show(bd),
            show(bt),
            total
        );
    }
}

fn print_header() {
    println!("| workload | unit | beamnode | BEAM | beamnode/BEAM |");
    println!("|---|---|---|---|---|");
}

/// Everything a round needs: the harness's control process on the beamnode node, the
/// driver and the two targets.
struct Bench {
    ctl: Process,
    driver: Atom,
    rust_target: Atom,
    beam_target: Atom,
    rounds: usize,
    /// OS pids of the driver and BEAM target nodes, for their CPU time.
    driver_pid: u32,
    beam_target_pid: u32,
    /// CPU time used by each process during the last [`Bench::run`].
    last_cpu: cpu::Snapshot,
}

impl Bench {
    fn target(&self, side: Side) -> Term {
        Term::Atom(match side {
            Side::Beam => self.beam_target.clone(),
            Side::Rust => self.rust_target.clone(),
        })
    }

    /// Runs `workload` on the driver (`run/2` in bench_beam.erl); its result. The CPU
    /// time the driver and both targets used meanwhile is kept for [`Bench::cpu`].
    async fn run(&mut self, workload: &str, args: Vec<Term>) -> Term {
        let before = cpu::Snapshot::take(self.driver_pid, self.beam_target_pid);
        let r = self.ask_driver(workload, args).await;
        self.last_cpu = cpu::Snapshot::take(self.driver_pid, self.beam_target_pid).since(&before);
        r
    }

    /// CPU seconds of the driver and of `side`'s target during the last run.
    fn cpu(&self, side: Side) -> (f64, f64) {
        let c = &self.last_cpu;
        match side {
            Side::Beam => (c.driver, c.beam_target),
            Side::Rust => (c.driver, c.this_process),
        }
    }

    /// Sends the `run` request to the driver and waits for its `result`.
    async fn ask_driver(&mut self, workload: &str, args: Vec<Term>) -> Term {
        let msg = Term::tuple(vec![
            Term::atom("run"),
            Term::Pid(self.ctl.pid().clone()),
            Term::atom(workload),
            Term::list(args),
        ]);
        self.ctl
            .send_named(&Atom::new("bench_drv"), &self.driver, msg)
            .await;
        let got = self
            .ctl
            .receive_match(
                |m| matches!(m.as_tuple(), Some([t, _]) if t.is_atom("result")),
                Some(Duration::from_secs(900)),
            )
            .await
            .unwrap_or_else(|e| panic!("{workload}: no result from the driver: {e:?}"));
        let r = match got {
            Term::Tuple(t) => t.into_vec().pop().expect("result"),
            _ => unreachable!(),
        };
        if let Some([tag, why]) = r.as_tuple() {
            if tag.is_atom("error") {
                panic!("{workload} failed on the driver: {why}");
            }
        }
        r
    }

    async fn run_us(&mut self, workload: &str, args: Vec<Term>) -> f64 {
        let r = self.run(workload, args).await;
        r.as_int()
            .unwrap_or_else(|| panic!("{workload}: expected microseconds, got {r}")) as f64
    }

    /// Sides in the order of round `r`: BEAM first in even rounds, beamnode first in
    /// odd ones.
    fn order(r: usize) -> [Side; 2] {
        if r % 2 == 0 {
            [Side::Beam, Side::Rust]
        } else {
            [Side::Rust, Side::Beam]
        }
    }
}

fn print_progress(r: &Row) {
    let show = |v: &[f64]| v.iter().map(|x| fmt_num(*x)).collect::<Vec<_>>().join(" ");
    eprintln!(
        "  {}: beamnode [{}] BEAM [{}] {}",
        r.name,
        show(&r.rust),
        show(&r.beam),
        r.unit
    );
}

fn compile_erl() -> PathBuf {
    let dir = std::env::temp_dir().join(format!("beamnode-bench-{}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("temp dir");
    let src = concat!(env!("CARGO_MANIFEST_DIR"), "/scripts/bench/bench_beam.erl");
    let st = std::process::Command::new("erlc")
        .arg("-o")
        .arg(&dir)
        .arg(src)
        .status()
        .expect("run erlc (apt-get install -y erlang-nox erlang-dev)");
    assert!(st.success(), "erlc {src} failed");
    dir
}

/// A runtime for beamnode nodes as `beamnode run` builds it, with `workers` threads.
fn runtime(workers: usize) -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(workers)
        .enable_all()
        .build()
        .expect("runtime")
}

/// How the harness tells a child (`--spawn-child`, `--cluster-child`) its `--workers`.
const WORKERS_ENV: &str = "BEAMNODE_BENCH_WORKERS";

fn child_workers() -> usize {
    std::env::var(WORKERS_ENV)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or_else(beamnode::config::recommended_worker_threads)
}

fn main() {
    let mut args = std::env::args().skip(1);
    if args.next().as_deref() == Some("--spawn-child") {
        let n = args.next().and_then(|v| v.parse().ok()).expect("N");
        let rounds = args.next().and_then(|v| v.parse().ok()).expect("ROUNDS");
        runtime(child_workers()).block_on(spawn::child(n, rounds));
        return;
    }
    let mut args = std::env::args().skip(1);
    if args.next().as_deref() == Some("--cluster-child") {
        let mut num = || -> usize { args.next().and_then(|v| v.parse().ok()).expect("number") };
        let (epmd, names, pg) = (num() as u16, num(), num());
        let members = args
            .next()
            .expect("MEMBER,...")
            .split(',')
            .map(Atom::new)
            .collect();
        runtime(child_workers()).block_on(cluster::child(epmd, names, pg, members));
        return;
    }
    let opts = Opts::parse();
    runtime(opts.workers).block_on(suite(opts));
}

async fn suite(o: Opts) {
    use groups::*;
    let dir = compile_erl();
    let epmd = private_epmd().await;
    let pa = dir.to_string_lossy().to_string();
    let erl_args = ["-pa", pa.as_str(), "-connect_all", "false"];

    let node = rust_node("bench_rust", epmd, COOKIE).await;
    target::start(&node).await;
    let mut beam_target = Erl::start_with(
        &unique("btarget"),
        COOKIE,
        epmd,
        "bench_beam:target_main().",
        &erl_args,
    );
    beam_target.expect("READY", Duration::from_secs(30)).await;
    let mut driver = Erl::start_with(
        &unique("bdriver"),
        COOKIE,
        epmd,
        "bench_beam:driver_main().",
        &erl_args,
    );
    let version = driver.expect("READY", Duration::from_secs(30)).await;

    let mut b = Bench {
        ctl: node.process(),
        driver: Atom::new(&driver.name),
        rust_target: node.name().clone(),
        beam_target: Atom::new(&beam_target.name),
        rounds: o.rounds,
        driver_pid: driver.os_pid(),
        beam_target_pid: beam_target.os_pid(),
        last_cpu: cpu::Snapshot::default(),
    };
    // Connect everything and warm up both paths before any figure is taken.
    for side in [Side::Beam, Side::Rust] {
        let t = b.target(side);
        b.run("pingpong", vec![t, int(100), int(100)]).await;
    }

    let mode = if o.quick { "quick" } else { "full" };
    eprintln!(
        "bench_dist: {mode} mode, {} rounds per row, alternating BEAM / beamnode",
        o.rounds
    );
    let mut rows = Vec::new();
    if o.wants("msgs") {
        rows.extend(group_msgs(&mut b, &o).await);
    }
    if o.wants("large") {
        rows.extend(group_large(&mut b, &o).await);
    }
    if o.wants("pingpong") {
        rows.extend(group_pingpong(&mut b, &o).await);
    }
    if o.wants("calls") {
        rows.extend(group_calls(&mut b, &o).await);
    }
    if o.wants("etf") {
        rows.extend(group_etf(&mut b, &o, &dir).await);
    }
    if o.wants("n2n") {
        rows.extend(n2n::group_n2n(&mut b, &o, epmd).await);
    }
    drop(driver);
    drop(beam_target);
    if o.wants("spawn") {
        rows.extend(group_spawn(&o, epmd, &dir).await);
    }
    if o.wants("cluster") {
        rows.extend(cluster::group_cluster(&o, epmd, &dir).await);
    }

    println!();
    println!(
        "Side-by-side suite, {mode} mode: median of {} rounds per side (BEAM and beamnode alternating).",
        o.rounds
    );
    println!("BEAM: {version}; every erl node with default scheduler flags ({} schedulers online, default busy wait +sbwt medium).",
        std::thread::available_parallelism().map(|n| n.get()).unwrap_or(0));
    println!(
        "beamnode: tokio multi-thread runtime with {} worker thread(s) per node (`--workers`; \
         the default is what `beamnode run` uses: half the cores, at least one), in the bench process.",
        o.workers
    );
    println!("Ratio is beamnode/BEAM: above 1 means beamnode is better for higher-is-better rows, worse for lower-is-better rows.");
    println!();
    for n in NOTES.lock().expect("notes").iter() {
        println!("- {n}");
    }
    println!();
    print_header();
    rows.iter().for_each(print_row);
    print_cpu_table(&rows);
    let _ = std::fs::remove_dir_all(&dir);
}

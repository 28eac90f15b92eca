//! Idle processes on beamnode, in a fresh OS process (`bench_dist --spawn-child N
//! ROUNDS`, started by the harness): each round spawns N processes whose body is
//! `let _ = p.receive(None).await;`, times the spawn loop, waits until every body is
//! polled (so its future and mailbox exist), reads the RSS growth, then stops them all.
//! Prints `SPAWN Round Us RssGrowthBytes` per round, as `spawn_main/2` in
//! bench_beam.erl does for BEAM.

use beamnode::{Node, NodeConfig, Term};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

pub fn rss() -> i64 {
    let s = std::fs::read_to_string("/proc/self/status").expect("/proc/self/status");
    let line = s.lines().find(|l| l.starts_with("VmRSS:")).expect("VmRSS");
    let kb: i64 = line
        .split_whitespace()
        .nth(1)
        .and_then(|v| v.parse().ok())
        .expect("VmRSS kB");
    kb * 1024
}

pub async fn child(n: usize, rounds: usize) {
    // Not registered with EPMD and not listening for peers: only the process table
    // matters here.
    let config = NodeConfig::new(format!("spawn{}@localhost", std::process::id()), "c")
        .register_with_epmd(false)
        .listen_addr([127, 0, 0, 1].into());
    let node = Node::start(config).await.expect("start node");
    for round in 1..=rounds {
        let started = Arc::new(AtomicUsize::new(0));
        let finished = Arc::new(AtomicUsize::new(0));
        let rss0 = rss();
        let t0 = Instant::now();
        let mut pids = Vec::with_capacity(n);
        for _ in 0..n {
            let (s, f) = (started.clone(), finished.clone());
            pids.push(node.spawn(|mut p| async move {
                s.fetch_add(1, Ordering::Relaxed);
                let _ = p.receive(None).await;
                f.fetch_add(1, Ordering::Relaxed);
            }));
        }
        let us = t0.elapsed().as_secs_f64() * 1e6;
        while started.load(Ordering::Relaxed) < n {
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
        let rss1 = rss();
        println!("SPAWN {round} {us:.0} {}", rss1 - rss0);
        for pid in &pids {
            node.send(pid, Term::atom("stop"));
        }
        drop(pids);
        while finished.load(Ordering::Relaxed) < n {
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }
}

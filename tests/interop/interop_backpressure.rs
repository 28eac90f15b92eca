//! Backpressure toward a peer that stops reading (a real `erl` node under SIGSTOP):
//! a Rust process sending to it waits once the connection's queue is over its busy
//! limit, memory stays bounded, nothing is lost or reordered once the peer resumes;
//! senders that do not wait hit the hard limit, which closes only that connection.

use crate::common::*;
use beamnode::{Atom, Node, NodeConfig, Term};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Duration;

const T: Duration = Duration::from_secs(30);

/// Resident memory of this test process, in bytes.
fn rss() -> u64 {
    let status = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
    status
        .lines()
        .find_map(|l| l.strip_prefix("VmRSS:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse::<u64>().ok())
        .map_or(0, |kb| kb * 1024)
}

/// A BEAM node with a registered `sink` that checks `{seq, N, Bin}` arrive in order
/// and reports the count on `{done, From}`.
fn sink_node(epmd: u16) -> Erl {
    let eval = r#"register(sink, self()), io:format("READY~n"),
        Loop = fun L(N) ->
            receive
                {seq, N, _} -> L(N + 1);
                {seq, M, _} -> io:format("ORDER expected ~p got ~p~n", [N, M]), L(M + 1);
                {done, From} -> From ! {count, N}, L(N)
            end
        end,
        Loop(0)."#;
    Erl::start(&unique("sink"), COOKIE, epmd, eval)
}

async fn node_with_limits(epmd: u16, busy: usize, max: usize) -> Node {
    let cfg = NodeConfig::new(format!("{}@localhost", unique("rust")), COOKIE)
        .epmd_port(epmd)
        .dist_buf_limits(busy, max);
    Node::start(cfg).await.expect("node starts")
}

fn kib() -> Term {
    Term::binary(vec![0x5a; 1024])
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_sender_to_a_stopped_peer_waits_and_memory_stays_bounded() {
    let epmd = private_epmd().await;
    let node = node_with_limits(epmd, 1024 * 1024, 16 * 1024 * 1024).await;
    let mut sink = sink_node(epmd);
    sink.expect("READY", T).await;
    let peer = Atom::new(&sink.name);
    assert!(node.connect(&peer).await, "connects to the sink node");

    let base = rss();
    sink.signal("STOP");
    const N: u64 = 100_000; // 100 MiB of payload: far over both limits
    let sent = Arc::new(AtomicU64::new(0));
    let sender = {
        let sent = sent.clone();
        let peer = peer.clone();
        node.spawn(move |p| async move {
            for i in 0..N {
                let msg = Term::tuple(vec![Term::atom("seq"), Term::from(i as i64), kib()]);
                p.send_named(&Atom::new("sink"), &peer, msg).await;
                sent.store(i + 1, Ordering::Relaxed);
            }
        })
    };
    tokio::time::sleep(Duration::from_secs(3)).await;
    let stalled_at = sent.load(Ordering::Relaxed);
    let grown = rss().saturating_sub(base);
    assert!(
        stalled_at < N / 2,
        "the sender went on while the peer was stopped: {stalled_at} of {N} sent"
    );
    assert!(
        grown < 64 * 1024 * 1024,
        "memory grew by {grown} bytes while the peer was stopped"
    );
    assert!(node.nodes().contains(&peer), "the connection stays up");
    tokio::time::sleep(Duration::from_secs(1)).await;
    assert!(
        sent.load(Ordering::Relaxed) - stalled_at < 1000,
        "the sender is waiting, not trickling messages into memory"
    );

    // The peer resumes: every message arrives, in order.
    sink.signal("CONT");
    assert!(
        eventually(T, || !node.is_process_alive(&sender)).await,
        "the sender finished once the peer resumed ({} sent)",
        sent.load(Ordering::Relaxed)
    );
    let mut me = node.process();
    me.send_named(
        &Atom::new("sink"),
        &peer,
        Term::tuple(vec![Term::atom("done"), Term::Pid(me.pid().clone())]),
    )
    .await;
    let reply = me.receive(Some(T)).await.expect("count reply");
    assert_eq!(
        reply,
        Term::tuple(vec![Term::atom("count"), Term::from(N as i64)])
    );
    assert!(
        !sink.output.iter().any(|l| l.starts_with("ORDER")),
        "reordered: {:?}",
        sink.output
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn senders_that_do_not_wait_close_the_connection_at_the_hard_limit() {
    let epmd = private_epmd().await;
    let node = node_with_limits(epmd, 1024 * 1024, 8 * 1024 * 1024).await;
    let mut sink = sink_node(epmd);
    sink.expect("READY", T).await;
    let peer = Atom::new(&sink.name);
    // A second, healthy BEAM peer that must not be affected.
    let mut other = sink_node(epmd);
    other.expect("READY", T).await;
    let other_peer = Atom::new(&other.name);
    assert!(node.connect(&peer).await && node.connect(&other_peer).await);
    let mut events = node.subscribe();

    let base = rss();
    sink.signal("STOP");
    let p = node.process();
    let sink_name = Atom::new("sink");
    let mut went_down = false;
    for i in 0..200_000i64 {
        let msg = Term::tuple(vec![Term::atom("seq"), Term::from(i), kib()]);
        p.send_named_nowait(&sink_name, &peer, msg);
        if i % 1000 == 0 {
            tokio::task::yield_now().await;
            if !node.nodes().contains(&peer) {
                went_down = true;
                break;
            }
        }
    }
    let grown = rss().saturating_sub(base);
    assert!(
        went_down || !node.nodes().contains(&peer),
        "the stalled connection was closed"
    );
    assert!(grown < 64 * 1024 * 1024, "memory grew by {grown} bytes");
    let down = tokio::time::timeout(T, async {
        loop {
            if let Ok(beamnode::NodeEvent::NodeDown { node: n, reason }) = events.recv().await {
                if n == peer {
                    return reason;
                }
            }
        }
    })
    .await
    .expect("nodedown for the stalled peer");
    assert_eq!(down, Atom::new("disconnect"));

    // The other connection carried on: its messages all arrive.
    assert!(node.nodes().contains(&other_peer));
    for i in 0..1000i64 {
        p.send_named(
            &sink_name,
            &other_peer,
            Term::tuple(vec![Term::atom("seq"), Term::from(i), kib()]),
        )
        .await;
    }
    let mut me = node.process();
    me.send_named(
        &sink_name,
        &other_peer,
        Term::tuple(vec![Term::atom("done"), Term::Pid(me.pid().clone())]),
    )
    .await;
    assert_eq!(
        me.receive(Some(T)).await.expect("count"),
        Term::tuple(vec![Term::atom("count"), Term::from(1000)])
    );
    sink.kill9();
}

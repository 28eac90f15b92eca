//! Read pacing (docs/design-choices.md, "Read pacing") against real `erl` nodes: a
//! BEAM process streaming small messages at a Rust process turns the connection to
//! reading on a clock and back to reading on arrival after it; every message arrives,
//! in order; requests answered after a stream and during one get their answers; a peer
//! that halts right after a stream has every message delivered and is seen down.

use crate::common::*;
use beamnode::{Atom, Node, Term};
use std::sync::atomic::{AtomicI64, Ordering::Relaxed};
use std::sync::Arc;
use std::time::Duration;

const T: Duration = Duration::from_secs(60);

/// What the sink has seen: the next sequence number it expects and how many came out
/// of order.
#[derive(Default)]
struct Seen {
    next: AtomicI64,
    bad: AtomicI64,
}

/// A Rust process registered as `psink`: checks that `{seq, N, Bin}` come in order
/// (into `seen`), answers `{done, From}` with `{count, Count, OutOfOrder}` and starts
/// counting again, and answers `{ping, From, I}` with `{pong, I}` at once.
fn spawn_sink(node: &Node) -> Arc<Seen> {
    let seen = Arc::new(Seen::default());
    let p = node.process();
    p.register("psink").expect("register psink");
    let s = seen.clone();
    tokio::spawn(async move {
        let mut p = p;
        while let Ok(m) = p.receive(None).await {
            let Some(t) = m.as_tuple() else { continue };
            match (t.first().and_then(Term::as_atom).map(Atom::as_str), t.len()) {
                (Some("seq"), 3) => {
                    let n = t[1].as_int().unwrap_or(-1);
                    if n != s.next.load(Relaxed) {
                        s.bad.fetch_add(1, Relaxed);
                    }
                    s.next.store(n + 1, Relaxed);
                }
                (Some("done"), 2) => {
                    if let Some(from) = t[1].as_pid() {
                        let (next, bad) = (s.next.swap(0, Relaxed), s.bad.swap(0, Relaxed));
                        let reply = Term::tuple(vec![
                            Term::atom("count"),
                            Term::from(next),
                            Term::from(bad),
                        ]);
                        p.send(from.clone(), reply).await;
                    }
                }
                (Some("ping"), 3) => {
                    if let Some(from) = t[1].as_pid() {
                        p.send(
                            from.clone(),
                            Term::tuple(vec![Term::atom("pong"), t[2].clone()]),
                        )
                        .await;
                    }
                }
                _ => {}
            }
        }
    });
    seen
}

/// Polls `f` every 20 ms for up to 5 s.
async fn eventually(mut f: impl FnMut() -> bool) -> bool {
    for _ in 0..250 {
        if f() {
            return true;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    false
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_stream_of_small_messages_is_paced_and_arrives_whole_and_in_order() {
    let epmd = private_epmd().await;
    let node = rust_node("rust", epmd, COOKIE).await;
    spawn_sink(&node);
    let r = node.name().as_str().to_string();
    // Rounds until the test says stop: a stream of 200,000 messages with pings racing it
    // from a second process, the count, then 200 pings one after the other. Each round
    // waits for `{next, K}` from the test, which first checks that reading on the
    // clock has ended.
    let eval = format!(
        r#"register(streamer, self()),
        R = '{r}', S = {{psink, R}}, Bin = binary:copy(<<"x">>, 64),
        Pings = fun P(0) -> ok; P(I) -> S ! {{ping, self(), I}},
            receive {{pong, I}} -> P(I - 1) after 10000 -> timeout end end,
        Round = fun Rd(K) ->
            Me = self(),
            spawn(fun() -> Me ! {{racing, Pings(50)}} end),
            lists:foreach(fun(I) -> S ! {{seq, I, Bin}} end, lists:seq(0, 199999)),
            S ! {{done, self()}},
            receive {{count, C, Bad}} -> io:format("ROUND ~p ~p ~p~n", [K, C, Bad])
            after 30000 -> io:format("ROUND ~p timeout~n", [K]) end,
            receive {{racing, Rc}} -> io:format("RACING ~p ~p~n", [K, Rc])
            after 30000 -> io:format("RACING ~p timeout~n", [K]) end,
            io:format("AFTER ~p ~p~n", [K, Pings(200)]),
            receive {{next, K}} -> Rd(K + 1); stop -> io:format("DONE~n")
            after 30000 -> io:format("NEXT timeout~n") end
        end,
        Round(1),
        receive after 60000 -> halt() end."#
    );
    let mut erl = Erl::start(&unique("streamer"), COOKIE, epmd, &eval);
    let peer = Atom::new(&erl.name);
    let streamer = Atom::new("streamer");
    let tester = node.process();
    let mut k: i64 = 1;
    let info = loop {
        assert_eq!(erl.expect("ROUND ", T).await, format!("{k} 200000 0"));
        assert_eq!(erl.expect("RACING ", T).await, format!("{k} ok"));
        assert_eq!(erl.expect("AFTER ", T).await, format!("{k} ok"));
        let info = node
            .connection_info(&peer)
            .expect("the streamer is connected");
        // After a stream, reading goes back to arrivals (two thin ticks).
        assert!(
            eventually(|| node.connection_info(&peer).is_some_and(|i| !i.paced)).await,
            "still reading on a clock 5 s after the stream: {info:?}"
        );
        // How fast this machine reads decides whether reads were small enough to count
        // as a stream; three rounds at least, up to eight until one was paced.
        if (k >= 3 && info.paced_streams >= 1) || k == 8 {
            break info;
        }
        tester
            .send(
                (&streamer, &peer),
                Term::tuple(vec![Term::atom("next"), Term::from(k)]),
            )
            .await;
        k += 1;
    };
    tester.send((&streamer, &peer), Term::atom("stop")).await;
    erl.expect("DONE", T).await;
    assert!(info.messages_in >= 200_000 * k as u64, "{info:?}");
    assert!(
        info.paced_streams >= 1,
        "{k} streams of small messages never turned the connection to reading on a clock: {info:?}"
    );
}

/// A peer that sends a stream and halts: the end of the stream lands in the same drain
/// as the last messages, which must still be delivered; then it is down, and the node
/// goes on serving others.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_peer_that_halts_right_after_a_stream_has_it_all_delivered_and_is_seen_down() {
    let epmd = private_epmd().await;
    // A long period: the tail of the stream waits under the low-water mark until the
    // end of the stream wakes the driver, and one drain meets both.
    let node = rust_node_with("rust", epmd, COOKIE, |c| {
        c.read_pacing(Duration::from_millis(200))
    })
    .await;
    let seen = spawn_sink(&node);
    let r = node.name().as_str().to_string();
    // Halts (flushing its output) once its distribution port has handed every byte to
    // the kernel.
    let eval = format!(
        r#"R = '{r}', S = {{psink, R}}, Bin = binary:copy(<<"x">>, 64),
        lists:foreach(fun(I) -> S ! {{seq, I, Bin}} end, lists:seq(0, 199999)),
        [Ctrl] = [C || {{N, C}} <- erlang:system_info(dist_ctrl), N =:= R],
        Flushed = fun F() -> case erlang:port_info(Ctrl, queue_size) of
            {{queue_size, Q}} when Q > 0 -> timer:sleep(1), F();
            _ -> ok end end,
        Flushed(),
        io:format("SENT~n"),
        halt()."#
    );
    let mut erl = Erl::start(&unique("quitter"), COOKIE, epmd, &eval);
    erl.expect("SENT", T).await;
    let peer = Atom::new(&erl.name);
    assert!(
        eventually(|| node.connection_info(&peer).is_none()).await,
        "the halted peer is still connected"
    );
    assert!(
        eventually(|| seen.next.load(Relaxed) == 200_000).await,
        "{} of 200000 messages delivered",
        seen.next.load(Relaxed)
    );
    assert_eq!(seen.bad.load(Relaxed), 0, "messages out of order");
    let mut other = Erl::start(
        &unique("after"),
        COOKIE,
        epmd,
        &format!(
            r#"{{psink, '{r}'}} ! {{ping, self(), 1}},
            receive {{pong, 1}} -> io:format("PONG~n") after 10000 -> io:format("NOPONG~n") end,
            halt()."#
        ),
    );
    other.expect("PONG", T).await;
}

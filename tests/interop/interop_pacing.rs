//! Read pacing (docs/design-choices.md, "Read pacing") against real `erl` nodes: a
//! BEAM process streaming small messages at a Rust process turns the connection to
//! reading on a clock; every message still arrives, in order; requests answered after
//! a stream (when reading is back on arrival) and during one still get their answers;
//! a peer that goes away in the middle of a paced stream is seen down.

use crate::common::*;
use beamnode::{Atom, Node, Term};
use std::time::Duration;

const T: Duration = Duration::from_secs(60);

/// A Rust process registered as `psink`: checks that `{seq, N, Bin}` come in order and
/// answers `{done, From}` with `{count, Count, OutOfOrder}`; answers `{ping, From, I}`
/// with `{pong, I}` at once.
fn spawn_sink(node: &Node) {
    let p = node.process();
    p.register("psink").expect("register psink");
    tokio::spawn(async move {
        let mut p = p;
        let (mut next, mut bad) = (0i64, 0i64);
        while let Ok(m) = p.receive(None).await {
            let Some(t) = m.as_tuple() else { continue };
            match (t.first().and_then(Term::as_atom).map(Atom::as_str), t.len()) {
                (Some("seq"), 3) => {
                    let n = t[1].as_int().unwrap_or(-1);
                    if n != next {
                        bad += 1;
                    }
                    next = n + 1;
                }
                (Some("done"), 2) => {
                    if let Some(from) = t[1].as_pid() {
                        let reply = Term::tuple(vec![
                            Term::atom("count"),
                            Term::from(next),
                            Term::from(bad),
                        ]);
                        p.send(from.clone(), reply).await;
                    }
                    (next, bad) = (0, 0);
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
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_stream_of_small_messages_is_paced_and_arrives_whole_and_in_order() {
    let epmd = private_epmd().await;
    let node = rust_node("rust", epmd, COOKIE).await;
    spawn_sink(&node);
    let r = node.name().as_str().to_string();
    // Three rounds: a stream of 200,000 messages with pings racing it from a second
    // process, the count, then 200 pings one after the other (reading on arrival again).
    let eval = format!(
        r#"R = '{r}', S = {{psink, R}}, Bin = binary:copy(<<"x">>, 64),
        Pings = fun P(0) -> ok; P(I) -> S ! {{ping, self(), I}},
            receive {{pong, I}} -> P(I - 1) after 10000 -> timeout end end,
        Round = fun(K) ->
            Me = self(),
            spawn(fun() -> Me ! {{racing, Pings(50)}} end),
            lists:foreach(fun(I) -> S ! {{seq, I, Bin}} end, lists:seq(0, 199999)),
            S ! {{done, self()}},
            receive {{count, C, Bad}} -> io:format("ROUND ~p ~p ~p~n", [K, C, Bad])
            after 30000 -> io:format("ROUND ~p timeout~n", [K]) end,
            receive {{racing, Rc}} -> io:format("RACING ~p ~p~n", [K, Rc])
            after 30000 -> io:format("RACING ~p timeout~n", [K]) end,
            io:format("AFTER ~p ~p~n", [K, Pings(200)])
        end,
        lists:foreach(Round, [1, 2, 3]),
        io:format("DONE~n"),
        receive after 60000 -> halt() end."#
    );
    let mut erl = Erl::start(&unique("streamer"), COOKIE, epmd, &eval);
    for k in 1..=3 {
        assert_eq!(erl.expect("ROUND ", T).await, format!("{k} 200000 0"));
        assert_eq!(erl.expect("RACING ", T).await, format!("{k} ok"));
        assert_eq!(erl.expect("AFTER ", T).await, format!("{k} ok"));
    }
    erl.expect("DONE", T).await;
    let info = node
        .connection_info(&Atom::new(&erl.name))
        .expect("the streaming node is connected");
    assert!(info.messages_in >= 600_000, "{info:?}");
    // Whether one read found little enough to count as a small read depends on how fast
    // this machine reads; over three streams of 200,000 messages it always did here.
    assert!(
        info.paced_streams >= 1,
        "three streams of small messages never turned the connection to paced reads: {info:?}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_peer_that_halts_in_a_paced_stream_is_seen_down_and_the_node_goes_on() {
    let epmd = private_epmd().await;
    let node = rust_node("rust", epmd, COOKIE).await;
    spawn_sink(&node);
    let r = node.name().as_str().to_string();
    let eval = format!(
        r#"R = '{r}', S = {{psink, R}}, Bin = binary:copy(<<"x">>, 64),
        Loop = fun L(I) -> S ! {{seq, I, Bin}}, L(I + 1) end,
        spawn(fun() -> Loop(0) end),
        io:format("STREAMING~n"),
        receive after 1500 -> erlang:halt(0, [{{flush, false}}]) end."#
    );
    let mut erl = Erl::start(&unique("quitter"), COOKIE, epmd, &eval);
    erl.expect("STREAMING", T).await;
    let peer = Atom::new(&erl.name);
    let (mut paced, mut seen, mut gone) = (0, false, false);
    for _ in 0..300 {
        match node.connection_info(&peer) {
            Some(info) => {
                seen = true;
                paced = paced.max(info.paced_streams);
            }
            None if seen => {
                gone = true;
                break;
            }
            None => {}
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert!(seen, "the streaming node never connected");
    assert!(gone, "the halted peer is still listed: {:?}", node.nodes());
    assert!(paced >= 1, "the endless stream was never read on a clock");
    // The node still serves a new peer.
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

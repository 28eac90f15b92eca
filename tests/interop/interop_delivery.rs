//! Delivery and routing without node-wide locks, against real OTP
//! (docs/architecture.md, "The path of a message"): a connection remembers the
//! mailboxes it delivered to, by pid and by registered name, and senders find a
//! connection's queue in a snapshot of the node's routes. Each remembered thing must
//! follow what it stands for:
//!
//! - a registered name moved to another process gets BEAM's next message there;
//! - a message to the pid of a process that has exited is dropped, not kept;
//! - after the connection goes down, BEAM's next message sets up a new one and
//!   arrives, and a Rust send to BEAM goes over the new connection.
//!
//! Run against the host's OTP and the newer root (27, and 29 in the sid pass of
//! scripts/test.sh).

use crate::common::*;
use beamnode::{Atom, Term};
use std::time::Duration;

const T: Duration = Duration::from_secs(30);

fn n(i: i64) -> Term {
    Term::tuple(vec![Term::atom("n"), Term::Int(i)])
}

async fn names_pids_and_routes_follow_changes(root: Option<&std::path::Path>) {
    let epmd = private_epmd().await;
    let node = rust_node("rust", epmd, COOKIE).await;
    let mut a = node.process();
    a.register("moving").expect("register a");
    let r = node.name().as_str().to_string();
    let eval = format!(
        r#"R = '{r}', true = net_kernel:connect_node(R), register(sink, self()),
        {{moving, R}} ! {{n, 1}},
        A = receive {{moved, P}} -> P after 20000 -> halt(1) end,
        {{moving, R}} ! {{n, 2}},
        A ! {{n, 3}},
        receive a_gone -> ok after 20000 -> halt(1) end,
        A ! {{n, 4}},
        {{moving, R}} ! {{n, 5}},
        receive disconnect -> ok after 20000 -> halt(1) end,
        true = erlang:disconnect_node(R),
        {{moving, R}} ! {{n, 6}},
        receive {{ping, From}} -> From ! pong after 20000 -> halt(1) end,
        io:format("DONE ~p~n", [lists:member(R, nodes())]),
        receive stop -> ok after 10000 -> ok end, halt()."#
    );
    let erl = Erl::start_on(root, &unique("delivery"), COOKIE, epmd, &eval);
    let sink = ("sink", erl.name.as_str());

    assert_eq!(a.receive(Some(T)).await.expect("n 1"), n(1));
    // The name moves from a to b while the connection remembers it for a.
    assert!(node.unregister(&Atom::new("moving")));
    let mut b = node.process();
    b.register("moving").expect("register b");
    b.send(
        sink,
        Term::tuple(vec![Term::atom("moved"), Term::Pid(a.pid().clone())]),
    )
    .await;
    assert_eq!(b.receive(Some(T)).await.expect("n 2 at b"), n(2));
    assert_eq!(a.receive(Some(T)).await.expect("n 3 at a, by pid"), n(3));
    // a exits: BEAM's message to its pid is dropped (the connection's remembered
    // mailbox refuses it), and the one by name after it arrives at b.
    let a_pid = a.pid().clone();
    drop(a);
    assert!(!node.processes().contains(&a_pid));
    b.send(sink, Term::atom("a_gone")).await;
    assert_eq!(b.receive(Some(T)).await.expect("n 5 at b"), n(5));

    // The connection goes down (BEAM's side); BEAM's next send sets up a new one.
    b.send(sink, Term::atom("disconnect")).await;
    assert_eq!(
        b.receive(Some(T)).await.expect("n 6 over a new connection"),
        n(6)
    );
    b.send(
        sink,
        Term::tuple(vec![Term::atom("ping"), Term::Pid(b.pid().clone())]),
    )
    .await;
    assert_eq!(b.receive(Some(T)).await.expect("pong"), Term::atom("pong"));
    let mut erl = erl;
    assert_eq!(erl.expect("DONE ", T).await, "true");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn delivery_follows_names_pids_and_connections_on_the_host_otp() {
    names_pids_and_routes_follow_changes(None).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn delivery_follows_names_pids_and_connections_on_the_newer_otp() {
    let root = newer_otp_root();
    names_pids_and_routes_follow_changes(Some(&root)).await;
}

//! `global` against real OTP (docs/global-design.md, protocol-notes §10): a beamnode
//! `global_name_server` is a peer of OTP's. OTP's `global:sync()` completes with us,
//! names registered on either side (before or after the connection) are seen on the
//! other, `global:send` reaches a Rust owner, and an owner's exit removes the name on
//! both sides.

mod common;

use beamnode::runtime::Process;
use beamnode::services::global::{self, Global};
use beamnode::services::rpc_client;
use beamnode::{Atom, Node, Term};
use common::*;
use std::future::Future;
use std::path::Path;
use std::time::{Duration, Instant};

const T: Duration = Duration::from_secs(20);

/// An erl node with a globally registered `early` (before any connection) and a
/// registered `ctl` process: `{reg, From, Name}` spawns a process, registers it
/// globally and answers `{reg, yes | no, Pid}`; `{sync, From}` answers
/// `{synced, global:sync()}`.
const SCRIPT: &str =
    "yes = global:register_name(early, spawn(fun() -> receive stop -> ok end end)), \
    register(ctl, self()), \
    io:format(\"UP ~s~n\", [erlang:system_info(otp_release)]), \
    L = fun Loop() -> receive \
      {reg, From, Name} -> \
        P = spawn(fun() -> receive stop -> ok end end), \
        R = global:register_name(Name, P), From ! {reg, R, P}, Loop(); \
      {sync, From} -> From ! {synced, global:sync()}, Loop(); \
      _ -> Loop() end end, \
    L().";

/// Polls `cond` until it holds (bounded); panics with `what` otherwise.
async fn until<F, Fut>(what: &str, mut cond: F)
where
    F: FnMut() -> Fut,
    Fut: Future<Output = bool>,
{
    let deadline = Instant::now() + T;
    while Instant::now() < deadline {
        if cond().await {
            return;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    panic!("timed out waiting for: {what}");
}

async fn erl_rpc(node: &Node, erl: &Atom, m: &str, f: &str, args: Vec<Term>) -> Term {
    rpc_client::call(node, erl, m, f, args, T)
        .await
        .unwrap_or_else(|e| panic!("rpc {m}:{f} failed: {e}"))
}

async fn erl_whereis(node: &Node, erl: &Atom, name: &str) -> Term {
    erl_rpc(node, erl, "global", "whereis_name", vec![Term::atom(name)]).await
}

async fn ctl(me: &mut Process, erl: &Atom, msg: Term) -> Term {
    me.send_named(&Atom::new("ctl"), erl, msg);
    me.receive(Some(T)).await.expect("an answer from ctl")
}

async fn scenario(root: Option<&Path>, tag: &str) {
    let epmd = private_epmd().await;
    let node = rust_node(&format!("glr{tag}"), epmd, COOKIE).await;
    let g: Global = global::start(&node).expect("start global");
    let mut me = node.process();
    let my = Term::Pid(me.pid().clone());

    let mut a = Erl::start_on(root, &unique(&format!("gla{tag}")), COOKIE, epmd, SCRIPT);
    let release = a.expect("UP ", T).await;
    assert_release(root, &release);
    let an = Atom::new(&a.name);
    assert!(node.connect(&an).await);

    // (d) OTP's global:sync() returns once it has synced with us.
    let synced = ctl(
        &mut me,
        &an,
        Term::tuple(vec![Term::atom("sync"), my.clone()]),
    )
    .await;
    assert_eq!(
        synced,
        Term::tuple(vec![Term::atom("synced"), Term::atom("ok")]),
        "global:sync() on {release}"
    );
    g.sync(Some(T)).await.expect("our own sync");
    assert!(g.known().contains(&an), "erl is known: {:?}", g.known());

    // A name erl registered before the connection came over in the exchange.
    let early = g
        .whereis_name(&Term::atom("early"))
        .expect("early seen here");
    assert_eq!(early.node, an);

    // (a) erl registers a name now: Rust sees it.
    let r = ctl(
        &mut me,
        &an,
        Term::tuple(vec![Term::atom("reg"), my.clone(), Term::atom("a")]),
    )
    .await;
    let pa = match r.as_tuple() {
        Some([k, yes, Term::Pid(p)]) if k.is_atom("reg") && yes.is_atom("yes") => p.clone(),
        _ => panic!("erl register_name answered {r}"),
    };
    until("rust to see a", || {
        let ok = g.whereis_name(&Term::atom("a")) == Some(pa.clone());
        async move { ok }
    })
    .await;

    // (b) Rust registers b: erl's whereis_name sees it and global:send reaches it.
    let mut owner = node.process();
    assert!(
        g.register_name(Term::atom("b"), owner.pid()).await,
        "register b"
    );
    assert_eq!(g.whereis_name(&Term::atom("b")), Some(owner.pid().clone()));
    assert_eq!(
        erl_whereis(&node, &an, "b").await,
        Term::Pid(owner.pid().clone())
    );
    // Already taken: a second registration of the name says no.
    let other = node.process();
    assert!(!g.register_name(Term::atom("b"), other.pid()).await);
    let sent = erl_rpc(
        &node,
        &an,
        "global",
        "send",
        vec![Term::atom("b"), Term::atom("hello")],
    )
    .await;
    assert_eq!(sent, Term::Pid(owner.pid().clone()));
    assert_eq!(owner.receive(Some(T)).await.unwrap(), Term::atom("hello"));
    // Rust's registered_names has all three.
    let mut names: Vec<String> = g.registered_names().iter().map(|n| n.to_string()).collect();
    names.sort();
    assert_eq!(names, ["a", "b", "early"]);

    // (c) Owners exit: the names go on both sides.
    drop(owner);
    until("b gone here", || {
        let ok = g.whereis_name(&Term::atom("b")).is_none();
        async move { ok }
    })
    .await;
    until("b gone on erl", || async {
        erl_whereis(&node, &an, "b").await.is_atom("undefined")
    })
    .await;
    node.send(&pa, Term::atom("stop"));
    until("a gone on erl", || async {
        erl_whereis(&node, &an, "a").await.is_atom("undefined")
    })
    .await;
    until("a gone here", || {
        let ok = !g.registered_names().contains(&Term::atom("a"));
        async move { ok }
    })
    .await;

    // Nothing is left locked: erl can still register at once, and Rust too.
    let r = tokio::time::timeout(
        Duration::from_secs(5),
        ctl(
            &mut me,
            &an,
            Term::tuple(vec![Term::atom("reg"), my.clone(), Term::atom("c")]),
        ),
    )
    .await
    .expect("erl register_name does not stall");
    assert!(matches!(r.as_tuple(), Some([_, yes, _]) if yes.is_atom("yes")));
    let again = node.process();
    assert!(g.register_name(Term::atom("b"), again.pid()).await);
    assert_eq!(
        erl_whereis(&node, &an, "b").await,
        Term::Pid(again.pid().clone())
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn global_peer_of_otp25() {
    require("erl");
    scenario(None, "25").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn global_peer_of_newer_otp() {
    let root = newer_otp_root();
    scenario(Some(&root), "nw").await;
}

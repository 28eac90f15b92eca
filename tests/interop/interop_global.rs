//! `global` against real OTP (docs/global-design.md, docs/protocol.md §10): a beamnode
//! `global_name_server` is a peer of OTP's. OTP's `global:sync()` completes with us,
//! names registered on either side (before or after the connection) are seen on the
//! other, `global:send` reaches a Rust owner, and an owner's exit removes the name on
//! both sides.

use crate::common::*;
use beamnode::services::global::{self, Global};
use beamnode::services::rpc_client;
use beamnode::Process;
use beamnode::{Atom, Node, Term};
use std::path::Path;
use std::time::Duration;

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

async fn erl_rpc(node: &Node, erl: &Atom, m: &str, f: &str, args: Vec<Term>) -> Term {
    rpc_client::call(node, erl, m, f, args, T)
        .await
        .unwrap_or_else(|e| panic!("rpc {m}:{f} failed: {e}"))
}

async fn erl_whereis(node: &Node, erl: &Atom, name: &str) -> Term {
    erl_rpc(node, erl, "global", "whereis_name", vec![Term::atom(name)]).await
}

async fn ctl(me: &mut Process, erl: &Atom, msg: Term) -> Term {
    me.send_named(&Atom::new("ctl"), erl, msg).await;
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
    until_true("rust to see a", || {
        g.whereis_name(&Term::atom("a")) == Some(pa.clone())
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
    until_true("b gone here", || g.whereis_name(&Term::atom("b")).is_none()).await;
    until("b gone on erl", || async {
        erl_whereis(&node, &an, "b").await.is_atom("undefined")
    })
    .await;
    node.send(&pa, Term::atom("stop"));
    until("a gone on erl", || async {
        erl_whereis(&node, &an, "a").await.is_atom("undefined")
    })
    .await;
    until_true("a gone here", || {
        !g.registered_names().contains(&Term::atom("a"))
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
async fn global_peer_of_host_otp() {
    require("erl");
    scenario(None, "host").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn global_peer_of_newer_otp() {
    let root = newer_otp_root();
    scenario(Some(&root), "nw").await;
}

/// `{reg, …}` through `ctl`: the erl pid now registered as `name`.
async fn erl_register(me: &mut Process, erl: &Atom, name: &str) -> Term {
    let my = Term::Pid(me.pid().clone());
    let r = ctl(
        me,
        erl,
        Term::tuple(vec![Term::atom("reg"), my, Term::atom(name)]),
    )
    .await;
    match r.as_tuple() {
        Some([k, yes, p]) if k.is_atom("reg") && yes.is_atom("yes") => p.clone(),
        _ => panic!("erl register_name answered {r}"),
    }
}

async fn erl_sync(me: &mut Process, erl: &Atom) {
    let my = Term::Pid(me.pid().clone());
    let synced = ctl(me, erl, Term::tuple(vec![Term::atom("sync"), my])).await;
    assert_eq!(
        synced,
        Term::tuple(vec![Term::atom("synced"), Term::atom("ok")]),
        "global:sync() on {erl}"
    );
}

/// Three nodes: erl1 and erl2 are connected and synced; we connect to erl1 only and
/// learn erl2 through `resolved` (in_sync both ways); names travel between all three;
/// when erl2 dies its names go here.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn global_third_node_and_node_loss() {
    require("erl");
    let epmd = private_epmd().await;
    let node = rust_node("gl3r", epmd, COOKIE).await;
    let g = global::start(&node).expect("start global");
    let mut me = node.process();

    let mut e1 = Erl::start(&unique("gl3a"), COOKIE, epmd, SCRIPT);
    e1.expect("UP ", T).await;
    let a1 = Atom::new(&e1.name);
    let script2 = format!(
        "pong = net_adm:ping('{}'), ok = global:sync(), \
         yes = global:register_name(e2name, spawn(fun() -> receive stop -> ok end end)), {}",
        e1.name,
        SCRIPT.replace(
            "yes = global:register_name(early,",
            "yes = global:register_name(early2,"
        )
    );
    let mut e2 = Erl::start(&unique("gl3b"), COOKIE, epmd, &script2);
    e2.expect("UP ", T).await;
    let a2 = Atom::new(&e2.name);

    assert!(node.connect(&a1).await);
    erl_sync(&mut me, &a1).await;
    until_true("erl2 known and connected", || {
        g.known().contains(&a2) && node.nodes().contains(&a2)
    })
    .await;
    erl_sync(&mut me, &a2).await;
    g.sync(Some(T)).await.expect("our sync");
    for n in ["early", "early2", "e2name"] {
        assert!(
            g.whereis_name(&Term::atom(n)).is_some(),
            "{n} seen here: {:?}",
            g.registered_names()
        );
    }
    let owner = node.process();
    assert!(g.register_name(Term::atom("r3"), owner.pid()).await);
    for erl in [&a1, &a2] {
        assert_eq!(
            erl_whereis(&node, erl, "r3").await,
            Term::Pid(owner.pid().clone())
        );
    }
    let p2 = erl_register(&mut me, &a2, "late2").await;
    until_true("late2 here", || {
        g.whereis_name(&Term::atom("late2")).map(Term::Pid) == Some(p2.clone())
    })
    .await;

    // erl2 dies: its names go here, erl1 and we stay together.
    e2.kill9();
    until_true("erl2's names gone here", || {
        g.whereis_name(&Term::atom("late2")).is_none()
            && g.whereis_name(&Term::atom("e2name")).is_none()
    })
    .await;
    assert!(g.whereis_name(&Term::atom("early")).is_some());
    assert!(node.nodes().contains(&a1));
    let r = tokio::time::timeout(Duration::from_secs(5), erl_register(&mut me, &a1, "after"))
        .await
        .expect("erl1 register_name does not stall");
    until_true("after here", || {
        g.whereis_name(&Term::atom("after")).map(Term::Pid) == Some(r.clone())
    })
    .await;
}

/// A name registered on both sides before they connect: with the default
/// random_exit_name, the pid on the smaller node name keeps it everywhere and the
/// other is killed. `rust_first` picks which node sorts first, so both resolution
/// paths run: ours (resolve_it here) and OTP's.
async fn clash(rust_prefix: &str) {
    let epmd = private_epmd().await;
    let node = rust_node(rust_prefix, epmd, COOKIE).await;
    let g = global::start(&node).expect("start global");
    let mut me = node.process();
    let owner = node.process();
    assert!(g.register_name(Term::atom("early"), owner.pid()).await);

    let mut e = Erl::start(&unique("glm"), COOKIE, epmd, SCRIPT);
    e.expect("UP ", T).await;
    let an = Atom::new(&e.name);
    assert!(node.connect(&an).await);
    erl_sync(&mut me, &an).await;
    g.sync(Some(T)).await.expect("our sync");

    let rust_wins = node.name() < &an;
    let want = if rust_wins {
        Term::Pid(owner.pid().clone())
    } else {
        erl_whereis(&node, &an, "early").await
    };
    assert_eq!(
        g.whereis_name(&Term::atom("early")).map(Term::Pid),
        Some(want.clone())
    );
    assert_eq!(erl_whereis(&node, &an, "early").await, want);
    if rust_wins {
        assert_eq!(want.as_pid().unwrap().node, *node.name());
        assert!(node.is_process_alive(owner.pid()));
    } else {
        assert_eq!(want.as_pid().unwrap().node, an);
        until_true("our owner killed", || !node.is_process_alive(owner.pid())).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn global_clash_rust_node_first() {
    require("erl");
    clash("gl0").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn global_clash_otp_node_first() {
    require("erl");
    clash("glz").await;
}

/// Two beamnodes sync with each other (both lockers ours) and see each other's names.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn global_two_beamnodes() {
    let epmd = private_epmd().await;
    let n1 = rust_node("glb1", epmd, COOKIE).await;
    let n2 = rust_node("glb2", epmd, COOKIE).await;
    let g1 = global::start(&n1).expect("start global 1");
    let g2 = global::start(&n2).expect("start global 2");
    let o1 = n1.process();
    assert!(g1.register_name(Term::atom("one"), o1.pid()).await);
    assert!(n2.connect(n1.name()).await);
    g1.sync(Some(T)).await.expect("sync 1");
    g2.sync(Some(T)).await.expect("sync 2");
    assert_eq!(g2.whereis_name(&Term::atom("one")), Some(o1.pid().clone()));
    let o2 = n2.process();
    assert!(g2.register_name(Term::atom("two"), o2.pid()).await);
    assert_eq!(g1.whereis_name(&Term::atom("two")), Some(o2.pid().clone()));
    drop(o1);
    until_true("one gone on node 2", || {
        g2.whereis_name(&Term::atom("one")).is_none()
    })
    .await;
}

/// prevent_overlapping_partitions: erl1 drops its connection to erl2; erl1 tells us
/// (`lost_connection`), we ask erl2 to drop us (`remove_connection`) and forget it.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn global_overlapping_partitions() {
    require("erl");
    let epmd = private_epmd().await;
    let node = rust_node("glpr", epmd, COOKIE).await;
    let g = global::start(&node).expect("start global");
    let mut me = node.process();
    let mut e1 = Erl::start(&unique("glpa"), COOKIE, epmd, SCRIPT);
    e1.expect("UP ", T).await;
    let a1 = Atom::new(&e1.name);
    let script2 = format!(
        "pong = net_adm:ping('{}'), ok = global:sync(), {}",
        e1.name,
        SCRIPT.replace(
            "yes = global:register_name(early,",
            "yes = global:register_name(early2,"
        )
    );
    let mut e2 = Erl::start(&unique("glpb"), COOKIE, epmd, &script2);
    e2.expect("UP ", T).await;
    let a2 = Atom::new(&e2.name);
    assert!(node.connect(&a1).await);
    erl_sync(&mut me, &a1).await;
    erl_sync(&mut me, &a2).await;
    until_true("all three synced", || {
        g.known().contains(&a1) && g.known().contains(&a2)
    })
    .await;

    let r = erl_rpc(
        &node,
        &a1,
        "erlang",
        "disconnect_node",
        vec![Term::Atom(a2.clone())],
    )
    .await;
    assert!(r.is_atom("true"));
    until_true("erl2 dropped here", || {
        !g.known().contains(&a2) && !node.nodes().contains(&a2)
    })
    .await;
    until_true("erl2's names gone here", || {
        g.whereis_name(&Term::atom("early2")).is_none()
    })
    .await;
}

/// A clash resolved here with our entry's `notify_all_name`: the name goes on both
/// sides and our owner is told `{global_name_conflict, Name, OtherPid}`.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn global_clash_notify_all_resolved_here() {
    require("erl");
    let epmd = private_epmd().await;
    let node = rust_node("gl0n", epmd, COOKIE).await;
    // OTP reaches our global:resolve_it/4 through erpc, which needs rpc serving.
    beamnode::services::rpc_server::start(&node).expect("rpc serving");
    let g = global::start(&node).expect("start global");
    let mut me = node.process();
    let mut owner = node.process();
    assert!(
        g.register_name_with(
            Term::atom("early"),
            owner.pid(),
            global::Method::NotifyAll.to_term()
        )
        .await
    );
    let mut e = Erl::start(&unique("glmn"), COOKIE, epmd, SCRIPT);
    e.expect("UP ", T).await;
    let an = Atom::new(&e.name);
    assert!(node.name() < &an);
    assert!(node.connect(&an).await);
    erl_sync(&mut me, &an).await;
    g.sync(Some(T)).await.expect("our sync");
    let note = owner.receive(Some(T)).await.expect("a conflict notice");
    match note.as_tuple() {
        Some([k, n, Term::Pid(other)]) => {
            assert!(k.is_atom("global_name_conflict") && n.is_atom("early"));
            assert_eq!(other.node, an);
        }
        _ => panic!("unexpected notice {note}"),
    }
    assert_eq!(g.whereis_name(&Term::atom("early")), None);
    assert!(erl_whereis(&node, &an, "early").await.is_atom("undefined"));
    assert!(node.is_process_alive(owner.pid()));

    // OTP's rpc to our global:resolve_it/4 (what a smaller OTP node does when the
    // conflicting pid is ours): random_notify_name keeps the pid on the smaller node.
    let loser = {
        let mut other = node.process();
        let got = erl_rpc(
            &node,
            &an,
            "rpc",
            "call",
            vec![
                Term::Atom(node.name().clone()),
                Term::atom("global"),
                Term::atom("resolve_it"),
                Term::list(vec![
                    global::Method::RandomNotify.to_term(),
                    Term::atom("n"),
                    Term::Pid(owner.pid().clone()),
                    Term::Pid(other.pid().clone()),
                ]),
            ],
        )
        .await;
        assert!(got.as_pid().is_some(), "resolve_it gave {got}");
        let (kept, lost) = if got.as_pid() == Some(owner.pid()) {
            (&owner, &mut other)
        } else {
            (&other, &mut owner)
        };
        assert_eq!(got.as_pid(), Some(kept.pid()));
        lost.receive(Some(T)).await.expect("loser notified")
    };
    assert_eq!(
        loser,
        Term::tuple(vec![Term::atom("global_name_conflict"), Term::atom("n")])
    );
}

/// We connect to two erls that do not know each other: syncing with us makes them
/// meet (our `resolved` carries our known nodes), and their names reach each other.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn global_beamnode_between_two_erls() {
    require("erl");
    let epmd = private_epmd().await;
    let node = rust_node("glmr", epmd, COOKIE).await;
    let g = global::start(&node).expect("start global");
    let mut me = node.process();
    let mut e1 = Erl::start(&unique("glma"), COOKIE, epmd, SCRIPT);
    e1.expect("UP ", T).await;
    let a1 = Atom::new(&e1.name);
    let script2 = SCRIPT.replace(
        "yes = global:register_name(early,",
        "yes = global:register_name(early2,",
    );
    let mut e2 = Erl::start(&unique("glmb"), COOKIE, epmd, &script2);
    e2.expect("UP ", T).await;
    let a2 = Atom::new(&e2.name);
    assert!(node.connect(&a1).await);
    erl_sync(&mut me, &a1).await;
    assert!(node.connect(&a2).await);
    erl_sync(&mut me, &a2).await;
    until("erl1 and erl2 connected", || async {
        let ns = erl_rpc(&node, &a1, "erlang", "nodes", vec![]).await;
        ns.as_list()
            .map(|l| l.contains(&Term::Atom(a2.clone())))
            .unwrap_or(false)
    })
    .await;
    erl_sync(&mut me, &a1).await;
    erl_sync(&mut me, &a2).await;
    until("early2 on erl1 and early on erl2", || async {
        erl_whereis(&node, &a1, "early2").await.as_pid().is_some()
            && erl_whereis(&node, &a2, "early").await.as_pid().is_some()
    })
    .await;
    g.sync(Some(T)).await.expect("our sync");
    assert!(g.whereis_name(&Term::atom("early")).is_some());
    assert!(g.whereis_name(&Term::atom("early2")).is_some());
}

/// `beamnode run` (global on by default), as README shows it: an Elixir node connects, `:global.sync()`
/// completes, the node's `kv` server is reachable as `{:global, {:kv, Node}}`, and a
/// name Elixir registers is listed.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn beamnode_run_global_for_elixir() {
    require("elixir");
    let epmd = private_epmd().await;
    let sname = format!("{}@localhost", unique("glrun"));
    let mut cmd = std::process::Command::new(env!("CARGO_BIN_EXE_beamnode"));
    // global is on by default.
    cmd.args(["run", "--sname", &sname, "--cookie", COOKIE])
        .args(["--no-epmd", "--epmd-port", &epmd.to_string()]);
    let mut run = Erl::from_command(cmd, &sname);
    run.expect_line("the 'is up' line", T, |l| l.contains("is up"))
        .await;
    let script = r#"
        r = :"NODE"
        IO.puts("CONNECT #{Node.connect(r)}")
        IO.puts("SYNC #{:global.sync()}")
        IO.puts("PUT #{GenServer.call({:global, {:kv, r}}, {:put, :k, 42})}")
        IO.puts("GET #{inspect(GenServer.call({:global, {:kv, r}}, {:get, :k}))}")
        :yes = :global.register_name(:ex_proc, self())
        IO.puts("REMOTE #{:rpc.call(r, :erlang, :node, []) == r}")
        IO.puts("NAMES #{inspect(Enum.sort(:global.registered_names()))}")
    "#
    .replace("NODE", &sname);
    let name = format!("{}@localhost", unique("glex"));
    let mut cmd = std::process::Command::new("elixir");
    cmd.args(["--sname", &name, "--cookie", COOKIE, "-e", &script])
        .env("ERL_EPMD_PORT", epmd.to_string());
    let mut ex = Erl::from_command(cmd, &name);
    assert_eq!(ex.expect("CONNECT ", T).await, "true");
    assert_eq!(ex.expect("SYNC ", T).await, "ok");
    assert_eq!(ex.expect("PUT ", T).await, "ok");
    assert_eq!(ex.expect("GET ", T).await, "{:ok, 42}");
    assert_eq!(ex.expect("REMOTE ", T).await, "true");
    assert_eq!(
        ex.expect("NAMES ", T).await,
        format!("[:ex_proc, {{:kv, :{sname}}}]")
    );
}

/// An erl whose `ctl` process takes and frees global locks on request: `{lock, From,
/// Res, Req, Nodes}` answers `{locked, global:set_lock({Res, Req}, Nodes, 0)}` (ctl is
/// the holder), `{unlock, From, Res, Req, Nodes}` answers `{unlocked,
/// global:del_lock(…)}`.
const LOCK_SCRIPT: &str = "register(ctl, self()), \
    io:format(\"UP ~s~n\", [erlang:system_info(otp_release)]), \
    L = fun Loop() -> receive \
      {lock, From, Res, Req, Ns} -> From ! {locked, global:set_lock({Res, Req}, Ns, 0)}, Loop(); \
      {unlock, From, Res, Req, Ns} -> From ! {unlocked, global:del_lock({Res, Req}, Ns)}, Loop(); \
      {sync, From} -> From ! {synced, global:sync()}, Loop(); \
      _ -> Loop() end end, \
    L().";

/// Asks erl's ctl to `lock` or `unlock` `{res, Req}` on `nodes`; the answer's value.
async fn erl_lock_op(me: &mut Process, erl: &Atom, op: &str, req: &str, nodes: &[&Atom]) -> Term {
    let my = Term::Pid(me.pid().clone());
    let ns = Term::list(nodes.iter().map(|n| Term::Atom((*n).clone())).collect());
    let request = Term::tuple(vec![
        Term::atom(op),
        my,
        Term::atom("res"),
        Term::atom(req),
        ns,
    ]);
    let r = ctl(me, erl, request).await;
    match <[Term; 2]>::try_from(r.clone().into_tuple().unwrap_or_default()) {
        Ok([_, v]) => v,
        Err(_) => panic!("erl {op} answered {r}"),
    }
}

/// erl's ctl tries `{res, Req}` on `nodes` with 0 retries: its set_lock answer.
async fn erl_try_lock(me: &mut Process, erl: &Atom, req: &str, nodes: &[&Atom]) -> bool {
    let v = erl_lock_op(me, erl, "lock", req, nodes).await;
    assert!(v.is_atom("true") || v.is_atom("false"), "set_lock gave {v}");
    v.is_atom("true")
}

async fn erl_unlock(me: &mut Process, erl: &Atom, req: &str, nodes: &[&Atom]) {
    let v = erl_lock_op(me, erl, "unlock", req, nodes).await;
    assert!(v.is_atom("true"), "del_lock gave {v}");
}

/// `set_lock` / `del_lock` / `trans` from Rust against OTP's `global:set_lock/3` and
/// `del_lock/2` on the same resource with another requester id.
async fn locks(root: Option<&Path>, tag: &str) {
    let epmd = private_epmd().await;
    let node = rust_node(&format!("gll{tag}"), epmd, COOKIE).await;
    let g = global::start(&node).expect("start global");
    let mut me = node.process();
    let mut e = Erl::start_on(
        root,
        &unique(&format!("glk{tag}")),
        COOKIE,
        epmd,
        LOCK_SCRIPT,
    );
    let release = e.expect("UP ", T).await;
    assert_release(root, &release);
    let an = Atom::new(&e.name);
    assert!(node.connect(&an).await);
    erl_sync(&mut me, &an).await;
    g.sync(Some(T)).await.expect("our sync");
    let us = node.name().clone();
    let both = [&an, &us];
    let rust_id = global::LockId::new(Term::atom("res"), Term::atom("rust"));

    // Rust holds {res, rust} on both nodes: erl's {res, erl} is refused on either node
    // alone (the lock is in both servers' tables) until Rust lets go.
    let mut holder = node.process();
    assert!(
        g.set_lock(&mut holder, &rust_id, None, global::Retries::Times(0))
            .await
    );
    assert!(
        !erl_try_lock(&mut me, &an, "erl", &[&an]).await,
        "{release}: erl's own table"
    );
    assert!(
        !erl_try_lock(&mut me, &an, "erl", &[&us]).await,
        "{release}: our table"
    );
    assert!(!erl_try_lock(&mut me, &an, "erl", &both).await);
    // The same requester id shares the lock.
    assert!(erl_try_lock(&mut me, &an, "rust", &both).await);
    erl_unlock(&mut me, &an, "rust", &both).await;
    g.del_lock(&mut holder, &rust_id, None).await;
    assert!(erl_try_lock(&mut me, &an, "erl", &both).await);

    // erl holds {res, erl}: Rust's set_lock fails with 0 retries and with 2 (after
    // OTP's random back-off), then succeeds once erl has deleted its lock.
    assert!(
        !g.set_lock(&mut holder, &rust_id, None, global::Retries::Times(0))
            .await
    );
    assert!(
        !g.set_lock(
            &mut holder,
            &rust_id,
            Some(std::slice::from_ref(&an)),
            global::Retries::Times(2)
        )
        .await
    );
    erl_unlock(&mut me, &an, "erl", &both).await;
    assert!(
        g.set_lock(&mut holder, &rust_id, None, global::Retries::Times(0))
            .await
    );
    // A holder that exits releases its locks everywhere (the servers' monitors).
    drop(holder);
    until("the dead holder's lock gone on erl", || async {
        let mut p = node.process();
        erl_try_lock(&mut p, &an, "erl", &[&an]).await
    })
    .await;
    erl_unlock(&mut me, &an, "erl", &[&an]).await;

    // trans: the closure runs once, with the lock held on both nodes, and the lock
    // goes afterwards.
    let runs = std::sync::atomic::AtomicUsize::new(0);
    let me_ref = &mut me;
    let (an_ref, both_ref) = (&an, &both);
    let held = g
        .trans(&rust_id, None, global::Retries::Times(0), || async {
            runs.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
            !erl_try_lock(me_ref, an_ref, "erl", &both_ref[..]).await
        })
        .await
        .expect("trans runs");
    assert!(held, "erl could lock during trans");
    assert_eq!(runs.load(std::sync::atomic::Ordering::SeqCst), 1);
    assert!(
        erl_try_lock(&mut me, &an, "erl", &both).await,
        "released after trans"
    );

    // erl holds it: trans with 0 retries is aborted and its closure never runs.
    let r = g
        .trans(&rust_id, None, global::Retries::Times(0), || async {
            runs.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
        })
        .await;
    assert_eq!(r, Err(global::GlobalError::Aborted));
    assert_eq!(runs.load(std::sync::atomic::Ordering::SeqCst), 1);

    // trans with infinite retries waits for erl's del_lock.
    let g2 = g.clone();
    let id2 = rust_id.clone();
    let waiting = tokio::spawn(async move {
        g2.trans(&id2, None, global::Retries::Infinity, || async { 42 })
            .await
    });
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert!(!waiting.is_finished(), "trans did not wait for erl's lock");
    erl_unlock(&mut me, &an, "erl", &both).await;
    let got = tokio::time::timeout(T, waiting)
        .await
        .expect("trans finishes after erl's del_lock")
        .expect("trans task");
    assert_eq!(got, Ok(42));
    assert!(erl_try_lock(&mut me, &an, "erl", &both).await);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn global_locks_host_otp() {
    require("erl");
    locks(None, "host").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn global_locks_newer_otp() {
    let root = newer_otp_root();
    locks(Some(&root), "nw").await;
}

/// Global groups are refused as an OTP node without groups refuses them: an erl with
/// `-kernel global_groups` that lists beamnode (so it asks beamnode for its group) and
/// one that leaves it out both get a warning naming them in beamnode's log, share no
/// names with it, and do not stall anything: beamnode's `global:sync()` still returns
/// and a plain erl syncs and shares names with beamnode as usual.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn global_groups_refused_with_a_log_line() {
    require("erl");
    groups_refused(None).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn global_groups_refused_newer_otp() {
    let root = newer_otp_root();
    groups_refused(Some(&root)).await;
}

/// An erl with extra arguments: the host's (`root` None) or a newer OTP root's.
fn erl_with_args(root: Option<&Path>, sname: &str, epmd: u16, eval: &str, extra: &[&str]) -> Erl {
    match root {
        None => Erl::start_with(sname, COOKIE, epmd, eval, extra),
        Some(root) => {
            let name = format!("{sname}@localhost");
            let mut cmd = std::process::Command::new("chroot");
            cmd.arg(root)
                .args(["env", &format!("ERL_EPMD_PORT={epmd}"), "HOME=/root", "erl"])
                .args(["-sname", &name, "-setcookie", COOKIE, "-noshell"])
                .args(extra)
                .args(["-eval", eval]);
            Erl::from_command(cmd, &name)
        }
    }
}

async fn groups_refused(root: Option<&Path>) {
    let epmd = private_epmd().await;
    let sname = format!("{}@localhost", unique("glgr"));
    let mut cmd = std::process::Command::new(env!("CARGO_BIN_EXE_beamnode"));
    // --global: still accepted (a no-op since global is on by default).
    cmd.args(["run", "--global", "--sname", &sname, "--cookie", COOKIE])
        .args(["--no-epmd", "--epmd-port", &epmd.to_string()])
        .env("RUST_LOG", "info");
    let mut run = Erl::from_command(cmd, &sname);
    run.expect_line("the 'is up' line", T, |l| l.contains("is up"))
        .await;

    // A member of a group that lists beamnode, and a node whose group leaves it out.
    let member = unique("glgm");
    let outside = unique("glgo");
    let groups_member = format!("[{{grp, ['{member}@localhost', '{sname}']}}]");
    let groups_outside = format!("[{{grp2, ['{outside}@localhost']}}]");
    let script = format!(
        "pong = net_adm:ping('{sname}'), \
         yes = global:register_name(list_to_atom(atom_to_list(node()) ++ \"_name\"), self()), \
         io:format(\"PINGED~n\"), receive after 60000 -> ok end."
    );
    let mut gm = erl_with_args(
        root,
        &member,
        epmd,
        &script,
        &["-kernel", "global_groups", &groups_member],
    );
    gm.expect("PINGED", T).await;
    run.expect_line("the refusal of the member", T, |l| {
        l.contains("WARN")
            && l.contains(&format!("{member}@localhost"))
            && l.contains("global_groups")
    })
    .await;
    let mut go = erl_with_args(
        root,
        &outside,
        epmd,
        &script,
        &["-kernel", "global_groups", &groups_outside],
    );
    go.expect("PINGED", T).await;
    run.expect_line("the refusal of the outsider", T, |l| {
        l.contains("WARN")
            && l.contains(&format!("{outside}@localhost"))
            && l.contains("global_groups")
    })
    .await;

    // A plain erl: beamnode's sync returns (the group nodes are not waited for), names
    // go both ways, and the group nodes' names are not in beamnode's table.
    let plain = format!(
        "io:format(\"REL ~s~n\", [erlang:system_info(otp_release)]), \
         pong = net_adm:ping('{sname}'), ok = global:sync(), \
         yes = global:register_name(plain_name, self()), \
         io:format(\"SYNC ~p~n\", [rpc:call('{sname}', global, sync, [], 10000)]), \
         io:format(\"SEEN ~p~n\", [rpc:call('{sname}', global, whereis_name, [plain_name]) =:= self()]), \
         io:format(\"KV ~p~n\", [is_pid(global:whereis_name({{kv, '{sname}'}}))]), \
         io:format(\"NAMES ~p~n\", [lists:sort(rpc:call('{sname}', global, registered_names, []))]), \
         receive after 60000 -> ok end."
    );
    let mut e = erl_with_args(root, &unique("glgp"), epmd, &plain, &[]);
    let release = e.expect("REL ", T).await;
    assert_release(root, &release);
    assert_eq!(e.expect("SYNC ", T).await, "ok", "on {release}");
    assert_eq!(e.expect("SEEN ", T).await, "true");
    assert_eq!(e.expect("KV ", T).await, "true");
    assert_eq!(
        e.expect("NAMES ", T).await,
        format!("[plain_name,{{kv,{sname}}}]")
    );
}

/// A clash resolved here whose local entry was registered by OTP's
/// `global:register_name/2` for a Rust pid: the method is OTP's own local fun (`fun
/// random_exit_name/3` inside global.erl, NEW_FUN_EXT), which must still count as
/// `random_exit_name` (found by the Docker suite's partition scenario). erl1 registers
/// `clash` for a Rust pid; erl2, alone, registers `clash` for its own pid and then
/// meets us: we resolve (our node name is the smallest), keep the Rust pid and kill
/// erl2's owner.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn global_clash_otp_method_for_a_rust_pid() {
    require("erl");
    clash_otp_method(None).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn global_clash_otp_method_for_a_rust_pid_newer_otp() {
    let root = newer_otp_root();
    clash_otp_method(Some(&root)).await;
}

async fn clash_otp_method(root: Option<&Path>) {
    let epmd = private_epmd().await;
    // Rust 'gl0…' < erl1 'glm…' < erl2 'glz…'.
    let node = rust_node("gl0o", epmd, COOKIE).await;
    let g = global::start(&node).expect("start global");
    let mut me = node.process();
    let owner = node.process();
    let mut e1 = Erl::start_on(root, &unique("glmo"), COOKIE, epmd, LOCK_SCRIPT);
    let release = e1.expect("UP ", T).await;
    assert_release(root, &release);
    let a1 = Atom::new(&e1.name);
    assert!(node.connect(&a1).await);
    erl_sync(&mut me, &a1).await;
    // erl1 registers our process with OTP's default method.
    let r = erl_rpc(
        &node,
        &a1,
        "global",
        "register_name",
        vec![Term::atom("clash"), Term::Pid(owner.pid().clone())],
    )
    .await;
    assert!(r.is_atom("yes"), "erl1 register_name gave {r}");
    until_true("clash here", || {
        g.whereis_name(&Term::atom("clash")).as_ref() == Some(owner.pid())
    })
    .await;

    // erl2, alone, registers clash for its own process and reports that process's end.
    let script2 = format!(
        "P = spawn(fun() -> receive stop -> ok end end), yes = global:register_name(clash, P), \
         spawn(fun() -> R = monitor(process, P), \
           receive {{'DOWN', R, _, _, Why}} -> io:format(\"OWNER_DOWN ~p~n\", [Why]) end end), {}",
        SCRIPT.replace("register_name(early,", "register_name(early2,")
    );
    let mut e2 = Erl::start_on(root, &unique("glzo"), COOKIE, epmd, &script2);
    e2.expect("UP ", T).await;
    let a2 = Atom::new(&e2.name);
    assert!(node.connect(&a2).await);
    erl_sync(&mut me, &a2).await;
    g.sync(Some(T)).await.expect("our sync");
    until("clash kept for the Rust pid everywhere", || async {
        g.whereis_name(&Term::atom("clash")).as_ref() == Some(owner.pid())
            && erl_whereis(&node, &a1, "clash").await == Term::Pid(owner.pid().clone())
            && erl_whereis(&node, &a2, "clash").await == Term::Pid(owner.pid().clone())
    })
    .await;
    assert!(node.is_process_alive(owner.pid()));
    assert_eq!(e2.expect("OWNER_DOWN ", T).await, "killed");
}

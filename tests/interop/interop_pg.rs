//! `pg` process groups against real OTP (docs/protocol.md §11): a beamnode scope is a
//! peer of OTP's own `pg` scope processes. Membership travels both ways (join, leave,
//! member exit, node down), a node that connects later gets the full state by `sync`,
//! several groups and a non-default scope are kept apart, `monitor_scope` reports
//! changes; OTP 25 and OTP 27.

use crate::common::*;
use beamnode::services::pg::{self, Scope};
use beamnode::services::rpc_client;
use beamnode::Process;
use beamnode::{Atom, Node, Pid, Term};
use std::collections::HashSet;
use std::time::Duration;

const T: Duration = Duration::from_secs(20);

/// An erl node with the default `pg` scope and a scope `other`, and a registered `ctl`
/// process: `{join, From, Scope, Group}` spawns a member that joins and answers
/// `{joined, Pid}` to `From`. One process is in group `early` before any connection.
const SCRIPT: &str = "{ok, _} = pg:start_link(), {ok, _} = pg:start(other), \
    ok = pg:join(early, spawn(fun() -> receive stop -> ok end end)), \
    register(ctl, self()), \
    io:format(\"UP ~s~n\", [erlang:system_info(otp_release)]), \
    L = fun Loop() -> receive \
      {join, From, Scope, G} -> \
        P = spawn(fun() -> receive stop -> ok end end), \
        ok = pg:join(Scope, G, P), From ! {joined, P}, Loop(); \
      _ -> Loop() end end, \
    L().";

fn set(pids: &[Pid]) -> HashSet<Pid> {
    pids.iter().cloned().collect()
}

/// `pg:get_members(Scope, Group)` on `erl`, as a set.
async fn erl_members(node: &Node, erl: &Atom, scope: &str, group: &str) -> HashSet<Pid> {
    let got = rpc_client::call(
        node,
        erl,
        "pg",
        "get_members",
        vec![Term::atom(scope), Term::atom(group)],
        T,
    )
    .await
    .expect("rpc pg:get_members");
    got.as_list()
        .expect("a list of members")
        .iter()
        .map(pid_of)
        .collect()
}

/// Waits until `erl`'s view of `scope`/`group` is exactly `want`.
async fn erl_sees(node: &Node, erl: &Atom, scope: &str, group: &str, want: &[Pid]) {
    let want = set(want);
    until(
        &format!("{erl} to see {scope}/{group} = {want:?}"),
        || async { erl_members(node, erl, scope, group).await == want },
    )
    .await;
}

/// Waits until the Rust scope's view of `group` is exactly `want`.
async fn rust_sees(scope: &Scope, group: &str, want: &[Pid]) {
    let want = set(want);
    let g = Term::atom(group);
    until_true(&format!("rust to see {group} = {want:?}"), || {
        set(&scope.get_members(&g)) == want
    })
    .await;
}

/// Waits until the Rust scope's `group` has exactly one member from each of `nodes`.
async fn rust_sees_nodes(scope: &Scope, group: &str, nodes: &[&Atom]) {
    let g = Term::atom(group);
    let mut want: Vec<String> = nodes.iter().map(|n| n.as_str().to_string()).collect();
    want.sort();
    until_true(
        &format!("rust to see {group} with members on {want:?}"),
        || {
            let mut got: Vec<String> = scope
                .get_members(&g)
                .iter()
                .map(|p| p.node.as_str().to_string())
                .collect();
            got.sort();
            got == want
        },
    )
    .await;
}

/// Asks `erl`'s `ctl` for a new member of `scope`/`group`; returns its pid.
async fn erl_join(me: &mut Process, erl: &Atom, scope: &str, group: &str) -> Pid {
    me.send_named(
        &Atom::new("ctl"),
        erl,
        Term::tuple(vec![
            Term::atom("join"),
            Term::Pid(me.pid().clone()),
            Term::atom(scope),
            Term::atom(group),
        ]),
    )
    .await;
    let reply = me.receive(Some(T)).await.expect("joined reply");
    match reply.as_tuple() {
        Some([tag, p]) if tag.is_atom("joined") => pid_of(p),
        _ => panic!("unexpected reply {reply}"),
    }
}

async fn erl_rpc(node: &Node, erl: &Atom, m: &str, f: &str, args: Vec<Term>) -> Term {
    rpc_client::call(node, erl, m, f, args, T)
        .await
        .unwrap_or_else(|e| panic!("rpc {m}:{f} failed: {e}"))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn pg_peer_of_host_otp_scopes() {
    require("erl");
    let epmd = private_epmd().await;
    let node = rust_node("pgr", epmd, COOKIE).await;
    let scope = pg::start(&node, "pg").expect("start pg scope");
    let mut me = node.process();

    let mut a = Erl::start(&unique("pga"), COOKIE, epmd, SCRIPT);
    assert_eq!(a.expect("UP ", T).await, host_otp_release());
    let an = Atom::new(&a.name);
    assert!(node.connect(&an).await);
    // What erl had before the connection comes over by sync.
    rust_sees_nodes(&scope, "early", &[&an]).await;
    // A scope started once erl has handled the nodeup (so only our start-up discover
    // can introduce it) still finds erl's scope of that name.
    tokio::time::sleep(Duration::from_millis(300)).await;
    let other = pg::start(&node, "other").expect("start other scope");

    // A Rust process joins g: erl sees it.
    let r1 = node.process();
    scope
        .join(Term::atom("g"), &[r1.pid().clone()])
        .await
        .unwrap();
    assert_eq!(
        scope.get_local_members(&Term::atom("g")),
        vec![r1.pid().clone()]
    );
    erl_sees(&node, &an, "pg", "g", &[r1.pid().clone()]).await;

    // An erl process joins g: Rust sees both; a scope monitor reports the join.
    let mut watcher = node.process();
    let (mref, now) = scope.monitor_scope(&mut watcher).await.unwrap();
    assert_eq!(now.get(&Term::atom("g")), Some(&vec![r1.pid().clone()]));
    let e1 = erl_join(&mut me, &an, "pg", "g").await;
    rust_sees(&scope, "g", &[r1.pid().clone(), e1.clone()]).await;
    let note = watcher.receive(Some(T)).await.unwrap();
    assert_eq!(
        note,
        Term::tuple(vec![
            Term::Ref(mref.clone()),
            Term::atom("join"),
            Term::atom("g"),
            Term::list(vec![Term::Pid(e1.clone())]),
        ])
    );
    assert!(scope.demonitor(&mut watcher, &mref).await.unwrap());

    // Several groups.
    let r2 = node.process();
    scope
        .join(Term::atom("g2"), &[r2.pid().clone()])
        .await
        .unwrap();
    let e2 = erl_join(&mut me, &an, "pg", "h").await;
    erl_sees(&node, &an, "pg", "g2", &[r2.pid().clone()]).await;
    rust_sees(&scope, "h", std::slice::from_ref(&e2)).await;
    let groups: HashSet<Term> = scope.which_groups().into_iter().collect();
    let want: HashSet<Term> = ["g", "g2", "h", "early"]
        .iter()
        .map(|g| Term::atom(g))
        .collect();
    assert_eq!(groups, want);

    // A non-default scope is separate.
    other
        .join(Term::atom("g"), &[r1.pid().clone()])
        .await
        .unwrap();
    erl_sees(&node, &an, "other", "g", &[r1.pid().clone()]).await;
    let e3 = erl_join(&mut me, &an, "other", "x").await;
    rust_sees(&other, "x", std::slice::from_ref(&e3)).await;
    assert!(scope.get_members(&Term::atom("x")).is_empty());
    erl_sees(&node, &an, "pg", "g", &[r1.pid().clone(), e1.clone()]).await;

    // Leave, both ways.
    assert!(scope
        .leave(Term::atom("g"), &[r1.pid().clone()])
        .await
        .unwrap());
    assert!(!scope
        .leave(Term::atom("g"), &[r1.pid().clone()])
        .await
        .unwrap());
    erl_sees(&node, &an, "pg", "g", std::slice::from_ref(&e1)).await;
    let left = erl_rpc(
        &node,
        &an,
        "pg",
        "leave",
        vec![Term::atom("pg"), Term::atom("g"), Term::Pid(e1.clone())],
    )
    .await;
    assert!(left.is_atom("ok"));
    rust_sees(&scope, "g", &[]).await;

    // A Rust member exits: gone on erl. An erl member is killed: gone here.
    drop(r2);
    erl_sees(&node, &an, "pg", "g2", &[]).await;
    erl_rpc(
        &node,
        &an,
        "erlang",
        "exit",
        vec![Term::Pid(e2.clone()), Term::atom("kill")],
    )
    .await;
    rust_sees(&scope, "h", &[]).await;

    // Only this node's pids can join.
    assert!(matches!(
        scope.join(Term::atom("g"), std::slice::from_ref(&e1)).await,
        Err(pg::PgError::NotLocal(_))
    ));

    // A node that connects later gets the full state (sync), and its members come here.
    let r3 = node.process();
    scope
        .join(Term::atom("late"), &[r3.pid().clone(), r3.pid().clone()])
        .await
        .unwrap();
    let mut b = Erl::start(&unique("pgb"), COOKIE, epmd, SCRIPT);
    b.expect("UP ", T).await;
    let bn = Atom::new(&b.name);
    assert!(node.connect(&bn).await);
    until("b to get the late members by sync", || async {
        let got = erl_rpc(
            &node,
            &bn,
            "pg",
            "get_members",
            vec![Term::atom("pg"), Term::atom("late")],
        )
        .await;
        got == Term::list(vec![
            Term::Pid(r3.pid().clone()),
            Term::Pid(r3.pid().clone()),
        ])
    })
    .await;
    erl_sees(&node, &bn, "other", "g", &[r1.pid().clone()]).await;
    rust_sees_nodes(&scope, "early", &[&an, &bn]).await;
    let eb = erl_join(&mut me, &bn, "pg", "late").await;
    rust_sees(&scope, "late", &[r3.pid().clone(), eb.clone()]).await;
    assert_eq!(scope.get_members(&Term::atom("late")).len(), 3);

    // The erl nodes go down (kill -9): their members vanish here.
    b.kill9();
    rust_sees(&scope, "late", &[r3.pid().clone()]).await;
    rust_sees_nodes(&scope, "early", &[&an]).await;
    a.kill9();
    rust_sees(&other, "x", &[]).await;
    rust_sees(&scope, "early", &[]).await;
    assert_eq!(other.get_members(&Term::atom("g")), vec![r1.pid().clone()]);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn pg_peer_of_otp27_scopes() {
    let root = newer_otp_root();
    let epmd = private_epmd().await;
    let node = rust_node("pgr", epmd, COOKIE).await;
    let scope = pg::start(&node, "pg").expect("start pg scope");
    let mut me = node.process();
    let mut erl = Erl::start_in_root(&root, &unique("pg27"), COOKIE, epmd, SCRIPT);
    let otp: u32 = erl.expect("UP ", T).await.parse().unwrap();
    assert!(otp >= 26, "expected a newer OTP, got {otp}");
    let en = Atom::new(&erl.name);
    assert!(node.connect(&en).await);
    rust_sees_nodes(&scope, "early", &[&en]).await;

    let r = node.process();
    scope
        .join(Term::atom("g"), &[r.pid().clone()])
        .await
        .unwrap();
    erl_sees(&node, &en, "pg", "g", &[r.pid().clone()]).await;
    // A group monitor (OTP 25.1+ API) reports the erl member's join and, when its node
    // is killed, its leave.
    let mut watcher = node.process();
    let (gref, now) = scope.monitor(&mut watcher, Term::atom("g")).await.unwrap();
    assert_eq!(now, vec![r.pid().clone()]);
    let e = erl_join(&mut me, &en, "pg", "g").await;
    rust_sees(&scope, "g", &[r.pid().clone(), e.clone()]).await;
    let note = |what: &str| {
        Term::tuple(vec![
            Term::Ref(gref.clone()),
            Term::atom(what),
            Term::atom("g"),
            Term::list(vec![Term::Pid(e.clone())]),
        ])
    };
    assert_eq!(watcher.receive(Some(T)).await.unwrap(), note("join"));
    drop(r);
    erl_sees(&node, &en, "pg", "g", std::slice::from_ref(&e)).await;
    erl.kill9();
    rust_sees(&scope, "g", &[]).await;
    // The Rust member's own leave came first, then the erl member's.
    let mut notes = Vec::new();
    while let Ok(m) = watcher.receive(Some(Duration::from_millis(200))).await {
        notes.push(m);
    }
    assert_eq!(notes.last(), Some(&note("leave")), "notes: {notes:?}");
    assert_eq!(notes.len(), 2, "notes: {notes:?}");
}

/// The README walkthrough: `beamnode run` hosts the default `pg` scope, and an Elixir
/// node's `:pg.join` / `:pg.leave` show in it (read with `:sys.get_state`).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn beamnode_run_hosts_the_default_scope_for_elixir() {
    require("elixir");
    let epmd = private_epmd().await;
    let sname = format!("{}@localhost", unique("pgrun"));
    let mut cmd = std::process::Command::new(env!("CARGO_BIN_EXE_beamnode"));
    cmd.args(["run", "--sname", &sname, "--cookie", COOKIE, "--no-epmd"])
        .args(["--epmd-port", &epmd.to_string()]);
    let mut run = Erl::from_command(cmd, &sname);
    run.expect_line("the 'is up' line", T, |l| l.contains("is up"))
        .await;
    let script = r#"
        r = :"NODE"
        {:ok, _} = :pg.start_link()
        IO.puts("CONNECT #{Node.connect(r)}")
        :ok = :pg.join(:workers, self())
        wait = fn want -> Enum.find_value(1..100, false, fn _ ->
          if Map.get(:sys.get_state({:pg, r}), :workers) == want, do: true, else: (Process.sleep(100); nil) end) end
        IO.puts("SEEN #{wait.([self()])}")
        :ok = :pg.leave(:workers, self())
        IO.puts("GONE #{wait.(nil)}")
        rust = Enum.find_value(1..100, [], fn _ ->
          case :pg.get_members(:beamnode) do [] -> (Process.sleep(100); nil); m -> m end end)
        IO.puts("RUST #{length(rust)} #{Enum.all?(rust, &(node(&1) == r))}")
    "#
    .replace("NODE", &sname);
    let name = format!("{}@localhost", unique("pgex"));
    let mut cmd = std::process::Command::new("elixir");
    cmd.args(["--sname", &name, "--cookie", COOKIE, "-e", &script])
        .env("ERL_EPMD_PORT", epmd.to_string());
    let mut ex = Erl::from_command(cmd, &name);
    assert_eq!(ex.expect("CONNECT ", T).await, "true");
    assert_eq!(ex.expect("SEEN ", T).await, "true");
    assert_eq!(ex.expect("GONE ", T).await, "true");
    // `beamnode run` puts its echo and kv processes in the `beamnode` group.
    assert_eq!(ex.expect("RUST ", T).await, "2 true");
}

//! Spawn requests and group-leader I/O against real OTP 25 (issue 4, docs/protocol.md
//! §5.4, §12, §15 trap 3). BEAM → Rust: `spawn/4`, `spawn_link/4`, `spawn_monitor/4`,
//! an undefined function (compared with a BEAM → BEAM spawn in the same script), a
//! fun, `rpc:call`, output through the spawner's group leader, and the same from
//! Elixir. Rust → BEAM: `Process::spawn_request` with link and monitor, a group
//! leader served by Rust, `badopt`, and an unreachable node.

use crate::common::*;
use beamnode::node::{SpawnError, SpawnRequestOpts};
use beamnode::{Atom, Term};
use std::process::Command;
use std::time::Duration;

const T: Duration = Duration::from_secs(20);

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn beam_spawns_rust_functions() {
    let epmd = private_epmd().await;
    let node = rust_node("rust", epmd, COOKIE).await;
    beamnode::services::demo::register(&node);
    let r = node.name().as_str().to_string();
    // A second BEAM node: the reference for what an undefined function looks like.
    let b = Erl::idle("peer", epmd, &[]).await;
    let b_name = &b.name;
    let eval = format!(
        r#"R = '{r}', B = '{b_name}',
        io:format("CONNECT ~p ~p~n", [net_kernel:connect_node(R), net_kernel:connect_node(B)]),
        process_flag(trap_exit, true),
        P = spawn(R, beamnode_demo, echo_loop, []),
        io:format("NODE ~p~n", [node(P) =:= R]),
        P ! {{self(), hi}},
        receive {{echo, M}} -> io:format("ECHO ~p~n", [M]) after 5000 -> io:format("ECHO timeout~n") end,
        Alias = alias(), P ! {{Alias, via_alias}},
        receive {{echo, AliasM}} -> io:format("ALIASECHO ~p~n", [AliasM]) after 5000 -> io:format("ALIASECHO timeout~n") end,
        unalias(Alias),
        MonP = monitor(process, P), P ! stop,
        receive {{'DOWN', MonP, process, P, StopR}} -> io:format("STOPPED ~p~n", [StopR]) after 5000 -> io:format("STOPPED timeout~n") end,
        L = spawn_link(R, beamnode_demo, crash, [boom]),
        receive {{'EXIT', L, R1}} -> io:format("LINKEXIT ~p~n", [R1]) after 5000 -> io:format("LINKEXIT timeout~n") end,
        Self = self(),
        Helper = spawn(fun() -> Self ! {{child, spawn_link(R, beamnode_demo, echo_loop, [])}}, receive go -> exit(bye) end end),
        C = receive {{child, CP}} -> CP end,
        CM = monitor(process, C), Helper ! go,
        receive {{'DOWN', CM, process, C, CR}} -> io:format("PARENTEXIT ~p~n", [CR]) after 5000 -> io:format("PARENTEXIT timeout~n") end,
        {{M2, Ref2}} = spawn_monitor(R, beamnode_demo, crash, [{{bad, [1,2]}}]),
        receive {{'DOWN', Ref2, process, M2, R2}} -> io:format("MONDOWN ~p~n", [R2]) after 5000 -> io:format("MONDOWN timeout~n") end,
        Undef = fun(N) ->
            U1 = spawn_link(N, nomod, nofun, [1]),
            X1 = receive {{'EXIT', U1, E1}} -> E1 after 5000 -> timeout end,
            {{U2, URef}} = spawn_monitor(N, nomod, nofun, [1]),
            X2 = receive {{'DOWN', URef, process, U2, E2}} -> E2 after 5000 -> timeout end,
            {{is_pid(U1), X1, X2}}
        end,
        io:format("UNDEF_RUST ~w~n", [Undef(R)]),
        io:format("UNDEF_BEAM ~w~n", [Undef(B)]),
        io:format("FUN ~w~n", [catch spawn(R, fun() -> ok end)]),
        io:format("RPC ~w~n", [rpc:call(R, nomod, nofun, [])]),
        io:format("RPC_BEAM ~w~n", [rpc:call(B, nomod, nofun, [])]),
        H = spawn_monitor(R, beamnode_demo, hello, [<<"world">>]),
        receive {{'DOWN', _, process, _, HR}} -> io:format("HELLODOWN ~p ~p~n", [HR, is_tuple(H)]) after 5000 -> io:format("HELLODOWN timeout~n") end,
        io:format("BADOPT ~p~n", [catch spawn_opt(R, beamnode_demo, echo_loop, [], [{{priority, high}}, {{fullsweep_after, 10}}])]),
        io:format("STILLUP ~p~n", [lists:member(R, nodes())]),
        halt()."#
    );
    let mut erl = Erl::start(&unique("beam"), COOKIE, epmd, &eval);
    assert_eq!(erl.expect("CONNECT ", T).await, "true true");
    assert_eq!(erl.expect("NODE ", T).await, "true");
    assert_eq!(erl.expect("ECHO ", T).await, "hi");
    assert_eq!(erl.expect("ALIASECHO ", T).await, "via_alias");
    assert_eq!(erl.expect("STOPPED ", T).await, "normal");
    assert_eq!(erl.expect("LINKEXIT ", T).await, "boom");
    // The link works the other way too: the BEAM parent's exit ends the Rust child.
    assert_eq!(erl.expect("PARENTEXIT ", T).await, "bye");
    assert_eq!(erl.expect("MONDOWN ", T).await, "{bad,[1,2]}");
    let undef_rust = erl.expect("UNDEF_RUST ", T).await;
    let undef_beam = erl.expect("UNDEF_BEAM ", T).await;
    assert_eq!(
        undef_rust,
        "{true,{undef,[{nomod,nofun,[1],[]}]},{undef,[{nomod,nofun,[1],[]}]}}"
    );
    assert_eq!(undef_rust, undef_beam, "same shapes as a BEAM node gives");
    let fun = erl.expect("FUN ", T).await;
    assert!(
        fun.starts_with("{'EXIT',{beamnode_cannot_run_funs,"),
        "a fun is refused with a clear error: {fun}"
    );
    // erpc:execute_call/4 is not served yet: it is an undefined function here.
    let rpc = erl.expect("RPC ", T).await;
    assert!(
        rpc.starts_with("{badrpc,{'EXIT',{undef,[{erpc,execute_call,"),
        "rpc:call gets undef: {rpc}"
    );
    assert_eq!(
        erl.expect("RPC_BEAM ", T).await,
        "{badrpc,{'EXIT',{undef,[{nomod,nofun,[],[]}]}}}"
    );
    // The greeting is printed by erl's group leader (its stdout), before the DOWN.
    erl.expect("hello, world", T).await;
    assert_eq!(erl.expect("HELLODOWN ", T).await, "normal true");
    let spawned = erl.expect("BADOPT ", T).await;
    assert!(
        spawned.starts_with('<'),
        "spawn_opt options are accepted: {spawned}"
    );
    assert_eq!(
        erl.expect("STILLUP ", T).await,
        "true",
        "the connection survived"
    );
    assert!(erl.wait_exit(T).await);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn elixir_node_spawn_family() {
    require("elixir");
    let epmd = private_epmd().await;
    let node = rust_node("rust", epmd, COOKIE).await;
    beamnode::services::demo::register(&node);
    let r = node.name().as_str().to_string();
    let script = format!(
        r#"r = :"{r}"
        IO.puts("CONNECT #{{inspect(Node.connect(r))}}")
        Process.flag(:trap_exit, true)
        pid = Node.spawn(r, :beamnode_demo, :echo_loop, [])
        send(pid, {{self(), %{{n: 1}}}})
        receive do
          {{:echo, m}} -> IO.puts("ECHO #{{inspect(m)}}")
        after 5000 -> IO.puts("ECHO timeout")
        end
        l = Node.spawn_link(r, :beamnode_demo, :crash, [:boom])
        receive do
          {{:EXIT, ^l, reason}} -> IO.puts("EXIT #{{inspect(reason)}}")
        after 5000 -> IO.puts("EXIT timeout")
        end
        {{m, ref}} = Node.spawn_monitor(r, :beamnode_demo, :crash, [{{:shutdown, :bye}}])
        receive do
          {{:DOWN, ^ref, :process, ^m, reason}} -> IO.puts("DOWN #{{inspect(reason)}}")
        after 5000 -> IO.puts("DOWN timeout")
        end
        {{u, uref}} = Node.spawn_monitor(r, :nomod, :nofun, [])
        receive do
          {{:DOWN, ^uref, :process, ^u, reason}} -> IO.puts("UNDEF #{{inspect(reason)}}")
        after 5000 -> IO.puts("UNDEF timeout")
        end
        try do
          Node.spawn(r, fn -> :ok end)
        rescue
          e -> IO.puts("FUN #{{Exception.message(e)}}")
        end
        Node.spawn(r, :beamnode_demo, :hello, ["iex"])
        Process.sleep(2000)
        IO.puts("DONE")
        "#
    );
    let name = format!("{}@localhost", unique("ex"));
    let mut cmd = Command::new("elixir");
    cmd.args(["--sname", &name, "--cookie", COOKIE, "-e", &script])
        .env("ERL_EPMD_PORT", epmd.to_string());
    let mut ex = Erl::from_command(cmd, &name);
    let t = Duration::from_secs(40);
    assert_eq!(ex.expect("CONNECT ", t).await, "true");
    assert_eq!(ex.expect("ECHO ", T).await, "%{n: 1}");
    assert_eq!(ex.expect("EXIT ", T).await, ":boom");
    assert_eq!(ex.expect("DOWN ", T).await, "{:shutdown, :bye}");
    assert_eq!(
        ex.expect("UNDEF ", T).await,
        "{:undef, [{:nomod, :nofun, [], []}]}"
    );
    let fun = ex.expect("FUN ", T).await;
    assert_eq!(
        fun, "Erlang error: :beamnode_cannot_run_funs",
        "clear error for a fun"
    );
    ex.expect("hello, iex", T).await;
    ex.expect("DONE", T).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn rust_spawn_requests_on_beam() {
    let epmd = private_epmd().await;
    let node = rust_node("rust", epmd, COOKIE).await;
    let erl = Erl::idle("beam", epmd, &[]).await;
    let peer = Atom::new(&erl.name);
    let mut me = node.process();
    me.trap_exit(true);

    // Monitor: timer:sleep(50) ends normally.
    let opts = SpawnRequestOpts {
        monitor: true,
        ..Default::default()
    };
    let (pid, mref) = me
        .spawn_request(&peer, "timer", "sleep", vec![Term::Int(50)], opts.clone())
        .await
        .expect("spawned");
    assert_eq!(pid.node, peer);
    let mref = mref.expect("monitor ref");
    let down = me.receive(Some(T)).await.expect("DOWN");
    assert_eq!(
        down,
        down_msg(&mref, Term::Pid(pid.clone()), Term::atom("normal"))
    );

    // Link (trapping exits): erlang:exit(boom) → {'EXIT', Pid, boom}.
    let link = SpawnRequestOpts {
        link: true,
        ..Default::default()
    };
    let (pid, none) = me
        .spawn_request(
            &peer,
            "erlang",
            "exit",
            vec![Term::atom("boom")],
            link.clone(),
        )
        .await
        .expect("spawned");
    assert!(none.is_none());
    let exit = me.receive(Some(T)).await.expect("EXIT");
    assert_eq!(exit, exit_msg(&pid, Term::atom("boom")));

    // Link and monitor with an undefined function: both carry undef.
    let both = SpawnRequestOpts {
        link: true,
        monitor: true,
        ..Default::default()
    };
    let (pid, mref) = me
        .spawn_request(&peer, "nomod", "nofun", vec![Term::Int(1)], both)
        .await
        .expect("spawned");
    let mref = mref.expect("monitor ref");
    let undef = "{undef,[{nomod,nofun,[1],[]}]}";
    let mut got = Vec::new();
    for _ in 0..2 {
        got.push(me.receive(Some(T)).await.expect("signal"));
    }
    assert!(got.iter().any(|m| matches!(m.as_tuple(),
        Some([t, Term::Ref(r), _, Term::Pid(p), reason]) if t.is_atom("DOWN") && *r == mref && *p == pid && reason.to_string() == undef)));
    assert!(got.iter().any(|m| matches!(m.as_tuple(),
        Some([t, Term::Pid(p), reason]) if t.is_atom("EXIT") && *p == pid && reason.to_string() == undef)));

    // The group leader given in the request serves the remote io:put_chars.
    let mut gl = node.process();
    let with_gl = SpawnRequestOpts {
        monitor: true,
        group_leader: Some(gl.pid().clone()),
        ..Default::default()
    };
    let (pid, mref) = me
        .spawn_request(
            &peer,
            "io",
            "put_chars",
            vec![Term::binary("via gl")],
            with_gl,
        )
        .await
        .expect("spawned");
    let req = gl.receive(Some(T)).await.expect("io_request");
    let Some([tag, Term::Pid(from), reply_as, request]) = req.as_tuple() else {
        panic!("not an io_request: {req}");
    };
    assert!(tag.is_atom("io_request"));
    assert_eq!(*from, pid);
    assert_eq!(request.to_string(), "{put_chars,unicode,<<\"via gl\">>}");
    gl.send(
        from,
        Term::tuple(vec![
            Term::atom("io_reply"),
            reply_as.clone(),
            Term::atom("ok"),
        ]),
    )
    .await;
    let down = me.receive(Some(T)).await.expect("DOWN");
    assert_eq!(
        down.as_tuple().map(|t| t[1].clone()),
        Some(Term::Ref(mref.expect("ref")))
    );
    assert!(down.as_tuple().is_some_and(|t| t[4].is_atom("normal")));

    // Unknown option: badopt, as OTP answers.
    let bad = SpawnRequestOpts {
        extra: vec![Term::atom("bogus")],
        ..Default::default()
    };
    let r = me
        .spawn_request(&peer, "timer", "sleep", vec![Term::Int(1)], bad)
        .await;
    assert_eq!(r, Err(SpawnError::Refused(Atom::new("badopt"))));

    // An unreachable node: noconnection.
    let nowhere = Atom::new(&format!("{}@localhost", unique("nobody")));
    let r = me
        .spawn_request(&nowhere, "timer", "sleep", vec![Term::Int(1)], opts)
        .await;
    assert_eq!(r, Err(SpawnError::NoConnection));
    assert!(node.nodes().contains(&peer));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn spawn_request_on_own_node_uses_the_registry() {
    let epmd = private_epmd().await;
    let node = rust_node("rust", epmd, COOKIE).await;
    beamnode::services::demo::register(&node);
    let here = node.name().clone();
    let mut me = node.process();
    let opts = SpawnRequestOpts {
        monitor: true,
        ..Default::default()
    };
    let (pid, mref) = me
        .spawn_request(
            &here,
            "beamnode_demo",
            "crash",
            vec![Term::atom("boom")],
            opts.clone(),
        )
        .await
        .expect("spawned");
    let down = me.receive(Some(T)).await.expect("DOWN");
    assert_eq!(
        down,
        down_msg(&mref.expect("ref"), Term::Pid(pid), Term::atom("boom"))
    );
    let (_, mref) = me
        .spawn_request(&here, "nomod", "nofun", vec![], opts)
        .await
        .expect("spawned");
    let down = me.receive(Some(T)).await.expect("DOWN");
    assert_eq!(
        down.as_tuple().map(|t| t[1].clone()),
        Some(Term::Ref(mref.expect("ref")))
    );
    assert_eq!(
        down.as_tuple().map(|t| t[4].to_string()),
        Some("{undef,[{nomod,nofun,[],[]}]}".to_string())
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn pending_spawn_request_times_out_or_gets_noconnection() {
    let epmd = private_epmd().await;
    let node = rust_node("rust", epmd, COOKIE).await;
    let mut erl = Erl::idle("beam", epmd, &[]).await;
    let peer = Atom::new(&erl.name);
    assert!(node.connect(&peer).await);
    let mut me = node.process();
    // A frozen node never answers: the request is abandoned after the timeout.
    erl.signal("STOP");
    let opts = SpawnRequestOpts {
        link: true,
        timeout: Some(Duration::from_millis(300)),
        ..Default::default()
    };
    let r = me
        .spawn_request(&peer, "timer", "sleep", vec![Term::Int(10)], opts)
        .await;
    assert_eq!(r, Err(SpawnError::Timeout));
    // Thawed, the node answers late: the reply is swallowed (the linked child gets
    // exit `abandoned`) and the connection stays up.
    erl.signal("CONT");
    tokio::time::sleep(Duration::from_millis(500)).await;
    assert_eq!(me.try_receive(), None, "no stray spawn_reply");
    assert!(node.nodes().contains(&peer));
    erl.signal("STOP");
    // Without a timeout the request waits until the connection is lost.
    let (r, ()) = tokio::join!(
        me.spawn_request(
            &peer,
            "timer",
            "sleep",
            vec![Term::Int(10)],
            SpawnRequestOpts::default()
        ),
        async {
            tokio::time::sleep(Duration::from_millis(300)).await;
            erl.kill9();
        }
    );
    assert_eq!(r, Err(SpawnError::NoConnection));
}

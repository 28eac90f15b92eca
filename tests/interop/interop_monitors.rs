//! Monitors against real OTP 25 (docs/protocol.md §5.1 MONITOR_P / DEMONITOR_P /
//! MONITOR_P_EXIT, §7.3): by pid and by registered name, both directions, with the
//! `DOWN` reasons `noproc`, `noconnection` and the real exit reason.

use crate::common::*;
use beamnode::{Atom, Pid, Process, Term};
use std::time::Duration;

const T: Duration = Duration::from_secs(20);

/// BEAM monitors Rust processes by pid and by name (`{kv, Node}`): the real exit
/// reason, `noproc` for an unregistered name, no `DOWN` after demonitor, and
/// `noconnection` when the Rust node shuts down.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn beam_monitors_rust_processes() {
    let epmd = private_epmd().await;
    let node = rust_node("rust", epmd, COOKIE).await;
    beamnode::services::kv::start(&node).unwrap();
    let erl_name = unique("beam");
    let eval = r#"register(tester, self()),
        io:format("READY~n"),
        receive {pids, A, B, C} -> ok end,
        R = node(A),
        MA = monitor(process, A), MB = monitor(process, B), MC = monitor(process, C),
        MK = monitor(process, {kv, R}), MN = monitor(process, {nope, R}),
        receive {'DOWN', MN, process, NO, NR} -> io:format("NOPROC ~p ~p~n", [NO, NR])
        after 5000 -> io:format("NOPROC timeout~n") end,
        true = demonitor(MC),
        MR = monitor(process, {rnamed, R}),
        {rnamed, R} ! go,
        receive {'DOWN', MR, process, RO, RR} -> io:format("DOWN_NAMED ~p ~p~n", [RO, RR])
        after 5000 -> io:format("DOWN_NAMED timeout~n") end,
        A ! go, C ! go,
        receive {'DOWN', MA, process, A, RA} -> io:format("DOWN_A ~p~n", [RA])
        after 5000 -> io:format("DOWN_A timeout~n") end,
        io:format("ARMED~n"),
        receive {'DOWN', MB, process, B, RB} -> io:format("DOWN_B ~p~n", [RB])
        after 10000 -> io:format("DOWN_B timeout~n") end,
        receive {'DOWN', MK, process, KO, RK} -> io:format("DOWN_KV ~p ~p~n", [KO, RK])
        after 10000 -> io:format("DOWN_KV timeout~n") end,
        receive {'DOWN', MC, _, _, _} -> io:format("DOWN_C unexpected~n")
        after 300 -> io:format("DOWN_C none~n") end,
        halt()."#;
    let mut erl = Erl::start(&erl_name, COOKIE, epmd, eval);
    erl.expect("READY", T).await;
    let beam = Atom::new(&erl.name);
    let exiter = |node: &beamnode::Node, reason: &'static str| {
        node.spawn(move |mut p: Process| async move {
            let _ = p.receive_match(|m| m.is_atom("go"), Some(T)).await;
            p.exit(Term::tuple(vec![Term::atom(reason), Term::binary("why")]));
        })
    };
    let a = exiter(&node, "a_reason");
    let b = node.spawn(|mut p| async move {
        let _ = p.receive(None).await;
    });
    let c = exiter(&node, "c_reason");
    node.spawn_registered("rnamed", |mut p| async move {
        let _ = p.receive_match(|m| m.is_atom("go"), Some(T)).await;
        p.exit(Term::atom("named_reason"));
    })
    .unwrap();
    let sender = node.process();
    sender
        .send_named(
            &Atom::new("tester"),
            &beam,
            Term::tuple(vec![
                Term::atom("pids"),
                Term::Pid(a),
                Term::Pid(b),
                Term::Pid(c),
            ]),
        )
        .await;
    let r = node.name().as_str();
    assert_eq!(
        erl.expect("NOPROC ", T).await,
        format!("{{nope,{r}}} noproc")
    );
    assert_eq!(
        erl.expect("DOWN_NAMED ", T).await,
        format!("{{rnamed,{r}}} named_reason"),
        "a DOWN for a monitor by name names {{Name, Node}}"
    );
    assert_eq!(erl.expect("DOWN_A ", T).await, "{a_reason,<<\"why\">>}");
    erl.expect("ARMED", T).await;
    node.shutdown();
    assert_eq!(erl.expect("DOWN_B ", T).await, "noconnection");
    assert_eq!(
        erl.expect("DOWN_KV ", T).await,
        format!("{{kv,{r}}} noconnection")
    );
    assert_eq!(erl.expect("DOWN_C ", T).await, "none");
}

/// Rust monitors BEAM processes by pid and by registered name: the real reason,
/// `noproc`, no `DOWN` after demonitor (BEAM's `monitored_by` is empty again), and
/// `noconnection` when the BEAM node is killed with `kill -9` (links break too).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn rust_monitors_beam_processes() {
    let epmd = private_epmd().await;
    let (node, mut collector) = rust_node_with_collector(epmd).await;
    let r = node.name().as_str().to_string();
    let erl_name = unique("beam");
    let eval = format!(
        r#"R = '{r}',
        Dier = fun(Reason) -> spawn(fun() -> receive die -> exit(Reason) end end) end,
        X = Dier(x_reason), V = Dier(v_reason), Z = Dier(z_reason),
        register(named_y, Dier({{y_reason, 1}})),
        register(named_w, Dier(w_reason)),
        Checker = spawn(fun Loop() ->
                receive {{check, P, From}} ->
                    Pid = if is_atom(P) -> whereis(P); true -> P end,
                    {{monitored_by, Ms}} = process_info(Pid, monitored_by),
                    From ! {{monitored_by, Ms}}, Loop()
                end
            end),
        {{collector, R}} ! {{pids, X, V, Z, Checker}},
        io:format("SENT~n"),
        receive after 60000 -> halt() end."#
    );
    let mut erl = Erl::start(&erl_name, COOKIE, epmd, &eval);
    erl.expect("SENT", T).await;
    let beam = Atom::new(&erl.name);
    let msg = collector.receive(Some(T)).await.expect("pids");
    let t = msg.as_tuple().expect("tuple").to_vec();
    let (x, v, z, checker) = (pid_of(&t[1]), pid_of(&t[2]), pid_of(&t[3]), pid_of(&t[4]));

    let mut me = node.process();
    // By pid: the real reason.
    let mx = me.monitor(&x);
    collector.send(&x, Term::atom("die")).await;
    assert_eq!(
        me.receive(Some(T)).await.unwrap(),
        down_msg(&mx, Term::Pid(x.clone()), Term::atom("x_reason"))
    );
    // By name: the DOWN names {Name, Node}.
    let named_y = Atom::new("named_y");
    let my = me.monitor_name(&named_y, &beam);
    wait_monitored(&mut collector, &checker, &named_y, &beam, 1).await;
    collector
        .send_named(&named_y, &beam, Term::atom("die"))
        .await;
    assert_eq!(
        me.receive(Some(T)).await.unwrap(),
        down_msg(
            &my,
            Term::tuple(vec![Term::Atom(named_y.clone()), Term::Atom(beam.clone())]),
            Term::tuple(vec![Term::atom("y_reason"), Term::Int(1)])
        )
    );
    // Unregistered name: noproc.
    let nope = Atom::new("not_there");
    let mn = me.monitor_name(&nope, &beam);
    assert_eq!(
        me.receive(Some(T)).await.unwrap(),
        down_msg(
            &mn,
            Term::tuple(vec![Term::Atom(nope), Term::Atom(beam.clone())]),
            Term::atom("noproc")
        )
    );
    // Demonitor: DEMONITOR_P reaches BEAM, and the exit gives no DOWN.
    let mv = me.monitor(&v);
    wait_monitored_pid(&mut collector, &checker, &v, 1).await;
    assert!(me.demonitor(&mv));
    wait_monitored_pid(&mut collector, &checker, &v, 0).await;
    collector.send(&v, Term::atom("die")).await;
    assert!(me.receive(Some(Duration::from_millis(500))).await.is_err());

    // Node loss: monitors by pid and name get noconnection; links break.
    let mz = me.monitor(&z);
    let named_w = Atom::new("named_w");
    let mw = me.monitor_name(&named_w, &beam);
    let mut trapper = node.process();
    trapper.trap_exit(true);
    trapper.link(&z).unwrap();
    let mut watcher = node.process();
    let z2 = z.clone();
    let linked = node.spawn(move |mut p| async move {
        p.link(&z2).unwrap();
        let _ = p.receive(None).await;
    });
    let ml = watcher.monitor(&linked);
    wait_monitored_pid(&mut collector, &checker, &z, 1).await;
    wait_monitored(&mut collector, &checker, &named_w, &beam, 1).await;
    erl.kill9();
    let mut got = vec![
        me.receive(Some(T)).await.unwrap(),
        me.receive(Some(T)).await.unwrap(),
    ];
    got.sort_by_key(|m| format!("{m:?}"));
    let mut want = vec![
        down_msg(&mz, Term::Pid(z.clone()), Term::atom("noconnection")),
        down_msg(
            &mw,
            Term::tuple(vec![Term::Atom(named_w), Term::Atom(beam.clone())]),
            Term::atom("noconnection"),
        ),
    ];
    want.sort_by_key(|m| format!("{m:?}"));
    assert_eq!(got, want);
    assert_eq!(
        trapper.receive(Some(T)).await.unwrap(),
        Term::tuple(vec![
            Term::atom("EXIT"),
            Term::Pid(z.clone()),
            Term::atom("noconnection")
        ])
    );
    assert_eq!(
        watcher.receive(Some(T)).await.unwrap(),
        down_msg(&ml, Term::Pid(linked), Term::atom("noconnection"))
    );

    // A monitor on a node that cannot be reached: DOWN noconnection.
    let ghost = Pid::new(Atom::new("nobody_here@localhost"), 77, 0, 1);
    let mg = me.monitor(&ghost);
    assert_eq!(
        me.receive(Some(T)).await.unwrap(),
        down_msg(&mg, Term::Pid(ghost), Term::atom("noconnection"))
    );
}

async fn monitored_by(me: &mut Process, checker: &Pid, target: Term) -> usize {
    me.send(
        checker,
        Term::tuple(vec![
            Term::atom("check"),
            target,
            Term::Pid(me.pid().clone()),
        ]),
    )
    .await;
    let m = me
        .receive_match(
            |m| matches!(m.as_tuple(), Some([t, _]) if t.is_atom("monitored_by")),
            Some(T),
        )
        .await
        .expect("monitored_by reply");
    match m.as_tuple() {
        Some([_, l]) => l.as_list().map(|v| v.len()).unwrap_or(0),
        _ => 0,
    }
}

/// Waits until BEAM's `process_info(P, monitored_by)` has `n` entries.
async fn wait_monitored_pid(me: &mut Process, checker: &Pid, p: &Pid, n: usize) {
    let deadline = std::time::Instant::now() + T;
    while monitored_by(me, checker, Term::Pid(p.clone())).await != n {
        assert!(
            std::time::Instant::now() < deadline,
            "monitored_by never reached {n}"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// As [`wait_monitored_pid`] for a registered process (the checker resolves it).
async fn wait_monitored(me: &mut Process, checker: &Pid, name: &Atom, node: &Atom, n: usize) {
    let _ = node;
    let deadline = std::time::Instant::now() + T;
    while monitored_by(me, checker, Term::Atom(name.clone())).await != n {
        assert!(
            std::time::Instant::now() < deadline,
            "monitored_by never reached {n}"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

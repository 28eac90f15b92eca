//! Links and exit signals against real OTP 25 (docs/protocol.md §5.1, §5.2): LINK,
//! UNLINK_ID / UNLINK_ID_ACK, EXIT / EXIT2 in their payload forms, trap_exit, `kill`,
//! `noconnection`. Driven from the BEAM side (as typed in `erl`) and from Rust.

use crate::common::*;
use beamnode::{Atom, Pid, Process, Term};
use std::time::Duration;

const T: Duration = Duration::from_secs(20);

async fn wait_go(p: &mut Process) {
    let _ = p.receive_match(|m| m.is_atom("go"), Some(T)).await;
}

/// BEAM links to Rust processes; they exit with a custom reason, normally, by panic;
/// `exit(Pid, kill)` kills a trapping Rust process; `exit(Pid, normal)` leaves a
/// non-trapping one alive; a trapping one gets `{'EXIT', From, Reason}` messages; a
/// non-trapping BEAM process linked to a crashing Rust process dies too.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn beam_links_to_rust_processes() {
    let epmd = private_epmd().await;
    let node = rust_node("rust", epmd, COOKIE).await;
    let erl_name = unique("beam");
    let eval = r#"register(tester, self()), process_flag(trap_exit, true),
        io:format("READY~n"),
        receive {pids, A, B, C, D, E, F, G} -> ok end,
        Get = fun(P) -> receive {'EXIT', P, R} -> R after 5000 -> timeout end end,
        true = link(A), true = link(B), true = link(C),
        A ! go, B ! go, C ! go,
        io:format("EXIT_A ~p~n", [Get(A)]),
        io:format("EXIT_B ~p~n", [Get(B)]),
        io:format("EXIT_C ~p~n", [Get(C)]),
        Self = self(),
        Child = spawn(fun() -> link(D), Self ! linked, receive after infinity -> ok end end),
        Mon = monitor(process, Child),
        receive linked -> ok end,
        D ! go,
        receive {'DOWN', Mon, process, Child, CR} -> io:format("CHILD ~p~n", [CR])
        after 5000 -> io:format("CHILD alive~n") end,
        true = link(E),
        exit(E, kill),
        io:format("EXIT_E ~p~n", [Get(E)]),
        exit(F, normal),
        F ! {ping, self()},
        receive pong -> io:format("F alive~n") after 5000 -> io:format("F dead~n") end,
        exit(G, my_reason),
        receive {got, GM} -> io:format("G_GOT ~p~n", [GM]) after 5000 -> io:format("G_GOT timeout~n") end,
        io:format("SELF ~p~n", [Self]),
        io:format("DONE~n"),
        receive after 30000 -> halt() end."#;
    let mut erl = Erl::start(&erl_name, COOKIE, epmd, eval);
    erl.expect("READY", T).await;
    let beam = Atom::new(&erl.name);
    let tester = Atom::new("tester");

    let a = node.spawn(|mut p| async move {
        wait_go(&mut p).await;
        p.exit(Term::tuple(vec![Term::atom("custom"), Term::Int(42)]));
    });
    let b = node.spawn(|mut p| async move { wait_go(&mut p).await });
    let c = node.spawn(|mut p| async move {
        wait_go(&mut p).await;
        panic!("boom");
    });
    let d = node.spawn(|mut p| async move {
        wait_go(&mut p).await;
        panic!("d crashed");
    });
    let e = node.spawn(|mut p| async move {
        p.trap_exit(true);
        loop {
            if p.receive(None).await.is_err() {
                return;
            }
        }
    });
    let f = node.spawn(|mut p| async move {
        while let Ok(m) = p.receive(Some(T)).await {
            if let Some([tag, Term::Pid(from)]) = m.as_tuple() {
                if tag.is_atom("ping") {
                    p.send(from, Term::atom("pong")).await;
                }
            }
        }
    });
    let beam2 = beam.clone();
    let g = node.spawn(move |mut p| async move {
        p.trap_exit(true);
        if let Ok(m) = p.receive(Some(T)).await {
            p.send_named(
                &Atom::new("tester"),
                &beam2,
                Term::tuple(vec![Term::atom("got"), m]),
            )
            .await;
        }
    });
    let sender = node.process();
    let pids = [&a, &b, &c, &d, &e, &f, &g];
    let mut msg = vec![Term::atom("pids")];
    msg.extend(pids.iter().map(|p| Term::Pid((*p).clone())));
    sender.send_named(&tester, &beam, Term::tuple(msg)).await;

    assert_eq!(erl.expect("EXIT_A ", T).await, "{custom,42}");
    assert_eq!(erl.expect("EXIT_B ", T).await, "normal");
    assert_eq!(erl.expect("EXIT_C ", T).await, "{panic,<<\"boom\">>}");
    assert_eq!(
        erl.expect("CHILD ", T).await,
        "{panic,<<\"d crashed\">>}",
        "non-trapping BEAM process dies with the Rust process"
    );
    assert_eq!(
        erl.expect("EXIT_E ", T).await,
        "killed",
        "kill is untrappable; links see killed"
    );
    assert!(!node.is_process_alive(&e));
    assert_eq!(
        erl.expect("F ", T).await,
        "alive",
        "exit(Pid, normal) is ignored"
    );
    assert!(node.is_process_alive(&f));
    let got = erl.expect("G_GOT ", T).await;
    let tester_pid = erl.expect("SELF ", T).await;
    assert_eq!(got, format!("{{'EXIT',{tester_pid},my_reason}}"));
    erl.expect("DONE", T).await;
    assert!(!node.is_process_alive(&a) && !node.is_process_alive(&b) && !node.is_process_alive(&c));
    // The node survived the panic: it still makes processes.
    let p = node.process();
    assert!(node.is_process_alive(p.pid()));
}

/// Rust links to BEAM pids: a non-trapping Rust process dies with the BEAM exit
/// reason, a trapping one gets `{'EXIT', Pid, Reason}`; unlink from either side
/// (UNLINK_ID / UNLINK_ID_ACK) means no signal afterwards; a link to an unreachable
/// node gives `noconnection`.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn rust_links_to_beam_processes() {
    let epmd = private_epmd().await;
    let (node, mut collector) = rust_node_with_collector(epmd).await;
    let r = node.name().as_str().to_string();
    let erl_name = unique("beam");
    let eval = format!(
        r#"R = '{r}',
        Dier = fun(Reason) -> spawn(fun() -> receive die -> exit(Reason) end end) end,
        X = Dier(x_reason), Y = Dier(y_reason), Z = Dier(z_reason),
        W = spawn(fun() ->
                receive {{link, P}} ->
                    true = link(P),
                    true = unlink(P),
                    {{links, Ls}} = process_info(self(), links),
                    io:format("W_LINKS ~p~n", [Ls]),
                    exit(w_reason)
                end
            end),
        Checker = spawn(fun Loop() ->
                receive {{check, P, From}} ->
                    {{links, Ls}} = process_info(P, links),
                    From ! {{links, Ls}}, Loop()
                end
            end),
        {{collector, R}} ! {{pids, X, Y, Z, W, Checker}},
        io:format("SENT~n"),
        receive after 30000 -> halt() end."#
    );
    let mut erl = Erl::start(&erl_name, COOKIE, epmd, &eval);
    erl.expect("SENT", T).await;
    let msg = collector.receive(Some(T)).await.expect("pids");
    let t = msg.as_tuple().expect("tuple").to_vec();
    let (x, y, z, w, checker) = (
        pid_of(&t[1]),
        pid_of(&t[2]),
        pid_of(&t[3]),
        pid_of(&t[4]),
        pid_of(&t[5]),
    );

    // Non-trapping Rust process linked to X dies with X's reason.
    let mut watcher = node.process();
    let x2 = x.clone();
    let p1 = node.spawn(move |mut p| async move {
        p.link(&x2).unwrap();
        let _ = p.receive(None).await;
    });
    let mon = watcher.monitor(&p1);
    assert_eq!(
        wait_links(&mut collector, &checker, &x, 1).await,
        vec![Term::Pid(p1.clone())]
    );
    collector.send(&x, Term::atom("die")).await;
    let down = watcher.receive(Some(T)).await.expect("DOWN");
    assert_eq!(
        down,
        Term::tuple(vec![
            Term::atom("DOWN"),
            Term::Ref(mon),
            Term::atom("process"),
            Term::Pid(p1.clone()),
            Term::atom("x_reason"),
        ])
    );

    // A trapping Rust process gets the exit as a message.
    let mut p2 = node.process();
    p2.trap_exit(true);
    p2.link(&y).unwrap();
    assert_eq!(
        wait_links(&mut collector, &checker, &y, 1).await,
        vec![Term::Pid(p2.pid().clone())]
    );
    collector.send(&y, Term::atom("die")).await;
    assert_eq!(
        p2.receive(Some(T)).await.unwrap(),
        exit_msg(&y, Term::atom("y_reason"))
    );

    // Unlink from Rust: UNLINK_ID reaches BEAM (its link set is empty again) and the
    // later exit sends nothing.
    let mut p3 = node.process();
    p3.trap_exit(true);
    p3.link(&z).unwrap();
    assert_eq!(wait_links(&mut collector, &checker, &z, 1).await.len(), 1);
    p3.unlink(&z);
    assert_eq!(
        wait_links(&mut collector, &checker, &z, 0).await,
        Vec::<Term>::new()
    );
    collector.send(&z, Term::atom("die")).await;
    assert!(
        p3.receive(Some(Duration::from_millis(800))).await.is_err(),
        "no exit after unlink"
    );

    // Unlink from BEAM (UNLINK_ID from OTP, we ACK) then its exit sends nothing.
    let mut p4 = node.process();
    p4.trap_exit(true);
    collector
        .send(
            &w,
            Term::tuple(vec![Term::atom("link"), Term::Pid(p4.pid().clone())]),
        )
        .await;
    assert_eq!(erl.expect("W_LINKS ", T).await, "[]");
    assert!(p4.receive(Some(Duration::from_millis(800))).await.is_err());

    // A link to a node that cannot be reached breaks with noconnection.
    let mut p5 = node.process();
    p5.trap_exit(true);
    let ghost = Pid::new(Atom::new("nobody_here@localhost"), 77, 0, 1);
    p5.link(&ghost).unwrap();
    assert_eq!(
        p5.receive(Some(T)).await.unwrap(),
        exit_msg(&ghost, Term::atom("noconnection"))
    );
    drop(erl);
}

/// Asks the BEAM checker for `process_info(P, links)` until it has `n` entries.
async fn wait_links(me: &mut Process, checker: &Pid, p: &Pid, n: usize) -> Vec<Term> {
    let deadline = std::time::Instant::now() + T;
    loop {
        me.send(checker, check(p, me.pid())).await;
        let l = links_reply(me).await;
        if l.len() == n || std::time::Instant::now() > deadline {
            return l;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

fn check(p: &Pid, from: &Pid) -> Term {
    Term::tuple(vec![
        Term::atom("check"),
        Term::Pid(p.clone()),
        Term::Pid(from.clone()),
    ])
}

async fn links_reply(p: &mut Process) -> Vec<Term> {
    let m = p
        .receive_match(
            |m| matches!(m.as_tuple(), Some([t, _]) if t.is_atom("links")),
            Some(T),
        )
        .await
        .expect("links reply");
    match m.as_tuple() {
        Some([_, l]) => l.as_list().map(|v| v.to_vec()).unwrap_or_default(),
        _ => unreachable!(),
    }
}

/// `link/1` and `monitor/2` from BEAM on a Rust pid that is gone give `noproc`; a
/// Rust link to a dead BEAM pid gets OTP's `noproc` EXIT; exit signals that carry a
/// seq_trace token (the `_TT` forms) are honoured; `exit/2` from Rust reaches BEAM
/// processes (`kill` included).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn noproc_trace_tokens_and_exit2_from_rust() {
    let epmd = private_epmd().await;
    let node = rust_node("rust", epmd, COOKIE).await;
    let erl_name = unique("beam");
    let eval = r#"register(tester, self()), process_flag(trap_exit, true),
        io:format("READY~n"),
        receive {pids, Dead, H, K} -> ok end,
        true = link(Dead),
        receive {'EXIT', Dead, R1} -> io:format("DEAD_LINK ~p~n", [R1])
        after 5000 -> io:format("DEAD_LINK timeout~n") end,
        M = monitor(process, Dead),
        receive {'DOWN', M, process, Dead, R2} -> io:format("DEAD_MON ~p~n", [R2])
        after 5000 -> io:format("DEAD_MON timeout~n") end,
        Self = self(),
        T1 = spawn(fun() -> seq_trace:set_token(label, 17), true = link(H), Self ! linked,
                            receive go -> exit(traced_exit) end end),
        receive linked -> ok end,
        T1 ! go,
        receive {got, G1} -> io:format("TT_LINK ~p~n", [G1]) after 5000 -> io:format("TT_LINK timeout~n") end,
        seq_trace:set_token(label, 18),
        exit(H, traced_exit2),
        seq_trace:set_token([]),
        receive {got, G2} -> io:format("TT_EXIT2 ~p~n", [G2]) after 5000 -> io:format("TT_EXIT2 timeout~n") end,
        V = spawn(fun() -> receive after infinity -> ok end end),
        MV = monitor(process, V),
        K ! {exit_it, V, rust_said_so},
        receive {'DOWN', MV, process, V, RV} -> io:format("V_DOWN ~p~n", [RV]) after 5000 -> io:format("V_DOWN timeout~n") end,
        V2 = spawn(fun() -> process_flag(trap_exit, true), receive after infinity -> ok end end),
        MV2 = monitor(process, V2),
        K ! {exit_it, V2, kill},
        receive {'DOWN', MV2, process, V2, RV2} -> io:format("V2_DOWN ~p~n", [RV2]) after 5000 -> io:format("V2_DOWN timeout~n") end,
        K ! {exit_it, Self, to_tester},
        receive {'EXIT', K, RT} -> io:format("TESTER_GOT ~p~n", [RT]) after 5000 -> io:format("TESTER_GOT timeout~n") end,
        D = spawn(fun() -> ok end),
        {collector, node(K)} ! {dead_beam_pid, D},
        receive after 30000 -> halt() end."#;
    let mut erl = Erl::start(&erl_name, COOKIE, epmd, eval);
    erl.expect("READY", T).await;
    let beam = Atom::new(&erl.name);
    let mut collector = node.process();
    collector.register("collector").unwrap();

    let dead = node.spawn(|_p| async move {});
    assert!(eventually(T, || !node.is_process_alive(&dead)).await);
    let beam2 = beam.clone();
    let h = node.spawn(move |mut p| async move {
        p.trap_exit(true);
        while let Ok(m) = p.receive(Some(T)).await {
            p.send_named(
                &Atom::new("tester"),
                &beam2,
                Term::tuple(vec![Term::atom("got"), m]),
            )
            .await;
        }
    });
    let k = node.spawn(|mut p| async move {
        while let Ok(m) = p.receive(Some(T)).await {
            if let Some([_, Term::Pid(to), reason]) = m.as_tuple() {
                p.exit_process(to, reason.clone());
            }
        }
    });
    collector
        .send_named(
            &Atom::new("tester"),
            &beam,
            Term::tuple(vec![
                Term::atom("pids"),
                Term::Pid(dead),
                Term::Pid(h),
                Term::Pid(k.clone()),
            ]),
        )
        .await;
    assert_eq!(erl.expect("DEAD_LINK ", T).await, "noproc");
    assert_eq!(erl.expect("DEAD_MON ", T).await, "noproc");
    let tt_link = erl.expect("TT_LINK ", T).await;
    assert!(
        tt_link.starts_with("{'EXIT',<") && tt_link.ends_with(">,traced_exit}"),
        "{tt_link}"
    );
    let tt_exit2 = erl.expect("TT_EXIT2 ", T).await;
    assert!(tt_exit2.ends_with(">,traced_exit2}"), "{tt_exit2}");
    assert_eq!(erl.expect("V_DOWN ", T).await, "rust_said_so");
    assert_eq!(erl.expect("V2_DOWN ", T).await, "killed");
    assert_eq!(erl.expect("TESTER_GOT ", T).await, "to_tester");

    // Rust links to a BEAM pid that is gone: OTP answers with an EXIT noproc.
    let msg = collector.receive(Some(T)).await.expect("dead beam pid");
    let d = match msg.as_tuple() {
        Some([_, Term::Pid(d)]) => d.clone(),
        other => panic!("unexpected {other:?}"),
    };
    let mut p = node.process();
    p.trap_exit(true);
    p.link(&d).unwrap();
    assert_eq!(
        p.receive(Some(T)).await.unwrap(),
        exit_msg(&d, Term::atom("noproc"))
    );
}

/// Exit signals are not queued behind messages: a Rust process that never reads its
/// mailbox, flooded with messages by BEAM, still dies at once on `exit(Pid, Reason)`,
/// and BEAM's monitor sees that reason.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn exit_signal_overtakes_unread_messages() {
    let epmd = private_epmd().await;
    let node = rust_node("rust", epmd, COOKIE).await;
    let eval = r#"register(tester, self()),
        io:format("READY~n"),
        receive {pid, P} -> ok end,
        M = monitor(process, P),
        [P ! {junk, N, lists:seq(1, 20)} || N <- lists:seq(1, 20000)],
        exit(P, flooded),
        receive {'DOWN', M, process, P, R} -> io:format("DOWN ~p~n", [R])
        after 10000 -> io:format("DOWN timeout~n") end,
        halt()."#;
    let mut erl = Erl::start(&unique("beam"), COOKIE, epmd, eval);
    erl.expect("READY", T).await;
    let p = node.spawn(|_p| async move { std::future::pending::<()>().await });
    let sender = node.process();
    sender
        .send_named(
            &Atom::new("tester"),
            &Atom::new(&erl.name),
            Term::tuple(vec![Term::atom("pid"), Term::Pid(p.clone())]),
        )
        .await;
    assert_eq!(erl.expect("DOWN ", T).await, "flooded");
    assert!(!node.is_process_alive(&p));
}

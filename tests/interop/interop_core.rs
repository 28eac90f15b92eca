//! The core node against real OTP 25 (issue: core node). Each test starts its own
//! private EPMD, its own beamnode node(s) and real `erl` nodes; nothing is mocked.

use crate::common::*;
use beamnode::{Atom, NodeEvent, Term};
use std::time::Duration;

const T: Duration = Duration::from_secs(20);

fn start_services(node: &beamnode::Node) {
    beamnode::services::echo::start(node).unwrap();
    beamnode::services::kv::start(node).unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn beam_connects_to_rust_and_exchanges_messages() {
    let epmd = private_epmd().await;
    let (node, mut collector) = rust_node_with_collector(epmd).await;
    start_services(&node);
    let r = node.name().as_str().to_string();
    let erl_name = unique("beam");
    let eval = format!(
        r#"R = '{r}',
        io:format("CONNECT ~p~n", [net_kernel:connect_node(R)]),
        io:format("NODES ~p~n", [nodes()]),
        {{echo, R}} ! {{self(), hello}},
        receive {{echo, M}} -> io:format("ECHO ~p~n", [M]) after 5000 -> io:format("ECHO timeout~n") end,
        io:format("PUT ~p~n", [gen_server:call({{kv, R}}, {{put, k, [1,-2,3]}})]),
        io:format("GET ~p~n", [gen_server:call({{kv, R}}, {{get, k}})]),
        io:format("MISS ~p~n", [gen_server:call({{kv, R}}, {{get, nope}})]),
        io:format("PING ~p~n", [net_adm:ping(R)]),
        register(tester, self()),
        {{collector, R}} ! {{tester_pid, self()}},
        receive {{by_name, X}} -> io:format("BYNAME ~p~n", [X]) after 10000 -> io:format("BYNAME timeout~n") end,
        receive {{by_pid, Y}} -> io:format("BYPID ~p~n", [Y]) after 10000 -> io:format("BYPID timeout~n") end,
        halt()."#
    );
    let mut erl = Erl::start(&erl_name, COOKIE, epmd, &eval);
    assert_eq!(erl.expect("CONNECT ", T).await, "true");
    assert_eq!(erl.expect("NODES ", T).await, format!("[{r}]"));
    assert!(
        node.nodes().contains(&Atom::new(&erl.name)),
        "Rust side sees the BEAM node"
    );
    assert_eq!(erl.expect("ECHO ", T).await, "hello");
    assert_eq!(erl.expect("PUT ", T).await, "ok");
    assert_eq!(erl.expect("GET ", T).await, "{ok,[1,-2,3]}");
    assert_eq!(erl.expect("MISS ", T).await, "error");
    assert_eq!(erl.expect("PING ", T).await, "pong");

    let msg = collector.receive(Some(T)).await.expect("tester pid");
    let pid = match msg.as_tuple() {
        Some([tag, Term::Pid(p)]) if tag.is_atom("tester_pid") => p.clone(),
        other => panic!("unexpected {other:?}"),
    };
    collector
        .send_named(
            &Atom::new("tester"),
            &Atom::new(&erl.name),
            Term::tuple(vec![Term::atom("by_name"), Term::binary("hi")]),
        )
        .await;
    assert_eq!(erl.expect("BYNAME ", T).await, "<<\"hi\">>");
    collector
        .send(&pid, Term::tuple(vec![Term::atom("by_pid"), Term::Int(-7)]))
        .await;
    assert_eq!(erl.expect("BYPID ", T).await, "-7");
    assert!(erl.wait_exit(T).await);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn rust_connects_to_beam_pings_and_sends() {
    let epmd = private_epmd().await;
    let node = rust_node("rust", epmd, COOKIE).await;
    let erl_name = unique("beam");
    let eval = r#"register(tester, self()),
        io:format("READY~n"),
        Loop = fun L() ->
            receive
                {hello, From} -> From ! {reply, node(), nodes()}, L();
                stop -> halt()
            after 30000 -> halt()
            end
        end,
        Loop()."#;
    let mut erl = Erl::start(&erl_name, COOKIE, epmd, eval);
    erl.expect("READY", T).await;
    let peer = Atom::new(&erl.name);
    let mut events = node.subscribe();
    assert!(node.connect(&peer).await, "Rust connects to BEAM");
    assert!(
        matches!(events.recv().await, Ok(NodeEvent::NodeUp { node: n, visible: true }) if n == peer)
    );
    assert_eq!(node.nodes(), vec![peer.clone()]);
    assert!(node.ping(&peer).await, "net_adm:ping equivalent gets pong");

    let mut me = node.process();
    me.send_named(
        &Atom::new("tester"),
        &peer,
        Term::tuple(vec![Term::atom("hello"), Term::Pid(me.pid().clone())]),
    )
    .await;
    let reply = me.receive(Some(T)).await.expect("reply from BEAM");
    let t = reply.as_tuple().expect("tuple");
    assert!(t[0].is_atom("reply"));
    assert_eq!(t[1], Term::Atom(peer.clone()));
    assert_eq!(
        t[2],
        Term::list(vec![Term::Atom(node.name().clone())]),
        "BEAM's nodes() lists the Rust node"
    );
    me.send_named(&Atom::new("tester"), &peer, Term::atom("stop"))
        .await;
    assert!(erl.wait_exit(T).await);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn auto_connect_on_send_keeps_order() {
    let epmd = private_epmd().await;
    let node = rust_node("rust", epmd, COOKIE).await;
    let erl_name = unique("beam");
    let eval = r#"register(tester, self()),
        io:format("READY~n"),
        Collect = fun C(Acc) ->
            receive
                {n, 1000} -> lists:reverse([1000 | Acc]);
                {n, I} -> C([I | Acc])
            after 15000 -> timeout
            end
        end,
        Got = Collect([]),
        io:format("ORDERED ~p~n", [Got =:= lists:seq(1, 1000)]),
        halt()."#;
    let mut erl = Erl::start(&erl_name, COOKIE, epmd, eval);
    erl.expect("READY", T).await;
    let me = node.process();
    let peer = Atom::new(&erl.name);
    // No connect first: the first send sets up the connection, the rest queue behind it.
    for i in 1..=1000 {
        me.send_named(
            &Atom::new("tester"),
            &peer,
            Term::tuple(vec![Term::atom("n"), Term::Int(i)]),
        )
        .await;
    }
    assert_eq!(erl.expect("ORDERED ", T).await, "true");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn wrong_cookie_is_refused_both_ways_and_node_keeps_serving() {
    let epmd = private_epmd().await;
    let node = rust_node("rust", epmd, COOKIE).await;
    start_services(&node);
    let r = node.name().as_str().to_string();

    // BEAM with a wrong cookie dials us.
    let eval = format!(r#"io:format("CONNECT ~p~n", [net_kernel:connect_node('{r}')]), halt()."#);
    let mut bad = Erl::start(&unique("bad"), "wrong_cookie", epmd, &eval);
    assert_eq!(bad.expect("CONNECT ", T).await, "false");

    // We dial a BEAM node with another cookie.
    let mut other = Erl::start(
        &unique("other"),
        "wrong_cookie",
        epmd,
        r#"io:format("READY~n"), receive after 20000 -> halt() end."#,
    );
    other.expect("READY", T).await;
    assert!(!node.connect(&Atom::new(&other.name)).await);
    assert!(node.nodes().is_empty());

    // A good node is still served.
    let eval = format!(
        r#"{{echo, '{r}'}} ! {{self(), still_here}},
        receive {{echo, M}} -> io:format("ECHO ~p~n", [M]) after 5000 -> io:format("ECHO timeout~n") end,
        halt()."#
    );
    let mut good = Erl::start(&unique("good"), COOKIE, epmd, &eval);
    assert_eq!(good.expect("ECHO ", T).await, "still_here");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn killed_beam_node_gives_nodedown() {
    let epmd = private_epmd().await;
    let node = rust_node("rust", epmd, COOKIE).await;
    let mut erl = Erl::idle("victim", epmd, &[]).await;
    let peer = Atom::new(&erl.name);
    let mut events = node.subscribe();
    assert!(node.connect(&peer).await);
    erl.kill9();
    let ev = tokio::time::timeout(T, async {
        loop {
            match events.recv().await {
                Ok(NodeEvent::NodeDown { node: n, reason }) if n == peer => return reason,
                Ok(_) => continue,
                Err(e) => panic!("event channel: {e}"),
            }
        }
    })
    .await
    .expect("nodedown after kill -9");
    assert_eq!(ev.as_str(), "connection_closed");
    assert!(node.nodes().is_empty());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn frozen_beam_node_times_out_on_ticks() {
    let epmd = private_epmd().await;
    // net_ticktime 4 s: ticks every second, down after 4–5 s of silence.
    let node = rust_node_with("rust", epmd, COOKIE, |c| {
        c.net_ticktime(Duration::from_secs(4))
    })
    .await;
    let erl = Erl::idle("frozen", epmd, &["-kernel", "net_ticktime", "4"]).await;
    let peer = Atom::new(&erl.name);
    let mut events = node.subscribe();
    assert!(node.connect(&peer).await);
    // Stay connected through several tick periods while the peer is alive.
    tokio::time::sleep(Duration::from_secs(6)).await;
    assert_eq!(
        node.nodes(),
        vec![peer.clone()],
        "ticks keep an idle connection up"
    );
    erl.signal("STOP");
    let started = std::time::Instant::now();
    let reason = tokio::time::timeout(Duration::from_secs(15), async {
        loop {
            if let Ok(NodeEvent::NodeDown { node: n, reason }) = events.recv().await {
                if n == peer {
                    return reason;
                }
            }
        }
    })
    .await
    .expect("nodedown by tick timeout");
    erl.signal("CONT");
    assert_eq!(reason.as_str(), "net_tick_timeout");
    let waited = started.elapsed();
    assert!(
        waited >= Duration::from_secs(3),
        "declared down too early: {waited:?}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn large_messages_are_fragmented_both_ways() {
    // Messages over 64 KiB travel as fragments (§4.4) when FRAGMENTS is negotiated.
    let epmd = private_epmd().await;
    let node = rust_node("rust", epmd, COOKIE).await;
    start_services(&node);
    let r = node.name().as_str().to_string();
    let eval = format!(
        r#"R = '{r}',
        Big = {{binary:copy(<<"0123456789abcdef">>, 65536), lists:seq(1, 50000), [{{K, atom_to_binary(K)}} || K <- [a,b,c]]}},
        {{echo, R}} ! {{self(), Big}},
        receive {{echo, Back}} -> io:format("SAME ~p ~p~n", [Back =:= Big, erlang:external_size(Big)])
        after 10000 -> io:format("SAME timeout~n") end,
        halt()."#
    );
    let mut erl = Erl::start(&unique("big"), COOKIE, epmd, &eval);
    let line = erl.expect("SAME ", T).await;
    assert!(line.starts_with("true "), "{line}");
    let size: usize = line[5..].trim().parse().unwrap();
    assert!(size > 1_000_000, "message was {size} bytes");
}

/// Binaries of 4 KiB and more leave beamnode without being copied (docs/protocol.md
/// §4.6): pieces of their own in its output, cut across fragment boundaries. BEAM gets
/// back exactly what it sent: binaries just under, at and over the threshold, several
/// in one fragmented message, sub-binaries, one inside a fun's environment (copied
/// there), and small ones between them.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn shared_binaries_echo_back_intact() {
    let epmd = private_epmd().await;
    let node = rust_node("rust", epmd, COOKIE).await;
    start_services(&node);
    let r = node.name().as_str().to_string();
    let eval = format!(
        r#"R = '{r}',
        Bytes = fun(I, N) -> << <<(X rem 251)>> || X <- lists:seq(I, I + N - 1) >> end,
        Bins = [Bytes(I, N) || {{I, N}} <- lists:zip(lists:seq(1, 9), [4095, 4096, 4097, 10, 65536, 3, 70000, 200000, 1])],
        <<_:100/binary, Sub:9000/binary, _/binary>> = Bytes(7, 30000),
        Env = Bytes(11, 100000),
        F = fun() -> Env end,
        Msgs = [{{bins, Bins, Sub}}, {{fun_env, F}}, {{one, lists:nth(8, Bins)}}, {{small, lists:nth(4, Bins)}}],
        [{{echo, R}} ! {{self(), M}} || M <- Msgs],
        Same = [receive {{echo, Back}} -> Back =:= M after 10000 -> timeout end || M <- Msgs],
        io:format("SAME ~p~n", [Same]),
        halt()."#
    );
    let mut erl = Erl::start(&unique("shared"), COOKIE, epmd, &eval);
    assert_eq!(erl.expect("SAME ", T).await, "[true,true,true,true]");
}

/// A message larger than the node's outgoing hard limit (`dist_buf_max`, 64 MiB) and
/// than the old 128 MiB frame limit, both ways: OTP 25 and 27 send such a binary as
/// one frame, and BEAM echoes it back; so must beamnode, with the default limits.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_150_mb_message_goes_both_ways_with_default_limits() {
    let epmd = private_epmd().await;
    let node = rust_node("rust", epmd, COOKIE).await;
    start_services(&node);
    let r = node.name().as_str().to_string();
    let eval = format!(
        r#"R = '{r}',
        Big = binary:copy(<<"0123456789abcdef">>, 150 * 65536),
        {{echo, R}} ! {{self(), {{big, Big}}}},
        receive {{echo, {{big, Back}}}} -> io:format("SAME ~p ~p~n", [Back =:= Big, byte_size(Back)])
        after 60000 -> io:format("SAME timeout~n") end,
        io:format("PING ~p~n", [net_adm:ping(R)]),
        halt()."#
    );
    let mut erl = Erl::start(&unique("huge"), COOKIE, epmd, &eval);
    let line = erl.expect("SAME ", Duration::from_secs(90)).await;
    assert_eq!(line, format!("true {}", 150 * 1024 * 1024));
    assert_eq!(erl.expect("PING ", T).await, "pong");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn hidden_rust_node_is_left_out_of_nodes() {
    let epmd = private_epmd().await;
    let node = rust_node_with("rust", epmd, COOKIE, |c| c.hidden(true)).await;
    start_services(&node);
    let r = node.name().as_str().to_string();
    let eval = format!(
        r#"R = '{r}',
        io:format("CONNECT ~p~n", [net_kernel:connect_node(R)]),
        io:format("VISIBLE ~p~n", [nodes()]),
        io:format("HIDDEN ~p~n", [nodes(hidden)]),
        io:format("PING ~p~n", [net_adm:ping(R)]),
        halt()."#
    );
    let mut erl = Erl::start(&unique("seer"), COOKIE, epmd, &eval);
    assert_eq!(erl.expect("CONNECT ", T).await, "true");
    assert_eq!(erl.expect("VISIBLE ", T).await, "[]");
    assert_eq!(erl.expect("HIDDEN ", T).await, format!("[{r}]"));
    assert_eq!(erl.expect("PING ", T).await, "pong");
    assert!(node.nodes().is_empty());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn long_names_work_both_ways() {
    require("erl");
    let epmd = private_epmd().await;
    let name = format!("{}@127.0.0.1", unique("rustlong"));
    let config = beamnode::NodeConfig::new(name.clone(), COOKIE)
        .epmd_port(epmd)
        .listen_addr([127, 0, 0, 1].into())
        .listen_port_range(0, 0);
    let node = beamnode::Node::start(config).await.unwrap();
    start_services(&node);
    let erl_name = format!("{}@127.0.0.1", unique("beamlong"));
    let eval = format!(
        r#"R = '{name}',
        io:format("CONNECT ~p~n", [net_kernel:connect_node(R)]),
        {{echo, R}} ! {{self(), long}},
        receive {{echo, M}} -> io:format("ECHO ~p~n", [M]) after 5000 -> io:format("ECHO timeout~n") end,
        register(tester, self()),
        io:format("READY~n"),
        receive {{from_rust, X}} -> io:format("GOT ~p~n", [X]) after 10000 -> io:format("GOT timeout~n") end,
        halt()."#
    );
    let mut child = std::process::Command::new("erl");
    child
        .args([
            "-name",
            &erl_name,
            "-setcookie",
            COOKIE,
            "-noshell",
            "-eval",
            &eval,
        ])
        .env("ERL_EPMD_PORT", epmd.to_string())
        .stdout(std::process::Stdio::piped());
    let mut erl = Erl::from_command(child, &erl_name);
    assert_eq!(erl.expect("CONNECT ", T).await, "true");
    assert_eq!(erl.expect("ECHO ", T).await, "long");
    erl.expect("READY", T).await;
    node.disconnect(&Atom::new(&erl_name));
    let me = node.process();
    // Reconnects by itself (auto-connect) with the long name.
    assert!(eventually(T, || node.nodes().is_empty()).await);
    me.send_named(
        &Atom::new("tester"),
        &Atom::new(&erl_name),
        Term::tuple(vec![Term::atom("from_rust"), Term::Int(1)]),
    )
    .await;
    assert_eq!(erl.expect("GOT ", T).await, "1");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn listen_port_range_is_honoured() {
    let epmd = private_epmd().await;
    let probe = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let base = probe.local_addr().unwrap().port();
    drop(probe);
    let node = rust_node_with("rust", epmd, COOKIE, |c| {
        c.listen_port_range(base, base.saturating_add(5))
    })
    .await;
    assert!((base..=base + 5).contains(&node.listen_port()));
    let eval = format!(
        r#"io:format("PING ~p~n", [net_adm:ping('{}')]), halt()."#,
        node.name().as_str()
    );
    let mut erl = Erl::start(&unique("porty"), COOKIE, epmd, &eval);
    assert_eq!(erl.expect("PING ", T).await, "pong");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn simultaneous_connects_resolve_to_one_working_connection() {
    // Both sides dial each other at the same instant, several rounds; OTP's rule
    // (§2.6: `nok` / `ok_simultaneous` by node-name order) must leave exactly one
    // working connection each time, whichever name is larger.
    let epmd = private_epmd().await;
    for prefix in ["a_rust", "z_rust"] {
        let node = rust_node(prefix, epmd, COOKIE).await;
        start_services(&node);
        let r = node.name().as_str().to_string();
        let rounds = 5;
        let start_ms = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap()
            .as_millis() as u64
            + 8000;
        let eval = format!(
            r#"R = '{r}', io:format("READY~n"),
            Round = fun(I) ->
                At = {start_ms} + I * 1000,
                Wait = At - os:system_time(millisecond),
                if Wait > 0 -> timer:sleep(Wait); true -> ok end,
                C = net_kernel:connect_node(R),
                {{echo, R}} ! {{self(), I}},
                E = receive {{echo, I}} -> ok after 5000 -> timeout end,
                io:format("ROUND ~p ~p ~p~n", [I, C, E]),
                timer:sleep(300),
                erlang:disconnect_node(R),
                timer:sleep(300)
            end,
            lists:foreach(Round, lists:seq(0, {rounds} - 1)),
            halt()."#
        );
        let name = unique("m_beam");
        let mut erl = Erl::start(&name, COOKIE, epmd, &eval);
        let peer = Atom::new(&erl.name);
        erl.expect("READY", T).await;
        for i in 0..rounds {
            let at = std::time::UNIX_EPOCH + Duration::from_millis(start_ms + i * 1000);
            if let Ok(wait) = at.duration_since(std::time::SystemTime::now()) {
                tokio::time::sleep(wait).await;
            }
            let connected = node.connect(&peer).await;
            assert!(connected, "round {i}: Rust side could not connect");
            assert_eq!(erl.expect("ROUND ", T).await, format!("{i} true ok"));
        }
        node.shutdown();
    }
}

/// `send_noconnect` (OTP's `erlang:send(To, Msg, [noconnect])`, used by `pg`) never sets
/// up a connection: to a running erl node we are not connected to it returns false,
/// the message is dropped and neither side sees a connection; once connected it
/// delivers.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn noconnect_send_does_not_connect() {
    require("erl");
    let epmd = private_epmd().await;
    let node = rust_node("noconn", epmd, COOKIE).await;
    let erl_name = unique("ncerl");
    let mut erl = Erl::start(
        &erl_name,
        COOKIE,
        epmd,
        "register(tester, self()), io:format(\"UP~n\"), \
         receive {from_rust, X} -> io:format(\"GOT ~p~n\", [X]) after 20000 -> ok end, \
         timer:sleep(60000).",
    );
    erl.expect("UP", T).await;
    let erl_node = Atom::new(&format!("{erl_name}@localhost"));
    let tester = Atom::new("tester");
    let msg = |n| Term::tuple(vec![Term::atom("from_rust"), Term::Int(n)]);
    let me = node.process();
    assert!(!me.send_named_noconnect(&tester, &erl_node, msg(1)));
    tokio::time::sleep(Duration::from_millis(500)).await;
    assert!(node.nodes_of(beamnode::NodeKind::Connected).is_empty());
    assert!(node.connect(&erl_node).await);
    assert!(me.send_named_noconnect(&tester, &erl_node, msg(2)));
    // The first message to arrive is the second one sent.
    assert_eq!(erl.expect("GOT ", T).await, "2");
}

/// `term_to_binary` output of a real node, whose pids and references name it (a node
/// name longer than an atom stored inline), decodes with `etf::decode` to the very
/// term the same node sent over distribution; the repeated node name is one shared
/// atom, and the other long atoms between keep their own text.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn term_to_binary_of_a_real_node_decodes_with_shared_node_names() {
    let epmd = private_epmd().await;
    let (node, mut collector) = rust_node_with_collector(epmd).await;
    let r = node.name().as_str().to_string();
    let eval = format!(
        r#"R = '{r}',
        T = [self(), make_ref(), self(), {{a_long_atom_name_over_fifteen, self()}},
             'caf\x{{e9}}_latin1_long_atom', make_ref(), self(), #{{k => self()}}],
        {{collector, R}} ! {{etf, term_to_binary(T), T}},
        io:format("SENT~n"),
        receive stop -> ok after 10000 -> ok end,
        halt()."#
    );
    let mut erl = Erl::start(&unique("long_named_etf"), COOKIE, epmd, &eval);
    erl.expect("SENT", T).await;
    let msg = collector.receive(Some(T)).await.expect("the etf message");
    let (bin, sent) = match msg.as_tuple() {
        Some([tag, Term::Binary(b), t]) if tag.is_atom("etf") => (b.clone(), t.clone()),
        other => panic!("unexpected {other:?}"),
    };
    let decoded = beamnode::etf::decode(&bin).expect("term_to_binary output decodes");
    assert_eq!(decoded, sent);
    let Term::List(items) = &decoded else {
        panic!("{decoded:?}")
    };
    let node_text = |t: &Term| match t {
        Term::Pid(p) => p.node.as_str().as_ptr(),
        Term::Ref(r) => r.node.as_str().as_ptr(),
        other => panic!("{other:?}"),
    };
    assert!(
        erl.name.len() > 15,
        "the node name is a long atom: {}",
        erl.name
    );
    // pid, ref, pid: one node name; after other long atoms, ref and pid share again.
    assert_eq!(node_text(&items[0]), node_text(&items[1]));
    assert_eq!(node_text(&items[0]), node_text(&items[2]));
    assert_eq!(items[4], Term::atom("café_latin1_long_atom"));
    assert_eq!(node_text(&items[5]), node_text(&items[6]));
    erl.signal("TERM");
}

//! The core node against a newer OTP than Debian 12's: OTP 27 (and Elixir 1.18) from a
//! Debian trixie root made by `scripts/otp-root.sh`, run through chroot. OTP 26+ make
//! V4_NC and UNLINK_ID mandatory and change message shapes; these tests catch what
//! OTP 25 alone would not.

use crate::common::*;
use beamnode::{Atom, Term};
use std::time::Duration;

const T: Duration = Duration::from_secs(30);

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn otp27_connects_calls_and_pings() {
    let root = newer_otp_root();
    let epmd = private_epmd().await;
    let node = rust_node("rust", epmd, COOKIE).await;
    beamnode::services::echo::start(&node).unwrap();
    beamnode::services::kv::start(&node).unwrap();
    let r = node.name().as_str().to_string();
    let eval = format!(
        r#"R = '{r}',
        io:format("OTP ~s~n", [erlang:system_info(otp_release)]),
        io:format("CONNECT ~p~n", [net_kernel:connect_node(R)]),
        io:format("NODES ~p~n", [nodes()]),
        Sent = #{{k => [1, -2, 3], f => 1.5, <<"b">> => {{self(), make_ref()}}}},
        {{echo, R}} ! {{self(), Sent}},
        receive {{echo, M}} -> io:format("ECHO ~p~n", [M =:= Sent]) after 5000 -> io:format("ECHO timeout~n") end,
        io:format("PUT ~p~n", [gen_server:call({{kv, R}}, {{put, a, <<"x">>}})]),
        io:format("GET ~p~n", [gen_server:call({{kv, R}}, {{get, a}})]),
        io:format("PING ~p~n", [net_adm:ping(R)]),
        B = binary:copy(<<"y">>, 300000),
        {{echo, R}} ! {{self(), B}},
        io:format("BIG ~p~n", [receive {{echo, B}} -> ok after 5000 -> timeout end]),
        Ref = monitor(process, {{nobody, R}}),
        io:format("MON ~p~n", [receive {{'DOWN', Ref, process, _, Why}} -> Why after 5000 -> timeout end]),
        halt()."#
    );
    let mut erl = Erl::start_in_root(&root, &unique("o27"), COOKIE, epmd, &eval);
    let otp: u32 = erl.expect("OTP ", T).await.parse().unwrap();
    assert!(otp >= 26, "expected a newer OTP, got {otp}");
    assert_eq!(erl.expect("CONNECT ", T).await, "true");
    assert_eq!(erl.expect("NODES ", T).await, format!("[{r}]"));
    assert_eq!(erl.expect("ECHO ", T).await, "true");
    assert_eq!(erl.expect("PUT ", T).await, "ok");
    assert_eq!(erl.expect("GET ", T).await, "{ok,<<\"x\">>}");
    assert_eq!(erl.expect("PING ", T).await, "pong");
    assert_eq!(erl.expect("BIG ", T).await, "ok");
    assert_eq!(erl.expect("MON ", T).await, "noproc");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn rust_dials_otp27() {
    let root = newer_otp_root();
    let epmd = private_epmd().await;
    let node = rust_node("rust", epmd, COOKIE).await;
    let eval = r#"register(tester, self()),
        io:format("READY~n"),
        receive {hello, From} -> From ! {reply, erlang:system_info(otp_release), nodes()} after 20000 -> ok end,
        receive stop -> ok after 20000 -> ok end,
        halt()."#;
    let mut erl = Erl::start_in_root(&root, &unique("o27"), COOKIE, epmd, eval);
    erl.expect("READY", T).await;
    let peer = Atom::new(&erl.name);
    assert!(node.connect(&peer).await);
    assert!(node.ping(&peer).await);
    let mut me = node.process();
    me.send_named(
        &Atom::new("tester"),
        &peer,
        Term::tuple(vec![Term::atom("hello"), Term::Pid(me.pid().clone())]),
    )
    .await;
    let reply = me.receive(Some(T)).await.unwrap();
    let t = reply.as_tuple().unwrap();
    assert!(t[0].is_atom("reply"));
    assert_eq!(t[2], Term::list(vec![Term::Atom(node.name().clone())]));
    me.send_named(&Atom::new("tester"), &peer, Term::atom("stop"))
        .await;
}

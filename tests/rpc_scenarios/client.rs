//! Calling BEAM from Rust with `rpc_client` (issue 5 part 2, docs/protocol.md §9.1, §9.2,
//! §5.4): `call` / `call_in` / `cast` / `multicall` over erpc spawn requests, with typed
//! errors. Written once and run against two releases: the host's OTP 25 (`root` None,
//! tests/cli/interop_rpc_client.rs) and a newer OTP run through chroot (`root` Some,
//! tests/newer_otp/interop_newer_otp_rpc.rs). Included with `#[path]` by the roots of
//! the test crates of those files (tests/cli/main.rs and tests/newer_otp/main.rs).

use crate::common::*;
use beamnode::services::rpc_client::{self, ExceptionClass, RpcError};
use beamnode::{Atom, Term};
use std::path::Path;
use std::time::Duration;

pub const T: Duration = Duration::from_secs(30);

/// A BEAM node (host `erl` or `root`'s) that prints `UP <otp_release>`, then
/// `SINK <msg>` for the first message its registered `sink` gets, and stays up.
pub fn sink_peer(root: Option<&Path>, sname: &str, epmd: u16) -> Erl {
    Erl::start_on(
        root,
        sname,
        COOKIE,
        epmd,
        "register(sink, self()), io:format(\"UP ~s~n\", [erlang:system_info(otp_release)]), \
         receive M -> io:format(\"SINK ~p~n\", [M]) end, timer:sleep(120000), halt().",
    )
}

pub async fn rust_calls_beam_functions(root: Option<&Path>) {
    let epmd = private_epmd().await;
    let node = rust_node("rpc", epmd, COOKIE).await;
    let a_name = unique("rpca");
    let b_name = unique("rpcb");
    let mut a = sink_peer(root, &a_name, epmd);
    let mut b = sink_peer(root, &b_name, epmd);
    let release = a.expect("UP ", T).await;
    assert_release(root, &release);
    assert_eq!(b.expect("UP ", T).await, release);
    let a_node = Atom::new(&format!("{a_name}@localhost"));
    let b_node = Atom::new(&format!("{b_name}@localhost"));

    // Plain values.
    let v = rpc_client::call(&node, &a_node, "erlang", "node", vec![], T).await;
    assert_eq!(v, Ok(Term::Atom(a_node.clone())));
    let v = rpc_client::call(
        &node,
        &a_node,
        "erlang",
        "system_info",
        vec![Term::atom("otp_release")],
        T,
    )
    .await
    .unwrap();
    assert_eq!(v.to_string(), format!("{release:?}"));
    let arg = beamnode::term::parse::parse_term(r#"[1, 2, <<"x">>, #{a => 1}]"#).unwrap();
    let v = rpc_client::call(&node, &a_node, "lists", "reverse", vec![arg], T)
        .await
        .unwrap();
    assert_eq!(v.to_string(), r#"[#{a => 1},<<"x">>,2,1]"#);

    // Exceptions of each class, in the shapes of the release called.
    let e = rpc_client::call(
        &node,
        &a_node,
        "erlang",
        "error",
        vec![Term::atom("boom")],
        T,
    )
    .await
    .unwrap_err();
    match &e {
        RpcError::Exception {
            class: ExceptionClass::Error,
            reason,
            stacktrace: Some(st),
        } => {
            assert_eq!(*reason, Term::atom("boom"));
            assert!(st.as_list().is_some(), "stack {st}");
        }
        other => panic!("error: {other:?}"),
    }
    assert!(e
        .to_rpc_result()
        .to_string()
        .starts_with("{badrpc,{'EXIT',{boom,["));
    let e = rpc_client::call(&node, &a_node, "erlang", "exit", vec![Term::atom("bye")], T)
        .await
        .unwrap_err();
    assert_eq!(
        e,
        RpcError::Exception {
            class: ExceptionClass::Exit,
            reason: Term::atom("bye"),
            stacktrace: None
        }
    );
    let e = rpc_client::call(&node, &a_node, "erlang", "throw", vec![Term::Int(7)], T)
        .await
        .unwrap_err();
    assert!(
        matches!(e, RpcError::Exception { class: ExceptionClass::Throw, ref reason, .. } if *reason == Term::Int(7))
    );
    assert_eq!(e.to_rpc_result(), Term::Int(7));

    // Unknown function: undef with the OTP shape.
    let e = rpc_client::call(&node, &a_node, "nomod", "nofun", vec![Term::Int(1)], T)
        .await
        .unwrap_err();
    assert_eq!(
        e.to_rpc_result().to_string(),
        "{badrpc,{'EXIT',{undef,[{nomod,nofun,[1],[]}]}}}"
    );

    // Timeout, through `call`…
    let e = rpc_client::call(
        &node,
        &a_node,
        "timer",
        "sleep",
        vec![Term::Int(2000)],
        Duration::from_millis(200),
    )
    .await
    .unwrap_err();
    assert_eq!(e, RpcError::Timeout);
    // … and through `call_in`, after which nothing arrives in the caller's mailbox.
    let mut p = node.process();
    let started = std::time::Instant::now();
    let e = rpc_client::call_in(
        &mut p,
        &a_node,
        "timer",
        "sleep",
        vec![Term::Int(1500)],
        Duration::from_millis(300),
    )
    .await
    .unwrap_err();
    assert_eq!(e, RpcError::Timeout);
    assert!(started.elapsed() < Duration::from_millis(1400));
    tokio::time::sleep(Duration::from_millis(2000)).await;
    assert_eq!(p.try_receive(), None, "stray message after a timeout");
    assert_eq!(e.to_rpc_result().to_string(), "{badrpc,timeout}");

    // Unreachable node.
    let nobody = Atom::new("nobody@localhost");
    let e = rpc_client::call(&node, &nobody, "erlang", "node", vec![], T)
        .await
        .unwrap_err();
    assert_eq!(e, RpcError::NodeDown(nobody.clone()));

    // Multicall: two BEAM nodes and an unreachable one, in the order given…
    let targets = [a_node.clone(), b_node.clone(), nobody.clone()];
    let rs = rpc_client::multicall(&node, &targets, "erlang", "node", vec![], T).await;
    assert_eq!(
        rs,
        vec![
            (a_node.clone(), Ok(Term::Atom(a_node.clone()))),
            (b_node.clone(), Ok(Term::Atom(b_node.clone()))),
            (nobody.clone(), Err(RpcError::NodeDown(nobody.clone()))),
        ]
    );
    // … and in parallel.
    let started = std::time::Instant::now();
    let rs =
        rpc_client::multicall(&node, &targets, "timer", "sleep", vec![Term::Int(500)], T).await;
    assert!(
        started.elapsed() < Duration::from_millis(1400),
        "not parallel"
    );
    let rs: Vec<_> = rs
        .into_iter()
        .map(|(n, r)| (n, r.map(|t| t.to_string())))
        .collect();
    assert_eq!(
        rs,
        vec![
            (a_node.clone(), Ok("ok".to_string())),
            (b_node.clone(), Ok("ok".to_string())),
            (nobody.clone(), Err(RpcError::NodeDown(nobody.clone()))),
        ]
    );

    // Cast: the effect happens on the target.
    rpc_client::cast(
        &node,
        &a_node,
        "erlang",
        "send",
        vec![Term::atom("sink"), Term::atom("cast_hello")],
    )
    .await
    .unwrap();
    assert_eq!(a.expect("SINK ", T).await, "cast_hello");

    // The node dies mid-call: the called `gen_server:call` reaches b's `sink` (which
    // prints it and never answers), so the call is under way on b when b is killed.
    let n2 = node.clone();
    let bn = b_node.clone();
    let pending = tokio::spawn(async move {
        let args = vec![
            Term::atom("sink"),
            Term::atom("mid_call"),
            Term::atom("infinity"),
        ];
        rpc_client::call(&n2, &bn, "gen_server", "call", args, T).await
    });
    let got = b.expect("SINK ", T).await;
    assert!(got.contains("mid_call"), "{got}");
    b.kill9();
    let e = tokio::time::timeout(T, pending).await.unwrap().unwrap();
    assert_eq!(e, Err(RpcError::NodeDown(b_node.clone())));
    a.kill9();
    node.shutdown();
}

//! Calling BEAM from Rust against real OTP 25 (issue 5 part 2, protocol-notes §9.1,
//! §9.2, §5.4): `rpc_client::call` / `cast` / `multicall` over erpc spawn requests, with
//! typed errors, and the `beamnode call | names | ping` commands as a user types them.

mod common;

use beamnode::services::rpc_client::{self, ExceptionClass, RpcError};
use beamnode::{Atom, Term};
use common::*;
use std::time::Duration;

const T: Duration = Duration::from_secs(20);

/// An erl node that prints `UP`, then `CAST <msg>` for the first message its
/// registered `sink` gets.
fn start_erl(name: &str, epmd: u16) -> Erl {
    Erl::start(
        name,
        COOKIE,
        epmd,
        "register(sink, self()), io:format(\"UP~n\"), \
         receive M -> io:format(\"CAST ~p~n\", [M]) end, timer:sleep(120000), halt().",
    )
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn rust_calls_beam_functions() {
    require("erl");
    let epmd = private_epmd().await;
    let node = rust_node("rpc", epmd, COOKIE).await;
    let a_name = unique("rpca");
    let b_name = unique("rpcb");
    let mut a = start_erl(&a_name, epmd);
    let mut b = start_erl(&b_name, epmd);
    a.expect("UP", T).await;
    b.expect("UP", T).await;
    let a_node = Atom::new(&format!("{a_name}@localhost"));
    let b_node = Atom::new(&format!("{b_name}@localhost"));

    // Plain values.
    let v = rpc_client::call(&node, &a_node, "erlang", "node", vec![], T).await;
    assert_eq!(v, Ok(Term::Atom(a_node.clone())));
    let arg = beamnode::term::parse::parse_term(r#"[1, 2, <<"x">>, #{a => 1}]"#).unwrap();
    let v = rpc_client::call(&node, &a_node, "lists", "reverse", vec![arg], T)
        .await
        .unwrap();
    assert_eq!(v.to_string(), r#"[#{a => 1},<<"x">>,2,1]"#);

    // Exceptions of each class.
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

    // Timeout, and nothing arrives later in the caller's mailbox.
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

    // Multicall: two erl nodes and an unreachable one, in the order given.
    let started = std::time::Instant::now();
    let targets = [a_node.clone(), b_node.clone(), nobody.clone()];
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
    assert_eq!(a.expect("CAST ", T).await, "cast_hello");

    // The node dies mid-call.
    let n2 = node.clone();
    let bn = b_node.clone();
    let pending = tokio::spawn(async move {
        rpc_client::call(&n2, &bn, "timer", "sleep", vec![Term::Int(15000)], T).await
    });
    tokio::time::sleep(Duration::from_millis(500)).await;
    b.kill9();
    let e = tokio::time::timeout(T, pending).await.unwrap().unwrap();
    assert_eq!(e, Err(RpcError::NodeDown(b_node.clone())));
    node.shutdown();
}

/// The `beamnode` command of this build.
async fn bin(args: &[&str], epmd: u16) -> (i32, String) {
    run_cli(
        std::path::Path::new(env!("CARGO_BIN_EXE_beamnode")),
        args,
        epmd,
    )
    .await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn cli_call_names_and_ping() {
    require("erl");
    let epmd = private_epmd().await;
    let a_name = unique("clia");
    let mut a = start_erl(&a_name, epmd);
    a.expect("UP", T).await;
    let target = format!("{a_name}@localhost");
    let t = target.as_str();

    assert_eq!(
        bin(&["call", t, "erlang", "node"], epmd).await,
        (0, target.clone())
    );
    assert_eq!(
        bin(
            &[
                "call",
                t,
                "lists",
                "reverse",
                r#"[[1, "ab", <<"x">>, {ok, #{k => 1.5}}]]"#
            ],
            epmd
        )
        .await,
        (0, r#"[{ok,#{k => 1.5}},<<"x">>,"ab",1]"#.to_string())
    );
    // Output of the called function comes back to the caller's stdout (§12).
    assert_eq!(
        bin(&["call", t, "io", "format", r#"["hi ~p~n", [42]]"#], epmd).await,
        (0, "hi 42\nok".to_string())
    );
    // As `rpc:call` (and `erl_call -a`): a thrown term is the call's value.
    assert_eq!(
        bin(&["call", t, "erlang", "throw", "[{oops, 1}]"], epmd).await,
        (0, "{oops,1}".to_string())
    );
    let (code, out) = bin(&["call", t, "erlang", "error", "[boom]"], epmd).await;
    assert_eq!(code, 1);
    assert!(out.starts_with("{badrpc,{'EXIT',{boom,["), "{out}");
    assert_eq!(
        bin(&["call", t, "nomod", "nofun", "[]"], epmd).await,
        (
            1,
            "{badrpc,{'EXIT',{undef,[{nomod,nofun,[],[]}]}}}".to_string()
        )
    );
    assert_eq!(
        bin(
            &["call", "--timeout", "0.3", t, "timer", "sleep", "[3000]"],
            epmd
        )
        .await,
        (4, "{badrpc,timeout}".to_string())
    );
    assert_eq!(
        bin(&["call", "nobody@localhost", "erlang", "node"], epmd).await,
        (3, "{badrpc,nodedown}".to_string())
    );
    assert_eq!(
        bin(&["call", t, "erlang", "node", "[oops"], epmd).await.0,
        2
    );

    let (code, out) = bin(&["names", "--epmd-port", &epmd.to_string()], epmd).await;
    assert_eq!(code, 0);
    assert!(out.contains(&format!("name {a_name} at port ")), "{out}");

    assert_eq!(bin(&["ping", t], epmd).await, (0, "pong".to_string()));
    assert_eq!(
        bin(&["ping", "nobody@localhost"], epmd).await,
        (1, "pang".to_string())
    );
}

/// `beamnode call` names itself from a pool of 64 names, so many runs leave at most 64
/// new atoms on the called node (each node name becomes a never-freed atom there), and
/// concurrent runs do not take each other's connections over.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn cli_calls_leave_a_bounded_number_of_atoms() {
    require("erl");
    let epmd = private_epmd().await;
    let a_name = unique("clib");
    let mut a = start_erl(&a_name, epmd);
    a.expect("UP", T).await;
    let target = format!("{a_name}@localhost");
    let t = target.as_str();
    let atom_count = || async {
        let (code, out) = bin(&["call", t, "erlang", "system_info", "[atom_count]"], epmd).await;
        assert_eq!(code, 0, "{out}");
        out.parse::<i64>().expect("an integer")
    };
    let before = atom_count().await;
    for _ in 0..100 {
        assert_eq!(
            bin(&["call", t, "erlang", "node"], epmd).await,
            (0, target.clone())
        );
    }
    let grown = atom_count().await - before;
    assert!(grown <= 64, "100 calls left {grown} new atoms on the node");

    // Sixteen calls at once, each holding its connection for half a second: all answer.
    let mut runs = tokio::task::JoinSet::new();
    for _ in 0..16 {
        let t = target.clone();
        runs.spawn(async move { bin(&["call", &t, "timer", "sleep", "[500]"], epmd).await });
    }
    while let Some(r) = runs.join_next().await {
        assert_eq!(r.unwrap(), (0, "ok".to_string()));
    }
}

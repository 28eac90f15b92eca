//! Calling BEAM from Rust against real OTP 25 (issue 5 part 2, docs/protocol.md §9.1,
//! §9.2, §5.4): `rpc_client::call` / `cast` / `multicall` over erpc spawn requests, with
//! typed errors (tests/rpc_scenarios/client.rs, also run against a newer OTP by
//! tests/newer_otp/interop_newer_otp_rpc.rs), and the `beamnode call | names | ping` commands as a
//! user types them.

use crate::client;

use crate::common::*;

const T: std::time::Duration = std::time::Duration::from_secs(20);

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn rust_calls_beam_functions() {
    require("erl");
    client::rust_calls_beam_functions(None).await;
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
    let mut a = client::sink_peer(None, &a_name, epmd);
    a.expect("UP ", T).await;
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
    let mut a = client::sink_peer(None, &a_name, epmd);
    a.expect("UP ", T).await;
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

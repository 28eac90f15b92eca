//! The blocking one-shot client (`beamnode::blocking`, what `beamnode call` and
//! `beamnode ping` use) against real OTP 25: EPMD lookup, handshake, erpc calls with
//! every outcome class, output of the called function, ticks during a long call, a
//! node that dies mid-call, and refusals (wrong cookie, unknown node).

use crate::common::*;
use beamnode::blocking::{rpc, Connection, DialConfig, DialError};
use beamnode::services::rpc_client::{ExceptionClass, RpcError};
use beamnode::Term;
use std::time::{Duration, Instant};

const T: Duration = Duration::from_secs(20);

fn config(target: &str, epmd: u16, cookie: &str) -> DialConfig {
    let mut cfg = DialConfig::new(format!("{}@localhost", unique("blk")), cookie, target);
    cfg.epmd_port = epmd;
    cfg
}

/// Runs a blocking call (erpc, or `rex` with `via_rex`) on a blocking-pool thread;
/// returns the outcome and the called function's output.
async fn run_call(
    cfg: DialConfig,
    via_rex: bool,
    m: &'static str,
    f: &'static str,
    args: Vec<Term>,
    timeout: Option<Duration>,
) -> (Result<Term, RpcError>, String) {
    let job = tokio::task::spawn_blocking(move || {
        let mut conn = Connection::dial(&cfg).expect("dial");
        let mut out = Vec::new();
        let r = if via_rex {
            rpc::rex_call(&mut conn, m, f, args, timeout, &mut out)
        } else {
            rpc::call(&mut conn, m, f, args, timeout, &mut out)
        };
        (r, String::from_utf8_lossy(&out).into_owned())
    });
    tokio::time::timeout(T, job).await.unwrap().unwrap()
}

/// [`run_call`] through erpc (`rpc::call`).
async fn call(
    cfg: DialConfig,
    m: &'static str,
    f: &'static str,
    args: Vec<Term>,
    timeout: Option<Duration>,
) -> (Result<Term, RpcError>, String) {
    run_call(cfg, false, m, f, args, timeout).await
}

/// [`run_call`] through the peer's `rex` (`rpc::rex_call`, what `beamnode call` uses).
async fn rex(
    cfg: DialConfig,
    m: &'static str,
    f: &'static str,
    args: Vec<Term>,
    timeout: Option<Duration>,
) -> (Result<Term, RpcError>, String) {
    run_call(cfg, true, m, f, args, timeout).await
}

/// The rex path gives `rpc:call`'s shapes: values and thrown terms as `Ok`, errors
/// and exits as `{badrpc, {'EXIT', …}}`; output and timeouts as on the erpc path.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn blocking_rex_calls_against_real_erl() {
    require("erl");
    let epmd = private_epmd().await;
    let name = unique("blkx");
    let mut erl = Erl::start(&name, COOKIE, epmd, "io:format(\"UP~n\").");
    erl.expect("UP", T).await;
    let target = format!("{name}@localhost");
    let cfg = || config(&target, epmd, COOKIE);
    let (r, _) = rex(cfg(), "erlang", "node", vec![], None).await;
    assert_eq!(r, Ok(Term::atom(&target)));
    let fmt_args = vec![
        Term::binary("x ~p~n"),
        Term::list(vec![Term::tuple(vec![Term::Int(1), Term::atom("b")])]),
    ];
    let (r, out) = rex(cfg(), "io", "format", fmt_args, None).await;
    assert_eq!((r, out.as_str()), (Ok(Term::atom("ok")), "x {1,b}\n"));
    let (r, _) = rex(cfg(), "erlang", "throw", vec![Term::atom("t")], None).await;
    assert_eq!(r, Ok(Term::atom("t")));
    let (r, _) = rex(cfg(), "erlang", "exit", vec![Term::atom("bye")], None).await;
    assert_eq!(
        r.unwrap_err().to_rpc_result().to_string(),
        "{badrpc,{'EXIT',bye}}"
    );
    let (r, _) = rex(cfg(), "nomod", "nofun", vec![], None).await;
    assert_eq!(
        r.unwrap_err().to_rpc_result().to_string(),
        "{badrpc,{'EXIT',{undef,[{nomod,nofun,[],[]}]}}}"
    );
    let sleep = vec![Term::Int(5000)];
    let (r, _) = rex(
        cfg(),
        "timer",
        "sleep",
        sleep,
        Some(Duration::from_millis(300)),
    )
    .await;
    assert_eq!(r, Err(RpcError::Timeout));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn blocking_calls_against_real_erl() {
    require("erl");
    let epmd = private_epmd().await;
    let name = unique("blkt");
    let mut erl = Erl::start(&name, COOKIE, epmd, "io:format(\"UP~n\").");
    erl.expect("UP", T).await;
    let target = format!("{name}@localhost");
    let cfg = || config(&target, epmd, COOKIE);

    let (r, _) = call(cfg(), "erlang", "node", vec![], None).await;
    assert_eq!(r, Ok(Term::atom(&target)));
    let list = Term::list(vec![Term::Int(1), Term::binary("x"), Term::atom("a")]);
    let (r, _) = call(cfg(), "lists", "reverse", vec![list], None).await;
    assert_eq!(r.unwrap().to_string(), "[a,<<\"x\">>,1]");
    // A binary large enough to be shared, not copied, on its way out (docs/protocol.md
    // §4.6), and cut into fragments: BEAM's md5 of it is ours.
    let data: Vec<u8> = (0..200_000u32).map(|i| (i % 251) as u8).collect();
    let (r, _) = call(
        cfg(),
        "erlang",
        "md5",
        vec![Term::binary(data.clone())],
        None,
    )
    .await;
    use md5::Digest;
    assert_eq!(r, Ok(Term::binary(md5::Md5::digest(&data).to_vec())));

    // Output goes through our pid as group leader; `~p` needs a nested io_lib call.
    let fmt_args = vec![
        Term::binary("a ~p b ~s~n"),
        Term::list(vec![Term::Int(7), Term::binary("z")]),
    ];
    let (r, out) = call(cfg(), "io", "format", fmt_args, None).await;
    assert_eq!(r, Ok(Term::atom("ok")));
    assert_eq!(out, "a 7 b z\n");

    let (r, _) = call(cfg(), "erlang", "throw", vec![Term::atom("t")], None).await;
    assert!(
        matches!(&r, Err(RpcError::Exception { class: ExceptionClass::Throw, reason, .. }) if reason.is_atom("t")),
        "{r:?}"
    );
    let (r, _) = call(cfg(), "erlang", "exit", vec![Term::atom("bye")], None).await;
    assert_eq!(
        r.unwrap_err().to_rpc_result().to_string(),
        "{badrpc,{'EXIT',bye}}"
    );
    let (r, _) = call(cfg(), "nomod", "nofun", vec![], None).await;
    assert_eq!(
        r.unwrap_err().to_rpc_result().to_string(),
        "{badrpc,{'EXIT',{undef,[{nomod,nofun,[],[]}]}}}"
    );
    let started = Instant::now();
    let sleep = vec![Term::Int(5000)];
    let (r, _) = call(
        cfg(),
        "timer",
        "sleep",
        sleep,
        Some(Duration::from_millis(300)),
    )
    .await;
    assert_eq!(r, Err(RpcError::Timeout));
    assert!(started.elapsed() < Duration::from_secs(3));

    // Ping through the peer's net_kernel.
    let c = cfg();
    let pong = tokio::task::spawn_blocking(move || {
        let mut conn = Connection::dial(&c).expect("dial");
        rpc::ping(&mut conn, Duration::from_secs(5))
    });
    assert!(tokio::time::timeout(T, pong).await.unwrap().unwrap());
}

/// A call that outlives several tick intervals keeps the connection alive (we tick,
/// erl ticks), then a call interrupted by the node's death reports nodedown: the erl
/// node's `sink` prints the `gen_server:call` it gets and never answers, so the call is
/// under way on the node when it is killed.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn blocking_call_survives_ticks_and_reports_nodedown() {
    require("erl");
    let epmd = private_epmd().await;
    let name = unique("blkd");
    let mut erl = Erl::start_with(
        &name,
        COOKIE,
        epmd,
        "register(sink, self()), io:format(\"UP~n\"), \
         receive M -> io:format(\"SINK ~p~n\", [M]) end, receive after infinity -> ok end.",
        &["-kernel", "net_ticktime", "4"],
    );
    erl.expect("UP", T).await;
    let target = format!("{name}@localhost");
    let mut cfg = config(&target, epmd, COOKIE);
    cfg.net_ticktime = Duration::from_secs(4);
    let (r, _) = call(cfg.clone(), "timer", "sleep", vec![Term::Int(6000)], None).await;
    assert_eq!(r, Ok(Term::atom("ok")), "a 6 s call with net_ticktime 4");

    let args = vec![
        Term::atom("sink"),
        Term::atom("mid_call"),
        Term::atom("infinity"),
    ];
    let pending = tokio::spawn(call(cfg, "gen_server", "call", args, None));
    let got = erl.expect("SINK ", T).await;
    assert!(got.contains("mid_call"), "{got}");
    erl.kill9();
    let (r, _) = tokio::time::timeout(T, pending).await.unwrap().unwrap();
    assert!(matches!(r, Err(RpcError::NodeDown(_))), "{r:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn blocking_dial_refusals() {
    require("erl");
    let epmd = private_epmd().await;
    let name = unique("blkr");
    let mut erl = Erl::start(&name, COOKIE, epmd, "io:format(\"UP~n\").");
    erl.expect("UP", T).await;
    let target = format!("{name}@localhost");
    let wrong = config(&target, epmd, "not_the_cookie");
    let unknown = config("nobody@localhost", epmd, COOKIE);
    let no_epmd = config(&target, free_port(), COOKIE);
    let r = tokio::task::spawn_blocking(move || {
        (
            Connection::dial(&wrong).err(),
            Connection::dial(&unknown).err(),
            Connection::dial(&no_epmd).err(),
        )
    });
    let (wrong, unknown, no_epmd) = tokio::time::timeout(T, r).await.unwrap().unwrap();
    assert!(
        matches!(wrong, Some(DialError::ClosedInHandshake)),
        "{wrong:?}"
    );
    assert!(
        matches!(unknown, Some(DialError::NotRegistered(_))),
        "{unknown:?}"
    );
    assert!(
        matches!(no_epmd, Some(DialError::EpmdUnreachable { .. })),
        "{no_epmd:?}"
    );
}

/// `dial_first_free` skips a name the peer already has a connection from (status
/// `alive`, answered `false`) without disturbing that connection, and reports the
/// refusal when every name is taken.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn blocking_dial_skips_names_in_use() {
    require("erl");
    let epmd = private_epmd().await;
    let name = unique("blkn");
    let mut erl = Erl::start(&name, COOKIE, epmd, "io:format(\"UP~n\").");
    erl.expect("UP", T).await;
    let target = format!("{name}@localhost");
    let base = unique("pool");
    let n3 = format!("{base}_3@localhost");
    let n4 = format!("{base}_4@localhost");
    let cfg = config(&target, epmd, COOKIE);
    let job = tokio::task::spawn_blocking(move || {
        let mut held = cfg.clone();
        held.our_name = n3.clone();
        let mut a = Connection::dial(&held).expect("dial the first name");
        let names = || vec![n3.clone(), n4.clone()];
        let mut b = Connection::dial_first_free(&cfg, names()).expect("a free name");
        let b_name = b.pid().node.as_str().to_string();
        let none = Connection::dial_first_free(&cfg, names()).err();
        let mut out = Vec::new();
        let hidden = vec![Term::list(vec![Term::atom("hidden")])];
        let seen = rpc::rex_call(&mut b, "erlang", "nodes", hidden, None, &mut out);
        // The held connection was not taken over: it still calls.
        let a_node = rpc::rex_call(&mut a, "erlang", "node", vec![], None, &mut out);
        (b_name, none, seen, a_node, n3, n4)
    });
    let (b_name, none, seen, a_node, n3, n4) = tokio::time::timeout(T, job).await.unwrap().unwrap();
    assert_eq!(b_name, n4);
    assert!(
        matches!(none, Some(DialError::Refused("alive"))),
        "{none:?}"
    );
    let seen = seen.expect("nodes(hidden)");
    for n in [&n3, &n4] {
        assert!(seen.to_string().contains(n.as_str()), "{n} in {seen}");
    }
    assert_eq!(a_node, Ok(Term::atom(&target)));
}

/// The same client against OTP 27 (Debian trixie root, `scripts/otp-root.sh`): calls
/// with output, an exception and ping.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn blocking_calls_against_otp27() {
    let root = newer_otp_root();
    let epmd = private_epmd().await;
    let name = unique("blk27");
    let mut erl = Erl::start_in_root(&root, &name, COOKIE, epmd, "io:format(\"UP~n\").");
    erl.expect("UP", T).await;
    let target = format!("{name}@localhost");
    let cfg = || config(&target, epmd, COOKIE);
    let (r, _) = call(
        cfg(),
        "erlang",
        "system_info",
        vec![Term::atom("otp_release")],
        None,
    )
    .await;
    let release = otp_release_of(&root);
    assert_eq!(r, Ok(Term::string(&release)));
    let fmt_args = vec![Term::binary("~p~n"), Term::list(vec![Term::Int(27)])];
    let (r, out) = call(cfg(), "io", "format", fmt_args, None).await;
    assert_eq!((r, out.as_str()), (Ok(Term::atom("ok")), "27\n"));
    let (r, out) = rex(
        cfg(),
        "io",
        "format",
        vec![Term::binary("~p~n"), Term::list(vec![Term::atom("r27")])],
        None,
    )
    .await;
    assert_eq!((r, out.as_str()), (Ok(Term::atom("ok")), "r27\n"));
    let (r, _) = call(cfg(), "erlang", "error", vec![Term::atom("e27")], None).await;
    assert!(
        r.as_ref()
            .unwrap_err()
            .to_rpc_result()
            .to_string()
            .starts_with("{badrpc,{'EXIT',{e27,["),
        "{r:?}"
    );
    let c = cfg();
    let pong = tokio::task::spawn_blocking(move || {
        let mut conn = Connection::dial(&c).expect("dial");
        rpc::ping(&mut conn, Duration::from_secs(5))
    });
    assert!(tokio::time::timeout(T, pong).await.unwrap().unwrap());
}

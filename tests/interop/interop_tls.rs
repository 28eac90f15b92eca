//! TLS distribution (docs/tls.md, docs/protocol.md §17) against real OTP 25 nodes
//! started with `-proto_dist inet_tls -ssl_dist_optfile F`, with a CA and node
//! certificates made here (rcgen): mutual TLS in both directions (messages and rpc,
//! the blocking client too), and the refusals — a plain-TCP peer, a client without a
//! certificate, a certificate from an untrusted CA, a server certificate for another
//! host — each logged by beamnode, which keeps serving good TLS peers afterwards.
//!
//! Each test runs on a current-thread runtime with its own log subscriber, so the log
//! lines of its node are its own to check.

use crate::common::*;
use beamnode::blocking::{rpc, Connection, DialConfig, DialError};
use beamnode::tls::DistTls;
use beamnode::{Atom, Node, Term};
use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

const T: Duration = Duration::from_secs(20);

/// A beamnode node with TLS distribution from `conf`, serving rpc (`rust_math`).
async fn rust_tls(epmd: u16, conf: &Path) -> Node {
    let tls = DistTls::from_optfile(conf).expect("read the optfile");
    let node = rust_node_with("rust", epmd, COOKIE, |c| {
        c.tls(tls).setup_time(Duration::from_secs(3))
    })
    .await;
    beamnode::services::rpc_server::start(&node).unwrap();
    beamnode::services::rust_math::register(&node);
    node
}

/// The `-eval` of a BEAM node that connects to `rust`, sends `{hello, self()}` to its
/// `collector`, prints the reply, an rpc result and the connection's address (whose
/// protocol says `tls`), then halts.
fn connect_and_talk(rust: &Node) -> String {
    let r = rust.name().as_str();
    format!(
        r#"R = '{r}',
        io:format("CONNECT ~p~n", [net_kernel:connect_node(R)]),
        {{collector, R}} ! {{hello, self()}},
        receive {{reply, X}} -> io:format("GOT ~p~n", [X]) after 10000 -> io:format("GOT none~n") end,
        io:format("RPC ~p~n", [rpc:call(R, rust_math, add, [1, 2])]),
        {{ok, Info}} = net_kernel:node_info(R),
        io:format("ADDRESS ~p~n", [proplists:get_value(address, Info)]),
        halt()."#
    )
}

/// The beamnode side of [`connect_and_talk`]: answers the hello.
async fn answer_hello(collector: &mut beamnode::Process) {
    let msg = collector.receive(Some(T)).await.expect("hello from BEAM");
    let Term::Tuple(t) = &msg else {
        panic!("expected {{hello, Pid}}, got {msg}")
    };
    assert_eq!(t[0], Term::atom("hello"));
    collector
        .send(
            &pid_of(&t[1]),
            Term::tuple(vec![Term::atom("reply"), Term::atom("over_tls")]),
        )
        .await;
}

/// A BEAM node over TLS talks to beamnode as with plain TCP; asserts the connection
/// is a TLS one on the BEAM side.
async fn beam_talks_to(rust: &Node, epmd: u16, conf: &Path) {
    let mut collector = rust.process();
    collector.register("collector").unwrap();
    let mut erl = erl_tls("beam", epmd, conf, &connect_and_talk(rust));
    assert_eq!(erl.expect("CONNECT ", T).await, "true");
    answer_hello(&mut collector).await;
    assert_eq!(erl.expect("GOT ", T).await, "over_tls");
    assert_eq!(erl.expect("RPC ", T).await, "3");
    let address = erl.expect("ADDRESS ", T).await;
    assert!(address.contains("tls"), "not a TLS connection: {address}");
}

/// A blocking dial toward `target` with the optfile `conf`, on a blocking thread.
async fn blocking_dial(target: &str, epmd: u16, conf: &Path) -> Result<Connection, DialError> {
    let mut cfg = DialConfig::new(format!("{}@localhost", unique("blk")), COOKIE, target);
    cfg.epmd_port = epmd;
    cfg.setup_time = Duration::from_secs(3);
    cfg.tls = Some(Arc::new(DistTls::from_optfile(conf).expect("optfile")));
    let job = tokio::task::spawn_blocking(move || Connection::dial(&cfg));
    tokio::time::timeout(T, job).await.unwrap().unwrap()
}

/// What most tests start from: the test's own log capture (installed while the value
/// lives), a CA with a mutual-TLS optfile, a private EPMD and a TLS beamnode serving
/// rpc.
struct Setup {
    log: Log,
    _log: tracing::subscriber::DefaultGuard,
    pki: Pki,
    conf: std::path::PathBuf,
    epmd: u16,
    rust: Node,
}

async fn setup() -> Setup {
    let log = Log::default();
    let _log = log.install();
    let pki = Pki::new();
    let conf = pki.mutual();
    let epmd = private_epmd().await;
    let rust = rust_tls(epmd, &conf).await;
    Setup {
        log,
        _log,
        pki,
        conf,
        epmd,
        rust,
    }
}

/// The `-eval` of a BEAM node that tries to connect to `rust`, prints the result and
/// stays up.
fn try_connect(rust: &Node) -> String {
    let r = rust.name().as_str();
    format!(
        r#"io:format("CONNECT ~p~n", [net_kernel:connect_node('{r}')]),
        io:format("READY~n"), receive after 60000 -> halt() end."#
    )
}

#[tokio::test]
async fn beam_dials_beamnode_over_tls() {
    let Setup {
        log,
        conf,
        epmd,
        rust,
        ..
    } = &setup().await;
    beam_talks_to(rust, *epmd, conf).await;
    // Mutual: the BEAM client presented its certificate.
    log.expect(&["TLS session accepted", "client_cert=true"])
        .await;
    log.expect(&["connection up"]).await;
}

/// `{versions, ['tlsv1.3']}` on both sides: the connection is TLS 1.3 (OTP's
/// distribution offers TLS 1.2 only when the file names no versions, §17.5).
#[tokio::test]
async fn versions_option_selects_tls13() {
    let log = Log::default();
    let _log = log.install();
    let pki = Pki::new();
    let (id, ca) = (pki.identity("node"), pki.ca("ca.pem"));
    let v13 = "{versions, ['tlsv1.3']}";
    let conf = pki.optfile(
        "tls13.conf",
        &format!("{id}, {ca}, {{verify, verify_peer}}, {{fail_if_no_peer_cert, true}}, {v13}"),
        &format!("{id}, {ca}, {{verify, verify_peer}}, {v13}"),
    );
    let epmd = private_epmd().await;
    let rust = rust_tls(epmd, &conf).await;
    beam_talks_to(&rust, epmd, &conf).await;
    log.expect(&["TLS session accepted", "TLSv1_3", "client_cert=true"])
        .await;
    let mut erl = erl_tls("beam", epmd, &conf, IDLE);
    erl.expect("READY", T).await;
    assert!(rust.connect(&Atom::new(&erl.name)).await);
    log.expect(&["TLS session established", "TLSv1_3"]).await;
}

/// Bulk traffic over TLS, both ways at once: a BEAM node sends 64 binaries of 256 KiB
/// and one of 8 MiB to beamnode's `echo`, which sends each back. Every write is
/// larger than the session's 64 KiB buffer and every read spans many TLS records, so
/// the readiness loop's partial writes and record draining (net/stream.rs) are
/// crossed; the BEAM side checks that each binary comes back whole and in order.
#[tokio::test]
async fn bulk_binaries_both_ways_over_tls() {
    let pki = Pki::new();
    let conf = pki.mutual();
    let epmd = private_epmd().await;
    let rust = rust_tls(epmd, &conf).await;
    beamnode::services::echo::start(&rust).unwrap();
    let r = rust.name().as_str();
    let eval = format!(
        r#"R = '{r}',
        true = net_kernel:connect_node(R),
        Bins = [crypto:strong_rand_bytes(256 * 1024) || _ <- lists:seq(1, 64)]
            ++ [crypto:strong_rand_bytes(8 * 1024 * 1024)],
        [{{echo, R}} ! {{self(), B}} || B <- Bins],
        Back = [receive {{echo, X}} -> X after 30000 -> timeout end || _ <- Bins],
        io:format("SAME ~p~n", [Back =:= Bins]),
        halt()."#
    );
    let mut erl = erl_tls("bulk", epmd, &conf, &eval);
    assert_eq!(erl.expect("SAME ", Duration::from_secs(60)).await, "true");
}

#[tokio::test]
async fn beamnode_dials_beam_over_tls() {
    let log = Log::default();
    let _log = log.install();
    let pki = Pki::new();
    let conf = pki.mutual();
    let epmd = private_epmd().await;
    let rust = rust_tls(epmd, &conf).await;
    let eval = r#"register(sink, self()), io:format("READY~n"),
        receive {From, {Tag, Bin}} -> From ! {echo, {Tag, Bin}}, io:format("GOT ~p ~p~n", [Tag, byte_size(Bin)])
        after 20000 -> ok end,
        receive after 60000 -> halt() end."#;
    let mut erl = erl_tls("beam", epmd, &conf, eval);
    erl.expect("READY", T).await;
    let beam = Atom::new(&erl.name);
    assert!(rust.connect(&beam).await, "TLS dial toward {beam}");
    // 3 MB each way: many TLS records, writes the session takes in parts.
    let mut me = rust.process();
    let big: Vec<u8> = (0..3_000_000u32).map(|i| (i % 251) as u8).collect();
    let payload = Term::tuple(vec![Term::atom("ping"), Term::binary(big)]);
    let msg = Term::tuple(vec![Term::Pid(me.pid().clone()), payload.clone()]);
    me.send_named(&Atom::new("sink"), &beam, msg).await;
    assert_eq!(erl.expect("GOT ", T).await, "ping 3000000");
    let echo = me.receive(Some(T)).await.expect("echo over TLS");
    assert!(
        echo == Term::tuple(vec![Term::atom("echo"), payload]),
        "echo differs"
    );
    // The blocking client (`beamnode call`/`ping`) over TLS too.
    let mut conn = blocking_dial(&erl.name, epmd, &conf)
        .await
        .expect("blocking TLS dial");
    let got = tokio::task::spawn_blocking(move || {
        let pong = rpc::ping(&mut conn, T);
        let mut out = Vec::new();
        let node = rpc::rex_call(&mut conn, "erlang", "node", vec![], Some(T), &mut out);
        (pong, node)
    })
    .await
    .unwrap();
    assert!(got.0, "blocking ping over TLS");
    assert_eq!(got.1.expect("rex call"), Term::atom(&erl.name));
}

#[tokio::test]
async fn plain_tcp_peers_are_refused() {
    let Setup {
        log,
        conf,
        epmd,
        rust,
        ..
    } = &setup().await;
    // A plain-TCP BEAM node dialling the TLS beamnode.
    let mut plain = Erl::start(&unique("plain"), COOKIE, *epmd, &try_connect(rust));
    assert_eq!(plain.expect("CONNECT ", T).await, "false");
    log.expect(&["incoming connection refused", "TLS"]).await;
    // The TLS beamnode dialling the plain node.
    let plain_name = Atom::new(&plain.name);
    assert!(
        !rust.connect(&plain_name).await,
        "a plain-TCP node must not connect"
    );
    log.expect(&["could not connect", "TLS"]).await;
    // Still serving TLS peers.
    beam_talks_to(rust, *epmd, conf).await;
}

#[tokio::test]
async fn client_without_certificate_is_refused() {
    let Setup {
        log,
        pki,
        conf,
        epmd,
        rust,
        ..
    } = &setup().await;
    let epmd = *epmd;
    // A BEAM node whose client side has no certificate (it trusts our CA).
    let (id, ca) = (pki.identity("node"), pki.ca("ca.pem"));
    let nocert = pki.optfile(
        "nocert.conf",
        &format!("{id}, {ca}"),
        &format!("{ca}, {{verify, verify_peer}}"),
    );
    let mut erl = erl_tls("nocert", epmd, &nocert, &try_connect(rust));
    assert_eq!(erl.expect("CONNECT ", T).await, "false");
    log.expect(&["incoming connection refused", "TLS", "certificate"])
        .await;
    // The blocking client without a certificate, toward a BEAM node that requires one.
    let mut beam = erl_tls("beam", epmd, conf, IDLE);
    beam.expect("READY", T).await;
    let refused = blocking_dial(&beam.name, epmd, &nocert).await;
    match refused {
        Err(DialError::Tls(e)) => assert!(e.to_string().contains("alert"), "{e}"),
        Err(e) => panic!("expected a TLS refusal, got {e}"),
        Ok(c) => panic!("a client without a certificate got through to {}", c.peer()),
    }
    // And the node's dialler without a certificate.
    let lone = DistTls::from_optfile(&nocert).unwrap();
    let lone = rust_node_with("lone", epmd, COOKIE, |c| c.tls(lone)).await;
    assert!(!lone.connect(&Atom::new(&beam.name)).await);
    log.expect(&["could not connect", "TLS", "alert"]).await;
    beam_talks_to(rust, epmd, conf).await;
}

#[tokio::test]
async fn untrusted_ca_is_refused() {
    let Setup {
        log,
        pki,
        conf,
        epmd,
        rust,
        ..
    } = &setup().await;
    // A BEAM node with a certificate of the rogue CA; it trusts both CAs, so only our
    // check can refuse it.
    let (id, ca) = (pki.identity("rogue"), pki.ca("both_ca.pem"));
    let rogue = pki.optfile(
        "rogue.conf",
        &format!("{id}, {ca}, {{verify, verify_peer}}, {{fail_if_no_peer_cert, true}}"),
        &format!("{id}, {ca}, {{verify, verify_peer}}"),
    );
    let mut erl = erl_tls("rogue", *epmd, &rogue, &try_connect(rust));
    assert_eq!(erl.expect("CONNECT ", T).await, "false");
    log.expect(&["incoming connection refused", "TLS", "UnknownIssuer"])
        .await;
    // beamnode dialling it: its server certificate is refused by our client.
    assert!(!rust.connect(&Atom::new(&erl.name)).await);
    log.expect(&["could not connect", "TLS", "UnknownIssuer"])
        .await;
    beam_talks_to(rust, *epmd, conf).await;
}

#[tokio::test]
async fn server_certificate_for_another_host_is_refused() {
    let log = Log::default();
    let _log = log.install();
    let pki = Pki::new();
    let conf = pki.mutual();
    let epmd = private_epmd().await;
    // A BEAM node on localhost whose certificate names another host.
    let (id, ca) = (pki.identity("other_host"), pki.ca("ca.pem"));
    let other = pki.optfile(
        "other.conf",
        &format!("{id}, {ca}, {{verify, verify_peer}}, {{fail_if_no_peer_cert, true}}"),
        &format!("{id}, {ca}, {{verify, verify_peer}}, {{server_name_indication, disable}}"),
    );
    let mut erl = erl_tls("other", epmd, &other, IDLE);
    erl.expect("READY", T).await;
    let beam = Atom::new(&erl.name);
    let rust = rust_tls(epmd, &conf).await;
    assert!(!rust.connect(&beam).await, "host name check");
    log.expect(&["could not connect", "TLS", "not valid for name"])
        .await;
    // With `{server_name_indication, disable}` the chain is still checked, the name
    // is not, as in OTP.
    let (id, ca) = (pki.identity("node"), pki.ca("ca.pem"));
    let no_sni = pki.optfile(
        "no_sni.conf",
        &format!("{id}, {ca}, {{verify, verify_peer}}"),
        &format!("{id}, {ca}, {{verify, verify_peer}}, {{server_name_indication, disable}}"),
    );
    let lax = rust_tls(epmd, &no_sni).await;
    assert!(
        lax.connect(&beam).await,
        "no host name check with SNI disabled"
    );
}

/// The command line: `beamnode run`, `call` and `ping` with `--proto-dist inet_tls
/// --ssl-dist-optfile F`, against a BEAM node with the same file.
#[tokio::test]
async fn cli_run_call_and_ping_over_tls() {
    use tokio::io::AsyncBufReadExt;
    let pki = Pki::new();
    let conf = pki.mutual();
    let conf_s = conf.display().to_string();
    let epmd = private_epmd().await;
    let exe = std::path::Path::new(env!("CARGO_BIN_EXE_beamnode"));
    let tls = [
        "--proto-dist",
        "inet_tls",
        "--ssl-dist-optfile",
        conf_s.as_str(),
    ];
    // `beamnode run` over TLS, reached from a TLS BEAM node.
    let name = format!("{}@localhost", unique("clitls"));
    let mut run = tokio::process::Command::new(exe)
        .args([
            "run",
            "--sname",
            &name,
            "--no-epmd",
            "--epmd-port",
            &epmd.to_string(),
        ])
        .args(tls)
        .env("BEAMNODE_COOKIE", COOKIE)
        .stdin(std::process::Stdio::null())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::null())
        .kill_on_drop(true)
        .spawn()
        .expect("spawn beamnode run");
    let mut lines = tokio::io::BufReader::new(run.stdout.take().unwrap()).lines();
    let up = tokio::time::timeout(T, async {
        while let Ok(Some(l)) = lines.next_line().await {
            if l.contains("is up") {
                return true;
            }
        }
        false
    })
    .await;
    assert_eq!(up, Ok(true), "beamnode run over TLS did not come up");
    let eval = format!(
        r#"R = '{name}', io:format("RPC ~p~n", [rpc:call(R, rust_math, add, [1, 2])]),
        io:format("READY~n"), receive after 60000 -> halt() end."#
    );
    let mut erl = erl_tls("beam", epmd, &conf, &eval);
    assert_eq!(erl.expect("RPC ", T).await, "3");
    erl.expect("READY", T).await;
    // `call` and `ping` over TLS toward the BEAM node and toward `beamnode run`.
    let call: Vec<&str> = ["call", erl.name.as_str(), "erlang", "node"]
        .into_iter()
        .chain(tls)
        .collect();
    assert_eq!(run_cli(exe, &call, epmd).await, (0, erl.name.clone()));
    for target in [erl.name.as_str(), name.as_str()] {
        let ping: Vec<&str> = ["ping", target].into_iter().chain(tls).collect();
        assert_eq!(
            run_cli(exe, &ping, epmd).await,
            (0, "pong".into()),
            "{target}"
        );
    }
    // Without TLS the BEAM node is out of reach.
    assert_eq!(
        run_cli(exe, &["ping", erl.name.as_str()], epmd).await,
        (1, "pang".into())
    );
    // An optfile that cannot be used is a usage error (exit 2) that says why.
    let bad = pki.optfile("bad.conf", "{verify_fun, {fun m:f/3, []}}", "");
    let bad_s = bad.display().to_string();
    let out = tokio::process::Command::new(exe)
        .args(["ping", erl.name.as_str(), "--proto-dist", "inet_tls"])
        .args(["--ssl-dist-optfile", &bad_s])
        .env("ERL_EPMD_PORT", epmd.to_string())
        .env("BEAMNODE_COOKIE", COOKIE)
        .output()
        .await
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{stderr}");
    assert!(stderr.contains("verify_fun"), "{stderr}");
}

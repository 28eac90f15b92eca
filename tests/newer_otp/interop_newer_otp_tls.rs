//! TLS distribution (docs/tls.md, §17) against the newer OTP of the Debian root made
//! by `scripts/otp-root.sh` (27; scripts/test.sh also runs it against sid's 29): OTP
//! 26+ changed the `ssl` client's defaults (verify_peer), so both directions, the
//! blocking client and a refused certificate are checked there too.

use crate::common::*;
use beamnode::blocking::{rpc, Connection, DialConfig};
use beamnode::tls::DistTls;
use beamnode::{Atom, Term};
use std::sync::Arc;
use std::time::Duration;

const T: Duration = Duration::from_secs(30);

#[tokio::test]
async fn newer_otp_over_tls() {
    let root = newer_otp_root();
    let log = Log::default();
    let _log = log.install();
    let pki = Pki::in_root(&root);
    let conf = pki.mutual();
    let epmd = private_epmd().await;
    let tls = DistTls::from_optfile(&conf).expect("optfile");
    let rust = rust_node_with("rust", epmd, COOKIE, |c| {
        c.tls(tls).setup_time(Duration::from_secs(3))
    })
    .await;
    beamnode::services::rpc_server::start(&rust).unwrap();
    beamnode::services::rust_math::register(&rust);
    // BEAM → beamnode: connect, rpc, and the connection is a TLS one.
    let r = rust.name().as_str().to_string();
    let eval = format!(
        r#"R = '{r}',
        io:format("OTP ~s~n", [erlang:system_info(otp_release)]),
        io:format("CONNECT ~p~n", [net_kernel:connect_node(R)]),
        io:format("RPC ~p~n", [rpc:call(R, rust_math, add, [1, 2])]),
        {{ok, Info}} = net_kernel:node_info(R),
        io:format("ADDRESS ~p~n", [proplists:get_value(address, Info)]),
        register(sink, self()),
        io:format("READY~n"),
        receive {{From, Msg}} -> From ! {{echo, Msg}} after 20000 -> ok end,
        receive after 60000 -> halt() end."#
    );
    let mut erl = erl_tls_in_root(&root, "o27tls", epmd, &conf, &eval);
    let otp: u32 = erl.expect("OTP ", T).await.parse().unwrap();
    assert!(otp >= 26, "expected a newer OTP, got {otp}");
    assert_eq!(erl.expect("CONNECT ", T).await, "true");
    assert_eq!(erl.expect("RPC ", T).await, "3");
    assert!(erl.expect("ADDRESS ", T).await.contains("tls"));
    erl.expect("READY", T).await;
    log.expect(&["TLS session accepted", "client_cert=true"])
        .await;
    // beamnode → BEAM: a fresh connection dialled by us.
    let beam = Atom::new(&erl.name);
    rust.disconnect(&beam);
    until("the connection is down", || {
        let up = rust.nodes().contains(&beam);
        async move { !up }
    })
    .await;
    let mut me = rust.process();
    let msg = Term::tuple(vec![Term::Pid(me.pid().clone()), Term::atom("ping")]);
    me.send_named(&Atom::new("sink"), &beam, msg).await;
    let echo = me.receive(Some(T)).await.expect("echo over TLS");
    assert_eq!(
        echo,
        Term::tuple(vec![Term::atom("echo"), Term::atom("ping")])
    );
    log.expect(&["TLS session established"]).await;
    // The blocking client over TLS.
    let mut cfg = DialConfig::new(format!("{}@localhost", unique("blk")), COOKIE, &erl.name);
    cfg.epmd_port = epmd;
    cfg.tls = Some(Arc::new(DistTls::from_optfile(&conf).unwrap()));
    let pong = tokio::task::spawn_blocking(move || {
        let mut conn = Connection::dial(&cfg).expect("blocking TLS dial");
        rpc::ping(&mut conn, Duration::from_secs(10))
    })
    .await
    .unwrap();
    assert!(pong, "blocking ping over TLS");
    // A BEAM client with a certificate of another CA is refused.
    let (id, ca) = (pki.identity("rogue"), pki.ca("both_ca.pem"));
    let rogue = pki.optfile(
        "rogue.conf",
        &format!("{id}, {ca}, {{verify, verify_peer}}"),
        &format!("{id}, {ca}, {{verify, verify_peer}}"),
    );
    let eval = format!(r#"io:format("CONNECT ~p~n", [net_kernel:connect_node('{r}')]), halt()."#);
    let mut bad = erl_tls_in_root(&root, "o27rogue", epmd, &rogue, &eval);
    assert_eq!(bad.expect("CONNECT ", T).await, "false");
    log.expect(&["incoming connection refused", "TLS"]).await;
    // OTP 27 sends its certificate and we refuse its issuer; OTP 29 (TLS 1.3) reads
    // the CA names of our certificate request and sends none, since its certificate
    // is not from one of them: refused either way.
    let text = log.text();
    assert!(
        text.contains("UnknownIssuer") || text.contains("peer sent no certificates"),
        "{text}"
    );
}

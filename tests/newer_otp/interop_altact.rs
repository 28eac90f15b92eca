//! Alias messages with a newer OTP (the root of `scripts/otp-root.sh`): OTP 28+ and
//! beamnode both offer ALTACT_SIG, and then alias messages travel as ALTACT_SIG_SEND
//! (op 37) both ways (OTP 30 drops ALIAS_SEND); with older releases, as ALIAS_SEND.
//! Rust to a BEAM alias, BEAM to a Rust alias, and a gen_server reply (which OTP sends
//! to the caller's alias).

use crate::common::*;
use beamnode::proto::DistFlags;
use beamnode::services::gen::{self, Dest};
use beamnode::{Atom, Term};
use std::time::Duration;

const T: Duration = Duration::from_secs(30);

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn alias_messages_both_ways_with_the_newer_otp() {
    let root = newer_otp_root();
    let release: u32 = otp_release_of(&root).parse().expect("release");
    let epmd = private_epmd().await;
    let node = rust_node("rust", epmd, COOKIE).await;
    let mut me = node.process();
    me.register("rusty").expect("register");
    let r = node.name().as_str().to_string();
    let eval = format!(
        r#"R = '{r}', true = net_kernel:connect_node(R),
        Srv = spawn(fun Loop() -> receive {{'$gen_call', From, Req}} -> gen:reply(From, {{echo, Req}}), Loop() end end),
        register(echo_srv, Srv),
        A = alias(),
        {{rusty, R}} ! {{beam_alias, A, self()}},
        receive {{via_alias, X}} -> io:format("GOT ~p~n", [X]) after 10000 -> io:format("GOT timeout~n") end,
        receive {{rust_alias, RA}} -> RA ! from_beam, io:format("SENT~n") after 10000 -> io:format("SENT timeout~n") end,
        receive done -> halt() after 20000 -> halt() end."#
    );
    let mut erl = Erl::start_in_root(&root, &unique("newer"), COOKIE, epmd, &eval);
    let peer = Atom::new(&erl.name);

    // Rust -> BEAM alias.
    let got = me.receive(Some(T)).await.expect("alias from BEAM");
    let Some([_, Term::Ref(beam_alias), Term::Pid(beam)]) = got.as_tuple() else {
        panic!("unexpected {got:?}")
    };
    let (beam_alias, beam) = (beam_alias.clone(), beam.clone());
    let flags = node.connection_flags(&peer).expect("connected");
    assert_eq!(
        flags.contains(DistFlags::ALTACT_SIG),
        release >= 28,
        "ALTACT_SIG negotiated exactly with OTP 28+ (OTP {release})"
    );
    me.send_alias(
        &beam_alias,
        Term::tuple(vec![Term::atom("via_alias"), Term::atom("hello")]),
    )
    .await;
    assert_eq!(erl.expect("GOT ", T).await, "hello");

    // BEAM -> Rust alias.
    let alias = me.alias();
    me.send(
        &beam,
        Term::tuple(vec![Term::atom("rust_alias"), Term::Ref(alias)]),
    )
    .await;
    erl.expect("SENT", T).await;
    assert_eq!(
        me.receive(Some(T)).await.expect("via our alias"),
        Term::atom("from_beam")
    );

    // A gen_server reply comes to the caller's alias.
    let mut caller = node.process();
    let reply = gen::call(
        &mut caller,
        &Dest::Remote(Atom::new("echo_srv"), peer.clone()),
        Term::atom("ping"),
        T,
    )
    .await
    .expect("gen_server reply through our alias");
    assert_eq!(
        reply,
        Term::tuple(vec![Term::atom("echo"), Term::atom("ping")])
    );
    me.send(&beam, Term::atom("done")).await;
}

//! `sys:get_state/1` on Rust gen_servers from OTP 25 and from the newer-OTP root:
//! OTP 26 changed the reply `sys` expects from the bare state to `{ok, State}`, and a
//! node serving both releases answers each caller in its own shape (services::sys).
//! Also `sys:get_status/1`, `suspend` and `resume`, which did not change.

use crate::common::*;
use std::time::Duration;

const T: Duration = Duration::from_secs(30);

fn script(r: &str) -> String {
    format!(
        r#"R = '{r}', true = net_kernel:connect_node(R),
        ok = gen_server:call({{kv, R}}, {{put, a, 1}}),
        io:format("RELEASE ~s~n", [erlang:system_info(otp_release)]),
        io:format("KV ~0p~n", [catch sys:get_state({{kv, R}})]),
        io:format("KV_AGAIN ~0p~n", [catch sys:get_state({{kv, R}})]),
        io:format("PG ~0p~n", [catch sys:get_state({{pg, R}})]),
        {{status, _, {{module, gen_server}}, _}} = sys:get_status({{kv, R}}),
        ok = sys:suspend({{kv, R}}), ok = sys:resume({{kv, R}}),
        io:format("DONE~n"),
        halt()."#
    )
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn get_state_answers_each_release_in_its_shape() {
    let epmd = private_epmd().await;
    let node = rust_node("rust", epmd, COOKIE).await;
    beamnode::services::kv::start(&node).expect("kv");
    beamnode::services::pg::start(&node, "pg").expect("pg scope");
    let r = node.name().as_str().to_string();

    let mut old = Erl::start(&unique("otp_host"), COOKIE, epmd, &script(&r));
    let root = newer_otp_root();
    let mut new = Erl::start_in_root(&root, &unique("otp_new"), COOKIE, epmd, &script(&r));
    let mut states = Vec::new();
    for erl in [&mut old, &mut new] {
        let release: u32 = erl.expect("RELEASE ", T).await.parse().expect("release");
        let kv = erl.expect("KV ", T).await;
        let again = erl.expect("KV_AGAIN ", T).await;
        let pg = erl.expect("PG ", T).await;
        erl.expect("DONE", T).await;
        assert!(
            !kv.contains("EXIT") && !pg.contains("EXIT"),
            "OTP {release}: {kv} / {pg}"
        );
        assert_eq!(
            kv, again,
            "OTP {release}: the second answer (release known) is the same"
        );
        states.push((release, kv, pg));
    }
    assert!(states[1].0 >= 26, "the root is OTP 26 or newer");
    // The same state comes out of both releases' sys:get_state.
    assert_eq!(states[0].1, states[1].1);
    assert_eq!(states[0].2, states[1].2);
    assert!(
        states[0].1.contains("a"),
        "kv state holds the key: {}",
        states[0].1
    );
}

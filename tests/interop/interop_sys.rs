//! `sys:get_state/1` on Rust gen_servers from OTP 25 and from the newer-OTP root:
//! OTP 26 changed the reply `sys` expects from the bare state to `{ok, State}`, and a
//! node serving both releases answers each caller in its own shape (services::sys).
//! Also `sys:get_status/1`, `suspend` and `resume`, which did not change, and `rex`
//! answering `sys` as OTP's gen_server `rex` does.

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
        io:format("REX ~0p~n", [catch sys:get_state({{rex, R}})]),
        {{status, _, {{module, gen_server}}, _}} = sys:get_status({{rex, R}}),
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
    beamnode::services::rpc_server::start(&node).expect("rpc serving, rex");
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
        assert_eq!(erl.expect("REX ", T).await, "#{}", "OTP {release}: rex");
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

/// The line `TAG …` of `erl` is `want`.
async fn expect_line(erl: &mut Erl, release: &str, tag: &str, want: &str) {
    let got = erl.expect(&format!("{tag} "), T).await;
    assert_eq!(got, want, "OTP {release}: {tag}");
}

fn debug_script(r: &str) -> String {
    format!(
        r#"R = '{r}', true = net_kernel:connect_node(R), K = {{kv, R}},
        P = fun(Tag, V) -> io:format("~s ~0p~n", [Tag, V]) end,
        Reason = fun(F) -> case catch F() of {{'EXIT', {{Why, _}}}} -> Why; O0 -> O0 end end,
        io:format("RELEASE ~s~n", [erlang:system_info(otp_release)]),
        ok = sys:statistics(K, true),
        ok = sys:log(K, true),
        ok = gen_server:call(K, {{put, a, 1}}),
        gen_server:cast(K, {{put, b, 2}}),
        {{ok, 1}} = gen_server:call(K, {{get, a}}),
        {{ok, Stats}} = sys:statistics(K, get),
        P("STATS", {{proplists:get_value(messages_in, Stats), proplists:get_value(messages_out, Stats), proplists:get_value(reductions, Stats)}}),
        {{{{_, _, _}}, {{_, _, _}}}} = proplists:get_value(start_time, Stats),
        {{ok, Log}} = sys:log(K, get),
        P("LOG", [element(1, E) || E <- Log]),
        Me = self(),
        P("FIRST", case hd(Log) of {{in, {{'$gen_call', {{Me, _}}, {{put, a, 1}}}}}} -> in_call; O1 -> O1 end),
        P("OUT", case lists:nth(2, Log) of {{out, ok, {{Me, _}}, #{{a := 1}}}} -> out_reply; O2 -> O2 end),
        {{status, _, _, [_, _, _, Dbg, Misc]}} = sys:get_status(K),
        P("DBG", lists:sort([element(1, D) || D <- Dbg])),
        P("LOGGED", length(proplists:get_value("Logged events", proplists:get_value(data, Misc)))),
        ok = sys:trace(K, true), ok = gen_server:call(K, {{put, c, 3}}), ok = sys:trace(K, false),
        ok = sys:log(K, {{true, 2}}),
        {{ok, Log2}} = sys:log(K, get),
        P("LOG2", length(Log2)),
        ok = sys:no_debug(K),
        P("NOSTATS", sys:statistics(K, get)),
        P("UNKNOWN", sys:log(K, bogus)),
        P("INSTALL", catch sys:install(K, {{fun(S, _, _) -> S end, x}})),
        P("REPLACE", Reason(fun() -> sys:replace_state(K, fun rust_state:reset/1) end)),
        P("STATE", sys:get_state(K)),
        P("CLOSURE", Reason(fun() -> sys:replace_state(K, fun(S) -> S end) end)),
        P("NOTMAP", Reason(fun() -> sys:replace_state(K, fun rust_state:not_a_map/1) end)),
        P("CHANGE_RUNNING", sys:change_code(K, kv, undefined, [])),
        ok = sys:suspend(K),
        P("CHANGE_SUSPENDED", sys:change_code(K, kv, undefined, [])),
        ok = sys:resume(K),
        P("LOGFILE", sys:log_to_file(K, "/nonexistent-dir/x.log")),
        io:format("DONE~n"),
        halt()."#
    )
}

/// The `sys` debug commands and `replace_state` on a Rust gen_server, from OTP 25 and
/// from the newer-OTP root: statistics count `in`/`out` events as `sys` does, the log
/// keeps gen_server's events (`{in, Msg}`, `{out, Reply, From, State}`,
/// `{noreply, State}`) and its size, `get_status` lists the options in force,
/// `no_debug` clears them; `replace_state` runs `fun M:F/1` of a function registered
/// on the Rust node (a closure fails as a callback failure naming why); `change_code`
/// is refused while running and accepted while suspended; an unopenable
/// `log_to_file` is `{error, open_file}`.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn debug_options_and_replace_state_from_each_release() {
    let epmd = private_epmd().await;
    let node = rust_node("rust", epmd, COOKIE).await;
    beamnode::services::rpc_server::start(&node).expect("rpc");
    node.register_rpc("rust_state", "reset", 1, |_| {
        Ok(beamnode::Term::map(vec![(
            beamnode::Term::atom("reset"),
            beamnode::Term::atom("true"),
        )]))
    });
    node.register_rpc("rust_state", "not_a_map", 1, |_| {
        Ok(beamnode::Term::atom("nope"))
    });
    let r = node.name().as_str().to_string();
    for root in [None, Some(newer_otp_root())] {
        // A fresh kv per release: the script's counts start from zero.
        let kv = beamnode::services::kv::start(&node).expect("kv");
        let mut erl = match &root {
            None => Erl::start(&unique("otp_host"), COOKIE, epmd, &debug_script(&r)),
            Some(root) => {
                Erl::start_in_root(root, &unique("otp_new"), COOKIE, epmd, &debug_script(&r))
            }
        };
        let release = erl.expect("RELEASE ", T).await;
        expect_line(&mut erl, &release, "STATS", "{3,2,0}").await;
        expect_line(&mut erl, &release, "LOG", "[in,out,in,noreply,in,out]").await;
        expect_line(&mut erl, &release, "FIRST", "in_call").await;
        expect_line(&mut erl, &release, "OUT", "out_reply").await;
        expect_line(&mut erl, &release, "DBG", "[log,statistics]").await;
        expect_line(&mut erl, &release, "LOGGED", "6").await;
        expect_line(&mut erl, &release, "LOG2", "2").await;
        expect_line(&mut erl, &release, "NOSTATS", "{ok,no_statistics}").await;
        expect_line(&mut erl, &release, "UNKNOWN", "unknown_debug").await;
        expect_line(
            &mut erl,
            &release,
            "INSTALL",
            "{error,beamnode_cannot_run_funs}",
        )
        .await;
        expect_line(&mut erl, &release, "REPLACE", "#{reset => true}").await;
        expect_line(&mut erl, &release, "STATE", "#{reset => true}").await;
        expect_line(
            &mut erl,
            &release,
            "CLOSURE",
            "{callback_failed,{gen_server,system_replace_state},{error,beamnode_cannot_run_funs}}",
        )
        .await;
        expect_line(
            &mut erl,
            &release,
            "NOTMAP",
            "{callback_failed,{gen_server,system_replace_state},{error,{not_a_map,nope}}}",
        )
        .await;
        expect_line(
            &mut erl,
            &release,
            "CHANGE_RUNNING",
            "{error,{unknown_system_msg,{change_code,kv,undefined,[]}}}",
        )
        .await;
        expect_line(&mut erl, &release, "CHANGE_SUSPENDED", "ok").await;
        expect_line(&mut erl, &release, "LOGFILE", "{error,open_file}").await;
        erl.expect("DONE", T).await;
        let me = node.process();
        me.exit_process(&kv, beamnode::Term::atom("kill"));
        assert!(eventually(T, || !node.is_process_alive(&kv)).await);
    }
}

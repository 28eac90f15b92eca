//! BEAM calling beamnode's rpc server (issue 5; docs/protocol.md §9.2–§9.4, §15 traps
//! 3–4), written once and run against two releases: the host's OTP 25 (`root` None,
//! tests/interop/interop_rpc_server.rs) and a newer OTP run through chroot (`root` Some,
//! tests/newer_otp/interop_newer_otp_rpc.rs). Included with `#[path]` by the roots of
//! the test crates of those files (tests/interop/main.rs and tests/newer_otp/main.rs).
//!
//! An `erl -eval` script calls beamnode through every path — `erpc:call`/`multicall`/
//! `send_request` (+ `receive_response`, `wait_response`, `check_response`, request-id
//! collections), `rpc:call`/`block_call`/`async_call`+`yield`/`cast`/`multicall`, raw
//! `erlang:spawn_request` with the options erpc and users pass (`{reply_tag, _}`,
//! `{reply, error_only}`, `{monitor, [{tag, _}]}`, `{monitor, [{alias, _}]}`, `link`,
//! `{async_dist, _}`) — and makes the same calls to a second node of the same release,
//! so the result shapes are compared with what that release itself gives. A second
//! scenario takes the Rust node down mid-call.

use crate::common::*;
use beamnode::services::rpc_server::RpcException;
use beamnode::{Node, Term};
use std::path::Path;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

pub const T: Duration = Duration::from_secs(30);

/// `test_hooks:record/1` (remembers its argument), `throw/1`, `exit/1`, `panic/0`.
pub fn register_hooks(node: &Node) -> Arc<Mutex<Vec<Term>>> {
    let seen = Arc::new(Mutex::new(Vec::new()));
    let s = seen.clone();
    node.register_rpc("test_hooks", "record", 1, move |args| {
        s.lock().unwrap().extend(args);
        Ok(Term::atom("ok"))
    });
    node.register_rpc("test_hooks", "throw", 1, |a| {
        Err(RpcException::throw(
            a.into_iter().next().unwrap_or(Term::Nil),
        ))
    });
    node.register_rpc("test_hooks", "exit", 1, |a| {
        Err(RpcException::exit(
            a.into_iter().next().unwrap_or(Term::Nil),
        ))
    });
    node.register_rpc("test_hooks", "panic", 0, |_| panic!("handler bug"));
    seen
}

/// A beamnode node serving rpc, with `rust_math` registered.
pub async fn rust_rpc_node(epmd: u16) -> Node {
    let node = rust_node("rpcsrv", epmd, COOKIE).await;
    beamnode::services::rpc_server::start(&node).expect("start rpc server");
    beamnode::services::rust_math::register(&node);
    node
}

/// Checks the next lines `TAG value` that `erl` prints, in this order.
async fn expect_lines(erl: &mut Erl, want: &[(&str, &str)]) {
    for (tag, want) in want {
        assert_eq!(erl.expect(&format!("{tag} "), T).await, *want, "{tag}");
    }
}

/// The BEAM node (host `erl` or `root`'s) runs the script; every answer is checked.
pub async fn beam_calls_rust_through_rpc_and_erpc(root: Option<&Path>) {
    let epmd = private_epmd().await;
    let node = rust_rpc_node(epmd).await;
    let seen = register_hooks(&node);
    let r = node.name().as_str().to_string();
    let b_name = unique("peer");
    let mut b = Erl::start_on(
        root,
        &b_name,
        COOKIE,
        epmd,
        "io:format(\"UP ~s~n\", [erlang:system_info(otp_release)]), timer:sleep(120000), halt().",
    );
    let release = b.expect("UP ", T).await;
    assert_release(root, &release);
    let b_node = format!("{b_name}@localhost");
    let a_name = unique("beam");
    let a_node = format!("{a_name}@localhost");
    let eval = format!(
        r#"R = '{r}', B = '{b_node}',
        io:format("OTP ~s~n", [erlang:system_info(otp_release)]),
        io:format("CONNECT ~p ~p~n", [net_kernel:connect_node(R), net_kernel:connect_node(B)]),
        Try = fun(F) -> try F() catch C:E -> {{caught, C, E}} end end,
        Both = fun(Tag, F) -> io:format("~s ~w~n~s_BEAM ~w~n", [Tag, F(R), Tag, F(B)]) end,
        io:format("ADD ~w~n", [rpc:call(R, rust_math, add, [1, 2])]),
        io:format("BIG ~w~n", [rpc:call(R, rust_math, add, [1 bsl 70, 1]) =:= (1 bsl 70) + 1]),
        io:format("FLOAT ~w~n", [erpc:call(R, rust_math, mul, [1.5, 2])]),
        io:format("ERPC ~w~n", [erpc:call(R, rust_math, mul, [6, 7])]),
        io:format("FIB ~w ~w~n", [rpc:call(R, rust_math, fib, [100]), erpc:call(R, rust_math, fib, [100], 5000)]),
        io:format("FUN ~w~n", [erpc:call(R, fun erlang:node/0) =:= R]),
        io:format("CLOSURE ~w ~w~n", [Try(fun() -> erpc:call(R, fun() -> 1 end) end), rpc:call(R, erlang, apply, [fun() -> 1 end, []])]),
        io:format("FAIL ~w~n", [rpc:call(R, rust_math, fail, [boom])]),
        io:format("FAIL_BEAM ~w~n", [rpc:call(B, erlang, error, [boom])]),
        io:format("EFAIL ~w~n", [Try(fun() -> erpc:call(R, rust_math, fail, [boom]) end)]),
        io:format("EFAIL_BEAM ~w~n", [Try(fun() -> erpc:call(B, erlang, error, [boom]) end)]),
        io:format("BADARITH ~w~n", [rpc:call(R, rust_math, add, [a, 1])]),
        Both("UNDEF", fun(N) -> rpc:call(N, nomod, nofun, [1]) end),
        Both("EUNDEF", fun(N) -> Try(fun() -> erpc:call(N, nomod, nofun, [1]) end) end),
        Both("BUNDEF", fun(N) -> rpc:block_call(N, nomod, nofun, [1]) end),
        Both("AUNDEF", fun(N) -> rpc:yield(rpc:async_call(N, nomod, nofun, [1])) end),
        Both("MUNDEF", fun(N) -> erpc:multicall([N], nomod, nofun, [1]) end),
        Both("RMUNDEF", fun(N) -> rpc:multicall([N], nomod, nofun, [1]) end),
        io:format("THROW ~w ~w~n", [rpc:call(R, test_hooks, throw, [x]), rpc:call(B, erlang, throw, [x])]),
        io:format("ETHROW ~w ~w~n", [Try(fun() -> erpc:call(R, test_hooks, throw, [x]) end),
                                     Try(fun() -> erpc:call(B, erlang, throw, [x]) end)]),
        io:format("EXIT ~w ~w~n", [rpc:call(R, test_hooks, exit, [bye]), rpc:call(B, erlang, exit, [bye])]),
        io:format("EEXIT ~w ~w~n", [Try(fun() -> erpc:call(R, test_hooks, exit, [bye]) end),
                                    Try(fun() -> erpc:call(B, erlang, exit, [bye]) end)]),
        io:format("BTHROW ~w ~w~n", [rpc:block_call(R, test_hooks, throw, [x]), rpc:block_call(B, erlang, throw, [x])]),
        io:format("BEXIT ~w ~w~n", [rpc:block_call(R, test_hooks, exit, [bye]), rpc:block_call(B, erlang, exit, [bye])]),
        io:format("PANIC ~w~n", [rpc:call(R, test_hooks, panic, [])]),
        io:format("TIMEOUT ~w~n", [Try(fun() -> erpc:call(R, rust_math, sleep, [3000], 200) end)]),
        io:format("RPCTIMEOUT ~w~n", [rpc:call(R, rust_math, sleep, [3000], 200)]),
        io:format("MULTI ~w~n", [erpc:multicall([R, B, node()], erlang, node, [])]),
        io:format("MULTIMIX ~w~n", [erpc:multicall([R, R], rust_math, fail, [m], 5000)]),
        io:format("MULTITIMEOUT ~w~n", [erpc:multicall([R], rust_math, sleep, [3000], 200)]),
        io:format("RPCMULTI ~w~n", [rpc:multicall([R, B], erlang, node, [])]),
        io:format("RPCMULTIBAD ~w~n", [rpc:multicall([R, 'nobody@localhost'], rust_math, add, [1, 1], 5000)]),
        Q = erpc:send_request(R, rust_math, mul, [3, 3]),
        Q1 = erpc:send_request(R, rust_math, mul, [3, 3]),
        io:format("RECV ~w ~w~n", [erpc:receive_response(Q), erpc:receive_response(Q1, 5000)]),
        Q2 = erpc:send_request(R, rust_math, sleep, [3000]),
        io:format("RECV_TIMEOUT ~w~n", [Try(fun() -> erpc:receive_response(Q2, 100) end)]),
        Q3 = erpc:send_request(R, rust_math, sleep, [300]),
        W1 = erpc:wait_response(Q3, 0),
        io:format("WAIT ~w ~w~n", [W1, erpc:wait_response(Q3, 5000)]),
        Q4 = erpc:send_request(R, rust_math, add, [2, 2]),
        io:format("CHECK ~w~n", [receive {{'DOWN', _, process, _, _}} = Msg -> erpc:check_response(Msg, Q4) after 5000 -> timeout end]),
        C0 = erpc:reqids_new(),
        C1 = erpc:send_request(R, rust_math, add, [1, 1], one, C0),
        C2 = erpc:send_request(R, rust_math, fail, [two], two, C1),
        Coll = fun(C) -> try erpc:receive_response(C, 5000, true) of {{V, L, C9}} -> {{{{L, ok, V}}, C9}}
                         catch error:{{E, L, C9}} -> {{{{L, error, E}}, C9}} end end,
        {{Got1, C3}} = Coll(C2), {{Got2, C4}} = Coll(C3),
        io:format("REQIDS ~w ~w~n", [lists:sort([Got1, Got2]), erpc:receive_response(C4, 0, true)]),
        io:format("BLOCK ~w ~w~n", [rpc:block_call(R, rust_math, add, [3, 4]), rpc:block_call(R, rust_math, fail, [bad], 5000)]),
        Self = self(),
        BlockPair = fun(N, M, F, A) ->
            T0 = erlang:monotonic_time(millisecond),
            [spawn(fun() -> Self ! {{blocked, rpc:block_call(N, M, F, A)}} end) || _ <- [1, 2]],
            Rs = [receive {{blocked, X}} -> X after 10000 -> timeout end || _ <- [1, 2]],
            {{Rs, erlang:monotonic_time(millisecond) - T0 >= 800}}
        end,
        io:format("BLOCKSERIAL ~w ~w~n", [BlockPair(R, rust_math, sleep, [500]), BlockPair(B, timer, sleep, [500])]),
        K = rpc:async_call(R, rust_math, add, [2, 3]),
        io:format("YIELD ~w~n", [rpc:yield(K)]),
        K2 = rpc:async_call(R, rust_math, mul, [2, 3]),
        io:format("NBYIELD ~w~n", [rpc:nb_yield(K2, 5000)]),
        io:format("CAST ~w ~w ~w~n", [rpc:cast(R, test_hooks, record, [rpc_cast]),
                                     erpc:cast(R, test_hooks, record, [erpc_cast]),
                                     erpc:multicast([R], test_hooks, record, [erpc_multicast])]),
        AsyncDist = try erlang:system_info(async_dist) of _ -> [{{async_dist, true}}] catch error:badarg -> [] end,
        io:format("ASYNCDIST ~w~n", [AsyncDist =/= []]),
        Res = make_ref(),
        SQ = erlang:spawn_request(R, erpc, execute_call, [Res, rust_math, add, [2, 2]],
                                  [{{reply_tag, my_tag}}, {{monitor, [{{tag, my_down}}]}}, {{priority, high}}] ++ AsyncDist ++
                                  [{{message_queue_data, off_heap}}, {{fullsweep_after, 10}}]),
        SR1 = receive {{my_tag, SQ, ok, SP}} -> node(SP) =:= R; {{my_tag, SQ, error, SE}} -> SE after 5000 -> timeout end,
        SR2 = receive {{my_down, SQ, process, _, {{Res, return, SV}}}} -> SV; {{my_down, SQ, process, _, SO}} -> SO after 5000 -> timeout end,
        io:format("SPAWNREQ ~w ~w~n", [SR1, SR2]),
        spawn(fun() ->
            process_flag(trap_exit, true),
            Res2 = make_ref(),
            LQ = erlang:spawn_request(R, erpc, execute_call, [Res2, rust_math, mul, [3, 3]],
                                      [link, {{monitor, [{{alias, demonitor}}]}}]),
            LA = receive {{spawn_reply, LQ, ok, LP}} ->
                     receive {{'EXIT', LP, {{Res2, return, LX}}}} -> {{exit, LX}} after 5000 -> no_exit end
                 after 5000 -> no_reply end,
            LD = receive {{'DOWN', LQ, process, _, {{Res2, return, LY}}}} -> {{down, LY}} after 5000 -> no_down end,
            Self ! {{linked, LA, LD}}
        end),
        io:format("SPAWNLINK ~w~n", [receive {{linked, LA, LD}} -> {{LA, LD}} after 10000 -> timeout end]),
        Res3 = make_ref(),
        EQ = erlang:spawn_request(R, erpc, execute_call, [Res3, rust_math, add, [5, 5]], [{{reply, error_only}}, monitor]),
        ED = receive {{'DOWN', EQ, process, _, {{Res3, return, EV}}}} -> EV after 5000 -> timeout end,
        io:format("ERRORONLY ~w ~w~n", [ED, receive {{spawn_reply, EQ, _, _}} -> got_reply after 300 -> no_reply end]),
        BadOpt = fun(N) ->
            BQ = erlang:spawn_request(N, erpc, execute_call, [make_ref(), erlang, node, []], [{{no_such_option, 1}}]),
            receive {{spawn_reply, BQ, Ok, _}} -> Ok after 5000 -> timeout end
        end,
        Both("BADOPT", fun(N) -> Try(fun() -> BadOpt(N) end) end),
        io:format("NODE ~w~n", [rpc:call(R, erlang, node, []) =:= R]),
        io:format("NODES ~w ~w ~w~n", [lists:member(node(), rpc:call(R, erlang, nodes, [])),
                                       lists:member(node(), erpc:call(R, erlang, nodes, [])),
                                       lists:member(R, rpc:call(R, erlang, nodes, [[this, visible]]))]),
        Rex = rpc:call(R, erlang, whereis, [rex]),
        io:format("WHEREIS ~w ~w~n", [node(Rex) =:= R, rpc:call(R, erlang, whereis, [nobody])]),
        io:format("WHEREIS_BAD ~w~n", [rpc:call(R, erlang, whereis, ["x"])]),
        io:format("REGISTERED ~w~n", [lists:member(rex, rpc:call(R, erlang, registered, []))]),
        io:format("PROCESSES ~w~n", [lists:member(Rex, rpc:call(R, erlang, processes, []))]),
        io:format("ALIVE ~w ~w~n", [rpc:call(R, erlang, is_process_alive, [Rex]),
                                    element(1, rpc:call(R, erlang, is_process_alive, [self()]))]),
        io:format("OTP_RELEASE ~s~n", [rpc:call(R, erlang, system_info, [otp_release])]),
        io:format("BADKEY ~w~n", [rpc:call(R, erlang, system_info, [no_such_key])]),
        io:format("PING ~w ~w~n", [rpc:call(R, net_adm, ping, [B]), erpc:call(R, net_adm, ping, ['nobody@localhost'])]),
        {{rex, R}} ! {{self(), features_request}},
        io:format("FEATURES ~w~n", [receive {{features_reply, R, Fs}} -> Fs after 5000 -> timeout end]),
        spawn(fun() -> Self ! {{long, rpc:call(R, rust_math, sleep, [1500])}} end),
        timer:sleep(100),
        {{Us, Three}} = timer:tc(fun() -> rpc:call(R, rust_math, add, [1, 2]) end),
        io:format("CONCURRENT ~w ~w~n", [Three, Us < 1000000]),
        io:format("LONG ~w~n", [receive {{long, L}} -> L after 5000 -> timeout end]),
        io:format("STILLUP ~w~n", [lists:member(R, nodes())]),
        halt()."#
    );
    let mut erl = Erl::start_on(root, &a_name, COOKIE, epmd, &eval);
    let multi = format!("[{{ok,{r}}},{{ok,{b_node}}},{{ok,{a_node}}}]");
    let rpcmulti = format!("{{[{r},{b_node}],[]}}");
    expect_lines(
        &mut erl,
        &[
            ("OTP", &release),
            ("CONNECT", "true true"),
            ("ADD", "3"),
            ("BIG", "true"),
            ("FLOAT", "3.0"),
            ("ERPC", "42"),
            ("FIB", "354224848179261915075 354224848179261915075"),
            ("FUN", "true"),
            // A closure cannot run on beamnode: a clear error instead of BEAM's result.
            (
                "CLOSURE",
                "{caught,error,{exception,beamnode_cannot_run_funs,[{erlang,apply,2,[]}]}} \
                 {badrpc,{'EXIT',{beamnode_cannot_run_funs,[{erlang,apply,2,[]}]}}}",
            ),
            // rust_math:fail/1 raising: BEAM's shape, with the function itself on the stack.
            ("FAIL", "{badrpc,{'EXIT',{boom,[{rust_math,fail,1,[]}]}}}"),
        ],
    )
    .await;
    let fail_beam = erl.expect("FAIL_BEAM ", T).await;
    assert!(
        fail_beam.starts_with("{badrpc,{'EXIT',{boom,[{erlang,error,"),
        "{fail_beam}"
    );
    assert_eq!(
        erl.expect("EFAIL ", T).await,
        "{caught,error,{exception,boom,[{rust_math,fail,1,[]}]}}"
    );
    let efail_beam = erl.expect("EFAIL_BEAM ", T).await;
    assert!(
        efail_beam.starts_with("{caught,error,{exception,boom,[{erlang,error,"),
        "{efail_beam}"
    );
    assert_eq!(
        erl.expect("BADARITH ", T).await,
        "{badrpc,{'EXIT',{badarith,[{rust_math,add,2,[]}]}}}"
    );
    // undef through every path: identical to what a node of the same release answers.
    let same = [
        ("UNDEF", "{badrpc,{'EXIT',{undef,[{nomod,nofun,[1],[]}]}}}"),
        (
            "EUNDEF",
            "{caught,error,{exception,undef,[{nomod,nofun,[1],[]}]}}",
        ),
        ("BUNDEF", "{badrpc,{'EXIT',{undef,[{nomod,nofun,[1],[]}]}}}"),
        ("AUNDEF", "{badrpc,{'EXIT',{undef,[{nomod,nofun,[1],[]}]}}}"),
        (
            "MUNDEF",
            "[{error,{exception,undef,[{nomod,nofun,[1],[]}]}}]",
        ),
        (
            "RMUNDEF",
            "{[{badrpc,{'EXIT',{undef,[{nomod,nofun,[1],[]}]}}}],[]}",
        ),
    ];
    for (tag, want) in same {
        let ours = erl.expect(&format!("{tag} "), T).await;
        let beam = erl.expect(&format!("{tag}_BEAM "), T).await;
        assert_eq!(ours, want, "{tag}");
        assert_eq!(beam, ours, "{tag}: BEAM to BEAM differs");
    }
    expect_lines(
        &mut erl,
        &[
            ("THROW", "x x"),
            ("ETHROW", "{caught,throw,x} {caught,throw,x}"),
            ("EXIT", "{badrpc,{'EXIT',bye}} {badrpc,{'EXIT',bye}}"),
            (
                "EEXIT",
                "{caught,exit,{exception,bye}} {caught,exit,{exception,bye}}",
            ),
            ("BTHROW", "x x"),
            ("BEXIT", "{badrpc,{'EXIT',bye}} {badrpc,{'EXIT',bye}}"),
            // A panic is error({panic, <<"handler bug">>}) (`~w` prints the binary's bytes).
            (
                "PANIC",
                "{badrpc,{'EXIT',{{panic,<<104,97,110,100,108,101,114,32,98,117,103>>},[{test_hooks,panic,0,[]}]}}}",
            ),
            ("TIMEOUT", "{caught,error,{erpc,timeout}}"),
            ("RPCTIMEOUT", "{badrpc,timeout}"),
            ("MULTI", &multi),
            (
                "MULTIMIX",
                "[{error,{exception,m,[{rust_math,fail,1,[]}]}},{error,{exception,m,[{rust_math,fail,1,[]}]}}]",
            ),
            ("MULTITIMEOUT", "[{error,{erpc,timeout}}]"),
            ("RPCMULTI", &rpcmulti),
            ("RPCMULTIBAD", "{[2],[nobody@localhost]}"),
            ("RECV", "9 9"),
            ("RECV_TIMEOUT", "{caught,error,{erpc,timeout}}"),
            ("WAIT", "no_response {response,ok}"),
            ("CHECK", "{response,4}"),
            (
                "REQIDS",
                "[{one,ok,2},{two,error,{exception,two,[{rust_math,fail,1,[]}]}}] no_request",
            ),
            ("BLOCK", "7 {badrpc,{'EXIT',{bad,[{rust_math,fail,1,[]}]}}}"),
            // rpc:block_call runs inside rex: two at once run one after the other, on
            // beamnode as on BEAM.
            ("BLOCKSERIAL", "{[ok,ok],true} {[ok,ok],true}"),
            ("YIELD", "5"),
            ("NBYIELD", "{value,6}"),
            ("CAST", "true ok ok"),
        ],
    )
    .await;
    // `{async_dist, _}` came in OTP 25.3: the newer roots have it; the host's OTP 25
    // may be older (bookworm's is 25.2), and then the script leaves the option out.
    let async_dist = erl.expect("ASYNCDIST ", T).await;
    if root.is_some() {
        assert_eq!(async_dist, "true");
    }
    expect_lines(
        &mut erl,
        &[
            // Raw spawn_request with the options BEAM keeps local (reply_tag, monitor
            // tag, alias monitors, error_only) or sends along (priority, async_dist, …).
            ("SPAWNREQ", "true 4"),
            ("SPAWNLINK", "{{exit,9},{down,9}}"),
            ("ERRORONLY", "10 no_reply"),
            ("BADOPT", "error"),
            // What a node of the same release answers.
            ("BADOPT_BEAM", "error"),
            ("NODE", "true"),
            ("NODES", "true true true"),
            ("WHEREIS", "true undefined"),
        ],
    )
    .await;
    let bad = erl.expect("WHEREIS_BAD ", T).await;
    assert!(
        bad.starts_with("{badrpc,{'EXIT',{badarg,[{erlang,whereis,"),
        "{bad}"
    );
    expect_lines(
        &mut erl,
        &[
            ("REGISTERED", "true"),
            ("PROCESSES", "true"),
            ("ALIVE", "true badrpc"),
            ("OTP_RELEASE", "beamnode"),
        ],
    )
    .await;
    // (A `badrpc` tuple, and more precisely badarg.)
    let badkey = erl.expect("BADKEY ", T).await;
    assert!(badkey.starts_with("{badrpc,{'EXIT',{badarg,"), "{badkey}");
    expect_lines(
        &mut erl,
        &[
            ("PING", "pong pang"),
            ("FEATURES", "[erpc]"),
            // A short call is answered while a long one runs.
            ("CONCURRENT", "3 true"),
            ("LONG", "ok"),
            ("STILLUP", "true"),
        ],
    )
    .await;
    let mut casts: Vec<String> = seen.lock().unwrap().iter().map(|t| t.to_string()).collect();
    casts.sort();
    assert_eq!(casts, ["erpc_cast", "erpc_multicast", "rpc_cast"]);
    erl.wait_exit(T).await;
    b.kill9();
    node.shutdown();
}

/// The Rust node goes away while `rpc:call`, `erpc:call` and `rpc:block_call` wait on it:
/// the called `test_hooks:hold/1` counts its calls, so the node goes down only once all
/// three are running on it.
pub async fn node_going_down_mid_call_gives_nodedown(root: Option<&Path>) {
    let epmd = private_epmd().await;
    let node = rust_rpc_node(epmd).await;
    let running = Arc::new(AtomicUsize::new(0));
    let counter = running.clone();
    node.register_rpc_async("test_hooks", "hold", 1, move |_, args| {
        counter.fetch_add(1, Ordering::SeqCst);
        async move {
            if let [Term::Int(ms)] = args.as_slice() {
                tokio::time::sleep(Duration::from_millis(*ms as u64)).await;
            }
            Ok(Term::atom("ok"))
        }
    });
    let r = node.name().as_str().to_string();
    let eval = format!(
        r#"R = '{r}',
        io:format("CONNECT ~p~n", [net_kernel:connect_node(R)]),
        Self = self(),
        spawn(fun() -> Self ! {{rpc, rpc:call(R, test_hooks, hold, [10000])}} end),
        spawn(fun() -> Self ! {{erpc, try erpc:call(R, test_hooks, hold, [10000]) catch C:E -> {{C, E}} end}} end),
        spawn(fun() -> Self ! {{block, rpc:block_call(R, test_hooks, hold, [10000])}} end),
        timer:sleep(300),
        io:format("WAITING~n"),
        io:format("DOWN_RPC ~w~n", [receive {{rpc, X}} -> X after 10000 -> timeout end]),
        io:format("DOWN_ERPC ~w~n", [receive {{erpc, Y}} -> Y after 10000 -> timeout end]),
        io:format("DOWN_BLOCK ~w~n", [receive {{block, Z}} -> Z after 10000 -> timeout end]),
        halt()."#
    );
    let mut erl = Erl::start_on(root, &unique("beam"), COOKIE, epmd, &eval);
    assert_eq!(erl.expect("CONNECT ", T).await, "true");
    erl.expect("WAITING", T).await;
    until("the three calls running on the Rust node", || {
        let running = running.clone();
        async move { running.load(Ordering::SeqCst) == 3 }
    })
    .await;
    node.shutdown();
    expect_lines(
        &mut erl,
        &[
            ("DOWN_RPC", "{badrpc,nodedown}"),
            ("DOWN_ERPC", "{error,{erpc,noconnection}}"),
            ("DOWN_BLOCK", "{badrpc,nodedown}"),
        ],
    )
    .await;
    erl.wait_exit(T).await;
}

//! rpc and erpc against OTP 27 (issue 5; protocol-notes §9.1–§9.4, §5.4). OTP 27 runs
//! from the Debian trixie root made by `scripts/otp-root.sh` (see
//! `tests/interop_newer_otp.rs`). An OTP 27 `erl -eval` script calls beamnode through
//! every path — `erpc:call`/`multicall`/`send_request` (+ `receive_response`,
//! `wait_response`, `check_response`, request-id collections), `rpc:call`/
//! `block_call`/`async_call`+`yield`/`cast`/`multicall`, raw `erlang:spawn_request`
//! with the options erpc and users pass (`{reply_tag, _}`, `{reply, error_only}`,
//! `{monitor, [{tag, _}]}`, `{monitor, [{alias, _}]}`, `link`, `{async_dist, _}`) —
//! and makes the same calls to a second OTP 27 node, so the result shapes are compared
//! with what OTP 27 itself gives. Then `rpc_client` calls OTP 27 from Rust.

mod common;

use beamnode::services::rpc_client::{self, ExceptionClass, RpcError};
use beamnode::services::rpc_server::RpcException;
use beamnode::{Atom, Node, Term};
use common::*;
use std::sync::{Arc, Mutex};
use std::time::Duration;

const T: Duration = Duration::from_secs(30);

/// `test_hooks:record/1` (remembers its argument), `throw/1`, `exit/1`.
fn register_hooks(node: &Node) -> Arc<Mutex<Vec<Term>>> {
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
    seen
}

async fn rust_rpc_node(epmd: u16) -> Node {
    let node = rust_node("rpc27", epmd, COOKIE).await;
    beamnode::services::rpc_server::start(&node).expect("start rpc server");
    beamnode::services::rust_math::register(&node);
    node
}

/// An OTP 27 node that prints `UP`, then `SINK <msg>` for the first message its
/// registered `sink` gets, and stays up.
fn otp27_peer(root: &std::path::Path, sname: &str, epmd: u16) -> Erl {
    Erl::start_in_root(
        root,
        sname,
        COOKIE,
        epmd,
        "register(sink, self()), io:format(\"UP ~s~n\", [erlang:system_info(otp_release)]), \
         receive M -> io:format(\"SINK ~p~n\", [M]) end, timer:sleep(120000), halt().",
    )
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn otp27_calls_rust_through_rpc_and_erpc() {
    let root = newer_otp_root();
    let epmd = private_epmd().await;
    let node = rust_rpc_node(epmd).await;
    let seen = register_hooks(&node);
    let r = node.name().as_str().to_string();
    let b_name = unique("o27b");
    let mut b = otp27_peer(&root, &b_name, epmd);
    assert_eq!(b.expect("UP ", T).await, otp_release_of(&root));
    let b_node = format!("{b_name}@localhost");
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
        io:format("FIB ~w~n", [erpc:call(R, rust_math, fib, [100], 5000)]),
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
        io:format("TIMEOUT ~w~n", [Try(fun() -> erpc:call(R, rust_math, sleep, [3000], 200) end)]),
        io:format("RPCTIMEOUT ~w~n", [rpc:call(R, rust_math, sleep, [3000], 200)]),
        io:format("MULTI ~w~n", [erpc:multicall([R, B, node()], erlang, node, []) =:= [{{ok, R}}, {{ok, B}}, {{ok, node()}}]]),
        io:format("MULTIMIX ~w~n", [erpc:multicall([R, R], rust_math, fail, [m], 5000)]),
        io:format("MULTITIMEOUT ~w~n", [erpc:multicall([R], rust_math, sleep, [3000], 200)]),
        io:format("RPCMULTI ~w~n", [rpc:multicall([R, B], erlang, node, []) =:= {{[R, B], []}}]),
        io:format("RPCMULTIBAD ~w~n", [rpc:multicall([R, 'nobody@localhost'], rust_math, add, [1, 1], 5000)]),
        Q = erpc:send_request(R, rust_math, mul, [3, 3]),
        io:format("RECV ~w~n", [erpc:receive_response(Q, 5000)]),
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
        Res = make_ref(),
        SQ = erlang:spawn_request(R, erpc, execute_call, [Res, rust_math, add, [2, 2]],
                                  [{{reply_tag, my_tag}}, {{monitor, [{{tag, my_down}}]}}, {{priority, high}},
                                   {{async_dist, true}}, {{message_queue_data, off_heap}}, {{fullsweep_after, 10}}]),
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
        io:format("NODES ~w ~w~n", [lists:member(node(), erpc:call(R, erlang, nodes, [])),
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
        io:format("STILLUP ~w~n", [lists:member(R, nodes())]),
        halt()."#
    );
    let mut erl = Erl::start_in_root(&root, &unique("o27"), COOKIE, epmd, &eval);
    assert_eq!(erl.expect("OTP ", T).await, otp_release_of(&root));
    assert_eq!(erl.expect("CONNECT ", T).await, "true true");
    assert_eq!(erl.expect("ADD ", T).await, "3");
    assert_eq!(erl.expect("BIG ", T).await, "true");
    assert_eq!(erl.expect("FLOAT ", T).await, "3.0");
    assert_eq!(erl.expect("ERPC ", T).await, "42");
    assert_eq!(erl.expect("FIB ", T).await, "354224848179261915075");
    assert_eq!(erl.expect("FUN ", T).await, "true");
    // A closure cannot run on beamnode: a clear error instead of BEAM's result.
    assert_eq!(
        erl.expect("CLOSURE ", T).await,
        "{caught,error,{exception,beamnode_cannot_run_funs,[{erlang,apply,2,[]}]}} \
         {badrpc,{'EXIT',{beamnode_cannot_run_funs,[{erlang,apply,2,[]}]}}}"
    );
    // rust_math:fail/1 raising: BEAM's shape, with the function itself on the stack.
    assert_eq!(
        erl.expect("FAIL ", T).await,
        "{badrpc,{'EXIT',{boom,[{rust_math,fail,1,[]}]}}}"
    );
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
    // undef through every path: identical to what an OTP 27 node answers.
    let same = [
        (
            "UNDEF",
            "{badrpc,{'EXIT',{undef,[{nomod,nofun,[1],[]}]}}}".to_string(),
        ),
        (
            "EUNDEF",
            "{caught,error,{exception,undef,[{nomod,nofun,[1],[]}]}}".to_string(),
        ),
        (
            "BUNDEF",
            "{badrpc,{'EXIT',{undef,[{nomod,nofun,[1],[]}]}}}".to_string(),
        ),
        (
            "AUNDEF",
            "{badrpc,{'EXIT',{undef,[{nomod,nofun,[1],[]}]}}}".to_string(),
        ),
        (
            "MUNDEF",
            "[{error,{exception,undef,[{nomod,nofun,[1],[]}]}}]".to_string(),
        ),
        (
            "RMUNDEF",
            "{[{badrpc,{'EXIT',{undef,[{nomod,nofun,[1],[]}]}}}],[]}".to_string(),
        ),
    ];
    for (tag, want) in same {
        let ours = erl.expect(&format!("{tag} "), T).await;
        let beam = erl.expect(&format!("{tag}_BEAM "), T).await;
        assert_eq!(ours, want, "{tag}");
        assert_eq!(beam, ours, "{tag}: OTP 27 to OTP 27 differs");
    }
    assert_eq!(erl.expect("THROW ", T).await, "x x");
    assert_eq!(
        erl.expect("ETHROW ", T).await,
        "{caught,throw,x} {caught,throw,x}"
    );
    assert_eq!(
        erl.expect("EXIT ", T).await,
        "{badrpc,{'EXIT',bye}} {badrpc,{'EXIT',bye}}"
    );
    assert_eq!(
        erl.expect("EEXIT ", T).await,
        "{caught,exit,{exception,bye}} {caught,exit,{exception,bye}}"
    );
    assert_eq!(erl.expect("BTHROW ", T).await, "x x");
    assert_eq!(
        erl.expect("BEXIT ", T).await,
        "{badrpc,{'EXIT',bye}} {badrpc,{'EXIT',bye}}"
    );
    assert_eq!(
        erl.expect("TIMEOUT ", T).await,
        "{caught,error,{erpc,timeout}}"
    );
    assert_eq!(erl.expect("RPCTIMEOUT ", T).await, "{badrpc,timeout}");
    assert_eq!(erl.expect("MULTI ", T).await, "true");
    assert_eq!(
        erl.expect("MULTIMIX ", T).await,
        "[{error,{exception,m,[{rust_math,fail,1,[]}]}},{error,{exception,m,[{rust_math,fail,1,[]}]}}]"
    );
    assert_eq!(
        erl.expect("MULTITIMEOUT ", T).await,
        "[{error,{erpc,timeout}}]"
    );
    assert_eq!(erl.expect("RPCMULTI ", T).await, "true");
    assert_eq!(
        erl.expect("RPCMULTIBAD ", T).await,
        "{[2],[nobody@localhost]}"
    );
    assert_eq!(erl.expect("RECV ", T).await, "9");
    assert_eq!(
        erl.expect("RECV_TIMEOUT ", T).await,
        "{caught,error,{erpc,timeout}}"
    );
    assert_eq!(erl.expect("WAIT ", T).await, "no_response {response,ok}");
    assert_eq!(erl.expect("CHECK ", T).await, "{response,4}");
    assert_eq!(
        erl.expect("REQIDS ", T).await,
        "[{one,ok,2},{two,error,{exception,two,[{rust_math,fail,1,[]}]}}] no_request"
    );
    assert_eq!(
        erl.expect("BLOCK ", T).await,
        "7 {badrpc,{'EXIT',{bad,[{rust_math,fail,1,[]}]}}}"
    );
    // rpc:block_call runs inside rex: two at once run one after the other, on
    // beamnode as on OTP 27.
    assert_eq!(
        erl.expect("BLOCKSERIAL ", T).await,
        "{[ok,ok],true} {[ok,ok],true}"
    );
    assert_eq!(erl.expect("YIELD ", T).await, "5");
    assert_eq!(erl.expect("NBYIELD ", T).await, "{value,6}");
    assert_eq!(erl.expect("CAST ", T).await, "true ok ok");
    // Raw spawn_request with the options OTP 27 keeps local (reply_tag, monitor tag,
    // alias monitors, error_only) or sends along (priority, async_dist, …).
    assert_eq!(erl.expect("SPAWNREQ ", T).await, "true 4");
    assert_eq!(erl.expect("SPAWNLINK ", T).await, "{{exit,9},{down,9}}");
    assert_eq!(erl.expect("ERRORONLY ", T).await, "10 no_reply");
    let badopt = erl.expect("BADOPT ", T).await;
    assert_eq!(badopt, "error");
    assert_eq!(erl.expect("BADOPT_BEAM ", T).await, badopt);
    assert_eq!(erl.expect("NODE ", T).await, "true");
    assert_eq!(erl.expect("NODES ", T).await, "true true");
    assert_eq!(erl.expect("WHEREIS ", T).await, "true undefined");
    let bad = erl.expect("WHEREIS_BAD ", T).await;
    assert!(
        bad.starts_with("{badrpc,{'EXIT',{badarg,[{erlang,whereis,"),
        "{bad}"
    );
    assert_eq!(erl.expect("REGISTERED ", T).await, "true");
    assert_eq!(erl.expect("PROCESSES ", T).await, "true");
    assert_eq!(erl.expect("ALIVE ", T).await, "true badrpc");
    assert_eq!(erl.expect("OTP_RELEASE ", T).await, "beamnode");
    assert!(erl
        .expect("BADKEY ", T)
        .await
        .starts_with("{badrpc,{'EXIT',{badarg,"));
    assert_eq!(erl.expect("PING ", T).await, "pong pang");
    assert_eq!(erl.expect("FEATURES ", T).await, "[erpc]");
    assert_eq!(erl.expect("STILLUP ", T).await, "true");
    let mut casts: Vec<String> = seen.lock().unwrap().iter().map(|t| t.to_string()).collect();
    casts.sort();
    assert_eq!(casts, ["erpc_cast", "erpc_multicast", "rpc_cast"]);
    erl.wait_exit(T).await;
    b.kill9();
    node.shutdown();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn otp27_sees_nodedown_when_rust_goes_away_mid_call() {
    let root = newer_otp_root();
    let epmd = private_epmd().await;
    let node = rust_rpc_node(epmd).await;
    let r = node.name().as_str().to_string();
    let eval = format!(
        r#"R = '{r}',
        io:format("CONNECT ~p~n", [net_kernel:connect_node(R)]),
        Self = self(),
        spawn(fun() -> Self ! {{rpc, rpc:call(R, rust_math, sleep, [10000])}} end),
        spawn(fun() -> Self ! {{erpc, try erpc:call(R, rust_math, sleep, [10000]) catch C:E -> {{C, E}} end}} end),
        spawn(fun() -> Self ! {{block, rpc:block_call(R, rust_math, sleep, [10000])}} end),
        timer:sleep(300),
        io:format("WAITING~n"),
        io:format("DOWN_RPC ~w~n", [receive {{rpc, X}} -> X after 10000 -> timeout end]),
        io:format("DOWN_ERPC ~w~n", [receive {{erpc, Y}} -> Y after 10000 -> timeout end]),
        io:format("DOWN_BLOCK ~w~n", [receive {{block, Z}} -> Z after 10000 -> timeout end]),
        halt()."#
    );
    let mut erl = Erl::start_in_root(&root, &unique("o27"), COOKIE, epmd, &eval);
    assert_eq!(erl.expect("CONNECT ", T).await, "true");
    erl.expect("WAITING", T).await;
    node.shutdown();
    assert_eq!(erl.expect("DOWN_RPC ", T).await, "{badrpc,nodedown}");
    assert_eq!(
        erl.expect("DOWN_ERPC ", T).await,
        "{error,{erpc,noconnection}}"
    );
    assert_eq!(erl.expect("DOWN_BLOCK ", T).await, "{badrpc,nodedown}");
    erl.wait_exit(T).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn rust_calls_otp27_with_rpc_client() {
    let root = newer_otp_root();
    let epmd = private_epmd().await;
    let node = rust_node("rpc27c", epmd, COOKIE).await;
    let a_name = unique("o27a");
    let b_name = unique("o27b");
    let mut a = otp27_peer(&root, &a_name, epmd);
    let mut b = otp27_peer(&root, &b_name, epmd);
    assert_eq!(a.expect("UP ", T).await, otp_release_of(&root));
    assert_eq!(b.expect("UP ", T).await, otp_release_of(&root));
    let a_node = Atom::new(&format!("{a_name}@localhost"));
    let b_node = Atom::new(&format!("{b_name}@localhost"));

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
    assert_eq!(v.to_string(), format!("{:?}", otp_release_of(&root)));
    let arg = beamnode::term::parse::parse_term(r#"[1, 2, <<"x">>, #{a => 1}]"#).unwrap();
    let v = rpc_client::call(&node, &a_node, "lists", "reverse", vec![arg], T)
        .await
        .unwrap();
    assert_eq!(v.to_string(), r#"[#{a => 1},<<"x">>,2,1]"#);

    // Exceptions of each class, with OTP 27's shapes.
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
    assert_eq!(e.to_rpc_result(), Term::Int(7));
    let e = rpc_client::call(&node, &a_node, "nomod", "nofun", vec![Term::Int(1)], T)
        .await
        .unwrap_err();
    assert_eq!(
        e.to_rpc_result().to_string(),
        "{badrpc,{'EXIT',{undef,[{nomod,nofun,[1],[]}]}}}"
    );
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

    // Multicall: two OTP 27 nodes and an unreachable one, in the order given.
    let nobody = Atom::new("nobody@localhost");
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

    // Cast: the effect happens on the target.
    rpc_client::cast(
        &node,
        &b_node,
        "erlang",
        "send",
        vec![Term::atom("sink"), Term::atom("cast_27")],
    )
    .await
    .unwrap();
    assert_eq!(b.expect("SINK ", T).await, "cast_27");

    // The node dies mid-call.
    let n2 = node.clone();
    let an = a_node.clone();
    let pending = tokio::spawn(async move {
        rpc_client::call(&n2, &an, "timer", "sleep", vec![Term::Int(15000)], T).await
    });
    tokio::time::sleep(Duration::from_millis(500)).await;
    a.kill9();
    let e = tokio::time::timeout(T, pending).await.unwrap().unwrap();
    assert_eq!(e, Err(RpcError::NodeDown(a_node.clone())));
    b.kill9();
    node.shutdown();
}

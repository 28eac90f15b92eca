//! Serving rpc and erpc against real OTP 25 (issue 5, protocol-notes §9.2, §9.4,
//! §15 traps 3–4). An `erl -eval` script calls the Rust node through every OTP path —
//! `rpc:call`/`cast`/`multicall`/`async_call`+`yield`/`block_call`, `erpc:call`/`cast`/
//! `multicall`/`send_request`+`receive_response` — and makes the same failing calls to
//! a second BEAM node, so the error shapes are compared with what OTP itself gives.
//! A second test takes the Rust node down mid-call.

mod common;

use beamnode::services::rpc_server::{Outcome, RpcClass, RpcException};
use beamnode::{Atom, Node, Term};
use common::*;
use std::sync::{Arc, Mutex};
use std::time::Duration;

const T: Duration = Duration::from_secs(20);

/// `test_hooks:record/1` (remembers its argument), `throw/1`, `exit/1`, `panic/0`.
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
    node.register_rpc("test_hooks", "panic", 0, |_| panic!("handler bug"));
    seen
}

async fn rust_rpc_node(epmd: u16) -> Node {
    let node = rust_node("rpcsrv", epmd, COOKIE).await;
    beamnode::services::rpc_server::start(&node).expect("start rpc server");
    beamnode::services::rust_math::register(&node);
    node
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn beam_calls_rust_through_rpc_and_erpc() {
    let epmd = private_epmd().await;
    let node = rust_rpc_node(epmd).await;
    let seen = register_hooks(&node);
    let r = node.name().as_str().to_string();
    let mut b = Erl::idle("peer", epmd, &[]).await;
    let b_name = b.name.clone();
    let eval = format!(
        r#"R = '{r}', B = '{b_name}',
        io:format("CONNECT ~p ~p~n", [net_kernel:connect_node(R), net_kernel:connect_node(B)]),
        Try = fun(F) -> try F() catch C:E -> {{caught, C, E}} end end,
        io:format("ADD ~w~n", [rpc:call(R, rust_math, add, [1, 2])]),
        io:format("ERPC ~w~n", [erpc:call(R, rust_math, mul, [6, 7])]),
        io:format("FIB ~w~n", [rpc:call(R, rust_math, fib, [100])]),
        io:format("FAIL ~w~n", [rpc:call(R, rust_math, fail, [boom])]),
        io:format("FAIL_BEAM ~w~n", [rpc:call(B, erlang, error, [boom])]),
        io:format("EFAIL ~w~n", [Try(fun() -> erpc:call(R, rust_math, fail, [boom]) end)]),
        io:format("EFAIL_BEAM ~w~n", [Try(fun() -> erpc:call(B, erlang, error, [boom]) end)]),
        io:format("UNDEF ~w~n", [rpc:call(R, nomod, nofun, [1])]),
        io:format("UNDEF_BEAM ~w~n", [rpc:call(B, nomod, nofun, [1])]),
        io:format("EUNDEF ~w~n", [Try(fun() -> erpc:call(R, nomod, nofun, [1]) end)]),
        io:format("EUNDEF_BEAM ~w~n", [Try(fun() -> erpc:call(B, nomod, nofun, [1]) end)]),
        io:format("THROW ~w ~w~n", [rpc:call(R, test_hooks, throw, [x]), rpc:call(B, erlang, throw, [x])]),
        io:format("ETHROW ~w ~w~n", [Try(fun() -> erpc:call(R, test_hooks, throw, [x]) end),
                                     Try(fun() -> erpc:call(B, erlang, throw, [x]) end)]),
        io:format("EXIT ~w ~w~n", [rpc:call(R, test_hooks, exit, [bye]), rpc:call(B, erlang, exit, [bye])]),
        io:format("EEXIT ~w ~w~n", [Try(fun() -> erpc:call(R, test_hooks, exit, [bye]) end),
                                    Try(fun() -> erpc:call(B, erlang, exit, [bye]) end)]),
        io:format("PANIC ~w~n", [rpc:call(R, test_hooks, panic, [])]),
        io:format("TIMEOUT ~w~n", [Try(fun() -> erpc:call(R, rust_math, sleep, [3000], 200) end)]),
        io:format("RPCTIMEOUT ~w~n", [rpc:call(R, rust_math, sleep, [3000], 200)]),
        io:format("MULTI ~w~n", [erpc:multicall([R, B], erlang, node, [])]),
        io:format("RPCMULTI ~w~n", [rpc:multicall([R, B], erlang, node, [])]),
        io:format("CAST ~w ~w~n", [rpc:cast(R, test_hooks, record, [rpc_cast]), erpc:cast(R, test_hooks, record, [erpc_cast])]),
        K = rpc:async_call(R, rust_math, add, [2, 3]),
        io:format("YIELD ~w~n", [rpc:yield(K)]),
        io:format("BLOCK ~w ~w~n", [rpc:block_call(R, rust_math, add, [3, 4]), rpc:block_call(R, rust_math, fail, [bad], 5000)]),
        Q = erpc:send_request(R, rust_math, mul, [3, 3]),
        io:format("RECV ~w~n", [erpc:receive_response(Q)]),
        Q2 = erpc:send_request(R, rust_math, sleep, [3000]),
        io:format("RECV_TIMEOUT ~w~n", [Try(fun() -> erpc:receive_response(Q2, 100) end)]),
        io:format("NODE ~w~n", [rpc:call(R, erlang, node, []) =:= R]),
        io:format("NODES ~w ~w~n", [lists:member(node(), rpc:call(R, erlang, nodes, [])),
                                    lists:member(R, rpc:call(R, erlang, nodes, [[this, visible]]))]),
        Rex = rpc:call(R, erlang, whereis, [rex]),
        io:format("WHEREIS ~w ~w~n", [node(Rex) =:= R, rpc:call(R, erlang, whereis, [nobody])]),
        io:format("REGISTERED ~w~n", [lists:member(rex, rpc:call(R, erlang, registered, []))]),
        io:format("PROCESSES ~w~n", [lists:member(Rex, rpc:call(R, erlang, processes, []))]),
        io:format("ALIVE ~w~n", [rpc:call(R, erlang, is_process_alive, [Rex])]),
        io:format("OTP_RELEASE ~s~n", [rpc:call(R, erlang, system_info, [otp_release])]),
        io:format("BADKEY ~w~n", [element(1, rpc:call(R, erlang, system_info, [no_such_key]))]),
        io:format("PING ~w~n", [rpc:call(R, net_adm, ping, [B])]),
        {{rex, R}} ! {{self(), features_request}},
        io:format("FEATURES ~w~n", [receive {{features_reply, R, Fs}} -> Fs after 5000 -> timeout end]),
        Self = self(),
        spawn(fun() -> Self ! {{long, rpc:call(R, rust_math, sleep, [1500])}} end),
        timer:sleep(100),
        {{Us, Three}} = timer:tc(fun() -> rpc:call(R, rust_math, add, [1, 2]) end),
        io:format("CONCURRENT ~w ~w~n", [Three, Us < 1000000]),
        io:format("LONG ~w~n", [receive {{long, L}} -> L after 5000 -> timeout end]),
        io:format("STILLUP ~w~n", [lists:member(R, nodes())]),
        halt()."#
    );
    let mut erl = Erl::start(&unique("beam"), COOKIE, epmd, &eval);
    assert_eq!(erl.expect("CONNECT ", T).await, "true true");
    assert_eq!(erl.expect("ADD ", T).await, "3");
    assert_eq!(erl.expect("ERPC ", T).await, "42");
    assert_eq!(erl.expect("FIB ", T).await, "354224848179261915075");
    // A raising function: same shape as BEAM's, with the function itself on the stack.
    let fail = erl.expect("FAIL ", T).await;
    let fail_beam = erl.expect("FAIL_BEAM ", T).await;
    assert_eq!(fail, "{badrpc,{'EXIT',{boom,[{rust_math,fail,1,[]}]}}}");
    assert!(
        fail_beam.starts_with("{badrpc,{'EXIT',{boom,[{erlang,error,"),
        "{fail_beam}"
    );
    let efail = erl.expect("EFAIL ", T).await;
    let efail_beam = erl.expect("EFAIL_BEAM ", T).await;
    assert_eq!(
        efail,
        "{caught,error,{exception,boom,[{rust_math,fail,1,[]}]}}"
    );
    assert!(
        efail_beam.starts_with("{caught,error,{exception,boom,[{erlang,error,"),
        "{efail_beam}"
    );
    // undef: identical to BEAM's.
    let undef = erl.expect("UNDEF ", T).await;
    assert_eq!(undef, "{badrpc,{'EXIT',{undef,[{nomod,nofun,[1],[]}]}}}");
    assert_eq!(erl.expect("UNDEF_BEAM ", T).await, undef);
    let eundef = erl.expect("EUNDEF ", T).await;
    assert_eq!(
        eundef,
        "{caught,error,{exception,undef,[{nomod,nofun,[1],[]}]}}"
    );
    assert_eq!(erl.expect("EUNDEF_BEAM ", T).await, eundef);
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
    // A panic is error({panic, <<"handler bug">>}) (`~w` prints the binary's bytes).
    assert_eq!(
        erl.expect("PANIC ", T).await,
        "{badrpc,{'EXIT',{{panic,<<104,97,110,100,108,101,114,32,98,117,103>>},[{test_hooks,panic,0,[]}]}}}"
    );
    assert_eq!(
        erl.expect("TIMEOUT ", T).await,
        "{caught,error,{erpc,timeout}}"
    );
    assert_eq!(erl.expect("RPCTIMEOUT ", T).await, "{badrpc,timeout}");
    assert_eq!(
        erl.expect("MULTI ", T).await,
        format!("[{{ok,{r}}},{{ok,{b_name}}}]")
    );
    assert_eq!(
        erl.expect("RPCMULTI ", T).await,
        format!("{{[{r},{b_name}],[]}}")
    );
    assert_eq!(erl.expect("CAST ", T).await, "true ok");
    assert_eq!(erl.expect("YIELD ", T).await, "5");
    assert_eq!(
        erl.expect("BLOCK ", T).await,
        "7 {badrpc,{'EXIT',{bad,[{rust_math,fail,1,[]}]}}}"
    );
    assert_eq!(erl.expect("RECV ", T).await, "9");
    assert_eq!(
        erl.expect("RECV_TIMEOUT ", T).await,
        "{caught,error,{erpc,timeout}}"
    );
    assert_eq!(erl.expect("NODE ", T).await, "true");
    assert_eq!(erl.expect("NODES ", T).await, "true true");
    assert_eq!(erl.expect("WHEREIS ", T).await, "true undefined");
    assert_eq!(erl.expect("REGISTERED ", T).await, "true");
    assert_eq!(erl.expect("PROCESSES ", T).await, "true");
    assert_eq!(erl.expect("ALIVE ", T).await, "true");
    assert_eq!(erl.expect("OTP_RELEASE ", T).await, "beamnode");
    assert_eq!(erl.expect("BADKEY ", T).await, "badrpc");
    assert_eq!(erl.expect("PING ", T).await, "pong");
    assert_eq!(erl.expect("FEATURES ", T).await, "[erpc]");
    assert_eq!(erl.expect("CONCURRENT ", T).await, "3 true");
    assert_eq!(erl.expect("LONG ", T).await, "ok");
    assert_eq!(erl.expect("STILLUP ", T).await, "true");
    let mut casts: Vec<String> = seen.lock().unwrap().iter().map(|t| t.to_string()).collect();
    casts.sort();
    assert_eq!(casts, ["erpc_cast", "rpc_cast"]);
    erl.wait_exit(T).await;
    b.kill9();
    node.shutdown();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn node_going_down_mid_call_gives_nodedown() {
    let epmd = private_epmd().await;
    let node = rust_rpc_node(epmd).await;
    let r = node.name().as_str().to_string();
    let eval = format!(
        r#"R = '{r}',
        io:format("CONNECT ~p~n", [net_kernel:connect_node(R)]),
        Self = self(),
        spawn(fun() -> Self ! {{rpc, rpc:call(R, rust_math, sleep, [10000])}} end),
        spawn(fun() -> Self ! {{erpc, try erpc:call(R, rust_math, sleep, [10000]) catch C:E -> {{C, E}} end}} end),
        timer:sleep(300),
        io:format("WAITING~n"),
        io:format("DOWN_RPC ~w~n", [receive {{rpc, X}} -> X after 10000 -> timeout end]),
        io:format("DOWN_ERPC ~w~n", [receive {{erpc, Y}} -> Y after 10000 -> timeout end]),
        halt()."#
    );
    let mut erl = Erl::start(&unique("beam"), COOKIE, epmd, &eval);
    assert_eq!(erl.expect("CONNECT ", T).await, "true");
    erl.expect("WAITING", T).await;
    node.shutdown();
    assert_eq!(erl.expect("DOWN_RPC ", T).await, "{badrpc,nodedown}");
    assert_eq!(
        erl.expect("DOWN_ERPC ", T).await,
        "{error,{erpc,noconnection}}"
    );
    erl.wait_exit(T).await;
}

/// The same registry from the Rust side: `Node::apply_rpc` runs a callable as the
/// served rpc does.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn rust_side_apply_rpc() {
    let epmd = private_epmd().await;
    let node = rust_rpc_node(epmd).await;
    let (m, add) = (Atom::new("rust_math"), Atom::new("add"));
    assert_eq!(
        node.apply_rpc(&m, &add, vec![Term::Int(2), Term::Int(40)])
            .await,
        Outcome::Return(Term::Int(42))
    );
    match node
        .apply_rpc(&m, &add, vec![Term::atom("x"), Term::Int(1)])
        .await
    {
        Outcome::Raised { class, reason, .. } => {
            assert_eq!(class, RpcClass::Error);
            assert_eq!(reason, Term::atom("badarith"));
        }
        other => panic!("expected badarith, got {other:?}"),
    }
    assert!(node
        .registered_rpc()
        .contains(&(m.clone(), Atom::new("fib"), 1)));
    assert!(node.unregister_rpc("rust_math", "fib", 1));
    node.shutdown();
}

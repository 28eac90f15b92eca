//! BIFs a BEAM user calls on a node through rpc and erpc — `erlang:apply/2,3`,
//! `error/1,2`, `exit/1`, `throw/1`, `memory([])`, `is_alive/0`, `node/1`,
//! `disconnect_node/1`, `net_kernel:connect_node/1`, `os:type/0`, `os:getpid/0` and the
//! time BIFs — each asked of beamnode and of the
//! calling BEAM node itself, and the answers compared (the same term, or for clocks
//! the same shape and a value within a few seconds).

use crate::common::*;
use beamnode::Term;
use std::time::Duration;

const T: Duration = Duration::from_secs(30);

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bifs_over_rpc_answer_as_the_calling_beam_node() {
    let epmd = private_epmd().await;
    let node = rust_node("rust", epmd, COOKIE).await;
    beamnode::services::rpc_server::start(&node).expect("rpc serving");
    // The function `apply` calls in the comparisons, here as in OTP's `lists`.
    node.register_rpc("lists", "reverse", 1, |args| match args.first() {
        Some(Term::List(items)) => Ok(Term::list(items.iter().rev().cloned().collect())),
        Some(Term::Nil) => Ok(Term::Nil),
        _ => Err(beamnode::node::RpcException::error(Term::atom(
            "function_clause",
        ))),
    });
    let r = node.name().as_str().to_string();
    let eval = format!(
        r#"R = '{r}', true = net_kernel:connect_node(R),
        P = fun(K, V) -> io:format("~s ~0p~n", [K, V]) end,
        Here = node(),
        %% The same call on this node and on beamnode: true, or both answers.
        Same = fun(M, F, A) -> L = rpc:call(Here, M, F, A), B = rpc:call(R, M, F, A),
                              L =:= B orelse {{M, F, A, L, B}} end,
        Erpc = fun(N, M, F, A) -> try erpc:call(N, M, F, A) catch C:E -> {{C, E}} end end,
        SameE = fun(M, F, A) -> L = Erpc(Here, M, F, A), B = Erpc(R, M, F, A),
                               L =:= B orelse {{M, F, A, L, B}} end,
        Calls = [{{erlang, error, [boom]}}, {{erlang, error, [boom, [1, 2]]}},
                 {{erlang, exit, [boom]}}, {{erlang, throw, [boom]}},
                 {{erlang, apply, [lists, reverse, [[1, 2]]]}},
                 {{erlang, apply, [nomod, nofun, [1]]}},
                 {{erlang, apply, [fun lists:reverse/1, [[1, 2]]]}},
                 {{erlang, apply, [fun lists:reverse/1, [[1, 2], 3]]}},
                 {{erlang, apply, [lists, reverse, notalist]}},
                 {{erlang, apply, [1, reverse, []]}},
                 {{erlang, apply, [{{lists, reverse}}, [[1]]]}},
                 {{erlang, memory, [[]]}}, {{erlang, is_alive, []}},
                 {{erlang, disconnect_node, ['nobody@nowhere']}},
                 {{net_kernel, disconnect, ['nobody@nowhere']}},
                 {{os, type, []}},
                 {{erlang, node, [self()]}}, {{erlang, node, [make_ref()]}},
                 {{erlang, node, [foo]}},
                 {{net_kernel, connect_node, ['nobody@localhost']}},
                 {{erlang, convert_time_unit, [3, second, millisecond]}},
                 {{erlang, convert_time_unit, [-1, native, microsecond]}},
                 {{erlang, convert_time_unit, [1, second, native]}},
                 {{erlang, convert_time_unit, [1, fortnight, second]}},
                 {{erlang, monotonic_time, [fortnight]}}],
        P("RPC", [X || {{M, F, A}} <- Calls, X <- [Same(M, F, A)], X =/= true]),
        P("ERPC", [X || {{M, F, A}} <- Calls, X <- [SameE(M, F, A)], X =/= true]),
        P("PID", is_list(rpc:call(R, os, getpid, [])) andalso
                 rpc:call(R, os, getpid, []) =/= os:getpid()),
        Near = fun(A, B, Tol) -> abs(A - B) =< Tol end,
        P("SYSTIME", [U || U <- [second, millisecond, microsecond, nanosecond, native],
                      not Near(rpc:call(R, erlang, system_time, [U]),
                               erlang:system_time(U), 5 * erlang:convert_time_unit(1, second, U))]),
        P("OSTIME", Near(rpc:call(R, os, system_time, [millisecond]), os:system_time(millisecond), 5000)),
        P("NATIVE", Near(rpc:call(R, erlang, system_time, []), erlang:system_time(), 5000000000)),
        Stamp = fun({{Me, S, Mi}}) -> (Me * 1000000 + S) * 1000000 + Mi end,
        P("STAMPS", [Near(Stamp(rpc:call(R, M, timestamp, [])), Stamp(M:timestamp()), 5000000)
                     || M <- [erlang, os]]),
        M1 = rpc:call(R, erlang, monotonic_time, []), M2 = rpc:call(R, erlang, monotonic_time, []),
        P("MONO", is_integer(M1) andalso M2 >= M1),
        Off = rpc:call(R, erlang, time_offset, []),
        P("OFFSET", Near(rpc:call(R, erlang, monotonic_time, []) + Off, erlang:system_time(), 5000000000)),
        P("OFFSETMS", Near(rpc:call(R, erlang, time_offset, [millisecond]),
                           erlang:convert_time_unit(Off, native, millisecond), 1)),
        Secs = fun(DT) -> calendar:datetime_to_gregorian_seconds(DT) end,
        P("UTC", Near(Secs(rpc:call(R, erlang, universaltime, [])), Secs(erlang:universaltime()), 5)),
        P("LOCAL", Near(Secs(rpc:call(R, erlang, localtime, [])), Secs(erlang:localtime()), 5)),
        %% Read between two local readings, so a midnight in between cannot fail it.
        D1 = erlang:date(), RD = rpc:call(R, erlang, date, []), D2 = erlang:date(),
        P("DATE", RD =:= D1 orelse RD =:= D2),
        Tod = fun(T) -> calendar:time_to_seconds(T) end,
        Gap = (Tod(rpc:call(R, erlang, time, [])) - Tod(erlang:time()) + 86400) rem 86400,
        P("TIME", Gap =< 5 orelse Gap >= 86400 - 5),
        halt()."#
    );
    let mut erl = Erl::start(&unique("beam"), COOKIE, epmd, &eval);
    assert_eq!(erl.expect("RPC ", T).await, "[]");
    assert_eq!(erl.expect("ERPC ", T).await, "[]");
    assert_eq!(erl.expect("PID ", T).await, "true");
    assert_eq!(erl.expect("SYSTIME ", T).await, "[]");
    assert_eq!(erl.expect("OSTIME ", T).await, "true");
    assert_eq!(erl.expect("NATIVE ", T).await, "true");
    assert_eq!(erl.expect("STAMPS ", T).await, "[true,true]");
    assert_eq!(erl.expect("MONO ", T).await, "true");
    assert_eq!(erl.expect("OFFSET ", T).await, "true");
    assert_eq!(erl.expect("OFFSETMS ", T).await, "true");
    assert_eq!(erl.expect("UTC ", T).await, "true");
    assert_eq!(erl.expect("LOCAL ", T).await, "true");
    assert_eq!(erl.expect("DATE ", T).await, "true");
    assert_eq!(erl.expect("TIME ", T).await, "true");
}

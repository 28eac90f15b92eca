//! The kernel API a BEAM user calls on a remote node, served by beamnode from its own
//! state: `pg` (get_members, get_local_members, which_groups, join, leave, with and
//! without a scope, and with a scope that does not run or arguments `pg` refuses,
//! compared with the calling node's own `pg`) and `global` (registered_names, whereis_name, register_name on
//! behalf of a pid, unregister_name, send, sync), from a real OTP node over rpc.

use crate::common::*;
use beamnode::Term;
use std::time::Duration;

const T: Duration = Duration::from_secs(30);

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn pg_and_global_answer_rpc_from_beam() {
    let epmd = private_epmd().await;
    let node = rust_node("rust", epmd, COOKIE).await;
    beamnode::services::rpc_server::start(&node).expect("rpc serving");
    let scope = beamnode::services::pg::start(&node, "pg").expect("pg");
    let global = beamnode::services::global::start(&node).expect("global");
    let worker = node.process();
    scope
        .join(Term::atom("workers"), &[worker.pid().clone()])
        .await
        .expect("join");
    assert!(
        global
            .register_name(Term::atom("rust_worker"), worker.pid())
            .await
    );
    let r = node.name().as_str().to_string();
    let eval = format!(
        r#"R = '{r}', true = net_kernel:connect_node(R), ok = global:sync(),
        P = fun(K, V) -> io:format("~s ~0p~n", [K, V]) end,
        Ours = fun(L) -> [node(X) =:= R || X <- L] end,
        P("MEMBERS", Ours(rpc:call(R, pg, get_members, [workers]))),
        P("MEMBERS2", Ours(rpc:call(R, pg, get_members, [pg, workers]))),
        P("LOCAL", Ours(rpc:call(R, pg, get_local_members, [workers]))),
        P("GROUPS", rpc:call(R, pg, which_groups, [])),
        P("NOSCOPE", rpc:call(R, pg, get_members, [no_such_scope, workers])),
        Norm = fun({{badrpc, {{'EXIT', {{Why, St}}}}}}) when is_list(St) -> {{err, Why}};
                  ({{badrpc, {{'EXIT', Why}}}}) -> {{err, Why}};
                  ({{'EXIT', {{Why, St}}}}) when is_list(St) -> {{err, Why}};
                  ({{'EXIT', Why}}) -> {{err, Why}};
                  (V) -> {{ok, V}} end,
        %% The same calls on this node's own pg (no scope runs here): the answers and
        %% errors must be OTP's.
        P("DIFFER", [{{F, A, Ours1, Beam}} || {{F, A}} <- [
              {{get_members, [no_such_scope, workers]}}, {{get_local_members, [no_such_scope, workers]}},
              {{which_groups, [no_such_scope]}}, {{join, [no_such_scope, g, []]}},
              {{leave, [no_such_scope, g, []]}}, {{join, [pg, g, notapid]}},
              {{join, [pg, g, [notapid]]}}, {{leave, [pg, g, notapid]}}],
            Ours1 <- [Norm(rpc:call(R, pg, F, A))], Beam <- [Norm(catch apply(pg, F, A))],
            Ours1 =/= Beam]),
        P("NOLOCAL", case rpc:call(R, pg, join, [workers, self()]) of {{badrpc, {{'EXIT', {{{{nolocal, _}}, _}}}}}} -> nolocal; O -> O end),
        First = fun({{badrpc, {{'EXIT', {{Why, [F | _]}}}}}}) -> {{Why, F}}; ({{'EXIT', {{Why, [F | _]}}}}) -> {{Why, F}}; (O) -> O end,
        P("BIFERR", {{First(rpc:call(R, erlang, nodes, [bogus])), First(catch erlang:nodes(bogus))}}),
        Rex = fun(N) -> case catch gen_server:call({{rex, N}}, bogus, 300) of {{'EXIT', {{Why, _}}}} -> Why; O3 -> O3 end end,
        P("REXUNKNOWN", {{Rex(R), Rex(node())}}),
        P("NAMES", rpc:call(R, global, registered_names, [])),
        P("WHEREIS", node(rpc:call(R, global, whereis_name, [rust_worker])) =:= R),
        P("REGISTER", rpc:call(R, global, register_name, [beam_thing, self()])),
        P("SEEN_HERE", global:whereis_name(beam_thing) =:= self()),
        P("UNREGISTER", rpc:call(R, global, unregister_name, [beam_thing])),
        P("GONE", global:whereis_name(beam_thing)),
        P("SYNC", rpc:call(R, global, sync, [])),
        P("TICKTIME", rpc:call(R, net_kernel, get_net_ticktime, [])),
        halt()."#
    );
    let mut erl = Erl::start(&unique("beam"), COOKIE, epmd, &eval);
    let me = "[true]";
    assert_eq!(erl.expect("MEMBERS ", T).await, me);
    assert_eq!(erl.expect("MEMBERS2 ", T).await, me);
    assert_eq!(erl.expect("LOCAL ", T).await, me);
    assert_eq!(erl.expect("GROUPS ", T).await, "[workers]");
    assert_eq!(erl.expect("NOSCOPE ", T).await, "[]");
    assert_eq!(erl.expect("DIFFER ", T).await, "[]");
    assert_eq!(erl.expect("NOLOCAL ", T).await, "nolocal");
    // A BIF's badarg has BEAM's first frame: the arguments and error_info.
    let bif = erl.expect("BIFERR ", T).await;
    let frame = "{badarg,{erlang,nodes,[bogus],[{error_info,#{module => erl_erts_errors}}]}}";
    assert_eq!(bif, format!("{{{frame},{frame}}}"));
    // rex ignores a call it does not know, on both nodes: the caller times out.
    assert_eq!(erl.expect("REXUNKNOWN ", T).await, "{timeout,timeout}");
    assert_eq!(erl.expect("NAMES ", T).await, "[rust_worker]");
    assert_eq!(erl.expect("WHEREIS ", T).await, "true");
    assert_eq!(erl.expect("REGISTER ", T).await, "yes");
    assert_eq!(erl.expect("SEEN_HERE ", T).await, "true");
    assert_eq!(erl.expect("UNREGISTER ", T).await, "ok");
    assert_eq!(erl.expect("GONE ", T).await, "undefined");
    assert_eq!(erl.expect("SYNC ", T).await, "ok");
    assert_eq!(erl.expect("TICKTIME ", T).await, "60");
}

/// `erlang:process_info/1,2`, `memory/0,1` and `statistics/1` asked of beamnode over
/// rpc, with OTP's shapes: a registered Rust process with a link, a monitor and a
/// queued message; a dead pid (`undefined`); a pid of another node (badarg); an
/// unknown item (badarg).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn process_info_memory_and_statistics_over_rpc() {
    let epmd = private_epmd().await;
    let node = rust_node("rust", epmd, COOKIE).await;
    beamnode::services::rpc_server::start(&node).expect("rpc serving");
    let watched = node.process();
    watched.register("watched").expect("register");
    let holder = node.process();
    holder.link(watched.pid()).expect("link");
    holder.monitor(watched.pid());
    let gone = node.process();
    let gone_pid = gone.pid().clone();
    drop(gone);
    let r = node.name().as_str().to_string();
    let eval = format!(
        r#"R = '{r}', true = net_kernel:connect_node(R), register(probe, self()),
        io:format("READY~n"),
        P = fun(K, V) -> io:format("~s ~0p~n", [K, V]) end,
        W = rpc:call(R, erlang, whereis, [watched]),
        W ! queued,
        timer:sleep(200),
        Info = rpc:call(R, erlang, process_info, [W]),
        P("NAME", proplists:get_value(registered_name, Info)),
        P("QUEUE", proplists:get_value(message_queue_len, Info)),
        P("LINKS", length(proplists:get_value(links, Info))),
        P("STATUS", proplists:get_value(status, Info)),
        P("KEYS", length(Info)),
        P("MONBY", case rpc:call(R, erlang, process_info, [W, monitored_by]) of {{monitored_by, [M]}} -> node(M) =:= R; O -> O end),
        P("TWO", [K || {{K, _}} <- rpc:call(R, erlang, process_info, [W, [trap_exit, group_leader]])]),
        receive {{dead, D}} -> P("DEAD", rpc:call(R, erlang, process_info, [D])) after 10000 -> P("DEAD", timeout) end,
        P("REMOTE", element(1, rpc:call(R, erlang, process_info, [self()]))),
        P("BADITEM", element(1, rpc:call(R, erlang, process_info, [W, no_such_item]))),
        P("REXTRAP", {{rpc:call(R, erlang, process_info, [rpc:call(R, erlang, whereis, [rex]), trap_exit]), process_info(whereis(rex), trap_exit)}}),
        P("MORE", [K || {{K, _}} <- rpc:call(R, erlang, process_info, [W, [current_stacktrace, catchlevel, last_calls, binary, garbage_collection_info, parent]])]),
        Type = fun(V) when is_integer(V) -> int; (V) when is_atom(V) -> atom; (V) when is_list(V) -> list; (_) -> other end,
        SysKeys = [wordsize, process_limit, atom_count, atom_limit, port_count, port_limit,
                   thread_pool_size, dirty_cpu_schedulers, build_type, emu_flavor, time_offset,
                   kernel_poll, nif_version, driver_version],
        P("SYSTYPES", [{{K, Type(rpc:call(R, erlang, system_info, [K])), Type(erlang:system_info(K))}}
                        || K <- SysKeys, Type(rpc:call(R, erlang, system_info, [K])) =/= Type(erlang:system_info(K))]),
        P("MEMKEYS", [K || {{K, _}} <- rpc:call(R, erlang, memory, [])]),
        P("TOTAL", rpc:call(R, erlang, memory, [total]) > 1000000),
        {{Wall, _}} = rpc:call(R, erlang, statistics, [wall_clock]),
        P("WALL", is_integer(Wall) andalso Wall >= 0),
        P("RUNTIME", case rpc:call(R, erlang, statistics, [runtime]) of {{A, B}} when is_integer(A), is_integer(B) -> ok; O2 -> O2 end),
        P("RUNQ", rpc:call(R, erlang, statistics, [run_queue])),
        P("QUEUES", [length(rpc:call(R, erlang, statistics, [K])) - length(erlang:statistics(K))
                     || K <- [active_tasks, active_tasks_all, run_queue_lengths, run_queue_lengths_all]]),
        P("TOTALS", [rpc:call(R, erlang, statistics, [K]) || K <- [total_active_tasks_all, total_run_queue_lengths_all]]),
        halt()."#
    );
    let mut erl = Erl::start(&unique("beam"), COOKIE, epmd, &eval);
    erl.expect("READY", T).await;
    let peer = beamnode::Atom::new(&erl.name);
    holder
        .send(
            ("probe", peer.as_str()),
            (beamnode::Atom::new("dead"), gone_pid),
        )
        .await;
    assert_eq!(erl.expect("NAME ", T).await, "watched");
    assert_eq!(erl.expect("QUEUE ", T).await, "1");
    assert_eq!(erl.expect("LINKS ", T).await, "1");
    assert_eq!(erl.expect("STATUS ", T).await, "runnable");
    // registered_name + OTP's 16 default items.
    assert_eq!(erl.expect("KEYS ", T).await, "17");
    assert_eq!(erl.expect("MONBY ", T).await, "true");
    assert_eq!(erl.expect("TWO ", T).await, "[trap_exit,group_leader]");
    assert_eq!(erl.expect("DEAD ", T).await, "undefined");
    assert_eq!(erl.expect("REMOTE ", T).await, "badrpc");
    assert_eq!(erl.expect("BADITEM ", T).await, "badrpc");
    // rex traps exits on both sides (OTP's rex sets the flag in its init).
    assert_eq!(
        erl.expect("REXTRAP ", T).await,
        "{{trap_exit,true},{trap_exit,true}}"
    );
    assert_eq!(
        erl.expect("MORE ", T).await,
        "[current_stacktrace,catchlevel,last_calls,binary,garbage_collection_info,parent]"
    );
    // system_info keys tools read: each answer has the type BEAM's has.
    assert_eq!(erl.expect("SYSTYPES ", T).await, "[]");
    assert_eq!(
        erl.expect("MEMKEYS ", T).await,
        "[total,processes,processes_used,system,atom,atom_used,binary,code,ets]"
    );
    assert_eq!(erl.expect("TOTAL ", T).await, "true");
    assert_eq!(erl.expect("WALL ", T).await, "true");
    assert_eq!(erl.expect("RUNTIME ", T).await, "ok");
    assert_eq!(erl.expect("RUNQ ", T).await, "0");
    // As many run queues as BEAM on the same machine: one per scheduler, the dirty CPU
    // one, and the dirty IO one in the `_all` forms.
    assert_eq!(erl.expect("QUEUES ", T).await, "[0,0,0,0]");
    assert_eq!(erl.expect("TOTALS ", T).await, "[0,0]");
    drop(watched);
}

/// `net_kernel:nodes_info/0`, `node_info/1,2` and `monitor_nodes/1` over rpc, from a
/// real OTP node, with a second, hidden OTP node connected: OTP's result shapes
/// (`[{owner, Pid}, {state, up}, {address, #net_address{}}, {type, T}, {in, N},
/// {out, N}]`), the hidden peer typed `hidden`, message counts that grow with traffic,
/// and `{error, bad_node}` / `{error, invalid_key}` as OTP answers them.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn net_kernel_nodes_info_over_rpc() {
    let epmd = private_epmd().await;
    let node = rust_node("rust", epmd, COOKIE).await;
    beamnode::services::rpc_server::start(&node).expect("rpc serving");
    let hidden = Erl::idle("hid", epmd, &["-hidden"]).await;
    let hidden_node = beamnode::Atom::new(&hidden.name);
    assert!(node.connect(&hidden_node).await);
    let r = node.name().as_str().to_string();
    let h = hidden.name.clone();
    let eval = format!(
        r#"R = '{r}', H = '{h}', true = net_kernel:connect_node(R),
        P = fun(K, V) -> io:format("~s ~0p~n", [K, V]) end,
        {{ok, Mine}} = rpc:call(R, net_kernel, node_info, [node()]),
        [{{owner, O}}, {{state, up}}, {{address, A}}, {{type, normal}}, {{in, In1}}, {{out, Out1}}] = Mine,
        P("OWNER", node(O) =:= R),
        {{net_address, {{{{127,0,0,1}}, Port}}, "localhost", tcp, inet}} = A,
        P("ADDRESS", is_integer(Port)),
        [rpc:call(R, erlang, node, []) || _ <- lists:seq(1, 10)],
        {{ok, In2}} = rpc:call(R, net_kernel, node_info, [node(), in]),
        {{ok, Out2}} = rpc:call(R, net_kernel, node_info, [node(), out]),
        P("GROWS", {{In2 >= In1 + 10, Out2 >= Out1 + 10}}),
        {{ok, All}} = rpc:call(R, net_kernel, nodes_info, []),
        P("NODES", lists:sort([N || {{N, _}} <- All]) =:= lists:sort([node(), H])),
        P("HIDDEN", proplists:get_value(type, proplists:get_value(H, All))),
        P("TYPE", rpc:call(R, net_kernel, node_info, [H, type])),
        P("BADNODE", rpc:call(R, net_kernel, node_info, [nobody@nowhere])),
        P("BADNODE2", rpc:call(R, net_kernel, node_info, [nobody@nowhere, type])),
        P("BADKEY", rpc:call(R, net_kernel, node_info, [node(), bogus])),
        P("MONITOR", rpc:call(R, net_kernel, monitor_nodes, [true])),
        halt()."#
    );
    let mut erl = Erl::start(&unique("beam"), COOKIE, epmd, &eval);
    assert_eq!(erl.expect("OWNER ", T).await, "true");
    assert_eq!(erl.expect("ADDRESS ", T).await, "true");
    assert_eq!(erl.expect("GROWS ", T).await, "{true,true}");
    assert_eq!(erl.expect("NODES ", T).await, "true");
    assert_eq!(erl.expect("HIDDEN ", T).await, "hidden");
    assert_eq!(erl.expect("TYPE ", T).await, "{ok,hidden}");
    assert_eq!(erl.expect("BADNODE ", T).await, "{error,bad_node}");
    assert_eq!(erl.expect("BADNODE2 ", T).await, "{error,bad_node}");
    assert_eq!(erl.expect("BADKEY ", T).await, "{error,invalid_key}");
    assert_eq!(erl.expect("MONITOR ", T).await, "ok");
}

/// `global:set_lock/1,2,3`, `del_lock/1,2` and `trans/2,3,4` over rpc, from a real OTP
/// node: a lock set over rpc is held by the process that ran the call and goes with
/// it (as on BEAM); `trans` runs a `fun M:F/0` registered on the Rust node, answers
/// `aborted` while the OTP node holds the lock, and refuses a closure.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn global_locks_over_rpc() {
    let epmd = private_epmd().await;
    let node = rust_node("rust", epmd, COOKIE).await;
    beamnode::services::rpc_server::start(&node).expect("rpc serving");
    let _global = beamnode::services::global::start(&node).expect("global");
    node.register_rpc("locked", "work", 0, |_| Ok(Term::atom("done")));
    let r = node.name().as_str().to_string();
    let eval = format!(
        r#"R = '{r}', true = net_kernel:connect_node(R), ok = global:sync(),
        P = fun(K, V) -> io:format("~s ~0p~n", [K, V]) end,
        Both = [node(), R],
        P("SET", rpc:call(R, global, set_lock, [{{res, rust_req}}, [R], 0])),
        P("AFTER", global:set_lock({{res, erl_req}}, Both, 10)),
        P("DEL_MINE", global:del_lock({{res, erl_req}}, Both)),
        P("TRANS", rpc:call(R, global, trans, [{{res2, rust}}, fun locked:work/0, Both, 0])),
        true = global:set_lock({{res3, erl}}, Both, 0),
        P("ABORTED", rpc:call(R, global, trans, [{{res3, rust}}, fun locked:work/0, Both, 0])),
        P("HELD", rpc:call(R, global, set_lock, [{{res3, rust}}, Both, 0])),
        P("DEL", rpc:call(R, global, del_lock, [{{res3, erl}}])),
        P("STILL_MINE", rpc:call(R, global, set_lock, [{{res3, rust}}, Both, 0])),
        true = global:del_lock({{res3, erl}}, Both),
        P("FREE", rpc:call(R, global, trans, [{{res3, rust}}, fun locked:work/0])),
        P("CLOSURE", case rpc:call(R, global, trans, [{{res4, x}}, fun() -> ok end]) of
            {{badrpc, {{'EXIT', {{Why, _}}}}}} -> Why; O -> O end),
        P("BADID", element(1, rpc:call(R, global, set_lock, [not_a_pair]))),
        halt()."#
    );
    let mut erl = Erl::start(&unique("beam"), COOKIE, epmd, &eval);
    assert_eq!(erl.expect("SET ", T).await, "true");
    assert_eq!(erl.expect("AFTER ", T).await, "true");
    assert_eq!(erl.expect("DEL_MINE ", T).await, "true");
    assert_eq!(erl.expect("TRANS ", T).await, "done");
    assert_eq!(erl.expect("ABORTED ", T).await, "aborted");
    assert_eq!(erl.expect("HELD ", T).await, "false");
    assert_eq!(erl.expect("DEL ", T).await, "true");
    assert_eq!(erl.expect("STILL_MINE ", T).await, "false");
    assert_eq!(erl.expect("FREE ", T).await, "done");
    assert_eq!(erl.expect("CLOSURE ", T).await, "beamnode_cannot_run_funs");
    assert_eq!(erl.expect("BADID ", T).await, "badrpc");
}

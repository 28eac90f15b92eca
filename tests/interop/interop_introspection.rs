//! The kernel API a BEAM user calls on a remote node, served by beamnode from its own
//! state: `pg` (get_members, get_local_members, which_groups, join, leave, with and
//! without a scope) and `global` (registered_names, whereis_name, register_name on
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
        P("NOSCOPE", element(1, rpc:call(R, pg, get_members, [no_such_scope, workers]))),
        P("NOLOCAL", case rpc:call(R, pg, join, [workers, self()]) of {{badrpc, {{'EXIT', {{{{nolocal, _}}, _}}}}}} -> nolocal; O -> O end),
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
    assert_eq!(erl.expect("NOSCOPE ", T).await, "badrpc");
    assert_eq!(erl.expect("NOLOCAL ", T).await, "nolocal");
    assert_eq!(erl.expect("NAMES ", T).await, "[rust_worker]");
    assert_eq!(erl.expect("WHEREIS ", T).await, "true");
    assert_eq!(erl.expect("REGISTER ", T).await, "yes");
    assert_eq!(erl.expect("SEEN_HERE ", T).await, "true");
    assert_eq!(erl.expect("UNREGISTER ", T).await, "ok");
    assert_eq!(erl.expect("GONE ", T).await, "undefined");
    assert_eq!(erl.expect("SYNC ", T).await, "ok");
    assert_eq!(erl.expect("TICKTIME ", T).await, "60");
}

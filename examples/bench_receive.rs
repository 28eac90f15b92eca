//! Small-message receive throughput: a real BEAM sender blasts `{n, I}` tuples at a
//! receiver process, once on a beamnode node and once on a BEAM node, in the same run;
//! prints both rates and their ratio. Then request/reply latency: the same BEAM client
//! makes `gen_server:call({kv, Node}, {get, k})` calls one after another against
//! beamnode's `kv` and against an equivalent server on a BEAM node. Run with
//! `bash scripts/bench.sh`.
//!
//! The sender is the same OTP code both times and times itself from its first send to
//! the receiver's acknowledgement that it counted every message, so the figure is the
//! end-to-end rate a BEAM program sees.

#[path = "../tests/common/otp.rs"]
#[allow(dead_code)]
mod common;

use beamnode::Term;
use common::*;
use std::time::Duration;

const ROUNDS: usize = 3;

fn sender_eval(target: &str, n: u64) -> String {
    format!(
        r#"Target = '{target}', N = {n},
        true = net_kernel:connect_node(Target),
        Run = fun() ->
            T0 = erlang:monotonic_time(microsecond),
            lists:foreach(fun(I) -> {{sink, Target}} ! {{n, I}} end, lists:seq(1, N)),
            {{sink, Target}} ! {{done, self()}},
            receive {{count, C}} -> C = N end,
            erlang:monotonic_time(microsecond) - T0
        end,
        lists:foreach(fun(_) -> io:format("ROUND ~p~n", [Run()]) end, lists:seq(1, {ROUNDS})),
        Calls = 20000,
        Call = fun() ->
            T0 = erlang:monotonic_time(microsecond),
            lists:foreach(fun(_) -> {{ok, 1}} = gen_server:call({{kv, Target}}, {{get, k}}) end, lists:seq(1, Calls)),
            (erlang:monotonic_time(microsecond) - T0) / Calls
        end,
        lists:foreach(fun(_) -> io:format("CALL ~p~n", [Call()]) end, lists:seq(1, {ROUNDS})),
        halt()."#
    )
}

const BEAM_SINK: &str = r#"register(sink, self()),
    KV = fun K() -> receive {'$gen_call', From, {get, k}} -> gen:reply(From, {ok, 1}), K() end end,
    register(kv, spawn(KV)),
    io:format("READY~n"),
    Loop = fun L(C) -> receive {n, _} -> L(C + 1); {done, From} -> From ! {count, C}, L(0) end end,
    Loop(0)."#;

/// Returns (messages per second, microseconds per call), best of the rounds.
async fn measure(sender_name: &str, epmd: u16, target: &str, n: u64) -> (f64, f64) {
    let mut sender = Erl::start(sender_name, COOKIE, epmd, &sender_eval(target, n));
    let mut best = f64::MAX;
    for _ in 0..ROUNDS {
        let us: f64 = sender
            .expect("ROUND ", Duration::from_secs(300))
            .await
            .parse()
            .expect("microseconds");
        best = best.min(us);
    }
    let mut best_call = f64::MAX;
    for _ in 0..ROUNDS {
        let us: f64 = sender
            .expect("CALL ", Duration::from_secs(300))
            .await
            .parse()
            .expect("microseconds per call");
        best_call = best_call.min(us);
    }
    (n as f64 / (best / 1e6), best_call)
}

#[tokio::main]
async fn main() {
    let n: u64 = std::env::args()
        .nth(1)
        .and_then(|a| a.parse().ok())
        .unwrap_or(1_000_000);
    let epmd = private_epmd().await;

    // Rust receiver.
    let node = rust_node("bench_rust", epmd, COOKIE).await;
    node.spawn_registered("sink", |mut p| async move {
        let mut count: i64 = 0;
        while let Ok(m) = p.receive(None).await {
            match m.as_tuple() {
                Some([tag, _]) if tag.is_atom("n") => count += 1,
                Some([tag, Term::Pid(from)]) if tag.is_atom("done") => {
                    p.send(
                        from,
                        Term::tuple(vec![Term::atom("count"), Term::Int(count)]),
                    )
                    .await;
                    count = 0;
                }
                _ => {}
            }
        }
    })
    .expect("register sink");
    beamnode::services::kv::start(&node).expect("kv");
    let mut setup = node.process();
    let put = Term::tuple(vec![Term::atom("put"), Term::atom("k"), Term::Int(1)]);
    let kv = beamnode::services::gen::Dest::Local(beamnode::Atom::new("kv"));
    beamnode::services::gen::call(&mut setup, &kv, put, Duration::from_secs(5))
        .await
        .expect("kv put");
    let (rust_rate, rust_call) = measure(&unique("send_r"), epmd, node.name().as_str(), n).await;

    // BEAM receiver, same sender code.
    let mut beam_sink = Erl::start(&unique("sink_b"), COOKIE, epmd, BEAM_SINK);
    beam_sink.expect("READY", Duration::from_secs(20)).await;
    let beam_target = beam_sink.name.clone();
    let (beam_rate, beam_call) = measure(&unique("send_b"), epmd, &beam_target, n).await;

    println!("small-message throughput, BEAM sender -> receiver, {n} messages, best of {ROUNDS}:");
    println!("  beamnode receiver: {rust_rate:>12.0} msg/s");
    println!("  BEAM receiver:     {beam_rate:>12.0} msg/s");
    println!("  ratio beamnode/BEAM: {:.2}", rust_rate / beam_rate);
    println!(
        "gen_server:call round trip from a BEAM client, 20000 sequential calls, best of {ROUNDS}:"
    );
    println!("  beamnode kv:       {rust_call:>9.1} us/call");
    println!("  BEAM kv:           {beam_call:>9.1} us/call");
    println!(
        "  ratio BEAM/beamnode (higher = beamnode faster): {:.2}",
        beam_call / rust_call
    );
}

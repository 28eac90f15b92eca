//! One Rust function registry for spawn, rpc and erpc: a function registered with
//! `Node::register_rpc*` is what `spawn/4`, `spawn_link/4`, `spawn_monitor/4`,
//! `erlang:apply/3` and `apply(fun M:F/A, Args)` run on beamnode, with BEAM's exit
//! reasons, and what rpc and erpc call — checked from a real OTP node.

use crate::common::*;
use std::time::Duration;

const T: Duration = Duration::from_secs(20);

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn spawn_rpc_and_erpc_run_the_same_functions() {
    let epmd = private_epmd().await;
    let node = rust_node("rust", epmd, COOKIE).await;
    beamnode::services::rpc_server::start(&node).expect("rpc serving");
    beamnode::services::rust_math::register(&node);
    let r = node.name().as_str().to_string();
    let eval = format!(
        r#"R = '{r}', true = net_kernel:connect_node(R),
        Down = fun({{P, Ref}}) -> receive {{'DOWN', Ref, process, P, Why}} -> Why after 5000 -> timeout end end,
        io:format("ADD ~w~n", [Down(spawn_monitor(R, rust_math, add, [1, 2]))]),
        io:format("BADARG ~w~n", [Down(spawn_monitor(R, rust_math, fib, [-1]))]),
        io:format("ERROR ~w~n", [Down(spawn_monitor(R, rust_math, fail, [oops]))]),
        io:format("APPLY3 ~w~n", [Down(spawn_monitor(R, erlang, apply, [rust_math, add, [1, 2]]))]),
        io:format("APPLYFUN ~w~n", [Down(spawn_monitor(R, erlang, apply, [fun rust_math:mul/2, [6, 7]]))]),
        io:format("UNDEF ~w~n", [Down(spawn_monitor(R, rust_math, add, [1]))]),
        process_flag(trap_exit, true),
        L = spawn_link(R, rust_math, fail, [linked]),
        io:format("LINK ~w~n", [receive {{'EXIT', L, LR}} -> LR after 5000 -> timeout end]),
        io:format("RPC ~w~n", [rpc:call(R, rust_math, add, [1, 2])]),
        io:format("ERPC ~w~n", [erpc:call(R, rust_math, mul, [6, 7])]),
        halt()."#
    );
    let mut erl = Erl::start(&unique("beam"), COOKIE, epmd, &eval);
    // A normal return exits `normal`, as a BEAM function does.
    assert_eq!(erl.expect("ADD ", T).await, "normal");
    // error(R) exits {R, Stack}; the stack names the function.
    assert_eq!(
        erl.expect("BADARG ", T).await,
        "{badarg,[{rust_math,fib,1,[]}]}"
    );
    assert_eq!(
        erl.expect("ERROR ", T).await,
        "{oops,[{rust_math,fail,1,[]}]}"
    );
    assert_eq!(erl.expect("APPLY3 ", T).await, "normal");
    assert_eq!(erl.expect("APPLYFUN ", T).await, "normal");
    assert_eq!(
        erl.expect("UNDEF ", T).await,
        "{undef,[{rust_math,add,[1],[]}]}"
    );
    assert_eq!(
        erl.expect("LINK ", T).await,
        "{linked,[{rust_math,fail,1,[]}]}"
    );
    assert_eq!(erl.expect("RPC ", T).await, "3");
    assert_eq!(erl.expect("ERPC ", T).await, "42");
}

/// Log lines written while the test runs (a global subscriber: this test is the only
/// one in the crate that installs one).
#[derive(Clone, Default)]
struct Captured(std::sync::Arc<std::sync::Mutex<Vec<u8>>>);

impl std::io::Write for Captured {
    fn write(&mut self, b: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(b);
        Ok(b.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

/// Functions registered for rpc while rpc serving is not started: a BEAM rpc call
/// gets `undef`, as from a node without the code, and the node says why in its log
/// instead of staying silent.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn rpc_without_rpc_serving_is_logged() {
    let log = Captured::default();
    let writer = log.clone();
    let _ = tracing_subscriber::fmt()
        .with_writer(move || writer.clone())
        .with_ansi(false)
        .try_init();
    let epmd = private_epmd().await;
    let node = rust_node("rust", epmd, COOKIE).await;
    beamnode::services::rust_math::register(&node); // but no rpc_server::start
    let r = node.name().as_str().to_string();
    let eval = format!(
        r#"R = '{r}', true = net_kernel:connect_node(R),
        io:format("RPC ~0p~n", [rpc:call(R, rust_math, add, [1, 2])]),
        halt()."#
    );
    let mut erl = Erl::start(&unique("beam"), COOKIE, epmd, &eval);
    let got = erl.expect("RPC ", T).await;
    assert!(got.contains("undef"), "{got}");
    let text = String::from_utf8_lossy(&log.0.lock().unwrap()).to_string();
    assert!(
        text.contains("rpc serving is not started"),
        "no log line saying why; log:\n{text}"
    );
}

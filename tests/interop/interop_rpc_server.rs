//! Serving rpc and erpc against real OTP 25 (issue 5, docs/protocol.md §9.2, §9.4,
//! §15 traps 3–4). The scenarios (tests/rpc_scenarios/server.rs, also run against a
//! newer OTP by tests/newer_otp/interop_newer_otp_rpc.rs): an `erl -eval` script calls the Rust
//! node through every OTP rpc/erpc path and makes the same calls to a second BEAM node,
//! so the shapes are compared with what OTP itself gives; the Rust node goes down
//! mid-call. Then the registry from the Rust side.

use crate::server;

use crate::common::*;
use beamnode::services::rpc_server::{Outcome, RpcClass};
use beamnode::{Atom, Term};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn beam_calls_rust_through_rpc_and_erpc() {
    server::beam_calls_rust_through_rpc_and_erpc(None).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn node_going_down_mid_call_gives_nodedown() {
    server::node_going_down_mid_call_gives_nodedown(None).await;
}

/// The same registry from the Rust side: `Node::apply_rpc` runs a callable as the
/// served rpc does.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn rust_side_apply_rpc() {
    let epmd = private_epmd().await;
    let node = server::rust_rpc_node(epmd).await;
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

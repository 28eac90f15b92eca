//! Spawn handles, the mailbox as a `Stream`, and async stop, against a real BEAM
//! node: a Rust process reads BEAM's messages through `Process::messages`, BEAM ends
//! it with `exit/2`, and the `ProcessHandle` resolves to BEAM's reason; a handle of a
//! process that returns resolves to `normal`; `Node::stop` returns once the BEAM peer
//! has seen the node go.

use crate::common::*;
use beamnode::{Atom, Term};
use futures_core::Stream;
use std::pin::Pin;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Duration;

const T: Duration = Duration::from_secs(30);

async fn next<S: Stream + Unpin>(s: &mut S) -> Option<S::Item> {
    std::future::poll_fn(|cx| Pin::new(&mut *s).poll_next(cx)).await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn handles_streams_and_stop_with_beam() {
    let epmd = private_epmd().await;
    let node = rust_node("rust", epmd, COOKIE).await;
    let seen = Arc::new(AtomicUsize::new(0));
    let counter = seen.clone();
    let reader = node.spawn_handle(|mut p| async move {
        let mut messages = p.messages();
        while let Some(m) = next(&mut messages).await {
            if m.as_tuple().is_some_and(|t| t[0].is_atom("n")) {
                counter.fetch_add(1, Ordering::SeqCst);
            }
        }
    });
    let mut me = node.process();
    me.register("rusty").expect("register");
    let r = node.name().as_str().to_string();
    let eval = format!(
        r#"R = '{r}', true = net_kernel:connect_node(R), register(probe, self()),
        monitor_node(R, true),
        io:format("READY~n"),
        receive {{reader, P}} ->
            [P ! {{n, I}} || I <- [1, 2, 3]],
            {{rusty, R}} ! sent,
            receive go_on -> exit(P, stop_reading) end
        end,
        receive {{nodedown, R}} -> io:format("NODEDOWN~n") after 20000 -> io:format("NODEDOWN timeout~n") end,
        halt()."#
    );
    let mut erl = Erl::start(&unique("beam"), COOKIE, epmd, &eval);
    erl.expect("READY", T).await;
    let probe = (Atom::new("probe"), Atom::new(&erl.name));
    me.send(probe.clone(), (Atom::new("reader"), reader.pid().clone()))
        .await;
    assert_eq!(me.receive(Some(T)).await, Ok(Term::atom("sent")));
    assert!(
        eventually(T, || seen.load(Ordering::SeqCst) == 3).await,
        "the stream yielded BEAM's three messages"
    );
    me.send(probe, Term::atom("go_on")).await;
    let reason = tokio::time::timeout(T, reader)
        .await
        .expect("the handle resolves");
    assert_eq!(reason, Term::atom("stop_reading"));

    let quick = node.spawn_handle(|_p| async {});
    assert_eq!(
        tokio::time::timeout(T, quick).await.expect("resolves"),
        Term::atom("normal")
    );

    assert!(node.stop(T).await, "every connection went down");
    assert_eq!(erl.expect("NODEDOWN", T).await, "");
}

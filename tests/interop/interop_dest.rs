//! One destination type for sends ([`beamnode::Dest`]) and `impl Into<Term>` messages,
//! against a real BEAM node: a pid, `(name, node)`, a BEAM alias, a local name, and a
//! [`beamnode::ProcessSender`] handed to another task, each delivering in order.

use crate::common::*;
use beamnode::{Atom, Dest, Term};
use std::time::Duration;

const T: Duration = Duration::from_secs(30);

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_kind_of_destination_reaches_beam() {
    let epmd = private_epmd().await;
    let node = rust_node("rust", epmd, COOKIE).await;
    let mut me = node.process();
    me.register("rusty").expect("register");
    let r = node.name().as_str().to_string();
    let eval = format!(
        r#"R = '{r}', true = net_kernel:connect_node(R),
        register(dest_sink, self()), A = alias(),
        {{rusty, R}} ! {{hello, self(), A}},
        Loop = fun L(0) -> ok;
                   L(N) -> receive M -> io:format("GOT ~p~n", [M]), L(N - 1)
                           after 10000 -> io:format("GOT timeout~n") end end,
        Loop(4), halt()."#
    );
    let mut erl = Erl::start(&unique("dest"), COOKIE, epmd, &eval);
    let hello = me.receive(Some(T)).await.expect("hello from BEAM");
    let Some([_, Term::Pid(beam), Term::Ref(alias)]) = hello.as_tuple() else {
        panic!("unexpected {hello}")
    };
    let (beam, alias) = (beam.clone(), alias.clone());

    me.send(&beam, ("by_pid", 1)).await;
    assert_eq!(erl.expect("GOT ", T).await, r#"{<<"by_pid">>,1}"#);
    me.send(("dest_sink", erl.name.as_str()), ("by_name", 2))
        .await;
    assert_eq!(erl.expect("GOT ", T).await, r#"{<<"by_name">>,2}"#);
    me.send(&alias, (Atom::new("by_alias"), 3)).await;
    assert_eq!(erl.expect("GOT ", T).await, "{by_alias,3}");
    let sender = me.sender();
    assert_eq!(sender.pid(), me.pid());
    tokio::spawn(async move { sender.send(Dest::Pid(beam), vec![1i64, 2, 3]) })
        .await
        .expect("task");
    assert_eq!(erl.expect("GOT ", T).await, "[1,2,3]");

    // A local name, as `rusty ! Msg`.
    me.send("rusty", "to_myself").await;
    assert_eq!(
        me.receive(Some(T)).await.expect("own message"),
        Term::binary("to_myself")
    );
}

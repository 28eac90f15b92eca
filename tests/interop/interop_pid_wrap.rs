//! Pids after the 32-bit id wraps: a new pid never takes over a live process, and a
//! message to a dead pid never reaches the process that got its id word later — on
//! this node and as seen from a real BEAM node (the serial word tells them apart on
//! the wire, NEW_PID_EXT).

use crate::common::*;
use beamnode::{Atom, Term};
use std::time::Duration;

const T: Duration = Duration::from_secs(20);

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn pids_after_the_wrap_never_reach_live_or_dead_processes() {
    let epmd = private_epmd().await;
    let node = rust_node("rust", epmd, COOKIE).await;

    // A long-lived process (like net_kernel or rex) and one that has died.
    let mut keeper = node.process();
    let dead = node.process().pid().clone(); // dropped at once: exits
    assert!(!node.is_process_alive(&dead));

    // Four billion spawns later the id word comes round again: to the keeper's id,
    // then to the dead process's id.
    node.set_next_pid_for_tests((1u64 << 32) | u64::from(keeper.pid().id));
    let mut same_id_as_keeper = node.process();
    assert_eq!(same_id_as_keeper.pid().id, keeper.pid().id);
    assert_ne!(same_id_as_keeper.pid(), keeper.pid());
    node.set_next_pid_for_tests((1u64 << 32) | u64::from(dead.id));
    let mut same_id_as_dead = node.process();
    assert_eq!(same_id_as_dead.pid().id, dead.id);
    assert!(
        node.is_process_alive(keeper.pid()),
        "the keeper was not replaced"
    );
    assert!(!node.is_process_alive(&dead), "the dead pid stays dead");

    // Locally: each message reaches exactly the process it was sent to.
    node.send(keeper.pid(), Term::atom("to_keeper"));
    node.send(&dead, Term::atom("to_dead"));
    node.send(same_id_as_keeper.pid(), Term::atom("to_new_1"));
    assert_eq!(
        keeper.receive(Some(T)).await.unwrap(),
        Term::atom("to_keeper")
    );
    assert_eq!(
        same_id_as_keeper.receive(Some(T)).await.unwrap(),
        Term::atom("to_new_1")
    );
    assert!(same_id_as_dead.try_receive().is_none());

    // From a real BEAM node: the pids arrive as three different pids, and messages
    // to each go where they should.
    let eval = r#"register(tester, self()), io:format("READY~n"),
        receive {pids, K, D, N1, N2} ->
            io:format("DISTINCT ~p~n", [length(lists:usort([K, D, N1, N2]))]),
            K ! {from_beam, keeper}, D ! {from_beam, dead},
            N1 ! {from_beam, n1}, N2 ! {from_beam, n2}
        end,
        receive done -> halt() after 20000 -> halt() end."#;
    let mut erl = Erl::start(&unique("wrap"), COOKIE, epmd, eval);
    erl.expect("READY", T).await;
    let peer = Atom::new(&erl.name);
    let me = node.process();
    me.send_named(
        &Atom::new("tester"),
        &peer,
        Term::tuple(vec![
            Term::atom("pids"),
            Term::Pid(keeper.pid().clone()),
            Term::Pid(dead.clone()),
            Term::Pid(same_id_as_keeper.pid().clone()),
            Term::Pid(same_id_as_dead.pid().clone()),
        ]),
    )
    .await;
    assert_eq!(erl.expect("DISTINCT ", T).await, "4");
    let tagged = |t: &str| Term::tuple(vec![Term::atom("from_beam"), Term::atom(t)]);
    assert_eq!(keeper.receive(Some(T)).await.unwrap(), tagged("keeper"));
    assert_eq!(
        same_id_as_keeper.receive(Some(T)).await.unwrap(),
        tagged("n1")
    );
    assert_eq!(
        same_id_as_dead.receive(Some(T)).await.unwrap(),
        tagged("n2")
    );
    // Anything the dead pid got would have shown up here before n2 (one sender, one
    // connection: order is kept).
    assert!(same_id_as_dead.try_receive().is_none());
    me.send_named(&Atom::new("tester"), &peer, Term::atom("done"))
        .await;
}

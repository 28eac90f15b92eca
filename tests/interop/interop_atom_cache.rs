//! The send-side atom cache against real OTP (docs/protocol.md §4.3): beamnode sends
//! REG_SENDs to 3,000 registered names on a BEAM node, twice. The first round carries
//! each atom as a new cache entry, the second reuses or overwrites slots (3,000 names
//! on 2,048 slots), so a header that disagreed with OTP's receive table would make OTP
//! close the connection ("corrupted distribution header") and lose messages. Every
//! message must arrive over the one connection. Run against the host's OTP and the
//! newer root (27, and 29 in the sid pass of scripts/test.sh).

use crate::common::*;
use beamnode::proto::DistFlags;
use beamnode::{Atom, NodeEvent, Term};
use std::time::Duration;

const T: Duration = Duration::from_secs(30);
const NAMES: usize = 3000;

async fn every_message_arrives(root: Option<&std::path::Path>) {
    let epmd = private_epmd().await;
    let node = rust_node("rust", epmd, COOKIE).await;
    let mut events = node.subscribe();
    let eval = format!(
        r#"Collector = self(),
        [register(list_to_atom("ac_" ++ integer_to_list(I)),
                  spawn(fun F() -> receive {{hit, X}} -> Collector ! {{got, X}}, F() end end))
         || I <- lists:seq(1, {NAMES})],
        io:format("READY~n"),
        Count = fun C(N) when N =:= 2 * {NAMES} -> io:format("COUNT ~p~n", [N]);
                    C(N) -> receive {{got, _}} -> C(N + 1)
                            after 20000 -> io:format("COUNT ~p~n", [N]) end end,
        Count(0),
        receive stop -> ok after 10000 -> ok end, halt()."#
    );
    let mut erl = Erl::start_on(root, &unique("cache"), COOKIE, epmd, &eval);
    erl.expect("READY", T).await;
    let peer = Atom::new(&erl.name);
    assert!(node.connect(&peer).await, "connects");
    let flags = node.connection_flags(&peer).expect("connected");
    assert!(
        flags.contains(DistFlags::DIST_HDR_ATOM_CACHE),
        "OTP offers the atom cache: {flags:?}"
    );
    let me = node.process();
    for round in 0..2 {
        for i in 1..=NAMES {
            let name = Atom::new(&format!("ac_{i}"));
            let msg = Term::tuple(vec![
                Term::atom("hit"),
                Term::Int((round * NAMES + i) as i64),
            ]);
            me.send_named(&name, &peer, msg).await;
        }
    }
    assert_eq!(
        erl.expect("COUNT ", T).await,
        (2 * NAMES).to_string(),
        "every message reached its registered process"
    );
    // One connection throughout: no nodedown for the peer.
    while let Ok(ev) = events.try_recv() {
        assert!(
            !matches!(&ev, NodeEvent::NodeDown { node: n, .. } if *n == peer),
            "the connection went down: {ev:?}"
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn cached_atoms_reach_the_host_otp() {
    every_message_arrives(None).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn cached_atoms_reach_the_newer_otp() {
    let root = newer_otp_root();
    every_message_arrives(Some(&root)).await;
}

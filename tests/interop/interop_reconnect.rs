//! A peer that comes back under the same name before its old connection is seen to
//! die (docs/protocol.md §2.6, §7.3), against real OTP 25:
//!
//! * the restarted `erl` dials us while the old connection is still up (the old VM is
//!   frozen with SIGSTOP, the new one registers with a second private EPMD): we answer
//!   its name with `alive`, it confirms, and the old connection is taken down as a full
//!   disconnect (links break with `noconnection`, monitors fire, nodedown) before the
//!   new one comes up (nodeup);
//! * the same after a SIGKILL and an immediate restart (whichever of EOF and the new
//!   connection we see first);
//! * we are the new incarnation: a second Rust node with the same name dials an `erl`
//!   that still has the first one's connection up; it answers `alive` → `true` and
//!   OTP replaces the connection.
//!
//! Messages to pids of the old incarnation never reach processes of the new one.

use crate::common::*;
use beamnode::net::EpmdClient;
use beamnode::{Atom, MonitorNodesOpts, Node, NodeConfig, NodeEvent, Pid, Process, Term};
use std::time::Duration;
use tokio::sync::broadcast;

const T: Duration = Duration::from_secs(20);

/// The `erl` side: a forwarder process `T` that reports everything it receives to the
/// Rust `inbox` as `{t_got, T, Msg}`, announced as `{hello, T}`.
fn forwarder_script(rust: &Atom) -> String {
    format!(
        r#"R = '{rust}',
        T = spawn(fun Loop() -> receive M -> {{inbox, R}} ! {{t_got, self(), M}}, Loop() end end),
        {{inbox, R}} ! {{hello, T}},
        io:format("READY~n"),
        receive after 60000 -> halt() end."#
    )
}

fn pid_in(m: &Term, tag: &str) -> Option<Pid> {
    match m.as_tuple()? {
        [t, Term::Pid(p)] if t.is_atom(tag) => Some(p.clone()),
        _ => None,
    }
}

async fn hello(inbox: &mut Process) -> Pid {
    let m = inbox
        .receive_match(|m| pid_in(m, "hello").is_some(), Some(T))
        .await
        .expect("{hello, T} from erl");
    pid_in(&m, "hello").expect("a pid")
}

async fn nothing_more(p: &mut Process, what: &str) {
    let extra = p.receive(Some(Duration::from_millis(500))).await;
    assert!(
        extra.is_err(),
        "{what}: unexpected second message {extra:?}"
    );
}

/// Rust processes watching a process `target` of the peer and the peer node.
struct Watchers {
    peer: Atom,
    target: Pid,
    linker: Process,
    mon: Process,
    mon_ref: beamnode::Reference,
    watch: Process,
    events: broadcast::Receiver<NodeEvent>,
}

impl Watchers {
    /// Links to and monitors `target`, subscribes to node events; returns once the
    /// peer has handled the LINK and MONITOR (a round trip through `target`).
    async fn new(node: &Node, inbox: &mut Process, target: &Pid) -> Watchers {
        let peer = target.node.clone();
        let mut watch = node.process();
        assert!(watch.monitor_nodes(
            true,
            MonitorNodesOpts {
                nodedown_reason: true,
                node_type: None,
            }
        ));
        let linker = node.process();
        linker.trap_exit(true);
        linker.link(target).expect("link");
        let mon = node.process();
        let mon_ref = mon.monitor(target);
        inbox.send(target, Term::atom("sync")).await;
        inbox
            .receive_match(
                |m| matches!(m.as_tuple(), Some([t, _, s]) if t.is_atom("t_got") && s.is_atom("sync")),
                Some(T),
            )
            .await
            .expect("round trip through the peer's process");
        // monitor_nodes subscribers get nothing for nodes already up.
        assert!(watch.try_receive().is_none());
        Watchers {
            peer,
            target: target.clone(),
            linker,
            mon,
            mon_ref,
            watch,
            events: node.subscribe(),
        }
    }

    /// Checks the old connection went down completely, exactly once, and only then
    /// the new one came up. Returns the nodedown reason.
    async fn assert_replaced(mut self) -> Atom {
        let peer = self.peer.clone();
        let down = tokio::time::timeout(T, self.events.recv())
            .await
            .expect("a node event")
            .expect("event stream");
        let reason = match down {
            NodeEvent::NodeDown { node, reason } if node == peer => reason,
            other => panic!("expected nodedown of {peer} first, got {other:?}"),
        };
        let up = tokio::time::timeout(T, self.events.recv())
            .await
            .expect("a node event")
            .expect("event stream");
        assert_eq!(
            up,
            NodeEvent::NodeUp {
                node: peer.clone(),
                visible: true
            },
            "nodeup after nodedown"
        );

        // {nodedown, N, [{nodedown_reason, R}]}, then {nodeup, N, []}.
        let node_msg = |tag: &str, info: Vec<Term>| {
            Term::tuple(vec![
                Term::atom(tag),
                Term::Atom(peer.clone()),
                Term::list(info),
            ])
        };
        let reason_info = Term::tuple(vec![
            Term::atom("nodedown_reason"),
            Term::Atom(reason.clone()),
        ]);
        assert_eq!(
            self.watch.receive(Some(T)).await.expect("nodedown message"),
            node_msg("nodedown", vec![reason_info])
        );
        assert_eq!(
            self.watch.receive(Some(T)).await.expect("nodeup message"),
            node_msg("nodeup", vec![])
        );

        let noconnection = Term::atom("noconnection");
        assert_eq!(
            self.linker.receive(Some(T)).await.expect("EXIT"),
            exit_msg(&self.target, noconnection.clone())
        );
        assert_eq!(
            self.mon.receive(Some(T)).await.expect("DOWN"),
            down_msg(&self.mon_ref, Term::Pid(self.target.clone()), noconnection)
        );
        nothing_more(&mut self.linker, "linker").await;
        nothing_more(&mut self.mon, "monitor").await;
        nothing_more(&mut self.watch, "monitor_nodes").await;
        assert!(
            self.events.try_recv().is_err(),
            "exactly one nodedown and one nodeup"
        );
        reason
    }
}

/// Messages to the old incarnation's pids are not delivered to the new incarnation's
/// processes, even to one with the very same id and serial; the new process itself
/// gets its messages.
async fn assert_old_pids_dead(inbox: &mut Process, old: &Pid, new: &Pid) {
    assert_ne!(
        old.creation, new.creation,
        "a restarted node has a new creation"
    );
    let lookalike = Pid::new(new.node.clone(), new.id, new.serial, old.creation);
    inbox.send(old, Term::atom("to_old")).await;
    inbox.send(&lookalike, Term::atom("to_lookalike")).await;
    inbox.send(new, Term::atom("to_new")).await;
    let got = inbox.receive(Some(T)).await.expect("a forwarded message");
    assert_eq!(
        got,
        Term::tuple(vec![
            Term::atom("t_got"),
            Term::Pid(new.clone()),
            Term::atom("to_new"),
        ]),
        "only the message to the new pid arrives (same connection, so in order)"
    );
    nothing_more(inbox, "inbox").await;
}

/// The restarted `erl` dials us while the old connection is still up: deterministic,
/// because the old VM is frozen (SIGSTOP, so its socket stays open and silent) and the
/// new one, with the same name, registers with a second EPMD where the Rust node is
/// registered too.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn restarted_peer_dials_while_old_connection_is_up() {
    let epmd = private_epmd().await;
    let epmd2 = private_epmd().await;
    let node = rust_node("rc", epmd, COOKIE).await;
    let alive = node.name().as_str().split('@').next().expect("alive part");
    let _second_registration = EpmdClient::new("127.0.0.1", epmd2)
        .register(alive, node.listen_port(), false)
        .await
        .expect("register the Rust node with the second EPMD");
    let mut inbox = node.process();
    inbox.register("inbox").expect("register inbox");

    let sname = unique("peer");
    let script = forwarder_script(node.name());
    let old = Erl::start(&sname, COOKIE, epmd, &script);
    let old_target = hello(&mut inbox).await;
    let watchers = Watchers::new(&node, &mut inbox, &old_target).await;

    old.signal("STOP");
    // EPMD gives a brand-new name a creation from the wall clock's second (§1.3); the
    // second EPMD must not hand out the old incarnation's creation again.
    tokio::time::sleep(Duration::from_millis(1100)).await;
    let mut new = Erl::start(&sname, COOKIE, epmd2, &script);
    let reason = watchers.assert_replaced().await;
    // As OTP (see the last test): net_kernel kills the old connection with reason
    // `wait_pending`.
    assert_eq!(reason.as_str(), "wait_pending");
    let new_target = hello(&mut inbox).await;
    assert_old_pids_dead(&mut inbox, &old_target, &new_target).await;
    new.expect("READY", T).await;
    old.signal("CONT");
}

/// SIGKILL and an immediate restart under the same name on the same EPMD; the new
/// `erl` sends to us at once, so its connection races our noticing the old one's EOF.
/// Either way: one full nodedown, then nodeup.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn killed_peer_restarts_at_once() {
    let epmd = private_epmd().await;
    let node = rust_node("rk", epmd, COOKIE).await;
    let mut inbox = node.process();
    inbox.register("inbox").expect("register inbox");
    let sname = unique("peer");
    let script = forwarder_script(node.name());
    let mut old = Erl::start(&sname, COOKIE, epmd, &script);
    let old_target = hello(&mut inbox).await;
    let watchers = Watchers::new(&node, &mut inbox, &old_target).await;

    old.kill9();
    // EPMD drops the name when the killed VM's registration socket closes.
    let client = EpmdClient::new("127.0.0.1", epmd);
    let mut gone = false;
    for _ in 0..250 {
        if client.port_please(&sname).await.ok().flatten().is_none() {
            gone = true;
            break;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    assert!(gone, "EPMD still lists the killed node");
    let _new = Erl::start(&sname, COOKIE, epmd, &script);
    let reason = watchers.assert_replaced().await;
    assert!(
        ["connection_closed", "wait_pending"].contains(&reason.as_str()),
        "nodedown reason {reason}"
    );
    let new_target = hello(&mut inbox).await;
    assert_old_pids_dead(&mut inbox, &old_target, &new_target).await;
}

/// We are the new incarnation: a second Rust node with the first one's name dials an
/// `erl` that still has the first connection up. OTP asks `alive`, we confirm (our
/// dial owns the pending connection, like net_kernel's `is_pending`), and OTP takes
/// the old connection down before the new one comes up.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn new_rust_incarnation_replaces_connection_at_erl() {
    let epmd = private_epmd().await;
    let first = rust_node("ri", epmd, COOKIE).await;
    let eval = r#"ok = net_kernel:monitor_nodes(true, [nodedown_reason]),
        io:format("READY~n"),
        Loop = fun L() -> receive {E, N, I} -> io:format("EV ~p ~p ~p~n", [E, N, I]), L() end end,
        Loop()."#;
    let mut erl = Erl::start(&unique("beam"), COOKIE, epmd, eval);
    erl.expect("READY", T).await;
    let peer = Atom::new(&erl.name);
    let mut first_events = first.subscribe();
    assert!(first.connect(&peer).await);
    let me = first.name().as_str().to_string();
    assert_eq!(erl.expect("EV ", T).await, format!("nodeup {me} []"));

    let second = Node::start(
        NodeConfig::new(me.clone(), COOKIE)
            .epmd_port(epmd)
            .listen_addr([127, 0, 0, 1].into())
            .register_with_epmd(false),
    )
    .await
    .expect("start the second incarnation");
    assert_ne!(second.creation(), first.creation());
    assert!(second.connect(&peer).await, "the new incarnation is let in");
    assert_eq!(
        erl.expect("EV ", T).await,
        format!("nodedown {me} [{{nodedown_reason,wait_pending}}]"),
        "OTP reports nodedown of the old connection first"
    );
    assert_eq!(erl.expect("EV ", T).await, format!("nodeup {me} []"));

    // The first incarnation sees its connection closed by OTP.
    let mut saw_down = false;
    for _ in 0..3 {
        match tokio::time::timeout(T, first_events.recv()).await {
            Ok(Ok(NodeEvent::NodeDown { node, .. })) if node == peer => {
                saw_down = true;
                break;
            }
            Ok(Ok(_)) => continue,
            _ => break,
        }
    }
    assert!(saw_down, "the old connection went down at the first node");
    assert_eq!(second.nodes(), vec![peer]);
}

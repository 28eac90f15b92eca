//! Unit tests of the connection bookkeeping (net_kernel's decisions), without sockets.
use super::*;

fn up(conns: &Connections, peer: &Atom) -> (u64, Arc<Notify>) {
    let AcceptDecision::Status(Status::Ok, Some(id)) =
        conns.accept_status(&Atom::new("us@h"), peer)
    else {
        panic!("fresh accept gets ok");
    };
    let kill = Arc::new(Notify::new());
    assert!(establish(conns, peer, id, kill.clone()).is_some());
    (id, kill)
}

/// Brings attempt `id` up; the queue's receiving end, as the driver would hold it.
fn establish(
    conns: &Connections,
    peer: &Atom,
    id: u64,
    kill: Arc<Notify>,
) -> Option<mpsc::UnboundedReceiver<Outgoing>> {
    let info = UpInfo {
        id,
        flags: DistFlags::REQUIRED,
        visible: true,
        kill,
        stats: Default::default(),
    };
    conns.established(peer, id, info).map(|(_, rx)| rx)
}

fn alive(conns: &Connections, us: &Atom, peer: &Atom) -> u64 {
    match conns.accept_status(us, peer) {
        AcceptDecision::Status(Status::Alive, Some(id)) => id,
        other => panic!("accept while up gets alive, not {other:?}"),
    }
}

/// `alive` marks a successor; a second accept meanwhile is refused; the old
/// connection's end hands the entry to the successor, which then comes up.
#[tokio::test]
async fn replacing_accept_takes_over_after_the_old_connection_ends() {
    let conns = Connections::default();
    let (us, peer) = (Atom::new("us@h"), Atom::new("peer@h"));
    let (old, kill) = up(&conns, &peer);
    let new = alive(&conns, &us, &peer);
    assert_eq!(
        conns.accept_status(&us, &peer),
        AcceptDecision::AlreadyReplacing
    );
    let gone = conns
        .take_over(&peer, new)
        .expect("old connection to wait for");
    tokio::time::timeout(std::time::Duration::from_secs(1), kill.notified())
        .await
        .expect("old connection told to close");
    assert_eq!(conns.closing(&peer, old), Some(true));
    let ClosedOutcome::Replaced(Some(tx)) = conns.closed(&peer, old) else {
        panic!("the old connection's end hands over");
    };
    let _ = tx.send(());
    gone.await.expect("successor told");
    assert!(conns.owns_pending(&peer, new));
    assert!(conns.up_info(&peer).is_none());
}

/// Between the end of an up connection and the delivery of its nodedown, nothing
/// new comes up for the peer: sends are dropped (the peer is going down), `connect`
/// waits, an accept is asked `alive`, the node is not listed; once the nodedown is
/// delivered, a dial serves the waiting `connect` (net_kernel's order: nodedown
/// before the next nodeup).
#[tokio::test]
async fn nothing_comes_up_before_the_nodedown_is_delivered() {
    let conns = Connections::default();
    let (us, peer) = (Atom::new("us@h"), Atom::new("peer@h"));
    let (id, _kill) = up(&conns, &peer);
    assert_eq!(conns.closing(&peer, id), Some(false));
    assert!(conns.up_info(&peer).is_none());
    assert!(conns.up().is_empty());
    assert!(
        !conns.routes.load().contains_key(&peer),
        "sends take the lock"
    );
    let q = conns.queue(&peer, msg());
    assert!(
        q.queued && q.dial.is_none(),
        "queued for later, no dial while closing"
    );
    assert!(
        !conns.queue_existing(&peer, msg()).queued,
        "noconnect: not queued"
    );
    let Err((waiting, None)) = conns.wait_up(&peer) else {
        panic!("connect waits while the nodedown is delivered");
    };
    // A new connection from the peer meanwhile must wait for the old one's end.
    let successor = alive(&conns, &us, &peer);
    assert!(
        !conns.failed(&peer, successor),
        "its failure leaves the entry"
    );
    let ClosedOutcome::Down(Some(dial)) = conns.closed(&peer, id) else {
        panic!("the waiting connect gets a new dial");
    };
    assert!(conns.owns_pending(&peer, dial));
    let kill = Arc::new(Notify::new());
    let mut rx = establish(&conns, &peer, dial, kill).expect("the new dial comes up");
    assert_eq!(waiting.await, Ok(true));
    assert!(conns.up_info(&peer).is_some());
    assert!(
        rx.try_recv().is_ok(),
        "the message sent while closing goes out"
    );
    assert!(rx.try_recv().is_err());
}

/// A connection replaced while its nodedown is delivered hands the entry, and the
/// callers of `connect` that came meanwhile, to its successor.
#[tokio::test]
async fn a_successor_inherits_the_connects_waiting_on_a_closing_entry() {
    let conns = Connections::default();
    let (us, peer) = (Atom::new("us@h"), Atom::new("peer@h"));
    let (old, _kill) = up(&conns, &peer);
    let new = alive(&conns, &us, &peer);
    assert_eq!(conns.closing(&peer, old), Some(true));
    let Err((waiting, None)) = conns.wait_up(&peer) else {
        panic!("connect waits");
    };
    assert!(matches!(
        conns.closed(&peer, old),
        ClosedOutcome::Replaced(None)
    ));
    assert!(establish(&conns, &peer, new, Arc::new(Notify::new())).is_some());
    assert_eq!(waiting.await, Ok(true));
}

fn msg() -> Outgoing {
    use crate::proto::control::ControlMessage;
    use crate::term::Pid;
    Outgoing {
        control: ControlMessage::Send {
            to: Pid::new(Atom::new("peer@h"), 1, 0, 1),
            token: None,
        },
        payload: None,
        waits: false,
    }
}

/// Sends go through the published snapshot while a connection is up; once it
/// ends, the next send sees no route and starts a new attempt instead of being
/// lost to the closed queue.
#[test]
fn sends_follow_connections_coming_and_going() {
    let conns = Connections::default();
    let peer = Atom::new("peer@h");
    let AcceptDecision::Status(Status::Ok, Some(id)) =
        conns.accept_status(&Atom::new("us@h"), &peer)
    else {
        panic!("fresh accept gets ok");
    };
    let mut rx = establish(&conns, &peer, id, Arc::new(Notify::new())).expect("up");
    assert!(conns.routes.load().contains_key(&peer));
    let q = conns.queue(&peer, msg());
    assert!(q.queued && q.dial.is_none());
    assert!(rx.try_recv().is_ok(), "queued for the up connection");
    assert_eq!(conns.closing(&peer, id), Some(false));
    assert!(matches!(conns.closed(&peer, id), ClosedOutcome::Down(None)));
    assert!(conns.routes.load().is_empty());
    assert!(!conns.queue_existing(&peer, msg()).queued);
    let q = conns.queue(&peer, msg());
    assert!(q.queued, "queued on the new pending entry");
    let attempt = q.dial.expect("a new attempt is dialled");
    assert!(conns.owns_pending(&peer, attempt));
    assert!(conns.queue_existing(&peer, msg()).queued);
    assert!(conns.failed(&peer, attempt));
    assert!(conns.routes.load().is_empty());
}

/// A sender holding a snapshot taken before the connection went down meets a closed
/// queue and falls back to the locked path, which queues the message for the
/// successor that took the entry over.
#[test]
fn a_stale_snapshot_falls_back_to_the_current_entry() {
    let conns = Connections::default();
    let (us, peer) = (Atom::new("us@h"), Atom::new("peer@h"));
    let (old, _kill) = up(&conns, &peer);
    let new = alive(&conns, &us, &peer);
    let stale = conns.routes.load_full();
    assert_eq!(conns.closing(&peer, old), Some(true));
    assert!(matches!(
        conns.closed(&peer, old),
        ClosedOutcome::Replaced(None)
    ));
    // Put the old snapshot back, as a sender that loaded it just before the
    // change would still see it.
    conns.routes.store(stale);
    let q = conns.queue(&peer, msg());
    assert!(q.queued && q.dial.is_none());
    let mut rx = establish(&conns, &peer, new, Arc::new(Notify::new())).expect("successor up");
    assert!(rx.try_recv().is_ok(), "the message went to the successor");
}

/// A replacing accept that fails (peer answered `false`, bad digest) leaves the up
/// connection as it was.
#[test]
fn failed_replacement_keeps_the_old_connection() {
    let conns = Connections::default();
    let (us, peer) = (Atom::new("us@h"), Atom::new("peer@h"));
    let (old, _kill) = up(&conns, &peer);
    let new = alive(&conns, &us, &peer);
    assert!(!conns.failed(&peer, new));
    assert_eq!(conns.up_info(&peer).map(|i| i.id), Some(old));
    assert!(matches!(
        conns.accept_status(&us, &peer),
        AcceptDecision::Status(Status::Alive, Some(_))
    ));
    assert_eq!(conns.closing(&peer, old), Some(true));
    assert!(matches!(
        conns.closed(&peer, old),
        ClosedOutcome::Replaced(None)
    ));
}

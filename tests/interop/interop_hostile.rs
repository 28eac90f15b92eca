//! The hostile-peer suite (docs/hostile.md): replayed challenge replies, impostors of a
//! connected BEAM node, odd node names, slowloris after the handshake, and EPMD
//! slowloris, floods and duplicate registrations. In every test a real `erl` peer is
//! checked before and after the attack, and the attacker gets no nodeup.
//! Garbage and oversized frames and slow handshakes are in `interop_robustness` and
//! `interop_slowloris`.

use crate::common::*;
use crate::interop_robustness::{expect_closed, raw_peer};
use crate::interop_slowloris::time_to_close;
use beamnode::net::{EpmdClient, EpmdServer, EpmdServerConfig};
use beamnode::proto::handshake::messages::Challenge;
use beamnode::proto::handshake::{
    gen_digest, Cookie, Initiator, InitiatorConfig, InitiatorNext, LocalName,
};
use beamnode::proto::DistFlags;
use beamnode::{Atom, Node, NodeEvent};
use std::time::{Duration, Instant};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;
use tokio::sync::broadcast;

const T: Duration = Duration::from_secs(20);

/// Reads one 2-byte-framed handshake message; `None` once the node closed the socket.
async fn read_hs_frame(s: &mut TcpStream) -> Option<Vec<u8>> {
    let mut len = [0u8; 2];
    match tokio::time::timeout(T, s.read_exact(&mut len)).await {
        Err(_) => panic!("the node neither answered nor closed within {T:?}"),
        Ok(Err(_)) => return None,
        Ok(Ok(_)) => {}
    }
    let mut body = vec![0u8; usize::from(u16::from_be_bytes(len))];
    match tokio::time::timeout(T, s.read_exact(&mut body)).await {
        Err(_) => panic!("the node stalled mid-message"),
        Ok(Err(_)) => None,
        Ok(Ok(_)) => Some(body),
    }
}

fn framed(body: &[u8]) -> Vec<u8> {
    let mut out = (body.len() as u16).to_be_bytes().to_vec();
    out.extend_from_slice(body);
    out
}

/// Splits bytes the initiator wrote into message bodies.
fn split_frames(mut bytes: &[u8]) -> Vec<Vec<u8>> {
    let mut out = Vec::new();
    while bytes.len() >= 2 {
        let n = usize::from(u16::from_be_bytes([bytes[0], bytes[1]]));
        out.push(bytes[2..2 + n].to_vec());
        bytes = &bytes[2 + n..];
    }
    out
}

fn initiator(node: &Node, name: &str, cookie: &str, reconnecting: bool) -> (Initiator, Vec<u8>) {
    Initiator::start(InitiatorConfig {
        our_name: LocalName::Static(name.to_string()),
        our_creation: 9,
        our_flags: DistFlags::IMPLEMENTED | DistFlags::PUBLISHED,
        cookie: Cookie::new(cookie).unwrap(),
        our_challenge: 0x0bad_cafe,
        peer_name: node.name().as_str().to_string(),
        reconnecting,
    })
    .unwrap()
}

enum Outcome {
    Established(TcpStream),
    /// The node closed the socket (without an acknowledgement).
    Closed,
    /// We answered `false` to `alive`, then the node closed.
    Declined,
}

/// A handshake driven by the genuine initiator state machine, recording every message
/// the node sent (`received`) and every byte we wrote (`sent`).
struct Run {
    received: Vec<Vec<u8>>,
    sent: Vec<u8>,
    outcome: Outcome,
}

async fn handshake(node: &Node, name: &str, cookie: &str, reconnecting: bool) -> Run {
    let mut s = TcpStream::connect(("127.0.0.1", node.listen_port()))
        .await
        .unwrap();
    let (mut st, hello) = initiator(node, name, cookie, reconnecting);
    s.write_all(&hello).await.unwrap();
    let mut run = Run {
        received: Vec::new(),
        sent: hello,
        outcome: Outcome::Closed,
    };
    loop {
        let Some(body) = read_hs_frame(&mut s).await else {
            return run;
        };
        run.received.push(body.clone());
        let step = st
            .handle(&framed(&body))
            .expect("the node's message is valid");
        let _ = s.write_all(&step.send).await;
        run.sent.extend_from_slice(&step.send);
        match step.next {
            InitiatorNext::Continue(next) => st = next,
            InitiatorNext::Established(_) => {
                run.outcome = Outcome::Established(s);
                return run;
            }
            InitiatorNext::AliveDeclined => {
                expect_closed(&mut s).await;
                run.outcome = Outcome::Declined;
                return run;
            }
            InitiatorNext::Nok => panic!("unexpected nok"),
        }
    }
}

/// The challenge number in the node's `'N'` challenge among `received`.
fn challenge_of(received: &[Vec<u8>]) -> u32 {
    let body = received
        .iter()
        .find(|b| b.first() == Some(&b'N'))
        .expect("a challenge");
    Challenge::decode(body).unwrap().challenge
}

/// Every event so far (non-blocking).
fn drain(events: &mut broadcast::Receiver<NodeEvent>) -> Vec<NodeEvent> {
    let mut out = Vec::new();
    loop {
        match events.try_recv() {
            Ok(e) => out.push(e),
            Err(broadcast::error::TryRecvError::Lagged(_)) => continue,
            Err(_) => return out,
        }
    }
}

fn nodeups_of(events: &[NodeEvent], who: &str) -> usize {
    events
        .iter()
        .filter(|e| matches!(e, NodeEvent::NodeUp { node, .. } if node.as_str() == who))
        .count()
}

fn nodedowns_of(events: &[NodeEvent], who: &str) -> usize {
    events
        .iter()
        .filter(|e| matches!(e, NodeEvent::NodeDown { node, .. } if node.as_str() == who))
        .count()
}

/// Waits (bounded) for an event matching `pred`, keeping every event seen in `seen`.
async fn wait_event(
    events: &mut broadcast::Receiver<NodeEvent>,
    seen: &mut Vec<NodeEvent>,
    what: &str,
    pred: impl Fn(&NodeEvent) -> bool,
) {
    let deadline = Instant::now() + T;
    loop {
        let left = deadline.saturating_duration_since(Instant::now());
        match tokio::time::timeout(left, events.recv()).await {
            Err(_) => panic!("no {what} within {T:?}; events: {seen:?}"),
            Ok(Err(broadcast::error::RecvError::Lagged(_))) => continue,
            Ok(Err(e)) => panic!("event stream ended: {e}"),
            Ok(Ok(e)) => {
                let hit = pred(&e);
                seen.push(e);
                if hit {
                    return;
                }
            }
        }
    }
}

/// The connected BEAM peer still answers, from our side.
async fn assert_steady(node: &Node, steady: &Atom) {
    assert!(
        node.nodes().contains(steady),
        "the BEAM peer {steady} stayed connected"
    );
    assert!(node.ping(steady).await, "the BEAM peer {steady} answers");
}

/// A new BEAM node reaches `node` (`net_adm:ping` → pong).
async fn assert_fresh_erl_pings(node: &Node, epmd: u16) {
    let eval = format!(
        r#"io:format("PING ~p~n", [net_adm:ping('{}')]), halt()."#,
        node.name()
    );
    let mut later = Erl::start(&unique("later"), COOKIE, epmd, &eval);
    assert_eq!(later.expect("PING ", T).await, "pong");
}

/// A node, a BEAM peer connected to it, and an event subscription taken afterwards.
async fn setup(
    tweak: impl FnOnce(beamnode::NodeConfig) -> beamnode::NodeConfig,
    erl_extra: &[&str],
) -> (u16, Node, Erl, Atom, broadcast::Receiver<NodeEvent>) {
    let epmd = private_epmd().await;
    let node = rust_node_with("rust", epmd, COOKIE, tweak).await;
    let steady = Erl::idle("steady", epmd, erl_extra).await;
    let steady_node = Atom::new(&steady.name);
    let mut events = node.subscribe();
    assert!(node.connect(&steady_node).await);
    // Past the steady peer's own nodeup: from here on, events are the attackers'.
    let mut seen = Vec::new();
    wait_event(
        &mut events,
        &mut seen,
        "nodeup of the BEAM peer",
        |e| matches!(e, NodeEvent::NodeUp { node, .. } if *node == steady_node),
    )
    .await;
    assert_steady(&node, &steady_node).await;
    (epmd, node, steady, steady_node, events)
}

/// 1. A challenge reply recorded from a genuine handshake is useless on another
///    connection: each connection gets a fresh challenge, so the replay is refused
///    (closed without an acknowledgement, no nodeup) — under another name while the
///    first connection is up, and under the same name after it went down.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn replayed_challenge_reply_is_refused() {
    let (epmd, node, _steady, steady_node, mut events) = setup(|c| c, &[]).await;
    let mut seen = Vec::new();

    // A genuine handshake with the right cookie; record the node's challenge and our
    // challenge reply.
    let first = format!("{}@localhost", unique("genuine"));
    let run = handshake(&node, &first, COOKIE, false).await;
    let Outcome::Established(genuine) = run.outcome else {
        panic!("the genuine handshake failed");
    };
    let c1 = challenge_of(&run.received);
    let reply = split_frames(&run.sent)
        .into_iter()
        .find(|b| b.first() == Some(&b'r'))
        .expect("we sent a challenge reply");
    wait_event(
        &mut events,
        &mut seen,
        "nodeup of the genuine peer",
        |e| matches!(e, NodeEvent::NodeUp { node, .. } if node.as_str() == first),
    )
    .await;

    // Replays the recorded reply on a new connection under `name`; returns the node's
    // challenge on that connection.
    let replay = |name: String| {
        let node = node.clone();
        let reply = reply.clone();
        async move {
            let mut s = TcpStream::connect(("127.0.0.1", node.listen_port()))
                .await
                .unwrap();
            let (_, hello) = initiator(&node, &name, COOKIE, false);
            s.write_all(&hello).await.unwrap();
            assert_eq!(read_hs_frame(&mut s).await.as_deref(), Some(&b"sok"[..]));
            let challenge = read_hs_frame(&mut s).await.expect("a challenge");
            let c = Challenge::decode(&challenge).unwrap().challenge;
            s.write_all(&framed(&reply)).await.unwrap();
            if let Some(body) = read_hs_frame(&mut s).await {
                panic!("the replayed reply was answered with {body:?}");
            }
            c
        }
    };

    // Another name, while the genuine connection is up.
    let other = format!("{}@localhost", unique("replayer"));
    let c2 = replay(other.clone()).await;
    assert_ne!(c1, c2, "each connection gets a fresh challenge");

    // The same name, after the genuine connection went down.
    drop(genuine);
    wait_event(
        &mut events,
        &mut seen,
        "nodedown of the genuine peer",
        |e| matches!(e, NodeEvent::NodeDown { node, .. } if node.as_str() == first),
    )
    .await;
    let c3 = replay(first.clone()).await;
    assert_ne!(c1, c3);
    assert_ne!(c2, c3);

    tokio::time::sleep(Duration::from_millis(300)).await;
    seen.extend(drain(&mut events));
    assert_eq!(nodeups_of(&seen, &first), 1, "{seen:?}");
    assert_eq!(nodeups_of(&seen, &other), 0, "{seen:?}");
    assert!(!node
        .nodes()
        .iter()
        .any(|n| n.as_str() == first || n.as_str() == other));
    assert_eq!(nodedowns_of(&seen, steady_node.as_str()), 0, "{seen:?}");
    assert_steady(&node, &steady_node).await;
    assert_fresh_erl_pings(&node, epmd).await;
}

/// 2. A peer claiming the name of a connected BEAM node. The node answers `alive`
///    (OTP's `up_pending` path, docs/protocol.md §2.6) in every case.
///    * wrong cookie, answering `true`: refused at the digest, the real node stays;
///    * right cookie, answering `false`: closed, the real node stays;
///    * right cookie, answering `true`: as in OTP (dist_util `mark_pending` →
///      `do_alive` → digest → `wait_pending`), the old connection is taken down and the
///      claimant's replaces it — the cookie is the only credential. The real node then
///      reconnects and works.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn impostor_of_a_connected_beam_node() {
    let (epmd, node, _steady, steady_node, mut events) = setup(|c| c, &[]).await;
    let name = steady_node.as_str().to_string();
    let mut seen = Vec::new();

    // Wrong cookie.
    let run = handshake(&node, &name, "not_the_cookie", true).await;
    assert_eq!(
        run.received.first().map(Vec::as_slice),
        Some(&b"salive"[..])
    );
    assert!(
        matches!(run.outcome, Outcome::Closed),
        "wrong cookie refused"
    );
    assert!(
        !run.received.iter().any(|b| b.first() == Some(&b'a')),
        "no acknowledgement for a wrong digest"
    );
    tokio::time::sleep(Duration::from_millis(300)).await;
    seen.extend(drain(&mut events));
    assert!(seen.is_empty(), "no nodeup/nodedown at all: {seen:?}");
    assert_steady(&node, &steady_node).await;

    // Right cookie, not reconnecting.
    let run = handshake(&node, &name, COOKIE, false).await;
    assert_eq!(
        run.received.first().map(Vec::as_slice),
        Some(&b"salive"[..])
    );
    assert!(matches!(run.outcome, Outcome::Declined));
    tokio::time::sleep(Duration::from_millis(300)).await;
    seen.extend(drain(&mut events));
    assert!(seen.is_empty(), "no nodeup/nodedown at all: {seen:?}");
    assert_steady(&node, &steady_node).await;

    // Right cookie, claiming to reconnect: takes the name over, as on OTP.
    let run = handshake(&node, &name, COOKIE, true).await;
    assert_eq!(
        run.received.first().map(Vec::as_slice),
        Some(&b"salive"[..])
    );
    let Outcome::Established(taker) = run.outcome else {
        panic!("with the cookie and `true`, OTP lets the claimant replace the connection");
    };
    wait_event(
        &mut events,
        &mut seen,
        "nodedown of the old connection",
        |e| matches!(e, NodeEvent::NodeDown { node, .. } if node.as_str() == name),
    )
    .await;
    wait_event(
        &mut events,
        &mut seen,
        "nodeup of the new connection",
        |e| matches!(e, NodeEvent::NodeUp { node, .. } if node.as_str() == name),
    )
    .await;
    drop(taker);
    wait_event(
        &mut events,
        &mut seen,
        "nodedown of the claimant",
        |e| matches!(e, NodeEvent::NodeDown { node, .. } if node.as_str() == name),
    )
    .await;
    // The real node is still running and registered: it is reached again.
    assert!(node.ping(&steady_node).await, "the real node reconnects");
    assert_steady(&node, &steady_node).await;
    assert_fresh_erl_pings(&node, epmd).await;
}

/// A v6 name message with `name` as raw bytes.
fn name_message(name: &[u8]) -> Vec<u8> {
    let mut body = vec![b'N'];
    body.extend_from_slice(
        &(DistFlags::IMPLEMENTED | DistFlags::PUBLISHED)
            .bits()
            .to_be_bytes(),
    );
    body.extend_from_slice(&9u32.to_be_bytes());
    body.extend_from_slice(&(name.len() as u16).to_be_bytes());
    body.extend_from_slice(name);
    framed(&body)
}

/// 3. Odd node names, accepted or refused as OTP 25's dist_util `is_node_name` decides
///    (`string:split(Name, "@", all)` must give two non-empty parts; the bytes become
///    the atom one Latin-1 character each, at most 255). An accepted name completes the
///    handshake (nodeup under that very name); a refused one is closed before any
///    status, with no nodeup.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn odd_node_names_are_judged_as_otp_does() {
    let (epmd, node, _steady, steady_node, mut events) = setup(|c| c, &[]).await;
    let euro = "€".repeat(84); // 252 bytes
    let cases: Vec<(&str, Vec<u8>, bool)> = vec![
        ("empty", b"".to_vec(), false),
        ("no @", b"nohost".to_vec(), false),
        ("empty host", b"name@".to_vec(), false),
        ("empty alive", b"@localhost".to_vec(), false),
        ("two @", b"a@b@localhost".to_vec(), false),
        ("only @", b"@".to_vec(), false),
        ("space", b"has space@localhost".to_vec(), true),
        ("NUL byte", b"nul\0byte@localhost".to_vec(), true),
        ("invalid UTF-8", b"bad\xff\xfe@localhost".to_vec(), true),
        (
            "255 bytes of multibyte",
            format!("{euro}@lo").into_bytes(),
            true,
        ),
        (
            "256 bytes of multibyte",
            format!("{euro}@loc").into_bytes(),
            false,
        ),
    ];
    let cookie = Cookie::new(COOKIE).unwrap();
    for (what, name, accepted) in cases {
        let mut s = TcpStream::connect(("127.0.0.1", node.listen_port()))
            .await
            .unwrap();
        s.write_all(&name_message(&name)).await.unwrap();
        let status = read_hs_frame(&mut s).await;
        if !accepted {
            assert_eq!(status, None, "{what}: refused before any status");
            continue;
        }
        assert_eq!(status.as_deref(), Some(&b"sok"[..]), "{what}: accepted");
        let c = Challenge::decode(&read_hs_frame(&mut s).await.expect("challenge"))
            .unwrap()
            .challenge;
        let mut reply = vec![b'r'];
        reply.extend_from_slice(&7u32.to_be_bytes());
        reply.extend_from_slice(&gen_digest(c, &cookie));
        s.write_all(&framed(&reply)).await.unwrap();
        let ack = read_hs_frame(&mut s).await.expect("acknowledgement");
        assert_eq!(ack.first(), Some(&b'a'), "{what}");
        // The node name is the bytes read as Latin-1.
        let expected: String = name.iter().map(|&b| char::from(b)).collect();
        let mut seen = Vec::new();
        wait_event(
            &mut events,
            &mut seen,
            &format!("nodeup of {what}"),
            |e| matches!(e, NodeEvent::NodeUp { node, .. } if node.as_str() == expected),
        )
        .await;
        drop(s);
        wait_event(
            &mut events,
            &mut seen,
            &format!("nodedown of {what}"),
            |e| matches!(e, NodeEvent::NodeDown { node, .. } if node.as_str() == expected),
        )
        .await;
        assert_eq!(nodedowns_of(&seen, steady_node.as_str()), 0, "{seen:?}");
    }
    tokio::time::sleep(Duration::from_millis(300)).await;
    let rest = drain(&mut events);
    assert!(
        !rest.iter().any(|e| matches!(e, NodeEvent::NodeUp { .. })),
        "no nodeup for a refused name: {rest:?}"
    );
    assert_steady(&node, &steady_node).await;
    assert_fresh_erl_pings(&node, epmd).await;
}

/// How long after `since` the node closed the read half (discarding its ticks).
async fn closed_after(rd: &mut tokio::net::tcp::OwnedReadHalf, since: Instant) -> Duration {
    let mut buf = [0u8; 4096];
    tokio::time::timeout(T, async {
        loop {
            match rd.read(&mut buf).await {
                Ok(0) | Err(_) => return since.elapsed(),
                Ok(_) => {}
            }
        }
    })
    .await
    .expect("the node never closed the connection")
}

/// 4. Slowloris after the handshake, on a node with `net_ticktime` 4 s and a 1 MiB
///    frame limit: a peer trickling a frame header one byte a second, then stalling,
///    is cut off by the tick timeout (`net_tick_timeout`); a peer declaring a 100 MB
///    frame is cut off as soon as the length is visible, however slowly it sends.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn slowloris_after_the_handshake_is_bounded() {
    let ticktime = Duration::from_secs(4);
    let (epmd, node, _steady, steady_node, mut events) = setup(
        |mut c| {
            c.max_frame_size = 1024 * 1024;
            c.net_ticktime(ticktime)
        },
        &["-kernel", "net_ticktime", "4"],
    )
    .await;
    let mut seen = Vec::new();

    // a) Three bytes of a header, one a second, then nothing.
    let name = format!("{}@localhost", unique("trickle"));
    let (mut rd, mut wr) = raw_peer(&node, &name).await.into_split();
    for b in [0u8, 0, 1] {
        wr.write_all(&[b]).await.unwrap();
        tokio::time::sleep(Duration::from_secs(1)).await;
    }
    let last_byte = Instant::now() - Duration::from_secs(1);
    let after = closed_after(&mut rd, last_byte).await;
    eprintln!("trickling peer closed {after:?} after its last byte");
    // OTP's detection window is 3/4..5/4 of net_ticktime (docs/protocol.md §4.1).
    assert!(
        after >= Duration::from_secs(2) && after <= Duration::from_secs(8),
        "closed {after:?} after the last byte (net_ticktime 4 s)"
    );
    wait_event(&mut events, &mut seen, "nodedown of the trickler", |e| {
        matches!(e, NodeEvent::NodeDown { node, reason } if node.as_str() == name
            && reason.as_str() == "net_tick_timeout")
    })
    .await;
    drop(wr);

    // b) A 100 MB frame announced, its body sent a byte every 200 ms.
    let name = format!("{}@localhost", unique("huge"));
    let (mut rd, mut wr) = raw_peer(&node, &name).await.into_split();
    wr.write_all(&100_000_000u32.to_be_bytes()).await.unwrap();
    let announced = Instant::now();
    let slow = tokio::spawn(async move {
        for _ in 0..100 {
            if wr.write_all(&[0]).await.is_err() {
                return;
            }
            tokio::time::sleep(Duration::from_millis(200)).await;
        }
    });
    let after = closed_after(&mut rd, announced).await;
    slow.abort();
    assert!(
        after < Duration::from_secs(2),
        "a 100 MB frame over the 1 MiB limit was held for {after:?}"
    );
    wait_event(
        &mut events,
        &mut seen,
        "nodedown of the huge-frame peer",
        |e| matches!(e, NodeEvent::NodeDown { node, .. } if node.as_str() == name),
    )
    .await;

    assert_eq!(nodedowns_of(&seen, steady_node.as_str()), 0, "{seen:?}");
    assert_steady(&node, &steady_node).await;
    assert_fresh_erl_pings(&node, epmd).await;
}

/// 5. The embedded EPMD under attack (`max_connections` 8, `packet_timeout` 1 s): half
///    a request is dropped at the packet timeout; a flood past the connection limit is
///    closed at once and the rest at the packet timeout; a duplicate registration of a
///    name a real `erl` holds is refused and the real registration stays. Real `erl`
///    nodes register and are found before and after, and reach a beamnode node.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn epmd_slowloris_flood_and_duplicate_registration() {
    let server = EpmdServer::bind_with_config(
        "127.0.0.1:0".parse().unwrap(),
        EpmdServerConfig {
            packet_timeout: Duration::from_secs(1),
            max_connections: 8,
            ..EpmdServerConfig::default()
        },
    )
    .await
    .unwrap();
    let addr = server.local_addr();
    let epmd = addr.port();
    let _server = server.spawn();
    let client = EpmdClient::new("127.0.0.1", epmd).with_timeout(Duration::from_secs(5));

    // A real erl and a beamnode node registered (two of the eight slots, for good).
    let first = Erl::idle("first", epmd, &["-start_epmd", "false"]).await;
    let first_alive = first.name.split('@').next().unwrap().to_string();
    let node = rust_node("rust", epmd, COOKIE).await;
    let first_port = client
        .port_please(&first_alive)
        .await
        .unwrap()
        .expect("the real erl is registered")
        .port;
    let first_node = Atom::new(&first.name);
    assert!(node.ping(&first_node).await);

    // Half a request, then silence: closed at the packet timeout.
    let mut s = TcpStream::connect(addr).await.unwrap();
    s.write_all(&[0, 5, 122, b'a']).await.unwrap();
    let t = time_to_close(&mut s, Duration::from_secs(10))
        .await
        .expect("the half request was never dropped");
    assert!(t < Duration::from_secs(3), "half a request held for {t:?}");

    // A flood of 30 silent connections: 6 slots are free, the rest are closed at once.
    let mut flood = Vec::new();
    for _ in 0..30 {
        flood.push(TcpStream::connect(addr).await.unwrap());
    }
    let mut refused = 0;
    let mut held = Vec::new();
    for mut s in flood {
        match time_to_close(&mut s, Duration::from_millis(200)).await {
            Some(_) => refused += 1,
            None => held.push(s),
        }
    }
    eprintln!("EPMD flood: {refused} refused at once, {} held", held.len());
    assert!(refused >= 24, "only {refused} of 30 refused at once");
    for mut s in held {
        assert!(
            time_to_close(&mut s, Duration::from_secs(5))
                .await
                .is_some(),
            "a silent EPMD connection outlived the packet timeout"
        );
    }

    // A duplicate registration of the real erl's name is refused; its own stays.
    let dup = client.register(&first_alive, 1, false).await;
    assert!(dup.is_err(), "duplicate registration accepted: {dup:?}");
    let info = client.port_please(&first_alive).await.unwrap();
    assert_eq!(info.map(|i| i.port), Some(first_port));

    // Real nodes still register, find each other and reach beamnode.
    let eval = format!(
        r#"io:format("PING ~p ~p~n", [net_adm:ping('{}'), net_adm:ping('{}')]), halt()."#,
        first.name,
        node.name()
    );
    let mut later = Erl::start_with(
        &unique("later"),
        COOKIE,
        epmd,
        &eval,
        &["-start_epmd", "false"],
    );
    assert_eq!(later.expect("PING ", T).await, "pong pong");
    assert!(node.ping(&first_node).await);
    let (_, names) = client.names().await.unwrap();
    assert!(names.iter().any(|(n, _)| *n == first_alive), "{names:?}");
}

/// 6. Nesting depth is a setting (`NodeConfig::max_term_depth`): a real BEAM node sends
///    a message exactly at the limit (delivered) and one a level deeper (refused). Only
///    that connection closes, with a log line naming the limit; the steady BEAM peer
///    keeps working and the sender reconnects and is heard afterwards.
#[tokio::test(flavor = "current_thread")]
async fn nesting_depth_over_the_limit_closes_only_that_connection() {
    // current_thread: the log capture (tests/common/tls.rs) is a thread-local default.
    let log = crate::common::tls::Log::default();
    let _guard = log.install();
    const LIMIT: usize = 1000;
    let (epmd, node, _steady, steady_node, mut events) =
        setup(|c| c.max_term_depth(LIMIT), &[]).await;
    let mut sink = node.process();
    sink.register("sink").unwrap();
    let rust = node.name().as_str().to_string();
    // `Nest(N, x)` is x inside N one-element tuples: N open containers.
    let eval = format!(
        r#"Rust = '{rust}',
           Nest = fun F(0, T) -> T; F(N, T) -> F(N - 1, {{T}}) end,
           true = net_kernel:connect_node(Rust),
           erlang:monitor_node(Rust, true),
           {{sink, Rust}} ! Nest({LIMIT}, at_limit),
           {{sink, Rust}} ! Nest({over}, over_limit),
           receive {{nodedown, Rust}} -> io:format("DOWN~n") after 15000 -> io:format("DOWN none~n") end,
           true = net_kernel:connect_node(Rust),
           {{sink, Rust}} ! back,
           io:format("SENT~n"),
           receive stop -> ok after 30000 -> ok end,
           halt()."#,
        over = LIMIT + 1
    );
    let deep_name = unique("deep");
    let mut deep = Erl::start(&deep_name, COOKIE, epmd, &eval);
    // The message at the limit arrives whole.
    let mut got = sink.receive(Some(T)).await.expect("message at the limit");
    let mut depth = 0;
    while let beamnode::Term::Tuple(items) = got {
        depth += 1;
        got = items.into_vec().into_iter().next().expect("one element");
    }
    assert_eq!(depth, LIMIT);
    assert_eq!(got, beamnode::Term::atom("at_limit"));
    // The deeper one closes that connection: BEAM sees nodedown, we log why.
    assert_eq!(deep.expect("DOWN", T).await, "");
    log.expect(&[
        "closing connection",
        &format!("nested more than {LIMIT} levels"),
    ])
    .await;
    let mut seen = Vec::new();
    wait_event(
        &mut events,
        &mut seen,
        "nodedown of the deep sender",
        |e| matches!(e, NodeEvent::NodeDown { node, .. } if node.as_str().starts_with(&deep_name)),
    )
    .await;
    // The same node reconnects and is heard; nothing else was delivered meanwhile.
    assert_eq!(deep.expect("SENT", T).await, "");
    assert_eq!(
        sink.receive(Some(T))
            .await
            .expect("a message after reconnecting"),
        beamnode::Term::atom("back")
    );
    assert_steady(&node, &steady_node).await;
    assert_fresh_erl_pings(&node, epmd).await;
}

/// 7. EPMD registrations are a setting (`EpmdServerConfig::max_names`,
///    `beamnode epmd --max-names`): with room for two names, a real `erl` and a
///    beamnode node register; a third registration (a real `erl`, then a raw ALIVE2) is
///    refused with a log line while the two stay registered and reachable; once the
///    beamnode node leaves, a real `erl` takes the freed place.
#[tokio::test(flavor = "current_thread")]
async fn epmd_registration_limit_refuses_only_the_newcomer() {
    let log = crate::common::tls::Log::default();
    let _guard = log.install();
    let server = EpmdServer::bind_with_config(
        "127.0.0.1:0".parse().unwrap(),
        EpmdServerConfig {
            max_names: 2,
            ..EpmdServerConfig::default()
        },
    )
    .await
    .unwrap();
    let epmd = server.local_addr().port();
    let _server = server.spawn();
    let client = EpmdClient::new("127.0.0.1", epmd).with_timeout(Duration::from_secs(5));
    let first = Erl::idle("first", epmd, &["-start_epmd", "false"]).await;
    let first_node = Atom::new(&first.name);
    let node = rust_node("rust", epmd, COOKIE).await;

    // A third real node cannot register, so its distribution does not start.
    let mut third = Erl::start_with(
        &unique("third"),
        COOKIE,
        epmd,
        r#"io:format("UP~n"), halt()."#,
        &["-start_epmd", "false"],
    );
    assert!(
        third.wait_exit(T).await,
        "the third erl neither stopped nor came up"
    );
    // Give the output threads a moment to pass on the last lines.
    tokio::time::sleep(Duration::from_millis(200)).await;
    let printed = third.drain_output().to_vec();
    assert!(
        !printed.iter().any(|l| l == "UP"),
        "a third name was registered: {printed:?}"
    );
    log.expect(&["ALIVE2_REQ refused", "2 names are registered"])
        .await;
    let raw = client.register("raw_third", 1, false).await;
    assert!(raw.is_err(), "third registration accepted: {raw:?}");

    // The two registered nodes are untouched.
    let (_, names) = client.names().await.unwrap();
    assert_eq!(names.len(), 2, "{names:?}");
    assert!(node.ping(&first_node).await);

    // The beamnode node leaves; its place is free for a real node.
    let rust_alive = node.name().as_str().split('@').next().unwrap().to_string();
    node.stop(Duration::from_secs(5)).await;
    drop(node);
    let deadline = Instant::now() + T;
    loop {
        let (_, names) = client.names().await.unwrap();
        if !names.iter().any(|(n, _)| *n == rust_alive) {
            break;
        }
        assert!(Instant::now() < deadline, "{rust_alive} stayed registered");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let eval = format!(
        r#"io:format("PING ~p~n", [net_adm:ping('{}')]), halt()."#,
        first.name
    );
    let mut later = Erl::start_with(
        &unique("later"),
        COOKIE,
        epmd,
        &eval,
        &["-start_epmd", "false"],
    );
    assert_eq!(later.expect("PING ", T).await, "pong");
}

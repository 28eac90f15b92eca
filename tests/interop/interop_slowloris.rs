//! Slow and idle handshakes: a peer trickling its name message is cut off at the
//! handshake deadline, a flood of idle connections past `max_pending_handshakes` is
//! closed at once, and real BEAM peers — one connected before the flood, one
//! connecting after it — keep working.

use crate::common::*;
use beamnode::Atom;
use std::time::{Duration, Instant};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

const T: Duration = Duration::from_secs(20);

/// How long until the peer (a node or an EPMD) closes `s`, reading and discarding
/// whatever it sends; `None` if it stays open past `limit`.
pub(crate) async fn time_to_close(s: &mut TcpStream, limit: Duration) -> Option<Duration> {
    let t0 = Instant::now();
    let mut buf = [0u8; 256];
    tokio::time::timeout(limit, async {
        loop {
            match s.read(&mut buf).await {
                Ok(0) | Err(_) => return t0.elapsed(),
                Ok(_) => {}
            }
        }
    })
    .await
    .ok()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn trickled_and_flooded_handshakes_are_bounded() {
    let epmd = private_epmd().await;
    let node = rust_node_with("rust", epmd, COOKIE, |c| {
        c.setup_time(Duration::from_secs(1))
            .handshake_limits(8, Duration::from_secs(2))
    })
    .await;
    let addr = ("127.0.0.1", node.listen_port());

    // A BEAM peer connected before anything else happens.
    let mut steady = Erl::idle("steady", epmd, &[]).await;
    let steady_node = Atom::new(&steady.name);
    assert!(node.connect(&steady_node).await);

    // 1. A name message trickled one byte every 400 ms (each step stays under the
    //    1 s step limit): the whole handshake is cut off at its 2 s deadline.
    let s = TcpStream::connect(addr).await.unwrap();
    let (mut rd, mut wr) = s.into_split();
    let t0 = Instant::now();
    let trickle = tokio::spawn(async move {
        // A v6 name message for `evil@localhost` (29 bytes after the length).
        let mut msg = vec![
            0, 29, b'N', 0, 0, 0, 0x0d, 0x07, 0xdf, 0x7f, 0xbd, 0, 0, 0, 1, 0, 14,
        ];
        msg.extend_from_slice(b"evil@localhost");
        for b in msg {
            if wr.write_all(&[b]).await.is_err() {
                break;
            }
            tokio::time::sleep(Duration::from_millis(400)).await;
        }
    });
    let mut buf = [0u8; 64];
    let closed_after = tokio::time::timeout(T, async {
        loop {
            match rd.read(&mut buf).await {
                Ok(0) | Err(_) => return t0.elapsed(),
                Ok(_) => {}
            }
        }
    })
    .await
    .expect("the trickling handshake was never closed");
    trickle.abort();
    eprintln!("trickle closed after {closed_after:?}");
    assert!(
        closed_after < Duration::from_millis(3500),
        "the trickling handshake was held for {closed_after:?} (deadline 2 s)"
    );

    // 2. 40 connections that send nothing: past the 8 slots they are closed at once.
    let mut idle = Vec::new();
    for _ in 0..40 {
        idle.push(TcpStream::connect(addr).await.unwrap());
    }
    let mut closed_at_once = 0;
    let mut held = Vec::new();
    for mut s in idle {
        match time_to_close(&mut s, Duration::from_millis(300)).await {
            Some(_) => closed_at_once += 1,
            None => held.push(s),
        }
    }
    eprintln!("refused at once: {closed_at_once}, held: {}", held.len());
    assert!(
        closed_at_once >= 32,
        "only {closed_at_once} of 40 idle connections were refused at once"
    );
    // The held ones end at the handshake deadline, freeing their slots.
    for mut s in held {
        assert!(
            time_to_close(&mut s, Duration::from_secs(5))
                .await
                .is_some(),
            "an idle handshake outlived its deadline"
        );
    }

    // 3. Real BEAM peers still work: the one from before, and a new one.
    assert!(
        node.nodes().contains(&steady_node),
        "the steady peer stayed"
    );
    assert!(node.ping(&steady_node).await);
    let eval = format!(
        r#"io:format("PING ~p~n", [net_adm:ping('{}')]), halt()."#,
        node.name()
    );
    let mut later = Erl::start(&unique("later"), COOKIE, epmd, &eval);
    assert_eq!(later.expect("PING ", T).await, "pong");
    steady.kill9();
}

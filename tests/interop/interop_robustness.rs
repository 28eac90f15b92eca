//! Hostile input: garbage, malformed and oversized frames close only the offending
//! connection; a real BEAM peer connected at the same time keeps working.

use crate::common::*;
use beamnode::proto::handshake::{Cookie, Initiator, InitiatorConfig, InitiatorNext, LocalName};
use beamnode::proto::DistFlags;
use beamnode::{Atom, Node};
use std::time::Duration;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

const T: Duration = Duration::from_secs(20);

/// A raw peer that completes a genuine handshake with `node`, then lets the test write
/// whatever bytes it likes.
pub(crate) async fn raw_peer(node: &Node, name: &str) -> TcpStream {
    let mut s = TcpStream::connect(("127.0.0.1", node.listen_port()))
        .await
        .unwrap();
    let (mut st, hello) = Initiator::start(InitiatorConfig {
        our_name: LocalName::Static(name.to_string()),
        our_creation: 7,
        our_flags: DistFlags::IMPLEMENTED | DistFlags::PUBLISHED,
        cookie: Cookie::new(COOKIE).unwrap(),
        our_challenge: 0x1234_5678,
        peer_name: node.name().as_str().to_string(),
        reconnecting: false,
    })
    .unwrap();
    s.write_all(&hello).await.unwrap();
    let mut buf = [0u8; 1024];
    loop {
        let n = tokio::time::timeout(T, s.read(&mut buf))
            .await
            .unwrap()
            .unwrap();
        assert!(n > 0, "node closed during handshake");
        let step = st.handle(&buf[..n]).unwrap();
        s.write_all(&step.send).await.unwrap();
        match step.next {
            InitiatorNext::Continue(next) => st = next,
            InitiatorNext::Established(_) => return s,
            other => panic!("handshake ended: {other:?}"),
        }
    }
}

/// Reads until the node closes the socket; panics if it stays open.
pub(crate) async fn expect_closed(s: &mut TcpStream) {
    let mut buf = [0u8; 4096];
    let closed = tokio::time::timeout(T, async {
        loop {
            match s.read(&mut buf).await {
                Ok(0) | Err(_) => return,
                Ok(_) => continue, // ticks or other traffic
            }
        }
    })
    .await;
    assert!(closed.is_ok(), "node did not close the connection");
}

async fn echo_round_trip(erl_script_name: &str, epmd: u16, r: &str) {
    let eval = format!(
        r#"{{echo, '{r}'}} ! {{self(), alive}},
        receive {{echo, M}} -> io:format("ECHO ~p~n", [M]) after 5000 -> io:format("ECHO timeout~n") end,
        halt()."#
    );
    let mut erl = Erl::start(erl_script_name, COOKIE, epmd, &eval);
    assert_eq!(erl.expect("ECHO ", T).await, "alive");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bad_input_closes_only_that_connection() {
    let epmd = private_epmd().await;
    let node = rust_node("rust", epmd, COOKIE).await;
    beamnode::services::echo::start(&node).unwrap();
    let r = node.name().as_str().to_string();

    // A long-lived real BEAM peer that must not be disturbed.
    let eval = format!(
        r#"R = '{r}', true = net_kernel:connect_node(R), register(tester, self()),
        io:format("READY~n"),
        receive check -> ok after 60000 -> ok end,
        {{echo, R}} ! {{self(), survived}},
        receive {{echo, M}} -> io:format("ECHO ~p~n", [M]) after 5000 -> io:format("ECHO timeout~n") end,
        halt()."#
    );
    let mut steady = Erl::start(&unique("steady"), COOKIE, epmd, &eval);
    steady.expect("READY", T).await;
    let steady_node = Atom::new(&steady.name);
    assert!(eventually(T, || node.nodes().contains(&steady_node)).await);

    // 1. Garbage instead of a handshake.
    let mut s = TcpStream::connect(("127.0.0.1", node.listen_port()))
        .await
        .unwrap();
    s.write_all(b"\x00\x05GET / HTTP/1.1\r\n\r\n")
        .await
        .unwrap();
    expect_closed(&mut s).await;

    // 2. A truncated handshake message that claims to be longer than it is, then EOF.
    let mut s = TcpStream::connect(("127.0.0.1", node.listen_port()))
        .await
        .unwrap();
    s.write_all(&[0x00, 0x40, b'N', 0, 0]).await.unwrap();
    s.shutdown().await.unwrap();
    expect_closed(&mut s).await;

    // 3. Malformed ETF after a genuine handshake.
    let mut s = raw_peer(&node, &format!("{}@localhost", unique("evil"))).await;
    s.write_all(&[0, 0, 0, 5, 131, 68, 0, 255, 255])
        .await
        .unwrap();
    expect_closed(&mut s).await;

    // 4. A control message OTP does not know (op 99).
    let mut s = raw_peer(&node, &format!("{}@localhost", unique("evil"))).await;
    // 131 68 0 | SMALL_TUPLE_EXT arity 1 | SMALL_INTEGER 99
    s.write_all(&[0, 0, 0, 7, 131, 68, 0, 104, 1, 97, 99])
        .await
        .unwrap();
    expect_closed(&mut s).await;

    // 5. A frame length far over the limit.
    let mut s = raw_peer(&node, &format!("{}@localhost", unique("evil"))).await;
    s.write_all(&[0xff, 0xff, 0xff, 0xff, 1, 2, 3])
        .await
        .unwrap();
    expect_closed(&mut s).await;

    // 6. A deeply nested message (a million levels, as OTP accepts) is delivered, not
    //    refused, and does not take the node down.
    let mut s = raw_peer(&node, &format!("{}@localhost", unique("deep"))).await;
    let mut payload = vec![131, 68, 0];
    // REG_SEND {6, FromPid, '', echo} is not needed: send to a name that does not exist,
    // which OTP drops silently; the point is that decoding and dropping survive.
    let from = beamnode::Pid::new(Atom::new("x@localhost"), 1, 0, 7);
    let ctl = beamnode::Term::tuple(vec![
        beamnode::Term::Int(6),
        beamnode::Term::Pid(from),
        beamnode::Term::atom(""),
        beamnode::Term::atom("nobody_here"),
    ]);
    beamnode::etf::encode_body_into(&ctl, &mut payload).unwrap();
    for _ in 0..1_000_000 {
        payload.extend_from_slice(&[108, 0, 0, 0, 1]); // LIST_EXT, one element
    }
    payload.push(106);
    payload.extend(std::iter::repeat_n(106, 1_000_000));
    let mut frame = (payload.len() as u32).to_be_bytes().to_vec();
    frame.extend_from_slice(&payload);
    // The peer name inside the pid does not match the connection's peer: that alone is
    // allowed for REG_SEND (any pid may be the sender).
    s.write_all(&frame).await.unwrap();

    // The steady BEAM peer still works after all of that.
    tokio::time::sleep(Duration::from_millis(500)).await;
    assert!(
        node.nodes().contains(&steady_node),
        "BEAM peer stayed connected"
    );
    let mut me = node.process();
    me.send_named(
        &Atom::new("tester"),
        &steady_node,
        beamnode::Term::atom("check"),
    )
    .await;
    assert_eq!(steady.expect("ECHO ", T).await, "survived");
    echo_round_trip(&unique("later"), epmd, &r).await;
    let _ = me.try_receive();
}

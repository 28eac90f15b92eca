//! The handshake state machines against REAL OTP (`erl`, `epmd`), through a tiny
//! test-only tokio driver (docs/protocol.md §2, §16.3).
//!
//! Every `erl`/`epmd` started here is private: EPMD runs in the foreground on a free
//! port (never 4369, never `-daemon`), `erl` gets `ERL_EPMD_PORT` and
//! `-start_epmd false`, and each child is owned by a guard that kills it on drop.

use crate::common::{free_port, real_epmd, unique, Erl};
use beamnode::proto::handshake::*;
use beamnode::proto::DistFlags;
use std::process::Command;
use std::time::Duration;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use tokio::time::timeout;

/// §3.3 suggested word with PUBLISHED (no atom cache, no fragments).
const FLAGS: DistFlags = DistFlags(0x0000_000D_075F_1FBD);
const STEP: Duration = Duration::from_secs(20);

/// `erl` with a private EPMD; its stdout is collected by [`Erl`].
fn erl(name: &str, epmd_port: u16, args: &[&str]) -> Erl {
    let mut cmd = Command::new("erl");
    cmd.env("ERL_EPMD_PORT", epmd_port.to_string())
        .args(["-start_epmd", "false", "-noshell", "-sname", name])
        .args(args);
    Erl::from_command(cmd, name)
}

// ---------- test-only driver ----------

async fn run_initiator(
    stream: &mut TcpStream,
    cfg: InitiatorConfig,
) -> Result<Established, String> {
    let (mut state, first) = Initiator::start(cfg).map_err(|e| e.to_string())?;
    stream.write_all(&first).await.map_err(|e| e.to_string())?;
    let mut buf = vec![0u8; 4096];
    loop {
        let n = stream.read(&mut buf).await.map_err(|e| e.to_string())?;
        if n == 0 {
            return Err("connection closed by peer".into());
        }
        let step = state.handle(&buf[..n]).map_err(|e| e.to_string())?;
        stream
            .write_all(&step.send)
            .await
            .map_err(|e| e.to_string())?;
        match step.next {
            InitiatorNext::Continue(s) => state = s,
            InitiatorNext::Established(e) => return Ok(e),
            other => return Err(format!("ended: {other:?}")),
        }
    }
}

async fn run_acceptor(
    stream: &mut TcpStream,
    cfg: AcceptorConfig,
) -> Result<Established, HandshakeError> {
    let our_name = cfg.our_name.clone();
    let mut state = Acceptor::new(cfg)?;
    let mut buf = vec![0u8; 4096];
    loop {
        let n = stream.read(&mut buf).await.unwrap_or(0);
        assert!(n > 0, "peer closed during handshake");
        let mut step = state.handle(&buf[..n])?;
        loop {
            stream.write_all(&step.send).await.unwrap();
            match step.next {
                AcceptorNext::Continue(s) => {
                    state = s;
                    break;
                }
                AcceptorNext::NeedStatus(p) => {
                    let s = accept_status(&our_name, p.peer_name(), false, false);
                    step = p.status(s)?;
                }
                AcceptorNext::Established(e) => return Ok(e),
                AcceptorNext::Refused(e) => return Err(e),
                AcceptorNext::Closed(c) => panic!("closed: {c:?}"),
            }
        }
    }
}

/// Reads one 4-byte-framed frame (a tick is a zero-length frame), starting with the
/// handshake's leftover bytes.
async fn read_frame(stream: &mut TcpStream, mut have: Vec<u8>) -> Vec<u8> {
    let mut buf = vec![0u8; 4096];
    loop {
        if have.len() >= 4 {
            let len = u32::from_be_bytes([have[0], have[1], have[2], have[3]]) as usize;
            if have.len() >= 4 + len {
                return have[4..4 + len].to_vec();
            }
        }
        let n = stream.read(&mut buf).await.unwrap();
        assert!(n > 0, "closed before a post-handshake frame");
        have.extend_from_slice(&buf[..n]);
    }
}

fn init_cfg(our: &str, peer: &str, cookie: &str) -> InitiatorConfig {
    InitiatorConfig {
        our_name: LocalName::Static(our.into()),
        our_creation: 0x6B06_0001,
        our_flags: FLAGS,
        cookie: Cookie::new(cookie).unwrap(),
        our_challenge: 0x1234_ABCD,
        peer_name: peer.into(),
        reconnecting: false,
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn we_dial_real_erl() {
    let (_epmd, epmd_port) = real_epmd();
    let port = free_port();
    let short = unique("hs");
    let peer = format!("{short}@localhost");
    let port_s = port.to_string();
    let mut node = erl(
        &peer,
        epmd_port,
        &[
            "-setcookie",
            "c",
            "-kernel",
            "inet_dist_listen_min",
            &port_s,
            "inet_dist_listen_max",
            &port_s,
            "-eval",
            "io:format(\"ready~n\")",
        ],
    );
    node.expect("ready", Duration::from_secs(60)).await;

    // Right cookie: handshake completes, then OTP sends something (rex features_request
    // on a visible connection, or at least a tick).
    let us = format!("{}@localhost", unique("rusths"));
    let mut s = TcpStream::connect(("127.0.0.1", port)).await.unwrap();
    let est = timeout(STEP, run_initiator(&mut s, init_cfg(&us, &peer, "c")))
        .await
        .expect("handshake timed out")
        .expect("handshake failed");
    assert_eq!(est.peer_name, peer);
    assert!(est.is_visible());
    assert!(est.negotiated.contains(DistFlags::REQUIRED));
    let frame = timeout(STEP, read_frame(&mut s, est.leftover.clone()))
        .await
        .expect("no post-handshake frame");
    assert_eq!(frame.first(), Some(&112), "pass-through frame expected");
    drop(s);

    // Wrong cookie: OTP closes instead of sending the ack.
    let us2 = format!("{}@localhost", unique("rusths"));
    let mut s = TcpStream::connect(("127.0.0.1", port)).await.unwrap();
    let res = timeout(STEP, run_initiator(&mut s, init_cfg(&us2, &peer, "wrong")))
        .await
        .expect("wrong-cookie handshake timed out");
    // OTP checks our reply digest, finds it wrong and closes without an ack.
    assert_eq!(res.unwrap_err(), "connection closed by peer");
}

/// Registers `name` on `port` with the private EPMD (ALIVE2_REQ, §1.2). The returned
/// socket must stay open as long as the registration should last.
async fn register(epmd_port: u16, name: &str, port: u16) -> TcpStream {
    let mut body = vec![120u8];
    body.extend_from_slice(&port.to_be_bytes());
    body.extend_from_slice(&[77, 0, 0, 6, 0, 5]);
    body.extend_from_slice(&(name.len() as u16).to_be_bytes());
    body.extend_from_slice(name.as_bytes());
    body.extend_from_slice(&[0, 0]);
    let mut req = (body.len() as u16).to_be_bytes().to_vec();
    req.extend_from_slice(&body);
    let mut s = TcpStream::connect(("127.0.0.1", epmd_port)).await.unwrap();
    s.write_all(&req).await.unwrap();
    let mut resp = [0u8; 2];
    timeout(STEP, s.read_exact(&mut resp))
        .await
        .expect("epmd did not answer")
        .unwrap();
    assert!(
        matches!(resp[0], 118 | 121),
        "ALIVE2 response tag {}",
        resp[0]
    );
    assert_eq!(resp[1], 0, "epmd refused the registration");
    s
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn real_erl_dials_us() {
    let (_epmd, epmd_port) = real_epmd();
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let our_port = listener.local_addr().unwrap().port();
    let short = unique("rusths");
    let us = format!("{short}@localhost");
    let _reg = register(epmd_port, &short, our_port).await;

    for (cookie, expect_ok) in [("c", true), ("wrong", false)] {
        let acc_cfg = AcceptorConfig {
            our_name: us.clone(),
            our_creation: 0x6B06_0002,
            our_flags: FLAGS,
            cookie: Cookie::new("c").unwrap(),
            our_challenge: 0x1234_ABCD,
            name_me_random: 1,
            name_me_creation: 2,
        };
        let dialler = format!("{}@localhost", unique("hs"));
        let eval = format!("io:format(\"~p~n\", [net_kernel:connect_node('{us}')]), halt().");
        let mut node = erl(&dialler, epmd_port, &["-setcookie", cookie, "-eval", &eval]);
        let (mut sock, _) = timeout(Duration::from_secs(60), listener.accept())
            .await
            .expect("erl never dialled us")
            .unwrap();
        let res = timeout(STEP, run_acceptor(&mut sock, acc_cfg))
            .await
            .expect("acceptor timed out");
        let line = node
            .expect_line("true/false", Duration::from_secs(60), |l| {
                l == "true" || l == "false"
            })
            .await;
        if expect_ok {
            let est = res.expect("handshake failed");
            assert_eq!(est.peer_name, dialler);
            assert_eq!(line, "true");
        } else {
            let err = res.expect_err("wrong cookie accepted");
            assert!(
                matches!(err, HandshakeError::InvalidChallengeReply { .. }),
                "{err}"
            );
            assert_eq!(line, "false");
        }
    }
}

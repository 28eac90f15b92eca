//! Our EPMD client against our EPMD server, and hostile input to the server
//! (docs/protocol.md §1). Real-OTP interop is in `epmd_interop.rs`.

use std::net::SocketAddr;
use std::time::Duration;

use beamnode::net::{EpmdClient, EpmdServer, EpmdServerConfig};
use beamnode::proto::epmd::{EpmdError, NodeInfo};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;
use tokio::time::timeout;

const LOCAL: &str = "127.0.0.1:0";

async fn server_with(config: EpmdServerConfig) -> (beamnode::net::EpmdServerHandle, EpmdClient) {
    let server = EpmdServer::bind_with_config(LOCAL.parse().unwrap(), config)
        .await
        .unwrap();
    let port = server.local_addr().port();
    let handle = server.spawn();
    let client = EpmdClient::new("127.0.0.1", port).with_timeout(Duration::from_secs(5));
    (handle, client)
}

async fn server() -> (beamnode::net::EpmdServerHandle, EpmdClient) {
    server_with(EpmdServerConfig::default()).await
}

/// Polls until `names()` satisfies `pred` (bounded).
async fn wait_names(client: &EpmdClient, pred: impl Fn(&[(String, u16)]) -> bool) -> bool {
    for _ in 0..100 {
        let (_, names) = client.names().await.unwrap();
        if pred(&names) {
            return true;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    false
}

/// Sends raw bytes, returns everything the server wrote before closing (bounded).
async fn raw(addr: SocketAddr, bytes: &[u8]) -> Vec<u8> {
    let mut stream = TcpStream::connect(addr).await.unwrap();
    stream.write_all(bytes).await.unwrap();
    let mut out = Vec::new();
    timeout(Duration::from_secs(5), stream.read_to_end(&mut out))
        .await
        .expect("server must close the connection")
        .ok();
    out
}

#[tokio::test]
async fn register_lookup_names_and_unregister_on_drop() {
    let (handle, client) = server().await;
    let reg = client.register("alpha", 40001, false).await.unwrap();
    assert_eq!(reg.name(), "alpha");
    assert!(reg.creation() >= 4);
    assert!(!reg.is_closed());

    let info = client.port_please("alpha").await.unwrap().unwrap();
    assert_eq!(info, NodeInfo::otp("alpha", 40001));
    assert_eq!(client.port_please("nobody").await.unwrap(), None);

    let (epmd_port, names) = client.names().await.unwrap();
    assert_eq!(epmd_port, u32::from(handle.local_addr().port()));
    assert_eq!(names, vec![("alpha".to_string(), 40001)]);

    // Duplicate name → typed error; the original registration is untouched.
    let dup = client.register("alpha", 40002, true).await;
    assert!(matches!(
        dup,
        Err(EpmdError::DuplicateName { result: 1, .. })
    ));
    assert_eq!(
        client.port_please("alpha").await.unwrap().unwrap().port,
        40001
    );

    let first_creation = reg.creation();
    drop(reg);
    assert!(
        wait_names(&client, |n| n.is_empty()).await,
        "name must vanish"
    );
    // Re-registering the remembered name bumps its creation (§1.3).
    let again = client.register("alpha", 40001, false).await.unwrap();
    assert_eq!(again.creation(), first_creation.wrapping_add(1));
    handle.shutdown().await;
}

#[tokio::test]
async fn registration_notices_when_epmd_goes_away() {
    let (handle, client) = server().await;
    let reg = client.register("beta", 40003, true).await.unwrap();
    assert!(reg.hidden());
    let closed = reg.closed();
    handle.shutdown().await;
    timeout(Duration::from_secs(5), closed)
        .await
        .expect("closed() must resolve when EPMD goes away");
    assert!(reg.is_closed());
}

#[tokio::test]
async fn any_byte_on_the_registration_connection_unregisters() {
    let (handle, client) = server().await;
    let addr = handle.local_addr();
    let mut stream = TcpStream::connect(addr).await.unwrap();
    let req = beamnode::proto::epmd::EpmdRequest::Alive2(NodeInfo::otp("gamma", 1))
        .encode()
        .unwrap();
    stream.write_all(&req).await.unwrap();
    let mut reply = [0u8; 6];
    stream.read_exact(&mut reply).await.unwrap();
    assert_eq!(&reply[..2], &[118, 0]);
    assert!(wait_names(&client, |n| n.len() == 1).await);
    stream.write_all(b"x").await.unwrap();
    assert!(wait_names(&client, |n| n.is_empty()).await);
    handle.shutdown().await;
}

#[tokio::test]
async fn malformed_requests_close_only_their_connection() {
    let (handle, client) = server().await;
    let addr = handle.local_addr();
    let reg = client.register("delta", 40004, false).await.unwrap();

    // Len = 0, oversized Len, unknown code, truncated ALIVE2, bad names, pure garbage.
    for bad in [
        &[0u8, 0][..],
        &[0x0b, 0xf2],
        &[0xff, 0xff, 1, 2, 3],
        &[0, 1, 0xee],
        &[0, 3, 120, 0, 1],
        &[0, 4, 122, 0x61, 0, 0x62],
        &[0, 3, 122, 0xc0, 0x80],
        b"GET / HTTP/1.1\r\n\r\n",
    ] {
        assert_eq!(raw(addr, bad).await, Vec::<u8>::new(), "input {bad:?}");
    }
    // An oversized packet: refused as soon as the prefix arrives.
    let mut big = vec![0x0b, 0xf2];
    big.extend(std::iter::repeat_n(b'n', 3058));
    assert!(raw(addr, &big).await.is_empty());
    // A connection that never completes its request does not block others.
    let mut idle = TcpStream::connect(addr).await.unwrap();
    idle.write_all(&[0, 5, 122]).await.unwrap();

    // The server still serves everyone, and the registration survived.
    assert_eq!(
        client.port_please("delta").await.unwrap().unwrap().port,
        40004
    );
    assert!(!reg.is_closed());
    drop(idle);
    handle.shutdown().await;
}

#[tokio::test]
async fn incomplete_request_is_dropped_after_the_packet_timeout() {
    let config = EpmdServerConfig {
        packet_timeout: Duration::from_millis(300),
        ..EpmdServerConfig::default()
    };
    let (handle, _client) = server_with(config).await;
    let mut stream = TcpStream::connect(handle.local_addr()).await.unwrap();
    stream.write_all(&[0, 5, 122, b'a']).await.unwrap();
    let mut out = Vec::new();
    let read = timeout(Duration::from_secs(5), stream.read_to_end(&mut out)).await;
    assert!(read.is_ok(), "server must close the idle connection");
    assert!(out.is_empty());
    handle.shutdown().await;
}

#[tokio::test]
async fn kill_stops_the_server_and_old_version_gets_old_reply() {
    let (handle, client) = server().await;
    let addr = handle.local_addr();
    // HighestVersion 5 → ALIVE2_RESP with a 16-bit creation 1..=3.
    let mut info = NodeInfo::otp("old", 9);
    info.highest_version = 5;
    let reg = client.register_info(info, false).await.unwrap();
    assert!((1..=3).contains(&reg.creation()));
    // KILL refused while a node is registered…
    assert_eq!(raw(addr, &[0, 1, 107]).await, b"NO");
    drop(reg);
    assert!(wait_names(&client, |n| n.is_empty()).await);
    // …accepted afterwards, and the server stops.
    assert_eq!(raw(addr, &[0, 1, 107]).await, b"OK");
    for _ in 0..100 {
        if handle.is_finished() {
            break;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    assert!(handle.is_finished());
    assert!(client.names().await.is_err());
}

#[tokio::test]
async fn stop_request_with_relaxed_check_drops_a_registration() {
    let config = EpmdServerConfig {
        relaxed_command_check: true,
        ..EpmdServerConfig::default()
    };
    let (handle, client) = server_with(config).await;
    let reg = client.register("eps", 40005, false).await.unwrap();
    assert_eq!(raw(handle.local_addr(), b"\x00\x04seps").await, b"STOPPED");
    timeout(Duration::from_secs(5), reg.closed()).await.unwrap();
    assert_eq!(client.port_please("eps").await.unwrap(), None);
    assert_eq!(raw(handle.local_addr(), b"\x00\x04seps").await, b"NOEXIST");
    handle.shutdown().await;
}

#[tokio::test]
async fn client_errors_are_bounded() {
    // Nothing listens on a just-freed port: connection refused, not a hang.
    let port = {
        let l = std::net::TcpListener::bind(LOCAL).unwrap();
        l.local_addr().unwrap().port()
    };
    let client = EpmdClient::new("127.0.0.1", port).with_timeout(Duration::from_secs(2));
    assert!(client.names().await.is_err());
    // A server that accepts but never answers: timeout.
    let silent = tokio::net::TcpListener::bind(LOCAL).await.unwrap();
    let port = silent.local_addr().unwrap().port();
    let client = EpmdClient::new("127.0.0.1", port).with_timeout(Duration::from_millis(300));
    assert!(matches!(
        client.register("x", 1, false).await,
        Err(EpmdError::Timeout { .. })
    ));
}

/// Timeouts far in the future saturate instead of panicking: an EPMD whose
/// `packet_timeout` is `Duration::MAX` serves registrations and lookups, and a node
/// connected to another stops with `Node::stop(Duration::MAX)`.
#[tokio::test]
async fn duration_max_settings_saturate() {
    let (handle, client) = server_with(EpmdServerConfig {
        packet_timeout: Duration::MAX,
        ..EpmdServerConfig::default()
    })
    .await;
    let _reg = client.register("forever", 40009, false).await.unwrap();
    assert!(wait_names(&client, |n| n.iter().any(|(name, _)| name == "forever")).await);
    let epmd = handle.local_addr().port();
    let start = |name: &str| {
        beamnode::NodeConfig::new(format!("{name}@localhost"), "c")
            .epmd_port(epmd)
            .listen_addr([127, 0, 0, 1].into())
            .net_ticktime(Duration::MAX)
            .setup_time(Duration::MAX)
    };
    let a = beamnode::Node::start(start("sat_a")).await.unwrap();
    let b = beamnode::Node::start(start("sat_b")).await.unwrap();
    assert!(a.connect(b.name()).await);
    let mut me = a.process();
    assert!(me.receive(Some(Duration::from_millis(1))).await.is_err());
    assert!(timeout(Duration::from_secs(10), a.stop(Duration::MAX))
        .await
        .expect("stop returns once b is down"));
    drop(b);
}

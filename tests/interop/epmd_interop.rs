//! EPMD interop with REAL OTP 25 (docs/protocol.md §1): OTP nodes and the `epmd` command
//! line client against our server, and our client against the real `epmd` daemon.
//!
//! Never touches port 4369: every EPMD here listens on a free port, and OTP finds it via
//! `ERL_EPMD_PORT`. Every `erl`/`epmd` started is killed by a guard.

use crate::common::{free_port, real_epmd, require, run_bounded, unique, ChildGuard};
use std::net::SocketAddr;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use beamnode::net::{EpmdClient, EpmdServer};
use beamnode::proto::epmd::EpmdError;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

/// An `erl` that stays up: short name `<name>@localhost`, cookie `c`, our EPMD port.
fn spawn_erl(name: &str, epmd_port: u16, extra: &[&str]) -> ChildGuard {
    let child = Command::new("erl")
        .args(["-sname", &format!("{name}@localhost"), "-setcookie", "c"])
        .args(["-noshell", "-start_epmd", "false"])
        .args(extra)
        .env("ERL_EPMD_PORT", epmd_port.to_string())
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("start erl");
    ChildGuard(child)
}

/// The real `epmd` binary as a client: `epmd -port P <args>`.
fn epmd_cmd(port: u16, args: &[&str]) -> String {
    let (out, err) = run_bounded(
        Command::new("epmd")
            .args(["-port", &port.to_string()])
            .args(args)
            .env_remove("ERL_EPMD_PORT"),
        Duration::from_secs(20),
    );
    out + &err
}

/// Polls `client.names()` until `pred` holds (bounded).
async fn wait_names(client: &EpmdClient, what: &str, pred: impl Fn(&[(String, u16)]) -> bool) {
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        if let Ok((_, names)) = client.names().await {
            if pred(&names) {
                return;
            }
        }
        assert!(Instant::now() < deadline, "timed out waiting for: {what}");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

fn has(names: &[(String, u16)], name: &str) -> bool {
    names.iter().any(|(n, _)| n == name)
}

async fn garbage(addr: SocketAddr, bytes: &[u8]) {
    let mut stream = TcpStream::connect(addr).await.unwrap();
    stream.write_all(bytes).await.unwrap();
    let mut out = Vec::new();
    let read = tokio::time::timeout(Duration::from_secs(5), stream.read_to_end(&mut out)).await;
    assert!(
        read.is_ok(),
        "server must close a connection that sent {bytes:?}"
    );
    assert!(out.is_empty());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn otp_nodes_use_our_epmd() {
    require("erl");
    require("epmd");
    let server = EpmdServer::bind("127.0.0.1:0".parse().unwrap())
        .await
        .unwrap();
    let addr = server.local_addr();
    let port = addr.port();
    let handle = server.spawn();
    let client = EpmdClient::new("127.0.0.1", port).with_timeout(Duration::from_secs(5));

    // A real node registers with our EPMD…
    let a = unique("a");
    let node_a = spawn_erl(&a, port, &[]);
    wait_names(&client, "erl node A registered", |n| has(n, &a)).await;
    let info = client.port_please(&a).await.unwrap().unwrap();
    assert_eq!(
        (info.node_type, info.highest_version, info.lowest_version),
        (77, 6, 5)
    );

    // …the real `epmd -names` client sees it…
    let listing = tokio::task::spawn_blocking(move || epmd_cmd(port, &["-names"]))
        .await
        .unwrap();
    assert!(
        listing.contains(&format!("name {a} at port {}", info.port)),
        "epmd -names said: {listing}"
    );
    let dump = tokio::task::spawn_blocking(move || epmd_cmd(port, &["-dump"]))
        .await
        .unwrap();
    assert!(dump.contains(&format!("<{a}>")), "epmd -dump said: {dump}");

    // …malformed clients do not disturb it…
    for bad in [
        &[0u8, 0][..],
        &[0xff, 0xff, 0],
        &[0, 1, 0xee],
        b"\x00\x03x\x00\x01",
    ] {
        garbage(addr, bad).await;
    }

    // …and a second real node finds and reaches the first through our EPMD.
    let b = unique("b");
    let a_for_b = a.clone();
    let out = tokio::task::spawn_blocking(move || {
        let eval = format!(
            "io:format(\"PING=~p~nNAMES=~p~n\", [net_adm:ping('{a_for_b}@localhost'), net_adm:names()]), halt()."
        );
        let (out, err) = run_bounded(
            Command::new("erl")
                .args(["-sname", &format!("{b}@localhost"), "-setcookie", "c"])
                .args(["-noshell", "-start_epmd", "false", "-eval", &eval])
                .env("ERL_EPMD_PORT", port.to_string()),
            Duration::from_secs(60),
        );
        out + &err
    })
    .await
    .unwrap();
    assert!(out.contains("PING=pong"), "second erl said: {out}");
    assert!(
        out.contains(&format!("{{\"{a}\",{}}}", info.port)),
        "net_adm:names() said: {out}"
    );

    // The registration vanishes when the node exits.
    drop(node_a);
    wait_names(&client, "erl node A unregistered", |n| !has(n, &a)).await;

    // The real `epmd -kill` client stops our server once nothing is registered.
    wait_names(&client, "all nodes gone", |n| n.is_empty()).await;
    let killed = tokio::task::spawn_blocking(move || epmd_cmd(port, &["-kill"]))
        .await
        .unwrap();
    assert!(killed.contains("Killed"), "epmd -kill said: {killed}");
    let deadline = Instant::now() + Duration::from_secs(5);
    while !handle.is_finished() {
        assert!(
            Instant::now() < deadline,
            "server did not stop after KILL_REQ"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn our_client_uses_real_epmd() {
    require("erl");
    require("epmd");
    let (_epmd, port) = real_epmd();
    let client = EpmdClient::new("127.0.0.1", port).with_timeout(Duration::from_secs(5));
    wait_names(&client, "real epmd up", |_| true).await;

    // Register; the real `epmd -names` lists us.
    let rs = unique("rs");
    let reg = client.register(&rs, 45678, true).await.unwrap();
    assert!(reg.creation() >= 4);
    let rs_for_cmd = rs.clone();
    let listing = tokio::task::spawn_blocking(move || epmd_cmd(port, &["-names"]))
        .await
        .unwrap();
    assert!(
        listing.contains(&format!("name {rs_for_cmd} at port 45678")),
        "epmd -names said: {listing}"
    );
    // What we registered is what real EPMD hands out: type 77 even though hidden.
    let info = client.port_please(&rs).await.unwrap().unwrap();
    assert_eq!(
        (
            info.port,
            info.node_type,
            info.protocol,
            info.highest_version,
            info.lowest_version
        ),
        (45678, 77, 0, 6, 5)
    );
    assert!(matches!(
        client.register(&rs, 45679, false).await,
        Err(EpmdError::DuplicateName { .. })
    ));
    assert_eq!(client.port_please("no_such_node").await.unwrap(), None);

    // Dropping the guard unregisters; re-registering bumps the creation (§1.3).
    let creation = reg.creation();
    drop(reg);
    wait_names(&client, "our name gone from real epmd", |n| !has(n, &rs)).await;
    let again = client.register(&rs, 45678, false).await.unwrap();
    assert_eq!(again.creation(), creation.wrapping_add(1));
    drop(again);

    // port_please of a real node registered with the real epmd.
    let dist_port = free_port();
    let c = unique("c");
    let _node_c = spawn_erl(
        &c,
        port,
        &[
            "-kernel",
            "inet_dist_listen_min",
            &dist_port.to_string(),
            "inet_dist_listen_max",
            &dist_port.to_string(),
        ],
    );
    wait_names(&client, "erl node C registered", |n| has(n, &c)).await;
    let info = client.port_please(&c).await.unwrap().unwrap();
    assert_eq!(info.port, dist_port);
    assert_eq!(
        (info.node_type, info.highest_version, info.lowest_version),
        (77, 6, 5)
    );
}

#[tokio::test]
async fn registration_sees_real_epmd_die() {
    require("epmd");
    let (mut epmd, port) = real_epmd();
    let client = EpmdClient::new("127.0.0.1", port).with_timeout(Duration::from_secs(5));
    wait_names(&client, "real epmd up", |_| true).await;
    let reg = client.register(&unique("w"), 45000, false).await.unwrap();
    assert!(!reg.is_closed());
    let _ = epmd.0.kill();
    tokio::time::timeout(Duration::from_secs(10), reg.closed())
        .await
        .expect("closed() must fire when epmd dies");
}

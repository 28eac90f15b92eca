//! The `beamnode` binary as a user runs it: `beamnode epmd` serving real erl nodes, and
//! `beamnode run` with its embedded EPMD and the cookie file, reached from real erl.

use crate::common::*;
use std::io::{BufRead, BufReader};
use std::process::{Command, Stdio};
use std::time::Duration;

const T: Duration = Duration::from_secs(20);

/// Starts the binary and waits for a stdout line containing `ready`.
fn start_bin(args: &[&str], envs: &[(&str, &str)], ready: &str) -> ChildGuard {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_beamnode"));
    cmd.args(args)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::null());
    for (k, v) in envs {
        cmd.env(k, v);
    }
    let mut child = cmd.spawn().expect("spawn beamnode");
    let out = child.stdout.take().unwrap();
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        for l in BufReader::new(out).lines().map_while(Result::ok) {
            let _ = tx.send(l);
        }
    });
    let deadline = std::time::Instant::now() + T;
    loop {
        let left = deadline.saturating_duration_since(std::time::Instant::now());
        match rx.recv_timeout(left) {
            Ok(l) if l.contains(ready) => return ChildGuard(child),
            Ok(_) => continue,
            Err(_) => panic!("beamnode {args:?} did not print {ready:?}"),
        }
    }
}

/// `beamnode run` refuses the node names `erl` refuses (docs/cli.md "Node names"),
/// before it registers anything: a space, a non-ASCII name, a dot in a short name's
/// host, a character erl does not allow before the `@`.
#[test]
fn beamnode_run_refuses_names_erl_refuses() {
    for (flag, name) in [
        ("--sname", "bad name"),
        ("--sname", "\u{fc}"),
        ("--sname", "rust@host.example"),
        ("--name", "a+b@host.example"),
        ("--name", "ok@bad host"),
    ] {
        let mut child = Command::new(env!("CARGO_BIN_EXE_beamnode"))
            .args(["run", flag, name, "--no-epmd"])
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .expect("run beamnode");
        // A name wrongly accepted starts a node: fail instead of waiting for it.
        let deadline = std::time::Instant::now() + T;
        let status = loop {
            if let Some(s) = child.try_wait().expect("wait") {
                break s;
            }
            if std::time::Instant::now() > deadline {
                let _ = child.kill();
                panic!("{flag} {name:?} was accepted: the node started");
            }
            std::thread::sleep(Duration::from_millis(20));
        };
        assert_eq!(status.code(), Some(1), "{flag} {name}");
        let mut err = String::new();
        std::io::Read::read_to_string(&mut child.stderr.take().unwrap(), &mut err).unwrap();
        assert!(err.contains("invalid"), "{flag} {name}: {err}");
    }
}

/// The lines `beamnode run` suggests fit how it was started: with `--cookie` they
/// name the flag instead of `~/.erlang.cookie` and never print the cookie; with
/// `--hidden` they list hidden nodes and leave out `pg` and `global`, which ignore
/// hidden nodes.
#[test]
fn beamnode_run_hints_follow_cookie_and_hidden() {
    let epmd_port = free_port().to_string();
    let sname = format!("{}@localhost", unique("rusthint"));
    let secret = "s3cr3t-hint-cookie";
    let mut child = Command::new(env!("CARGO_BIN_EXE_beamnode"))
        .args([
            "run",
            "--hidden",
            "--cookie",
            secret,
            "--sname",
            &sname,
            "--epmd-port",
            &epmd_port,
        ])
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .expect("spawn beamnode");
    let out = child.stdout.take().unwrap();
    let guard = ChildGuard(child);
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        for l in BufReader::new(out).lines().map_while(Result::ok) {
            let _ = tx.send(l);
        }
    });
    let mut lines = Vec::new();
    let deadline = std::time::Instant::now() + T;
    while !lines.iter().any(|l: &String| l.contains("Press Ctrl-C")) {
        let left = deadline.saturating_duration_since(std::time::Instant::now());
        match rx.recv_timeout(left) {
            Ok(l) => lines.push(l),
            Err(_) => panic!("no end of the start-up lines: {lines:#?}"),
        }
    }
    drop(guard);
    let all = lines.join("\n");
    assert!(all.contains("--cookie YOUR_COOKIE"), "{all}");
    assert!(!all.contains(secret), "{all}");
    assert!(!all.contains(".erlang.cookie"), "{all}");
    assert!(all.contains("Node.list(:hidden)"), "{all}");
    assert!(!all.contains(":pg.") && !all.contains(":global."), "{all}");
}

/// `--workers` takes a count of at least one; 0 is a usage error (exit 2).
#[test]
fn beamnode_run_refuses_zero_workers() {
    let out = Command::new(env!("CARGO_BIN_EXE_beamnode"))
        .args(["run", "--workers", "0", "--sname", "nobody"])
        .stdin(Stdio::null())
        .output()
        .expect("run beamnode");
    assert_eq!(out.status.code(), Some(2), "{out:?}");
    assert!(String::from_utf8_lossy(&out.stderr).contains("--workers"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn beamnode_epmd_serves_real_erl_nodes() {
    require("epmd");
    let port = free_port();
    let ps = port.to_string();
    let _epmd = start_bin(
        &["epmd", "--port", &ps, "--address", "127.0.0.1"],
        &[],
        "listening",
    );
    let mut a = Erl::start(
        &unique("a"),
        COOKIE,
        port,
        r#"io:format("READY~n"), receive after 30000 -> halt() end."#,
    );
    a.expect("READY", T).await;
    let names = Command::new("epmd")
        .args(["-port", &ps, "-names"])
        .output()
        .unwrap();
    let names = String::from_utf8_lossy(&names.stdout).to_string();
    let alive = a.name.split('@').next().unwrap().to_string();
    assert!(names.contains(&format!("name {alive} at port")), "{names}");
    let eval = format!(
        r#"io:format("PING ~p~n", [net_adm:ping('{}')]), {{ok, Names}} = net_adm:names(), io:format("NAMES ~p~n", [lists:sort([N || {{N, _}} <- Names])]), halt()."#,
        a.name
    );
    let mut b = Erl::start(&unique("b"), COOKIE, port, &eval);
    assert_eq!(b.expect("PING ", T).await, "pong");
    let listed = b.expect("NAMES ", T).await;
    assert!(listed.contains(&format!("\"{alive}\"")), "{listed}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn beamnode_run_with_embedded_epmd_and_cookie_file() {
    require("erl");
    let epmd_port = free_port().to_string();
    let home = std::env::temp_dir().join(unique("home"));
    std::fs::create_dir_all(&home).unwrap();
    let home_s = home.to_str().unwrap().to_string();
    let sname = format!("{}@localhost", unique("rustcli"));
    // No EPMD on that port and no cookie file: the node starts its own EPMD and
    // creates ~/.erlang.cookie as erl would.
    let _node = start_bin(
        &["run", "--sname", &sname, "--epmd-port", &epmd_port],
        &[("HOME", &home_s)],
        "is up",
    );
    let cookie = std::fs::read_to_string(home.join(".erlang.cookie")).unwrap();
    assert_eq!(cookie.len(), 20);
    let eval = format!(
        r#"R = '{sname}',
        io:format("CONNECT ~p~n", [net_kernel:connect_node(R)]),
        io:format("PUT ~p~n", [gen_server:call({{kv, R}}, {{put, k, 42}})]),
        io:format("GET ~p~n", [gen_server:call({{kv, R}}, {{get, k}})]),
        io:format("GLOBAL ~p~n", [{{global:sync(), global:whereis_name({{kv, R}}) =:= rpc:call(R, erlang, whereis, [kv])}}]),
        halt()."#
    );
    let mut erl = Erl::start(&unique("user"), &cookie, epmd_port.parse().unwrap(), &eval);
    assert_eq!(erl.expect("CONNECT ", T).await, "true");
    assert_eq!(erl.expect("PUT ", T).await, "ok");
    assert_eq!(erl.expect("GET ", T).await, "{ok,42}");
    // global runs by default: the kv server is registered as {kv, Node}.
    assert_eq!(erl.expect("GLOBAL ", T).await, "{ok,true}");
    let _ = std::fs::remove_dir_all(&home);
}

/// `beamnode run --no-global` leaves `global` out: `{kv, Node}` is not a global name and
/// beamnode has no `global_name_server`. (erl's `global:sync()` would then wait for
/// beamnode forever, docs/protocol.md §10.6, so it is not called here.) It also runs
/// with `--busy-wait 0`: connections that never poll still serve calls; and with
/// `--workers 3`, which its start line confirms.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn beamnode_run_no_global() {
    require("erl");
    let epmd_port = free_port().to_string();
    let home = std::env::temp_dir().join(unique("home"));
    std::fs::create_dir_all(&home).unwrap();
    let home_s = home.to_str().unwrap().to_string();
    let sname = format!("{}@localhost", unique("rustng"));
    let _node = start_bin(
        &[
            "run",
            "--no-global",
            "--busy-wait",
            "0",
            "--workers",
            "3",
            "--sname",
            &sname,
            "--epmd-port",
            &epmd_port,
        ],
        &[("HOME", &home_s)],
        ", 3 worker threads).",
    );
    let cookie = std::fs::read_to_string(home.join(".erlang.cookie")).unwrap();
    let eval = format!(
        r#"R = '{sname}',
        io:format("CONNECT ~p~n", [net_kernel:connect_node(R)]),
        io:format("KV ~p~n", [global:whereis_name({{kv, R}})]),
        io:format("GNS ~p~n", [rpc:call(R, erlang, whereis, [global_name_server])]),
        io:format("LOCAL ~p~n", [is_pid(rpc:call(R, erlang, whereis, [kv]))]),
        halt()."#
    );
    let mut erl = Erl::start(&unique("user"), &cookie, epmd_port.parse().unwrap(), &eval);
    assert_eq!(erl.expect("CONNECT ", T).await, "true");
    assert_eq!(erl.expect("KV ", T).await, "undefined");
    assert_eq!(erl.expect("GNS ", T).await, "undefined");
    assert_eq!(erl.expect("LOCAL ", T).await, "true");
    let _ = std::fs::remove_dir_all(&home);
}

/// The limit flags of `beamnode run` reach the node: with `--max-term-depth 10` a real
/// erl's `kv` call whose message is 11 levels deep ends its connection (nodedown), and
/// after reconnecting the same call 10 levels deep is answered; with
/// `--max-frame-size 65536` a 70,000-byte binary ends the connection too.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn beamnode_run_limit_flags_apply() {
    require("erl");
    let epmd_port = free_port().to_string();
    let sname = format!("{}@localhost", unique("rustlim"));
    let _node = start_bin(
        &[
            "run",
            "--sname",
            &sname,
            "--epmd-port",
            &epmd_port,
            "--cookie",
            COOKIE,
            "--max-term-depth",
            "10",
            "--max-frame-size",
            "65536",
        ],
        &[],
        "is up",
    );
    // `{'$gen_call', {From, Tag}, {put, k, V}}`: two levels, plus `Nest(N)`'s N.
    let eval = format!(
        r#"R = '{sname}',
        Nest = fun F(0) -> x; F(N) -> {{F(N - 1)}} end,
        true = net_kernel:connect_node(R),
        erlang:monitor_node(R, true),
        catch gen_server:call({{kv, R}}, {{put, k, Nest(9)}}, 5000),
        receive {{nodedown, R}} -> io:format("DOWN~n") after 10000 -> io:format("DOWN none~n") end,
        io:format("PUT ~p~n", [gen_server:call({{kv, R}}, {{put, k, Nest(8)}})]),
        erlang:monitor_node(R, true),
        catch gen_server:call({{kv, R}}, {{put, big, binary:copy(<<0>>, 70000)}}, 5000),
        receive {{nodedown, R}} -> io:format("BIGDOWN~n") after 10000 -> io:format("BIGDOWN none~n") end,
        io:format("GET ~p~n", [gen_server:call({{kv, R}}, {{get, k}})]),
        halt()."#
    );
    let mut erl = Erl::start(&unique("user"), COOKIE, epmd_port.parse().unwrap(), &eval);
    assert_eq!(erl.expect("DOWN", T).await, "");
    assert_eq!(erl.expect("PUT ", T).await, "ok");
    assert_eq!(erl.expect("BIGDOWN", T).await, "");
    assert_eq!(erl.expect("GET ", T).await, "{ok,{{{{{{{{x}}}}}}}}}");
}

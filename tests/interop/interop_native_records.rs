//! Native records (EEP 79, OTP 29, tag 67) over distribution. beamnode offers
//! DFLAG_NATIVE_RECORDS: an OTP 29+ peer negotiates it, its records reach a Rust
//! process and come back `=:=`, and a record built in Rust arrives as the record the
//! peer's module defines. A peer without the flag (OTP 25 on the host; the newer root
//! when it is older than 29) never gets a record: the message holding one is dropped
//! with a log line, and the connection stays up (such a peer would close it on tag
//! 67). The sid pass of `scripts/test.sh` runs this against OTP 29.

use crate::common::*;
use beamnode::term::NativeRecord;
use beamnode::{Atom, Node, Term};
use std::time::Duration;

const T: Duration = Duration::from_secs(30);

/// `#nrlive:pt{x = 7, y = 8}` as the peer's module declares it (exported).
fn rust_pt() -> Term {
    Term::Record(Box::new(NativeRecord {
        module: Atom::new("nrlive"),
        name: Atom::new("pt"),
        exported: true,
        fields: vec![
            (Atom::new("x"), Term::Int(7)),
            (Atom::new("y"), Term::Int(8)),
        ],
    }))
}

/// `echo` answers `{Pid, Msg}` with `{echo, Msg}`; `from_rust` answers `{Pid, give}`
/// with `{rust_record, #nrlive:pt{x = 7, y = 8}}` and then `{next, ok}`.
fn start_processes(node: &Node) {
    node.spawn_registered("echo", |mut p| async move {
        while let Ok(msg) = p.receive(None).await {
            if let Some([Term::Pid(from), m]) = msg.as_tuple() {
                p.send(from, (Atom::new("echo"), m.clone())).await;
            }
        }
    })
    .unwrap();
    node.spawn_registered("from_rust", |mut p| async move {
        while let Ok(msg) = p.receive(None).await {
            if let Some([Term::Pid(from), _]) = msg.as_tuple() {
                p.send(from, (Atom::new("rust_record"), rust_pt())).await;
                p.send(from, (Atom::new("next"), Atom::new("ok"))).await;
            }
        }
    })
    .unwrap();
}

/// A peer without NATIVE_RECORDS: the record is not sent, what follows is.
fn refused_script(r: &str) -> String {
    format!(
        r#"R = '{r}', true = net_kernel:connect_node(R),
        {{from_rust, R}} ! {{self(), give}},
        receive M -> io:format("FIRST ~0p~n", [M]) after 10000 -> io:format("FIRST timeout~n") end,
        io:format("UP ~p~n", [lists:member(R, nodes())]),
        {{echo, R}} ! {{self(), still_here}},
        receive E -> io:format("ECHO ~0p~n", [E]) after 10000 -> io:format("ECHO timeout~n") end,
        halt()."#
    )
}

async fn refused_by(erl: &mut Erl, node: &Node, release: &str) {
    assert_eq!(erl.expect("FIRST ", T).await, "{next,ok}", "OTP {release}");
    assert_eq!(erl.expect("UP ", T).await, "true", "OTP {release}");
    assert_eq!(
        erl.expect("ECHO ", T).await,
        "{echo,still_here}",
        "OTP {release}"
    );
    let peer = Atom::new(&erl.name);
    let flags = node.connection_flags(&peer);
    assert!(
        !flags.is_some_and(|f| f.contains(beamnode::proto::DistFlags::NATIVE_RECORDS)),
        "OTP {release} negotiated NATIVE_RECORDS"
    );
}

const MODULE: &str = r#"-module(nrlive).
-export([run/1]).
-record #pt{x = 0, y = 0}.
-record #priv{a = 1, b = []}.
-record #e{}.
-export_record([pt, e]).
run(Node) ->
    true = net_kernel:connect_node(Node),
    Terms = [#pt{x = 1, y = 2}, #e{}, #priv{a = <<"bin">>, b = [#pt{}, {t, 1.5}]},
             #{#pt{x = 1} => #priv{}}, [#e{} | #pt{y = -1}]],
    Echoed = [begin
                  {echo, Node} ! {self(), T},
                  receive {echo, Back} -> Back =:= T after 5000 -> timeout end
              end || T <- Terms],
    io:format("ECHOED ~p~n", [Echoed]),
    {from_rust, Node} ! {self(), give},
    receive {rust_record, R} -> io:format("FROM_RUST ~p~n", [R =:= #pt{x = 7, y = 8}])
    after 5000 -> io:format("FROM_RUST timeout~n")
    end,
    io:format("PING ~p~n", [net_adm:ping(Node)]),
    register(nrlive_main, self()),
    io:format("WAITING~n"),
    receive stop -> ok after 10000 -> ok end.
"#;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn native_records_with_each_release() {
    let epmd = private_epmd().await;
    let node = rust_node("rust", epmd, COOKIE).await;
    start_processes(&node);
    let r = node.name().as_str().to_string();

    // The host's OTP (25 on Debian 12) has no native records.
    let mut host = Erl::start(&unique("otp_host"), COOKIE, epmd, &refused_script(&r));
    refused_by(&mut host, &node, "host").await;

    let root = newer_otp_root();
    let release = otp_release_of(&root);
    if release.parse::<u32>().unwrap() < 29 {
        let mut old =
            Erl::start_in_root(&root, &unique("otp_new"), COOKIE, epmd, &refused_script(&r));
        refused_by(&mut old, &node, &release).await;
        return;
    }
    // OTP 29+: compile a module with records inside the root and run it.
    let dir = format!("tmp/{}", unique("nrlive"));
    let host_dir = root.join(&dir);
    std::fs::create_dir_all(&host_dir).unwrap();
    std::fs::write(host_dir.join("nrlive.erl"), MODULE).unwrap();
    let eval = format!(
        r#"{{ok, nrlive, Bin}} = compile:file("/{dir}/nrlive.erl", [binary, report_errors]),
        {{module, nrlive}} = code:load_binary(nrlive, "nrlive.erl", Bin),
        nrlive:run('{r}'), halt()."#
    );
    let mut erl = Erl::start_in_root(&root, &unique("otp_new"), COOKIE, epmd, &eval);
    assert_eq!(
        erl.expect("ECHOED ", T).await,
        "[true,true,true,true,true]",
        "OTP {release}"
    );
    assert_eq!(erl.expect("FROM_RUST ", T).await, "true", "OTP {release}");
    assert_eq!(erl.expect("PING ", T).await, "pong", "OTP {release}");
    erl.expect("WAITING", T).await;
    let peer = Atom::new(&erl.name);
    let flags = node.connection_flags(&peer).expect("up");
    assert!(flags.contains(beamnode::proto::DistFlags::NATIVE_RECORDS));
    node.process()
        .send(("nrlive_main", peer.as_str()), Atom::new("stop"))
        .await;
    let _ = std::fs::remove_dir_all(&host_dir);
}

//! Node monitoring against real OTP 25 (docs/protocol.md §7.3): `monitor_node` and
//! `monitor_nodes` (with and without options, hidden peers) from Rust, and
//! `erlang:monitor_node/2` + `net_kernel:monitor_nodes/2` on BEAM watching the Rust
//! node come and go; `nodes/1` kinds.

use crate::common::*;
use beamnode::{Atom, MonitorNodesOpts, NodeKind, NodeType, Process, Term};
use std::time::Duration;

const T: Duration = Duration::from_secs(20);

fn t2(tag: &str, n: &Atom) -> Term {
    Term::tuple(vec![Term::atom(tag), Term::Atom(n.clone())])
}

fn t3(tag: &str, n: &Atom, info: Vec<(&str, &str)>) -> Term {
    let info = info
        .into_iter()
        .map(|(k, v)| Term::tuple(vec![Term::atom(k), Term::atom(v)]))
        .collect();
    Term::tuple(vec![
        Term::atom(tag),
        Term::Atom(n.clone()),
        Term::list(info),
    ])
}

async fn next(p: &mut Process) -> Term {
    p.receive(Some(T)).await.expect("a node message")
}

async fn nothing_more(p: &mut Process) {
    let extra = p.receive(Some(Duration::from_millis(300))).await;
    assert!(extra.is_err(), "unexpected message {extra:?}");
}

/// From Rust: subscriptions of every shape see a visible and a hidden BEAM node come
/// and go (`disconnect`), `monitor_node` fires once per call, and a node that cannot
/// be reached gives `{nodedown, N}` at once.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn rust_monitors_nodes() {
    let epmd = private_epmd().await;
    let node = rust_node("rust", epmd, COOKIE).await;
    let mut vis = Erl::idle("vis", epmd, &[]).await;
    let hid = Erl::idle("hid", epmd, &["-hidden"]).await;
    let (v, h) = (Atom::new(&vis.name), Atom::new(&hid.name));

    let mut plain = node.process();
    assert!(plain.monitor_nodes(true, MonitorNodesOpts::default()));
    let mut reason = node.process();
    let reason_opts = MonitorNodesOpts {
        nodedown_reason: true,
        node_type: None,
    };
    reason.monitor_nodes(true, reason_opts);
    let mut all = node.process();
    all.monitor_nodes(
        true,
        MonitorNodesOpts {
            nodedown_reason: true,
            node_type: Some(NodeType::All),
        },
    );
    let mut hidden = node.process();
    hidden.monitor_nodes(
        true,
        MonitorNodesOpts {
            nodedown_reason: false,
            node_type: Some(NodeType::Hidden),
        },
    );
    let mut mon = node.process();
    assert!(mon.monitor_node(&v, true), "monitor_node connects first");
    assert!(node.connect(&h).await);
    assert!(mon.monitor_node(&h, true));
    assert!(mon.monitor_node(&h, true));
    assert!(mon.monitor_node(&h, true));
    assert!(mon.monitor_node(&h, false), "one of three cancelled");

    assert!(eventually(T, || node.nodes_of(NodeKind::Connected).len() == 2).await);
    assert_eq!(node.nodes_of(NodeKind::Visible), vec![v.clone()]);
    assert_eq!(node.nodes_of(NodeKind::Hidden), vec![h.clone()]);
    assert_eq!(node.nodes_of(NodeKind::This), vec![node.name().clone()]);
    let known = node.nodes_of(NodeKind::Known);
    for n in [&v, &h, node.name()] {
        assert!(known.contains(n), "{n} in nodes(known) {known:?}");
    }

    assert_eq!(next(&mut plain).await, t2("nodeup", &v));
    assert_eq!(next(&mut reason).await, t3("nodeup", &v, vec![]));
    let mut ups = vec![next(&mut all).await, next(&mut all).await];
    ups.sort_by_key(|m| format!("{m:?}"));
    let mut want = vec![
        t3("nodeup", &v, vec![("node_type", "visible")]),
        t3("nodeup", &h, vec![("node_type", "hidden")]),
    ];
    want.sort_by_key(|m| format!("{m:?}"));
    assert_eq!(ups, want);
    assert_eq!(
        next(&mut hidden).await,
        t3("nodeup", &h, vec![("node_type", "hidden")])
    );

    assert!(node.disconnect(&h));
    assert_eq!(
        next(&mut all).await,
        t3(
            "nodedown",
            &h,
            vec![("nodedown_reason", "disconnect"), ("node_type", "hidden")]
        )
    );
    assert_eq!(
        next(&mut hidden).await,
        t3("nodedown", &h, vec![("node_type", "hidden")])
    );
    assert_eq!(next(&mut mon).await, t2("nodedown", &h));
    assert_eq!(next(&mut mon).await, t2("nodedown", &h));
    nothing_more(&mut mon).await;

    // Unsubscribing stops the messages.
    assert!(reason.monitor_nodes(false, reason_opts));
    assert!(!reason.monitor_nodes(false, reason_opts));

    vis.kill9();
    assert_eq!(next(&mut plain).await, t2("nodedown", &v));
    assert_eq!(
        next(&mut all).await,
        t3(
            "nodedown",
            &v,
            vec![
                ("nodedown_reason", "connection_closed"),
                ("node_type", "visible")
            ]
        )
    );
    assert_eq!(next(&mut mon).await, t2("nodedown", &v));
    nothing_more(&mut plain).await;
    nothing_more(&mut reason).await;
    nothing_more(&mut hidden).await;

    // A node that cannot be reached: nodedown at once.
    let ghost = Atom::new("nobody_here@localhost");
    assert!(mon.monitor_node(&ghost, true));
    assert_eq!(next(&mut mon).await, t2("nodedown", &ghost));
}

/// From BEAM, as typed in `erl`: `monitor_node(RustNode, true)` and
/// `net_kernel:monitor_nodes(true, [nodedown_reason])` see the Rust node come up and
/// go when it shuts down.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn beam_monitors_the_rust_node() {
    let epmd = private_epmd().await;
    let node = rust_node("rust", epmd, COOKIE).await;
    let r = node.name().as_str().to_string();
    let eval = format!(
        r#"R = '{r}',
        ok = net_kernel:monitor_nodes(true, [nodedown_reason]),
        ok = net_kernel:monitor_nodes(true),
        true = erlang:monitor_node(R, true),
        receive {{nodeup, R, I}} -> io:format("NODEUP3 ~p~n", [I]) after 5000 -> io:format("NODEUP3 timeout~n") end,
        receive {{nodeup, R}} -> io:format("NODEUP2~n") after 5000 -> io:format("NODEUP2 timeout~n") end,
        io:format("NODES ~p~n", [nodes()]),
        receive {{nodedown, R, I2}} -> io:format("NODEDOWN3 ~p~n", [I2]) after 10000 -> io:format("NODEDOWN3 timeout~n") end,
        receive {{nodedown, R}} -> ok after 10000 -> io:format("NODEDOWN2 timeout~n") end,
        receive {{nodedown, R}} -> io:format("NODEDOWN2 twice~n") after 10000 -> io:format("NODEDOWN2 timeout~n") end,
        halt()."#
    );
    let mut erl = Erl::start(&unique("beam"), COOKIE, epmd, &eval);
    assert_eq!(erl.expect("NODEUP3 ", T).await, "[]");
    erl.expect("NODEUP2", T).await;
    assert_eq!(erl.expect("NODES ", T).await, format!("[{r}]"));
    node.shutdown();
    assert_eq!(
        erl.expect("NODEDOWN3 ", T).await,
        "[{nodedown_reason,connection_closed}]"
    );
    assert_eq!(erl.expect("NODEDOWN2 ", T).await, "twice");
}

/// The README lines, typed in Elixir: `Process.monitor({name, node})` (`noproc`, then
/// `noconnection`), `Process.link` to a Rust pid with `trap_exit`, `Node.monitor/2`
/// and `:net_kernel.monitor_nodes(true, [:nodedown_reason])` while the Rust node
/// shuts down.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn elixir_links_monitors_and_node_monitoring() {
    require("elixir");
    let epmd = private_epmd().await;
    let node = rust_node("rust", epmd, COOKIE).await;
    beamnode::services::kv::start(&node).unwrap();
    let node2 = node.clone();
    node.spawn_registered("collector", move |mut p| async move {
        if let Ok(m) = p.receive(Some(T)).await {
            if let Some([_, Term::Pid(from)]) = m.as_tuple() {
                let child = node2.spawn(|mut c| async move {
                    let _ = c.receive_match(|m| m.is_atom("go"), Some(T)).await;
                    c.exit(Term::tuple(vec![
                        Term::atom("shutdown"),
                        Term::binary("bye"),
                    ]));
                });
                p.send(from, Term::tuple(vec![Term::atom("pid"), Term::Pid(child)]))
                    .await;
            }
        }
    })
    .unwrap();
    let r = node.name().as_str().to_string();
    let script = format!(
        r#"r = :"{r}"
        ref0 = Process.monitor({{:nope, r}})
        receive do
          {{:DOWN, ^ref0, :process, obj, reason}} -> IO.puts("NOPROC #{{inspect({{obj, reason}})}}")
        after 5000 -> IO.puts("NOPROC timeout")
        end
        ref = Process.monitor({{:kv, r}})
        IO.puts("MONITOR_NODE #{{inspect(Node.monitor(r, true))}}")
        IO.puts("MONITOR_NODES #{{inspect(:net_kernel.monitor_nodes(true, [:nodedown_reason]))}}")
        send({{:collector, r}}, {{:hello, self()}})
        pid = receive do {{:pid, p}} -> p end
        Process.flag(:trap_exit, true)
        true = Process.link(pid)
        send(pid, :go)
        receive do
          {{:EXIT, ^pid, reason}} -> IO.puts("EXIT #{{inspect(reason)}}")
        after 5000 -> IO.puts("EXIT timeout")
        end
        IO.puts("ARMED")
        receive do
          {{:DOWN, ^ref, :process, obj, reason}} -> IO.puts("DOWN #{{inspect({{obj, reason}})}}")
        after 10000 -> IO.puts("DOWN timeout")
        end
        receive do
          {{:nodedown, ^r}} -> IO.puts("NODEDOWN2 ok")
        after 10000 -> IO.puts("NODEDOWN2 timeout")
        end
        receive do
          {{:nodedown, ^r, info}} -> IO.puts("NODEDOWN3 #{{inspect(info)}}")
        after 10000 -> IO.puts("NODEDOWN3 timeout")
        end
        "#
    );
    let name = format!("{}@localhost", unique("ex"));
    let mut cmd = std::process::Command::new("elixir");
    cmd.args(["--sname", &name, "--cookie", COOKIE, "-e", &script])
        .env("ERL_EPMD_PORT", epmd.to_string());
    let mut ex = Erl::from_command(cmd, &name);
    assert_eq!(
        ex.expect("NOPROC ", T).await,
        format!("{{{{:nope, :{r}}}, :noproc}}")
    );
    assert_eq!(ex.expect("MONITOR_NODE ", T).await, "true");
    assert_eq!(ex.expect("MONITOR_NODES ", T).await, ":ok");
    assert_eq!(ex.expect("EXIT ", T).await, r#"{:shutdown, "bye"}"#);
    ex.expect("ARMED", T).await;
    node.shutdown();
    assert_eq!(
        ex.expect("DOWN ", T).await,
        format!("{{{{:kv, :{r}}}, :noconnection}}")
    );
    assert_eq!(ex.expect("NODEDOWN2 ", T).await, "ok");
    assert_eq!(
        ex.expect("NODEDOWN3 ", T).await,
        "[nodedown_reason: :connection_closed]"
    );
}

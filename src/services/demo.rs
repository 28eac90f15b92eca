//! `beamnode_demo`: a few functions a BEAM node can spawn on beamnode through the
//! function registry (docs/protocol.md §5.4), to try spawn requests from iex:
//!
//! - `beamnode_demo:echo_loop/0` — for each `{Pid, Msg}` sends `{echo, Msg}` to Pid;
//!   `stop` ends it with reason `normal`.
//! - `beamnode_demo:hello/1` — prints `hello, <Name>` through its group leader (§12), so
//!   the line appears in the iex/erl session that spawned it, then exits `normal`.
//! - `beamnode_demo:crash/1` — exits at once with the given reason.
//! - `beamnode_demo:ping/1` — `net_adm:ping/1` from Rust (`Node::ping`, connecting
//!   when needed): prints `pong` or `pang` through its group leader.
//! - `beamnode_demo:ping/2` — the same for `ping(Node, ReplyTo)`, sending
//!   `{ping, Node, pong | pang}` to the pid ReplyTo instead (the Docker interop suite
//!   uses it to cover Rust → BEAM ping).

use crate::node::Node;
use crate::term::Term;
use crate::Process;

/// The module name the functions are registered under.
pub const MODULE: &str = "beamnode_demo";

/// Registers the demo functions on `node`.
pub fn register(node: &Node) {
    node.register_function(MODULE, "echo_loop", 0, |p, _| echo_loop(p));
    node.register_function(MODULE, "hello", 1, hello);
    node.register_function(MODULE, "crash", 1, |p, args| async move {
        let reason = args.into_iter().next().unwrap_or(Term::Nil);
        p.exit(reason);
    });
    node.register_function(MODULE, "ping", 1, |p, args| ping(p, args, false));
    node.register_function(MODULE, "ping", 2, |p, args| ping(p, args, true));
}

/// `ping/1` and `ping/2`: a non-atom node name answers `pang`, as `net_adm:ping/1`
/// does for a name it cannot reach.
async fn ping(mut p: Process, args: Vec<Term>, reply: bool) {
    let target = args.first().and_then(|t| t.as_atom()).cloned();
    let pong = match &target {
        Some(n) => p.node().clone().ping(n).await,
        None => false,
    };
    let word = if pong { "pong" } else { "pang" };
    match args.get(1) {
        Some(Term::Pid(to)) if reply => {
            let node = args.first().cloned().unwrap_or(Term::Nil);
            p.send(
                to,
                Term::tuple(vec![Term::atom("ping"), node, Term::atom(word)]),
            )
            .await;
        }
        _ => {
            let text = format!("{word}\n");
            if let Err(e) = crate::services::io::put_chars(&mut p, &text).await {
                tracing::warn!(error = %e, "ping: could not print through the group leader");
            }
        }
    }
}

async fn echo_loop(mut p: Process) {
    while let Ok(msg) = p.receive(None).await {
        if msg.is_atom("stop") {
            return;
        }
        // `{Pid, Msg}` or `{Alias, Msg}`: the answer goes to either, as `Dest` allows.
        match msg.as_tuple() {
            Some([Term::Pid(from), m]) => {
                p.send(from, Term::tuple(vec![Term::atom("echo"), m.clone()]))
                    .await
            }
            Some([Term::Ref(alias), m]) => {
                p.send(alias, Term::tuple(vec![Term::atom("echo"), m.clone()]))
                    .await
            }
            _ => {}
        }
    }
}

/// How a name argument prints: strings and binaries as their text, anything else in
/// Erlang syntax.
fn name_text(t: &Term) -> String {
    if let Some(b) = t.as_binary() {
        return String::from_utf8_lossy(b).into_owned();
    }
    if let Some(a) = t.as_atom() {
        return a.as_str().to_string();
    }
    if let Some(l) = t.as_list() {
        let s: Option<String> = l
            .iter()
            .map(|c| {
                c.as_int()
                    .and_then(|i| u32::try_from(i).ok())
                    .and_then(char::from_u32)
            })
            .collect();
        if let Some(s) = s {
            return s;
        }
    }
    t.to_string()
}

async fn hello(mut p: Process, args: Vec<Term>) {
    let name = args.first().map(name_text).unwrap_or_default();
    if let Err(e) = crate::services::io::put_chars(&mut p, &format!("hello, {name}\n")).await {
        tracing::warn!(error = %e, "hello: could not print through the group leader");
    }
}

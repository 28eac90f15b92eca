//! `rex`: the legacy rpc server (protocol-notes §9.4).
//!
//! OTP 25+ sends `rpc:call`/`cast`/`multicall`/`async_call` as spawn requests (served
//! in [`super::rpc_server`]), but some requests still go to the registered process
//! `rex`: `rpc:block_call` (a `gen_server:call` of `{block_call, M, F, A, GL}`),
//! `rpc:sbcast`, C-node style `{From, {call, …}}` calls, OTP 23/24 callers that fall
//! back to `{call, M, F, A, GL}`, and the `{From, features_request}` every OTP node
//! sends right after connecting (§16.1 row 6), answered with
//! `{features_reply, node(), [erpc]}` so the peer knows erpc is served.
//!
//! A `call` runs in its own task and is answered from there (through the `rex` pid),
//! so a long function never holds up the server. A `block_call` runs inside the server,
//! as OTP's rex runs it (25 through 28): it holds up every other request to `rex`
//! until it returns, so two `rpc:block_call`s to beamnode run one after the other,
//! exactly as documented for `rpc:block_call/5`.

use super::gen::{CallRequest, From};
use crate::node::Node;
use crate::runtime::table::RegisterError;
use crate::runtime::Process;
use crate::term::{Atom, Pid, Term};
use tracing::debug;

/// The registered name.
pub const NAME: &str = "rex";

/// Starts `rex` on `node`.
pub fn start(node: &Node) -> Result<Pid, RegisterError> {
    node.spawn_registered(NAME, serve)
}

/// `{M, F, A, _GL}` of a `{call | block_call | cast, M, F, A, GL}` request.
fn mfa(t: &[Term]) -> Option<(Atom, Atom, Vec<Term>)> {
    match t {
        [_, Term::Atom(m), Term::Atom(f), a, _gl] => {
            Some((m.clone(), f.clone(), a.as_list()?.to_vec()))
        }
        _ => None,
    }
}

fn tag_is(t: &[Term], tag: &str) -> bool {
    t.first().is_some_and(|x| x.is_atom(tag))
}

async fn serve(mut p: Process) {
    while let Ok(msg) = p.receive(None).await {
        let msg = match CallRequest::take(msg) {
            Ok(call) => {
                handle_gen_call(&p, call).await;
                continue;
            }
            Err(m) => m,
        };
        match msg.as_tuple() {
            Some([cast, req]) if cast.is_atom("$gen_cast") => handle_cast(&p, req),
            Some([Term::Pid(from), req]) => handle_plain(&p, from, req),
            _ => debug!(%msg, "rex: unexpected message ignored"),
        }
    }
}

/// Runs `M:F(A)` in its own task and hands the rex reply shape to `done`.
fn run(
    p: &Process,
    m: Atom,
    f: Atom,
    a: Vec<Term>,
    done: impl FnOnce(&Node, Term) + Send + 'static,
) {
    let node = p.node().clone();
    tokio::spawn(async move {
        let reply = node.apply_rpc(&m, &f, a).await.rpc_reply();
        done(&node, reply);
    });
}

/// `gen_server:call(rex, {call | block_call, M, F, A, GL})`: a `call` runs in its
/// own task; a `block_call` is awaited here, blocking the server (§9.4).
async fn handle_gen_call(p: &Process, call: CallRequest) {
    let Some(from) = From::parse(&call.from) else {
        return;
    };
    let me = p.pid().clone();
    let parsed = call.request.as_tuple().and_then(|t| {
        if tag_is(t, "call") {
            mfa(t).map(|m| (false, m))
        } else if tag_is(t, "block_call") {
            mfa(t).map(|m| (true, m))
        } else {
            None
        }
    });
    match parsed {
        Some((false, (m, f, a))) => run(p, m, f, a, move |node, reply| {
            from.reply_via(node, &me, reply)
        }),
        Some((true, (m, f, a))) => {
            let reply = p.node().apply_rpc(&m, &f, a).await.rpc_reply();
            from.reply(p, reply);
        }
        None => {
            debug!(request = %call.request, "rex: unknown call");
            from.reply(
                p,
                Term::tuple(vec![Term::atom("error"), Term::atom("unknown_call")]),
            );
        }
    }
}

/// `gen_server:cast(rex, {cast, M, F, A, GL})`: run, no reply.
fn handle_cast(p: &Process, req: &Term) {
    if let Some((m, f, a)) = req.as_tuple().filter(|t| tag_is(t, "cast")).and_then(mfa) {
        run(p, m, f, a, |_, _| {});
    }
}

fn nonexisting(node: &Atom, name: &Term) -> Term {
    Term::tuple(vec![
        Term::atom("rex"),
        Term::Atom(node.clone()),
        Term::tuple(vec![Term::atom("nonexisting_name"), name.clone()]),
    ])
}

/// `{From, Request}` messages (§9.4).
fn handle_plain(p: &Process, from: &Pid, req: &Term) {
    let node = p.node().clone();
    let me = node.name().clone();
    if req.is_atom("features_request") {
        let reply = Term::tuple(vec![
            Term::atom("features_reply"),
            Term::Atom(me),
            Term::list(vec![Term::atom("erpc")]),
        ]);
        p.send(from, reply);
        return;
    }
    let Some(t) = req.as_tuple() else { return };
    match t {
        [tag, ..] if tag.is_atom("call") => {
            if let Some((m, f, a)) = mfa(t) {
                let (to, rex) = (from.clone(), p.pid().clone());
                run(p, m, f, a, move |node, reply| {
                    node.send_from(&rex, &to, Term::tuple(vec![Term::atom("rex"), reply]))
                });
            }
        }
        [tag, Term::Atom(name), msg] if tag.is_atom("sbcast") => {
            let reply = match node.whereis(name) {
                Some(pid) => {
                    p.send(&pid, msg.clone());
                    Term::tuple(vec![
                        Term::atom("rex"),
                        Term::Atom(me.clone()),
                        Term::Atom(me),
                    ])
                }
                None => nonexisting(&me, &Term::Atom(name.clone())),
            };
            p.send(from, reply);
        }
        [tag, Term::Atom(name), msg] if tag.is_atom("send") => match node.whereis(name) {
            Some(pid) => p.send(
                &pid,
                Term::tuple(vec![Term::Pid(from.clone()), msg.clone()]),
            ),
            None => p.send(from, nonexisting(&me, &Term::Atom(name.clone()))),
        },
        _ => debug!(%req, "rex: unknown request ignored"),
    }
}

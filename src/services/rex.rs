//! `rex`: the legacy rpc server (docs/protocol.md §9.4).
//!
//! OTP 25+ sends `rpc:call`/`cast`/`multicall`/`async_call` as spawn requests (served
//! in [`super::rpc_server`]), but some requests still go to the registered process
//! `rex`: `rpc:block_call` (a `gen_server:call` of `{block_call, M, F, A, GL}`),
//! `rpc:sbcast`, C-node style `{From, {call, …}}` calls, OTP 23/24 callers that fall
//! back to `{call, M, F, A, GL}`, and the `{From, features_request}` every OTP node
//! sends right after connecting (§16.1 row 6), answered with
//! `{features_reply, node(), [erpc]}` so the peer knows erpc is served.
//!
//! How requests are scheduled follows OTP's `rex` (rpc.erl @ OTP-25.2.3, §9.4):
//!
//! - `{block_call, M, F, A, GL}` runs *inside* the server: one at a time, in arrival
//!   order, and while it runs `rex` takes no other message — later block_calls, `call`s,
//!   casts, `sbcast`s and `features_request`s wait in its mailbox, exactly as they wait
//!   behind OTP's gen_server. Nothing else on the node is held up: erpc requests
//!   (`rpc:call`, `erpc:call`, `rpc:cast` from OTP 25+) never pass through `rex`.
//! - `{call, …}` (gen_server or C-node style) and `{cast, …}` run in a task of their
//!   own, so a long function does not hold up the server; the reply goes out through
//!   the `rex` pid.
//! - Every function runs on behalf of the caller's group leader `GL` (a pid, or `user`
//!   for the local `user` process if this node has one): a function registered with
//!   [`Node::register_rpc_process`] gets a process whose group leader is `GL`, so its
//!   output appears in the caller's shell, as OTP sets the group leader of the process
//!   running the function (of the `rex` process itself for block_call, for the
//!   duration of the call).

use super::gen::From;
use super::gen_server::{self, AsyncGenServer, CallResult, CastResult, StartError};
use crate::node::Node;
use crate::runtime::RegisterError;
use crate::term::{Atom, Pid, Term};
use crate::Process;
use tracing::debug;

/// The registered name.
pub const NAME: &str = "rex";

/// Starts `rex` on `node`.
pub fn start(node: &Node) -> Result<Pid, RegisterError> {
    gen_server::start(node, Some(NAME), Rex).map_err(|e| match e {
        StartError::Register(e) => e,
        StartError::AlreadyStarted(_) => RegisterError::NameTaken(Atom::new(NAME)),
        // `Rex` has no `init` that can fail.
        StartError::Init(_) => RegisterError::NameTaken(Atom::new(NAME)),
    })
}

/// One `{call | block_call | cast, M, F, A, GL}` request.
struct Mfa {
    m: Atom,
    f: Atom,
    a: Vec<Term>,
    /// The caller's group leader, resolved on this node (§12).
    gl: Option<Pid>,
}

/// Parses `{_, M, F, A, GL}`. GL is a pid, or `user` for this node's `user` process
/// (OTP's `set_group_leader(user)`); anything else (`{send_stdout_to_caller, _}` of
/// newer C-node callers) leaves the function without a group leader.
fn mfa(node: &Node, t: &[Term]) -> Option<Mfa> {
    match t {
        [_, Term::Atom(m), Term::Atom(f), a, gl] => Some(Mfa {
            m: m.clone(),
            f: f.clone(),
            a: a.as_list()?.to_vec(),
            gl: match gl {
                Term::Pid(pid) => Some(pid.clone()),
                Term::Atom(u) if u.as_str() == "user" => node.whereis(u),
                _ => None,
            },
        }),
        _ => None,
    }
}

fn tag_is(t: &[Term], tag: &str) -> bool {
    t.first().is_some_and(|x| x.is_atom(tag))
}

/// The server: an [`AsyncGenServer`], as OTP's `rex` is a gen_server, so `sys`
/// requests (`sys:get_state(rex)`, `get_status`, `statistics`, …) are answered too.
struct Rex;

impl AsyncGenServer for Rex {
    /// OTP's `rex` traps exits (`process_flag(trap_exit, true)` in its `init`), so an
    /// exit signal other than `kill` reaches it as an `{'EXIT', From, Reason}` message,
    /// ignored below, and `process_info(rex, trap_exit)` says `true` as on BEAM.
    fn init(&mut self, p: &mut Process) -> Result<(), Term> {
        p.trap_exit(true);
        Ok(())
    }

    async fn handle_call(&mut self, request: Term, from: &From, p: &mut Process) -> CallResult {
        match handle_gen_call(p, request, from).await {
            Some(reply) => CallResult::Reply(reply),
            None => CallResult::NoReply,
        }
    }

    async fn handle_cast(&mut self, request: Term, p: &mut Process) -> CastResult {
        handle_cast(p, &request);
        CastResult::NoReply
    }

    async fn handle_info(&mut self, msg: Term, p: &mut Process) -> CastResult {
        match msg.as_tuple() {
            Some([Term::Pid(from), req]) => handle_plain(p, from, req),
            _ => debug!(%msg, "rex: unexpected message ignored"),
        }
        CastResult::NoReply
    }

    /// OTP's `rex` keeps a map (its nodes observer); ours keeps nothing.
    fn format_state(&self) -> Term {
        Term::map(Vec::new())
    }
}

/// Runs `M:F(A)` in its own task and hands the rex reply shape to `done`.
fn run(p: &Process, req: Mfa, done: impl FnOnce(&Node, Term) + Send + 'static) {
    let node = p.node().clone();
    tokio::spawn(async move {
        let reply = node
            .apply_rpc_as(req.gl, &req.m, &req.f, req.a)
            .await
            .rpc_reply();
        done(&node, reply);
    });
}

/// `gen_server:call(rex, {call | block_call, M, F, A, GL})`. A block_call is awaited
/// here, so the server takes its next message only when it is done (module docs); a
/// call runs in a task of its own and answers from there (`None`: no reply yet).
async fn handle_gen_call(p: &Process, request: Term, from: &From) -> Option<Term> {
    let node = p.node().clone();
    let parsed = request.as_tuple().and_then(|t| {
        if tag_is(t, "call") {
            mfa(&node, t).map(|r| (false, r))
        } else if tag_is(t, "block_call") {
            mfa(&node, t).map(|r| (true, r))
        } else {
            None
        }
    });
    match parsed {
        Some((true, req)) => {
            debug!(m = %req.m, f = %req.f, "rex: block_call");
            let reply = node
                .apply_rpc_as(req.gl, &req.m, &req.f, req.a)
                .await
                .rpc_reply();
            Some(reply)
        }
        Some((false, req)) => {
            let (me, from) = (p.sender(), from.clone());
            run(p, req, move |_, reply| from.reply_as(&me, reply));
            None
        }
        None => {
            // OTP's rex ignores a call it does not know (no reply): the caller's
            // gen_server:call times out, as against a BEAM node.
            debug!(%request, "rex: unknown call ignored");
            None
        }
    }
}

/// `gen_server:cast(rex, {cast, M, F, A, GL})`: run, no reply.
fn handle_cast(p: &Process, req: &Term) {
    let node = p.node().clone();
    let parsed = req.as_tuple().filter(|t| tag_is(t, "cast"));
    if let Some(req) = parsed.and_then(|t| mfa(&node, t)) {
        run(p, req, |_, _| {});
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
        p.send_nowait(from, reply);
        return;
    }
    let Some(t) = req.as_tuple() else { return };
    match t {
        [tag, ..] if tag.is_atom("call") => {
            if let Some(req) = mfa(&node, t) {
                let (to, rex) = (from.clone(), p.sender());
                run(p, req, move |_, reply| {
                    rex.send(&to, Term::tuple(vec![Term::atom("rex"), reply]))
                });
            }
        }
        [tag, Term::Atom(name), msg] if tag.is_atom("sbcast") => {
            let reply = match node.whereis(name) {
                Some(pid) => {
                    p.send_nowait(&pid, msg.clone());
                    Term::tuple(vec![
                        Term::atom("rex"),
                        Term::Atom(me.clone()),
                        Term::Atom(me),
                    ])
                }
                None => nonexisting(&me, &Term::Atom(name.clone())),
            };
            p.send_nowait(from, reply);
        }
        [tag, Term::Atom(name), msg] if tag.is_atom("send") => match node.whereis(name) {
            Some(pid) => p.send_nowait(
                &pid,
                Term::tuple(vec![Term::Pid(from.clone()), msg.clone()]),
            ),
            None => p.send_nowait(from, nonexisting(&me, &Term::Atom(name.clone()))),
        },
        _ => debug!(%req, "rex: unknown request ignored"),
    }
}

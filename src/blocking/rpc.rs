//! `rpc:call` and `net_adm:ping` over one blocking [`Connection`], with the same wire
//! shapes and result mapping as [`crate::services::rpc_client`] (docs/protocol.md §9.1,
//! §9.2, §9.4, §7.1).
//!
//! Two ways to call, both with our pid as the group leader of the process that runs
//! the function, so its output (`io:format`) arrives here as I/O requests and is
//! written to `out` — as `rpc:call` from a shell shows it in that shell (§12);
//! formatting requests are evaluated on the peer with a nested call, since only the
//! BEAM has `io_lib`:
//!
//! - [`call`]: erpc. A SPAWN_REQUEST for `erpc:execute_call(Res, M, F, A)` with a
//!   `monitor` option; the result comes back as the reason of that monitor's DOWN, so
//!   the exception class (error/exit/throw) is known.
//! - [`rex_call`]: `gen_server:call({rex, Peer}, {call, M, F, A, GL})`, what
//!   `erl_call -a` sends. The reply is already in `rpc:call` shape (`{badrpc, …}`, a
//!   thrown value returned as is). It is the quicker of the two on OTP 25–27: rex's
//!   worker replies with a plain message while it runs, where erpc's result travels
//!   in the DOWN signal sent after the process has exited.

use super::connection::{Connection, DialError};
use crate::node::SpawnError;
use crate::proto::control::{ControlMessage, ProcRef};
use crate::proto::dist::DistMessage;
use crate::proto::DistFlags;
use crate::services::io::{chardata, output_parts, OutputPart};
use crate::services::rpc_client::{
    decode_result, execute_call_args, rex_call_request, rex_outcome, spawn_error, RpcError,
};
use crate::term::{Atom, Term};
use std::io::Write;
use std::time::{Duration, Instant};

/// True when the peer serves calls through spawn requests (DFLAG_SPAWN, OTP 23+).
/// [`call`] needs it; for other peers use the `rex` path of a full node.
pub fn supports_call(conn: &Connection) -> bool {
    conn.negotiated().contains(DistFlags::SPAWN)
}

/// `rpc:call(Peer, Module, Function, Args, Timeout)`: runs the function on the
/// connection's peer and returns its value; its output is written to `out`.
/// `timeout: None` waits forever. A peer without DFLAG_SPAWN gives
/// `RpcError::BadRpc(notsup)` (check [`supports_call`] first).
pub fn call(
    conn: &mut Connection,
    module: &str,
    function: &str,
    args: Vec<Term>,
    timeout: Option<Duration>,
    out: &mut dyn Write,
) -> Result<Term, RpcError> {
    if !supports_call(conn) {
        return Err(RpcError::BadRpc(Term::atom("notsup")));
    }
    let deadline = timeout.and_then(|t| Instant::now().checked_add(t));
    execute(conn, Via::Erpc, module, function, args, deadline, Some(out))
}

/// `rpc:call(Peer, Module, Function, Args, Timeout)` through the peer's `rex` server
/// (§9.4), as `erl_call -a` does: the value, or the `{badrpc, Reason}` rex answered as
/// `RpcError::BadRpc(Reason)`. A thrown value comes back as `Ok`, exactly as
/// `rpc:call` returns it. `rex` is monitored, so a node without it gives
/// `RpcError::Signal(noproc)` instead of a wait. `timeout: None` waits forever.
pub fn rex_call(
    conn: &mut Connection,
    module: &str,
    function: &str,
    args: Vec<Term>,
    timeout: Option<Duration>,
    out: &mut dyn Write,
) -> Result<Term, RpcError> {
    let deadline = timeout.and_then(|t| Instant::now().checked_add(t));
    execute(conn, Via::Rex, module, function, args, deadline, Some(out))
}

/// Which server runs a call.
#[derive(Clone, Copy)]
enum Via {
    Erpc,
    Rex,
}

/// `net_adm:ping(Peer)` on an established connection: `{is_auth, Us}` to the peer's
/// `net_kernel` (§7.1); true when it answers `yes`.
pub fn ping(conn: &mut Connection, timeout: Duration) -> bool {
    let deadline = Instant::now().checked_add(timeout);
    let tag = conn.make_ref();
    let me = conn.pid().clone();
    let from = Term::tuple(vec![Term::Pid(me.clone()), Term::Ref(tag.clone())]);
    let req = Term::tuple(vec![Term::atom("is_auth"), Term::Atom(me.node.clone())]);
    let msg = Term::tuple(vec![Term::atom("$gen_call"), from, req]);
    let control = ControlMessage::RegSend {
        from: me,
        to_name: Atom::new("net_kernel"),
        token: None,
    };
    if conn.send(&control, Some(&msg)).is_err() {
        return false;
    }
    loop {
        match conn.recv(deadline) {
            Ok(Some(m)) => match message_to_us(&m) {
                Some(Term::Tuple(t)) if matches!(t.as_slice(), [Term::Ref(r), _] if *r == tag) => {
                    return t.as_slice()[1].is_atom("yes")
                }
                _ => {}
            },
            Ok(None) | Err(_) => return false,
        }
    }
}

/// The message term of a plain message to our pid, if `m` is one.
fn message_to_us(m: &DistMessage) -> Option<&Term> {
    match m.control {
        ControlMessage::Send { .. }
        | ControlMessage::SendSender { .. }
        | ControlMessage::AliasSend { .. } => m.payload.as_ref(),
        _ => None,
    }
}

/// One call. With `io` present the call serves I/O requests (the outer call); without,
/// messages other than its own replies are stashed for the outer loop (a nested
/// formatting call).
fn execute(
    conn: &mut Connection,
    via: Via,
    module: &str,
    function: &str,
    args: Vec<Term>,
    deadline: Option<Instant>,
    mut io: Option<&mut dyn Write>,
) -> Result<Term, RpcError> {
    let peer = conn.peer().clone();
    let nodedown = |_: DialError| RpcError::NodeDown(peer.clone());
    let res = conn.make_ref();
    // The spawn request id (erpc) or the call tag, which is also rex's monitor (rex).
    let key = conn.make_ref();
    let me = conn.pid().clone();
    match via {
        Via::Erpc => {
            let request = ControlMessage::SpawnRequest {
                req_id: key.clone(),
                from: me.clone(),
                group_leader: me.clone(),
                module: Atom::new("erpc"),
                function: Atom::new("execute_call"),
                arity: 4,
                opts: Term::list(vec![Term::atom("monitor")]),
                token: None,
            };
            let erpc_args = Term::list(execute_call_args(&res, module, function, args));
            conn.send(&request, Some(&erpc_args)).map_err(nodedown)?;
        }
        Via::Rex => {
            let monitor = ControlMessage::MonitorP {
                from: me.clone(),
                to: ProcRef::Name(Atom::new("rex")),
                reference: key.clone(),
            };
            let send = ControlMessage::RegSend {
                from: me.clone(),
                to_name: Atom::new("rex"),
                token: None,
            };
            let from = Term::tuple(vec![Term::Pid(me.clone()), Term::Ref(key.clone())]);
            let request = rex_call_request(module, function, args, Term::Pid(me.clone()));
            let msg = Term::tuple(vec![Term::atom("$gen_call"), from, request]);
            conn.send_all(&[(&monitor, None), (&send, Some(&msg))])
                .map_err(nodedown)?;
        }
    }
    let mut stashed = Vec::new();
    let outcome = loop {
        let Some(msg) = conn.recv(deadline).map_err(nodedown)? else {
            break Err(RpcError::Timeout);
        };
        let down_reason = match &msg.control {
            ControlMessage::MonitorPExit {
                reference, reason, ..
            } if *reference == key => Some(reason.clone()),
            ControlMessage::PayloadMonitorPExit { reference, .. } if *reference == key => {
                Some(msg.payload.clone().unwrap_or(Term::Nil))
            }
            _ => None,
        };
        if let Some(reason) = down_reason {
            break match via {
                Via::Erpc => decode_result(&res, reason, &peer),
                Via::Rex => Err(RpcError::Signal(reason)),
            };
        }
        match &msg.control {
            ControlMessage::SpawnReply {
                req_id: r, result, ..
            } if *r == key => match result {
                Term::Pid(_) => {}
                Term::Atom(a) => break Err(spawn_error(SpawnError::from_reply_atom(a), &peer)),
                _ => break Err(spawn_error(SpawnError::Refused(Atom::new("badarg")), &peer)),
            },
            _ => {
                if let Some(reply) = rex_reply(&msg, &key) {
                    let demonitor = ControlMessage::DemonitorP {
                        from: me.clone(),
                        to: ProcRef::Name(Atom::new("rex")),
                        reference: key.clone(),
                    };
                    conn.send_later(&demonitor, None).map_err(nodedown)?;
                    break rex_outcome(reply);
                }
                match (&mut io, io_request(&msg)) {
                    (Some(out), Some((from, reply_as, req))) => {
                        let reply = serve_io(conn, via, &req, deadline, &mut **out);
                        let answer = Term::tuple(vec![Term::atom("io_reply"), reply_as, reply]);
                        conn.send_message(&from, &answer).map_err(nodedown)?;
                    }
                    (None, Some(_)) => stashed.push(msg),
                    _ => {} // nothing else is addressed to a one-shot caller
                }
            }
        }
    };
    for m in stashed {
        conn.stash(m);
    }
    outcome
}

/// rex's answer `{Tag, Reply}` to the call tagged `tag`.
fn rex_reply(m: &DistMessage, tag: &crate::term::Reference) -> Option<Term> {
    match message_to_us(m)?.as_tuple()? {
        [Term::Ref(r), reply] if r == tag => Some(reply.clone()),
        _ => None,
    }
}

/// `{io_request, From, ReplyAs, Request}` sent to our pid (§12).
fn io_request(m: &DistMessage) -> Option<(crate::term::Pid, Term, Term)> {
    match message_to_us(m)?.as_tuple()? {
        [tag, Term::Pid(from), reply_as, req] if tag.is_atom("io_request") => {
            Some((from.clone(), reply_as.clone(), req.clone()))
        }
        _ => None,
    }
}

/// Writes an output request's text; the `io_reply` answer (`ok`, or
/// `{error, enotsup}` for requests a one-shot caller cannot serve, such as input).
fn serve_io(
    conn: &mut Connection,
    via: Via,
    req: &Term,
    deadline: Option<Instant>,
    out: &mut dyn Write,
) -> Term {
    let enotsup = || Term::tuple(vec![Term::atom("error"), Term::atom("enotsup")]);
    let Some(parts) = output_parts(req) else {
        return enotsup();
    };
    let mut text = String::new();
    for part in parts {
        match part {
            OutputPart::Text(t) => text.push_str(&t),
            OutputPart::Format {
                module,
                function,
                args,
            } => {
                let limit = Instant::now() + Duration::from_secs(10);
                let d = deadline.map_or(limit, |d| d.min(limit));
                let v = execute(
                    conn,
                    via,
                    module.as_str(),
                    function.as_str(),
                    args,
                    Some(d),
                    None,
                );
                match v.ok().as_ref().and_then(chardata) {
                    Some(t) => text.push_str(&t),
                    None => return enotsup(),
                }
            }
        }
    }
    let _ = out.write_all(text.as_bytes());
    let _ = out.flush();
    Term::atom("ok")
}

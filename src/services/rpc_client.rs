//! Calling BEAM functions from Rust: `rpc:call/5`, `rpc:cast/4` and `rpc:multicall/5`
//! as OTP 25+ implements them, on top of spawn requests (docs/protocol.md §9.1, §5.4).
//!
//! A call sends `SPAWN_REQUEST` for `erpc:execute_call(Res, M, F, A)` on the target with
//! a `monitor` option. The target's erpc code runs `M:F(A…)` and *exits* with the result
//! encoded in the exit reason, which comes back as the `DOWN` of that monitor (its
//! reference is the request id; §9.2 table): `{Res, return, V}`, `{Res, throw, T}`,
//! `{Res, exit, R}`, `{Res, error, E, Stack}`; any other reason means the process was
//! killed by a signal. A cast spawns `erpc:execute_cast(M, F, A)` without a monitor.
//!
//! Each call runs in a fresh, short-lived [`Process`]; when the call ends (including
//! by timeout) that process goes away, so a late `DOWN` is dropped by the node and can
//! never reach anyone's mailbox.
//!
//! Peers without DFLAG_SPAWN (§9.3; only pre-OTP-23 nodes and some C nodes) are called
//! through their `rex` server instead, as OTP 23/24's `rpc` did (§9.4):
//!
//! - [`call`] sends `gen_server:call({rex, N}, {call, M, F, A, GL})`. The reply is
//!   already in `rpc:call` shape and rex does not say how a function failed, so a
//!   `{badrpc, Reason}` reply becomes [`RpcError::BadRpc`]`(Reason)` (an exception is
//!   `{'EXIT', {Error, Stack}}` or `{'EXIT', ExitReason}`), a thrown value comes back as
//!   `Ok(Value)`, and a lost connection / timeout are [`RpcError::NodeDown`] /
//!   [`RpcError::Timeout`] as on the erpc path. GL is the calling process's group
//!   leader (our stdout sink for [`call`]), else `user`.
//! - [`cast`] sends `gen_server:cast({rex, N}, {cast, M, F, A, user})`: the function's
//!   output goes to the target node's own `user` (its console).
//! - [`multicall`] is one [`call`] per node, so each SPAWN-less node is asked via rex.

use crate::node::{SpawnError, SpawnRequestOpts};
use crate::runtime::ReceiveError;
use crate::services::gen::{self, CallError, Dest};
use crate::services::io::OutputPart;
use crate::term::{Atom, Pid, Term};
use crate::Node;
use crate::Process;
use std::fmt;
use std::time::{Duration, Instant};
use tracing::debug;

/// The class of an exception raised by the called function.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum ExceptionClass {
    /// `error(E)` (including runtime errors such as `badarg` and `undef`).
    Error,
    /// `exit(R)`.
    Exit,
    /// `throw(T)`.
    Throw,
}

impl fmt::Display for ExceptionClass {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            ExceptionClass::Error => "error",
            ExceptionClass::Exit => "exit",
            ExceptionClass::Throw => "throw",
        })
    }
}

/// Why a remote call gave no value.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[non_exhaustive]
pub enum RpcError {
    /// The node could not be reached, or the connection was lost during the call
    /// (`{erpc, noconnection}`; `rpc:call` says `{badrpc, nodedown}`).
    #[error("node {0} is down")]
    NodeDown(Atom),
    /// No answer within the timeout (`{erpc, timeout}` / `{badrpc, timeout}`).
    #[error("timeout")]
    Timeout,
    /// The function raised. `stacktrace` is present for class `error`.
    #[error("exception {class}: {reason}")]
    Exception {
        /// `error`, `exit` or `throw`.
        class: ExceptionClass,
        /// The raised term.
        reason: Term,
        /// The (trimmed) stack trace OTP sends for errors.
        stacktrace: Option<Term>,
    },
    /// The process running the call was killed by an exit signal with this reason
    /// (erpc raises `exit({signal, Reason})`).
    #[error("the call's process was killed: {0}")]
    Signal(Term),
    /// Any other failure, as the `{badrpc, Reason}` reason of `rpc:call`: a refused
    /// spawn (`notsup`, `badopt`, …) or a `rex` fallback answer of that shape.
    #[error("badrpc: {0}")]
    BadRpc(Term),
}

impl RpcError {
    /// What OTP's `rpc:call/5` returns for this failure (§9.2 table): `{badrpc, R}`, or
    /// for `throw(T)` the thrown value `T` itself.
    pub fn to_rpc_result(&self) -> Term {
        let badrpc = |r: Term| Term::tuple(vec![Term::atom("badrpc"), r]);
        let exit = |r: Term| badrpc(Term::tuple(vec![Term::atom("EXIT"), r]));
        match self {
            RpcError::NodeDown(_) => badrpc(Term::atom("nodedown")),
            RpcError::Timeout => badrpc(Term::atom("timeout")),
            RpcError::Exception {
                class: ExceptionClass::Throw,
                reason,
                ..
            } => reason.clone(),
            RpcError::Exception {
                class: ExceptionClass::Exit,
                reason,
                ..
            } => exit(reason.clone()),
            RpcError::Exception {
                reason, stacktrace, ..
            } => exit(Term::tuple(vec![
                reason.clone(),
                stacktrace.clone().unwrap_or(Term::Nil),
            ])),
            RpcError::Signal(r) => exit(r.clone()),
            RpcError::BadRpc(r) => badrpc(r.clone()),
        }
    }
}

/// `rpc:call(Node, Module, Function, Args, Timeout)` (erpc semantics, §9.1): runs
/// `Module:Function(Args…)` on `target` and returns its value.
pub async fn call(
    node: &Node,
    target: &Atom,
    module: &str,
    function: &str,
    args: Vec<Term>,
    timeout: Duration,
) -> Result<Term, RpcError> {
    let mut p = node.process();
    let sink = start_io_sink(node);
    p.set_group_leader(&sink);
    let r = call_in(&mut p, target, module, function, args, timeout).await;
    // Dropping `p` ends the process: its monitor goes, a late DOWN is discarded.
    drop(p);
    node.send(&sink, Term::atom("stop"));
    r
}

/// The group leader of the processes [`call`] starts (docs/protocol.md §12): an I/O
/// server that writes their output (`io:format/2` in the called function) to this
/// program's stdout, as `rpc:call` from a shell shows it in that shell. Without one a
/// remote `io:format` would wait forever for an `io_reply`. Formatting requests
/// (`{put_chars, Enc, io_lib, format, Args}`) are evaluated back on the caller's node
/// with another call, since only the BEAM has `io_lib`. Input requests get
/// `{error, enotsup}`. Stops on the message `stop`.
pub fn start_io_sink(node: &Node) -> Pid {
    let n = node.clone();
    node.spawn(move |mut p| async move {
        while let Ok(msg) = p.receive(None).await {
            if msg.is_atom("stop") {
                break;
            }
            let Some([tag, Term::Pid(from), reply_as, req]) = msg.as_tuple() else {
                continue;
            };
            if !tag.is_atom("io_request") {
                continue;
            }
            let reply = match io_text(&n, &from.node, req).await {
                Some(text) => {
                    use std::io::Write;
                    let mut out = std::io::stdout().lock();
                    let _ = out.write_all(text.as_bytes());
                    let _ = out.flush();
                    Term::atom("ok")
                }
                None => Term::tuple(vec![Term::atom("error"), Term::atom("enotsup")]),
            };
            p.send(
                from,
                Term::tuple(vec![Term::atom("io_reply"), reply_as.clone(), reply]),
            )
            .await;
        }
    })
}

/// The text an output request asks to write, or `None` for requests we do not serve.
/// Formatting parts are evaluated on `origin` (the node of the requesting process).
async fn io_text(node: &Node, origin: &Atom, req: &Term) -> Option<String> {
    let mut text = String::new();
    for part in crate::services::io::output_parts(req)? {
        match part {
            OutputPart::Text(t) => text.push_str(&t),
            OutputPart::Format {
                module,
                function,
                args,
            } => {
                let t = Duration::from_secs(10);
                let mut p = node.process();
                let v = call_in(&mut p, origin, module.as_str(), function.as_str(), args, t)
                    .await
                    .ok()?;
                text.push_str(&crate::services::io::chardata(&v)?);
            }
        }
    }
    Some(text)
}

/// [`call`] from an existing process (its group leader is passed on, as OTP does).
/// On timeout the monitor is removed and any `DOWN` already queued is flushed, so no
/// stray message stays in `process`'s mailbox.
pub async fn call_in(
    process: &mut Process,
    target: &Atom,
    module: &str,
    function: &str,
    args: Vec<Term>,
    timeout: Duration,
) -> Result<Term, RpcError> {
    // A timeout too large to add to the clock (`Duration::MAX`) means no deadline.
    let deadline = Instant::now().checked_add(timeout);
    let res = process.node().make_ref();
    let erpc_args = execute_call_args(&res, module, function, args.clone());
    let opts = SpawnRequestOpts {
        monitor: true,
        timeout: Some(timeout),
        ..SpawnRequestOpts::default()
    };
    let spawned = process
        .spawn_request(target, "erpc", "execute_call", erpc_args, opts)
        .await;
    let (pid, mref) = match spawned {
        Ok((pid, Some(mref))) => (pid, mref),
        Ok((_, None)) => return Err(RpcError::BadRpc(Term::atom("no_monitor"))),
        Err(SpawnError::NotSupported) => {
            debug!(node = %target, "peer lacks DFLAG_SPAWN; calling rex");
            return rex_call(process, target, module, function, args, timeout).await;
        }
        Err(e) => return Err(spawn_error(e, target)),
    };
    let is_down = |m: &Term| matches!(m.as_tuple(), Some([tag, Term::Ref(r), ..]) if tag.is_atom("DOWN") && *r == mref);
    let left = deadline.map(|d| d.saturating_duration_since(Instant::now()));
    match process.receive_match(is_down, left).await {
        Ok(down) => {
            let reason = match down {
                Term::Tuple(t) => t.into_vec().pop().unwrap_or(Term::Nil),
                _ => Term::Nil,
            };
            decode_result(&res, reason, target)
        }
        Err(ReceiveError::Timeout) => {
            debug!(node = %target, %pid, "erpc call timed out; demonitoring");
            process.demonitor_flush(&mref);
            Err(RpcError::Timeout)
        }
        Err(ReceiveError::Exited(r)) => Err(RpcError::Signal(r)),
    }
}

pub(crate) fn spawn_error(e: SpawnError, target: &Atom) -> RpcError {
    match e {
        SpawnError::NoConnection => RpcError::NodeDown(target.clone()),
        SpawnError::Timeout => RpcError::Timeout,
        SpawnError::NotSupported => RpcError::BadRpc(Term::atom("notsup")),
        SpawnError::Refused(a) => {
            RpcError::BadRpc(Term::tuple(vec![Term::atom("EXIT"), Term::Atom(a)]))
        }
        SpawnError::Exited(r) => RpcError::Signal(r),
    }
}

/// Maps the `DOWN` reason of an `erpc:execute_call/4` process to the outcome (§9.2).
pub(crate) fn decode_result(
    res: &crate::term::Reference,
    reason: Term,
    target: &Atom,
) -> Result<Term, RpcError> {
    let tagged = |t: &Term| matches!(t, Term::Ref(r) if r == res);
    if let Term::Tuple(t) = &reason {
        match t.as_slice() {
            [r, kind, v] if tagged(r) && kind.is_atom("return") => return Ok(v.clone()),
            [r, kind, v] if tagged(r) && kind.is_atom("throw") => {
                return Err(exception(ExceptionClass::Throw, v.clone(), None))
            }
            [r, kind, v] if tagged(r) && kind.is_atom("exit") => {
                return Err(exception(ExceptionClass::Exit, v.clone(), None))
            }
            [r, kind, v] if tagged(r) && kind.is_atom("error") => {
                return Err(exception(ExceptionClass::Error, v.clone(), None))
            }
            [r, kind, v, st] if tagged(r) && kind.is_atom("error") => {
                return Err(exception(
                    ExceptionClass::Error,
                    v.clone(),
                    Some(st.clone()),
                ))
            }
            _ => {}
        }
    }
    if reason.is_atom("noconnection") {
        return Err(RpcError::NodeDown(target.clone()));
    }
    Err(RpcError::Signal(reason))
}

fn exception(class: ExceptionClass, reason: Term, stacktrace: Option<Term>) -> RpcError {
    RpcError::Exception {
        class,
        reason,
        stacktrace,
    }
}

/// The arguments of `erpc:execute_call/4` for a call of `M:F(Args…)` whose result is
/// tagged with `res` (§9.1). Shared by every driver that calls through erpc.
pub(crate) fn execute_call_args(
    res: &crate::term::Reference,
    module: &str,
    function: &str,
    args: Vec<Term>,
) -> Vec<Term> {
    vec![
        Term::Ref(res.clone()),
        Term::atom(module),
        Term::atom(function),
        Term::list(args),
    ]
}

/// The `rex` request `{call, M, F, A, GL}` (§9.4), as `rpc` and `erl_call -a` send it.
pub(crate) fn rex_call_request(module: &str, function: &str, args: Vec<Term>, gl: Term) -> Term {
    Term::tuple(vec![
        Term::atom("call"),
        Term::atom(module),
        Term::atom(function),
        Term::list(args),
        gl,
    ])
}

/// rex's reply, already in `rpc:call` shape: `{badrpc, R}` is a failure, anything else
/// (a thrown value included) the call's value (§9.4).
pub(crate) fn rex_outcome(reply: Term) -> Result<Term, RpcError> {
    match reply.as_tuple() {
        Some([tag, reason]) if tag.is_atom("badrpc") => Err(RpcError::BadRpc(reason.clone())),
        _ => Ok(reply),
    }
}

/// The §9.3/§9.4 fallback: `gen_server:call({rex, Node}, {call, M, F, A, GL})`.
async fn rex_call(
    process: &mut Process,
    target: &Atom,
    module: &str,
    function: &str,
    args: Vec<Term>,
    timeout: Duration,
) -> Result<Term, RpcError> {
    let gl = process
        .group_leader()
        .map(Term::Pid)
        .unwrap_or_else(|| Term::atom("user"));
    let req = rex_call_request(module, function, args, gl);
    let dest = Dest::Remote(Atom::new("rex"), target.clone());
    match gen::call(process, &dest, req, timeout).await {
        Ok(reply) => rex_outcome(reply),
        Err(CallError::Timeout) => Err(RpcError::Timeout),
        Err(CallError::NodeDown(_)) => Err(RpcError::NodeDown(target.clone())),
        Err(e) => Err(RpcError::BadRpc(e.reason())),
    }
}

/// `rpc:cast(Node, Module, Function, Args)` / `erpc:cast/4`: runs the function on
/// `target` and returns once the peer accepted the spawn (its SPAWN_REPLY, which is
/// owed even though OTP's own caster ignores it, §5.4). The function's result and
/// errors stay on the target. A peer without DFLAG_SPAWN gets the `rex` cast (module
/// docs) and this returns once it is sent.
pub async fn cast(
    node: &Node,
    target: &Atom,
    module: &str,
    function: &str,
    args: Vec<Term>,
) -> Result<(), RpcError> {
    let mut p = node.process();
    let opts = SpawnRequestOpts {
        timeout: Some(Duration::from_secs(30)),
        ..SpawnRequestOpts::default()
    };
    let mfa = vec![
        Term::atom(module),
        Term::atom(function),
        Term::list(args.clone()),
    ];
    match p
        .spawn_request(target, "erpc", "execute_cast", mfa, opts)
        .await
    {
        Ok(_) => Ok(()),
        Err(SpawnError::NotSupported) => {
            debug!(node = %target, "peer lacks DFLAG_SPAWN; casting to rex");
            let req = Term::tuple(vec![
                Term::atom("cast"),
                Term::atom(module),
                Term::atom(function),
                Term::list(args),
                Term::atom("user"),
            ]);
            gen::cast(&p, &Dest::Remote(Atom::new("rex"), target.clone()), req);
            Ok(())
        }
        Err(e) => Err(spawn_error(e, target)),
    }
}

/// `rpc:multicall(Nodes, M, F, A, Timeout)` / `erpc:multicall/5`: calls every node in
/// parallel and returns one outcome per node, in the order given.
pub async fn multicall(
    node: &Node,
    targets: &[Atom],
    module: &str,
    function: &str,
    args: Vec<Term>,
    timeout: Duration,
) -> Vec<(Atom, Result<Term, RpcError>)> {
    let mut tasks = Vec::with_capacity(targets.len());
    for t in targets {
        let (n, t, m, f, a) = (
            node.clone(),
            t.clone(),
            module.to_string(),
            function.to_string(),
            args.clone(),
        );
        tasks.push(tokio::spawn(async move {
            let r = call(&n, &t, &m, &f, a, timeout).await;
            (t, r)
        }));
    }
    let mut out = Vec::with_capacity(tasks.len());
    for (task, t) in tasks.into_iter().zip(targets) {
        match task.await {
            Ok(r) => out.push(r),
            Err(_) => out.push((t.clone(), Err(RpcError::BadRpc(Term::atom("crashed"))))),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::term::Reference;

    fn r() -> Reference {
        Reference {
            node: Atom::new("a@h"),
            creation: 1,
            ids: vec![1, 2, 3],
        }
    }

    #[test]
    fn down_reasons_map_to_outcomes() {
        let n = Atom::new("x@h");
        let res = r();
        let t = |k: &str, v: Term| Term::tuple(vec![Term::Ref(res.clone()), Term::atom(k), v]);
        assert_eq!(
            decode_result(&res, t("return", Term::Int(1)), &n),
            Ok(Term::Int(1))
        );
        let e = decode_result(&res, t("throw", Term::atom("x")), &n).unwrap_err();
        assert_eq!(e.to_rpc_result(), Term::atom("x"));
        let e = decode_result(&res, t("exit", Term::atom("x")), &n).unwrap_err();
        assert_eq!(e.to_rpc_result().to_string(), "{badrpc,{'EXIT',x}}");
        let e = decode_result(&res, Term::atom("killed"), &n).unwrap_err();
        assert_eq!(e, RpcError::Signal(Term::atom("killed")));
        let e = decode_result(&res, Term::atom("noconnection"), &n).unwrap_err();
        assert_eq!(e, RpcError::NodeDown(n));
    }
}

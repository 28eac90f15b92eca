//! Serving rpc and erpc (docs/protocol.md §9.2, §9.4, §5.4, §15 traps 3–4).
//!
//! Rust functions registered with [`Node::register_rpc`] (sync) or
//! [`Node::register_rpc_async`] are *callables*: they take the argument list and
//! return a value or an [`RpcException`]. They are distinct from spawned process
//! bodies ([`Node::register_function`]) because rpc needs a result.
//! [`Node::register_rpc_process`] callables also get a [`Process`] whose group leader
//! is the caller's (§12), so their output reaches the calling shell.
//!
//! Every OTP 25+ path but `block_call` arrives as a SPAWN_REQUEST (§9.1):
//! `erpc:call`/`send_request`/`multicall`, `rpc:call`/`async_call`/`multicall` spawn
//! `erpc:execute_call(Res, M, F, A)`; `erpc:cast`/`rpc:cast` spawn
//! `erpc:execute_cast(M, F, A)`. [`start`] registers those two MFAs in the spawn
//! registry, so the spawn machinery takes care of the SPAWN_REPLY-first rule, the
//! monitor (ref = ReqId) and the group leader. The served process runs the callable in
//! its own task (a long handler blocks nothing else) and then exits with the reason
//! `erpc` decodes (§9.2): `{Res, return, V}`, `{Res, throw, T}`, `{Res, exit, R}`,
//! `{Res, error, E, Stack}` — an unknown function gives OTP's
//! `{Res, error, undef, [{M, F, A, []}]}`. The legacy `rex` server
//! ([`super::rex`]) serves `block_call`, old callers and `features_request`.
//!
//! Newer OTP: OTP 27 puts exactly what OTP 25 puts on the wire (checked live in
//! `tests/newer_otp/interop_newer_otp_rpc.rs`): spawn options `[monitor]` for calls and `[]` for
//! casts; `{reply, error_only}`, `{reply_tag, T}` and `{monitor, [{tag, T}]}` /
//! `{monitor, [{alias, _}]}` stay in the requester's erts (a monitor with options
//! arrives as a bare `monitor`); user `spawn_opt` options such as `{priority, _}` or
//! `{async_dist, _}` arrive as they are and are accepted. OTP 28's `erpc.erl` adds only
//! local call options (`always_spawn`, `execute_call/3` for in-process calls) and its
//! `rpc.erl` keeps the rex shapes (block_call inside the server, `{rex, Reply}` for
//! C-node calls), so they need nothing more here.

pub use crate::node::{RpcClass, RpcException, RpcHandler, RpcProcessHandler, RpcResult};

use crate::node::{Callable, Node};
use crate::runtime::Process;
use crate::term::{Atom, Pid, Term};
use tracing::{debug, warn};

/// How a call ended, before it is put into the erpc or rex shape.
#[derive(Debug, Clone, PartialEq)]
pub enum Outcome {
    /// The function returned this value.
    Return(Term),
    /// It raised; `stack` is only present for `error`.
    Raised {
        class: RpcClass,
        reason: Term,
        stack: Term,
    },
}

impl Outcome {
    /// The exit reason `erpc:execute_call/4` ends with (§9.2), tagged with `Res`.
    pub fn erpc_reason(self, res: Term) -> Term {
        match self {
            Outcome::Return(v) => Term::tuple(vec![res, Term::atom("return"), v]),
            Outcome::Raised {
                class: RpcClass::Error,
                reason,
                stack,
            } => Term::tuple(vec![res, Term::atom("error"), reason, stack]),
            Outcome::Raised { class, reason, .. } => {
                Term::tuple(vec![res, Term::atom(class.as_str()), reason])
            }
        }
    }

    /// The reply the `rex` server gives (§9.4): the value; a thrown value as it is;
    /// `{badrpc, {'EXIT', R}}` for an exit and `{badrpc, {'EXIT', {E, Stack}}}` for an
    /// error.
    pub fn rpc_reply(self) -> Term {
        let exit = |r: Term| {
            Term::tuple(vec![
                Term::atom("badrpc"),
                Term::tuple(vec![Term::atom("EXIT"), r]),
            ])
        };
        match self {
            Outcome::Return(v) => v,
            Outcome::Raised {
                class: RpcClass::Throw,
                reason,
                ..
            } => reason,
            Outcome::Raised {
                class: RpcClass::Exit,
                reason,
                ..
            } => exit(reason),
            Outcome::Raised { reason, stack, .. } => exit(Term::tuple(vec![reason, stack])),
        }
    }
}

impl Node {
    /// Runs `Module:Function(Args…)` as rpc would: the registered callable in its own
    /// task (panics caught), or OTP's `error:undef` for an unknown function.
    /// `erlang:apply(Fun, [])` with an external fun `fun m:f/0` calls `m:f/0`; with a
    /// closure it raises `error(beamnode_cannot_run_funs)`.
    /// A [`register_rpc_process`](Self::register_rpc_process) function runs in a
    /// process without a group leader; see [`apply_rpc_as`](Self::apply_rpc_as).
    pub async fn apply_rpc(&self, module: &Atom, function: &Atom, args: Vec<Term>) -> Outcome {
        self.apply_rpc_as(None, module, function, args).await
    }

    /// [`apply_rpc`](Self::apply_rpc) on behalf of a caller whose group leader is
    /// `group_leader` (§12): a [`register_rpc_process`](Self::register_rpc_process)
    /// function runs in a fresh process with that group leader, as OTP's rpc runs the
    /// function in a process whose group leader is the caller's.
    pub async fn apply_rpc_as(
        &self,
        group_leader: Option<Pid>,
        module: &Atom,
        function: &Atom,
        args: Vec<Term>,
    ) -> Outcome {
        let (module, function, args) = match (module.as_str(), function.as_str(), &args[..]) {
            ("erlang", "apply", [Term::ExportFun(f), Term::Nil])
                if self.callable(module, function, 2).is_none() =>
            {
                (f.module.clone(), f.function.clone(), Vec::new())
            }
            ("erlang", "apply", [Term::InternalFun(_), Term::Nil])
                if self.callable(module, function, 2).is_none() =>
            {
                // A closure's code exists only in the BEAM that made it: say so, as the
                // spawn path does (crate::node::spawn::CANNOT_RUN_FUNS), not `undef`.
                warn!(
                    "rpc of a fun (closure) refused: {}",
                    crate::node::CANNOT_RUN_FUNS
                );
                return Outcome::Raised {
                    class: RpcClass::Error,
                    reason: Term::atom(crate::node::CANNOT_RUN_FUNS),
                    stack: Term::list(vec![Term::tuple(vec![
                        Term::atom("erlang"),
                        Term::atom("apply"),
                        Term::Int(2),
                        Term::Nil,
                    ])]),
                };
            }
            _ => (module.clone(), function.clone(), args),
        };
        let Some(handler) = self.callable(&module, &function, args.len()) else {
            debug!(%module, %function, arity = args.len(), "rpc of an unknown function: undef");
            let frame = Term::tuple(vec![
                Term::Atom(module),
                Term::Atom(function),
                Term::list(args),
                Term::Nil,
            ]);
            return Outcome::Raised {
                class: RpcClass::Error,
                reason: Term::atom("undef"),
                stack: Term::list(vec![frame]),
            };
        };
        let arity = i64::try_from(args.len()).unwrap_or(i64::MAX);
        let fut = match handler {
            Callable::Plain(h) => h(self.clone(), args),
            Callable::InProcess(h) => {
                let p = self.process();
                if let Some(gl) = &group_leader {
                    p.set_group_leader(gl);
                }
                h(p, args)
            }
        };
        let mut task = AbortOnDrop(tokio::spawn(fut));
        let result = match (&mut task.0).await {
            Ok(r) => r,
            Err(e) if e.is_panic() => {
                let reason = crate::runtime::panic::panic_reason(&*e.into_panic());
                warn!(%module, %function, %reason, "rpc handler panicked");
                Err(RpcException::error(reason))
            }
            Err(_) => Err(RpcException::exit(Term::atom("killed"))),
        };
        match result {
            Ok(v) => Outcome::Return(v),
            Err(RpcException {
                class,
                reason,
                stack,
            }) => {
                let stack = stack.unwrap_or_else(|| {
                    Term::list(vec![Term::tuple(vec![
                        Term::Atom(module),
                        Term::Atom(function),
                        Term::Int(arity),
                        Term::Nil,
                    ])])
                });
                Outcome::Raised {
                    class,
                    reason,
                    stack,
                }
            }
        }
    }
}

/// Aborts the handler task when the serving process is killed (an erpc timeout may
/// `exit(Pid, kill)` it), so abandoned work stops.
struct AbortOnDrop<T>(tokio::task::JoinHandle<T>);

impl<T> Drop for AbortOnDrop<T> {
    fn drop(&mut self) {
        self.0.abort();
    }
}

/// `erpc:execute_call(Res, M, F, A)` served natively (§9.2).
async fn execute_call(p: Process, args: Vec<Term>) {
    let node = p.node().clone();
    match <[Term; 4]>::try_from(args) {
        Ok([res, Term::Atom(m), Term::Atom(f), a]) if a.as_list().is_some() => {
            // The arguments move into the call: no copy of what may be a large term.
            let a = a.into_list().unwrap_or_default();
            let gl = p.group_leader();
            let reason = node.apply_rpc_as(gl, &m, &f, a).await.erpc_reason(res);
            p.exit(reason);
        }
        Ok([res, ..]) => {
            // OTP's execute_call raises badarg on a bad M/F/A, reported as
            // `{erpc, badarg}` (is_arg_error in erpc.erl).
            let reason = Term::tuple(vec![
                res,
                Term::atom("error"),
                Term::tuple(vec![Term::atom("erpc"), Term::atom("badarg")]),
            ]);
            p.exit(reason);
        }
        Err(_) => p.exit(Term::atom("badarg")),
    }
}

/// `erpc:execute_cast(M, F, A)`: runs, nothing travels back (errors are logged, as
/// OTP logs them on the serving node).
async fn execute_cast(p: Process, args: Vec<Term>) {
    let node = p.node().clone();
    if let Ok([Term::Atom(m), Term::Atom(f), a]) = <[Term; 3]>::try_from(args) {
        if let Ok(a) = a.into_list() {
            let gl = p.group_leader();
            if let Outcome::Raised { class, reason, .. } = node.apply_rpc_as(gl, &m, &f, a).await {
                warn!(%m, %f, class = class.as_str(), %reason, "rpc cast raised");
            }
        }
    }
}

/// Starts rpc serving on `node`: erpc's `execute_call/4` and `execute_cast/3`, the
/// `rex` server, and the native `erlang`/`net_adm` functions (`super::native`).
pub fn start(node: &Node) -> Result<(), crate::runtime::table::RegisterError> {
    node.register_function("erpc", "execute_call", 4, execute_call);
    node.register_function("erpc", "execute_cast", 3, execute_cast);
    super::native::register(node);
    super::rex::start(node)?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn res() -> Term {
        Term::atom("res")
    }

    #[test]
    fn erpc_reasons_have_otp_shapes() {
        assert_eq!(
            Outcome::Return(Term::Int(3)).erpc_reason(res()).to_string(),
            "{res,return,3}"
        );
        let err = Outcome::Raised {
            class: RpcClass::Error,
            reason: Term::atom("boom"),
            stack: Term::Nil,
        };
        assert_eq!(
            err.clone().erpc_reason(res()).to_string(),
            "{res,error,boom,[]}"
        );
        assert_eq!(err.rpc_reply().to_string(), "{badrpc,{'EXIT',{boom,[]}}}");
        let exit = Outcome::Raised {
            class: RpcClass::Exit,
            reason: Term::atom("bye"),
            stack: Term::Nil,
        };
        assert_eq!(
            exit.clone().erpc_reason(res()).to_string(),
            "{res,exit,bye}"
        );
        assert_eq!(exit.rpc_reply().to_string(), "{badrpc,{'EXIT',bye}}");
        let throw = Outcome::Raised {
            class: RpcClass::Throw,
            reason: Term::atom("v"),
            stack: Term::Nil,
        };
        assert_eq!(throw.rpc_reply().to_string(), "v");
    }
}

//! Running a registered callable as rpc runs a function: [`Node::apply_rpc`] looks the
//! `{Module, Function, Arity}` up in the node's table (`functions`), runs it in the
//! calling task with panics caught, and reports an [`Outcome`]: a value, or an exception with
//! OTP's class, reason and stack (docs/protocol.md §9.2). The rpc server
//! (`services::rpc_server`) and `rex` put an outcome into the erpc or rex shape; a
//! gen_server's `sys:replace_state` runs a registered `fun M:F/1` the same way. It sits
//! in the node because only the node holds the table; the services above use it
//! through this public method.

use super::{Callable, Node, RpcClass, RpcException, CANNOT_RUN_FUNS};
use crate::runtime::catch_panic;
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

/// `{erlang, apply, What, []}`: a stack frame of `erlang:apply` (What is the arity,
/// or the argument list in a BIF's error).
fn apply_frame(what: Term) -> Term {
    Term::tuple(vec![
        Term::atom("erlang"),
        Term::atom("apply"),
        what,
        Term::Nil,
    ])
}

/// What `erlang:apply/2,3` asked over rpc stands for, unless the node registered a
/// callable of that name itself: `apply(M, F, Args)` and `apply(fun M:F/N, Args)` call
/// `M:F(Args…)` (the last element says through which arity of `apply`); a closure
/// raises `error(beamnode_cannot_run_funs)` (its code exists only in the BEAM that
/// made it); bad arguments raise what BEAM raises (`badarg` with the BIF's frame,
/// `{badarity, {Fun, Args}}`). Anything else is called as it is.
#[allow(clippy::type_complexity)]
fn unwrap_apply(
    node: &Node,
    module: &Atom,
    function: &Atom,
    args: Vec<Term>,
) -> Result<(Atom, Atom, Vec<Term>, Option<i64>), Outcome> {
    let arity = args.len();
    if module.as_str() != "erlang"
        || function.as_str() != "apply"
        || !(2..=3).contains(&arity)
        || node.callable(module, function, arity).is_some()
    {
        return Ok((module.clone(), function.clone(), args, None));
    }
    let error = |reason: Term, frame: Term| Outcome::Raised {
        class: RpcClass::Error,
        reason,
        stack: Term::list(vec![frame]),
    };
    let bif_badarg = |args: Vec<Term>| {
        let frame = Term::tuple(vec![
            Term::atom("erlang"),
            Term::atom("apply"),
            Term::list(args),
            Term::list(vec![Term::tuple(vec![
                Term::atom("error_info"),
                Term::map(vec![(Term::atom("module"), Term::atom("erl_erts_errors"))]),
            ])]),
        ]);
        error(Term::atom("badarg"), frame)
    };
    match &args[..] {
        [Term::Atom(m), Term::Atom(f), list] => match list.as_list() {
            Some(a) => Ok((m.clone(), f.clone(), a.to_vec(), Some(3))),
            None => Err(bif_badarg(args)),
        },
        [Term::ExportFun(fun), list] => match list.as_list() {
            Some(a) if a.len() == usize::from(fun.arity) => Ok((
                fun.module.clone(),
                fun.function.clone(),
                a.to_vec(),
                Some(2),
            )),
            Some(_) => {
                let reason = Term::tuple(vec![Term::atom("badarity"), Term::tuple(args.clone())]);
                Err(error(reason, apply_frame(Term::Int(2))))
            }
            None => Err(bif_badarg(args)),
        },
        [Term::InternalFun(_), _] => {
            warn!("rpc of a fun (closure) refused: {}", CANNOT_RUN_FUNS);
            Err(error(
                Term::atom(CANNOT_RUN_FUNS),
                apply_frame(Term::Int(2)),
            ))
        }
        [other, list] if list.as_list().is_some() => {
            let reason = Term::tuple(vec![Term::atom("badfun"), other.clone()]);
            Err(error(reason, apply_frame(Term::Int(2))))
        }
        _ => Err(bif_badarg(args)),
    }
}

impl Node {
    /// Runs `Module:Function(Args…)` as rpc would: the registered callable in its own
    /// task (panics caught), or OTP's `error:undef` for an unknown function.
    /// `erlang:apply(M, F, Args)` and `erlang:apply(fun M:F/N, Args)` call `M:F`; with
    /// a closure it raises `error(beamnode_cannot_run_funs)` (see `unwrap_apply`).
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
        let (module, function, args, via) = match unwrap_apply(self, module, function, args) {
            Ok(call) => call,
            Err(raised) => return raised,
        };
        let Some(handler) = self.callable(&module, &function, args.len()) else {
            debug!(%module, %function, arity = args.len(), "rpc of an unknown function: undef");
            let mut frames = vec![Term::tuple(vec![
                Term::Atom(module),
                Term::Atom(function),
                Term::list(args),
                Term::Nil,
            ])];
            // Through `erlang:apply/2,3`, BEAM's stack shows that frame below.
            if let Some(n) = via {
                frames.push(apply_frame(Term::Int(n)));
            }
            return Outcome::Raised {
                class: RpcClass::Error,
                reason: Term::atom("undef"),
                stack: Term::list(frames),
            };
        };
        let arity = args.len();
        // A BIF's error names its arguments (default_stack); they are small.
        let bif_args = (module.as_str() == "erlang").then(|| args.clone());
        // The handler runs in the calling task, its panics caught there: a task of its
        // own would cost every call a spawn and a wake-up (rpc with one caller is a
        // round trip, BENCHMARKS.md). Killing the caller drops the handler with it.
        let node = self.clone();
        let result = match catch_panic(move || match handler {
            Callable::Plain(h) => h(node, args),
            Callable::InProcess(h) => {
                let p = node.process();
                if let Some(gl) = &group_leader {
                    p.set_group_leader(gl);
                }
                h(p, args)
            }
        })
        .await
        {
            Ok(r) => r,
            Err(reason) => {
                warn!(%module, %function, %reason, "rpc handler panicked");
                Err(RpcException::error(reason))
            }
        };
        match result {
            Ok(v) => Outcome::Return(v),
            Err(RpcException {
                class,
                reason,
                stack,
            }) => {
                let stack = stack.unwrap_or_else(|| {
                    super::functions::default_stack(&module, &function, arity, bif_args)
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

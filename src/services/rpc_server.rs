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

pub use crate::node::{Outcome, RpcClass, RpcException, RpcHandler, RpcProcessHandler, RpcResult};

use crate::node::Node;
use crate::runtime::RegisterError;
use crate::term::Term;
use crate::Process;
use tracing::warn;

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
pub fn start(node: &Node) -> Result<(), RegisterError> {
    node.register_function("erpc", "execute_call", 4, execute_call);
    node.register_function("erpc", "execute_cast", 3, execute_cast);
    super::native::register(node);
    super::rex::start(node)?;
    Ok(())
}

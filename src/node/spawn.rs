//! Spawn requests both ways (docs/protocol.md §5.4, §15 trap 3, §9.1).
//!
//! Serving: a BEAM node's `spawn/4`, `spawn_link/4`, `spawn_monitor/4` (and erpc) arrive
//! as SPAWN_REQUEST for `{M, F, Arity}` + ArgList. beamnode cannot load Erlang code, so
//! a *function registry* on the [`Node`] maps `{M, F, Arity}` to Rust code. The new
//! process gets the requester's group leader, the link and the monitor (ref = ReqId)
//! asked for, and the SPAWN_REPLY is queued **before the process may run**, so it
//! precedes every other signal from it on the ordered per-node queue (§15 trap 3). An
//! MFA nobody registered behaves as an undefined function does in OTP: the reply
//! carries a pid and that process exits with `{undef, [{M, F, Args, []}]}`.
//!
//! Requesting: [`Process::spawn_request`] sends SPAWN_REQUEST and waits for the reply,
//! which is delivered into the requester's mailbox as OTP's `{spawn_reply, ReqId, ok |
//! error, Pid | Reason}`. Link and monitor state are set up by the dispatcher when the
//! reply arrives, before any later signal of the new process is handled.

use super::{Node, Process, SpawnOpts};
use crate::proto::control::spawn::{REPLY_FLAG_LINK, REPLY_FLAG_MONITOR};
use crate::proto::control::{ControlMessage, ProcRef};
use crate::proto::DistFlags;
use crate::runtime::table::{key, LinkState, Watch, Watched};
use crate::runtime::ReceiveError;
use crate::term::{Atom, Pid, Reference, Term};
use std::collections::HashMap;
use std::future::Future;
use std::pin::Pin;
use std::sync::{Arc, Mutex};
use std::time::Duration;
use tracing::{debug, trace, warn};

/// Rust code that runs as `Module:Function(Args…)` when a peer spawns that MFA here.
/// It gets the new process and the argument list; the process exits `normal` when the
/// future completes (or with the reason given to [`Process::exit`]).
pub type SpawnHandler =
    Arc<dyn Fn(Process, Vec<Term>) -> Pin<Box<dyn Future<Output = ()> + Send>> + Send + Sync>;

/// The error atom a SPAWN_REPLY carries when a peer asks us to run a fun
/// (`Node.spawn(node, fun)` is a request for `erlang:apply/2` with the fun as first
/// argument). A closure's code only exists inside the BEAM, so we refuse at once:
/// OTP's `spawn/2,4` then raise `error(beamnode_cannot_run_funs)` in the caller, which
/// names the problem where the user typed the call.
pub const CANNOT_RUN_FUNS: &str = "beamnode_cannot_run_funs";

/// `spawn_opt` options OTP may put on the wire (§5.4) that mean nothing to a Rust
/// process; they are accepted and ignored. Anything else is answered with `badopt`,
/// as OTP does.
const HARMLESS_OPTS: &[&str] = &[
    "priority",
    "fullsweep_after",
    "min_heap_size",
    "min_bin_vheap_size",
    "max_heap_size",
    "message_queue_data",
    "async_dist",
];

type Mfa = (Atom, Atom, u32);

struct Pending {
    requester: Pid,
    node: Atom,
}

/// The node's spawn state: registered functions and our outstanding requests.
#[derive(Default)]
pub(crate) struct SpawnState {
    functions: Mutex<HashMap<Mfa, SpawnHandler>>,
    /// Functions callable through rpc/erpc (see `functions`, §9.2): kept here so the
    /// registry lives and dies with its node.
    pub(crate) callables: Mutex<HashMap<Mfa, super::Callable>>,
    pending: Mutex<HashMap<Reference, Pending>>,
}

fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|e| e.into_inner())
}

/// Options of [`Process::spawn_request`] (`erlang:spawn_request/5`'s `link`/`monitor`).
#[derive(Debug, Clone, Default)]
pub struct SpawnRequestOpts {
    /// Link the requester to the new process (`link`).
    pub link: bool,
    /// Monitor the new process; the monitor's reference is the request id (`monitor`).
    pub monitor: bool,
    /// Group leader of the new process; default: the requester's, else the requester.
    pub group_leader: Option<Pid>,
    /// Further `spawn_opt` options sent as they are (e.g. `{priority, high}`).
    pub extra: Vec<Term>,
    /// Give up waiting for the SPAWN_REPLY after this long (the request is then
    /// abandoned as `spawn_request_abandon/1` does). `None` waits until the reply or
    /// the loss of the connection, as OTP does.
    pub timeout: Option<Duration>,
}

/// Why a spawn request failed.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[non_exhaustive]
pub enum SpawnError {
    /// The node could not be reached, or the connection went down before the reply.
    #[error("no connection to the node")]
    NoConnection,
    /// The peer does not support spawn requests (no DFLAG_SPAWN).
    #[error("the node does not support spawn requests")]
    NotSupported,
    /// The peer answered with this error atom (`badopt`, `system_limit`, …).
    #[error("spawn refused: {0}")]
    Refused(Atom),
    /// No reply within [`SpawnRequestOpts::timeout`]; the request was abandoned.
    #[error("no spawn reply within the timeout")]
    Timeout,
    /// The requesting process was ended while waiting.
    #[error("requester exited: {0}")]
    Exited(Term),
}

impl SpawnError {
    /// The error a SPAWN_REPLY's error atom stands for (§5.4).
    pub fn from_reply_atom(a: &Atom) -> SpawnError {
        match a.as_str() {
            "noconnection" => SpawnError::NoConnection,
            "notsup" => SpawnError::NotSupported,
            _ => SpawnError::Refused(a.clone()),
        }
    }
}

/// What the requester asked for in a SPAWN_REQUEST's option list.
struct ParsedOpts {
    link: bool,
    monitor: bool,
}

fn parse_opts(opts: &Term) -> Option<ParsedOpts> {
    let mut p = ParsedOpts {
        link: false,
        monitor: false,
    };
    for o in opts.as_list()? {
        match o {
            Term::Atom(a) if a.as_str() == "link" => p.link = true,
            Term::Atom(a) if a.as_str() == "monitor" => p.monitor = true,
            Term::Tuple(t)
                if t.len() == 2
                    && t[0]
                        .as_atom()
                        .is_some_and(|a| HARMLESS_OPTS.contains(&a.as_str())) => {}
            _ => return None,
        }
    }
    Some(p)
}

fn spawn_reply_msg(req_id: &Reference, ok: bool, result: Term) -> Term {
    Term::tuple(vec![
        Term::atom("spawn_reply"),
        Term::Ref(req_id.clone()),
        Term::atom(if ok { "ok" } else { "error" }),
        result,
    ])
}

/// The exit reason of an undefined function: `{undef, [{M, F, Args, []}]}`.
pub(crate) fn undef_reason(module: &Atom, function: &Atom, args: Vec<Term>) -> Term {
    Term::tuple(vec![
        Term::atom("undef"),
        Term::list(vec![Term::tuple(vec![
            Term::Atom(module.clone()),
            Term::Atom(function.clone()),
            Term::list(args),
            Term::Nil,
        ])]),
    ])
}

/// A SPAWN_REQUEST as the dispatcher hands it over.
pub(crate) struct IncomingSpawn {
    pub req_id: Reference,
    pub from: Pid,
    pub group_leader: Pid,
    pub module: Atom,
    pub function: Atom,
    pub opts: Term,
    pub args: Option<Term>,
}

/// What runs in a served spawn.
enum Plan {
    Run(SpawnHandler, Vec<Term>),
    /// A function registered for rpc (`Node::register_rpc*`): spawn, rpc and erpc run
    /// the same registered functions, as BEAM runs one exported function for all
    /// three.
    Call(super::Callable, Atom, Atom, Vec<Term>),
    Undef(Term),
}

/// The exit reason of a spawned process whose function raised `e`, as BEAM gives it:
/// `exit(R)` exits `R`, `error(R)` exits `{R, Stack}`, an uncaught `throw(V)` exits
/// `{{nocatch, V}, Stack}`; the stack is the function itself when none was given.
fn exit_reason(
    e: super::RpcException,
    module: &Atom,
    function: &Atom,
    arity: usize,
    bif_args: Option<Vec<Term>>,
) -> Term {
    use super::RpcClass;
    let stack = e
        .stack
        .unwrap_or_else(|| super::functions::default_stack(module, function, arity, bif_args));
    match e.class {
        RpcClass::Exit => e.reason,
        RpcClass::Throw => Term::tuple(vec![
            Term::tuple(vec![Term::atom("nocatch"), e.reason]),
            stack,
        ]),
        _ => Term::tuple(vec![e.reason, stack]),
    }
}

impl Node {
    /// Makes `Module:Function/Arity` spawnable by peers (`Node.spawn/4` and friends):
    /// `handler` runs as the new process with the argument list. Replaces an earlier
    /// registration of the same MFA.
    pub fn register_handler(
        &self,
        module: &str,
        function: &str,
        arity: u32,
        handler: SpawnHandler,
    ) {
        lock(&self.inner.spawn.functions)
            .insert((Atom::new(module), Atom::new(function), arity), handler);
    }

    /// [`register_handler`](Self::register_handler) for an async closure:
    /// `node.register_function("m", "f", 1, |p, args| async move { … })`.
    pub fn register_function<F, Fut>(&self, module: &str, function: &str, arity: u32, f: F)
    where
        F: Fn(Process, Vec<Term>) -> Fut + Send + Sync + 'static,
        Fut: Future<Output = ()> + Send + 'static,
    {
        let handler: SpawnHandler = Arc::new(move |p, args| Box::pin(f(p, args)));
        self.register_handler(module, function, arity, handler);
    }

    /// Removes a registration; true if there was one.
    pub fn unregister_function(&self, module: &str, function: &str, arity: u32) -> bool {
        lock(&self.inner.spawn.functions)
            .remove(&(Atom::new(module), Atom::new(function), arity))
            .is_some()
    }

    /// The registered `{Module, Function, Arity}`s.
    pub fn registered_functions(&self) -> Vec<(Atom, Atom, u32)> {
        let mut v: Vec<Mfa> = lock(&self.inner.spawn.functions).keys().cloned().collect();
        v.sort();
        v
    }

    /// What spawning `Module:Function(Args)` runs: a spawn handler, else a function
    /// registered for rpc, else `undef`. `erlang:apply(M, F, Args)` is `M:F(Args)`.
    fn plan(&self, module: &Atom, function: &Atom, args: Vec<Term>) -> Plan {
        if let Some(h) = self.lookup(module, function, args.len()) {
            return Plan::Run(h, args);
        }
        if let Some(c) = self.callable(module, function, args.len()) {
            return Plan::Call(c, module.clone(), function.clone(), args);
        }
        if module.as_str() == "erlang" && function.as_str() == "apply" && args.len() == 3 {
            if let [Term::Atom(_), Term::Atom(_), list] = args.as_slice() {
                if list.as_list().is_some() {
                    // Moved, not copied: the arguments may be a large term.
                    let mut it = args.into_iter();
                    if let (Some(Term::Atom(m)), Some(Term::Atom(f)), Some(list)) =
                        (it.next(), it.next(), it.next())
                    {
                        return self.plan(&m, &f, list.into_list().unwrap_or_default());
                    }
                    return Plan::Undef(undef_reason(module, function, Vec::new()));
                }
            }
        }
        Plan::Undef(undef_reason(module, function, args))
    }

    fn lookup(&self, module: &Atom, function: &Atom, arity: usize) -> Option<SpawnHandler> {
        let arity = u32::try_from(arity).ok()?;
        lock(&self.inner.spawn.functions)
            .get(&(module.clone(), function.clone(), arity))
            .cloned()
    }

    /// Serves a SPAWN_REQUEST (§5.4). Always answers with exactly one SPAWN_REPLY.
    pub(crate) fn spawn_request_in(&self, req: IncomingSpawn) {
        let IncomingSpawn {
            req_id,
            from,
            group_leader,
            module,
            function,
            opts,
            args,
        } = req;
        trace!(%module, %function, %opts, "spawn request");
        let Some(opts) = parse_opts(&opts) else {
            debug!(%module, %function, "spawn request with an unknown option: badopt");
            return self.send_spawn_reply(&from, req_id, 0, Term::atom("badopt"));
        };
        // The argument list is moved out of the request, never copied (an erpc call's
        // arguments travel inside it).
        let Some(args) = args.and_then(|a| a.into_list().ok()) else {
            warn!(%module, %function, "spawn request without a proper argument list: badarg");
            return self.send_spawn_reply(&from, req_id, 0, Term::atom("badarg"));
        };
        let apply_fun = module.as_str() == "erlang"
            && function.as_str() == "apply"
            && args.len() == 2
            && self.lookup(&module, &function, 2).is_none();
        let plan = match apply_fun {
            false => self.plan(&module, &function, args),
            true => {
                match (&args[0], &args[1]) {
                    // `apply(fun m:f/N, Args)` runs `m:f(Args)` if it is registered here.
                    (Term::ExportFun(f), list) if list.as_list().is_some() => {
                        let (m, f) = (f.module.clone(), f.function.clone());
                        let list = args.into_iter().nth(1).unwrap_or(Term::Nil);
                        self.plan(&m, &f, list.into_list().unwrap_or_default())
                    }
                    (Term::InternalFun(_), _) => {
                        warn!(requester = %from, "peer asked to run a fun; refused with {CANNOT_RUN_FUNS}");
                        return self.send_spawn_reply(
                            &from,
                            req_id,
                            0,
                            Term::atom(CANNOT_RUN_FUNS),
                        );
                    }
                    _ => Plan::Undef(undef_reason(&module, &function, args)),
                }
            }
        };
        let spawn_opts = SpawnOpts {
            link: opts.link.then(|| from.clone()),
            monitor: opts.monitor.then(|| (from.clone(), req_id.clone())),
            group_leader: Some(group_leader),
            ..SpawnOpts::default()
        };
        // The gate keeps the body from running (and so from exiting or sending) until
        // the reply is queued: SPAWN_REPLY must come first (§15 trap 3).
        let (open, gate) = tokio::sync::oneshot::channel::<()>();
        let body = move |p: Process| async move {
            let _ = gate.await;
            match plan {
                Plan::Run(h, args) => h(p, args).await,
                Plan::Call(c, m, f, args) => {
                    let arity = args.len();
                    let bif_args = (m.as_str() == "erlang").then(|| args.clone());
                    let (node, pid) = (p.node().clone(), p.pid().clone());
                    let result = match c {
                        super::Callable::Plain(h) => h(p.node().clone(), args).await,
                        super::Callable::InProcess(h) => h(p, args).await,
                    };
                    // A normal return exits `normal`; a raise exits as on BEAM.
                    if let Err(e) = result {
                        node.process_exited(&pid, exit_reason(e, &m, &f, arity, bif_args));
                    }
                }
                Plan::Undef(reason) => {
                    let rpc_not_served = matches!(reason.as_tuple(),
                        Some([_, Term::List(l)]) if matches!(l.first().and_then(|f| f.as_tuple()),
                            Some([Term::Atom(m), Term::Atom(f), ..])
                                if m.as_str() == "erpc" && f.as_str().starts_with("execute_")));
                    if rpc_not_served && !p.node().registered_rpc().is_empty() {
                        // Registered functions that rpc can never reach would answer
                        // `undef` without a word: say why.
                        warn!(pid = %p.pid(), "an rpc/erpc call arrived but rpc serving is not started (services::rpc_server::start): it gets undef although {} rpc functions are registered", p.node().registered_rpc().len());
                    } else {
                        warn!(pid = %p.pid(), reason = %reason, "spawned function is not registered");
                    }
                    p.exit(reason);
                }
            }
        };
        let pid = self
            .spawn_with(spawn_opts, body)
            .unwrap_or_else(|(pid, _)| pid);
        let flags = if opts.link { REPLY_FLAG_LINK } else { 0 }
            | if opts.monitor { REPLY_FLAG_MONITOR } else { 0 };
        self.send_spawn_reply(&from, req_id, flags, Term::Pid(pid));
        let _ = open.send(());
    }

    fn send_spawn_reply(&self, to: &Pid, req_id: Reference, flags: u32, result: Term) {
        if self.inner.ids.is_local_pid(to) {
            self.spawn_reply_in(&req_id, to, flags, result);
            return;
        }
        self.route(
            &to.node,
            ControlMessage::SpawnReply {
                req_id,
                to: to.clone(),
                flags,
                result,
                token: None,
            },
            None,
        );
    }

    /// A SPAWN_REPLY for our request `req_id` made by local `to` (§5.4): link and
    /// monitor state first, then `{spawn_reply, …}` into its mailbox. A reply nobody
    /// waits for any more is undone: exit `abandoned` (or `noproc` when the requester
    /// is gone) over the link, DEMONITOR_P for the monitor.
    pub(crate) fn spawn_reply_in(&self, req_id: &Reference, to: &Pid, flags: u32, result: Term) {
        let pending = lock(&self.inner.spawn.pending).remove(req_id);
        let delivered = pending.is_some_and(|p| p.requester == *to)
            && self.inner.table.with(|t| {
                let Some(e) = t.procs.get_mut(&key(to)) else {
                    return false;
                };
                let msg = match &result {
                    Term::Pid(new) => {
                        if flags & REPLY_FLAG_LINK != 0 {
                            e.links.insert(new.clone(), LinkState::Active);
                        }
                        if flags & REPLY_FLAG_MONITOR != 0 {
                            e.monitoring.insert(
                                req_id.clone(),
                                Watch {
                                    target: Watched::Pid(new.clone()),
                                    alias: false,
                                },
                            );
                        }
                        spawn_reply_msg(req_id, true, result.clone())
                    }
                    other => spawn_reply_msg(req_id, false, other.clone()),
                };
                let _ = e.control.send(msg);
                true
            });
        if delivered {
            return;
        }
        let Term::Pid(new) = result else { return };
        if self.inner.ids.is_local_pid(&new) {
            // A local request whose requester is gone: end the child's ties here.
            if flags & REPLY_FLAG_LINK != 0 {
                self.exit_signal_in(to, &new, Term::atom("noproc"), true);
            }
            return;
        }
        let reason = if self.inner.table.contains(key(to)) {
            "abandoned"
        } else {
            "noproc"
        };
        debug!(%req_id, child = %new, reason, "late spawn reply undone");
        if flags & REPLY_FLAG_LINK != 0 {
            self.send_exit_signal(to, &new, Term::atom(reason), false);
        }
        if flags & REPLY_FLAG_MONITOR != 0 {
            self.route(
                &new.node,
                ControlMessage::DemonitorP {
                    from: to.clone(),
                    to: ProcRef::Pid(new.clone()),
                    reference: req_id.clone(),
                },
                None,
            );
        }
    }

    /// The connection to `peer` is gone: every request still waiting for its reply
    /// from there gets `{spawn_reply, ReqId, error, noconnection}`, as OTP's erts
    /// generates locally (§5.4).
    pub(crate) fn spawn_connection_lost(&self, peer: &Atom) {
        let gone: Vec<(Reference, Pid)> = {
            let mut pending = lock(&self.inner.spawn.pending);
            let refs: Vec<Reference> = pending
                .iter()
                .filter(|(_, p)| p.node == *peer)
                .map(|(r, _)| r.clone())
                .collect();
            refs.into_iter()
                .filter_map(|r| pending.remove(&r).map(|p| (r, p.requester)))
                .collect()
        };
        for (req_id, requester) in gone {
            self.deliver_local(
                key(&requester),
                spawn_reply_msg(&req_id, false, Term::atom("noconnection")),
            );
        }
    }

    /// Sends a SPAWN_REQUEST from local `from`; the reply comes to its mailbox as
    /// `{spawn_reply, ReqId, ok | error, Pid | Reason}`. Returns ReqId.
    pub(crate) fn send_spawn_request(
        &self,
        from: &Pid,
        node: &Atom,
        mfa: (Atom, Atom),
        args: Vec<Term>,
        opts: &SpawnRequestOpts,
    ) -> Reference {
        let req_id = self.make_ref();
        let group_leader = opts
            .group_leader
            .clone()
            .or_else(|| self.group_leader_of(from))
            .unwrap_or_else(|| from.clone());
        let mut wire_opts = Vec::new();
        if opts.link {
            wire_opts.push(Term::atom("link"));
        }
        if opts.monitor {
            wire_opts.push(Term::atom("monitor"));
        }
        wire_opts.extend(opts.extra.iter().cloned());
        let (module, function) = mfa;
        // Registered before the request leaves, so a connection loss cannot slip
        // between sending and waiting.
        lock(&self.inner.spawn.pending).insert(
            req_id.clone(),
            Pending {
                requester: from.clone(),
                node: node.clone(),
            },
        );
        if node == self.name() {
            self.spawn_request_in(IncomingSpawn {
                req_id: req_id.clone(),
                from: from.clone(),
                group_leader,
                module,
                function,
                opts: Term::list(wire_opts),
                args: Some(Term::list(args)),
            });
            return req_id;
        }
        let arity = u32::try_from(args.len()).unwrap_or(u32::MAX);
        self.route(
            node,
            ControlMessage::SpawnRequest {
                req_id: req_id.clone(),
                from: from.clone(),
                group_leader,
                module,
                function,
                arity,
                opts: Term::list(wire_opts),
                token: None,
            },
            Some(Term::list(args)),
        );
        req_id
    }

    /// Forgets an outstanding request (`spawn_request_abandon/1`); false if its reply
    /// was already handled.
    pub(crate) fn abandon_spawn_request(&self, req_id: &Reference) -> bool {
        lock(&self.inner.spawn.pending).remove(req_id).is_some()
    }
}

impl Process {
    /// `erlang:spawn_request(Node, Module, Function, Args, Opts)` followed by a wait for
    /// the reply: starts `Module:Function(Args…)` on `node` (a BEAM node, or this one
    /// through the function registry) and returns the new pid, and with
    /// `opts.monitor` the monitor reference (= the request id; its `DOWN` arrives as
    /// `{'DOWN', Ref, process, Pid, Reason}`). With `opts.link` the link is active as
    /// soon as this returns. An unreachable node gives [`SpawnError::NoConnection`].
    pub async fn spawn_request(
        &mut self,
        node: &Atom,
        module: &str,
        function: &str,
        args: Vec<Term>,
        opts: SpawnRequestOpts,
    ) -> Result<(Pid, Option<Reference>), SpawnError> {
        let n = self.node().clone();
        if node != n.name() {
            if !n.connect(node).await {
                return Err(SpawnError::NoConnection);
            }
            match n.inner.conns.up_info(node) {
                Some(i) if !i.flags.contains(DistFlags::SPAWN) => {
                    return Err(SpawnError::NotSupported)
                }
                _ => {}
            }
        }
        let me = self.pid().clone();
        let req_id = n.send_spawn_request(
            &me,
            node,
            (Atom::new(module), Atom::new(function)),
            args,
            &opts,
        );
        let is_reply = |m: &Term| matches!(m.as_tuple(), Some([tag, Term::Ref(r), _, _]) if tag.is_atom("spawn_reply") && *r == req_id);
        let got = match self.receive_match(is_reply, opts.timeout).await {
            Err(ReceiveError::Timeout) => {
                if n.abandon_spawn_request(&req_id) {
                    return Err(SpawnError::Timeout);
                }
                // The reply was handled meanwhile: it is in the mailbox.
                self.receive_match(is_reply, Some(Duration::ZERO)).await
            }
            other => other,
        };
        let msg = match got {
            Ok(m) => m,
            Err(ReceiveError::Exited(r)) => {
                n.abandon_spawn_request(&req_id);
                return Err(SpawnError::Exited(r));
            }
            Err(_) => return Err(SpawnError::Timeout),
        };
        match msg.as_tuple() {
            Some([_, _, status, Term::Pid(pid)]) if status.is_atom("ok") => {
                Ok((pid.clone(), opts.monitor.then_some(req_id)))
            }
            Some([_, _, _, Term::Atom(a)]) => Err(SpawnError::from_reply_atom(a)),
            _ => Err(SpawnError::Refused(Atom::new("badarg"))),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn opts_accept_link_monitor_and_spawn_opt_options_only() {
        let ok = Term::list(vec![
            Term::atom("link"),
            Term::atom("monitor"),
            Term::tuple(vec![Term::atom("priority"), Term::atom("high")]),
        ]);
        let p = parse_opts(&ok).unwrap();
        assert!(p.link && p.monitor);
        assert!(parse_opts(&Term::Nil).is_some());
        assert!(parse_opts(&Term::list(vec![Term::atom("bogus")])).is_none());
        assert!(parse_opts(&Term::list(vec![Term::tuple(vec![
            Term::atom("x"),
            Term::Int(1)
        ])]))
        .is_none());
    }

    #[test]
    fn undef_reason_has_otp_shape() {
        let r = undef_reason(&Atom::new("m"), &Atom::new("f"), vec![Term::Int(1)]);
        assert_eq!(r.to_string(), "{undef,[{m,f,[1],[]}]}");
    }
}

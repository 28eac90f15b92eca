//! `global`: OTP's global name server (`global_name_server`, protocol version 8), as a
//! **peer** of OTP's own, following `docs/global-design.md` (docs/protocol.md §10).
//!
//! # Status (read first)
//!
//! `beamnode run` starts it unless `--no-global`; in the library [`start`] registers
//! `global_name_server` on the node. Implemented: the connect/sync session both as the
//! answering and as the initiating side (init_connect / init_connect_ack /
//! cancel_connect, the partition locker with `{global, [LockerA, LockerB]}`, exchange,
//! resolved, new_nodes, in_sync), the lock table (`set_lock`/`del_lock` with monitors),
//! name registration from Rust under `{global, Pid}` on boss then all known nodes,
//! `whereis`, owner exit and nodedown cleanup, name-clash resolution with the three
//! standard methods (run here when the conflicting pid is ours, by rpc otherwise, and
//! `global:resolve_it/4` callable by OTP's rpc), `lost_connection` /
//! `remove_connection` (prevent_overlapping_partitions) and `prepare_shutdown`.
//! Verified against real OTP by `tests/interop/interop_global.rs` (all pass on OTP 25, and the
//! 2-node scenario on the OTP 27 and OTP 29 roots): OTP's `global:sync()` returns
//! with us connected; names registered before and after the connection are seen
//! both ways; `global:send` reaches a Rust owner; owner exit removes the name on both
//! sides; a third node learnt through `resolved` gets `in_sync` and names both ways;
//! node loss (kill -9) drops its names; a clash under `random_exit_name` resolves
//! with our node name first (resolve_it run here) and OTP's first (OTP kills our
//! pid), and with our entry's `notify_all_name` (name gone, owners told); OTP's
//! `rpc:call` of our `global:resolve_it/4` (with rpc serving on) runs
//! `random_notify_name`; two erls that only know us meet through our `resolved`;
//! two beamnodes sync with each other; `erlang:disconnect_node` between two
//! erls makes us drop one (`lost_connection`); [`Global::set_lock`] / [`Global::del_lock`] /
//! [`Global::trans`] for Rust callers exclude OTP's `global:set_lock/3` on the same
//! resource with another requester id and the other way round (OTP 25, 27, 29).
//!
//! Global groups are refused as a node without groups refuses them (`group`: a
//! warning naming the node, which is then left alone until it disconnects; OTP 25, 27,
//! 29). Across containers (Docker suite, `60_global_pg_test.exs`): names seen on every
//! node, owner kills, a partition healed with a clash resolved, two BEAM nodes meeting
//! through us.
//!
//! Not done / not verified: a non-standard resolve method
//! whose pid is ours (treated as a crashing method: the name is deleted on both
//! sides); the cancel_connect / init_connect_ack-mismatch restart path is
//! implemented but never exercised by a test; `Node::shutdown` alone does not switch
//! off our own `lost_connection` first (call [`Global::prepare_shutdown`] before it, as
//! `beamnode run` does and OTP's `init:stop` does); `info` and `disconnect` calls are
//! not answered; a groups node learnt through a third node's `resolved` is not left
//! alone. The `init_connect` locker tuple carries `[]` where OTP sends its known map (OTP
//! ignores that element).
//!
//! Processes, as OTP splits them: the server (a [`GenServer`], never blocks), the
//! locker (its own process: it makes blocking multi_calls while the server keeps
//! answering `set_lock`), one resolver task per session, and a temporary registrar
//! process per Rust registration.
//!
//! Modules: `server` (the server state, its call/cast/info dispatch, nodedown and
//! `lost_connection`), `session` (the connect/sync session with one peer), `names` (the
//! name and lock tables, monitors and cleanup), `lock` (the multi-node `{global, …}`
//! lock taken by the locker and the registrar), `locker` (the partition locker
//! process), `group` (the refusal of global groups), `resolve` (name-clash resolution
//! and the standard methods).
//!
//! [`GenServer`]: super::gen_server::GenServer

mod group;
mod lock;
mod locker;
mod names;
mod resolve;
mod server;
mod session;
mod state;

pub use resolve::Method;
pub use state::SERVER;

use self::lock::{del_lock, delete_global_lock, lock_known, random_sleep, set_lock_on_nodes};
use self::resolve::resolve_here;
use self::state::{atom, server_atom, tuple, Server, Shared};
use super::gen::{self, Dest};
use super::gen_server::{self, StartError};
use crate::node::Node;
use crate::term::{Atom, Pid, Term};
use crate::Process;
use std::future::Future;
use std::sync::Arc;
use std::time::Duration;

/// Why a [`Global`] operation failed.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[non_exhaustive]
pub enum GlobalError {
    /// The call to the server failed.
    #[error("global call failed: {0}")]
    Call(#[from] gen::CallError),
    /// The server answered something unexpected.
    #[error("unexpected answer: {0}")]
    BadReply(Term),
    /// [`Global::trans`]: the lock was not obtained within its retries (OTP's `aborted`).
    #[error("aborted: lock not obtained")]
    Aborted,
}

/// A lock id of `global:set_lock/3`: `{ResourceId, LockRequesterId}`. The resource is
/// locked on a node as long as one holder with the same requester id holds it; a
/// request with another requester id is refused until every holder has let go.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct LockId {
    /// What is locked (OTP reserves `global`, `dist_ac`, `mnesia_table_lock` and
    /// `mnesia_adjust_log_writes`).
    pub resource: Term,
    /// Who locks it: holders with the same requester id share the lock.
    pub requester: Term,
}

impl LockId {
    /// `{Resource, Requester}`.
    pub fn new(resource: Term, requester: Term) -> LockId {
        LockId {
            resource,
            requester,
        }
    }

    /// The `{ResourceId, LockRequesterId}` tuple sent to the servers.
    pub fn to_term(&self) -> Term {
        tuple(vec![self.resource.clone(), self.requester.clone()])
    }
}

/// How many times [`Global::set_lock`] tries again after a refusal (OTP's
/// `Retries`, a non-negative integer or `infinity`). Between tries it sleeps a random
/// time up to 1/4 s, then up to twice as long each time, at most 8 s, as `global.erl`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Retries {
    /// Try until the lock is set.
    Infinity,
    /// Try once plus this many times.
    Times(u32),
}

/// A handle on the running global name server of a node. Cheap to clone.
#[derive(Clone, Debug)]
pub struct Global {
    node: Node,
    pid: Pid,
    shared: Arc<Shared>,
}

/// Starts `global_name_server` on `node` (nothing starts it implicitly), syncs with the visible nodes already
/// connected and every later one, and registers `global:resolve_it/4` as an rpc
/// callable. OTP reaches that only when rpc serving is on
/// ([`rpc_server::start`](super::rpc_server::start)); without it OTP's
/// `rpc:call(Us, global, resolve_it, …)` gets `badrpc` and `exchange_names/4` then
/// keeps the other partition's entry (no process is killed).
pub fn start(node: &Node) -> Result<Global, StartError> {
    let shared = Arc::new(Shared::default());
    let server = Server::new(shared.clone(), node.name().clone());
    let pid = gen_server::start(node, Some(SERVER), server)?;
    group::start(node, &pid);
    node.register_rpc_async("global", "resolve_it", 4, |node, args| async move {
        match <[Term; 4]>::try_from(args) {
            Ok([method, name, p1, p2]) => match (p1, p2) {
                (Term::Pid(p1), Term::Pid(p2)) => Ok(resolve_here(&node, &method, &name, &p1, &p2)),
                _ => Err(super::rpc_server::RpcException::badarg()),
            },
            Err(_) => Err(super::rpc_server::RpcException::badarg()),
        }
    });
    let global = Global {
        node: node.clone(),
        pid,
        shared,
    };
    register_api(node, &global);
    Ok(global)
}

/// Serves OTP's `global` API over rpc from this node's name server, so
/// `:rpc.call(node, :global, :registered_names, [])` and the like answer as a BEAM
/// node's `global` does: `whereis_name/1`, `registered_names/0`, `register_name/2,3`
/// and `unregister_name/1` on behalf of any pid, `send/2`, `sync/0`, and the locks
/// (`set_lock/1,2,3`, `del_lock/1,2`, `trans/2,3,4`; see [`register_lock_api`]).
fn register_api(node: &Node, global: &Global) {
    register_lock_api(node, global);
    use super::rpc_server::RpcException;
    let g = global.clone();
    node.register_rpc_async("global", "whereis_name", 1, move |_, a| {
        let g = g.clone();
        async move {
            let name = a.into_iter().next().unwrap_or(Term::Nil);
            Ok(g.whereis_name(&name)
                .map(Term::Pid)
                .unwrap_or_else(|| Term::atom("undefined")))
        }
    });
    let g = global.clone();
    node.register_rpc_async("global", "registered_names", 0, move |_, _| {
        let g = g.clone();
        async move { Ok(Term::list(g.registered_names())) }
    });
    for arity in [2, 3] {
        let g = global.clone();
        node.register_rpc_async("global", "register_name", arity, move |_, a| {
            let g = g.clone();
            async move {
                let (name, pid, method) = match a.as_slice() {
                    [name, Term::Pid(pid)] => (name.clone(), pid.clone(), None),
                    [name, Term::Pid(pid), method] => {
                        (name.clone(), pid.clone(), Some(method.clone()))
                    }
                    _ => return Err(RpcException::badarg()),
                };
                let ok = match method {
                    Some(m) => g.register_name_with(name, &pid, m).await,
                    None => g.register_name(name, &pid).await,
                };
                Ok(Term::atom(if ok { "yes" } else { "no" }))
            }
        });
    }
    let g = global.clone();
    node.register_rpc_async("global", "unregister_name", 1, move |_, a| {
        let g = g.clone();
        async move {
            g.unregister_name(a.into_iter().next().unwrap_or(Term::Nil))
                .await;
            Ok(Term::atom("ok"))
        }
    });
    let g = global.clone();
    node.register_rpc_async("global", "send", 2, move |_, a| {
        let g = g.clone();
        async move {
            match <[Term; 2]>::try_from(a) {
                Ok([name, msg]) => match g.send(&name, msg.clone()) {
                    Some(pid) => Ok(Term::Pid(pid)),
                    // OTP exits {badarg, {Name, Msg}} for an unknown name.
                    None => Err(RpcException::exit(Term::tuple(vec![
                        Term::atom("badarg"),
                        Term::tuple(vec![name, msg]),
                    ]))),
                },
                Err(_) => Err(RpcException::badarg()),
            }
        }
    });
    let g = global.clone();
    node.register_rpc_async("global", "sync", 0, move |_, _| {
        let g = g.clone();
        async move {
            match g.sync(None).await {
                Ok(()) => Ok(Term::atom("ok")),
                Err(e) => Ok(Term::tuple(vec![
                    Term::atom("error"),
                    Term::string(&e.to_string()),
                ])),
            }
        }
    });
}

/// `global:set_lock/1,2,3`, `del_lock/1,2` and `trans/2,3,4` over rpc. Each call
/// runs in a process of its own, which holds the lock, as OTP's rpc runs the call in a
/// process of its own: a lock set over rpc goes when that process ends, on BEAM as
/// here (global monitors the holder). `trans` runs `fun M:F/0` of a function
/// registered on this node; a closure cannot run here
/// (`error:beamnode_cannot_run_funs`).
fn register_lock_api(node: &Node, global: &Global) {
    use super::rpc_server::{Outcome, RpcException};
    let bad = || RpcException::error(Term::atom("function_clause"));
    fn lock_id(t: &Term) -> Option<LockId> {
        match t.as_tuple() {
            Some([r, q]) => Some(LockId::new(r.clone(), q.clone())),
            _ => None,
        }
    }
    fn lock_nodes(t: Option<&Term>) -> Option<Option<Vec<Atom>>> {
        match t {
            None => Some(None),
            Some(l) => l
                .as_list()?
                .iter()
                .map(|n| n.as_atom().cloned())
                .collect::<Option<Vec<Atom>>>()
                .map(Some),
        }
    }
    fn retries(t: Option<&Term>) -> Option<Retries> {
        match t {
            None => Some(Retries::Infinity),
            Some(t) if t.is_atom("infinity") => Some(Retries::Infinity),
            Some(Term::Int(n)) => u32::try_from(*n).ok().map(Retries::Times),
            Some(_) => None,
        }
    }
    for arity in 1..=3 {
        let g = global.clone();
        node.register_rpc_process("global", "set_lock", arity, move |mut p, a| {
            let g = g.clone();
            async move {
                let (Some(id), Some(nodes), Some(retries)) = (
                    a.first().and_then(lock_id),
                    lock_nodes(a.get(1)),
                    retries(a.get(2)),
                ) else {
                    return Err(bad());
                };
                let ok = g.set_lock(&mut p, &id, nodes.as_deref(), retries).await;
                Ok(Term::atom(if ok { "true" } else { "false" }))
            }
        });
    }
    for arity in 1..=2 {
        let g = global.clone();
        node.register_rpc_process("global", "del_lock", arity, move |mut p, a| {
            let g = g.clone();
            async move {
                let (Some(id), Some(nodes)) = (a.first().and_then(lock_id), lock_nodes(a.get(1)))
                else {
                    return Err(bad());
                };
                g.del_lock(&mut p, &id, nodes.as_deref()).await;
                Ok(Term::atom("true"))
            }
        });
    }
    for arity in 2..=4 {
        let g = global.clone();
        node.register_rpc_process("global", "trans", arity, move |mut p, a| {
            let g = g.clone();
            async move {
                let (Some(id), Some(nodes), Some(retries)) = (
                    a.first().and_then(lock_id),
                    lock_nodes(a.get(2)),
                    retries(a.get(3)),
                ) else {
                    return Err(bad());
                };
                let (m, f) = match a.get(1) {
                    Some(Term::ExportFun(f)) if f.arity == 0 => {
                        (f.module.clone(), f.function.clone())
                    }
                    Some(Term::InternalFun(_)) => {
                        return Err(RpcException::error(Term::atom(
                            crate::node::CANNOT_RUN_FUNS,
                        )))
                    }
                    _ => return Err(bad()),
                };
                if !g.set_lock(&mut p, &id, nodes.as_deref(), retries).await {
                    return Ok(Term::atom("aborted"));
                }
                let outcome = p.node().apply_rpc(&m, &f, Vec::new()).await;
                g.del_lock(&mut p, &id, nodes.as_deref()).await;
                match outcome {
                    Outcome::Return(v) => Ok(v),
                    Outcome::Raised {
                        class,
                        reason,
                        stack,
                    } => Err(RpcException {
                        class,
                        reason,
                        stack: Some(stack),
                    }),
                }
            }
        });
    }
}

impl Global {
    /// The server process.
    pub fn pid(&self) -> &Pid {
        &self.pid
    }

    /// `global:whereis_name(Name)`: a local read (a dead local pid reads as none).
    pub fn whereis_name(&self, name: &Term) -> Option<Pid> {
        let pid = self.shared.names().get(name).map(|(p, _)| p.clone())?;
        if &pid.node == self.node.name() && !self.node.is_process_alive(&pid) {
            return None;
        }
        Some(pid)
    }

    /// `global:registered_names()`.
    pub fn registered_names(&self) -> Vec<Term> {
        self.shared.names().keys().cloned().collect()
    }

    /// The nodes this server is synced with or has learnt of (`get_known`).
    pub fn known(&self) -> Vec<Atom> {
        self.shared.known()
    }

    /// `global:send(Name, Msg)`: the pid the message went to, or `None`.
    pub fn send(&self, name: &Term, msg: Term) -> Option<Pid> {
        let pid = self.whereis_name(name)?;
        self.node.send(&pid, msg);
        Some(pid)
    }

    /// `global:register_name(Name, Pid)` (method `random_exit_name`): true for `yes`.
    pub async fn register_name(&self, name: Term, pid: &Pid) -> bool {
        self.register_name_with(name, pid, Method::RandomExit.to_term())
            .await
    }

    /// `global:register_name(Name, Pid, Method)`; `method` is normally
    /// [`Method::to_term`].
    pub async fn register_name_with(&self, name: Term, pid: &Pid, method: Term) -> bool {
        let mut p = self.node.process();
        let (id, nodes) = lock_known(&mut p, &self.shared).await;
        let free = self.whereis_name(&name).is_none()
            && !self.shared.names().values().any(|(q, _)| q == pid);
        if free {
            let req = tuple(vec![atom("register"), name, Term::Pid(pid.clone()), method]);
            gen::multi_call(&mut p, &nodes, &server_atom(), req, None).await;
        }
        delete_global_lock(&mut p, &id, &nodes).await;
        free
    }

    /// `global:unregister_name(Name)`.
    pub async fn unregister_name(&self, name: Term) {
        if !self.shared.names().contains_key(&name) {
            return;
        }
        let mut p = self.node.process();
        let (id, nodes) = lock_known(&mut p, &self.shared).await;
        let req = tuple(vec![atom("unregister"), name]);
        gen::multi_call(&mut p, &nodes, &server_atom(), req, None).await;
        delete_global_lock(&mut p, &id, &nodes).await;
    }

    /// The nodes `global:set_lock/1` locks on: this node and every connected visible
    /// node (`[node() | nodes()]`).
    pub fn lock_nodes(&self) -> Vec<Atom> {
        let mut v = vec![self.node.name().clone()];
        v.extend(self.node.nodes());
        v
    }

    /// `global:set_lock(Id, Nodes, Retries)`: sets the lock on every node of `nodes`
    /// ([`lock_nodes`](Self::lock_nodes) for `None`) with the process `holder` as
    /// holder, or on none of them. Nodes that do not answer (down, no global) count as
    /// locked, as in OTP. Returns false when a node refused on the last try. The lock
    /// stays until [`del_lock`](Self::del_lock) by the same holder, or until `holder`
    /// exits (it is dropped), which every locking server sees through its monitor.
    pub async fn set_lock(
        &self,
        holder: &mut Process,
        id: &LockId,
        nodes: Option<&[Atom]>,
        retries: Retries,
    ) -> bool {
        let nodes = nodes
            .map(<[Atom]>::to_vec)
            .unwrap_or_else(|| self.lock_nodes());
        if nodes.is_empty() {
            return true;
        }
        let id = id.to_term();
        let mut left = retries;
        let mut times = 1;
        loop {
            if set_lock_on_nodes(holder, &self.shared, &id, &nodes).await {
                return true;
            }
            left = match left {
                Retries::Times(0) => return false,
                Retries::Times(n) => Retries::Times(n - 1),
                Retries::Infinity => Retries::Infinity,
            };
            random_sleep(times).await;
            times = times.saturating_add(1);
        }
    }

    /// `global:del_lock(Id, Nodes)`: `holder` stops holding the lock on `nodes`
    /// ([`lock_nodes`](Self::lock_nodes) for `None`); a node's lock goes when its last
    /// holder lets go.
    pub async fn del_lock(&self, holder: &mut Process, id: &LockId, nodes: Option<&[Atom]>) {
        let nodes = nodes
            .map(<[Atom]>::to_vec)
            .unwrap_or_else(|| self.lock_nodes());
        del_lock(holder, &id.to_term(), &nodes).await;
    }

    /// `global:trans(Id, Fun, Nodes, Retries)`: sets the lock, runs `f` once while it
    /// is held, deletes the lock and returns what `f` returned; the lock not obtained
    /// is [`GlobalError::Aborted`] (`f` does not run). The holder is a process of its
    /// own made for this call, so the lock also goes if `f` panics or the returned
    /// future is dropped midway (the holder exits and the servers' monitors fire).
    pub async fn trans<F, Fut, R>(
        &self,
        id: &LockId,
        nodes: Option<&[Atom]>,
        retries: Retries,
        f: F,
    ) -> Result<R, GlobalError>
    where
        F: FnOnce() -> Fut,
        Fut: Future<Output = R>,
    {
        let nodes = nodes
            .map(<[Atom]>::to_vec)
            .unwrap_or_else(|| self.lock_nodes());
        let mut holder = self.node.process();
        if !self.set_lock(&mut holder, id, Some(&nodes), retries).await {
            return Err(GlobalError::Aborted);
        }
        let r = f().await;
        self.del_lock(&mut holder, id, Some(&nodes)).await;
        Ok(r)
    }

    /// What OTP's `init:stop` does before a node goes down (`{prepare_shutdown, From,
    /// Ref}`): this server stops telling the others about lost connections
    /// (`prevent_overlapping_partitions`), so the connections closing at shutdown do not
    /// make the remaining nodes drop each other. Call it before [`Node::shutdown`].
    pub async fn prepare_shutdown(&self, timeout: Duration) {
        let mut p = self.node.process();
        let r = self.node.make_ref();
        p.send_nowait(
            &self.pid,
            tuple(vec![
                atom("prepare_shutdown"),
                Term::Pid(p.pid().clone()),
                Term::Ref(r),
            ]),
        );
        let _ = p.receive(Some(timeout)).await;
    }

    /// `global:sync()`: returns once this server is synced with every connected
    /// visible node (or it went down).
    pub async fn sync(&self, timeout: Option<Duration>) -> Result<(), GlobalError> {
        let mut p = self.node.process();
        let nodes = Term::list(self.node.nodes().into_iter().map(Term::Atom).collect());
        let r = gen::call(
            &mut p,
            &Dest::Pid(self.pid.clone()),
            tuple(vec![atom("sync"), nodes]),
            timeout,
        )
        .await?;
        if r.is_atom("ok") {
            Ok(())
        } else {
            Err(GlobalError::BadReply(r))
        }
    }
}

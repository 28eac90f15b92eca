//! The node's table of callable Rust functions: `{Module, Function, Arity}` to the Rust
//! code that answers rpc and erpc calls for it (docs/protocol.md §9). beamnode cannot load
//! Erlang code, so this table is what "a module is loaded here" means for rpc. It
//! belongs to the node (it lives and dies with it, next to the spawn registry of
//! [`Node::register_function`]); the rpc server in `services::rpc_server` looks
//! functions up here with `Node::callable`.

use super::{Node, Process};
use crate::term::{Atom, Term};
use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;

/// The class of an exception, as in `try … catch Class:Reason`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum RpcClass {
    /// `erlang:error/1`: a run-time error; carries a stacktrace.
    Error,
    /// `erlang:exit/1`.
    Exit,
    /// `erlang:throw/1`: a non-local return; rpc hands the value back as the result.
    Throw,
}

impl RpcClass {
    /// The class atom (`error`, `exit`, `throw`).
    pub fn as_str(self) -> &'static str {
        match self {
            RpcClass::Error => "error",
            RpcClass::Exit => "exit",
            RpcClass::Throw => "throw",
        }
    }
}

/// An exception raised by a callable: what `erlang:error/1`, `exit/1` or `throw/1`
/// would raise in an Erlang function.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[error("{}:{reason}", class.as_str())]
pub struct RpcException {
    pub class: RpcClass,
    pub reason: Term,
    /// The stacktrace for [`RpcClass::Error`]; `None` means "the called function
    /// itself": `[{M, F, Arity, []}]` is sent.
    pub stack: Option<Term>,
}

impl RpcException {
    /// `erlang:error(Reason)`.
    pub fn error(reason: Term) -> Self {
        RpcException {
            class: RpcClass::Error,
            reason,
            stack: None,
        }
    }
    /// `exit(Reason)`.
    pub fn exit(reason: Term) -> Self {
        RpcException {
            class: RpcClass::Exit,
            reason,
            stack: None,
        }
    }
    /// `throw(Value)`.
    pub fn throw(value: Term) -> Self {
        RpcException {
            class: RpcClass::Throw,
            reason: value,
            stack: None,
        }
    }
    /// `error(badarg)`, the usual answer to arguments of the wrong type.
    pub fn badarg() -> Self {
        Self::error(Term::atom("badarg"))
    }
}

/// The stack of an exception whose callable gave none: `[{M, F, Arity, []}]`, or, for a
/// function of the `erlang` module (a BIF on BEAM), `[{erlang, F, Args, [{error_info,
/// #{module => erl_erts_errors}}]}]` as BEAM reports a BIF's error: the arguments in
/// place of the arity, and the pointer that lets the shell and Elixir explain it.
pub(crate) fn default_stack(
    module: &crate::term::Atom,
    function: &crate::term::Atom,
    arity: usize,
    bif_args: Option<Vec<Term>>,
) -> Term {
    let frame = match bif_args {
        Some(args) if module.as_str() == "erlang" => Term::tuple(vec![
            Term::Atom(module.clone()),
            Term::Atom(function.clone()),
            Term::list(args),
            Term::list(vec![Term::tuple(vec![
                Term::atom("error_info"),
                Term::map(vec![(Term::atom("module"), Term::atom("erl_erts_errors"))]),
            ])]),
        ]),
        _ => Term::tuple(vec![
            Term::Atom(module.clone()),
            Term::Atom(function.clone()),
            Term::from(arity as i64),
            Term::Nil,
        ]),
    };
    Term::list(vec![frame])
}

/// What a callable returns.
pub type RpcResult = Result<Term, RpcException>;

/// A registered callable: gets the node it runs on and the argument list.
pub type RpcHandler =
    Arc<dyn Fn(Node, Vec<Term>) -> Pin<Box<dyn Future<Output = RpcResult> + Send>> + Send + Sync>;

/// A callable that runs as a process of its own (see
/// [`Node::register_rpc_process`]): gets that [`Process`] and the argument list.
pub type RpcProcessHandler = Arc<
    dyn Fn(Process, Vec<Term>) -> Pin<Box<dyn Future<Output = RpcResult> + Send>> + Send + Sync,
>;

/// What the callable registry holds: a plain function of the arguments, or one that
/// runs in a process whose group leader is the caller's (§12).
#[derive(Clone)]
pub(crate) enum Callable {
    Plain(RpcHandler),
    InProcess(RpcProcessHandler),
}

fn lock<T>(m: &std::sync::Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|e| e.into_inner())
}

impl Node {
    /// Makes `Module:Function/Arity` callable by `rpc:call`, `erpc:call` and the rest
    /// (§9). `f` gets the argument list (length = `arity`) and returns the value or an
    /// [`RpcException`]; a panic becomes `error({panic, <<Text>>})`. It runs on the
    /// tokio runtime, so keep it short — use
    /// [`register_rpc_async`](Self::register_rpc_async) for work that waits.
    pub fn register_rpc<F>(&self, module: &str, function: &str, arity: u32, f: F)
    where
        F: Fn(Vec<Term>) -> RpcResult + Send + Sync + 'static,
    {
        let f = Arc::new(f);
        let handler: RpcHandler = Arc::new(move |_node, args| {
            let f = f.clone();
            Box::pin(async move { f(args) })
        });
        self.register_rpc_handler(module, function, arity, handler);
    }

    /// [`register_rpc`](Self::register_rpc) for an async function that also gets the
    /// node: `node.register_rpc_async("m", "f", 1, |node, args| async move { … })`.
    /// Each call runs in its own task.
    pub fn register_rpc_async<F, Fut>(&self, module: &str, function: &str, arity: u32, f: F)
    where
        F: Fn(Node, Vec<Term>) -> Fut + Send + Sync + 'static,
        Fut: Future<Output = RpcResult> + Send + 'static,
    {
        let handler: RpcHandler = Arc::new(move |node, args| Box::pin(f(node, args)));
        self.register_rpc_handler(module, function, arity, handler);
    }

    /// [`register_rpc_async`](Self::register_rpc_async) for a function that runs as a
    /// process, as an Erlang function called by rpc does: `f` gets a fresh [`Process`]
    /// whose group leader is the caller's (the `GL` of the spawn request or of the
    /// `rex` request, docs/protocol.md §9.2, §9.4, §12), so `services::io::put_chars` on
    /// it prints in the calling shell. The process ends when `f`'s future finishes.
    pub fn register_rpc_process<F, Fut>(&self, module: &str, function: &str, arity: u32, f: F)
    where
        F: Fn(Process, Vec<Term>) -> Fut + Send + Sync + 'static,
        Fut: Future<Output = RpcResult> + Send + 'static,
    {
        let handler: RpcProcessHandler = Arc::new(move |p, args| Box::pin(f(p, args)));
        self.insert_callable(module, function, arity, Callable::InProcess(handler));
    }

    /// Registers a boxed callable; replaces an earlier one for the same MFA.
    pub fn register_rpc_handler(
        &self,
        module: &str,
        function: &str,
        arity: u32,
        handler: RpcHandler,
    ) {
        self.insert_callable(module, function, arity, Callable::Plain(handler));
    }

    fn insert_callable(&self, module: &str, function: &str, arity: u32, c: Callable) {
        lock(&self.inner.spawn.callables)
            .insert((Atom::new(module), Atom::new(function), arity), c);
    }

    /// Removes a callable; true if there was one.
    pub fn unregister_rpc(&self, module: &str, function: &str, arity: u32) -> bool {
        lock(&self.inner.spawn.callables)
            .remove(&(Atom::new(module), Atom::new(function), arity))
            .is_some()
    }

    /// The registered callable `{Module, Function, Arity}`s, sorted.
    pub fn registered_rpc(&self) -> Vec<(Atom, Atom, u32)> {
        let mut v: Vec<_> = lock(&self.inner.spawn.callables).keys().cloned().collect();
        v.sort();
        v
    }

    /// The callable registered for `{Module, Function, Arity}`, for the rpc server.
    pub(crate) fn callable(
        &self,
        module: &Atom,
        function: &Atom,
        arity: usize,
    ) -> Option<Callable> {
        let arity = u32::try_from(arity).ok()?;
        lock(&self.inner.spawn.callables)
            .get(&(module.clone(), function.clone(), arity))
            .cloned()
    }
}

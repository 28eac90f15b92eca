//! The gen_server behaviour for Rust processes: a [`GenServer`] value runs in its own
//! process and answers what OTP's `gen_server` module sends (docs/protocol.md §8), so
//! Elixir's `GenServer.call/3`, `cast/2`, `multi_call/4`, `abcast/3` and
//! `Process.monitor/1` work on it as on a BEAM server, and `:sys.get_state/1`,
//! `get_status`, `suspend`, `resume` and `terminate` are answered.
//!
//! The loop, as `gen_server:loop/7` does it:
//! - `{'$gen_call', From, Request}` → [`GenServer::handle_call`]; the answer goes back
//!   under `gen:reply/2`'s rule, whatever tag shape the caller used (OTP 24+ alias
//!   tags, OTP 26 `multi_call`'s `[[alias | A] | M]`, OTP 25 `multi_call`'s plain
//!   `{Ref, Node}`; §8.1, §8.3, §15 trap 5).
//! - `{'$gen_cast', Request}` → [`GenServer::handle_cast`].
//! - `{system, From, Msg}` → answered here (see [`GenServer::format_state`]).
//! - `{'EXIT', Parent, Reason}` from the process that started it with
//!   [`start_link`] (when trapping exits) → terminate with `Reason`.
//! - anything else (`DOWN`s, other `EXIT`s, plain messages) → [`GenServer::handle_info`].
//!
//! Two traits, one loop. [`GenServer`] has plain handlers; [`AsyncGenServer`] has
//! `async` ones, which may await (a database, an rpc to a BEAM node, a timer) before
//! they answer. Every `GenServer` is an `AsyncGenServer` (a blanket impl), so
//! [`start`] and [`start_link`] take either. Either way the server handles one message
//! at a time, as in Erlang: while an async handler awaits, further calls wait in the
//! mailbox (system messages too, as in OTP, where `sys` waits for the callback to
//! return). To answer out of order, return [`CallResult::NoReply`], keep the
//! [`From`], and answer later with [`From::reply`] or, from a task, [`From::reply_as`].
//! A handler that panics (while it is called or while it is polled) ends the server
//! with reason `{panic, Text}` after `terminate` runs, like a crash in an Erlang
//! callback.
//!
//! Handler timeouts work as in OTP: after `ReplyTimeout`/`NoReplyTimeout(T)`, if no
//! message arrives within `T`, `handle_info` gets the atom `timeout`.
//!
//! Not implemented: `hibernate`, `handle_continue`, `sys:replace_state` (it carries an Erlang fun) and the `sys`
//! debug options (answered `{error, {unknown_system_msg, Msg}}` as OTP does for what
//! it does not know).

use super::gen::From;
use super::sys_debug::Debug;
use crate::node::Outcome;
use crate::node::{Node, SpawnOpts};
use crate::runtime::ReceiveError;
use crate::runtime::RegisterError;
use crate::runtime::{catch_panic, panic_reason};
use crate::term::{Atom, Pid, Term};
use crate::Process;
use std::future::Future;
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::time::Duration;

/// What [`GenServer::handle_call`] returns.
#[derive(Debug, Clone, PartialEq)]
pub enum CallResult {
    /// `{reply, Reply, State}`.
    Reply(Term),
    /// `{noreply, State}`: the server answers later with [`From::reply`] (or never,
    /// and the caller times out).
    NoReply,
    /// `{reply, Reply, State, Timeout}`: `handle_info(timeout)` follows if no message
    /// arrives within the duration.
    ReplyTimeout(Term, Duration),
    /// `{noreply, State, Timeout}`.
    NoReplyTimeout(Duration),
    /// `{stop, Reason, Reply, State}` (with a reply) or `{stop, Reason, State}`:
    /// [`GenServer::terminate`] runs, the reply (if any) is sent, then the process
    /// exits with `reason`. A caller left without a reply exits with
    /// `{Reason, {gen_server, call, …}}`.
    Stop { reason: Term, reply: Option<Term> },
}

/// What [`GenServer::handle_cast`] and [`GenServer::handle_info`] return.
#[derive(Debug, Clone, PartialEq)]
pub enum CastResult {
    /// `{noreply, State}`.
    NoReply,
    /// `{noreply, State, Timeout}`: `handle_info(timeout)` follows if no message
    /// arrives within the duration.
    NoReplyTimeout(Duration),
    /// `{stop, Reason, State}`.
    Stop(Term),
}

/// A gen_server written in Rust. The value itself is the server's state.
pub trait GenServer: Send + 'static {
    /// Runs in the new process before [`start`] returns; an `Err(Reason)` is
    /// `{stop, Reason}`: `start` fails with [`StartError::Init`] and the process exits.
    fn init(&mut self, process: &mut Process) -> Result<(), Term> {
        let _ = process;
        Ok(())
    }

    /// A `GenServer.call`. The default stops with `{bad_call, Request}`, as Elixir's
    /// `use GenServer` does.
    fn handle_call(&mut self, request: Term, from: &From, process: &mut Process) -> CallResult {
        let _ = (from, process);
        CallResult::Stop {
            reason: Term::tuple(vec![Term::atom("bad_call"), request]),
            reply: None,
        }
    }

    /// A `GenServer.cast` / `abcast`. The default stops with `{bad_cast, Request}`, as
    /// Elixir's `use GenServer` does.
    fn handle_cast(&mut self, request: Term, process: &mut Process) -> CastResult {
        let _ = process;
        CastResult::Stop(Term::tuple(vec![Term::atom("bad_cast"), request]))
    }

    /// Any other message: `DOWN`s of monitors this server holds, `{'EXIT', Pid, R}`
    /// when it traps exits, plain sends. The default logs and ignores it.
    fn handle_info(&mut self, msg: Term, process: &mut Process) -> CastResult {
        tracing::warn!(pid = %process.pid(), %msg, "gen_server got an unexpected message");
        CastResult::NoReply
    }

    /// Called once before the process exits because a handler returned `Stop`, a
    /// handler panicked, the parent's `EXIT` arrived or `sys:terminate/2` asked. Not
    /// called when an exit signal kills the process (trap exits to get it then).
    fn terminate(&mut self, reason: &Term, process: &mut Process) {
        let _ = (reason, process);
    }

    /// The state as a term, for `:sys.get_state/1` and `:sys.get_status/1`. The
    /// default is the Rust type name as a binary.
    fn format_state(&self) -> Term {
        Term::binary(std::any::type_name::<Self>())
    }

    /// `:sys.replace_state/2`: take `state`, the term the caller's function returned
    /// from [`GenServer::format_state`]'s term, as the new state. `Err(Reason)` leaves
    /// the state as it was and the caller gets `{callback_failed, …, {error,
    /// Reason}}`. The default refuses (`state_not_replaceable`): a Rust state is not a
    /// term unless the server says how to read one.
    fn replace_state(&mut self, state: Term) -> Result<(), Term> {
        let _ = state;
        Err(Term::atom("state_not_replaceable"))
    }
}

/// A gen_server with `async` handlers: the same callbacks as [`GenServer`], but
/// `handle_call`, `handle_cast`, `handle_info` and `terminate` return futures, so a
/// handler can await before it answers. Write them as `async fn`:
///
/// ```
/// use beamnode::services::gen::From;
/// use beamnode::services::gen_server::{AsyncGenServer, CallResult};
/// use beamnode::{Process, Term};
/// use std::time::Duration;
///
/// struct Slow;
///
/// impl AsyncGenServer for Slow {
///     async fn handle_call(&mut self, request: Term, _from: &From, _p: &mut Process) -> CallResult {
///         tokio::time::sleep(Duration::from_millis(10)).await;
///         CallResult::Reply(request)
///     }
/// }
/// ```
///
/// `init` and `format_state` stay synchronous: [`start`] reports `init`'s outcome
/// before it returns, and `sys:get_state` answers from the state as it is. The
/// futures must be `Send` (the server runs on the node's tokio runtime). The server
/// handles one message at a time: while a handler awaits, the next message waits.
pub trait AsyncGenServer: Send + 'static {
    /// As [`GenServer::init`].
    fn init(&mut self, process: &mut Process) -> Result<(), Term> {
        let _ = process;
        Ok(())
    }

    /// As [`GenServer::handle_call`]; the default stops with `{bad_call, Request}`.
    fn handle_call(
        &mut self,
        request: Term,
        from: &From,
        process: &mut Process,
    ) -> impl Future<Output = CallResult> + Send {
        let _ = (from, process);
        std::future::ready(CallResult::Stop {
            reason: Term::tuple(vec![Term::atom("bad_call"), request]),
            reply: None,
        })
    }

    /// As [`GenServer::handle_cast`]; the default stops with `{bad_cast, Request}`.
    fn handle_cast(
        &mut self,
        request: Term,
        process: &mut Process,
    ) -> impl Future<Output = CastResult> + Send {
        let _ = process;
        std::future::ready(CastResult::Stop(Term::tuple(vec![
            Term::atom("bad_cast"),
            request,
        ])))
    }

    /// As [`GenServer::handle_info`]; the default logs and ignores the message.
    fn handle_info(
        &mut self,
        msg: Term,
        process: &mut Process,
    ) -> impl Future<Output = CastResult> + Send {
        tracing::warn!(pid = %process.pid(), %msg, "gen_server got an unexpected message");
        std::future::ready(CastResult::NoReply)
    }

    /// As [`GenServer::terminate`].
    fn terminate(
        &mut self,
        reason: &Term,
        process: &mut Process,
    ) -> impl Future<Output = ()> + Send {
        let _ = (reason, process);
        std::future::ready(())
    }

    /// As [`GenServer::format_state`].
    fn format_state(&self) -> Term {
        Term::binary(std::any::type_name::<Self>())
    }

    /// As [`GenServer::replace_state`].
    fn replace_state(&mut self, state: Term) -> Result<(), Term> {
        let _ = state;
        Err(Term::atom("state_not_replaceable"))
    }
}

/// Every synchronous [`GenServer`] is an [`AsyncGenServer`] whose futures are ready at
/// once.
impl<S: GenServer> AsyncGenServer for S {
    fn init(&mut self, process: &mut Process) -> Result<(), Term> {
        GenServer::init(self, process)
    }
    fn handle_call(
        &mut self,
        request: Term,
        from: &From,
        process: &mut Process,
    ) -> impl Future<Output = CallResult> + Send {
        std::future::ready(GenServer::handle_call(self, request, from, process))
    }
    fn handle_cast(
        &mut self,
        request: Term,
        process: &mut Process,
    ) -> impl Future<Output = CastResult> + Send {
        std::future::ready(GenServer::handle_cast(self, request, process))
    }
    fn handle_info(
        &mut self,
        msg: Term,
        process: &mut Process,
    ) -> impl Future<Output = CastResult> + Send {
        std::future::ready(GenServer::handle_info(self, msg, process))
    }
    fn terminate(
        &mut self,
        reason: &Term,
        process: &mut Process,
    ) -> impl Future<Output = ()> + Send {
        GenServer::terminate(self, reason, process);
        std::future::ready(())
    }
    fn format_state(&self) -> Term {
        GenServer::format_state(self)
    }
    fn replace_state(&mut self, state: Term) -> Result<(), Term> {
        GenServer::replace_state(self, state)
    }
}

/// Why [`start`] failed.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[non_exhaustive]
pub enum StartError {
    /// `{error, {already_started, Pid}}`: the name is taken by this process.
    #[error("already started as {0}")]
    AlreadyStarted(Pid),
    /// The name could not be registered for another reason.
    #[error("could not register the name: {0}")]
    Register(RegisterError),
    /// `init` returned `Err(Reason)` (or panicked): `{error, Reason}`.
    #[error("init failed: {0}")]
    Init(Term),
}

/// `gen_server:start/3,4`: starts `server` in a new process, optionally registered as
/// `name`, and returns once [`GenServer::init`] has run.
pub fn start(
    node: &Node,
    name: Option<&str>,
    server: impl AsyncGenServer,
) -> Result<Pid, StartError> {
    start_with(node, name, None, server)
}

/// `gen_server:start_link/3,4`: as [`start`], linked to `parent` (the caller). If
/// `init` fails the link is removed first, so the caller only sees the error. When the
/// server traps exits, an `EXIT` from `parent` terminates it with the same reason.
pub fn start_link(
    parent: &Process,
    name: Option<&str>,
    server: impl AsyncGenServer,
) -> Result<Pid, StartError> {
    start_with(parent.node(), name, Some(parent.pid().clone()), server)
}

fn start_with<S: AsyncGenServer>(
    node: &Node,
    name: Option<&str>,
    parent: Option<Pid>,
    mut server: S,
) -> Result<Pid, StartError> {
    let name = name.map(Atom::new);
    let opts = SpawnOpts {
        name: name.clone(),
        link: parent.clone(),
        ..SpawnOpts::default()
    };
    let mut init_error = None;
    // The body closure runs synchronously inside spawn_with, before the process's
    // task starts: init runs there, so `start` can report its outcome.
    let spawned = node.spawn_with(opts, |mut p| {
        let failed = match catch_unwind(AssertUnwindSafe(|| server.init(&mut p))) {
            Ok(Ok(())) => None,
            Ok(Err(reason)) => Some(reason),
            Err(payload) => Some(panic_reason(payload.as_ref())),
        };
        let run: Option<(S, Process, Pid, Option<Atom>)> = match failed {
            None => {
                let parent = parent.clone().unwrap_or_else(|| p.pid().clone());
                Some((server, p, parent, name.clone()))
            }
            Some(reason) => {
                if let Some(parent) = &parent {
                    p.unlink(parent);
                }
                init_error = Some(reason.clone());
                p.exit(reason);
                None
            }
        };
        async move {
            if let Some((server, p, parent, name)) = run {
                serve(server, p, parent, name).await;
            }
        }
    });
    match (spawned, init_error) {
        (Ok(_), Some(reason)) => Err(StartError::Init(reason)),
        (Ok(pid), None) => Ok(pid),
        (Err((_, RegisterError::NameTaken(n))), _) => match node.whereis(&n) {
            Some(holder) => Err(StartError::AlreadyStarted(holder)),
            None => Err(StartError::Register(RegisterError::NameTaken(n))),
        },
        (Err((_, e)), _) => Err(StartError::Register(e)),
    }
}

/// A message as the loop sorts it.
enum Incoming {
    Call(From, Term),
    Cast(Term),
    System(From, Term),
    ParentExit(Term),
    Info(Term),
}

fn classify(msg: Term, parent: &Pid, me: &Pid) -> Incoming {
    let kind = match msg.as_tuple() {
        Some([tag, from, _]) if tag.is_atom("$gen_call") && From::parse(from).is_some() => 1,
        Some([tag, _]) if tag.is_atom("$gen_cast") => 2,
        Some([tag, from, _]) if tag.is_atom("system") && From::parse(from).is_some() => 3,
        Some([tag, Term::Pid(p), _]) if tag.is_atom("EXIT") && p == parent && p != me => 4,
        _ => 0,
    };
    let Term::Tuple(t) = msg else {
        return Incoming::Info(msg);
    };
    let mut v = t.into_vec();
    let last = v.pop().unwrap_or(Term::Nil);
    let from = || v.get(1).and_then(From::parse);
    match (kind, from()) {
        (1, Some(f)) => Incoming::Call(f, last),
        (3, Some(f)) => Incoming::System(f, last),
        (2, _) => Incoming::Cast(last),
        (4, _) => Incoming::ParentExit(last),
        _ => {
            v.push(last);
            Incoming::Info(Term::tuple(v))
        }
    }
}

/// True for the reasons OTP does not log as crashes: `normal`, `shutdown`,
/// `{shutdown, _}`.
fn is_clean_exit(reason: &Term) -> bool {
    reason.is_atom("normal")
        || reason.is_atom("shutdown")
        || matches!(reason.as_tuple(), Some([t, _]) if t.is_atom("shutdown"))
}

/// How one system message is handled (`sys:handle_system_msg`'s `do_cmd`).
enum SysOutcome {
    Continue,
    Terminate(Term),
}

struct Loop<S> {
    server: S,
    parent: Pid,
    name: Option<Atom>,
    suspended: bool,
    /// The handler timeout in force (`None` = infinity).
    timeout: Option<Duration>,
    /// `sys` debug options (trace, log, statistics, log_to_file).
    debug: Debug,
}

impl<S: AsyncGenServer> Loop<S> {
    async fn system(&mut self, p: &mut Process, from: &From, msg: &Term) -> SysOutcome {
        let answer = match msg {
            Term::Atom(a) if a.as_str() == "suspend" => {
                self.suspended = true;
                Term::atom("ok")
            }
            Term::Atom(a) if a.as_str() == "resume" => {
                self.suspended = false;
                Term::atom("ok")
            }
            Term::Atom(a) if a.as_str() == "get_state" => {
                reply_state(p, from, self.server.format_state());
                return SysOutcome::Continue;
            }
            Term::Atom(a) if a.as_str() == "get_status" => self.status(p),
            _ => match msg.as_tuple() {
                Some([t, reason]) if t.is_atom("terminate") => {
                    from.reply(p, Term::atom("ok"));
                    return SysOutcome::Terminate(reason.clone());
                }
                Some([t, what]) if t.is_atom("debug") => {
                    let who = self.who(p);
                    self.debug.command(what, &who)
                }
                Some([t, fun]) if t.is_atom("replace_state") => {
                    match self.replace_state(p, fun).await {
                        Ok(state) => {
                            reply_state(p, from, state);
                            return SysOutcome::Continue;
                        }
                        Err(class_reason) => Term::tuple(vec![
                            Term::atom("error"),
                            Term::tuple(vec![
                                Term::atom("callback_failed"),
                                Term::tuple(vec![
                                    Term::atom("gen_server"),
                                    Term::atom("system_replace_state"),
                                ]),
                                class_reason,
                            ]),
                        ]),
                    }
                }
                // Only while suspended, as in `sys`; there is no code to change in a
                // Rust process, so the state stays and the answer is `ok`.
                Some([t, _, _, _]) if t.is_atom("change_code") && self.suspended => {
                    Term::atom("ok")
                }
                _ => Term::tuple(vec![
                    Term::atom("error"),
                    Term::tuple(vec![Term::atom("unknown_system_msg"), msg.clone()]),
                ]),
            },
        };
        from.reply(p, answer);
        SysOutcome::Continue
    }

    /// `sys:replace_state/2`: runs `fun` on the state's term and hands the result to
    /// [`AsyncGenServer::replace_state`]. Only `fun M:F/1` of a function registered on
    /// this node can run here; a closure's code exists only on the BEAM node that made
    /// it. `Err({Class, Reason})` as `sys` reports a failed callback.
    async fn replace_state(&mut self, p: &Process, fun: &Term) -> Result<Term, Term> {
        let raised = |class: &str, reason: Term| Term::tuple(vec![Term::atom(class), reason]);
        let f = match fun {
            Term::ExportFun(f) if f.arity == 1 => f,
            Term::InternalFun(_) => {
                return Err(raised("error", Term::atom(crate::node::CANNOT_RUN_FUNS)))
            }
            Term::ExportFun(_) => {
                let args = Term::list(vec![self.server.format_state()]);
                let bad = Term::tuple(vec![fun.clone(), args]);
                return Err(raised(
                    "error",
                    Term::tuple(vec![Term::atom("badarity"), bad]),
                ));
            }
            other => {
                return Err(raised(
                    "error",
                    Term::tuple(vec![Term::atom("badfun"), other.clone()]),
                ))
            }
        };
        let state = self.server.format_state();
        match p
            .node()
            .apply_rpc(&f.module, &f.function, vec![state])
            .await
        {
            Outcome::Return(new) => {
                self.server
                    .replace_state(new)
                    .map_err(|reason| raised("error", reason))?;
                Ok(self.server.format_state())
            }
            Outcome::Raised { class, reason, .. } => Err(raised(class.as_str(), reason)),
        }
    }

    /// The server's name in trace lines: its registered name, else its pid.
    fn who(&self, p: &Process) -> String {
        match &self.name {
            Some(n) => n.as_str().to_string(),
            None => p.pid().to_string(),
        }
    }

    /// `{status, Pid, {module, gen_server}, [PDict, SysState, Parent, Debug, Misc]}`
    /// with `Misc` laid out as gen_server's `format_status` does.
    fn status(&self, p: &Process) -> Term {
        let sys_state = Term::atom(if self.suspended {
            "suspended"
        } else {
            "running"
        });
        let who = self.who(p);
        let item = |k: &str, v: Term| Term::tuple(vec![Term::string(k), v]);
        let misc = Term::list(vec![
            Term::tuple(vec![
                Term::atom("header"),
                Term::string(&format!("Status for generic server {who}")),
            ]),
            Term::tuple(vec![
                Term::atom("data"),
                Term::list(vec![
                    item("Status", sys_state.clone()),
                    item("Parent", Term::Pid(self.parent.clone())),
                    item("Logged events", Term::list(self.debug.logged())),
                ]),
            ]),
            Term::tuple(vec![
                Term::atom("data"),
                Term::list(vec![item("State", self.server.format_state())]),
            ]),
        ]);
        Term::tuple(vec![
            Term::atom("status"),
            Term::Pid(p.pid().clone()),
            Term::tuple(vec![Term::atom("module"), Term::atom("gen_server")]),
            Term::list(vec![
                Term::Nil,
                sys_state,
                Term::Pid(self.parent.clone()),
                self.debug.status_term(),
                misc,
            ]),
        ])
    }

    /// Handles one message; `Some((reason, pending reply))` when the server stops.
    async fn step(&mut self, p: &mut Process, msg: Term) -> Option<(Term, Option<(From, Term)>)> {
        let me = p.pid().clone();
        // With a `sys` debug option on, the raw message is the `{in, Msg}` event.
        let raw = self.debug.is_on().then(|| msg.clone());
        let incoming = classify(msg, &self.parent, &me);
        if let (Some(raw), Incoming::Call(..) | Incoming::Cast(_) | Incoming::Info(_)) =
            (raw, &incoming)
        {
            let who = self.who(p);
            self.debug
                .event(&who, Term::tuple(vec![Term::atom("in"), raw]));
        }
        let server = &mut self.server;
        let outcome = match incoming {
            Incoming::Call(from, request) => {
                match catch_panic(|| server.handle_call(request, &from, p)).await {
                    Ok(CallResult::Reply(r)) => {
                        self.timeout = None;
                        Step::Replied(from, r)
                    }
                    Ok(CallResult::ReplyTimeout(r, t)) => {
                        self.timeout = Some(t);
                        Step::Replied(from, r)
                    }
                    Ok(CallResult::NoReply) => {
                        self.timeout = None;
                        Step::NoReply
                    }
                    Ok(CallResult::NoReplyTimeout(t)) => {
                        self.timeout = Some(t);
                        Step::NoReply
                    }
                    Ok(CallResult::Stop { reason, reply }) => {
                        Step::Stop(reason, reply.map(|r| (from, r)))
                    }
                    Err(reason) => Step::Stop(reason, None),
                }
            }
            Incoming::Cast(request) => flow(
                catch_panic(|| server.handle_cast(request, p)).await,
                &mut self.timeout,
            ),
            Incoming::Info(msg) => flow(
                catch_panic(|| server.handle_info(msg, p)).await,
                &mut self.timeout,
            ),
            Incoming::ParentExit(reason) => Step::Stop(reason, None),
            Incoming::System(from, msg) => match self.system(p, &from, &msg).await {
                SysOutcome::Continue => Step::System,
                SysOutcome::Terminate(reason) => Step::Stop(reason, None),
            },
        };
        match outcome {
            Step::Replied(from, r) if self.debug.is_on() => {
                // As gen_server: the reply goes first, then the `{out, …}` event.
                let event = vec![Term::atom("out"), r.clone(), from.to_term()];
                from.reply(p, r);
                let (who, state) = (self.who(p), self.server.format_state());
                let mut event = event;
                event.push(state);
                self.debug.event(&who, Term::tuple(event));
                None
            }
            Step::Replied(from, r) => {
                from.reply(p, r);
                None
            }
            Step::NoReply => {
                if self.debug.is_on() {
                    let who = self.who(p);
                    let state = self.server.format_state();
                    self.debug
                        .event(&who, Term::tuple(vec![Term::atom("noreply"), state]));
                }
                None
            }
            Step::System => None,
            Step::Stop(reason, pending) => Some((reason, pending)),
        }
    }
}

/// How one message ended, before the debug events are recorded.
enum Step {
    Replied(From, Term),
    NoReply,
    System,
    Stop(Term, Option<(From, Term)>),
}

/// Answers `get_state` / `replace_state` with `state` in the shape the caller's
/// release expects (`services::sys`): at once when the release is known, else from a
/// task once it has been asked, so the server keeps serving meanwhile.
fn reply_state(p: &Process, from: &From, state: Term) {
    match super::sys::known_release(p.node(), &from.pid) {
        Some(r) => from.reply(p, super::sys::state_reply(Some(r), state)),
        None => {
            let (node, me, from) = (p.node().clone(), p.sender(), from.clone());
            tokio::spawn(async move {
                let release = super::sys::release_of(&node, &from.pid).await;
                from.reply_as(&me, super::sys::state_reply(release, state));
            });
        }
    }
}

fn flow(r: Result<CastResult, Term>, timeout: &mut Option<Duration>) -> Step {
    match r {
        Ok(CastResult::NoReply) => {
            *timeout = None;
            Step::NoReply
        }
        Ok(CastResult::NoReplyTimeout(t)) => {
            *timeout = Some(t);
            Step::NoReply
        }
        Ok(CastResult::Stop(reason)) | Err(reason) => Step::Stop(reason, None),
    }
}

/// While suspended only system messages and the parent's `EXIT` are taken.
fn wanted_when_suspended(m: &Term, parent: &Pid) -> bool {
    match m.as_tuple() {
        Some([tag, _, _]) if tag.is_atom("system") => true,
        Some([tag, Term::Pid(p), _]) => tag.is_atom("EXIT") && p == parent,
        _ => false,
    }
}

async fn serve<S: AsyncGenServer>(server: S, mut p: Process, parent: Pid, name: Option<Atom>) {
    let mut state = Loop {
        server,
        parent,
        name,
        suspended: false,
        timeout: None,
        debug: Debug::default(),
    };
    let (reason, pending) = loop {
        let got = if state.suspended {
            let parent = state.parent.clone();
            p.receive_match(|m| wanted_when_suspended(m, &parent), None)
                .await
        } else {
            p.receive(state.timeout).await
        };
        let msg = match got {
            Ok(m) => m,
            // Killed by an exit signal: the node has already cleaned up.
            Err(ReceiveError::Exited(_)) => return,
            // The handler timeout passed with no message.
            Err(_) => Term::atom("timeout"),
        };
        if let Some(stop) = state.step(&mut p, msg).await {
            break stop;
        }
    };
    let server = &mut state.server;
    let reason = match catch_panic(|| server.terminate(&reason, &mut p)).await {
        Ok(()) => reason,
        Err(panic) => panic,
    };
    if let Some((from, r)) = pending {
        from.reply(&p, r);
    }
    if !is_clean_exit(&reason) {
        tracing::error!(pid = %p.pid(), %reason, "gen_server terminating");
    }
    p.exit(reason);
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn clean_exits_are_the_ones_otp_does_not_report() {
        assert!(is_clean_exit(&Term::atom("normal")));
        assert!(is_clean_exit(&Term::atom("shutdown")));
        assert!(is_clean_exit(&Term::tuple(vec![
            Term::atom("shutdown"),
            Term::Int(1)
        ])));
        assert!(!is_clean_exit(&Term::atom("boom")));
    }

    #[test]
    fn messages_are_sorted_as_gen_server_sorts_them() {
        let me = Pid::new(Atom::new("a@h"), 1, 0, 1);
        let parent = Pid::new(Atom::new("a@h"), 2, 0, 1);
        let from = Term::tuple(vec![Term::Pid(parent.clone()), Term::atom("t")]);
        let call = Term::tuple(vec![Term::atom("$gen_call"), from.clone(), Term::Int(1)]);
        assert!(matches!(
            classify(call, &parent, &me),
            Incoming::Call(_, Term::Int(1))
        ));
        let cast = Term::tuple(vec![Term::atom("$gen_cast"), Term::Int(2)]);
        assert!(matches!(
            classify(cast, &parent, &me),
            Incoming::Cast(Term::Int(2))
        ));
        let sys = Term::tuple(vec![Term::atom("system"), from, Term::atom("get_state")]);
        assert!(matches!(classify(sys, &parent, &me), Incoming::System(..)));
        let exit = Term::tuple(vec![
            Term::atom("EXIT"),
            Term::Pid(parent.clone()),
            Term::atom("bye"),
        ]);
        assert!(matches!(
            classify(exit, &parent, &me),
            Incoming::ParentExit(_)
        ));
        // A '$gen_call' with a malformed From is just a message.
        let bad = Term::tuple(vec![Term::atom("$gen_call"), Term::atom("x"), Term::Int(1)]);
        match classify(bad.clone(), &parent, &me) {
            Incoming::Info(m) => assert_eq!(m, bad),
            _ => panic!("expected info"),
        }
        // An EXIT from someone else goes to handle_info.
        let other = Term::tuple(vec![
            Term::atom("EXIT"),
            Term::Pid(me.clone()),
            Term::atom("x"),
        ]);
        assert!(matches!(classify(other, &me, &me), Incoming::Info(_)));
    }
}

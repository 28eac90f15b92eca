//! `gen:call/4` as the node itself needs it: `net_adm:ping/1` is a `'$gen_call'` to the
//! peer's `net_kernel` (docs/protocol.md §7.1, §8.1). It lives here, below the services,
//! so the node does not depend on them; `services::gen` re-exports it next to cast,
//! reply and multi_call.
//!
//! A call is made as OTP 24+ makes it: a monitor whose reference is also an alias, the
//! request tagged `[alias | Ref]`, the reply expected at the alias; so a reply after a
//! timeout is dropped by the node instead of lingering in the mailbox.

use super::Process;
use crate::runtime::{ReceiveError, Watched};
use crate::term::{Atom, Pid, Reference, Term};
use std::time::Duration;

/// Where a message, call or cast goes: everything `!` accepts on the left.
///
/// Sends take `impl Into<Dest>`, so a `&Pid`, a `Pid`, an alias `Reference`, a local
/// name (`Atom` or `&str`) or `(name, node)` all work:
/// `p.send("logger", msg)`, `p.send((name, node), msg)`, `p.send(&pid, msg)`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Dest {
    /// A process by pid (local or remote).
    Pid(Pid),
    /// A name registered on this node.
    Local(Atom),
    /// `{Name, Node}`.
    Remote(Atom, Atom),
    /// An alias (`alias()`, or the reference of `monitor(process, P, [{alias, _}])`).
    Alias(Reference),
}

impl From<Pid> for Dest {
    fn from(p: Pid) -> Self {
        Dest::Pid(p)
    }
}
impl From<&Pid> for Dest {
    fn from(p: &Pid) -> Self {
        Dest::Pid(p.clone())
    }
}
impl From<Reference> for Dest {
    fn from(r: Reference) -> Self {
        Dest::Alias(r)
    }
}
impl From<&Reference> for Dest {
    fn from(r: &Reference) -> Self {
        Dest::Alias(r.clone())
    }
}
impl From<Atom> for Dest {
    fn from(name: Atom) -> Self {
        Dest::Local(name)
    }
}
impl From<&Atom> for Dest {
    fn from(name: &Atom) -> Self {
        Dest::Local(name.clone())
    }
}
impl From<&str> for Dest {
    fn from(name: &str) -> Self {
        Dest::Local(Atom::new(name))
    }
}
impl From<(Atom, Atom)> for Dest {
    fn from((name, node): (Atom, Atom)) -> Self {
        Dest::Remote(name, node)
    }
}
impl From<(&Atom, &Atom)> for Dest {
    fn from((name, node): (&Atom, &Atom)) -> Self {
        Dest::Remote(name.clone(), node.clone())
    }
}
impl From<(&str, &str)> for Dest {
    fn from((name, node): (&str, &str)) -> Self {
        Dest::Remote(Atom::new(name), Atom::new(node))
    }
}
impl From<&Dest> for Dest {
    fn from(d: &Dest) -> Self {
        d.clone()
    }
}

impl Dest {
    /// What a call monitors; an alias cannot be monitored (nor called, as with
    /// `gen:call/4`).
    pub(crate) fn watched(&self, here: &Atom) -> Option<Watched> {
        match self {
            Dest::Pid(p) => Some(Watched::Pid(p.clone())),
            Dest::Local(n) => Some(Watched::Name(n.clone(), here.clone())),
            Dest::Remote(n, node) => Some(Watched::Name(n.clone(), node.clone())),
            Dest::Alias(_) => None,
        }
    }
    pub(crate) fn node<'a>(&'a self, here: &'a Atom) -> &'a Atom {
        match self {
            Dest::Pid(p) => &p.node,
            Dest::Local(_) => here,
            Dest::Remote(_, n) => n,
            Dest::Alias(r) => &r.node,
        }
    }
    pub(crate) async fn send(&self, process: &Process, msg: Term) {
        process.send(self, msg).await
    }
    /// [`Dest::send`] without waiting on a busy connection (casts).
    pub(crate) fn send_nowait(&self, process: &Process, msg: Term) {
        process.send_nowait(self, msg)
    }
    /// The destination as the term OTP puts in exit reasons (`Pid`, `Name`,
    /// `{Name, Node}`).
    pub fn to_term(&self) -> Term {
        match self {
            Dest::Pid(p) => Term::Pid(p.clone()),
            Dest::Local(n) => Term::Atom(n.clone()),
            Dest::Remote(n, node) => {
                Term::tuple(vec![Term::Atom(n.clone()), Term::Atom(node.clone())])
            }
            Dest::Alias(r) => Term::Ref(r.clone()),
        }
    }
    /// True if this names `process` itself (a call to self would deadlock).
    pub(crate) fn is_self(&self, process: &Process) -> bool {
        let node = process.node();
        match self {
            Dest::Pid(p) => p == process.pid(),
            Dest::Local(n) => node.whereis(n).as_ref() == Some(process.pid()),
            Dest::Remote(n, at) => {
                at == node.name() && node.whereis(n).as_ref() == Some(process.pid())
            }
            Dest::Alias(_) => false,
        }
    }
}

/// How a call failed, as `gen_server:call/3` exits.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[non_exhaustive]
pub enum CallError {
    /// `exit(timeout)`.
    #[error("no reply within the timeout")]
    Timeout,
    /// `exit(noproc)`: no such process (or name).
    #[error("no such process")]
    NoProc,
    /// `exit({nodedown, Node})`: the node could not be reached, or went down before
    /// the reply came.
    #[error("node {0} is down")]
    NodeDown(Atom),
    /// The server exited with this reason before replying.
    #[error("server exited: {0}")]
    Exit(Term),
    /// `exit(calling_self)`: the destination is the calling process.
    #[error("a process cannot call itself")]
    CallingSelf,
    /// The calling process itself was ended.
    #[error("caller exited: {0}")]
    CallerExited(Term),
}

impl CallError {
    /// The reason `gen_server:call/3` exits with (the first element of
    /// `{Reason, {gen_server, call, Args}}`).
    pub fn reason(&self) -> Term {
        match self {
            CallError::Timeout => Term::atom("timeout"),
            CallError::NoProc => Term::atom("noproc"),
            CallError::NodeDown(n) => {
                Term::tuple(vec![Term::atom("nodedown"), Term::Atom(n.clone())])
            }
            CallError::Exit(r) | CallError::CallerExited(r) => r.clone(),
            CallError::CallingSelf => Term::atom("calling_self"),
        }
    }
}

/// Whether `m` answers the call made with `tag` and monitor `mref`: the
/// `{[alias | Ref], Reply}` or the `DOWN` of that monitor, whichever comes first. For
/// code that waits on several calls at once, as `services::gen::multi_call` does.
pub fn is_answer(m: &Term, tag: &Term, mref: &Reference) -> bool {
    match m.as_tuple() {
        Some([t, _]) => t == tag,
        Some([d, Term::Ref(r), ..]) => d.is_atom("DOWN") && r == mref,
        _ => false,
    }
}

/// The error a `DOWN` reason stands for in a call to a process on `node`.
fn down_error(reason: Term, node: &Atom) -> CallError {
    if reason.is_atom("noconnection") {
        CallError::NodeDown(node.clone())
    } else if reason.is_atom("noproc") {
        CallError::NoProc
    } else {
        CallError::Exit(reason)
    }
}

/// `gen_server:call(Dest, Request, Timeout)`; `timeout` is a [`Duration`] or `None`
/// for `infinity`.
///
/// As OTP 24+ does (§8.1): monitor the destination with a reference that is also an
/// alias, send `{'$gen_call', {Self, [alias | Ref]}, Request}`, wait for the reply at
/// the alias or the `DOWN`. Outcomes: the reply; [`CallError::NoProc`] (no such
/// process or name), [`CallError::NodeDown`] (`noconnection`: unreachable, or lost
/// mid-call), [`CallError::Exit`] (the server died first), [`CallError::Timeout`].
/// On timeout the monitor and its alias are removed, so a late reply is dropped by
/// the node and never reaches the mailbox.
pub async fn call(
    process: &mut Process,
    dest: &Dest,
    request: Term,
    timeout: impl Into<Option<Duration>>,
) -> Result<Term, CallError> {
    if dest.is_self(process) {
        return Err(CallError::CallingSelf);
    }
    let here = process.node().name().clone();
    let Some(watched) = dest.watched(&here) else {
        // gen:call/4 takes a pid or a name, not an alias.
        return Err(CallError::Exit(Term::atom("badarg")));
    };
    let mref = process.monitor_alias(watched);
    let tag = Term::improper_list(vec![Term::atom("alias")], Term::Ref(mref.clone()));
    let from = Term::tuple(vec![Term::Pid(process.pid().clone()), tag.clone()]);
    dest.send(
        process,
        Term::tuple(vec![Term::atom("$gen_call"), from, request]),
    )
    .await;
    let got = process
        .receive_match(|m| is_answer(m, &tag, &mref), timeout.into())
        .await;
    match got {
        Ok(Term::Tuple(t)) if t.len() == 2 => {
            process.demonitor_flush(&mref);
            Ok(t.into_vec().pop().unwrap_or(Term::Nil))
        }
        Ok(down) => {
            let reason = match down {
                Term::Tuple(t) => t.into_vec().pop().unwrap_or(Term::Nil),
                _ => Term::Nil,
            };
            Err(down_error(reason, dest.node(&here)))
        }
        Err(ReceiveError::Timeout) => {
            process.demonitor_flush(&mref);
            Err(CallError::Timeout)
        }
        Err(ReceiveError::Exited(r)) => Err(CallError::CallerExited(r)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn call_errors_carry_otp_exit_reasons() {
        let n = Atom::new("x@h");
        assert_eq!(
            down_error(Term::atom("noconnection"), &n),
            CallError::NodeDown(n.clone())
        );
        assert_eq!(down_error(Term::atom("noproc"), &n), CallError::NoProc);
        assert_eq!(
            down_error(Term::atom("boom"), &n),
            CallError::Exit(Term::atom("boom"))
        );
        assert_eq!(
            CallError::NodeDown(n.clone()).reason(),
            Term::tuple(vec![Term::atom("nodedown"), Term::Atom(n)])
        );
    }
}

//! gen_server call/cast/reply wire shapes (protocol-notes §8), for Rust clients and
//! servers. A call is made as OTP 24+ makes it: a monitor whose reference is also an
//! alias, the request tagged `[alias | Ref]`, the reply expected at the alias; so a
//! reply after a timeout is dropped by the node instead of lingering in the mailbox.
//!
//! Servers answer with [`reply`] / [`From::reply`], which implement `gen:reply/2`'s
//! rule for every tag shape OTP sends (§8.1, §8.3, §15 trap 5): `[alias | Ref]`
//! (OTP 24+ `call`), `[[alias | Ref] | Mon]` (OTP 26+ `multi_call`) and plain tags such
//! as OTP 25 `multi_call`'s `{Ref, Node}`, which go to the caller's pid.

use crate::node::Node;
use crate::runtime::{Process, ReceiveError, Watched};
use crate::term::{Atom, Pid, Reference, Term};
use std::time::Duration;

/// Where a call or cast goes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Dest {
    /// A process by pid (local or remote).
    Pid(Pid),
    /// A name registered on this node.
    Local(Atom),
    /// `{Name, Node}`.
    Remote(Atom, Atom),
}

impl Dest {
    fn watched(&self, here: &Atom) -> Watched {
        match self {
            Dest::Pid(p) => Watched::Pid(p.clone()),
            Dest::Local(n) => Watched::Name(n.clone(), here.clone()),
            Dest::Remote(n, node) => Watched::Name(n.clone(), node.clone()),
        }
    }
    fn node<'a>(&'a self, here: &'a Atom) -> &'a Atom {
        match self {
            Dest::Pid(p) => &p.node,
            Dest::Local(_) => here,
            Dest::Remote(_, n) => n,
        }
    }
    async fn send(&self, process: &Process, msg: Term) {
        match self {
            Dest::Pid(p) => process.send(p, msg).await,
            Dest::Local(n) => process.send_named(n, process.node().name(), msg).await,
            Dest::Remote(n, node) => process.send_named(n, node, msg).await,
        }
    }
    fn send_nowait(&self, process: &Process, msg: Term) {
        match self {
            Dest::Pid(p) => process.send_nowait(p, msg),
            Dest::Local(n) => process.send_named_nowait(n, process.node().name(), msg),
            Dest::Remote(n, node) => process.send_named_nowait(n, node, msg),
        }
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
        }
    }
    /// True if this names `process` itself (a call to self would deadlock).
    fn is_self(&self, process: &Process) -> bool {
        let node = process.node();
        match self {
            Dest::Pid(p) => p == process.pid(),
            Dest::Local(n) => node.whereis(n).as_ref() == Some(process.pid()),
            Dest::Remote(n, at) => {
                at == node.name() && node.whereis(n).as_ref() == Some(process.pid())
            }
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

/// A caller's `From = {Pid, Tag}`, as a server gets it with a `'$gen_call'`. Keep it
/// to answer later (after async work) with [`From::reply`] or [`From::reply_via`].
/// `Tag` is opaque: its shape only decides where the reply goes (§8.1).
///
/// Named after OTP's `From`; refer to it as `gen::From` to keep `std`'s `From` trait
/// in scope.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct From {
    /// The calling process (for OTP 25 `multi_call` with a timeout, a middleman).
    pub pid: Pid,
    pub tag: Term,
}

impl From {
    /// `{Pid, Tag}` with a pid first.
    pub fn parse(term: &Term) -> Option<From> {
        match term.as_tuple()? {
            [Term::Pid(pid), tag] => Some(From {
                pid: pid.clone(),
                tag: tag.clone(),
            }),
            _ => None,
        }
    }

    /// Back to `{Pid, Tag}`.
    pub fn to_term(&self) -> Term {
        Term::tuple(vec![Term::Pid(self.pid.clone()), self.tag.clone()])
    }

    /// `gen:reply(From, Reply)` from `process`.
    pub fn reply(&self, process: &Process, reply: Term) {
        self.reply_via(process.node(), process.pid(), reply)
    }

    /// `gen:reply(From, Reply)` sent on behalf of `sender` (any local pid; the node's
    /// own pid works) — for replies made from a task that is not the server process.
    pub fn reply_via(&self, node: &Node, sender: &Pid, reply: Term) {
        let msg = Term::tuple(vec![self.tag.clone(), reply]);
        match reply_alias(&self.tag) {
            Some(alias) => node.send_alias_from(sender, alias, msg),
            None => node.send_from(sender, &self.pid, msg),
        }
    }
}

/// A `'$gen_call'` request as a server receives it.
#[derive(Debug, Clone, PartialEq)]
pub struct CallRequest {
    /// `From` = `{Pid, Tag}`, passed back to [`reply`].
    pub from: Term,
    pub request: Term,
}

impl CallRequest {
    /// Matches `{'$gen_call', {Pid, Tag}, Request}`.
    pub fn parse(msg: &Term) -> Option<CallRequest> {
        let t = msg.as_tuple()?;
        if t.len() != 3 || !t[0].is_atom("$gen_call") {
            return None;
        }
        From::parse(&t[1])?;
        Some(CallRequest {
            from: t[1].clone(),
            request: t[2].clone(),
        })
    }

    /// Takes a `'$gen_call'` message apart without copying.
    pub fn take(msg: Term) -> Result<CallRequest, Term> {
        if CallRequest::parse(&msg).is_none() {
            return Err(msg);
        }
        match msg {
            Term::Tuple(t) => {
                let mut v = t.into_vec();
                let request = v.pop().unwrap_or(Term::Nil);
                let from = v.pop().unwrap_or(Term::Nil);
                Ok(CallRequest { from, request })
            }
            other => Err(other),
        }
    }
}

/// Where a reply goes under `gen:reply/2`'s rule (§8.1): to the alias when the tag is
/// `[alias | Ref]` or `[[alias | Ref] | _]`, else to the caller's pid.
fn reply_alias(tag: &Term) -> Option<&Reference> {
    fn alias_cell(t: &Term) -> Option<&Reference> {
        match t {
            Term::ImproperList(il) if il.elements.len() == 1 && il.elements[0].is_atom("alias") => {
                Term::as_ref(&il.tail)
            }
            _ => None,
        }
    }
    if let Some(r) = alias_cell(tag) {
        return Some(r);
    }
    match tag {
        Term::ImproperList(il) => alias_cell(il.elements.first()?),
        Term::List(l) => alias_cell(l.first()?),
        _ => None,
    }
}

/// Sends `{Tag, Reply}` to a caller, following the alias rule. `from` is the
/// `{Pid, Tag}` of the request; anything else is ignored, as `gen:reply/2` ignores
/// failures.
pub fn reply(process: &Process, from: &Term, reply: Term) {
    if let Some(f) = From::parse(from) {
        f.reply(process, reply);
    }
}

/// The `{[alias | Ref], Reply}` or `DOWN` for monitor `mref`, whichever comes first.
fn is_answer(m: &Term, tag: &Term, mref: &Reference) -> bool {
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
    let mref = process.monitor_alias(dest.watched(&here));
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

/// `gen_server:cast(Dest, Request)`: `{'$gen_cast', Request}`, fire and forget (§8.2).
pub fn cast(process: &Process, dest: &Dest, request: Term) {
    dest.send_nowait(process, cast_msg(request));
}

fn cast_msg(request: Term) -> Term {
    Term::tuple(vec![Term::atom("$gen_cast"), request])
}

/// `gen_server:abcast(Nodes, Name, Request)`: the cast to `{Name, Node}` for each node
/// (this node included when listed), connecting as needed (§8.2).
pub fn abcast(process: &Process, nodes: &[Atom], name: &Atom, request: Term) {
    let msg = cast_msg(request);
    for n in nodes {
        process.send_named_nowait(name, n, msg.clone());
    }
}

/// The outcome of [`multi_call`], as `gen_server:multi_call/4` returns it.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct MultiCallResult {
    /// `(Node, Reply)` in the order the nodes were given.
    pub replies: Vec<(Atom, Term)>,
    /// Nodes that did not answer: unreachable, no such name, the server died, or
    /// the timeout passed.
    pub bad_nodes: Vec<Atom>,
}

/// `gen_server:multi_call(Nodes, Name, Request, Timeout)`.
///
/// Every request is an ordinary alias-tagged call (§8.1) made in parallel; one
/// deadline covers them all. As with [`call`], replies after the deadline are dropped
/// by the node (the aliases are gone).
pub async fn multi_call(
    process: &mut Process,
    nodes: &[Atom],
    name: &Atom,
    request: Term,
    timeout: impl Into<Option<Duration>>,
) -> MultiCallResult {
    let mut pending = Vec::new();
    for n in nodes {
        let mref = process.monitor_alias(Watched::Name(name.clone(), n.clone()));
        let tag = Term::improper_list(vec![Term::atom("alias")], Term::Ref(mref.clone()));
        let from = Term::tuple(vec![Term::Pid(process.pid().clone()), tag.clone()]);
        process
            .send_named(
                name,
                n,
                Term::tuple(vec![Term::atom("$gen_call"), from, request.clone()]),
            )
            .await;
        pending.push((n.clone(), mref, tag));
    }
    let deadline = timeout
        .into()
        .and_then(|t| tokio::time::Instant::now().checked_add(t));
    let mut out = MultiCallResult::default();
    while !pending.is_empty() {
        let left = deadline.map(|d| d.saturating_duration_since(tokio::time::Instant::now()));
        let got = process
            .receive_match(
                |m| pending.iter().any(|(_, mref, tag)| is_answer(m, tag, mref)),
                left,
            )
            .await;
        let Ok(msg) = got else { break };
        let Some(i) = pending
            .iter()
            .position(|(_, mref, tag)| is_answer(&msg, tag, mref))
        else {
            continue;
        };
        let (node, mref, _) = pending.remove(i);
        match msg {
            Term::Tuple(t) if t.len() == 2 => {
                process.demonitor_flush(&mref);
                out.replies
                    .push((node, t.into_vec().pop().unwrap_or(Term::Nil)));
            }
            _ => out.bad_nodes.push(node),
        }
    }
    for (node, mref, _) in pending {
        process.demonitor_flush(&mref);
        out.bad_nodes.push(node);
    }
    let order = |n: &Atom| nodes.iter().position(|x| x == n).unwrap_or(usize::MAX);
    out.replies.sort_by_key(|(n, _)| order(n));
    out.bad_nodes.sort_by_key(order);
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn r(id: u32) -> Reference {
        Reference {
            node: Atom::new("a@h"),
            creation: 1,
            ids: vec![id, 2, 3],
        }
    }

    #[test]
    fn alias_tags_follow_gen_reply_rule() {
        let otp24 = Term::improper_list(vec![Term::atom("alias")], Term::Ref(r(1)));
        assert_eq!(reply_alias(&otp24), Some(&r(1)));
        // OTP 26+ multi_call: [[alias | Alias] | Mon] goes to Alias, not Mon.
        let otp26_multi = Term::improper_list(vec![otp24.clone()], Term::Ref(r(2)));
        assert_eq!(reply_alias(&otp26_multi), Some(&r(1)));
        // Plain tags (OTP <= 23 call, OTP 25 multi_call's {Ref, Node}) go to the pid.
        assert_eq!(reply_alias(&Term::Ref(r(1))), None);
        let otp25_multi = Term::tuple(vec![Term::Ref(r(1)), Term::atom("n@h")]);
        assert_eq!(reply_alias(&otp25_multi), None);
        // Not an alias tag: wrong atom, non-ref tail, or nested deeper than OTP nests.
        let other = Term::improper_list(vec![Term::atom("other")], Term::Ref(r(1)));
        assert_eq!(reply_alias(&other), None);
        let not_ref = Term::improper_list(vec![Term::atom("alias")], Term::Int(1));
        assert_eq!(reply_alias(&not_ref), None);
        let deeper = Term::improper_list(vec![otp26_multi.clone()], Term::Ref(r(3)));
        assert_eq!(reply_alias(&deeper), None);
    }

    #[test]
    fn from_round_trips_and_rejects_non_pids() {
        let pid = Pid::new(Atom::new("a@h"), 5, 0, 1);
        let t = Term::tuple(vec![Term::Pid(pid.clone()), Term::Ref(r(1))]);
        let f = From::parse(&t).expect("a From");
        assert_eq!(f.pid, pid);
        assert_eq!(f.to_term(), t);
        assert!(From::parse(&Term::tuple(vec![Term::atom("x"), Term::Nil])).is_none());
        assert!(From::parse(&Term::tuple(vec![Term::Pid(pid)])).is_none());
    }

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

//! gen_server call/cast/reply wire shapes (docs/protocol.md §8), for Rust clients and
//! servers. A call is made as OTP 24+ makes it: a monitor whose reference is also an
//! alias, the request tagged `[alias | Ref]`, the reply expected at the alias; so a
//! reply after a timeout is dropped by the node instead of lingering in the mailbox.
//! [`call`], [`Dest`] and [`CallError`] are defined in the node, which needs them for
//! `net_adm:ping`, and re-exported here.
//!
//! Servers answer with [`reply`] / [`From::reply`], which implement `gen:reply/2`'s
//! rule for every tag shape OTP sends (§8.1, §8.3, §15 trap 5): `[alias | Ref]`
//! (OTP 24+ `call`), `[[alias | Ref] | Mon]` (OTP 26+ `multi_call`) and plain tags such
//! as OTP 25 `multi_call`'s `{Ref, Node}`, which go to the caller's pid.

pub use crate::node::gen_call::{call, CallError, Dest};

use crate::node::gen_call::is_answer;
use crate::node::ProcessSender;
use crate::runtime::Watched;
use crate::term::{Atom, Pid, Reference, Term};
use crate::Process;
use std::time::Duration;

/// A caller's `From = {Pid, Tag}`, as a server gets it with a `'$gen_call'`. Keep it
/// to answer later (after async work) with [`From::reply`] or [`From::reply_as`].
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
    pub fn reply(&self, process: &Process, reply: impl Into<Term>) {
        self.reply_as(&process.sender(), reply)
    }

    /// `gen:reply(From, Reply)` sent as the server by a handle it gave out
    /// ([`Process::sender`]) — for replies made later, from another task.
    pub fn reply_as(&self, server: &ProcessSender, reply: impl Into<Term>) {
        let msg = Term::tuple(vec![self.tag.clone(), reply.into()]);
        match reply_alias(&self.tag) {
            Some(alias) => server.send(alias, msg),
            None => server.send(&self.pid, msg),
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
}

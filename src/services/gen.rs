//! gen_server call/cast/reply wire shapes (protocol-notes §8), for Rust clients and
//! servers. A call is made as OTP 24+ makes it: a monitor whose reference is also an
//! alias, the request tagged `[alias | Ref]`, the reply expected at the alias; so a
//! reply after a timeout is dropped by the node instead of lingering in the mailbox.

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
    fn send(&self, process: &Process, msg: Term) {
        match self {
            Dest::Pid(p) => process.send(p, msg),
            Dest::Local(n) => process.send_named(n, process.node().name(), msg),
            Dest::Remote(n, node) => process.send_named(n, node, msg),
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
    /// `exit({nodedown, Node})`.
    #[error("node {0} is down")]
    NodeDown(Atom),
    /// The server exited with this reason before replying.
    #[error("server exited: {0}")]
    Exit(Term),
    /// The calling process itself was ended.
    #[error("caller exited: {0}")]
    CallerExited(Term),
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
        let from = t[1].as_tuple()?;
        if from.len() != 2 || from[0].as_pid().is_none() {
            return None;
        }
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
    let Term::ImproperList(il) = tag else {
        return None;
    };
    match (il.elements.first(), &*il.tail) {
        (Some(first), Term::Ref(r)) if il.elements.len() == 1 && first.is_atom("alias") => Some(r),
        (Some(inner), _) if il.elements.len() == 1 => reply_alias(inner),
        _ => None,
    }
}

/// Sends `{Tag, Reply}` to a caller, following the alias rule.
pub fn reply(process: &Process, from: &Term, reply: Term) {
    let Some([pid, tag]) = from.as_tuple() else {
        return;
    };
    let msg = Term::tuple(vec![tag.clone(), reply]);
    if let Some(alias) = reply_alias(tag) {
        process.send_alias(alias, msg);
    } else if let Term::Pid(p) = pid {
        process.send(p, msg);
    }
}

/// `gen_server:call(Dest, Request, Timeout)`.
pub async fn call(
    process: &mut Process,
    dest: &Dest,
    request: Term,
    timeout: Duration,
) -> Result<Term, CallError> {
    let here = process.node().name().clone();
    let mref = process.monitor_alias(dest.watched(&here));
    let tag = Term::improper_list(vec![Term::atom("alias")], Term::Ref(mref.clone()));
    let from = Term::tuple(vec![Term::Pid(process.pid().clone()), tag.clone()]);
    dest.send(
        process,
        Term::tuple(vec![Term::atom("$gen_call"), from, request]),
    );
    let got = process
        .receive_match(
            |m| match m.as_tuple() {
                Some([t, _]) => *t == tag,
                Some([d, Term::Ref(r), ..]) => d.is_atom("DOWN") && *r == mref,
                _ => false,
            },
            Some(timeout),
        )
        .await;
    match got {
        Ok(Term::Tuple(t)) if t.len() == 2 => {
            process.demonitor_flush(&mref);
            Ok(t.into_vec().pop().unwrap_or(Term::Nil))
        }
        Ok(down) => {
            let reason = down
                .as_tuple()
                .and_then(|t| t.get(4))
                .cloned()
                .unwrap_or(Term::Nil);
            if reason.is_atom("noconnection") {
                Err(CallError::NodeDown(dest.node(&here).clone()))
            } else if reason.is_atom("noproc") {
                Err(CallError::NoProc)
            } else {
                Err(CallError::Exit(reason))
            }
        }
        Err(ReceiveError::Timeout) => {
            process.demonitor_flush(&mref);
            Err(CallError::Timeout)
        }
        Err(ReceiveError::Exited(r)) => Err(CallError::CallerExited(r)),
    }
}

/// `gen_server:cast(Dest, Request)`: fire and forget.
pub fn cast(process: &Process, dest: &Dest, request: Term) {
    dest.send(process, Term::tuple(vec![Term::atom("$gen_cast"), request]));
}

/// `gen_server:abcast(Nodes, Name, Request)`.
pub fn abcast(process: &Process, nodes: &[Atom], name: &Atom, request: Term) {
    for n in nodes {
        process.send_named(
            name,
            n,
            Term::tuple(vec![Term::atom("$gen_cast"), request.clone()]),
        );
    }
}

/// `gen_server:multi_call(Nodes, Name, Request, Timeout)`: `(Replies, BadNodes)`,
/// replies as `(Node, Reply)` in node order.
pub async fn multi_call(
    process: &mut Process,
    nodes: &[Atom],
    name: &Atom,
    request: Term,
    timeout: Duration,
) -> (Vec<(Atom, Term)>, Vec<Atom>) {
    let mut pending = Vec::new();
    for n in nodes {
        let mref = process.monitor_alias(Watched::Name(name.clone(), n.clone()));
        let tag = Term::improper_list(vec![Term::atom("alias")], Term::Ref(mref.clone()));
        let from = Term::tuple(vec![Term::Pid(process.pid().clone()), tag.clone()]);
        process.send_named(
            name,
            n,
            Term::tuple(vec![Term::atom("$gen_call"), from, request.clone()]),
        );
        pending.push((n.clone(), mref, tag));
    }
    let deadline = tokio::time::Instant::now() + timeout;
    let mut replies = Vec::new();
    let mut bad = Vec::new();
    while !pending.is_empty() {
        let left = deadline.saturating_duration_since(tokio::time::Instant::now());
        let got = process
            .receive_match(
                |m| match m.as_tuple() {
                    Some([t, _]) => pending.iter().any(|(_, _, tag)| tag == t),
                    Some([d, Term::Ref(r), ..]) => {
                        d.is_atom("DOWN") && pending.iter().any(|(_, m, _)| m == r)
                    }
                    _ => false,
                },
                Some(left),
            )
            .await;
        let Ok(msg) = got else { break };
        let Some(t) = msg.as_tuple() else { continue };
        let idx = if t.len() == 2 {
            pending.iter().position(|(_, _, tag)| *tag == t[0])
        } else {
            pending
                .iter()
                .position(|(_, m, _)| Some(m) == t[1].as_ref())
        };
        let Some(i) = idx else { continue };
        let (node, mref, _) = pending.remove(i);
        process.demonitor_flush(&mref);
        if t.len() == 2 {
            replies.push((node, t[1].clone()));
        } else {
            bad.push(node);
        }
    }
    for (node, mref, _) in pending {
        process.demonitor_flush(&mref);
        bad.push(node);
    }
    let order = |n: &Atom| nodes.iter().position(|x| x == n).unwrap_or(usize::MAX);
    replies.sort_by_key(|(n, _)| order(n));
    bad.sort_by_key(order);
    (replies, bad)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn r() -> Reference {
        Reference {
            node: Atom::new("a@h"),
            creation: 1,
            ids: vec![1, 2, 3],
        }
    }

    #[test]
    fn alias_tags_follow_gen_reply_rule() {
        let otp24 = Term::improper_list(vec![Term::atom("alias")], Term::Ref(r()));
        assert_eq!(reply_alias(&otp24), Some(&r()));
        let otp26_multi = Term::improper_list(vec![otp24.clone()], Term::Ref(r()));
        assert_eq!(reply_alias(&otp26_multi), Some(&r()));
        assert_eq!(reply_alias(&Term::Ref(r())), None);
    }
}

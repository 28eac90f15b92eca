//! gen_server call/reply wire shapes (protocol-notes §8), for Rust callers and servers.

use crate::runtime::{Process, ReceiveTimeout};
use crate::term::{Atom, Pid, Reference, Term};
use std::time::Duration;

/// Why a call failed.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[non_exhaustive]
pub enum CallError {
    #[error("no reply within the timeout")]
    Timeout,
}

impl From<ReceiveTimeout> for CallError {
    fn from(_: ReceiveTimeout) -> Self {
        CallError::Timeout
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
        let from = t[1].as_tuple()?;
        if from.len() != 2 || from[0].as_pid().is_none() {
            return None;
        }
        Some(CallRequest {
            from: t[1].clone(),
            request: t[2].clone(),
        })
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
        (Some(inner), _) => reply_alias(inner),
        _ => None,
    }
}

/// Sends `{Tag, Reply}` to a caller, following the alias rule.
pub fn reply(process: &Process, from: &Term, reply: Term) {
    let Some([pid, tag]) = from
        .as_tuple()
        .map(|t| t.to_vec())
        .and_then(|v| <[Term; 2]>::try_from(v).ok())
    else {
        return;
    };
    let msg = Term::tuple(vec![tag.clone(), reply]);
    if let Some(alias) = reply_alias(&tag) {
        process.send_alias(alias, msg);
    } else if let Term::Pid(p) = pid {
        process.send(&p, msg);
    }
}

/// `gen_server:call({Name, Node}, Request, Timeout)` in the OTP ≤ 23 shape (plain
/// reference tag, reply to our pid), which every OTP version answers.
pub async fn call(
    process: &mut Process,
    name: &Atom,
    node: &Atom,
    request: Term,
    timeout: Duration,
) -> Result<Term, CallError> {
    let tag = process.node().make_ref();
    let from = Term::tuple(vec![
        Term::Pid(process.pid().clone()),
        Term::Ref(tag.clone()),
    ]);
    process.send_named(
        name,
        node,
        Term::tuple(vec![Term::atom("$gen_call"), from, request]),
    );
    receive_reply(process, tag, timeout).await
}

/// `gen_server:call(Pid, Request, Timeout)`.
pub async fn call_pid(
    process: &mut Process,
    to: &Pid,
    request: Term,
    timeout: Duration,
) -> Result<Term, CallError> {
    let tag = process.node().make_ref();
    let from = Term::tuple(vec![
        Term::Pid(process.pid().clone()),
        Term::Ref(tag.clone()),
    ]);
    process.send(
        to,
        Term::tuple(vec![Term::atom("$gen_call"), from, request]),
    );
    receive_reply(process, tag, timeout).await
}

async fn receive_reply(
    process: &mut Process,
    tag: Reference,
    timeout: Duration,
) -> Result<Term, CallError> {
    let msg = process
        .receive_match(
            |m| matches!(m.as_tuple(), Some([Term::Ref(r), _]) if *r == tag),
            Some(timeout),
        )
        .await?;
    match msg {
        Term::Tuple(t) => Ok(t.into_vec().pop().unwrap_or(Term::Nil)),
        _ => Ok(Term::Nil),
    }
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

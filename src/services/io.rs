//! The client side of Erlang's I/O protocol (docs/protocol.md §12): how a Rust process
//! prints through its group leader. A process spawned by a BEAM node has that node's
//! group leader (the iex/erl shell's `group` process, from SPAWN_REQUEST element 4), so
//! its output appears in the session that spawned it — as `io:put_chars/1` would.

use crate::runtime::ReceiveError;
use crate::term::{Pid, Term};
use crate::Process;
use std::time::Duration;

/// How long [`put_chars`] waits for the group leader's `io_reply`.
pub const IO_TIMEOUT: Duration = Duration::from_secs(10);

/// Why an I/O request failed.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[non_exhaustive]
pub enum IoError {
    /// The process has no group leader to send the request to.
    #[error("the process has no group leader")]
    NoGroupLeader,
    /// The group leader answered `{error, Reason}`.
    #[error("I/O server error: {0}")]
    Failed(Term),
    /// The group leader died (or its node went down) before answering.
    #[error("group leader exited: {0}")]
    GroupLeaderDown(Term),
    /// No `io_reply` within the timeout.
    #[error("no io_reply within the timeout")]
    Timeout,
    /// The requesting process was ended while waiting.
    #[error("process exited: {0}")]
    Exited(Term),
}

/// `io:put_chars(unicode, Text)` through the process's group leader.
pub async fn put_chars(process: &mut Process, text: &str) -> Result<(), IoError> {
    let gl = process.group_leader().ok_or(IoError::NoGroupLeader)?;
    let req = Term::tuple(vec![
        Term::atom("put_chars"),
        Term::atom("unicode"),
        Term::binary(text),
    ]);
    match request(process, &gl, req, IO_TIMEOUT).await? {
        r if r.is_atom("ok") => Ok(()),
        r => match r.as_tuple() {
            Some([e, reason]) if e.is_atom("error") => Err(IoError::Failed(reason.clone())),
            _ => Err(IoError::Failed(r)),
        },
    }
}

/// Sends one I/O request to `io_server` and returns the reply term, as `io` does: the
/// server is monitored and the monitor reference is the `ReplyAs` tag, so a dead server
/// ends the wait (§12). Replies are matched on `ReplyAs` only (any process may answer).
pub async fn request(
    process: &mut Process,
    io_server: &Pid,
    req: Term,
    timeout: Duration,
) -> Result<Term, IoError> {
    let mref = process.monitor(io_server);
    let from = Term::Pid(process.pid().clone());
    process
        .send(
            io_server,
            Term::tuple(vec![
                Term::atom("io_request"),
                from,
                Term::Ref(mref.clone()),
                req,
            ]),
        )
        .await;
    let got = process
        .receive_match(
            |m| match m.as_tuple() {
                Some([tag, Term::Ref(r), _]) => tag.is_atom("io_reply") && *r == mref,
                Some([tag, Term::Ref(r), ..]) => tag.is_atom("DOWN") && *r == mref,
                _ => false,
            },
            Some(timeout),
        )
        .await;
    match got {
        Ok(Term::Tuple(t)) if t.len() == 3 => {
            process.demonitor_flush(&mref);
            Ok(t.into_vec().pop().unwrap_or(Term::Nil))
        }
        Ok(down) => Err(IoError::GroupLeaderDown(
            down.as_tuple()
                .and_then(|t| t.get(4))
                .cloned()
                .unwrap_or(Term::Nil),
        )),
        Err(ReceiveError::Timeout) => {
            process.demonitor_flush(&mref);
            Err(IoError::Timeout)
        }
        Err(ReceiveError::Exited(r)) => Err(IoError::Exited(r)),
    }
}

/// One piece of an output request, as an I/O server sees it (§12).
#[derive(Debug, Clone, PartialEq)]
pub enum OutputPart {
    /// Text to write (`put_chars` with chardata).
    Text(String),
    /// `{put_chars, Enc, M, F, A}`: write the chardata `M:F(A…)` returns. Only the
    /// requesting node can be relied on to have `M` (usually `io_lib:format/2`).
    Format {
        module: crate::term::Atom,
        function: crate::term::Atom,
        args: Vec<Term>,
    },
}

/// The output an `io_request` asks for, in order (`{requests, [...]}` flattened), or
/// `None` for requests that are not output (input, `setopts`, …) or malformed ones.
/// Pure, so every I/O server in the crate reads requests the same way.
pub fn output_parts(req: &Term) -> Option<Vec<OutputPart>> {
    let mut parts = Vec::new();
    let mut todo = vec![req];
    while let Some(req) = todo.pop() {
        match req.as_tuple()? {
            [tag, _enc, chars] if tag.is_atom("put_chars") => {
                parts.push(OutputPart::Text(chardata(chars)?))
            }
            [tag, chars] if tag.is_atom("put_chars") => {
                parts.push(OutputPart::Text(chardata(chars)?))
            }
            [tag, _enc, Term::Atom(m), Term::Atom(f), a] if tag.is_atom("put_chars") => {
                parts.push(OutputPart::Format {
                    module: m.clone(),
                    function: f.clone(),
                    args: a.as_list()?.to_vec(),
                })
            }
            [tag, reqs] if tag.is_atom("requests") => todo.extend(reqs.as_list()?.iter().rev()),
            _ => return None,
        }
    }
    Some(parts)
}

/// Flattens Erlang chardata (nested lists of code points and binaries) to text,
/// iteratively so a deep list cannot exhaust the stack. `None` if it is not chardata.
pub fn chardata(t: &Term) -> Option<String> {
    let mut out = String::new();
    let mut stack = vec![t];
    while let Some(t) = stack.pop() {
        match t {
            Term::Nil => {}
            Term::Int(c) => out.push(char::from_u32(u32::try_from(*c).ok()?)?),
            Term::Binary(b) => out.push_str(&String::from_utf8_lossy(b)),
            Term::List(ts) => stack.extend(ts.iter().rev()),
            Term::ImproperList(il) => {
                stack.push(&il.tail);
                stack.extend(il.elements.iter().rev());
            }
            _ => return None,
        }
    }
    Some(out)
}

#[cfg(test)]
mod output_tests {
    use super::*;

    #[test]
    fn output_parts_flattens_requests_in_order() {
        let pc = |s: &str| {
            Term::tuple(vec![
                Term::atom("put_chars"),
                Term::atom("unicode"),
                Term::binary(s),
            ])
        };
        let fmt = Term::tuple(vec![
            Term::atom("put_chars"),
            Term::atom("unicode"),
            Term::atom("io_lib"),
            Term::atom("format"),
            Term::list(vec![Term::binary("~p"), Term::list(vec![Term::Int(1)])]),
        ]);
        let req = Term::tuple(vec![
            Term::atom("requests"),
            Term::list(vec![pc("a"), fmt, pc("b")]),
        ]);
        let parts = output_parts(&req).unwrap();
        assert_eq!(parts.len(), 3);
        assert_eq!(parts[0], OutputPart::Text("a".into()));
        assert!(
            matches!(&parts[1], OutputPart::Format { function, .. } if function.as_str() == "format")
        );
        assert_eq!(parts[2], OutputPart::Text("b".into()));
        let get = Term::tuple(vec![Term::atom("get_line"), Term::binary("> ")]);
        assert_eq!(output_parts(&get), None);
        let chars = Term::list(vec![Term::Int(104), Term::list(vec![Term::Int(105)])]);
        assert_eq!(chardata(&chars).as_deref(), Some("hi"));
    }
}

//! The client side of Erlang's I/O protocol (protocol-notes §12): how a Rust process
//! prints through its group leader. A process spawned by a BEAM node has that node's
//! group leader (the iex/erl shell's `group` process, from SPAWN_REQUEST element 4), so
//! its output appears in the session that spawned it — as `io:put_chars/1` would.

use crate::runtime::{Process, ReceiveError};
use crate::term::{Pid, Term};
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
    process.send(
        io_server,
        Term::tuple(vec![
            Term::atom("io_request"),
            from,
            Term::Ref(mref.clone()),
            req,
        ]),
    );
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

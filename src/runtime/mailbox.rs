//! A process mailbox: an ordered queue of messages, a save queue for selective
//! receive, and the process's exit state, behind one small shared allocation.
//!
//! Exit signals are not queued behind messages: they are acted on when they arrive
//! (docs/protocol.md §5.2; Erlang handles signals before the messages that follow them).
//! A signal that ends the process marks its [`ProcControl`] and wakes both the mailbox
//! and the task that runs the process, so a `receive` in progress returns
//! [`ReceiveError::Exited`] at once and a spawned process stops at its next await.
//!
//! Why not a tokio channel: an idle process is mostly its mailbox, and tokio's
//! unbounded channel allocates a 32-slot block (32 × 48-byte terms) plus a
//! cache-padded channel header up front — about 2 KiB per process before the first
//! message. Here an empty mailbox is one `Arc` of about 150 bytes: a mutex, an empty
//! `VecDeque` (no allocation until a message arrives), the exit reason and two wakers.
//! The lock is held only to push, pop or swap; user code (a selective receive's
//! pattern) never runs under it.

use crate::term::Term;
use std::collections::VecDeque;
use std::future::Future;
use std::pin::Pin;
use std::sync::{Arc, Mutex, MutexGuard};
use std::task::{Context, Poll, Waker};
use std::time::Duration;

/// The sending half, kept in the process table: the shared state itself.
pub type MailboxSender = Arc<ProcControl>;

/// Why a receive returned without a message.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[non_exhaustive]
pub enum ReceiveError {
    #[error("receive timed out")]
    Timeout,
    /// The process was ended by an exit signal (or exited) with this reason.
    #[error("process exited: {0}")]
    Exited(Term),
}

#[derive(Debug, Default)]
struct State {
    queue: VecDeque<Term>,
    /// Boxed: 8 bytes in every mailbox instead of a 48-byte term for the rare exit.
    exit: Option<Box<Term>>,
    /// The receive waiting for a message or an exit.
    receiver: Option<Waker>,
    /// The task running the process (spawned processes): woken only by an exit, so
    /// the process stops even when it waits on something other than its mailbox.
    task: Option<Waker>,
}

/// The state one process's senders, the process table and the process share: queued
/// messages and the exit reason.
#[derive(Debug, Default)]
pub struct ProcControl {
    state: Mutex<State>,
}

fn store(slot: &mut Option<Waker>, w: &Waker) {
    match slot {
        Some(old) if old.will_wake(w) => {}
        _ => *slot = Some(w.clone()),
    }
}

impl ProcControl {
    fn lock(&self) -> MutexGuard<'_, State> {
        // The lock only guards pushes and pops; a panic cannot leave it half-done.
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Queues `msg`. A process that has exited takes no more messages: the message
    /// comes back as the error and is dropped by the caller, as a message to a dead
    /// pid is.
    pub fn send(&self, msg: Term) -> Result<(), Term> {
        let mut g = self.lock();
        if g.exit.is_some() {
            return Err(msg);
        }
        g.queue.push_back(msg);
        let w = g.receiver.take();
        drop(g);
        if let Some(w) = w {
            w.wake();
        }
        Ok(())
    }

    /// Marks the process as exited with `reason` (the first reason wins), drops the
    /// queued messages, and wakes its receive and its task.
    pub fn kill(&self, reason: Term) {
        let mut g = self.lock();
        if g.exit.is_none() {
            g.exit = Some(Box::new(reason));
        }
        let queue = std::mem::take(&mut g.queue);
        let (r, t) = (g.receiver.take(), g.task.take());
        drop(g);
        drop(queue);
        for w in [r, t].into_iter().flatten() {
            w.wake();
        }
    }

    /// The exit reason, once the process has exited.
    pub fn exited(&self) -> Option<Term> {
        self.lock().exit.as_deref().cloned()
    }

    /// Whether the process has exited (without cloning the reason).
    pub fn has_exited(&self) -> bool {
        self.lock().exit.is_some()
    }

    /// For the task that runs a spawned process: ready with the reason once the
    /// process has been killed; otherwise remembers the task's waker.
    pub(crate) fn poll_killed(&self, cx: &mut Context<'_>) -> Poll<Term> {
        let mut g = self.lock();
        match &g.exit {
            Some(r) => Poll::Ready(Term::clone(r)),
            None => {
                store(&mut g.task, cx.waker());
                Poll::Pending
            }
        }
    }

    /// Messages queued and not yet taken by the process.
    pub fn queued(&self) -> usize {
        self.lock().queue.len()
    }
}

/// The receiving half, owned by the process.
#[derive(Debug)]
pub struct Mailbox {
    shared: Arc<ProcControl>,
    /// Messages a selective receive skipped, oldest first; all older than `queue`'s.
    saved: VecDeque<Term>,
}

impl Mailbox {
    /// A new mailbox: the sender (for the process table and senders), the same shared
    /// state as the control handle, and the receiving half.
    pub fn new() -> (MailboxSender, Arc<ProcControl>, Mailbox) {
        let shared = Arc::new(ProcControl::default());
        (
            shared.clone(),
            shared.clone(),
            Mailbox {
                shared,
                saved: VecDeque::new(),
            },
        )
    }

    /// The shared state behind this mailbox.
    pub(crate) fn control(&self) -> MailboxSender {
        self.shared.clone()
    }

    /// The oldest message, waiting up to `timeout` (`None` waits forever).
    pub async fn receive(&mut self, timeout: Option<Duration>) -> Result<Term, ReceiveError> {
        with_timeout(std::future::poll_fn(|cx| self.poll_receive(cx)), timeout).await
    }

    /// The oldest message, or the exit, as a poll (for [`Messages`] and hand-written
    /// futures); remembers the waker when there is neither.
    pub fn poll_receive(&mut self, cx: &mut Context<'_>) -> Poll<Result<Term, ReceiveError>> {
        if let Some(m) = self.saved.pop_front() {
            return Poll::Ready(Ok(m));
        }
        let mut g = self.shared.lock();
        if let Some(r) = &g.exit {
            return Poll::Ready(Err(ReceiveError::Exited(Term::clone(r))));
        }
        match g.queue.pop_front() {
            Some(m) => Poll::Ready(Ok(m)),
            None => {
                store(&mut g.receiver, cx.waker());
                Poll::Pending
            }
        }
    }

    /// The oldest message for which `matches` is true; others stay in the mailbox in
    /// their order (Erlang's selective receive).
    pub async fn receive_match<F>(
        &mut self,
        mut matches: F,
        timeout: Option<Duration>,
    ) -> Result<Term, ReceiveError>
    where
        F: FnMut(&Term) -> bool,
    {
        let shared = &self.shared;
        let saved = &mut self.saved;
        // Messages in `saved` before index `scanned` did not match.
        let mut scanned = 0;
        let wait = std::future::poll_fn(move |cx| {
            if let Some(r) = shared.exited() {
                return Poll::Ready(Err(ReceiveError::Exited(r)));
            }
            loop {
                if let Some(i) = saved.range(scanned..).position(&mut matches) {
                    if let Some(m) = saved.remove(scanned + i) {
                        return Poll::Ready(Ok(m));
                    }
                }
                scanned = saved.len();
                // Take whatever arrived since (one move under the lock), then scan it
                // without the lock.
                let mut g = shared.lock();
                if let Some(r) = &g.exit {
                    return Poll::Ready(Err(ReceiveError::Exited(Term::clone(r))));
                }
                if g.queue.is_empty() {
                    store(&mut g.receiver, cx.waker());
                    return Poll::Pending;
                }
                saved.extend(g.queue.drain(..));
            }
        });
        with_timeout(wait, timeout).await
    }

    /// A message already in the mailbox, without waiting.
    pub fn try_receive(&mut self) -> Option<Term> {
        if let Some(m) = self.saved.pop_front() {
            return Some(m);
        }
        self.shared.lock().queue.pop_front()
    }

    /// Puts messages back at the front of the save queue, in order (used after a
    /// scan that removed one message).
    pub fn put_back(&mut self, msgs: Vec<Term>) {
        for m in msgs.into_iter().rev() {
            self.saved.push_front(m);
        }
    }

    /// Number of messages waiting.
    pub fn len(&self) -> usize {
        self.saved.len() + self.shared.queued()
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// The exit reason, if the process has been ended by a signal.
    pub fn exited(&self) -> Option<Term> {
        self.shared.exited()
    }
}

/// A process's messages as a [`futures_core::Stream`] ([`crate::Process::messages`]),
/// oldest first; it ends when the process is ended by an exit signal.
#[derive(Debug)]
pub struct Messages<'a> {
    pub(crate) mailbox: &'a mut Mailbox,
}

impl futures_core::Stream for Messages<'_> {
    type Item = Term;
    fn poll_next(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Term>> {
        self.mailbox.poll_receive(cx).map(Result::ok)
    }
}

/// Waits for `wait`, or up to `timeout`. The timer lives in its own allocation, made
/// only when a timeout is given, so a process idle in `receive(None)` does not carry
/// one in its task.
async fn with_timeout<F>(wait: F, timeout: Option<Duration>) -> Result<Term, ReceiveError>
where
    F: Future<Output = Result<Term, ReceiveError>>,
{
    match timeout {
        None => wait.await,
        Some(t) => {
            let timed: Pin<Box<_>> = Box::pin(tokio::time::timeout(t, wait));
            timed.await.unwrap_or(Err(ReceiveError::Timeout))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn selective_receive_keeps_order_of_skipped_messages() {
        let (tx, _c, mut mb) = Mailbox::new();
        for i in 1..=4 {
            tx.send(Term::Int(i)).unwrap();
        }
        let got = mb.receive_match(|t| *t == Term::Int(3), None).await;
        assert_eq!(got, Ok(Term::Int(3)));
        for want in [1, 2, 4] {
            assert_eq!(
                mb.receive(Some(Duration::from_millis(10))).await,
                Ok(Term::Int(want))
            );
        }
        assert_eq!(
            mb.receive(Some(Duration::from_millis(10))).await,
            Err(ReceiveError::Timeout)
        );
    }

    #[tokio::test]
    async fn kill_wakes_a_waiting_receive() {
        let (_tx, control, mut mb) = Mailbox::new();
        let h = tokio::spawn(async move { mb.receive(None).await });
        tokio::time::sleep(Duration::from_millis(20)).await;
        control.kill(Term::atom("killed"));
        assert_eq!(
            h.await.unwrap(),
            Err(ReceiveError::Exited(Term::atom("killed")))
        );
    }

    #[tokio::test]
    async fn a_selective_receive_sees_messages_that_arrive_while_it_waits() {
        let (tx, _c, mut mb) = Mailbox::new();
        tx.send(Term::Int(1)).unwrap();
        let h = tokio::spawn(async move {
            let got = mb.receive_match(|t| *t == Term::Int(3), None).await;
            (got, mb)
        });
        tokio::time::sleep(Duration::from_millis(20)).await;
        tx.send(Term::Int(2)).unwrap();
        tx.send(Term::Int(3)).unwrap();
        tx.send(Term::Int(4)).unwrap();
        let (got, mut mb) = h.await.unwrap();
        assert_eq!(got, Ok(Term::Int(3)));
        assert_eq!(mb.len(), 3);
        for want in [1, 2, 4] {
            assert_eq!(mb.try_receive(), Some(Term::Int(want)));
        }
    }

    #[tokio::test]
    async fn a_killed_mailbox_refuses_messages_and_keeps_the_first_reason() {
        let (tx, control, mut mb) = Mailbox::new();
        tx.send(Term::Int(1)).unwrap();
        control.kill(Term::atom("first"));
        control.kill(Term::atom("second"));
        assert_eq!(tx.send(Term::Int(2)), Err(Term::Int(2)));
        assert_eq!(
            mb.receive(None).await,
            Err(ReceiveError::Exited(Term::atom("first")))
        );
    }
}

//! The outgoing queue of one connection (pending or up), bounded in bytes.
//!
//! OTP suspends a process that sends to a distribution port whose output buffer is
//! over `dist_buf_busy_limit` (`busy_dist_port`, 1 MiB by default) until the buffer
//! drains, and then sends. Here the same: payloads are encoded by the sender
//! ([`EncodedTerm`]), so the queue counts the bytes it will write (a binary of 4 KiB or
//! more is shared, not copied, and counts at its length, as in OTP's dist buffers:
//! docs/protocol.md §4.6), and an async send
//! ([`crate::Process::send`]) that finds the queue over the busy limit waits until the
//! connection's driver has taken it below again before it queues its message. Such a
//! sender queues only after waiting, so it is never refused: a message of any size is
//! sent, as BEAM sends it.
//!
//! Senders that cannot wait (replies of system services, sends from outside a
//! process) are bounded by a hard limit, `dist_buf_max`, on the bytes they have queued
//! and the driver has not yet taken: a message that finds that backlog over the limit
//! means the peer is not reading; the message is dropped and an up connection is
//! closed — its links and monitors fire as for any lost connection — so memory stays
//! bounded whatever a peer does (by the limit plus one message). A backlog under the
//! limit takes one more message however large: one reply of 100 MB to a peer that
//! reads is not a stalled peer. (Several such replies at once can still pass the
//! limit: size `dist_buf_max` above the largest burst of replies a peer may ask for.)

use crate::proto::control::ControlMessage;
use crate::proto::dist::EncodedTerm;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use tokio::sync::{mpsc, Notify};

/// Bytes counted for a message besides its payload (its control tuple, framing).
const CONTROL_COST: usize = 64;

/// One message for a connection's driver.
#[derive(Debug)]
pub(crate) struct Outgoing {
    pub control: ControlMessage,
    pub payload: Option<EncodedTerm>,
    /// The sender waited for the queue to be under its busy limit before queuing
    /// ([`crate::Process::send`]): the hard limit does not apply to it.
    pub waits: bool,
}

impl Outgoing {
    /// Bytes this message is counted for in its queue.
    pub fn cost(&self) -> usize {
        CONTROL_COST + self.payload.as_ref().map_or(0, |p| p.len())
    }
}

/// What became of a pushed message.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Push {
    /// Queued; the queue is under its busy limit.
    Queued,
    /// Queued; the queue is over its busy limit (an async sender should wait).
    Busy,
    /// Not queued: the sender does not wait and the backlog of such senders is
    /// already over the hard limit.
    Overflow,
    /// Not queued: the connection's driver is gone.
    Closed,
}

#[derive(Debug)]
pub(crate) struct OutQueue {
    tx: mpsc::UnboundedSender<Outgoing>,
    bytes: AtomicUsize,
    /// Of `bytes`, those queued by senders that do not wait.
    nowait: AtomicUsize,
    closed: AtomicBool,
    space: Notify,
    busy_limit: usize,
    max: usize,
}

impl OutQueue {
    pub fn new(busy_limit: usize, max: usize) -> (OutQueue, mpsc::UnboundedReceiver<Outgoing>) {
        let (tx, rx) = mpsc::unbounded_channel();
        (
            OutQueue {
                tx,
                bytes: AtomicUsize::new(0),
                nowait: AtomicUsize::new(0),
                closed: AtomicBool::new(false),
                space: Notify::new(),
                busy_limit,
                max: max.max(busy_limit),
            },
            rx,
        )
    }

    pub fn push(&self, out: Outgoing) -> Push {
        match self.try_push(out) {
            Ok(p) | Err((p, _)) => p,
        }
    }

    /// Like [`OutQueue::push`], but a message that is not queued (`Overflow`,
    /// `Closed`) comes back with the refusal, so the caller can try elsewhere. (Boxed:
    /// the refusal is rare, and a message is large.)
    pub fn try_push(&self, out: Outgoing) -> Result<Push, (Push, Box<Outgoing>)> {
        if self.closed.load(Ordering::Acquire) {
            return Err((Push::Closed, Box::new(out)));
        }
        let cost = out.cost();
        let waits = out.waits;
        if !waits && self.nowait.fetch_add(cost, Ordering::AcqRel) > self.max {
            self.nowait.fetch_sub(cost, Ordering::AcqRel);
            return Err((Push::Overflow, Box::new(out)));
        }
        let before = self.bytes.fetch_add(cost, Ordering::AcqRel);
        if let Err(mpsc::error::SendError(out)) = self.tx.send(out) {
            self.bytes.fetch_sub(cost, Ordering::AcqRel);
            if !waits {
                self.nowait.fetch_sub(cost, Ordering::AcqRel);
            }
            return Err((Push::Closed, Box::new(out)));
        }
        if before + cost > self.busy_limit {
            Ok(Push::Busy)
        } else {
            Ok(Push::Queued)
        }
    }

    /// The driver took `m` out of the queue.
    pub fn taken(&self, m: &Outgoing) {
        let cost = m.cost();
        if !m.waits {
            self.nowait.fetch_sub(cost, Ordering::AcqRel);
        }
        let before = self.bytes.fetch_sub(cost, Ordering::AcqRel);
        if before > self.busy_limit && before - cost <= self.busy_limit {
            self.space.notify_waiters();
        }
    }

    /// Bytes queued and not yet taken by the driver.
    pub fn bytes(&self) -> usize {
        self.bytes.load(Ordering::Acquire)
    }

    /// Over the busy limit (`busy_dist_port`)?
    pub fn is_busy(&self) -> bool {
        self.bytes() > self.busy_limit
    }

    /// The connection is gone: nothing more is queued and waiting senders go on.
    pub fn close(&self) {
        self.closed.store(true, Ordering::Release);
        self.space.notify_waiters();
    }

    /// Returns once the queue is under its busy limit or closed.
    pub async fn wait_not_busy(&self) {
        loop {
            let notified = self.space.notified();
            tokio::pin!(notified);
            notified.as_mut().enable();
            if !self.is_busy() || self.closed.load(Ordering::Acquire) {
                return;
            }
            notified.await;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::term::{Atom, Pid, Term};
    use std::sync::Arc;
    use std::time::Duration;

    fn msg(n: usize) -> Outgoing {
        let p = Pid::new(Atom::new("a@h"), 1, 0, 1);
        Outgoing {
            control: ControlMessage::Send { to: p, token: None },
            payload: Some(EncodedTerm::new(&Term::binary(vec![0; n])).unwrap()),
            waits: false,
        }
    }

    fn waiting(n: usize) -> Outgoing {
        Outgoing {
            waits: true,
            ..msg(n)
        }
    }

    #[tokio::test]
    async fn busy_senders_wait_until_the_driver_takes_messages() {
        let (q, mut rx) = OutQueue::new(1000, 10_000);
        let q = Arc::new(q);
        assert_eq!(q.push(msg(500)), Push::Queued);
        assert_eq!(q.push(msg(500)), Push::Busy);
        let waiter = tokio::spawn({
            let q = q.clone();
            async move { q.wait_not_busy().await }
        });
        tokio::time::sleep(Duration::from_millis(20)).await;
        assert!(!waiter.is_finished());
        let m = rx.recv().await.unwrap();
        q.taken(&m);
        tokio::time::timeout(Duration::from_secs(5), waiter)
            .await
            .expect("woken")
            .unwrap();
    }

    #[tokio::test]
    async fn the_hard_limit_refuses_and_close_wakes_waiters() {
        let (q, _rx) = OutQueue::new(100, 2000);
        let q = Arc::new(q);
        assert_eq!(q.push(msg(1500)), Push::Busy);
        assert_eq!(q.push(msg(1500)), Push::Busy);
        // The backlog of senders that do not wait is over the limit now.
        assert_eq!(q.push(msg(1)), Push::Overflow);
        assert!(q.bytes() < 3500);
        // A sender that waited is not refused.
        assert_eq!(q.push(waiting(1500)), Push::Busy);
        assert!(q.bytes() > 4500);
        let waiter = tokio::spawn({
            let q = q.clone();
            async move { q.wait_not_busy().await }
        });
        q.close();
        tokio::time::timeout(Duration::from_secs(5), waiter)
            .await
            .expect("woken")
            .unwrap();
        assert_eq!(q.push(msg(1)), Push::Closed);
    }

    /// A backlog under the hard limit takes a message larger than the limit (one
    /// large message to a peer that reads is not a stalled peer; OTP sends it too),
    /// and what waiting senders queued does not count toward the limit.
    #[test]
    fn one_large_message_passes_and_waiting_senders_do_not_count() {
        let (q, mut rx) = OutQueue::new(100, 2000);
        assert_eq!(q.push(waiting(50_000)), Push::Busy);
        assert_eq!(q.push(msg(5000)), Push::Busy);
        assert_eq!(q.push(msg(10)), Push::Overflow);
        for _ in 0..2 {
            let m = rx.try_recv().unwrap();
            q.taken(&m);
        }
        assert_eq!(q.bytes(), 0);
        assert_eq!(q.push(msg(10)), Push::Queued);
    }
}

//! A process mailbox: an ordered channel of messages, a save queue for selective
//! receive, and the process's exit state.
//!
//! Exit signals are not queued behind messages: they are acted on when they arrive
//! (docs/protocol.md §5.2; Erlang handles signals before the messages that follow them).
//! A signal that ends the process marks its [`ProcControl`] and wakes the mailbox, so
//! a `receive` in progress returns [`ReceiveError::Exited`] at once.

use crate::term::Term;
use std::collections::VecDeque;
use std::sync::{Arc, Mutex};
use std::time::Duration;
use tokio::sync::{mpsc, Notify};

/// The sending half, kept in the process table.
pub type MailboxSender = mpsc::UnboundedSender<Term>;

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

/// Exit state shared by a process's mailbox and the process table.
#[derive(Debug, Default)]
pub struct ProcControl {
    exit: Mutex<Option<Term>>,
    wake: Notify,
}

impl ProcControl {
    /// Marks the process as exited with `reason` and wakes its mailbox.
    pub fn kill(&self, reason: Term) {
        let mut g = self.exit.lock().unwrap_or_else(|e| e.into_inner());
        if g.is_none() {
            *g = Some(reason);
        }
        drop(g);
        // notify_one keeps a permit if nobody waits yet, so no wake-up is lost.
        self.wake.notify_one();
    }
    /// The exit reason, once the process has exited.
    pub fn exited(&self) -> Option<Term> {
        self.exit.lock().unwrap_or_else(|e| e.into_inner()).clone()
    }
}

/// The receiving half, owned by the process.
#[derive(Debug)]
pub struct Mailbox {
    rx: mpsc::UnboundedReceiver<Term>,
    control: Arc<ProcControl>,
    /// Messages a selective receive skipped, oldest first.
    saved: VecDeque<Term>,
}

impl Mailbox {
    pub fn new() -> (MailboxSender, Arc<ProcControl>, Mailbox) {
        let (tx, rx) = mpsc::unbounded_channel();
        let control = Arc::new(ProcControl::default());
        (
            tx,
            control.clone(),
            Mailbox {
                rx,
                control,
                saved: VecDeque::new(),
            },
        )
    }

    /// The oldest message, waiting up to `timeout` (`None` waits forever).
    pub async fn receive(&mut self, timeout: Option<Duration>) -> Result<Term, ReceiveError> {
        self.receive_match(|_| true, timeout).await
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
        if let Some(r) = self.control.exited() {
            return Err(ReceiveError::Exited(r));
        }
        if let Some(i) = self.saved.iter().position(&mut matches) {
            if let Some(m) = self.saved.remove(i) {
                return Ok(m);
            }
        }
        let control = self.control.clone();
        let wait = async {
            loop {
                tokio::select! {
                    biased;
                    _ = control.wake.notified() => {
                        if let Some(r) = control.exited() {
                            return Err(ReceiveError::Exited(r));
                        }
                    }
                    m = self.rx.recv() => match m {
                        Some(m) if matches(&m) => return Ok(m),
                        Some(m) => self.saved.push_back(m),
                        // Every sender is gone: the process left the table.
                        None => {
                            return Err(ReceiveError::Exited(
                                control.exited().unwrap_or_else(|| Term::atom("noproc")),
                            ))
                        }
                    },
                }
            }
        };
        match timeout {
            None => wait.await,
            Some(t) => tokio::time::timeout(t, wait)
                .await
                .unwrap_or(Err(ReceiveError::Timeout)),
        }
    }

    /// A message already in the mailbox, without waiting.
    pub fn try_receive(&mut self) -> Option<Term> {
        if let Some(m) = self.saved.pop_front() {
            return Some(m);
        }
        self.rx.try_recv().ok()
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
        self.saved.len() + self.rx.len()
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// The exit reason, if the process has been ended by a signal.
    pub fn exited(&self) -> Option<Term> {
        self.control.exited()
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
}

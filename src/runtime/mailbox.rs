//! A process mailbox: an ordered channel plus a save queue for selective receive.

use crate::term::Term;
use std::collections::VecDeque;
use std::time::Duration;
use tokio::sync::mpsc;

/// What can arrive at a process. Only ordinary messages for now; links, monitors and
/// exit signals extend this enum and are handled before messages.
#[derive(Debug)]
pub enum Delivery {
    Message(Term),
}

/// The sending half, kept in the process table.
pub type MailboxSender = mpsc::UnboundedSender<Delivery>;

/// The receiving half, owned by the process.
#[derive(Debug)]
pub struct Mailbox {
    rx: mpsc::UnboundedReceiver<Delivery>,
    /// Messages a selective receive skipped, oldest first.
    saved: VecDeque<Term>,
}

impl Mailbox {
    pub fn new() -> (MailboxSender, Mailbox) {
        let (tx, rx) = mpsc::unbounded_channel();
        (
            tx,
            Mailbox {
                rx,
                saved: VecDeque::new(),
            },
        )
    }

    /// The oldest message, waiting up to `timeout` (`None` waits forever). Returns
    /// `None` on timeout.
    pub async fn receive(&mut self, timeout: Option<Duration>) -> Option<Term> {
        self.receive_match(|_| true, timeout).await
    }

    /// The oldest message for which `matches` is true; others stay in the mailbox in
    /// their order (Erlang's selective receive).
    pub async fn receive_match<F>(
        &mut self,
        mut matches: F,
        timeout: Option<Duration>,
    ) -> Option<Term>
    where
        F: FnMut(&Term) -> bool,
    {
        if let Some(i) = self.saved.iter().position(&mut matches) {
            return self.saved.remove(i);
        }
        let wait = async {
            loop {
                match self.rx.recv().await {
                    Some(Delivery::Message(m)) => {
                        if matches(&m) {
                            return Some(m);
                        }
                        self.saved.push_back(m);
                    }
                    None => return None,
                }
            }
        };
        match timeout {
            None => wait.await,
            Some(t) => tokio::time::timeout(t, wait).await.unwrap_or(None),
        }
    }

    /// A message already in the mailbox, without waiting.
    pub fn try_receive(&mut self) -> Option<Term> {
        if let Some(m) = self.saved.pop_front() {
            return Some(m);
        }
        match self.rx.try_recv() {
            Ok(Delivery::Message(m)) => Some(m),
            Err(_) => None,
        }
    }

    /// Number of messages waiting.
    pub fn len(&self) -> usize {
        self.saved.len() + self.rx.len()
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn selective_receive_keeps_order_of_skipped_messages() {
        let (tx, mut mb) = Mailbox::new();
        for i in 1..=4 {
            tx.send(Delivery::Message(Term::Int(i))).unwrap();
        }
        let got = mb.receive_match(|t| *t == Term::Int(3), None).await;
        assert_eq!(got, Some(Term::Int(3)));
        for want in [1, 2, 4] {
            assert_eq!(
                mb.receive(Some(Duration::from_millis(10))).await,
                Some(Term::Int(want))
            );
        }
        assert_eq!(mb.receive(Some(Duration::from_millis(10))).await, None);
    }
}

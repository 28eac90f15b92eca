//! The future a spawned process runs as: its body, stopped when an exit signal ends the
//! process, with the end reported to the node.
//!
//! One value per process, stored inline in the tokio task, so spawning costs one
//! allocation for the task and one for the mailbox (runtime/mailbox.rs). An exit signal
//! that ends the process marks its mailbox, which wakes this task; the next poll sees
//! the mark and finishes without polling the body again, and tokio drops the body.
//! That replaces an `AbortHandle` kept in the process table (a second table lock per
//! spawn and 16 bytes per process).

use super::Node;
use crate::runtime::mailbox::MailboxSender;
use crate::runtime::panic_reason;
use crate::term::{Pid, Term};
use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Poll};

pin_project_lite::pin_project! {
    pub(crate) struct ProcessTask<F> {
        #[pin]
        body: F,
        control: MailboxSender,
        node: Node,
        pid: Pid,
        // For a `ProcessHandle` (node::spawn_handle): gets the exit reason.
        on_exit: Option<tokio::sync::oneshot::Sender<Term>>,
    }
}

impl<F> ProcessTask<F> {
    pub(crate) fn new(
        body: F,
        control: MailboxSender,
        node: Node,
        pid: Pid,
        on_exit: Option<tokio::sync::oneshot::Sender<Term>>,
    ) -> Self {
        ProcessTask {
            body,
            control,
            node,
            pid,
            on_exit,
        }
    }
}

impl<F: Future<Output = ()>> Future for ProcessTask<F> {
    type Output = ();

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<()> {
        let this = self.project();
        if let Poll::Ready(reason) = this.control.poll_killed(cx) {
            // Killed by a signal: the node already released the pid, its name, links
            // and monitors (node/signals.rs).
            if let Some(tx) = this.on_exit.take() {
                let _ = tx.send(reason);
            }
            return Poll::Ready(());
        }
        let body = this.body;
        let reason = match std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| body.poll(cx)))
        {
            Ok(Poll::Pending) => return Poll::Pending,
            // A body that called `Process::exit` (or dropped its `Process`) has ended:
            // the node already released it, and its reason, left in the mailbox, is
            // copied only for someone waiting for it.
            Ok(Poll::Ready(())) if this.control.has_exited() => {
                if let Some(tx) = this.on_exit.take() {
                    let reason = this.control.exited();
                    let _ = tx.send(reason.unwrap_or_else(|| Term::atom("normal")));
                }
                return Poll::Ready(());
            }
            Ok(Poll::Ready(())) => Term::atom("normal"),
            Err(payload) => {
                let r = panic_reason(payload.as_ref());
                tracing::error!(reason = %r, "process panicked");
                r
            }
        };
        match this.on_exit.take() {
            Some(tx) => {
                this.node.process_exited(this.pid, reason.clone());
                let _ = tx.send(reason);
            }
            None => this.node.process_exited(this.pid, reason),
        }
        Poll::Ready(())
    }
}

#[cfg(test)]
mod tests {
    use crate::Term;
    use std::time::Duration;

    use crate::node::test_node as node;

    /// Sets its flag when dropped: tells whether a process body was dropped.
    struct Dropped(Option<tokio::sync::oneshot::Sender<()>>);
    impl Drop for Dropped {
        fn drop(&mut self) {
            if let Some(tx) = self.0.take() {
                let _ = tx.send(());
            }
        }
    }

    async fn down_reason(watcher: &mut crate::Process) -> Term {
        let m = watcher
            .receive(Some(Duration::from_secs(5)))
            .await
            .expect("a DOWN within 5 s");
        match m.as_tuple() {
            Some([tag, _, _, _, reason]) if tag.is_atom("DOWN") => reason.clone(),
            _ => panic!("not a DOWN: {m}"),
        }
    }

    #[tokio::test]
    async fn a_kill_stops_a_body_that_waits_outside_its_mailbox() {
        let node = node("task_kill").await;
        let (tx, dropped) = tokio::sync::oneshot::channel();
        let pid = node.spawn(|_p| async move {
            let _guard = Dropped(Some(tx));
            tokio::time::sleep(Duration::from_secs(3600)).await;
        });
        let mut watcher = node.process();
        watcher.monitor(&pid);
        tokio::task::yield_now().await;
        watcher.exit_process(&pid, Term::atom("kill"));
        assert_eq!(down_reason(&mut watcher).await, Term::atom("killed"));
        tokio::time::timeout(Duration::from_secs(5), dropped)
            .await
            .expect("the body is dropped within 5 s")
            .expect("guard sent");
        assert!(!node.is_process_alive(&pid));
    }

    #[tokio::test]
    async fn exit_and_panic_reasons_reach_monitors() {
        let node = node("task_reasons").await;
        let mut watcher = node.process();
        let (go, gate) = tokio::sync::oneshot::channel::<()>();
        let exits = node.spawn(|p| async move {
            let _ = gate.await;
            p.exit(Term::atom("shutdown"));
        });
        watcher.monitor(&exits);
        let _ = go.send(());
        assert_eq!(down_reason(&mut watcher).await, Term::atom("shutdown"));

        let (go, gate) = tokio::sync::oneshot::channel::<()>();
        let panics = node.spawn(|_p| async move {
            let _ = gate.await;
            panic!("boom");
        });
        watcher.monitor(&panics);
        let _ = go.send(());
        assert_eq!(
            down_reason(&mut watcher).await,
            Term::tuple(vec![Term::atom("panic"), Term::binary("boom")])
        );

        let (go, gate) = tokio::sync::oneshot::channel::<()>();
        let returns = node.spawn(|_p| async move {
            let _ = gate.await;
        });
        watcher.monitor(&returns);
        let _ = go.send(());
        assert_eq!(down_reason(&mut watcher).await, Term::atom("normal"));
    }
}

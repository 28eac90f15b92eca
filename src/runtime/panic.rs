//! How a panicking process body becomes an exit reason. Kept apart from the node so
//! that anything running process bodies (the node's spawn, the rpc server's handler
//! tasks, `gen_server`) reports a panic the same way: `{panic, <<"message">>}`.

use crate::term::Term;
use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Poll};

/// Runs a future, turning a panic inside it into an `Err` with the panic payload.
pub(crate) struct CatchUnwind<F>(pub Pin<Box<F>>);

impl<F: Future> Future for CatchUnwind<F> {
    type Output = Result<F::Output, Box<dyn std::any::Any + Send>>;
    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let inner = self.0.as_mut();
        match std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| inner.poll(cx))) {
            Ok(Poll::Pending) => Poll::Pending,
            Ok(Poll::Ready(v)) => Poll::Ready(Ok(v)),
            Err(payload) => Poll::Ready(Err(payload)),
        }
    }
}

/// The exit reason for a panic: `{panic, <<"message">>}`.
pub(crate) fn panic_reason(payload: &(dyn std::any::Any + Send)) -> Term {
    let text = payload
        .downcast_ref::<&str>()
        .map(|s| s.to_string())
        .or_else(|| payload.downcast_ref::<String>().cloned())
        .unwrap_or_else(|| "process panicked".to_string());
    Term::tuple(vec![Term::atom("panic"), Term::binary(text.into_bytes())])
}

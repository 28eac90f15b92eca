//! How a panicking process body becomes an exit reason. Kept apart from the node so
//! that anything running process bodies (the node's spawn, the rpc server's handler
//! tasks, `gen_server`) reports a panic the same way: `{panic, <<"message">>}`.
//! Public, so that a server loop written outside this crate can do what the built-in
//! services do (they use only the public API).

use crate::term::Term;

/// The exit reason for a panic: `{panic, <<"message">>}`.
pub fn panic_reason(payload: &(dyn std::any::Any + Send)) -> Term {
    let text = payload
        .downcast_ref::<&str>()
        .map(|s| s.to_string())
        .or_else(|| payload.downcast_ref::<String>().cloned())
        .unwrap_or_else(|| "process panicked".to_string());
    Term::tuple(vec![Term::atom("panic"), Term::binary(text.into_bytes())])
}

pin_project_lite::pin_project! {
    /// A future that turns a panic while it is made or polled into
    /// `Err({panic, Text})` ([`catch_panic`]).
    pub struct CatchPanic<F> {
        #[pin]
        state: State<F>,
    }
}

pin_project_lite::pin_project! {
    #[project = StateProj]
    enum State<F> {
        Running { #[pin] fut: F },
        Panicked { reason: Option<Term> },
    }
}

/// Runs `make` and then polls the future it returns, turning a panic in either into
/// `Err({panic, <<"message">>})`, as a crash in an Erlang callback becomes an exit
/// reason. Used for `gen_server` handlers, so `terminate` still runs after a panic.
pub fn catch_panic<F: std::future::Future>(make: impl FnOnce() -> F) -> CatchPanic<F> {
    let state = match std::panic::catch_unwind(std::panic::AssertUnwindSafe(make)) {
        Ok(fut) => State::Running { fut },
        Err(payload) => State::Panicked {
            reason: Some(panic_reason(payload.as_ref())),
        },
    };
    CatchPanic { state }
}

impl<F: std::future::Future> std::future::Future for CatchPanic<F> {
    type Output = Result<F::Output, Term>;
    fn poll(
        self: std::pin::Pin<&mut Self>,
        cx: &mut std::task::Context<'_>,
    ) -> std::task::Poll<Self::Output> {
        use std::task::Poll;
        match self.project().state.project() {
            StateProj::Running { fut } => {
                match std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| fut.poll(cx))) {
                    Ok(Poll::Ready(v)) => Poll::Ready(Ok(v)),
                    Ok(Poll::Pending) => Poll::Pending,
                    Err(payload) => Poll::Ready(Err(panic_reason(payload.as_ref()))),
                }
            }
            StateProj::Panicked { reason } => {
                Poll::Ready(Err(reason.take().unwrap_or_else(|| Term::atom("panic"))))
            }
        }
    }
}

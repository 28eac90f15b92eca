//! How a panicking process body becomes an exit reason. Kept apart from the node so
//! that anything running process bodies (the node's spawn, the rpc server's handler
//! tasks, `gen_server`) reports a panic the same way: `{panic, <<"message">>}`.

use crate::term::Term;

/// The exit reason for a panic: `{panic, <<"message">>}`.
pub(crate) fn panic_reason(payload: &(dyn std::any::Any + Send)) -> Term {
    let text = payload
        .downcast_ref::<&str>()
        .map(|s| s.to_string())
        .or_else(|| payload.downcast_ref::<String>().cloned())
        .unwrap_or_else(|| "process panicked".to_string());
    Term::tuple(vec![Term::atom("panic"), Term::binary(text.into_bytes())])
}

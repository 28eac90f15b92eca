//! `kv`: a key-value store answering `GenServer.call({:kv, node}, {:put, k, v})` with
//! `:ok` and `{:get, k}` with `{:ok, v}` or `:error`.

use super::gen::{reply, CallRequest};
use crate::node::Node;
use crate::term::Term;
use std::collections::HashMap;

/// Starts a process registered as `kv`.
pub fn start(node: &Node) -> Result<crate::term::Pid, crate::runtime::table::RegisterError> {
    node.spawn_registered("kv", |mut p| async move {
        // Keys are compared by their encoding, which is exact for terms.
        let mut store: HashMap<Term, Term> = HashMap::new();
        while let Ok(msg) = p.receive(None).await {
            let Some(call) = CallRequest::parse(&msg) else {
                continue;
            };
            let answer = match call.request.as_tuple() {
                Some([op, k, v]) if op.is_atom("put") => {
                    store.insert(k.clone(), v.clone());
                    Term::atom("ok")
                }
                Some([op, k]) if op.is_atom("get") => match store.get(k) {
                    Some(v) => Term::tuple(vec![Term::atom("ok"), v.clone()]),
                    None => Term::atom("error"),
                },
                _ => Term::tuple(vec![Term::atom("error"), Term::atom("badarg")]),
            };
            reply(&p, &call.from, answer);
        }
    })
}

//! `kv`: a key-value store written as a [`GenServer`]. It answers
//! `GenServer.call({:kv, node}, {:put, k, v})` with `:ok`, `{:get, k}` with
//! `{:ok, v}` or `:error`, `{:delete, k}` with `:ok` and `:keys` with the list of keys;
//! `GenServer.cast({:kv, node}, {:put, k, v})` / `{:delete, k}` change it without a
//! reply (so `abcast` works too). `:sys.get_state({:kv, node})` shows the store as a
//! map, and `:sys.replace_state/2` with a function that returns a map replaces it.

use super::gen::From;
use super::gen_server::{self, CallResult, CastResult, GenServer, StartError};
use crate::node::Node;
use crate::term::{Pid, Term};
use crate::Process;
use std::collections::HashMap;

/// The store. Keys are compared as terms, which is exact (`1` and `1.0` differ, as in
/// an Erlang map).
#[derive(Debug, Default)]
pub struct Kv {
    store: HashMap<Term, Term>,
}

impl GenServer for Kv {
    fn handle_call(&mut self, request: Term, _from: &From, _p: &mut Process) -> CallResult {
        let answer = match request.as_tuple() {
            Some([op, k, v]) if op.is_atom("put") => {
                self.store.insert(k.clone(), v.clone());
                Term::atom("ok")
            }
            Some([op, k]) if op.is_atom("get") => match self.store.get(k) {
                Some(v) => Term::tuple(vec![Term::atom("ok"), v.clone()]),
                None => Term::atom("error"),
            },
            Some([op, k]) if op.is_atom("delete") => {
                self.store.remove(k);
                Term::atom("ok")
            }
            _ if request.is_atom("keys") => Term::list(self.store.keys().cloned().collect()),
            _ => Term::tuple(vec![Term::atom("error"), Term::atom("badarg")]),
        };
        CallResult::Reply(answer)
    }

    fn handle_cast(&mut self, request: Term, _p: &mut Process) -> CastResult {
        match request.as_tuple() {
            Some([op, k, v]) if op.is_atom("put") => {
                self.store.insert(k.clone(), v.clone());
            }
            Some([op, k]) if op.is_atom("delete") => {
                self.store.remove(k);
            }
            _ => tracing::debug!(%request, "kv: unknown cast ignored"),
        }
        CastResult::NoReply
    }

    fn format_state(&self) -> Term {
        Term::map(
            self.store
                .iter()
                .map(|(k, v)| (k.clone(), v.clone()))
                .collect(),
        )
    }

    /// `:sys.replace_state/2` with a map: the map becomes the store.
    fn replace_state(&mut self, state: Term) -> Result<(), Term> {
        let map = state
            .as_map()
            .ok_or_else(|| Term::tuple(vec![Term::atom("not_a_map"), state.clone()]))?;
        self.store = map.iter().cloned().collect();
        Ok(())
    }
}

/// Starts a [`Kv`] registered as `kv`.
pub fn start(node: &Node) -> Result<Pid, StartError> {
    gen_server::start(node, Some("kv"), Kv::default())
}

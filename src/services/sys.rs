//! What the caller's `sys` module expects (docs/protocol.md §8): OTP 26 changed the
//! replies to `get_state` and `replace_state` from the bare state to `{ok, State}`
//! (checked on OTP 25.2.3 and 27.3 with a gen_event: `[]` against `{ok, []}`); an
//! OTP 26+ `sys:get_state/1` given the bare state crashes with `case_clause`, and OTP
//! 25 given `{ok, State}` returns the tuple. A server that OTP 25 and OTP 26+ nodes
//! both call must answer each in its own shape, so the release of the caller's node is
//! asked once (`erlang:system_info(otp_release)` over erpc) and kept for that node
//! incarnation.

use crate::node::Node;
use crate::term::{Atom, Pid, Term};
use std::collections::HashMap;
use std::sync::Mutex;
use std::time::Duration;
use tracing::debug;

/// Releases of peer node incarnations, by (name, creation).
#[derive(Default)]
struct Releases(Mutex<HashMap<(Atom, u32), u32>>);

/// The OTP release of the node `caller` runs on, when already known. A Rust caller
/// on this node counts as the newest shape.
pub(crate) fn known_release(node: &Node, caller: &Pid) -> Option<u32> {
    if caller.node == *node.name() {
        return Some(u32::MAX);
    }
    let r = node.service_state::<Releases>();
    let map = r.0.lock().unwrap_or_else(|e| e.into_inner());
    map.get(&(caller.node.clone(), caller.creation)).copied()
}

/// The OTP release of the node `caller` runs on; asks that node once. `None` when it
/// cannot be found out (the node is gone, or does not serve erpc).
pub(crate) async fn release_of(node: &Node, caller: &Pid) -> Option<u32> {
    if let Some(r) = known_release(node, caller) {
        return Some(r);
    }
    let got = super::rpc_client::call(
        node,
        &caller.node,
        "erlang",
        "system_info",
        vec![Term::atom("otp_release")],
        Duration::from_secs(5),
    )
    .await;
    let release = match &got {
        Ok(t) => charlist(t).and_then(|s| s.trim().parse::<u32>().ok()),
        Err(_) => None,
    };
    debug!(peer = %caller.node, ?release, "OTP release of a sys caller");
    let release = release?;
    let r = node.service_state::<Releases>();
    r.0.lock()
        .unwrap_or_else(|e| e.into_inner())
        .insert((caller.node.clone(), caller.creation), release);
    Some(release)
}

/// The reply to `get_state` / `replace_state` for a caller of `release`.
pub(crate) fn state_reply(release: Option<u32>, state: Term) -> Term {
    match release {
        Some(r) if r >= 26 => Term::tuple(vec![Term::atom("ok"), state]),
        _ => state,
    }
}

/// The text of an Erlang string (a list of character codes).
pub(crate) fn charlist(t: &Term) -> Option<String> {
    t.as_list()?
        .iter()
        .map(|c| {
            c.as_int()
                .and_then(|i| char::from_u32(u32::try_from(i).ok()?))
        })
        .collect()
}

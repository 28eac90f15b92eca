//! Locking helpers shared by the locker and the registrar (set_lock_on_nodes/2,
//! check_replies/3, del_lock/2, delete_global_lock/2, set_lock_known/2).

use super::state::{atom, server_atom, tuple, Shared};
use crate::services::gen;
use crate::term::{Atom, Term};
use crate::Process;
use std::time::Duration;

/// `set_lock_on_nodes/2` with 0 retries: multi_call `{set_lock, Id}`; on any `false`
/// the nodes that said `true` are unlocked again. Nodes that do not answer count as
/// success, as in OTP.
pub(super) async fn set_lock_on_nodes(
    p: &mut Process,
    shared: &Shared,
    id: &Term,
    nodes: &[Atom],
) -> bool {
    if nodes.is_empty() {
        return true;
    }
    let me = p.node().name().clone();
    if nodes.len() > 1 && nodes.contains(&me) && !shared.can_set_lock(id) {
        return false;
    }
    let req = tuple(vec![atom("set_lock"), id.clone()]);
    let r = gen::multi_call(p, nodes, &server_atom(), req, None).await;
    if r.replies.iter().all(|(_, v)| v.is_atom("true")) {
        return true;
    }
    if r.replies.len() > 1 {
        let yes: Vec<Atom> = r
            .replies
            .iter()
            .filter(|(_, v)| v.is_atom("true"))
            .map(|(n, _)| n.clone())
            .collect();
        del_lock(p, id, &yes).await;
    }
    false
}

pub(super) async fn del_lock(p: &mut Process, id: &Term, nodes: &[Atom]) {
    if nodes.is_empty() {
        return;
    }
    let req = tuple(vec![atom("del_lock"), id.clone()]);
    gen::multi_call(p, nodes, &server_atom(), req, None).await;
}

pub(super) fn the_boss(nodes: &[Atom]) -> Option<Atom> {
    nodes.iter().max().cloned()
}

/// Unlocks every node but the boss, then the boss.
pub(super) async fn delete_global_lock(p: &mut Process, id: &Term, nodes: &[Atom]) {
    let Some(boss) = the_boss(nodes) else { return };
    let others: Vec<Atom> = nodes.iter().filter(|n| **n != boss).cloned().collect();
    del_lock(p, id, &others).await;
    del_lock(p, id, &[boss]).await;
}

pub(super) fn random_below(n: u64) -> u64 {
    getrandom::u64().unwrap_or(7) % n.max(1)
}

/// `random_sleep/1`: up to 1/8 s · 2^times, at most 8 s (times counts from 1).
pub(super) async fn random_sleep(times: u32) {
    let tmax: u64 = if times > 5 {
        8000
    } else {
        ((1u64 << times.min(5)) * 1000) / 8
    };
    tokio::time::sleep(Duration::from_millis(1 + random_below(tmax))).await;
}

/// `set_lock_known/2`: `{global, Self}` on the boss, then on every known node and
/// this one; retried until it holds with no node having become known meanwhile.
/// Returns the lock id and the locked nodes.
pub(super) async fn lock_known(p: &mut Process, shared: &Shared) -> (Term, Vec<Atom>) {
    let id = tuple(vec![atom("global"), Term::Pid(p.pid().clone())]);
    let me = p.node().name().clone();
    let mut times = 0;
    loop {
        let known = shared.known();
        let mut nodes = vec![me.clone()];
        nodes.extend(known.iter().cloned());
        let boss = the_boss(&nodes).unwrap_or(me.clone());
        if set_lock_on_nodes(p, shared, &id, std::slice::from_ref(&boss)).await {
            if set_lock_on_nodes(p, shared, &id, &nodes).await
                && shared.known().iter().all(|n| known.contains(n))
            {
                return (id, nodes);
            }
            del_lock(p, &id, &[boss]).await;
        }
        random_sleep(times).await;
        times += 1;
    }
}

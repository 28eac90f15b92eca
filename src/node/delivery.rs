//! Delivery of received messages without the node's process-table lock.
//!
//! Every message a connection delivers needs the target's mailbox. Looking it up in
//! the process table takes the table's lock, which every process of the node shares:
//! a lock per message, on the node's hottest path. A connection instead remembers the
//! mailboxes it delivered to lately ([`Deliveries`]) and reuses them while they stay
//! valid, which needs no lock:
//!
//! - by pid: a pid's table key is never reused (`runtime::table::ProcKey`), and a
//!   process leaving the table marks its mailbox exited first thing after, so a
//!   remembered mailbox either is that pid's live process or refuses the message,
//!   which is then dropped as a message to a dead pid is (docs/protocol.md §4.5);
//! - by registered name: the table's names generation moves on whenever a name is
//!   registered or goes away; a remembered mailbox is used only while the generation
//!   it was found at is current.
//!
//! A miss (or a stale entry) goes to the table as before and remembers the result.
//!
//! A [`crate::Process`] keeps one of these too, for its own sends to local pids and
//! names (`Process::send`), so local sends skip the table's lock as well.

use super::Node;
use crate::runtime::mailbox::MailboxSender;
use crate::runtime::table::ProcKey;
use crate::term::{Atom, Term};
use std::collections::HashMap;

/// Most mailboxes remembered per kind. When full, the mailboxes of exited processes
/// (and names no longer current) are forgotten first; if that frees nothing, all
/// (a connection talking to more processes than this pays the table lookup more
/// often, nothing else). Bounds what a connection keeps whatever its peer sends: two
/// small maps and at most this many mailboxes of exited processes (their queues are
/// dropped at exit), a few KiB.
const MAX_REMEMBERED: usize = 64;

/// The mailboxes one connection delivered to lately (see the module docs).
#[derive(Debug, Default)]
pub(crate) struct Deliveries {
    pids: HashMap<ProcKey, MailboxSender>,
    names: HashMap<Atom, (u64, MailboxSender)>,
}

impl Deliveries {
    /// How many mailboxes are remembered (pids, names).
    #[cfg(test)]
    pub fn len(&self) -> (usize, usize) {
        (self.pids.len(), self.names.len())
    }
}

/// Adds `k` → `v` to a full-or-not `map`, making room as [`MAX_REMEMBERED`] says;
/// `live` tells the entries worth keeping.
fn remember<K: std::hash::Hash + Eq, V>(
    map: &mut HashMap<K, V>,
    k: K,
    v: V,
    live: impl FnMut(&K, &mut V) -> bool,
) {
    if map.len() >= MAX_REMEMBERED {
        map.retain(live);
        if map.len() >= MAX_REMEMBERED {
            map.clear();
        }
    }
    map.insert(k, v);
}

impl Node {
    /// [`Node::deliver_local`] through the connection's `memo`.
    pub(crate) fn deliver_local_via(&self, memo: &mut Deliveries, id: ProcKey, msg: Term) -> bool {
        if let Some(tx) = memo.pids.get(&id) {
            if tx.send(msg).is_ok() {
                return true;
            }
            // The process has exited; its key will never name another one.
            memo.pids.remove(&id);
            return false;
        }
        let Some(tx) = self.inner.table.sender(id) else {
            return false;
        };
        let sent = tx.send(msg).is_ok();
        if sent {
            remember(&mut memo.pids, id, tx, |_, tx| !tx.has_exited());
        }
        sent
    }

    /// [`Node::deliver_named`] through the connection's `memo`.
    pub(crate) fn deliver_named_via(&self, memo: &mut Deliveries, name: &Atom, msg: Term) -> bool {
        let current = self.inner.table.names_generation();
        if let Some((seen, tx)) = memo.names.get(name) {
            if *seen == current {
                // The name still stands for this mailbox; if its process has just
                // exited, the message is dropped as it would be after a lookup.
                return tx.send(msg).is_ok();
            }
        }
        let Some((seen, tx)) = self.inner.table.sender_by_name_at(name) else {
            memo.names.remove(name);
            return false;
        };
        let sent = tx.send(msg).is_ok();
        remember(&mut memo.names, name.clone(), (seen, tx), |_, (g, tx)| {
            *g == seen && !tx.has_exited()
        });
        sent
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::node::test_node as node;
    use crate::runtime::table::key;

    /// A remembered name follows the name: after the name moves to another process,
    /// messages go to the new one, and to nobody once it is unregistered.
    #[tokio::test]
    async fn a_remembered_name_follows_reregistration() {
        let node = node("memo_names").await;
        let (mut a, mut b) = (node.process(), node.process());
        let name = Atom::new("target");
        let mut memo = Deliveries::default();
        node.register(name.clone(), a.pid()).expect("register a");
        assert!(node.deliver_named_via(&mut memo, &name, Term::Int(1)));
        assert!(node.deliver_named_via(&mut memo, &name, Term::Int(2)));
        assert_eq!(memo.len(), (0, 1));
        assert!(node.unregister(&name));
        node.register(name.clone(), b.pid()).expect("register b");
        assert!(node.deliver_named_via(&mut memo, &name, Term::Int(3)));
        assert!(node.unregister(&name));
        assert!(!node.deliver_named_via(&mut memo, &name, Term::Int(4)));
        assert_eq!(a.try_receive(), Some(Term::Int(1)));
        assert_eq!(a.try_receive(), Some(Term::Int(2)));
        assert_eq!(a.try_receive(), None);
        assert_eq!(b.try_receive(), Some(Term::Int(3)));
        assert_eq!(b.try_receive(), None);
    }

    /// A remembered pid whose process exits refuses the next message (it is dropped,
    /// as one to a dead pid), and a registered process that exits takes its name away.
    #[tokio::test]
    async fn remembered_mailboxes_of_exited_processes_take_nothing() {
        let node = node("memo_exit").await;
        let mut memo = Deliveries::default();
        let a = node.process();
        let (pid, name) = (a.pid().clone(), Atom::new("gone_soon"));
        node.register(name.clone(), &pid).expect("register");
        assert!(node.deliver_local_via(&mut memo, key(&pid), Term::Int(1)));
        assert!(node.deliver_named_via(&mut memo, &name, Term::Int(2)));
        drop(a);
        assert!(!node.deliver_local_via(&mut memo, key(&pid), Term::Int(3)));
        assert_eq!(memo.len().0, 0, "the dead pid is forgotten");
        assert!(!node.deliver_named_via(&mut memo, &name, Term::Int(4)));
        assert_eq!(memo.len().1, 0, "the gone name is forgotten");
    }

    /// However many processes a peer sends to, a connection remembers at most
    /// `MAX_REMEMBERED` of them; when full, exited ones make room first.
    #[tokio::test]
    async fn memory_stays_bounded() {
        let node = node("memo_bound").await;
        let mut memo = Deliveries::default();
        let mut procs: Vec<_> = (0..MAX_REMEMBERED).map(|_| node.process()).collect();
        for p in &procs {
            assert!(node.deliver_local_via(&mut memo, key(p.pid()), Term::Nil));
        }
        assert_eq!(memo.len().0, MAX_REMEMBERED);
        // Half of them exit: the next new one replaces those, the live ones stay.
        procs.truncate(MAX_REMEMBERED / 2);
        let newcomer = node.process();
        assert!(node.deliver_local_via(&mut memo, key(newcomer.pid()), Term::Nil));
        assert_eq!(memo.len().0, MAX_REMEMBERED / 2 + 1);
        // All live and full: it starts over rather than grow.
        let more: Vec<_> = (0..MAX_REMEMBERED).map(|_| node.process()).collect();
        for p in &more {
            assert!(node.deliver_local_via(&mut memo, key(p.pid()), Term::Nil));
        }
        assert!(memo.len().0 <= MAX_REMEMBERED);
    }

    /// A process's own sends to local pids and names go through its own memory
    /// (`Process::send`): they follow a name that moves, and a pid whose process
    /// exited takes nothing, exactly as a table lookup would.
    #[tokio::test]
    async fn local_sends_through_the_senders_memory() {
        let node = node("memo_local").await;
        let sender = node.process();
        let (mut a, mut b) = (node.process(), node.process());
        let name = Atom::new("moving");
        node.register(name.clone(), a.pid()).expect("register a");
        sender.send(a.pid(), Term::Int(1)).await;
        sender.send(&name, Term::Int(2)).await;
        sender.send((&name, node.name()), Term::Int(3)).await;
        assert!(node.unregister(&name));
        node.register(name.clone(), b.pid()).expect("register b");
        sender.send(&name, Term::Int(4)).await;
        assert_eq!(a.try_receive(), Some(Term::Int(1)));
        assert_eq!(a.try_receive(), Some(Term::Int(2)));
        assert_eq!(a.try_receive(), Some(Term::Int(3)));
        assert_eq!(a.try_receive(), None);
        assert_eq!(b.try_receive(), Some(Term::Int(4)));
        // b exits: its name goes, and so does the remembered mailbox.
        let b_pid = b.pid().clone();
        drop(b);
        sender.send(&b_pid, Term::Int(5)).await;
        sender.send(&name, Term::Int(6)).await;
        let mut c = node.process();
        node.register(name.clone(), c.pid()).expect("register c");
        sender.send(&name, Term::Int(7)).await;
        assert_eq!(c.try_receive(), Some(Term::Int(7)));
        assert_eq!(c.try_receive(), None);
        assert_eq!(a.try_receive(), None);
    }
}

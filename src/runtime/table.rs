//! The process table of one node: live processes with their links, monitors, aliases
//! and registered names. Plain data under one lock; the rules that act on it (exit
//! signals, `DOWN`s) live in `node::signals`.

use super::mailbox::MailboxSender;
use crate::term::{Atom, Pid, Reference};
use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Mutex;

/// A monitor some process holds on one of our processes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Monitor {
    pub reference: Reference,
    /// Who gets the `DOWN`.
    pub watcher: Pid,
    /// Set when the monitor was made by registered name: the `DOWN` then names the
    /// process as `{Name, Node}` (docs/protocol.md §5.1, MONITOR_P_EXIT).
    pub by_name: Option<Atom>,
}

/// What one of our processes monitors.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Watched {
    /// A process by pid (local or remote).
    Pid(Pid),
    /// A registered name on a node (`{Name, Node}`).
    Name(Atom, Atom),
}

impl Watched {
    /// The node the watched process lives on.
    pub fn node(&self) -> &Atom {
        match self {
            Watched::Pid(p) => &p.node,
            Watched::Name(_, n) => n,
        }
    }
}

/// A monitor our process holds: its target, and whether its reference is also an
/// alias that goes with it (`monitor(process, T, [{alias, demonitor}])`).
#[derive(Debug, Clone)]
pub struct Watch {
    pub target: Watched,
    pub alias: bool,
}

/// State of one link (docs/protocol.md §5.2): active, or being removed by our
/// UNLINK_ID with this id (exit signals over it are ignored meanwhile).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LinkState {
    Active,
    Unlinking(u64),
}

/// When an alias stops working (`alias/1` options).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AliasMode {
    /// Until `unalias`.
    Explicit,
    /// Until the first message through it (`[reply]`).
    Reply,
    /// Until the monitor of the same reference goes (`{alias, demonitor}`).
    Demonitor,
}

/// A map that allocates nothing until its first entry: 8 bytes in every process
/// entry instead of an empty `HashMap`'s 48, since most processes have no links or
/// monitors (an idle process's footprint, BENCHMARKS.md).
#[derive(Debug)]
#[allow(clippy::box_collection)] // the point: one pointer while empty
pub struct LazyMap<K, V>(Option<Box<HashMap<K, V>>>);

impl<K, V> Default for LazyMap<K, V> {
    fn default() -> Self {
        LazyMap(None)
    }
}

impl<K: std::hash::Hash + Eq, V> LazyMap<K, V> {
    pub fn get(&self, k: &K) -> Option<&V> {
        self.0.as_ref()?.get(k)
    }
    pub fn insert(&mut self, k: K, v: V) -> Option<V> {
        self.0.get_or_insert_with(Default::default).insert(k, v)
    }
    /// Inserts `v` under `k` unless `k` is there already.
    pub fn insert_if_absent(&mut self, k: K, v: V) {
        self.0
            .get_or_insert_with(Default::default)
            .entry(k)
            .or_insert(v);
    }
    pub fn remove(&mut self, k: &K) -> Option<V> {
        let map = self.0.as_mut()?;
        let v = map.remove(k);
        if map.is_empty() {
            self.0 = None;
        }
        v
    }
    pub fn retain(&mut self, f: impl FnMut(&K, &mut V) -> bool) {
        if let Some(map) = self.0.as_mut() {
            map.retain(f);
            if map.is_empty() {
                self.0 = None;
            }
        }
    }
    pub fn iter(&self) -> impl Iterator<Item = (&K, &V)> {
        self.0.iter().flat_map(|m| m.iter())
    }
}

impl<K, V> IntoIterator for LazyMap<K, V> {
    type Item = (K, V);
    type IntoIter =
        std::iter::Flatten<std::option::IntoIter<std::collections::hash_map::IntoIter<K, V>>>;
    fn into_iter(self) -> Self::IntoIter {
        self.0.map(|m| m.into_iter()).into_iter().flatten()
    }
}

/// One live process.
#[derive(Debug)]
pub struct ProcEntry {
    pub pid: Pid,
    /// The process's mailbox and exit state (senders queue through it; an exit
    /// signal that ends the process marks it, which also stops a spawned task).
    pub control: MailboxSender,
    pub name: Option<Atom>,
    pub trap_exit: bool,
    pub group_leader: Option<Pid>,
    pub links: LazyMap<Pid, LinkState>,
    pub monitored_by: Vec<Monitor>,
    pub monitoring: LazyMap<Reference, Watch>,
    pub aliases: Vec<Reference>,
}

/// Why a registration was refused (as `register/2` raises `badarg`).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum RegisterError {
    #[error("name {0:?} is already registered")]
    NameTaken(Atom),
    #[error("process already has a registered name")]
    AlreadyNamed,
    #[error("no such process")]
    NoProc,
}

/// The table's contents, for code that must change several entries atomically.
#[derive(Debug, Default)]
pub struct TableInner {
    /// Boxed: the map keeps spare buckets (up to twice the live count just after it
    /// grows), and a spare bucket of a 250-byte entry costs as much as a live one;
    /// boxed, a bucket is 16 bytes, and growing moves 16 bytes per process.
    pub procs: HashMap<ProcKey, Box<ProcEntry>>,
    pub names: HashMap<Atom, ProcKey>,
    /// Active aliases: reference → (owner's key, mode).
    pub aliases: HashMap<Reference, (ProcKey, AliasMode)>,
    /// Set when `names` changed under the current lock; [`ProcessTable::with`] then
    /// moves the names generation on.
    names_changed: bool,
}

/// A local process's key in the table: its pid's serial and id words together.
///
/// The id allocator never hands out the same (id, serial) pair twice in an
/// incarnation (the serial counts the wraps of the 32-bit id, `ids.rs`), so a key is
/// never reused: a message or signal to a dead pid finds no process, even when a new
/// process got the same id word after a wrap.
pub type ProcKey = u64;

/// The table key of a pid of this node (the node/creation check is the caller's).
pub fn key(pid: &Pid) -> ProcKey {
    (u64::from(pid.serial) << 32) | u64::from(pid.id)
}

impl TableInner {
    /// Removes a process with its name and aliases.
    pub fn remove(&mut self, id: ProcKey) -> Option<ProcEntry> {
        let e = *self.procs.remove(&id)?;
        if let Some(n) = &e.name {
            self.names.remove(n);
            self.names_changed = true;
        }
        for a in &e.aliases {
            self.aliases.remove(a);
        }
        Some(e)
    }

    /// Resolves a registered name to a pid id.
    pub fn resolve(&self, name: &Atom) -> Option<ProcKey> {
        self.names.get(name).copied()
    }
}

/// Processes of one node, keyed by pid id (the node/creation check is the caller's).
#[derive(Debug, Default)]
pub struct ProcessTable {
    inner: Mutex<TableInner>,
    /// Moves on (under the lock) whenever a name is registered or goes away, so a
    /// name resolved earlier can be reused without the lock while it has not moved
    /// ([`ProcessTable::names_generation`]).
    names_gen: AtomicU64,
}

impl ProcessTable {
    fn lock(&self) -> std::sync::MutexGuard<'_, TableInner> {
        // A panic while holding the lock cannot leave the maps half-updated in a way
        // that matters more than losing the node; keep serving.
        self.inner.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Runs `f` with the table locked.
    pub fn with<R>(&self, f: impl FnOnce(&mut TableInner) -> R) -> R {
        let mut g = self.lock();
        let r = f(&mut g);
        self.names_moved(&mut g);
        r
    }

    /// Moves the names generation on if `names` changed; called with the lock held.
    fn names_moved(&self, g: &mut TableInner) {
        if std::mem::take(&mut g.names_changed) {
            self.names_gen.fetch_add(1, Ordering::Release);
        }
    }

    /// The names generation: unchanged since an earlier reading means no name has
    /// been registered or gone away in between, so a mailbox found by name then
    /// ([`ProcessTable::sender_by_name_at`]) is still the one the name stands for.
    pub fn names_generation(&self) -> u64 {
        self.names_gen.load(Ordering::Acquire)
    }

    pub fn insert(&self, pid: Pid, control: MailboxSender, group_leader: Option<Pid>) {
        let entry = Box::new(ProcEntry {
            pid,
            control,
            name: None,
            trap_exit: false,
            group_leader,
            links: LazyMap::default(),
            monitored_by: Vec::new(),
            monitoring: LazyMap::default(),
            aliases: Vec::new(),
        });
        // Allocated before the lock is taken, so spawns contend less.
        self.lock().procs.insert(key(&entry.pid), entry);
    }

    pub fn sender(&self, id: ProcKey) -> Option<MailboxSender> {
        self.lock().procs.get(&id).map(|e| e.control.clone())
    }

    pub fn sender_by_name(&self, name: &Atom) -> Option<MailboxSender> {
        self.sender_by_name_at(name).map(|(_, tx)| tx)
    }

    /// The mailbox registered as `name`, with the names generation it was read at.
    pub fn sender_by_name_at(&self, name: &Atom) -> Option<(u64, MailboxSender)> {
        let g = self.lock();
        let id = g.names.get(name)?;
        let tx = g.procs.get(id).map(|e| e.control.clone())?;
        Some((self.names_gen.load(Ordering::Acquire), tx))
    }

    /// The mailbox behind an active alias; a `[reply]` alias is used up by this.
    pub fn sender_by_alias(&self, alias: &Reference) -> Option<MailboxSender> {
        let mut g = self.lock();
        let (id, mode) = *g.aliases.get(alias)?;
        if mode == AliasMode::Reply {
            g.aliases.remove(alias);
            if let Some(e) = g.procs.get_mut(&id) {
                e.aliases.retain(|a| a != alias);
            }
        }
        g.procs.get(&id).map(|e| e.control.clone())
    }

    pub fn contains(&self, id: ProcKey) -> bool {
        self.lock().procs.contains_key(&id)
    }

    pub fn register(&self, name: Atom, id: ProcKey) -> Result<(), RegisterError> {
        let mut g = self.lock();
        if g.names.contains_key(&name) {
            return Err(RegisterError::NameTaken(name));
        }
        let e = g.procs.get_mut(&id).ok_or(RegisterError::NoProc)?;
        if e.name.is_some() {
            return Err(RegisterError::AlreadyNamed);
        }
        e.name = Some(name.clone());
        g.names.insert(name, id);
        g.names_changed = true;
        self.names_moved(&mut g);
        Ok(())
    }

    pub fn unregister(&self, name: &Atom) -> bool {
        let mut g = self.lock();
        match g.names.remove(name) {
            Some(id) => {
                if let Some(e) = g.procs.get_mut(&id) {
                    e.name = None;
                }
                g.names_changed = true;
                self.names_moved(&mut g);
                true
            }
            None => false,
        }
    }

    pub fn whereis(&self, name: &Atom) -> Option<Pid> {
        let g = self.lock();
        let id = g.names.get(name)?;
        g.procs.get(id).map(|e| e.pid.clone())
    }

    pub fn registered(&self) -> Vec<Atom> {
        self.lock().names.keys().cloned().collect()
    }

    pub fn pids(&self) -> Vec<Pid> {
        self.lock().procs.values().map(|e| e.pid.clone()).collect()
    }
}

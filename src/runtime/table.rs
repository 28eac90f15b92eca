//! The process table of one node: live processes with their links, monitors, aliases
//! and registered names. Plain data under one lock; the rules that act on it (exit
//! signals, `DOWN`s) live in `node::signals`.

use super::mailbox::{MailboxSender, ProcControl};
use crate::term::{Atom, Pid, Reference};
use std::collections::HashMap;
use std::sync::{Arc, Mutex};

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

/// One live process.
#[derive(Debug)]
pub struct ProcEntry {
    pub pid: Pid,
    pub tx: MailboxSender,
    pub control: Arc<ProcControl>,
    pub name: Option<Atom>,
    pub trap_exit: bool,
    pub group_leader: Option<Pid>,
    pub links: HashMap<Pid, LinkState>,
    pub monitored_by: Vec<Monitor>,
    pub monitoring: HashMap<Reference, Watch>,
    pub aliases: Vec<Reference>,
    /// Aborts the task of a spawned process when a signal ends it.
    pub abort: Option<tokio::task::AbortHandle>,
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
    pub procs: HashMap<ProcKey, ProcEntry>,
    pub names: HashMap<Atom, ProcKey>,
    /// Active aliases: reference → (owner's key, mode).
    pub aliases: HashMap<Reference, (ProcKey, AliasMode)>,
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
        let e = self.procs.remove(&id)?;
        if let Some(n) = &e.name {
            self.names.remove(n);
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
}

impl ProcessTable {
    fn lock(&self) -> std::sync::MutexGuard<'_, TableInner> {
        // A panic while holding the lock cannot leave the maps half-updated in a way
        // that matters more than losing the node; keep serving.
        self.inner.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Runs `f` with the table locked.
    pub fn with<R>(&self, f: impl FnOnce(&mut TableInner) -> R) -> R {
        f(&mut self.lock())
    }

    pub fn insert(
        &self,
        pid: Pid,
        tx: MailboxSender,
        control: Arc<ProcControl>,
        group_leader: Option<Pid>,
    ) {
        self.lock().procs.insert(
            key(&pid),
            ProcEntry {
                pid,
                tx,
                control,
                name: None,
                trap_exit: false,
                group_leader,
                links: HashMap::new(),
                monitored_by: Vec::new(),
                monitoring: HashMap::new(),
                aliases: Vec::new(),
                abort: None,
            },
        );
    }

    pub fn sender(&self, id: ProcKey) -> Option<MailboxSender> {
        self.lock().procs.get(&id).map(|e| e.tx.clone())
    }

    pub fn sender_by_name(&self, name: &Atom) -> Option<MailboxSender> {
        let g = self.lock();
        let id = g.names.get(name)?;
        g.procs.get(id).map(|e| e.tx.clone())
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
        g.procs.get(&id).map(|e| e.tx.clone())
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
        Ok(())
    }

    pub fn unregister(&self, name: &Atom) -> bool {
        let mut g = self.lock();
        match g.names.remove(name) {
            Some(id) => {
                if let Some(e) = g.procs.get_mut(&id) {
                    e.name = None;
                }
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

    pub fn set_abort(&self, id: ProcKey, abort: tokio::task::AbortHandle) {
        if let Some(e) = self.lock().procs.get_mut(&id) {
            e.abort = Some(abort);
        }
    }

    pub fn len(&self) -> usize {
        self.lock().procs.len()
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

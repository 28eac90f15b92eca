//! The process table and the registered-name registry of one node.

use super::mailbox::MailboxSender;
use crate::term::{Atom, Pid, Reference};
use std::collections::HashMap;
use std::sync::Mutex;

/// A monitor some (usually remote) process holds on one of our processes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Monitor {
    pub reference: Reference,
    /// Who gets the `DOWN`.
    pub watcher: Pid,
    /// Set when the monitor was made by registered name: the `DOWN` then names the
    /// process as `{Name, Node}` (protocol-notes §5.1, MONITOR_P_EXIT).
    pub by_name: Option<Atom>,
}

/// One live process.
#[derive(Debug)]
pub struct ProcEntry {
    pub pid: Pid,
    pub tx: MailboxSender,
    pub name: Option<Atom>,
    pub monitored_by: Vec<Monitor>,
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

#[derive(Debug, Default)]
struct Inner {
    procs: HashMap<u32, ProcEntry>,
    names: HashMap<Atom, u32>,
}

/// Processes of one node, keyed by pid id (the node/creation check is the caller's).
#[derive(Debug, Default)]
pub struct ProcessTable {
    inner: Mutex<Inner>,
}

impl ProcessTable {
    fn lock(&self) -> std::sync::MutexGuard<'_, Inner> {
        // A panic while holding the lock cannot leave the maps half-updated in a way
        // that matters more than losing the node; keep serving.
        self.inner.lock().unwrap_or_else(|e| e.into_inner())
    }

    pub fn insert(&self, pid: Pid, tx: MailboxSender) {
        self.lock().procs.insert(
            pid.id,
            ProcEntry {
                pid,
                tx,
                name: None,
                monitored_by: Vec::new(),
            },
        );
    }

    /// Removes a process (and its name); returns its entry so the caller can fire its
    /// monitors.
    pub fn remove(&self, id: u32) -> Option<ProcEntry> {
        let mut g = self.lock();
        let e = g.procs.remove(&id)?;
        if let Some(n) = &e.name {
            g.names.remove(n);
        }
        Some(e)
    }

    pub fn sender(&self, id: u32) -> Option<MailboxSender> {
        self.lock().procs.get(&id).map(|e| e.tx.clone())
    }

    pub fn sender_by_name(&self, name: &Atom) -> Option<MailboxSender> {
        let g = self.lock();
        let id = g.names.get(name)?;
        g.procs.get(id).map(|e| e.tx.clone())
    }

    pub fn contains(&self, id: u32) -> bool {
        self.lock().procs.contains_key(&id)
    }

    pub fn register(&self, name: Atom, id: u32) -> Result<(), RegisterError> {
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

    /// Adds a monitor on the process with pid id `id`, or on the process registered
    /// as `name`. Returns the monitored pid, or `None` when there is no such process
    /// (the caller answers `noproc`).
    pub fn add_monitor(&self, target: Result<u32, &Atom>, monitor: Monitor) -> Option<Pid> {
        let mut g = self.lock();
        let id = match target {
            Ok(id) => id,
            Err(name) => *g.names.get(name)?,
        };
        let e = g.procs.get_mut(&id)?;
        e.monitored_by.push(monitor);
        Some(e.pid.clone())
    }

    /// Removes the monitor `reference` held by `watcher` on `target`.
    pub fn remove_monitor(&self, target: Result<u32, &Atom>, watcher: &Pid, reference: &Reference) {
        let mut g = self.lock();
        let id = match target {
            Ok(id) => id,
            Err(name) => match g.names.get(name) {
                Some(id) => *id,
                None => return,
            },
        };
        if let Some(e) = g.procs.get_mut(&id) {
            e.monitored_by
                .retain(|m| !(m.reference == *reference && m.watcher == *watcher));
        }
    }

    /// Drops every monitor held by processes of `node` (the connection went down).
    pub fn remove_monitors_of_node(&self, node: &Atom) {
        let mut g = self.lock();
        for e in g.procs.values_mut() {
            e.monitored_by.retain(|m| m.watcher.node != *node);
        }
    }

    pub fn len(&self) -> usize {
        self.lock().procs.len()
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

//! Allocation of this node's pids and references. Plain counters, no I/O; the random
//! word mixed into references is supplied by the caller (the node reads the OS RNG once).

use crate::term::{Atom, Pid, Reference};
use std::sync::atomic::{AtomicU32, AtomicU64, Ordering};

/// Hands out unique pids and references for one node incarnation (name + creation).
#[derive(Debug)]
pub struct IdAllocator {
    node: Atom,
    creation: u32,
    next_pid: AtomicU32,
    next_ref: AtomicU64,
    next_unlink: AtomicU64,
    ref_salt: u32,
}

impl IdAllocator {
    /// `ref_salt` makes references of different runs distinguishable beyond creation.
    pub fn new(node: Atom, creation: u32, ref_salt: u32) -> Self {
        IdAllocator {
            node,
            creation,
            // Ids 0..=99 are kept for system processes so their pids look familiar.
            next_pid: AtomicU32::new(100),
            next_ref: AtomicU64::new(1),
            next_unlink: AtomicU64::new(1),
            ref_salt,
        }
    }

    pub fn node(&self) -> &Atom {
        &self.node
    }

    pub fn creation(&self) -> u32 {
        self.creation
    }

    /// A fresh pid. With DFLAG_V4_NC (required of every peer) ids are full 32-bit
    /// values; the serial word carries the wrap count so pids stay unique.
    pub fn new_pid(&self) -> Pid {
        let n = self.next_pid.fetch_add(1, Ordering::Relaxed);
        Pid::new(self.node.clone(), n, 0, self.creation)
    }

    /// A pid with a fixed id, for system processes.
    pub fn pid_with_id(&self, id: u32) -> Pid {
        Pid::new(self.node.clone(), id, 0, self.creation)
    }

    /// A fresh three-word reference (the width OTP 25 uses for every ref, §16.1).
    pub fn new_ref(&self) -> Reference {
        let n = self.next_ref.fetch_add(1, Ordering::Relaxed);
        Reference {
            node: self.node.clone(),
            creation: self.creation,
            ids: vec![(n & 0x3_ffff) as u32, (n >> 18) as u32, self.ref_salt],
        }
    }

    /// A fresh, non-zero UNLINK_ID id (protocol-notes §5.2: id 0 is invalid).
    pub fn new_unlink_id(&self) -> u64 {
        self.next_unlink.fetch_add(1, Ordering::Relaxed).max(1)
    }

    /// True when `pid` was made by this node incarnation.
    pub fn is_local_pid(&self, pid: &Pid) -> bool {
        pid.node == self.node && pid.creation == self.creation
    }

    /// True when `r` was made by this node incarnation.
    pub fn is_local_ref(&self, r: &Reference) -> bool {
        r.node == self.node && r.creation == self.creation
    }
}

//! Allocation of this node's pids and references. Plain counters, no I/O; the random
//! word mixed into references is supplied by the caller (the node reads the OS RNG once).

use crate::term::{Atom, Pid, Reference};
use std::sync::atomic::{AtomicU64, Ordering};

/// First id handed out; 0..=99 are kept for system processes so their pids look
/// familiar.
const FIRST_ID: u64 = 100;

/// Hands out unique pids and references for one node incarnation (name + creation).
#[derive(Debug)]
pub struct IdAllocator {
    node: Atom,
    creation: u32,
    /// Pids made so far (plus the reserved range): the low word is the pid's id, the
    /// high word its serial, so a pid is never made twice in an incarnation.
    next_pid: AtomicU64,
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
            next_pid: AtomicU64::new(FIRST_ID),
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

    /// A fresh pid, never one made before by this incarnation (so never a live one).
    /// With DFLAG_V4_NC (required of every peer) id and serial are full 32-bit words
    /// on the wire (§6.1 NEW_PID_EXT); the serial counts how often the id wrapped, as
    /// BEAM's serial does, and ids below 100 stay reserved for system processes.
    pub fn new_pid(&self) -> Pid {
        loop {
            let n = self.next_pid.fetch_add(1, Ordering::Relaxed);
            let (id, serial) = (n as u32, (n >> 32) as u32);
            if id >= FIRST_ID as u32 {
                return Pid::new(self.node.clone(), id, serial, self.creation);
            }
        }
    }

    /// Starts the pid counter at `next` (id in the low word, serial in the high word):
    /// lets tests reach the 32-bit wrap without four billion spawns.
    #[doc(hidden)]
    pub fn set_next_pid(&self, next: u64) {
        self.next_pid.store(next, Ordering::Relaxed);
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

    /// A fresh, non-zero UNLINK_ID id (docs/protocol.md §5.2: id 0 is invalid).
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

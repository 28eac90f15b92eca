//! The receive-side atom cache of the normal distribution header (docs/protocol.md §4.3).
//!
//! Each connection keeps, per direction, 2048 slots (8 segments × 256). A header lists
//! the atoms its message uses: either a *new entry* (slot + atom text, which overwrites
//! the slot) or a *cached ref* (slot only). Terms in the message then refer to the i-th
//! atom of that list with `ATOM_CACHE_REF` (82, i). A cached ref to an empty slot is a
//! corrupt header; OTP kills the connection.

use super::cursor::Cursor;
use super::DistError;
use crate::term::Atom;

/// Number of slots in the per-connection cache (`8 * 256`).
pub const ATOM_CACHE_SLOTS: usize = 2048;

/// Longest atom, in characters (§6.2).
const MAX_ATOM_CHARS: usize = 255;

/// Slot → atom table for one direction of one connection.
#[derive(Debug, Clone)]
pub struct AtomCache {
    slots: Vec<Option<Atom>>,
}

impl Default for AtomCache {
    fn default() -> Self {
        Self::new()
    }
}

impl AtomCache {
    /// An empty cache. The slot table is allocated when the first entry arrives, so
    /// a connection whose peer never uses the cache (every OTP peer of ours, for
    /// messages we receive, only uses it when told to) costs nothing.
    pub fn new() -> Self {
        AtomCache { slots: Vec::new() }
    }

    /// The atom in `slot`, if any.
    pub fn get(&self, slot: usize) -> Option<&Atom> {
        self.slots.get(slot).and_then(Option::as_ref)
    }

    /// Number of occupied slots.
    pub fn len(&self) -> usize {
        self.slots.iter().filter(|s| s.is_some()).count()
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Parses the header part that starts at `NumberOfAtomCacheRefs` (after `131 68`, or
    /// after the sequence and fragment ids of a `131 69` start fragment), updating the
    /// cache with new entries. Returns the atoms this message's `ATOM_CACHE_REF`s index.
    pub(super) fn read_header(
        &mut self,
        cur: &mut Cursor<'_>,
        cache_negotiated: bool,
    ) -> Result<Vec<Atom>, DistError> {
        let n = usize::from(cur.u8("number of atom cache refs")?);
        if n == 0 {
            return Ok(Vec::new());
        }
        if !cache_negotiated {
            return Err(DistError::AtomCacheNotNegotiated);
        }
        // One nibble per ref plus one for the header flags: N/2 + 1 bytes.
        let flags = cur.take(n / 2 + 1, "atom cache flags")?;
        let nibble = |i: usize| {
            let b = flags[i / 2];
            if i % 2 == 0 {
                b & 0x0f
            } else {
                b >> 4
            }
        };
        let long_atoms = nibble(n) & 0x01 != 0;
        let mut atoms = Vec::with_capacity(n);
        for i in 0..n {
            let nib = nibble(i);
            let is_new = nib & 0x08 != 0;
            let segment = usize::from(nib & 0x07);
            let slot = segment * 256 + usize::from(cur.u8("atom cache index")?);
            if is_new {
                let len = if long_atoms {
                    usize::from(cur.u16("atom length")?)
                } else {
                    usize::from(cur.u8("atom length")?)
                };
                let text = cur.take(len, "atom text")?;
                let text = std::str::from_utf8(text).map_err(|_| DistError::BadCachedAtom)?;
                if text.chars().count() > MAX_ATOM_CHARS {
                    return Err(DistError::BadCachedAtom);
                }
                let atom = Atom::new(text);
                if self.slots.is_empty() {
                    self.slots = vec![None; ATOM_CACHE_SLOTS];
                }
                self.slots[slot] = Some(atom.clone());
                atoms.push(atom);
            } else {
                match self.get(slot) {
                    Some(a) => atoms.push(a.clone()),
                    None => return Err(DistError::EmptyCacheSlot { slot }),
                }
            }
        }
        Ok(atoms)
    }
}

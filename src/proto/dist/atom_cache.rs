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

/// Slot → atom, compactly: a 2-byte position per slot (0 for an empty one) into a
/// dense list of the atoms that are there. A full table of `Option<Atom>` would cost
/// 48 KiB per direction of every connection as soon as the peer caches one atom (its
/// slots are hashes, spread over the whole table); this costs 4 KiB plus one `Atom`
/// per slot in use, and a lookup is still two array reads.
#[derive(Debug, Clone, Default)]
struct SlotTable {
    /// Per slot: 1 + the atom's position in `atoms`, or 0. Empty until the first entry.
    index: Box<[u16]>,
    atoms: Vec<Atom>,
}

impl SlotTable {
    fn get(&self, slot: usize) -> Option<&Atom> {
        match self.index.get(slot) {
            Some(&i) if i > 0 => self.atoms.get(usize::from(i) - 1),
            _ => None,
        }
    }

    /// Puts `atom` in `slot` (< [`ATOM_CACHE_SLOTS`]), replacing what was there.
    fn set(&mut self, slot: usize, atom: Atom) {
        if self.index.is_empty() {
            self.index = vec![0; ATOM_CACHE_SLOTS].into_boxed_slice();
        }
        match self.index[slot] {
            0 => {
                self.atoms.push(atom);
                // At most ATOM_CACHE_SLOTS atoms, so the position fits.
                self.index[slot] = self.atoms.len() as u16;
            }
            i => self.atoms[usize::from(i) - 1] = atom,
        }
    }

    fn len(&self) -> usize {
        self.atoms.len()
    }
}

/// Slot → atom table for one direction of one connection.
#[derive(Debug, Clone)]
pub struct AtomCache {
    slots: SlotTable,
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
        AtomCache {
            slots: SlotTable::default(),
        }
    }

    /// The atom in `slot`, if any.
    pub fn get(&self, slot: usize) -> Option<&Atom> {
        self.slots.get(slot)
    }

    /// Number of occupied slots.
    pub fn len(&self) -> usize {
        self.slots.len()
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Parses the header part that starts at `NumberOfAtomCacheRefs` (after `131 68`, or
    /// after the sequence and fragment ids of a `131 69` start fragment), updating the
    /// cache with new entries. Leaves in `atoms` (emptied first) the atoms this
    /// message's `ATOM_CACHE_REF`s index: the caller's vector, kept from message to
    /// message, so a message costs no allocation for them.
    pub(super) fn read_header(
        &mut self,
        cur: &mut Cursor<'_>,
        cache_negotiated: bool,
        atoms: &mut Vec<Atom>,
    ) -> Result<(), DistError> {
        atoms.clear();
        let n = usize::from(cur.u8("number of atom cache refs")?);
        if n == 0 {
            return Ok(());
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
        atoms.reserve(n);
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
                self.slots.set(slot, atom.clone());
                atoms.push(atom);
            } else {
                match self.get(slot) {
                    Some(a) => atoms.push(a.clone()),
                    None => return Err(DistError::EmptyCacheSlot { slot }),
                }
            }
        }
        Ok(())
    }
}

/// The send side: what the peer's receive table holds in each slot, as far as our
/// headers have told it (docs/protocol.md §4.3). Frames reach the peer in the order we
/// encode them, over one stream, so this mirror stays exact as long as every encoded
/// frame is written; a frame that fails to encode changes nothing.
#[derive(Debug, Clone, Default)]
pub(super) struct SendCache {
    slots: SlotTable,
}

/// One atom of the message being encoded: its slot, and whether the header must carry
/// its text (a new entry) because the slot holds another atom or nothing.
#[derive(Debug, Clone)]
pub(super) struct MessageRef {
    slot: u16,
    atom: Atom,
    new: bool,
}

/// Most refs one header can carry (`ERTS_MAX_INTERNAL_ATOM_CACHE_ENTRIES`).
const MAX_REFS: usize = 255;

/// The slot an atom goes to: a hash of its text (OTP hashes its atom index; the slot
/// only has to be the same each time we send the atom).
fn slot_of(atom: &Atom) -> u16 {
    // FNV-1a.
    let mut h: u32 = 0x811c_9dc5;
    for b in atom.as_str().bytes() {
        h = (h ^ u32::from(b)).wrapping_mul(0x0100_0193);
    }
    (h % ATOM_CACHE_SLOTS as u32) as u16
}

impl SendCache {
    /// Records the new entries of a message whose frame was written.
    pub(super) fn commit(&mut self, refs: &[MessageRef]) {
        for r in refs.iter().filter(|r| r.new) {
            self.slots.set(usize::from(r.slot), r.atom.clone());
        }
    }

    fn holds(&self, slot: u16, atom: &Atom) -> bool {
        self.slots.get(usize::from(slot)) == Some(atom)
    }
}

/// Collects the refs of one message while its control tuple is written, writing
/// `ATOM_CACHE_REF` for each atom that gets a ref and the plain atom otherwise.
pub(super) struct MessageRefs<'a> {
    pub(super) cache: &'a SendCache,
    pub(super) refs: &'a mut Vec<MessageRef>,
}

impl crate::proto::control::encode::AtomSink for MessageRefs<'_> {
    fn put(&mut self, atom: &Atom, out: &mut Vec<u8>) -> Result<(), crate::etf::EncodeError> {
        use crate::etf::tag::ATOM_CACHE_REF;
        if let Some(i) = self.refs.iter().position(|r| r.atom == *atom) {
            out.extend_from_slice(&[ATOM_CACHE_REF, i as u8]);
            return Ok(());
        }
        let slot = slot_of(atom);
        // A full header, or two atoms of this message on one slot: the later one is
        // written in full (the receiver resolves refs per message, so mixing is fine).
        if self.refs.len() == MAX_REFS || self.refs.iter().any(|r| r.slot == slot) {
            return crate::etf::write_atom(atom, out);
        }
        let chars = atom.as_str().chars().count();
        if chars > MAX_ATOM_CHARS {
            return Err(crate::etf::EncodeError::AtomTooLong { chars });
        }
        let new = !self.cache.holds(slot, atom);
        out.extend_from_slice(&[ATOM_CACHE_REF, self.refs.len() as u8]);
        self.refs.push(MessageRef {
            slot,
            atom: atom.clone(),
            new,
        });
        Ok(())
    }
}

/// Writes the header part after `131 68`: the ref count, the flag nibbles and the refs
/// (the same layout [`AtomCache::read_header`] parses).
pub(super) fn write_header(refs: &[MessageRef], out: &mut Vec<u8>) {
    let n = refs.len();
    out.push(n as u8);
    if n == 0 {
        return;
    }
    let long_atoms = refs.iter().any(|r| r.new && r.atom.as_str().len() > 255);
    let flags_at = out.len();
    out.resize(flags_at + n / 2 + 1, 0);
    let mut set_nibble = |i: usize, v: u8| out[flags_at + i / 2] |= v << (4 * (i % 2));
    for (i, r) in refs.iter().enumerate() {
        set_nibble(i, (u8::from(r.new) << 3) | (r.slot >> 8) as u8);
    }
    set_nibble(n, u8::from(long_atoms));
    for r in refs {
        out.push((r.slot & 0xff) as u8);
        if r.new {
            let text = r.atom.as_str().as_bytes();
            if long_atoms {
                out.extend_from_slice(&(text.len() as u16).to_be_bytes());
            } else {
                out.push(text.len() as u8);
            }
            out.extend_from_slice(text);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn slot_table_replaces_in_place_and_holds_only_what_is_used() {
        let mut t = SlotTable::default();
        assert_eq!(t.get(5), None);
        assert_eq!(t.index.len(), 0, "nothing allocated before the first entry");
        t.set(5, Atom::new("a"));
        t.set(ATOM_CACHE_SLOTS - 1, Atom::new("b"));
        t.set(5, Atom::new("c"));
        assert_eq!(t.get(5), Some(&Atom::new("c")));
        assert_eq!(t.get(ATOM_CACHE_SLOTS - 1), Some(&Atom::new("b")));
        assert_eq!(t.get(6), None);
        assert_eq!(t.get(ATOM_CACHE_SLOTS), None);
        assert_eq!(t.len(), 2);
        for slot in 0..ATOM_CACHE_SLOTS {
            t.set(slot, Atom::new(&format!("s{slot}")));
        }
        assert_eq!(t.len(), ATOM_CACHE_SLOTS);
        assert_eq!(t.get(1234), Some(&Atom::new("s1234")));
    }
}

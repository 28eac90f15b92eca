//! Encoded bytes with large binaries shared instead of copied (docs/protocol.md §4.6).
//!
//! An encoder writes into an [`Output`]: a plain `Vec<u8>` copies every byte; a
//! [`Spliced`] (an encoded message) or a connection's transmit queue keeps each binary
//! of [`SEND_SHARE_MIN`] bytes or more as the reference-counted [`Bytes`] the term already
//! holds, so a 1 MiB binary is not copied on its way to the socket, much as BEAM writes
//! a refc binary from its own memory with `writev`.

use bytes::Bytes;

/// Binaries at least this long are shared with the output rather than copied into it:
/// below it a copy costs less than a separate piece of a vectored write.
pub const SEND_SHARE_MIN: usize = 4096;

/// Where output goes while a message is encoded: bytes copied in, and binaries that
/// may be shared. Implemented by `Vec<u8>` (copies everything), [`Spliced`] and the
/// connection's [`crate::proto::transmit::Transmit`]; sealed, since frame lengths rely
/// on `shared_since` counting exactly what `put_shared` kept out of `buf`.
pub trait Output: sealed::Sealed {
    /// The buffer copied bytes go to (its end is where the next byte goes).
    fn buf(&mut self) -> &mut Vec<u8>;
    /// Appends `bytes`, sharing it when the output can.
    fn put_shared(&mut self, bytes: &Bytes);
    /// The current end, to [`Output::rewind`] to if an encoding fails half-way.
    fn mark(&mut self) -> Mark {
        Mark::new(self.buf().len(), 0)
    }
    /// Drops everything appended since `mark`.
    fn rewind(&mut self, mark: Mark) {
        self.buf().truncate(mark.buf_len());
    }
    /// Bytes appended as shared pieces since `mark` (not in [`Output::buf`]).
    fn shared_since(&mut self, _mark: Mark) -> usize {
        0
    }
}

pub(crate) mod sealed {
    /// Only this crate's outputs (see [`super::Output`]).
    pub trait Sealed {}
    impl Sealed for Vec<u8> {}
    impl Sealed for super::Spliced {}
    impl Sealed for crate::proto::transmit::Transmit {}
}

/// An end of an [`Output`] (see [`Output::mark`]); valid until the output is written
/// from or compacted.
#[derive(Debug, Clone, Copy)]
pub struct Mark {
    len: usize,
    splices: usize,
}

impl Output for Vec<u8> {
    fn buf(&mut self) -> &mut Vec<u8> {
        self
    }
    fn put_shared(&mut self, bytes: &Bytes) {
        self.extend_from_slice(bytes);
    }
}

impl Mark {
    /// A mark at buffer length `len` with `splices` shared pieces before it.
    pub(crate) fn new(len: usize, splices: usize) -> Mark {
        Mark { len, splices }
    }
    /// The buffer length at the mark.
    pub fn buf_len(&self) -> usize {
        self.len
    }
    /// How many shared pieces came before the mark.
    pub fn splices(&self) -> usize {
        self.splices
    }
}

/// Bytes with shared binaries spliced in: an encoded term before it goes to a
/// connection (see [`crate::proto::dist::EncodedTerm`]).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Spliced {
    buf: Vec<u8>,
    /// Shared binaries in order: each comes just before `buf[at]`.
    splices: Vec<Piece>,
    spliced: usize,
}

#[derive(Debug, Clone, PartialEq, Eq)]
struct Piece {
    /// Where in `buf` it goes (before the byte there).
    at: usize,
    /// Its offset in the whole (shared binaries before it counted), so a range is
    /// found by binary search: fragments of a message with many binaries stay linear.
    pos: usize,
    bytes: Bytes,
}

impl Output for Spliced {
    fn buf(&mut self) -> &mut Vec<u8> {
        &mut self.buf
    }
    fn put_shared(&mut self, bytes: &Bytes) {
        if bytes.len() < SEND_SHARE_MIN {
            self.buf.extend_from_slice(bytes);
        } else {
            self.splices.push(Piece {
                at: self.buf.len(),
                pos: self.buf.len() + self.spliced,
                bytes: bytes.clone(),
            });
            self.spliced += bytes.len();
        }
    }
    fn mark(&mut self) -> Mark {
        Mark::new(self.buf.len(), self.splices.len())
    }
    fn shared_since(&mut self, mark: Mark) -> usize {
        self.splices[mark.splices()..]
            .iter()
            .map(|p| p.bytes.len())
            .sum()
    }
    fn rewind(&mut self, mark: Mark) {
        for p in self.splices.drain(mark.splices()..) {
            self.spliced -= p.bytes.len();
        }
        self.buf.truncate(mark.buf_len());
    }
}

impl Spliced {
    /// Length in bytes, shared binaries included.
    pub fn len(&self) -> usize {
        self.buf.len() + self.spliced
    }

    /// No bytes at all.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Bytes held in the buffer itself (the rest are shared binaries).
    pub fn copied_len(&self) -> usize {
        self.buf.len()
    }

    /// Empties it, keeping the buffer's capacity.
    pub fn clear(&mut self) {
        self.buf.clear();
        self.splices.clear();
        self.spliced = 0;
    }

    /// The memory its buffers reserve (to decide whether scratch space is worth
    /// keeping).
    pub fn capacity(&self) -> usize {
        self.buf.capacity() + self.splices.capacity() * std::mem::size_of::<Piece>()
    }

    /// The bytes in one flat vector (copies the shared binaries).
    pub fn to_vec(&self) -> Vec<u8> {
        let mut v = Vec::with_capacity(self.len());
        self.write_to(&mut v);
        v
    }

    /// Appends every byte to `out`, sharing the shared binaries where `out` can.
    pub fn write_to<O: Output + ?Sized>(&self, out: &mut O) {
        self.write_range_to(out, 0, self.len());
    }

    /// Appends bytes `from..to` to `out` (offsets counting the shared binaries).
    pub fn write_range_to<O: Output + ?Sized>(&self, out: &mut O, from: usize, to: usize) {
        if self.splices.is_empty() {
            out.buf().extend_from_slice(&self.buf[from..to]);
            return;
        }
        // Walk the pieces from the first that reaches `from`: buf up to each splice,
        // the splice, ..., the rest of buf.
        let first = self
            .splices
            .partition_point(|p| p.pos + p.bytes.len() <= from);
        let (mut at, mut pos) = match first.checked_sub(1).map(|i| &self.splices[i]) {
            Some(p) => (p.at, p.pos + p.bytes.len()),
            None => (0, 0),
        };
        for p in &self.splices[first..] {
            copy_overlap(out, &self.buf[at..p.at], pos, from, to);
            pos += p.at - at;
            at = p.at;
            let (a, b) = (from.max(pos), to.min(pos + p.bytes.len()));
            if a < b {
                out.put_shared(&p.bytes.slice(a - pos..b - pos));
            }
            pos += p.bytes.len();
            if pos >= to {
                return;
            }
        }
        copy_overlap(out, &self.buf[at..], pos, from, to);
    }
}

/// Appends the part of `piece` (starting at logical offset `pos`) inside `from..to`.
fn copy_overlap<O: Output + ?Sized>(out: &mut O, piece: &[u8], pos: usize, from: usize, to: usize) {
    let (a, b) = (from.max(pos), to.min(pos + piece.len()));
    if a < b {
        out.buf().extend_from_slice(&piece[a - pos..b - pos]);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    proptest! {
        #[test]
        fn ranges_of_a_spliced_body_are_its_bytes(
            pieces in prop::collection::vec((any::<bool>(), 0usize..3 * SEND_SHARE_MIN), 0..10),
            cuts in prop::collection::vec(0usize..40_000, 0..6),
        ) {
            let mut sp = Spliced::default();
            let mut flat = Vec::new();
            for (i, &(shared, n)) in pieces.iter().enumerate() {
                let bytes: Vec<u8> = (0..n).map(|k| (i * 7 + k) as u8).collect();
                flat.extend_from_slice(&bytes);
                if shared {
                    sp.put_shared(&Bytes::from(bytes));
                } else {
                    sp.buf().extend_from_slice(&bytes);
                }
            }
            prop_assert_eq!(sp.len(), flat.len());
            prop_assert_eq!(sp.to_vec(), flat.clone());
            // Cut into ranges (as fragments are), each written to another Spliced.
            let mut bounds: Vec<usize> = cuts.iter().map(|c| c % (flat.len() + 1)).collect();
            bounds.push(0);
            bounds.push(flat.len());
            bounds.sort_unstable();
            let mut out = Spliced::default();
            for w in bounds.windows(2) {
                sp.write_range_to(&mut out, w[0], w[1]);
            }
            prop_assert_eq!(out.len(), flat.len());
            prop_assert_eq!(out.to_vec(), flat);
        }

    }

    #[test]
    fn only_large_binaries_are_shared() {
        let mut sp = Spliced::default();
        sp.put_shared(&Bytes::from(vec![1; SEND_SHARE_MIN - 1]));
        sp.put_shared(&Bytes::from(vec![2; SEND_SHARE_MIN]));
        assert_eq!(sp.splices.len(), 1);
        assert_eq!(sp.len(), 2 * SEND_SHARE_MIN - 1);
        let mark = sp.mark();
        sp.put_shared(&Bytes::from(vec![3; SEND_SHARE_MIN]));
        sp.buf().push(4);
        sp.rewind(mark);
        assert_eq!(sp.len(), 2 * SEND_SHARE_MIN - 1);
        assert_eq!(sp.splices.len(), 1);
    }
}

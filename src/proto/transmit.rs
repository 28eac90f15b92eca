//! Bytes due to a peer, with large binaries shared instead of copied (docs/protocol.md
//! §4.6).
//!
//! A connection's output is its frames one after another. Most of it is small and is
//! written into one growing buffer; a binary of [`SEND_SHARE_MIN`] bytes or more inside a
//! message is kept as the reference-counted [`Bytes`] the term already holds and
//! written from there, as BEAM writes a refc binary from its own memory with `writev`.
//! The sender then copies a 1 MiB binary no time in user space instead of twice (into
//! its encoded message, then into the connection's buffer).
//!
//! Sans-IO: the driver asks for [`Transmit::chunk`] (one contiguous piece) or
//! [`Transmit::chunks_vectored`] (several, for a vectored write) and reports with
//! [`Transmit::advance`] how many bytes the socket took.

use crate::etf::{Mark, Output, SEND_SHARE_MIN};
use bytes::Bytes;
use std::collections::VecDeque;
use std::io::IoSlice;

/// A queue of bytes to write: `buf` with shared binaries spliced in at given offsets.
#[derive(Debug, Default)]
pub struct Transmit {
    buf: Vec<u8>,
    /// `buf[sent..]` is still due (after the splices at or before `sent`).
    sent: usize,
    /// Shared binaries, each written just before `buf[at]`, in order of `at`.
    splices: VecDeque<Splice>,
    /// Bytes already written of the first splice (when it is current).
    splice_sent: usize,
    /// Total length of the splices still queued (whole, `splice_sent` not deducted).
    spliced: usize,
}

#[derive(Debug)]
struct Splice {
    at: usize,
    bytes: Bytes,
}

impl Output for Transmit {
    fn buf(&mut self) -> &mut Vec<u8> {
        &mut self.buf
    }
    fn put_shared(&mut self, bytes: &Bytes) {
        if bytes.len() < SEND_SHARE_MIN {
            self.buf.extend_from_slice(bytes);
            return;
        }
        self.spliced += bytes.len();
        self.splices.push_back(Splice {
            at: self.buf.len(),
            bytes: bytes.clone(),
        });
    }
    fn mark(&mut self) -> Mark {
        Mark::new(self.buf.len(), self.splices.len())
    }
    fn shared_since(&mut self, mark: Mark) -> usize {
        self.splices
            .range(mark.splices()..)
            .map(|s| s.bytes.len())
            .sum()
    }
    fn rewind(&mut self, mark: Mark) {
        while self.splices.len() > mark.splices() {
            if let Some(s) = self.splices.pop_back() {
                self.spliced -= s.bytes.len();
            }
        }
        self.buf.truncate(mark.buf_len());
    }
}

impl Transmit {
    /// Bytes still due.
    pub fn len(&self) -> usize {
        self.buf.len() - self.sent + self.spliced - self.splice_sent
    }

    /// Nothing is due.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// The next contiguous bytes due (empty when none are).
    pub fn chunk(&self) -> &[u8] {
        match self.splices.front() {
            Some(s) if s.at == self.sent => &s.bytes[self.splice_sent..],
            Some(s) => &self.buf[self.sent..s.at],
            None => &self.buf[self.sent..],
        }
    }

    /// Fills `dst` with the next pieces due, in order; returns how many it filled.
    pub fn chunks_vectored<'a>(&'a self, dst: &mut [IoSlice<'a>]) -> usize {
        let mut n = 0;
        let mut at = self.sent;
        let mut first = true;
        for s in &self.splices {
            if n == dst.len() {
                return n;
            }
            if at < s.at {
                dst[n] = IoSlice::new(&self.buf[at..s.at]);
                n += 1;
                at = s.at;
                if n == dst.len() {
                    return n;
                }
            }
            let from = if first { self.splice_sent } else { 0 };
            first = false;
            dst[n] = IoSlice::new(&s.bytes[from..]);
            n += 1;
        }
        if n < dst.len() && at < self.buf.len() {
            dst[n] = IoSlice::new(&self.buf[at..]);
            n += 1;
        }
        n
    }

    /// The first `n` bytes due were written.
    pub fn advance(&mut self, mut n: usize) {
        while n > 0 {
            match self.splices.front() {
                Some(s) if s.at == self.sent => {
                    let left = s.bytes.len() - self.splice_sent;
                    if n < left {
                        self.splice_sent += n;
                        return;
                    }
                    n -= left;
                    self.spliced -= s.bytes.len();
                    self.splice_sent = 0;
                    self.splices.pop_front();
                }
                next => {
                    let end = next.map_or(self.buf.len(), |s| s.at);
                    let step = n.min(end - self.sent);
                    if step == 0 {
                        // More reported than was due: nothing left to consume.
                        break;
                    }
                    self.sent += step;
                    n -= step;
                }
            }
        }
        if self.is_empty() {
            self.buf.clear();
            self.sent = 0;
            self.splices.clear();
            // A burst of large messages should not pin its buffer for the connection's
            // lifetime.
            if self.buf.capacity() > 4 * 1024 * 1024 {
                self.buf = Vec::new();
            }
            if self.splices.capacity() > 1024 {
                self.splices = VecDeque::new();
            }
        }
    }

    /// Drops the written front of the buffer when it is at least half of it, so the
    /// buffer does not grow while a peer keeps reading. Call before appending.
    pub fn compact(&mut self) {
        if self.sent > 0 && self.sent * 2 >= self.buf.len() {
            self.buf.drain(..self.sent);
            for s in &mut self.splices {
                s.at -= self.sent;
            }
            self.sent = 0;
        }
    }

    /// Appends bytes (copied).
    pub fn extend_from_slice(&mut self, bytes: &[u8]) {
        self.buf.extend_from_slice(bytes);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn drain_chunks(t: &mut Transmit, step: usize) -> Vec<u8> {
        let mut out = Vec::new();
        while !t.is_empty() {
            let c = t.chunk();
            assert!(
                !c.is_empty(),
                "a non-empty transmit gives a non-empty chunk"
            );
            let n = c.len().min(step);
            out.extend_from_slice(&c[..n]);
            t.advance(n);
        }
        out
    }

    fn drain_vectored(t: &mut Transmit, slots: usize, step: usize) -> Vec<u8> {
        let mut out = Vec::new();
        while !t.is_empty() {
            let mut dst = vec![IoSlice::new(&[]); slots];
            let n = t.chunks_vectored(&mut dst);
            assert!(n > 0);
            let mut take = step;
            let mut wrote = 0;
            for s in &dst[..n] {
                let k = s.len().min(take);
                out.extend_from_slice(&s[..k]);
                take -= k;
                wrote += k;
                if take == 0 {
                    break;
                }
            }
            t.advance(wrote);
        }
        out
    }

    /// Pieces: (true, n) a shared binary of n bytes, (false, n) n copied bytes.
    fn build(pieces: &[(bool, usize)]) -> (Transmit, Vec<u8>) {
        let mut t = Transmit::default();
        let mut flat = Vec::new();
        for (i, &(shared, n)) in pieces.iter().enumerate() {
            let bytes: Vec<u8> = (0..n).map(|k| (i * 31 + k) as u8).collect();
            flat.extend_from_slice(&bytes);
            if shared {
                t.put_shared(&Bytes::from(bytes));
            } else {
                t.extend_from_slice(&bytes);
            }
        }
        (t, flat)
    }

    #[test]
    fn small_binaries_are_copied_and_large_ones_shared() {
        let (t, flat) = build(&[(false, 3), (true, 10), (true, SEND_SHARE_MIN), (false, 2)]);
        assert_eq!(t.len(), flat.len());
        assert_eq!(t.splices.len(), 1);
        assert_eq!(t.chunk(), &flat[..13]);
    }

    #[test]
    fn rewind_undoes_what_came_after() {
        let (mut t, flat) = build(&[(false, 5), (true, SEND_SHARE_MIN)]);
        let mark = t.mark();
        t.put_shared(&Bytes::from(vec![1; SEND_SHARE_MIN]));
        t.extend_from_slice(&[9; 7]);
        t.rewind(mark);
        assert_eq!(t.len(), flat.len());
        assert_eq!(drain_chunks(&mut t, usize::MAX), flat);
    }

    proptest! {
        #[test]
        fn writes_in_any_steps_give_the_bytes_in_order(
            pieces in prop::collection::vec((any::<bool>(), 0usize..3 * SEND_SHARE_MIN), 0..12),
            step in 1usize..20_000,
            slots in 1usize..6,
            vectored in any::<bool>(),
            compact_after in 0usize..4,
        ) {
            let (mut t, mut flat) = build(&pieces);
            prop_assert_eq!(t.len(), flat.len());
            let got = if vectored {
                drain_vectored(&mut t, slots, step)
            } else {
                // Part written, compacted, more appended (and an append undone):
                // the order holds.
                let mut got = Vec::new();
                for round in 0..compact_after {
                    if t.is_empty() { break; }
                    let n = t.chunk().len().min(step);
                    got.extend_from_slice(&t.chunk()[..n]);
                    t.advance(n);
                    t.compact();
                    let mark = t.mark();
                    t.put_shared(&Bytes::from(vec![0xEE; SEND_SHARE_MIN + 1]));
                    t.extend_from_slice(&[0xDD; 3]);
                    t.rewind(mark);
                    let more: Vec<u8> = (0..SEND_SHARE_MIN + round).map(|k| k as u8).collect();
                    t.put_shared(&Bytes::from(more.clone()));
                    t.extend_from_slice(&[round as u8; 5]);
                    flat.extend_from_slice(&more);
                    flat.extend_from_slice(&[round as u8; 5]);
                }
                got.extend(drain_chunks(&mut t, step));
                got
            };
            prop_assert_eq!(got, flat);
            prop_assert!(t.is_empty());
            prop_assert_eq!(t.buf.len(), 0);
        }
    }
}

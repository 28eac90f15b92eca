//! Reassembly of fragmented messages (docs/protocol.md §4.4).
//!
//! A start fragment (`131 69`) carries the sequence id, the total fragment count F, the
//! header and the whole control term; continuations (`131 70`) carry F−1 … 1 and more
//! message bytes. Sequences from different senders may interleave. Because a hostile
//! peer could open sequences forever, the number of open sequences and the total
//! buffered bytes are bounded ([`FragmentLimits`]).
//!
//! A message's buffer is sized ahead for the fragments still to come (their count
//! times the size of the fragment at hand), so assembling a message of up to 8 times
//! what has arrived costs one copy of each byte: growing by doubling had copied a
//! 1 MiB message's bytes about twice more. Sizing ahead is bounded three ways: by
//! [`LOOKAHEAD`] times the bytes received (a peer that announces 2^40 fragments and
//! sends one byte gets a few bytes of room, not the limit), by the room the limit has
//! left (which counts capacity held, not bytes received), and by what the allocator
//! grants (a refusal is [`DistError::FragmentBufferFull`], not an abort). A finished
//! message whose buffer is mostly empty room is shrunk before it is decoded.

use super::{ControlMessage, DistError};
use crate::term::Atom;
use std::collections::HashMap;

/// Bounds on what a peer can make us buffer for incomplete fragmented messages.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct FragmentLimits {
    /// Open (incomplete) sequences at once. OTP allows one per sending process; 1024
    /// covers busy nodes while keeping bookkeeping small.
    pub max_open_sequences: usize,
    /// Memory held for message bytes over all open sequences (the buffers' capacity).
    /// Default 1 GiB, the same as the default frame limit
    /// ([`crate::proto::framing::DEFAULT_MAX_FRAME_LEN`]).
    pub max_buffered_bytes: usize,
}

impl Default for FragmentLimits {
    fn default() -> Self {
        FragmentLimits {
            max_open_sequences: 1024,
            max_buffered_bytes: crate::proto::framing::DEFAULT_MAX_FRAME_LEN,
        }
    }
}

/// An incomplete message: its already-validated control message, the atoms of its
/// header and the message bytes received so far.
#[derive(Debug)]
pub(super) struct Partial {
    pub(super) control: ControlMessage,
    pub(super) atoms: Vec<Atom>,
    pub(super) bytes: Vec<u8>,
    /// The fragment id the next continuation must carry.
    next_id: u64,
}

#[derive(Debug, Default)]
pub(super) struct Assembler {
    open: HashMap<u64, Partial>,
    buffered: usize,
    limits: FragmentLimits,
}

impl Assembler {
    pub(super) fn new(limits: FragmentLimits) -> Self {
        Assembler {
            open: HashMap::new(),
            buffered: 0,
            limits,
        }
    }

    pub(super) fn open_sequences(&self) -> usize {
        self.open.len()
    }

    pub(super) fn buffered_bytes(&self) -> usize {
        self.buffered
    }

    /// Checks the ids of a start fragment (before its header is applied).
    pub(super) fn check_start(&self, seq: u64, fragment_id: u64) -> Result<(), DistError> {
        if seq == 0 {
            return Err(DistError::ZeroSequenceId);
        }
        if fragment_id == 0 {
            return Err(DistError::ZeroFragmentId);
        }
        if self.open.contains_key(&seq) {
            return Err(DistError::SequenceAlreadyOpen { seq });
        }
        Ok(())
    }

    /// Opens a sequence whose start fragment had id `fragment_id` > 1.
    pub(super) fn start(
        &mut self,
        seq: u64,
        fragment_id: u64,
        control: ControlMessage,
        atoms: Vec<Atom>,
        bytes: &[u8],
    ) -> Result<(), DistError> {
        if self.open.len() >= self.limits.max_open_sequences {
            return Err(DistError::TooManyOpenSequences {
                max: self.limits.max_open_sequences,
            });
        }
        let mut buf = Vec::new();
        grow(
            &mut self.buffered,
            &self.limits,
            &mut buf,
            bytes.len(),
            bytes.len(),
        )?;
        buf.extend_from_slice(bytes);
        self.open.insert(
            seq,
            Partial {
                control,
                atoms,
                bytes: buf,
                next_id: fragment_id - 1,
            },
        );
        Ok(())
    }

    /// Adds a continuation; returns the whole message once its last fragment (id 1)
    /// arrived.
    pub(super) fn continuation(
        &mut self,
        seq: u64,
        fragment_id: u64,
        bytes: &[u8],
    ) -> Result<Option<Partial>, DistError> {
        if seq == 0 {
            return Err(DistError::ZeroSequenceId);
        }
        let Some(p) = self.open.get_mut(&seq) else {
            return Err(DistError::UnknownSequence { seq });
        };
        let expected = p.next_id;
        if fragment_id != expected {
            return Err(DistError::FragmentOutOfOrder {
                seq,
                expected,
                got: fragment_id,
            });
        }
        // This fragment and the `expected - 1` after it, none larger than this one
        // but the last, which may be smaller.
        let ahead = bytes
            .len()
            .saturating_mul(usize::try_from(expected).unwrap_or(usize::MAX))
            .min((p.bytes.len() + bytes.len()).saturating_mul(LOOKAHEAD));
        grow(
            &mut self.buffered,
            &self.limits,
            &mut p.bytes,
            bytes.len(),
            ahead,
        )?;
        p.bytes.extend_from_slice(bytes);
        p.next_id -= 1;
        if p.next_id > 0 {
            return Ok(None);
        }
        let Some(mut done) = self.open.remove(&seq) else {
            return Err(DistError::UnknownSequence { seq });
        };
        self.buffered -= done.bytes.capacity();
        // Room left over (fragments smaller than announced) would stay pinned by any
        // binary of the message held as a slice of it.
        let slack = done.bytes.capacity() - done.bytes.len();
        if slack > SLACK_KEPT && slack > done.bytes.len() / 4 {
            done.bytes.shrink_to_fit();
        }
        Ok(Some(done))
    }
}

/// A message's buffer is sized ahead for at most this many times the bytes it holds.
const LOOKAHEAD: usize = 8;

/// Room left in a finished message's buffer that is not worth a copy to give back
/// (one OTP fragment).
const SLACK_KEPT: usize = 64 * 1024;

/// Makes room in `buf` for `need` more bytes, sized for `want` more when the limit
/// leaves room for it, and adds the capacity it took to `buffered`.
fn grow(
    buffered: &mut usize,
    limits: &FragmentLimits,
    buf: &mut Vec<u8>,
    need: usize,
    want: usize,
) -> Result<(), DistError> {
    let free = buf.capacity() - buf.len();
    if free >= need {
        return Ok(());
    }
    let room = limits.max_buffered_bytes.saturating_sub(*buffered);
    if need - free > room {
        return Err(DistError::FragmentBufferFull {
            max: limits.max_buffered_bytes,
        });
    }
    let add = (want.max(need) - free).min(room);
    let before = buf.capacity();
    let full = || DistError::FragmentBufferFull {
        max: limits.max_buffered_bytes,
    };
    if buf.try_reserve_exact(free + add).is_err() {
        // What the allocator refused sized ahead may still be granted exactly.
        buf.try_reserve_exact(need).map_err(|_| full())?;
    }
    *buffered += buf.capacity() - before;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::term::Pid;

    fn control() -> ControlMessage {
        let pid = Pid::new(Atom::new("a@h"), 1, 0, 1);
        ControlMessage::Link {
            from: pid.clone(),
            to: pid,
        }
    }

    /// A message that ends with fewer bytes than announced is given back its unused
    /// room before it is decoded; one that fills its buffer keeps it as it is.
    #[test]
    fn finished_buffers_keep_no_large_slack() {
        let mut a = Assembler::new(FragmentLimits::default());
        a.start(1, 3, control(), Vec::new(), &[1; 1000]).unwrap();
        assert!(a.continuation(1, 2, &[2; 100_000]).unwrap().is_none());
        // Sized ahead for one more fragment of 100,000 bytes.
        assert_eq!(a.buffered_bytes(), 201_000);
        let done = a.continuation(1, 1, &[]).unwrap().unwrap();
        assert_eq!(done.bytes.len(), 101_000);
        assert!(done.bytes.capacity() < 101_000 + SLACK_KEPT);
        assert_eq!(a.buffered_bytes(), 0);

        a.start(2, 3, control(), Vec::new(), &[1; 1000]).unwrap();
        a.continuation(2, 2, &[2; 100_000]).unwrap();
        let done = a.continuation(2, 1, &[3; 100_000]).unwrap().unwrap();
        assert_eq!(
            (done.bytes.len(), done.bytes.capacity()),
            (201_000, 201_000)
        );
    }
}

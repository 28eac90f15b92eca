//! Reassembly of fragmented messages (docs/protocol.md §4.4).
//!
//! A start fragment (`131 69`) carries the sequence id, the total fragment count F, the
//! header and the whole control term; continuations (`131 70`) carry F−1 … 1 and more
//! message bytes. Sequences from different senders may interleave. Because a hostile
//! peer could open sequences forever, the number of open sequences and the total
//! buffered bytes are bounded ([`FragmentLimits`]).

use super::{ControlMessage, DistError};
use crate::term::Atom;
use std::collections::HashMap;

/// Bounds on what a peer can make us buffer for incomplete fragmented messages.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct FragmentLimits {
    /// Open (incomplete) sequences at once. OTP allows one per sending process; 1024
    /// covers busy nodes while keeping bookkeeping small.
    pub max_open_sequences: usize,
    /// Message bytes buffered over all open sequences. Default 128 MiB, the same as the
    /// default frame limit ([`crate::proto::framing::DEFAULT_MAX_FRAME_LEN`]).
    pub max_buffered_bytes: usize,
}

impl Default for FragmentLimits {
    fn default() -> Self {
        FragmentLimits {
            max_open_sequences: 1024,
            max_buffered_bytes: 128 * 1024 * 1024,
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
        self.reserve(bytes.len())?;
        self.open.insert(
            seq,
            Partial {
                control,
                atoms,
                bytes: bytes.to_vec(),
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
        let expected = match self.open.get(&seq) {
            Some(p) => p.next_id,
            None => return Err(DistError::UnknownSequence { seq }),
        };
        if fragment_id != expected {
            return Err(DistError::FragmentOutOfOrder {
                seq,
                expected,
                got: fragment_id,
            });
        }
        self.reserve(bytes.len())?;
        let Some(p) = self.open.get_mut(&seq) else {
            return Err(DistError::UnknownSequence { seq });
        };
        p.bytes.extend_from_slice(bytes);
        p.next_id -= 1;
        if p.next_id > 0 {
            return Ok(None);
        }
        let done = self.open.remove(&seq);
        if let Some(p) = &done {
            self.buffered -= p.bytes.len();
        }
        Ok(done)
    }

    fn reserve(&mut self, n: usize) -> Result<(), DistError> {
        match self.buffered.checked_add(n) {
            Some(total) if total <= self.limits.max_buffered_bytes => {
                self.buffered = total;
                Ok(())
            }
            _ => Err(DistError::FragmentBufferFull {
                max: self.limits.max_buffered_bytes,
            }),
        }
    }
}

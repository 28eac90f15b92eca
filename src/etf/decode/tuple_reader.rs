//! Reading a tuple element by element (the distribution layer's control messages,
//! §4.3): the decoder's own leaf and container code, without building the tuple.

use super::{tag, Decoder, Result};
use crate::etf::{DecodeError, DecodeOptions};
use crate::term::Term;

/// Reads the elements of a tuple one at a time without building the tuple: how the
/// distribution layer reads a control message (§4.3), whose elements it takes apart
/// at once. Each element is decoded exactly as inside the whole tuple (same atom
/// cache, same checks; the depth limit counts the tuple), so a control message read
/// this way equals the one [`decode_body`] and `ControlMessage::from_term` give.
pub(crate) struct TupleReader<'a> {
    d: Decoder<'a>,
    arity: usize,
}

impl<'a> TupleReader<'a> {
    /// Reads the tuple's header at the start of `bytes` (no version byte). Anything but
    /// a tuple is an error; so is a depth limit of 0.
    pub(crate) fn open(bytes: &'a [u8], opts: &DecodeOptions<'a>) -> Result<TupleReader<'a>> {
        let mut d = Decoder {
            buf: bytes,
            shared: None,
            records: false,
            long_atom: None,
            pos: 0,
            cache: opts.atom_cache,
            max_depth: opts.max_depth.saturating_sub(1),
        };
        let arity = match d.u8()? {
            tag::SMALL_TUPLE_EXT => d.u8()? as usize,
            tag::LARGE_TUPLE_EXT => d.u32()? as usize,
            _ => return Err(d.invalid(0, "expected a tuple")),
        };
        if opts.max_depth == 0 {
            return Err(DecodeError::TooDeep {
                offset: 0,
                limit: 0,
            });
        }
        Ok(TupleReader { d, arity })
    }

    /// The number of elements.
    pub(crate) fn arity(&self) -> usize {
        self.arity
    }

    /// Decodes the next element. The caller reads at most [`TupleReader::arity`].
    pub(crate) fn element(&mut self) -> Result<Term> {
        self.d.term()
    }

    /// Bytes read so far, and whether a native record was among them.
    pub(crate) fn finish(&self) -> (usize, bool) {
        (self.d.pos, self.d.records)
    }
}

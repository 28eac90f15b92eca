//! Typed access to the elements of a received control tuple, producing the
//! [`ControlError`] OTP's checks would (§4.5).

use super::{op, ControlError, ProcRef};
use crate::etf::TupleReader;
use crate::term::{Atom, Pid, Reference, Term};
use num_traits::ToPrimitive;

/// The elements after the op code, consumed left to right.
pub(super) struct Fields<'a> {
    pub(super) op: u8,
    /// Tuple arity, op code included.
    pub(super) arity: usize,
    items: Source<'a>,
    /// 1-based tuple position of the next element.
    pos: usize,
}

/// Where the elements come from: a decoded tuple, or the encoded one, each element
/// decoded when it is asked for ([`ControlMessage::decode_direct`](super::ControlMessage)).
enum Source<'a> {
    Terms(std::vec::IntoIter<Term>),
    /// A malformed element is reported as missing: this source's errors are never
    /// shown, the caller decodes the whole term again to name the fault.
    Bytes(TupleReader<'a>),
}

impl<'a> Fields<'a> {
    pub(super) fn new(op: u8, arity: usize, items: std::vec::IntoIter<Term>) -> Self {
        Fields {
            op,
            arity,
            items: Source::Terms(items),
            pos: 2,
        }
    }

    pub(super) fn from_reader(op: u8, reader: TupleReader<'a>) -> Self {
        Fields {
            op,
            arity: reader.arity(),
            items: Source::Bytes(reader),
            pos: 2,
        }
    }

    /// The reader of a [`Fields::from_reader`].
    pub(super) fn reader(&mut self) -> Option<&mut TupleReader<'a>> {
        match &mut self.items {
            Source::Bytes(reader) => Some(reader),
            Source::Terms(_) => None,
        }
    }

    /// How many elements after the op code have not been read.
    pub(super) fn unread(&self) -> usize {
        (self.arity + 1).saturating_sub(self.pos)
    }

    fn name(&self) -> &'static str {
        op::name(i64::from(self.op))
    }

    /// Fails unless the tuple has exactly `expected` elements (op code included).
    pub(super) fn arity(&self, expected: usize) -> Result<(), ControlError> {
        if self.arity == expected {
            Ok(())
        } else {
            Err(ControlError::BadArity {
                op: self.op,
                name: self.name(),
                arity: self.arity,
                expected,
            })
        }
    }

    pub(super) fn bad(&self, index: usize, expected: &'static str) -> ControlError {
        ControlError::BadElement {
            op: self.op,
            name: self.name(),
            index,
            expected,
        }
    }

    /// The next element, whatever it is.
    pub(super) fn any(&mut self) -> Result<Term, ControlError> {
        let pos = self.pos;
        self.pos += 1;
        // Arity is checked first, so from a decoded tuple this only fails on a decoder
        // bug (still no panic); from bytes, also on a malformed element.
        let next = match &mut self.items {
            Source::Terms(items) => items.next(),
            Source::Bytes(reader) if pos <= self.arity => reader.element().ok(),
            Source::Bytes(_) => None,
        };
        next.ok_or_else(|| self.bad(pos, "present"))
    }

    pub(super) fn pid(&mut self) -> Result<Pid, ControlError> {
        let pos = self.pos;
        match self.any()? {
            Term::Pid(p) => Ok(p),
            _ => Err(self.bad(pos, "a pid")),
        }
    }

    pub(super) fn atom(&mut self) -> Result<Atom, ControlError> {
        let pos = self.pos;
        match self.any()? {
            Term::Atom(a) => Ok(a),
            _ => Err(self.bad(pos, "an atom")),
        }
    }

    pub(super) fn reference(&mut self) -> Result<Reference, ControlError> {
        let pos = self.pos;
        match self.any()? {
            Term::Ref(r) => Ok(r),
            _ => Err(self.bad(pos, "a reference")),
        }
    }

    pub(super) fn proc_ref(&mut self) -> Result<ProcRef, ControlError> {
        let pos = self.pos;
        match self.any()? {
            Term::Pid(p) => Ok(ProcRef::Pid(p)),
            Term::Atom(a) => Ok(ProcRef::Name(a)),
            _ => Err(self.bad(pos, "a pid or an atom")),
        }
    }

    /// A non-negative integer that fits in 64 bits (small or bignum).
    pub(super) fn u64(&mut self) -> Result<u64, ControlError> {
        let pos = self.pos;
        match self.any()? {
            Term::Int(i) => u64::try_from(i).map_err(|_| self.bad(pos, "a non-negative integer")),
            Term::BigInt(b) => b
                .to_u64()
                .ok_or_else(|| self.bad(pos, "an integer in 0..2^64")),
            _ => Err(self.bad(pos, "an integer")),
        }
    }

    /// A non-negative small integer below `limit`.
    pub(super) fn small_below(&mut self, limit: i64) -> Result<i64, ControlError> {
        let pos = self.pos;
        match self.any()? {
            Term::Int(i) if (0..limit).contains(&i) => Ok(i),
            _ => Err(self.bad(pos, "a small non-negative integer in range")),
        }
    }

    /// A proper list (`[]` or a proper list), returned as a term.
    pub(super) fn proper_list(&mut self) -> Result<Term, ControlError> {
        let pos = self.pos;
        match self.any()? {
            t @ (Term::Nil | Term::List(_)) => Ok(t),
            _ => Err(self.bad(pos, "a proper list")),
        }
    }

    /// The trailing token when `traced`, else `None`.
    pub(super) fn token_if(&mut self, traced: bool) -> Result<Option<Term>, ControlError> {
        if traced {
            Ok(Some(self.any()?))
        } else {
            Ok(None)
        }
    }
}

//! The decoder's readers of leaf terms that are more than a few bytes: big
//! integers, pids (and the creation and fun fields they share with ports and
//! funs), and atoms in all their encodings (§6.2). The container loop and the term
//! heads are in the parent module.

use super::{Decoder, Result};
use crate::etf::{tag, DecodeError};
use crate::term::{Atom, Pid, Term};
use num_bigint::{BigInt, Sign};

impl<'a> Decoder<'a> {
    /// SMALL_BIG/LARGE_BIG digits (little-endian), normalised to `Term::Int` when the
    /// value fits an i64. OTP treats any non-zero sign byte as negative.
    pub(super) fn big(&mut self, n: usize) -> Result<Term> {
        let sign = self.u8()?;
        let digits = self.take(n)?;
        let significant = digits.iter().rposition(|&b| b != 0).map_or(0, |i| i + 1);
        if significant <= 8 {
            let mut a = [0u8; 8];
            a[..significant].copy_from_slice(&digits[..significant]);
            let mag = u64::from_le_bytes(a);
            if sign == 0 {
                if let Ok(i) = i64::try_from(mag) {
                    return Ok(Term::Int(i));
                }
            } else if mag <= i64::MAX as u64 + 1 {
                return Ok(Term::Int((mag as i128).wrapping_neg() as i64));
            }
        }
        let s = if sign == 0 { Sign::Plus } else { Sign::Minus };
        Ok(Term::from_bigint(BigInt::from_bytes_le(
            s,
            &digits[..significant],
        )))
    }

    /// The 1-byte creation of the old PID/PORT/REFERENCE forms: only 2 bits (§6.2).
    pub(super) fn old_creation(&mut self, at: usize) -> Result<u32> {
        let c = self.u8()?;
        if c > 3 {
            return Err(self.invalid(at, "old-style creation must be 0..=3"));
        }
        Ok(c as u32)
    }

    /// OldIndex / OldUniq of NEW_FUN_EXT: SMALL_INTEGER_EXT or INTEGER_EXT (and, for
    /// robustness, a small non-negative bignum that fits 32 bits).
    pub(super) fn fun_int(&mut self) -> Result<u32> {
        let at = self.pos;
        match self.u8()? {
            tag::SMALL_INTEGER_EXT => Ok(self.u8()? as u32),
            tag::INTEGER_EXT => Ok(self.u32()?),
            tag::SMALL_BIG_EXT => {
                let n = self.u8()? as usize;
                match self.big(n)? {
                    Term::Int(i) if (0..=u32::MAX as i64).contains(&i) => Ok(i as u32),
                    _ => Err(self.invalid(at, "NEW_FUN_EXT integer out of range")),
                }
            }
            _ => Err(self.invalid(at, "NEW_FUN_EXT expects an integer")),
        }
    }

    pub(super) fn pid_body(&mut self, t: u8, at: usize) -> Result<Pid> {
        if t != tag::NEW_PID_EXT && t != tag::PID_EXT {
            return Err(self.invalid(at, "expected a pid"));
        }
        let node = self.atom()?;
        let id = self.u32()?;
        let serial = self.u32()?;
        let creation = if t == tag::NEW_PID_EXT {
            self.u32()?
        } else {
            self.old_creation(at)?
        };
        Ok(Pid {
            node,
            id,
            serial,
            creation,
        })
    }

    /// An atom in a position where only an atom is allowed (node names, modules…).
    pub(super) fn atom(&mut self) -> Result<Atom> {
        let at = self.pos;
        let t = self.u8()?;
        self.atom_body(t, at)
    }

    /// An atom where only an atom is allowed; any other tag is
    /// [`DecodeError::Invalid`] with `reason` at the offending tag (truncation stays
    /// `Truncated`, a malformed atom stays `BadAtom`).
    pub(super) fn atom_in(&mut self, reason: &'static str) -> Result<Atom> {
        let at = self.pos;
        match self.atom() {
            Err(DecodeError::BadAtom {
                reason: "expected an atom",
                ..
            }) => Err(self.invalid(at, reason)),
            other => other,
        }
    }

    /// Inlined into the decoder's loop: atoms are its most frequent leaves, and two
    /// calls per atom (this and [`Decoder::new_atom`], the atom handed back through
    /// memory) cost 6-10 % of decoding the structured corpus (BENCHMARKS.md, 2026-12-07
    /// 22:14 section).
    #[inline(always)]
    pub(super) fn atom_body(&mut self, t: u8, at: usize) -> Result<Atom> {
        let bad = |reason| DecodeError::BadAtom { offset: at, reason };
        match t {
            tag::ATOM_CACHE_REF => {
                let index = self.u8()?;
                self.cache
                    .and_then(|c| c.get(index as usize))
                    .cloned()
                    .ok_or(DecodeError::AtomCacheRef { index, offset: at })
            }
            tag::ATOM_EXT | tag::SMALL_ATOM_EXT => {
                let n = if t == tag::ATOM_EXT {
                    self.u16()? as usize
                } else {
                    self.u8()? as usize
                };
                if n > 255 {
                    return Err(bad("Latin-1 atom longer than 255 characters"));
                }
                let bytes = self.take(n)?;
                Ok(match std::str::from_utf8(bytes) {
                    Ok(s) if s.is_ascii() => self.new_atom(s),
                    _ => Atom::from(bytes.iter().map(|&b| b as char).collect::<String>()),
                })
            }
            tag::ATOM_UTF8_EXT | tag::SMALL_ATOM_UTF8_EXT => {
                let n = if t == tag::ATOM_UTF8_EXT {
                    self.u16()? as usize
                } else {
                    self.u8()? as usize
                };
                let bytes = self.take(n)?;
                let s = std::str::from_utf8(bytes).map_err(|_| bad("atom is not valid UTF-8"))?;
                if n > 255 && s.chars().count() > 255 {
                    return Err(bad("atom longer than 255 characters"));
                }
                Ok(self.new_atom(s))
            }
            _ => Err(bad("expected an atom")),
        }
    }

    /// An atom of text `s`: one too long to be stored inline that equals the last such
    /// atom is a clone of it (no allocation).
    #[inline(always)]
    fn new_atom(&mut self, s: &str) -> Atom {
        if s.len() <= Atom::INLINE_LEN {
            return Atom::new(s);
        }
        match &self.long_atom {
            Some(a) if a.as_str() == s => a.clone(),
            _ => {
                let a = Atom::new(s);
                self.long_atom = Some(a.clone());
                a
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use crate::etf::{decode, encode};
    use crate::term::{Atom, Pid, Term};

    /// The address of a pid's node name text (shared atoms have one).
    fn node_ptr(t: &Term) -> *const u8 {
        match t {
            Term::Pid(p) => p.node.as_str().as_ptr(),
            other => panic!("{other:?}"),
        }
    }

    /// Long atoms (node names) that repeat are clones of one another; any atom
    /// between them, long or short, comes back as its own text, including one of the
    /// same length that differs in its last byte.
    #[test]
    fn repeated_long_atoms_are_shared_and_others_kept() {
        let a = "node_with_a_long_name@example.org";
        let a2 = "node_with_a_long_name@example.orh";
        let b = "another_node_with_a_long_name@example.org";
        let pid = |n: &str, id| Term::Pid(Pid::new(Atom::new(n), id, 0, 1));
        let t = Term::list(vec![
            pid(a, 1),
            pid(a, 2),
            pid(a2, 3),
            pid(b, 4),
            Term::atom("short"),
            pid(a, 5),
            Term::atom("ä_a_long_utf8_atom_text_here"),
            pid(a, 6),
        ]);
        let mut bytes = encode(&t).unwrap();
        let back = decode(&bytes).unwrap();
        assert_eq!(back, t);
        let Term::List(items) = &back else {
            panic!("{back:?}")
        };
        assert_eq!(
            node_ptr(&items[0]),
            node_ptr(&items[1]),
            "the same long node name twice: one allocation"
        );
        assert_ne!(node_ptr(&items[1]), node_ptr(&items[2]));
        assert_ne!(
            node_ptr(&items[1]),
            node_ptr(&items[5]),
            "others came between"
        );

        // The first node name as a Latin-1 ATOM_EXT (tag 100, 2-byte length): the same
        // atom, and the next pid's node name is a clone of it.
        let at = bytes
            .windows(a.len())
            .position(|w| w == a.as_bytes())
            .unwrap();
        assert_eq!(
            bytes[at - 2],
            119,
            "SMALL_ATOM_UTF8_EXT before the node name"
        );
        bytes[at - 2] = 100;
        bytes.insert(at - 1, 0);
        let back = decode(&bytes).unwrap();
        assert_eq!(back, t);
        let Term::List(items) = &back else {
            panic!("{back:?}")
        };
        assert_eq!(node_ptr(&items[0]), node_ptr(&items[1]));
    }

    /// A long Latin-1 atom with a byte above 127 (not UTF-8) between two pids of one
    /// node is read as Latin-1 and does not disturb the sharing of the node name; the
    /// same bytes as a UTF-8 atom are refused.
    #[test]
    fn latin1_atoms_between_shared_ones_keep_their_text() {
        let node = "node_with_a_long_name@example.org";
        let pid = |id: u32| {
            let mut v = vec![88u8, 119, node.len() as u8];
            v.extend_from_slice(node.as_bytes());
            v.extend_from_slice(&id.to_be_bytes());
            v.extend_from_slice(&0u32.to_be_bytes());
            v.extend_from_slice(&1u32.to_be_bytes());
            v
        };
        let latin1: Vec<u8> = b"caf\xe9_with_a_long_latin1_name".to_vec();
        let mut bytes = vec![131, 108, 0, 0, 0, 3];
        bytes.extend(pid(1));
        bytes.extend_from_slice(&[115, latin1.len() as u8]);
        bytes.extend_from_slice(&latin1);
        bytes.extend(pid(2));
        bytes.push(106);
        let t = decode(&bytes).unwrap();
        let Term::List(items) = &t else {
            panic!("{t:?}")
        };
        assert_eq!(items[1], Term::atom("café_with_a_long_latin1_name"));
        assert_eq!(node_ptr(&items[0]), node_ptr(&items[2]));
        // As SMALL_ATOM_UTF8_EXT (119) the same bytes are not UTF-8.
        let at = bytes.iter().position(|&b| b == 115).unwrap();
        bytes[at] = 119;
        assert!(decode(&bytes).is_err());
    }
}

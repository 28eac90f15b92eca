//! Terms to Rust values (see the conventions in the [module docs](super)).
//!
//! The input is untrusted: every shape check returns an error, never panics, and the
//! deserializer counts nesting so a deeply nested term fails with
//! [`SerdeError::TooDeep`] instead of overflowing the stack. Skipped values (unknown
//! struct fields) are not looked into at all.

use super::{SerdeError, ATOM_MARKER, MAX_DEPTH, TERM_MARKER};
use crate::term::rust_types::{charlist_text, describe};
use crate::term::{Term, TermConvertError};
use num_bigint::BigInt;
use serde::de::value::{BoolDeserializer, BorrowedStrDeserializer, U8Deserializer};
use serde::de::{self, DeserializeSeed, IntoDeserializer, Visitor};
use std::slice;

type Result<T> = std::result::Result<T, SerdeError>;

/// The serde `Deserializer` reading a borrowed [`Term`]. Strings and bytes borrow from
/// the term where they can (`&str` fields read binaries and atoms without copying).
pub struct TermDeserializer<'de> {
    term: &'de Term,
    /// How many more container levels may be entered.
    depth: usize,
}

impl<'de> TermDeserializer<'de> {
    /// A deserializer for `term` allowing [`MAX_DEPTH`] levels of nesting.
    pub fn new(term: &'de Term) -> Self {
        TermDeserializer {
            term,
            depth: MAX_DEPTH,
        }
    }

    /// The depth budget for the children of this term.
    fn enter(&self) -> Result<usize> {
        self.depth
            .checked_sub(1)
            .ok_or(SerdeError::TooDeep(MAX_DEPTH))
    }

    fn mismatch(&self, expected: &'static str) -> SerdeError {
        TermConvertError::mismatch(expected, self.term).into()
    }

    fn int<T>(&self, target: &'static str) -> Result<T>
    where
        T: TryFrom<i64> + for<'a> TryFrom<&'a BigInt>,
    {
        let fits = match self.term {
            Term::Int(i) => T::try_from(*i).ok(),
            Term::BigInt(b) => T::try_from(b).ok(),
            _ => return Err(self.mismatch("integer")),
        };
        fits.ok_or_else(|| {
            TermConvertError::OutOfRange {
                target,
                value: describe(self.term).split_off("integer ".len()),
            }
            .into()
        })
    }

    fn elements(&self, elements: &'de [Term]) -> Result<Elements<'de>> {
        Ok(Elements {
            iter: elements.iter(),
            depth: self.enter()?,
        })
    }

    /// A map, or a proplist (`[{Key, Value} | Atom]`, the Erlang way to pass options).
    fn entries(&self) -> Result<Entries<'de>> {
        let pairs = match self.term {
            Term::Map(m) => Pairs::Map(m.entries().iter()),
            Term::Nil => Pairs::Proplist([].iter()),
            Term::List(l) => Pairs::Proplist(l.iter()),
            _ => return Err(self.mismatch("map or proplist")),
        };
        Ok(Entries {
            pairs,
            value: None,
            depth: self.enter()?,
        })
    }
}

macro_rules! de_int {
    ($($method:ident => $visit:ident($t:ty);)*) => {$(
        fn $method<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value> {
            visitor.$visit(self.int::<$t>(stringify!($t))?)
        }
    )*};
}

impl<'de> de::Deserializer<'de> for TermDeserializer<'de> {
    type Error = SerdeError;

    /// For self-describing targets (`serde_json::Value`, untagged enums): atoms
    /// `true`/`false` are booleans, `undefined`/`nil` unit, other atoms and UTF-8
    /// binaries strings, other binaries bytes, lists and tuples sequences, maps maps.
    fn deserialize_any<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value> {
        match self.term {
            Term::Atom(a) => match a.as_str() {
                "true" => visitor.visit_bool(true),
                "false" => visitor.visit_bool(false),
                "undefined" | "nil" => visitor.visit_unit(),
                s => visitor.visit_borrowed_str(s),
            },
            Term::Int(i) => visitor.visit_i64(*i),
            Term::BigInt(b) => {
                if let Ok(i) = i128::try_from(b) {
                    visitor.visit_i128(i)
                } else if let Ok(u) = u128::try_from(b) {
                    visitor.visit_u128(u)
                } else {
                    Err(SerdeError::Unsupported(
                        "an integer wider than 128 bits (use a BigInt or Term field)".into(),
                    ))
                }
            }
            Term::Float(f) => visitor.visit_f64(f.0),
            Term::Binary(b) => match std::str::from_utf8(b) {
                Ok(s) => visitor.visit_borrowed_str(s),
                Err(_) => visitor.visit_borrowed_bytes(b),
            },
            Term::Nil => visitor.visit_seq(self.elements(&[])?),
            Term::List(l) | Term::Tuple(l) => visitor.visit_seq(self.elements(l)?),
            Term::Map(_) => visitor.visit_map(self.entries()?),
            other => Err(SerdeError::Unsupported(format!(
                "{} (read it into a beamnode Term, Pid or Reference field)",
                describe(other)
            ))),
        }
    }

    fn deserialize_bool<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value> {
        match self.term.as_bool() {
            Some(b) => visitor.visit_bool(b),
            None => Err(self.mismatch("boolean (atom true or false)")),
        }
    }

    de_int! {
        deserialize_i8 => visit_i8(i8);
        deserialize_i16 => visit_i16(i16);
        deserialize_i32 => visit_i32(i32);
        deserialize_i64 => visit_i64(i64);
        deserialize_i128 => visit_i128(i128);
        deserialize_u8 => visit_u8(u8);
        deserialize_u16 => visit_u16(u16);
        deserialize_u32 => visit_u32(u32);
        deserialize_u64 => visit_u64(u64);
        deserialize_u128 => visit_u128(u128);
    }

    fn deserialize_f32<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value> {
        self.deserialize_f64(visitor)
    }

    /// A float, or an integer (an Erlang program writes `10` for `10.0` freely).
    fn deserialize_f64<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value> {
        match self.term {
            Term::Float(f) => visitor.visit_f64(f.0),
            Term::Int(i) => visitor.visit_f64(*i as f64),
            _ => Err(self.mismatch("float")),
        }
    }

    /// Text of exactly one character, or an integer code point (`$a` in Erlang).
    fn deserialize_char<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value> {
        let c = match self.term {
            Term::Int(i) => u32::try_from(*i).ok().and_then(char::from_u32),
            _ => {
                let text = String::try_from(self.term)?;
                let mut chars = text.chars();
                match (chars.next(), chars.next()) {
                    (Some(c), None) => Some(c),
                    _ => None,
                }
            }
        };
        match c {
            Some(c) => visitor.visit_char(c),
            None => Err(self.mismatch("a single character")),
        }
    }

    /// A UTF-8 binary, an atom (both borrowed) or a charlist.
    fn deserialize_str<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value> {
        match self.term {
            Term::Binary(b) => match std::str::from_utf8(b) {
                Ok(s) => visitor.visit_borrowed_str(s),
                Err(_) => Err(TermConvertError::NotText("binary").into()),
            },
            Term::Atom(a) => visitor.visit_borrowed_str(a.as_str()),
            _ => match charlist_text(self.term) {
                Some(text) => visitor.visit_string(text?),
                None => Err(self.mismatch("text (binary, charlist or atom)")),
            },
        }
    }

    fn deserialize_string<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value> {
        self.deserialize_str(visitor)
    }

    /// A binary (borrowed), or a list of integers 0..=255.
    fn deserialize_bytes<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value> {
        match self.term {
            Term::Binary(b) => visitor.visit_borrowed_bytes(b),
            _ => {
                let list = self.term.as_list().ok_or_else(|| self.mismatch("binary"))?;
                let bytes = list
                    .iter()
                    .map(|e| match e {
                        Term::Int(i) => u8::try_from(*i).ok(),
                        _ => None,
                    })
                    .collect::<Option<Vec<u8>>>()
                    .ok_or_else(|| self.mismatch("binary"))?;
                visitor.visit_byte_buf(bytes)
            }
        }
    }

    fn deserialize_byte_buf<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value> {
        self.deserialize_bytes(visitor)
    }

    /// `undefined` and `nil` are `None`.
    fn deserialize_option<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value> {
        if self.term.is_undefined() {
            visitor.visit_none()
        } else {
            visitor.visit_some(self)
        }
    }

    /// `ok` (what `()` becomes), or the empty tuple `{}`.
    fn deserialize_unit<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value> {
        match self.term {
            Term::Atom(a) if a == "ok" => visitor.visit_unit(),
            Term::Tuple(t) if t.is_empty() => visitor.visit_unit(),
            _ => Err(self.mismatch("atom ok")),
        }
    }

    /// The atom of the struct's (serde) name.
    fn deserialize_unit_struct<V: Visitor<'de>>(
        self,
        name: &'static str,
        visitor: V,
    ) -> Result<V::Value> {
        match self.term {
            Term::Atom(a) if a == name => visitor.visit_unit(),
            _ => Err(SerdeError::Message(format!(
                "expected atom {name}, found {}",
                describe(self.term)
            ))),
        }
    }

    fn deserialize_newtype_struct<V: Visitor<'de>>(
        self,
        name: &'static str,
        visitor: V,
    ) -> Result<V::Value> {
        match name {
            ATOM_MARKER => match self.term {
                Term::Atom(a) => visitor.visit_borrowed_str(a.as_str()),
                _ => Err(self.mismatch("atom")),
            },
            // The term goes to `Term`'s `Deserialize` as its ETF encoding (see
            // `super::TERM_MARKER`); the encoder and decoder never recurse.
            TERM_MARKER => {
                let bytes = crate::etf::encode(self.term)
                    .map_err(|e| SerdeError::Message(format!("cannot carry the term: {e}")))?;
                visitor.visit_byte_buf(bytes)
            }
            _ => visitor.visit_newtype_struct(self),
        }
    }

    /// A proper list, or a binary read as its bytes (so `Vec<u8>` takes a binary).
    fn deserialize_seq<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value> {
        match self.term {
            Term::Nil => visitor.visit_seq(self.elements(&[])?),
            Term::List(l) => visitor.visit_seq(self.elements(l)?),
            Term::Binary(b) => visitor.visit_seq(Bytes { iter: b.iter() }),
            _ => Err(self.mismatch("list")),
        }
    }

    fn deserialize_tuple<V: Visitor<'de>>(self, len: usize, visitor: V) -> Result<V::Value> {
        match self.term {
            Term::Tuple(t) if t.len() == len => visitor.visit_seq(self.elements(t)?),
            Term::Tuple(t) => Err(TermConvertError::Arity {
                expected: len,
                found: t.len(),
            }
            .into()),
            _ => Err(self.mismatch("tuple")),
        }
    }

    fn deserialize_tuple_struct<V: Visitor<'de>>(
        self,
        _name: &'static str,
        len: usize,
        visitor: V,
    ) -> Result<V::Value> {
        self.deserialize_tuple(len, visitor)
    }

    fn deserialize_map<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value> {
        visitor.visit_map(self.entries()?)
    }

    /// A map with atom (or binary) keys, or a proplist. Keys the struct does not have
    /// (an Elixir struct's `__struct__`, say) are skipped unless the struct denies
    /// unknown fields.
    fn deserialize_struct<V: Visitor<'de>>(
        self,
        _name: &'static str,
        _fields: &'static [&'static str],
        visitor: V,
    ) -> Result<V::Value> {
        visitor.visit_map(self.entries()?)
    }

    /// An atom (unit variant) or a tuple tagged with one: `{tag, V}` (newtype),
    /// `{tag, A, B}` (tuple variant), `{tag, #{…}}` (struct variant). For `Result`,
    /// `ok` / `{ok, V}` are `Ok` and `{error, E}` is `Err`.
    fn deserialize_enum<V: Visitor<'de>>(
        self,
        name: &'static str,
        variants: &'static [&'static str],
        visitor: V,
    ) -> Result<V::Value> {
        let (tag, rest, bare) = match self.term {
            Term::Atom(a) => (a.as_str(), &[][..], true),
            Term::Tuple(t) => match t.split_first() {
                Some((Term::Atom(a), rest)) => (a.as_str(), rest, false),
                _ => return Err(self.mismatch("atom or tuple tagged with an atom")),
            },
            _ => return Err(self.mismatch("atom or tuple tagged with an atom")),
        };
        let is_result = name == "Result" && variants == ["Ok", "Err"];
        let tag = match (is_result, tag) {
            (true, "ok") => "Ok",
            (true, "error") => "Err",
            (true, _) => return Err(self.mismatch("ok, {ok, Value} or {error, Reason}")),
            (false, tag) => tag,
        };
        visitor.visit_enum(Variant {
            tag,
            rest,
            // A bare `ok` is `Ok` of the atom `ok` itself (`Ok(())` serializes so).
            bare: if bare && is_result && tag == "Ok" {
                Some(self.term)
            } else {
                None
            },
            depth: self.enter()?,
        })
    }

    /// A struct field name: an atom or a UTF-8 binary (or charlist); an integer is a
    /// field index.
    fn deserialize_identifier<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value> {
        match self.term {
            Term::Int(i) => match u64::try_from(*i) {
                Ok(u) => visitor.visit_u64(u),
                Err(_) => Err(self.mismatch("field name")),
            },
            _ => self.deserialize_str(visitor),
        }
    }

    /// Skipped without looking inside, whatever its size or depth.
    fn deserialize_ignored_any<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value> {
        visitor.visit_unit()
    }
}

/// The elements of a list or tuple.
struct Elements<'de> {
    iter: slice::Iter<'de, Term>,
    depth: usize,
}

impl<'de> de::SeqAccess<'de> for Elements<'de> {
    type Error = SerdeError;
    fn next_element_seed<T: DeserializeSeed<'de>>(&mut self, seed: T) -> Result<Option<T::Value>> {
        match self.iter.next() {
            Some(term) => seed
                .deserialize(TermDeserializer {
                    term,
                    depth: self.depth,
                })
                .map(Some),
            None => Ok(None),
        }
    }
    fn size_hint(&self) -> Option<usize> {
        Some(self.iter.len())
    }
}

/// The bytes of a binary as a sequence of `u8`.
struct Bytes<'de> {
    iter: slice::Iter<'de, u8>,
}

impl<'de> de::SeqAccess<'de> for Bytes<'de> {
    type Error = SerdeError;
    fn next_element_seed<T: DeserializeSeed<'de>>(&mut self, seed: T) -> Result<Option<T::Value>> {
        match self.iter.next() {
            Some(b) => seed
                .deserialize(
                    IntoDeserializer::<SerdeError>::into_deserializer(*b) as U8Deserializer<_>
                )
                .map(Some),
            None => Ok(None),
        }
    }
    fn size_hint(&self) -> Option<usize> {
        Some(self.iter.len())
    }
}

enum Pairs<'de> {
    Map(slice::Iter<'de, (Term, Term)>),
    /// `{Key, Value}` tuples, and bare atoms meaning `{Atom, true}` (`proplists`).
    Proplist(slice::Iter<'de, Term>),
}

/// The entries of a map or proplist.
struct Entries<'de> {
    pairs: Pairs<'de>,
    /// The value of the key just read: `Some(None)` is the `true` of a bare proplist
    /// atom.
    value: Option<Option<&'de Term>>,
    depth: usize,
}

impl<'de> de::MapAccess<'de> for Entries<'de> {
    type Error = SerdeError;
    fn next_key_seed<K: DeserializeSeed<'de>>(&mut self, seed: K) -> Result<Option<K::Value>> {
        let (key, value) = match &mut self.pairs {
            Pairs::Map(it) => match it.next() {
                Some((k, v)) => (k, Some(v)),
                None => return Ok(None),
            },
            Pairs::Proplist(it) => match it.next() {
                Some(Term::Tuple(kv)) if kv.len() == 2 => (&kv[0], Some(&kv[1])),
                Some(atom @ Term::Atom(_)) => (atom, None),
                Some(other) => {
                    return Err(TermConvertError::mismatch(
                        "proplist element ({Key, Value} or atom)",
                        other,
                    )
                    .into())
                }
                None => return Ok(None),
            },
        };
        self.value = Some(value);
        seed.deserialize(TermDeserializer {
            term: key,
            depth: self.depth,
        })
        .map(Some)
    }
    fn next_value_seed<V: DeserializeSeed<'de>>(&mut self, seed: V) -> Result<V::Value> {
        match self.value.take() {
            Some(Some(term)) => seed.deserialize(TermDeserializer {
                term,
                depth: self.depth,
            }),
            Some(None) => seed.deserialize(BoolDeserializer::<SerdeError>::new(true)),
            None => Err(SerdeError::Message("map value asked before its key".into())),
        }
    }
    fn size_hint(&self) -> Option<usize> {
        match &self.pairs {
            Pairs::Map(it) => Some(it.len()),
            Pairs::Proplist(it) => Some(it.len()),
        }
    }
}

/// An enum value: its tag and what follows the tag in the tuple.
struct Variant<'de> {
    tag: &'de str,
    rest: &'de [Term],
    /// A bare `ok` read as `Result`: the term handed to `Ok`'s value.
    bare: Option<&'de Term>,
    depth: usize,
}

impl<'de> de::EnumAccess<'de> for Variant<'de> {
    type Error = SerdeError;
    type Variant = Self;
    fn variant_seed<T: DeserializeSeed<'de>>(self, seed: T) -> Result<(T::Value, Self)> {
        let tag = seed.deserialize(BorrowedStrDeserializer::<SerdeError>::new(self.tag))?;
        Ok((tag, self))
    }
}

impl<'de> de::VariantAccess<'de> for Variant<'de> {
    type Error = SerdeError;

    fn unit_variant(self) -> Result<()> {
        if self.rest.is_empty() {
            Ok(())
        } else {
            Err(SerdeError::Message(format!(
                "variant {} takes no value, found a tuple of {} elements",
                self.tag,
                self.rest.len() + 1
            )))
        }
    }

    fn newtype_variant_seed<T: DeserializeSeed<'de>>(self, seed: T) -> Result<T::Value> {
        let term = match (self.rest, self.bare) {
            ([value], _) => value,
            ([], Some(bare)) => bare,
            _ => return Err(self.arity(1)),
        };
        seed.deserialize(TermDeserializer {
            term,
            depth: self.depth,
        })
    }

    fn tuple_variant<V: Visitor<'de>>(self, len: usize, visitor: V) -> Result<V::Value> {
        if self.rest.len() != len {
            return Err(self.arity(len));
        }
        visitor.visit_seq(Elements {
            iter: self.rest.iter(),
            depth: self.depth,
        })
    }

    fn struct_variant<V: Visitor<'de>>(
        self,
        fields: &'static [&'static str],
        visitor: V,
    ) -> Result<V::Value> {
        match self.rest {
            [fields_term] => de::Deserializer::deserialize_struct(
                TermDeserializer {
                    term: fields_term,
                    depth: self.depth,
                },
                "",
                fields,
                visitor,
            ),
            _ => Err(self.arity(1)),
        }
    }
}

impl Variant<'_> {
    fn arity(&self, values: usize) -> SerdeError {
        SerdeError::Message(format!(
            "variant {} takes {{{}, …}} with {values} value(s), found {} value(s)",
            self.tag,
            self.tag,
            self.rest.len()
        ))
    }
}

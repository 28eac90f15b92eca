//! Rust structs and enums to Erlang terms and back, with serde (feature `serde`).
//!
//! ```
//! use beamnode::serde_term::{from_term, to_term};
//! use beamnode::Term;
//! use serde::{Deserialize, Serialize};
//!
//! #[derive(Serialize, Deserialize, Debug, PartialEq)]
//! struct User {
//!     name: String,
//!     age: u32,
//! }
//!
//! let term = to_term(&User { name: "Ann".into(), age: 41 }).unwrap();
//! // #{name => <<"Ann">>, age => 41}
//! assert_eq!(
//!     term,
//!     Term::map(vec![
//!         (Term::atom("name"), Term::binary("Ann")),
//!         (Term::atom("age"), Term::Int(41)),
//!     ])
//! );
//! let back: User = from_term(&term).unwrap();
//! assert_eq!(back.name, "Ann");
//! ```
//!
//! The module is `serde_term`, not `serde`, so that inside and outside this crate
//! `serde::` always means the serde crate.
//!
//! # Conventions
//!
//! Chosen so that the terms are the ones an Erlang or Elixir program writes by hand,
//! and consistent with the `From`/`TryFrom` conversions of [`crate::term::rust_types`]
//! (`docs/serde.md` has the full table and the reasons):
//!
//! | Rust | Term |
//! |---|---|
//! | `struct S { a: A, b: B }` | `#{a => A, b => B}` (atom keys) |
//! | `struct S(A)` (newtype) | `A` |
//! | `struct S(A, B)`, `(A, B)` | `{A, B}` |
//! | `struct S;` | the atom `'S'` (its serde name; rename it to `s`) |
//! | `()` | `ok` |
//! | `enum E { A }` → `E::A` | the atom `'A'` (the variant's serde name) |
//! | `E::B(x)` | `{'B', X}` |
//! | `E::C(x, y)` | `{'C', X, Y}` |
//! | `E::D { f: x }` | `{'D', #{f => X}}` |
//! | `Result<T, E>` | `{ok, T}` / `{error, E}`; `Ok(())` is `ok` |
//! | `Option<T>` | `T` or `undefined` (`nil` accepted back) |
//! | `bool` | `true` / `false` |
//! | integers | integers (big integers past `i64`) |
//! | `f64` | float (must be finite; an integer is accepted back) |
//! | `String`, `&str`, `char` | UTF-8 binary (binary, charlist or atom accepted back) |
//! | `Vec<T>`, sequences | list (a `Vec<u8>` also reads a binary) |
//! | bytes (`serde_bytes`) | binary |
//! | `HashMap`/`BTreeMap` | map (keys converted like values: `String` keys are binaries) |
//! | [`Term`], [`Pid`], [`Reference`], [`Port`] | themselves |
//! | [`Atom`] | the atom |
//!
//! Variant and struct names are used as they are: Erlang atoms are conventionally
//! `snake_case`, so put `#[serde(rename_all = "snake_case")]` on an enum to get
//! `{user_joined, …}` from `UserJoined(…)`; the crate does not rewrite names behind
//! your back. `Result`'s `Ok`/`Err` are the exception, always `ok`/`error`.
//!
//! Reading back is lenient where Erlang programs differ (a string may be a binary, a
//! charlist or an atom; a struct may be a map with atom or binary keys, or a proplist;
//! an Elixir struct's `__struct__` key is ignored) and strict where a guess could be
//! wrong (an integer out of range, a tuple of the wrong arity).
//!
//! # Hostile input
//!
//! [`from_term`] never panics on any term, and nests at most [`MAX_DEPTH`] containers
//! deep before failing with [`SerdeError::TooDeep`], so a term nested a million levels
//! cannot overflow the stack through a recursive Rust type or `serde_json::Value`.

mod de;
mod ser;

pub use de::TermDeserializer;
pub use ser::TermSerializer;

use crate::term::{Atom, Pid, Port, Reference, Term, TermConvertError};
use serde::de::{Deserialize, Deserializer, Error as _};
use serde::ser::{Error as _, Serialize, Serializer};
use std::fmt;

/// How many containers deep [`from_term`] goes before giving up.
pub const MAX_DEPTH: usize = 256;

/// serde newtype names that carry beamnode's own types through the serde data model.
/// Another serializer sees a newtype around a string (atoms) or bytes (the term's ETF
/// encoding), so `Atom` and `Term` also work with formats other than terms.
pub(crate) const ATOM_MARKER: &str = "$beamnode::Atom";
pub(crate) const TERM_MARKER: &str = "$beamnode::Term";

/// Why a value could not be converted.
#[derive(Debug, thiserror::Error, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum SerdeError {
    /// From the type's `Serialize`/`Deserialize` (derive's "missing field `age`", …).
    #[error("{0}")]
    Message(String),
    /// The term does not have the shape the Rust type needs.
    #[error(transparent)]
    Convert(#[from] TermConvertError),
    /// NaN or an infinity: Erlang floats are finite.
    #[error("float {0} is not finite: Erlang has no NaN or infinity")]
    NonFiniteFloat(String),
    #[error("term nested deeper than {0} containers")]
    TooDeep(usize),
    /// A term with no serde data-model form (a pid read into `serde_json::Value`, …).
    #[error("{0} has no serde form")]
    Unsupported(String),
    /// A raw [`Term`] carried through serde did not decode.
    #[error(transparent)]
    Decode(#[from] crate::etf::DecodeError),
}

impl serde::ser::Error for SerdeError {
    fn custom<T: fmt::Display>(msg: T) -> Self {
        SerdeError::Message(msg.to_string())
    }
}
impl serde::de::Error for SerdeError {
    fn custom<T: fmt::Display>(msg: T) -> Self {
        SerdeError::Message(msg.to_string())
    }
}

/// Serializes `value` into a term.
pub fn to_term<T: ?Sized + Serialize>(value: &T) -> Result<Term, SerdeError> {
    value.serialize(TermSerializer)
}

/// Deserializes a `T` from `term`. `T` may borrow strings and bytes from it.
pub fn from_term<'de, T: Deserialize<'de>>(term: &'de Term) -> Result<T, SerdeError> {
    T::deserialize(TermDeserializer::new(term))
}

/// Bytes serialized as bytes (not as a sequence of integers).
struct EtfBytes<'a>(&'a [u8]);
impl Serialize for EtfBytes<'_> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_bytes(self.0)
    }
}

/// A term inside a serialized struct comes out as itself. It travels through serde as
/// its ETF encoding in a marked newtype, which [`to_term`] decodes again (and any other
/// format stores as bytes).
impl Serialize for Term {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let bytes = crate::etf::encode(self).map_err(S::Error::custom)?;
        s.serialize_newtype_struct(TERM_MARKER, &EtfBytes(&bytes))
    }
}

struct TermVisitor;
impl<'de> serde::de::Visitor<'de> for TermVisitor {
    type Value = Term;
    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("an Erlang term (ETF bytes)")
    }
    fn visit_bytes<E: serde::de::Error>(self, v: &[u8]) -> Result<Term, E> {
        crate::etf::decode(v).map_err(E::custom)
    }
    /// Formats without a byte type (JSON) store the bytes as a sequence of numbers.
    fn visit_seq<A: serde::de::SeqAccess<'de>>(self, mut seq: A) -> Result<Term, A::Error> {
        let mut bytes = Vec::with_capacity(seq.size_hint().unwrap_or(0).min(1 << 16));
        while let Some(b) = seq.next_element::<u8>()? {
            bytes.push(b);
        }
        crate::etf::decode(&bytes).map_err(A::Error::custom)
    }
    fn visit_newtype_struct<D: Deserializer<'de>>(self, d: D) -> Result<Term, D::Error> {
        d.deserialize_bytes(self)
    }
}

/// Any term, unchanged (a field typed `Term` takes whatever the peer sent).
impl<'de> Deserialize<'de> for Term {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Term, D::Error> {
        d.deserialize_newtype_struct(TERM_MARKER, TermVisitor)
    }
}

/// An atom (another format sees a string).
impl Serialize for Atom {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_newtype_struct(ATOM_MARKER, self.as_str())
    }
}

struct AtomVisitor;
impl<'de> serde::de::Visitor<'de> for AtomVisitor {
    type Value = Atom;
    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("an atom")
    }
    fn visit_str<E: serde::de::Error>(self, v: &str) -> Result<Atom, E> {
        Ok(Atom::new(v))
    }
    fn visit_newtype_struct<D: Deserializer<'de>>(self, d: D) -> Result<Atom, D::Error> {
        d.deserialize_str(self)
    }
}

/// From a term, only an atom (not a binary: the type says which one the peer meant).
impl<'de> Deserialize<'de> for Atom {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Atom, D::Error> {
        d.deserialize_newtype_struct(ATOM_MARKER, AtomVisitor)
    }
}

/// `Serialize`/`Deserialize` through [`Term`] for the identifiers, so a struct can
/// carry a reply-to pid or a request reference.
macro_rules! through_term {
    ($($t:ty),*) => {$(
        impl Serialize for $t {
            fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
                Term::from(self.clone()).serialize(s)
            }
        }
        impl<'de> Deserialize<'de> for $t {
            fn deserialize<D: Deserializer<'de>>(d: D) -> Result<$t, D::Error> {
                <$t>::try_from(Term::deserialize(d)?).map_err(D::Error::custom)
            }
        }
    )*};
}
through_term!(Pid, Reference, Port);

#[cfg(test)]
mod tests;

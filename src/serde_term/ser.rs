//! Rust values to terms (see the conventions in the [module docs](super)).

use super::{SerdeError, ATOM_MARKER, TERM_MARKER};
use crate::term::{Atom, Float, Map, Term};
use serde::ser::{self, Serialize};

/// The serde `Serializer` whose output is a [`Term`]. Stateless: every call makes a
/// fresh term, so nesting is bounded by the Rust value being serialized.
pub struct TermSerializer;

type Result<T> = std::result::Result<T, SerdeError>;

fn tagged(variant: &str, mut rest: Vec<Term>) -> Term {
    rest.insert(0, Term::atom(variant));
    Term::tuple(rest)
}

/// `Result<T, E>` is `{ok, T}` / `{error, E}`, and `Ok(())` the bare atom `ok` (the
/// shape of every OTP API that can fail).
fn is_result(name: &str, variant: &str) -> Option<&'static str> {
    match (name, variant) {
        ("Result", "Ok") => Some("ok"),
        ("Result", "Err") => Some("error"),
        _ => None,
    }
}

impl ser::Serializer for TermSerializer {
    type Ok = Term;
    type Error = SerdeError;
    type SerializeSeq = SeqBuilder;
    type SerializeTuple = SeqBuilder;
    type SerializeTupleStruct = SeqBuilder;
    type SerializeTupleVariant = SeqBuilder;
    type SerializeMap = MapBuilder;
    type SerializeStruct = MapBuilder;
    type SerializeStructVariant = MapBuilder;

    fn serialize_bool(self, v: bool) -> Result<Term> {
        Ok(Term::from(v))
    }
    fn serialize_i8(self, v: i8) -> Result<Term> {
        Ok(Term::from(v))
    }
    fn serialize_i16(self, v: i16) -> Result<Term> {
        Ok(Term::from(v))
    }
    fn serialize_i32(self, v: i32) -> Result<Term> {
        Ok(Term::from(v))
    }
    fn serialize_i64(self, v: i64) -> Result<Term> {
        Ok(Term::from(v))
    }
    fn serialize_i128(self, v: i128) -> Result<Term> {
        Ok(Term::from(v))
    }
    fn serialize_u8(self, v: u8) -> Result<Term> {
        Ok(Term::Int(i64::from(v)))
    }
    fn serialize_u16(self, v: u16) -> Result<Term> {
        Ok(Term::from(v))
    }
    fn serialize_u32(self, v: u32) -> Result<Term> {
        Ok(Term::from(v))
    }
    fn serialize_u64(self, v: u64) -> Result<Term> {
        Ok(Term::from(v))
    }
    fn serialize_u128(self, v: u128) -> Result<Term> {
        Ok(Term::from(v))
    }
    fn serialize_f32(self, v: f32) -> Result<Term> {
        self.serialize_f64(f64::from(v))
    }
    /// Erlang has no NaN or infinities, and a peer drops the connection on one.
    fn serialize_f64(self, v: f64) -> Result<Term> {
        if v.is_finite() {
            Ok(Term::Float(Float(v)))
        } else {
            Err(SerdeError::NonFiniteFloat(v.to_string()))
        }
    }
    fn serialize_char(self, v: char) -> Result<Term> {
        Ok(Term::from(v.encode_utf8(&mut [0; 4]) as &str))
    }
    fn serialize_str(self, v: &str) -> Result<Term> {
        Ok(Term::from(v))
    }
    fn serialize_bytes(self, v: &[u8]) -> Result<Term> {
        Ok(Term::from(v))
    }
    fn serialize_none(self) -> Result<Term> {
        Ok(Term::atom("undefined"))
    }
    fn serialize_some<T: ?Sized + Serialize>(self, value: &T) -> Result<Term> {
        value.serialize(self)
    }
    fn serialize_unit(self) -> Result<Term> {
        Ok(Term::atom("ok"))
    }
    /// A unit struct is an atom of its (serde) name: `#[serde(rename = "ping")]
    /// struct Ping;` is `ping`.
    fn serialize_unit_struct(self, name: &'static str) -> Result<Term> {
        Ok(Term::atom(name))
    }
    fn serialize_unit_variant(
        self,
        _name: &'static str,
        _index: u32,
        variant: &'static str,
    ) -> Result<Term> {
        Ok(Term::atom(variant))
    }
    fn serialize_newtype_struct<T: ?Sized + Serialize>(
        self,
        name: &'static str,
        value: &T,
    ) -> Result<Term> {
        match name {
            ATOM_MARKER => match value.serialize(self)? {
                Term::Binary(b) => String::from_utf8(Vec::from(b))
                    .map(|s| Term::Atom(Atom::from(s)))
                    .map_err(|_| SerdeError::Message("atom text is not UTF-8".into())),
                other => Ok(other),
            },
            TERM_MARKER => match value.serialize(self)? {
                Term::Binary(b) => Ok(crate::etf::decode(&b)?),
                other => Err(SerdeError::Message(format!(
                    "raw term carrier holds {}",
                    crate::term::rust_types::describe(&other)
                ))),
            },
            _ => value.serialize(self),
        }
    }
    fn serialize_newtype_variant<T: ?Sized + Serialize>(
        self,
        name: &'static str,
        _index: u32,
        variant: &'static str,
        value: &T,
    ) -> Result<Term> {
        let inner = value.serialize(TermSerializer)?;
        match is_result(name, variant) {
            // `Ok(())` (or anything that is the atom `ok`) is the bare `ok`; the
            // deserializer hands that atom back to `T`, so this round-trips.
            Some("ok") if inner.is_atom("ok") => Ok(inner),
            Some(tag) => Ok(tagged(tag, vec![inner])),
            None => Ok(tagged(variant, vec![inner])),
        }
    }
    fn serialize_seq(self, len: Option<usize>) -> Result<SeqBuilder> {
        Ok(SeqBuilder::new(len.unwrap_or(0), None, Kind::List))
    }
    fn serialize_tuple(self, len: usize) -> Result<SeqBuilder> {
        Ok(SeqBuilder::new(len, None, Kind::Tuple))
    }
    fn serialize_tuple_struct(self, _name: &'static str, len: usize) -> Result<SeqBuilder> {
        Ok(SeqBuilder::new(len, None, Kind::Tuple))
    }
    fn serialize_tuple_variant(
        self,
        _name: &'static str,
        _index: u32,
        variant: &'static str,
        len: usize,
    ) -> Result<SeqBuilder> {
        Ok(SeqBuilder::new(len, Some(variant), Kind::Tuple))
    }
    fn serialize_map(self, len: Option<usize>) -> Result<MapBuilder> {
        Ok(MapBuilder::new(len.unwrap_or(0), None))
    }
    fn serialize_struct(self, _name: &'static str, len: usize) -> Result<MapBuilder> {
        Ok(MapBuilder::new(len, None))
    }
    fn serialize_struct_variant(
        self,
        _name: &'static str,
        _index: u32,
        variant: &'static str,
        len: usize,
    ) -> Result<MapBuilder> {
        Ok(MapBuilder::new(len, Some(variant)))
    }
}

enum Kind {
    List,
    Tuple,
}

/// Lists, tuples and tagged tuples (`{variant, F1, F2}`).
pub struct SeqBuilder {
    elements: Vec<Term>,
    variant: Option<&'static str>,
    kind: Kind,
}

impl SeqBuilder {
    fn new(len: usize, variant: Option<&'static str>, kind: Kind) -> Self {
        // The length hint comes from the value being serialized, but cap it anyway.
        SeqBuilder {
            elements: Vec::with_capacity(len.min(4096)),
            variant,
            kind,
        }
    }
    fn push<T: ?Sized + Serialize>(&mut self, value: &T) -> Result<()> {
        self.elements.push(value.serialize(TermSerializer)?);
        Ok(())
    }
    fn finish(self) -> Term {
        match (self.variant, self.kind) {
            (Some(v), _) => tagged(v, self.elements),
            (None, Kind::List) => Term::list(self.elements),
            (None, Kind::Tuple) => Term::tuple(self.elements),
        }
    }
}

impl ser::SerializeSeq for SeqBuilder {
    type Ok = Term;
    type Error = SerdeError;
    fn serialize_element<T: ?Sized + Serialize>(&mut self, value: &T) -> Result<()> {
        self.push(value)
    }
    fn end(self) -> Result<Term> {
        Ok(self.finish())
    }
}
impl ser::SerializeTuple for SeqBuilder {
    type Ok = Term;
    type Error = SerdeError;
    fn serialize_element<T: ?Sized + Serialize>(&mut self, value: &T) -> Result<()> {
        self.push(value)
    }
    fn end(self) -> Result<Term> {
        Ok(self.finish())
    }
}
impl ser::SerializeTupleStruct for SeqBuilder {
    type Ok = Term;
    type Error = SerdeError;
    fn serialize_field<T: ?Sized + Serialize>(&mut self, value: &T) -> Result<()> {
        self.push(value)
    }
    fn end(self) -> Result<Term> {
        Ok(self.finish())
    }
}
impl ser::SerializeTupleVariant for SeqBuilder {
    type Ok = Term;
    type Error = SerdeError;
    fn serialize_field<T: ?Sized + Serialize>(&mut self, value: &T) -> Result<()> {
        self.push(value)
    }
    fn end(self) -> Result<Term> {
        Ok(self.finish())
    }
}

/// Maps, structs (atom keys) and struct variants (`{variant, #{…}}`).
pub struct MapBuilder {
    entries: Vec<(Term, Term)>,
    key: Option<Term>,
    variant: Option<&'static str>,
}

impl MapBuilder {
    fn new(len: usize, variant: Option<&'static str>) -> Self {
        MapBuilder {
            entries: Vec::with_capacity(len.min(4096)),
            key: None,
            variant,
        }
    }
    fn field<T: ?Sized + Serialize>(&mut self, key: &'static str, value: &T) -> Result<()> {
        self.entries
            .push((Term::atom(key), value.serialize(TermSerializer)?));
        Ok(())
    }
    fn finish(self) -> Term {
        let map = Term::Map(unique_map(self.entries));
        match self.variant {
            Some(v) => tagged(v, vec![map]),
            None => map,
        }
    }
}

impl ser::SerializeMap for MapBuilder {
    type Ok = Term;
    type Error = SerdeError;
    fn serialize_key<T: ?Sized + Serialize>(&mut self, key: &T) -> Result<()> {
        self.key = Some(key.serialize(TermSerializer)?);
        Ok(())
    }
    fn serialize_value<T: ?Sized + Serialize>(&mut self, value: &T) -> Result<()> {
        let key = self
            .key
            .take()
            .ok_or_else(|| SerdeError::Message("map value without a key".into()))?;
        self.entries.push((key, value.serialize(TermSerializer)?));
        Ok(())
    }
    fn end(self) -> Result<Term> {
        Ok(self.finish())
    }
}
impl ser::SerializeStruct for MapBuilder {
    type Ok = Term;
    type Error = SerdeError;
    fn serialize_field<T: ?Sized + Serialize>(
        &mut self,
        key: &'static str,
        value: &T,
    ) -> Result<()> {
        self.field(key, value)
    }
    fn end(self) -> Result<Term> {
        Ok(self.finish())
    }
}
impl ser::SerializeStructVariant for MapBuilder {
    type Ok = Term;
    type Error = SerdeError;
    fn serialize_field<T: ?Sized + Serialize>(
        &mut self,
        key: &'static str,
        value: &T,
    ) -> Result<()> {
        self.field(key, value)
    }
    fn end(self) -> Result<Term> {
        Ok(self.finish())
    }
}

/// A map from entries whose keys may repeat (a hand-written `Serialize` can repeat
/// them); the last value wins, as in a map literal. Large maps are sorted by key first,
/// so this is O(n log n), not the O(n²) of inserting one by one.
fn unique_map(mut entries: Vec<(Term, Term)>) -> Map {
    if entries.len() <= 32 {
        return Map::from_entries(entries);
    }
    // Stable, so of equal keys the last one stays last.
    entries.sort_by(|a, b| a.0.cmp(&b.0));
    let mut out: Vec<(Term, Term)> = Vec::with_capacity(entries.len());
    for (k, v) in entries {
        match out.last_mut() {
            Some(last) if last.0 == k => last.1 = v,
            _ => out.push((k, v)),
        }
    }
    Map::from_unique_entries(out)
}

//! The Erlang term model (docs/protocol.md §6).
//!
//! beamnode keeps its own term type instead of using `eetf::Term` directly because the
//! node must survive hostile input: a term nested a million levels deep (OTP decodes
//! that much) has to be decoded, encoded *and dropped* without recursion. The
//! containers ([`Terms`], [`Map`], [`ImproperList`]) therefore drop their children
//! iteratively. Conversions to and from `eetf::Term` live in [`convert`], so code that
//! already speaks eetf can exchange terms with beamnode.
//!
//! Equality (`==` on these types) is Erlang's *exact* match (`=:=`): `1` and `1.0`
//! differ, map key order does not matter. `Ord` on [`Term`] is Erlang's standard term
//! order (ties such as `1` vs `1.0` broken deterministically); [`Term::erlang_cmp`] is
//! the order exactly as Erlang's `<`/`==` see it.
//!
//! `Clone`, `PartialEq`, `Hash`, `Ord` and `Debug` (depth-limited) are hand-written in
//! [`deep`] and never recurse, like the codec and `Drop`: any term that can be decoded
//! can also be cloned, compared, hashed and printed.

pub mod convert;
pub mod deep;
pub mod display;
pub mod parse;
pub mod rust_types;

pub use bytes::Bytes;
pub use rust_types::TermConvertError;

use ecow::EcoString;
use num_bigint::BigInt;
use std::fmt;
use std::hash::{Hash, Hasher};
use std::ops::{Deref, DerefMut};

/// An atom. Cheap to clone. At most 255 characters on the wire (§6.2).
///
/// The text is an [`ecow::EcoString`]: up to 15 bytes are stored inline, so the short
/// atoms that make up most terms (`ok`, map keys, record names) cost no allocation to
/// decode, clone or drop; a longer one is shared by reference count, as before.
#[derive(Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Atom(EcoString);

impl Atom {
    /// Atoms of up to this many bytes are stored inline: creating one allocates nothing
    /// (15 on 64-bit targets).
    pub(crate) const INLINE_LEN: usize = EcoString::INLINE_LIMIT;

    /// Creates an atom from its text.
    pub fn new(name: &str) -> Self {
        Atom(EcoString::from(name))
    }
    /// The atom's text.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for Atom {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Atom({:?})", self.0.as_str())
    }
}

impl From<&str> for Atom {
    fn from(s: &str) -> Self {
        Atom::new(s)
    }
}

impl From<String> for Atom {
    fn from(s: String) -> Self {
        Atom(EcoString::from(s))
    }
}

impl PartialEq<str> for Atom {
    fn eq(&self, other: &str) -> bool {
        &*self.0 == other
    }
}

impl PartialEq<&str> for Atom {
    fn eq(&self, other: &&str) -> bool {
        &*self.0 == *other
    }
}

/// A process identifier (NEW_PID_EXT, §6.1). `id` and `serial` are full 32-bit values
/// (DFLAG_V4_NC); OTP range-checks only its own local pids.
#[derive(Clone, PartialEq, Eq, Hash, Debug)]
pub struct Pid {
    pub node: Atom,
    pub id: u32,
    pub serial: u32,
    pub creation: u32,
}

impl Pid {
    pub fn new(node: Atom, id: u32, serial: u32, creation: u32) -> Self {
        Pid {
            node,
            id,
            serial,
            creation,
        }
    }
}

/// A port identifier (NEW_PORT_EXT / V4_PORT_EXT, §6.1).
#[derive(Clone, PartialEq, Eq, Hash, Debug)]
pub struct Port {
    pub node: Atom,
    pub id: u64,
    pub creation: u32,
}

/// A reference (NEWER_REFERENCE_EXT, §6.1): 1 to 5 32-bit words. OTP 25 sends three
/// words for every reference, aliases included (§16.1).
#[derive(Clone, PartialEq, Eq, Hash, Debug)]
pub struct Reference {
    pub node: Atom,
    pub creation: u32,
    pub ids: Vec<u32>,
}

/// A float. Always finite on the wire (§6.2); equality and hashing use the bit pattern,
/// which matches `=:=` for finite values except that `0.0` and `-0.0` differ (as in
/// OTP 27+).
#[derive(Clone, Copy, Debug)]
pub struct Float(pub f64);

impl PartialEq for Float {
    fn eq(&self, other: &Self) -> bool {
        self.0.to_bits() == other.0.to_bits()
    }
}
impl Eq for Float {}
impl Hash for Float {
    fn hash<H: Hasher>(&self, state: &mut H) {
        self.0.to_bits().hash(state)
    }
}

/// `fun Module:Function/Arity` (EXPORT_EXT).
#[derive(Clone, PartialEq, Eq, Hash, Debug)]
pub struct ExportFun {
    pub module: Atom,
    pub function: Atom,
    pub arity: u8,
}

/// A fun closure (NEW_FUN_EXT). It cannot run outside the BEAM; beamnode carries it
/// unchanged so it can be stored and sent back.
///
/// `Clone`, `PartialEq`, `Hash` and `Debug` are iterative (see [`deep`]).
pub struct InternalFun {
    pub arity: u8,
    pub uniq: [u8; 16],
    pub index: u32,
    pub module: Atom,
    pub old_index: u32,
    pub old_uniq: u32,
    pub pid: Pid,
    pub free_vars: Terms,
}

/// A bitstring whose length is not a whole number of bytes (BIT_BINARY_EXT).
/// `bits` (1..=8) is how many high bits of the last byte are used.
#[derive(Clone, PartialEq, Eq, Hash, Debug)]
pub struct BitBinary {
    pub bytes: Vec<u8>,
    pub bits: u8,
}

/// A sequence of terms: the elements of a tuple or of a list.
///
/// Dropping, cloning, comparing, hashing and printing it never recurse, however deep
/// the nesting (see the module docs).
#[derive(Default)]
pub struct Terms(Vec<Term>);

impl Terms {
    pub fn new(v: Vec<Term>) -> Self {
        Terms(v)
    }
    /// Takes the elements out (leaving this empty).
    pub fn into_vec(mut self) -> Vec<Term> {
        std::mem::take(&mut self.0)
    }
}

impl Deref for Terms {
    type Target = Vec<Term>;
    fn deref(&self) -> &Vec<Term> {
        &self.0
    }
}
impl DerefMut for Terms {
    fn deref_mut(&mut self) -> &mut Vec<Term> {
        &mut self.0
    }
}
impl From<Vec<Term>> for Terms {
    fn from(v: Vec<Term>) -> Self {
        Terms(v)
    }
}
impl FromIterator<Term> for Terms {
    fn from_iter<I: IntoIterator<Item = Term>>(iter: I) -> Self {
        Terms(iter.into_iter().collect())
    }
}

impl Drop for Terms {
    fn drop(&mut self) {
        let mut nested = Vec::new();
        defer_nested(&mut self.0, &mut nested);
        drop_iteratively(nested);
        // The elements left are shallow: the vector's own drop does not recurse.
    }
}

/// A list whose last tail is not `[]`. `elements` is never empty.
///
/// Equality follows the list it denotes: a hand-built `[1 | [2]]` equals `[1, 2]`.
pub struct ImproperList {
    pub elements: Terms,
    pub tail: Box<Term>,
}

impl Drop for ImproperList {
    fn drop(&mut self) {
        if holds_terms(&self.tail) {
            drop_iteratively(vec![std::mem::replace(&mut *self.tail, Term::Nil)]);
        }
    }
}

/// A map. Entries keep the order they were decoded or inserted in; equality ignores
/// order (maps are unordered in Erlang). Keys are unique (the decoder rejects
/// duplicates, §6.2).
///
/// Equality and hashing ignore entry order without quadratic cost: both walk the
/// entries sorted by key (see [`deep`]).
#[derive(Default)]
pub struct Map(Vec<(Term, Term)>);

impl Map {
    pub fn new() -> Self {
        Map(Vec::new())
    }
    /// Builds a map from entries; a later duplicate key replaces the earlier value.
    pub fn from_entries(entries: Vec<(Term, Term)>) -> Self {
        let mut m = Map(Vec::with_capacity(entries.len()));
        for (k, v) in entries {
            m.insert(k, v);
        }
        m
    }
    /// Wraps entries the caller has already checked to have unique keys.
    pub(crate) fn from_unique_entries(entries: Vec<(Term, Term)>) -> Self {
        Map(entries)
    }
    pub fn get(&self, key: &Term) -> Option<&Term> {
        self.0.iter().find(|(k, _)| k == key).map(|(_, v)| v)
    }
    pub fn insert(&mut self, key: Term, value: Term) -> Option<Term> {
        for (k, v) in self.0.iter_mut() {
            if *k == key {
                return Some(std::mem::replace(v, value));
            }
        }
        self.0.push((key, value));
        None
    }
    pub fn len(&self) -> usize {
        self.0.len()
    }
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }
    pub fn iter(&self) -> std::slice::Iter<'_, (Term, Term)> {
        self.0.iter()
    }
    pub fn entries(&self) -> &[(Term, Term)] {
        &self.0
    }
    /// Takes the entries out (leaving this empty).
    pub fn into_entries(mut self) -> Vec<(Term, Term)> {
        std::mem::take(&mut self.0)
    }
}

impl Drop for Map {
    fn drop(&mut self) {
        let mut nested = Vec::new();
        defer_entries(&mut self.0, &mut nested);
        drop_iteratively(nested);
    }
}

/// A native record (EEP 79, OTP 29+; NATIVE_RECORD tag 67 on the wire): `#module:name{field = value, …}`.
///
/// `fields` keep their wire (definition) order. `exported` is the record's
/// `-export_record` flag; it takes part in equality and order, as in OTP (an exported
/// and a non-exported record with the same fields are not `=:=`). Dropping it never
/// recurses into its values.
pub struct NativeRecord {
    pub module: Atom,
    pub name: Atom,
    pub exported: bool,
    pub fields: Vec<(Atom, Term)>,
}

impl Drop for NativeRecord {
    fn drop(&mut self) {
        let mut nested = Vec::new();
        defer_fields(&mut self.fields, &mut nested);
        drop_iteratively(nested);
    }
}

/// An Erlang term.
///
/// Integers that fit in an `i64` are always [`Term::Int`]; [`Term::BigInt`] holds only
/// values outside that range (the codec normalises). Strings are lists of integers, as
/// in Erlang: STRING_EXT decodes to [`Term::List`] and the encoder picks STRING_EXT when
/// every element is an integer in 0..=255.
///
/// `Clone`, `PartialEq`/`Eq`, `Hash`, `Ord` and `Debug` are iterative (see [`deep`]).
pub enum Term {
    Atom(Atom),
    Int(i64),
    BigInt(BigInt),
    Float(Float),
    Pid(Pid),
    Port(Port),
    Ref(Reference),
    /// A binary. Cloning shares the bytes (reference-counted, as a refc binary on
    /// BEAM); one decoded from a large message is a slice of that message.
    Binary(Bytes),
    BitBinary(BitBinary),
    Tuple(Terms),
    /// `[]`.
    Nil,
    /// A proper, non-empty list. (An empty `List` is accepted and means `[]`, but the
    /// decoder always produces [`Term::Nil`] for `[]`.)
    List(Terms),
    ImproperList(ImproperList),
    Map(Map),
    ExportFun(ExportFun),
    InternalFun(Box<InternalFun>),
    /// A native record (OTP 29+), see [`NativeRecord`].
    Record(Box<NativeRecord>),
}

impl Term {
    /// An atom term.
    pub fn atom(name: &str) -> Term {
        Term::Atom(Atom::new(name))
    }
    /// A tuple term.
    pub fn tuple(elements: Vec<Term>) -> Term {
        Term::Tuple(Terms(elements))
    }
    /// A proper list (`[]` when empty).
    pub fn list(elements: Vec<Term>) -> Term {
        if elements.is_empty() {
            Term::Nil
        } else {
            Term::List(Terms(elements))
        }
    }
    /// `[e1, …, en | tail]`, normalised: a `[]` tail gives a proper list and a list
    /// tail is appended.
    pub fn improper_list(mut elements: Vec<Term>, tail: Term) -> Term {
        match tail {
            Term::Nil => Term::list(elements),
            Term::List(mut more) => {
                elements.append(&mut more);
                Term::list(elements)
            }
            Term::ImproperList(mut il) => {
                elements.append(&mut il.elements);
                let t = std::mem::replace(&mut *il.tail, Term::Nil);
                Term::improper_list(elements, t)
            }
            other if elements.is_empty() => other,
            other => Term::ImproperList(ImproperList {
                elements: Terms(elements),
                tail: Box::new(other),
            }),
        }
    }
    /// A binary term.
    pub fn binary(bytes: impl Into<Vec<u8>>) -> Term {
        Term::Binary(Bytes::from(bytes.into()))
    }
    /// A map term.
    pub fn map(entries: Vec<(Term, Term)>) -> Term {
        Term::Map(Map::from_entries(entries))
    }
    /// An Erlang string (list of code points), e.g. `"abc"` = `[97,98,99]`.
    pub fn string(s: &str) -> Term {
        Term::list(s.chars().map(|c| Term::Int(c as i64)).collect())
    }
    /// An integer term, normalised to [`Term::Int`] when it fits.
    pub fn from_bigint(b: BigInt) -> Term {
        use num_traits::ToPrimitive;
        match b.to_i64() {
            Some(i) => Term::Int(i),
            None => Term::BigInt(b),
        }
    }

    pub fn as_atom(&self) -> Option<&Atom> {
        match self {
            Term::Atom(a) => Some(a),
            _ => None,
        }
    }
    /// True when this is the atom `name`.
    pub fn is_atom(&self, name: &str) -> bool {
        matches!(self, Term::Atom(a) if a.as_str() == name)
    }
    pub fn as_int(&self) -> Option<i64> {
        match self {
            Term::Int(i) => Some(*i),
            _ => None,
        }
    }
    pub fn as_pid(&self) -> Option<&Pid> {
        match self {
            Term::Pid(p) => Some(p),
            _ => None,
        }
    }
    pub fn as_ref(&self) -> Option<&Reference> {
        match self {
            Term::Ref(r) => Some(r),
            _ => None,
        }
    }
    pub fn as_tuple(&self) -> Option<&[Term]> {
        match self {
            Term::Tuple(t) => Some(t),
            _ => None,
        }
    }
    /// Elements of a proper list (`[]` gives an empty slice).
    pub fn as_list(&self) -> Option<&[Term]> {
        match self {
            Term::Nil => Some(&[]),
            Term::List(l) => Some(l),
            _ => None,
        }
    }
    pub fn as_binary(&self) -> Option<&[u8]> {
        match self {
            Term::Binary(b) => Some(b),
            _ => None,
        }
    }
    pub fn as_map(&self) -> Option<&Map> {
        match self {
            Term::Map(m) => Some(m),
            _ => None,
        }
    }
    pub fn as_port(&self) -> Option<&Port> {
        match self {
            Term::Port(p) => Some(p),
            _ => None,
        }
    }
    pub fn as_float(&self) -> Option<f64> {
        match self {
            Term::Float(f) => Some(f.0),
            _ => None,
        }
    }
    /// The atoms `true` and `false` (Erlang has no other booleans).
    pub fn as_bool(&self) -> Option<bool> {
        match self {
            Term::Atom(a) if a == "true" => Some(true),
            Term::Atom(a) if a == "false" => Some(false),
            _ => None,
        }
    }
    /// True for `undefined` (Erlang's "no value") and `nil` (Elixir's): what
    /// `Option::None` converts from (see [`rust_types`]).
    pub fn is_undefined(&self) -> bool {
        matches!(self, Term::Atom(a) if a == "undefined" || a == "nil")
    }

    // The `into_*` accessors move the contents out and give the term back unchanged
    // when it has another type, so a caller can try the next shape without a clone.

    pub fn into_atom(self) -> Result<Atom, Term> {
        match self {
            Term::Atom(a) => Ok(a),
            other => Err(other),
        }
    }
    pub fn into_pid(self) -> Result<Pid, Term> {
        match self {
            Term::Pid(p) => Ok(p),
            other => Err(other),
        }
    }
    pub fn into_ref(self) -> Result<Reference, Term> {
        match self {
            Term::Ref(r) => Ok(r),
            other => Err(other),
        }
    }
    /// The bytes of a binary (shared, not copied).
    pub fn into_binary(self) -> Result<Bytes, Term> {
        match self {
            Term::Binary(b) => Ok(b),
            other => Err(other),
        }
    }
    /// The elements of a tuple.
    pub fn into_tuple(self) -> Result<Vec<Term>, Term> {
        match self {
            Term::Tuple(ts) => Ok(ts.into_vec()),
            other => Err(other),
        }
    }
    /// The elements of a proper list (`[]` gives an empty vector).
    pub fn into_list(self) -> Result<Vec<Term>, Term> {
        match self {
            Term::Nil => Ok(Vec::new()),
            Term::List(ts) => Ok(ts.into_vec()),
            other => Err(other),
        }
    }
    pub fn into_map(self) -> Result<Map, Term> {
        match self {
            Term::Map(m) => Ok(m),
            other => Err(other),
        }
    }
}

impl From<Atom> for Term {
    fn from(a: Atom) -> Self {
        Term::Atom(a)
    }
}
impl From<Pid> for Term {
    fn from(p: Pid) -> Self {
        Term::Pid(p)
    }
}
impl From<Reference> for Term {
    fn from(r: Reference) -> Self {
        Term::Ref(r)
    }
}
impl From<f64> for Term {
    fn from(f: f64) -> Self {
        Term::Float(Float(f))
    }
}
impl From<BigInt> for Term {
    fn from(b: BigInt) -> Self {
        Term::from_bigint(b)
    }
}
impl From<Vec<u8>> for Term {
    fn from(b: Vec<u8>) -> Self {
        Term::Binary(Bytes::from(b))
    }
}
impl From<Bytes> for Term {
    fn from(b: Bytes) -> Self {
        Term::Binary(b)
    }
}
impl From<&[u8]> for Term {
    fn from(b: &[u8]) -> Self {
        Term::Binary(Bytes::copy_from_slice(b))
    }
}
impl From<bool> for Term {
    fn from(b: bool) -> Self {
        Term::atom(if b { "true" } else { "false" })
    }
}

/// Whether `t` holds other terms, so that dropping it as is could recurse.
fn holds_terms(t: &Term) -> bool {
    match t {
        Term::Tuple(ts) | Term::List(ts) => !ts.0.is_empty(),
        Term::ImproperList(_) | Term::Map(_) | Term::Record(_) => true,
        Term::InternalFun(f) => !f.free_vars.0.is_empty(),
        _ => false,
    }
}

/// Empties `items`: each element that holds other terms moves onto `stack`, the rest
/// (integers, atoms, binaries, pids...) are dropped on the spot, and the vector's
/// buffer is freed. A flat list or a map of scalars costs no extra allocation.
///
/// The vector is not left to its own drop: the compiler's drop glue for `[Term]` calls
/// the whole out-of-line `Term` destructor for every element, which for a list of
/// integers was most of the cost of dropping it. Here each element is looked at once,
/// in place, and only those that own something are moved out.
fn defer_nested(items: &mut Vec<Term>, stack: &mut Vec<Term>) {
    for t in items.iter_mut() {
        if !is_plain(t) {
            defer_or_drop(std::mem::replace(t, Term::Nil), stack);
        }
    }
    free_plain(items);
}

/// [`defer_nested`] for a map's keys and values.
fn defer_entries(entries: &mut Vec<(Term, Term)>, stack: &mut Vec<Term>) {
    for (k, v) in entries.iter_mut() {
        if !is_plain(k) {
            defer_or_drop(std::mem::replace(k, Term::Nil), stack);
        }
        if !is_plain(v) {
            defer_or_drop(std::mem::replace(v, Term::Nil), stack);
        }
    }
    free_plain(entries);
}

/// A term that owns nothing (no heap data, no destructor to run).
#[inline(always)]
fn is_plain(t: &Term) -> bool {
    matches!(t, Term::Int(_) | Term::Float(_) | Term::Nil)
}

/// Frees the buffer of a vector whose elements all own nothing ([`is_plain`]) without
/// running their destructors one by one. Leaking the drain empties the vector without
/// visiting its elements (they would be leaked, but there is nothing to leak); were
/// the elements still there, the assignment would drop them normally: correct either
/// way, and safe code.
#[inline(always)]
fn free_plain<T>(items: &mut Vec<T>) {
    std::mem::forget(items.drain(..));
    *items = Vec::new();
}

/// [`defer_nested`] for a native record's field values.
fn defer_fields(fields: &mut Vec<(Atom, Term)>, stack: &mut Vec<Term>) {
    for (_, v) in std::mem::take(fields) {
        defer_or_drop(v, stack);
    }
}

/// Moves `t` onto `stack` when it holds other terms, else drops it: the variants
/// without a destructor are forgotten (nothing to free) and the common ones with a
/// small destructor are dropped inline, so only the rare rest reach `Term`'s drop.
#[inline(always)]
fn defer_or_drop(t: Term, stack: &mut Vec<Term>) {
    if holds_terms(&t) {
        if stack.capacity() == 0 {
            // One allocation for the usual nesting instead of growing 4, 8, 16.
            stack.reserve(16);
        }
        stack.push(t);
        return;
    }
    match t {
        // Nothing owned: forgetting frees nothing and skips the destructor call.
        Term::Int(_) | Term::Float(_) | Term::Nil => std::mem::forget(t),
        Term::Atom(a) => drop(a),
        Term::Binary(b) => drop(b),
        Term::Pid(p) => drop(p),
        other => drop(other),
    }
}

/// Drops terms without recursing, however deep they are nested: before a container is
/// dropped, its elements that are themselves containers move onto the explicit stack,
/// so the container's own drop only meets shallow terms.
fn drop_iteratively(mut stack: Vec<Term>) {
    while let Some(t) = stack.pop() {
        match t {
            // The vectors are emptied and freed here, so that `t`'s own drop does not
            // look through them a second time; what is left of a tuple, list or map
            // is an empty vector that owns no buffer, so it is forgotten rather than
            // sent through the destructors again.
            Term::Tuple(mut ts) | Term::List(mut ts) => {
                defer_nested(&mut ts.0, &mut stack);
                std::mem::forget(ts);
            }
            Term::Map(mut m) => {
                defer_entries(&mut m.0, &mut stack);
                std::mem::forget(m);
            }
            Term::ImproperList(mut il) => {
                defer_nested(&mut il.elements.0, &mut stack);
                let tail = std::mem::replace(&mut *il.tail, Term::Nil);
                defer_or_drop(tail, &mut stack);
            }
            Term::InternalFun(mut f) => defer_nested(&mut f.free_vars.0, &mut stack),
            Term::Record(mut r) => defer_fields(&mut r.fields, &mut stack),
            // `t` is shallow; dropping it does not recurse.
            other => drop(other),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn deep_nesting_drops_without_stack_overflow() {
        let mut t = Term::Nil;
        for _ in 0..1_000_000 {
            t = Term::list(vec![t]);
        }
        let mut m = Term::Nil;
        for _ in 0..200_000 {
            m = Term::map(vec![(Term::Int(1), m)]);
            m = Term::tuple(vec![m]);
            m = Term::improper_list(vec![Term::Int(1)], m);
        }
        let mut r = Term::Nil;
        for _ in 0..300_000 {
            r = Term::Record(Box::new(NativeRecord {
                module: Atom::new("m"),
                name: Atom::new("r"),
                exported: true,
                fields: vec![(Atom::new("f"), r)],
            }));
        }
        drop(t);
        drop(m);
        drop(r);
    }

    #[test]
    fn improper_list_normalises() {
        let t = Term::improper_list(vec![Term::Int(1)], Term::list(vec![Term::Int(2)]));
        assert_eq!(t, Term::list(vec![Term::Int(1), Term::Int(2)]));
        let t = Term::improper_list(vec![], Term::Int(3));
        assert_eq!(t, Term::Int(3));
    }

    #[test]
    fn map_equality_ignores_order() {
        let a = Term::map(vec![
            (Term::Int(1), Term::atom("a")),
            (Term::Int(2), Term::atom("b")),
        ]);
        let b = Term::map(vec![
            (Term::Int(2), Term::atom("b")),
            (Term::Int(1), Term::atom("a")),
        ]);
        assert_eq!(a, b);
    }
}

//! Conversions between [`Term`] and Rust's own types: `From<T> for Term` to build
//! messages (`proc.send(&pid, (Term::atom("ok"), 42, "text").into())`) and
//! `TryFrom<Term>` / `TryFrom<&Term>` to take them apart, failing with a
//! [`TermConvertError`] that says what was expected and what was found.
//!
//! The mapping, chosen to be what an Erlang or Elixir program sends and expects:
//!
//! | Rust | Term | Back (`TryFrom`) also accepts |
//! |---|---|---|
//! | `i8`…`i64`, `u16`…`u64`, `isize`, `usize`, `i128`, `u128`, `BigInt` | integer (big when outside `i64`) | — (out of range is an error) |
//! | `f64`, `f32` | float | — (an integer is not a float, as in `=:=`) |
//! | `bool` | atom `true` / `false` | — |
//! | `&str`, `String` | binary (UTF-8) | charlist (`"abc"` in Erlang), atom |
//! | `Vec<u8>`, `&[u8]` | binary | — |
//! | `Vec<T>` | proper list | — |
//! | `(A, B, …)` (arity 1 to 8) | tuple | — |
//! | `()` | atom `ok` | — |
//! | `Option<T>` | `None` → atom `undefined`, `Some(v)` → `v` | `nil` for `None` |
//! | `HashMap<K, V>`, `BTreeMap<K, V>` | map | — |
//! | `Atom`, `Pid`, `Port`, `Reference`, `Map` | themselves | — |
//!
//! Why these choices:
//!
//! * **Strings are binaries.** Elixir strings *are* UTF-8 binaries, and modern Erlang
//!   code (`string`, `unicode`, JSON libraries, `logger` metadata) uses binaries for
//!   text too. A charlist is a list of integers, one cons cell per character; it is what
//!   old Erlang APIs take, and [`Term::string`] builds one explicitly. Decoding takes
//!   all three text forms so a Rust `String` field reads whatever the peer sent.
//! * **`u8` is the byte.** `Vec<u8>` and `&[u8]` already mean a binary, so `u8` itself
//!   has no integer conversion: with one, `Vec<u8>` would have to be both a binary and
//!   a list of integers. Use any other integer width for a small number.
//! * **`None` is `undefined`.** It is OTP's word for "no value": unset record fields,
//!   `proplists:get_value/2`, `whereis/1`, `application:get_env/2`, `ets` defaults, and
//!   what edp-rs' `erltf_serde` produces. Elixir's `nil` is also an atom, so decoding
//!   accepts `nil` as `None` too; an Elixir program matching on `nil` should be sent
//!   `Term::atom("nil")` explicitly.
//! * **`()` is `ok`.** A BEAM function with nothing to return returns `ok`, so a Rust
//!   `()` reply reads naturally to the caller. The empty tuple `{}` is
//!   `Term::tuple(vec![])`.
//! * **Floats and integers stay apart**, as `=:=` keeps them apart.
//!
//! None of these recurse deeper than the Rust type they convert to or from: taking a
//! `Vec<Vec<i64>>` out of a term looks two levels down, however deep the term is.

use super::{Atom, Bytes, Float, Map, Pid, Port, Reference, Term};
use num_bigint::BigInt;
use std::collections::{BTreeMap, HashMap};
use std::convert::Infallible;
use std::fmt::{self, Write};
use std::hash::Hash;

/// A term that does not have the shape a conversion asked for.
#[derive(Debug, thiserror::Error, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum TermConvertError {
    /// The term is of another type (an atom where an integer was expected, …).
    #[error("expected {expected}, found {found}")]
    Mismatch {
        /// What the conversion takes, e.g. `"integer"`, `"tuple of 2 elements"`.
        expected: &'static str,
        /// The term found, its type and its start in Erlang syntax (cut to 64 bytes,
        /// so a huge hostile term cannot make the message huge).
        found: String,
    },
    /// An integer outside the range of the Rust integer asked for.
    #[error("integer {value} does not fit in {target}")]
    OutOfRange { target: &'static str, value: String },
    /// A binary or charlist that is not valid UTF-8 / Unicode, for a Rust string.
    #[error("{0} is not valid Unicode text")]
    NotText(&'static str),
    /// A tuple with another number of elements than the Rust tuple.
    #[error("expected a tuple of {expected} elements, found one of {found}")]
    Arity { expected: usize, found: usize },
}

impl From<Infallible> for TermConvertError {
    fn from(never: Infallible) -> Self {
        match never {}
    }
}

impl TermConvertError {
    /// A [`TermConvertError::Mismatch`] for `found`.
    pub fn mismatch(expected: &'static str, found: &Term) -> Self {
        TermConvertError::Mismatch {
            expected,
            found: describe(found),
        }
    }
}

/// The type of a term, as Erlang's documentation names it.
pub fn kind_name(t: &Term) -> &'static str {
    match t {
        Term::Atom(_) => "atom",
        Term::Int(_) | Term::BigInt(_) => "integer",
        Term::Float(_) => "float",
        Term::Pid(_) => "pid",
        Term::Port(_) => "port",
        Term::Ref(_) => "reference",
        Term::Binary(_) => "binary",
        Term::BitBinary(_) => "bitstring",
        Term::Tuple(_) => "tuple",
        Term::Nil | Term::List(_) => "list",
        Term::ImproperList(_) => "improper list",
        Term::Map(_) => "map",
        Term::ExportFun(_) | Term::InternalFun(_) => "fun",
        Term::Record(_) => "record",
    }
}

/// How many bytes of a term's printed form an error message keeps.
const DESCRIBE_LIMIT: usize = 64;

/// `"atom foo"`, `"list [1,2,3]"`, `"binary <<\"a very long …"`: the type and the start
/// of the printed term. Printing stops at the limit, so this is cheap on any term.
pub fn describe(t: &Term) -> String {
    struct Bounded(String);
    impl Write for Bounded {
        fn write_str(&mut self, s: &str) -> fmt::Result {
            for c in s.chars() {
                if self.0.len() + c.len_utf8() > DESCRIBE_LIMIT {
                    self.0.push('…');
                    // Stops the printer: the rest is never formatted.
                    return Err(fmt::Error);
                }
                self.0.push(c);
            }
            Ok(())
        }
    }
    let mut out = Bounded(format!("{} ", kind_name(t)));
    let _ = write!(out, "{t}");
    out.0
}

// ---- integers -------------------------------------------------------------------------

/// Integers that always fit in [`Term::Int`].
macro_rules! small_int {
    ($($t:ty),*) => {$(
        impl From<$t> for Term {
            fn from(i: $t) -> Term {
                Term::Int(i64::from(i))
            }
        }
    )*};
}
small_int!(i8, i16, i32, i64, u16, u32);

/// Integers that may need a [`Term::BigInt`].
macro_rules! wide_int {
    ($($t:ty),*) => {$(
        impl From<$t> for Term {
            fn from(i: $t) -> Term {
                match i64::try_from(i) {
                    Ok(small) => Term::Int(small),
                    Err(_) => Term::BigInt(BigInt::from(i)),
                }
            }
        }
    )*};
}
wide_int!(isize, usize, u64, i128, u128);

macro_rules! int_from_term {
    ($($t:ty),*) => {$(
        impl TryFrom<&Term> for $t {
            type Error = TermConvertError;
            fn try_from(t: &Term) -> Result<$t, TermConvertError> {
                let fits = match t {
                    Term::Int(i) => <$t>::try_from(*i).ok(),
                    Term::BigInt(b) => <$t>::try_from(b).ok(),
                    _ => return Err(TermConvertError::mismatch("integer", t)),
                };
                fits.ok_or_else(|| TermConvertError::OutOfRange {
                    target: stringify!($t),
                    value: describe(t).split_off("integer ".len()),
                })
            }
        }
        impl TryFrom<Term> for $t {
            type Error = TermConvertError;
            fn try_from(t: Term) -> Result<$t, TermConvertError> {
                <$t>::try_from(&t)
            }
        }
    )*};
}
int_from_term!(i8, i16, i32, i64, isize, u16, u32, u64, usize, i128, u128);

impl TryFrom<&Term> for BigInt {
    type Error = TermConvertError;
    fn try_from(t: &Term) -> Result<BigInt, TermConvertError> {
        match t {
            Term::Int(i) => Ok(BigInt::from(*i)),
            Term::BigInt(b) => Ok(b.clone()),
            _ => Err(TermConvertError::mismatch("integer", t)),
        }
    }
}
impl TryFrom<Term> for BigInt {
    type Error = TermConvertError;
    fn try_from(t: Term) -> Result<BigInt, TermConvertError> {
        match t {
            Term::BigInt(b) => Ok(b),
            other => BigInt::try_from(&other),
        }
    }
}

// ---- floats, booleans, unit -----------------------------------------------------------

impl From<f32> for Term {
    fn from(f: f32) -> Self {
        Term::Float(Float(f64::from(f)))
    }
}
impl TryFrom<&Term> for f64 {
    type Error = TermConvertError;
    fn try_from(t: &Term) -> Result<f64, TermConvertError> {
        t.as_float()
            .ok_or_else(|| TermConvertError::mismatch("float", t))
    }
}
impl TryFrom<Term> for f64 {
    type Error = TermConvertError;
    fn try_from(t: Term) -> Result<f64, TermConvertError> {
        f64::try_from(&t)
    }
}
impl TryFrom<&Term> for bool {
    type Error = TermConvertError;
    fn try_from(t: &Term) -> Result<bool, TermConvertError> {
        t.as_bool()
            .ok_or_else(|| TermConvertError::mismatch("boolean (atom true or false)", t))
    }
}
impl TryFrom<Term> for bool {
    type Error = TermConvertError;
    fn try_from(t: Term) -> Result<bool, TermConvertError> {
        bool::try_from(&t)
    }
}

/// `()` is the atom `ok` (see the module docs).
impl From<()> for Term {
    fn from(_: ()) -> Self {
        Term::atom("ok")
    }
}
impl TryFrom<&Term> for () {
    type Error = TermConvertError;
    fn try_from(t: &Term) -> Result<(), TermConvertError> {
        if t.is_atom("ok") {
            Ok(())
        } else {
            Err(TermConvertError::mismatch("atom ok", t))
        }
    }
}
impl TryFrom<Term> for () {
    type Error = TermConvertError;
    fn try_from(t: Term) -> Result<(), TermConvertError> {
        <()>::try_from(&t)
    }
}

// ---- text and bytes -------------------------------------------------------------------

impl From<&str> for Term {
    /// A UTF-8 binary (an Elixir string); [`Term::string`] makes a charlist.
    fn from(s: &str) -> Self {
        Term::Binary(Bytes::copy_from_slice(s.as_bytes()))
    }
}
impl From<String> for Term {
    /// A UTF-8 binary (an Elixir string); [`Term::string`] makes a charlist.
    fn from(s: String) -> Self {
        Term::Binary(Bytes::from(s.into_bytes()))
    }
}
impl From<&String> for Term {
    fn from(s: &String) -> Self {
        Term::from(s.as_str())
    }
}

/// The text of a charlist: a proper list of Unicode code points (`[]` is `""`).
pub(crate) fn charlist_text(t: &Term) -> Option<Result<String, TermConvertError>> {
    let elements = t.as_list()?;
    let mut s = String::with_capacity(elements.len());
    for e in elements {
        let c = match e {
            Term::Int(i) => u32::try_from(*i).ok().and_then(char::from_u32),
            _ => return None,
        };
        match c {
            Some(c) => s.push(c),
            None => return Some(Err(TermConvertError::NotText("charlist"))),
        }
    }
    Some(Ok(s))
}

impl TryFrom<&Term> for String {
    type Error = TermConvertError;
    /// A UTF-8 binary, a charlist or an atom.
    fn try_from(t: &Term) -> Result<String, TermConvertError> {
        match t {
            Term::Binary(b) => std::str::from_utf8(b)
                .map(str::to_owned)
                .map_err(|_| TermConvertError::NotText("binary")),
            Term::Atom(a) => Ok(a.as_str().to_owned()),
            _ => charlist_text(t).unwrap_or_else(|| Err(TermConvertError::mismatch("text", t))),
        }
    }
}
impl TryFrom<Term> for String {
    type Error = TermConvertError;
    fn try_from(t: Term) -> Result<String, TermConvertError> {
        match t {
            Term::Binary(b) => {
                String::from_utf8(Vec::from(b)).map_err(|_| TermConvertError::NotText("binary"))
            }
            other => String::try_from(&other),
        }
    }
}
impl<'a> TryFrom<&'a Term> for &'a str {
    type Error = TermConvertError;
    /// A UTF-8 binary or an atom, borrowed (a charlist needs [`String`]).
    fn try_from(t: &'a Term) -> Result<&'a str, TermConvertError> {
        match t {
            Term::Binary(b) => {
                std::str::from_utf8(b).map_err(|_| TermConvertError::NotText("binary"))
            }
            Term::Atom(a) => Ok(a.as_str()),
            _ => Err(TermConvertError::mismatch("binary or atom", t)),
        }
    }
}
impl<'a> TryFrom<&'a Term> for &'a [u8] {
    type Error = TermConvertError;
    fn try_from(t: &'a Term) -> Result<&'a [u8], TermConvertError> {
        t.as_binary()
            .ok_or_else(|| TermConvertError::mismatch("binary", t))
    }
}
impl TryFrom<Term> for Vec<u8> {
    type Error = TermConvertError;
    /// A binary's bytes (a `Vec<u8>` is a binary, never a list; see the module docs).
    fn try_from(t: Term) -> Result<Vec<u8>, TermConvertError> {
        t.into_binary()
            .map(Vec::from)
            .map_err(|t| TermConvertError::mismatch("binary", &t))
    }
}

// ---- identifiers and maps -------------------------------------------------------------

impl From<Port> for Term {
    fn from(p: Port) -> Self {
        Term::Port(p)
    }
}
impl From<Map> for Term {
    fn from(m: Map) -> Self {
        Term::Map(m)
    }
}

/// `TryFrom<Term>` and `TryFrom<&Term>` (cloning) for a type a variant holds.
macro_rules! variant_from_term {
    ($t:ty, $variant:ident, $expected:literal) => {
        impl TryFrom<Term> for $t {
            type Error = TermConvertError;
            fn try_from(t: Term) -> Result<$t, TermConvertError> {
                match t {
                    Term::$variant(v) => Ok(v),
                    other => Err(TermConvertError::mismatch($expected, &other)),
                }
            }
        }
        impl TryFrom<&Term> for $t {
            type Error = TermConvertError;
            fn try_from(t: &Term) -> Result<$t, TermConvertError> {
                match t {
                    Term::$variant(v) => Ok(v.clone()),
                    other => Err(TermConvertError::mismatch($expected, other)),
                }
            }
        }
    };
}
variant_from_term!(Atom, Atom, "atom");
variant_from_term!(Pid, Pid, "pid");
variant_from_term!(Port, Port, "port");
variant_from_term!(Reference, Ref, "reference");

impl TryFrom<Term> for Map {
    type Error = TermConvertError;
    fn try_from(t: Term) -> Result<Map, TermConvertError> {
        t.into_map()
            .map_err(|t| TermConvertError::mismatch("map", &t))
    }
}

// ---- containers -----------------------------------------------------------------------

/// A proper list of the converted elements. (`Vec<u8>` is a binary instead, see the
/// module docs; this impl cannot apply to it because `u8` has no conversion.)
impl<T: Into<Term>> From<Vec<T>> for Term {
    fn from(v: Vec<T>) -> Self {
        Term::list(v.into_iter().map(Into::into).collect())
    }
}

impl<T> TryFrom<Term> for Vec<T>
where
    T: TryFrom<Term>,
    T::Error: Into<TermConvertError>,
{
    type Error = TermConvertError;
    fn try_from(t: Term) -> Result<Vec<T>, TermConvertError> {
        t.into_list()
            .map_err(|t| TermConvertError::mismatch("proper list", &t))?
            .into_iter()
            .map(|e| T::try_from(e).map_err(Into::into))
            .collect()
    }
}

/// `None` is `undefined` (see the module docs).
impl<T: Into<Term>> From<Option<T>> for Term {
    fn from(o: Option<T>) -> Self {
        match o {
            Some(v) => v.into(),
            None => Term::atom("undefined"),
        }
    }
}

impl Term {
    /// `undefined` and `nil` are `None`; anything else must convert to `T`.
    ///
    /// A generic `TryFrom<Term> for Option<T>` cannot exist (std already converts any
    /// `T` into `Some(T)`, which covers `Option<Term>`), so `TryFrom` is implemented for
    /// `Option` of the scalar types and of `Vec<T>`, and this method does it for any `T`.
    pub fn try_into_option<T>(self) -> Result<Option<T>, TermConvertError>
    where
        T: TryFrom<Term>,
        T::Error: Into<TermConvertError>,
    {
        if self.is_undefined() {
            Ok(None)
        } else {
            T::try_from(self).map(Some).map_err(Into::into)
        }
    }
}

macro_rules! option_from_term {
    ($($t:ty),*) => {$(
        impl TryFrom<Term> for Option<$t> {
            type Error = TermConvertError;
            /// `undefined` and `nil` are `None`.
            fn try_from(t: Term) -> Result<Self, TermConvertError> {
                t.try_into_option()
            }
        }
    )*};
}
option_from_term!(
    i8,
    i16,
    i32,
    i64,
    isize,
    u16,
    u32,
    u64,
    usize,
    i128,
    u128,
    BigInt,
    f64,
    bool,
    String,
    Vec<u8>,
    Atom,
    Pid,
    Port,
    Reference,
    Map
);

impl<T> TryFrom<Term> for Option<Vec<T>>
where
    T: TryFrom<Term>,
    T::Error: Into<TermConvertError>,
{
    type Error = TermConvertError;
    /// `undefined` and `nil` are `None`.
    fn try_from(t: Term) -> Result<Self, TermConvertError> {
        t.try_into_option()
    }
}

fn map_entries<K, V>(t: Term) -> Result<Vec<(K, V)>, TermConvertError>
where
    K: TryFrom<Term>,
    K::Error: Into<TermConvertError>,
    V: TryFrom<Term>,
    V::Error: Into<TermConvertError>,
{
    t.into_map()
        .map_err(|t| TermConvertError::mismatch("map", &t))?
        .into_entries()
        .into_iter()
        .map(|(k, v)| {
            Ok((
                K::try_from(k).map_err(Into::into)?,
                V::try_from(v).map_err(Into::into)?,
            ))
        })
        .collect()
}

impl<K: Into<Term>, V: Into<Term>, S> From<HashMap<K, V, S>> for Term {
    fn from(m: HashMap<K, V, S>) -> Self {
        Term::map(m.into_iter().map(|(k, v)| (k.into(), v.into())).collect())
    }
}
impl<K: Into<Term>, V: Into<Term>> From<BTreeMap<K, V>> for Term {
    fn from(m: BTreeMap<K, V>) -> Self {
        Term::map(m.into_iter().map(|(k, v)| (k.into(), v.into())).collect())
    }
}
impl<K, V, S> TryFrom<Term> for HashMap<K, V, S>
where
    K: TryFrom<Term> + Eq + Hash,
    K::Error: Into<TermConvertError>,
    V: TryFrom<Term>,
    V::Error: Into<TermConvertError>,
    S: std::hash::BuildHasher + Default,
{
    type Error = TermConvertError;
    fn try_from(t: Term) -> Result<Self, TermConvertError> {
        Ok(map_entries(t)?.into_iter().collect())
    }
}
impl<K, V> TryFrom<Term> for BTreeMap<K, V>
where
    K: TryFrom<Term> + Ord,
    K::Error: Into<TermConvertError>,
    V: TryFrom<Term>,
    V::Error: Into<TermConvertError>,
{
    type Error = TermConvertError;
    fn try_from(t: Term) -> Result<Self, TermConvertError> {
        Ok(map_entries(t)?.into_iter().collect())
    }
}

/// `From` and `TryFrom` for a Rust tuple of the given arity and the Erlang tuple.
macro_rules! tuple_conversions {
    ($n:literal; $($name:ident),+) => {
        impl<$($name: Into<Term>),+> From<($($name,)+)> for Term {
            #[allow(non_snake_case)]
            fn from(($($name,)+): ($($name,)+)) -> Self {
                Term::tuple(vec![$($name.into()),+])
            }
        }
        impl<$($name),+> TryFrom<Term> for ($($name,)+)
        where
            $($name: TryFrom<Term>, $name::Error: Into<TermConvertError>,)+
        {
            type Error = TermConvertError;
            fn try_from(t: Term) -> Result<Self, TermConvertError> {
                let elements = t
                    .into_tuple()
                    .map_err(|t| TermConvertError::mismatch(
                        concat!("tuple of ", $n, " elements"), &t))?;
                if elements.len() != $n {
                    return Err(TermConvertError::Arity { expected: $n, found: elements.len() });
                }
                let mut it = elements.into_iter();
                Ok(($(
                    match it.next() {
                        Some(e) => $name::try_from(e).map_err(Into::into)?,
                        None => return Err(TermConvertError::Arity { expected: $n, found: 0 }),
                    },
                )+))
            }
        }
    };
}
tuple_conversions!(1; A);
tuple_conversions!(2; A, B);
tuple_conversions!(3; A, B, C);
tuple_conversions!(4; A, B, C, D);
tuple_conversions!(5; A, B, C, D, E);
tuple_conversions!(6; A, B, C, D, E, F);
tuple_conversions!(7; A, B, C, D, E, F, G);
tuple_conversions!(8; A, B, C, D, E, F, G, H);

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn integers_of_every_width_round_trip() {
        assert_eq!(Term::from(-5i8), Term::Int(-5));
        assert_eq!(Term::from(u64::MAX), Term::BigInt(BigInt::from(u64::MAX)));
        assert_eq!(Term::from(i64::MAX as u64), Term::Int(i64::MAX));
        assert_eq!(Term::from(i128::MIN), Term::BigInt(BigInt::from(i128::MIN)));
        assert_eq!(u64::try_from(Term::from(u64::MAX)), Ok(u64::MAX));
        assert_eq!(i128::try_from(Term::from(i128::MIN)), Ok(i128::MIN));
        assert_eq!(u16::try_from(&Term::Int(65535)), Ok(65535));
        assert_eq!(
            u16::try_from(&Term::Int(65536)),
            Err(TermConvertError::OutOfRange {
                target: "u16",
                value: "65536".into()
            })
        );
        assert_eq!(
            i64::try_from(Term::from(u64::MAX)),
            Err(TermConvertError::OutOfRange {
                target: "i64",
                value: u64::MAX.to_string()
            })
        );
    }

    #[test]
    fn mismatch_names_what_was_found() {
        let e = i64::try_from(Term::atom("hello")).unwrap_err();
        assert_eq!(e.to_string(), "expected integer, found atom hello");
        let e = String::try_from(Term::tuple(vec![Term::Int(1)])).unwrap_err();
        assert_eq!(e.to_string(), "expected text, found tuple {1}");
        // A huge term is cut short in the message.
        let big = Term::list((0..100_000).map(Term::Int).collect());
        let e = Pid::try_from(&big).unwrap_err();
        assert!(e.to_string().len() < 120, "{e}");
    }

    #[test]
    fn text_is_a_binary_and_reads_from_every_text_form() {
        assert_eq!(Term::from("héllo"), Term::binary("héllo".as_bytes()));
        assert_eq!(
            String::try_from(Term::from("héllo")).as_deref(),
            Ok("héllo")
        );
        assert_eq!(
            String::try_from(Term::string("héllo")).as_deref(),
            Ok("héllo")
        );
        assert_eq!(
            String::try_from(Term::atom("héllo")).as_deref(),
            Ok("héllo")
        );
        assert_eq!(String::try_from(Term::Nil).as_deref(), Ok(""));
        assert_eq!(
            String::try_from(Term::binary(vec![0xff])),
            Err(TermConvertError::NotText("binary"))
        );
        assert_eq!(
            String::try_from(Term::list(vec![Term::Int(0xD800)])),
            Err(TermConvertError::NotText("charlist"))
        );
        let t = Term::from("abc");
        assert_eq!(<&str>::try_from(&t), Ok("abc"));
        assert_eq!(
            Vec::<u8>::try_from(Term::from(vec![1u8, 2])),
            Ok(vec![1, 2])
        );
    }

    #[test]
    fn containers() {
        let t = Term::from(vec![1i64, 2, 3]);
        assert_eq!(
            t,
            Term::list(vec![Term::Int(1), Term::Int(2), Term::Int(3)])
        );
        assert_eq!(Vec::<i64>::try_from(t), Ok(vec![1, 2, 3]));
        assert_eq!(Vec::<i64>::try_from(Term::Nil), Ok(vec![]));
        assert!(
            Vec::<i64>::try_from(Term::improper_list(vec![Term::Int(1)], Term::Int(2))).is_err()
        );

        let t = Term::from((Term::atom("ok"), 42i32, "x"));
        assert_eq!(
            t,
            Term::tuple(vec![Term::atom("ok"), Term::Int(42), Term::binary("x")])
        );
        let (tag, n, s): (Atom, i32, String) = t.try_into().unwrap();
        assert_eq!((tag.as_str(), n, s.as_str()), ("ok", 42, "x"));
        assert_eq!(
            <(i64, i64)>::try_from(Term::tuple(vec![Term::Int(1)])),
            Err(TermConvertError::Arity {
                expected: 2,
                found: 1
            })
        );

        let m: HashMap<String, i64> = [("a".to_string(), 1)].into();
        let t = Term::from(m.clone());
        assert_eq!(t, Term::map(vec![(Term::binary("a"), Term::Int(1))]));
        assert_eq!(HashMap::<String, i64>::try_from(t), Ok(m));
        let b: BTreeMap<Atom, bool> = [(Atom::new("k"), true)].into();
        assert_eq!(BTreeMap::try_from(Term::from(b.clone())), Ok(b));
    }

    #[test]
    fn option_unit_and_bool() {
        assert_eq!(Term::from(None::<i64>), Term::atom("undefined"));
        assert_eq!(Term::from(Some(7i64)), Term::Int(7));
        assert_eq!(Option::<i64>::try_from(Term::atom("undefined")), Ok(None));
        assert_eq!(Option::<i64>::try_from(Term::atom("nil")), Ok(None));
        assert_eq!(Option::<i64>::try_from(Term::Int(7)), Ok(Some(7)));
        assert_eq!(Term::from(()), Term::atom("ok"));
        assert_eq!(<()>::try_from(Term::atom("ok")), Ok(()));
        assert_eq!(bool::try_from(Term::from(true)), Ok(true));
        assert!(bool::try_from(Term::atom("yes")).is_err());
        assert_eq!(f64::try_from(Term::from(1.5f32)), Ok(1.5));
        assert!(f64::try_from(Term::Int(1)).is_err());
    }
}

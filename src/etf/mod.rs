//! External Term Format codec (docs/protocol.md §6).
//!
//! Both directions are *iterative* (explicit stacks, no recursion), so a term nested a
//! million levels deep — which OTP itself will happily decode and send — is decoded,
//! encoded and dropped on a normal 2 MiB thread. Decoding is *total*: every input gives
//! a term or a [`DecodeError`], and no length field can make the decoder reserve more
//! memory than the bytes that actually arrived justify (every element needs at least one
//! byte, so capacities are capped by the remaining input).
//!
//! Native records (OTP 29, tag 67) are decoded and encoded too: OTP 29 sends them to
//! any peer, whether or not it offered the DFLAG_NATIVE_RECORDS flag.
//!
//! The encoder writes what OTP 25–29 `term_to_binary/1` writes (and what OTP sends over
//! distribution when no atom cache is used), so a decoded OTP term re-encodes to the same
//! bytes. It refuses terms a peer would reject by killing the connection (§6.2, §15.7):
//! see [`EncodeError`].

mod compressed;
mod decode;
mod encode;
mod keyorder;
mod spliced;

pub use compressed::encode_compressed;
pub use decode::{decode, decode_body, decode_body_shared, decode_with, SHARE_MIN};
pub(crate) use decode::{decode_body_noting_records, TupleReader};
pub(crate) use encode::encode_body_noting_records;
pub use encode::{encode, encode_body_into, encode_into};
pub(crate) use encode::{write_atom, write_int};
pub use spliced::{Mark, Output, Spliced, SEND_SHARE_MIN};

/// The version byte that starts a standalone encoded term.
pub const VERSION_MAGIC: u8 = 131;

/// Tag bytes (§6.1), named as in OTP's `external.h`.
pub mod tag {
    pub const NEW_FLOAT_EXT: u8 = 70;
    pub const BIT_BINARY_EXT: u8 = 77;
    pub const COMPRESSED: u8 = 80;
    pub const ATOM_CACHE_REF: u8 = 82;
    pub const NEW_PID_EXT: u8 = 88;
    pub const NEW_PORT_EXT: u8 = 89;
    pub const NEWER_REFERENCE_EXT: u8 = 90;
    pub const SMALL_INTEGER_EXT: u8 = 97;
    pub const INTEGER_EXT: u8 = 98;
    pub const FLOAT_EXT: u8 = 99;
    pub const ATOM_EXT: u8 = 100;
    pub const REFERENCE_EXT: u8 = 101;
    pub const PORT_EXT: u8 = 102;
    pub const PID_EXT: u8 = 103;
    pub const SMALL_TUPLE_EXT: u8 = 104;
    pub const LARGE_TUPLE_EXT: u8 = 105;
    pub const NIL_EXT: u8 = 106;
    pub const STRING_EXT: u8 = 107;
    pub const LIST_EXT: u8 = 108;
    pub const BINARY_EXT: u8 = 109;
    pub const SMALL_BIG_EXT: u8 = 110;
    pub const LARGE_BIG_EXT: u8 = 111;
    pub const NEW_FUN_EXT: u8 = 112;
    pub const EXPORT_EXT: u8 = 113;
    pub const NEW_REFERENCE_EXT: u8 = 114;
    pub const SMALL_ATOM_EXT: u8 = 115;
    pub const MAP_EXT: u8 = 116;
    pub const ATOM_UTF8_EXT: u8 = 118;
    pub const SMALL_ATOM_UTF8_EXT: u8 = 119;
    pub const V4_PORT_EXT: u8 = 120;
    pub const LOCAL_EXT: u8 = 121;
    /// A native record (EEP 79, OTP 29): `Arity:u32`, `Flags:u8` (bit 0: exported),
    /// module atom, name atom, `Arity` field-name atoms, then `Arity` values.
    pub const NATIVE_RECORD_EXT: u8 = 67;
}

/// Why a term could not be decoded. Decoding is total: any input gives a term or one
/// of these, never a panic.
#[derive(Debug, thiserror::Error, PartialEq, Eq, Clone)]
#[non_exhaustive]
pub enum DecodeError {
    #[error("input ended early (needed {needed} more bytes at offset {offset})")]
    Truncated { offset: usize, needed: usize },
    #[error("unknown term tag {tag} at offset {offset}")]
    UnknownTag { tag: u8, offset: usize },
    #[error("missing version byte 131 (found {0})")]
    BadVersion(u8),
    #[error("{0} trailing bytes after the term")]
    TrailingBytes(usize),
    #[error("term nested more than {limit} levels deep (at offset {offset})")]
    TooDeep { offset: usize, limit: usize },
    #[error("invalid term at offset {offset}: {reason}")]
    Invalid { offset: usize, reason: &'static str },
    /// An atom longer than 255 characters, or not valid UTF-8 (§6.2).
    #[error("invalid atom at offset {offset}: {reason}")]
    BadAtom { offset: usize, reason: &'static str },
    /// NEW_FLOAT_EXT / FLOAT_EXT holding NaN or an infinity, or unparsable float text.
    #[error("non-finite or malformed float at offset {offset}")]
    BadFloat { offset: usize },
    /// A map with two equal keys (OTP refuses these, §6.2).
    #[error("duplicate key in map at offset {offset}")]
    DuplicateMapKey { offset: usize },
    /// `ATOM_CACHE_REF` without a distribution header atom cache, or past its end (§4.3).
    #[error("atom cache reference {index} at offset {offset} cannot be resolved")]
    AtomCacheRef { index: u8, offset: usize },
    /// `COMPRESSED` where it is not allowed (inside distribution messages, or nested).
    #[error("compressed term not allowed here (offset {offset})")]
    CompressedNotAllowed { offset: usize },
    /// The zlib data is corrupt or does not inflate to exactly the declared size.
    #[error("bad compressed term: {reason}")]
    BadCompressed { reason: &'static str },
    /// `LOCAL_EXT` (tag 121, OTP 26+): an encoding only the node that produced it can
    /// decode (see [`decode_body`] docs).
    #[error("LOCAL_EXT term at offset {offset}: only the node that encoded it can decode it")]
    LocalExt { offset: usize },
}

/// Why a term could not be encoded: it holds something a peer would reject, and OTP
/// tears the whole connection down on a bad term (§6.2, §15.7).
#[derive(Debug, thiserror::Error, PartialEq, Eq, Clone)]
#[non_exhaustive]
pub enum EncodeError {
    #[error("float {0} is not finite")]
    NonFiniteFloat(String),
    #[error("atom has {chars} characters (at most 255 allowed)")]
    AtomTooLong { chars: usize },
    #[error("reference has {0} id words (1..=5 allowed)")]
    BadReference(usize),
    #[error("bit binary with {bits} bits in the last of {bytes} bytes (bits must be 1..=8, bytes non-empty)")]
    BadBitBinary { bits: u8, bytes: usize },
    #[error("{what} too large for the external term format")]
    TooLarge { what: &'static str },
    #[error("compression failed: {0}")]
    Compression(String),
}

/// Default [`DecodeOptions::max_depth`] of distribution connections
/// ([`crate::NodeConfig::max_term_depth`]): 2^20 levels. OTP sends and accepts a term a
/// million levels deep, so this stays above that.
pub const DEFAULT_MAX_DEPTH: usize = 1 << 20;

/// Decoding context. `Default`: no atom cache, no COMPRESSED, no depth limit.
#[derive(Debug, Clone)]
pub struct DecodeOptions<'a> {
    /// Atoms of the current distribution header (§4.3); `ATOM_CACHE_REF` (82) is only
    /// valid when this is present and the index is in range.
    pub atom_cache: Option<&'a [Atom]>,
    /// Accept COMPRESSED (80). Only at the top level of `binary_to_term`, never inside
    /// distribution messages (§6.1).
    pub allow_compressed: bool,
    /// Containers (tuples, lists, maps, funs, records) that may be open at once; a
    /// deeper term fails with [`DecodeError::TooDeep`]. OTP itself has no such limit,
    /// and nothing in this crate recurses per level, so this is a bound on the memory
    /// one term may take while it is decoded (about 150 bytes a level) and a guard for
    /// application code that does recurse. `usize::MAX` for no limit.
    pub max_depth: usize,
}

impl Default for DecodeOptions<'_> {
    fn default() -> Self {
        DecodeOptions {
            atom_cache: None,
            allow_compressed: false,
            max_depth: usize::MAX,
        }
    }
}

use crate::term::Atom;

//! External Term Format codec (protocol-notes §6).
//!
//! OWNED BY THE ETF WORK ITEM — this file currently holds the public API that the rest
//! of the crate programs against; bodies are filled in by that work.

use crate::term::{Atom, Term};

/// The version byte that starts a standalone encoded term.
pub const VERSION_MAGIC: u8 = 131;

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
    #[error("invalid term at offset {offset}: {reason}")]
    Invalid { offset: usize, reason: &'static str },
}

/// Decoding context.
#[derive(Debug, Clone, Default)]
pub struct DecodeOptions<'a> {
    /// Atoms of the current distribution header (§4.3); `ATOM_CACHE_REF` (82) is only
    /// valid when this is present and the index is in range.
    pub atom_cache: Option<&'a [Atom]>,
    /// Accept COMPRESSED (80). Only at the top level of `binary_to_term`, never inside
    /// distribution messages (§6.1).
    pub allow_compressed: bool,
}

/// Decodes a standalone term: version byte 131, then the term (COMPRESSED allowed),
/// with no trailing bytes.
pub fn decode(bytes: &[u8]) -> Result<Term, DecodeError> {
    let _ = bytes;
    todo!("etf work item")
}

/// Decodes one term with no version byte from the start of `bytes`, as found after a
/// distribution header; returns the term and how many bytes it used.
pub fn decode_body(bytes: &[u8], opts: &DecodeOptions<'_>) -> Result<(Term, usize), DecodeError> {
    let _ = (bytes, opts);
    todo!("etf work item")
}

/// Encodes `term` with the version byte, as `term_to_binary/1` would.
pub fn encode(term: &Term) -> Vec<u8> {
    let mut out = Vec::new();
    encode_into(term, &mut out);
    out
}

/// Appends the version byte and `term` to `out`.
pub fn encode_into(term: &Term, out: &mut Vec<u8>) {
    out.push(VERSION_MAGIC);
    encode_body_into(term, out);
}

/// Appends `term` without a version byte (the form used after a distribution header).
pub fn encode_body_into(term: &Term, out: &mut Vec<u8>) {
    let _ = (term, out);
    todo!("etf work item")
}

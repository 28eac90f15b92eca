//! The iterative, total ETF decoder (§6.1, §6.2).
//!
//! Containers are decoded with an explicit stack of [`Frame`]s, so nesting depth is
//! bounded only by the input size and [`DecodeOptions::max_depth`] (unlimited for
//! [`decode`], as in OTP's `binary_to_term`; a node's setting for distribution). Lists whose tail is another `LIST_EXT`/`STRING_EXT`
//! are merged into one frame as they are read (OTP never produces such tails, but a
//! hostile peer can), which keeps `[1|[2|[3|…]]]` linear instead of quadratic and its
//! stack flat.

use super::keyorder::{check_unique_keys, check_unique_names};
use super::{compressed, tag, DecodeError, DecodeOptions, VERSION_MAGIC};
use crate::term::{
    Atom, BitBinary, ExportFun, Float, InternalFun, Map, NativeRecord, Pid, Port, Reference, Term,
    Terms,
};
use bytes::Bytes;

mod leaves;
mod tuple_reader;

pub(crate) use tuple_reader::TupleReader;

type Result<T> = std::result::Result<T, DecodeError>;

/// Decodes a standalone term, as `binary_to_term/1` does: version byte 131, then the
/// term (COMPRESSED allowed), with no trailing bytes. No atom cache.
pub fn decode(bytes: &[u8]) -> Result<Term> {
    decode_with(
        bytes,
        &DecodeOptions {
            atom_cache: None,
            allow_compressed: true,
            max_depth: usize::MAX,
        },
    )
}

/// Like [`decode`] (version byte, no trailing bytes) but with explicit options, e.g.
/// for pass-through distribution payloads where COMPRESSED must be refused (§6.1).
///
/// Offsets in errors from inside a COMPRESSED term count from the start of the
/// inflated data, not of `bytes`.
pub fn decode_with(bytes: &[u8], opts: &DecodeOptions<'_>) -> Result<Term> {
    match bytes.first() {
        None => {
            return Err(DecodeError::Truncated {
                offset: 0,
                needed: 1,
            })
        }
        Some(&VERSION_MAGIC) => {}
        Some(&other) => return Err(DecodeError::BadVersion(other)),
    }
    let (term, end) = decode_at(bytes, 1, opts)?;
    if end != bytes.len() {
        return Err(DecodeError::TrailingBytes(bytes.len() - end));
    }
    Ok(term)
}

/// Decodes one term with no version byte from the start of `bytes`, as found after a
/// distribution header (§4.3); returns the term and how many bytes it used.
///
/// `LOCAL_EXT` (121): OTP 26+ documents it as "an alternative local external term
/// format intended to only be decoded by a specific local decoder", produced by
/// `term_to_binary(T, [local])`; the bytes after the tag are unspecified and guarded by
/// a node-specific hash. A foreign node cannot interpret them, so we return
/// [`DecodeError::LocalExt`] instead of guessing.
pub fn decode_body(bytes: &[u8], opts: &DecodeOptions<'_>) -> Result<(Term, usize)> {
    decode_at(bytes, 0, opts)
}

/// Binaries at least this long are shared with a [`Bytes`] input rather than copied.
/// BEAM copies binaries of up to 64 bytes onto the process heap and shares larger ones;
/// a shared slice keeps the whole input alive, which is why small ones are copied.
pub const SHARE_MIN: usize = 64;

/// [`decode_body`] of a shared buffer: binaries of [`SHARE_MIN`] bytes or more in the
/// term are slices of `bytes` (no copy), so a large binary received costs no more than
/// the message that carried it.
pub fn decode_body_shared(bytes: &Bytes, opts: &DecodeOptions<'_>) -> Result<(Term, usize)> {
    decode_in(bytes, Some(bytes), 0, opts).map(|(t, n, _)| (t, n))
}

/// [`decode_body`] or [`decode_body_shared`] (when `shared` is given, the same bytes),
/// also telling whether the term holds a native record: distribution refuses one from a
/// peer that did not negotiate NATIVE_RECORDS.
pub(crate) fn decode_body_noting_records(
    bytes: &[u8],
    shared: Option<&Bytes>,
    opts: &DecodeOptions<'_>,
) -> Result<(Term, usize, bool)> {
    decode_in(bytes, shared, 0, opts)
}

fn decode_at(bytes: &[u8], pos: usize, opts: &DecodeOptions<'_>) -> Result<(Term, usize)> {
    decode_in(bytes, None, pos, opts).map(|(t, n, _)| (t, n))
}

fn decode_in(
    bytes: &[u8],
    shared: Option<&Bytes>,
    pos: usize,
    opts: &DecodeOptions<'_>,
) -> Result<(Term, usize, bool)> {
    if opts.allow_compressed && bytes.get(pos) == Some(&tag::COMPRESSED) {
        let (data, end) = compressed::inflate_term(bytes, pos)?;
        let mut inner = Decoder {
            buf: &data,
            shared: None,
            records: false,
            long_atom: None,
            pos: 0,
            cache: opts.atom_cache,
            max_depth: opts.max_depth,
        };
        let term = inner.term()?;
        if inner.pos != data.len() {
            return Err(DecodeError::BadCompressed {
                reason: "inflated data has bytes after the term",
            });
        }
        return Ok((term, end, inner.records));
    }
    let mut d = Decoder {
        buf: bytes,
        shared,
        records: false,
        long_atom: None,
        pos,
        cache: opts.atom_cache,
        max_depth: opts.max_depth,
    };
    let term = d.term()?;
    Ok((term, d.pos, d.records))
}

/// A container being filled.
enum Frame {
    Tuple {
        items: Vec<Term>,
        left: usize,
    },
    /// `left` elements still to come; when it is 0 the next term is the tail.
    List {
        items: Vec<Term>,
        left: usize,
    },
    Map {
        offset: usize,
        entries: Vec<(Term, Term)>,
        key: Option<Term>,
        /// Keys plus values still to come.
        left: u64,
    },
    Fun {
        header: Box<FunHeader>,
        items: Vec<Term>,
        left: usize,
    },
    /// A native record whose header and field names are read; its values come next.
    Record {
        header: Box<RecordHeader>,
        values: Vec<Term>,
        left: usize,
    },
}

struct RecordHeader {
    module: Atom,
    name: Atom,
    exported: bool,
    names: Vec<Atom>,
}

struct FunHeader {
    /// Offset of the `Size` field; Size counts from there.
    size_at: usize,
    size: u32,
    arity: u8,
    uniq: [u8; 16],
    index: u32,
    module: Atom,
    old_index: u32,
    old_uniq: u32,
    pid: Pid,
}

enum Head {
    Leaf(Term),
    Open(Frame),
}

struct Decoder<'a> {
    buf: &'a [u8],
    /// `buf` as a shared buffer, when the caller has one: binaries of
    /// [`SHARE_MIN`] bytes or more are then slices of it instead of copies.
    shared: Option<&'a Bytes>,
    /// A native record was decoded (the distribution layer checks the peer's flag).
    records: bool,
    pos: usize,
    cache: Option<&'a [Atom]>,
    /// The last atom made from ASCII or UTF-8 text too long to be stored inline (a node
    /// name, as a rule): the same text again is a clone of it (a reference count)
    /// instead of an allocation. The pids and references of a term mostly name one
    /// node. Atom-cache references and non-ASCII Latin-1 atoms leave it as it is.
    long_atom: Option<Atom>,
    /// Containers open at once before the term is refused ([`DecodeOptions::max_depth`]).
    max_depth: usize,
}

impl<'a> Decoder<'a> {
    fn remaining(&self) -> usize {
        self.buf.len() - self.pos
    }
    /// A capacity for `n` elements that the remaining input can justify (each element
    /// takes at least one byte).
    fn cap(&self, n: u64) -> usize {
        usize::try_from(n)
            .unwrap_or(usize::MAX)
            .min(self.remaining())
    }
    /// A `BINARY_EXT` body of `n` bytes: shared with the input when it can be, as
    /// BEAM keeps a large binary of a received message as a sub-binary.
    fn binary(&mut self, n: usize) -> Result<Term> {
        let at = self.pos;
        let data = self.take(n)?;
        Ok(Term::Binary(match self.shared {
            Some(src) if n >= SHARE_MIN => src.slice(at..at + n),
            _ => Bytes::copy_from_slice(data),
        }))
    }
    fn take(&mut self, n: usize) -> Result<&'a [u8]> {
        let rem = self.remaining();
        if rem < n {
            return Err(DecodeError::Truncated {
                offset: self.pos,
                needed: n - rem,
            });
        }
        let s = &self.buf[self.pos..self.pos + n];
        self.pos += n;
        Ok(s)
    }
    fn array<const N: usize>(&mut self) -> Result<[u8; N]> {
        let s = self.take(N)?;
        let mut a = [0u8; N];
        a.copy_from_slice(s);
        Ok(a)
    }
    fn u8(&mut self) -> Result<u8> {
        Ok(self.array::<1>()?[0])
    }
    fn u16(&mut self) -> Result<u16> {
        Ok(u16::from_be_bytes(self.array()?))
    }
    fn u32(&mut self) -> Result<u32> {
        Ok(u32::from_be_bytes(self.array()?))
    }
    fn u64(&mut self) -> Result<u64> {
        Ok(u64::from_be_bytes(self.array()?))
    }
    fn invalid(&self, offset: usize, reason: &'static str) -> DecodeError {
        DecodeError::Invalid { offset, reason }
    }

    /// Decodes one complete term.
    fn term(&mut self) -> Result<Term> {
        let mut stack: Vec<Frame> = Vec::new();
        loop {
            // A list frame waiting for its tail: merge list-shaped tails into it.
            if let Some(Frame::List { items, left: 0 }) = stack.last_mut() {
                match self.buf.get(self.pos).copied() {
                    Some(tag::LIST_EXT) => {
                        self.pos += 1;
                        let n = self.u32()? as u64;
                        let cap = self.cap(n);
                        items.reserve(cap);
                        if let Some(Frame::List { left, .. }) = stack.last_mut() {
                            *left = n as usize;
                        }
                        continue;
                    }
                    Some(tag::NIL_EXT) | Some(tag::STRING_EXT) => {
                        if self.buf[self.pos] == tag::NIL_EXT {
                            self.pos += 1;
                        } else {
                            self.pos += 1;
                            let n = self.u16()? as usize;
                            let bytes = self.take(n)?;
                            items.extend(bytes.iter().map(|&b| Term::Int(b as i64)));
                        }
                        let Some(Frame::List { items, .. }) = stack.pop() else {
                            return Err(frame_mismatch());
                        };
                        let value = Term::list(items);
                        if let Some(t) = self.deliver(&mut stack, value)? {
                            return Ok(t);
                        }
                        continue;
                    }
                    _ => {}
                }
            }
            // Integers and floats inside a list or tuple that they do not fill are
            // written straight into it, skipping `head`'s general path (truncated or
            // invalid ones take that path and fail there as before).
            if let Some(Frame::List { items, left } | Frame::Tuple { items, left }) =
                stack.last_mut()
            {
                if *left > 1 {
                    let n = self.number_run(items, *left - 1);
                    if n > 0 {
                        *left -= n;
                        continue;
                    }
                }
            }
            let at = self.pos;
            match self.head()? {
                Head::Open(frame) => {
                    // Each open container costs a frame here and a term later; the
                    // limit bounds both (list tails are merged above and do not count).
                    if stack.len() >= self.max_depth {
                        return Err(DecodeError::TooDeep {
                            offset: at,
                            limit: self.max_depth,
                        });
                    }
                    if stack.capacity() == 0 {
                        // One allocation for the usual nesting instead of growing
                        // 4, 8, 16.
                        stack.reserve(8);
                    }
                    stack.push(frame)
                }
                Head::Leaf(value) => {
                    // The common case inline: a leaf that does not fill its container.
                    match stack.last_mut() {
                        Some(Frame::List { items, left }) if *left > 0 => {
                            items.push(value);
                            *left -= 1;
                            continue;
                        }
                        Some(Frame::Tuple { items, left }) if *left > 1 => {
                            items.push(value);
                            *left -= 1;
                            continue;
                        }
                        Some(Frame::Map {
                            entries, key, left, ..
                        }) if *left > 1 => {
                            match key.take() {
                                None => *key = Some(value),
                                Some(k) => entries.push((k, value)),
                            }
                            *left -= 1;
                            continue;
                        }
                        None => return Ok(value),
                        _ => {}
                    }
                    if let Some(t) = self.deliver(&mut stack, value)? {
                        return Ok(t);
                    }
                }
            }
        }
    }

    /// Hands a finished value to the innermost open container, closing containers as
    /// they fill up. Returns the whole term once the stack is empty.
    fn deliver(&mut self, stack: &mut Vec<Frame>, mut value: Term) -> Result<Option<Term>> {
        loop {
            let Some(top) = stack.last_mut() else {
                return Ok(Some(value));
            };
            match top {
                Frame::Tuple { items, left } => {
                    items.push(value);
                    *left -= 1;
                    if *left > 0 {
                        return Ok(None);
                    }
                    let Some(Frame::Tuple { items, .. }) = stack.pop() else {
                        return Err(frame_mismatch());
                    };
                    value = Term::Tuple(Terms::new(items));
                }
                Frame::List { items, left } => {
                    if *left > 0 {
                        items.push(value);
                        *left -= 1;
                        return Ok(None);
                    }
                    let Some(Frame::List { items, .. }) = stack.pop() else {
                        return Err(frame_mismatch());
                    };
                    value = Term::improper_list(items, value);
                }
                Frame::Map {
                    entries, key, left, ..
                } => {
                    match key.take() {
                        None => *key = Some(value),
                        Some(k) => entries.push((k, value)),
                    }
                    *left -= 1;
                    if *left > 0 {
                        return Ok(None);
                    }
                    let Some(Frame::Map {
                        offset, entries, ..
                    }) = stack.pop()
                    else {
                        return Err(frame_mismatch());
                    };
                    check_unique_keys(&entries, offset)?;
                    value = Term::Map(Map::from_unique_entries(entries));
                }
                Frame::Fun { items, left, .. } => {
                    items.push(value);
                    *left -= 1;
                    if *left > 0 {
                        return Ok(None);
                    }
                    let Some(Frame::Fun { header, items, .. }) = stack.pop() else {
                        return Err(frame_mismatch());
                    };
                    value = self.finish_fun(*header, items)?;
                }
                Frame::Record { values, left, .. } => {
                    values.push(value);
                    *left -= 1;
                    if *left > 0 {
                        return Ok(None);
                    }
                    let Some(Frame::Record { header, values, .. }) = stack.pop() else {
                        return Err(frame_mismatch());
                    };
                    value = finish_record(*header, values);
                }
            }
        }
    }

    fn finish_fun(&self, h: FunHeader, free_vars: Vec<Term>) -> Result<Term> {
        if (self.pos - h.size_at) as u64 != h.size as u64 {
            return Err(self.invalid(h.size_at, "NEW_FUN_EXT Size does not match its contents"));
        }
        Ok(Term::InternalFun(Box::new(InternalFun {
            arity: h.arity,
            uniq: h.uniq,
            index: h.index,
            module: h.module,
            old_index: h.old_index,
            old_uniq: h.old_uniq,
            pid: h.pid,
            free_vars: Terms::new(free_vars),
        })))
    }

    /// Appends to `items` the run of at most `max` integers or finite floats of one
    /// encoding (`SMALL_INTEGER_EXT`, `INTEGER_EXT` or `NEW_FLOAT_EXT`) at the read
    /// position, consumes them and returns how many; 0 (nothing consumed) when the
    /// next term is anything else, including a truncated or invalid number, which then
    /// takes `head`'s general path and fails there.
    ///
    /// The run is counted first and then appended by one `extend` over its bytes:
    /// that writes each term straight into the vector. Pushing terms one at a time
    /// built each on the stack and copied it (48 bytes, read back with loads wider
    /// than the stores that built it, which stalls); on a list of floats that copy was
    /// over half of the decoding time.
    #[inline(always)]
    fn number_run(&mut self, items: &mut Vec<Term>, max: usize) -> usize {
        let Some(rest) = self.buf.get(self.pos..) else {
            return 0;
        };
        let Some(&t) = rest.first() else {
            return 0;
        };
        let width = match t {
            tag::SMALL_INTEGER_EXT => 2,
            tag::INTEGER_EXT => 5,
            tag::NEW_FLOAT_EXT => 9,
            _ => return 0,
        };
        let run = rest
            .chunks_exact(width)
            .take(max)
            .take_while(|c| c[0] == t && (t != tag::NEW_FLOAT_EXT || float_bits(c).is_finite()))
            .count();
        let body = &rest[..run * width];
        match t {
            tag::SMALL_INTEGER_EXT => {
                items.extend(body.chunks_exact(2).map(|c| Term::Int(c[1] as i64)))
            }
            tag::INTEGER_EXT => items.extend(
                body.chunks_exact(5)
                    .map(|c| Term::Int(i32::from_be_bytes([c[1], c[2], c[3], c[4]]) as i64)),
            ),
            _ => items.extend(
                body.chunks_exact(9)
                    .map(|c| Term::Float(Float(float_bits(c)))),
            ),
        }
        self.pos += run * width;
        run
    }

    /// Reads one tag and either a whole leaf term or the header of a container.
    fn head(&mut self) -> Result<Head> {
        let at = self.pos;
        let t = self.u8()?;
        let leaf = match t {
            tag::SMALL_INTEGER_EXT => Term::Int(self.u8()? as i64),
            tag::INTEGER_EXT => Term::Int(self.u32()? as i32 as i64),
            tag::SMALL_BIG_EXT => {
                let n = self.u8()? as usize;
                self.big(n)?
            }
            tag::LARGE_BIG_EXT => {
                let n = self.u32()? as usize;
                // OTP's decoder limit on 64-bit builds (§6.1).
                if n > ((1 << 19) - 1) * 8 {
                    return Err(self.invalid(at, "bignum too large"));
                }
                self.big(n)?
            }
            tag::NEW_FLOAT_EXT => {
                let f = f64::from_bits(self.u64()?);
                if !f.is_finite() {
                    return Err(DecodeError::BadFloat { offset: at });
                }
                Term::Float(Float(f))
            }
            tag::FLOAT_EXT => {
                let text = self.take(31)?;
                let end = text.iter().position(|&b| b == 0).unwrap_or(31);
                let f = std::str::from_utf8(&text[..end])
                    .ok()
                    .and_then(|s| s.trim().parse::<f64>().ok())
                    .filter(|f| f.is_finite())
                    .ok_or(DecodeError::BadFloat { offset: at })?;
                Term::Float(Float(f))
            }
            tag::ATOM_EXT
            | tag::SMALL_ATOM_EXT
            | tag::ATOM_UTF8_EXT
            | tag::SMALL_ATOM_UTF8_EXT
            | tag::ATOM_CACHE_REF => Term::Atom(self.atom_body(t, at)?),
            tag::BINARY_EXT => {
                let n = self.u32()? as usize;
                self.binary(n)?
            }
            tag::BIT_BINARY_EXT => {
                let n = self.u32()? as usize;
                let bits = self.u8()?;
                let data = self.take(n)?;
                if bits > 8 || (bits == 0) != (n == 0) {
                    return Err(self.invalid(at, "BIT_BINARY_EXT bit count out of range"));
                }
                if bits == 8 || n == 0 {
                    Term::Binary(Bytes::copy_from_slice(data))
                } else {
                    let mut bytes = data.to_vec();
                    if let Some(last) = bytes.last_mut() {
                        *last &= 0xffu8 << (8 - bits);
                    }
                    Term::BitBinary(BitBinary { bytes, bits })
                }
            }
            tag::NIL_EXT => Term::Nil,
            tag::STRING_EXT => {
                let n = self.u16()? as usize;
                let bytes = self.take(n)?;
                Term::list(bytes.iter().map(|&b| Term::Int(b as i64)).collect())
            }
            tag::LIST_EXT => {
                let n = self.u32()?;
                return Ok(Head::Open(Frame::List {
                    items: Vec::with_capacity(self.cap(n as u64)),
                    left: n as usize,
                }));
            }
            tag::SMALL_TUPLE_EXT | tag::LARGE_TUPLE_EXT => {
                let n = if t == tag::SMALL_TUPLE_EXT {
                    self.u8()? as u32
                } else {
                    self.u32()?
                };
                if n == 0 {
                    Term::Tuple(Terms::default())
                } else {
                    return Ok(Head::Open(Frame::Tuple {
                        items: Vec::with_capacity(self.cap(n as u64)),
                        left: n as usize,
                    }));
                }
            }
            tag::MAP_EXT => {
                let n = self.u32()? as u64;
                if n == 0 {
                    Term::Map(Map::new())
                } else {
                    return Ok(Head::Open(Frame::Map {
                        offset: at,
                        entries: Vec::with_capacity(self.cap(n).min(self.remaining() / 2)),
                        key: None,
                        left: n * 2,
                    }));
                }
            }
            tag::NEW_PID_EXT | tag::PID_EXT => Term::Pid(self.pid_body(t, at)?),
            tag::NEW_PORT_EXT | tag::V4_PORT_EXT | tag::PORT_EXT => {
                let node = self.atom()?;
                let (id, creation) = match t {
                    tag::V4_PORT_EXT => (self.u64()?, self.u32()?),
                    tag::NEW_PORT_EXT => (self.u32()? as u64, self.u32()?),
                    _ => (self.u32()? as u64, self.old_creation(at)?),
                };
                Term::Port(Port { node, id, creation })
            }
            tag::NEWER_REFERENCE_EXT | tag::NEW_REFERENCE_EXT => {
                let len = self.u16()? as usize;
                if !(1..=5).contains(&len) {
                    return Err(self.invalid(at, "reference must have 1 to 5 id words"));
                }
                let node = self.atom()?;
                let creation = if t == tag::NEWER_REFERENCE_EXT {
                    self.u32()?
                } else {
                    self.old_creation(at)?
                };
                let mut ids = Vec::with_capacity(len);
                for _ in 0..len {
                    ids.push(self.u32()?);
                }
                Term::Ref(Reference {
                    node,
                    creation,
                    ids,
                })
            }
            tag::REFERENCE_EXT => {
                let node = self.atom()?;
                let id = self.u32()?;
                let creation = self.old_creation(at)?;
                Term::Ref(Reference {
                    node,
                    creation,
                    ids: vec![id],
                })
            }
            tag::EXPORT_EXT => {
                let module = self.atom()?;
                let function = self.atom()?;
                if self.u8()? != tag::SMALL_INTEGER_EXT {
                    return Err(self.invalid(at, "EXPORT_EXT arity must be SMALL_INTEGER_EXT"));
                }
                let arity = self.u8()?;
                Term::ExportFun(ExportFun {
                    module,
                    function,
                    arity,
                })
            }
            tag::NEW_FUN_EXT => {
                let size_at = self.pos;
                let size = self.u32()?;
                let arity = self.u8()?;
                let uniq = self.array::<16>()?;
                let index = self.u32()?;
                let num_free = self.u32()?;
                let module = self.atom()?;
                let old_index = self.fun_int()?;
                let old_uniq = self.fun_int()?;
                let pid_at = self.pos;
                let pid_tag = self.u8()?;
                let pid = self.pid_body(pid_tag, pid_at)?;
                let header = FunHeader {
                    size_at,
                    size,
                    arity,
                    uniq,
                    index,
                    module,
                    old_index,
                    old_uniq,
                    pid,
                };
                if num_free == 0 {
                    self.finish_fun(header, Vec::new())?
                } else {
                    return Ok(Head::Open(Frame::Fun {
                        header: Box::new(header),
                        items: Vec::with_capacity(self.cap(num_free as u64)),
                        left: num_free as usize,
                    }));
                }
            }
            tag::NATIVE_RECORD_EXT => {
                let n = self.u32()?;
                let exported = match self.u8()? {
                    0 => false,
                    1 => true,
                    _ => return Err(self.invalid(at, "NATIVE_RECORD_EXT flags must be 0 or 1")),
                };
                let module = self.atom_in("NATIVE_RECORD_EXT module must be an atom")?;
                let name = self.atom_in("NATIVE_RECORD_EXT name must be an atom")?;
                // Every field name takes at least two bytes: the capacity stays within
                // what arrived, and a hostile count fails as Truncated.
                let mut names = Vec::with_capacity(self.cap(n as u64) / 2);
                for _ in 0..n {
                    names.push(self.atom_in("NATIVE_RECORD_EXT field name must be an atom")?);
                }
                check_unique_names(&names, at)?;
                self.records = true;
                let header = RecordHeader {
                    module,
                    name,
                    exported,
                    names,
                };
                if n == 0 {
                    finish_record(header, Vec::new())
                } else {
                    return Ok(Head::Open(Frame::Record {
                        header: Box::new(header),
                        values: Vec::with_capacity(self.cap(n as u64)),
                        left: n as usize,
                    }));
                }
            }
            tag::COMPRESSED => return Err(DecodeError::CompressedNotAllowed { offset: at }),
            tag::LOCAL_EXT => return Err(DecodeError::LocalExt { offset: at }),
            other => {
                return Err(DecodeError::UnknownTag {
                    tag: other,
                    offset: at,
                })
            }
        };
        Ok(Head::Leaf(leaf))
    }
}

/// The float of a `NEW_FLOAT_EXT` chunk (tag, then 8 bytes big-endian).
#[inline(always)]
fn float_bits(chunk: &[u8]) -> f64 {
    let mut b = [0u8; 8];
    b.copy_from_slice(&chunk[1..9]);
    f64::from_be_bytes(b)
}

fn finish_record(h: RecordHeader, values: Vec<Term>) -> Term {
    Term::Record(Box::new(NativeRecord {
        module: h.module,
        name: h.name,
        exported: h.exported,
        fields: h.names.into_iter().zip(values).collect(),
    }))
}

/// The frame popped is always the one just matched on, so this is never returned; it
/// exists so that an impossible state is an error rather than a panic.
#[cold]
fn frame_mismatch() -> DecodeError {
    DecodeError::Invalid {
        offset: 0,
        reason: "internal decoder state mismatch",
    }
}

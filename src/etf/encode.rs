//! The iterative ETF encoder: writes what OTP's `term_to_binary/1` writes (§6.1).

use super::{tag, EncodeError, Output, VERSION_MAGIC};
use crate::term::{Atom, Pid, Term};
use num_bigint::{BigInt, Sign};
use num_traits::ToPrimitive;

type Result<T> = std::result::Result<T, EncodeError>;

/// Encodes `term` with the version byte, as `term_to_binary/1` would.
pub fn encode(term: &Term) -> Result<Vec<u8>> {
    let mut out = Vec::new();
    encode_into(term, &mut out)?;
    Ok(out)
}

/// Appends the version byte and `term` to `out`. On error `out` is left as it was.
pub fn encode_into(term: &Term, out: &mut Vec<u8>) -> Result<()> {
    let base = out.len();
    out.push(VERSION_MAGIC);
    let r = write_term(term, out);
    if r.is_err() {
        out.truncate(base);
    }
    r.map(drop)
}

/// Appends `term` without a version byte (the form used after a distribution header).
/// On error `out` is left as it was.
pub fn encode_body_into(term: &Term, out: &mut Vec<u8>) -> Result<()> {
    encode_body_noting_records(term, out).map(drop)
}

/// [`encode_body_into`] into any [`Output`], also telling whether the term holds a
/// native record (OTP 29's tag 67, which only a peer with DFLAG_NATIVE_RECORDS can
/// decode, §3.1). Large binaries go to [`Output::put_shared`] (shared by a
/// [`super::Spliced`], copied by a `Vec`). On error nothing is left appended.
pub(crate) fn encode_body_noting_records<O: Output + ?Sized>(
    term: &Term,
    out: &mut O,
) -> Result<bool> {
    let mark = out.mark();
    let r = write_term(term, out);
    if r.is_err() {
        out.rewind(mark);
    }
    r
}

enum Work<'a> {
    Term(&'a Term),
    Nil,
    /// Patch NEW_FUN_EXT's Size field at this offset once the free variables are out.
    FunSize(usize),
}

fn len32(n: usize, what: &'static str) -> Result<[u8; 4]> {
    u32::try_from(n)
        .map(u32::to_be_bytes)
        .map_err(|_| EncodeError::TooLarge { what })
}

/// Writes `term`; `Ok(true)` when it holds a native record.
fn write_term<O: Output + ?Sized>(term: &Term, o: &mut O) -> Result<bool> {
    let mut records = false;
    let mut stack = vec![Work::Term(term)];
    // Funs whose Size field is still open: inside one, binaries are copied, since the
    // size is patched from the buffer's length.
    let mut open_funs = 0usize;
    while let Some(w) = stack.pop() {
        let out = o.buf();
        let t = match w {
            Work::Term(t) => t,
            Work::Nil => {
                out.push(tag::NIL_EXT);
                continue;
            }
            Work::FunSize(at) => {
                open_funs -= 1;
                let size = len32(out.len() - at, "fun")?;
                out[at..at + 4].copy_from_slice(&size);
                continue;
            }
        };
        match t {
            Term::Atom(a) => write_atom(a, out)?,
            Term::Int(i) => write_int(*i, out),
            Term::BigInt(b) => write_bigint(b, out)?,
            Term::Float(f) => {
                if !f.0.is_finite() {
                    return Err(EncodeError::NonFiniteFloat(f.0.to_string()));
                }
                out.push(tag::NEW_FLOAT_EXT);
                out.extend_from_slice(&f.0.to_bits().to_be_bytes());
            }
            Term::Pid(p) => write_pid(p, out)?,
            Term::Port(p) => {
                // OTP (and erl_interface) use V4_PORT_EXT only when the number needs
                // more than 28 bits, NEW_PORT_EXT otherwise (§6.1).
                if p.id > 0x0fff_ffff {
                    out.push(tag::V4_PORT_EXT);
                    write_atom(&p.node, out)?;
                    out.extend_from_slice(&p.id.to_be_bytes());
                } else {
                    out.push(tag::NEW_PORT_EXT);
                    write_atom(&p.node, out)?;
                    out.extend_from_slice(&(p.id as u32).to_be_bytes());
                }
                out.extend_from_slice(&p.creation.to_be_bytes());
            }
            Term::Ref(r) => {
                if !(1..=5).contains(&r.ids.len()) {
                    return Err(EncodeError::BadReference(r.ids.len()));
                }
                out.push(tag::NEWER_REFERENCE_EXT);
                out.extend_from_slice(&(r.ids.len() as u16).to_be_bytes());
                write_atom(&r.node, out)?;
                out.extend_from_slice(&r.creation.to_be_bytes());
                for id in &r.ids {
                    out.extend_from_slice(&id.to_be_bytes());
                }
            }
            Term::Binary(b) => {
                out.push(tag::BINARY_EXT);
                out.extend_from_slice(&len32(b.len(), "binary")?);
                if open_funs == 0 {
                    o.put_shared(b);
                } else {
                    out.extend_from_slice(b);
                }
            }
            Term::BitBinary(bb) => {
                if !(1..=8).contains(&bb.bits) || bb.bytes.is_empty() {
                    return Err(EncodeError::BadBitBinary {
                        bits: bb.bits,
                        bytes: bb.bytes.len(),
                    });
                }
                out.push(tag::BIT_BINARY_EXT);
                out.extend_from_slice(&len32(bb.bytes.len(), "bitstring")?);
                out.push(bb.bits);
                out.extend_from_slice(&bb.bytes);
                // Unused low bits of the last byte go out as zero, as OTP sends them.
                if let Some(last) = out.last_mut() {
                    *last &= 0xffu8 << (8 - bb.bits);
                }
            }
            Term::Tuple(ts) => {
                if ts.len() < 256 {
                    out.push(tag::SMALL_TUPLE_EXT);
                    out.push(ts.len() as u8);
                } else {
                    out.push(tag::LARGE_TUPLE_EXT);
                    out.extend_from_slice(&len32(ts.len(), "tuple")?);
                }
                stack.extend(ts.iter().rev().map(Work::Term));
            }
            Term::Nil => out.push(tag::NIL_EXT),
            Term::List(ts) => {
                if ts.is_empty() {
                    out.push(tag::NIL_EXT);
                } else if ts.len() <= 65535 && ts.iter().all(|e| matches!(e, Term::Int(0..=255))) {
                    // STRING_EXT only for genuine bytes: eetf 0.12 also packs negative
                    // or large integers here, so [1,-2,3] arrives as [1,254,3].
                    out.push(tag::STRING_EXT);
                    out.extend_from_slice(&(ts.len() as u16).to_be_bytes());
                    out.extend(ts.iter().map(|e| match e {
                        Term::Int(i) => *i as u8,
                        _ => 0,
                    }));
                } else {
                    out.push(tag::LIST_EXT);
                    out.extend_from_slice(&len32(ts.len(), "list")?);
                    stack.push(Work::Nil);
                    stack.extend(ts.iter().rev().map(Work::Term));
                }
            }
            Term::ImproperList(il) => {
                if il.elements.is_empty() {
                    // Not a list at all: `[|T]` is just T.
                    stack.push(Work::Term(&il.tail));
                } else {
                    out.push(tag::LIST_EXT);
                    out.extend_from_slice(&len32(il.elements.len(), "list")?);
                    stack.push(Work::Term(&il.tail));
                    stack.extend(il.elements.iter().rev().map(Work::Term));
                }
            }
            Term::Map(m) => {
                out.push(tag::MAP_EXT);
                out.extend_from_slice(&len32(m.len(), "map")?);
                for (k, v) in m.entries().iter().rev() {
                    stack.push(Work::Term(v));
                    stack.push(Work::Term(k));
                }
            }
            Term::ExportFun(e) => {
                out.push(tag::EXPORT_EXT);
                write_atom(&e.module, out)?;
                write_atom(&e.function, out)?;
                out.push(tag::SMALL_INTEGER_EXT);
                out.push(e.arity);
            }
            Term::Record(r) => {
                records = true;
                out.push(tag::NATIVE_RECORD_EXT);
                out.extend_from_slice(&len32(r.fields.len(), "record")?);
                out.push(u8::from(r.exported));
                write_atom(&r.module, out)?;
                write_atom(&r.name, out)?;
                for (k, _) in &r.fields {
                    write_atom(k, out)?;
                }
                stack.extend(r.fields.iter().rev().map(|(_, v)| Work::Term(v)));
            }
            Term::InternalFun(f) => {
                out.push(tag::NEW_FUN_EXT);
                let size_at = out.len();
                out.extend_from_slice(&[0; 4]);
                out.push(f.arity);
                out.extend_from_slice(&f.uniq);
                out.extend_from_slice(&f.index.to_be_bytes());
                out.extend_from_slice(&len32(f.free_vars.len(), "fun environment")?);
                write_atom(&f.module, out)?;
                write_fun_int(f.old_index, out);
                write_fun_int(f.old_uniq, out);
                write_pid(&f.pid, out)?;
                open_funs += 1;
                stack.push(Work::FunSize(size_at));
                stack.extend(f.free_vars.iter().rev().map(Work::Term));
            }
        }
    }
    Ok(records)
}

/// SMALL_ATOM_UTF8_EXT when the UTF-8 text is under 256 bytes, else ATOM_UTF8_EXT.
pub(crate) fn write_atom(a: &Atom, out: &mut Vec<u8>) -> Result<()> {
    let s = a.as_str();
    if s.len() > 255 {
        let chars = s.chars().count();
        if chars > 255 {
            return Err(EncodeError::AtomTooLong { chars });
        }
        out.push(tag::ATOM_UTF8_EXT);
        out.extend_from_slice(&(s.len() as u16).to_be_bytes());
    } else {
        out.push(tag::SMALL_ATOM_UTF8_EXT);
        out.push(s.len() as u8);
    }
    out.extend_from_slice(s.as_bytes());
    Ok(())
}

fn write_pid(p: &Pid, out: &mut Vec<u8>) -> Result<()> {
    out.push(tag::NEW_PID_EXT);
    write_atom(&p.node, out)?;
    out.extend_from_slice(&p.id.to_be_bytes());
    out.extend_from_slice(&p.serial.to_be_bytes());
    out.extend_from_slice(&p.creation.to_be_bytes());
    Ok(())
}

pub(crate) fn write_int(i: i64, out: &mut Vec<u8>) {
    if (0..=255).contains(&i) {
        out.push(tag::SMALL_INTEGER_EXT);
        out.push(i as u8);
    } else if let Ok(i) = i32::try_from(i) {
        out.push(tag::INTEGER_EXT);
        out.extend_from_slice(&i.to_be_bytes());
    } else {
        let mag = i.unsigned_abs().to_le_bytes();
        let n = mag.iter().rposition(|&b| b != 0).map_or(0, |p| p + 1);
        out.push(tag::SMALL_BIG_EXT);
        out.push(n as u8);
        out.push(u8::from(i < 0));
        out.extend_from_slice(&mag[..n]);
    }
}

/// NEW_FUN_EXT OldIndex/OldUniq: an ordinary integer as OTP writes it.
fn write_fun_int(v: u32, out: &mut Vec<u8>) {
    write_int(v as i64, out)
}

fn write_bigint(b: &BigInt, out: &mut Vec<u8>) -> Result<()> {
    if let Some(i) = b.to_i64() {
        write_int(i, out);
        return Ok(());
    }
    let (sign, mag) = b.to_bytes_le();
    if mag.len() < 256 {
        out.push(tag::SMALL_BIG_EXT);
        out.push(mag.len() as u8);
    } else {
        out.push(tag::LARGE_BIG_EXT);
        out.extend_from_slice(&len32(mag.len(), "integer")?);
    }
    out.push(u8::from(sign == Sign::Minus));
    out.extend_from_slice(&mag);
    Ok(())
}

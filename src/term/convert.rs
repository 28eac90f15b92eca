//! Conversions between [`Term`] and `eetf::Term` (eetf 0.12), for code that
//! already speaks eetf.
//!
//! Both directions recurse, because eetf's own types do (they cannot even be dropped
//! iteratively); convert only terms of modest depth. Byte lists become ordinary lists of
//! integers: we never build `eetf::ByteList` from a list, since eetf 0.12's encoder
//! writes any `ByteList`-like data as STRING_EXT, and the beamnode encoder already picks
//! STRING_EXT where it is correct.
//!
//! `Term` → `eetf::Term` is a `TryFrom`: native records (OTP 29) have no eetf form and
//! give [`ToEetfError::NativeRecord`]; every other term converts.

use super::{Atom, BitBinary, ExportFun, Float, InternalFun, Pid, Port, Reference, Term};
use std::collections::HashMap;

/// An eetf term that has no beamnode equivalent (or that a peer would reject).
#[derive(Debug, thiserror::Error, PartialEq, Eq, Clone)]
#[non_exhaustive]
pub enum FromEetfError {
    /// `eetf::InternalFun::Old` (FUN_EXT), not decoded by OTP since 23.
    #[error("old-style fun (FUN_EXT) is not supported")]
    OldFun,
    #[error("float is not finite")]
    NonFiniteFloat,
    #[error("bit binary with {0} tail bits and no bytes")]
    BadBitBinary(u8),
}

/// A beamnode term that eetf 0.12 has no form for.
#[derive(Debug, thiserror::Error, PartialEq, Eq, Clone)]
#[non_exhaustive]
pub enum ToEetfError {
    /// A native record (OTP 29, tag 67): eetf 0.12 has no record term.
    #[error("native records have no eetf form")]
    NativeRecord,
}

fn atom_to(a: Atom) -> eetf::Atom {
    eetf::Atom::from(a.as_str())
}

fn pid_to(p: Pid) -> eetf::Pid {
    eetf::Pid {
        node: atom_to(p.node),
        id: p.id,
        serial: p.serial,
        creation: p.creation,
    }
}

fn pid_from(p: eetf::Pid) -> Pid {
    Pid::new(Atom::from(p.node.name), p.id, p.serial, p.creation)
}

impl TryFrom<Term> for eetf::Term {
    type Error = ToEetfError;

    /// Fails only for terms eetf 0.12 cannot represent (native records).
    fn try_from(t: Term) -> Result<Self, Self::Error> {
        use eetf::Term as E;
        fn all(v: Vec<Term>) -> Result<Vec<E>, ToEetfError> {
            v.into_iter().map(E::try_from).collect()
        }
        Ok(match t {
            Term::Atom(a) => E::Atom(atom_to(a)),
            Term::Int(i) => match i32::try_from(i) {
                Ok(v) => E::FixInteger(eetf::FixInteger { value: v }),
                Err(_) => E::BigInteger(eetf::BigInteger { value: i.into() }),
            },
            Term::BigInt(b) => E::BigInteger(eetf::BigInteger { value: b }),
            Term::Float(f) => E::Float(eetf::Float { value: f.0 }),
            Term::Pid(p) => E::Pid(pid_to(p)),
            Term::Port(p) => E::Port(eetf::Port {
                node: atom_to(p.node),
                id: p.id,
                creation: p.creation,
            }),
            Term::Ref(r) => E::Reference(Box::new(eetf::Reference {
                node: atom_to(r.node),
                id: r.ids,
                creation: r.creation,
            })),
            Term::Binary(b) => E::Binary(eetf::Binary {
                bytes: Vec::from(b),
            }),
            Term::BitBinary(bb) => {
                // eetf keeps the used bits of the last byte right-aligned; we keep them
                // where they are on the wire (high bits).
                let mut bytes = bb.bytes.clone();
                if let Some(last) = bytes.last_mut() {
                    *last >>= 8 - bb.bits.clamp(1, 8);
                }
                E::BitBinary(eetf::BitBinary {
                    bytes,
                    tail_bits_size: bb.bits,
                })
            }
            Term::Tuple(ts) => E::Tuple(eetf::Tuple {
                elements: all(ts.into_vec())?,
            }),
            Term::Nil => E::List(eetf::List { elements: vec![] }),
            Term::List(ts) => E::List(eetf::List {
                elements: all(ts.into_vec())?,
            }),
            Term::ImproperList(mut il) => {
                let tail = std::mem::replace(&mut *il.tail, Term::Nil);
                let elements = std::mem::take(&mut il.elements).into_vec();
                E::ImproperList(eetf::ImproperList {
                    elements: all(elements)?,
                    last: Box::new(E::try_from(tail)?),
                })
            }
            Term::Map(m) => E::Map(eetf::Map {
                map: m
                    .into_entries()
                    .into_iter()
                    .map(|(k, v)| Ok((E::try_from(k)?, E::try_from(v)?)))
                    .collect::<Result<HashMap<_, _>, ToEetfError>>()?,
            }),
            Term::ExportFun(e) => E::ExternalFun(Box::new(eetf::ExternalFun {
                module: atom_to(e.module),
                function: atom_to(e.function),
                arity: e.arity,
            })),
            Term::InternalFun(f) => {
                let f = *f;
                E::InternalFun(Box::new(eetf::InternalFun::New {
                    module: atom_to(f.module.clone()),
                    arity: f.arity,
                    pid: pid_to(f.pid.clone()),
                    index: f.index,
                    uniq: f.uniq,
                    old_index: f.old_index as i32,
                    old_uniq: f.old_uniq as i32,
                    free_vars: all(f.free_vars.clone().into_vec())?,
                }))
            }
            Term::Record(_) => return Err(ToEetfError::NativeRecord),
        })
    }
}

impl TryFrom<eetf::Term> for Term {
    type Error = FromEetfError;

    fn try_from(t: eetf::Term) -> Result<Self, Self::Error> {
        use eetf::Term as E;
        fn all(v: Vec<E>) -> Result<Vec<Term>, FromEetfError> {
            v.into_iter().map(Term::try_from).collect()
        }
        Ok(match t {
            E::Atom(a) => Term::Atom(Atom::from(a.name)),
            E::FixInteger(i) => Term::Int(i.value as i64),
            E::BigInteger(b) => Term::from_bigint(b.value),
            E::Float(f) => {
                if !f.value.is_finite() {
                    return Err(FromEetfError::NonFiniteFloat);
                }
                Term::Float(Float(f.value))
            }
            E::Pid(p) => Term::Pid(pid_from(p)),
            E::Port(p) => Term::Port(Port {
                node: Atom::from(p.node.name),
                id: p.id,
                creation: p.creation,
            }),
            E::Reference(r) => Term::Ref(Reference {
                node: Atom::from(r.node.name.clone()),
                creation: r.creation,
                ids: r.id.clone(),
            }),
            E::ExternalFun(e) => Term::ExportFun(ExportFun {
                module: Atom::from(e.module.name.clone()),
                function: Atom::from(e.function.name.clone()),
                arity: e.arity,
            }),
            E::InternalFun(f) => match *f {
                eetf::InternalFun::Old { .. } => return Err(FromEetfError::OldFun),
                eetf::InternalFun::New {
                    module,
                    arity,
                    pid,
                    free_vars,
                    index,
                    uniq,
                    old_index,
                    old_uniq,
                } => Term::InternalFun(Box::new(InternalFun {
                    arity,
                    uniq,
                    index,
                    module: Atom::from(module.name),
                    old_index: old_index as u32,
                    old_uniq: old_uniq as u32,
                    pid: pid_from(pid),
                    free_vars: all(free_vars)?.into(),
                })),
            },
            E::Binary(b) => Term::Binary(b.bytes.into()),
            E::BitBinary(bb) => {
                if bb.tail_bits_size == 8 || (bb.bytes.is_empty() && bb.tail_bits_size == 0) {
                    Term::Binary(bb.bytes.into())
                } else if bb.tail_bits_size == 0 || bb.tail_bits_size > 8 || bb.bytes.is_empty() {
                    return Err(FromEetfError::BadBitBinary(bb.tail_bits_size));
                } else {
                    let bits = bb.tail_bits_size;
                    let mut bytes = bb.bytes;
                    if let Some(last) = bytes.last_mut() {
                        *last <<= 8 - bits;
                    }
                    Term::BitBinary(BitBinary { bytes, bits })
                }
            }
            E::ByteList(b) => {
                Term::list(b.bytes.into_iter().map(|x| Term::Int(x as i64)).collect())
            }
            E::List(l) => Term::list(all(l.elements)?),
            E::ImproperList(il) => {
                let elements = all(il.elements)?;
                Term::improper_list(elements, Term::try_from(*il.last)?)
            }
            E::Tuple(t) => Term::tuple(all(t.elements)?),
            E::Map(m) => {
                let mut entries = Vec::with_capacity(m.map.len());
                for (k, v) in m.map {
                    entries.push((Term::try_from(k)?, Term::try_from(v)?));
                }
                Term::map(entries)
            }
        })
    }
}

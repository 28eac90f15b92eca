//! A total order on terms used to find duplicate map keys (§6.2) cheaply and safely,
//! and the decoder's duplicate checks built on it (map keys, record field names).
//!
//! The comparison is iterative (explicit stack), so keys of any depth are fine, and it
//! stops at the first difference, so comparing a huge key with a small one costs
//! about the small one's size. Sorting a map's keys with it is O(k log k) comparisons;
//! a hostile chain of maps nested in keys (`#{#{#{…} => 1, a => 1} => 1, b => 1}`)
//! stays near-linear, which re-encoding every key per level would not.
//!
//! The order is arbitrary but consistent with `=:=` (what `Term: Eq` implements), with
//! one documented gap: map entries are compared in their stored order, so two keys
//! that are maps with the same entries in a different order compare unequal and are
//! not reported as duplicates.

use super::DecodeError;
use crate::term::{Atom, Pid, Term};
use std::cmp::Ordering;

fn rank(t: &Term) -> u8 {
    match t {
        Term::Atom(_) => 0,
        Term::Int(_) => 1,
        Term::BigInt(_) => 2,
        Term::Float(_) => 3,
        Term::Pid(_) => 4,
        Term::Port(_) => 5,
        Term::Ref(_) => 6,
        Term::Binary(_) => 7,
        Term::BitBinary(_) => 8,
        Term::Tuple(_) => 9,
        Term::Nil => 10,
        Term::List(l) if l.is_empty() => 10,
        Term::List(_) => 11,
        Term::ImproperList(_) => 12,
        Term::Map(_) => 13,
        Term::ExportFun(_) => 14,
        Term::InternalFun(_) => 15,
        Term::Record(_) => 16,
    }
}

fn pid_key(p: &Pid) -> (&str, u32, u32, u32) {
    (p.node.as_str(), p.id, p.serial, p.creation)
}

/// Compares two terms; `Equal` exactly when they are `=:=` (see the module docs).
pub(crate) fn compare(a: &Term, b: &Term) -> Ordering {
    // The stack only allocates once a container's children are pushed: two scalars
    // (the usual map keys) compare without touching the heap.
    let mut stack: Vec<(&Term, &Term)> = Vec::new();
    let o = rank(a)
        .cmp(&rank(b))
        .then_with(|| shallow(a, b, &mut stack));
    if o != Ordering::Equal {
        return o;
    }
    while let Some((x, y)) = stack.pop() {
        let o = rank(x)
            .cmp(&rank(y))
            .then_with(|| shallow(x, y, &mut stack));
        if o != Ordering::Equal {
            return o;
        }
    }
    Ordering::Equal
}

/// Compares the top level of two terms of the same rank; children still to compare
/// are pushed (last first) so they are compared in order.
fn shallow<'a>(x: &'a Term, y: &'a Term, stack: &mut Vec<(&'a Term, &'a Term)>) -> Ordering {
    use Term::*;
    match (x, y) {
        (Atom(a), Atom(b)) => a.as_str().cmp(b.as_str()),
        (Int(a), Int(b)) => a.cmp(b),
        (BigInt(a), BigInt(b)) => a.cmp(b),
        (Float(a), Float(b)) => a.0.to_bits().cmp(&b.0.to_bits()),
        (Pid(a), Pid(b)) => pid_key(a).cmp(&pid_key(b)),
        (Port(a), Port(b)) => {
            (a.node.as_str(), a.id, a.creation).cmp(&(b.node.as_str(), b.id, b.creation))
        }
        (Ref(a), Ref(b)) => {
            (a.node.as_str(), a.creation, &a.ids).cmp(&(b.node.as_str(), b.creation, &b.ids))
        }
        (Binary(a), Binary(b)) => a.cmp(b),
        (BitBinary(a), BitBinary(b)) => (a.bits, &a.bytes).cmp(&(b.bits, &b.bytes)),
        (Tuple(a), Tuple(b)) | (List(a), List(b)) => {
            let o = a.len().cmp(&b.len());
            if o == Ordering::Equal {
                stack.extend(a.iter().zip(b.iter()).rev());
            }
            o
        }
        (ImproperList(a), ImproperList(b)) => {
            let o = a.elements.len().cmp(&b.elements.len());
            if o == Ordering::Equal {
                stack.push((&a.tail, &b.tail));
                stack.extend(a.elements.iter().zip(b.elements.iter()).rev());
            }
            o
        }
        (Map(a), Map(b)) => {
            let o = a.len().cmp(&b.len());
            if o == Ordering::Equal {
                for ((ka, va), (kb, vb)) in a.entries().iter().zip(b.entries()).rev() {
                    stack.push((va, vb));
                    stack.push((ka, kb));
                }
            }
            o
        }
        (ExportFun(a), ExportFun(b)) => (a.module.as_str(), a.function.as_str(), a.arity).cmp(&(
            b.module.as_str(),
            b.function.as_str(),
            b.arity,
        )),
        (InternalFun(a), InternalFun(b)) => {
            let o = (
                a.module.as_str(),
                a.index,
                a.uniq,
                a.arity,
                a.old_index,
                a.old_uniq,
            )
                .cmp(&(
                    b.module.as_str(),
                    b.index,
                    b.uniq,
                    b.arity,
                    b.old_index,
                    b.old_uniq,
                ))
                .then_with(|| pid_key(&a.pid).cmp(&pid_key(&b.pid)))
                .then_with(|| a.free_vars.len().cmp(&b.free_vars.len()));
            if o == Ordering::Equal {
                stack.extend(a.free_vars.iter().zip(b.free_vars.iter()).rev());
            }
            o
        }
        (Record(a), Record(b)) => {
            let head = |r: &'a crate::term::NativeRecord| {
                (
                    r.module.as_str(),
                    r.name.as_str(),
                    r.exported,
                    r.fields.len(),
                )
            };
            let o = head(a).cmp(&head(b)).then_with(|| {
                let names = |r: &'a crate::term::NativeRecord| r.fields.iter().map(|(k, _)| k);
                names(a).cmp(names(b))
            });
            if o == Ordering::Equal {
                stack.extend(
                    a.fields
                        .iter()
                        .zip(b.fields.iter())
                        .map(|((_, x), (_, y))| (x, y))
                        .rev(),
                );
            }
            o
        }
        // `[]` written as Nil or as an empty List: same rank, equal.
        _ => Ordering::Equal,
    }
}

// ---- the decoder's duplicate checks ----------------------------------------------

/// Map keys must be unique (§6.2), checked with the iterative [`compare`] (which
/// never hashes or recurses into deep keys, and stops at the first difference): keys
/// already in increasing order in one pass, up to 8 keys pairwise, more by sorting
/// references to them and checking neighbours (O(k log k) comparisons). None of the
/// first two allocates.
pub(super) fn check_unique_keys(
    entries: &[(Term, Term)],
    offset: usize,
) -> Result<(), DecodeError> {
    if entries.len() < 2 {
        return Ok(());
    }
    // OTP writes a small map's keys in its own sorted order, which for keys of one
    // kind (atoms, binaries, integers) is this order too: strictly increasing keys
    // are distinct, found in one pass without allocating.
    if entries.windows(2).all(|w| key_less(&w[0].0, &w[1].0)) {
        return Ok(());
    }
    if entries.len() <= 8 {
        for (i, (k, _)) in entries.iter().enumerate() {
            if entries[i + 1..].iter().any(|(other, _)| same_key(k, other)) {
                return Err(DecodeError::DuplicateMapKey { offset });
            }
        }
        return Ok(());
    }
    let mut keys: Vec<&Term> = entries.iter().map(|(k, _)| k).collect();
    keys.sort_unstable_by(|a, b| compare(a, b));
    if keys
        .windows(2)
        .any(|w| compare(w[0], w[1]) == Ordering::Equal)
    {
        return Err(DecodeError::DuplicateMapKey { offset });
    }
    Ok(())
}

/// `compare(a, b) == Less`, with the usual scalar keys (atoms, integers, binaries of
/// one kind) decided inline, as [`shallow`] orders them.
#[inline]
fn key_less(a: &Term, b: &Term) -> bool {
    match (a, b) {
        (Term::Atom(x), Term::Atom(y)) => x.as_str() < y.as_str(),
        (Term::Int(x), Term::Int(y)) => x < y,
        (Term::Binary(x), Term::Binary(y)) => x[..] < y[..],
        _ => compare(a, b) == Ordering::Less,
    }
}

/// `compare(a, b) == Equal`, with the usual scalar keys decided inline: two atoms or
/// binaries of different lengths differ without looking at their bytes.
#[inline]
fn same_key(a: &Term, b: &Term) -> bool {
    match (a, b) {
        (Term::Atom(x), Term::Atom(y)) => x.as_str() == y.as_str(),
        (Term::Int(x), Term::Int(y)) => x == y,
        (Term::Binary(x), Term::Binary(y)) => x[..] == y[..],
        _ => compare(a, b) == Ordering::Equal,
    }
}

/// A record's field names must be distinct (OTP 29's `binary_to_term` refuses
/// duplicates with `badarg`).
pub(super) fn check_unique_names(names: &[Atom], offset: usize) -> Result<(), DecodeError> {
    if names.len() < 2 {
        return Ok(());
    }
    let mut sorted: Vec<&str> = names.iter().map(Atom::as_str).collect();
    sorted.sort_unstable();
    if sorted.windows(2).any(|w| w[0] == w[1]) {
        return Err(DecodeError::Invalid {
            offset,
            reason: "NATIVE_RECORD_EXT field names must be distinct",
        });
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::term::Term;

    fn record(exported: bool, fields: Vec<(&str, Term)>) -> Term {
        Term::Record(Box::new(crate::term::NativeRecord {
            module: crate::term::Atom::new("m"),
            name: crate::term::Atom::new("r"),
            exported,
            fields: fields
                .into_iter()
                .map(|(k, v)| (crate::term::Atom::new(k), v))
                .collect(),
        }))
    }

    #[test]
    fn order_matches_equality() {
        let ts = [
            Term::atom("a"),
            Term::Int(1),
            Term::from(1.0),
            Term::tuple(vec![Term::Int(1), Term::Nil]),
            Term::list(vec![Term::Int(1)]),
            Term::improper_list(vec![Term::Int(1)], Term::Int(2)),
            Term::map(vec![(Term::Int(1), Term::Int(2))]),
            record(true, vec![]),
            record(false, vec![]),
            record(true, vec![("a", Term::Int(1))]),
            record(true, vec![("a", Term::from(1.0))]),
            record(true, vec![("b", Term::Int(1))]),
        ];
        for a in &ts {
            for b in &ts {
                assert_eq!(compare(a, b) == Ordering::Equal, a == b, "{a:?} {b:?}");
                assert_eq!(compare(a, b), compare(b, a).reverse());
            }
        }
        // An empty `List` is `[]` (the decoder never makes one, but users may).
        assert_eq!(
            compare(&Term::Nil, &Term::List(vec![].into())),
            Ordering::Equal
        );
    }
}

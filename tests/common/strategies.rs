//! A proptest strategy for arbitrary (encodable) terms.

use beamnode::term::{BitBinary, ExportFun, Float, InternalFun, NativeRecord, Port};
use beamnode::{Atom, Pid, Reference, Term};
use num_bigint::BigInt;
use proptest::prelude::*;

pub fn arb_atom() -> impl Strategy<Value = Atom> {
    prop_oneof![
        "[a-z][a-zA-Z0-9_@]{0,10}",
        "\\PC{0,8}",
        Just("nonode@nohost".to_string()),
        Just(String::new()),
    ]
    .prop_map(Atom::from)
}

pub fn arb_pid() -> impl Strategy<Value = Pid> {
    (arb_atom(), any::<u32>(), any::<u32>(), any::<u32>())
        .prop_map(|(n, i, s, c)| Pid::new(n, i, s, c))
}

pub fn arb_leaf() -> impl Strategy<Value = Term> {
    prop_oneof![
        arb_atom().prop_map(Term::Atom),
        any::<i64>().prop_map(Term::Int),
        (0i64..300).prop_map(Term::Int),
        (any::<i64>(), any::<u64>(), any::<bool>()).prop_map(|(a, b, neg)| {
            let v: BigInt = (BigInt::from(a) << 64usize) + BigInt::from(b);
            Term::from_bigint(if neg { -v } else { v })
        }),
        any::<f64>()
            .prop_filter("finite", |f| f.is_finite())
            .prop_map(|f| Term::Float(Float(f))),
        arb_pid().prop_map(Term::Pid),
        (arb_atom(), any::<u64>(), any::<u32>())
            .prop_map(|(node, id, creation)| Term::Port(Port { node, id, creation })),
        (
            arb_atom(),
            any::<u32>(),
            prop::collection::vec(any::<u32>(), 1..=5)
        )
            .prop_map(|(node, creation, ids)| Term::Ref(Reference {
                node,
                creation,
                ids
            })),
        prop::collection::vec(any::<u8>(), 0..100).prop_map(Term::binary),
        (prop::collection::vec(any::<u8>(), 1..6), 1u8..8).prop_map(|(mut bytes, bits)| {
            let last = bytes.len() - 1;
            bytes[last] &= 0xffu8 << (8 - bits);
            Term::BitBinary(BitBinary { bytes, bits })
        }),
        Just(Term::Nil),
        prop::collection::vec(0i64..256, 1..10)
            .prop_map(|v| Term::list(v.into_iter().map(Term::Int).collect())),
        (arb_atom(), arb_atom(), any::<u8>()).prop_map(|(module, function, arity)| {
            Term::ExportFun(ExportFun {
                module,
                function,
                arity,
            })
        }),
    ]
}

/// Arbitrary terms with bounded depth, all encodable.
pub fn arb_term() -> impl Strategy<Value = Term> {
    arb_leaf().prop_recursive(4, 64, 6, |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..6).prop_map(Term::tuple),
            prop::collection::vec(inner.clone(), 0..6).prop_map(Term::list),
            (prop::collection::vec(inner.clone(), 1..4), inner.clone())
                .prop_map(|(els, tail)| Term::improper_list(els, tail)),
            prop::collection::vec((inner.clone(), inner.clone()), 0..5).prop_map(Term::map),
            (
                arb_atom(),
                arb_atom(),
                any::<bool>(),
                prop::collection::vec((arb_atom(), inner.clone()), 0..4)
            )
                .prop_map(|(module, name, exported, mut fields)| {
                    // Field names are distinct, as OTP requires.
                    let mut seen = std::collections::HashSet::new();
                    fields.retain(|(k, _)| seen.insert(k.clone()));
                    Term::Record(Box::new(NativeRecord {
                        module,
                        name,
                        exported,
                        fields,
                    }))
                }),
            (
                any::<u8>(),
                any::<[u8; 16]>(),
                any::<u32>(),
                arb_atom(),
                any::<u32>(),
                any::<u32>(),
                arb_pid(),
                prop::collection::vec(inner, 0..3)
            )
                .prop_map(
                    |(arity, uniq, index, module, old_index, old_uniq, pid, free)| {
                        Term::InternalFun(Box::new(InternalFun {
                            arity,
                            uniq,
                            index,
                            module,
                            old_index,
                            old_uniq,
                            pid,
                            free_vars: free.into(),
                        }))
                    }
                ),
        ]
    })
}

/// `t` with every native record marked exported: what `parse(display(t))` gives, as
/// the text form does not carry the flag. Recursive; for terms of modest depth.
pub fn all_exported(t: &Term) -> Term {
    match t {
        Term::Record(r) => Term::Record(Box::new(NativeRecord {
            module: r.module.clone(),
            name: r.name.clone(),
            exported: true,
            fields: r
                .fields
                .iter()
                .map(|(k, v)| (k.clone(), all_exported(v)))
                .collect(),
        })),
        Term::Tuple(ts) => Term::tuple(ts.iter().map(all_exported).collect()),
        Term::List(ts) => Term::list(ts.iter().map(all_exported).collect()),
        Term::ImproperList(il) => Term::improper_list(
            il.elements.iter().map(all_exported).collect(),
            all_exported(&il.tail),
        ),
        Term::Map(m) => Term::map(
            m.iter()
                .map(|(k, v)| (all_exported(k), all_exported(v)))
                .collect(),
        ),
        Term::InternalFun(f) => {
            let mut g = f.clone();
            g.free_vars = f.free_vars.iter().map(all_exported).collect();
            Term::InternalFun(g)
        }
        other => other.clone(),
    }
}

/// True when `t` holds a native record anywhere (recursive; modest depth only).
pub fn has_record(t: &Term) -> bool {
    match t {
        Term::Record(_) => true,
        Term::Tuple(ts) | Term::List(ts) => ts.iter().any(has_record),
        Term::ImproperList(il) => il.elements.iter().any(has_record) || has_record(&il.tail),
        Term::Map(m) => m.iter().any(|(k, v)| has_record(k) || has_record(v)),
        Term::InternalFun(f) => f.free_vars.iter().any(has_record),
        _ => false,
    }
}

/// Builds a deep term without recursion.
pub fn deep(kind: &str, levels: usize) -> Term {
    let mut t = Term::Nil;
    for _ in 0..levels {
        t = match kind {
            "list" => Term::list(vec![t]),
            "tuple" => Term::tuple(vec![t]),
            "map" => Term::map(vec![(Term::Int(1), t)]),
            "mapkey" => Term::map(vec![(t, Term::Int(1))]),
            "fun" => Term::InternalFun(Box::new(InternalFun {
                arity: 0,
                uniq: [0; 16],
                index: 0,
                module: Atom::new("m"),
                old_index: 0,
                old_uniq: 0,
                pid: Pid::new(Atom::new("a@h"), 1, 0, 1),
                free_vars: vec![t].into(),
            })),
            _ => unreachable!(),
        };
    }
    t
}

/// Runs `f` on a thread with a normal 2 MiB stack.
pub fn on_small_stack<F: FnOnce() + Send + 'static>(f: F) {
    std::thread::Builder::new()
        .stack_size(2 * 1024 * 1024)
        .spawn(f)
        .unwrap()
        .join()
        .unwrap();
}

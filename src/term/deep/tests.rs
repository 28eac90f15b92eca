//! Tests for the iterative impls in `deep.rs`: million-level terms on the default 2 MiB
//! test thread, Erlang term order facts checked against OTP 25, and proptests against
//! simple recursive reference implementations.

use super::super::{
    Atom, BitBinary, ExportFun, ImproperList, InternalFun, Map, NativeRecord, Pid, Port, Reference,
    Term, Terms,
};
use super::MAX_DEBUG_DEPTH;
use num_bigint::BigInt;
use num_traits::FromPrimitive;
use proptest::prelude::*;
use std::cmp::Ordering;
use std::collections::hash_map::DefaultHasher;
use std::collections::HashMap;
use std::hash::{Hash, Hasher};

const DEPTH: usize = 1_000_000;

fn hash_of<T: Hash + ?Sized>(t: &T) -> u64 {
    let mut h = DefaultHasher::new();
    t.hash(&mut h);
    h.finish()
}

fn deep(kind: &str, leaf: i64) -> Term {
    let mut t = Term::Int(leaf);
    for i in 0..DEPTH {
        t = match kind {
            "list" => Term::list(vec![t]),
            "tuple" => Term::tuple(vec![Term::Int(7), t]),
            // Two entries per level, the deep one as key: sorting every level's keys
            // compares a deep map against an integer.
            "map_key" => Term::map(vec![(t, Term::Int(1)), (Term::Int(0), Term::Nil)]),
            "map_value" => Term::map(vec![(Term::Int(2), Term::Nil), (Term::atom("k"), t)]),
            "improper" => Term::improper_list(vec![t], Term::Int(3)),
            "mixed" => match i % 4 {
                0 => Term::list(vec![t]),
                1 => Term::tuple(vec![t]),
                2 => Term::map(vec![(Term::Int(1), t)]),
                _ => Term::improper_list(vec![t], Term::atom("tl")),
            },
            _ => unreachable!(),
        };
    }
    t
}

fn exercise_deep(kind: &str) {
    let a = deep(kind, 1);
    let b = a.clone();
    let c = deep(kind, 2);
    assert!(a == b, "{kind}: clone equals original");
    assert!(a != c, "{kind}: differs at the deepest level");
    assert_eq!(hash_of(&a), hash_of(&b), "{kind}");
    assert_eq!(a.cmp(&c), Ordering::Less, "{kind}");
    assert_eq!(a.erlang_cmp(&c), Ordering::Less, "{kind}");
    let dbg = format!("{a:?}");
    assert!(dbg.contains("..."), "{kind}: debug is depth-limited");
    assert!(dbg.len() < 100_000, "{kind}: debug output stays small");
    let mut m = HashMap::new();
    m.insert(b, 1);
    assert_eq!(m.get(&a), Some(&1), "{kind}: usable as a HashMap key");
}

#[test]
fn deep_lists() {
    exercise_deep("list");
}

#[test]
fn deep_tuples() {
    exercise_deep("tuple");
}

#[test]
fn deep_maps_nested_in_keys() {
    exercise_deep("map_key");
}

#[test]
fn deep_maps_nested_in_values() {
    exercise_deep("map_value");
}

#[test]
fn deep_improper_lists() {
    exercise_deep("improper");
}

#[test]
fn deep_mixed() {
    exercise_deep("mixed");
}

#[test]
fn deep_containers_standalone() {
    let Term::List(ts) = deep("list", 1) else {
        panic!()
    };
    let ts2 = ts.clone();
    assert!(ts == ts2);
    assert_eq!(hash_of(&ts), hash_of(&ts2));
    assert!(format!("{ts:?}").contains("..."));
    let Term::Map(m) = deep("map_value", 1) else {
        panic!()
    };
    let m2 = m.clone();
    assert!(m == m2);
    assert_eq!(hash_of(&m), hash_of(&m2));
    let Term::ImproperList(il) = deep("improper", 1) else {
        panic!()
    };
    let il2 = il.clone();
    assert!(il == il2);
    assert_eq!(hash_of(&il), hash_of(&il2));
}

#[test]
fn long_flat_list_and_big_map() {
    let l = Term::list((0..1_000_000).map(Term::Int).collect());
    assert!(l == l.clone());
    let entries: Vec<(Term, Term)> = (0..20_000).map(|i| (Term::Int(i), Term::Int(-i))).collect();
    let mut rev = entries.clone();
    rev.reverse();
    let a = Term::Map(Map::from_unique_entries(entries));
    let b = Term::Map(Map::from_unique_entries(rev));
    assert!(a == b);
    assert_eq!(hash_of(&a), hash_of(&b));
    assert_eq!(a.cmp(&b), Ordering::Equal);
}

#[test]
fn debug_matches_derived_shape() {
    let t = Term::tuple(vec![Term::Int(1), Term::atom("a"), Term::Nil]);
    assert_eq!(
        format!("{t:?}"),
        r#"Tuple(Terms([Int(1), Atom(Atom("a")), Nil]))"#
    );
    let m = Term::map(vec![(Term::Int(1), Term::list(vec![Term::Int(2)]))]);
    assert_eq!(
        format!("{m:?}"),
        "Map(Map([(Int(1), List(Terms([Int(2)])))]))"
    );
    let mut t = Term::Nil;
    for _ in 0..MAX_DEBUG_DEPTH + 5 {
        t = Term::list(vec![t]);
    }
    assert!(format!("{t:?}").ends_with(&format!("...{}", "]))".repeat(MAX_DEBUG_DEPTH))));
    assert!(!format!("{t:#?}").is_empty());
}

// --- Erlang term order facts, checked on OTP 25.2.3 --------------------------------

fn pid(node: &str, id: u32, serial: u32, creation: u32) -> Term {
    Term::Pid(Pid::new(Atom::new(node), id, serial, creation))
}
fn port(node: &str, id: u64, creation: u32) -> Term {
    Term::Port(Port {
        node: Atom::new(node),
        id,
        creation,
    })
}
fn reference(node: &str, creation: u32, ids: &[u32]) -> Term {
    Term::Ref(Reference {
        node: Atom::new(node),
        creation,
        ids: ids.to_vec(),
    })
}
fn fun(module: &str, old_index: u32, free: Vec<Term>) -> Term {
    Term::InternalFun(Box::new(InternalFun {
        arity: 0,
        uniq: [0; 16],
        index: 0,
        module: Atom::new(module),
        old_index,
        old_uniq: 0,
        pid: Pid::new(Atom::new("a@h"), 1, 0, 1),
        free_vars: Terms::new(free),
    }))
}
fn export(m: &str, f: &str, a: u8) -> Term {
    Term::ExportFun(ExportFun {
        module: Atom::new(m),
        function: Atom::new(f),
        arity: a,
    })
}
fn bits(bytes: &[u8], bits: u8) -> Term {
    Term::BitBinary(BitBinary {
        bytes: bytes.to_vec(),
        bits,
    })
}

#[test]
fn type_order() {
    let chain = [
        Term::Int(5),
        Term::atom("a"),
        reference("a@h", 1, &[1, 2, 3]),
        fun("m", 0, vec![]),
        export("erlang", "self", 0),
        port("a@h", 1, 1),
        pid("a@h", 1, 0, 1),
        Term::tuple(vec![]),
        Term::tuple(vec![Term::Int(1); 300]),
        // OTP 29: records after every tuple, before every map.
        record("a", "a", false, &[], vec![]),
        record("z", "z", true, &["a"], vec![Term::Int(1)]),
        Term::map(vec![]),
        Term::Nil,
        Term::list(vec![Term::Int(1)]),
        Term::binary(vec![]),
    ];
    for w in chain.windows(2) {
        assert_eq!(
            w[0].erlang_cmp(&w[1]),
            Ordering::Less,
            "{:?} < {:?}",
            w[0],
            w[1]
        );
        assert!(w[0] < w[1]);
    }
}

#[test]
fn pids_ports_refs_follow_otp() {
    // Pids: serial, then id, then node, then creation (§15 trap 8).
    assert!(pid("a@h", 2, 1, 1) < pid("a@h", 1, 2, 1));
    assert!(pid("b@h", 1, 1, 1) < pid("a@h", 2, 1, 1));
    assert!(pid("a@h", 1, 1, 2) < pid("b@h", 1, 1, 1));
    assert!(pid("a@h", 1, 1, 1) < pid("a@h", 1, 1, 2));
    assert!(pid("ab@h", 1, 1, 1) < pid("b@h", 1, 1, 1));
    // Ports: node, creation, id.
    assert!(port("a@h", 2, 1) < port("b@h", 1, 1));
    assert!(port("a@h", 2, 1) < port("a@h", 1, 2));
    assert!(port("a@h", 1 << 32, 1) > port("a@h", 1, 1));
    // Refs: node, creation, then words from the last one down, zero-padded.
    assert!(reference("a@h", 1, &[2, 2, 2]) < reference("a@h", 2, &[1, 1, 1]));
    assert!(reference("a@h", 9, &[9, 9, 9]) < reference("b@h", 1, &[1, 1, 1]));
    assert!(reference("a@h", 1, &[2, 1, 1]) < reference("a@h", 1, &[1, 2, 1]));
    assert!(reference("a@h", 1, &[5, 1]) > reference("a@h", 1, &[6, 0, 0]));
    let (short, long) = (reference("a@h", 1, &[5]), reference("a@h", 1, &[5, 0, 0]));
    assert_eq!(short.erlang_cmp(&long), Ordering::Equal);
    assert!(short != long && short < long);
}

#[test]
fn numbers_follow_otp() {
    let one_f = Term::from(1.0);
    assert_eq!(Term::Int(1).erlang_cmp(&one_f), Ordering::Equal);
    assert!(Term::Int(1) != one_f && Term::Int(1) < one_f);
    assert!(Term::Int(2) > Term::from(1.5));
    assert!(Term::Int(-2) < Term::from(-1.5));
    // Exact, not via f64: 2^53 + 1 > 2^53 as a float.
    assert!(Term::Int(9_007_199_254_740_993) > Term::from(9_007_199_254_740_992.0));
    let big: BigInt = "36893488147419103233".parse().unwrap();
    let big = Term::from_bigint(big);
    assert!(big > Term::from(36_893_488_147_419_103_232.0));
    assert!(big < Term::from(1e30));
    assert!(big > Term::Int(i64::MAX));
    assert!(Term::from(f64::MAX) > Term::Int(i64::MAX));
    // Same integer spelled two ways.
    let five_big = Term::BigInt(BigInt::from(5));
    assert!(five_big == Term::Int(5));
    assert_eq!(hash_of(&five_big), hash_of(&Term::Int(5)));
    assert!(Term::from(-0.0) != Term::from(0.0));
    assert_eq!(
        Term::from(-0.0).erlang_cmp(&Term::from(0.0)),
        Ordering::Equal
    );
    assert!(Term::from(-0.0) < Term::from(0.0));
}

#[test]
fn maps_follow_otp() {
    let m = |e: Vec<(Term, Term)>| Term::map(e);
    let (a, b) = (Term::atom("a"), Term::atom("b"));
    // Keys compare exactly: every integer below every float.
    assert!(m(vec![(Term::Int(1), a.clone())]) < m(vec![(Term::from(1.0), a.clone())]));
    assert!(m(vec![(Term::Int(3), a.clone())]) < m(vec![(Term::from(-5.0), a.clone())]));
    assert!(m(vec![(Term::Int(2), a.clone())]) < m(vec![(Term::from(1.0), a.clone())]));
    let k = |x: Term| Term::tuple(vec![x]);
    assert!(m(vec![(k(Term::Int(2)), a.clone())]) < m(vec![(k(Term::from(1.0)), a.clone())]));
    // Size first, then all keys, then values; values compare like Erlang's ==.
    assert!(
        m(vec![(Term::Int(1), b.clone())])
            < m(vec![(Term::Int(1), a.clone()), (Term::Int(2), a.clone())])
    );
    assert!(
        m(vec![
            (Term::Int(1), Term::atom("z")),
            (Term::Int(2), a.clone())
        ]) < m(vec![(Term::Int(1), a.clone()), (Term::Int(3), a.clone())])
    );
    let v1 = m(vec![(Term::Int(1), Term::Int(1))]);
    let v2 = m(vec![(Term::Int(1), Term::from(1.0))]);
    assert_eq!(v1.erlang_cmp(&v2), Ordering::Equal);
    assert!(v1 != v2);
}

#[test]
fn lists_funs_bitstrings_follow_otp() {
    let (one, two) = (Term::Int(1), Term::Int(2));
    let il = Term::improper_list(vec![one.clone()], two.clone());
    assert!(il < Term::list(vec![one.clone(), two.clone()]));
    assert!(il < Term::improper_list(vec![one.clone()], Term::atom("a")));
    assert!(Term::list(vec![one.clone()]) < Term::list(vec![one.clone(), one.clone()]));
    assert!(
        Term::improper_list(vec![one.clone()], Term::binary(vec![]))
            > Term::list(vec![one.clone(), one.clone()])
    );
    // Hand-built spellings of the same list are the same term.
    let hand = Term::ImproperList(ImproperList {
        elements: Terms::new(vec![one.clone()]),
        tail: Box::new(Term::list(vec![two.clone()])),
    });
    let proper = Term::list(vec![one.clone(), two.clone()]);
    assert!(hand == proper);
    assert_eq!(hash_of(&hand), hash_of(&proper));
    assert!(Term::List(Terms::new(vec![])) == Term::Nil);
    assert_eq!(
        hash_of(&Term::List(Terms::new(vec![]))),
        hash_of(&Term::Nil)
    );
    // Funs.
    assert!(fun("b", 0, vec![]) > fun("a", 9, vec![]));
    assert!(fun("a", 0, vec![one.clone()]) < fun("a", 0, vec![two.clone()]));
    assert!(export("a", "f", 1) < export("a", "f", 2));
    // Bitstrings: bit by bit, then length.
    assert!(bits(&[0x80], 1) > Term::binary(vec![1]));
    assert!(bits(&[0], 7) < Term::binary(vec![0]));
    assert!(Term::binary(vec![]) < bits(&[0], 1));
    assert!(Term::binary(vec![1, 2]) < Term::binary(vec![1, 3]));
    let full = bits(&[7], 8);
    assert_eq!(full.erlang_cmp(&Term::binary(vec![7])), Ordering::Equal);
    assert!(full != Term::binary(vec![7]));
}

// --- proptest against recursive reference implementations --------------------------

fn leaf() -> impl Strategy<Value = Term> {
    prop_oneof![
        (-3i64..4).prop_map(Term::Int),
        prop::sample::select(vec![0.0, -0.0, 1.0, 2.5, -1.0, 3.0]).prop_map(Term::from),
        (-2i64..3).prop_map(|d| Term::from_bigint(BigInt::from(u64::MAX) + d)),
        prop::sample::select(vec!["a", "b", "ab"]).prop_map(Term::atom),
        (0u32..3, 0u32..2).prop_map(|(i, s)| pid("n@h", i, s, 1)),
        (0u64..2, 1u32..3).prop_map(|(i, c)| port("n@h", i, c)),
        prop::collection::vec(0u32..2, 1..4).prop_map(|ids| reference("n@h", 1, &ids)),
        prop::collection::vec(0u8..3, 0..3).prop_map(Term::binary),
        (prop::collection::vec(0u8..3, 1..3), 1u8..9).prop_map(|(b, n)| bits(&b, n)),
        Just(export("m", "f", 1)),
        Just(Term::Nil),
    ]
}

fn term() -> impl Strategy<Value = Term> {
    leaf().prop_recursive(4, 24, 4, |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..4).prop_map(Term::tuple),
            prop::collection::vec(inner.clone(), 0..4).prop_map(Term::list),
            (prop::collection::vec(inner.clone(), 1..3), inner.clone())
                .prop_map(|(e, t)| Term::improper_list(e, t)),
            prop::collection::vec((inner.clone(), inner.clone()), 0..4).prop_map(Term::map),
            prop::collection::vec(inner.clone(), 0..3).prop_map(|v| fun("m", 0, v)),
            (
                prop::sample::select(vec!["m", "n"]),
                prop::sample::select(vec!["r", "s"]),
                any::<bool>(),
                prop::collection::vec(inner.clone(), 0..3),
                prop::sample::select(vec![["a", "b", "c"], ["b", "a", "c"]]),
            )
                .prop_map(|(m, n, e, v, names)| record(m, n, e, &names[..v.len()], v)),
        ]
    })
}

fn record(module: &str, name: &str, exported: bool, names: &[&str], values: Vec<Term>) -> Term {
    Term::Record(Box::new(NativeRecord {
        module: Atom::new(module),
        name: Atom::new(name),
        exported,
        fields: names.iter().map(|k| Atom::new(k)).zip(values).collect(),
    }))
}

/// Recursively rebuilds `t` in another spelling of the same term: map entries
/// reversed, lists split into hand-built improper lists, small integers as BigInt.
fn respell(t: &Term) -> Term {
    match t {
        Term::Int(i) => Term::BigInt(BigInt::from(*i)),
        Term::Tuple(ts) => Term::tuple(ts.iter().map(respell).collect()),
        Term::List(ts) => {
            let mut v: Vec<Term> = ts.iter().map(respell).collect();
            let rest = v.split_off(1);
            Term::ImproperList(ImproperList {
                elements: Terms::new(v),
                tail: Box::new(Term::List(Terms::new(rest))),
            })
        }
        Term::ImproperList(il) => Term::ImproperList(ImproperList {
            elements: Terms::new(il.elements.iter().map(respell).collect()),
            tail: Box::new(respell(&il.tail)),
        }),
        Term::Map(m) => Term::Map(Map::from_unique_entries(
            m.iter()
                .rev()
                .map(|(k, v)| (respell(k), respell(v)))
                .collect(),
        )),
        Term::InternalFun(f) => fun("m", 0, f.free_vars.iter().map(respell).collect()),
        Term::Record(r) => Term::Record(Box::new(NativeRecord {
            module: r.module.clone(),
            name: r.name.clone(),
            exported: r.exported,
            fields: r
                .fields
                .iter()
                .map(|(k, v)| (k.clone(), respell(v)))
                .collect(),
        })),
        other => other.clone(),
    }
}

/// Reference normal form: lists flattened, integers unified, leaves by value.
#[derive(Debug, Clone)]
enum N {
    Int(BigInt),
    Float(f64),
    /// Rank and a string that identifies the value (Debug of the leaf).
    Leaf(u8, String),
    Ref(Reference),
    Pid(Pid),
    Port(Port),
    Fun(String, Vec<N>),
    Export(String, String, u8),
    Tuple(Vec<N>),
    /// Module, name, exported, field names, values.
    Record(String, String, bool, Vec<String>, Vec<N>),
    Map(Vec<(N, N)>),
    Nil,
    List(Vec<N>, Box<N>),
    Bits(Vec<u8>, usize, u8, Option<u8>),
}

fn norm(t: &Term) -> N {
    match t {
        Term::Int(i) => N::Int(BigInt::from(*i)),
        Term::BigInt(b) => N::Int(b.clone()),
        Term::Float(f) => N::Float(f.0),
        Term::Atom(a) => N::Leaf(1, a.as_str().to_string()),
        Term::Ref(r) => N::Ref(r.clone()),
        Term::Pid(p) => N::Pid(p.clone()),
        Term::Port(p) => N::Port(p.clone()),
        Term::InternalFun(f) => N::Fun(
            f.module.as_str().into(),
            f.free_vars.iter().map(norm).collect(),
        ),
        Term::ExportFun(e) => N::Export(
            e.module.as_str().into(),
            e.function.as_str().into(),
            e.arity,
        ),
        Term::Tuple(ts) => N::Tuple(ts.iter().map(norm).collect()),
        Term::Record(r) => N::Record(
            r.module.as_str().into(),
            r.name.as_str().into(),
            r.exported,
            r.fields.iter().map(|(k, _)| k.as_str().into()).collect(),
            r.fields.iter().map(|(_, v)| norm(v)).collect(),
        ),
        Term::Map(m) => N::Map(m.iter().map(|(k, v)| (norm(k), norm(v))).collect()),
        Term::Nil => N::Nil,
        Term::List(_) | Term::ImproperList(_) => {
            let (mut elems, tail) = match t {
                Term::List(ts) => (ts.iter().map(norm).collect::<Vec<_>>(), N::Nil),
                Term::ImproperList(il) => (il.elements.iter().map(norm).collect(), norm(&il.tail)),
                _ => unreachable!(),
            };
            let tail = match tail {
                N::List(more, t) => {
                    elems.extend(more);
                    *t
                }
                other => other,
            };
            if elems.is_empty() {
                tail
            } else {
                N::List(elems, Box::new(tail))
            }
        }
        Term::Binary(b) => N::Bits(b.to_vec(), b.len() * 8, 0, None),
        Term::BitBinary(b) => N::Bits(
            b.bytes.clone(),
            (b.bytes.len() - 1) * 8 + b.bits as usize,
            1,
            Some(b.bits),
        ),
    }
}

fn ref_eq(a: &N, b: &N) -> bool {
    match (a, b) {
        (N::Int(x), N::Int(y)) => x == y,
        (N::Float(x), N::Float(y)) => x.to_bits() == y.to_bits(),
        (N::Leaf(r, x), N::Leaf(s, y)) => r == s && x == y,
        (N::Ref(x), N::Ref(y)) => x == y,
        (N::Pid(x), N::Pid(y)) => x == y,
        (N::Port(x), N::Port(y)) => x == y,
        (N::Fun(m, x), N::Fun(n, y)) => m == n && all_eq(x, y),
        (N::Export(a1, b1, c1), N::Export(a2, b2, c2)) => a1 == a2 && b1 == b2 && c1 == c2,
        (N::Tuple(x), N::Tuple(y)) => all_eq(x, y),
        (N::Record(m1, n1, e1, k1, x), N::Record(m2, n2, e2, k2, y)) => {
            (m1, n1, e1, k1) == (m2, n2, e2, k2) && all_eq(x, y)
        }
        (N::Map(x), N::Map(y)) => {
            x.len() == y.len()
                && x.iter()
                    .all(|(k, v)| y.iter().any(|(k2, v2)| ref_eq(k, k2) && ref_eq(v, v2)))
        }
        (N::Nil, N::Nil) => true,
        (N::List(x, t), N::List(y, u)) => all_eq(x, y) && ref_eq(t, u),
        (N::Bits(x, _, _, p), N::Bits(y, _, _, q)) => x == y && p == q,
        _ => false,
    }
}

fn all_eq(x: &[N], y: &[N]) -> bool {
    x.len() == y.len() && x.iter().zip(y).all(|(a, b)| ref_eq(a, b))
}

#[derive(Clone, Copy, PartialEq)]
enum L {
    Erlang,
    Exact,
    Total,
}

fn nrank(n: &N) -> u8 {
    match n {
        N::Int(_) | N::Float(_) => 0,
        N::Leaf(r, _) => *r,
        N::Ref(_) => 2,
        N::Fun(..) => 3,
        N::Export(..) => 4,
        N::Port(_) => 5,
        N::Pid(_) => 6,
        N::Tuple(_) => 7,
        N::Record(..) => 8,
        N::Map(_) => 9,
        N::Nil => 10,
        N::List(..) => 11,
        N::Bits(..) => 12,
    }
}

fn bit(v: &[u8], i: usize) -> u8 {
    (v[i / 8] >> (7 - i % 8)) & 1
}

fn ref_cmp(a: &N, b: &N, l: L) -> Ordering {
    let r = nrank(a).cmp(&nrank(b));
    if r.is_ne() {
        return r;
    }
    match (a, b) {
        (N::Int(x), N::Int(y)) => x.cmp(y),
        (N::Float(x), N::Float(y)) => match l {
            L::Total => x.total_cmp(y),
            _ => x.partial_cmp(y).unwrap(),
        },
        (N::Int(_), N::Float(_)) if l != L::Erlang => Ordering::Less,
        (N::Float(_), N::Int(_)) if l != L::Erlang => Ordering::Greater,
        // Test floats are small and integral-or-half; exact via doubling.
        (N::Int(x), N::Float(y)) => (x * BigInt::from(2)).cmp(&BigInt::from_f64(y * 2.0).unwrap()),
        (N::Float(x), N::Int(y)) => BigInt::from_f64(x * 2.0)
            .unwrap()
            .cmp(&(y * BigInt::from(2))),
        (N::Leaf(_, x), N::Leaf(_, y)) => x.cmp(y),
        (N::Ref(x), N::Ref(y)) => {
            let pad = |v: &Vec<u32>| {
                let mut v = v.clone();
                v.resize(5, 0);
                v.reverse();
                v
            };
            let o = x
                .node
                .cmp(&y.node)
                .then(x.creation.cmp(&y.creation))
                .then(pad(&x.ids).cmp(&pad(&y.ids)));
            if l == L::Total {
                o.then(x.ids.len().cmp(&y.ids.len()))
            } else {
                o
            }
        }
        (N::Pid(x), N::Pid(y)) => {
            (x.serial, x.id, &x.node, x.creation).cmp(&(y.serial, y.id, &y.node, y.creation))
        }
        (N::Port(x), N::Port(y)) => (&x.node, x.creation, x.id).cmp(&(&y.node, y.creation, y.id)),
        (N::Fun(m, x), N::Fun(n, y)) => m
            .cmp(n)
            .then(x.len().cmp(&y.len()))
            .then_with(|| seq_cmp(x, y, l)),
        (N::Export(a1, b1, c1), N::Export(a2, b2, c2)) => (a1, b1, c1).cmp(&(a2, b2, c2)),
        (N::Tuple(x), N::Tuple(y)) => x.len().cmp(&y.len()).then_with(|| seq_cmp(x, y, l)),
        // OTP 29: module, name, exported, size, field names, then values.
        (N::Record(m1, n1, e1, k1, x), N::Record(m2, n2, e2, k2, y)) => (m1, n1, e1, k1.len())
            .cmp(&(m2, n2, e2, k2.len()))
            .then_with(|| k1.cmp(k2))
            .then_with(|| seq_cmp(x, y, l)),
        (N::Map(x), N::Map(y)) => {
            let sort = |m: &Vec<(N, N)>| {
                let mut m = m.clone();
                m.sort_by(|p, q| {
                    ref_cmp(&p.0, &q.0, L::Exact).then_with(|| ref_cmp(&p.0, &q.0, L::Total))
                });
                m
            };
            let (x, y) = (sort(x), sort(y));
            let kl = if l == L::Erlang { L::Exact } else { l };
            x.len()
                .cmp(&y.len())
                .then_with(|| {
                    x.iter()
                        .zip(&y)
                        .map(|(p, q)| ref_cmp(&p.0, &q.0, kl))
                        .find(|o| o.is_ne())
                        .unwrap_or(Ordering::Equal)
                })
                .then_with(|| {
                    x.iter()
                        .zip(&y)
                        .map(|(p, q)| ref_cmp(&p.1, &q.1, l))
                        .find(|o| o.is_ne())
                        .unwrap_or(Ordering::Equal)
                })
        }
        (N::Nil, N::Nil) => Ordering::Equal,
        (N::List(x, t), N::List(y, u)) => {
            for (p, q) in x.iter().zip(y) {
                let o = ref_cmp(p, q, l);
                if o.is_ne() {
                    return o;
                }
            }
            match x.len().cmp(&y.len()) {
                Ordering::Equal => ref_cmp(t, u, l),
                Ordering::Less => nrank(t).cmp(&11),
                Ordering::Greater => 11.cmp(&nrank(u)),
            }
        }
        (N::Bits(x, lx, vx, px), N::Bits(y, ly, vy, py)) => {
            let n = (*lx).min(*ly);
            let o = (0..n)
                .map(|i| bit(x, i).cmp(&bit(y, i)))
                .find(|o| o.is_ne())
                .unwrap_or(Ordering::Equal)
                .then(lx.cmp(ly));
            if l == L::Total {
                o.then(vx.cmp(vy)).then(px.cmp(py)).then_with(|| x.cmp(y))
            } else {
                o
            }
        }
        _ => unreachable!(),
    }
}

fn seq_cmp(x: &[N], y: &[N], l: L) -> Ordering {
    x.iter()
        .zip(y)
        .map(|(p, q)| ref_cmp(p, q, l))
        .find(|o| o.is_ne())
        .unwrap_or(Ordering::Equal)
}

fn ref_ord(a: &Term, b: &Term) -> Ordering {
    let (x, y) = (norm(a), norm(b));
    ref_cmp(&x, &y, L::Erlang).then_with(|| ref_cmp(&x, &y, L::Total))
}

fn pair() -> impl Strategy<Value = (Term, Term)> {
    prop_oneof![
        (term(), term()),
        term().prop_map(|t| {
            let r = respell(&t);
            (t, r)
        }),
        term().prop_map(|t| (t.clone(), t)),
    ]
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(400))]

    #[test]
    fn clone_is_faithful(t in term()) {
        let c = t.clone();
        prop_assert_eq!(format!("{:?}", c), format!("{:?}", t));
        prop_assert!(c == t);
        prop_assert_eq!(hash_of(&c), hash_of(&t));
    }

    #[test]
    fn eq_agrees_with_reference((a, b) in pair()) {
        let expect = ref_eq(&norm(&a), &norm(&b));
        prop_assert_eq!(a == b, expect);
        prop_assert_eq!(b == a, expect);
        if expect {
            prop_assert_eq!(hash_of(&a), hash_of(&b));
        }
    }

    #[test]
    fn respelling_is_equal(t in term()) {
        let r = respell(&t);
        prop_assert!(t == r);
        prop_assert_eq!(hash_of(&t), hash_of(&r));
        prop_assert_eq!(t.cmp(&r), Ordering::Equal);
    }

    #[test]
    fn ord_agrees_with_reference((a, b) in pair()) {
        prop_assert_eq!(a.cmp(&b), ref_ord(&a, &b));
        prop_assert_eq!(a.erlang_cmp(&b), ref_cmp(&norm(&a), &norm(&b), L::Erlang));
        prop_assert_eq!(a.cmp(&b).is_eq(), a == b);
        prop_assert_eq!(b.cmp(&a), a.cmp(&b).reverse());
    }

    #[test]
    fn ord_is_a_total_order(a in term(), b in term(), c in term()) {
        let mut v = [a, b, c];
        v.sort();
        prop_assert!(v[0] <= v[1] && v[1] <= v[2] && v[0] <= v[2]);
        prop_assert_eq!(v[0].cmp(&v[2]).is_eq(), v[0] == v[2]);
        let e = |x: &Term, y: &Term| x.erlang_cmp(y);
        prop_assert!(e(&v[0], &v[1]).is_le() && e(&v[1], &v[2]).is_le() && e(&v[0], &v[2]).is_le());
    }
}

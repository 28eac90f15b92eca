//! `beamnode::serde_term` (feature `serde`): Rust values survive `to_term`, the ETF
//! codec and `from_term` unchanged, and `from_term` is total on arbitrary and deeply
//! nested terms (an error, never a panic or a stack overflow). Run with
//! `cargo test --features serde --test codec serde_term`.

use crate::common::{arb_term, deep, on_small_stack};
use beamnode::etf;
use beamnode::serde_term::{from_term, to_term, SerdeError, MAX_DEPTH};
use beamnode::{Atom, Term};
use proptest::prelude::*;
use serde::{Deserialize, Serialize};
use std::collections::{BTreeMap, HashMap};

#[derive(Serialize, Deserialize, Debug, PartialEq, Clone)]
#[serde(rename_all = "snake_case")]
enum Shape {
    Dot,
    Circle(f64),
    Rect(u32, u32),
    Poly { points: Vec<(i32, i32)> },
}

#[derive(Serialize, Deserialize, Debug, PartialEq, Clone)]
struct Record {
    id: u64,
    small: i8,
    big: i128,
    name: String,
    nick: Option<String>,
    score: f64,
    flags: Vec<bool>,
    tags: BTreeMap<String, i32>,
    shape: Shape,
    outcome: Result<u32, String>,
    done: Result<(), Atom>,
    pair: (i16, char),
    bytes: Vec<u8>,
    kind: Atom,
    raw: Term,
}

fn arb_shape() -> impl Strategy<Value = Shape> {
    prop_oneof![
        Just(Shape::Dot),
        (-1e12f64..1e12).prop_map(Shape::Circle),
        (any::<u32>(), any::<u32>()).prop_map(|(w, h)| Shape::Rect(w, h)),
        prop::collection::vec(any::<(i32, i32)>(), 0..4).prop_map(|points| Shape::Poly { points }),
    ]
}

fn arb_record() -> impl Strategy<Value = Record> {
    let head = (
        any::<u64>(),
        any::<i8>(),
        any::<i128>(),
        ".{0,12}",
        prop::option::of(".{0,6}"),
        prop::num::f64::NORMAL | prop::num::f64::ZERO | prop::num::f64::SUBNORMAL,
        prop::collection::vec(any::<bool>(), 0..4),
        prop::collection::btree_map(".{0,4}", any::<i32>(), 0..4),
    );
    let tail = (
        arb_shape(),
        prop_oneof![
            any::<u32>().prop_map(Ok),
            ".{0,5}".prop_map(|s: String| Err(s))
        ],
        prop_oneof![
            Just(Ok(())),
            "[a-z]{1,8}".prop_map(|s: String| Err(Atom::new(&s)))
        ],
        (any::<i16>(), any::<char>()),
        prop::collection::vec(any::<u8>(), 0..8),
        "[a-z_]{0,10}".prop_map(|s: String| Atom::new(&s)),
        arb_term(),
    );
    (head, tail).prop_map(
        |(
            (id, small, big, name, nick, score, flags, tags),
            (shape, outcome, done, pair, bytes, kind, raw),
        )| Record {
            id,
            small,
            big,
            name,
            nick,
            score,
            flags,
            tags,
            shape,
            outcome,
            done,
            pair,
            bytes,
            kind,
            raw,
        },
    )
}

/// For untagged reading of any term through `deserialize_any`.
#[derive(Deserialize, Debug)]
#[serde(untagged)]
#[allow(dead_code)]
enum Dynamic {
    Unit(()),
    Bool(bool),
    Int(i128),
    Float(f64),
    Text(String),
    List(Vec<Dynamic>),
    Map(HashMap<String, Dynamic>),
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 256, ..ProptestConfig::default() })]

    /// to_term → ETF bytes → decode → from_term gives the value back.
    #[test]
    fn record_round_trips_through_the_wire_format(r in arb_record()) {
        let t = to_term(&r).unwrap();
        prop_assert_eq!(&from_term::<Record>(&t).unwrap(), &r);
        let wire = etf::encode(&t).unwrap();
        let back = etf::decode(&wire).unwrap();
        prop_assert_eq!(from_term::<Record>(&back).unwrap(), r);
    }

    /// Any term gives a value or an error for every target type, never a panic.
    #[test]
    fn from_term_is_total(t in arb_term()) {
        let _ = from_term::<Record>(&t);
        let _ = from_term::<Shape>(&t);
        let _ = from_term::<Dynamic>(&t);
        let _ = from_term::<Result<Vec<String>, Option<i64>>>(&t);
        let _ = from_term::<(u8, char, Vec<u8>)>(&t);
        let _ = from_term::<BTreeMap<String, Term>>(&t);
        // A `Term` field takes any term unchanged.
        prop_assert_eq!(from_term::<Term>(&t).unwrap(), t);
    }
}

/// A recursive Rust type or a self-describing target reads at most `MAX_DEPTH` levels
/// of a hostile term, on a normal 2 MiB thread stack.
#[test]
fn deep_terms_fail_with_too_deep_on_a_small_stack() {
    #[derive(Deserialize, Debug)]
    #[allow(dead_code)]
    struct Nested(Vec<Nested>);
    #[derive(Deserialize, Debug)]
    #[allow(dead_code)]
    struct Boxed(Option<Box<Boxed>>, u8);
    on_small_stack(|| {
        for kind in ["list", "tuple", "map"] {
            let t = deep(kind, 200_000);
            assert!(
                matches!(
                    from_term::<Dynamic>(&t),
                    Err(SerdeError::TooDeep(MAX_DEPTH))
                ),
                "{kind}"
            );
            assert!(from_term::<Nested>(&t).is_err(), "{kind}");
            assert!(from_term::<Shape>(&t).is_err(), "{kind}");
            // A Term field takes it whole: the codec under it is iterative.
            assert_eq!(from_term::<Term>(&t).unwrap(), t);
        }
        let mut chain = Term::Int(0);
        for _ in 0..200_000 {
            chain = Term::tuple(vec![chain, Term::Int(1)]);
        }
        assert!(matches!(
            from_term::<Boxed>(&chain),
            Err(SerdeError::TooDeep(MAX_DEPTH))
        ));
    });
}

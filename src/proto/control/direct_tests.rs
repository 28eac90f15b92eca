//! `ControlMessage::decode_direct` against the reference path (decode the term, then
//! `from_term`): the same message and length for every valid control tuple, and
//! `None` for every invalid one, so that the reference path names the fault.

use super::{op, ControlMessage};
use crate::etf::{self, DecodeOptions};
use crate::term::{Atom, Pid, Reference, Term};
use proptest::prelude::*;

fn pid() -> Term {
    Term::Pid(Pid::new(
        Atom::new("driver_node_with_a_long_name@localhost"),
        93,
        0,
        7,
    ))
}

fn reference() -> Term {
    Term::Ref(Reference {
        node: Atom::new("a@b"),
        creation: 3,
        ids: vec![1, 2, 3],
    })
}

fn opts(max_depth: usize) -> DecodeOptions<'static> {
    DecodeOptions {
        atom_cache: None,
        allow_compressed: false,
        max_depth,
    }
}

/// Checks one control term, followed by a payload in the same buffer; returns whether
/// it was a valid control message.
fn check(control: &Term, max_depth: usize) -> bool {
    let mut bytes = Vec::new();
    etf::encode_body_into(control, &mut bytes).unwrap();
    let len = bytes.len();
    bytes.extend_from_slice(&[131, 106]);
    let reference = etf::decode_body(&bytes, &opts(max_depth))
        .ok()
        .and_then(|(t, used)| ControlMessage::from_term(t).ok().map(|c| (c, used)));
    let direct = ControlMessage::decode_direct(&bytes, &opts(max_depth));
    match (reference, direct) {
        (Some((want, used)), Some((got, got_used, records))) => {
            assert_eq!(got, want, "{control}");
            assert_eq!((got_used, used), (len, len), "{control}");
            assert!(!records);
            true
        }
        (None, None) => false,
        (want, got) => panic!("{control}: reference {want:?}, direct {got:?}"),
    }
}

#[test]
fn every_kind_of_control_message_reads_the_same_directly() {
    let a = Term::atom;
    let i = |n: i64| Term::Int(n);
    let token = Term::tuple(vec![i(0), a("label"), i(1), pid(), i(2)]);
    let cases = vec![
        Term::tuple(vec![i(op::SEND as i64), a(""), pid()]),
        Term::tuple(vec![i(op::SEND_TT as i64), a(""), pid(), token.clone()]),
        Term::tuple(vec![i(op::REG_SEND as i64), pid(), a(""), a("sink")]),
        Term::tuple(vec![
            i(op::REG_SEND_TT as i64),
            pid(),
            a(""),
            a("sink"),
            token.clone(),
        ]),
        Term::tuple(vec![i(op::SEND_SENDER as i64), pid(), pid()]),
        Term::tuple(vec![i(op::ALIAS_SEND as i64), pid(), reference()]),
        Term::tuple(vec![i(op::LINK as i64), pid(), pid()]),
        Term::tuple(vec![
            i(op::EXIT as i64),
            pid(),
            pid(),
            Term::tuple(vec![a("shutdown"), Term::list(vec![i(1), i(2)])]),
        ]),
        Term::tuple(vec![i(op::MONITOR_P as i64), pid(), a("kv"), reference()]),
        Term::tuple(vec![i(op::DEMONITOR_P as i64), pid(), pid(), reference()]),
        Term::tuple(vec![
            i(op::MONITOR_P_EXIT as i64),
            pid(),
            pid(),
            reference(),
            a("normal"),
        ]),
        Term::tuple(vec![i(op::UNLINK_ID as i64), i(12), pid(), pid()]),
        Term::tuple(vec![
            i(op::SPAWN_REQUEST as i64),
            reference(),
            pid(),
            pid(),
            Term::tuple(vec![a("m"), a("f"), i(2)]),
            Term::list(vec![a("link")]),
        ]),
        Term::tuple(vec![
            i(op::SPAWN_REPLY as i64),
            reference(),
            pid(),
            i(1),
            pid(),
        ]),
        Term::tuple(vec![i(op::ALTACT_SIG_SEND as i64), i(0), pid(), pid()]),
        // Invalid: wrong arity, wrong element types, unknown and obsolete ops, an op
        // that is not an integer, an empty tuple, a non-tuple.
        Term::tuple(vec![i(op::SEND as i64), a(""), pid(), a("extra")]),
        Term::tuple(vec![i(op::SEND as i64), a("")]),
        Term::tuple(vec![i(op::REG_SEND as i64), pid(), a(""), i(5)]),
        Term::tuple(vec![i(op::LINK as i64), a("x"), pid()]),
        Term::tuple(vec![i(200), pid()]),
        Term::tuple(vec![i(-1), pid()]),
        Term::tuple(vec![i(op::NODE_LINK as i64)]),
        Term::tuple(vec![a("send"), pid()]),
        Term::tuple(vec![]),
        Term::list(vec![i(op::SEND as i64), a(""), pid()]),
        pid(),
    ];
    let valid = cases.iter().filter(|c| check(c, usize::MAX)).count();
    assert_eq!(valid, 15, "the first 15 cases are valid control messages");
    // The depth limit counts the tuple: a token nested to the limit is refused by
    // both paths, one level less is accepted by both.
    let deep = Term::tuple(vec![
        i(op::SEND_TT as i64),
        a(""),
        pid(),
        Term::tuple(vec![Term::tuple(vec![i(1)])]),
    ]);
    let accepted: Vec<bool> = (0..5).map(|depth| check(&deep, depth)).collect();
    assert_eq!(accepted, [false, false, false, true, true]);
}

/// A truncated or corrupted control tuple is never read directly.
#[test]
fn damaged_bytes_fall_back() {
    let c = Term::tuple(vec![
        Term::Int(op::REG_SEND as i64),
        pid(),
        Term::atom(""),
        Term::atom("sink"),
    ]);
    let mut bytes = Vec::new();
    etf::encode_body_into(&c, &mut bytes).unwrap();
    for cut in 0..bytes.len() {
        assert!(ControlMessage::decode_direct(&bytes[..cut], &opts(usize::MAX)).is_none());
    }
    let mut bad = bytes.clone();
    bad[2 + 2] = 200; // the pid's tag
    assert!(ControlMessage::decode_direct(&bad, &opts(usize::MAX)).is_none());
}

fn element() -> impl Strategy<Value = Term> {
    prop_oneof![
        Just(pid()),
        Just(reference()),
        Just(Term::atom("")),
        Just(Term::atom("name")),
        (0i64..300).prop_map(Term::Int),
        Just(Term::Nil),
        Just(Term::list(vec![Term::atom("link"), Term::Int(1)])),
        Just(Term::tuple(vec![
            Term::atom("m"),
            Term::atom("f"),
            Term::Int(0)
        ])),
        Just(Term::from_bigint(num_bigint::BigInt::from(u64::MAX))),
    ]
}

proptest! {
    /// Tuples of a known op code and elements of the kinds control messages hold, of
    /// any arity: both paths agree on every one, valid or not.
    #[test]
    fn direct_reading_agrees_with_the_reference(
        op in prop_oneof![0i64..=40, Just(-3), Just(1000)],
        elems in proptest::collection::vec(element(), 0..7),
    ) {
        let mut all = vec![Term::Int(op)];
        all.extend(elems);
        check(&Term::tuple(all), usize::MAX);
    }
}

//! Native records (EEP 79, OTP 29, tag 67): fixtures made by real OTP 29
//! (`fixtures/gen_records_otp29.escript`) decode, re-encode to the same bytes and print
//! as OTP's `~p`; OTP's own `lists:sort/1` order is ours; hostile inputs are errors.

use crate::common::{all_exported, on_small_stack};
use beamnode::etf::{self, DecodeError};
use beamnode::term::{parse::parse_term, NativeRecord};
use beamnode::{Atom, Term};
use std::cmp::Ordering;
use std::path::PathBuf;

fn fixtures() -> Vec<(String, String, Vec<u8>)> {
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("fixtures/etf_records");
    let manifest = std::fs::read_to_string(dir.join("MANIFEST.txt")).unwrap();
    manifest
        .lines()
        .map(|l| {
            let (name, printed) = l.split_once('\t').unwrap();
            let bytes = std::fs::read(dir.join(format!("{name}.bin"))).unwrap();
            (name.to_string(), printed.to_string(), bytes)
        })
        .collect()
}

fn fixture(name: &str) -> Term {
    let (_, _, b) = fixtures().into_iter().find(|f| f.0 == name).unwrap();
    etf::decode(&b).unwrap()
}

fn rec(exported: bool, module: &str, name: &str, fields: Vec<(&str, Term)>) -> Term {
    Term::Record(Box::new(NativeRecord {
        module: Atom::new(module),
        name: Atom::new(name),
        exported,
        fields: fields.into_iter().map(|(k, v)| (Atom::new(k), v)).collect(),
    }))
}

#[test]
fn otp29_fixtures_decode_reencode_and_print_like_otp() {
    let all = fixtures();
    assert_eq!(all.len(), 9);
    for (name, printed, bytes) in all {
        let t = etf::decode(&bytes).unwrap_or_else(|e| panic!("{name}: {e}"));
        assert_eq!(
            etf::encode(&t).unwrap(),
            bytes,
            "{name}: re-encoding differs"
        );
        // The generator joins ~p's lines with a space; we print on one line.
        let otp = printed.replace(", ", ",");
        if name == "rec_list" {
            // OTP's ~p prints a pid as <0.10.0>; beamnode prints node and creation.
            assert!(t
                .to_string()
                .starts_with("[#nr_fix:e{},#nr_fix:pt{x = 0,y = 0},"));
        } else if name == "rec_map_key" {
            // Map entry order as OTP 29 printed it is its internal order.
            assert_eq!(etf::decode(&etf::encode(&t).unwrap()).unwrap(), t);
        } else {
            assert_eq!(t.to_string(), otp, "{name}");
        }
        // Text round trip, up to the exported flag (text has none: parses as exported).
        if name != "rec_list" {
            let back = parse_term(&t.to_string()).unwrap();
            assert_eq!(back, all_exported(&t), "{name}");
        }
    }
}

#[test]
fn fixture_values() {
    assert_eq!(
        fixture("rec_pt"),
        rec(
            true,
            "nr_fix",
            "pt",
            vec![("x", Term::Int(1)), ("y", Term::Int(2))]
        )
    );
    assert_eq!(fixture("rec_empty"), rec(true, "nr_fix", "e", vec![]));
    let Term::Record(p) = fixture("rec_private") else {
        panic!()
    };
    assert!(!p.exported);
    assert_eq!(p.fields[2], (Atom::new("c"), Term::binary("bin")));
    // Text loses only the exported flag.
    let Term::Record(mut back) = parse_term(&fixture("rec_private").to_string()).unwrap() else {
        panic!()
    };
    assert!(back.exported);
    back.exported = false;
    assert_eq!(Term::Record(back), fixture("rec_private"));
}

#[test]
fn brief_example_bytes() {
    let b = b"\x83\x43\0\0\0\x03\x01\x77\x03nr2\x77\x02p3\x77\x01a\x77\x01b\x77\x01c\x61\x01\x61\x02\x61\x03";
    let t = etf::decode(b).unwrap();
    assert_eq!(t.to_string(), "#nr2:p3{a = 1,b = 2,c = 3}");
    assert_eq!(etf::encode(&t).unwrap(), b.to_vec());
    let e = b"\x83\x43\0\0\0\0\x01\x77\x03nr2\x77\x01e";
    assert_eq!(etf::decode(e).unwrap().to_string(), "#nr2:e{}");
    // Old atom tags are accepted (OTP 29 too) and re-encoded as SMALL_ATOM_UTF8_EXT.
    let old = b"\x83\x43\0\0\0\x01\x00\x64\0\x01m\x73\x01r\x76\0\x01a\x61\x01";
    let t = etf::decode(old).unwrap();
    assert_eq!(t, rec(false, "m", "r", vec![("a", Term::Int(1))]));
}

#[test]
fn otp29_term_order() {
    let Term::List(sorted) = fixture("sorted_mix") else {
        panic!()
    };
    let sorted: Vec<Term> = sorted.to_vec();
    for w in sorted.windows(2) {
        assert_ne!(
            w[0].erlang_cmp(&w[1]),
            Ordering::Greater,
            "{} > {}",
            w[0],
            w[1]
        );
    }
    // OTP sorted a list where 1 came before 1.0 (equal, stable): our tie-break agrees.
    let mut ours = sorted.clone();
    ours.reverse();
    ours.sort();
    assert_eq!(ours, sorted);
    // A non-exported record sorts before an exported one with fewer fields.
    assert_eq!(
        rec(false, "m", "r", vec![("a", 0.into()), ("b", 0.into())]).erlang_cmp(&rec(
            true,
            "m",
            "r",
            vec![]
        )),
        Ordering::Less
    );
    assert_eq!(
        rec(true, "m", "r", vec![("a", 1.into())]).erlang_cmp(&rec(
            true,
            "m",
            "r",
            vec![("a", 1.0.into())]
        )),
        Ordering::Equal
    );
    assert_ne!(
        rec(true, "m", "r", vec![("a", 1.into())]),
        rec(false, "m", "r", vec![("a", 1.into())])
    );
}

#[test]
fn hostile_records_are_errors() {
    let cases: Vec<(&str, Vec<u8>)> = vec![
        (
            "huge arity",
            b"\x83\x43\xff\xff\xff\xff\x01\x77\x01m\x77\x01r".to_vec(),
        ),
        (
            "huge arity, names present",
            b"\x83\x43\xff\xff\xff\xff\x01\x77\x01m\x77\x01r\x77\x01a\x77\x01b".to_vec(),
        ),
        ("truncated header", b"\x83\x43\0\0".to_vec()),
        ("truncated flags", b"\x83\x43\0\0\0\x01".to_vec()),
        (
            "truncated values",
            b"\x83\x43\0\0\0\x02\x01\x77\x01m\x77\x01r\x77\x01a\x77\x01b\x61\x01".to_vec(),
        ),
        (
            "non-atom field name",
            b"\x83\x43\0\0\0\x01\x01\x77\x01m\x77\x01r\x61\x01\x61\x02".to_vec(),
        ),
        (
            "non-atom module",
            b"\x83\x43\0\0\0\0\x01\x6a\x77\x01r".to_vec(),
        ),
        (
            "non-atom name",
            b"\x83\x43\0\0\0\0\x01\x77\x01m\x68\0".to_vec(),
        ),
        (
            "bad flags",
            b"\x83\x43\0\0\0\0\x02\x77\x01m\x77\x01r".to_vec(),
        ),
        (
            "duplicate field",
            b"\x83\x43\0\0\0\x02\x01\x77\x01m\x77\x01r\x77\x01a\x77\x01a\x61\x01\x61\x02".to_vec(),
        ),
        (
            "atom cache ref without cache",
            b"\x83\x43\0\0\0\0\x01\x52\x00\x77\x01r".to_vec(),
        ),
    ];
    for (what, b) in cases {
        let e = etf::decode(&b).expect_err(what);
        match what {
            "non-atom field name" => assert_eq!(
                e,
                DecodeError::Invalid {
                    offset: 13,
                    reason: "NATIVE_RECORD_EXT field name must be an atom"
                }
            ),
            "non-atom module" => assert!(matches!(e, DecodeError::Invalid { offset: 7, .. })),
            "non-atom name" => assert!(matches!(e, DecodeError::Invalid { offset: 10, .. })),
            w if w.starts_with("huge") || w.starts_with("truncated") => {
                assert!(matches!(e, DecodeError::Truncated { .. }), "{what}: {e}")
            }
            _ => {}
        }
        // Every prefix fails cleanly too.
        for cut in 0..b.len() {
            let _ = etf::decode(&b[..cut]);
        }
    }
}

#[test]
fn deep_records_decode_encode_clone_compare_and_drop() {
    on_small_stack(|| {
        let levels = 200_000;
        let mut b = Vec::new();
        b.push(131u8);
        for _ in 0..levels {
            b.extend_from_slice(b"\x43\0\0\0\x01\x01\x77\x01m\x77\x01r\x77\x01f");
        }
        b.push(106);
        let t = etf::decode(&b).unwrap();
        assert_eq!(etf::encode(&t).unwrap(), b);
        let c = t.clone();
        assert_eq!(c, t);
        assert_eq!(c.cmp(&t), Ordering::Equal);
        let h = |x: &Term| {
            use std::hash::{Hash, Hasher};
            let mut s = std::collections::hash_map::DefaultHasher::new();
            x.hash(&mut s);
            s.finish()
        };
        assert_eq!(h(&c), h(&t));
        assert!(format!("{t:?}").contains("..."));
        assert!(t.to_string().contains("..."));
        drop(c);
        drop(t);
    });
}

#[test]
fn records_are_not_eetf_terms() {
    let t = rec(true, "m", "r", vec![]);
    assert!(eetf::Term::try_from(t).is_err());
    let nested = Term::list(vec![Term::Int(1), rec(false, "m", "r", vec![])]);
    assert!(eetf::Term::try_from(nested).is_err());
}

#[test]
fn records_as_map_keys() {
    // OTP 29 encodes #{Exported => 2, NotExported => 1} as two distinct keys.
    let two = b"\x83\x74\0\0\0\x02\x43\0\0\0\x01\x00\x77\x01m\x77\x01r\x77\x01a\x61\x01\x61\x02\x43\0\0\0\x01\x01\x77\x01m\x77\x01r\x77\x01a\x61\x01\x61\x01";
    let t = etf::decode(two).unwrap();
    assert_eq!(t.as_map().unwrap().len(), 2);
    assert_eq!(etf::encode(&t).unwrap(), two.to_vec());
    // The same record twice is a duplicate key.
    let mut dup = two.to_vec();
    dup[11] = 1;
    assert!(matches!(
        etf::decode(&dup),
        Err(DecodeError::DuplicateMapKey { .. })
    ));
}

#[test]
fn text_loses_only_the_exported_flag() {
    let t = Term::tuple(vec![
        rec(false, "m", "r", vec![("a", rec(false, "m", "s", vec![]))]),
        Term::map(vec![(rec(false, "m", "k", vec![]), Term::Nil)]),
    ]);
    let back = parse_term(&t.to_string()).unwrap();
    assert_ne!(back, t);
    assert_eq!(back, all_exported(&t));
}

#[test]
fn shared_strategy_generates_records() {
    use proptest::strategy::{Strategy, ValueTree};
    use proptest::test_runner::TestRunner;
    let mut runner = TestRunner::deterministic();
    let strategy = crate::common::arb_term();
    let with_records = (0..200)
        .filter(|_| crate::common::has_record(&strategy.new_tree(&mut runner).unwrap().current()))
        .count();
    assert!(
        with_records > 10,
        "only {with_records} of 200 terms hold a record"
    );
}

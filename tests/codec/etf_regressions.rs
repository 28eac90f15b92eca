//! Regression tests for eetf 0.12 defects, showing the beamnode codec handles each
//! case, plus hostile-input checks (deep nesting, huge length fields).

use crate::common::{deep, on_small_stack};
use beamnode::etf::{self, DecodeError, DecodeOptions, EncodeError};
use beamnode::term::{BitBinary, Float};
use beamnode::{Atom, Reference, Term};

#[test]
fn dist_header_and_cache_ref_tags_in_three_bytes_give_typed_errors() {
    // eetf 0.12 panics on these.
    assert!(matches!(
        etf::decode(&[131, 68, 0]),
        Err(DecodeError::UnknownTag { tag: 68, .. })
    ));
    assert!(matches!(
        etf::decode(&[131, 82, 0]),
        Err(DecodeError::AtomCacheRef { index: 0, .. })
    ));
    let cache = [Atom::new("hello")];
    let opts = DecodeOptions {
        atom_cache: Some(&cache),
        allow_compressed: false,
        max_depth: usize::MAX,
    };
    assert_eq!(
        etf::decode_body(&[82, 0], &opts).unwrap(),
        (Term::atom("hello"), 2)
    );
    assert!(matches!(
        etf::decode_body(&[82, 1], &opts),
        Err(DecodeError::AtomCacheRef { index: 1, .. })
    ));
}

#[test]
fn huge_declared_lengths_are_refused_without_allocating() {
    for t in [108u8, 105, 116, 109, 77, 111] {
        let bytes = [131, t, 0xff, 0xff, 0xff, 0xff];
        assert!(matches!(
            etf::decode(&bytes),
            Err(DecodeError::Truncated { .. }) | Err(DecodeError::Invalid { .. })
        ));
    }
    // COMPRESSED declaring 4 GiB from a few bytes.
    let r = etf::decode(&[131, 80, 0xff, 0xff, 0xff, 0xff, 0x78, 0x9c, 0x03, 0]);
    assert!(matches!(r, Err(DecodeError::BadCompressed { .. })));
}

fn deep_roundtrip(kind: &'static str) {
    on_small_stack(move || {
        let t = deep(kind, 1_000_000);
        let bytes = etf::encode(&t).unwrap();
        let back = etf::decode(&bytes).unwrap();
        // Compare without recursion: re-encode and compare bytes.
        assert_eq!(etf::encode(&back).unwrap(), bytes);
        drop(back);
        drop(t);
    });
}

#[test]
fn million_level_list_nesting() {
    deep_roundtrip("list");
}
#[test]
fn million_level_tuple_nesting() {
    deep_roundtrip("tuple");
}
#[test]
fn million_level_map_nesting() {
    deep_roundtrip("map");
}
#[test]
fn million_level_map_key_nesting() {
    deep_roundtrip("mapkey");
}
#[test]
fn million_level_fun_env_nesting() {
    deep_roundtrip("fun");
}

#[test]
fn million_level_improper_tails() {
    on_small_stack(|| {
        // [1|[2|[3|…|x]]] written as nested one-element LIST_EXTs, as a hostile peer
        // could: it must decode (to one flat improper list) in linear time.
        let n = 1_000_000u32;
        let mut b = vec![131];
        for _ in 0..n {
            b.extend_from_slice(&[108, 0, 0, 0, 1, 97, 7]);
        }
        b.extend_from_slice(&[119, 1, b'x']);
        let t = etf::decode(&b).unwrap();
        let Term::ImproperList(il) = &t else { panic!() };
        assert_eq!(il.elements.len(), n as usize);
        assert_eq!(*il.tail, Term::atom("x"));
        let again = etf::decode(&etf::encode(&t).unwrap()).unwrap();
        assert_eq!(etf::encode(&again).unwrap(), etf::encode(&t).unwrap());
    });
}

#[test]
fn negative_ints_in_a_list_are_not_a_string() {
    // eetf 0.12 writes [1,-2,3] as STRING_EXT, so the peer receives [1,254,3].
    let t = Term::list(vec![1.into(), (-2).into(), 3.into()]);
    let b = etf::encode(&t).unwrap();
    assert_eq!(
        b,
        vec![131, 108, 0, 0, 0, 3, 97, 1, 98, 255, 255, 255, 254, 97, 3, 106]
    );
    assert_eq!(etf::decode(&b).unwrap(), t);
    let s = Term::list(vec![1.into(), 255.into()]);
    assert_eq!(etf::encode(&s).unwrap(), vec![131, 107, 0, 2, 1, 255]);
    assert_eq!(
        etf::encode(&Term::List(vec![].into())).unwrap(),
        vec![131, 106]
    );
}

#[test]
fn decoder_rejects_what_otp_rejects() {
    // NaN / Inf.
    let mut nan = vec![131, 70];
    nan.extend_from_slice(&f64::NAN.to_bits().to_be_bytes());
    assert!(matches!(
        etf::decode(&nan),
        Err(DecodeError::BadFloat { .. })
    ));
    // Duplicate map keys.
    let dup = [131, 116, 0, 0, 0, 2, 97, 1, 106, 97, 1, 106];
    assert!(matches!(
        etf::decode(&dup),
        Err(DecodeError::DuplicateMapKey { .. })
    ));
    // Same key written two ways (INTEGER_EXT vs SMALL_INTEGER_EXT) is still a duplicate.
    let dup2 = [131, 116, 0, 0, 0, 2, 97, 1, 106, 98, 0, 0, 0, 1, 106];
    assert!(matches!(
        etf::decode(&dup2),
        Err(DecodeError::DuplicateMapKey { .. })
    ));
    // 256-character atom.
    let mut long = vec![131, 118, 1, 0];
    long.extend(std::iter::repeat_n(b'a', 256));
    assert!(matches!(
        etf::decode(&long),
        Err(DecodeError::BadAtom { .. })
    ));
    // Reference with 6 words and with 0 words.
    let r6 = [131, 90, 0, 6, 119, 1, b'a', 0, 0, 0, 1];
    assert!(etf::decode(&r6).is_err());
    let r0 = [131, 90, 0, 0, 119, 1, b'a', 0, 0, 0, 1];
    assert!(etf::decode(&r0).is_err());
    // LOCAL_EXT.
    assert!(matches!(
        etf::decode(&[131, 121, 1, 2, 3]),
        Err(DecodeError::LocalExt { .. })
    ));
    // COMPRESSED inside a term / in a dist body.
    assert!(matches!(
        etf::decode(&[131, 104, 1, 80, 0, 0, 0, 1]),
        Err(DecodeError::CompressedNotAllowed { .. })
    ));
    assert!(matches!(
        etf::decode_body(&[80, 0, 0, 0, 1], &DecodeOptions::default()),
        Err(DecodeError::CompressedNotAllowed { .. })
    ));
    // Trailing bytes and bad version.
    assert_eq!(
        etf::decode(&[131, 106, 0]),
        Err(DecodeError::TrailingBytes(1))
    );
    assert_eq!(etf::decode(&[130, 106]), Err(DecodeError::BadVersion(130)));
}

#[test]
fn old_forms_decode() {
    // ATOM_EXT / SMALL_ATOM_EXT Latin-1.
    assert_eq!(
        etf::decode(&[131, 100, 0, 2, b'o', 0xe9]).unwrap(),
        Term::atom("oé")
    );
    assert_eq!(etf::decode(&[131, 115, 1, 0xff]).unwrap(), Term::atom("ÿ"));
    // PID_EXT, PORT_EXT, REFERENCE_EXT, NEW_REFERENCE_EXT.
    let t = etf::decode(&[131, 103, 119, 1, b'a', 0, 0, 0, 5, 0, 0, 0, 1, 2]).unwrap();
    assert_eq!(t, Term::Pid(beamnode::Pid::new(Atom::new("a"), 5, 1, 2)));
    let t = etf::decode(&[131, 102, 119, 1, b'a', 0, 0, 0, 5, 3]).unwrap();
    assert!(matches!(t, Term::Port(p) if p.id == 5 && p.creation == 3));
    let t = etf::decode(&[131, 101, 119, 1, b'a', 0, 0, 0, 5, 1]).unwrap();
    assert!(matches!(t, Term::Ref(r) if r.ids == vec![5]));
    let t = etf::decode(&[131, 114, 0, 2, 119, 1, b'a', 1, 0, 0, 0, 5, 0, 0, 0, 6]).unwrap();
    assert!(matches!(t, Term::Ref(r) if r.ids == vec![5, 6] && r.creation == 1));
    // Old creation > 3 is refused.
    assert!(etf::decode(&[131, 103, 119, 1, b'a', 0, 0, 0, 5, 0, 0, 0, 1, 4]).is_err());
    // BIT_BINARY with 8 bits is a binary; big ints that fit normalise to Int.
    assert_eq!(
        etf::decode(&[131, 77, 0, 0, 0, 1, 8, 7]).unwrap(),
        Term::binary(vec![7])
    );
    assert_eq!(
        etf::decode(&[131, 110, 3, 1, 1, 0, 0]).unwrap(),
        Term::Int(-1)
    );
    assert_eq!(etf::decode(&[131, 110, 0, 0]).unwrap(), Term::Int(0));
    // LIST_EXT with 0 elements is its tail; STRING_EXT of length 0 is [].
    assert_eq!(
        etf::decode(&[131, 108, 0, 0, 0, 0, 97, 1]).unwrap(),
        Term::Int(1)
    );
    assert_eq!(etf::decode(&[131, 107, 0, 0]).unwrap(), Term::Nil);
}

#[test]
fn encoder_refuses_what_a_peer_would_reject() {
    let mut out = vec![1, 2, 3];
    let bad = Term::tuple(vec![Term::Int(1), Term::Float(Float(f64::INFINITY))]);
    assert!(matches!(
        etf::encode_into(&bad, &mut out),
        Err(EncodeError::NonFiniteFloat(_))
    ));
    assert_eq!(out, vec![1, 2, 3]);
    assert!(matches!(
        etf::encode_body_into(&Term::atom(&"x".repeat(256)), &mut out),
        Err(EncodeError::AtomTooLong { chars: 256 })
    ));
    assert_eq!(out, vec![1, 2, 3]);
    // 255 multi-byte characters are fine (ATOM_UTF8_EXT).
    let ok = etf::encode(&Term::atom(&"☺".repeat(255))).unwrap();
    assert_eq!(&ok[..4], &[131, 118, 0x02, 0xfd]);
    for ids in [vec![], vec![1; 6]] {
        let r = Term::Ref(Reference {
            node: Atom::new("a@h"),
            creation: 1,
            ids,
        });
        assert!(matches!(etf::encode(&r), Err(EncodeError::BadReference(_))));
    }
    for (bytes, bits) in [(vec![], 3), (vec![1], 0), (vec![1], 9)] {
        let b = Term::BitBinary(BitBinary { bytes, bits });
        assert!(matches!(
            etf::encode(&b),
            Err(EncodeError::BadBitBinary { .. })
        ));
    }
}

#[test]
fn compressed_round_trip() {
    let t = Term::list(
        (0..500)
            .map(|i| Term::tuple(vec![Term::atom("x"), i.into()]))
            .collect(),
    );
    let c = etf::encode_compressed(&t, 6).unwrap();
    assert_eq!(&c[..2], &[131, 80]);
    assert_eq!(etf::decode(&c).unwrap(), t);
    // Declared size one too small / too large.
    let mut small = c.clone();
    let declared = u32::from_be_bytes([c[2], c[3], c[4], c[5]]);
    small[2..6].copy_from_slice(&(declared - 1).to_be_bytes());
    assert!(matches!(
        etf::decode(&small),
        Err(DecodeError::BadCompressed { .. })
    ));
    let mut big = c.clone();
    big[2..6].copy_from_slice(&(declared + 1).to_be_bytes());
    assert!(matches!(
        etf::decode(&big),
        Err(DecodeError::BadCompressed { .. })
    ));
    // Not worth compressing: plain encoding, as OTP does.
    assert_eq!(
        etf::encode_compressed(&Term::atom("ok"), 6).unwrap(),
        etf::encode(&Term::atom("ok")).unwrap()
    );
}

#[test]
fn nested_map_keys_with_siblings_stay_fast() {
    // #{ #{ #{…} => 1, a => 1 } => 1, a => 1 }: re-encoding or hashing every key at
    // every level would be quadratic; this must decode quickly.
    on_small_stack(|| {
        let n = 200_000;
        let mut b = vec![131];
        for _ in 0..n {
            b.extend_from_slice(&[116, 0, 0, 0, 2]);
        }
        b.push(106);
        for _ in 0..n {
            b.extend_from_slice(&[97, 1, 119, 1, b'a', 97, 1]);
        }
        let start = std::time::Instant::now();
        let t = etf::decode(&b).unwrap();
        assert!(start.elapsed() < std::time::Duration::from_secs(20));
        assert_eq!(etf::encode(&t).unwrap(), b);
    });
}

#[test]
fn duplicate_deep_keys_are_found() {
    let k = deep("tuple", 100_000);
    let mut b = vec![131, 116, 0, 0, 0, 2];
    for _ in 0..2 {
        etf::encode_body_into(&k, &mut b).unwrap();
        b.push(106);
    }
    on_small_stack(move || {
        assert!(matches!(
            etf::decode(&b),
            Err(DecodeError::DuplicateMapKey { .. })
        ));
    });
}

/// `DecodeOptions::max_depth`: a term exactly at the limit decodes, one a level deeper
/// fails with `TooDeep` naming the limit, for each kind of container; list tails do not
/// count (a long proper list is one level), and the default of distribution
/// connections still takes the million-level terms OTP can send.
#[test]
fn max_depth_counts_open_containers() {
    let at = |limit: usize| DecodeOptions {
        max_depth: limit,
        ..DecodeOptions::default()
    };
    for kind in ["list", "tuple", "map", "mapkey", "fun"] {
        let bytes = etf::encode(&deep(kind, 50)).unwrap();
        // `deep(kind, n)` is n containers around a leaf.
        assert!(
            etf::decode_with(&bytes, &at(50)).is_ok(),
            "{kind} at the limit"
        );
        match etf::decode_with(&bytes, &at(49)) {
            Err(DecodeError::TooDeep { limit: 49, .. }) => {}
            other => panic!("{kind} over the limit: {other:?}"),
        }
    }
    let long = Term::list((0..10_000).map(Term::Int).collect());
    let bytes = etf::encode(&long).unwrap();
    assert!(etf::decode_with(&bytes, &at(1)).is_ok());
    on_small_stack(|| {
        let bytes = etf::encode(&deep("tuple", 1_000_000)).unwrap();
        let opts = DecodeOptions {
            max_depth: etf::DEFAULT_MAX_DEPTH,
            ..DecodeOptions::default()
        };
        assert!(etf::decode_with(&bytes, &opts).is_ok());
    });
}

/// Map bodies with `n` entries whose keys are the atoms `k0..`, in sorted or reversed
/// order, and optionally the first key written again at `dup_at`.
fn atom_map(n: usize, reversed: bool, dup_at: Option<usize>) -> Vec<u8> {
    let mut keys: Vec<String> = (0..n).map(|i| format!("k{i:02}")).collect();
    if reversed {
        keys.reverse();
    }
    if let Some(at) = dup_at {
        keys[at] = keys[0].clone();
    }
    let mut b = vec![131, 116];
    b.extend_from_slice(&(n as u32).to_be_bytes());
    for k in keys {
        b.extend([119, k.len() as u8]);
        b.extend(k.bytes());
        b.extend([97, 1]);
    }
    b
}

/// The duplicate-key check has three paths (keys already in order, a small map
/// compared pairwise, a large one sorted): a duplicate is found by each, wherever it
/// sits, and distinct keys pass in any order.
#[test]
fn duplicate_map_keys_are_found_at_every_size_and_order() {
    for n in 2..=20 {
        for reversed in [false, true] {
            let ok = atom_map(n, reversed, None);
            assert_eq!(etf::decode(&ok).unwrap().as_map().unwrap().len(), n);
            for at in 1..n {
                let dup = atom_map(n, reversed, Some(at));
                assert!(
                    matches!(etf::decode(&dup), Err(DecodeError::DuplicateMapKey { .. })),
                    "n={n} reversed={reversed} duplicate at {at}"
                );
            }
        }
    }
}

/// Lists and tuples of numbers are read a run of one encoding at a time
/// (`Decoder::number_run`): runs of every encoding, runs cut short by a change of
/// encoding, a non-finite float in the middle of a run and a run truncated inside an
/// element must decode (or fail) as element-by-element decoding does.
#[test]
fn runs_of_numbers_decode_like_single_numbers() {
    fn float(f: f64) -> Vec<u8> {
        let mut v = vec![70];
        v.extend_from_slice(&f.to_bits().to_be_bytes());
        v
    }
    fn small(b: u8) -> Vec<u8> {
        vec![97, b]
    }
    fn int(i: i32) -> Vec<u8> {
        let mut v = vec![98];
        v.extend_from_slice(&i.to_be_bytes());
        v
    }
    let elems: Vec<(Vec<u8>, Term)> = vec![
        (float(1.5), Term::from(1.5)),
        (float(-2.25), Term::from(-2.25)),
        (small(7), Term::Int(7)),
        (small(255), Term::Int(255)),
        (int(-70_000), Term::Int(-70_000)),
        (int(i32::MAX), Term::Int(i32::MAX as i64)),
        (float(0.0), Term::from(0.0)),
        (small(0), Term::Int(0)),
        (int(300), Term::Int(300)),
        (
            etf::encode(&Term::atom("x")).unwrap()[1..].to_vec(),
            Term::atom("x"),
        ),
        (float(3.0), Term::from(3.0)),
    ];
    let body: Vec<u8> = elems.iter().flat_map(|(b, _)| b.clone()).collect();
    let terms: Vec<Term> = elems.iter().map(|(_, t)| t.clone()).collect();
    let n = elems.len() as u32;

    let mut list = vec![131, 108];
    list.extend_from_slice(&n.to_be_bytes());
    list.extend_from_slice(&body);
    list.push(106);
    assert_eq!(etf::decode(&list).unwrap(), Term::list(terms.clone()));

    let mut tuple = vec![131, 104, n as u8];
    tuple.extend_from_slice(&body);
    assert_eq!(etf::decode(&tuple).unwrap(), Term::tuple(terms.clone()));

    // A NaN third in a run of floats: refused at its own offset.
    let mut bad = vec![131, 104, 4];
    let nan_at = bad.len() + 18;
    for f in [1.0, 2.0, f64::NAN, 4.0] {
        bad.extend(float(f));
    }
    assert!(matches!(
        etf::decode(&bad),
        Err(DecodeError::BadFloat { offset }) if offset == nan_at
    ));

    // A run truncated inside its third float.
    let mut cut = vec![131, 104, 4];
    for f in [1.0, 2.0, 3.0, 4.0] {
        cut.extend(float(f));
    }
    cut.truncate(3 + 18 + 5);
    assert!(matches!(
        etf::decode(&cut),
        Err(DecodeError::Truncated { .. })
    ));
}

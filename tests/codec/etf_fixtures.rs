//! Every fixture produced by real OTP (`fixtures/gen_fixtures.escript`) decodes, and
//! re-encodes to the exact same bytes (compressed / minor_version 0 ones: same term).

use beamnode::etf;
use beamnode::Term;
use std::path::PathBuf;

fn fixtures() -> Vec<(String, String, Vec<u8>)> {
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("fixtures/etf");
    let manifest = std::fs::read_to_string(dir.join("MANIFEST.txt")).unwrap();
    manifest
        .lines()
        .map(|l| {
            let mut parts = l.splitn(3, '\t');
            let name = parts.next().unwrap().to_string();
            let opts = parts.next().unwrap().to_string();
            let bytes = std::fs::read(dir.join(format!("{name}.bin"))).unwrap();
            (name, opts, bytes)
        })
        .collect()
}

fn fixture(name: &str) -> Term {
    let (_, _, b) = fixtures().into_iter().find(|f| f.0 == name).unwrap();
    etf::decode(&b).unwrap()
}

#[test]
fn every_fixture_decodes_and_reencodes() {
    let all = fixtures();
    assert!(all.len() >= 50);
    for (name, opts, bytes) in all {
        let t = etf::decode(&bytes).unwrap_or_else(|e| panic!("{name}: {e}"));
        let again = etf::encode(&t).unwrap();
        if opts == "[{minor_version,2}]" {
            assert_eq!(again, bytes, "{name}: re-encoding differs");
        } else {
            assert_eq!(etf::decode(&again).unwrap(), t, "{name}");
        }
    }
}

#[test]
fn fixture_values() {
    use beamnode::term::Float;
    assert_eq!(
        fixture("list_neg"),
        Term::list(vec![1.into(), (-2).into(), 3.into()])
    );
    assert_eq!(fixture("big_neg_2_63"), Term::Int(i64::MIN));
    assert!(matches!(fixture("big_2_63"), Term::BigInt(_)));
    assert_eq!(fixture("float_minor0"), Term::Float(Float(6.02214076e23)));
    assert_eq!(fixture("atom_latin1_minor0"), Term::atom("café"));
    assert_eq!(fixture("atom_unicode"), Term::atom("ünïcødé_⚛"));
    assert_eq!(fixture("string_abc"), Term::string("abc"));
    assert_eq!(fixture("unicode_string"), Term::string("héllo ☺"));
    assert_eq!(
        fixture("improper"),
        Term::improper_list(vec![Term::atom("a")], Term::atom("b"))
    );
    assert_eq!(fixture("nil"), Term::Nil);
    let Term::Pid(p) = fixture("pid_self") else {
        panic!()
    };
    assert!(p.node.as_str().starts_with("beamnode_fixtures@"));
    let Term::Ref(r) = fixture("ref") else {
        panic!()
    };
    assert_eq!(r.ids.len(), 3);
    let Term::InternalFun(f) = fixture("closure") else {
        panic!()
    };
    assert_eq!(f.arity, 1);
    assert!(f.free_vars.contains(&Term::Int(42)));
    let Term::BitBinary(bb) = fixture("bitstring_3") else {
        panic!()
    };
    assert_eq!((bb.bytes.as_slice(), bb.bits), (&[1u8, 0x40][..], 3));
    // Display of simple fixtures matches OTP's ~p in the manifest.
    for (name, _, _) in fixtures() {
        let line = std::fs::read_to_string(
            PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("fixtures/etf/MANIFEST.txt"),
        )
        .unwrap();
        let printed = line
            .lines()
            .find(|l| l.starts_with(&format!("{name}\t")))
            .unwrap()
            .splitn(3, '\t')
            .nth(2)
            .unwrap()
            .to_string();
        let t = fixture(&name);
        let simple = [
            "small_int_0",
            "int_neg1",
            "big_2_64",
            "float_one",
            "float_tenth",
            "float_neg",
            "float_big",
            "atom_quoted",
            "atom_empty",
            "binary_text",
            "bitstring_3",
            "string_abc",
            "improper_long",
            "tuple_nested",
            "map_small",
            "export_fun",
            "list_neg",
        ];
        if simple.contains(&name.as_str()) {
            assert_eq!(t.to_string(), printed.replace(", ", ","), "{name}");
        }
    }
}

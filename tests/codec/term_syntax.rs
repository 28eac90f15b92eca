//! Erlang term syntax (issue 5 part 2): text a user types parses to the expected term,
//! and for arbitrary terms `parse(display(t)) == t`, agreeing with the ETF codec.

use crate::common::*;
use beamnode::etf::{decode, encode};
use beamnode::term::parse::{parse_args, parse_term};
use beamnode::Term;
use proptest::prelude::*;

/// Closures print as `#Fun<…>` without their environment: the one form not re-parsable.
fn has_closure(t: &Term) -> bool {
    match t {
        Term::InternalFun(_) => true,
        Term::Tuple(ts) | Term::List(ts) => ts.iter().any(has_closure),
        Term::ImproperList(il) => il.elements.iter().any(has_closure) || has_closure(&il.tail),
        Term::Map(m) => m.iter().any(|(k, v)| has_closure(k) || has_closure(v)),
        Term::Record(r) => r.fields.iter().any(|(_, v)| has_closure(v)),
        _ => false,
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(2000))]

    #[test]
    fn display_then_parse_round_trips(t in arb_term().prop_filter("no closures", |t| !has_closure(t))) {
        let text = t.to_string();
        let back = parse_term(&text).map_err(|e| TestCaseError::fail(format!("{e} in {text}")))?;
        // Native records come back exported: the text does not carry the flag.
        let t = all_exported(&t);
        prop_assert_eq!(&back, &t, "text {}", text);
        // The ETF codec agrees: the parsed term encodes to the same bytes and decodes back.
        let bytes = encode(&back).map_err(|e| TestCaseError::fail(e.to_string()))?;
        prop_assert_eq!(&bytes, &encode(&t).map_err(|e| TestCaseError::fail(e.to_string()))?);
        prop_assert_eq!(decode(&bytes).map_err(|e| TestCaseError::fail(e.to_string()))?, t);
    }

    #[test]
    fn parser_never_panics(s in "\\PC{0,40}") {
        let _ = parse_term(&s);
    }
}

#[test]
fn text_as_typed_in_the_shell() {
    let cases = [
        (
            r#"{ok, [1, 2, <<"x">>], #{a => 1}}"#,
            r#"{ok,[1,2,<<"x">>],#{a => 1}}"#,
        ),
        ("[a | b]", "[a|b]"),
        ("[1, 2 | [3]]", "[1,2,3]"),
        ("'hello world'", "'hello world'"),
        ("\"hi\\n\"", "\"hi\\n\""),
        ("16#FF", "255"),
        ("$A", "65"),
        ("-1.5e3", "-1.5e3"),
        ("-25.0e-1", "-2.5"),
        ("<<1,2,3>>", "<<1,2,3>>"),
        ("<<\"héllo\"/utf8>>", "<<\"héllo\"/utf8>>"),
        ("<<5:3>>", "<<5:3>>"),
        ("fun lists:reverse/1", "fun lists:reverse/1"),
        ("#Pid<'a@h'.85.0.1234>", "#Pid<'a@h'.85.0.1234>"),
        ("#Ref<'a@h'.7.1.2.3>", "#Ref<'a@h'.7.1.2.3>"),
        ("{ % a comment\n true }.", "{true}"),
        ("99999999999999999999999", "99999999999999999999999"),
    ];
    for (input, printed) in cases {
        let t = parse_term(input).unwrap_or_else(|e| panic!("{input}: {e}"));
        assert_eq!(t.to_string(), printed, "{input}");
    }
    assert_eq!(parse_args("[]").unwrap(), vec![]);
    assert_eq!(
        parse_args("[1, x]").unwrap(),
        vec![Term::Int(1), Term::atom("x")]
    );
    for bad in ["{", "[1,]", "Var", "1 2", "#{a}", "<<300:2.5>>"] {
        assert!(parse_term(bad).is_err(), "{bad}");
    }
}

#[test]
fn deep_nesting_is_refused_not_overflowing() {
    let text = "[".repeat(100_000);
    on_small_stack(move || assert!(parse_term(&text).is_err()));
}

//! Terms encoded by beamnode are handed to a REAL `erl` (via `escript`), which runs
//! `binary_to_term/1` on them and checks that it got exactly the term we meant:
//! against an Erlang expression for the expected value, and (for terms whose OTP
//! encoding is canonical) that OTP re-encodes them to the very same bytes.

use crate::common::{require, run_bounded};
use beamnode::etf;
use beamnode::term::{BitBinary, ExportFun, Float, InternalFun, Port};
use beamnode::{Atom, Pid, Reference, Term};
use num_bigint::BigInt;
use std::path::PathBuf;
use std::process::Command;
use std::time::Duration;

const CHECKER: &str = r#"#!/usr/bin/env escript
%% -*- erlang -*-
-mode(compile).
main([Dir]) ->
    {ok, Cases} = file:read_file(filename:join(Dir, "cases.txt")),
    Lines = string:split(unicode:characters_to_list(Cases), "\n", all),
    [check(Dir, L) || L <- Lines, L =/= ""],
    io:format("done~n").

check(Dir, Line) ->
    [Name, Canon, Expr] = string:split(Line, "\t", all),
    {ok, Bin} = file:read_file(filename:join(Dir, Name ++ ".bin")),
    Result = try
        T = binary_to_term(Bin),
        ExprOk = case Expr of
            "" -> true;
            _ ->
                {ok, Toks, _} = erl_scan:string(Expr ++ "."),
                {ok, Exprs} = erl_parse:parse_exprs(Toks),
                {value, Expected, _} = erl_eval:exprs(Exprs, []),
                Expected =:= T
        end,
        CanonOk = Canon =:= "0" orelse term_to_binary(T, [{minor_version, 2}]) =:= Bin,
        case {ExprOk, CanonOk} of
            {true, true} -> ok;
            _ -> {mismatch, ExprOk, CanonOk, T}
        end
    catch C:R -> {C, R}
    end,
    case Result of
        ok -> io:format("~s ok~n", [Name]);
        Other -> io:format("~s FAIL ~tp~n", [Name, Other])
    end.
"#;

/// Kills the child if the test fails or times out.
fn pid(node: &str, id: u32, serial: u32, creation: u32) -> Pid {
    Pid::new(Atom::new(node), id, serial, creation)
}

fn cases() -> Vec<(&'static str, bool, Term, String)> {
    let big = BigInt::from(1u8) << 100usize;
    let mut deep = Term::Nil;
    for _ in 0..10_000 {
        deep = Term::list(vec![deep]);
    }
    let r = |ids: Vec<u32>| {
        Term::Ref(Reference {
            node: Atom::new("a@h"),
            creation: 1234,
            ids,
        })
    };
    vec![
        ("neg_list", true, Term::list(vec![1.into(), (-2).into(), 3.into()]), "[1,-2,3]".into()),
        ("string", true, Term::string("abc"), "\"abc\"".into()),
        ("bytes", true, Term::list(vec![0.into(), 255.into()]), "[0,255]".into()),
        ("not_bytes", true, Term::list(vec![0.into(), 256.into()]), "[0,256]".into()),
        ("long_string", true, Term::string(&"x".repeat(70_000)), "lists:duplicate(70000, $x)".into()),
        ("ints", true, Term::tuple(vec![0.into(), 255.into(), 256.into(), (-1).into(), Term::Int(i32::MIN as i64), Term::Int(i32::MAX as i64), Term::Int(1 << 31), Term::Int(i64::MIN), Term::Int(i64::MAX)]),
            "{0,255,256,-1,-2147483648,2147483647,2147483648,-9223372036854775808,9223372036854775807}".into()),
        ("bigs", true, Term::tuple(vec![Term::from_bigint(big.clone()), Term::from_bigint(-big)]), "{1 bsl 100, -(1 bsl 100)}".into()),
        ("huge_big", true, Term::from_bigint(BigInt::from(1u8) << 3000usize), "1 bsl 3000".into()),
        ("floats", true, Term::tuple(vec![0.1.into(), (-1.5e300).into(), 1.0e-300.into(), 5e-324.into(), Term::Float(Float(-0.0))]),
            "{0.1, -1.5e300, 1.0e-300, 5.0e-324, -0.0}".into()),
        ("atoms", true, Term::tuple(vec![Term::atom("hello world"), Term::atom("ünïcødé"), Term::atom(""), Term::atom("café")]),
            "{'hello world', 'ünïcødé', '', 'café'}".into()),
        ("long_atom", true, Term::atom(&"☺".repeat(255)), "list_to_atom(lists:duplicate(255, 16#263A))".into()),
        ("binaries", true, Term::tuple(vec![Term::binary("hello"), Term::binary(vec![]), Term::binary(vec![0, 255])]),
            "{<<\"hello\">>, <<>>, <<0,255>>}".into()),
        ("bits", true, Term::tuple(vec![
            Term::BitBinary(BitBinary { bytes: vec![1, 0x40], bits: 3 }),
            Term::BitBinary(BitBinary { bytes: vec![0x80], bits: 1 }),
        ]), "{<<1,2:3>>, <<1:1>>}".into()),
        ("tuples", true, Term::tuple(vec![Term::tuple(vec![]), Term::tuple((1..=300).map(Term::Int).collect())]),
            "{{}, list_to_tuple(lists:seq(1,300))}".into()),
        ("improper", true, Term::improper_list(vec![1.into(), 2.into()], Term::atom("c")), "[1,2|c]".into()),
        ("map", false, Term::map(vec![(Term::atom("b"), Term::string("x")), (Term::binary("k"), Term::Nil), (Term::Int(1), Term::map(vec![]))]),
            "#{b => \"x\", <<\"k\">> => [], 1 => #{}}".into()),
        ("big_map", false, Term::map((0..100).map(|i| (Term::Int(i), Term::Int(i * i))).collect()),
            "maps:from_list([{I, I*I} || I <- lists:seq(0,99)])".into()),
        ("pid", true, Term::Pid(pid("a@h", 85, 3, 1234)), String::new()),
        ("port", true, Term::Port(Port { node: Atom::new("a@h"), id: 5, creation: 1234 }), String::new()),
        ("v4_port", true, Term::Port(Port { node: Atom::new("a@h"), id: 1 << 40, creation: 1234 }), String::new()),
        ("ref3", true, r(vec![1, 2, 3]), String::new()),
        ("ref5", true, r(vec![1, 2, 3, 4, 5]), String::new()),
        ("ref1", true, r(vec![7]), String::new()),
        ("export_fun", true, Term::ExportFun(ExportFun { module: Atom::new("lists"), function: Atom::new("map"), arity: 2 }), "fun lists:map/2".into()),
        ("closure", true, Term::InternalFun(Box::new(InternalFun {
            arity: 1, uniq: [7; 16], index: 3, module: Atom::new("no_such_mod"), old_index: 3,
            old_uniq: 123_456_789, pid: pid("a@h", 85, 0, 1234),
            free_vars: vec![Term::Int(42), Term::binary("env")].into(),
        })), String::new()),
        ("deep", true, deep, String::new()),
        ("nested", true, Term::tuple(vec![Term::atom("ok"), Term::list(vec![Term::tuple(vec![Term::atom("a"), 1.into()]), Term::binary("b")])]),
            "{ok, [{a,1}, <<\"b\">>]}".into()),
    ]
}

#[test]
fn real_erl_decodes_exactly_what_we_encode() {
    let dir = std::env::temp_dir().join(format!("beamnode-etf-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let mut manifest = String::new();
    let all = cases();
    for (name, canon, t, expr) in &all {
        std::fs::write(dir.join(format!("{name}.bin")), etf::encode(t).unwrap()).unwrap();
        manifest.push_str(&format!("{name}\t{}\t{expr}\n", u8::from(*canon)));
    }
    // The compressed form of a term, too.
    let c = Term::list(
        (0..300)
            .map(|i| Term::tuple(vec![Term::atom("x"), i.into()]))
            .collect(),
    );
    std::fs::write(
        dir.join("compressed.bin"),
        etf::encode_compressed(&c, 6).unwrap(),
    )
    .unwrap();
    manifest.push_str("compressed\t0\t[{x, I} || I <- lists:seq(0,299)]\n");
    std::fs::write(dir.join("cases.txt"), manifest).unwrap();
    let script: PathBuf = dir.join("check.escript");
    std::fs::write(&script, CHECKER).unwrap();

    require("escript");
    let (out, err) = run_bounded(
        Command::new("escript").arg(&script).arg(&dir),
        Duration::from_secs(120),
    );
    eprintln!("{out}");
    let _ = std::fs::remove_dir_all(&dir);
    assert!(out.contains("done"), "escript failed: {out}\n{err}");
    for (name, ..) in &all {
        assert!(out.contains(&format!("{name} ok\n")), "{name}: {out}");
    }
    assert!(out.contains("compressed ok\n"), "{out}");
    assert!(!out.contains("FAIL"), "{out}");
}

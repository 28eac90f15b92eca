use super::*;
use serde::{Deserialize, Serialize};
use std::collections::{BTreeMap, HashMap};

fn atom(s: &str) -> Term {
    Term::atom(s)
}
fn bin(s: &str) -> Term {
    Term::binary(s)
}
fn map(entries: Vec<(Term, Term)>) -> Term {
    Term::map(entries)
}

#[derive(Serialize, Deserialize, Debug, PartialEq, Clone)]
struct User {
    name: String,
    age: u32,
    email: Option<String>,
    tags: Vec<String>,
}

#[derive(Serialize, Deserialize, Debug, PartialEq, Clone)]
#[serde(rename_all = "snake_case")]
enum Event {
    Ping,
    Joined(User),
    Moved(i32, i32),
    Renamed { from: String, to: String },
}

#[derive(Serialize, Deserialize, Debug, PartialEq)]
struct Meters(f64);

#[derive(Serialize, Deserialize, Debug, PartialEq)]
struct Point(i64, i64);

#[derive(Serialize, Deserialize, Debug, PartialEq)]
#[serde(rename = "stop")]
struct Stop;

fn ann() -> User {
    User {
        name: "Ann".into(),
        age: 41,
        email: None,
        tags: vec!["admin".into()],
    }
}

fn ann_term() -> Term {
    map(vec![
        (atom("name"), bin("Ann")),
        (atom("age"), Term::Int(41)),
        (atom("email"), atom("undefined")),
        (atom("tags"), Term::list(vec![bin("admin")])),
    ])
}

#[test]
fn struct_is_an_atom_keyed_map() {
    assert_eq!(to_term(&ann()).unwrap(), ann_term());
    assert_eq!(from_term::<User>(&ann_term()).unwrap(), ann());
}

#[test]
fn struct_reads_binary_keys_proplists_and_elixir_structs() {
    let binary_keys = map(vec![
        (bin("name"), bin("Ann")),
        (bin("age"), Term::Int(41)),
        (bin("email"), atom("nil")),
        (bin("tags"), Term::list(vec![Term::string("admin")])),
    ]);
    assert_eq!(from_term::<User>(&binary_keys).unwrap(), ann());
    let proplist = Term::list(vec![
        Term::tuple(vec![atom("name"), Term::string("Ann")]),
        Term::tuple(vec![atom("age"), Term::Int(41)]),
        Term::tuple(vec![atom("email"), atom("undefined")]),
        Term::tuple(vec![atom("tags"), Term::Nil]),
    ]);
    let mut no_tags = ann();
    no_tags.tags.clear();
    assert_eq!(from_term::<User>(&proplist).unwrap(), no_tags);
    // %User{} in Elixir: the `__struct__` key is skipped.
    let mut elixir = ann_term();
    if let Term::Map(m) = &mut elixir {
        m.insert(atom("__struct__"), atom("Elixir.User"));
    }
    assert_eq!(from_term::<User>(&elixir).unwrap(), ann());
    // A bare atom in a proplist is `{Atom, true}`.
    #[derive(Deserialize, Debug, PartialEq)]
    struct Opts {
        debug: bool,
    }
    let opts = Term::list(vec![atom("debug")]);
    assert_eq!(from_term::<Opts>(&opts).unwrap(), Opts { debug: true });
}

#[test]
fn missing_field_and_wrong_type_are_errors() {
    let t = map(vec![(atom("name"), bin("Ann"))]);
    let e = from_term::<User>(&t).unwrap_err();
    assert_eq!(e.to_string(), "missing field `age`");
    let t = map(vec![
        (atom("name"), Term::Int(1)),
        (atom("age"), Term::Int(1)),
    ]);
    let e = from_term::<User>(&t).unwrap_err();
    assert_eq!(
        e.to_string(),
        "expected text (binary, charlist or atom), found integer 1"
    );
    let t = map(vec![(atom("name"), bin("A")), (atom("age"), Term::Int(-1))]);
    let e = from_term::<User>(&t).unwrap_err();
    assert_eq!(e.to_string(), "integer -1 does not fit in u32");
}

#[test]
fn enums_are_atoms_and_tagged_tuples() {
    assert_eq!(to_term(&Event::Ping).unwrap(), atom("ping"));
    let joined = Event::Joined(ann());
    assert_eq!(
        to_term(&joined).unwrap(),
        Term::tuple(vec![atom("joined"), ann_term()])
    );
    let moved = Event::Moved(1, -2);
    assert_eq!(
        to_term(&moved).unwrap(),
        Term::tuple(vec![atom("moved"), Term::Int(1), Term::Int(-2)])
    );
    let renamed = Event::Renamed {
        from: "a".into(),
        to: "b".into(),
    };
    let renamed_term = Term::tuple(vec![
        atom("renamed"),
        map(vec![(atom("from"), bin("a")), (atom("to"), bin("b"))]),
    ]);
    assert_eq!(to_term(&renamed).unwrap(), renamed_term);
    for e in [Event::Ping, joined, moved, renamed] {
        assert_eq!(from_term::<Event>(&to_term(&e).unwrap()).unwrap(), e);
    }
    // `{ping}` is accepted for a unit variant; wrong arities are not.
    assert_eq!(
        from_term::<Event>(&Term::tuple(vec![atom("ping")])).unwrap(),
        Event::Ping
    );
    assert!(from_term::<Event>(&Term::tuple(vec![atom("moved"), Term::Int(1)])).is_err());
    assert!(from_term::<Event>(&atom("joined")).is_err());
    assert!(from_term::<Event>(&atom("unknown")).is_err());
    assert!(from_term::<Event>(&Term::tuple(vec![])).is_err());
}

#[test]
fn result_is_ok_error_tuples() {
    let ok: Result<u32, String> = Ok(5);
    assert_eq!(
        to_term(&ok).unwrap(),
        Term::tuple(vec![atom("ok"), Term::Int(5)])
    );
    let err: Result<u32, String> = Err("enoent".into());
    assert_eq!(
        to_term(&err).unwrap(),
        Term::tuple(vec![atom("error"), bin("enoent")])
    );
    let unit: Result<(), Atom> = Ok(());
    assert_eq!(to_term(&unit).unwrap(), atom("ok"));
    assert_eq!(from_term::<Result<(), Atom>>(&atom("ok")).unwrap(), Ok(()));
    assert_eq!(
        from_term::<Result<(), Atom>>(&Term::tuple(vec![atom("ok"), atom("ok")])).unwrap(),
        Ok(())
    );
    assert_eq!(
        from_term::<Result<(), Atom>>(&Term::tuple(vec![atom("error"), atom("enoent")])).unwrap(),
        Err(Atom::new("enoent"))
    );
    assert_eq!(
        from_term::<Result<u32, String>>(&to_term(&ok).unwrap()).unwrap(),
        ok
    );
    assert!(from_term::<Result<u32, String>>(&atom("error")).is_err());
    assert!(from_term::<Result<u32, String>>(&atom("maybe")).is_err());
}

#[test]
fn scalars_units_and_newtypes() {
    assert_eq!(to_term(&()).unwrap(), atom("ok"));
    assert_eq!(to_term(&Stop).unwrap(), atom("stop"));
    assert_eq!(from_term::<Stop>(&atom("stop")).unwrap(), Stop);
    assert!(from_term::<Stop>(&atom("go")).is_err());
    assert_eq!(to_term(&Meters(1.5)).unwrap(), Term::from(1.5));
    assert_eq!(from_term::<Meters>(&Term::Int(2)).unwrap(), Meters(2.0));
    assert_eq!(
        to_term(&Point(1, 2)).unwrap(),
        Term::tuple(vec![Term::Int(1), Term::Int(2)])
    );
    assert_eq!(
        from_term::<Point>(&Term::tuple(vec![Term::Int(1), Term::Int(2)])).unwrap(),
        Point(1, 2)
    );
    assert_eq!(to_term(&u64::MAX).unwrap(), Term::from(u64::MAX));
    assert_eq!(from_term::<u64>(&Term::from(u64::MAX)).unwrap(), u64::MAX);
    assert_eq!(
        from_term::<i128>(&Term::from(i128::MIN)).unwrap(),
        i128::MIN
    );
    assert!(to_term(&f64::NAN).is_err());
    assert_eq!(to_term(&'é').unwrap(), bin("é"));
    assert_eq!(from_term::<char>(&Term::Int(97)).unwrap(), 'a');
    assert_eq!(from_term::<char>(&Term::string("é")).unwrap(), 'é');
    assert_eq!(to_term(&true).unwrap(), atom("true"));
    assert_eq!(from_term::<bool>(&atom("false")), Ok(false));
    assert_eq!(to_term(&None::<u8>).unwrap(), atom("undefined"));
    // Borrowed text from binaries and atoms.
    let t = bin("borrowed");
    assert_eq!(from_term::<&str>(&t).unwrap(), "borrowed");
    let t = atom("an_atom");
    assert_eq!(from_term::<&str>(&t).unwrap(), "an_atom");
    assert!(from_term::<String>(&Term::binary(vec![0xff])).is_err());
}

#[test]
fn sequences_maps_and_bytes() {
    let v = vec![1u16, 2, 3];
    let t = to_term(&v).unwrap();
    assert_eq!(t, Term::from(vec![1i64, 2, 3]));
    assert_eq!(from_term::<Vec<u16>>(&t).unwrap(), v);
    assert_eq!(
        from_term::<Vec<u16>>(&Term::Nil).unwrap(),
        Vec::<u16>::new()
    );
    // A Vec<u8> reads a binary as well as a list.
    assert_eq!(
        from_term::<Vec<u8>>(&Term::binary(vec![1, 2])).unwrap(),
        vec![1, 2]
    );
    let hm: HashMap<String, i32> = [("a".into(), 1), ("b".into(), 2)].into();
    let t = to_term(&hm).unwrap();
    assert_eq!(
        t,
        map(vec![(bin("a"), Term::Int(1)), (bin("b"), Term::Int(2))])
    );
    assert_eq!(from_term::<HashMap<String, i32>>(&t).unwrap(), hm);
    let big: BTreeMap<u32, u32> = (0..1000).map(|i| (i, i * 2)).collect();
    let t = to_term(&big).unwrap();
    assert_eq!(t.as_map().map(|m| m.len()), Some(1000));
    assert_eq!(from_term::<BTreeMap<u32, u32>>(&t).unwrap(), big);
    let tuple = (1i32, "x".to_string(), atom("y"));
    #[allow(clippy::type_complexity)]
    let back: (i32, String, Term) = from_term(&to_term(&tuple).unwrap()).unwrap();
    assert_eq!(back, tuple);
}

#[test]
fn beamnode_types_pass_through() {
    #[derive(Serialize, Deserialize, Debug, PartialEq)]
    struct Call {
        from: Pid,
        tag: Reference,
        module: Atom,
        args: Term,
    }
    let call = Call {
        from: Pid::new(Atom::new("a@h"), 1, 2, 3),
        tag: Reference {
            node: Atom::new("a@h"),
            creation: 3,
            ids: vec![1, 2, 3],
        },
        module: Atom::new("lists"),
        args: Term::list(vec![Term::Int(1), Term::tuple(vec![])]),
    };
    let t = to_term(&call).unwrap();
    assert_eq!(
        t,
        map(vec![
            (atom("from"), Term::Pid(call.from.clone())),
            (atom("tag"), Term::Ref(call.tag.clone())),
            (atom("module"), atom("lists")),
            (atom("args"), call.args.clone()),
        ])
    );
    assert_eq!(from_term::<Call>(&t).unwrap(), call);
    // An atom field does not take a binary.
    assert!(from_term::<Atom>(&bin("lists")).is_err());
}

#[test]
fn hostile_terms_fail_without_overflowing() {
    #[derive(Deserialize, Debug)]
    #[allow(dead_code)]
    struct Nest(Vec<Nest>);
    let mut deep = Term::Nil;
    for _ in 0..100_000 {
        deep = Term::list(vec![deep]);
    }
    assert_eq!(
        from_term::<Nest>(&deep).unwrap_err(),
        SerdeError::TooDeep(MAX_DEPTH)
    );
    // An unknown field holding the deep term is skipped without being looked at.
    let t = map(vec![
        (atom("name"), bin("A")),
        (atom("age"), Term::Int(1)),
        (atom("email"), atom("undefined")),
        (atom("tags"), Term::Nil),
        (atom("junk"), deep),
    ]);
    assert!(from_term::<User>(&t).is_ok());
    // Pids and funs have no form for generic targets.
    let pid = Term::Pid(Pid::new(Atom::new("a@h"), 1, 2, 3));
    assert!(matches!(
        from_term::<String>(&pid),
        Err(SerdeError::Convert(_))
    ));
}

#[test]
fn beamnode_types_also_cross_other_formats() {
    #[derive(Serialize, Deserialize, Debug, PartialEq)]
    struct Envelope {
        to: Pid,
        kind: Atom,
        body: Term,
    }
    let e = Envelope {
        to: Pid::new(Atom::new("a@h"), 1, 2, 3),
        kind: Atom::new("cast"),
        body: Term::tuple(vec![atom("hello"), Term::Int(1)]),
    };
    let json = serde_json::to_string(&e).unwrap();
    assert!(json.contains(r#""kind":"cast""#), "{json}");
    assert_eq!(serde_json::from_str::<Envelope>(&json).unwrap(), e);
}

//! `beamnode::serde_term` (feature `serde`) against real OTP 25: Rust structs and enums
//! sent with `to_term` are matched by ordinary Erlang patterns (`#{name := N, age := A}`,
//! `{moved, 1, -2}`, `ok`, `{error, R}`), and terms an Erlang program builds by hand
//! (binary or charlist strings, an Elixir-style `__struct__` key, a big integer, an
//! integer where Rust has a float) come back through `from_term` as the Rust values.
//! Run with `cargo test --features serde --test interop serde_term`.

use crate::common::*;
use beamnode::serde_term::{from_term, to_term};
use beamnode::{Atom, Pid, Term};
use serde::{Deserialize, Serialize};
use std::time::Duration;

const T: Duration = Duration::from_secs(20);

#[derive(Serialize, Deserialize, Debug, PartialEq)]
#[serde(rename_all = "snake_case")]
enum Role {
    Admin,
    Guest,
}

#[derive(Serialize, Deserialize, Debug, PartialEq)]
struct User {
    name: String,
    age: u32,
    email: Option<String>,
    tags: Vec<String>,
    role: Role,
}

/// What the two sides send each other; `{user, #{…}}`, `{moved, X, Y}`, ….
#[derive(Serialize, Deserialize, Debug, PartialEq)]
#[serde(rename_all = "snake_case")]
enum Msg {
    Ready(Pid),
    User(User),
    Moved(i32, i32),
    Renamed { from: String, to: String },
    Stats(Stats),
}

#[derive(Serialize, Deserialize, Debug, PartialEq)]
struct Stats {
    count: u128,
    ratio: f64,
    when: (u16, u8, u8),
}

/// Each `receive` prints what it matched, or the whole mailbox when nothing did.
const EVAL: &str = r#"R = 'RUST_NODE',
    true = net_kernel:connect_node(R),
    {collector, R} ! {ready, self()},
    Left = fun() -> {messages, Ms} = process_info(self(), messages), Ms end,
    receive
        {user, #{name := N, age := A, email := undefined, tags := Tags, role := admin} = U}
                when map_size(U) =:= 5 ->
            io:format("USER ~s ~p ~p~n", [N, A, Tags])
    after 10000 -> io:format("USER unmatched ~p~n", [Left()])
    end,
    receive {moved, 1, -2} -> io:format("MOVED ok~n")
    after 10000 -> io:format("MOVED unmatched ~p~n", [Left()])
    end,
    receive {renamed, #{from := <<"a">>, to := <<"b">>}} -> io:format("RENAMED ok~n")
    after 10000 -> io:format("RENAMED unmatched ~p~n", [Left()])
    end,
    receive ok -> io:format("RESULT ok~n")
    after 10000 -> io:format("RESULT unmatched ~p~n", [Left()])
    end,
    receive {error, <<"bad">>} -> io:format("ERROR ok~n")
    after 10000 -> io:format("ERROR unmatched ~p~n", [Left()])
    end,
    C = {collector, R},
    C ! {user, #{name => <<"Zoë"/utf8>>, age => 7, email => "z@example.org",
                 tags => ["erl", <<"bin">>, atom], role => guest,
                 '__struct__' => 'Elixir.User'}},
    C ! {moved, 3, 4},
    C ! {error, enoent},
    C ! {stats, #{count => 1 bsl 100, ratio => 2, 'when' => {2026, 12, 6}}},
    receive done -> io:format("DONE~n") after 20000 -> io:format("DONE timeout~n") end,
    halt()."#;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn serde_terms_match_erlang_patterns_and_erlang_terms_decode() {
    let epmd = private_epmd().await;
    let (node, mut collector) = rust_node_with_collector(epmd).await;
    let eval = EVAL.replace("RUST_NODE", node.name().as_str());
    let mut erl = Erl::start(&unique("beam"), COOKIE, epmd, &eval);

    let hello = collector.receive(Some(T)).await.expect("ready message");
    let Msg::Ready(beam) = from_term::<Msg>(&hello).expect("{ready, Pid}") else {
        panic!("expected {{ready, Pid}}, got {hello}");
    };

    let ann = User {
        name: "Ann".into(),
        age: 41,
        email: None,
        tags: vec!["admin".into(), "ops".into()],
        role: Role::Admin,
    };
    let outgoing = [
        to_term(&Msg::User(ann)).unwrap(),
        to_term(&Msg::Moved(1, -2)).unwrap(),
        to_term(&Msg::Renamed {
            from: "a".into(),
            to: "b".into(),
        })
        .unwrap(),
        to_term(&Ok::<(), String>(())).unwrap(),
        to_term(&Err::<(), String>("bad".into())).unwrap(),
    ];
    for m in outgoing {
        collector.send(&beam, m).await;
    }
    assert_eq!(
        erl.expect("USER ", T).await,
        r#"Ann 41 [<<"admin">>,<<"ops">>]"#
    );
    assert_eq!(erl.expect("MOVED ", T).await, "ok");
    assert_eq!(erl.expect("RENAMED ", T).await, "ok");
    assert_eq!(erl.expect("RESULT ", T).await, "ok");
    assert_eq!(erl.expect("ERROR ", T).await, "ok");

    let mut from_erl = Vec::new();
    for _ in 0..4 {
        from_erl.push(
            collector
                .receive(Some(T))
                .await
                .expect("a message from erl"),
        );
    }
    let mut from_erl = from_erl.into_iter();
    let mut next = || from_erl.next().expect("four messages");
    let t = next();
    assert_eq!(
        from_term::<Msg>(&t).unwrap(),
        Msg::User(User {
            name: "Zoë".into(),
            age: 7,
            email: Some("z@example.org".into()),
            tags: vec!["erl".into(), "bin".into(), "atom".into()],
            role: Role::Guest,
        }),
        "{t}"
    );
    let t = next();
    assert_eq!(from_term::<Msg>(&t).unwrap(), Msg::Moved(3, 4));
    let t = next();
    assert_eq!(
        from_term::<Result<(), Atom>>(&t).unwrap(),
        Err(Atom::new("enoent"))
    );
    let t = next();
    assert_eq!(
        from_term::<Msg>(&t).unwrap(),
        Msg::Stats(Stats {
            count: 1u128 << 100,
            ratio: 2.0,
            when: (2026, 12, 6),
        })
    );
    collector.send(&beam, Term::atom("done")).await;
    assert_eq!(erl.expect("DONE", T).await, "");
    assert!(erl.wait_exit(T).await);
}

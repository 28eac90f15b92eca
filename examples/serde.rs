//! Rust structs and enums as Erlang terms with the `serde` feature (docs/serde.md).
//!
//! Starts a node with a registered `inventory` process that takes requests as terms
//! and decodes them into a Rust enum with `from_term`, and answers with `to_term` of a
//! `Result` (`{ok, Items}` / `{error, Reason}`), exactly what an Erlang or Elixir
//! client pattern-matches.
//!
//! ```sh
//! cargo run --example serde --features serde            # self-contained demo
//! cargo run --example serde --features serde -- --serve # stay up for an erl shell
//! ```
//!
//! The demo registers with an EPMD of its own on a free port, so it needs nothing
//! installed. With `--serve` it registers with the host's EPMD (start one with
//! `epmd -daemon`, or any running `erl -sname`) as `inventory_demo@localhost`, cookie
//! `demo`, and stays up; from `erl -sname me@localhost -setcookie demo`:
//!
//! ```erlang
//! Inv = {inventory, 'inventory_demo@localhost'},
//! Inv ! {add, #{name => <<"bolt">>, count => 40, price => 0.1, tags => ["m8"]}},
//! Inv ! {list, self()}, flush().
//! %% Shell got {ok,[#{count => 40,name => <<"bolt">>,price => 0.1,tags => [<<"m8">>]}]}
//! ```

use beamnode::net::EpmdServer;
use beamnode::serde_term::{from_term, to_term};
use beamnode::{Node, NodeConfig, Pid, Term};
use serde::{Deserialize, Serialize};
use std::net::SocketAddr;
use std::time::Duration;

/// An item: `#{name => <<"bolt">>, count => 40, price => 0.1, tags => [...]}`.
#[derive(Serialize, Deserialize, Debug, Clone, PartialEq)]
struct Item {
    name: String,
    count: u32,
    price: f64,
    #[serde(default)]
    tags: Vec<String>,
}

/// The requests, as Erlang writes them: `{add, Item}`, `{remove, Name}`,
/// `{list, ReplyTo}` (`rename_all` turns `Add` into the atom `add`).
#[derive(Serialize, Deserialize, Debug)]
#[serde(rename_all = "snake_case")]
enum Request {
    Add(Item),
    Remove(String),
    List(Pid),
}

/// Why a request failed: the atom `unknown_item`, or `{bad_request, Text}`.
#[derive(Serialize, Deserialize, Debug, PartialEq)]
#[serde(rename_all = "snake_case")]
enum Reason {
    UnknownItem,
    BadRequest(String),
}

async fn inventory(mut p: beamnode::Process) {
    let mut items: Vec<Item> = Vec::new();
    while let Ok(msg) = p.receive(None).await {
        match from_term::<Request>(&msg) {
            Ok(Request::Add(item)) => items.push(item),
            Ok(Request::Remove(name)) => items.retain(|i| i.name != name),
            Ok(Request::List(reply_to)) => {
                let reply: Result<&[Item], Reason> = Ok(&items);
                match to_term(&reply) {
                    Ok(t) => p.send(&reply_to, t).await,
                    Err(e) => eprintln!("cannot encode the reply: {e}"),
                }
            }
            // A malformed request is logged, not fatal: the process serves the next one.
            Err(e) => eprintln!("inventory: ignoring {msg}: {e}"),
        }
    }
}

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let serve = std::env::args().any(|a| a == "--serve");
    let config = if serve {
        NodeConfig::new("inventory_demo@localhost", "demo")
    } else {
        let epmd = EpmdServer::bind(SocketAddr::from(([127, 0, 0, 1], 0))).await?;
        let port = epmd.local_addr().port();
        tokio::spawn(epmd.run(std::future::pending::<()>()));
        NodeConfig::new("serde_demo@localhost", "demo").epmd_port(port)
    };
    let node = Node::start(config.listen_addr([127, 0, 0, 1].into())).await?;
    let inv = node.spawn_registered("inventory", inventory)?;
    println!("node {} with `inventory` at {inv}", node.name());
    if serve {
        println!("waiting for Erlang clients (Ctrl-C to stop)");
        std::future::pending::<()>().await;
    }

    // A client on the same node, speaking in terms as a remote one would.
    let mut me = node.process();
    let bolt = Item {
        name: "bolt".into(),
        count: 40,
        price: 0.1,
        tags: vec!["m8".into()],
    };
    let add = to_term(&Request::Add(bolt.clone()))?;
    println!("send {add}");
    me.send(&inv, add).await;
    // What an Erlang client would send by hand: a charlist name and an integer price
    // read fine into `String` and `f64`.
    let by_hand = Term::tuple(vec![
        Term::atom("add"),
        Term::map(vec![
            (Term::atom("name"), Term::string("nut")),
            (Term::atom("count"), Term::Int(100)),
            (Term::atom("price"), Term::Int(1)),
        ]),
    ]);
    println!("send {by_hand}");
    me.send(&inv, by_hand).await;
    me.send(&inv, Term::tuple(vec![Term::atom("frobnicate")]))
        .await;
    let list = to_term(&Request::List(me.pid().clone()))?;
    println!("send {list}");
    me.send(&inv, list).await;

    let reply = me.receive(Some(Duration::from_secs(5))).await?;
    println!("got  {reply}");
    let items: Result<Vec<Item>, Reason> = from_term(&reply)?;
    println!("decoded {items:?}");
    assert_eq!(items.as_deref().map(|i| i.first()), Ok(Some(&bolt)));

    let err: Result<Vec<Item>, Reason> = Err(Reason::BadRequest("no such shelf".into()));
    println!("an error reply looks like {}", to_term(&err)?);
    Ok(())
}

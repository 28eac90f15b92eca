//! The process API in one runnable program (docs/processes.md): destinations
//! (`Dest`: pid, local name, `{name, node}`, alias), messages from Rust values
//! (`Into<Term>`) and back (`TryFrom<Term>`), `spawn_handle` awaited for an exit
//! reason, a monitor across nodes, the mailbox as a `Stream`, sending as a process from
//! another task (`Process::sender`), and `Node::stop`.
//!
//! ```sh
//! cargo run --example processes
//! ```
//!
//! Two nodes run in this program, on an EPMD of its own (nothing to install): `a` and
//! `b`, connected over real Erlang distribution on loopback, exactly as a BEAM node
//! would reach them (`b` stands in for one; `tests/interop` does the same against
//! real `erl`).

use beamnode::net::EpmdServer;
use beamnode::{Atom, Node, NodeConfig, Term};
use futures_core::Stream;
use std::net::SocketAddr;
use std::pin::Pin;
use std::time::Duration;

const T: Option<Duration> = Some(Duration::from_secs(5));

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let epmd = EpmdServer::bind(SocketAddr::from(([127, 0, 0, 1], 0))).await?;
    let port = epmd.local_addr().port();
    tokio::spawn(epmd.run(std::future::pending::<()>()));
    let config = |name: &str| {
        NodeConfig::new(name, "demo")
            .epmd_port(port)
            .listen_addr([127, 0, 0, 1].into())
    };
    let a = Node::start(config("a@localhost")).await?;
    let b = Node::start(config("b@localhost")).await?;

    // On b: a registered `adder` that answers {add, From, X, Y} with {sum, X + Y}.
    b.spawn_registered("adder", |mut p| async move {
        while let Ok(msg) = p.receive(None).await {
            if let Some([tag, Term::Pid(from), x, y]) = msg.as_tuple() {
                if tag.is_atom("add") {
                    let (x, y) = (i64::try_from(x), i64::try_from(y));
                    if let (Ok(x), Ok(y)) = (x, y) {
                        p.send(from, (Atom::new("sum"), x + y)).await;
                    }
                }
            }
        }
    })?;

    let mut me = a.process();
    // {name, node}: the first send connects a to b (auto-connect, as on BEAM).
    let add = Term::tuple(vec![
        Term::atom("add"),
        Term::Pid(me.pid().clone()),
        Term::Int(40),
        Term::Int(2),
    ]);
    me.send(("adder", "b@localhost"), add).await;
    let reply = me.receive(T).await?;
    let [_, sum] = reply.as_tuple().ok_or("not a tuple")? else {
        return Err("not a pair".into());
    };
    println!(
        "adder on b answered {reply}; as a Rust i64: {}",
        i64::try_from(sum)?
    );

    // spawn_handle: the handle has the pid and, awaited, the exit reason.
    let worker = a.spawn_handle(|mut p| async move {
        if let Ok(job) = p.receive(None).await {
            p.exit(Term::tuple(vec![Term::atom("done"), job]));
        }
    });
    me.send(worker.pid(), vec![1i64, 2, 3]).await; // a pid; a Vec becomes a list
    println!("worker exited with {}", worker.await);

    // A monitor across nodes: a process on b ends, a gets the DOWN.
    let short = b.spawn(|p| async move {
        tokio::time::sleep(Duration::from_millis(50)).await;
        p.exit(Term::atom("finished"));
    });
    let mref = me.monitor(&short);
    let down = me.receive(T).await?;
    println!("monitor {mref} fired: {down}");

    // An alias, a local name, and sending as `me` from another task.
    let alias = me.alias();
    me.send(&alias, Term::atom("via my alias")).await;
    me.register("me")?;
    me.send("me", "via my name").await; // a &str message is a binary
    let sender = me.sender();
    let to = me.pid().clone();
    tokio::spawn(async move { sender.send(&to, Term::atom("from another task")) });

    // The mailbox as a Stream (no StreamExt needed: poll it by hand).
    let mut msgs = me.messages();
    let mut seen = 0;
    while let Some(msg) = std::future::poll_fn(|cx| Pin::new(&mut msgs).poll_next(cx)).await {
        println!("mailbox: {msg}");
        seen += 1;
        if seen == 3 {
            break;
        }
    }

    // Shut both down; `stop` waits (bounded) for every peer's nodedown.
    println!(
        "a stopped cleanly: {}",
        a.stop(Duration::from_secs(5)).await
    );
    println!(
        "b stopped cleanly: {}",
        b.stop(Duration::from_secs(5)).await
    );
    Ok(())
}

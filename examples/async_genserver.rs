//! A GenServer with async handlers (`AsyncGenServer`, docs/genserver.md): `fetcher`
//! answers `{fetch, Node, M, F, Args}` by awaiting an rpc into `Node` and replying with
//! `{ok, Result}`, and `{sleep, Ms}` after awaiting a timer. It handles one message at a
//! time, as an OTP gen_server does: a call that arrives while a handler awaits waits.
//!
//! ```sh
//! cargo run --example async_genserver            # self-contained demo
//! cargo run --example async_genserver -- --serve # stay up for iex or erl
//! ```
//!
//! The demo runs two nodes in this program on an EPMD of its own: `helper` serves
//! `demo:double/1` over rpc and calls `fetcher` on the other node. With `--serve` the
//! node registers with the host's EPMD (`epmd -daemon`, or any running `erl -sname`) as
//! `async_demo@localhost`, cookie `demo`; from `iex --sname me@localhost --cookie demo`:
//!
//! ```elixir
//! GenServer.call({:fetcher, :"async_demo@localhost"}, {:fetch, node(), :erlang, :system_time, [:second]})
//! # {:ok, 1796543210}
//! ```

use beamnode::net::EpmdServer;
use beamnode::services::gen::{self, Dest, From};
use beamnode::services::gen_server::{self, AsyncGenServer, CallResult};
use beamnode::services::{rpc_client, rpc_server};
use beamnode::{Atom, Node, NodeConfig, Process, Term};
use std::net::SocketAddr;
use std::time::{Duration, Instant};

/// The server's state: how many requests it answered.
struct Fetcher {
    answered: u64,
}

impl AsyncGenServer for Fetcher {
    async fn handle_call(&mut self, req: Term, _from: &From, p: &mut Process) -> CallResult {
        self.answered += 1;
        let reply = match req.as_tuple() {
            Some([tag, Term::Atom(node), Term::Atom(m), Term::Atom(f), args])
                if tag.is_atom("fetch") =>
            {
                let args = args.as_list().map(|a| a.to_vec()).unwrap_or_default();
                let timeout = Duration::from_secs(5);
                // The server awaits here; the next call waits in its mailbox.
                match rpc_client::call(p.node(), node, m.as_str(), f.as_str(), args, timeout).await
                {
                    Ok(t) => Term::tuple(vec![Term::atom("ok"), t]),
                    Err(e) => Term::tuple(vec![Term::atom("error"), Term::string(&e.to_string())]),
                }
            }
            Some([tag, Term::Int(ms)]) if tag.is_atom("sleep") => {
                tokio::time::sleep(Duration::from_millis((*ms).clamp(0, 10_000) as u64)).await;
                Term::atom("slept")
            }
            _ => Term::tuple(vec![Term::atom("error"), Term::atom("unknown_request")]),
        };
        CallResult::Reply(reply)
    }

    fn format_state(&self) -> Term {
        Term::tuple(vec![
            Term::atom("answered"),
            Term::Int(self.answered as i64),
        ])
    }
}

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let serve = std::env::args().any(|a| a == "--serve");
    let epmd_port = if serve {
        None
    } else {
        let epmd = EpmdServer::bind(SocketAddr::from(([127, 0, 0, 1], 0))).await?;
        let port = epmd.local_addr().port();
        tokio::spawn(epmd.run(std::future::pending::<()>()));
        Some(port)
    };
    let config = |name: &str| {
        let c = NodeConfig::new(name, "demo").listen_addr([127, 0, 0, 1].into());
        match epmd_port {
            Some(p) => c.epmd_port(p),
            None => c,
        }
    };
    let node = Node::start(config("async_demo@localhost")).await?;
    rpc_server::start(&node)?;
    let pid = gen_server::start(&node, Some("fetcher"), Fetcher { answered: 0 })?;
    println!("node {} with `fetcher` at {pid}", node.name());
    if serve {
        println!("waiting for callers (Ctrl-C to stop)");
        std::future::pending::<()>().await;
    }

    // A second node that serves `demo:double/1` and calls `fetcher` remotely.
    let helper = Node::start(config("helper@localhost")).await?;
    rpc_server::start(&helper)?;
    helper.register_rpc("demo", "double", 1, |args| match args.as_slice() {
        [Term::Int(n)] => Ok(Term::Int(n * 2)),
        _ => Ok(Term::atom("badarg")),
    });
    let fetcher = Dest::Remote(Atom::new("fetcher"), node.name().clone());
    let mut me = helper.process();
    let req = Term::tuple(vec![
        Term::atom("fetch"),
        Term::Atom(helper.name().clone()),
        Term::atom("demo"),
        Term::atom("double"),
        Term::list(vec![Term::Int(21)]),
    ]);
    println!("call {req}");
    let reply = gen::call(&mut me, &fetcher, req, Duration::from_secs(5)).await?;
    println!("got  {reply}");
    assert_eq!(reply.to_string(), "{ok,42}");

    // One message at a time: a call sent while `{sleep, 300}` is being handled is
    // answered after it.
    let started = Instant::now();
    let mut other = helper.process();
    let slow = tokio::spawn({
        let fetcher = fetcher.clone();
        async move {
            let sleep = Term::tuple(vec![Term::atom("sleep"), Term::Int(300)]);
            gen::call(&mut other, &fetcher, sleep, Duration::from_secs(5)).await
        }
    });
    tokio::time::sleep(Duration::from_millis(50)).await;
    let req = Term::tuple(vec![Term::atom("sleep"), Term::Int(0)]);
    let quick = gen::call(&mut me, &fetcher, req, Duration::from_secs(5)).await?;
    let waited = started.elapsed();
    println!("got  {quick} after {waited:?} (it waited behind the 300 ms handler)");
    assert!(waited >= Duration::from_millis(300));
    println!("slow call: {}", slow.await??);
    let state = gen::call(
        &mut me,
        &fetcher,
        Term::atom("nonsense"),
        Duration::from_secs(5),
    )
    .await?;
    println!("an unknown request gets {state}");
    helper.stop(Duration::from_secs(2)).await;
    node.stop(Duration::from_secs(2)).await;
    Ok(())
}

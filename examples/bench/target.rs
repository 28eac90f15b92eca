//! The beamnode target: the same logic as the target part of
//! `scripts/bench/bench_beam.erl`, written in Rust. Registered processes:
//!
//! - `bench_tgt`: the controller. `{sinks, K, ReplyTo}` makes sure sinks `bsink_1..K`
//!   exist and answers `sinks_ready`; `{send, K, PerSender, Size, AckEvery, Window,
//!   DriverNode, ReplyTo}` starts K senders streaming to `{bsink_I, DriverNode}`, each
//!   answering `{sent, Pid}` when its sink acknowledged everything; `{call_loop, K,
//!   PerCaller, DriverNode, ReplyTo}` starts K callers making `gen_server:call({kv,
//!   DriverNode}, {get, k})` PerCaller times, each answering `{called, Pid}`.
//! - `becho`: `{ping, From, I}` -> `From ! {pong, I}`.
//! - `kv` (services::kv) with `k => 1`, and rpc serving with `rust_math`.

use beamnode::services::gen::{self, Dest};
use beamnode::{Atom, Node, Process, Term};
use std::time::Duration;

/// Starts everything the driver uses on the beamnode target.
pub async fn start(node: &Node) {
    beamnode::services::rpc_server::start(node).expect("rpc server");
    beamnode::services::rust_math::register(node);
    beamnode::services::kv::start(node).expect("kv");
    let mut setup = node.process();
    let put = Term::tuple(vec![Term::atom("put"), Term::atom("k"), Term::Int(1)]);
    gen::call(
        &mut setup,
        &Dest::Local(Atom::new("kv")),
        put,
        Duration::from_secs(5),
    )
    .await
    .expect("kv put");
    node.spawn_registered("becho", echo).expect("becho");
    node.spawn_registered("bench_tgt", controller)
        .expect("bench_tgt");
}

async fn echo(mut p: Process) {
    let pong = Term::atom("pong");
    while let Ok(m) = p.receive(None).await {
        if let Some([tag, Term::Pid(from), i]) = m.as_tuple() {
            if tag.is_atom("ping") {
                p.send(from, Term::tuple(vec![pong.clone(), i.clone()]))
                    .await;
            }
        }
    }
}

pub fn sink_name(i: i64) -> Atom {
    Atom::new(&format!("bsink_{i}"))
}

fn int(t: &Term) -> i64 {
    t.as_int().expect("integer")
}

async fn controller(mut p: Process) {
    while let Ok(m) = p.receive(None).await {
        let node = p.node().clone();
        match m.as_tuple() {
            Some([tag, k, Term::Pid(reply)]) if tag.is_atom("sinks") => {
                for i in 1..=int(k) {
                    if node.whereis(&sink_name(i)).is_none() {
                        node.spawn_registered(sink_name(i).as_str(), sink)
                            .expect("register sink");
                    }
                }
                p.send(reply, Term::atom("sinks_ready")).await;
            }
            Some([tag, k, per, size, ack_every, window, Term::Atom(driver), Term::Pid(reply)])
                if tag.is_atom("send") =>
            {
                for i in 1..=int(k) {
                    let s = Stream {
                        sink: sink_name(i),
                        node: driver.clone(),
                        n: int(per),
                        size: int(size) as usize,
                        ack_every: int(ack_every),
                        window: int(window),
                    };
                    let reply = reply.clone();
                    node.spawn(move |p| async move {
                        let mut p = p;
                        s.run(&mut p).await;
                        let done =
                            Term::tuple(vec![Term::atom("sent"), Term::Pid(p.pid().clone())]);
                        p.send(&reply, done).await;
                    });
                }
            }
            Some([tag, k, per, Term::Atom(driver), Term::Pid(reply)])
                if tag.is_atom("call_loop") =>
            {
                for _ in 0..int(k) {
                    let (per, reply) = (int(per), reply.clone());
                    let dest = Dest::Remote(Atom::new("kv"), driver.clone());
                    node.spawn(move |mut p| async move {
                        let get = Term::tuple(vec![Term::atom("get"), Term::atom("k")]);
                        let want = Term::tuple(vec![Term::atom("ok"), Term::Int(1)]);
                        for _ in 0..per {
                            let got =
                                gen::call(&mut p, &dest, get.clone(), Duration::from_secs(30))
                                    .await
                                    .expect("gen_server:call to the driver's kv");
                            assert_eq!(got, want);
                        }
                        let done =
                            Term::tuple(vec![Term::atom("called"), Term::Pid(p.pid().clone())]);
                        p.send(&reply, done).await;
                    });
                }
            }
            _ => {}
        }
    }
}

/// A sink: see `sink/0` in bench_beam.erl.
async fn sink(mut p: Process) {
    let ack = Term::atom("ack");
    loop {
        let (from, total, ack_every) = loop {
            let m = match p.receive(None).await {
                Ok(m) => m,
                Err(_) => return,
            };
            if let Some([tag, Term::Pid(from), total, ack_every]) = m.as_tuple() {
                if tag.is_atom("hello") {
                    break (from.clone(), int(total), int(ack_every));
                }
            }
        };
        let mut c: i64 = 0;
        while c < total {
            let m = match p.receive(None).await {
                Ok(m) => m,
                Err(_) => return,
            };
            if matches!(m.as_tuple(), Some([tag, _, _]) if tag.is_atom("seq")) {
                c += 1;
                if ack_every > 0 && c % ack_every == 0 && c != total {
                    p.send(&from, Term::tuple(vec![ack.clone(), Term::Int(c)]))
                        .await;
                }
            }
        }
        p.send(&from, Term::tuple(vec![ack.clone(), Term::Int(total)]))
            .await;
    }
}

/// A sender's stream: see `sender/6` in bench_beam.erl.
pub struct Stream {
    pub sink: Atom,
    pub node: Atom,
    pub n: i64,
    pub size: usize,
    pub ack_every: i64,
    pub window: i64,
}

impl Stream {
    pub async fn run(&self, p: &mut Process) {
        // One binary shared by every message, as the BEAM sender shares its refc binary.
        let bin = beamnode::term::Bytes::from(vec![7u8; self.size]);
        let hello = Term::tuple(vec![
            Term::atom("hello"),
            Term::Pid(p.pid().clone()),
            Term::Int(self.n),
            Term::Int(self.ack_every),
        ]);
        p.send_named(&self.sink, &self.node, hello).await;
        let seq = Term::atom("seq");
        let mut acked = 0;
        for i in 1..=self.n {
            while i - acked > self.window {
                acked = wait_ack(p).await;
            }
            let m = Term::tuple(vec![seq.clone(), Term::Int(i), Term::Binary(bin.clone())]);
            p.send_named(&self.sink, &self.node, m).await;
        }
        while acked < self.n {
            acked = wait_ack(p).await;
        }
    }
}

async fn wait_ack(p: &mut Process) -> i64 {
    loop {
        let m = p
            .receive(Some(Duration::from_secs(120)))
            .await
            .expect("an ack within 120 s");
        if let Some([tag, n]) = m.as_tuple() {
            if tag.is_atom("ack") {
                return int(n);
            }
        }
    }
}

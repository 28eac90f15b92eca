//! The legacy `rex` rpc server against real OTP 25 (issue 5, docs/protocol.md §9.3, §9.4,
//! §12), both ways:
//!
//! - Client: `rpc_client::call` / `cast` / `multicall` toward a peer *without*
//!   DFLAG_SPAWN go through the peer's `rex`. Every OTP 25 node has DFLAG_SPAWN, so the
//!   test puts a loopback TCP proxy between beamnode and a real `erl` that clears the
//!   bit in the acceptor's `'N'` challenge (§2.2; the flags are not covered by the
//!   digest, §2.3) and forwards everything else verbatim. beamnode finds the proxy
//!   through its own private EPMD, where the test registers the erl's name with the
//!   proxy's port; the erl itself is registered in another private EPMD. The erl
//!   traces what its `rex` receives, so the test sees the fallback being taken.
//! - Server: `rpc:block_call` from real erl is served inside our `rex`, one at a time
//!   in arrival order, as OTP's rex does, while `rpc:call` (erpc) runs in parallel;
//!   and every rex path runs the function with the caller's group leader, so output
//!   reaches the caller.

use crate::common::*;
use beamnode::net::EpmdClient;
use beamnode::proto::flags::DistFlags;
use beamnode::services::rpc_client::{self, RpcError};
use beamnode::Process;
use beamnode::{Atom, Node, Term};
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};

const T: Duration = Duration::from_secs(20);

/// What the proxy did: how many `'N'` challenges it patched and the flags the erl
/// offered in the last one.
#[derive(Default)]
struct ProxyLog {
    patched: AtomicUsize,
    offered: AtomicU64,
}

/// A loopback proxy to `127.0.0.1:upstream` that clears DFLAG_SPAWN in the acceptor's
/// challenge (the first `'N'` handshake message from upstream) and copies all other
/// bytes unchanged, in both directions. Each accepted connection is handled
/// independently; closing either side closes the other.
async fn spawn_spawnless_proxy(upstream: u16) -> (u16, Arc<ProxyLog>) {
    let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind proxy");
    let port = listener.local_addr().expect("proxy addr").port();
    let log = Arc::new(ProxyLog::default());
    let l = log.clone();
    tokio::spawn(async move {
        while let Ok((client, _)) = listener.accept().await {
            let l = l.clone();
            tokio::spawn(async move {
                let Ok(server) = TcpStream::connect(("127.0.0.1", upstream)).await else {
                    return;
                };
                let (mut cr, mut cw) = client.into_split();
                let (mut sr, mut sw) = server.into_split();
                let up = tokio::spawn(async move {
                    let _ = tokio::io::copy(&mut cr, &mut sw).await;
                    let _ = sw.shutdown().await;
                });
                // Handshake frames are `Len:16 | Tag | Body` (§2.1); at most a status
                // and the challenge come before the bytes we may pass through.
                for _ in 0..4 {
                    let mut len = [0u8; 2];
                    if sr.read_exact(&mut len).await.is_err() {
                        return;
                    }
                    let mut body = vec![0u8; usize::from(u16::from_be_bytes(len))];
                    if sr.read_exact(&mut body).await.is_err() {
                        return;
                    }
                    let challenge = body.first() == Some(&b'N') && body.len() >= 9;
                    if challenge {
                        let mut f = [0u8; 8];
                        f.copy_from_slice(&body[1..9]);
                        let flags = u64::from_be_bytes(f);
                        l.offered.store(flags, Ordering::SeqCst);
                        body[1..9].copy_from_slice(&(flags & !DistFlags::SPAWN.0).to_be_bytes());
                        l.patched.fetch_add(1, Ordering::SeqCst);
                    }
                    if cw.write_all(&len).await.is_err() || cw.write_all(&body).await.is_err() {
                        return;
                    }
                    if challenge {
                        break;
                    }
                }
                let _ = tokio::io::copy(&mut sr, &mut cw).await;
                let _ = cw.shutdown().await;
                let _ = up.await;
            });
        }
    });
    (port, log)
}

/// An erl node that traces what its `rex` receives (`REX call M F A` / `REX cast M F
/// A` lines), prints `CAST <msg>` for each message to its registered `sink`, and
/// prints `UP` when ready.
fn start_traced_erl(name: &str, epmd: u16) -> Erl {
    Erl::start(
        name,
        COOKIE,
        epmd,
        "Tracer = spawn(fun Loop() -> \
             receive \
               {trace, _, 'receive', {'$gen_call', _, {call, M, F, A, _}}} -> \
                 io:format(\"REX call ~p ~p ~w~n\", [M, F, A]); \
               {trace, _, 'receive', {'$gen_cast', {cast, M, F, A, _}}} -> \
                 io:format(\"REX cast ~p ~p ~w~n\", [M, F, A]); \
               _ -> ok \
             end, Loop() end), \
         erlang:trace(whereis(rex), true, ['receive', {tracer, Tracer}]), \
         register(sink, self()), io:format(\"UP~n\"), \
         (fun Sink() -> receive M -> io:format(\"CAST ~w~n\", [M]), Sink() end end)().",
    )
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn rust_calls_spawnless_peer_through_rex() {
    require("erl");
    // The erl lives in EPMD 1; the Rust node under test asks EPMD 2, which sends it
    // to the proxy.
    let epmd1 = private_epmd().await;
    let epmd2 = private_epmd().await;
    let e_name = unique("rexpeer");
    let mut erl = start_traced_erl(&e_name, epmd1);
    erl.expect("UP", T).await;
    let info = EpmdClient::new("localhost", epmd1)
        .port_please(&e_name)
        .await
        .expect("epmd 1 lookup")
        .expect("erl registered in epmd 1");
    let (proxy_port, proxy) = spawn_spawnless_proxy(info.port).await;
    let _alias = EpmdClient::new("localhost", epmd2)
        .register(&e_name, proxy_port, false)
        .await
        .expect("register the erl's name with the proxy port in epmd 2");
    let e_node = Atom::new(&format!("{e_name}@localhost"));

    // Control: a node that reaches the erl directly has SPAWN and does not use rex.
    let direct = rust_node("rexdirect", epmd1, COOKIE).await;
    let v = rpc_client::call(
        &direct,
        &e_node,
        "lists",
        "reverse",
        vec![Term::list(vec![Term::atom("direct")])],
        T,
    )
    .await;
    assert_eq!(v, Ok(Term::list(vec![Term::atom("direct")])));

    let node = rust_node("rexclient", epmd2, COOKIE).await;
    let arg = Term::list(vec![Term::atom("via"), Term::atom("proxy")]);
    let v = rpc_client::call(&node, &e_node, "lists", "reverse", vec![arg], T).await;
    assert_eq!(
        v,
        Ok(Term::list(vec![Term::atom("proxy"), Term::atom("via")]))
    );
    // The first rex request the erl saw is this one (not the direct call).
    assert_eq!(
        erl.expect("REX call ", T).await,
        "lists reverse [[via,proxy]]"
    );
    assert_eq!(proxy.patched.load(Ordering::SeqCst), 1);
    let offered = DistFlags(proxy.offered.load(Ordering::SeqCst));
    assert!(
        offered.contains(DistFlags::SPAWN),
        "the erl offered SPAWN: {offered:?}"
    );
    assert!(
        node.nodes().contains(&e_node),
        "connected through the proxy"
    );

    // Exceptions arrive in rex's `{badrpc, {'EXIT', …}}` shape.
    let e = rpc_client::call(
        &node,
        &e_node,
        "erlang",
        "error",
        vec![Term::atom("boom")],
        T,
    )
    .await
    .unwrap_err();
    let shape = e.to_rpc_result().to_string();
    assert!(matches!(e, RpcError::BadRpc(_)), "{e:?}");
    assert!(shape.starts_with("{badrpc,{'EXIT',{boom,["), "{shape}");
    assert_eq!(erl.expect("REX call ", T).await, "erlang error [boom]");
    let e = rpc_client::call(&node, &e_node, "erlang", "exit", vec![Term::atom("bye")], T)
        .await
        .unwrap_err();
    assert_eq!(e.to_rpc_result().to_string(), "{badrpc,{'EXIT',bye}}");
    assert_eq!(erl.expect("REX call ", T).await, "erlang exit [bye]");
    // rex hands a thrown value back as the result, as rpc:call does.
    let v = rpc_client::call(&node, &e_node, "erlang", "throw", vec![Term::atom("t")], T).await;
    assert_eq!(v, Ok(Term::atom("t")));
    assert_eq!(erl.expect("REX call ", T).await, "erlang throw [t]");
    // The group leader sent along is our output sink: io:format in the function gets
    // its io_reply (or the call would hang until the timeout).
    let v = rpc_client::call(
        &node,
        &e_node,
        "io",
        "format",
        vec![Term::string("printed via rex~n")],
        T,
    )
    .await;
    assert_eq!(v, Ok(Term::atom("ok")));
    assert!(erl.expect("REX call ", T).await.starts_with("io format "));
    // (the sink has the format evaluated back on the erl, by a call through rex too)
    assert!(erl
        .expect("REX call ", T)
        .await
        .starts_with("io_lib format "));

    // Timeout.
    let started = Instant::now();
    let e = rpc_client::call(
        &node,
        &e_node,
        "timer",
        "sleep",
        vec![Term::Int(5000)],
        Duration::from_millis(300),
    )
    .await;
    assert_eq!(e, Err(RpcError::Timeout));
    assert!(started.elapsed() < Duration::from_secs(3));
    assert_eq!(erl.expect("REX call ", T).await, "timer sleep [5000]");

    // Cast: through rex's `'$gen_cast'`.
    let msg = Term::atom("via_rex_cast");
    rpc_client::cast(
        &node,
        &e_node,
        "erlang",
        "send",
        vec![Term::atom("sink"), msg],
    )
    .await
    .expect("cast");
    assert_eq!(
        erl.expect("REX cast ", T).await,
        "erlang send [sink,via_rex_cast]"
    );
    erl.expect("CAST via_rex_cast", T).await;

    // Multicall: the SPAWN-less node via rex, an unknown node as nodedown.
    let ghost = Atom::new("ghost_rex@localhost");
    let res = rpc_client::multicall(
        &node,
        &[e_node.clone(), ghost.clone()],
        "erlang",
        "node",
        vec![],
        T,
    )
    .await;
    assert_eq!(res[0], (e_node.clone(), Ok(Term::Atom(e_node.clone()))));
    assert_eq!(res[1], (ghost.clone(), Err(RpcError::NodeDown(ghost))));
    assert_eq!(erl.expect("REX call ", T).await, "erlang node []");

    // Nodedown: the peer dies while rex runs the function.
    let (n, t) = (node.clone(), e_node.clone());
    let pending = tokio::spawn(async move {
        rpc_client::call(&n, &t, "timer", "sleep", vec![Term::Int(30000)], T).await
    });
    assert_eq!(erl.expect("REX call ", T).await, "timer sleep [30000]");
    erl.kill9();
    let r = tokio::time::timeout(T, pending)
        .await
        .expect("call ends when the node dies")
        .expect("task");
    assert_eq!(r, Err(RpcError::NodeDown(e_node)));
    assert_eq!(proxy.patched.load(Ordering::SeqCst), 1, "one connection");
}

/// A Rust node serving rpc, with `slow:sleep(Ms, Tag)` (sleeps, logging
/// `start Tag` / `end Tag`) and `shout:say(Text)` (prints `said: Text` through its
/// group leader).
async fn serving_node(epmd: u16) -> (Node, Arc<Mutex<Vec<String>>>) {
    let node = rust_node("rexsrv", epmd, COOKIE).await;
    beamnode::services::rpc_server::start(&node).expect("start rpc server");
    let log = Arc::new(Mutex::new(Vec::new()));
    let l = log.clone();
    node.register_rpc_async("slow", "sleep", 2, move |_, args| {
        let l = l.clone();
        async move {
            let ms = args.first().and_then(|t| t.as_int()).unwrap_or(0);
            let tag = args.get(1).map(|t| t.to_string()).unwrap_or_default();
            l.lock().unwrap().push(format!("start {tag}"));
            tokio::time::sleep(Duration::from_millis(ms.max(0) as u64)).await;
            l.lock().unwrap().push(format!("end {tag}"));
            Ok(Term::atom("ok"))
        }
    });
    node.register_rpc_process("shout", "say", 1, |mut p: Process, args| async move {
        let text = args
            .first()
            .and_then(|t| t.as_binary())
            .map(|b| String::from_utf8_lossy(b).into_owned())
            .unwrap_or_default();
        match beamnode::services::io::put_chars(&mut p, &format!("said: {text}\n")).await {
            Ok(()) => Ok(Term::atom("ok")),
            Err(e) => Err(beamnode::services::rpc_server::RpcException::error(
                Term::binary(e.to_string()),
            )),
        }
    });
    (node, log)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn block_call_is_serialized_like_otp() {
    let epmd = private_epmd().await;
    let (node, log) = serving_node(epmd).await;
    let r = node.name().as_str().to_string();
    // Par(F): runs F twice concurrently, returns {Millis, Results}.
    let script = format!(
        "R = '{r}', pong = net_adm:ping(R), \
         Par = fun(F) -> Self = self(), T0 = erlang:monotonic_time(millisecond), \
           [spawn(fun() -> Self ! {{done, F(I)}} end) || I <- [1, 2]], \
           Rs = [receive {{done, V}} -> V end || _ <- [1, 2]], \
           {{erlang:monotonic_time(millisecond) - T0, Rs}} end, \
         io:format(\"BLOCK ~w~n\", [Par(fun(I) -> rpc:block_call(R, slow, sleep, [800, {{b, I}}]) end)]), \
         io:format(\"CALL ~w~n\", [Par(fun(I) -> rpc:call(R, slow, sleep, [800, {{c, I}}]) end)]), \
         Ids = [gen_server:send_request({{rex, R}}, {{block_call, slow, sleep, [200, {{o, X}}], group_leader()}}) \
                || X <- [1, 2, 3]], \
         io:format(\"ORDER ~w~n\", [[gen_server:wait_response(Id, 10000) || Id <- Ids]]), \
         T1 = erlang:monotonic_time(millisecond), \
         spawn(fun() -> rpc:block_call(R, slow, sleep, [1000, hold]) end), timer:sleep(200), \
         ok = rpc:call(R, slow, sleep, [0, erpc_during]), \
         D1 = erlang:monotonic_time(millisecond) - T1, \
         ok = gen_server:call({{rex, R}}, {{call, slow, sleep, [0, rex_during], group_leader()}}), \
         D2 = erlang:monotonic_time(millisecond) - T1, \
         io:format(\"DURING ~w ~w~n\", [D1, D2]), halt()."
    );
    let mut erl = Erl::start(&unique("rexblk"), COOKIE, epmd, &script);
    let block = erl.expect("BLOCK ", T).await;
    let call = erl.expect("CALL ", T).await;
    let ms = |s: &str| -> u64 {
        s.trim_start_matches('{')
            .split(',')
            .next()
            .and_then(|n| n.parse().ok())
            .unwrap_or_else(|| panic!("time in {s}"))
    };
    assert!(block.ends_with(",[ok,ok]}"), "{block}");
    assert!(call.ends_with(",[ok,ok]}"), "{call}");
    assert!(ms(&block) >= 1550, "block_calls one after another: {block}");
    assert!(ms(&call) < 1400, "rpc:calls in parallel: {call}");
    let order = erl.expect("ORDER ", T).await;
    assert_eq!(order, "[{reply,ok},{reply,ok},{reply,ok}]");
    let during = erl.expect("DURING ", T).await;
    let d: Vec<u64> = during.split(' ').filter_map(|x| x.parse().ok()).collect();
    assert_eq!(d.len(), 2, "{during}");
    assert!(d[0] < 700, "erpc is not held up by a block_call: {during}");
    assert!(
        d[1] >= 950,
        "a rex call waits behind the block_call: {during}"
    );

    let log = log.lock().unwrap().clone();
    let pos = |s: &str| {
        log.iter()
            .position(|l| l == s)
            .unwrap_or_else(|| panic!("{s} not in {log:?}"))
    };
    // block_calls never overlap and run in arrival order…
    for w in [["{b,1}", "{b,2}"], ["{b,2}", "{b,1}"]] {
        if pos(&format!("start {}", w[0])) < pos(&format!("start {}", w[1])) {
            assert!(
                pos(&format!("end {}", w[0])) < pos(&format!("start {}", w[1])),
                "{log:?}"
            );
        }
    }
    assert!(pos("end {o,1}") < pos("start {o,2}"), "{log:?}");
    assert!(pos("end {o,2}") < pos("start {o,3}"), "{log:?}");
    // …while rpc:calls overlap.
    assert!(
        pos("start {c,1}").max(pos("start {c,2}")) < pos("end {c,1}").min(pos("end {c,2}")),
        "{log:?}"
    );
    // The rex call arrived during the block_call and ran after it.
    assert!(pos("start erpc_during") < pos("end hold"), "{log:?}");
    assert!(pos("start rex_during") > pos("end hold"), "{log:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn rex_runs_functions_with_the_callers_group_leader() {
    let epmd = private_epmd().await;
    let (node, _) = serving_node(epmd).await;
    let r = node.name().as_str().to_string();
    // G collects the worker's I/O requests and reports them to the main process,
    // which prints `GL <Encoding> <Text>` for each `put_chars`; the main process's own output goes to `user`.
    let script = format!(
        "R = '{r}', pong = net_adm:ping(R), Me = self(), \
         G = spawn(fun Gl() -> receive {{io_request, From, RA, Req}} -> \
               Me ! {{gl, Req}}, From ! {{io_reply, RA, ok}}, Gl() end end), \
         spawn(fun() -> group_leader(G, self()), \
           Me ! {{res, block, rpc:block_call(R, shout, say, [<<\"block\">>])}}, \
           Me ! {{res, call, gen_server:call({{rex, R}}, {{call, shout, say, [<<\"rexcall\">>], group_leader()}})}}, \
           Me ! {{res, erpc, rpc:call(R, shout, say, [<<\"erpc\">>])}}, \
           gen_server:cast({{rex, R}}, {{cast, shout, say, [<<\"rexcast\">>], group_leader()}}) end), \
         (fun Loop(0) -> ok; Loop(N) -> receive \
             {{gl, {{put_chars, Enc, Chars}}}} -> io:format(\"GL ~w ~ts\", [Enc, Chars]), Loop(N - 1); \
             {{res, K, V}} -> io:format(\"RES ~w ~w~n\", [K, V]), Loop(N - 1) \
           after 15000 -> io:format(\"GL timeout~n\") end end)(7), \
         io:format(\"PLAIN ~w~n\", [rpc:block_call(R, shout, say, [<<\"plain\">>])]), \
         timer:sleep(60000)."
    );
    let mut erl = Erl::start(&unique("rexgl"), COOKIE, epmd, &script);
    // `user` (the erl's stdout) got the output of a block_call from a plain process.
    erl.expect("said: plain", T).await;
    assert_eq!(erl.expect("PLAIN ", T).await, "ok");
    let mut gl: Vec<String> = Vec::new();
    let mut res: Vec<String> = Vec::new();
    for l in &erl.output {
        if let Some(x) = l.strip_prefix("GL ") {
            gl.push(x.to_string());
        }
        if let Some(x) = l.strip_prefix("RES ") {
            res.push(x.to_string());
        }
    }
    gl.sort();
    assert_eq!(
        gl,
        [
            "unicode said: block",
            "unicode said: erpc",
            "unicode said: rexcall",
            "unicode said: rexcast",
        ],
        "output: {:?}",
        erl.output
    );
    assert_eq!(res, ["block ok", "call ok", "erpc ok"]);
}

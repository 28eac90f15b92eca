//! GenServer interop against real Elixir/OTP 25 (issue 4): Rust [`GenServer`]s
//! answering `GenServer.call/cast/multi_call/abcast`, `Process.monitor` and `:sys`
//! from Elixir, and Rust's `gen::call/cast/abcast/multi_call` against Elixir
//! GenServers, with every failure outcome (NoProc, NodeDown, Timeout, Exit).

use crate::common::*;
use beamnode::services::gen::{self, CallError, Dest};
use beamnode::services::gen_server::{self, CallResult, CastResult, GenServer, StartError};
use beamnode::Process;
use beamnode::{Atom, Node, Term};
use std::process::Command;
use std::sync::{Arc, Mutex};
use std::time::Duration;

const T: Duration = Duration::from_secs(30);

/// An Elixir node running `script` (`elixir --sname … -e …`), output collected.
fn elixir(prefix: &str, epmd: u16, script: &str) -> Erl {
    require("elixir");
    let name = format!("{}@localhost", unique(prefix));
    let mut cmd = Command::new("elixir");
    cmd.args(["--sname", &name, "--cookie", COOKIE, "-e", script])
        .env("ERL_EPMD_PORT", epmd.to_string());
    Erl::from_command(cmd, &name)
}

/// What a [`TestServer`] saw, shared with the test.
#[derive(Default)]
struct Seen {
    /// The `Tag` of every `:record` call, as it came over the wire.
    tags: Vec<Term>,
    /// The reason `terminate` got.
    terminated: Option<Term>,
    infos: Vec<Term>,
}

/// A test-only server: `:ping` → `:pong`; `:slow` never answers; `:record` keeps the
/// caller's tag; `:self` → its pid; `{:later, ms}` answers from another task after `ms`; `{:stop, r}`
/// stops without a reply; `:arm` (call or cast) sets a 100 ms handler timeout; `{:stop_reply, r, reply}` stops after replying; `:panic`
/// panics.
struct TestServer {
    seen: Arc<Mutex<Seen>>,
    trap: bool,
}

impl TestServer {
    fn start(node: &Node, name: &str) -> Arc<Mutex<Seen>> {
        let seen = Arc::new(Mutex::new(Seen::default()));
        let server = TestServer {
            seen: seen.clone(),
            trap: false,
        };
        gen_server::start(node, Some(name), server).expect("start test server");
        seen
    }
}

impl GenServer for TestServer {
    fn init(&mut self, process: &mut Process) -> Result<(), Term> {
        if self.trap {
            process.trap_exit(true);
        }
        Ok(())
    }

    fn handle_call(&mut self, request: Term, from: &gen::From, p: &mut Process) -> CallResult {
        if request.is_atom("ping") {
            return CallResult::Reply(Term::atom("pong"));
        }
        if request.is_atom("slow") {
            return CallResult::NoReply;
        }
        if request.is_atom("record") {
            self.seen.lock().unwrap().tags.push(from.tag.clone());
            return CallResult::Reply(Term::atom("recorded"));
        }
        if request.is_atom("arm") {
            return CallResult::ReplyTimeout(Term::atom("armed"), Duration::from_millis(100));
        }
        if request.is_atom("self") {
            return CallResult::Reply(Term::Pid(p.pid().clone()));
        }
        if request.is_atom("panic") {
            panic!("handler panicked on purpose");
        }
        match request.as_tuple() {
            Some([t, Term::Int(ms)]) if t.is_atom("later") => {
                let (from, me, ms) = (from.clone(), p.sender(), *ms as u64);
                tokio::spawn(async move {
                    tokio::time::sleep(Duration::from_millis(ms)).await;
                    from.reply_as(&me, Term::atom("later"));
                });
                CallResult::NoReply
            }
            Some([t, reason]) if t.is_atom("stop") => CallResult::Stop {
                reason: reason.clone(),
                reply: None,
            },
            Some([t, reason, reply]) if t.is_atom("stop_reply") => CallResult::Stop {
                reason: reason.clone(),
                reply: Some(reply.clone()),
            },
            _ => CallResult::Reply(Term::atom("unknown")),
        }
    }

    fn handle_cast(&mut self, request: Term, _p: &mut Process) -> CastResult {
        let arm = request.is_atom("arm");
        self.seen.lock().unwrap().infos.push(request);
        if arm {
            CastResult::NoReplyTimeout(Duration::from_millis(100))
        } else {
            CastResult::NoReply
        }
    }

    fn handle_info(&mut self, msg: Term, _p: &mut Process) -> CastResult {
        self.seen.lock().unwrap().infos.push(msg);
        CastResult::NoReply
    }

    fn terminate(&mut self, reason: &Term, _p: &mut Process) {
        self.seen.lock().unwrap().terminated = Some(reason.clone());
    }
}

/// A Rust counter answering like the Elixir `Counter` below (`:get`, cast `:inc`).
struct RustCounter(i64);

impl GenServer for RustCounter {
    fn handle_call(&mut self, request: Term, _from: &gen::From, _p: &mut Process) -> CallResult {
        if request.is_atom("get") {
            CallResult::Reply(Term::Int(self.0))
        } else {
            CallResult::Reply(Term::atom("unknown"))
        }
    }
    fn handle_cast(&mut self, request: Term, _p: &mut Process) -> CastResult {
        if request.is_atom("inc") {
            self.0 += 1;
        }
        CastResult::NoReply
    }
    fn format_state(&self) -> Term {
        Term::Int(self.0)
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn elixir_calls_rust_genservers() {
    let epmd = private_epmd().await;
    let node = rust_node("rust", epmd, COOKIE).await;
    beamnode::services::kv::start(&node).unwrap();
    let seen1 = TestServer::start(&node, "test_srv");
    let seen2 = TestServer::start(&node, "test_srv2");
    let seen3 = TestServer::start(&node, "test_srv3");
    let trapped = Arc::new(Mutex::new(Seen::default()));
    let trapper = TestServer {
        seen: trapped.clone(),
        trap: true,
    };
    gen_server::start(&node, Some("trapper"), trapper).unwrap();
    let r = node.name().as_str().to_string();
    let script = format!(
        r#"r = :"{r}"
        IO.puts("CONNECT #{{Node.connect(r)}}")
        IO.puts("PUT #{{inspect(GenServer.call({{:kv, r}}, {{:put, :a, 1}}))}}")
        IO.puts("GET #{{inspect(GenServer.call({{:kv, r}}, {{:get, :a}}))}}")
        GenServer.cast({{:kv, r}}, {{:put, :b, "two"}})
        IO.puts("CAST #{{inspect(GenServer.call({{:kv, r}}, {{:get, :b}}))}}")
        slow = try do
          GenServer.call({{:test_srv, r}}, :slow, 300)
        catch
          :exit, e -> e
        end
        IO.puts("SLOW #{{inspect(slow)}}")
        IO.puts("LATER #{{inspect(GenServer.call({{:test_srv2, r}}, {{:later, 100}}))}}")
        pid = GenServer.call({{:test_srv2, r}}, :self)
        IO.puts("BYPID #{{node(pid) == r}} #{{inspect(GenServer.call(pid, :ping))}}")
        IO.puts("STOP3 #{{inspect(GenServer.stop({{:test_srv3, r}}, :shutdown))}}")
        trapper = GenServer.call({{:trapper, r}}, :self)
        linked = spawn(fn -> Process.link(trapper); receive do :go -> exit(:bye) end end)
        Process.sleep(200)
        send(linked, :go)
        IO.puts("LINKED #{{inspect(linked)}}")

        defmodule LocalKv do
          use GenServer
          def init(s), do: {{:ok, s}}
          def handle_call({{:get, k}}, _from, s), do: {{:reply, {{:local, Map.get(s, k)}}, s}}
          def handle_cast({{:put, k, v}}, s), do: {{:noreply, Map.put(s, k, v)}}
        end
        {{:ok, _}} = GenServer.start(LocalKv, %{{}}, name: :kv)
        IO.puts("ABCAST #{{inspect(GenServer.abcast([node(), r], :kv, {{:put, :c, 3}}))}}")
        {{replies, bad}} = GenServer.multi_call([node(), r], :kv, {{:get, :c}})
        IO.puts("MULTI #{{inspect(Enum.sort(replies))}} #{{inspect(bad)}}")
        {{replies, bad}} = GenServer.multi_call([r, node(), :"ghost@localhost"], :kv, {{:get, :a}}, 5000)
        IO.puts("MULTI_T #{{inspect(Enum.sort(replies))}} #{{inspect(bad)}}")
        IO.puts("REC_T #{{inspect(GenServer.multi_call([r], :test_srv2, :record, 5000))}}")
        IO.puts("REC_INF #{{inspect(GenServer.multi_call([r], :test_srv2, :record))}}")

        me = self()
        other = spawn(fn -> receive do x -> send(me, {{:other_got, x}}) end end)
        a = :erlang.alias()
        m = make_ref()
        send({{:test_srv2, r}}, {{:"$gen_call", {{other, [[:alias | a] | m]}}, :ping}})
        receive do
          {{[[:alias | ^a] | ^m], rep}} -> IO.puts("TAG26 #{{inspect(rep)}}")
        after 5000 -> IO.puts("TAG26 timeout")
        end
        a2 = :erlang.alias()
        send({{:test_srv2, r}}, {{:"$gen_call", {{other, [:alias | a2]}}, :ping}})
        receive do
          {{[:alias | ^a2], rep}} -> IO.puts("TAG24 #{{inspect(rep)}}")
        after 5000 -> IO.puts("TAG24 timeout")
        end
        t = {{make_ref(), node()}}
        send({{:test_srv2, r}}, {{:"$gen_call", {{self(), t}}, :ping}})
        receive do
          {{^t, rep}} -> IO.puts("TAGPLAIN #{{inspect(rep)}}")
        after 5000 -> IO.puts("TAGPLAIN timeout")
        end
        receive do
          {{:other_got, x}} -> IO.puts("OTHER #{{inspect(x)}}")
        after 300 -> IO.puts("OTHER none")
        end

        IO.puts("STATE #{{inspect(:sys.get_state({{:kv, r}}))}}")
        {{:status, _, {{:module, :gen_server}}, [_, st, _, _, _]}} = :sys.get_status({{:kv, r}})
        IO.puts("STATUS #{{inspect(st)}}")
        :ok = :sys.suspend({{:kv, r}})
        task = Task.async(fn -> GenServer.call({{:kv, r}}, {{:get, :a}}) end)
        IO.puts("SUSPENDED #{{inspect(Task.yield(task, 300))}}")
        :ok = :sys.resume({{:kv, r}})
        IO.puts("RESUMED #{{inspect(Task.await(task))}}")

        ref = Process.monitor({{:kv, r}})
        IO.puts("MON_KV #{{inspect(Process.demonitor(ref, [:flush, :info]))}}")
        ref = Process.monitor({{:nope, r}})
        receive do
          {{:DOWN, ^ref, :process, obj, why}} -> IO.puts("MON_NOPE #{{inspect({{obj, why}})}}")
        after 5000 -> IO.puts("MON_NOPE timeout")
        end

        ref = Process.monitor({{:test_srv, r}})
        stop = try do
          GenServer.call({{:test_srv, r}}, {{:stop, :boom}})
        catch
          :exit, e -> e
        end
        IO.puts("STOP #{{inspect(stop)}}")
        receive do
          {{:DOWN, ^ref, :process, obj, why}} -> IO.puts("DOWN #{{inspect({{obj, why}})}}")
        after 5000 -> IO.puts("DOWN timeout")
        end
        ref = Process.monitor({{:test_srv2, r}})
        IO.puts("STOP_REPLY #{{inspect(GenServer.call({{:test_srv2, r}}, {{:stop_reply, :normal, :bye}}))}}")
        receive do
          {{:DOWN, ^ref, :process, _, why}} -> IO.puts("DOWN2 #{{inspect(why)}}")
        after 5000 -> IO.puts("DOWN2 timeout")
        end
        gone = try do
          GenServer.call({{:test_srv, r}}, :ping)
        catch
          :exit, e -> e
        end
        IO.puts("GONE #{{inspect(gone)}}")
        "#
    );
    let mut ex = elixir("ex", epmd, &script);
    let e = ex.name.clone();
    assert_eq!(ex.expect("CONNECT ", T).await, "true");
    assert_eq!(ex.expect("PUT ", T).await, ":ok");
    assert_eq!(ex.expect("GET ", T).await, "{:ok, 1}");
    assert_eq!(ex.expect("CAST ", T).await, r#"{:ok, "two"}"#);
    assert_eq!(
        ex.expect("SLOW ", T).await,
        format!("{{:timeout, {{GenServer, :call, [{{:test_srv, :{r}}}, :slow, 300]}}}}")
    );
    assert_eq!(ex.expect("LATER ", T).await, ":later");
    assert_eq!(ex.expect("BYPID ", T).await, "true :pong");
    // GenServer.stop = sys:terminate/3 through a system message.
    assert_eq!(ex.expect("STOP3 ", T).await, ":ok");
    assert_eq!(
        seen3.lock().unwrap().terminated,
        Some(Term::atom("shutdown"))
    );
    // A trapping Rust server linked from Elixir gets the EXIT in handle_info.
    ex.expect("LINKED ", T).await;
    let got_exit = || {
        trapped.lock().unwrap().infos.iter().any(|m| {
            matches!(m.as_tuple(), Some([t, Term::Pid(p), why])
                if t.is_atom("EXIT") && p.node.as_str() == e && why.is_atom("bye"))
        })
    };
    assert!(eventually(T, got_exit).await, "no EXIT in handle_info");
    assert!(node.whereis(&Atom::new("trapper")).is_some());
    assert_eq!(ex.expect("ABCAST ", T).await, ":abcast");
    assert_eq!(
        ex.expect("MULTI ", T).await,
        format!("[{e}: {{:local, 3}}, {r}: {{:ok, 3}}] []")
    );
    assert_eq!(
        ex.expect("MULTI_T ", T).await,
        format!("[{e}: {{:local, nil}}, {r}: {{:ok, 1}}] [:ghost@localhost]")
    );
    assert_eq!(
        ex.expect("REC_T ", T).await,
        format!("{{[{r}: :recorded], []}}")
    );
    assert_eq!(
        ex.expect("REC_INF ", T).await,
        format!("{{[{r}: :recorded], []}}")
    );
    // What OTP 25's multi_call actually sends to a remote node (§8.3), with a timeout
    // (from a middleman) and with infinity (from the caller): `{Ref, Node}`, not an
    // alias tag, so the reply went to the pid.
    {
        let tags = seen2.lock().unwrap().tags.clone();
        assert_eq!(tags.len(), 2, "{tags:?}");
        for tag in &tags {
            match tag.as_tuple() {
                Some([Term::Ref(_), Term::Atom(n)]) => assert_eq!(n.as_str(), r),
                _ => panic!("OTP 25 multi_call sent tag {tag}"),
            }
        }
    }
    assert_eq!(ex.expect("TAG26 ", T).await, ":pong");
    assert_eq!(ex.expect("TAG24 ", T).await, ":pong");
    assert_eq!(ex.expect("TAGPLAIN ", T).await, ":pong");
    assert_eq!(
        ex.expect("OTHER ", T).await,
        "none",
        "alias replies must not go to the pid"
    );
    assert_eq!(ex.expect("STATE ", T).await, r#"%{a: 1, b: "two", c: 3}"#);
    assert_eq!(ex.expect("STATUS ", T).await, ":running");
    assert_eq!(ex.expect("SUSPENDED ", T).await, "nil");
    assert_eq!(ex.expect("RESUMED ", T).await, "{:ok, 1}");
    assert_eq!(ex.expect("MON_KV ", T).await, "true");
    assert_eq!(
        ex.expect("MON_NOPE ", T).await,
        format!("{{{{:nope, :{r}}}, :noproc}}")
    );
    assert_eq!(
        ex.expect("STOP ", T).await,
        format!("{{:boom, {{GenServer, :call, [{{:test_srv, :{r}}}, {{:stop, :boom}}, 5000]}}}}")
    );
    assert_eq!(
        ex.expect("DOWN ", T).await,
        format!("{{{{:test_srv, :{r}}}, :boom}}")
    );
    assert_eq!(ex.expect("STOP_REPLY ", T).await, ":bye");
    assert_eq!(ex.expect("DOWN2 ", T).await, ":normal");
    assert_eq!(
        ex.expect("GONE ", T).await,
        format!("{{:noproc, {{GenServer, :call, [{{:test_srv, :{r}}}, :ping, 5000]}}}}")
    );
    assert_eq!(seen1.lock().unwrap().terminated, Some(Term::atom("boom")));
    assert_eq!(seen2.lock().unwrap().terminated, Some(Term::atom("normal")));
    assert!(node.whereis(&Atom::new("test_srv")).is_none());
    assert!(ex.wait_exit(T).await, "elixir script ended");
}

const COUNTER: &str = r#"
defmodule Counter do
  use GenServer
  def init(n), do: {:ok, n}
  def handle_call(:get, _from, n), do: {:reply, n, n}
  def handle_call(:slow, _from, n), do: (Process.sleep(800); {:reply, :late, n})
  def handle_call(:hang, _from, n), do: (IO.puts("HANG"); {:noreply, n})
  def handle_call(:crash, _from, n), do: {:stop, :boom, n}
  def handle_cast(:inc, n), do: {:noreply, n + 1}
end
{:ok, _} = GenServer.start(Counter, 0, name: :counter)
IO.puts("READY")
Process.sleep(:infinity)
"#;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn rust_calls_elixir_genservers() {
    let epmd = private_epmd().await;
    let node = rust_node("rust", epmd, COOKIE).await;
    let mut ea = elixir("exa", epmd, COUNTER);
    let mut eb = elixir("exb", epmd, COUNTER);
    ea.expect("READY", T).await;
    eb.expect("READY", T).await;
    let (a, b) = (Atom::new(&ea.name), Atom::new(&eb.name));
    let here = node.name().clone();
    let counter = Atom::new("counter");
    let at = |n: &Atom| Dest::Remote(counter.clone(), n.clone());
    gen_server::start(&node, Some("counter"), RustCounter(100)).unwrap();
    let mut p = node.process();

    assert_eq!(
        gen::call(&mut p, &at(&a), Term::atom("get"), T).await,
        Ok(Term::Int(0))
    );
    gen::cast(&p, &at(&a), Term::atom("inc"));
    assert_eq!(
        gen::call(&mut p, &at(&a), Term::atom("get"), T).await,
        Ok(Term::Int(1))
    );
    // abcast to both BEAM nodes and to ourselves, then multi_call all three plus a
    // node that does not exist.
    gen::abcast(
        &p,
        &[a.clone(), b.clone(), here.clone()],
        &counter,
        Term::atom("inc"),
    );
    let ghost = Atom::new("ghost@localhost");
    let res = gen::multi_call(
        &mut p,
        &[a.clone(), b.clone(), here.clone(), ghost.clone()],
        &counter,
        Term::atom("get"),
        T,
    )
    .await;
    assert_eq!(
        res.replies,
        vec![
            (a.clone(), Term::Int(2)),
            (b.clone(), Term::Int(1)),
            (here.clone(), Term::Int(101))
        ]
    );
    assert_eq!(res.bad_nodes, vec![ghost.clone()]);
    // Infinity works too.
    let res = gen::multi_call(
        &mut p,
        &[a.clone(), here.clone()],
        &counter,
        Term::atom("get"),
        None,
    )
    .await;
    assert_eq!(res.replies.len(), 2);

    // No such name, on a BEAM node and here; an unreachable node.
    let missing = Dest::Remote(Atom::new("nope"), a.clone());
    assert_eq!(
        gen::call(&mut p, &missing, Term::atom("get"), T).await,
        Err(CallError::NoProc)
    );
    let local_missing = Dest::Local(Atom::new("nope"));
    assert_eq!(
        gen::call(&mut p, &local_missing, Term::atom("get"), T).await,
        Err(CallError::NoProc)
    );
    assert_eq!(
        gen::call(&mut p, &at(&ghost), Term::atom("get"), T).await,
        Err(CallError::NodeDown(ghost.clone()))
    );

    // Timeout, and the late reply (sent 800 ms in) never reaches the mailbox: the
    // alias died with the monitor.
    let short = Duration::from_millis(200);
    assert_eq!(
        gen::call(&mut p, &at(&a), Term::atom("slow"), short).await,
        Err(CallError::Timeout)
    );
    tokio::time::sleep(Duration::from_millis(1500)).await;
    assert_eq!(
        p.mailbox_len(),
        0,
        "late reply leaked: {:?}",
        p.try_receive()
    );
    assert_eq!(
        gen::call(&mut p, &at(&a), Term::atom("get"), T).await,
        Ok(Term::Int(2))
    );

    // The node dies (kill -9) while a call is pending (its server printed `HANG`, so
    // the call reached it): NodeDown.
    let n2 = node.clone();
    let dest_b = at(&b);
    let pending = tokio::spawn(async move {
        let mut q = n2.process();
        gen::call(&mut q, &dest_b, Term::atom("hang"), T).await
    });
    eb.expect("HANG", T).await;
    eb.kill9();
    let got = tokio::time::timeout(T, pending)
        .await
        .expect("call ended")
        .unwrap();
    assert_eq!(got, Err(CallError::NodeDown(b.clone())));

    // The server stops without replying: Exit(reason).
    assert_eq!(
        gen::call(&mut p, &at(&a), Term::atom("crash"), T).await,
        Err(CallError::Exit(Term::atom("boom")))
    );
    assert_eq!(
        gen::call(&mut p, &at(&a), Term::atom("get"), T).await,
        Err(CallError::NoProc)
    );
}

/// The behaviour's own rules, between Rust processes: start errors, start_link and
/// the parent's EXIT, panics in handlers, calling oneself.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn behaviour_rules_on_the_rust_side() {
    let epmd = private_epmd().await;
    let node = rust_node("rust", epmd, COOKIE).await;
    let first = gen_server::start(&node, Some("dup"), RustCounter(0)).unwrap();
    assert_eq!(
        gen_server::start(&node, Some("dup"), RustCounter(0)),
        Err(StartError::AlreadyStarted(first))
    );

    struct Refuses;
    impl GenServer for Refuses {
        fn init(&mut self, _p: &mut Process) -> Result<(), Term> {
            Err(Term::atom("no_thanks"))
        }
    }
    let parent = node.process();
    assert_eq!(
        gen_server::start_link(&parent, Some("refuses"), Refuses),
        Err(StartError::Init(Term::atom("no_thanks")))
    );
    assert!(
        node.whereis(&Atom::new("refuses")).is_none(),
        "name freed at once"
    );

    // start_link + trap_exit: the parent's exit terminates the server with its reason.
    let seen = Arc::new(Mutex::new(Seen::default()));
    let server = TestServer {
        seen: seen.clone(),
        trap: true,
    };
    let child = gen_server::start_link(&parent, Some("child"), server).unwrap();
    let mut caller = node.process();
    let dest = Dest::Pid(child.clone());
    assert_eq!(
        gen::call(&mut caller, &dest, Term::atom("ping"), T).await,
        Ok(Term::atom("pong"))
    );
    parent.exit(Term::atom("parent_quit"));
    assert!(eventually(T, || !node.is_process_alive(&child)).await);
    assert_eq!(
        seen.lock().unwrap().terminated,
        Some(Term::atom("parent_quit"))
    );

    // A panicking handler: terminate runs, the caller sees {panic, Text}.
    let seen = TestServer::start(&node, "panicky");
    let got = gen::call(
        &mut caller,
        &Dest::Local(Atom::new("panicky")),
        Term::atom("panic"),
        T,
    )
    .await;
    match got {
        Err(CallError::Exit(reason)) => match reason.as_tuple() {
            Some([t, _]) => assert!(t.is_atom("panic"), "{reason}"),
            _ => panic!("unexpected reason {reason}"),
        },
        other => panic!("unexpected {other:?}"),
    }
    assert!(seen.lock().unwrap().terminated.is_some());

    // Handler timeouts: `timeout` reaches handle_info unless a message comes first.
    let seen = TestServer::start(&node, "ticker");
    let ticker = Dest::Local(Atom::new("ticker"));
    let timeouts = |s: &Arc<Mutex<Seen>>| {
        let g = s.lock().unwrap();
        g.infos.iter().filter(|m| m.is_atom("timeout")).count()
    };
    gen::cast(&caller, &ticker, Term::atom("arm"));
    assert!(eventually(T, || timeouts(&seen) == 1).await);
    assert_eq!(
        gen::call(&mut caller, &ticker, Term::atom("arm"), T).await,
        Ok(Term::atom("armed"))
    );
    assert!(eventually(T, || timeouts(&seen) == 2).await);
    gen::cast(&caller, &ticker, Term::atom("arm"));
    gen::cast(&caller, &ticker, Term::atom("disarm"));
    tokio::time::sleep(Duration::from_millis(400)).await;
    assert_eq!(timeouts(&seen), 2, "a message cancels the timeout");

    // Calling oneself is refused instead of deadlocking.
    let me = caller.pid().clone();
    assert_eq!(
        gen::call(&mut caller, &Dest::Pid(me), Term::atom("x"), T).await,
        Err(CallError::CallingSelf)
    );
}

/// An [`AsyncGenServer`](gen_server::AsyncGenServer): its handlers await real work
/// (an rpc back into the calling Elixir node, a timer) before they answer.
struct Asker {
    value: Term,
    terminated: Arc<Mutex<Option<Term>>>,
}

impl gen_server::AsyncGenServer for Asker {
    async fn handle_call(
        &mut self,
        request: Term,
        _from: &gen::From,
        p: &mut Process,
    ) -> CallResult {
        match request.as_tuple() {
            Some([tag, Term::Atom(node), Term::Atom(m), Term::Atom(f), args])
                if tag.is_atom("ask") =>
            {
                let args = args.as_list().map(|a| a.to_vec()).unwrap_or_default();
                let answer = beamnode::services::rpc_client::call(
                    p.node(),
                    node,
                    m.as_str(),
                    f.as_str(),
                    args,
                    Duration::from_secs(10),
                )
                .await;
                CallResult::Reply(match answer {
                    Ok(t) => Term::tuple(vec![Term::atom("ok"), t]),
                    Err(e) => Term::tuple(vec![Term::atom("error"), Term::string(&e.to_string())]),
                })
            }
            Some([tag, Term::Int(ms)]) if tag.is_atom("sleep") => {
                tokio::time::sleep(Duration::from_millis(*ms as u64)).await;
                CallResult::Reply(Term::atom("slept"))
            }
            _ if request.is_atom("get") => CallResult::Reply(self.value.clone()),
            _ if request.is_atom("crash_later") => {
                tokio::time::sleep(Duration::from_millis(10)).await;
                panic!("boom after await");
            }
            _ => CallResult::Reply(Term::atom("pong")),
        }
    }

    async fn handle_cast(&mut self, request: Term, _p: &mut Process) -> CastResult {
        if let Some([tag, v]) = request.as_tuple() {
            if tag.is_atom("set") {
                tokio::time::sleep(Duration::from_millis(20)).await;
                self.value = v.clone();
            }
        }
        CastResult::NoReply
    }

    async fn terminate(&mut self, reason: &Term, _p: &mut Process) {
        tokio::task::yield_now().await;
        *self.terminated.lock().unwrap() = Some(reason.clone());
    }

    fn format_state(&self) -> Term {
        self.value.clone()
    }
}

/// Elixir calls an async Rust GenServer: a handler that does an rpc back into the
/// caller's node answers with its result; a second call waits behind a handler that
/// awaits a timer (one message at a time, as in OTP); an async cast lands before the
/// next call; `:sys.get_state` sees the state; a panic after an await ends the server
/// with `{panic, Text}`, `terminate` runs, and the caller exits with that reason.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn elixir_calls_an_async_rust_genserver() {
    let epmd = private_epmd().await;
    let node = rust_node("rust", epmd, COOKIE).await;
    beamnode::services::rpc_server::start(&node).unwrap();
    let terminated = Arc::new(Mutex::new(None));
    let asker = Asker {
        value: Term::atom("unset"),
        terminated: terminated.clone(),
    };
    let pid = gen_server::start(&node, Some("asker"), asker).unwrap();
    let r = node.name().as_str().to_string();
    let script = format!(
        r#"r = :"{r}"
        true = Node.connect(r)
        IO.puts("ASK #{{inspect(GenServer.call({{:asker, r}}, {{:ask, node(), :erlang, :atom_to_binary, [:hello]}}))}}")
        parent = self()
        spawn(fn -> send(parent, {{:first, GenServer.call({{:asker, r}}, {{:sleep, 300}})}}) end)
        Process.sleep(50)
        spawn(fn -> send(parent, {{:second, GenServer.call({{:asker, r}}, :ping)}}) end)
        order = for _ <- 1..2, do: (receive do m -> m end)
        IO.puts("ORDER #{{inspect(order)}}")
        GenServer.cast({{:asker, r}}, {{:set, 7}})
        IO.puts("GOT #{{inspect(GenServer.call({{:asker, r}}, :get))}}")
        IO.puts("STATE #{{inspect(:sys.get_state({{:asker, r}}))}}")
        res = try do
          GenServer.call({{:asker, r}}, :crash_later)
        catch
          :exit, e -> e
        end
        IO.puts("CRASH #{{inspect(res)}}")
        "#
    );
    let mut ex = elixir("ex", epmd, &script);
    assert_eq!(ex.expect("ASK ", T).await, r#"{:ok, "hello"}"#);
    assert_eq!(
        ex.expect("ORDER ", T).await,
        "[first: :slept, second: :pong]"
    );
    assert_eq!(ex.expect("GOT ", T).await, "7");
    assert_eq!(ex.expect("STATE ", T).await, "7");
    let crash = ex.expect("CRASH ", T).await;
    assert!(
        crash.starts_with(r#"{{:panic, "boom after await"}, {GenServer, :call, [{:asker, "#),
        "{crash}"
    );
    assert!(eventually(T, || terminated.lock().unwrap().is_some()).await);
    assert_eq!(
        terminated.lock().unwrap().clone().unwrap(),
        Term::tuple(vec![Term::atom("panic"), Term::binary("boom after await")])
    );
    assert!(eventually(T, || !node.is_process_alive(&pid)).await);
}

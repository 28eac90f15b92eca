//! rpc and erpc from Elixir (issue 5; docs/protocol.md §9): an `elixir --sname` script
//! calls beamnode's `rust_math` with `:rpc.call`, `:erpc.call`, `:erpc.multicall`,
//! `:erpc.send_request` + `:erpc.receive_response`, inside a `Task`, and sees the
//! `{:badrpc, …}` / `{:exception, …}` shapes of a raising Rust function and of an
//! undefined one. Runs twice: with the host's Elixir (1.14 on OTP 25) and with the
//! Elixir of the newer-OTP root (1.18 on OTP 27, `scripts/otp-root.sh`).

use crate::common::*;
use std::process::{Command, Stdio};
use std::time::Duration;

fn script(r: &str) -> String {
    format!(
        r#"r = :"{r}"
        IO.puts("VERSION #{{System.version()}} OTP #{{:erlang.system_info(:otp_release)}}")
        IO.puts("CONNECT #{{inspect(Node.connect(r))}}")
        IO.puts("ADD #{{inspect(:rpc.call(r, :rust_math, :add, [1, 2]))}}")
        IO.puts("ERPC #{{inspect(:erpc.call(r, :rust_math, :mul, [6, 7]))}}")
        IO.puts("FIB #{{inspect(:erpc.call(r, :rust_math, :fib, [100], 5_000))}}")
        IO.puts("MULTI #{{inspect(:erpc.multicall([node(), r], :erlang, :node, []) == [ok: node(), ok: r])}}")
        IO.puts("RPCMULTI #{{inspect(:rpc.multicall([r, node()], :erlang, :node, []) == {{[r, node()], []}})}}")
        IO.puts("RPCMULTI_MATH #{{inspect(:rpc.multicall([r], :rust_math, :add, [2, 2]))}}")
        IO.puts("FAIL #{{inspect(:rpc.call(r, :rust_math, :fail, [:boom]))}}")
        efail =
          try do
            :erpc.call(r, :rust_math, :fail, [:boom])
          catch
            kind, reason -> {{kind, reason}}
          end
        IO.puts("EFAIL #{{inspect(efail)}}")
        IO.puts("UNDEF #{{inspect(:rpc.call(r, :nomod, :nofun, [1]))}}")
        IO.puts("UNDEF_LOCAL #{{inspect(:rpc.call(node(), :nomod, :nofun, [1]))}}")
        req = :erpc.send_request(r, :rust_math, :add, [40, 2])
        IO.puts("RECV #{{inspect(:erpc.receive_response(req, 5_000))}}")
        task = Task.async(fn -> :rpc.call(r, :rust_math, :mul, [10, 20]) end)
        IO.puts("TASK #{{inspect(Task.await(task, 5_000))}}")
        tasks = for n <- 1..5, do: Task.async(fn -> :erpc.call(r, :rust_math, :add, [n, n]) end)
        IO.puts("TASKS #{{inspect(Task.await_many(tasks, 5_000))}}")
        timeout =
          try do
            :erpc.call(r, :rust_math, :sleep, [3_000], 100)
          catch
            kind, reason -> {{kind, reason}}
          end
        IO.puts("TIMEOUT #{{inspect(timeout)}}")
        IO.puts("BLOCK #{{inspect(:rpc.block_call(r, :rust_math, :add, [3, 4]))}}")
        IO.puts("ASYNC #{{inspect(:rpc.yield(:rpc.async_call(r, :rust_math, :add, [2, 3])))}}")
        IO.puts("NODE #{{inspect(:rpc.call(r, :erlang, :node, []) == r)}}")
        "#
    )
}

/// Runs `script` in `elixir --sname …` (on the host, or in `root` through chroot) with
/// the test's EPMD; returns stdout and stderr.
async fn run_elixir(
    root: Option<std::path::PathBuf>,
    epmd: u16,
    script: String,
) -> (String, String) {
    let name = format!("{}@localhost", unique("exrpc"));
    let out = tokio::task::spawn_blocking(move || {
        let mut cmd = match &root {
            None => {
                require("elixir");
                let mut c = Command::new("elixir");
                c.env("ERL_EPMD_PORT", epmd.to_string());
                c
            }
            Some(root) => {
                let mut c = Command::new("chroot");
                c.arg(root).args([
                    "env",
                    &format!("ERL_EPMD_PORT={epmd}"),
                    "HOME=/root",
                    "LANG=C.UTF-8",
                    "elixir",
                ]);
                c
            }
        };
        cmd.args(["--sname", &name, "--cookie", COOKIE, "-e", &script])
            .stdin(Stdio::null())
            .output()
            .expect("run elixir")
    });
    let out = tokio::time::timeout(Duration::from_secs(90), out)
        .await
        .expect("elixir finished")
        .unwrap();
    (
        String::from_utf8_lossy(&out.stdout).to_string(),
        String::from_utf8_lossy(&out.stderr).to_string(),
    )
}

async fn elixir_calls_rust(root: Option<std::path::PathBuf>) -> String {
    let epmd = private_epmd().await;
    let node = rust_node("rust", epmd, COOKIE).await;
    beamnode::services::rpc_server::start(&node).unwrap();
    beamnode::services::rust_math::register(&node);
    let r = node.name().as_str().to_string();
    let (text, err) = run_elixir(root, epmd, script(&r)).await;
    let line = |p: &str| {
        text.lines()
            .find_map(|l| l.strip_prefix(p))
            .unwrap_or_else(|| panic!("no {p:?} line in:\n{text}\n{err}"))
            .trim()
            .to_string()
    };
    assert_eq!(line("CONNECT "), "true");
    assert_eq!(line("ADD "), "3");
    assert_eq!(line("ERPC "), "42");
    assert_eq!(line("FIB "), "354224848179261915075");
    assert_eq!(line("MULTI "), "true");
    assert_eq!(line("RPCMULTI "), "true");
    assert_eq!(line("RPCMULTI_MATH "), "{[4], []}");
    assert_eq!(
        line("FAIL "),
        "{:badrpc, {:EXIT, {:boom, [{:rust_math, :fail, 1, []}]}}}"
    );
    assert_eq!(
        line("EFAIL "),
        "{:error, {:exception, :boom, [{:rust_math, :fail, 1, []}]}}"
    );
    // undef: the same shape the Elixir node's own rpc gives for its own node.
    let undef = line("UNDEF ");
    assert_eq!(
        undef,
        "{:badrpc, {:EXIT, {:undef, [{:nomod, :nofun, [1], []}]}}}"
    );
    assert_eq!(line("UNDEF_LOCAL "), undef);
    assert_eq!(line("RECV "), "42");
    assert_eq!(line("TASK "), "200");
    assert_eq!(line("TASKS "), "[2, 4, 6, 8, 10]");
    assert_eq!(line("TIMEOUT "), "{:error, {:erpc, :timeout}}");
    assert_eq!(line("BLOCK "), "7");
    assert_eq!(line("ASYNC "), "5");
    assert_eq!(line("NODE "), "true");
    node.shutdown();
    line("VERSION ")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn elixir_calls_rust_math_with_rpc_and_erpc() {
    let version = elixir_calls_rust(None).await;
    assert!(version.starts_with("1."), "{version}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn elixir_on_otp27_calls_rust_math_with_rpc_and_erpc() {
    let root = newer_otp_root();
    let release = otp_release_of(&root);
    let version = elixir_calls_rust(Some(root)).await;
    assert!(version.ends_with(&format!("OTP {release}")), "{version}");
}

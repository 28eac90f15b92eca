//! The README walkthrough, done by a real Elixir node: Node.connect, Node.list, send
//! to `echo`, GenServer.call to `kv`, Node.ping.

use crate::common::*;
use std::process::{Command, Stdio};
use std::time::Duration;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn elixir_walkthrough() {
    require("elixir");
    let epmd = private_epmd().await;
    let node = rust_node("rust", epmd, COOKIE).await;
    beamnode::services::echo::start(&node).unwrap();
    beamnode::services::kv::start(&node).unwrap();
    let r = node.name().as_str().to_string();
    let script = format!(
        r#"r = :"{r}"
        IO.puts("CONNECT #{{inspect(Node.connect(r))}}")
        IO.puts("LIST #{{inspect(Node.list())}}")
        send({{:echo, r}}, {{self(), %{{greeting: "hello", n: 1.5}}}})
        receive do
          {{:echo, m}} -> IO.puts("ECHO #{{inspect(m)}}")
        after 5000 -> IO.puts("ECHO timeout")
        end
        IO.puts("PUT #{{inspect(GenServer.call({{:kv, r}}, {{:put, "k", [1, 2]}}))}}")
        IO.puts("GET #{{inspect(GenServer.call({{:kv, r}}, {{:get, "k"}}))}}")
        IO.puts("PING #{{inspect(Node.ping(r))}}")
        "#
    );
    let name = format!("{}@localhost", unique("ex"));
    let out = tokio::task::spawn_blocking(move || {
        Command::new("elixir")
            .args(["--sname", &name, "--cookie", COOKIE, "-e", &script])
            .env("ERL_EPMD_PORT", epmd.to_string())
            .stdin(Stdio::null())
            .output()
            .expect("run elixir")
    });
    let out = tokio::time::timeout(Duration::from_secs(60), out)
        .await
        .expect("elixir finished")
        .unwrap();
    let text = String::from_utf8_lossy(&out.stdout).to_string();
    let err = String::from_utf8_lossy(&out.stderr).to_string();
    let line = |p: &str| {
        text.lines()
            .find_map(|l| l.strip_prefix(p))
            .unwrap_or_else(|| panic!("no {p:?} line in:\n{text}\n{err}"))
            .trim()
            .to_string()
    };
    assert_eq!(line("CONNECT "), "true");
    assert_eq!(line("LIST "), format!("[:{r}]"));
    assert_eq!(line("ECHO "), r#"%{greeting: "hello", n: 1.5}"#);
    assert_eq!(line("PUT "), ":ok");
    assert_eq!(line("GET "), "{:ok, [1, 2]}");
    assert_eq!(line("PING "), ":pong");
}

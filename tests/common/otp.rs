//! Helpers for tests against real OTP: find `erl`, start BEAM nodes as child processes
//! (killed when dropped), read what they print, and start beamnode nodes with a private
//! EPMD so tests never touch port 4369 and can run in parallel.

use beamnode::net::EpmdServer;
use beamnode::{Node, NodeConfig, Pid, Process, Reference, Term};
use std::io::{BufRead, BufReader};
use std::net::SocketAddr;
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::mpsc;
use std::time::{Duration, Instant};

pub const COOKIE: &str = "beamnode_test_cookie";

/// Fails the test (never skips) when a tool of real OTP is missing.
pub fn require(tool: &str) {
    let found = Command::new("sh")
        .arg("-c")
        .arg(format!("command -v {tool}"))
        .stdout(Stdio::null())
        .status()
        .map(|s| s.success())
        .unwrap_or(false);
    assert!(
        found,
        "`{tool}` not found: these tests run against real Erlang/OTP. Install it with \
         `apt-get install -y erlang-nox elixir` (or run `bash scripts/test.sh`, which does)."
    );
}

/// A name unique to this test process and call.
pub fn unique(prefix: &str) -> String {
    static N: AtomicU32 = AtomicU32::new(0);
    format!(
        "{prefix}{}_{}",
        std::process::id(),
        N.fetch_add(1, Ordering::Relaxed)
    )
}

/// A loopback TCP port that was free a moment ago (bound, then released).
pub fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .expect("bind a free loopback port")
        .port()
}

/// Kills (and reaps) its child when dropped, so a failing test leaves nothing behind.
pub struct ChildGuard(pub Child);

impl Drop for ChildGuard {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// Runs `cmd` to completion within `limit` (panicking past it); returns its stdout and
/// stderr.
pub fn run_bounded(cmd: &mut Command, limit: Duration) -> (String, String) {
    use std::io::Read;
    let child = cmd
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap_or_else(|e| panic!("cannot run {cmd:?} ({e}): install Erlang with `apt-get install -y erlang-nox elixir`"));
    let mut guard = ChildGuard(child);
    // Read while it runs: a child filling a pipe would otherwise never finish.
    fn drain(pipe: Option<impl Read + Send + 'static>) -> std::thread::JoinHandle<String> {
        std::thread::spawn(move || {
            let mut text = String::new();
            if let Some(mut pipe) = pipe {
                let _ = pipe.read_to_string(&mut text);
            }
            text
        })
    }
    let out = drain(guard.0.stdout.take());
    let err = drain(guard.0.stderr.take());
    let deadline = Instant::now() + limit;
    while guard.0.try_wait().ok().flatten().is_none() {
        assert!(
            Instant::now() < deadline,
            "{cmd:?} did not finish in {limit:?}"
        );
        std::thread::sleep(Duration::from_millis(50));
    }
    (
        out.join().unwrap_or_default(),
        err.join().unwrap_or_default(),
    )
}

/// The real `epmd` daemon, private to the test: in the foreground (never `-daemon`) on
/// a free port (never 4369), killed on drop. Returns once it accepts connections.
pub fn real_epmd() -> (ChildGuard, u16) {
    require("epmd");
    let port = free_port();
    let child = Command::new("epmd")
        .args(["-port", &port.to_string()])
        .env_remove("ERL_EPMD_PORT")
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("start epmd");
    let guard = ChildGuard(child);
    let deadline = Instant::now() + Duration::from_secs(20);
    while std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
        assert!(Instant::now() < deadline, "private epmd did not come up");
        std::thread::sleep(Duration::from_millis(50));
    }
    (guard, port)
}

/// A private EPMD (our server) on a free loopback port; it runs until the test's
/// runtime ends.
pub async fn private_epmd() -> u16 {
    let server = EpmdServer::bind(SocketAddr::from(([127, 0, 0, 1], 0)))
        .await
        .expect("bind private epmd");
    let port = server.local_addr().port();
    tokio::spawn(server.run(std::future::pending::<()>()));
    port
}

/// Starts a beamnode node `prefix…@localhost` registered with the EPMD on `epmd_port`.
pub async fn rust_node(prefix: &str, epmd_port: u16, cookie: &str) -> Node {
    rust_node_with(prefix, epmd_port, cookie, |c| c).await
}

pub async fn rust_node_with(
    prefix: &str,
    epmd_port: u16,
    cookie: &str,
    tweak: impl FnOnce(NodeConfig) -> NodeConfig,
) -> Node {
    let name = format!("{}@localhost", unique(prefix));
    let config = NodeConfig::new(name, cookie)
        .epmd_port(epmd_port)
        .listen_addr([127, 0, 0, 1].into());
    Node::start(tweak(config))
        .await
        .expect("start beamnode node")
}

/// The `-eval` script of a BEAM node that is only there to be connected to: prints
/// `READY`, then stays up for a minute.
pub const IDLE: &str = r#"io:format("READY~n"), receive after 60000 -> halt() end."#;

/// The pid in `t`; panics (failing the test) on anything else.
pub fn pid_of(t: &Term) -> Pid {
    match t {
        Term::Pid(p) => p.clone(),
        other => panic!("expected a pid, got {other:?}"),
    }
}

/// `{'EXIT', From, Reason}` as a trapping process receives it.
pub fn exit_msg(from: &Pid, reason: Term) -> Term {
    Term::tuple(vec![Term::atom("EXIT"), Term::Pid(from.clone()), reason])
}

/// `{'DOWN', Ref, process, Object, Reason}`; `object` is the pid or `{Name, Node}`.
pub fn down_msg(r: &Reference, object: Term, reason: Term) -> Term {
    Term::tuple(vec![
        Term::atom("DOWN"),
        Term::Ref(r.clone()),
        Term::atom("process"),
        object,
        reason,
    ])
}

/// A beamnode node with a process registered as `collector`, where the BEAM side of a
/// test sends what it saw.
pub async fn rust_node_with_collector(epmd_port: u16) -> (Node, Process) {
    let node = rust_node("rust", epmd_port, COOKIE).await;
    let collector = node.process();
    collector.register("collector").expect("register collector");
    (node, collector)
}

/// A real `erl` node running an `-eval` script, with its output collected line by line.
pub struct Erl {
    pub name: String,
    child: Child,
    lines: mpsc::Receiver<String>,
    pub output: Vec<String>,
}

impl Erl {
    /// The node's OS process id (`erl` execs the emulator, so it is beam.smp's).
    pub fn os_pid(&self) -> u32 {
        self.child.id()
    }

    /// Starts `erl -sname <sname>@localhost -setcookie <cookie> -noshell -eval <eval>`
    /// with `ERL_EPMD_PORT=<epmd_port>`.
    pub fn start(sname: &str, cookie: &str, epmd_port: u16, eval: &str) -> Erl {
        Self::start_with(sname, cookie, epmd_port, eval, &[])
    }

    pub fn start_with(
        sname: &str,
        cookie: &str,
        epmd_port: u16,
        eval: &str,
        extra: &[&str],
    ) -> Erl {
        require("erl");
        let name = format!("{sname}@localhost");
        let mut cmd = Command::new("erl");
        cmd.args(["-sname", &name, "-setcookie", cookie, "-noshell"])
            .args(extra)
            .args(["-eval", eval])
            .env("ERL_EPMD_PORT", epmd_port.to_string())
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped());
        Self::from_command(cmd, &name)
    }

    /// Wraps an already prepared command (its stdout/stderr get piped here).
    pub fn from_command(mut cmd: Command, name: &str) -> Erl {
        require("erl");
        cmd.stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped());
        let name = name.to_string();
        let mut child = cmd.spawn().expect("spawn erl");
        let (tx, rx) = mpsc::channel();
        let out = child.stdout.take().expect("stdout");
        let err = child.stderr.take().expect("stderr");
        let tx2 = tx.clone();
        std::thread::spawn(move || {
            for l in BufReader::new(out).lines().map_while(Result::ok) {
                let _ = tx.send(l);
            }
        });
        std::thread::spawn(move || {
            for l in BufReader::new(err).lines().map_while(Result::ok) {
                let _ = tx2.send(format!("[stderr] {l}"));
            }
        });
        Erl {
            name,
            child,
            lines: rx,
            output: Vec::new(),
        }
    }

    /// Waits (without blocking the runtime) for a line starting with `prefix`;
    /// returns the rest of it. Panics with everything the node printed on timeout.
    pub async fn expect(&mut self, prefix: &str, timeout: Duration) -> String {
        let line = self
            .expect_line(&format!("a line starting with {prefix:?}"), timeout, |l| {
                l.starts_with(prefix)
            })
            .await;
        line[prefix.len()..].trim().to_string()
    }

    /// Waits (without blocking the runtime) for a whole line satisfying `pred`
    /// (`what` describes it for the panic message on timeout).
    pub async fn expect_line(
        &mut self,
        what: &str,
        timeout: Duration,
        pred: impl Fn(&str) -> bool,
    ) -> String {
        let deadline = Instant::now() + timeout;
        loop {
            while let Ok(l) = self.lines.try_recv() {
                self.output.push(l.clone());
                if pred(&l) {
                    return l;
                }
            }
            if Instant::now() > deadline {
                panic!(
                    "{}: no {what} within {timeout:?}; output:\n{}",
                    self.name,
                    self.output.join("\n")
                );
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }

    /// A BEAM node `<prefix>…@localhost` running [`IDLE`] with `extra` arguments;
    /// returns once it is up.
    pub async fn idle(prefix: &str, epmd_port: u16, extra: &[&str]) -> Erl {
        let mut erl = Self::start_with(&unique(prefix), COOKIE, epmd_port, IDLE, extra);
        erl.expect("READY", Duration::from_secs(20)).await;
        erl
    }

    /// Everything the node printed so far (stdout, and stderr lines marked `[stderr]`).
    pub fn drain_output(&mut self) -> &[String] {
        while let Ok(l) = self.lines.try_recv() {
            self.output.push(l);
        }
        &self.output
    }

    /// Sends SIGKILL (`kill -9`).
    pub fn kill9(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }

    /// Sends a signal by name (`STOP`, `CONT`, …). For `STOP`, returns once every
    /// thread of the node is stopped (state `T` in `/proc`; bounded): a busy machine
    /// can take a moment to stop them all, and a test must not race the node.
    pub fn signal(&self, sig: &str) {
        let pid = self.child.id();
        let _ = Command::new("kill")
            .args([format!("-{sig}"), pid.to_string()])
            .status();
        if sig == "STOP" {
            let stopped = || -> Option<bool> {
                let tasks = std::fs::read_dir(format!("/proc/{pid}/task")).ok()?;
                let mut all = true;
                for t in tasks.flatten() {
                    let stat = std::fs::read_to_string(t.path().join("stat")).ok()?;
                    // `pid (comm) S …`: the state follows the last ')'.
                    let state = stat.rsplit_once(')')?.1.trim_start().chars().next()?;
                    all &= state == 'T' || state == 't';
                }
                Some(all)
            };
            let deadline = Instant::now() + Duration::from_secs(10);
            while stopped() == Some(false) && Instant::now() < deadline {
                std::thread::sleep(Duration::from_millis(5));
            }
        }
    }

    /// Waits for the node to exit by itself (bounded).
    pub async fn wait_exit(&mut self, timeout: Duration) -> bool {
        let deadline = Instant::now() + timeout;
        while Instant::now() < deadline {
            if let Ok(Some(_)) = self.child.try_wait() {
                return true;
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        false
    }
}

impl Drop for Erl {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Waits for `cond` to become true, polling; false on timeout.
pub async fn eventually(timeout: Duration, mut cond: impl FnMut() -> bool) -> bool {
    let deadline = Instant::now() + timeout;
    while Instant::now() < deadline {
        if cond() {
            return true;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    cond()
}

/// The root file system with a newer OTP (27, Debian trixie) made by
/// `scripts/otp-root.sh`; `BEAMNODE_OTP_ROOT` overrides the path (for instance a root
/// with OTP 29 made by `scripts/otp-root.sh target/otp-roots/sid sid`). Fails (never skips)
/// with instructions when it is missing.
pub fn newer_otp_root() -> std::path::PathBuf {
    let root = std::env::var_os("BEAMNODE_OTP_ROOT")
        .map(std::path::PathBuf::from)
        .unwrap_or_else(|| {
            std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("target/otp-roots/trixie")
        });
    assert!(
        root.join("usr/bin/erl").exists(),
        "no newer-OTP root at {}: run `bash scripts/otp-root.sh` (as root; scripts/test.sh does it)",
        root.display()
    );
    root
}

/// The OTP major release (`"27"`) in a root made by `scripts/otp-root.sh`, read from
/// its `usr/lib/erlang/releases/<N>` directory. Asserts it is newer than OTP 25, so a
/// test cannot pass on the host's `erl` by mistake.
pub fn otp_release_of(root: &std::path::Path) -> String {
    let dir = root.join("usr/lib/erlang/releases");
    let release = std::fs::read_dir(&dir)
        .unwrap_or_else(|e| panic!("{}: {e}", dir.display()))
        .filter_map(|e| e.ok()?.file_name().into_string().ok())
        .filter_map(|n| n.parse::<u32>().ok())
        .max()
        .unwrap_or_else(|| panic!("no OTP release under {}", dir.display()));
    assert!(
        release > 25,
        "the root at {} has OTP {release}",
        root.display()
    );
    release.to_string()
}

impl Erl {
    /// Like [`Erl::start`], but runs the `erl` of another root file system (a newer
    /// OTP) through chroot; loopback is shared with the host.
    pub fn start_in_root(
        root: &std::path::Path,
        sname: &str,
        cookie: &str,
        epmd_port: u16,
        eval: &str,
    ) -> Erl {
        let name = format!("{sname}@localhost");
        let mut cmd = Command::new("chroot");
        cmd.arg(root)
            .args([
                "env",
                &format!("ERL_EPMD_PORT={epmd_port}"),
                "HOME=/root",
                "erl",
            ])
            .args([
                "-sname",
                &name,
                "-setcookie",
                cookie,
                "-noshell",
                "-eval",
                eval,
            ]);
        Erl::from_command(cmd, &name)
    }
}

/// Runs a command-line program such as `beamnode` (`exe args…`) with the test cookie
/// (`BEAMNODE_COOKIE`) and EPMD port; its exit status and trimmed stdout. Killed after
/// 20 s.
pub async fn run_cli(exe: &std::path::Path, args: &[&str], epmd: u16) -> (i32, String) {
    let out = tokio::process::Command::new(exe)
        .args(args)
        .env("ERL_EPMD_PORT", epmd.to_string())
        .env("BEAMNODE_COOKIE", COOKIE)
        .kill_on_drop(true)
        .output();
    let out = tokio::time::timeout(Duration::from_secs(20), out)
        .await
        .expect("the command finishes within 20 s")
        .expect("the command runs");
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stdout).trim().to_string(),
    )
}

impl Erl {
    /// [`Erl::start`] (the host's `erl`) when `root` is `None`, [`Erl::start_in_root`]
    /// (a newer OTP) otherwise: how the scenarios run on both.
    pub fn start_on(
        root: Option<&std::path::Path>,
        sname: &str,
        cookie: &str,
        epmd_port: u16,
        eval: &str,
    ) -> Erl {
        match root {
            None => Erl::start(sname, cookie, epmd_port, eval),
            Some(root) => Erl::start_in_root(root, sname, cookie, epmd_port, eval),
        }
    }
}

/// The OTP major release of the host's `erl` (`"25"` on Debian 12, `"27"` on Debian 13),
/// asked of `erl` itself once per test process.
pub fn host_otp_release() -> String {
    static RELEASE: std::sync::OnceLock<String> = std::sync::OnceLock::new();
    RELEASE
        .get_or_init(|| {
            require("erl");
            let (out, err) = run_bounded(
                Command::new("erl").args([
                    "-noshell",
                    "-eval",
                    r#"io:format("~s", [erlang:system_info(otp_release)]), halt()."#,
                ]),
                Duration::from_secs(60),
            );
            let release = out.trim().to_string();
            assert!(
                release.parse::<u32>().is_ok(),
                "the host's erl printed {out:?} as its OTP release; stderr: {err}"
            );
            release
        })
        .clone()
}

/// Checks the `erlang:system_info(otp_release)` a node printed: the root's release
/// ([`otp_release_of`]) for a newer-OTP root; for the host's `erl` (`None`), the host's
/// release ([`host_otp_release`]).
pub fn assert_release(root: Option<&std::path::Path>, printed: &str) {
    match root {
        Some(root) => assert_eq!(printed, otp_release_of(root)),
        None => assert_eq!(printed, host_otp_release(), "the host's OTP release"),
    }
}

/// Polls the async condition `cond` every 50 ms until it holds; panics with `what`
/// after 20 s.
/// [`until`] for a condition that needs no await: panics with `what` after 20 s.
pub async fn until_true(what: &str, cond: impl FnMut() -> bool) {
    assert!(
        eventually(Duration::from_secs(20), cond).await,
        "timed out waiting for: {what}"
    );
}

pub async fn until<F, Fut>(what: &str, mut cond: F)
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = bool>,
{
    let deadline = Instant::now() + Duration::from_secs(20);
    while Instant::now() < deadline {
        if cond().await {
            return;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    panic!("timed out waiting for: {what}");
}

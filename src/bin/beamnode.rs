//! The `beamnode` command: run a node, run an EPMD, call or ping a node. The only place
//! that installs a tracing subscriber.
//!
//! The entry point is a C `main` (`#![no_main]`), not Rust's: `beamnode call` is meant to
//! connect and answer faster than `erl_call` (BENCHMARKS.md), and Rust's start-up code
//! spends about 45 µs of a ~1.4 ms call on things a command-line tool does not need —
//! it reads `/proc/self/maps` to find the main thread's stack and maps an alternate
//! signal stack, only to print "stack overflow" instead of a plain SIGSEGV. [`main`]
//! does the rest of what that start-up does for us: standard descriptors 0–2 opened on
//! `/dev/null` when the parent left them closed (so no socket can become "stdout"),
//! SIGPIPE ignored (a write to a closed socket or pipe is an error, not death), a panic
//! turned into exit status 101, stdout flushed at the end.
#![no_main]

/// The allocator: mimalloc for the node and the EPMD (`run`, `epmd`), the C library's
/// for the one-shot commands. glibc's malloc gives every large buffer fresh pages from
/// the kernel and takes them back on free, which cost a node receiving large binaries a
/// third of its time in page faults (BENCHMARKS.md, the `mimalloc` line of Cargo.toml);
/// but mimalloc's set-up adds about 1 ms to a `beamnode call` of 4 ms. [`main`] picks
/// one from the subcommand before anything is allocated, and the choice never changes,
/// so every block is freed by the allocator that made it.
#[global_allocator]
static GLOBAL: CommandAlloc = CommandAlloc;

static LONG_RUNNING: std::sync::atomic::AtomicBool = std::sync::atomic::AtomicBool::new(false);

struct CommandAlloc;

impl CommandAlloc {
    fn mimalloc() -> bool {
        LONG_RUNNING.load(std::sync::atomic::Ordering::Relaxed)
    }
}

// SAFETY: each call goes to one of two allocators that uphold `GlobalAlloc`'s contract;
// which one is fixed before the first allocation, so a block is always freed or grown
// by the allocator that made it.
unsafe impl std::alloc::GlobalAlloc for CommandAlloc {
    unsafe fn alloc(&self, layout: std::alloc::Layout) -> *mut u8 {
        if Self::mimalloc() {
            mimalloc::MiMalloc.alloc(layout)
        } else {
            std::alloc::System.alloc(layout)
        }
    }
    unsafe fn alloc_zeroed(&self, layout: std::alloc::Layout) -> *mut u8 {
        if Self::mimalloc() {
            mimalloc::MiMalloc.alloc_zeroed(layout)
        } else {
            std::alloc::System.alloc_zeroed(layout)
        }
    }
    unsafe fn dealloc(&self, ptr: *mut u8, layout: std::alloc::Layout) {
        if Self::mimalloc() {
            mimalloc::MiMalloc.dealloc(ptr, layout)
        } else {
            std::alloc::System.dealloc(ptr, layout)
        }
    }
    unsafe fn realloc(&self, ptr: *mut u8, layout: std::alloc::Layout, new: usize) -> *mut u8 {
        if Self::mimalloc() {
            mimalloc::MiMalloc.realloc(ptr, layout, new)
        } else {
            std::alloc::System.realloc(ptr, layout, new)
        }
    }
}

use beamnode::{cookie, services, Node, NodeConfig, Term};
use clap::{Args, Parser, Subcommand};
use std::net::{IpAddr, SocketAddr};
use std::time::Duration;

#[path = "beamnode/client.rs"]
mod client;
use client::{call_blocking, names, ping_blocking};

#[derive(Parser)]
#[command(
    name = "beamnode",
    version,
    about = "A Rust node for Erlang/Elixir clusters"
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Start a node hosting the built-in `echo` and `kv` processes.
    Run(RunArgs),
    /// Run an EPMD (Erlang port mapper daemon) in the foreground.
    Epmd(EpmdArgs),
    /// Call MODULE:FUNCTION(ARGS…) on NODE and print the result (like `erl_call -a`).
    ///
    /// Exit status: 0 the call returned (a `throw(T)` returns `T`, as with `rpc:call`);
    /// 1 it raised or was killed (`{badrpc, …}` is printed, as `rpc:call` returns it);
    /// 3 the node is down or unreachable; 4 timeout; 2 bad command line or argument
    /// syntax.
    Call(CallArgs),
    /// List the names registered in EPMD (like `epmd -names`).
    Names(NamesArgs),
    /// Ping NODE: prints `pong` (exit 0) or `pang` (exit 1), like `net_adm:ping/1`.
    Ping(PingArgs),
}

#[derive(Args)]
struct RunArgs {
    /// Short node name: `rust` or `rust@host` (like `erl -sname`).
    #[arg(long, conflicts_with = "name")]
    sname: Option<String>,
    /// Long node name: `rust@host.domain` or `rust@127.0.0.1` (like `erl -name`).
    #[arg(long)]
    name: Option<String>,
    /// The cookie; default: ~/.erlang.cookie (created when missing, like erl).
    #[arg(long, env = "BEAMNODE_COOKIE", hide_env_values = true)]
    cookie: Option<String>,
    /// Connect as a hidden node (not in peers' `Node.list()`).
    #[arg(long)]
    hidden: bool,
    /// Distribution listen port range `MIN-MAX` or a single port (inet_dist_listen_min/max).
    #[arg(long, value_parser = parse_range)]
    port: Option<(u16, u16)>,
    /// EPMD port (default: $ERL_EPMD_PORT or 4369).
    #[arg(long)]
    epmd_port: Option<u16>,
    /// Do not start an embedded EPMD when none is running.
    #[arg(long)]
    no_epmd: bool,
    /// net_ticktime in seconds (default 60).
    #[arg(long, default_value_t = 60)]
    ticktime: u64,
    /// How long a connection polls its socket after a busy turn before sleeping, in
    /// microseconds (BEAM's `+sbwt`); 0 never polls.
    #[arg(long, value_name = "MICROSECONDS", default_value_t = 150)]
    busy_wait: u64,
    /// While a peer streams small messages, read each connection once per this many
    /// milliseconds instead of at every arrival (docs/design-choices.md, "Read
    /// pacing"); 0 always reads at once.
    #[arg(long, value_name = "MILLISECONDS", default_value_t = 1)]
    read_pacing: u64,
    /// Worker threads of the node's async runtime (default: half the cores, at least
    /// one; see docs/design-choices.md, "Worker threads").
    #[arg(long, value_name = "N", value_parser = clap::value_parser!(u16).range(1..))]
    workers: Option<u16>,
    /// Leave OTP's `global` name server out. By default it runs natively (a peer of
    /// the BEAM nodes' own) with the `kv` server registered globally as `{kv, NodeName}`.
    #[arg(long, conflicts_with = "global")]
    no_global: bool,
    /// Accepted for scripts written when `global` was opt-in; it is on by default now.
    #[arg(long, hide = true)]
    global: bool,
    #[command(flatten)]
    dist: DistArgs,
    #[command(flatten)]
    limits: LimitArgs,
}

/// What one peer may make this node hold (docs/hostile.md); the defaults are
/// `NodeConfig::new`'s.
#[derive(Args)]
struct LimitArgs {
    /// Largest incoming distribution frame, in bytes; a larger one closes that
    /// connection.
    #[arg(long, value_name = "BYTES", default_value_t = beamnode::proto::framing::DEFAULT_MAX_FRAME_LEN)]
    max_frame_size: usize,
    /// Deepest nesting of a received term; a deeper one closes that connection.
    #[arg(long, value_name = "LEVELS", default_value_t = beamnode::etf::DEFAULT_MAX_DEPTH)]
    max_term_depth: usize,
    /// Bytes queued for one peer before its senders wait (OTP's `+zdbbl`).
    #[arg(long, value_name = "BYTES", default_value_t = 1024 * 1024)]
    dist_buf_busy_limit: usize,
    /// Bytes queued for one peer by senders that cannot wait (system services) before
    /// the connection is closed as not reading.
    #[arg(long, value_name = "BYTES", default_value_t = 64 * 1024 * 1024)]
    dist_buf_max: usize,
    /// Incoming handshakes in progress at once; further connections are closed.
    #[arg(long, value_name = "N", default_value_t = 256)]
    max_pending_handshakes: usize,
}

impl LimitArgs {
    fn apply(&self, config: NodeConfig) -> NodeConfig {
        let time = config.max_handshake_time;
        config
            .max_frame_size(self.max_frame_size)
            .max_term_depth(self.max_term_depth)
            .dist_buf_limits(self.dist_buf_busy_limit, self.dist_buf_max)
            .handshake_limits(self.max_pending_handshakes, time)
    }
}

/// The distribution carrier, as `erl -proto_dist … -ssl_dist_optfile …`.
#[derive(Args)]
struct DistArgs {
    /// Distribution protocol: `inet_tcp` (plain TCP, the default) or `inet_tls` (TLS
    /// from the first byte, like `erl -proto_dist inet_tls`; needs --ssl-dist-optfile).
    #[arg(long, value_name = "PROTO", default_value = "inet_tcp", value_parser = ["inet_tcp", "inet_tls"])]
    proto_dist: String,
    /// OTP's `ssl_dist_optfile`: `[{server, [...]}, {client, [...]}].` with certfile,
    /// keyfile, cacertfile, verify, fail_if_no_peer_cert… (docs/tls.md).
    #[arg(long, value_name = "FILE")]
    ssl_dist_optfile: Option<std::path::PathBuf>,
}

impl DistArgs {
    /// The TLS configuration asked for, if any.
    fn tls(&self) -> Result<Option<beamnode::tls::DistTls>, String> {
        match (self.proto_dist.as_str(), &self.ssl_dist_optfile) {
            ("inet_tls", Some(file)) => beamnode::tls::DistTls::from_optfile(file)
                .map(Some)
                .map_err(|e| format!("--ssl-dist-optfile: {e}")),
            ("inet_tls", None) => Err("--proto-dist inet_tls needs --ssl-dist-optfile FILE".into()),
            (_, Some(_)) => {
                Err("--ssl-dist-optfile is used only with --proto-dist inet_tls".into())
            }
            _ => Ok(None),
        }
    }
}

#[derive(Args)]
struct EpmdArgs {
    /// Port to listen on (default: $ERL_EPMD_PORT or 4369).
    #[arg(long)]
    port: Option<u16>,
    /// Address to listen on.
    #[arg(long, default_value = "0.0.0.0")]
    address: IpAddr,
    /// Connections served at once; further ones are closed at once.
    #[arg(long, default_value_t = 1024)]
    max_connections: usize,
    /// Names registered at once; further registrations are refused (result 1).
    #[arg(long, default_value_t = beamnode::proto::epmd::DEFAULT_MAX_NAMES)]
    max_names: usize,
}

fn parse_range(s: &str) -> Result<(u16, u16), String> {
    let parse = |p: &str| p.trim().parse::<u16>().map_err(|e| format!("{p}: {e}"));
    match s.split_once('-') {
        Some((a, b)) => {
            let (a, b) = (parse(a)?, parse(b)?);
            if a > b {
                return Err(format!("empty range {a}-{b}"));
            }
            Ok((a, b))
        }
        None => parse(s).map(|p| (p, p)),
    }
}

fn short_hostname() -> String {
    let h = gethostname::gethostname().to_string_lossy().into_owned();
    match h.split('.').next() {
        Some(s) if !s.is_empty() => s.to_string(),
        _ => "localhost".to_string(),
    }
}

fn full_name(args: &RunArgs) -> Result<String, String> {
    // A host part that is empty (`name@`) means this host, as for erl.
    let given = |n: &String| n.strip_suffix('@').unwrap_or(n).to_string();
    let (sname, name) = (
        args.sname.as_ref().map(given),
        args.name.as_ref().map(given),
    );
    let (full, short) = match (&sname, &name) {
        (Some(s), _) if s.contains('@') => (s.clone(), true),
        (Some(s), _) => (format!("{s}@{}", short_hostname()), true),
        (None, Some(n)) if n.contains('@') => (n.clone(), false),
        (None, Some(n)) => {
            let h = gethostname::gethostname().to_string_lossy().into_owned();
            (format!("{n}@{h}"), false)
        }
        (None, None) => return Err("give --sname NAME or --name NAME@HOST".into()),
    };
    check_node_name(&full, short)?;
    Ok(full)
}

/// Refuses the node names `erl -sname`/`-name` refuses (net_kernel's rules, docs/cli.md
/// "Node names"): the part before the first `@` is ASCII letters, digits, `_` and `-`;
/// the host is printable Latin-1 with no space; a short name's host has no dot.
/// EPMD would register anything, but no BEAM node could reach such a name.
fn check_node_name(full: &str, short: bool) -> Result<(), String> {
    let (head, host) = full.split_once('@').unwrap_or((full, ""));
    if head.is_empty()
        || !head
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-')
    {
        return Err(format!(
            "invalid node name {full:?}: the part before @ may hold only ASCII letters, digits, _ and - (erl refuses it too)"
        ));
    }
    if host.is_empty() || !host.chars().all(|c| ('!'..='\u{ff}').contains(&c)) {
        return Err(format!(
            "invalid node name {full:?}: the host part must be a host name (erl refuses it too)"
        ));
    }
    if short && host.contains('.') {
        return Err(format!(
            "invalid short node name {full:?}: a short name's host has no dot; use --name for NAME@HOST.DOMAIN (as erl -name)"
        ));
    }
    Ok(())
}

/// Options shared by the commands that start a short-lived hidden node.
#[derive(Args)]
struct ClientArgs {
    /// The cookie; default: ~/.erlang.cookie.
    #[arg(long, env = "BEAMNODE_COOKIE", hide_env_values = true)]
    cookie: Option<String>,
    /// EPMD port (default: $ERL_EPMD_PORT or 4369).
    #[arg(long)]
    epmd_port: Option<u16>,
    #[command(flatten)]
    dist: DistArgs,
}

#[derive(Args)]
struct CallArgs {
    /// Target node, `name@host` (a bare `name` means `name@<this host>`, like -sname).
    node: String,
    /// Module name.
    module: String,
    /// Function name.
    function: String,
    /// Arguments as an Erlang list, e.g. '[1, <<"x">>, #{a => 1}]'.
    #[arg(default_value = "[]")]
    args: String,
    /// Give up after this many seconds (default: wait forever, like erl_call).
    #[arg(long)]
    timeout: Option<f64>,
    #[command(flatten)]
    client: ClientArgs,
}

#[derive(Args)]
struct NamesArgs {
    /// Host whose EPMD to ask.
    #[arg(long, default_value = "localhost")]
    host: String,
    /// EPMD port (default: $ERL_EPMD_PORT or 4369).
    #[arg(long)]
    epmd_port: Option<u16>,
}

#[derive(Args)]
struct PingArgs {
    /// Node to ping, `name@host`.
    node: String,
    #[command(flatten)]
    client: ClientArgs,
}

/// Exit statuses (`call`'s are documented in its help and the README).
const EXIT_SUCCESS: u8 = 0;
const EXIT_FAILURE: u8 = 1;
const EXIT_BADRPC: u8 = 1;
const EXIT_USAGE: u8 = 2;
const EXIT_NODEDOWN: u8 = 3;
const EXIT_TIMEOUT: u8 = 4;

/// The process entry point (see the module documentation for why it is a C `main`).
#[no_mangle]
extern "C" fn main(argc: libc::c_int, argv: *const *const libc::c_char) -> libc::c_int {
    // SAFETY: the C runtime passes `argc` valid NUL-terminated strings in `argv`; this
    // reads the first argument without allocating (the allocator is not chosen yet).
    let first = (argc > 1).then(|| unsafe { std::ffi::CStr::from_ptr(*argv.add(1)) });
    if first.is_some_and(|c| matches!(c.to_bytes(), b"run" | b"epmd")) {
        LONG_RUNNING.store(true, std::sync::atomic::Ordering::Relaxed);
    }
    open_standard_fds();
    // SAFETY: setting a signal's disposition to SIG_IGN has no preconditions; nothing
    // else runs yet. Rust's own start-up does the same.
    unsafe {
        libc::signal(libc::SIGPIPE, libc::SIG_IGN);
    }
    // SAFETY: the C runtime passes `argc` valid NUL-terminated strings in `argv`.
    // (`std::env::args()` is not usable here: without Rust's start-up only glibc hands
    // the arguments to std, musl does not.)
    let args = unsafe { c_args(argc, argv) };
    let status = std::panic::catch_unwind(move || cli_main(args)).unwrap_or(101);
    let _ = std::io::Write::flush(&mut std::io::stdout());
    libc::c_int::from(status)
}

/// Opens `/dev/null` on each of descriptors 0, 1 and 2 that is closed (one `poll`
/// finds them), as Rust's start-up does: otherwise the first socket opened would get
/// such a number and printed text would go into it.
fn open_standard_fds() {
    let mut fds = [0, 1, 2].map(|fd| libc::pollfd {
        fd,
        events: 0,
        revents: 0,
    });
    // SAFETY: `fds` is a valid array of three pollfd structures; a zero timeout never
    // blocks.
    if unsafe { libc::poll(fds.as_mut_ptr(), 3, 0) } < 0 {
        return;
    }
    for p in fds.iter().filter(|p| p.revents & libc::POLLNVAL != 0) {
        let flags = if p.fd == 0 {
            libc::O_RDONLY
        } else {
            libc::O_RDWR
        };
        // SAFETY: the path is a NUL-terminated constant. Descriptors are allocated
        // lowest first, so this fills the closed slot `p.fd`; the descriptor is meant
        // to stay open for the life of the process.
        unsafe {
            libc::open(c"/dev/null".as_ptr(), flags);
        }
    }
}

/// The program arguments from C's `argc`/`argv`.
///
/// # Safety
/// `argv` must hold `argc` pointers to NUL-terminated strings.
unsafe fn c_args(argc: libc::c_int, argv: *const *const libc::c_char) -> Vec<std::ffi::OsString> {
    use std::os::unix::ffi::OsStrExt;
    let n = usize::try_from(argc).unwrap_or(0);
    (0..n)
        .filter_map(|i| {
            // SAFETY: i < argc (the caller's contract).
            let p = unsafe { *argv.add(i) };
            (!p.is_null()).then(|| {
                // SAFETY: a non-null argv entry is a NUL-terminated string.
                let bytes = unsafe { std::ffi::CStr::from_ptr(p) }.to_bytes();
                std::ffi::OsStr::from_bytes(bytes).to_os_string()
            })
        })
        .collect()
}

fn cli_main(args: Vec<std::ffi::OsString>) -> u8 {
    let cli = Cli::parse_from(args);
    // The client commands print their answer on stdout; keep stderr quiet by default.
    let client = !matches!(cli.command, Command::Run(_) | Command::Epmd(_));
    // Client commands report their failures themselves; their log is off unless
    // RUST_LOG asks for it (setting up the subscriber is a measurable part of a
    // one-shot call).
    if !client || std::env::var_os("RUST_LOG").is_some() {
        let default_level = if client { "warn" } else { "info" };
        tracing_subscriber::fmt()
            .with_env_filter(
                tracing_subscriber::EnvFilter::try_from_default_env()
                    .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new(default_level)),
            )
            .with_writer(std::io::stderr)
            .init();
    }
    // `call` and `ping` use a blocking connection and no runtime at all: starting one
    // costs more than the whole call (`beamnode call` is meant to beat `erl_call`).
    let cli = match cli.command {
        Command::Call(args) => return call_blocking(&args),
        Command::Ping(args) => return ping_blocking(&args),
        command => Cli { command },
    };
    // The other client commands run on a single thread.
    let runtime = if client {
        tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
    } else {
        let workers = match &cli.command {
            Command::Run(args) => args.workers.map(usize::from),
            _ => None,
        };
        tokio::runtime::Builder::new_multi_thread()
            .worker_threads(workers.unwrap_or_else(beamnode::config::recommended_worker_threads))
            .enable_all()
            .build()
    };
    let runtime = match runtime {
        Ok(r) => r,
        Err(e) => {
            eprintln!("beamnode: cannot start the async runtime: {e}");
            return EXIT_FAILURE;
        }
    };
    let code = runtime.block_on(async {
        let result = match cli.command {
            Command::Call(args) => return call_blocking(&args),
            Command::Names(args) => return names(args).await,
            Command::Ping(args) => return ping_blocking(&args),
            Command::Run(args) => run(args).await,
            Command::Epmd(args) => epmd(args).await,
        };
        match result {
            Ok(()) => EXIT_SUCCESS,
            Err(e) => {
                eprintln!("beamnode: {e}");
                EXIT_FAILURE
            }
        }
    });
    // Do not wait for background tasks (connections, timers) of a finished command.
    runtime.shutdown_background();
    code
}

/// The cookie given on the command line, else the one in `~/.erlang.cookie` (created
/// like `erl` does when missing).
fn resolve_cookie(given: Option<&str>) -> Result<String, String> {
    match given {
        Some(c) => Ok(c.to_string()),
        None => {
            let path = cookie::default_path().map_err(|e| e.to_string())?;
            cookie::read_or_create(&path).map_err(|e| e.to_string())
        }
    }
}

async fn run(args: RunArgs) -> Result<(), String> {
    let name = full_name(&args)?;
    let cookie = resolve_cookie(args.cookie.as_deref())?;
    let mut config = NodeConfig::new(name, cookie)
        .hidden(args.hidden)
        .net_ticktime(Duration::from_secs(args.ticktime.max(1)))
        .busy_wait(Duration::from_micros(args.busy_wait))
        .read_pacing(Duration::from_millis(args.read_pacing));
    if let Some(p) = args.epmd_port {
        config = config.epmd_port(p);
    }
    if let Some((min, max)) = args.port {
        config = config.listen_port_range(min, max);
    }
    if let Some(tls) = args.dist.tls()? {
        config = config.tls(tls);
    }
    config = args.limits.apply(config);
    if !args.no_epmd {
        beamnode::net::ensure_epmd(config.epmd_port)
            .await
            .map_err(|e| format!("could not start the embedded EPMD: {e}"))?;
    }
    let node = Node::start(config).await.map_err(|e| e.to_string())?;
    let echo = services::echo::start(&node).map_err(|e| e.to_string())?;
    let kv = services::kv::start(&node).map_err(|e| e.to_string())?;
    services::demo::register(&node);
    services::rpc_server::start(&node).map_err(|e| e.to_string())?;
    services::rust_math::register(&node);
    let scope =
        services::pg::start(&node, services::pg::DEFAULT_SCOPE).map_err(|e| e.to_string())?;
    // Rust processes in process groups, so `:pg.get_members(:echo)` in iex lists them.
    for (group, pid) in [
        ("echo", &echo),
        ("kv", &kv),
        ("beamnode", &echo),
        ("beamnode", &kv),
    ] {
        scope
            .join(Term::atom(group), std::slice::from_ref(pid))
            .await
            .map_err(|e| format!("pg join {group}: {e}"))?;
    }
    // `global` runs unless --no-global (docs/global.md). The kv name holds the node
    // name, so several beamnodes in one cluster never clash over it.
    let global = if !args.no_global {
        let g = services::global::start(&node).map_err(|e| e.to_string())?;
        let name = Term::tuple(vec![Term::atom("kv"), Term::Atom(node.name().clone())]);
        if !g.register_name(name, &kv).await {
            return Err("could not register {kv, Node} in global".into());
        }
        Some(g)
    } else {
        None
    };
    let me = node.name().as_str().to_string();
    let (_, host) = me.split_once('@').unwrap_or((me.as_str(), ""));
    let flag = if args.name.is_some() {
        "--name"
    } else {
        "--sname"
    };
    let workers = tokio::runtime::Handle::current().metrics().num_workers();
    println!(
        "beamnode {me} is up (distribution port {}, {workers} worker thread{}).",
        node.listen_port(),
        if workers == 1 { "" } else { "s" }
    );
    println!("Try it from Elixir (same cookie):");
    // The cookie itself is never printed: with --cookie, the hint names the flag.
    let cookie_arg = if args.cookie.is_some() {
        "YOUR_COOKIE   # the value given to --cookie"
    } else {
        "\"$(cat ~/.erlang.cookie)\""
    };
    match &args.dist.ssl_dist_optfile {
        Some(file) if args.dist.proto_dist == "inet_tls" => println!(
            "  iex {flag} me@{host} --erl \"-proto_dist inet_tls -ssl_dist_optfile {}\" --cookie {cookie_arg}",
            file.display()
        ),
        _ => println!("  iex {flag} me@{host} --cookie {cookie_arg}"),
    }
    println!("  iex> Node.connect(:\"{me}\")");
    if args.hidden {
        println!("  iex> Node.list(:hidden)   # a hidden node is not in Node.list()");
    } else {
        println!("  iex> Node.list()");
    }
    println!("  iex> send({{:echo, :\"{me}\"}}, {{self(), :hello}}); flush()");
    println!("  iex> GenServer.call({{:kv, :\"{me}\"}}, {{:put, :k, 42}})");
    println!("  iex> GenServer.call({{:kv, :\"{me}\"}}, {{:get, :k}})");
    println!("  iex> :rpc.call(:\"{me}\", :rust_math, :add, [1, 2])");
    if !args.hidden {
        // pg and global leave hidden nodes out (docs/protocol.md §10, §11).
        println!("  iex> :pg.start_link(); :pg.get_members(:beamnode)   # echo and kv, Rust pids");
    }
    if global.is_some() && !args.hidden {
        println!(
            "  iex> :global.sync(); GenServer.call({{:global, {{:kv, :\"{me}\"}}}}, {{:get, :k}})"
        );
    }
    println!("Press Ctrl-C to stop.");
    let _ = tokio::signal::ctrl_c().await;
    if let Some(g) = &global {
        // As OTP's init:stop: no lost_connection for the connections closing now.
        g.prepare_shutdown(std::time::Duration::from_secs(2)).await;
    }
    node.shutdown();
    Ok(())
}

async fn epmd(args: EpmdArgs) -> Result<(), String> {
    let port = args.port.unwrap_or_else(beamnode::net::epmd_port_from_env);
    let addr = SocketAddr::new(args.address, port);
    let config = beamnode::net::epmd_server::EpmdServerConfig {
        max_connections: args.max_connections,
        max_names: args.max_names,
        ..Default::default()
    };
    let server = beamnode::net::epmd_server::EpmdServer::bind_with_config(addr, config)
        .await
        .map_err(|e| format!("cannot listen on {addr}: {e}"))?;
    println!("beamnode epmd listening on {}", server.local_addr());
    server
        .run(async {
            let _ = tokio::signal::ctrl_c().await;
        })
        .await;
    Ok(())
}

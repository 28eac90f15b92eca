//! Node configuration: a plain struct with defaults and setters (quinn style). Limits are
//! named, documented fields.

use crate::proto::epmd::DEFAULT_EPMD_PORT;
use std::time::Duration;

/// How many tokio worker threads a runtime that mostly runs beamnode nodes should
/// have on this machine: [`worker_threads_for`] its available cores. `beamnode run`
/// uses it; a program embedding nodes can pass it to
/// `tokio::runtime::Builder::worker_threads`.
pub fn recommended_worker_threads() -> usize {
    worker_threads_for(std::thread::available_parallelism().map_or(1, |n| n.get()))
}

/// Half of `cores`, at least one (docs/design-choices.md, "Worker threads").
///
/// A node's work is mostly moving messages between sockets and processes, and on a
/// runtime with a worker per core most of what a second worker adds is cost: every
/// packet that arrives while one worker serves (or busy-polls) a connection also
/// wakes the worker asleep in `epoll_wait` for nothing, and a process woken by a
/// delivery migrates to the other worker. Measured on a 2-core VM against OTP 25
/// (BENCHMARKS.md), one worker instead of two cut the node's CPU per rpc call with 8
/// callers by a third and raised every call row; the cores left over serve the
/// kernel's network processing and the other programs on the machine.
pub fn worker_threads_for(cores: usize) -> usize {
    (cores / 2).max(1)
}

/// How a node is set up. Build with [`NodeConfig::new`] and the setters.
#[derive(Clone)]
pub struct NodeConfig {
    /// Full node name, `alive@host`.
    pub name: String,
    /// The shared secret. Never logged.
    pub cookie: String,
    /// Hidden nodes are left out of peers' `nodes()` and do not take part in `global`
    /// (docs/protocol.md §3.4).
    pub hidden: bool,
    /// Port range for the distribution listener (`inet_dist_listen_min/max`). `(0, 0)`
    /// lets the OS choose.
    pub listen_port_range: (u16, u16),
    /// Address the distribution listener binds.
    pub listen_addr: std::net::IpAddr,
    /// EPMD port (`ERL_EPMD_PORT`, default 4369).
    pub epmd_port: u16,
    /// `net_ticktime` (§4.1): the peer is declared down after this long without any byte
    /// received (plus up to one tick interval). Default 60 s.
    pub net_ticktime: Duration,
    /// `net_tickintensity` (§4.1): ticks per `net_ticktime`. Default 4.
    pub net_tickintensity: u32,
    /// `net_setuptime` (§2.1): bound on each handshake step. Default 7 s.
    pub setup_time: Duration,
    /// Largest incoming frame accepted; a bigger length field closes the connection
    /// instead of making us buffer it. Default 1 GiB
    /// ([`crate::proto::framing::DEFAULT_MAX_FRAME_LEN`]): OTP sends large messages as
    /// one frame.
    pub max_frame_size: usize,
    /// Deepest nesting (open tuples, lists, maps, funs) of a received term; a deeper
    /// one is a protocol error that closes that connection, with a log line. OTP has
    /// no such limit; the default, 2^20 ([`crate::etf::DEFAULT_MAX_DEPTH`]), lets
    /// through the million-level terms OTP can send while bounding what one term
    /// costs to decode. Lower it when handlers walk terms recursively.
    pub max_term_depth: usize,
    /// Bounds on messages that arrive in fragments (§4.4): sequences open at once and
    /// bytes buffered for them, which is also the largest message a peer can send.
    pub fragment_limits: crate::proto::dist::FragmentLimits,
    /// Register with EPMD (default). A node that only dials out (like `erl_call`, or
    /// `beamnode call`) can skip it: peers cannot look it up, and its creation is then
    /// drawn at random instead of coming from EPMD (§1.3).
    pub register_with_epmd: bool,
    /// Bytes a connection's outgoing queue may hold before it is busy: a process that
    /// sends to a busy connection waits ([`crate::Process::send`]), as on BEAM's
    /// `busy_dist_port`. OTP's `dist_buf_busy_limit` (`+zdbbl`), default 1 MiB.
    pub dist_buf_busy_limit: usize,
    /// Hard limit of a connection's outgoing queue for senders that do not wait
    /// (system services, sends from outside a process): a message that finds what
    /// such senders have queued already over it means the peer is not reading, and the
    /// connection is closed. Under it, one more message of any size is taken; a
    /// sender that waits ([`crate::Process::send`]) queues only once the queue is under
    /// its busy limit and is never refused. Default 64 MiB.
    pub dist_buf_max: usize,
    /// Incoming handshakes in progress at once; past it new connections are closed at
    /// once with a log line (a flood of idle or trickling connections cannot pile up
    /// tasks and memory). Default 256.
    pub max_pending_handshakes: usize,
    /// Bound on a whole incoming handshake, whatever the pace of each step (each step
    /// is also bound by `setup_time`, as in OTP). Default 3 × `setup_time` (21 s).
    pub max_handshake_time: Duration,
    /// How long a connection keeps polling its socket after a turn that did work,
    /// before it sleeps until woken (BEAM's scheduler busy wait, `+sbwt`): a
    /// request/response peer's next request then finds it awake, which halves a
    /// ping-pong round trip on a VM. Dense traffic (streams, many callers) turns it off
    /// for a while by itself (docs/design-choices.md, "Busy wait"). `Duration::ZERO`
    /// never polls (`+sbwt none`). Default 150 µs.
    pub busy_wait: Duration,
    /// While a peer streams small messages at this node without waiting for its
    /// answers, a connection reads its socket once per `read_pacing` instead of at each
    /// arrival, with the socket's low-water mark raised so arrivals do not wake the node
    /// (docs/design-choices.md, "Read pacing"): a stream of small messages then costs
    /// the node about a third of the CPU per message. While a connection reads on the
    /// clock, a message arriving on it (in the stream, or a request beside it) waits up
    /// to about twice this long; a connection that carries requests and their answers,
    /// or large messages, does not turn to the clock. `Duration::ZERO` always reads at
    /// once. Default 1 ms (tokio's timer resolution). Linux, plain TCP only: TLS
    /// connections, and every connection on other systems, read at once.
    pub read_pacing: Duration,
    /// TLS distribution (`-proto_dist inet_tls`, docs/tls.md): when set, every
    /// connection accepted or dialled is TLS from its first byte, with the options of
    /// the `ssl_dist_optfile` it was read from. Default: none (plain TCP).
    #[cfg(feature = "tls")]
    pub tls: Option<std::sync::Arc<crate::tls::DistTls>>,
}

impl std::fmt::Debug for NodeConfig {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("NodeConfig")
            .field("name", &self.name)
            .field("cookie", &"<hidden>")
            .field("hidden", &self.hidden)
            .field("listen_port_range", &self.listen_port_range)
            .field("listen_addr", &self.listen_addr)
            .field("epmd_port", &self.epmd_port)
            .field("net_ticktime", &self.net_ticktime)
            .field("tls", &self.is_tls())
            .finish()
    }
}

impl NodeConfig {
    /// A configuration with OTP's defaults for `name` (`alive@host`) and `cookie`.
    pub fn new(name: impl Into<String>, cookie: impl Into<String>) -> Self {
        NodeConfig {
            name: name.into(),
            cookie: cookie.into(),
            hidden: false,
            listen_port_range: (0, 0),
            listen_addr: std::net::IpAddr::V4(std::net::Ipv4Addr::UNSPECIFIED),
            epmd_port: epmd_port_from_env(),
            net_ticktime: Duration::from_secs(60),
            net_tickintensity: 4,
            setup_time: Duration::from_secs(7),
            max_frame_size: crate::proto::framing::DEFAULT_MAX_FRAME_LEN,
            max_term_depth: crate::etf::DEFAULT_MAX_DEPTH,
            fragment_limits: Default::default(),
            register_with_epmd: true,
            dist_buf_busy_limit: 1024 * 1024,
            dist_buf_max: 64 * 1024 * 1024,
            max_pending_handshakes: 256,
            max_handshake_time: Duration::from_secs(21),
            busy_wait: Duration::from_micros(150),
            read_pacing: crate::net::pacing::DEFAULT_PERIOD,
            #[cfg(feature = "tls")]
            tls: None,
        }
    }
    /// Sets the `tls` field: TLS distribution with these options (a node needs
    /// both the `server` and the `client` entry of the optfile).
    #[cfg(feature = "tls")]
    pub fn tls(mut self, tls: crate::tls::DistTls) -> Self {
        self.tls = Some(std::sync::Arc::new(tls));
        self
    }
    /// Whether the node speaks TLS distribution.
    pub fn is_tls(&self) -> bool {
        #[cfg(feature = "tls")]
        return self.tls.is_some();
        #[cfg(not(feature = "tls"))]
        return false;
    }
    /// Sets [`NodeConfig::max_pending_handshakes`] and
    /// [`NodeConfig::max_handshake_time`].
    pub fn handshake_limits(mut self, pending: usize, time: Duration) -> Self {
        self.max_pending_handshakes = pending;
        self.max_handshake_time = time;
        self
    }
    /// Sets [`NodeConfig::read_pacing`] (`Duration::ZERO`: always read at once).
    pub fn read_pacing(mut self, period: Duration) -> Self {
        self.read_pacing = period;
        self
    }
    /// Sets [`NodeConfig::busy_wait`] (`Duration::ZERO`: never poll).
    pub fn busy_wait(mut self, wait: Duration) -> Self {
        self.busy_wait = wait;
        self
    }
    /// Sets [`NodeConfig::max_term_depth`].
    pub fn max_term_depth(mut self, depth: usize) -> Self {
        self.max_term_depth = depth;
        self
    }
    /// Sets [`NodeConfig::max_frame_size`].
    pub fn max_frame_size(mut self, bytes: usize) -> Self {
        self.max_frame_size = bytes;
        self
    }
    /// Sets [`NodeConfig::fragment_limits`].
    pub fn fragment_limits(mut self, limits: crate::proto::dist::FragmentLimits) -> Self {
        self.fragment_limits = limits;
        self
    }
    /// Sets [`NodeConfig::dist_buf_busy_limit`] and [`NodeConfig::dist_buf_max`].
    pub fn dist_buf_limits(mut self, busy: usize, max: usize) -> Self {
        self.dist_buf_busy_limit = busy;
        self.dist_buf_max = max.max(busy);
        self
    }
    /// The settings of each up connection.
    pub fn connection_config(&self) -> crate::proto::connection::ConnectionConfig {
        crate::proto::connection::ConnectionConfig {
            net_ticktime: self.net_ticktime,
            net_tickintensity: self.net_tickintensity,
            max_frame_size: self.max_frame_size,
            fragment_limits: self.fragment_limits,
            max_term_depth: self.max_term_depth,
        }
    }
    pub fn hidden(mut self, hidden: bool) -> Self {
        self.hidden = hidden;
        self
    }
    pub fn listen_port_range(mut self, min: u16, max: u16) -> Self {
        self.listen_port_range = (min, max);
        self
    }
    pub fn listen_addr(mut self, addr: std::net::IpAddr) -> Self {
        self.listen_addr = addr;
        self
    }
    pub fn epmd_port(mut self, port: u16) -> Self {
        self.epmd_port = port;
        self
    }
    pub fn net_ticktime(mut self, t: Duration) -> Self {
        self.net_ticktime = t;
        self
    }
    pub fn register_with_epmd(mut self, on: bool) -> Self {
        self.register_with_epmd = on;
        self
    }
    pub fn setup_time(mut self, t: Duration) -> Self {
        self.setup_time = t;
        self
    }
    /// Interval between tick checks: `net_ticktime / intensity`, at least 1 ms... OTP
    /// rounds ticktime up to a multiple of the intensity (§4.1).
    pub fn tick_interval(&self) -> Duration {
        let intensity = self.net_tickintensity.clamp(4, 1000);
        (self.net_ticktime / intensity).max(Duration::from_millis(10))
    }
}

/// The EPMD port named by `ERL_EPMD_PORT`, else 4369 (§1.1). Part of the configuration
/// (the default of [`NodeConfig::epmd_port`]); `net` re-exports it for its EPMD client.
pub fn epmd_port_from_env() -> u16 {
    match std::env::var("ERL_EPMD_PORT") {
        Ok(value) => value.trim().parse().unwrap_or_else(|_| {
            tracing::warn!(%value, "ERL_EPMD_PORT is not a port number; using 4369");
            DEFAULT_EPMD_PORT
        }),
        Err(_) => DEFAULT_EPMD_PORT,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn worker_threads_are_half_the_cores_and_at_least_one() {
        let got: Vec<usize> = [0, 1, 2, 3, 4, 5, 16].map(worker_threads_for).to_vec();
        assert_eq!(got, vec![1, 1, 1, 1, 2, 2, 8]);
    }
}

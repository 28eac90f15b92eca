//! One blocking distribution connection: EPMD lookup (§1.2 PORT_PLEASE2), the
//! initiator handshake (§2), then 4-byte frames with ticks (§4.1) and control
//! messages (§5) — all through the same sans-IO codecs the tokio layer drives.

use crate::proto::connection::{self, ConnectionConfig, ConnectionError, Endpoints};
use crate::proto::control::ControlMessage;
use crate::proto::dist::{DistError, DistMessage};
use crate::proto::epmd::{EpmdError, EpmdRequest, Port2Resp};
use crate::proto::framing::FrameError;
use crate::proto::handshake::{
    Cookie, HandshakeError, HandshakeFraming, Initiator, InitiatorConfig, InitiatorNext, LocalName,
    WireFraming,
};
use crate::proto::DistFlags;
use crate::term::{Atom, Pid, Reference, Term};
use std::collections::VecDeque;
use std::io::{ErrorKind, Read, Write};
use std::net::{IpAddr, SocketAddr, TcpStream, ToSocketAddrs};
use std::time::{Duration, Instant};
use tracing::{debug, warn};

/// How to reach the peer, and who we are. Its `Debug` output leaves the cookie out.
#[derive(Clone)]
pub struct DialConfig {
    /// Our full node name (`name@host`). We never listen, so nobody dials it back.
    pub our_name: String,
    /// The shared secret. Never logged.
    pub cookie: String,
    /// The peer's full node name.
    pub peer: String,
    /// The EPMD port on the peer's host (§1.1; `ERL_EPMD_PORT`, default 4369).
    pub epmd_port: u16,
    /// Connect as a hidden node (§3.4): the peer does not list us in `nodes()`.
    pub hidden: bool,
    /// Limit for each set-up step (`net_setuptime`, §2).
    pub setup_time: Duration,
    /// `net_ticktime` (§4.1); ticks are sent every quarter of it.
    pub net_ticktime: Duration,
    /// TLS distribution (§17, docs/tls.md): the `client` entry of the optfile is
    /// used. Default: none (plain TCP).
    #[cfg(feature = "tls")]
    pub tls: Option<std::sync::Arc<crate::tls::DistTls>>,
}

impl std::fmt::Debug for DialConfig {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("DialConfig")
            .field("our_name", &self.our_name)
            .field("cookie", &"<hidden>")
            .field("peer", &self.peer)
            .field("epmd_port", &self.epmd_port)
            .field("hidden", &self.hidden)
            .field("setup_time", &self.setup_time)
            .field("net_ticktime", &self.net_ticktime)
            .field("tls", &self.is_tls())
            .finish()
    }
}

impl DialConfig {
    /// Defaults as a node started with only a name and a cookie: hidden, EPMD port
    /// 4369, set-up time 7 s, tick time 60 s.
    pub fn new(
        our_name: impl Into<String>,
        cookie: impl Into<String>,
        peer: impl Into<String>,
    ) -> DialConfig {
        DialConfig {
            our_name: our_name.into(),
            cookie: cookie.into(),
            peer: peer.into(),
            epmd_port: 4369,
            hidden: true,
            setup_time: Duration::from_secs(7),
            net_ticktime: Duration::from_secs(60),
            #[cfg(feature = "tls")]
            tls: None,
        }
    }

    /// Whether connections are made over TLS.
    pub fn is_tls(&self) -> bool {
        #[cfg(feature = "tls")]
        return self.tls.is_some();
        #[cfg(not(feature = "tls"))]
        return false;
    }
}

/// Why [`Connection::dial`] or a later read/write failed. Every variant means the
/// connection is unusable.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum DialError {
    #[error("invalid node name {0}")]
    BadName(String),
    #[error("cannot resolve host {host}: {source}")]
    Resolve {
        host: String,
        source: std::io::Error,
    },
    #[error("no EPMD answers on {host} port {port}: {source}")]
    EpmdUnreachable {
        host: String,
        port: u16,
        source: std::io::Error,
    },
    #[error("EPMD: {0}")]
    Epmd(#[from] EpmdError),
    #[error("node {0} is not registered with EPMD on its host")]
    NotRegistered(String),
    #[error("handshake: {0}")]
    Handshake(#[from] HandshakeError),
    #[error("the peer refused the connection ({0})")]
    Refused(&'static str),
    #[error("i/o: {0}")]
    Io(#[from] std::io::Error),
    /// The TLS layer failed: the handshake (a certificate refused by either side, a
    /// plain-TCP peer) or a later record (§17).
    #[error("TLS: {0}")]
    Tls(std::io::Error),
    #[error("timed out {0}")]
    Timeout(&'static str),
    #[error("the peer closed the connection")]
    Closed,
    #[error("the peer closed the connection during the handshake (wrong cookie, or it refused our name)")]
    ClosedInHandshake,
    /// Closed before any status: OTP does that when a connection from a node of our
    /// name is itself still being set up (§2.6), or when it rejects the name message.
    #[error("the peer closed the connection before answering our name (a node of that name is connecting to it, or it rejected the name)")]
    ClosedBeforeStatus,
    #[error("no data from the peer for the tick time (net_tick_timeout)")]
    TickTimeout,
    #[error("bad frame: {0}")]
    Frame(#[from] FrameError),
    #[error("bad distribution message: {0}")]
    Dist(#[from] DistError),
    #[error("invalid control message from the peer: {0}")]
    Protocol(String),
}

impl From<ConnectionError> for DialError {
    fn from(e: ConnectionError) -> DialError {
        match e {
            ConnectionError::TickTimeout => DialError::TickTimeout,
            ConnectionError::Frame(e) => DialError::Frame(e),
            ConnectionError::Dist(e) => DialError::Dist(e),
            other => DialError::Protocol(other.to_string()),
        }
    }
}

/// An established connection. Our single pid is [`Connection::pid`].
///
/// It drives the same sans-IO [`crate::proto::connection::Connection`] as the tokio
/// driver: every rule of the connection (framing, ticks, checks) is there.
pub struct Connection {
    stream: Stream,
    conn: connection::Connection,
    me: Pid,
    /// The read timeout currently set on the socket.
    read_timeout: Option<Duration>,
    next_ref: u32,
    ref_salt: u32,
    stash: VecDeque<DistMessage>,
}

/// The byte stream: TCP, or TLS over TCP (§17).
enum Stream {
    Tcp(TcpStream),
    #[cfg(feature = "tls")]
    Tls(Box<rustls::StreamOwned<rustls::ClientConnection, TcpStream>>),
}

impl Stream {
    /// Wraps a connected socket as `cfg` says: for TLS, runs the TLS handshake now
    /// (bounded by the socket's timeouts) so that its failures are reported as such.
    fn open(
        cfg: &DialConfig,
        host: &str,
        tcp: TcpStream,
    ) -> Result<(Stream, WireFraming), DialError> {
        #[cfg(feature = "tls")]
        if let Some(tls) = &cfg.tls {
            let other =
                |e: &dyn std::fmt::Display| DialError::Tls(std::io::Error::other(e.to_string()));
            let config = tls
                .client_config()
                .ok_or_else(|| other(&"the ssl_dist_optfile has no client entry"))?;
            let name = tls.server_name(host).map_err(|e| other(&e))?;
            let mut session = rustls::ClientConnection::new(config, name).map_err(|e| other(&e))?;
            let mut tcp = tcp;
            while session.is_handshaking() {
                match session.complete_io(&mut tcp) {
                    Ok((0, 0)) if session.is_handshaking() => {
                        return Err(DialError::Tls(std::io::ErrorKind::UnexpectedEof.into()))
                    }
                    Ok(_) => {}
                    Err(e) if is_timeout(&e) => {
                        return Err(DialError::Timeout(
                            "in the TLS handshake (a plain-TCP peer?)",
                        ))
                    }
                    Err(e) => return Err(DialError::Tls(e)),
                }
            }
            let stream = rustls::StreamOwned::new(session, tcp);
            return Ok((Stream::Tls(Box::new(stream)), WireFraming::Packet4));
        }
        let _ = (cfg, host);
        Ok((Stream::Tcp(tcp), WireFraming::Packet2))
    }

    fn tcp(&self) -> &TcpStream {
        match self {
            Stream::Tcp(s) => s,
            #[cfg(feature = "tls")]
            Stream::Tls(s) => &s.sock,
        }
    }
}

impl Read for Stream {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        match self {
            Stream::Tcp(s) => s.read(buf),
            #[cfg(feature = "tls")]
            Stream::Tls(s) => s.read(buf),
        }
    }
}

impl Write for Stream {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        match self {
            Stream::Tcp(s) => s.write(buf),
            #[cfg(feature = "tls")]
            Stream::Tls(s) => s.write(buf),
        }
    }
    fn write_vectored(&mut self, bufs: &[std::io::IoSlice<'_>]) -> std::io::Result<usize> {
        match self {
            Stream::Tcp(s) => s.write_vectored(bufs),
            #[cfg(feature = "tls")]
            Stream::Tls(s) => s.write_vectored(bufs),
        }
    }
    fn write_all(&mut self, buf: &[u8]) -> std::io::Result<()> {
        match self {
            Stream::Tcp(s) => s.write_all(buf),
            // The session may keep the last record until flushed.
            #[cfg(feature = "tls")]
            Stream::Tls(s) => {
                s.write_all(buf)?;
                s.flush()
            }
        }
    }
    fn flush(&mut self) -> std::io::Result<()> {
        match self {
            Stream::Tcp(s) => s.flush(),
            #[cfg(feature = "tls")]
            Stream::Tls(s) => s.flush(),
        }
    }
}

/// A read or write error as a [`DialError`]: a TLS alert or a failed record is
/// [`DialError::Tls`], an end of stream without TLS's `close_notify` is
/// [`DialError::Closed`].
fn io_error(e: std::io::Error) -> DialError {
    #[cfg(feature = "tls")]
    if e.get_ref().is_some_and(|inner| inner.is::<rustls::Error>()) {
        return DialError::Tls(e);
    }
    if e.kind() == ErrorKind::UnexpectedEof {
        return DialError::Closed;
    }
    DialError::Io(e)
}

/// `N` random 32-bit words from the OS random source, in one system call. The
/// handshake challenge must come from it (§2.3); a failure still yields values and is
/// logged.
fn random_words<const N: usize>() -> [u32; N] {
    let mut b = [[0u8; 4]; N];
    if let Err(e) = getrandom::fill(b.as_flattened_mut()) {
        warn!(error = %e, "OS random source failed");
    }
    b.map(u32::from_le_bytes)
}

/// Connects, without the non-blocking connect + poll of a timeout on loopback, where
/// a connection is accepted or refused at once.
fn connect(addr: SocketAddr, limit: Duration) -> std::io::Result<TcpStream> {
    if addr.ip().is_loopback() {
        TcpStream::connect(addr)
    } else {
        TcpStream::connect_timeout(&addr, limit)
    }
}

fn split_name(name: &str) -> Option<(&str, &str)> {
    name.split_once('@')
        .filter(|(a, h)| !a.is_empty() && !h.is_empty())
}

impl Connection {
    /// Resolves the peer's host once, asks its EPMD for the port, connects and runs the
    /// initiator handshake (§2.2).
    pub fn dial(cfg: &DialConfig) -> Result<Connection, DialError> {
        let (alive, host) =
            split_name(&cfg.peer).ok_or_else(|| DialError::BadName(cfg.peer.clone()))?;
        if split_name(&cfg.our_name).is_none() {
            return Err(DialError::BadName(cfg.our_name.clone()));
        }
        let cookie = Cookie::new(&cfg.cookie)?;
        let ips = resolve(host)?;
        let limit = cfg.setup_time;
        let (ip, port) = epmd_lookup(&ips, host, cfg.epmd_port, alive, limit)?
            .ok_or_else(|| DialError::NotRegistered(cfg.peer.clone()))?;
        let tcp = connect(SocketAddr::new(ip, port), limit)?;
        tcp.set_nodelay(true)?;
        // Handshake messages are a few dozen bytes: writing them cannot block, reading
        // the peer's answers can.
        tcp.set_read_timeout(Some(limit))?;
        tcp.set_write_timeout(Some(limit))?;
        let (mut stream, wire) = Stream::open(cfg, host, tcp)?;
        let mut framing = HandshakeFraming::new(wire);
        let [creation, challenge, ref_salt] = random_words::<3>();
        // Without a listener or EPMD registration our creation is ours to pick; never
        // 0..=3, which the old pid/ref formats reserve.
        let creation = creation.max(4);
        let flags = if cfg.hidden {
            DistFlags::IMPLEMENTED
        } else {
            DistFlags::IMPLEMENTED | DistFlags::PUBLISHED
        };
        let (mut state, hello) = Initiator::start(InitiatorConfig {
            our_name: LocalName::Static(cfg.our_name.clone()),
            our_creation: creation,
            our_flags: flags,
            cookie,
            our_challenge: challenge,
            peer_name: cfg.peer.clone(),
            reconnecting: false,
        })?;
        stream
            .write_all(&framing.outgoing(hello))
            .map_err(io_error)?;
        let mut buf = [0u8; 1024];
        let mut answered = false;
        let est = 'handshake: loop {
            let n = match stream.read(&mut buf).map_err(io_error) {
                Ok(0) | Err(DialError::Closed) if !answered => {
                    return Err(DialError::ClosedBeforeStatus)
                }
                Ok(0) | Err(DialError::Closed) => return Err(DialError::ClosedInHandshake),
                Ok(n) => n,
                Err(DialError::Io(e)) if is_timeout(&e) => {
                    return Err(DialError::Timeout("in the handshake"))
                }
                Err(e) => return Err(e),
            };
            answered = true;
            framing.push(&buf[..n]);
            while let Some(input) = framing.next_input()? {
                let step = state.handle(&input)?;
                if !step.send.is_empty() {
                    stream
                        .write_all(&framing.outgoing(step.send))
                        .map_err(io_error)?;
                }
                match step.next {
                    InitiatorNext::Continue(s) => state = s,
                    InitiatorNext::Established(mut est) => {
                        est.leftover.extend_from_slice(&framing.leftover());
                        break 'handshake est;
                    }
                    // We never listen, so the peer cannot be dialling us: these only
                    // come from a peer that already has a connection from a node of
                    // our name.
                    InitiatorNext::Nok => return Err(DialError::Refused("nok")),
                    InitiatorNext::AliveDeclined => return Err(DialError::Refused("alive")),
                }
            }
        };
        debug!(peer = %cfg.peer, flags = %est.negotiated, "connection up");
        let our_name = Atom::new(&est.our_name);
        // A peer that stops reading for a whole tick time is as dead as a silent one.
        stream
            .tcp()
            .set_write_timeout(Some(cfg.net_ticktime.max(Duration::from_secs(1))))?;
        let conn = connection::Connection::new(
            Endpoints {
                local: our_name.clone(),
                local_creation: est.our_creation,
                peer: Atom::new(&est.peer_name),
                flags: est.negotiated,
                visible: !cfg.hidden && est.is_visible(),
            },
            &ConnectionConfig {
                net_ticktime: cfg.net_ticktime,
                ..ConnectionConfig::default()
            },
            &est.leftover,
            Instant::now(),
        );
        Ok(Connection {
            stream,
            conn,
            me: Pid::new(our_name, 1, 0, est.our_creation),
            read_timeout: Some(limit),
            next_ref: 1,
            ref_salt,
            stash: VecDeque::new(),
        })
    }

    /// Dials with the first of `names` (full node names, replacing
    /// `cfg.our_name`) that the peer does not already see connected or connecting:
    /// a name the peer answers with `alive` or `nok`, or closes on before any status,
    /// is in use (§2.6) and the next one is tried. We answer `alive` with `false`, so
    /// another process's connection under that name is never taken over.
    ///
    /// For short-lived clients that must not leave a new atom on the peer per run
    /// (every node name becomes a never-freed atom there): a small, fixed set of names
    /// bounds that, and this makes concurrent runs pick different ones.
    pub fn dial_first_free<I>(cfg: &DialConfig, names: I) -> Result<Connection, DialError>
    where
        I: IntoIterator<Item = String>,
    {
        let mut cfg = cfg.clone();
        let mut last = None;
        for name in names {
            cfg.our_name = name;
            match Connection::dial(&cfg) {
                Err(e @ (DialError::Refused(_) | DialError::ClosedBeforeStatus)) => {
                    debug!(name = %cfg.our_name, error = %e, "name in use, trying the next");
                    last = Some(e);
                }
                other => return other,
            }
        }
        Err(last.unwrap_or_else(|| DialError::BadName("(no name to try)".into())))
    }

    /// The peer's node name.
    pub fn peer(&self) -> &Atom {
        self.conn.peer()
    }

    /// Our one pid on this connection.
    pub fn pid(&self) -> &Pid {
        &self.me
    }

    /// The flags both sides use (§3.3).
    pub fn negotiated(&self) -> DistFlags {
        self.conn.flags()
    }

    /// A new reference of our node (`make_ref()`).
    pub fn make_ref(&mut self) -> Reference {
        let n = self.next_ref;
        self.next_ref = self.next_ref.wrapping_add(1);
        Reference {
            node: self.me.node.clone(),
            creation: self.me.creation,
            ids: vec![n & 0x3_ffff, n >> 18, self.ref_salt],
        }
    }

    /// Sends one control message (with its payload when it has one).
    pub fn send(
        &mut self,
        control: &ControlMessage,
        payload: Option<&Term>,
    ) -> Result<(), DialError> {
        self.send_all(&[(control, payload)])
    }

    /// Sends several control messages in one write (after any queued by
    /// [`Connection::send_later`]).
    pub fn send_all(&mut self, msgs: &[(&ControlMessage, Option<&Term>)]) -> Result<(), DialError> {
        for (control, payload) in msgs {
            self.conn.send_term(control, *payload)?;
        }
        self.flush()
    }

    /// Queues a control message to go out with the next write, or with
    /// [`Connection::flush`]. For bookkeeping nobody waits for, such as the DEMONITOR
    /// after a call's reply: a one-shot caller prints the answer and exits without
    /// spending a system call on it, and closing the connection takes the monitor down
    /// anyway (§5.1, §7.3).
    pub fn send_later(
        &mut self,
        control: &ControlMessage,
        payload: Option<&Term>,
    ) -> Result<(), DialError> {
        self.conn.send_term(control, payload)?;
        Ok(())
    }

    /// Writes whatever [`Connection::send_later`] queued (and any tick due).
    pub fn flush(&mut self) -> Result<(), DialError> {
        // Frames and shared binaries (docs/protocol.md §4.6) in vectored writes; a TLS
        // session's last record goes out with the flush at the end.
        while self.conn.transmit_len() > 0 {
            let n = {
                let mut bufs = [std::io::IoSlice::new(&[]); crate::proto::connection::WRITE_SLICES];
                let k = self.conn.poll_transmit_vectored(&mut bufs);
                self.stream.write_vectored(&bufs[..k]).map_err(io_error)?
            };
            if n == 0 {
                return Err(io_error(ErrorKind::WriteZero.into()));
            }
            self.conn.transmitted(n);
        }
        self.stream.flush().map_err(io_error)
    }

    /// Sends `msg` to `to` as a plain message (SEND_SENDER when negotiated, §5.1).
    pub fn send_message(&mut self, to: &Pid, msg: &Term) -> Result<(), DialError> {
        // The connection turns it into a plain SEND for a peer without SEND_SENDER.
        let control = ControlMessage::SendSender {
            from: self.me.clone(),
            to: to.clone(),
            token: None,
        };
        self.send(&control, Some(msg))
    }

    /// Puts a message back, to be returned first by the next [`Connection::recv`]
    /// (for a caller that waits for one reply while another arrives).
    pub fn stash(&mut self, msg: DistMessage) {
        self.stash.push_back(msg);
    }

    /// The next control message for us, or `Ok(None)` once `deadline` passes. Keeps
    /// ticking while it waits (§4.1); signals that break OTP's origin/destination rules
    /// end the connection, as OTP does (§5.1).
    pub fn recv(&mut self, deadline: Option<Instant>) -> Result<Option<DistMessage>, DialError> {
        if let Some(m) = self.stash.pop_front() {
            return Ok(Some(m));
        }
        loop {
            if let Some(msg) = self.conn.poll_message()? {
                return Ok(Some(msg));
            }
            let now = Instant::now();
            self.conn.handle_timeout(now)?;
            self.flush()?;
            // The socket's read timeout is the time to the next tick check, changed
            // only when the caller's deadline is nearer or a check is due: one system
            // call per connection in the usual case, and a tick goes out at most one
            // period late (well inside the peer's net_ticktime).
            let mut wait = self.conn.poll_timeout().saturating_duration_since(now);
            if let Some(d) = deadline {
                if now >= d {
                    return Ok(None);
                }
                wait = wait.min(d - now);
            }
            let wait = wait.max(Duration::from_millis(1));
            if !matches!(self.read_timeout, Some(t) if t <= wait && t >= wait / 2) {
                self.stream.tcp().set_read_timeout(Some(wait))?;
                self.read_timeout = Some(wait);
            }
            let stream = &mut self.stream;
            match self.conn.read_with(|buf| stream.read(buf)) {
                Ok(0) => return Err(DialError::Closed),
                Ok(_) => {}
                Err(e) if is_timeout(&e) => {}
                Err(e) => return Err(io_error(e)),
            }
        }
    }
}

fn is_timeout(e: &std::io::Error) -> bool {
    matches!(
        e.kind(),
        ErrorKind::WouldBlock | ErrorKind::TimedOut | ErrorKind::Interrupted
    )
}

/// The host's addresses, resolved once (the tokio dialer resolves for EPMD and again
/// for the node).
fn resolve(host: &str) -> Result<Vec<IpAddr>, DialError> {
    if let Ok(ip) = host.parse::<IpAddr>() {
        return Ok(vec![ip]);
    }
    let addrs = (host, 0)
        .to_socket_addrs()
        .map_err(|source| DialError::Resolve {
            host: host.to_string(),
            source,
        })?;
    let ips: Vec<IpAddr> = addrs.map(|a| a.ip()).collect();
    if ips.is_empty() {
        return Err(DialError::Resolve {
            host: host.to_string(),
            source: std::io::Error::new(ErrorKind::NotFound, "no addresses"),
        });
    }
    Ok(ips)
}

/// PORT_PLEASE2 (§1.2) on the first address whose EPMD answers: that address and the
/// node's port, or `None` if EPMD does not know the name.
fn epmd_lookup(
    ips: &[IpAddr],
    host: &str,
    epmd_port: u16,
    alive: &str,
    limit: Duration,
) -> Result<Option<(IpAddr, u16)>, DialError> {
    let request = EpmdRequest::PortPlease2 {
        name: alive.to_owned(),
    }
    .encode()?;
    let mut last = None;
    for &ip in ips {
        let mut s = match connect(SocketAddr::new(ip, epmd_port), limit) {
            Ok(s) => s,
            Err(e) => {
                last = Some(e);
                continue;
            }
        };
        s.set_read_timeout(Some(limit))?;
        s.write_all(&request)?;
        let mut buf = Vec::with_capacity(64);
        let mut chunk = [0u8; 512];
        loop {
            match Port2Resp::decode(&buf)? {
                Some((Port2Resp::Found(info), _)) => return Ok(Some((ip, info.port))),
                Some((Port2Resp::NotFound { .. }, _)) => return Ok(None),
                None => {}
            }
            match s.read(&mut chunk) {
                Ok(0) => return Err(DialError::Closed),
                Ok(n) => buf.extend_from_slice(&chunk[..n]),
                Err(e) if is_timeout(&e) => {
                    return Err(DialError::Timeout("waiting for EPMD's PORT2 reply"))
                }
                Err(e) => return Err(e.into()),
            }
        }
    }
    Err(DialError::EpmdUnreachable {
        host: host.to_string(),
        port: epmd_port,
        source: last.unwrap_or_else(|| std::io::Error::new(ErrorKind::NotFound, "no address")),
    })
}

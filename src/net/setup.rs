//! Connection set-up: the listener with the acceptor handshake, the dialer with the
//! initiator handshake (docs/protocol.md §2), and node start-up (listen, register with
//! EPMD, start `net_kernel`).

use super::connection::{self, DistStream};
use super::epmd_client::{EpmdClient, EpmdError};
use crate::config::NodeConfig;
use crate::node::{AcceptDecision, Dial, Node, NodeError};
use crate::proto::handshake::{
    Acceptor, AcceptorConfig, AcceptorNext, Cookie, Established, HandshakeError, HandshakeFraming,
    Initiator, InitiatorConfig, InitiatorNext, LocalName, WireFraming,
};
use crate::term::Atom;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use tracing::{debug, info, info_span, warn, Instrument};

impl Node {
    /// Starts a node: binds the distribution listener, registers with EPMD (the
    /// registration lives as long as the node) and starts `net_kernel`, so peers can
    /// connect and `net_adm:ping` it.
    ///
    /// Defined here rather than in `node` because starting needs the tokio transport;
    /// this keeps the node free of it.
    pub async fn start(config: NodeConfig) -> Result<Node, NodeError> {
        start_node(config).await
    }
}

/// The node's [`Dial`]: connections over TCP, as OTP's `inet_tcp_dist` makes them, or
/// over TLS on TCP as `inet_tls_dist` does when the configuration has TLS (§17).
struct TcpDist;

impl Dial for TcpDist {
    fn dial(&self, node: Node, peer: Atom, attempt: u64) {
        spawn_dial(node, peer, attempt);
    }
}

/// Starts a node: listener, EPMD registration, accept loop, `net_kernel`.
async fn start_node(config: NodeConfig) -> Result<Node, NodeError> {
    let (alive, _host) = match config.name.split_once('@') {
        Some((a, h)) if !a.is_empty() && !h.is_empty() => (a.to_string(), h.to_string()),
        _ => return Err(NodeError::BadName(config.name.clone())),
    };
    Cookie::new(&config.cookie).map_err(|e| NodeError::Cookie(e.to_string()))?;
    #[cfg(feature = "tls")]
    if let Some(tls) = &config.tls {
        if tls.server_config().is_none() || tls.client_config().is_none() {
            return Err(NodeError::Listen(std::io::Error::other(
                "TLS distribution needs both the server and the client entry of the ssl_dist_optfile",
            )));
        }
    }
    let listener = bind_listener(&config).await.map_err(NodeError::Listen)?;
    let port = listener.local_addr().map_err(NodeError::Listen)?.port();
    let registration = if config.register_with_epmd {
        let epmd = EpmdClient::new("127.0.0.1", config.epmd_port);
        Some(epmd.register(&alive, port, config.hidden).await?)
    } else {
        None
    };
    // Without EPMD, a random creation (never 0..=3, which old formats reserve).
    let creation = registration
        .as_ref()
        .map(|r| r.creation())
        .unwrap_or_else(|| random_u32().max(4));
    let node = Node::from_parts(config, creation, port, Arc::new(TcpDist));
    let span = info_span!("node", name = %node.name());
    if let Some(r) = registration {
        node.hold_until_shutdown(Box::new(r));
    }
    // net_kernel first: a peer's first act is often `net_adm:ping` (§7.1).
    crate::services::net_kernel::start(&node)
        .map_err(|e| NodeError::Listen(std::io::Error::other(e.to_string())))?;
    let accept = tokio::spawn(accept_loop(node.clone(), listener).instrument(span));
    node.stop_at_shutdown(accept);
    let proto_dist = if node.config().is_tls() {
        "inet_tls"
    } else {
        "inet_tcp"
    };
    info!(node = %node.name(), port, creation = node.creation(), proto_dist, "node started");
    Ok(node)
}

/// Binds the first free port of the configured range (`inet_dist_listen_min/max`).
async fn bind_listener(config: &NodeConfig) -> std::io::Result<TcpListener> {
    let (min, max) = config.listen_port_range;
    let mut last = None;
    for port in min..=max {
        match TcpListener::bind(SocketAddr::new(config.listen_addr, port)).await {
            Ok(l) => return Ok(l),
            Err(e) => last = Some(e),
        }
    }
    Err(last.unwrap_or_else(|| std::io::Error::other("empty port range")))
}

async fn accept_loop(node: Node, listener: TcpListener) {
    // Handshakes in progress are bounded: a peer that opens connections and sends
    // nothing (or trickles) holds a slot for at most the handshake deadline, and past
    // the limit new connections are closed at once instead of piling up tasks.
    let max = node.config().max_pending_handshakes.max(1);
    let slots = Arc::new(tokio::sync::Semaphore::new(max));
    loop {
        match listener.accept().await {
            Ok((stream, addr)) => {
                let Ok(slot) = slots.clone().try_acquire_owned() else {
                    warn!(%addr, max, "too many handshakes in progress (max_pending_handshakes); connection closed");
                    drop(stream);
                    continue;
                };
                let node = node.clone();
                let span = info_span!("accept", %addr);
                tokio::spawn(
                    async move {
                        if let Err(e) = accept_one(node, stream, slot).await {
                            warn!(error = %e, "incoming connection refused");
                        }
                    }
                    .instrument(span),
                );
            }
            Err(e) => {
                warn!(error = %e, "accept failed");
                tokio::time::sleep(Duration::from_millis(100)).await;
            }
        }
    }
}

/// Errors of one connection attempt.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum SetupError {
    #[error("handshake: {0}")]
    Handshake(#[from] HandshakeError),
    #[error("i/o: {0}")]
    Io(#[from] std::io::Error),
    #[error("TLS: {0}")]
    Tls(std::io::Error),
    #[error("handshake step timed out")]
    Timeout,
    #[error("peer closed the connection during the handshake")]
    Closed,
    #[error("EPMD: {0}")]
    Epmd(#[from] EpmdError),
    #[error("node {0} is not registered with EPMD on its host")]
    NotRegistered(String),
    #[error("invalid node name {0}")]
    BadName(String),
}

fn random_u32() -> u32 {
    let mut b = [0u8; 4];
    // A challenge must come from the OS random source (§2.3); if it fails we still
    // produce a value, and the failure is visible in the log.
    if let Err(e) = getrandom::fill(&mut b) {
        warn!(error = %e, "OS random source failed");
    }
    u32::from_le_bytes(b)
}

fn random_u64() -> u64 {
    (random_u32() as u64) << 32 | random_u32() as u64
}

/// `now + d`, saturating (a `Duration::MAX` setting means no deadline).
fn later(d: Duration) -> tokio::time::Instant {
    let now = tokio::time::Instant::now();
    now.checked_add(d)
        .unwrap_or_else(|| now + Duration::from_secs(100 * 365 * 86_400))
}

async fn read_some<S: AsyncRead + Unpin>(
    stream: &mut S,
    buf: &mut [u8],
    limit: Duration,
) -> Result<usize, SetupError> {
    match tokio::time::timeout(limit, stream.read(buf)).await {
        Err(_) => Err(SetupError::Timeout),
        Ok(Ok(0)) => Err(SetupError::Closed),
        Ok(Ok(n)) => Ok(n),
        Ok(Err(e)) => Err(io_error(e)),
    }
}

/// An I/O error of the handshake: [`SetupError::Tls`] when it comes from the TLS
/// layer (under TLS 1.3 a client learns that the server refused its certificate only
/// on its first read, §17.6), else [`SetupError::Io`].
fn io_error(e: std::io::Error) -> SetupError {
    #[cfg(feature = "tls")]
    if e.get_ref().is_some_and(|inner| inner.is::<rustls::Error>()) {
        return SetupError::Tls(e);
    }
    SetupError::Io(e)
}

async fn write_all<S: AsyncWrite + Unpin>(
    stream: &mut S,
    bytes: &[u8],
    limit: Duration,
) -> Result<(), SetupError> {
    if bytes.is_empty() {
        return Ok(());
    }
    // `flush` matters over TLS only (the record may sit in the session's buffer); a
    // TCP stream's is a no-op.
    let write = async {
        stream.write_all(bytes).await?;
        stream.flush().await
    };
    match tokio::time::timeout(limit, write).await {
        Err(_) => Err(SetupError::Timeout),
        Ok(r) => r.map_err(io_error),
    }
}

/// The read limit of one handshake step: the set-up time, cut short by the deadline
/// of the whole handshake so a trickling peer cannot hold it open step after step.
fn step_limit(limit: Duration, deadline: tokio::time::Instant) -> Duration {
    limit.min(deadline.saturating_duration_since(tokio::time::Instant::now()))
}

/// Runs the TLS server handshake on an accepted connection (TLS from the first byte,
/// §17.1), bounded by the set-up time.
#[cfg(feature = "tls")]
async fn tls_accept(
    tls: &crate::tls::DistTls,
    stream: TcpStream,
    limit: Duration,
) -> Result<tokio_rustls::server::TlsStream<TcpStream>, SetupError> {
    let config = tls.server_config().ok_or_else(|| {
        SetupError::Tls(std::io::Error::other(
            "the ssl_dist_optfile has no server entry",
        ))
    })?;
    let acceptor = tokio_rustls::TlsAcceptor::from(config);
    match tokio::time::timeout(limit, acceptor.accept(stream)).await {
        Err(_) => Err(SetupError::Tls(std::io::Error::new(
            std::io::ErrorKind::TimedOut,
            "no TLS handshake within the set-up time (a plain-TCP peer?)",
        ))),
        Ok(r) => {
            let s = r.map_err(SetupError::Tls)?;
            let (_, session) = s.get_ref();
            debug!(version = ?session.protocol_version(), suite = ?session.negotiated_cipher_suite().map(|c| c.suite()), client_cert = session.peer_certificates().is_some(), "TLS session accepted");
            Ok(s)
        }
    }
}

/// Runs the TLS client handshake toward a node on `host` (§17.1, §17.4).
#[cfg(feature = "tls")]
async fn tls_connect(
    tls: &crate::tls::DistTls,
    host: &str,
    stream: TcpStream,
    limit: Duration,
) -> Result<tokio_rustls::client::TlsStream<TcpStream>, SetupError> {
    let config = tls.client_config().ok_or_else(|| {
        SetupError::Tls(std::io::Error::other(
            "the ssl_dist_optfile has no client entry",
        ))
    })?;
    let name = tls
        .server_name(host)
        .map_err(|e| SetupError::Tls(std::io::Error::other(e.to_string())))?;
    let connector = tokio_rustls::TlsConnector::from(config);
    match tokio::time::timeout(limit, connector.connect(name, stream)).await {
        Err(_) => Err(SetupError::Tls(std::io::Error::new(
            std::io::ErrorKind::TimedOut,
            "no TLS handshake within the set-up time (a plain-TCP peer?)",
        ))),
        Ok(r) => {
            let s = r.map_err(SetupError::Tls)?;
            let (_, session) = s.get_ref();
            debug!(version = ?session.protocol_version(), suite = ?session.negotiated_cipher_suite().map(|c| c.suite()), "TLS session established");
            Ok(s)
        }
    }
}

async fn accept_one(
    node: Node,
    stream: TcpStream,
    slot: tokio::sync::OwnedSemaphorePermit,
) -> Result<(), SetupError> {
    stream.set_nodelay(true)?;
    #[cfg(feature = "tls")]
    if let Some(tls) = node.config().tls.clone() {
        let limit = node.config().setup_time;
        let stream = tls_accept(&tls, stream, limit).await?;
        return accept_over(node, stream, WireFraming::Packet4, slot, |s| {
            DistStream::from(tokio_rustls::TlsStream::from(s))
        })
        .await;
    }
    accept_over(node, stream, WireFraming::Packet2, slot, DistStream::Tcp).await
}

/// The acceptor handshake (§2) over an accepted stream, TCP or TLS; `wrap` makes the
/// stream of the up connection.
async fn accept_over<S: AsyncRead + AsyncWrite + Unpin>(
    node: Node,
    mut stream: S,
    wire: WireFraming,
    slot: tokio::sync::OwnedSemaphorePermit,
    wrap: impl FnOnce(S) -> DistStream,
) -> Result<(), SetupError> {
    let limit = node.config().setup_time;
    let deadline = later(node.config().max_handshake_time.max(limit));
    let cookie = Cookie::new(&node.config().cookie)?;
    let mut state = Acceptor::new(AcceptorConfig {
        our_name: node.name().as_str().to_string(),
        our_creation: node.creation(),
        our_flags: node.dist_flags(),
        cookie,
        our_challenge: random_u32(),
        name_me_random: random_u64(),
        name_me_creation: random_u32().max(4),
    })?;
    let mut buf = vec![0u8; 4096];
    let mut framing = HandshakeFraming::new(wire);
    let mut attempt: Option<(Atom, u64)> = None;
    let result = async {
        loop {
            let n = read_some(&mut stream, &mut buf, step_limit(limit, deadline)).await?;
            framing.push(&buf[..n]);
            while let Some(input) = framing.next_input()? {
                let mut step = state.handle(&input)?;
                loop {
                    if let AcceptorNext::Established(est) = &step.next {
                        if est.replaces_existing {
                            // The peer confirmed (`alive` → `true`) and its digest checked
                            // out: take the old connection down completely before our
                            // acknowledgement lets the new one start (§2.6).
                            if let Some((peer, a)) = &attempt {
                                take_over(&node, peer, *a).await?;
                            }
                        }
                    }
                    let send = framing.outgoing(std::mem::take(&mut step.send));
                    write_all(&mut stream, &send, limit).await?;
                    match step.next {
                        AcceptorNext::Continue(s) => {
                            state = s;
                            break;
                        }
                        AcceptorNext::NeedStatus(waiting) => {
                            let peer = Atom::new(waiting.peer_name());
                            let (status, a) =
                                match node.connections().accept_status(node.name(), &peer) {
                                    AcceptDecision::Status(s, a) => (s, a),
                                    AcceptDecision::AlreadyReplacing => {
                                        debug!(%peer, "another connection is already replacing this node's; closing");
                                        return Ok(None);
                                    }
                                };
                            if let Some(a) = a {
                                attempt = Some((peer.clone(), a));
                            }
                            debug!(%peer, status = status.as_str(), "status decided");
                            step = waiting.status(status)?;
                        }
                        AcceptorNext::Established(est) => return Ok(Some(est)),
                        AcceptorNext::Closed(why) => {
                            debug!(?why, "handshake ended without a connection");
                            return Ok(None);
                        }
                        AcceptorNext::Refused(e) => return Err(SetupError::Handshake(e)),
                    }
                }
            }
        }
    }
    .await;
    match (result, attempt) {
        (Ok(Some(mut est)), Some((peer, id))) => {
            est.leftover.extend_from_slice(&framing.leftover());
            let span = info_span!("conn", peer = %peer);
            drop(slot);
            connection::run(node, wrap(stream), est, id)
                .instrument(span)
                .await;
            Ok(())
        }
        (Ok(Some(est)), None) => {
            // Cannot happen: a handshake only completes after a status that gave it
            // an attempt id.
            warn!(peer = %est.peer_name, "handshake completed without a connection attempt");
            Ok(())
        }
        (result, attempt) => {
            // Ended without a connection (e.g. the peer declined `alive`) or failed:
            // give up the attempt; an up connection it meant to replace stays.
            if let Some((peer, a)) = attempt {
                if node.connections().failed(&peer, a) {
                    // It owned the pending entry (a simultaneous connect it won took
                    // over the queue of our dial): links and monitors queued for the
                    // peer fire `noconnection`, as when a dial fails.
                    node.connection_lost(&peer);
                }
            }
            result.map(|_| ())
        }
    }
}

/// Waits until the up connection that accept `attempt` replaces is down (its nodedown
/// delivered), bounded by the set-up time (net_kernel's `wait_pending`, §2.6).
async fn take_over(node: &Node, peer: &Atom, attempt: u64) -> Result<(), SetupError> {
    let Some(gone) = node.connections().take_over(peer, attempt) else {
        return Ok(());
    };
    info!(%peer, "peer reconnected as a new connection; taking the old one down");
    match tokio::time::timeout(node.config().setup_time, gone).await {
        Ok(_) => Ok(()),
        Err(_) => Err(SetupError::Timeout),
    }
}

/// Starts a dial toward `peer` in the background (auto-connect).
fn spawn_dial(node: Node, peer: Atom, attempt: u64) {
    let span = info_span!("dial", peer = %peer);
    tokio::spawn(
        async move {
            match dial(&node, &peer, attempt).await {
                Ok(Some((stream, est))) => {
                    connection::run(node, stream, est, attempt).await;
                }
                Ok(None) => {
                    // `nok`: the peer is dialling us at the same time and its attempt
                    // wins (§2.6). Like OTP, keep our attempt pending so the peer's
                    // incoming connection takes it over (with its queue); give up only
                    // if that does not happen within the set-up time.
                    tokio::time::sleep(node.config().setup_time).await;
                    if node.connections().failed(&peer, attempt) {
                        node.connection_lost(&peer);
                    }
                }
                Err(e) => {
                    warn!(error = %e, "could not connect");
                    if node.connections().failed(&peer, attempt) {
                        // Links and monitors toward an unreachable node fire
                        // `noconnection`, as in OTP.
                        node.connection_lost(&peer);
                    }
                }
            }
        }
        .instrument(span),
    );
}

async fn dial(
    node: &Node,
    peer: &Atom,
    attempt: u64,
) -> Result<Option<(DistStream, Established)>, SetupError> {
    let (alive, host) = peer
        .as_str()
        .split_once('@')
        .filter(|(a, h)| !a.is_empty() && !h.is_empty())
        .ok_or_else(|| SetupError::BadName(peer.as_str().to_string()))?;
    let limit = node.config().setup_time;
    // EPMD stays plain TCP under TLS distribution too (§17.1).
    let epmd = EpmdClient::new(host, node.config().epmd_port).with_timeout(limit);
    let info = epmd
        .port_please(alive)
        .await?
        .ok_or_else(|| SetupError::NotRegistered(peer.as_str().to_string()))?;
    let stream = match tokio::time::timeout(limit, TcpStream::connect((host, info.port))).await {
        Err(_) => return Err(SetupError::Timeout),
        Ok(r) => r?,
    };
    stream.set_nodelay(true)?;
    #[cfg(feature = "tls")]
    if let Some(tls) = node.config().tls.clone() {
        let stream = tls_connect(&tls, host, stream, limit).await?;
        let up = initiate(node, peer, attempt, stream, WireFraming::Packet4).await?;
        return Ok(up.map(|(s, est)| (DistStream::from(tokio_rustls::TlsStream::from(s)), est)));
    }
    let up = initiate(node, peer, attempt, stream, WireFraming::Packet2).await?;
    Ok(up.map(|(s, est)| (DistStream::Tcp(s), est)))
}

/// The initiator handshake (§2) over a dialled stream, TCP or TLS.
async fn initiate<S: AsyncRead + AsyncWrite + Unpin>(
    node: &Node,
    peer: &Atom,
    attempt: u64,
    mut stream: S,
    wire: WireFraming,
) -> Result<Option<(S, Established)>, SetupError> {
    let limit = node.config().setup_time;
    let (mut state, hello) = Initiator::start(InitiatorConfig {
        our_name: LocalName::Static(node.name().as_str().to_string()),
        our_creation: node.creation(),
        our_flags: node.dist_flags(),
        cookie: Cookie::new(&node.config().cookie)?,
        our_challenge: random_u32(),
        peer_name: peer.as_str().to_string(),
        // If the peer still has a connection up to "us" (we are a new incarnation, or
        // it has not noticed our old connection die), it says `alive`; like
        // net_kernel's `is_pending` we confirm while this dial still owns the pending
        // connection, so the peer takes the stale one down (§2.6).
        reconnecting: node.connections().owns_pending(peer, attempt),
    })?;
    let mut framing = HandshakeFraming::new(wire);
    write_all(&mut stream, &framing.outgoing(hello), limit).await?;
    let mut buf = vec![0u8; 4096];
    loop {
        let n = read_some(&mut stream, &mut buf, limit).await?;
        framing.push(&buf[..n]);
        while let Some(input) = framing.next_input()? {
            let step = state.handle(&input)?;
            write_all(&mut stream, &framing.outgoing(step.send), limit).await?;
            match step.next {
                InitiatorNext::Continue(s) => state = s,
                InitiatorNext::Established(mut est) => {
                    est.leftover.extend_from_slice(&framing.leftover());
                    return Ok(Some((stream, est)));
                }
                InitiatorNext::Nok | InitiatorNext::AliveDeclined => return Ok(None),
            }
        }
    }
}

/// Makes sure an EPMD answers on `127.0.0.1:port`; if nothing listens there, starts
/// one inside this process (it lives as long as the process: names other nodes
/// register with it go away when this process exits, so long-lived clusters should run
/// `beamnode epmd` or `epmd -daemon` on their own).
pub async fn ensure_epmd(port: u16) -> std::io::Result<bool> {
    let probe = tokio::time::timeout(
        Duration::from_secs(2),
        TcpStream::connect(("127.0.0.1", port)),
    )
    .await;
    if let Ok(Ok(_)) = probe {
        return Ok(false);
    }
    let server =
        super::epmd_server::EpmdServer::bind(SocketAddr::from(([0, 0, 0, 0], port))).await?;
    info!(port, "no EPMD was running; started an embedded one");
    tokio::spawn(server.run(std::future::pending::<()>()));
    Ok(true)
}

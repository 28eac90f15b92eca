//! A working EPMD (docs/protocol.md §1) on tokio, for hosts or containers without one.
//!
//! All protocol decisions live in the sans-IO [`EpmdRegistry`]; this module only moves
//! bytes, reads the wall clock, enforces the 60 s limit for an incomplete request and
//! watches registration sockets. Each connection is its own task, so bad input on one
//! connection can only ever close that connection.

use std::collections::HashMap;
use std::future::Future;
use std::io;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::{oneshot, watch, Notify, Semaphore};
use tokio::task::{JoinHandle, JoinSet};
use tokio::time::Instant;

use crate::proto::epmd::{
    request_frame_len, ConnectionId, EpmdRegistry, DEFAULT_MAX_NAMES, DEFAULT_MAX_UNUSED_NAMES,
};

/// Tunables; the defaults are real EPMD's.
#[derive(Debug, Clone)]
pub struct EpmdServerConfig {
    /// How long a connection may take to deliver one complete request (`CLOSE_TIMEOUT`,
    /// 60 s, §1.1). Registration connections are exempt once registered.
    pub packet_timeout: Duration,
    /// `-relaxed_command_check`: allow STOP, and KILL while nodes are registered (§1.2).
    pub relaxed_command_check: bool,
    /// Connections served at once; further ones are closed at once.
    pub max_connections: usize,
    /// Unregistered names remembered for creation bumping (§1.3).
    pub max_unused_names: usize,
    /// Names registered at once; past it ALIVE2 is refused (result 1) with a log line.
    pub max_names: usize,
}

impl Default for EpmdServerConfig {
    fn default() -> Self {
        EpmdServerConfig {
            packet_timeout: Duration::from_secs(60),
            relaxed_command_check: false,
            max_connections: 1024,
            max_unused_names: DEFAULT_MAX_UNUSED_NAMES,
            max_names: DEFAULT_MAX_NAMES,
        }
    }
}

/// A bound, not yet running EPMD.
#[derive(Debug)]
pub struct EpmdServer {
    listener: TcpListener,
    local_addr: SocketAddr,
    config: EpmdServerConfig,
}

/// State shared by the connection tasks.
struct Shared {
    registry: EpmdRegistry,
    /// Registration connections, so STOP_REQ can close another connection.
    kept: HashMap<ConnectionId, Arc<Notify>>,
}

type SharedRef = Arc<Mutex<Shared>>;

fn lock(shared: &SharedRef) -> MutexGuard<'_, Shared> {
    // Nothing panics while holding the lock; recover anyway rather than propagate.
    shared
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner())
}

impl EpmdServer {
    /// Binds the listening socket (use port 0 for a free port).
    pub async fn bind(addr: SocketAddr) -> io::Result<EpmdServer> {
        EpmdServer::bind_with_config(addr, EpmdServerConfig::default()).await
    }

    /// Binds with non-default settings.
    pub async fn bind_with_config(
        addr: SocketAddr,
        config: EpmdServerConfig,
    ) -> io::Result<EpmdServer> {
        let listener = TcpListener::bind(addr).await?;
        let local_addr = listener.local_addr()?;
        Ok(EpmdServer {
            listener,
            local_addr,
            config,
        })
    }

    /// The address actually bound.
    pub fn local_addr(&self) -> SocketAddr {
        self.local_addr
    }

    /// Serves until `shutdown` resolves or a local peer sends an accepted `KILL_REQ`.
    /// On return every connection is closed, so every registration ends. Accept errors
    /// (e.g. out of file descriptors) are logged and retried, never fatal.
    pub async fn run(self, shutdown: impl Future<Output = ()>) {
        let EpmdServer {
            listener,
            local_addr,
            config,
        } = self;
        let registry = EpmdRegistry::new(local_addr.port())
            .with_relaxed_command_check(config.relaxed_command_check)
            .with_max_unused(config.max_unused_names)
            .with_max_names(config.max_names);
        let shared: SharedRef = Arc::new(Mutex::new(Shared {
            registry,
            kept: HashMap::new(),
        }));
        let (kill_tx, mut kill_rx) = watch::channel(false);
        let kill_tx = Arc::new(kill_tx);
        let slots = Arc::new(Semaphore::new(config.max_connections));
        let mut connections = JoinSet::new();
        let mut next_id: ConnectionId = 0;
        tracing::info!(%local_addr, "EPMD server listening");
        tokio::pin!(shutdown);
        loop {
            tokio::select! {
                _ = &mut shutdown => break,
                _ = kill_rx.changed() => {
                    tracing::info!(%local_addr, "EPMD server killed by KILL_REQ");
                    break;
                }
                Some(_) = connections.join_next(), if !connections.is_empty() => {}
                accepted = listener.accept() => {
                    let (stream, peer) = match accepted {
                        Ok(accepted) => accepted,
                        Err(error) => {
                            // E.g. out of file descriptors: back off instead of spinning.
                            tracing::warn!(%error, "EPMD accept failed");
                            tokio::time::sleep(Duration::from_millis(100)).await;
                            continue;
                        }
                    };
                    let Ok(permit) = slots.clone().try_acquire_owned() else {
                        tracing::warn!(%peer, "EPMD connection limit reached; closing");
                        continue;
                    };
                    next_id += 1;
                    let local_peer = is_local_peer(peer, stream.local_addr().ok());
                    let conn = Connection {
                        id: next_id,
                        peer,
                        local_peer,
                        shared: shared.clone(),
                        kill: kill_tx.clone(),
                        packet_timeout: config.packet_timeout,
                    };
                    connections.spawn(async move {
                        conn.serve(stream).await;
                        drop(permit);
                    });
                }
            }
        }
        // Dropping the JoinSet aborts every connection task, closing their sockets.
        connections.shutdown().await;
        tracing::info!(%local_addr, "EPMD server stopped");
    }

    /// Runs the server on a tokio task; the handle stops it when dropped.
    pub fn spawn(self) -> EpmdServerHandle {
        let local_addr = self.local_addr;
        let (stop_tx, stop_rx) = oneshot::channel::<()>();
        let task = tokio::spawn(self.run(async move {
            // Either an explicit stop or the handle being dropped.
            let _ = stop_rx.await;
        }));
        EpmdServerHandle {
            local_addr,
            stop: Some(stop_tx),
            task: Some(task),
        }
    }
}

/// A running [`EpmdServer`]; dropping it stops the server.
#[derive(Debug)]
pub struct EpmdServerHandle {
    local_addr: SocketAddr,
    stop: Option<oneshot::Sender<()>>,
    task: Option<JoinHandle<()>>,
}

impl EpmdServerHandle {
    /// The address the server listens on.
    pub fn local_addr(&self) -> SocketAddr {
        self.local_addr
    }

    /// True once the server stopped (e.g. after a `KILL_REQ`).
    pub fn is_finished(&self) -> bool {
        match &self.task {
            Some(task) => task.is_finished(),
            None => true,
        }
    }

    /// Stops the server and waits until every connection is closed.
    pub async fn shutdown(mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        if let Some(task) = self.task.take() {
            // The task never panics; a cancelled task has stopped as well.
            let _ = task.await;
        }
    }
}

impl Drop for EpmdServerHandle {
    fn drop(&mut self) {
        if let Some(task) = self.task.take() {
            task.abort();
        }
    }
}

/// `conn_local_peer_check` (§1.1): loopback, or the peer address equals our own socket's.
fn is_local_peer(peer: SocketAddr, local: Option<SocketAddr>) -> bool {
    let peer_ip = peer.ip().to_canonical();
    peer_ip.is_loopback() || local.is_some_and(|local| local.ip().to_canonical() == peer_ip)
}

fn now_unix_secs() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|since| since.as_secs())
        .unwrap_or(0)
}

struct Connection {
    id: ConnectionId,
    peer: SocketAddr,
    local_peer: bool,
    shared: SharedRef,
    kill: Arc<watch::Sender<bool>>,
    packet_timeout: Duration,
}

impl Connection {
    async fn serve(self, mut stream: TcpStream) {
        let (id, peer) = (self.id, self.peer);
        let Some(buf) = self.read_request(&mut stream).await else {
            return;
        };
        let body = buf.get(2..).unwrap_or_default();
        let notify = Arc::new(Notify::new());
        let outcome = {
            let mut shared = lock(&self.shared);
            let outcome = shared
                .registry
                .handle_frame(id, self.local_peer, body, now_unix_secs());
            if let Ok(outcome) = &outcome {
                if outcome.keep_open {
                    shared.kept.insert(id, notify.clone());
                }
                if let Some(victim) = outcome.close_connection {
                    if let Some(victim) = shared.kept.remove(&victim) {
                        victim.notify_one();
                    }
                }
            }
            outcome
        };
        let outcome = match outcome {
            Ok(outcome) => outcome,
            Err(error) => {
                tracing::warn!(conn = id, %peer, %error, "bad EPMD request; closing");
                return;
            }
        };
        if !outcome.reply.is_empty() {
            let written =
                tokio::time::timeout(self.packet_timeout, stream.write_all(&outcome.reply)).await;
            if !matches!(written, Ok(Ok(()))) {
                tracing::debug!(conn = id, %peer, "EPMD reply could not be sent");
                self.forget();
                return;
            }
        }
        if outcome.stop_server {
            let _ = self.kill.send(true);
            return;
        }
        if !outcome.keep_open {
            let _ = stream.shutdown().await;
            return;
        }
        // A registration connection: it ends when the peer closes it, errors, or sends
        // anything at all (§1.3), or when STOP_REQ drops the name.
        let mut byte = [0u8; 1];
        tokio::select! {
            read = stream.read(&mut byte) => match read {
                Ok(0) => tracing::debug!(conn = id, %peer, "registration connection closed"),
                Ok(_) => tracing::warn!(conn = id, %peer, "byte on registration connection; unregistering"),
                Err(error) => tracing::debug!(conn = id, %peer, %error, "registration connection failed"),
            },
            _ = notify.notified() => tracing::debug!(conn = id, %peer, "registration stopped"),
        }
        self.forget();
    }

    /// Reads exactly one request (prefix included) within the packet timeout. Never reads
    /// past it, so anything a registering node sends after its request is seen later as
    /// "further bytes" (§1.3).
    async fn read_request(&self, stream: &mut TcpStream) -> Option<Vec<u8>> {
        let (id, peer) = (self.id, self.peer);
        // A `packet_timeout` past the clock's range means no limit.
        let now = Instant::now();
        let deadline = now
            .checked_add(self.packet_timeout)
            .unwrap_or_else(|| now + Duration::from_secs(100 * 365 * 86_400));
        let mut buf = Vec::with_capacity(64);
        let mut chunk = [0u8; 1024];
        loop {
            let want = match request_frame_len(&buf) {
                Ok(Some(_)) => return Some(buf),
                Ok(None) => match buf.get(..2) {
                    Some(prefix) => usize::from(u16::from_be_bytes([prefix[0], prefix[1]])) + 2,
                    None => 2,
                },
                Err(error) => {
                    tracing::warn!(conn = id, %peer, %error, "bad EPMD packet; closing");
                    return None;
                }
            };
            let room = want.saturating_sub(buf.len()).min(chunk.len());
            match tokio::time::timeout_at(deadline, stream.read(&mut chunk[..room])).await {
                Err(_) => {
                    tracing::warn!(conn = id, %peer, got = buf.len(), "incomplete EPMD request timed out");
                    return None;
                }
                Ok(Ok(0)) => {
                    if !buf.is_empty() {
                        tracing::debug!(conn = id, %peer, got = buf.len(), "partial EPMD request");
                    }
                    return None;
                }
                Ok(Ok(n)) => buf.extend_from_slice(&chunk[..n]),
                Ok(Err(error)) => {
                    tracing::debug!(conn = id, %peer, %error, "EPMD read failed");
                    return None;
                }
            }
        }
    }

    /// Drops whatever this connection had registered.
    fn forget(&self) {
        let mut shared = lock(&self.shared);
        shared.kept.remove(&self.id);
        if let Some(info) = shared.registry.connection_closed(self.id) {
            tracing::info!(name = %info.name, port = info.port, "EPMD registration ended");
        }
    }
}

//! EPMD client (docs/protocol.md §1): register this node, look up others, list names.
//!
//! Every call opens its own TCP connection, as OTP's `erl_epmd` does (§1.3); the
//! registration connection must then stay open for as long as the node wants to be
//! registered, which [`EpmdRegistration`] guarantees by owning it.

use std::future::Future;
use std::time::Duration;

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::tcp::OwnedWriteHalf;
use tokio::net::TcpStream;
use tokio::sync::watch;
use tokio::task::JoinHandle;

pub use crate::config::epmd_port_from_env;
pub use crate::proto::epmd::{EpmdError, NodeInfo};

use crate::proto::epmd::{Alive2Resp, EpmdRequest, NamesResp, Port2Resp};

/// OTP waits 10 s for the ALIVE2 reply (`wait_for_reg_reply`, §1.3); we use the same
/// bound for connecting and for every other exchange.
pub const DEFAULT_EPMD_TIMEOUT: Duration = Duration::from_secs(10);

/// Upper bound on a NAMES reply we buffer (each line is at most ~1.1 KB).
const MAX_NAMES_REPLY: usize = 4 * 1024 * 1024;

/// Talks to the EPMD at `host:port`.
#[derive(Debug, Clone)]
pub struct EpmdClient {
    host: String,
    port: u16,
    timeout: Duration,
}

impl EpmdClient {
    /// EPMD at `host:port`; the host is resolved at each call.
    pub fn new(host: impl Into<String>, port: u16) -> EpmdClient {
        EpmdClient {
            host: host.into(),
            port,
            timeout: DEFAULT_EPMD_TIMEOUT,
        }
    }

    /// EPMD at `host` on the port named by `ERL_EPMD_PORT`, else 4369 — the variable OTP
    /// nodes and the `epmd` daemon honour (§1.1).
    pub fn from_env(host: impl Into<String>) -> EpmdClient {
        EpmdClient::new(host, epmd_port_from_env())
    }

    /// Replaces the bound on each connect/exchange (default 10 s).
    pub fn with_timeout(mut self, timeout: Duration) -> EpmdClient {
        self.timeout = timeout;
        self
    }

    /// The EPMD host.
    pub fn host(&self) -> &str {
        &self.host
    }

    /// The EPMD port.
    pub fn port(&self) -> u16 {
        self.port
    }

    /// Registers `alive_name` (the part before `@`) with distribution port
    /// `listen_port`, exactly as OTP 25 does: NodeType 77 even when `hidden` (OTP never
    /// registers 72; hidden-ness is negotiated in the handshake, §1.2, §3.4), Protocol 0,
    /// versions 6/5, no extra.
    ///
    /// EPMD only accepts this from its own host (§1.1). A non-zero result becomes
    /// [`EpmdError::DuplicateName`].
    pub async fn register(
        &self,
        alive_name: &str,
        listen_port: u16,
        hidden: bool,
    ) -> Result<EpmdRegistration, EpmdError> {
        self.register_info(NodeInfo::otp(alive_name, listen_port), hidden)
            .await
    }

    /// Registers an arbitrary [`NodeInfo`] (other node type, versions or extra data).
    /// `hidden` is only recorded on the returned guard.
    pub async fn register_info(
        &self,
        info: NodeInfo,
        hidden: bool,
    ) -> Result<EpmdRegistration, EpmdError> {
        let request = EpmdRequest::Alive2(info.clone()).encode()?;
        let mut stream = self.connect().await?;
        let resp = self
            .bounded("waiting for the ALIVE2 reply", async {
                stream.write_all(&request).await?;
                let mut buf = Vec::with_capacity(6);
                loop {
                    if let Some((resp, _)) = Alive2Resp::decode(&buf)? {
                        return Ok(resp);
                    }
                    read_some(&mut stream, &mut buf).await?;
                }
            })
            .await?;
        if resp.result() != 0 {
            return Err(EpmdError::DuplicateName {
                name: info.name,
                result: resp.result(),
            });
        }
        let creation = resp.creation();
        tracing::debug!(name = %info.name, port = info.port, creation, "registered with EPMD");
        Ok(EpmdRegistration::watch(stream, info, creation, hidden))
    }

    /// Looks up an alive name: `Ok(None)` when EPMD does not know it (the 2-byte error
    /// reply, §1.2). One connection per lookup, as OTP does (§1.3).
    pub async fn port_please(&self, alive_name: &str) -> Result<Option<NodeInfo>, EpmdError> {
        let request = EpmdRequest::PortPlease2 {
            name: alive_name.to_owned(),
        }
        .encode()?;
        let mut stream = self.connect().await?;
        self.bounded("waiting for the PORT2 reply", async {
            stream.write_all(&request).await?;
            let mut buf = Vec::with_capacity(64);
            loop {
                match Port2Resp::decode(&buf)? {
                    Some((Port2Resp::Found(info), _)) => return Ok(Some(info)),
                    Some((Port2Resp::NotFound { .. }, _)) => return Ok(None),
                    None => read_some(&mut stream, &mut buf).await?,
                }
            }
        })
        .await
    }

    /// Lists the registered names: `(EPMD's port, [(alive name, port)])` (§1.2).
    pub async fn names(&self) -> Result<(u32, Vec<(String, u16)>), EpmdError> {
        let request = EpmdRequest::Names.encode()?;
        let mut stream = self.connect().await?;
        let buf = self
            .bounded("reading the NAMES reply", async {
                stream.write_all(&request).await?;
                let mut buf = Vec::new();
                (&mut stream)
                    .take(MAX_NAMES_REPLY as u64 + 1)
                    .read_to_end(&mut buf)
                    .await?;
                if buf.len() > MAX_NAMES_REPLY {
                    return Err(EpmdError::ResponseTooLarge(MAX_NAMES_REPLY));
                }
                Ok(buf)
            })
            .await?;
        let resp = NamesResp::decode(&buf)?;
        Ok((resp.epmd_port, resp.nodes))
    }

    async fn connect(&self) -> Result<TcpStream, EpmdError> {
        self.bounded("connecting to EPMD", async {
            let addrs: Vec<_> = tokio::net::lookup_host((self.host.as_str(), self.port))
                .await?
                .collect();
            let mut last_error = None;
            for addr in addrs {
                match TcpStream::connect(addr).await {
                    Ok(stream) => {
                        // Requests are tiny; don't let Nagle delay them.
                        let _ = stream.set_nodelay(true);
                        return Ok(stream);
                    }
                    Err(error) => last_error = Some(error),
                }
            }
            Err(last_error
                .map(EpmdError::Io)
                .unwrap_or_else(|| EpmdError::Resolve(self.host.clone())))
        })
        .await
    }

    async fn bounded<T>(
        &self,
        during: &'static str,
        work: impl Future<Output = Result<T, EpmdError>>,
    ) -> Result<T, EpmdError> {
        tokio::time::timeout(self.timeout, work)
            .await
            .map_err(|_| EpmdError::Timeout {
                after: self.timeout,
                during,
            })?
    }
}

/// Reads whatever arrives next into `buf`; EOF before a complete reply is an error.
async fn read_some(stream: &mut TcpStream, buf: &mut Vec<u8>) -> Result<(), EpmdError> {
    let mut chunk = [0u8; 512];
    let n = stream.read(&mut chunk).await?;
    if n == 0 {
        return Err(EpmdError::ConnectionClosed);
    }
    buf.extend_from_slice(&chunk[..n]);
    Ok(())
}

/// A live EPMD registration. The name stays registered exactly as long as this guard
/// lives: dropping it closes the TCP connection and EPMD unregisters the name (§1.3).
///
/// We never write to the connection again — EPMD treats any further byte as "unregister"
/// — but a background task keeps reading it so that [`EpmdRegistration::closed`] notices
/// when EPMD goes away (then the node is no longer findable and should re-register).
#[derive(Debug)]
pub struct EpmdRegistration {
    info: NodeInfo,
    creation: u32,
    hidden: bool,
    /// Held only so that dropping the guard sends FIN; never written.
    _write_half: OwnedWriteHalf,
    reader: JoinHandle<()>,
    closed: watch::Receiver<bool>,
}

impl EpmdRegistration {
    fn watch(stream: TcpStream, info: NodeInfo, creation: u32, hidden: bool) -> Self {
        let (mut read_half, write_half) = stream.into_split();
        let (closed_tx, closed) = watch::channel(false);
        let name = info.name.clone();
        let reader = tokio::spawn(async move {
            let mut chunk = [0u8; 64];
            loop {
                match read_half.read(&mut chunk).await {
                    Ok(0) => {
                        tracing::warn!(%name, "EPMD closed our registration connection");
                        break;
                    }
                    Ok(n) => {
                        tracing::warn!(%name, bytes = n, "unexpected bytes from EPMD ignored")
                    }
                    Err(error) => {
                        tracing::warn!(%name, %error, "EPMD registration connection failed");
                        break;
                    }
                }
            }
            let _ = closed_tx.send(true);
        });
        EpmdRegistration {
            info,
            creation,
            hidden,
            _write_half: write_half,
            reader,
            closed,
        }
    }

    /// The creation EPMD assigned; use it in every pid/port/ref and in the handshake
    /// (§1.3).
    pub fn creation(&self) -> u32 {
        self.creation
    }

    /// The registered alive name.
    pub fn name(&self) -> &str {
        &self.info.name
    }

    /// The registered distribution port.
    pub fn port(&self) -> u16 {
        self.info.port
    }

    /// Everything that was registered.
    pub fn info(&self) -> &NodeInfo {
        &self.info
    }

    /// Whether the node was registered as hidden (not visible on the wire, §1.2).
    pub fn hidden(&self) -> bool {
        self.hidden
    }

    /// True once EPMD closed the registration connection (the name is gone).
    pub fn is_closed(&self) -> bool {
        *self.closed.borrow()
    }

    /// Resolves when EPMD closes the registration connection. Can be awaited from
    /// anywhere (it does not borrow the guard).
    pub fn closed(&self) -> impl Future<Output = ()> + Send + 'static {
        let mut closed = self.closed.clone();
        async move {
            // An error means the reader is gone, i.e. the guard was dropped: closed too.
            let _ = closed.wait_for(|closed| *closed).await;
        }
    }
}

impl Drop for EpmdRegistration {
    fn drop(&mut self) {
        // Dropping the write half sends FIN; aborting the reader drops the read half,
        // which closes the socket completely.
        self.reader.abort();
    }
}

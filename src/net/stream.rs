//! The byte stream under an up connection, driven by readiness for plain TCP and TLS
//! alike, so that one loop (`super::connection`) serves both.
//!
//! Plain TCP (`inet_tcp_dist`) reads straight into the connection's input buffer and
//! writes straight out of its output buffer. TLS (`inet_tls_dist`, docs/protocol.md
//! §17) puts a rustls session between the two: the handshakes (TLS, then the
//! distribution handshake inside it) run on tokio-rustls streams in `super::setup`;
//! once the connection is up the stream is taken apart into its socket and its session,
//! and this file feeds the session from the socket and the socket from the session as
//! the socket becomes ready. Bytes the session had already decrypted stay in it and are
//! read first.
//!
//! Memory stays bounded: rustls keeps at most its buffer limit (64 KiB by default) of
//! unsent records, and refuses to read more records while decrypted bytes wait, so this
//! file always drains decrypted bytes into the connection (whose own limits apply,
//! docs/hostile.md) before it reads from the socket again.

use crate::proto::connection::{Connection, WRITE_SLICES};
use std::io::{self, ErrorKind, IoSlice};
use tokio::io::Interest;
use tokio::net::TcpStream;
#[cfg(target_os = "linux")]
use tracing::debug;

/// The byte stream of an up connection.
pub(crate) enum DistStream {
    /// `inet_tcp_dist`.
    Tcp(TcpStream),
    /// `inet_tls_dist`: TLS over TCP, either side (§17).
    #[cfg(feature = "tls")]
    Tls(Box<TlsSession>),
}

/// A TLS connection after its handshake: the socket and the session that encrypts
/// for it.
#[cfg(feature = "tls")]
pub(crate) struct TlsSession {
    tcp: TcpStream,
    session: rustls::Connection,
}

#[cfg(feature = "tls")]
impl From<tokio_rustls::TlsStream<TcpStream>> for DistStream {
    fn from(stream: tokio_rustls::TlsStream<TcpStream>) -> Self {
        let (tcp, session) = match stream {
            tokio_rustls::TlsStream::Client(s) => {
                let (tcp, session) = s.into_inner();
                (tcp, rustls::Connection::from(session))
            }
            tokio_rustls::TlsStream::Server(s) => {
                let (tcp, session) = s.into_inner();
                (tcp, rustls::Connection::from(session))
            }
        };
        DistStream::Tls(Box::new(TlsSession { tcp, session }))
    }
}

impl DistStream {
    /// The socket, whose readiness drives both kinds of stream.
    pub(crate) fn tcp(&self) -> &TcpStream {
        match self {
            DistStream::Tcp(s) => s,
            #[cfg(feature = "tls")]
            DistStream::Tls(t) => &t.tcp,
        }
    }

    pub(crate) fn peer_addr(&self) -> Option<std::net::SocketAddr> {
        self.tcp().peer_addr().ok()
    }

    pub(crate) fn is_tls(&self) -> bool {
        !matches!(self, DistStream::Tcp(_))
    }

    /// Whether there is something to write once the socket is writable: bytes of the
    /// connection, or records of the session.
    pub(crate) fn wants_write(&self, conn: &Connection) -> bool {
        match self {
            DistStream::Tcp(_) => conn.transmit_len() > 0,
            #[cfg(feature = "tls")]
            DistStream::Tls(t) => conn.transmit_len() > 0 || t.session.wants_write(),
        }
    }

    /// Reads what the socket has into the connection. `Ok(0)` is the end of the
    /// stream (a TLS close_notify included); `WouldBlock` means nothing was there.
    pub(crate) fn read_into(&mut self, conn: &mut Connection) -> io::Result<usize> {
        match self {
            DistStream::Tcp(s) => conn.read_with(|buf| read_draining(s, buf)),
            #[cfg(feature = "tls")]
            DistStream::Tls(t) => t.read_into(conn),
        }
    }

    /// Sets the socket's receive low-water mark (`SO_RCVLOWAT`): arrivals that leave
    /// less than `bytes` unread raise no readiness event, so they do not wake the
    /// driver (read pacing, `net::pacing`); the end of the stream and errors still do,
    /// and lowering it raises the event at once if enough is waiting. Linux, plain TCP
    /// only; elsewhere nothing is set (pacing then still batches reads, but every
    /// arrival wakes the worker).
    /// False if the option could not be set (then nothing changed).
    pub(crate) fn set_recv_lowat(&self, bytes: usize) -> bool {
        // Irrefutable without the `tls` feature.
        #[cfg(target_os = "linux")]
        #[allow(irrefutable_let_patterns)]
        if let DistStream::Tcp(s) = self {
            use std::os::fd::AsRawFd;
            let value = libc::c_int::try_from(bytes).unwrap_or(libc::c_int::MAX);
            // SAFETY: the descriptor is that of the open socket `s`, borrowed for the
            // call; the option value points to a live `c_int` and its size goes with it.
            let r = unsafe {
                libc::setsockopt(
                    s.as_raw_fd(),
                    libc::SOL_SOCKET,
                    libc::SO_RCVLOWAT,
                    std::ptr::from_ref(&value).cast(),
                    std::mem::size_of::<libc::c_int>() as libc::socklen_t,
                )
            };
            if r != 0 {
                debug!(error = %io::Error::last_os_error(), "SO_RCVLOWAT not set");
            }
            return r == 0;
        }
        let _ = bytes;
        false
    }

    /// One read that does not wait for tokio's readiness: under a low-water mark
    /// ([`DistStream::set_recv_lowat`]) arrivals raise no event, so the readiness tokio
    /// keeps says nothing about what the socket holds. At `WouldBlock` that readiness is
    /// cleared (a stale one would wake the driver for nothing); an event that lands
    /// between the read and the clearing is lost, which the paced driver's armed clock
    /// makes harmless (and lowering the mark raises a fresh one if input waits). TLS reads as
    /// [`DistStream::read_into`] (TLS connections are not paced).
    pub(crate) fn read_now_into(&mut self, conn: &mut Connection) -> io::Result<usize> {
        match self {
            DistStream::Tcp(s) => {
                let r = conn.read_with(|buf| {
                    use std::io::Read;
                    (&*socket2::SockRef::from(&*s)).read(buf)
                });
                if matches!(&r, Err(e) if e.kind() == ErrorKind::WouldBlock) {
                    let _ = s.try_io(Interest::READABLE, || {
                        Err::<(), _>(io::Error::from(ErrorKind::WouldBlock))
                    });
                }
                r
            }
            #[cfg(feature = "tls")]
            DistStream::Tls(_) => self.read_into(conn),
        }
    }

    /// Writes what the socket takes now; stops at `WouldBlock`, which is not an error.
    pub(crate) fn write_from(&mut self, conn: &mut Connection) -> io::Result<()> {
        match self {
            DistStream::Tcp(s) => {
                // Frames and shared binaries (§4.6) in one vectored write.
                while conn.transmit_len() > 0 {
                    let mut bufs = [IoSlice::new(&[]); WRITE_SLICES];
                    let k = conn.poll_transmit_vectored(&mut bufs);
                    match s.try_write_vectored(&bufs[..k]) {
                        Ok(n) => conn.transmitted(n),
                        Err(e) if e.kind() == ErrorKind::WouldBlock => break,
                        Err(e) => return Err(e),
                    }
                }
                Ok(())
            }
            #[cfg(feature = "tls")]
            DistStream::Tls(t) => t.write_from(conn),
        }
    }
}

#[cfg(feature = "tls")]
impl TlsSession {
    /// Decrypted bytes into the connection: first those the session holds, then, if it
    /// had none, one read of records from the socket and what they decrypt to.
    fn read_into(&mut self, conn: &mut Connection) -> io::Result<usize> {
        let mut got = self.drain(conn)?;
        if got.is_none() {
            match self.session.read_tls(&mut TryIo(&self.tcp)) {
                Ok(0) => return Ok(0),
                Ok(_) => {
                    if let Err(e) = self.session.process_new_packets() {
                        // Send the alert that says why, if the socket takes it.
                        let _ = self.session.write_tls(&mut TryIo(&self.tcp));
                        return Err(io::Error::new(ErrorKind::InvalidData, e));
                    }
                }
                Err(e) => return Err(e),
            }
            got = self.drain(conn)?;
        }
        match got {
            Some(n) => Ok(n),
            // Records that held no application data (a key update, say).
            None => Err(ErrorKind::WouldBlock.into()),
        }
    }

    /// Moves every decrypted byte the session holds into the connection. `None` when it
    /// held none, `Some(0)` at close_notify.
    fn drain(&mut self, conn: &mut Connection) -> io::Result<Option<usize>> {
        use std::io::Read;
        let mut total = None;
        loop {
            match conn.read_with(|buf| self.session.reader().read(buf)) {
                Ok(0) => return Ok(Some(total.unwrap_or(0))),
                Ok(n) => total = Some(total.unwrap_or(0) + n),
                Err(e) if e.kind() == ErrorKind::WouldBlock => return Ok(total),
                Err(e) => return Err(e),
            }
        }
    }

    /// Hands the connection's bytes to the session and the session's records to the
    /// socket, until either is empty or the socket is full.
    fn write_from(&mut self, conn: &mut Connection) -> io::Result<()> {
        use std::io::Write;
        loop {
            while conn.transmit_len() > 0 {
                let n = self.session.writer().write(conn.poll_transmit())?;
                if n == 0 {
                    break; // the session's buffer limit: send records first
                }
                conn.transmitted(n);
            }
            if !self.session.wants_write() {
                return Ok(());
            }
            while self.session.wants_write() {
                match self.session.write_tls(&mut TryIo(&self.tcp)) {
                    Ok(_) => {}
                    Err(e) if e.kind() == ErrorKind::WouldBlock => return Ok(()),
                    Err(e) => return Err(e),
                }
            }
            if conn.transmit_len() == 0 {
                return Ok(());
            }
        }
    }
}

/// One read of what the socket has, without waiting. A read that fills only part of
/// `buf` has drained the socket, so it also clears the socket's readiness, as tokio's own
/// `poll_read` does on Linux (edge-triggered epoll): otherwise the loop's next wait would
/// find the socket still "readable" and spend a system call to learn that it is not. A
/// stream of small messages paid one such empty `recvfrom` per read (half of its reads,
/// measured with the syscall tracepoints; BENCHMARKS.md). Data arriving after the read is
/// not lost: tokio clears readiness only if no new event came in since it was observed,
/// and a later arrival is a new edge.
fn read_draining(s: &TcpStream, buf: &mut [u8]) -> io::Result<usize> {
    let len = buf.len();
    let mut got = 0;
    // `try_io` clears the readiness when its closure reports `WouldBlock`; the count
    // read is passed out beside it. The end of the stream (0) is reported as is.
    match s.try_io(Interest::READABLE, || match s.try_read(buf)? {
        n if n > 0 && n < len => {
            got = n;
            Err(ErrorKind::WouldBlock.into())
        }
        n => Ok(n),
    }) {
        Err(e) if e.kind() == ErrorKind::WouldBlock && got > 0 => Ok(got),
        r => r,
    }
}

/// `std::io` reads and writes on a tokio socket without waiting: `WouldBlock` when it
/// is not ready, which is what rustls's `read_tls` and `write_tls` expect.
#[cfg(feature = "tls")]
struct TryIo<'a>(&'a TcpStream);

#[cfg(feature = "tls")]
impl io::Read for TryIo<'_> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        self.0.try_read(buf)
    }
}

#[cfg(feature = "tls")]
impl io::Write for TryIo<'_> {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        self.0.try_write(buf)
    }

    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;
    use tokio::io::AsyncWriteExt;
    use tokio::time::timeout;

    async fn pair() -> (TcpStream, TcpStream) {
        let l = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let a = TcpStream::connect(l.local_addr().unwrap()).await.unwrap();
        let (b, _) = l.accept().await.unwrap();
        (a, b)
    }

    async fn ready(s: &TcpStream) {
        let r = timeout(Duration::from_secs(5), s.readable()).await;
        r.expect("readable within 5 s").expect("readable");
    }

    /// A partial read clears the readiness, yet what arrives later wakes the reader,
    /// and the end of the stream still reads as 0.
    #[tokio::test]
    async fn a_partial_read_loses_neither_later_bytes_nor_the_end() {
        let (mut a, b) = pair().await;
        let mut buf = [0u8; 64];
        a.write_all(b"0123456789").await.unwrap();
        ready(&b).await;
        assert_eq!(read_draining(&b, &mut buf).unwrap(), 10);
        // Drained: nothing more until the peer writes again.
        let quiet = timeout(Duration::from_millis(50), b.readable()).await;
        assert!(quiet.is_err());
        a.write_all(b"abcde").await.unwrap();
        ready(&b).await;
        assert_eq!(read_draining(&b, &mut buf).unwrap(), 5);
        assert_eq!(&buf[..5], b"abcde");
        // A full buffer keeps the readiness: the rest is read without a new wake-up.
        a.write_all(&[7u8; 100]).await.unwrap();
        tokio::time::sleep(Duration::from_millis(20)).await;
        ready(&b).await;
        assert_eq!(read_draining(&b, &mut buf).unwrap(), 64);
        ready(&b).await;
        assert_eq!(read_draining(&b, &mut buf).unwrap(), 36);
        drop(a);
        ready(&b).await;
        assert_eq!(read_draining(&b, &mut buf).unwrap(), 0);
    }
}

//! One up distribution connection as a sans-IO state machine (docs/protocol.md §4, §5):
//! bytes and time in; messages, bytes to write and the next deadline out.
//!
//! Every rule of a connection after its handshake lives here, once, for both drivers
//! (the tokio one in `net::connection`, the blocking one in `blocking::Connection`):
//! framing and its size limit (§4.1), ticks and the tick timeout (§4.1), the header /
//! pass-through / fragment codec (§4.2–§4.4), OTP's origin and destination checks that
//! kill a connection (§5.1), dropping signals to an earlier incarnation of this node,
//! and the SEND_SENDER downgrade for peers that lack it (§5.1). Nothing in it touches a
//! socket, a clock or a random source, so it is tested with bytes and made-up instants.
//!
//! A driver's loop, in the order the calls expect:
//! 1. bytes read from the socket go to [`Connection::handle_input`] (or straight into
//!    the buffer with [`Connection::read_with`]);
//! 2. [`Connection::poll_message`] until `Ok(None)`, each message handed to the node;
//! 3. messages to send go to [`Connection::send`];
//! 4. while [`Connection::transmit_len`] is not zero, the bytes of
//!    [`Connection::poll_transmit`] (one contiguous piece: a large binary is a piece of
//!    its own, §4.6) or of [`Connection::poll_transmit_vectored`] (several) are written,
//!    and [`Connection::transmitted`] says how many went out;
//! 5. at [`Connection::poll_timeout`], [`Connection::handle_timeout`].
//!
//! Any error returned by 2 or 5 ends the connection; [`ConnectionError::nodedown_reason`]
//! is the reason OTP's `monitor_nodes` would report. An error from 3 concerns that one
//! message only.

use crate::proto::control::{altact, ControlError, ControlMessage, Destination};
use crate::proto::dist::{
    DistDecoder, DistEncoder, DistError, DistMessage, FragmentLimits, Payload,
};
use crate::proto::framing::{Frame, FrameError, FrameReader, TICK};
use crate::proto::tick::{TickAction, TickState};
use crate::proto::transmit::Transmit;
use crate::proto::DistFlags;
use crate::term::{Atom, Term};
use std::io::IoSlice;
use std::time::{Duration, Instant};

/// Pieces a driver offers [`Connection::poll_transmit_vectored`] for one vectored
/// write: a batch of frames is one piece, each shared binary another (docs/protocol.md
/// §4.6). Both drivers use it.
pub const WRITE_SLICES: usize = 64;

/// Settings of one connection (from the node's configuration).
#[derive(Debug, Clone)]
pub struct ConnectionConfig {
    /// `net_ticktime` (§4.1).
    pub net_ticktime: Duration,
    /// `net_tickintensity` (§4.1), clamped to 4..=1000 as OTP does.
    pub net_tickintensity: u32,
    /// Largest incoming frame payload; a larger length field ends the connection.
    pub max_frame_size: usize,
    /// Bounds on incomplete fragmented messages (§4.4).
    pub fragment_limits: FragmentLimits,
    /// Deepest nesting of a received control or message term
    /// ([`crate::etf::DecodeOptions::max_depth`]); a deeper one closes the connection.
    pub max_term_depth: usize,
}

impl Default for ConnectionConfig {
    fn default() -> Self {
        ConnectionConfig {
            net_ticktime: Duration::from_secs(60),
            net_tickintensity: 4,
            max_frame_size: crate::proto::framing::DEFAULT_MAX_FRAME_LEN,
            fragment_limits: FragmentLimits::default(),
            max_term_depth: crate::etf::DEFAULT_MAX_DEPTH,
        }
    }
}

impl ConnectionConfig {
    /// Time between tick checks: `net_ticktime / intensity`, at least 10 ms.
    pub fn tick_period(&self) -> Duration {
        let intensity = self.net_tickintensity.clamp(4, 1000);
        (self.net_ticktime / intensity).max(Duration::from_millis(10))
    }
}

/// Who is at either end of the connection and what they agreed (from the handshake's
/// `Established`).
#[derive(Debug, Clone)]
pub struct Endpoints {
    /// Our node name and creation: signals must target this incarnation.
    pub local: Atom,
    pub local_creation: u32,
    /// The peer's node name: signals must come from its pids.
    pub peer: Atom,
    /// The negotiated flags (§3.3).
    pub flags: DistFlags,
    /// Both sides published (§3.4); hidden connections tick more eagerly.
    pub visible: bool,
}

/// Why a connection must end. All variants are fatal for it and only for it.
#[derive(Debug, thiserror::Error, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum ConnectionError {
    #[error("bad frame: {0}")]
    Frame(#[from] FrameError),
    #[error("corrupted distribution message: {0}")]
    Dist(#[from] DistError),
    #[error("invalid distribution message: {0}")]
    Control(#[from] ControlError),
    #[error("nothing received for net_ticktime (net_tick_timeout)")]
    TickTimeout,
}

impl ConnectionError {
    /// The `nodedown_reason` OTP reports for a connection that ended this way.
    pub fn nodedown_reason(&self) -> &'static str {
        match self {
            ConnectionError::TickTimeout => "net_tick_timeout",
            _ => "connection_closed",
        }
    }
}

/// The state of one up connection. See the module documentation for the call order.
#[derive(Debug)]
pub struct Connection {
    ends: Endpoints,
    frames: FrameReader,
    decoder: DistDecoder,
    encoder: DistEncoder,
    ticks: TickState,
    tick_period: Duration,
    next_tick: Instant,
    /// Encoded frames waiting to be written, large binaries shared (§4.6).
    transmit: Transmit,
    /// Messages handed out by `poll_message` and taken by `send` (ticks and
    /// fragments not counted): `net_kernel:nodes_info`'s `in` and `out`.
    messages_in: u64,
    messages_out: u64,
}

impl Connection {
    /// A connection that came up at `now`. `leftover` are bytes the handshake read
    /// past its last message: the start of the first frame.
    pub fn new(ends: Endpoints, cfg: &ConnectionConfig, leftover: &[u8], now: Instant) -> Self {
        let mut frames = FrameReader::with_max_frame_len(cfg.max_frame_size);
        frames.extend(leftover);
        let tick_period = cfg.tick_period();
        Connection {
            decoder: DistDecoder::with_limits(ends.flags, cfg.fragment_limits)
                .with_max_depth(cfg.max_term_depth),
            encoder: DistEncoder::new(ends.flags),
            ticks: TickState::new(cfg.net_tickintensity, !ends.visible),
            ends,
            frames,
            tick_period,
            next_tick: later(now, tick_period),
            transmit: Transmit::default(),
            messages_in: 0,
            messages_out: 0,
        }
    }

    /// Messages received and sent so far (`(in, out)`; ticks not counted).
    pub fn message_counts(&self) -> (u64, u64) {
        (self.messages_in, self.messages_out)
    }

    /// The peer's node name.
    pub fn peer(&self) -> &Atom {
        &self.ends.peer
    }

    /// The negotiated flags (§3.3).
    pub fn flags(&self) -> DistFlags {
        self.ends.flags
    }

    /// Whether both sides published (§3.4).
    pub fn is_visible(&self) -> bool {
        self.ends.visible
    }

    /// Bytes read from the peer. Any bytes, ticks included, prove it alive (§4.1).
    pub fn handle_input(&mut self, bytes: &[u8]) {
        if !bytes.is_empty() {
            self.ticks.on_read();
            self.frames.extend(bytes);
        }
    }

    /// Lets `read` fill the input buffer directly (no copy); as
    /// [`Connection::handle_input`] for the bytes it reports.
    pub fn read_with<E>(
        &mut self,
        read: impl FnOnce(&mut [u8]) -> Result<usize, E>,
    ) -> Result<usize, E> {
        let n = self.frames.read_with(read)?;
        if n > 0 {
            self.ticks.on_read();
        }
        Ok(n)
    }

    /// The next complete message for this node, `Ok(None)` when more input is needed.
    /// Ticks and fragments are consumed here; signals to an earlier incarnation of this
    /// node are dropped as OTP drops them, except LINK, which the node answers with an
    /// exit `noproc`. An error means the connection must be closed (§4.5, §5.1).
    pub fn poll_message(&mut self) -> Result<Option<DistMessage>, ConnectionError> {
        loop {
            let Some(frame) = self.frames.next_frame()? else {
                return Ok(None);
            };
            let Frame::Data(payload) = frame else {
                continue; // a tick: liveness only
            };
            let Some(msg) = self.decoder.decode(payload)? else {
                continue; // more fragments to come
            };
            msg.control.check_origin(&self.ends.peer)?;
            let dest = msg
                .control
                .check_destination(&self.ends.local, self.ends.local_creation)?;
            if dest == Destination::StaleIncarnation
                && !matches!(msg.control, ControlMessage::Link { .. })
            {
                continue;
            }
            self.messages_in += 1;
            return Ok(Some(msg));
        }
    }

    /// Encodes one message for the peer after what is already due. A SEND_SENDER to a
    /// peer without DFLAG_SEND_SENDER goes as a plain SEND (§5.1): C nodes (`erl_call`,
    /// ei programs) close the connection on an op they do not know. An error (a term
    /// the peer could not decode) drops this message only and leaves nothing behind.
    pub fn send(
        &mut self,
        control: &ControlMessage,
        payload: Option<Payload<'_>>,
    ) -> Result<(), DistError> {
        let downgraded;
        let control = match control {
            ControlMessage::SendSender { to, token, .. }
                if !self.ends.flags.contains(DistFlags::SEND_SENDER) =>
            {
                downgraded = ControlMessage::Send {
                    to: to.clone(),
                    token: token.clone(),
                };
                &downgraded
            }
            // OTP 28+ sends alias messages as ALTACT_SIG_SEND and OTP 30 drops
            // ALIAS_SEND: a peer that has ALTACT_SIG gets op 37 (§5.3).
            ControlMessage::AliasSend { from, alias, token }
                if self.ends.flags.contains(DistFlags::ALTACT_SIG) =>
            {
                downgraded = ControlMessage::AltactSigSend {
                    flags: altact::ALIAS,
                    from: from.clone(),
                    to: Term::Ref(alias.clone()),
                    token: token.clone(),
                };
                &downgraded
            }
            other => other,
        };
        self.transmit.compact();
        self.encoder
            .encode_message(control, payload, &mut self.transmit)?;
        self.messages_out += 1;
        Ok(())
    }

    /// [`Connection::send`] with the payload as a term.
    pub fn send_term(
        &mut self,
        control: &ControlMessage,
        payload: Option<&Term>,
    ) -> Result<(), DistError> {
        self.send(control, payload.map(Payload::Term))
    }

    /// The next bytes due to the peer, contiguous (empty when nothing is). A large
    /// binary in a message comes as a piece of its own (§4.6): loop, or use
    /// [`Connection::poll_transmit_vectored`].
    pub fn poll_transmit(&self) -> &[u8] {
        self.transmit.chunk()
    }

    /// Fills `bufs` with the next pieces due, in order, for a vectored write; returns
    /// how many it filled.
    pub fn poll_transmit_vectored<'a>(&'a self, bufs: &mut [IoSlice<'a>]) -> usize {
        self.transmit.chunks_vectored(bufs)
    }

    /// How many bytes are due to the peer.
    pub fn transmit_len(&self) -> usize {
        self.transmit.len()
    }

    /// The driver wrote the first `n` bytes of what is due.
    pub fn transmitted(&mut self, n: usize) {
        if n == 0 {
            return;
        }
        self.transmit.advance(n);
        self.ticks.on_write();
    }

    /// When [`Connection::handle_timeout`] must be called next.
    pub fn poll_timeout(&self) -> Instant {
        self.next_tick
    }

    /// The clock reached `now`: at a tick interval, queue a tick if the connection was
    /// quiet, or end it if nothing arrived for `net_ticktime` (§4.1).
    pub fn handle_timeout(&mut self, now: Instant) -> Result<(), ConnectionError> {
        if now < self.next_tick {
            return Ok(());
        }
        self.next_tick = later(now, self.tick_period);
        match self.ticks.on_timer() {
            TickAction::None => Ok(()),
            TickAction::SendTick => {
                self.transmit.compact();
                self.transmit.extend_from_slice(&TICK);
                Ok(())
            }
            TickAction::Timeout => Err(ConnectionError::TickTimeout),
        }
    }

    /// Bytes held for incomplete input (partial frames and fragmented messages).
    pub fn buffered_input(&self) -> usize {
        self.frames.buffered() + self.decoder.buffered_bytes()
    }
}

/// `now + d`, saturating: a tick time too large for the clock (`Duration::MAX`) means
/// a check a century from now instead of a panic.
fn later(now: Instant, d: Duration) -> Instant {
    now.checked_add(d)
        .or_else(|| now.checked_add(Duration::from_secs(100 * 365 * 86_400)))
        .unwrap_or(now)
}

#[cfg(test)]
mod tests;

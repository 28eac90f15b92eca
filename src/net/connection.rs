//! The driver of one up connection (protocol-notes §4): reads frames and hands decoded
//! control messages to the node; drains the node's outgoing queue for the peer,
//! coalescing many frames into one write; keeps ticks (§4.1).

use crate::node::{ClosedOutcome, Node, NodeEvent, Outgoing, UpInfo};
use crate::proto::control::{ControlMessage, Destination};
use crate::proto::dist::{DistDecoder, DistEncoder};
use crate::proto::framing::{Frame, FrameReader, TICK};
use crate::proto::handshake::Established;
use crate::proto::tick::{TickAction, TickState};
use crate::proto::DistFlags;
use crate::term::Atom;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::tcp::{OwnedReadHalf, OwnedWriteHalf};
use tokio::net::TcpStream;
use tokio::sync::{mpsc, Notify};
use tracing::{debug, info, warn};

/// Upper bound on bytes gathered into one write when many messages are queued.
const MAX_BATCH: usize = 256 * 1024;

/// Why a connection ended; the text is the `nodedown_reason` OTP would report.
#[derive(Debug)]
enum Ended {
    Closed,
    TickTimeout,
    Killed,
    ProtocolError,
}

impl Ended {
    fn reason(&self) -> &'static str {
        match self {
            Ended::Closed => "connection_closed",
            Ended::TickTimeout => "net_tick_timeout",
            Ended::Killed => "disconnect",
            Ended::ProtocolError => "connection_closed",
        }
    }
}

/// Runs an established connection until it ends; then reports nodedown.
pub(crate) async fn run(node: Node, stream: TcpStream, est: Established, attempt: u64) {
    let peer = Atom::new(&est.peer_name);
    let kill = Arc::new(Notify::new());
    let visible = est.is_visible();
    let info = UpInfo {
        id: attempt,
        flags: est.negotiated,
        visible,
        kill: kill.clone(),
    };
    let Some(queue) = node.inner.conns.established(&peer, attempt, info) else {
        debug!(%peer, "connection superseded by another one to the same node; closing");
        return;
    };
    info!(%peer, visible, flags = %est.negotiated, "connection up");
    node.emit(NodeEvent::NodeUp {
        node: peer.clone(),
        visible,
    });

    let (rd, wr) = stream.into_split();
    let read_flag = Arc::new(AtomicBool::new(false));
    let ended = tokio::select! {
        e = read_loop(&node, &peer, rd, est.leftover, est.negotiated, read_flag.clone()) => e,
        e = write_loop(&node, &peer, wr, queue, est.negotiated, visible, read_flag) => e,
        _ = kill.notified() => Ended::Killed,
    };
    match &ended {
        Ended::TickTimeout => warn!(%peer, "node not responding; removing (timed out) connection"),
        e => info!(%peer, reason = e.reason(), "connection down"),
    }
    // A connection replaced by a new incarnation of the peer (§2.6) goes down like any
    // other: links break, monitors fire, nodedown is delivered; only then may the
    // successor come up.
    let successor = match node.inner.conns.closed(&peer, attempt) {
        ClosedOutcome::NotCurrent => return,
        ClosedOutcome::Down => None,
        ClosedOutcome::Replaced(gone) => gone,
    };
    // Killed for a successor: OTP's reason is that of net_kernel's kill.
    let reason = match (&ended, &successor) {
        (Ended::Killed, Some(_)) => "wait_pending",
        _ => ended.reason(),
    };
    node.connection_lost(&peer);
    node.emit(NodeEvent::NodeDown {
        node: peer,
        reason: Atom::new(reason),
    });
    if let Some(gone) = successor {
        let _ = gone.send(());
    }
}

async fn read_loop(
    node: &Node,
    peer: &Atom,
    mut rd: OwnedReadHalf,
    leftover: Vec<u8>,
    flags: crate::proto::DistFlags,
    read_flag: Arc<AtomicBool>,
) -> Ended {
    let mut frames = FrameReader::with_max_frame_len(node.config().max_frame_size);
    let mut decoder = DistDecoder::new(flags);
    frames.extend(&leftover);
    let mut buf = vec![0u8; 64 * 1024];
    let mut first = !leftover.is_empty();
    loop {
        if !first {
            let n = match rd.read(&mut buf).await {
                Ok(0) => return Ended::Closed,
                Ok(n) => n,
                Err(e) => {
                    debug!(%peer, error = %e, "read failed");
                    return Ended::Closed;
                }
            };
            read_flag.store(true, Ordering::Relaxed);
            frames.extend(&buf[..n]);
        }
        first = false;
        loop {
            let frame = match frames.next_frame() {
                Ok(Some(f)) => f,
                Ok(None) => break,
                Err(e) => {
                    warn!(%peer, error = %e, "bad frame; closing connection");
                    return Ended::ProtocolError;
                }
            };
            let Frame::Data(payload) = frame else {
                continue; // a tick: liveness only
            };
            match decoder.decode(payload) {
                Ok(Some(msg)) => {
                    // OTP's receive-side rules (§5.1): signals must come from the
                    // sending node's pids and go to ours, or the connection is killed.
                    let dest = msg
                        .control
                        .check_origin(peer)
                        .and_then(|()| msg.control.check_destination(node.name(), node.creation()));
                    match dest {
                        Err(e) => {
                            warn!(%peer, error = %e, "invalid distribution message; closing connection");
                            return Ended::ProtocolError;
                        }
                        // A signal to an earlier incarnation of this node is dropped; a
                        // LINK still gets its `noproc` answer from dispatch.
                        Ok(Destination::StaleIncarnation)
                            if !matches!(msg.control, ControlMessage::Link { .. }) => {}
                        Ok(_) => node.dispatch(peer, msg.control, msg.payload),
                    }
                }
                Ok(None) => {} // more fragments to come
                Err(e) => {
                    warn!(%peer, error = %e, "corrupted distribution message; closing connection");
                    return Ended::ProtocolError;
                }
            }
        }
    }
}

async fn write_loop(
    node: &Node,
    peer: &Atom,
    mut wr: OwnedWriteHalf,
    mut queue: mpsc::UnboundedReceiver<Outgoing>,
    flags: crate::proto::DistFlags,
    visible: bool,
    read_flag: Arc<AtomicBool>,
) -> Ended {
    let mut encoder = DistEncoder::new(flags);
    let mut ticks = TickState::new(node.config().net_tickintensity, !visible);
    let period = node.config().tick_interval();
    let mut timer = tokio::time::interval_at(tokio::time::Instant::now() + period, period);
    timer.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    let mut out = Vec::with_capacity(64 * 1024);
    loop {
        tokio::select! {
            biased;
            m = queue.recv() => {
                let Some(first) = m else { return Ended::Killed };
                out.clear();
                encode(&mut encoder, peer, flags, first, &mut out);
                // Coalesce whatever else is already queued into the same write.
                while out.len() < MAX_BATCH {
                    match queue.try_recv() {
                        Ok(m) => encode(&mut encoder, peer, flags, m, &mut out),
                        Err(_) => break,
                    }
                }
                if out.is_empty() {
                    continue;
                }
                if let Err(e) = wr.write_all(&out).await {
                    debug!(%peer, error = %e, "write failed");
                    return Ended::Closed;
                }
                ticks.on_write();
            }
            _ = timer.tick() => {
                if read_flag.swap(false, Ordering::Relaxed) {
                    ticks.on_read();
                }
                match ticks.on_timer() {
                    TickAction::None => {}
                    TickAction::SendTick => {
                        if wr.write_all(&TICK).await.is_err() {
                            return Ended::Closed;
                        }
                    }
                    TickAction::Timeout => return Ended::TickTimeout,
                }
            }
        }
    }
}

/// A SEND_SENDER for a peer that did not negotiate DFLAG_SEND_SENDER becomes a plain
/// SEND `{2, '', To}` (protocol-notes §5.1): C nodes (`erl_call`, ei programs, which
/// reach `rex` with `{From, {call, …}}`, §9.4) offer no SEND_SENDER and drop the
/// connection on an op they do not know. Messages are queued before the connection
/// (and so the flags) exist, so this is decided here, per frame.
fn for_peer(control: ControlMessage, flags: DistFlags) -> ControlMessage {
    match control {
        ControlMessage::SendSender { to, token, .. } if !flags.contains(DistFlags::SEND_SENDER) => {
            ControlMessage::Send { to, token }
        }
        other => other,
    }
}

fn encode(
    encoder: &mut DistEncoder,
    peer: &Atom,
    flags: DistFlags,
    m: Outgoing,
    out: &mut Vec<u8>,
) {
    let control = for_peer(m.control, flags);
    if let Err(e) = encoder.encode_frame(&control, m.payload.as_ref(), out) {
        // A term the peer would reject would kill the whole connection (§4.5): drop
        // just this message instead.
        warn!(%peer, op = control.op(), error = %e, "message not sendable; dropped");
    }
}

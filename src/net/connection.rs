//! The tokio driver of one up connection: it only moves bytes and time between the
//! socket, the node and [`crate::proto::connection::Connection`], which holds every
//! rule (docs/protocol.md §4, §5). One task per connection: read what the socket has,
//! hand complete messages to the node, take queued messages (many per write, up to a
//! batch), write what the socket takes, and call the connection at its deadline.
//!
//! Plain TCP and TLS (§17) run the same loop, driven by the socket's readiness;
//! [`DistStream`] hides whether a rustls session sits between the socket and the
//! connection's buffers.

use super::pacing::{self, ReadPacer};
pub(crate) use super::stream::DistStream;
use crate::node::{
    ClosedOutcome, ConnStats, Deliveries, Node, NodeEvent, OutQueue, Outgoing, UpInfo,
};
use crate::proto::connection::{Connection, ConnectionError, Endpoints};
use crate::proto::control::ControlMessage;
use crate::proto::dist::Payload;
use crate::proto::handshake::Established;
use crate::term::Atom;
use std::io::ErrorKind;
use std::sync::Arc;
use std::time::Instant;
use tokio::sync::{mpsc, Notify};
use tracing::{debug, info, warn};

/// Bytes of encoded frames gathered before they are written: past it, queued messages
/// wait in the node's queue (where they count toward its busy limit) instead.
const MAX_BATCH: usize = 256 * 1024;

/// Why a connection ended; the text is the `nodedown_reason` OTP would report.
#[derive(Debug)]
enum Ended {
    Closed,
    Killed,
    Failed(ConnectionError),
}

impl Ended {
    fn reason(&self) -> &'static str {
        match self {
            Ended::Closed => "connection_closed",
            Ended::Killed => "disconnect",
            Ended::Failed(e) => e.nodedown_reason(),
        }
    }
}

/// Runs an established connection until it ends; then reports nodedown.
pub(crate) async fn run(node: Node, stream: DistStream, est: Established, attempt: u64) {
    let peer = Atom::new(&est.peer_name);
    let kill = Arc::new(Notify::new());
    let visible = est.is_visible();
    let stats = Arc::new(ConnStats {
        address: stream.peer_addr(),
        tls: stream.is_tls(),
        ..ConnStats::default()
    });
    let info = UpInfo {
        id: attempt,
        flags: est.negotiated,
        visible,
        kill: kill.clone(),
        stats: stats.clone(),
    };
    let Some((queue, rx)) = node.connections().established(&peer, attempt, info) else {
        debug!(%peer, "connection superseded by another one to the same node; closing");
        return;
    };
    info!(%peer, visible, flags = %est.negotiated, "connection up");
    node.emit(NodeEvent::NodeUp {
        node: peer.clone(),
        visible,
    });
    let conn = Connection::new(
        Endpoints {
            local: node.name().clone(),
            local_creation: node.creation(),
            peer: peer.clone(),
            flags: est.negotiated,
            visible,
        },
        &node.config().connection_config(),
        &est.leftover,
        Instant::now(),
    );
    let ended = drive(&node, conn, stream, &queue, rx, &kill, &stats).await;
    queue.close();
    match &ended {
        Ended::Failed(ConnectionError::TickTimeout) => {
            warn!(%peer, "node not responding; removing (timed out) connection")
        }
        Ended::Failed(e) => warn!(%peer, error = %e, "closing connection"),
        e => info!(%peer, reason = e.reason(), "connection down"),
    }
    // Links break, monitors fire and nodedown is delivered while the entry is marked
    // closing: no new connection to the peer (a dial, an accept, or a new incarnation
    // replacing this one, §2.6) can come up and say nodeup before this nodedown, the
    // order net_kernel keeps and `global` relies on.
    let Some(replaced) = node.connections().closing(&peer, attempt) else {
        return;
    };
    // Killed for a successor: OTP's reason is that of net_kernel's kill.
    let reason = match (&ended, replaced) {
        (Ended::Killed, true) => "wait_pending",
        _ => ended.reason(),
    };
    let _closing = Closing {
        node: &node,
        peer: &peer,
        id: attempt,
    };
    node.connection_lost(&peer);
    node.emit(NodeEvent::NodeDown {
        node: peer.clone(),
        reason: Atom::new(reason),
    });
}

/// Ends the closing of connection `id` to `peer` when dropped (`Connections::closed`):
/// after its nodedown, and also if breaking links or delivering the nodedown panicked,
/// so the peer's entry never stays closing. Then starts the dial or wakes the
/// successor that the entry passed to.
struct Closing<'a> {
    node: &'a Node,
    peer: &'a Atom,
    id: u64,
}

impl Drop for Closing<'_> {
    fn drop(&mut self) {
        match self.node.connections().closed(self.peer, self.id) {
            ClosedOutcome::NotCurrent | ClosedOutcome::Down(None) => {}
            ClosedOutcome::Down(Some(dial)) => self.node.dial(self.peer, dial),
            ClosedOutcome::Replaced(gone) => {
                if let Some(gone) = gone {
                    let _ = gone.send(());
                }
            }
        }
    }
}

/// Takes one queued message into the connection (encoding its control message).
fn take(conn: &mut Connection, queue: &OutQueue, m: Outgoing) {
    queue.taken(&m);
    let payload = m.payload.as_ref().map(Payload::Encoded);
    if let Err(e) = conn.send(&m.control, payload) {
        // A message the peer would reject would kill the whole connection (§4.5):
        // drop just this one.
        warn!(peer = %conn.peer(), op = m.control.op(), error = %e, "message not sendable; dropped");
    }
}

/// What one [`pump`] did.
#[derive(Debug, Default, Clone, Copy)]
struct Pumped {
    /// Messages delivered to processes.
    delivered: usize,
    /// Whether one of them was a spawn request.
    spawn_request: bool,
    /// Queued messages taken into the connection.
    taken: usize,
}

/// Steps 1 and 2 of each turn of the loop: complete messages go to their processes,
/// queued messages are taken into the connection, up to a batch.
#[inline]
fn pump(
    node: &Node,
    memo: &mut Deliveries,
    conn: &mut Connection,
    queue: &OutQueue,
    rx: &mut mpsc::UnboundedReceiver<Outgoing>,
) -> Result<Pumped, Ended> {
    let mut done = Pumped::default();
    loop {
        match conn.poll_message() {
            Ok(Some(msg)) => {
                done.spawn_request |= matches!(msg.control, ControlMessage::SpawnRequest { .. });
                node.dispatch(memo, conn.peer(), msg.control, msg.payload);
                done.delivered += 1;
            }
            Ok(None) => break,
            Err(e) => return Err(Ended::Failed(e)),
        }
    }
    while conn.transmit_len() < MAX_BATCH {
        match rx.try_recv() {
            Ok(m) => {
                take(conn, queue, m);
                done.taken += 1;
            }
            Err(mpsc::error::TryRecvError::Empty) => break,
            Err(mpsc::error::TryRecvError::Disconnected) => return Err(Ended::Killed),
        }
    }
    Ok(done)
}

/// Whether the driver yields after delivering a batch, so that what the receivers
/// answer at once goes out in the same write as what is already due.
///
/// It pays for requests: a spawn request (erpc:call, rpc:call) is answered with a
/// SPAWN_REPLY, due now, and a DOWN carrying the result once the spawned process has
/// run, and a ping or a `gen_server` call is answered by a process that runs for a
/// moment; one write then wakes the calling node once, as a BEAM node's answer does
/// (ping-pong p50 30 µs with the yield against 80 µs without, BENCHMARKS.md). It
/// costs streams of one-way messages: each yield lets the other worker take the
/// connection's task, and the two threads handing it back and forth cost such a
/// stream 30-50 % of its rate. So: always after a spawn request; after another small
/// batch only while yields keep paying off; each yield after which nothing was
/// answered skips twice as many small batches as the last (up to [`MAX_SKIP`]), and
/// one that was answered ends the skipping.
#[derive(Debug, Default)]
struct YieldPolicy {
    /// Small batches still to go without a yield.
    skip: u32,
    /// How many the last unanswered yield skipped.
    backoff: u32,
}

/// Read batches of more than this many messages are a stream, never followed by a
/// yield (8 concurrent callers fit).
const YIELD_BATCH: usize = 16;

/// Most small batches skipped after yields that nothing answered.
const MAX_SKIP: u32 = 64;

impl YieldPolicy {
    fn wants_yield(&mut self, p: &Pumped) -> bool {
        if p.spawn_request {
            return true;
        }
        if p.delivered == 0 || p.delivered > YIELD_BATCH {
            return false;
        }
        if self.skip > 0 {
            self.skip -= 1;
            return false;
        }
        true
    }

    /// After a yield: `answered` is whether the pump after it found answers queued.
    fn yielded(&mut self, answered: bool) {
        if answered {
            self.backoff = 0;
        } else {
            self.backoff = (self.backoff * 2).clamp(1, MAX_SKIP);
            self.skip = self.backoff;
        }
    }
}

/// Polling that ends this soon found traffic that was coming anyway: a stream, or many
/// callers at once, which batch better when the driver sleeps between reads.
const DENSE: std::time::Duration = std::time::Duration::from_micros(20);

/// Most busy turns without polling after polls that did not pay.
const MAX_SPIN_SKIP: u32 = 64;

/// When to poll the socket after a busy turn instead of sleeping until woken
/// ([`crate::NodeConfig::busy_wait`]).
///
/// BEAM's schedulers busy-wait a moment before they sleep (`+sbwt`, medium by
/// default), so a request that arrives soon after the last answer finds them awake.
/// Waking a thread that sleeps in `epoll_wait` costs tens of µs on a VM; polling for a
/// request/response peer's next request halves a ping-pong round trip and nearly
/// doubles one-caller rpc rates (BENCHMARKS.md). A poll pays when it saved a wake-up:
/// the next input came after [`DENSE`] but within the busy wait. One that ended sooner
/// (dense traffic, which batches better when the driver sleeps between reads) or later
/// (an idle peer) did not, and the driver then skips polling for 1, 2, 4, ... busy
/// turns (up to [`MAX_SPIN_SKIP`]); one that paid ends the skipping.
#[derive(Debug, Default)]
struct SpinPolicy {
    /// The busy wait; zero never polls.
    wait: std::time::Duration,
    /// When the current poll started and ends, if one is running.
    polling: Option<(Instant, Instant)>,
    skip: u32,
    backoff: u32,
}

impl SpinPolicy {
    /// After a turn: `busy` is whether it delivered or took messages.
    fn after_turn(&mut self, busy: bool, now: Instant) {
        if !busy || self.wait.is_zero() || self.polling.is_some() {
            return;
        }
        if self.skip > 0 {
            self.skip -= 1;
        } else {
            self.polling = Some((now, now + self.wait));
        }
    }

    /// Whether to poll once more now.
    fn poll_now(&mut self, now: Instant) -> bool {
        match self.polling {
            Some((_, until)) if now < until => true,
            Some(_) => {
                self.ended(false);
                false
            }
            None => false,
        }
    }

    /// Input came while polling.
    fn input(&mut self, now: Instant) {
        if let Some((started, _)) = self.polling {
            self.ended(now.duration_since(started) >= DENSE);
        }
    }

    fn ended(&mut self, paid: bool) {
        self.polling = None;
        if paid {
            self.backoff = 0;
        } else {
            self.backoff = (self.backoff * 2).clamp(1, MAX_SPIN_SKIP);
            self.skip = self.backoff;
        }
    }
}

/// One read of what the socket has into the connection: the bytes that came (0 when
/// nothing was there); the end of the stream or a read error ends the connection.
fn read_some(stream: &mut DistStream, conn: &mut Connection) -> Result<usize, Ended> {
    match stream.read_into(conn) {
        Ok(0) => Err(Ended::Closed),
        Ok(n) => Ok(n),
        Err(e) if e.kind() == ErrorKind::WouldBlock => Ok(0),
        Err(e) => {
            debug!(peer = %conn.peer(), error = %e, "read failed");
            Err(Ended::Closed)
        }
    }
}

/// A paced read ([`ReadPacer`]): what the socket holds, up to [`pacing::MAX_DRAIN`]
/// bytes; the bytes read and whether it stopped at that cap.
fn drain(stream: &mut DistStream, conn: &mut Connection) -> Result<(usize, bool), Ended> {
    let mut total = 0;
    while total < pacing::MAX_DRAIN {
        match stream.read_now_into(conn) {
            Ok(n) if n > 0 => total += n,
            Err(e) if e.kind() == ErrorKind::WouldBlock => return Ok((total, false)),
            // The end of the stream (or an error) after input: the messages read first
            // go to their processes; the next drain meets the end again (the tick is
            // armed while paced, and the end raises readiness whatever the mark).
            _ if total > 0 => return Ok((total, false)),
            Ok(_) => return Err(Ended::Closed),
            Err(e) => {
                debug!(peer = %conn.peer(), error = %e, "read failed");
                return Err(Ended::Closed);
            }
        }
    }
    Ok((total, true))
}

/// A read on readiness, not paced: tells the pacer, and raises the low-water mark if
/// that read turned pacing on.
fn read_unpaced(
    stream: &mut DistStream,
    conn: &mut Connection,
    pacer: &mut ReadPacer,
    stats: &ConnStats,
) -> Result<usize, Ended> {
    let n = read_some(stream, conn)?;
    if pacer.read(n, Instant::now()) {
        if stream.set_recv_lowat(pacing::LOWAT) {
            debug!(peer = %conn.peer(), "a stream of small messages: reading on a clock");
            stats.paced_now(true);
        } else {
            pacer.set_paced(false);
        }
    }
    Ok(n)
}

/// A paced drain (`on_tick`: the clock started it); back to reading on arrival, with
/// the low-water mark lowered, when the pacer says the stream has thinned.
fn read_paced(
    stream: &mut DistStream,
    conn: &mut Connection,
    pacer: &mut ReadPacer,
    on_tick: bool,
    stats: &ConnStats,
) -> Result<(), Ended> {
    let (n, capped) = drain(stream, conn)?;
    if pacer.drained(n, on_tick, capped) {
        if stream.set_recv_lowat(1) {
            debug!(peer = %conn.peer(), "stream thinned: reading on arrival");
            stats.paced_now(false);
        } else {
            // Arrivals under the mark would wake nothing: the clock goes on reading.
            pacer.set_paced(true);
        }
    }
    Ok(())
}

async fn drive(
    node: &Node,
    mut conn: Connection,
    mut stream: DistStream,
    queue: &OutQueue,
    mut rx: mpsc::UnboundedReceiver<Outgoing>,
    kill: &Notify,
    stats: &ConnStats,
) -> Ended {
    let timer = tokio::time::sleep_until(conn.poll_timeout().into());
    tokio::pin!(timer);
    let mut policy = YieldPolicy::default();
    let mut memo = Deliveries::default();
    let mut spin = SpinPolicy {
        wait: node.config().busy_wait,
        ..SpinPolicy::default()
    };
    // rustls reads records through tokio's readiness, which pacing holds back: TLS
    // connections read on arrival; so do connections where no low-water mark holds
    // arrivals back (not Linux), since the clock would only add wake-ups there.
    let mut pacer = ReadPacer::new(if stream.is_tls() || !cfg!(target_os = "linux") {
        std::time::Duration::ZERO
    } else {
        node.config().read_pacing
    });
    let tick = tokio::time::sleep_until(Instant::now().into());
    tokio::pin!(tick);
    let mut tick_armed = false;
    loop {
        // 1. Messages already complete go to their processes; 2. take what is
        // queued, up to a batch.
        let busy = match pump(node, &mut memo, &mut conn, queue, &mut rx) {
            Ok(p) if policy.wants_yield(&p) => {
                tokio::task::yield_now().await;
                match pump(node, &mut memo, &mut conn, queue, &mut rx) {
                    Ok(again) => policy.yielded(again.taken > 0),
                    Err(ended) => return ended,
                }
                true
            }
            Ok(p) => p.delivered > 0 || p.taken > 0,
            Err(ended) => return ended,
        };
        stats.record(conn.message_counts());
        // 3. Write what the socket takes now.
        if conn.transmit_len() > 0 {
            pacer.wrote();
        }
        if let Err(e) = stream.write_from(&mut conn) {
            debug!(peer = %conn.peer(), error = %e, "write failed");
            return Ended::Closed;
        }
        // Paced, and the last drain was cut short: the rest now (this path has no
        // other await: the budget lets the node's other tasks run).
        if pacer.drain_now() {
            tokio::task::consume_budget().await;
            if let Err(ended) = read_paced(&mut stream, &mut conn, &mut pacer, false, stats) {
                return ended;
            }
            continue;
        }
        let want_write = stream.wants_write(&conn);
        let room = conn.transmit_len() < MAX_BATCH;
        // 4a. Poll for a while after a busy turn (SpinPolicy), letting the node's other
        // tasks run in between; the next turn takes what came.
        let now = Instant::now();
        spin.after_turn(busy, now);
        if !want_write && !pacer.paced() && spin.poll_now(now) {
            tokio::select! {
                biased;
                _ = kill.notified() => return Ended::Killed,
                _ = &mut timer => {
                    if let Err(e) = conn.handle_timeout(Instant::now()) {
                        return Ended::Failed(e);
                    }
                    timer.as_mut().reset(conn.poll_timeout().into());
                }
                _ = tokio::task::yield_now() => {}
            }
            match read_unpaced(&mut stream, &mut conn, &mut pacer, stats) {
                Ok(n) if n > 0 || !rx.is_empty() => spin.input(Instant::now()),
                Ok(_) => {}
                Err(ended) => return ended,
            }
            continue;
        }
        // 4b. Wait for the socket (paced: for the read clock, or a low-water mark's
        // worth of input), the queue, the connection's deadline or a kill.
        let paced = pacer.paced();
        if paced && !tick_armed {
            tick.as_mut()
                .reset((Instant::now() + pacer.period()).into());
            tick_armed = true;
        }
        tokio::select! {
            _ = kill.notified() => return Ended::Killed,
            r = stream.tcp().readable() => {
                if let Err(e) = r {
                    debug!(peer = %conn.peer(), error = %e, "read failed");
                    return Ended::Closed;
                }
                let r = if paced {
                    read_paced(&mut stream, &mut conn, &mut pacer, false, stats)
                } else {
                    read_unpaced(&mut stream, &mut conn, &mut pacer, stats).map(drop)
                };
                if let Err(ended) = r {
                    return ended;
                }
            }
            _ = &mut tick, if paced => {
                tick_armed = false;
                if let Err(ended) = read_paced(&mut stream, &mut conn, &mut pacer, true, stats) {
                    return ended;
                }
            }
            r = stream.tcp().writable(), if want_write => {
                if let Err(e) = r {
                    debug!(peer = %conn.peer(), error = %e, "write failed");
                    return Ended::Closed;
                }
            }
            m = rx.recv(), if room => match m {
                Some(m) => take(&mut conn, queue, m),
                None => return Ended::Killed,
            },
            _ = &mut timer => {
                if let Err(e) = conn.handle_timeout(Instant::now()) {
                    return Ended::Failed(e);
                }
                timer.as_mut().reset(conn.poll_timeout().into());
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn batch(delivered: usize, spawn_request: bool) -> Pumped {
        Pumped {
            delivered,
            spawn_request,
            taken: 0,
        }
    }

    #[test]
    fn polls_while_it_pays_and_backs_off_from_dense_or_idle_traffic() {
        use std::time::Duration;
        let wait = Duration::from_micros(150);
        let mut p = SpinPolicy {
            wait,
            ..SpinPolicy::default()
        };
        let t0 = Instant::now();
        let at = |us: u64| t0 + Duration::from_micros(us);
        // Request/response: the next request comes 60 µs after the answer, every time.
        for round in 0..10 {
            let start = at(round * 1000);
            p.after_turn(true, start);
            assert!(p.poll_now(start + Duration::from_micros(30)));
            p.input(start + Duration::from_micros(60));
            assert!(p.polling.is_none() && p.skip == 0);
        }
        // Dense traffic: input within DENSE; polls get rarer, 1, 2, 4, ... turns apart.
        let mut polls = 0;
        for turn in 0..1000 {
            let now = at(20_000 + turn * 10);
            p.after_turn(true, now);
            if p.poll_now(now) {
                polls += 1;
                p.input(now + Duration::from_micros(2));
            }
        }
        assert!(polls <= 1000 / MAX_SPIN_SKIP as usize + 7, "{polls} polls");
        // An idle peer: the poll runs out, which does not pay either.
        let mut q = SpinPolicy {
            wait,
            ..SpinPolicy::default()
        };
        q.after_turn(true, at(0));
        assert!(!q.poll_now(at(151)));
        assert_eq!(q.skip, 1);
        // No busy turn, no poll; a zero busy wait never polls.
        let mut r = SpinPolicy::default();
        r.after_turn(true, at(0));
        assert!(!r.poll_now(at(1)));
        let mut s = SpinPolicy {
            wait,
            ..SpinPolicy::default()
        };
        s.after_turn(false, at(0));
        assert!(!s.poll_now(at(1)));
    }

    #[test]
    fn yields_for_answers_and_backs_off_from_streams() {
        let mut p = YieldPolicy::default();
        // Requests that are answered: a yield every time.
        for _ in 0..10 {
            assert!(p.wants_yield(&batch(1, false)));
            p.yielded(true);
        }
        // Nothing comes back: 1, 2, 4, ... small batches skipped, up to MAX_SKIP.
        let mut yields = 0;
        for _ in 0..1000 {
            if p.wants_yield(&batch(3, false)) {
                yields += 1;
                p.yielded(false);
            }
        }
        assert!(yields <= 1000 / MAX_SKIP as usize + 7, "{yields} yields");
        assert_eq!(p.backoff, MAX_SKIP);
        // A spawn request always gets its yield; large batches and empty turns never.
        assert!(p.wants_yield(&batch(1, true)));
        assert!(!p.wants_yield(&batch(YIELD_BATCH + 1, false)));
        assert!(!p.wants_yield(&batch(0, false)));
        // One answered yield ends the skipping.
        p.yielded(true);
        p.skip = 0;
        assert!(p.wants_yield(&batch(2, false)));
        p.yielded(true);
        assert!(p.wants_yield(&batch(2, false)));
    }
}

//! Read pacing: while a peer streams small messages at this node, a connection's driver
//! reads its socket on a clock instead of at every arrival
//! ([`crate::NodeConfig::read_pacing`]; docs/design-choices.md, "Read pacing").
//!
//! Why: reading each TCP segment as it lands costs a wake-up of the node's worker
//! thread per segment, and a stream of small messages arrives a message or two per
//! segment (measured: a BEAM node streaming `{seq, N, <<64 B>>}` into beamnode at
//! 200,000 messages/s made it wake 16,000 times a second and spend 3.1 µs of CPU per
//! message; BENCHMARKS.md, 2026-12-07). Paced, arrivals raise no readiness event (the
//! socket's receive low-water mark is raised), the driver reads everything once per
//! period and hands the messages on in one batch: 1.0-1.1 µs per message.
//!
//! Only for streams, since a peer waiting for an answer would wait for the clock. A
//! connection reads on arrival and turns to the clock when [`DENSE_READS`] reads of
//! less than [`SMALL_READ`] bytes came within [`DENSE_SPAN`] with nothing written back
//! in between (the peer is not waiting for us); it reads on arrival again after
//! [`THIN_TICKS`] ticks in a row found less than [`MIN_TICK_BYTES`] (the stream thinned
//! or stopped, or the peer now waits for answers). Large messages never turn it on: each
//! read is large already.

use std::time::{Duration, Instant};

/// Default period of the clock: tokio's timers have millisecond resolution.
pub const DEFAULT_PERIOD: Duration = Duration::from_millis(1);

/// A read of at least this many bytes is not a small one.
pub(crate) const SMALL_READ: usize = 16 * 1024;

/// Small reads in a row, with nothing written in between, that make a stream ...
pub(crate) const DENSE_READS: u32 = 16;

/// ... when they all came within this span.
pub(crate) const DENSE_SPAN: Duration = Duration::from_millis(1);

/// A tick that finds less than this is thin.
pub(crate) const MIN_TICK_BYTES: usize = 4 * 1024;

/// Thin ticks in a row that end pacing (one alone is often a pause of the sender).
pub(crate) const THIN_TICKS: u32 = 2;

/// Most bytes read in one go before the messages they hold are handed on; the rest is
/// read right after, without waiting for the next tick.
pub(crate) const MAX_DRAIN: usize = 256 * 1024;

/// The receive low-water mark while paced: arrivals that leave less unread do not wake
/// the driver; once this much is waiting it is read at once, whatever the clock says.
/// Small enough that Linux need not grow the receive buffer for it (a mark whose buffer
/// space exceeds `SO_RCVBUF` grows the buffer and clamps the advertised window to the
/// mark, which would outlive pacing), large enough that a tick's input fits under it.
pub(crate) const LOWAT: usize = 32 * 1024;

/// The read pacing state of one connection: read sizes, writes and instants in; whether
/// to wait for the socket or for the clock out. No I/O, no clock of its own.
#[derive(Debug)]
pub(crate) struct ReadPacer {
    /// The clock's period; zero never paces.
    period: Duration,
    /// Small reads in the current run (nothing written in between) and its start.
    run: u32,
    run_start: Option<Instant>,
    /// Reading on the clock.
    paced: bool,
    /// The last drain stopped at [`MAX_DRAIN`]: the socket may hold more now.
    more: bool,
    /// Thin ticks in a row.
    thin: u32,
}

impl ReadPacer {
    pub fn new(period: Duration) -> ReadPacer {
        ReadPacer {
            period,
            run: 0,
            run_start: None,
            paced: false,
            more: false,
            thin: 0,
        }
    }

    /// Reads are paced: the driver drains the socket when it reads, and waits for the
    /// clock (or a low-water mark's worth) unless [`ReadPacer::drain_now`].
    pub fn paced(&self) -> bool {
        self.paced
    }

    /// Paced, and the last drain was cut short: drain again without waiting.
    pub fn drain_now(&self) -> bool {
        self.paced && self.more
    }

    /// The period of the clock.
    pub fn period(&self) -> Duration {
        self.period
    }

    /// A read on readiness (not paced) got `n` bytes at `now`. Returns true when this
    /// read turned pacing on.
    pub fn read(&mut self, n: usize, now: Instant) -> bool {
        if self.paced || self.period.is_zero() || n == 0 {
            return false;
        }
        if n >= SMALL_READ {
            self.end_run();
            return false;
        }
        match self.run_start {
            Some(start) if now.duration_since(start) <= DENSE_SPAN => self.run += 1,
            _ => {
                self.run_start = Some(now);
                self.run = 1;
            }
        }
        if self.run < DENSE_READS {
            return false;
        }
        self.paced = true;
        self.more = false;
        self.thin = 0;
        self.end_run();
        true
    }

    /// Overrides the mode: the driver could not apply the change to the socket.
    pub fn set_paced(&mut self, on: bool) {
        self.paced = on;
        self.more = false;
        self.thin = 0;
        self.end_run();
    }

    /// The driver wrote to the socket: a peer it answers may be waiting for it.
    pub fn wrote(&mut self) {
        if !self.paced {
            self.end_run();
        }
    }

    /// A paced drain read `n` bytes; `on_tick`: the clock started it; `capped`: it
    /// stopped at [`MAX_DRAIN`]. Returns true when pacing ended.
    pub fn drained(&mut self, n: usize, on_tick: bool, capped: bool) -> bool {
        if !self.paced {
            return false;
        }
        self.more = capped;
        if on_tick && !capped && n < MIN_TICK_BYTES {
            self.thin += 1;
        } else if on_tick || n >= MIN_TICK_BYTES {
            self.thin = 0;
        }
        if self.thin < THIN_TICKS {
            return false;
        }
        self.paced = false;
        self.more = false;
        self.thin = 0;
        self.end_run();
        true
    }

    fn end_run(&mut self) {
        self.run = 0;
        self.run_start = None;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(t: Instant, micros: u64) -> Instant {
        t + Duration::from_micros(micros)
    }

    fn paced(t: Instant) -> ReadPacer {
        let mut p = ReadPacer::new(DEFAULT_PERIOD);
        for i in 0..DENSE_READS {
            p.read(100, at(t, i as u64));
        }
        assert!(p.paced());
        p
    }

    #[test]
    fn a_dense_run_of_small_reads_turns_to_the_clock() {
        let t = Instant::now();
        let mut p = ReadPacer::new(DEFAULT_PERIOD);
        for i in 0..DENSE_READS - 1 {
            assert!(!p.read(400, at(t, 10 * i as u64)), "read {i}");
            assert!(!p.paced());
        }
        assert!(p.read(400, at(t, 900)));
        assert!(p.paced() && !p.drain_now());
    }

    #[test]
    fn answers_large_reads_slow_reads_and_a_zero_period_keep_reading_on_arrival() {
        let t = Instant::now();
        // Something written back every few reads: a peer waiting for answers.
        let mut p = ReadPacer::new(DEFAULT_PERIOD);
        for i in 0..1000 {
            p.read(400, at(t, i));
            if i % (DENSE_READS as u64 - 1) == 0 {
                p.wrote();
            }
        }
        assert!(!p.paced());
        let mut p = ReadPacer::new(DEFAULT_PERIOD);
        for i in 0..1000 {
            p.read(SMALL_READ, at(t, i));
        }
        assert!(!p.paced());
        // Small reads, but spread over more than DENSE_SPAN.
        let mut p = ReadPacer::new(DEFAULT_PERIOD);
        for i in 0..1000 {
            p.read(400, at(t, 100 * i));
        }
        assert!(!p.paced());
        // Empty reads do not count.
        let mut p = ReadPacer::new(DEFAULT_PERIOD);
        for i in 0..1000 {
            p.read(0, at(t, i));
        }
        assert!(!p.paced());
        let mut p = ReadPacer::new(Duration::ZERO);
        for i in 0..1000 {
            p.read(400, at(t, i));
        }
        assert!(!p.paced());
    }

    #[test]
    fn thin_ticks_in_a_row_end_pacing_and_a_capped_drain_reads_on() {
        let t = Instant::now();
        let mut p = paced(t);
        // Writes while paced do not matter; a full tick keeps it.
        p.wrote();
        assert!(!p.drained(MIN_TICK_BYTES, true, false));
        // A capped drain is read on at once, then the clock again.
        assert!(!p.drained(MAX_DRAIN, true, true));
        assert!(p.drain_now());
        assert!(!p.drained(100, false, false));
        assert!(p.paced() && !p.drain_now());
        // One thin tick is a pause; a full one between resets the count.
        assert!(!p.drained(10, true, false));
        assert!(!p.drained(MIN_TICK_BYTES, true, false));
        assert!(!p.drained(10, true, false));
        assert!(p.paced());
        // Two thin ticks in a row end it; turning it on again needs a new dense run.
        assert!(p.drained(MIN_TICK_BYTES - 1, true, false));
        assert!(!p.paced() && !p.drain_now());
        assert!(!p.read(100, at(t, 5000)));
        assert!(!p.paced());
        // A low-water mark's worth before the tick (not on_tick) is not a thin tick.
        let mut p = paced(t);
        assert!(!p.drained(10, true, false));
        assert!(!p.drained(LOWAT, false, false));
        assert!(!p.drained(10, true, false));
        assert!(p.paced());
    }
}

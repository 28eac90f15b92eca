//! Tick bookkeeping for one connection (docs/protocol.md §4.1), as data: the driver calls
//! [`TickState::on_timer`] every `net_ticktime / intensity` and records reads and writes.

/// What the driver must do at a tick-timer firing.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TickAction {
    /// Nothing to do.
    None,
    /// Write a tick (a zero-length frame).
    SendTick,
    /// Nothing was read for `intensity` consecutive intervals: the peer is down
    /// (`net_tick_timeout`).
    Timeout,
}

/// Liveness state of one connection.
#[derive(Debug, Clone)]
pub struct TickState {
    intensity: u32,
    hidden: bool,
    read_since_last: bool,
    wrote_since_last: bool,
    silent_intervals: u32,
}

impl TickState {
    /// `intensity` is `net_tickintensity` (clamped to 4..=1000 as OTP does).
    /// `hidden` connections also tick whenever nothing was read, since old C nodes only
    /// tick in reply to a tick.
    pub fn new(intensity: u32, hidden: bool) -> Self {
        TickState {
            intensity: intensity.clamp(4, 1000),
            hidden,
            read_since_last: false,
            wrote_since_last: false,
            silent_intervals: 0,
        }
    }
    /// Any bytes arrived (data or tick): liveness is measured on bytes read.
    pub fn on_read(&mut self) {
        self.read_since_last = true;
    }
    /// A frame was written.
    pub fn on_write(&mut self) {
        self.wrote_since_last = true;
    }
    /// The tick timer fired.
    pub fn on_timer(&mut self) -> TickAction {
        let read = std::mem::take(&mut self.read_since_last);
        let wrote = std::mem::take(&mut self.wrote_since_last);
        if read {
            self.silent_intervals = 0;
        } else {
            self.silent_intervals += 1;
            if self.silent_intervals >= self.intensity {
                return TickAction::Timeout;
            }
        }
        if !wrote || (self.hidden && !read) {
            TickAction::SendTick
        } else {
            TickAction::None
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn silent_peer_times_out_after_intensity_intervals() {
        let mut t = TickState::new(4, false);
        assert_eq!(t.on_timer(), TickAction::SendTick);
        assert_eq!(t.on_timer(), TickAction::SendTick);
        assert_eq!(t.on_timer(), TickAction::SendTick);
        assert_eq!(t.on_timer(), TickAction::Timeout);
    }

    #[test]
    fn reading_resets_and_writing_suppresses_ticks() {
        let mut t = TickState::new(4, false);
        for _ in 0..10 {
            t.on_read();
            t.on_write();
            assert_eq!(t.on_timer(), TickAction::None);
        }
        t.on_read();
        assert_eq!(t.on_timer(), TickAction::SendTick);
    }

    #[test]
    fn hidden_connection_ticks_when_nothing_read() {
        let mut t = TickState::new(4, true);
        t.on_write();
        assert_eq!(t.on_timer(), TickAction::SendTick);
    }
}

//! Sans-IO protocol layer: codecs and state machines with no I/O, clock or RNG inside.

pub mod connection;
pub mod control;
pub mod dist;
pub mod epmd;
pub mod flags;
pub mod framing;
pub mod handshake;
pub mod tick;
pub mod transmit;

pub use flags::DistFlags;

//! The distribution handshake (docs/protocol.md §2) as sans-IO state machines.
//!
//! Nothing in here touches a socket, a clock or a random number generator: the driver
//! (under `src/net/`) reads bytes, feeds them to [`Initiator::handle`] or
//! [`Acceptor::handle`], writes whatever the returned [`Step`] says to send, and keeps
//! the setup timer (`net_setuptime`, §2.1) itself. Challenges, creations and the
//! randomness of dynamic names are injected through the configs.
//!
//! Every state is consumed by `handle(self, ..)`, so a stale state cannot be fed twice.
//!
//! * [`messages`]: byte layouts of every handshake message (§2.2) and the 2-byte
//!   framing (§2.1).
//! * [`digest`]: the MD5 challenge digest (§2.3) and the [`Cookie`] type.
//! * [`framing`]: the 4-byte handshake framing of TLS distribution (§17.2).
//! * [`status`]: net_kernel's simultaneous-connect rule (§2.6).
//! * [`initiator`]: the side that dials (A). [`acceptor`]: the side that listens (B).

pub mod acceptor;
pub mod digest;
pub mod error;
pub mod framing;
pub mod initiator;
pub mod messages;
pub mod status;

pub use acceptor::{
    Acceptor, AcceptorAwaitingStatus, AcceptorClosed, AcceptorConfig, AcceptorNext,
};
pub use digest::{digests_equal, gen_digest, Cookie, Digest};
pub use error::HandshakeError;
pub use framing::{HandshakeFraming, WireFraming};
pub use initiator::{Initiator, InitiatorConfig, InitiatorNext, LocalName};
pub use messages::{Status, StatusMessage};
pub use status::accept_status;

use crate::proto::DistFlags;

/// What one call into a state machine produced: bytes to write to the peer (possibly
/// empty, always written before acting on `next`) and what comes next.
#[derive(Debug)]
pub struct Step<N> {
    /// Complete handshake messages, already framed with their 2-byte length.
    pub send: Vec<u8>,
    /// The next state or the outcome.
    pub next: N,
}

/// A completed handshake: everything the connection driver needs to switch to
/// 4-byte framing (§4.1).
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct Established {
    /// The peer's full node name (`Name@Host`); for a NAME_ME peer, the name we assigned.
    pub peer_name: String,
    /// The peer's creation (for a NAME_ME peer, the creation we assigned).
    pub peer_creation: u32,
    /// The peer's flags with `MANDATORY_25_DIGEST` expanded (§3.2).
    pub peer_flags: DistFlags,
    /// Our (expanded) flags AND the peer's (expanded) flags: what both sides use (§3.3).
    pub negotiated: DistFlags,
    /// Our full node name; assigned by the peer if we asked for a dynamic name.
    pub our_name: String,
    /// Our creation; assigned by the peer if we asked for a dynamic name.
    pub our_creation: u32,
    /// Bytes already received after the last handshake message. They are the start of
    /// the first 4-byte-framed frame and must be fed to the frame decoder first.
    pub leftover: Vec<u8>,
    /// Acceptor only: the peer answered `true` to our `alive` status, i.e. it really is
    /// reconnecting. The driver must tear down the old connection to this node before
    /// registering this one (§2.6).
    pub replaces_existing: bool,
}

impl Established {
    /// The connection is visible (appears in `nodes()`, speaks global/pg/rex) only if
    /// both sides set PUBLISHED (§3.4).
    pub fn is_visible(&self) -> bool {
        self.negotiated.is_visible()
    }
}

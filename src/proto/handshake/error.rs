//! Handshake errors (docs/protocol.md §2).

use crate::proto::DistFlags;

/// Why a handshake failed. Every variant means "close the connection".
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum HandshakeError {
    /// A 2-byte framed message with length 0 (no tag byte).
    #[error("empty handshake message")]
    EmptyMessage,
    /// A message with a tag not allowed at this point of the handshake.
    #[error("expected a {expected} message, got tag {tag:#04x}")]
    UnexpectedMessage {
        /// What this state waits for.
        expected: &'static str,
        /// The tag byte that arrived.
        tag: u8,
    },
    /// The message had the right tag but a wrong layout.
    #[error("malformed {message} message: {reason}")]
    Malformed {
        /// Which message.
        message: &'static str,
        /// What was wrong.
        reason: &'static str,
    },
    /// A status text that is none of those in §2.2.
    #[error("unknown handshake status {0:?}")]
    UnknownStatus(String),
    /// A status that is valid on the wire but not at this point (e.g. `named:` although
    /// we did not ask for a dynamic name).
    #[error("unexpected handshake status {0}")]
    UnexpectedStatus(String),
    /// A node name that is not `Name@Host` (or, with NAME_ME, not a bare host).
    #[error("invalid node name {name:?}: {reason}")]
    InvalidNodeName {
        /// The offending name.
        name: String,
        /// What is wrong with it.
        reason: &'static str,
    },
    /// OTP hashes the cookie one byte per character (§2.3); it cannot hash this one.
    #[error("cookie contains characters above U+00FF (OTP hashes cookies as Latin-1)")]
    CookieNotLatin1,
    /// The challenge came from a node with another name than the one we dialled (§2.5).
    #[error("dialled {dialled} but the peer calls itself {got}")]
    NameMismatch {
        /// The node name we dialled.
        dialled: String,
        /// The name in the peer's challenge.
        got: String,
    },
    /// The peer lacks distribution flags we require ([`DistFlags::REQUIRED`]).
    #[error("node {peer} cannot handle {missing} (missing mandatory distribution flags)")]
    MissingFlags {
        /// The peer's node name as it presented itself.
        peer: String,
        /// The required flags it did not offer (after digest expansion).
        missing: DistFlags,
    },
    /// The peer's challenge reply digest is wrong: its cookie for us differs from ours.
    #[error("invalid challenge reply from {peer} (cookie mismatch)")]
    InvalidChallengeReply {
        /// The peer's node name.
        peer: String,
    },
    /// The peer's challenge ack digest is wrong: its cookie for us differs from ours.
    #[error("invalid challenge ack from {peer} (cookie mismatch)")]
    InvalidChallengeAck {
        /// The peer's node name.
        peer: String,
    },
    /// The peer answered status `not_allowed` (allow-list or our flags).
    #[error("{peer} refused the connection (not_allowed)")]
    NotAllowed {
        /// The node we dialled.
        peer: String,
    },
    /// A node name longer than a handshake message can carry.
    #[error("node name too long for a handshake message ({0} bytes)")]
    NameTooLong(usize),
    /// A 4-byte-framed handshake message (TLS, §17.2) longer than any handshake
    /// message can be.
    #[error("handshake message of {0} bytes (at most 65535)")]
    MessageTooLong(usize),
}

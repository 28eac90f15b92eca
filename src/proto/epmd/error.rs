//! Errors of the EPMD codec, client and server (docs/protocol.md §1).

use std::time::Duration;

/// Why a node name was refused (§1.2: UTF-8, no NUL, 1..=255 characters).
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum NameError {
    /// Zero-length name.
    #[error("node name is empty")]
    Empty,
    /// More than 255 characters (the count is given).
    #[error("node name has {0} characters, more than 255")]
    TooLong(usize),
    /// Not valid UTF-8.
    #[error("node name is not valid UTF-8")]
    NotUtf8,
    /// Contains a NUL byte.
    #[error("node name contains a NUL byte")]
    ContainsNul,
}

/// Everything that can go wrong talking to or being EPMD.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum EpmdError {
    /// The 2-byte `Len` prefix is 0 or makes the packet reach 3060 bytes (§1.1).
    #[error("EPMD request length {0} out of range 1..=3057")]
    BadLength(usize),
    /// A request code EPMD does not know.
    #[error("unknown EPMD request code {0}")]
    UnknownRequest(u8),
    /// A response that does not start with the expected code.
    #[error("unexpected EPMD response code {0}")]
    UnexpectedResponse(u8),
    /// A field's declared size runs past the end of the packet.
    #[error("malformed {what}: {detail}")]
    Malformed {
        /// Which message.
        what: &'static str,
        /// What was wrong.
        detail: &'static str,
    },
    /// A node name EPMD would refuse.
    #[error("invalid node name: {0}")]
    InvalidName(#[from] NameError),
    /// `Extra` longer than 1020 bytes (§1.2).
    #[error("extra data is {0} bytes, more than 1020")]
    ExtraTooLong(usize),
    /// The registry already holds its configured maximum of names
    /// ([`crate::proto::epmd::EpmdRegistry::with_max_names`]); EPMD answers result 1.
    #[error("EPMD refused to register {name:?}: {limit} names are registered, the maximum")]
    TooManyNames {
        /// The alive name that was refused.
        name: String,
        /// The configured maximum.
        limit: usize,
    },
    /// EPMD answered ALIVE2 with a non-zero result: name taken (or refused) (§1.2).
    #[error("EPMD refused to register {name:?} (result {result}): duplicate or invalid name")]
    DuplicateName {
        /// The alive name we tried to register.
        name: String,
        /// EPMD's result byte.
        result: u8,
    },
    /// A socket error.
    #[error("EPMD I/O error: {0}")]
    Io(#[from] std::io::Error),
    /// No answer within the allowed time.
    #[error("timed out after {after:?} while {during}")]
    Timeout {
        /// The limit that expired.
        after: Duration,
        /// What we were doing.
        during: &'static str,
    },
    /// EPMD closed the connection before a complete reply arrived.
    #[error("EPMD closed the connection before a complete reply")]
    ConnectionClosed,
    /// A reply larger than we are willing to buffer.
    #[error("EPMD reply larger than {0} bytes")]
    ResponseTooLarge(usize),
    /// The EPMD host name did not resolve to any address.
    #[error("cannot resolve EPMD host {0:?}")]
    Resolve(String),
}

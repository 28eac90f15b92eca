//! EPMD, the Erlang port mapper daemon: sans-IO message codec and registry
//! (docs/protocol.md §1).
//!
//! * [`EpmdRequest`] — the requests a client sends, each framed as `Len:16 | Request`
//!   (§1.1). Decoding is two-pass: [`request_frame_len`] answers "is a whole request in
//!   this buffer?" (an incomplete request is *not* an error), then
//!   [`EpmdRequest::decode_body`] parses it.
//! * Responses ([`Alive2Resp`], [`Port2Resp`], [`NamesResp`], [`DumpResp`], [`KillResp`],
//!   [`StopResp`]) are **not** length-prefixed (§1.1); each has its own completeness rule.
//! * [`EpmdRegistry`] — the name table of an EPMD server, including creation numbers
//!   (§1.3). It takes the wall clock as a parameter so it stays a plain, testable struct.
//!
//! No sockets, clocks or random numbers live here; `crate::net` drives these types.

mod error;
mod registry;
mod request;
mod response;

pub use error::{EpmdError, NameError};

use byteorder::{BigEndian, ByteOrder};
pub use registry::{
    ConnectionId, EpmdRegistry, Outcome, DEFAULT_MAX_NAMES, DEFAULT_MAX_UNUSED_NAMES,
};
pub use request::{request_frame_len, EpmdRequest};
pub use response::{Alive2Resp, DumpEntry, DumpResp, KillResp, NamesResp, Port2Resp, StopResp};

/// Default EPMD TCP port (`EPMD_PORT_NO`, §1.1); `ERL_EPMD_PORT` overrides it.
pub const DEFAULT_EPMD_PORT: u16 = 4369;

/// `MAXSYMLEN` in `epmd_int.h`: 255 characters of up to 4 UTF-8 bytes each (§1.1). Also
/// the limit for the opaque `Extra` field (§1.2).
pub const MAX_SYMBOL_BYTES: usize = 255 * 4;

/// Maximum node-name length in *characters* (§1.2).
pub const MAX_NAME_CHARS: usize = 255;

/// `INBUF_SIZE = 3 * MAXSYMLEN`: EPMD refuses any request whose total size, length prefix
/// included, reaches this (§1.1).
pub const INBUF_SIZE: usize = 3 * MAX_SYMBOL_BYTES;

/// Largest value of the 2-byte `Len` prefix EPMD accepts (`Len + 2 < INBUF_SIZE`).
pub const MAX_REQUEST_LEN: usize = INBUF_SIZE - 3;

/// Request codes (§1.2).
pub mod code {
    /// `ALIVE2_REQ`, `'x'`.
    pub const ALIVE2_REQ: u8 = 120;
    /// `ALIVE2_X_RESP`, `'v'` (32-bit creation, sent when HighestVersion ≥ 6).
    pub const ALIVE2_X_RESP: u8 = 118;
    /// `ALIVE2_RESP`, `'y'` (16-bit creation, sent when HighestVersion < 6).
    pub const ALIVE2_RESP: u8 = 121;
    /// `PORT_PLEASE2_REQ`, `'z'`.
    pub const PORT_PLEASE2_REQ: u8 = 122;
    /// `PORT2_RESP`, `'w'`.
    pub const PORT2_RESP: u8 = 119;
    /// `NAMES_REQ`, `'n'`.
    pub const NAMES_REQ: u8 = 110;
    /// `DUMP_REQ`, `'d'`.
    pub const DUMP_REQ: u8 = 100;
    /// `KILL_REQ`, `'k'`.
    pub const KILL_REQ: u8 = 107;
    /// `STOP_REQ`, `'s'`.
    pub const STOP_REQ: u8 = 115;
}

/// NodeType 77 (`'M'`), "normal node". OTP registers this even for `-hidden` nodes (§1.2).
pub const NODE_TYPE_NORMAL: u8 = 77;
/// NodeType 72 (`'H'`), "hidden node" — defined by the protocol but not used by OTP (§1.2).
pub const NODE_TYPE_HIDDEN: u8 = 72;
/// NodeType 104 (`'h'`) registered by erl_interface C-nodes (§1.2).
pub const NODE_TYPE_C_NODE: u8 = 104;
/// Protocol 0 = TCP/IPv4; OTP sends it even for IPv6 distribution (§1.2).
pub const PROTOCOL_TCP_IPV4: u8 = 0;
/// HighestVersion OTP 25.2.3 registers (verified on the wire, §16.1).
pub const OTP_HIGHEST_VERSION: u16 = 6;
/// LowestVersion OTP 25.2.3 registers (verified on the wire, §16.1).
pub const OTP_LOWEST_VERSION: u16 = 5;
/// The creation value EPMD puts in a failed ALIVE2 reply (§1.2).
pub const FAILED_CREATION: u16 = 99;

/// What a node registers with EPMD and what `PORT2_RESP` hands back (§1.2).
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct NodeInfo {
    /// The alive name: the part before `@`.
    pub name: String,
    /// The distribution listen port.
    pub port: u16,
    /// [`NODE_TYPE_NORMAL`] etc. EPMD does not interpret it.
    pub node_type: u8,
    /// [`PROTOCOL_TCP_IPV4`].
    pub protocol: u8,
    /// Highest distribution version the node speaks.
    pub highest_version: u16,
    /// Lowest distribution version the node speaks.
    pub lowest_version: u16,
    /// Opaque extra data (OTP sends none), at most [`MAX_SYMBOL_BYTES`].
    pub extra: Vec<u8>,
}

impl NodeInfo {
    /// The registration OTP 25 itself sends: NodeType 77 (even when hidden), Protocol 0,
    /// versions 6/5, no extra (§1.2, §16.1).
    pub fn otp(name: impl Into<String>, port: u16) -> NodeInfo {
        NodeInfo {
            name: name.into(),
            port,
            node_type: NODE_TYPE_NORMAL,
            protocol: PROTOCOL_TCP_IPV4,
            highest_version: OTP_HIGHEST_VERSION,
            lowest_version: OTP_LOWEST_VERSION,
            extra: Vec::new(),
        }
    }

    /// Checks the limits EPMD enforces on a registration (§1.2).
    pub fn validate(&self) -> Result<(), EpmdError> {
        validate_name(self.name.as_bytes())?;
        if self.extra.len() > MAX_SYMBOL_BYTES {
            return Err(EpmdError::ExtraTooLong(self.extra.len()));
        }
        Ok(())
    }

    /// The distribution version both sides can use, as `erl_epmd:best_version` computes it:
    /// `min(highest)` when the ranges overlap, else `None` (§1.2).
    pub fn best_version(&self, my_lowest: u16, my_highest: u16) -> Option<u16> {
        let overlap = self.lowest_version <= my_highest && my_lowest <= self.highest_version;
        overlap.then(|| self.highest_version.min(my_highest))
    }
}

/// Validates a node name the way EPMD does (§1.2): valid UTF-8 (no overlongs, surrogates
/// or code points above U+10FFFF — exactly what Rust's UTF-8 check refuses too), no NUL
/// byte, 1..=255 characters.
pub fn validate_name(bytes: &[u8]) -> Result<&str, EpmdError> {
    if bytes.is_empty() {
        return Err(EpmdError::InvalidName(NameError::Empty));
    }
    if bytes.contains(&0) {
        return Err(EpmdError::InvalidName(NameError::ContainsNul));
    }
    let name =
        std::str::from_utf8(bytes).map_err(|_| EpmdError::InvalidName(NameError::NotUtf8))?;
    let chars = name.chars().count();
    if chars > MAX_NAME_CHARS {
        return Err(EpmdError::InvalidName(NameError::TooLong(chars)));
    }
    Ok(name)
}

/// Reads a big-endian u16 at `at`, if the bytes are there.
pub(crate) fn get_u16(buf: &[u8], at: usize) -> Option<u16> {
    let bytes = buf.get(at..at.checked_add(2)?)?;
    Some(BigEndian::read_u16(bytes))
}

/// Reads a big-endian u32 at `at`, if the bytes are there.
pub(crate) fn get_u32(buf: &[u8], at: usize) -> Option<u32> {
    let bytes = buf.get(at..at.checked_add(4)?)?;
    Some(BigEndian::read_u32(bytes))
}

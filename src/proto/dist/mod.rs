//! The distribution payload codec (docs/protocol.md §4.2–§4.5), sans-IO.
//!
//! A frame payload (what [`crate::proto::framing`] hands out) is, depending on the
//! negotiated flags — the same in both directions, and all-or-nothing (§4.2, §15.6):
//!
//! * **pass-through** (neither DIST_HDR_ATOM_CACHE nor FRAGMENTS):
//!   `112, 131 Ctrl, [131 Msg]`;
//! * **header mode**: `131 68 …header… Ctrl [Msg]` with atom-cache refs (§4.3), or a
//!   fragment `131 69` / `131 70` (§4.4); terms carry no 131 byte.
//!
//! [`DistDecoder`] is the receive side of one connection (it owns that direction's atom
//! cache and the open fragment sequences); [`DistEncoder`] the send side. Both are pure:
//! bytes in, messages out (and the reverse), so captured traffic can be fed to them
//! directly.

mod atom_cache;
mod cursor;
mod encoder;
mod fragments;

pub use atom_cache::{AtomCache, ATOM_CACHE_SLOTS};
pub use encoder::{DistEncoder, EncodedTerm, Payload, FRAGMENT_SIZE};
pub use fragments::FragmentLimits;

use crate::etf::{self, DecodeError, DecodeOptions, EncodeError, VERSION_MAGIC};
use crate::proto::control::{ControlError, ControlMessage};
use crate::proto::flags::DistFlags;
use crate::proto::framing::FrameError;
use crate::term::{Atom, Term};
use cursor::Cursor;
use fragments::Assembler;

/// First byte of a pass-through payload (`'p'`).
pub const PASS_THROUGH: u8 = 112;
/// `131, 68`: normal distribution header.
pub const DIST_HEADER: u8 = 68;
/// `131, 69`: first fragment of a fragmented message.
pub const DIST_FRAG_HEADER: u8 = 69;
/// `131, 70`: continuation fragment.
pub const DIST_FRAG_CONT: u8 = 70;

/// A complete distribution message: the control tuple and the optional second term
/// (message, exit reason or spawn argument list, §4.2).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DistMessage {
    pub control: ControlMessage,
    pub payload: Option<Term>,
}

/// Why a payload could not be decoded or encoded. Every decode error is fatal for the
/// connection, as in OTP (§4.5, §15.7).
#[derive(Debug, thiserror::Error, PartialEq, Eq, Clone)]
#[non_exhaustive]
pub enum DistError {
    #[error("payload ended early while reading {what}")]
    Truncated { what: &'static str },
    #[error("payload starts with byte {byte}, neither 112 nor 131")]
    UnknownPayloadStart { byte: u8 },
    #[error("pass-through (112) payload but a distribution header was negotiated")]
    PassThroughInHeaderMode,
    #[error("distribution header but pass-through framing was negotiated")]
    HeaderInPassThroughMode,
    #[error("unknown distribution header tag {tag}")]
    UnknownHeaderTag { tag: u8 },
    #[error("atom cache refs received but DIST_HDR_ATOM_CACHE was not negotiated")]
    AtomCacheNotNegotiated,
    #[error("fragment received but FRAGMENTS was not negotiated")]
    FragmentsNotNegotiated,
    #[error("atom cache ref to empty slot {slot}")]
    EmptyCacheSlot { slot: usize },
    #[error("atom cache entry is not valid UTF-8 or longer than 255 characters")]
    BadCachedAtom,
    #[error("a term after a distribution header starts with version byte 131")]
    VersionByteInHeaderMode,
    #[error("pass-through term must start with 131, found {found}")]
    MissingVersionByte { found: u8 },
    #[error("undecodable {part} term: {source}")]
    Term {
        part: &'static str,
        #[source]
        source: DecodeError,
    },
    #[error("invalid control message: {0}")]
    Control(#[from] ControlError),
    #[error("{name} (op {op}) needs a trailing term but none was sent")]
    MissingPayload { op: u8, name: &'static str },
    #[error("{name} (op {op}) takes no trailing term but one was given")]
    UnexpectedPayload { op: u8, name: &'static str },
    /// The message holds a native record (OTP 29) and the peer did not offer
    /// DFLAG_NATIVE_RECORDS: it would close the connection on tag 67 (§3.1).
    #[error("message holds a native record, which the peer cannot decode (no NATIVE_RECORDS)")]
    NativeRecordsNotNegotiated,
    /// A received term holds a native record, but the peer did not offer
    /// DFLAG_NATIVE_RECORDS (§3.1).
    #[error("the peer sent a native record without negotiating NATIVE_RECORDS")]
    UnexpectedNativeRecord,
    #[error("{count} bytes after the last term")]
    TrailingBytes { count: usize },
    #[error("fragment with sequence id 0")]
    ZeroSequenceId,
    #[error("fragment with fragment id 0")]
    ZeroFragmentId,
    #[error("start fragment for sequence {seq}, which is still open")]
    SequenceAlreadyOpen { seq: u64 },
    #[error("continuation fragment for unknown sequence {seq}")]
    UnknownSequence { seq: u64 },
    #[error("sequence {seq}: fragment id {got}, expected {expected}")]
    FragmentOutOfOrder { seq: u64, expected: u64, got: u64 },
    #[error("the control term does not fit in the first fragment")]
    ControlNotInFirstFragment,
    #[error("more than {max} fragmented messages open at once")]
    TooManyOpenSequences { max: usize },
    #[error("more than {max} bytes buffered for fragmented messages")]
    FragmentBufferFull { max: usize },
    #[error("cannot encode term: {0}")]
    Encode(#[from] EncodeError),
    #[error(transparent)]
    Frame(#[from] FrameError),
}

/// Is header mode (`131 68/69/70`) in force for these negotiated flags? (§4.2)
pub fn uses_dist_header(flags: DistFlags) -> bool {
    flags.intersects(DistFlags::DIST_HDR_ATOM_CACHE | DistFlags::FRAGMENTS)
}

/// Receive side of one connection (sans-IO). Feed it every non-tick frame payload, in
/// order; it returns each complete message.
#[derive(Debug)]
pub struct DistDecoder {
    header_mode: bool,
    cache_negotiated: bool,
    fragments_negotiated: bool,
    cache: AtomCache,
    assembler: Assembler,
    /// [`DecodeOptions::max_depth`] for control and message terms.
    max_depth: usize,
    /// The peer negotiated NATIVE_RECORDS: only then may its terms hold one (§3.1).
    native_records: bool,
    /// The atoms of the message being decoded (its header's cache references), kept
    /// between messages for its allocation.
    atoms: Vec<Atom>,
}

/// What a received term must respect besides the format: its depth, and whether native
/// records are allowed.
#[derive(Debug, Clone, Copy)]
struct Rules {
    max_depth: usize,
    native_records: bool,
}

impl DistDecoder {
    /// A decoder for a connection with these negotiated flags and default
    /// [`FragmentLimits`].
    pub fn new(flags: DistFlags) -> Self {
        Self::with_limits(flags, FragmentLimits::default())
    }

    pub fn with_limits(flags: DistFlags, limits: FragmentLimits) -> Self {
        DistDecoder {
            header_mode: uses_dist_header(flags),
            cache_negotiated: flags.contains(DistFlags::DIST_HDR_ATOM_CACHE),
            fragments_negotiated: flags.contains(DistFlags::FRAGMENTS),
            cache: AtomCache::new(),
            assembler: Assembler::new(limits),
            max_depth: etf::DEFAULT_MAX_DEPTH,
            native_records: flags.contains(DistFlags::NATIVE_RECORDS),
            atoms: Vec::new(),
        }
    }

    fn rules(&self) -> Rules {
        Rules {
            max_depth: self.max_depth,
            native_records: self.native_records,
        }
    }

    /// Refuses control and message terms nested deeper than `depth` containers
    /// ([`DecodeError::TooDeep`], which closes the connection). Default
    /// [`etf::DEFAULT_MAX_DEPTH`].
    pub fn with_max_depth(mut self, depth: usize) -> Self {
        self.max_depth = depth;
        self
    }

    /// The receive-direction atom cache (for inspection and tests).
    pub fn atom_cache(&self) -> &AtomCache {
        &self.cache
    }

    /// Number of incomplete fragmented messages.
    pub fn open_sequences(&self) -> usize {
        self.assembler.open_sequences()
    }

    /// Bytes buffered for incomplete fragmented messages.
    pub fn buffered_bytes(&self) -> usize {
        self.assembler.buffered_bytes()
    }

    /// Decodes one frame payload (length prefix already removed). Returns `Ok(None)` for
    /// a tick (empty payload) and while a fragmented message is incomplete. Any error
    /// means the connection must be closed.
    pub fn decode(&mut self, payload: &[u8]) -> Result<Option<DistMessage>, DistError> {
        let Some(&first) = payload.first() else {
            return Ok(None);
        };
        match (first, self.header_mode) {
            (PASS_THROUGH, false) => decode_pass_through(&payload[1..], self.rules()).map(Some),
            (PASS_THROUGH, true) => Err(DistError::PassThroughInHeaderMode),
            (VERSION_MAGIC, true) => self.decode_header(&payload[1..]),
            (VERSION_MAGIC, false) => Err(DistError::HeaderInPassThroughMode),
            (byte, _) => Err(DistError::UnknownPayloadStart { byte }),
        }
    }

    fn decode_header(&mut self, bytes: &[u8]) -> Result<Option<DistMessage>, DistError> {
        let mut cur = Cursor::new(bytes);
        match cur.u8("header tag")? {
            DIST_HEADER => {
                self.cache
                    .read_header(&mut cur, self.cache_negotiated, &mut self.atoms)?;
                let (control, used) = decode_control(cur.rest(), &self.atoms, self.rules())?;
                finish(control, &self.atoms, &cur.rest()[used..], self.rules()).map(Some)
            }
            DIST_FRAG_HEADER => {
                if !self.fragments_negotiated {
                    return Err(DistError::FragmentsNotNegotiated);
                }
                let seq = cur.u64("sequence id")?;
                let fragment_id = cur.u64("fragment id")?;
                self.assembler.check_start(seq, fragment_id)?;
                self.cache
                    .read_header(&mut cur, self.cache_negotiated, &mut self.atoms)?;
                let atoms = &self.atoms;
                // The whole control term must be in this first fragment (§4.4).
                let (control, used) =
                    decode_control(cur.rest(), atoms, self.rules()).map_err(|e| match e {
                        DistError::Term {
                            source: DecodeError::Truncated { .. },
                            ..
                        } if fragment_id > 1 => DistError::ControlNotInFirstFragment,
                        e => e,
                    })?;
                let rest = &cur.rest()[used..];
                if fragment_id == 1 {
                    return finish(control, atoms, rest, self.rules()).map(Some);
                }
                // A fragmented message keeps its own copy until its last fragment.
                self.assembler
                    .start(seq, fragment_id, control, atoms.clone(), rest)?;
                Ok(None)
            }
            DIST_FRAG_CONT => {
                if !self.fragments_negotiated {
                    return Err(DistError::FragmentsNotNegotiated);
                }
                let seq = cur.u64("sequence id")?;
                let fragment_id = cur.u64("fragment id")?;
                match self.assembler.continuation(seq, fragment_id, cur.rest())? {
                    None => Ok(None),
                    Some(p) => {
                        // The assembled message becomes a shared buffer: its large
                        // binaries are slices of it, not copies (etf::SHARE_MIN).
                        let bytes = bytes::Bytes::from(p.bytes);
                        finish_shared(p.control, &p.atoms, &bytes, self.rules()).map(Some)
                    }
                }
            }
            tag => Err(DistError::UnknownHeaderTag { tag }),
        }
    }
}

/// Decodes and validates the control term at the start of `bytes` (header mode).
#[inline(always)]
fn decode_control(
    bytes: &[u8],
    atoms: &[Atom],
    rules: Rules,
) -> Result<(ControlMessage, usize), DistError> {
    if bytes.first() != Some(&VERSION_MAGIC) {
        let opts = DecodeOptions {
            atom_cache: Some(atoms),
            allow_compressed: false,
            max_depth: rules.max_depth,
        };
        if let Some((control, used, records)) = ControlMessage::decode_direct(bytes, &opts) {
            check_records(records, rules)?;
            return Ok((control, used));
        }
    }
    // Not a valid control message: decoding the term names what is wrong with it.
    let (term, used) = decode_body(bytes, atoms, "control", rules)?;
    Ok((ControlMessage::from_term(term)?, used))
}

fn decode_body(
    bytes: &[u8],
    atoms: &[Atom],
    part: &'static str,
    rules: Rules,
) -> Result<(Term, usize), DistError> {
    decode_body_in(bytes, None, atoms, part, rules)
}

/// [`decode_body`], sharing binaries with `shared` (the same bytes) when given.
fn decode_body_in(
    bytes: &[u8],
    shared: Option<&bytes::Bytes>,
    atoms: &[Atom],
    part: &'static str,
    rules: Rules,
) -> Result<(Term, usize), DistError> {
    if bytes.first() == Some(&VERSION_MAGIC) {
        return Err(DistError::VersionByteInHeaderMode);
    }
    let opts = DecodeOptions {
        atom_cache: Some(atoms),
        // COMPRESSED is never valid inside distribution messages (§6.1, §15.7).
        allow_compressed: false,
        max_depth: rules.max_depth,
    };
    let (term, used, records) = etf::decode_body_noting_records(bytes, shared, &opts)
        .map_err(|source| DistError::Term { part, source })?;
    check_records(records, rules)?;
    Ok((term, used))
}

/// A native record from a peer that did not negotiate NATIVE_RECORDS breaks the
/// protocol as surely as an unknown tag (OTP 25–28 close the connection on tag 67):
/// the connection is closed (§3.1).
fn check_records(records: bool, rules: Rules) -> Result<(), DistError> {
    if records && !rules.native_records {
        return Err(DistError::UnexpectedNativeRecord);
    }
    Ok(())
}

/// Decodes the optional message term after the control (header mode) and checks that
/// nothing follows.
#[inline(always)]
fn finish(
    control: ControlMessage,
    atoms: &[Atom],
    rest: &[u8],
    rules: Rules,
) -> Result<DistMessage, DistError> {
    finish_in(control, atoms, rest, None, rules)
}

/// [`finish`] of a message held in a shared buffer (an assembled fragmented message).
#[inline(always)]
fn finish_shared(
    control: ControlMessage,
    atoms: &[Atom],
    rest: &bytes::Bytes,
    rules: Rules,
) -> Result<DistMessage, DistError> {
    finish_in(control, atoms, rest, Some(rest), rules)
}

#[inline(always)]
fn finish_in(
    control: ControlMessage,
    atoms: &[Atom],
    rest: &[u8],
    shared: Option<&bytes::Bytes>,
    rules: Rules,
) -> Result<DistMessage, DistError> {
    let (payload, rest) = if control.has_payload() {
        if rest.is_empty() {
            return Err(missing_payload(&control));
        }
        let (t, used) = decode_body_in(rest, shared, atoms, "message", rules)?;
        (Some(t), &rest[used..])
    } else {
        (None, rest)
    };
    if !rest.is_empty() {
        return Err(DistError::TrailingBytes { count: rest.len() });
    }
    Ok(DistMessage { control, payload })
}

fn missing_payload(control: &ControlMessage) -> DistError {
    DistError::MissingPayload {
        op: control.op(),
        name: control.name(),
    }
}

/// `131 Ctrl [131 Msg]` after the 112 byte.
fn decode_pass_through(bytes: &[u8], rules: Rules) -> Result<DistMessage, DistError> {
    let opts = DecodeOptions {
        atom_cache: None,
        allow_compressed: false,
        max_depth: rules.max_depth,
    };
    let term = |bytes: &[u8], part: &'static str| -> Result<(Term, usize), DistError> {
        match bytes.first() {
            None => Err(DistError::Truncated { what: part }),
            Some(&VERSION_MAGIC) => {
                let (t, used, records) = etf::decode_body_noting_records(&bytes[1..], None, &opts)
                    .map_err(|source| DistError::Term { part, source })?;
                check_records(records, rules)?;
                Ok((t, used + 1))
            }
            Some(&found) => Err(DistError::MissingVersionByte { found }),
        }
    };
    let (ctrl, used) = term(bytes, "control")?;
    let control = ControlMessage::from_term(ctrl)?;
    let mut rest = &bytes[used..];
    let payload = if control.has_payload() {
        if rest.is_empty() {
            return Err(missing_payload(&control));
        }
        let (t, used) = term(rest, "message")?;
        rest = &rest[used..];
        Some(t)
    } else {
        None
    };
    if !rest.is_empty() {
        return Err(DistError::TrailingBytes { count: rest.len() });
    }
    Ok(DistMessage { control, payload })
}

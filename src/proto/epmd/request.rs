//! EPMD requests: `Len:16 | Request` (docs/protocol.md §1.1, §1.2).

use super::{code, get_u16, validate_name, EpmdError, NodeInfo, MAX_REQUEST_LEN, MAX_SYMBOL_BYTES};

/// A request to EPMD (§1.2).
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum EpmdRequest {
    /// `ALIVE2_REQ`: register a node; the connection then carries the registration.
    Alive2(NodeInfo),
    /// `PORT_PLEASE2_REQ`: look up a node by alive name.
    PortPlease2 {
        /// The alive name.
        name: String,
    },
    /// `NAMES_REQ`: list registered names and ports.
    Names,
    /// `DUMP_REQ`: debugging dump (local peers only).
    Dump,
    /// `KILL_REQ`: stop EPMD (local peers only).
    Kill,
    /// `STOP_REQ`: drop a registration (local peers, relaxed command check only).
    Stop {
        /// The alive name.
        name: String,
    },
}

/// First pass of request framing: how many bytes (prefix included) the request at the
/// start of `buf` occupies, or `Ok(None)` if it has not fully arrived yet.
///
/// Rejects what EPMD rejects (§1.1): `Len < 1` and a total size ≥ 3060 bytes — as soon as
/// the prefix is there, so a peer cannot make us wait for an oversized packet.
pub fn request_frame_len(buf: &[u8]) -> Result<Option<usize>, EpmdError> {
    let Some(len) = get_u16(buf, 0) else {
        return Ok(None);
    };
    let len = usize::from(len);
    if len == 0 || len > MAX_REQUEST_LEN {
        return Err(EpmdError::BadLength(len));
    }
    let total = len + 2;
    Ok((buf.len() >= total).then_some(total))
}

impl EpmdRequest {
    /// The request code byte.
    pub fn code(&self) -> u8 {
        match self {
            EpmdRequest::Alive2(_) => code::ALIVE2_REQ,
            EpmdRequest::PortPlease2 { .. } => code::PORT_PLEASE2_REQ,
            EpmdRequest::Names => code::NAMES_REQ,
            EpmdRequest::Dump => code::DUMP_REQ,
            EpmdRequest::Kill => code::KILL_REQ,
            EpmdRequest::Stop { .. } => code::STOP_REQ,
        }
    }

    /// Encodes the request including its 2-byte length prefix. Fails if a name or the
    /// extra data break EPMD's limits (then the request could never succeed anyway).
    pub fn encode(&self) -> Result<Vec<u8>, EpmdError> {
        let mut body = vec![self.code()];
        match self {
            EpmdRequest::Alive2(info) => {
                info.validate()?;
                body.extend_from_slice(&info.port.to_be_bytes());
                body.push(info.node_type);
                body.push(info.protocol);
                body.extend_from_slice(&info.highest_version.to_be_bytes());
                body.extend_from_slice(&info.lowest_version.to_be_bytes());
                put_len_prefixed(&mut body, info.name.as_bytes());
                put_len_prefixed(&mut body, &info.extra);
            }
            EpmdRequest::PortPlease2 { name } | EpmdRequest::Stop { name } => {
                validate_name(name.as_bytes())?;
                body.extend_from_slice(name.as_bytes());
            }
            EpmdRequest::Names | EpmdRequest::Dump | EpmdRequest::Kill => {}
        }
        // Valid names and extra keep ALIVE2 at ≤ 13 + 1020 + 1020 bytes, far below the limit.
        let len = u16::try_from(body.len())
            .ok()
            .filter(|len| usize::from(*len) <= MAX_REQUEST_LEN)
            .ok_or(EpmdError::BadLength(body.len()))?;
        let mut out = Vec::with_capacity(body.len() + 2);
        out.extend_from_slice(&len.to_be_bytes());
        out.extend_from_slice(&body);
        Ok(out)
    }

    /// Decodes one request from the start of `buf` (prefix included): `Ok(None)` while
    /// incomplete, else the request and the number of bytes it used.
    pub fn decode(buf: &[u8]) -> Result<Option<(EpmdRequest, usize)>, EpmdError> {
        match request_frame_len(buf)? {
            None => Ok(None),
            Some(total) => Ok(Some((EpmdRequest::decode_body(&buf[2..total])?, total))),
        }
    }

    /// Second pass: parses a request body (the bytes after the length prefix).
    ///
    /// Mirrors what EPMD tolerates: trailing bytes after a complete ALIVE2 body or after a
    /// one-byte request are ignored, and one trailing NUL after a PORT_PLEASE2/STOP name
    /// is dropped (old clients sent C strings).
    pub fn decode_body(body: &[u8]) -> Result<EpmdRequest, EpmdError> {
        let (&request_code, rest) = body.split_first().ok_or(EpmdError::BadLength(0))?;
        match request_code {
            code::ALIVE2_REQ => decode_alive2(rest).map(EpmdRequest::Alive2),
            code::PORT_PLEASE2_REQ => Ok(EpmdRequest::PortPlease2 {
                name: decode_c_name(rest)?,
            }),
            code::STOP_REQ => Ok(EpmdRequest::Stop {
                name: decode_c_name(rest)?,
            }),
            code::NAMES_REQ => Ok(EpmdRequest::Names),
            code::DUMP_REQ => Ok(EpmdRequest::Dump),
            code::KILL_REQ => Ok(EpmdRequest::Kill),
            other => Err(EpmdError::UnknownRequest(other)),
        }
    }

    /// The HighestVersion field of a raw ALIVE2 body, if present. EPMD picks the reply
    /// shape from it (§1.2), even when it refuses the registration.
    pub fn alive2_highest_version(body: &[u8]) -> Option<u16> {
        (body.first() == Some(&code::ALIVE2_REQ))
            .then(|| get_u16(body, 5))
            .flatten()
    }
}

fn put_len_prefixed(out: &mut Vec<u8>, bytes: &[u8]) {
    // Callers validated the length (≤ 1020), so it fits in 16 bits.
    let len = u16::try_from(bytes.len()).unwrap_or(u16::MAX);
    out.extend_from_slice(&len.to_be_bytes());
    out.extend_from_slice(bytes);
}

const ALIVE2: &str = "ALIVE2_REQ";

/// `PortNo:16, NodeType:8, Protocol:8, High:16, Low:16, Nlen:16, Name, Elen:16, Extra`.
fn decode_alive2(rest: &[u8]) -> Result<NodeInfo, EpmdError> {
    let short = |detail| EpmdError::Malformed {
        what: ALIVE2,
        detail,
    };
    if rest.len() < 12 {
        return Err(short("shorter than its fixed fields"));
    }
    let port = get_u16(rest, 0).ok_or(short("no port"))?;
    let node_type = rest[2];
    let protocol = rest[3];
    let highest_version = get_u16(rest, 4).ok_or(short("no version"))?;
    let lowest_version = get_u16(rest, 6).ok_or(short("no version"))?;
    let nlen = usize::from(get_u16(rest, 8).ok_or(short("no name length"))?);
    let name_bytes = rest
        .get(10..10 + nlen)
        .ok_or(short("name runs past the packet"))?;
    let elen = usize::from(get_u16(rest, 10 + nlen).ok_or(short("no extra length"))?);
    let extra = rest
        .get(12 + nlen..12 + nlen + elen)
        .ok_or(short("extra runs past the packet"))?;
    let name = validate_name(name_bytes)?.to_owned();
    if extra.len() > MAX_SYMBOL_BYTES {
        return Err(EpmdError::ExtraTooLong(extra.len()));
    }
    Ok(NodeInfo {
        name,
        port,
        node_type,
        protocol,
        highest_version,
        lowest_version,
        extra: extra.to_vec(),
    })
}

fn decode_c_name(rest: &[u8]) -> Result<String, EpmdError> {
    let name = rest.strip_suffix(&[0]).unwrap_or(rest);
    Ok(validate_name(name)?.to_owned())
}

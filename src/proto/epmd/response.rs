//! EPMD responses. None carries a length prefix (docs/protocol.md §1.1); the ALIVE2 and
//! PORT2 replies are self-delimiting, the text replies end when EPMD closes the socket.

use super::{code, get_u16, get_u32, EpmdError, NodeInfo, FAILED_CREATION};
use byteorder::{BigEndian, ByteOrder};

/// Reply to `ALIVE2_REQ` (§1.2). Which shape EPMD sends depends on the request's
/// HighestVersion: ≥ 6 gets [`Alive2Resp::Extended`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Alive2Resp {
    /// `ALIVE2_X_RESP` (`'v'`): 32-bit creation.
    Extended {
        /// 0 = ok.
        result: u8,
        /// The creation to use in every pid/port/ref and in the handshake (§1.3).
        creation: u32,
    },
    /// `ALIVE2_RESP` (`'y'`): 16-bit creation (1..=3 for old nodes).
    Old {
        /// 0 = ok.
        result: u8,
        /// The creation.
        creation: u16,
    },
}

impl Alive2Resp {
    /// The reply shape EPMD picks for a request with this HighestVersion (§1.2).
    /// For the old shape only the low 16 bits of `creation` are sent.
    pub fn for_version(highest_version: u16, result: u8, creation: u32) -> Alive2Resp {
        if highest_version >= 6 {
            Alive2Resp::Extended { result, creation }
        } else {
            Alive2Resp::Old {
                result,
                creation: creation as u16,
            }
        }
    }

    /// EPMD's refusal: result 1, creation 99, still full length (§1.2).
    pub fn refused(highest_version: u16) -> Alive2Resp {
        Alive2Resp::for_version(highest_version, 1, u32::from(FAILED_CREATION))
    }

    /// The result byte (0 = ok).
    pub fn result(&self) -> u8 {
        match *self {
            Alive2Resp::Extended { result, .. } | Alive2Resp::Old { result, .. } => result,
        }
    }

    /// The creation, widened to 32 bits.
    pub fn creation(&self) -> u32 {
        match *self {
            Alive2Resp::Extended { creation, .. } => creation,
            Alive2Resp::Old { creation, .. } => u32::from(creation),
        }
    }

    /// Wire bytes.
    pub fn encode(&self) -> Vec<u8> {
        match *self {
            Alive2Resp::Extended { result, creation } => {
                let mut out = vec![code::ALIVE2_X_RESP, result];
                out.extend_from_slice(&creation.to_be_bytes());
                out
            }
            Alive2Resp::Old { result, creation } => {
                let mut out = vec![code::ALIVE2_RESP, result];
                out.extend_from_slice(&creation.to_be_bytes());
                out
            }
        }
    }

    /// Decodes from the start of `buf`: `Ok(None)` while incomplete.
    pub fn decode(buf: &[u8]) -> Result<Option<(Alive2Resp, usize)>, EpmdError> {
        let Some(&first) = buf.first() else {
            return Ok(None);
        };
        match first {
            code::ALIVE2_X_RESP => Ok(get_u32(buf, 2).map(|creation| {
                let result = buf[1];
                (Alive2Resp::Extended { result, creation }, 6)
            })),
            code::ALIVE2_RESP => Ok(get_u16(buf, 2).map(|creation| {
                let result = buf[1];
                (Alive2Resp::Old { result, creation }, 4)
            })),
            other => Err(EpmdError::UnexpectedResponse(other)),
        }
    }
}

/// Reply to `PORT_PLEASE2_REQ` (§1.2).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Port2Resp {
    /// `119, 0, …`: the node's registration.
    Found(NodeInfo),
    /// `119, Result` (exactly 2 bytes): no such node. `result` is non-zero.
    NotFound {
        /// EPMD's result byte (1).
        result: u8,
    },
}

const PORT2: &str = "PORT2_RESP";

impl Port2Resp {
    /// Wire bytes. Fails only if a [`Port2Resp::Found`] name or extra breaks EPMD's
    /// limits (EPMD itself never stores such a registration). A `NotFound` result of 0
    /// would read as success, so it is sent as 1.
    pub fn encode(&self) -> Result<Vec<u8>, EpmdError> {
        match self {
            Port2Resp::NotFound { result } => Ok(vec![code::PORT2_RESP, (*result).max(1)]),
            Port2Resp::Found(info) => {
                info.validate()?;
                let mut out = vec![code::PORT2_RESP, 0];
                out.extend_from_slice(&info.port.to_be_bytes());
                out.push(info.node_type);
                out.push(info.protocol);
                out.extend_from_slice(&info.highest_version.to_be_bytes());
                out.extend_from_slice(&info.lowest_version.to_be_bytes());
                // Both lengths are ≤ 1020 after validate().
                out.extend_from_slice(&(info.name.len() as u16).to_be_bytes());
                out.extend_from_slice(info.name.as_bytes());
                out.extend_from_slice(&(info.extra.len() as u16).to_be_bytes());
                out.extend_from_slice(&info.extra);
                Ok(out)
            }
        }
    }

    /// Decodes from the start of `buf`: `Ok(None)` while incomplete. Only the name must be
    /// UTF-8; other limits are EPMD's business.
    pub fn decode(buf: &[u8]) -> Result<Option<(Port2Resp, usize)>, EpmdError> {
        let Some(&first) = buf.first() else {
            return Ok(None);
        };
        if first != code::PORT2_RESP {
            return Err(EpmdError::UnexpectedResponse(first));
        }
        let Some(&result) = buf.get(1) else {
            return Ok(None);
        };
        if result != 0 {
            return Ok(Some((Port2Resp::NotFound { result }, 2)));
        }
        let Some(nlen) = get_u16(buf, 10) else {
            return Ok(None);
        };
        let name_end = 12 + usize::from(nlen);
        let Some(elen) = get_u16(buf, name_end) else {
            return Ok(None);
        };
        let end = name_end + 2 + usize::from(elen);
        if buf.len() < end {
            return Ok(None);
        }
        let name = std::str::from_utf8(&buf[12..name_end]).map_err(|_| EpmdError::Malformed {
            what: PORT2,
            detail: "node name is not UTF-8",
        })?;
        let info = NodeInfo {
            name: name.to_owned(),
            port: BigEndian::read_u16(&buf[2..4]),
            node_type: buf[4],
            protocol: buf[5],
            highest_version: BigEndian::read_u16(&buf[6..8]),
            lowest_version: BigEndian::read_u16(&buf[8..10]),
            extra: buf[name_end + 2..end].to_vec(),
        };
        Ok(Some((Port2Resp::Found(info), end)))
    }
}

/// Reply to `NAMES_REQ`: `EpmdPort:32` then `name <Name> at port <Port>\n` per node,
/// terminated by EPMD closing the connection (§1.2).
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct NamesResp {
    /// The port EPMD listens on.
    pub epmd_port: u32,
    /// Registered alive names and their distribution ports.
    pub nodes: Vec<(String, u16)>,
}

impl NamesResp {
    /// Wire bytes.
    pub fn encode(&self) -> Vec<u8> {
        let mut out = self.epmd_port.to_be_bytes().to_vec();
        for (name, port) in &self.nodes {
            out.extend_from_slice(format!("name {name} at port {port}\n").as_bytes());
        }
        out
    }

    /// Decodes a *complete* reply (everything read until EPMD closed). Lines that do not
    /// have the `name … at port …` shape are skipped rather than failing the whole
    /// listing; a name containing a newline cannot be represented (as in OTP).
    pub fn decode(buf: &[u8]) -> Result<NamesResp, EpmdError> {
        let epmd_port = get_u32(buf, 0).ok_or(EpmdError::Malformed {
            what: "NAMES_RESP",
            detail: "shorter than the 4-byte EPMD port",
        })?;
        let nodes = buf[4..]
            .split(|b| *b == b'\n')
            .filter_map(|line| {
                let line = std::str::from_utf8(line).ok()?;
                let (name, port) = line.strip_prefix("name ")?.rsplit_once(" at port ")?;
                Some((name.to_owned(), port.parse().ok()?))
            })
            .collect();
        Ok(NamesResp { epmd_port, nodes })
    }
}

/// One line of a DUMP reply.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DumpEntry {
    /// Alive name.
    pub name: String,
    /// Distribution port.
    pub port: u16,
    /// EPMD's file descriptor for the registration socket (our server puts a connection
    /// number there).
    pub fd: i32,
}

/// Reply to `DUMP_REQ`: `EpmdPort:32` then NUL-terminated text lines for active and for
/// remembered unused names (§1.2), terminated by EPMD closing the connection.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct DumpResp {
    /// The port EPMD listens on.
    pub epmd_port: u32,
    /// Registered nodes.
    pub active: Vec<DumpEntry>,
    /// Names remembered after unregistering (for creation bumping, §1.3).
    pub unused: Vec<DumpEntry>,
}

impl DumpResp {
    /// Wire bytes (the `<…>` around names and the NUL after each line are as in the code).
    pub fn encode(&self) -> Vec<u8> {
        let mut out = self.epmd_port.to_be_bytes().to_vec();
        for e in &self.active {
            let line = format!(
                "active name     <{}> at port {}, fd = {}\n\0",
                e.name, e.port, e.fd
            );
            out.extend_from_slice(line.as_bytes());
        }
        for e in &self.unused {
            let line = format!(
                "old/unused name <{}>, port = {}, fd = {} \n\0",
                e.name, e.port, e.fd
            );
            out.extend_from_slice(line.as_bytes());
        }
        out
    }

    /// Decodes a complete reply; unparseable lines are skipped.
    pub fn decode(buf: &[u8]) -> Result<DumpResp, EpmdError> {
        let epmd_port = get_u32(buf, 0).ok_or(EpmdError::Malformed {
            what: "DUMP_RESP",
            detail: "shorter than the 4-byte EPMD port",
        })?;
        let mut resp = DumpResp {
            epmd_port,
            ..DumpResp::default()
        };
        for line in buf[4..].split(|b| *b == 0) {
            let Ok(line) = std::str::from_utf8(line) else {
                continue;
            };
            let line = line.trim_end_matches(['\n', ' ']);
            if let Some(entry) = line
                .strip_prefix("active name     <")
                .and_then(|rest| rest.rsplit_once("> at port "))
                .and_then(|(name, rest)| dump_entry(name, rest))
            {
                resp.active.push(entry);
            } else if let Some(entry) = line
                .strip_prefix("old/unused name <")
                .and_then(|rest| rest.rsplit_once(">, port = "))
                .and_then(|(name, rest)| dump_entry(name, rest))
            {
                resp.unused.push(entry);
            }
        }
        Ok(resp)
    }
}

fn dump_entry(name: &str, rest: &str) -> Option<DumpEntry> {
    let (port, fd) = rest.split_once(", fd = ")?;
    Some(DumpEntry {
        name: name.to_owned(),
        port: port.parse().ok()?,
        fd: fd.parse().ok()?,
    })
}

/// Reply to `KILL_REQ` (§1.2).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum KillResp {
    /// `"OK"`: EPMD exits.
    Ok,
    /// `"NO"`: nodes are registered and the relaxed command check is off.
    No,
}

impl KillResp {
    /// Wire bytes.
    pub fn encode(&self) -> &'static [u8] {
        match self {
            KillResp::Ok => b"OK",
            KillResp::No => b"NO",
        }
    }

    /// Decodes a complete reply.
    pub fn decode(buf: &[u8]) -> Result<KillResp, EpmdError> {
        match buf {
            b"OK" => Ok(KillResp::Ok),
            b"NO" => Ok(KillResp::No),
            _ => Err(EpmdError::Malformed {
                what: "KILL reply",
                detail: "neither OK nor NO",
            }),
        }
    }
}

/// Reply to `STOP_REQ` (§1.2).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum StopResp {
    /// `"STOPPED"`: the registration was dropped.
    Stopped,
    /// `"NOEXIST"`: no such name. OTP 25.2.3's EPMD appends `"STOPPED"` after it (a
    /// fall-through bug); [`StopResp::decode`] accepts that too.
    NoExist,
}

impl StopResp {
    /// Wire bytes (without the 25.2.3 fall-through quirk).
    pub fn encode(&self) -> &'static [u8] {
        match self {
            StopResp::Stopped => b"STOPPED",
            StopResp::NoExist => b"NOEXIST",
        }
    }

    /// Decodes a complete reply.
    pub fn decode(buf: &[u8]) -> Result<StopResp, EpmdError> {
        if buf.starts_with(b"NOEXIST") {
            Ok(StopResp::NoExist)
        } else if buf == b"STOPPED" {
            Ok(StopResp::Stopped)
        } else {
            Err(EpmdError::Malformed {
                what: "STOP reply",
                detail: "neither STOPPED nor NOEXIST",
            })
        }
    }
}

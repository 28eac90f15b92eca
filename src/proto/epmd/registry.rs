//! The name table of an EPMD server (docs/protocol.md §1.2, §1.3), as a plain struct: the
//! tokio server feeds it complete request bodies, connection closures and the wall clock,
//! and sends whatever [`Outcome`] it returns.

use std::collections::VecDeque;

use super::{
    code, Alive2Resp, DumpEntry, DumpResp, EpmdError, EpmdRequest, KillResp, NameError, NamesResp,
    NodeInfo, Port2Resp, StopResp,
};

/// Identifies one accepted TCP connection; the server hands out unique values.
pub type ConnectionId = u64;

/// How many unregistered names EPMD remembers to bump their creation (`MAX_UNREG_COUNT`,
/// §1.3).
pub const DEFAULT_MAX_UNUSED_NAMES: usize = 1000;

/// How many names may be registered at once by default. Each registration keeps a
/// connection open, so this stays well under the server's default connection limit
/// (1024) and lookups still get through when the names are exhausted.
pub const DEFAULT_MAX_NAMES: usize = 512;

#[derive(Debug, Clone)]
struct Entry {
    conn: ConnectionId,
    info: NodeInfo,
    /// EPMD's per-name `cr_counter` (§1.3).
    cr_counter: u32,
}

impl Entry {
    /// `get_creation`: the full counter for HighestVersion ≥ 6, else `counter % 3 + 1`.
    fn creation(&self) -> u32 {
        if self.info.highest_version >= 6 {
            self.cr_counter
        } else {
            self.cr_counter % 3 + 1
        }
    }

    /// `bump_creation`: one up, never below 4 (0 means "no creation"; 1..3 are the old
    /// 2-bit creations).
    fn bump(&mut self) {
        self.cr_counter = self.cr_counter.wrapping_add(1).max(4);
    }
}

/// What the server must do after handing a request to [`EpmdRegistry`].
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Outcome {
    /// Bytes to write back (possibly none: EPMD ignores some requests silently).
    pub reply: Vec<u8>,
    /// Keep the connection open after replying: it now carries a registration that ends
    /// when the peer closes it or sends any further byte (§1.3). EPMD does this for a
    /// refused ALIVE2 as well. Otherwise close it after the reply.
    pub keep_open: bool,
    /// Close this other connection (its registration was dropped by `STOP_REQ`).
    pub close_connection: Option<ConnectionId>,
    /// Stop the whole server (`KILL_REQ` accepted).
    pub stop_server: bool,
}

impl Outcome {
    fn reply(reply: Vec<u8>) -> Outcome {
        Outcome {
            reply,
            ..Outcome::default()
        }
    }
}

/// The registered and recently unregistered names of one EPMD.
#[derive(Debug, Clone)]
pub struct EpmdRegistry {
    epmd_port: u16,
    relaxed_command_check: bool,
    max_unused: usize,
    /// Names registered at once; further ALIVE2 requests are refused.
    max_names: usize,
    /// Oldest first; NAMES and DUMP list newest first, as EPMD does.
    registered: Vec<Entry>,
    /// Unregistered names, oldest first (EPMD's FIFO).
    unused: VecDeque<Entry>,
}

impl EpmdRegistry {
    /// An empty registry for an EPMD listening on `epmd_port` (reported in NAMES/DUMP).
    pub fn new(epmd_port: u16) -> EpmdRegistry {
        EpmdRegistry {
            epmd_port,
            relaxed_command_check: false,
            max_unused: DEFAULT_MAX_UNUSED_NAMES,
            max_names: DEFAULT_MAX_NAMES,
            registered: Vec::new(),
            unused: VecDeque::new(),
        }
    }

    /// Like `epmd -relaxed_command_check`: allow `STOP_REQ`, and `KILL_REQ` while nodes
    /// are registered (§1.2).
    pub fn with_relaxed_command_check(mut self, relaxed: bool) -> EpmdRegistry {
        self.relaxed_command_check = relaxed;
        self
    }

    /// Changes how many unregistered names are remembered (default 1000).
    pub fn with_max_unused(mut self, max_unused: usize) -> EpmdRegistry {
        self.max_unused = max_unused;
        self
    }

    /// Changes how many names may be registered at once (default
    /// [`DEFAULT_MAX_NAMES`]); past it ALIVE2 is answered with a refusal (result 1) and
    /// a log line, and the names already registered are untouched.
    pub fn with_max_names(mut self, max_names: usize) -> EpmdRegistry {
        self.max_names = max_names;
        self
    }

    /// Handles one complete request body (after the length prefix) received on `conn`.
    ///
    /// `local_peer` is the server's `conn_local_peer_check` (§1.1): ALIVE2, DUMP, KILL and
    /// STOP from other hosts are silently ignored. `now_unix_secs` is the wall clock,
    /// used only to seed the creation of a brand-new name (§1.3).
    ///
    /// An `Err` means the request was malformed; EPMD then closes the connection without
    /// a reply. A local ALIVE2 whose name or extra data break the limits is instead
    /// answered with a refusal (result 1, creation 99), as EPMD does.
    pub fn handle_frame(
        &mut self,
        conn: ConnectionId,
        local_peer: bool,
        body: &[u8],
        now_unix_secs: u64,
    ) -> Result<Outcome, EpmdError> {
        let Some(&request_code) = body.first() else {
            return Err(EpmdError::BadLength(0));
        };
        let local_only = matches!(
            request_code,
            code::ALIVE2_REQ | code::DUMP_REQ | code::KILL_REQ | code::STOP_REQ
        );
        if local_only && !local_peer {
            tracing::warn!(
                request_code,
                conn,
                "EPMD request from a non-local peer ignored"
            );
            return Ok(Outcome::default());
        }
        match EpmdRequest::decode_body(body) {
            Ok(request) => Ok(self.handle_request(conn, local_peer, &request, now_unix_secs)),
            Err(
                error @ (EpmdError::ExtraTooLong(_)
                | EpmdError::InvalidName(
                    NameError::Empty | NameError::NotUtf8 | NameError::TooLong(_),
                )),
            ) if request_code == code::ALIVE2_REQ => {
                tracing::warn!(conn, %error, "ALIVE2_REQ refused");
                let highest = EpmdRequest::alive2_highest_version(body).unwrap_or(0);
                Ok(Outcome {
                    reply: Alive2Resp::refused(highest).encode(),
                    keep_open: true,
                    ..Outcome::default()
                })
            }
            Err(error) => Err(error),
        }
    }

    /// Handles an already decoded request (see [`EpmdRegistry::handle_frame`]).
    pub fn handle_request(
        &mut self,
        conn: ConnectionId,
        local_peer: bool,
        request: &EpmdRequest,
        now_unix_secs: u64,
    ) -> Outcome {
        if !local_peer
            && !matches!(
                request,
                EpmdRequest::PortPlease2 { .. } | EpmdRequest::Names
            )
        {
            return Outcome::default();
        }
        match request {
            EpmdRequest::Alive2(info) => {
                let highest = info.highest_version;
                let reply = match self.register(conn, info.clone(), now_unix_secs) {
                    Ok(creation) => Alive2Resp::for_version(highest, 0, creation),
                    Err(error) => {
                        tracing::warn!(conn, %error, "ALIVE2_REQ refused");
                        Alive2Resp::refused(highest)
                    }
                };
                Outcome {
                    reply: reply.encode(),
                    keep_open: true,
                    ..Outcome::default()
                }
            }
            EpmdRequest::PortPlease2 { name } => {
                let resp = match self.lookup(name) {
                    Some(info) => Port2Resp::Found(info.clone()),
                    None => Port2Resp::NotFound { result: 1 },
                };
                // Stored registrations passed validation, so encoding cannot fail; fall
                // back to "not found" rather than panic.
                let reply = resp.encode().unwrap_or_else(|_| vec![code::PORT2_RESP, 1]);
                Outcome::reply(reply)
            }
            EpmdRequest::Names => Outcome::reply(self.names().encode()),
            EpmdRequest::Dump => Outcome::reply(self.dump().encode()),
            EpmdRequest::Kill => {
                if !self.relaxed_command_check && !self.registered.is_empty() {
                    Outcome::reply(KillResp::No.encode().to_vec())
                } else {
                    Outcome {
                        reply: KillResp::Ok.encode().to_vec(),
                        stop_server: true,
                        ..Outcome::default()
                    }
                }
            }
            EpmdRequest::Stop { name } => {
                if !self.relaxed_command_check {
                    tracing::warn!(conn, "STOP_REQ ignored: relaxed command check is off");
                    return Outcome::default();
                }
                match self.unregister_name(name) {
                    Some(victim) => Outcome {
                        reply: StopResp::Stopped.encode().to_vec(),
                        close_connection: Some(victim),
                        ..Outcome::default()
                    },
                    None => Outcome::reply(StopResp::NoExist.encode().to_vec()),
                }
            }
        }
    }

    /// Registers `info` for connection `conn` and returns the creation to hand out (§1.3):
    /// a remembered unused name gets its counter bumped, a brand-new name starts from the
    /// wall clock (bumped, at least 4).
    pub fn register(
        &mut self,
        conn: ConnectionId,
        info: NodeInfo,
        now_unix_secs: u64,
    ) -> Result<u32, EpmdError> {
        info.validate()?;
        if self.lookup(&info.name).is_some() {
            return Err(EpmdError::DuplicateName {
                name: info.name,
                result: 1,
            });
        }
        if self.registered.len() >= self.max_names {
            return Err(EpmdError::TooManyNames {
                name: info.name,
                limit: self.max_names,
            });
        }
        let mut entry = match self.unused.iter().position(|e| e.info.name == info.name) {
            Some(at) => {
                let mut old = self.unused.remove(at).ok_or(EpmdError::Malformed {
                    what: "registry",
                    detail: "unused list changed under us",
                })?;
                old.conn = conn;
                old.info = info;
                old
            }
            // C's `time_t` → `unsigned int` truncation.
            None => Entry {
                conn,
                info,
                cr_counter: now_unix_secs as u32,
            },
        };
        entry.bump();
        let creation = entry.creation();
        tracing::debug!(name = %entry.info.name, port = entry.info.port, creation, "registered");
        self.registered.push(entry);
        Ok(creation)
    }

    /// The registration socket `conn` closed (or sent a byte, which counts the same,
    /// §1.3): drop its registration, remembering the name. Returns what was registered.
    pub fn connection_closed(&mut self, conn: ConnectionId) -> Option<NodeInfo> {
        let at = self.registered.iter().position(|e| e.conn == conn)?;
        Some(self.retire(at))
    }

    /// Drops the registration of `name` (for `STOP_REQ`); returns its connection.
    pub fn unregister_name(&mut self, name: &str) -> Option<ConnectionId> {
        let at = self.registered.iter().position(|e| e.info.name == name)?;
        let conn = self.registered[at].conn;
        self.retire(at);
        Some(conn)
    }

    fn retire(&mut self, at: usize) -> NodeInfo {
        let entry = self.registered.remove(at);
        tracing::debug!(name = %entry.info.name, "unregistered");
        let info = entry.info.clone();
        self.unused.push_back(entry);
        while self.unused.len() > self.max_unused {
            self.unused.pop_front();
        }
        info
    }

    /// The registration of an alive name.
    pub fn lookup(&self, name: &str) -> Option<&NodeInfo> {
        self.registered
            .iter()
            .find(|e| e.info.name == name)
            .map(|e| &e.info)
    }

    /// Number of live registrations.
    pub fn registered_count(&self) -> usize {
        self.registered.len()
    }

    /// Number of remembered unused names.
    pub fn unused_count(&self) -> usize {
        self.unused.len()
    }

    /// The NAMES reply: newest registration first, like EPMD.
    pub fn names(&self) -> NamesResp {
        NamesResp {
            epmd_port: u32::from(self.epmd_port),
            nodes: self
                .registered
                .iter()
                .rev()
                .map(|e| (e.info.name.clone(), e.info.port))
                .collect(),
        }
    }

    /// The DUMP reply; the connection id stands in for EPMD's file descriptor.
    pub fn dump(&self) -> DumpResp {
        let entry = |e: &Entry| DumpEntry {
            name: e.info.name.clone(),
            port: e.info.port,
            fd: e.conn as i32,
        };
        DumpResp {
            epmd_port: u32::from(self.epmd_port),
            active: self.registered.iter().rev().map(entry).collect(),
            unused: self.unused.iter().map(entry).collect(),
        }
    }
}

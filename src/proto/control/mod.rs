//! Distribution control messages (docs/protocol.md §5).
//!
//! Every non-tick distribution message starts with a control tuple `{Op, …}`, optionally
//! followed by a second term (the "payload": a message, an exit reason or a spawn
//! argument list). [`ControlMessage`] is the typed form of that tuple.
//!
//! The `_TT` variants of OTP (same signal plus a seq_trace token) are folded into the
//! `token` field of the plain variant: [`ControlMessage::op`] picks the `_TT` op code when
//! a token is present.
//!
//! [`ControlMessage::from_term`] applies the checks OTP's `erts_net_message` applies on
//! receipt (§4.5, §5.1): a tuple whose first element is a small integer op code, the right
//! arity for that op, and the right element types. Any violation is a
//! [`ControlError`]; OTP kills the connection in that case, and so should the caller.
//! Checks that need to know the peer's node name live in
//! [`ControlMessage::check_origin`].
//!
//! Decoding is split by family: [`link`] (links, exits, group leader), [`send`]
//! (messages, aliases, ALTACT_SIG_SEND), [`monitor`] and [`spawn`]. The single dispatch
//! point is [`ControlMessage::from_term`].

mod checks;
#[cfg(test)]
mod direct_tests;
pub(crate) mod encode;
mod fields;
pub mod link;
pub mod monitor;
pub mod send;
pub mod spawn;

use crate::term::{Atom, Pid, Reference, Term};
pub use checks::Destination;
use fields::Fields;

/// Control message op codes (`enum dop` in OTP's `dist.h`, §5.1).
pub mod op {
    pub const LINK: u8 = 1;
    pub const SEND: u8 = 2;
    pub const EXIT: u8 = 3;
    pub const UNLINK: u8 = 4;
    /// Ancient; no longer in OTP's `dop` enum — receiving it kills the connection.
    pub const NODE_LINK: u8 = 5;
    pub const REG_SEND: u8 = 6;
    pub const GROUP_LEADER: u8 = 7;
    pub const EXIT2: u8 = 8;
    pub const SEND_TT: u8 = 12;
    pub const EXIT_TT: u8 = 13;
    pub const REG_SEND_TT: u8 = 16;
    pub const EXIT2_TT: u8 = 18;
    pub const MONITOR_P: u8 = 19;
    pub const DEMONITOR_P: u8 = 20;
    pub const MONITOR_P_EXIT: u8 = 21;
    pub const SEND_SENDER: u8 = 22;
    pub const SEND_SENDER_TT: u8 = 23;
    pub const PAYLOAD_EXIT: u8 = 24;
    pub const PAYLOAD_EXIT_TT: u8 = 25;
    pub const PAYLOAD_EXIT2: u8 = 26;
    pub const PAYLOAD_EXIT2_TT: u8 = 27;
    pub const PAYLOAD_MONITOR_P_EXIT: u8 = 28;
    pub const SPAWN_REQUEST: u8 = 29;
    pub const SPAWN_REQUEST_TT: u8 = 30;
    pub const SPAWN_REPLY: u8 = 31;
    pub const SPAWN_REPLY_TT: u8 = 32;
    pub const ALIAS_SEND: u8 = 33;
    pub const ALIAS_SEND_TT: u8 = 34;
    pub const UNLINK_ID: u8 = 35;
    pub const UNLINK_ID_ACK: u8 = 36;
    pub const ALTACT_SIG_SEND: u8 = 37;

    /// The OTP name of an op code (`"REG_SEND_TT"`), for errors and logs.
    pub fn name(op: i64) -> &'static str {
        match op {
            1 => "LINK",
            2 => "SEND",
            3 => "EXIT",
            4 => "UNLINK",
            5 => "NODE_LINK",
            6 => "REG_SEND",
            7 => "GROUP_LEADER",
            8 => "EXIT2",
            12 => "SEND_TT",
            13 => "EXIT_TT",
            16 => "REG_SEND_TT",
            18 => "EXIT2_TT",
            19 => "MONITOR_P",
            20 => "DEMONITOR_P",
            21 => "MONITOR_P_EXIT",
            22 => "SEND_SENDER",
            23 => "SEND_SENDER_TT",
            24 => "PAYLOAD_EXIT",
            25 => "PAYLOAD_EXIT_TT",
            26 => "PAYLOAD_EXIT2",
            27 => "PAYLOAD_EXIT2_TT",
            28 => "PAYLOAD_MONITOR_P_EXIT",
            29 => "SPAWN_REQUEST",
            30 => "SPAWN_REQUEST_TT",
            31 => "SPAWN_REPLY",
            32 => "SPAWN_REPLY_TT",
            33 => "ALIAS_SEND",
            34 => "ALIAS_SEND_TT",
            35 => "UNLINK_ID",
            36 => "UNLINK_ID_ACK",
            37 => "ALTACT_SIG_SEND",
            _ => "unknown",
        }
    }
}

/// Why a control tuple was rejected. OTP kills the connection for every one of these
/// ("Invalid distribution message", §4.5).
#[derive(Debug, thiserror::Error, PartialEq, Eq, Clone)]
#[non_exhaustive]
pub enum ControlError {
    #[error("control message is not a tuple")]
    NotATuple,
    #[error("control tuple is empty")]
    EmptyTuple,
    #[error("control tuple's first element is not a small integer op code")]
    OpNotInteger,
    #[error("unknown control op code {op}")]
    UnknownOp { op: i64 },
    #[error("obsolete control op {op} ({name}) is not accepted")]
    ObsoleteOp { op: u8, name: &'static str },
    #[error("{name} (op {op}): tuple arity {arity}, expected {expected}")]
    BadArity {
        op: u8,
        name: &'static str,
        arity: usize,
        expected: usize,
    },
    #[error("{name} (op {op}): element {index} must be {expected}")]
    BadElement {
        op: u8,
        name: &'static str,
        /// 1-based tuple position, as in `element/2` (the op code is element 1).
        index: usize,
        expected: &'static str,
    },
    #[error("UNLINK_ID/UNLINK_ID_ACK with id 0")]
    ZeroUnlinkId,
    #[error("ALTACT_SIG_SEND flags {flags:#x} combine ALIAS and NAME")]
    BadAltactFlags { flags: u64 },
    #[error("{name} (op {op}) from a pid of node {node:?}, but the peer is {peer:?}")]
    ForeignOrigin {
        op: u8,
        name: &'static str,
        node: Atom,
        peer: Atom,
    },
    #[error("{name} (op {op}) targets a pid of node {node:?}, not of this node")]
    ForeignDestination {
        op: u8,
        name: &'static str,
        node: Atom,
    },
}

/// A process addressed by pid or by registered name (the `ToProc`/`FromProc` of the
/// monitor signals, §5.1).
#[derive(Clone, PartialEq, Eq, Hash, Debug)]
pub enum ProcRef {
    Pid(Pid),
    Name(Atom),
}

impl ProcRef {
    pub fn to_term(&self) -> Term {
        match self {
            ProcRef::Pid(p) => Term::Pid(p.clone()),
            ProcRef::Name(a) => Term::Atom(a.clone()),
        }
    }
}

/// Flag bits of ALTACT_SIG_SEND (§5.3).
pub mod altact {
    /// Priority message / exit signal (EEP 76).
    pub const PRIO: u64 = 1;
    /// A seq_trace token is present (5th element).
    pub const TOKEN: u64 = 2;
    /// `To` is an alias reference.
    pub const ALIAS: u64 = 4;
    /// `To` is a registered name.
    pub const NAME: u64 = 8;
    /// The trailing term is an exit reason; the signal is an exit signal.
    pub const EXIT: u64 = 16;
}

/// One distribution control message (§5.1). `token` = seq_trace token; when present the
/// `_TT` op code is used. "Needs" names the distribution flag that must be negotiated
/// before *sending* the signal (OTP does not check flags on receipt except where noted).
#[derive(Clone, PartialEq, Eq, Debug)]
pub enum ControlMessage {
    /// LINK (1) `{1, From, To}`. Needs: nothing.
    Link { from: Pid, to: Pid },
    /// SEND (2) `{2, '', To}` / SEND_TT (12) `{12, '', To, Token}` + Msg. Needs: nothing;
    /// only used when SEND_SENDER is not negotiated.
    Send { to: Pid, token: Option<Term> },
    /// EXIT (3) `{3, From, To, Reason}` / EXIT_TT (13) `{13, From, To, Token, Reason}`.
    /// Needs: nothing, but must not be sent when EXIT_PAYLOAD is negotiated (use
    /// [`ControlMessage::PayloadExit`]).
    Exit {
        from: Pid,
        to: Pid,
        reason: Term,
        token: Option<Term>,
    },
    /// UNLINK (4) `{4, From, To}`. Old link protocol: OTP 26+ kill the connection on it;
    /// never send it (use [`ControlMessage::UnlinkId`]). Decoded for OTP 25 peers.
    Unlink { from: Pid, to: Pid },
    /// REG_SEND (6) `{6, From, '', ToName}` / REG_SEND_TT (16) + Msg. Needs: nothing.
    RegSend {
        from: Pid,
        to_name: Atom,
        token: Option<Term>,
    },
    /// GROUP_LEADER (7) `{7, Leader, To}`: make `leader` the group leader of `to`.
    /// Needs: nothing.
    GroupLeader { leader: Pid, to: Pid },
    /// EXIT2 (8) `{8, From, To, Reason}` / EXIT2_TT (18) `{18, From, To, Token, Reason}`
    /// (`exit/2`). Needs: nothing, but not when EXIT_PAYLOAD is negotiated
    /// (use [`ControlMessage::PayloadExit2`]).
    Exit2 {
        from: Pid,
        to: Pid,
        reason: Term,
        token: Option<Term>,
    },
    /// MONITOR_P (19) `{19, From, ToProc, Ref}`. Needs: DIST_MONITOR (and
    /// DIST_MONITOR_NAME for a name).
    MonitorP {
        from: Pid,
        to: ProcRef,
        reference: Reference,
    },
    /// DEMONITOR_P (20) `{20, From, ToProc, Ref}`. Needs: DIST_MONITOR.
    DemonitorP {
        from: Pid,
        to: ProcRef,
        reference: Reference,
    },
    /// MONITOR_P_EXIT (21) `{21, FromProc, To, Ref, Reason}`. Needs: DIST_MONITOR; not
    /// when EXIT_PAYLOAD is negotiated (use [`ControlMessage::PayloadMonitorPExit`]).
    MonitorPExit {
        from: ProcRef,
        to: Pid,
        reference: Reference,
        reason: Term,
    },
    /// SEND_SENDER (22) `{22, From, To}` / SEND_SENDER_TT (23) + Msg. Needs: SEND_SENDER.
    SendSender {
        from: Pid,
        to: Pid,
        token: Option<Term>,
    },
    /// PAYLOAD_EXIT (24) `{24, From, To}` / PAYLOAD_EXIT_TT (25) + Reason.
    /// Needs: EXIT_PAYLOAD.
    PayloadExit {
        from: Pid,
        to: Pid,
        token: Option<Term>,
    },
    /// PAYLOAD_EXIT2 (26) `{26, From, To}` / PAYLOAD_EXIT2_TT (27) + Reason.
    /// Needs: EXIT_PAYLOAD.
    PayloadExit2 {
        from: Pid,
        to: Pid,
        token: Option<Term>,
    },
    /// PAYLOAD_MONITOR_P_EXIT (28) `{28, FromProc, To, Ref}` + Reason.
    /// Needs: EXIT_PAYLOAD (and DIST_MONITOR).
    PayloadMonitorPExit {
        from: ProcRef,
        to: Pid,
        reference: Reference,
    },
    /// SPAWN_REQUEST (29) `{29, ReqId, From, GroupLeader, {M, F, Arity}, Opts}` /
    /// SPAWN_REQUEST_TT (30, token last) + ArgList. Needs: SPAWN.
    SpawnRequest {
        req_id: Reference,
        from: Pid,
        group_leader: Pid,
        module: Atom,
        function: Atom,
        arity: u32,
        /// A proper list (`[]` or [`Term::List`]).
        opts: Term,
        token: Option<Term>,
    },
    /// SPAWN_REPLY (31) `{31, ReqId, To, Flags, Result}` / SPAWN_REPLY_TT (32, token
    /// last). `result` is the new pid or an error atom. Needs: SPAWN.
    SpawnReply {
        req_id: Reference,
        to: Pid,
        flags: u32,
        result: Term,
        token: Option<Term>,
    },
    /// ALIAS_SEND (33) `{33, From, Alias}` / ALIAS_SEND_TT (34) + Msg. Needs: ALIAS
    /// for OTP to send it to us; OTP accepts it from us regardless.
    AliasSend {
        from: Pid,
        alias: Reference,
        token: Option<Term>,
    },
    /// UNLINK_ID (35) `{35, Id, From, To}`; `id` is never 0. Needs: UNLINK_ID.
    UnlinkId { id: u64, from: Pid, to: Pid },
    /// UNLINK_ID_ACK (36) `{36, Id, From, To}`: `from` acks, `to` had unlinked.
    /// Needs: UNLINK_ID.
    UnlinkIdAck { id: u64, from: Pid, to: Pid },
    /// ALTACT_SIG_SEND (37) `{37, Flags, From, To}` / `{37, Flags, From, To, Token}` +
    /// Msg or exit Reason (§5.3). `to` is a pid, an alias ref (flag ALIAS) or a name
    /// (flag NAME). The TOKEN bit of `flags` is derived from `token` when encoding.
    /// Needs: ALTACT_SIG (OTP 28).
    AltactSigSend {
        flags: u64,
        from: Pid,
        to: Term,
        token: Option<Term>,
    },
}

impl ControlMessage {
    /// The op code this message is sent with (`_TT` when a token is present).
    pub fn op(&self) -> u8 {
        use ControlMessage::*;
        let tt = |token: &Option<Term>, plain: u8, traced: u8| {
            if token.is_some() {
                traced
            } else {
                plain
            }
        };
        match self {
            Link { .. } => op::LINK,
            Send { token, .. } => tt(token, op::SEND, op::SEND_TT),
            Exit { token, .. } => tt(token, op::EXIT, op::EXIT_TT),
            Unlink { .. } => op::UNLINK,
            RegSend { token, .. } => tt(token, op::REG_SEND, op::REG_SEND_TT),
            GroupLeader { .. } => op::GROUP_LEADER,
            Exit2 { token, .. } => tt(token, op::EXIT2, op::EXIT2_TT),
            MonitorP { .. } => op::MONITOR_P,
            DemonitorP { .. } => op::DEMONITOR_P,
            MonitorPExit { .. } => op::MONITOR_P_EXIT,
            SendSender { token, .. } => tt(token, op::SEND_SENDER, op::SEND_SENDER_TT),
            PayloadExit { token, .. } => tt(token, op::PAYLOAD_EXIT, op::PAYLOAD_EXIT_TT),
            PayloadExit2 { token, .. } => tt(token, op::PAYLOAD_EXIT2, op::PAYLOAD_EXIT2_TT),
            PayloadMonitorPExit { .. } => op::PAYLOAD_MONITOR_P_EXIT,
            SpawnRequest { token, .. } => tt(token, op::SPAWN_REQUEST, op::SPAWN_REQUEST_TT),
            SpawnReply { token, .. } => tt(token, op::SPAWN_REPLY, op::SPAWN_REPLY_TT),
            AliasSend { token, .. } => tt(token, op::ALIAS_SEND, op::ALIAS_SEND_TT),
            UnlinkId { .. } => op::UNLINK_ID,
            UnlinkIdAck { .. } => op::UNLINK_ID_ACK,
            AltactSigSend { .. } => op::ALTACT_SIG_SEND,
        }
    }

    /// The OTP name of [`Self::op`].
    pub fn name(&self) -> &'static str {
        op::name(i64::from(self.op()))
    }

    /// Whether a second term (message, exit reason or spawn argument list) follows the
    /// control tuple (§5.1 "+Msg" column).
    pub fn has_payload(&self) -> bool {
        use ControlMessage::*;
        matches!(
            self,
            Send { .. }
                | RegSend { .. }
                | SendSender { .. }
                | PayloadExit { .. }
                | PayloadExit2 { .. }
                | PayloadMonitorPExit { .. }
                | SpawnRequest { .. }
                | AliasSend { .. }
                | AltactSigSend { .. }
        )
    }

    /// The pid that sends this signal, if the control tuple names one. The encoder uses
    /// it to derive fragment sequence ids (§4.4).
    pub fn sender(&self) -> Option<&Pid> {
        use ControlMessage::*;
        match self {
            Link { from, .. }
            | Exit { from, .. }
            | Unlink { from, .. }
            | RegSend { from, .. }
            | Exit2 { from, .. }
            | MonitorP { from, .. }
            | DemonitorP { from, .. }
            | SendSender { from, .. }
            | PayloadExit { from, .. }
            | PayloadExit2 { from, .. }
            | SpawnRequest { from, .. }
            | AliasSend { from, .. }
            | UnlinkId { from, .. }
            | UnlinkIdAck { from, .. }
            | AltactSigSend { from, .. } => Some(from),
            MonitorPExit { from, .. } | PayloadMonitorPExit { from, .. } => match from {
                ProcRef::Pid(p) => Some(p),
                ProcRef::Name(_) => None,
            },
            GroupLeader { leader, .. } => Some(leader),
            Send { .. } | SpawnReply { .. } => None,
        }
    }

    /// The control tuple as a term, ready for the ETF encoder.
    pub fn to_term(&self) -> Term {
        use ControlMessage::*;
        let op = Term::Int(i64::from(self.op()));
        let pid = |p: &Pid| Term::Pid(p.clone());
        let rf = |r: &Reference| Term::Ref(r.clone());
        let unused = || Term::atom("");
        let mut e = match self {
            Link { from, to } | Unlink { from, to } => vec![op, pid(from), pid(to)],
            Send { to, .. } => vec![op, unused(), pid(to)],
            Exit {
                from,
                to,
                reason,
                token,
            }
            | Exit2 {
                from,
                to,
                reason,
                token,
            } => {
                // The token sits *before* the reason in EXIT_TT / EXIT2_TT.
                let mut v = vec![op, pid(from), pid(to)];
                v.extend(token.iter().cloned());
                v.push(reason.clone());
                return Term::tuple(v);
            }
            RegSend { from, to_name, .. } => {
                vec![op, pid(from), unused(), Term::Atom(to_name.clone())]
            }
            GroupLeader { leader, to } => vec![op, pid(leader), pid(to)],
            MonitorP {
                from,
                to,
                reference,
            }
            | DemonitorP {
                from,
                to,
                reference,
            } => vec![op, pid(from), to.to_term(), rf(reference)],
            MonitorPExit {
                from,
                to,
                reference,
                reason,
            } => vec![op, from.to_term(), pid(to), rf(reference), reason.clone()],
            SendSender { from, to, .. }
            | PayloadExit { from, to, .. }
            | PayloadExit2 { from, to, .. } => vec![op, pid(from), pid(to)],
            PayloadMonitorPExit {
                from,
                to,
                reference,
            } => vec![op, from.to_term(), pid(to), rf(reference)],
            SpawnRequest {
                req_id,
                from,
                group_leader,
                module,
                function,
                arity,
                opts,
                ..
            } => vec![
                op,
                rf(req_id),
                pid(from),
                pid(group_leader),
                Term::tuple(vec![
                    Term::Atom(module.clone()),
                    Term::Atom(function.clone()),
                    Term::Int(i64::from(*arity)),
                ]),
                opts.clone(),
            ],
            SpawnReply {
                req_id,
                to,
                flags,
                result,
                ..
            } => vec![
                op,
                rf(req_id),
                pid(to),
                Term::Int(i64::from(*flags)),
                result.clone(),
            ],
            AliasSend { from, alias, .. } => vec![op, pid(from), rf(alias)],
            UnlinkId { id, from, to } | UnlinkIdAck { id, from, to } => {
                vec![op, u64_term(*id), pid(from), pid(to)]
            }
            AltactSigSend {
                flags,
                from,
                to,
                token,
            } => {
                let flags = if token.is_some() {
                    flags | altact::TOKEN
                } else {
                    flags & !altact::TOKEN
                };
                vec![op, u64_term(flags), pid(from), to.clone()]
            }
        };
        if let Some(token) = self.token() {
            e.push(token.clone());
        }
        Term::tuple(e)
    }

    /// The seq_trace token, if any.
    pub fn token(&self) -> Option<&Term> {
        use ControlMessage::*;
        match self {
            Send { token, .. }
            | Exit { token, .. }
            | RegSend { token, .. }
            | Exit2 { token, .. }
            | SendSender { token, .. }
            | PayloadExit { token, .. }
            | PayloadExit2 { token, .. }
            | SpawnRequest { token, .. }
            | SpawnReply { token, .. }
            | AliasSend { token, .. }
            | AltactSigSend { token, .. } => token.as_ref(),
            _ => None,
        }
    }

    /// Parses and validates a received control tuple the way OTP does (§4.5, §5.1).
    pub fn from_term(t: Term) -> Result<ControlMessage, ControlError> {
        let elems = match t {
            Term::Tuple(ts) => ts.into_vec(),
            _ => return Err(ControlError::NotATuple),
        };
        let arity = elems.len();
        let mut it = elems.into_iter();
        let op = match it.next() {
            None => return Err(ControlError::EmptyTuple),
            Some(Term::Int(i)) => i,
            Some(_) => return Err(ControlError::OpNotInteger),
        };
        let op8 = u8::try_from(op).map_err(|_| ControlError::UnknownOp { op })?;
        Self::from_fields(&mut Fields::new(op8, arity, it))
    }

    /// [`ControlMessage::from_term`] of the encoded control tuple at the start of
    /// `bytes` (no version byte), reading its elements straight into the message
    /// instead of building the tuple first: the receive path of every distribution
    /// message (§4.3). Returns the message, the bytes it took and whether a native
    /// record was in it, or `None` when the bytes are not a well-formed, valid control
    /// message, in which case the caller decodes the term and calls `from_term` to
    /// name the fault exactly as before.
    pub(crate) fn decode_direct(
        bytes: &[u8],
        opts: &crate::etf::DecodeOptions<'_>,
    ) -> Option<(ControlMessage, usize, bool)> {
        let mut reader = crate::etf::TupleReader::open(bytes, opts).ok()?;
        if reader.arity() == 0 {
            return None;
        }
        let op = match reader.element().ok()? {
            Term::Int(op) => u8::try_from(op).ok()?,
            _ => return None,
        };
        let mut f = Fields::from_reader(op, reader);
        let message = Self::from_fields(&mut f).ok()?;
        // Every op reads all its elements; were one left, reading it keeps the
        // same bytes valid (and consumed) as decoding the whole tuple does.
        for _ in 0..f.unread() {
            f.any().ok()?;
        }
        let (used, records) = f.reader()?.finish();
        Some((message, used, records))
    }

    fn from_fields(f: &mut Fields<'_>) -> Result<ControlMessage, ControlError> {
        match f.op {
            op::LINK
            | op::UNLINK
            | op::GROUP_LEADER
            | op::EXIT
            | op::EXIT_TT
            | op::EXIT2
            | op::EXIT2_TT
            | op::PAYLOAD_EXIT
            | op::PAYLOAD_EXIT_TT
            | op::PAYLOAD_EXIT2
            | op::PAYLOAD_EXIT2_TT
            | op::UNLINK_ID
            | op::UNLINK_ID_ACK => link::decode(f),
            op::SEND
            | op::SEND_TT
            | op::REG_SEND
            | op::REG_SEND_TT
            | op::SEND_SENDER
            | op::SEND_SENDER_TT
            | op::ALIAS_SEND
            | op::ALIAS_SEND_TT
            | op::ALTACT_SIG_SEND => send::decode(f),
            op::MONITOR_P | op::DEMONITOR_P | op::MONITOR_P_EXIT | op::PAYLOAD_MONITOR_P_EXIT => {
                monitor::decode(f)
            }
            op::SPAWN_REQUEST | op::SPAWN_REQUEST_TT | op::SPAWN_REPLY | op::SPAWN_REPLY_TT => {
                spawn::decode(f)
            }
            op::NODE_LINK => Err(ControlError::ObsoleteOp {
                op: f.op,
                name: op::name(i64::from(f.op)),
            }),
            other => Err(ControlError::UnknownOp {
                op: i64::from(other),
            }),
        }
    }
}

/// A non-negative integer term, normalised the way the ETF codec expects (values above
/// `i64::MAX` are bignums).
fn u64_term(v: u64) -> Term {
    match i64::try_from(v) {
        Ok(i) => Term::Int(i),
        Err(_) => Term::BigInt(num_bigint::BigInt::from(v)),
    }
}

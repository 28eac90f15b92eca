//! Control tuples written straight to ETF, without building a [`Term`] first
//! (docs/protocol.md §5.1 for the tuples, §4.3 for cached atoms).
//!
//! Every message we send has a control tuple, and most are `{22, From, To}` or
//! `{6, From, '', Name}`: building them as terms allocated a vector and cloned two
//! pids per message. Writing them directly also lets the distribution encoder put the
//! tuple's atoms (node names of pids and references, the registered name, `''`)
//! through the connection's atom cache. The bytes are the same as encoding
//! [`ControlMessage::to_term`] when no atom is cached (tested in
//! `tests/codec/wire_dist.rs`).

use super::{altact, ControlMessage, ProcRef};
use crate::etf::{self, tag, EncodeError};
use crate::term::{Atom, Pid, Reference, Term};

/// Where the atoms of a control tuple go: written in full, or as a reference to the
/// connection's atom cache.
pub(crate) trait AtomSink {
    fn put(&mut self, atom: &Atom, out: &mut Vec<u8>) -> Result<(), EncodeError>;
}

/// Every atom written in full.
pub(crate) struct PlainAtoms;

impl AtomSink for PlainAtoms {
    fn put(&mut self, atom: &Atom, out: &mut Vec<u8>) -> Result<(), EncodeError> {
        etf::write_atom(atom, out)
    }
}

struct Writer<'a, A> {
    out: &'a mut Vec<u8>,
    atoms: &'a mut A,
    /// A term written so far held a native record (tag 67).
    records: bool,
}

impl<A: AtomSink> Writer<'_, A> {
    fn atom(&mut self, a: &Atom) -> Result<(), EncodeError> {
        self.atoms.put(a, self.out)
    }

    fn int(&mut self, v: i64) {
        etf::write_int(v, self.out)
    }

    fn u64(&mut self, v: u64) -> Result<(), EncodeError> {
        match i64::try_from(v) {
            Ok(i) => {
                self.int(i);
                Ok(())
            }
            Err(_) => etf::encode_body_into(&Term::BigInt(num_bigint::BigInt::from(v)), self.out),
        }
    }

    fn pid(&mut self, p: &Pid) -> Result<(), EncodeError> {
        self.out.push(tag::NEW_PID_EXT);
        self.atom(&p.node)?;
        self.out.extend_from_slice(&p.id.to_be_bytes());
        self.out.extend_from_slice(&p.serial.to_be_bytes());
        self.out.extend_from_slice(&p.creation.to_be_bytes());
        Ok(())
    }

    fn reference(&mut self, r: &Reference) -> Result<(), EncodeError> {
        if !(1..=5).contains(&r.ids.len()) {
            return Err(EncodeError::BadReference(r.ids.len()));
        }
        self.out.push(tag::NEWER_REFERENCE_EXT);
        self.out
            .extend_from_slice(&(r.ids.len() as u16).to_be_bytes());
        self.atom(&r.node)?;
        self.out.extend_from_slice(&r.creation.to_be_bytes());
        for id in &r.ids {
            self.out.extend_from_slice(&id.to_be_bytes());
        }
        Ok(())
    }

    fn proc_ref(&mut self, p: &ProcRef) -> Result<(), EncodeError> {
        match p {
            ProcRef::Pid(p) => self.pid(p),
            ProcRef::Name(a) => self.atom(a),
        }
    }

    /// Any other term: atoms, pids and references through the cache, the rest by
    /// the ETF encoder.
    fn term(&mut self, t: &Term) -> Result<(), EncodeError> {
        match t {
            Term::Atom(a) => self.atom(a),
            Term::Pid(p) => self.pid(p),
            Term::Ref(r) => self.reference(r),
            other => {
                self.records |= etf::encode_body_noting_records(other, self.out)?;
                Ok(())
            }
        }
    }

    fn tuple(&mut self, arity: usize, op: u8) {
        // Control tuples have at most 7 elements.
        self.out.push(tag::SMALL_TUPLE_EXT);
        self.out.push(arity as u8);
        self.int(i64::from(op));
    }
}

/// Appends the control tuple of `c` (no version byte), its atoms through `atoms`.
/// Returns whether a term in it (an exit reason, a spawn reply's result, ...) holds a
/// native record, which only a peer with DFLAG_NATIVE_RECORDS may be sent (§3.1).
pub(crate) fn write_control<A: AtomSink>(
    c: &ControlMessage,
    atoms: &mut A,
    out: &mut Vec<u8>,
) -> Result<bool, EncodeError> {
    use ControlMessage::*;
    let mut w = Writer {
        out,
        atoms,
        records: false,
    };
    let op = c.op();
    // Elements besides the op code and a trailing token.
    let token = c.token();
    let extra = usize::from(token.is_some());
    match c {
        Link { from, to }
        | Unlink { from, to }
        | SendSender { from, to, .. }
        | PayloadExit { from, to, .. }
        | PayloadExit2 { from, to, .. } => {
            w.tuple(3 + extra, op);
            w.pid(from)?;
            w.pid(to)?;
        }
        GroupLeader { leader, to } => {
            w.tuple(3, op);
            w.pid(leader)?;
            w.pid(to)?;
        }
        Send { to, .. } => {
            w.tuple(3 + extra, op);
            w.atom(&Atom::new(""))?;
            w.pid(to)?;
        }
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
            w.tuple(4 + usize::from(token.is_some()), op);
            w.pid(from)?;
            w.pid(to)?;
            if let Some(t) = token {
                w.term(t)?;
            }
            w.term(reason)?;
            return Ok(w.records);
        }
        RegSend { from, to_name, .. } => {
            w.tuple(4 + extra, op);
            w.pid(from)?;
            w.atom(&Atom::new(""))?;
            w.atom(to_name)?;
        }
        MonitorP {
            from,
            to,
            reference,
        }
        | DemonitorP {
            from,
            to,
            reference,
        } => {
            w.tuple(4, op);
            w.pid(from)?;
            w.proc_ref(to)?;
            w.reference(reference)?;
        }
        MonitorPExit {
            from,
            to,
            reference,
            reason,
        } => {
            w.tuple(5, op);
            w.proc_ref(from)?;
            w.pid(to)?;
            w.reference(reference)?;
            w.term(reason)?;
        }
        PayloadMonitorPExit {
            from,
            to,
            reference,
        } => {
            w.tuple(4, op);
            w.proc_ref(from)?;
            w.pid(to)?;
            w.reference(reference)?;
        }
        SpawnRequest {
            req_id,
            from,
            group_leader,
            module,
            function,
            arity,
            opts,
            ..
        } => {
            w.tuple(6 + extra, op);
            w.reference(req_id)?;
            w.pid(from)?;
            w.pid(group_leader)?;
            w.out.extend_from_slice(&[tag::SMALL_TUPLE_EXT, 3]);
            w.atom(module)?;
            w.atom(function)?;
            w.int(i64::from(*arity));
            w.term(opts)?;
        }
        SpawnReply {
            req_id,
            to,
            flags,
            result,
            ..
        } => {
            w.tuple(5 + extra, op);
            w.reference(req_id)?;
            w.pid(to)?;
            w.int(i64::from(*flags));
            w.term(result)?;
        }
        AliasSend { from, alias, .. } => {
            w.tuple(3 + extra, op);
            w.pid(from)?;
            w.reference(alias)?;
        }
        UnlinkId { id, from, to } | UnlinkIdAck { id, from, to } => {
            w.tuple(4, op);
            w.u64(*id)?;
            w.pid(from)?;
            w.pid(to)?;
        }
        AltactSigSend {
            flags, from, to, ..
        } => {
            let flags = if token.is_some() {
                flags | altact::TOKEN
            } else {
                flags & !altact::TOKEN
            };
            w.tuple(4 + extra, op);
            w.u64(flags)?;
            w.pid(from)?;
            w.term(to)?;
        }
    }
    if let Some(t) = token {
        w.term(t)?;
    }
    Ok(w.records)
}

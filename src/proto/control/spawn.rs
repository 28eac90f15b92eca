//! SPAWN_REQUEST(_TT) and SPAWN_REPLY(_TT) (§5.1, §5.4).

use super::fields::Fields;
use super::{op, ControlError, ControlMessage};
use crate::term::Term;

/// SPAWN_REPLY flag: the link was set up.
pub const REPLY_FLAG_LINK: u32 = 1;
/// SPAWN_REPLY flag: the monitor was set up (its ref is the request id).
pub const REPLY_FLAG_MONITOR: u32 = 2;

/// Decodes one of this family's ops (the dispatcher only routes these here).
pub(super) fn decode(f: &mut Fields<'_>) -> Result<ControlMessage, ControlError> {
    match f.op {
        op::SPAWN_REQUEST | op::SPAWN_REQUEST_TT => {
            let traced = f.op == op::SPAWN_REQUEST_TT;
            f.arity(if traced { 7 } else { 6 })?;
            let req_id = f.reference()?;
            let from = f.pid()?;
            let group_leader = f.pid()?;
            let mfa = f.any()?;
            let (module, function, arity) = match mfa.as_tuple() {
                Some([Term::Atom(m), Term::Atom(fun), Term::Int(a)]) => match u32::try_from(*a) {
                    Ok(a) => (m.clone(), fun.clone(), a),
                    Err(_) => return Err(f.bad(5, "{Module, Function, Arity}")),
                },
                _ => return Err(f.bad(5, "{Module, Function, Arity}")),
            };
            let opts = f.proper_list()?;
            let token = f.token_if(traced)?;
            Ok(ControlMessage::SpawnRequest {
                req_id,
                from,
                group_leader,
                module,
                function,
                arity,
                opts,
                token,
            })
        }
        op::SPAWN_REPLY | op::SPAWN_REPLY_TT => {
            let traced = f.op == op::SPAWN_REPLY_TT;
            f.arity(if traced { 6 } else { 5 })?;
            let req_id = f.reference()?;
            let to = f.pid()?;
            // OTP: a small integer below 2^27.
            let flags = f.small_below(1 << 27)?;
            let result = f.any()?;
            if !matches!(result, Term::Pid(_) | Term::Atom(_)) {
                return Err(f.bad(5, "a pid or an atom"));
            }
            let token = f.token_if(traced)?;
            Ok(ControlMessage::SpawnReply {
                req_id,
                to,
                flags: u32::try_from(flags).map_err(|_| f.bad(4, "a small integer"))?,
                result,
                token,
            })
        }
        other => Err(ControlError::UnknownOp {
            op: i64::from(other),
        }),
    }
}

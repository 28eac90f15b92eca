//! Message-carrying signals (§5.1, §5.3): SEND(_TT), REG_SEND(_TT), SEND_SENDER(_TT),
//! ALIAS_SEND(_TT) and ALTACT_SIG_SEND.

use super::fields::Fields;
use super::{altact, op, ControlError, ControlMessage};
use crate::term::Term;

/// Decodes one of this family's ops (the dispatcher only routes these here).
pub(super) fn decode(f: &mut Fields<'_>) -> Result<ControlMessage, ControlError> {
    match f.op {
        op::SEND | op::SEND_TT => {
            let traced = f.op == op::SEND_TT;
            f.arity(if traced { 4 } else { 3 })?;
            // Element 2 is the unused '' (a cookie once); OTP does not check it.
            let _unused = f.any()?;
            let to = f.pid()?;
            let token = f.token_if(traced)?;
            Ok(ControlMessage::Send { to, token })
        }
        op::REG_SEND | op::REG_SEND_TT => {
            let traced = f.op == op::REG_SEND_TT;
            f.arity(if traced { 5 } else { 4 })?;
            let from = f.pid()?;
            // Element 3 was a cookie; ignored since R9B.
            let _unused = f.any()?;
            let to_name = f.atom()?;
            let token = f.token_if(traced)?;
            Ok(ControlMessage::RegSend {
                from,
                to_name,
                token,
            })
        }
        op::SEND_SENDER | op::SEND_SENDER_TT => {
            let traced = f.op == op::SEND_SENDER_TT;
            f.arity(if traced { 4 } else { 3 })?;
            let from = f.pid()?;
            let to = f.pid()?;
            let token = f.token_if(traced)?;
            Ok(ControlMessage::SendSender { from, to, token })
        }
        op::ALIAS_SEND | op::ALIAS_SEND_TT => {
            let traced = f.op == op::ALIAS_SEND_TT;
            f.arity(if traced { 4 } else { 3 })?;
            let from = f.pid()?;
            let alias = f.reference()?;
            let token = f.token_if(traced)?;
            Ok(ControlMessage::AliasSend { from, alias, token })
        }
        op::ALTACT_SIG_SEND => {
            // The TOKEN flag decides the arity, so read the flags before checking it.
            if f.arity < 2 {
                f.arity(4)?;
            }
            let flags = f.u64()?;
            let traced = flags & altact::TOKEN != 0;
            f.arity(if traced { 5 } else { 4 })?;
            if flags & altact::ALIAS != 0 && flags & altact::NAME != 0 {
                return Err(ControlError::BadAltactFlags { flags });
            }
            let from = f.pid()?;
            let to = f.any()?;
            let ok = if flags & altact::ALIAS != 0 {
                matches!(to, Term::Ref(_))
            } else if flags & altact::NAME != 0 {
                matches!(to, Term::Atom(_))
            } else {
                matches!(to, Term::Pid(_))
            };
            if !ok {
                return Err(f.bad(4, "a pid, alias or name as the flags say"));
            }
            let token = f.token_if(traced)?;
            Ok(ControlMessage::AltactSigSend {
                flags,
                from,
                to,
                token,
            })
        }
        other => Err(ControlError::UnknownOp {
            op: i64::from(other),
        }),
    }
}

//! Link, exit and group-leader signals (§5.1, §5.2): LINK, UNLINK, UNLINK_ID(_ACK),
//! EXIT(_TT), EXIT2(_TT), PAYLOAD_EXIT(2)(_TT), GROUP_LEADER.

use super::fields::Fields;
use super::{op, ControlError, ControlMessage};

/// Decodes one of this family's ops (the dispatcher only routes these here).
pub(super) fn decode(f: &mut Fields<'_>) -> Result<ControlMessage, ControlError> {
    match f.op {
        op::LINK | op::UNLINK | op::GROUP_LEADER => {
            f.arity(3)?;
            let a = f.pid()?;
            let b = f.pid()?;
            Ok(match f.op {
                op::LINK => ControlMessage::Link { from: a, to: b },
                op::UNLINK => ControlMessage::Unlink { from: a, to: b },
                _ => ControlMessage::GroupLeader { leader: a, to: b },
            })
        }
        op::EXIT | op::EXIT_TT | op::EXIT2 | op::EXIT2_TT => {
            let traced = matches!(f.op, op::EXIT_TT | op::EXIT2_TT);
            f.arity(if traced { 5 } else { 4 })?;
            let from = f.pid()?;
            let to = f.pid()?;
            // In the _TT forms the token comes before the reason.
            let token = f.token_if(traced)?;
            let reason = f.any()?;
            Ok(if matches!(f.op, op::EXIT | op::EXIT_TT) {
                ControlMessage::Exit {
                    from,
                    to,
                    reason,
                    token,
                }
            } else {
                ControlMessage::Exit2 {
                    from,
                    to,
                    reason,
                    token,
                }
            })
        }
        op::PAYLOAD_EXIT | op::PAYLOAD_EXIT_TT | op::PAYLOAD_EXIT2 | op::PAYLOAD_EXIT2_TT => {
            let traced = matches!(f.op, op::PAYLOAD_EXIT_TT | op::PAYLOAD_EXIT2_TT);
            f.arity(if traced { 4 } else { 3 })?;
            let from = f.pid()?;
            let to = f.pid()?;
            let token = f.token_if(traced)?;
            Ok(if matches!(f.op, op::PAYLOAD_EXIT | op::PAYLOAD_EXIT_TT) {
                ControlMessage::PayloadExit { from, to, token }
            } else {
                ControlMessage::PayloadExit2 { from, to, token }
            })
        }
        op::UNLINK_ID | op::UNLINK_ID_ACK => {
            f.arity(4)?;
            let id = f.u64()?;
            if id == 0 {
                // §5.1: id 0 kills the connection (it is how OTP marks the old protocol).
                return Err(ControlError::ZeroUnlinkId);
            }
            let from = f.pid()?;
            let to = f.pid()?;
            Ok(if f.op == op::UNLINK_ID {
                ControlMessage::UnlinkId { id, from, to }
            } else {
                ControlMessage::UnlinkIdAck { id, from, to }
            })
        }
        other => Err(ControlError::UnknownOp {
            op: i64::from(other),
        }),
    }
}

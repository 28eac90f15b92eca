//! Process monitor signals (§5.1): MONITOR_P, DEMONITOR_P, MONITOR_P_EXIT,
//! PAYLOAD_MONITOR_P_EXIT.

use super::fields::Fields;
use super::{op, ControlError, ControlMessage};

/// Decodes one of this family's ops (the dispatcher only routes these here).
pub(super) fn decode(f: &mut Fields<'_>) -> Result<ControlMessage, ControlError> {
    match f.op {
        op::MONITOR_P | op::DEMONITOR_P => {
            f.arity(4)?;
            let from = f.pid()?;
            let to = f.proc_ref()?;
            let reference = f.reference()?;
            Ok(if f.op == op::MONITOR_P {
                ControlMessage::MonitorP {
                    from,
                    to,
                    reference,
                }
            } else {
                ControlMessage::DemonitorP {
                    from,
                    to,
                    reference,
                }
            })
        }
        op::MONITOR_P_EXIT => {
            f.arity(5)?;
            let from = f.proc_ref()?;
            let to = f.pid()?;
            let reference = f.reference()?;
            let reason = f.any()?;
            Ok(ControlMessage::MonitorPExit {
                from,
                to,
                reference,
                reason,
            })
        }
        op::PAYLOAD_MONITOR_P_EXIT => {
            f.arity(4)?;
            let from = f.proc_ref()?;
            let to = f.pid()?;
            let reference = f.reference()?;
            Ok(ControlMessage::PayloadMonitorPExit {
                from,
                to,
                reference,
            })
        }
        other => Err(ControlError::UnknownOp {
            op: i64::from(other),
        }),
    }
}

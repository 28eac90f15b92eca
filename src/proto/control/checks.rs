//! Checks that need to know who is at either end of the connection (§5.1): the sender
//! node's own pids as `From`, and this node's pids as `To`.

use super::{ControlError, ControlMessage};
use crate::term::Atom;

/// Outcome of [`ControlMessage::check_destination`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Destination {
    /// The target is a pid of this node incarnation (or the signal has no such rule).
    Local,
    /// The target is a pid of an *earlier incarnation* of this node (same name,
    /// different creation). OTP silently drops the signal (for LINK it answers an exit
    /// `noproc`), it does not kill the connection.
    StaleIncarnation,
}

impl ControlMessage {
    /// The sender-node check of §5.1: for LINK, UNLINK, UNLINK_ID(_ACK), MONITOR_P,
    /// DEMONITOR_P, EXIT*, EXIT2*, PAYLOAD_EXIT* and SPAWN_REQUEST the `From` pid must
    /// belong to the node at the other end of the connection (`peer`) — nobody may relay
    /// these on behalf of a third node. OTP kills the connection otherwise.
    pub fn check_origin(&self, peer: &Atom) -> Result<(), ControlError> {
        use ControlMessage::*;
        let from = match self {
            Link { from, .. }
            | Unlink { from, .. }
            | UnlinkId { from, .. }
            | UnlinkIdAck { from, .. }
            | MonitorP { from, .. }
            | DemonitorP { from, .. }
            | Exit { from, .. }
            | Exit2 { from, .. }
            | PayloadExit { from, .. }
            | PayloadExit2 { from, .. }
            | SpawnRequest { from, .. } => from,
            _ => return Ok(()),
        };
        if &from.node == peer {
            Ok(())
        } else {
            Err(ControlError::ForeignOrigin {
                op: self.op(),
                name: self.name(),
                node: from.node.clone(),
                peer: peer.clone(),
            })
        }
    }

    /// The "To must be local" check of §5.1 for LINK, EXIT*, EXIT2*, PAYLOAD_EXIT*,
    /// UNLINK, UNLINK_ID(_ACK), SPAWN_REPLY, MONITOR_P_EXIT and PAYLOAD_MONITOR_P_EXIT:
    /// a target pid of another node kills the connection in OTP
    /// ([`ControlError::ForeignDestination`]); one of an old incarnation of this node is
    /// ignored ([`Destination::StaleIncarnation`]).
    pub fn check_destination(
        &self,
        local_node: &Atom,
        local_creation: u32,
    ) -> Result<Destination, ControlError> {
        use ControlMessage::*;
        let to = match self {
            Link { to, .. }
            | Exit { to, .. }
            | Exit2 { to, .. }
            | PayloadExit { to, .. }
            | PayloadExit2 { to, .. }
            | Unlink { to, .. }
            | UnlinkId { to, .. }
            | UnlinkIdAck { to, .. }
            | SpawnReply { to, .. }
            | MonitorPExit { to, .. }
            | PayloadMonitorPExit { to, .. } => to,
            _ => return Ok(Destination::Local),
        };
        if &to.node != local_node {
            Err(ControlError::ForeignDestination {
                op: self.op(),
                name: self.name(),
                node: to.node.clone(),
            })
        } else if to.creation != local_creation {
            Ok(Destination::StaleIncarnation)
        } else {
            Ok(Destination::Local)
        }
    }
}

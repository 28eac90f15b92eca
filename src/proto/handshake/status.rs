//! net_kernel's decision when a node's name arrives at the acceptor (docs/protocol.md
//! §2.6, `accept_pending` in net_kernel.erl).

use super::Status;

/// Which status the acceptor should send, given what the driver knows about the peer:
///
/// * a connection to the peer is already up → [`Status::Alive`] (the peer answers
///   whether it really is reconnecting);
/// * we have our own pending outgoing attempt toward it → the node whose name is
///   larger in Erlang atom order keeps *its* attempt: if ours is larger, [`Status::Nok`]
///   (the peer stops), else [`Status::OkSimultaneous`] (we must abandon our attempt);
///   creation plays no part in the tie-break;
/// * otherwise [`Status::Ok`].
///
/// Atom order of node names is text order; Rust's `str` order (UTF-8 bytes) equals
/// code-point order. Allow-lists are the driver's business ([`Status::NotAllowed`]).
pub fn accept_status(
    our_name: &str,
    peer_name: &str,
    pending_outgoing: bool,
    connection_up: bool,
) -> Status {
    if connection_up {
        Status::Alive
    } else if pending_outgoing {
        if our_name > peer_name {
            Status::Nok
        } else {
            Status::OkSimultaneous
        }
    } else {
        Status::Ok
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn net_kernel_rule() {
        assert_eq!(accept_status("b@h", "a@h", false, false), Status::Ok);
        assert_eq!(accept_status("b@h", "a@h", true, false), Status::Nok);
        assert_eq!(
            accept_status("a@h", "b@h", true, false),
            Status::OkSimultaneous
        );
        assert_eq!(accept_status("a@h", "b@h", false, true), Status::Alive);
        assert_eq!(accept_status("a@h", "b@h", true, true), Status::Alive);
    }
}

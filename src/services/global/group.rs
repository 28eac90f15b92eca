//! Global groups (`-kernel global_groups …` on an OTP node) are **not supported**; this
//! module refuses them the way an OTP node without a group configuration does, and says
//! so in the log.
//!
//! An OTP node with groups configured does not let its `global` sync with a node until
//! its `global_group` process has accepted it: a node outside its groups is refused at
//! once, a member is first asked for its own group by rpc (`global_group:get_own_nodes/0`)
//! and refused when the sorted answer differs from its own group. A refusal reaches the
//! refused node as `{disconnect_node, RefusingNode}` sent to its registered
//! `global_group`; a `global_group:sync()` there asks members by the cast `{conf_check,
//! Vsn, Node, From, sync, Group, [PubType,] Nodes}`, answered `{config_error, Vsn, From,
//! node()}` by a node without groups (docs/protocol.md §10).
//!
//! Here: `global_group:get_own_nodes/0` answers `[]` (as a node without groups does), a
//! `global_group` process answers `conf_check` with `config_error`, and on either refusal
//! logs a warning naming the node and tells the server to leave that node alone (no
//! session, not waited for by `sync`) until it disconnects.

use super::state::{atom, tuple};
use crate::node::Node;
use crate::term::{Atom, Pid, Term};

/// The registered name of OTP's global group server.
pub(super) const NAME: &str = "global_group";

/// The message the server gets for a node whose global groups leave us out (the name
/// OTP's own `global_group` used for it up to OTP 24).
pub(super) const IGNORE: &str = "ignore_node";

fn refused(server: &Pid, p: &crate::Process, node: &Atom, why: &str) {
    tracing::warn!(
        node = %node,
        reason = why,
        "global: {node} has global_groups configured and does not take this node into its group; \
         beamnode does not support global groups, so {node} and this node share no global names \
         (they stay connected)"
    );
    p.send_nowait(server, tuple(vec![atom(IGNORE), Term::Atom(node.clone())]));
}

/// Starts the `global_group` stand-in, linked to the global server `server`, and serves
/// `global_group:get_own_nodes/0`. Does nothing when `global_group` is taken.
pub(super) fn start(node: &Node, server: &Pid) {
    if node.whereis(&Atom::new(NAME)).is_some() {
        return;
    }
    node.register_rpc_async(NAME, "get_own_nodes", 0, |_, _| async move {
        tracing::debug!("global: a node with global_groups configured asked for our group");
        Ok(Term::Nil)
    });
    let server = server.clone();
    node.spawn(move |mut p| async move {
        if p.register(NAME).is_err() {
            return;
        }
        let _ = p.link(&server);
        while let Ok(msg) = p.receive(None).await {
            match msg.as_tuple() {
                Some([k, Term::Atom(n)]) if k.is_atom("disconnect_node") => {
                    refused(&server, &p, n, "its global_group left this node out")
                }
                Some([k, cast]) if k.is_atom("$gen_cast") => conf_check(&server, &p, cast),
                _ => tracing::debug!(%msg, "global: global_group stand-in ignores a message"),
            }
        }
    });
}

/// `{conf_check, Vsn, Node, From, sync, Group, [PubType,] Nodes}`: answered as a node
/// without groups answers it.
fn conf_check(server: &Pid, p: &crate::Process, cast: &Term) {
    let Some(t) = cast.as_tuple() else { return };
    let (vsn, node, from) = match t {
        [k, vsn, Term::Atom(n), from, ..] if k.is_atom("conf_check") && t.len() >= 7 => {
            (vsn, n, from)
        }
        _ => return,
    };
    let reply = tuple(vec![
        atom("config_error"),
        vsn.clone(),
        from.clone(),
        Term::Atom(p.node().name().clone()),
    ]);
    match (vsn.as_int(), from.as_tuple()) {
        (Some(v), Some([Term::Pid(to), _])) if v >= 3 => p.send_nowait(to, reply),
        _ => {
            p.send_named_noconnect(&Atom::new("global_group_check"), node, reply);
        }
    }
    refused(server, p, node, "its global_group:sync() checked our group");
}

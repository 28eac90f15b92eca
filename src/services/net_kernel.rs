//! `net_kernel`: answers `net_adm:ping/1` (`{is_auth, Node}` → `yes`, docs/protocol.md
//! §7.1). Without it OTP gets `pang` and drops the connection (§15 trap 9).

use super::gen::{reply, CallRequest};
use crate::node::Node;
use crate::term::Term;

/// Starts `net_kernel` on `node`.
pub fn start(node: &Node) -> Result<crate::term::Pid, crate::runtime::RegisterError> {
    node.spawn_registered("net_kernel", |mut p| async move {
        while let Ok(msg) = p.receive(None).await {
            let Some(call) = CallRequest::parse(&msg) else {
                continue;
            };
            let answer = match call.request.as_tuple() {
                Some([tag, _node]) if tag.is_atom("is_auth") => Term::atom("yes"),
                _ => Term::tuple(vec![Term::atom("error"), Term::atom("unsupported")]),
            };
            reply(&p, &call.from, answer);
        }
    })
}

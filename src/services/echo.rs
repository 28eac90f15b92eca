//! `echo`: for `{Pid, Msg}` sends `{echo, Msg}` back to Pid.

use crate::node::Node;
use crate::term::Term;

/// Starts a process registered as `echo`.
pub fn start(node: &Node) -> Result<crate::term::Pid, crate::runtime::RegisterError> {
    node.spawn_registered("echo", |mut p| async move {
        while let Ok(msg) = p.receive(None).await {
            if let Term::Tuple(t) = msg {
                let mut v = t.into_vec();
                if v.len() == 2 {
                    let m = v.pop().unwrap_or(Term::Nil);
                    if let Some(Term::Pid(to)) = v.pop() {
                        p.send(&to, Term::tuple(vec![Term::atom("echo"), m])).await;
                    }
                }
            }
        }
    })
}

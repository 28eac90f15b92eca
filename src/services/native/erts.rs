//! BIFs over rpc about raising, the node's distribution and its OS process:
//! `erlang:error/1,2`, `exit/1`, `throw/1` (a peer testing its error handling with
//! `rpc:call(N, erlang, error, [boom])` gets what a BEAM node gives),
//! `erlang:is_alive/0`, `node/1`, `erlang:disconnect_node/1`, `net_kernel:disconnect/1`
//! and `net_kernel:connect_node/1` (a peer can make this node drop or set up a
//! connection to a third node), and `os:type/0`, `os:getpid/0`.

use crate::node::{Node, RpcException};
use crate::term::Term;

pub(super) fn register(node: &Node) {
    for arity in [1, 2] {
        node.register_rpc_async("erlang", "error", arity, |_, args| async move {
            // BEAM's stack names the call with its arguments and no location.
            let frame = Term::tuple(vec![
                Term::atom("erlang"),
                Term::atom("error"),
                Term::list(args.clone()),
                Term::Nil,
            ]);
            let reason = args.into_iter().next().unwrap_or(Term::Nil);
            Err(RpcException {
                stack: Some(Term::list(vec![frame])),
                ..RpcException::error(reason)
            })
        });
    }
    node.register_rpc_async("erlang", "exit", 1, |_, args| async move {
        Err(RpcException::exit(
            args.into_iter().next().unwrap_or(Term::Nil),
        ))
    });
    node.register_rpc_async("erlang", "throw", 1, |_, args| async move {
        Err(RpcException::throw(
            args.into_iter().next().unwrap_or(Term::Nil),
        ))
    });
    node.register_rpc_async("erlang", "is_alive", 0, |_, _| async move {
        Ok(Term::atom("true"))
    });
    // true when a connection was up and is now being closed, false when there was
    // none (OTP 25 answers false for a node it is not connected to).
    for (m, f) in [("erlang", "disconnect_node"), ("net_kernel", "disconnect")] {
        node.register_rpc_async(m, f, 1, |n, args| async move {
            match args.first() {
                Some(Term::Atom(peer)) => Ok(Term::atom(if n.disconnect(peer) {
                    "true"
                } else {
                    "false"
                })),
                _ => Err(RpcException::badarg()),
            }
        });
    }
    // A peer asking this node to connect to a third one (true once the connection is
    // up, false when it could not be made), as `net_kernel:connect_node/1` answers.
    node.register_rpc_async("net_kernel", "connect_node", 1, |n, args| async move {
        match args.first() {
            Some(Term::Atom(peer)) => Ok(Term::atom(if n.connect(peer).await {
                "true"
            } else {
                "false"
            })),
            _ => Err(RpcException::error(Term::atom("function_clause"))),
        }
    });
    // `node(Arg)`: the node a pid, port or reference belongs to.
    node.register_rpc_async("erlang", "node", 1, |_, args| async move {
        match args.first() {
            Some(Term::Pid(p)) => Ok(Term::Atom(p.node.clone())),
            Some(Term::Port(p)) => Ok(Term::Atom(p.node.clone())),
            Some(Term::Ref(r)) => Ok(Term::Atom(r.node.clone())),
            _ => Err(RpcException::badarg()),
        }
    });
    node.register_rpc_async("os", "type", 0, |_, _| async move {
        // OTP's names: the lower-cased `uname -s` on Unix (darwin, not macos).
        let (family, name) = match std::env::consts::OS {
            "windows" => ("win32", "nt"),
            "macos" => ("unix", "darwin"),
            os => ("unix", os),
        };
        Ok(Term::tuple(vec![Term::atom(family), Term::atom(name)]))
    });
    node.register_rpc_async("os", "getpid", 0, |_, _| async move {
        Ok(Term::list(
            std::process::id()
                .to_string()
                .bytes()
                .map(|b| Term::Int(i64::from(b)))
                .collect(),
        ))
    });
}

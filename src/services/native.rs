//! Natively implemented BIFs that BEAM tools commonly call on a remote node through
//! rpc (`rpc:call(N, erlang, nodes, [])`, observer-style probes, `net_adm:ping/1`
//! from a remote shell). beamnode has no Erlang code to run, so these are Rust
//! callables (see [`super::rpc_server`]) that answer from the node's own state, with
//! OTP's result shapes and OTP's `error:badarg` for bad arguments.
//!
//! `erlang:system_info/1` answers truthfully that this is beamnode, not an emulator:
//! `otp_release` is `"beamnode"`, `system_version` names the crate version.

use super::rpc_server::{RpcException, RpcResult};
use crate::node::{Node, NodeKind};
use crate::term::{Atom, Term};

/// Registers the native functions on `node`.
pub fn register(node: &Node) {
    // `net_kernel:get_net_ticktime/0`: the configured tick time in whole seconds.
    node.register_rpc_async("net_kernel", "get_net_ticktime", 0, |n, _| async move {
        Ok(Term::from(n.config().net_ticktime.as_secs() as i64))
    });
    node.register_rpc_async("erlang", "node", 0, |n, _| async move {
        Ok(Term::Atom(n.name().clone()))
    });
    node.register_rpc_async("erlang", "nodes", 0, |n, _| async move {
        Ok(atoms(n.nodes_of(NodeKind::Visible)))
    });
    node.register_rpc_async(
        "erlang",
        "nodes",
        1,
        |n, args| async move { nodes(&n, &args) },
    );
    node.register_rpc_async("erlang", "whereis", 1, |n, args| async move {
        match args.first() {
            Some(Term::Atom(name)) => Ok(n
                .whereis(name)
                .map(Term::Pid)
                .unwrap_or_else(|| Term::atom("undefined"))),
            _ => Err(RpcException::badarg()),
        }
    });
    node.register_rpc_async("erlang", "registered", 0, |n, _| async move {
        Ok(atoms(n.registered()))
    });
    node.register_rpc_async("erlang", "processes", 0, |n, _| async move {
        Ok(Term::list(
            n.processes().into_iter().map(Term::Pid).collect(),
        ))
    });
    node.register_rpc_async("erlang", "is_process_alive", 1, |n, args| async move {
        match args.first() {
            Some(Term::Pid(pid)) if pid.node == *n.name() => {
                Ok(Term::atom(bool_str(n.is_process_alive(pid))))
            }
            // OTP raises badarg for a pid of another node.
            _ => Err(RpcException::badarg()),
        }
    });
    node.register_rpc_async("erlang", "system_info", 1, |n, args| async move {
        match args.first() {
            Some(Term::Atom(key)) => system_info(&n, key.as_str()),
            _ => Err(RpcException::badarg()),
        }
    });
    node.register_rpc_async("net_adm", "ping", 1, |n, args| async move {
        match args.first() {
            Some(Term::Atom(peer)) => {
                let up = peer == n.name() || n.ping(peer).await;
                Ok(Term::atom(if up { "pong" } else { "pang" }))
            }
            _ => Err(RpcException::error(Term::atom("function_clause"))),
        }
    });
}

fn bool_str(b: bool) -> &'static str {
    if b {
        "true"
    } else {
        "false"
    }
}

fn atoms(v: Vec<Atom>) -> Term {
    Term::list(v.into_iter().map(Term::Atom).collect())
}

fn kind(a: &Term) -> Option<NodeKind> {
    Some(match a.as_atom()?.as_str() {
        "visible" => NodeKind::Visible,
        "hidden" => NodeKind::Hidden,
        "connected" => NodeKind::Connected,
        "this" => NodeKind::This,
        "known" => NodeKind::Known,
        _ => return None,
    })
}

/// `erlang:nodes(Arg)`: one kind or a list of kinds, without duplicates.
fn nodes(n: &Node, args: &[Term]) -> RpcResult {
    let kinds: Vec<NodeKind> = match args.first() {
        Some(t @ Term::Atom(_)) => vec![kind(t).ok_or_else(RpcException::badarg)?],
        Some(t) => t
            .as_list()
            .ok_or_else(RpcException::badarg)?
            .iter()
            .map(|k| kind(k).ok_or_else(RpcException::badarg))
            .collect::<Result<_, _>>()?,
        None => return Err(RpcException::badarg()),
    };
    let mut out: Vec<Atom> = Vec::new();
    for k in kinds {
        for a in n.nodes_of(k) {
            if !out.contains(&a) {
                out.push(a);
            }
        }
    }
    Ok(atoms(out))
}

fn charlist(s: &str) -> Term {
    Term::list(
        s.chars()
            .map(|c| Term::Int(i64::from(u32::from(c))))
            .collect(),
    )
}

/// `erlang:system_info(Key)` for the keys tools ask about; others raise badarg.
fn system_info(n: &Node, key: &str) -> RpcResult {
    let version = env!("CARGO_PKG_VERSION");
    Ok(match key {
        "otp_release" => charlist("beamnode"),
        "version" => charlist(version),
        "system_version" => charlist(&format!(
            "beamnode {version} (Rust, not an Erlang emulator)\n"
        )),
        "machine" => charlist("beamnode"),
        "process_count" => Term::Int(i64::try_from(n.processes().len()).unwrap_or(i64::MAX)),
        "schedulers" | "schedulers_online" | "logical_processors" => Term::Int(
            std::thread::available_parallelism()
                .ok()
                .and_then(|p| i64::try_from(p.get()).ok())
                .unwrap_or(1),
        ),
        "wordsize" => Term::Int(8),
        "creation" => Term::Int(i64::from(n.creation())),
        "dist_ctrl" => Term::list(Vec::new()),
        _ => return Err(RpcException::badarg()),
    })
}

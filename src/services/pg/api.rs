//! OTP's `pg` API served over rpc from the scopes running on a node, so
//! `:rpc.call(node, :pg, :get_members, [g])` and the like answer from beamnode's
//! scopes as from a BEAM node's (README "What rpc callers can ask beamnode").

use super::{pid_list, PgError, Scope};
use crate::node::Node;
use crate::services::rpc_server::RpcException;
use crate::term::{Atom, Pid, Term};
use std::collections::HashMap;
use std::sync::RwLock;

/// The scopes running on a node, by name, for the `pg` API served over rpc.
#[derive(Default)]
pub(super) struct Scopes(pub(super) RwLock<HashMap<Atom, Scope>>);

/// The scope `name` running on `node`, if any.
fn find_scope(node: &Node, name: &Atom) -> Option<Scope> {
    let scopes = node.service_state::<Scopes>();
    let map = scopes.0.read().unwrap_or_else(|e| e.into_inner());
    map.get(name).cloned()
}

fn scope_of(node: &Node, name: &Atom) -> Result<Scope, RpcException> {
    // OTP's `which_groups` raises badarg for a scope that does not run on the node
    // (no ets table of that name).
    find_scope(node, name).ok_or_else(RpcException::badarg)
}

/// `PidOrPids` of `pg:join/leave` checked as OTP checks it (docs/rpc.md): the
/// function's guard first (a pid or a list, else `function_clause`), then every
/// element must be a pid of this node (else `error({nolocal, Bad})`, naming the first
/// bad one).
fn local_pids(node: &Node, t: &Term) -> Result<Vec<Pid>, RpcException> {
    let items: Vec<&Term> = match t {
        Term::Pid(_) => vec![t],
        Term::Nil => Vec::new(),
        Term::List(items) => items.iter().collect(),
        _ => return Err(RpcException::error(Term::atom("function_clause"))),
    };
    items
        .into_iter()
        .map(|item| match item {
            Term::Pid(p) if &p.node == node.name() => Ok(p.clone()),
            bad => Err(RpcException::error(Term::tuple(vec![
                Term::atom("nolocal"),
                bad.clone(),
            ]))),
        })
        .collect()
}

/// Serves OTP's `pg` API over rpc, so `:rpc.call(node, :pg, :get_members, [g])` and
/// the like answer from beamnode's scopes as from a BEAM node's: the default scope
/// `pg` for the `/0,1,2` forms, any running scope for the forms that name it.
pub(super) fn register(node: &Node) {
    let pg = Atom::new("pg");
    fn members(node: &Node, scope: &Atom, group: &Term, local: bool) -> Result<Term, RpcException> {
        // OTP reads the scope's ets table and answers [] when there is none.
        let Some(s) = find_scope(node, scope) else {
            return Ok(Term::Nil);
        };
        let pids = if local {
            s.get_local_members(group)
        } else {
            s.get_members(group)
        };
        Ok(pid_list(&pids))
    }
    fn groups(node: &Node, scope: &Atom, local: bool) -> Result<Term, RpcException> {
        let s = scope_of(node, scope)?;
        Ok(Term::list(if local {
            s.which_local_groups()
        } else {
            s.which_groups()
        }))
    }
    async fn change(
        node: Node,
        scope: Atom,
        group: Term,
        pids_arg: Term,
        join: bool,
    ) -> Result<Term, RpcException> {
        let pids = local_pids(&node, &pids_arg)?;
        let Some(s) = find_scope(&node, &scope) else {
            // OTP's gen_server:call to a scope that is not running.
            let request = if join { "join_local" } else { "leave_local" };
            let call = Term::list(vec![
                Term::Atom(scope),
                Term::tuple(vec![Term::atom(request), group, pids_arg]),
                Term::atom("infinity"),
            ]);
            return Err(RpcException::exit(Term::tuple(vec![
                Term::atom("noproc"),
                Term::tuple(vec![Term::atom("gen_server"), Term::atom("call"), call]),
            ])));
        };
        let r = if join {
            s.join(group, &pids).await.map(|()| Term::atom("ok"))
        } else {
            s.leave(group, &pids)
                .await
                .map(|left| Term::atom(if left { "ok" } else { "not_joined" }))
        };
        // Only local pids join or leave: OTP's `pg` raises `{nolocal, Pid}`.
        r.map_err(|e| match e {
            PgError::NotLocal(p) => {
                RpcException::error(Term::tuple(vec![Term::atom("nolocal"), Term::Pid(p)]))
            }
            other => RpcException::exit(Term::string(&other.to_string())),
        })
    }
    for local in [false, true] {
        let f = if local {
            "get_local_members"
        } else {
            "get_members"
        };
        let d = pg.clone();
        node.register_rpc_async("pg", f, 1, move |n, a| {
            let d = d.clone();
            async move { members(&n, &d, a.first().unwrap_or(&Term::Nil), local) }
        });
        node.register_rpc_async("pg", f, 2, move |n, a| async move {
            match a.as_slice() {
                [Term::Atom(scope), group] => members(&n, scope, group, local),
                // Not a table name either: OTP's lookup fails and answers [].
                [_, _] => Ok(Term::Nil),
                _ => Err(RpcException::badarg()),
            }
        });
        let f = if local {
            "which_local_groups"
        } else {
            "which_groups"
        };
        let d = pg.clone();
        node.register_rpc_async("pg", f, 0, move |n, _| {
            let d = d.clone();
            async move { groups(&n, &d, local) }
        });
        node.register_rpc_async("pg", f, 1, move |n, a| async move {
            match a.as_slice() {
                [Term::Atom(scope)] => groups(&n, scope, local),
                // OTP's guard: is_atom(Scope).
                _ => Err(RpcException::error(Term::atom("function_clause"))),
            }
        });
    }
    for join in [true, false] {
        let f = if join { "join" } else { "leave" };
        let d = pg.clone();
        node.register_rpc_async("pg", f, 2, move |n, a| {
            let d = d.clone();
            async move {
                match <[Term; 2]>::try_from(a) {
                    Ok([group, pids]) => change(n, d, group, pids, join).await,
                    Err(_) => Err(RpcException::badarg()),
                }
            }
        });
        node.register_rpc_async("pg", f, 3, move |n, a| async move {
            match <[Term; 3]>::try_from(a) {
                Ok([Term::Atom(scope), group, pids]) => change(n, scope, group, pids, join).await,
                // OTP checks the pids first (function_clause, nolocal); a scope that is
                // not an atom names no scope process.
                Ok([_, _, pids]) => {
                    local_pids(&n, &pids)?;
                    Err(RpcException::badarg())
                }
                Err(_) => Err(RpcException::badarg()),
            }
        });
    }
}

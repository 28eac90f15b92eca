//! Name-clash resolution (exchange_names/4, resolve_it/4 and the standard methods).

use super::state::{atom, tuple, Shared, RPC_TIMEOUT};
use crate::node::Node;
use crate::services::rpc_client;
use crate::term::{Atom, ExportFun, Pid, Term};

/// The standard name-clash methods (`global:random_exit_name/3` etc.).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Method {
    /// `random_exit_name`: keep the pid on the smaller node name, kill the other.
    RandomExit,
    /// `random_notify_name`: keep the smaller, send `{global_name_conflict, Name}` to
    /// the other.
    RandomNotify,
    /// `notify_all_name`: unregister, send `{global_name_conflict, Name, Other}` to both.
    NotifyAll,
}

impl Method {
    fn fname(self) -> &'static str {
        match self {
            Method::RandomExit => "random_exit_name",
            Method::RandomNotify => "random_notify_name",
            Method::NotifyAll => "notify_all_name",
        }
    }

    /// The method as it travels: `fun global:F/3` (EXPORT_EXT).
    pub fn to_term(self) -> Term {
        Term::ExportFun(ExportFun {
            module: Atom::new("global"),
            function: Atom::new(self.fname()),
            arity: 3,
        })
    }

    /// Recognises the standard methods; `None` for any other fun. Besides `fun
    /// global:F/3` this is the local fun `global:register_name/2` passes (`fun
    /// random_exit_name/3` written inside global.erl, a NEW_FUN_EXT of module `global`,
    /// arity 3, nothing captured): the only arity-3 fun global.erl makes for a name
    /// (OTP 25–29), so it stands for `random_exit_name`.
    pub fn of(t: &Term) -> Option<Method> {
        match t {
            Term::InternalFun(f)
                if f.module.as_str() == "global" && f.arity == 3 && f.free_vars.is_empty() =>
            {
                Some(Method::RandomExit)
            }
            Term::ExportFun(f) if f.module.as_str() == "global" && f.arity == 3 => {
                match f.function.as_str() {
                    "random_exit_name" => Some(Method::RandomExit),
                    "random_notify_name" => Some(Method::RandomNotify),
                    "notify_all_name" => Some(Method::NotifyAll),
                    _ => None,
                }
            }
            _ => None,
        }
    }
}

fn minmax<'a>(a: &'a Pid, b: &'a Pid) -> (&'a Pid, &'a Pid) {
    if a.node < b.node {
        (a, b)
    } else {
        (b, a)
    }
}

/// `global:resolve_it(Method, Name, Pid1, Pid2)` evaluated on this node.
pub(super) fn resolve_here(node: &Node, method: &Term, name: &Term, p1: &Pid, p2: &Pid) -> Term {
    let p = node.process();
    match Method::of(method) {
        Some(Method::RandomExit) => {
            let (min, max) = minmax(p1, p2);
            tracing::info!(%name, loser = %max, "global: name conflict, terminating");
            p.exit_process(max, atom("kill"));
            Term::Pid(min.clone())
        }
        Some(Method::RandomNotify) => {
            let (min, max) = minmax(p1, p2);
            p.send_nowait(max, tuple(vec![atom("global_name_conflict"), name.clone()]));
            Term::Pid(min.clone())
        }
        Some(Method::NotifyAll) => {
            let note = |other: &Pid| {
                tuple(vec![
                    atom("global_name_conflict"),
                    name.clone(),
                    Term::Pid(other.clone()),
                ])
            };
            p.send_nowait(p1, note(p2));
            p.send_nowait(p2, note(p1));
            atom("none")
        }
        // A method we cannot run: what `catch Method(…)` gives for a crash.
        None => tuple(vec![
            atom("EXIT"),
            atom("beamnode_cannot_run_resolve_method"),
        ]),
    }
}

/// `exchange_names/4`: (Ops for us, Resolved for the peer).
pub(super) async fn exchange_names(
    node: &Node,
    shared: &Shared,
    peer: &Atom,
    list: Vec<Term>,
) -> (Vec<Term>, Vec<Term>) {
    let me = node.name().clone();
    let mut ops = Vec::new();
    let mut res = Vec::new();
    let insert = |n: &Term, p: &Term, m: &Term| {
        tuple(vec![
            atom("insert"),
            tuple(vec![n.clone(), p.clone(), m.clone()]),
        ])
    };
    for entry in list {
        let Some([name, Term::Pid(pid), method]) = entry.as_tuple() else {
            continue;
        };
        let local = shared.names().get(name).cloned();
        match local {
            Some((pid2, _)) if &pid2 == pid => {}
            Some((pid2, method2)) if me < *peer => {
                let args = vec![
                    method2.clone(),
                    name.clone(),
                    Term::Pid(pid.clone()),
                    Term::Pid(pid2.clone()),
                ];
                let got = if pid2.node == me {
                    Ok(resolve_here(node, &method2, name, pid, &pid2))
                } else {
                    rpc_client::call(node, &pid2.node, "global", "resolve_it", args, RPC_TIMEOUT)
                        .await
                };
                match got {
                    Ok(Term::Pid(w)) if &w == pid => ops.push(insert(name, &Term::Pid(w), method)),
                    Ok(Term::Pid(w)) if w == pid2 => {
                        res.push(insert(name, &Term::Pid(w), &method2))
                    }
                    Err(e) => {
                        tracing::info!(%name, error = %e, "global: badrpc resolving a conflict");
                        ops.push(insert(name, &Term::Pid(pid.clone()), method));
                    }
                    Ok(other) => {
                        if !other.is_atom("none") {
                            tracing::info!(%name, %other, "global: resolve method gave no pid");
                        }
                        let op = tuple(vec![atom("delete"), name.clone()]);
                        ops.push(op.clone());
                        res.push(op);
                    }
                }
            }
            Some(_) => {}
            None => ops.push(insert(name, &Term::Pid(pid.clone()), method)),
        }
    }
    (ops, res)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn standard_methods_round_trip() {
        for m in [Method::RandomExit, Method::RandomNotify, Method::NotifyAll] {
            assert_eq!(Method::of(&m.to_term()), Some(m));
        }
        assert_eq!(Method::of(&atom("random_exit_name")), None);
    }

    #[test]
    fn minmax_orders_by_node_name() {
        let a = Pid::new(Atom::new("a@h"), 9, 0, 1);
        let b = Pid::new(Atom::new("b@h"), 1, 0, 1);
        assert_eq!(minmax(&a, &b), (&a, &b));
        assert_eq!(minmax(&b, &a), (&a, &b));
    }
}

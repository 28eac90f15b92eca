//! Natively implemented BIFs that BEAM tools commonly call on a remote node through
//! rpc (`rpc:call(N, erlang, nodes, [])`, observer-style probes, `net_adm:ping/1`
//! from a remote shell). beamnode has no Erlang code to run, so these are Rust
//! callables (see [`super::rpc_server`]) that answer from the node's own state, with
//! OTP's result shapes and OTP's `error:badarg` for bad arguments.
//!
//! `erlang:system_info/1` answers truthfully that this is beamnode, not an emulator:
//! `otp_release` is `"beamnode"`, `system_version` names the crate version.

mod erts;
mod time;

pub(crate) use time::localtime_now;

use crate::node::{ConnectionInfo, MonitorNodesOpts, Node, NodeKind};
use crate::node::{RpcException, RpcResult};
use crate::term::{Atom, Term};

/// Registers the native functions on `node`.
pub fn register(node: &Node) {
    time::register(node);
    erts::register(node);
    // `net_kernel:get_net_ticktime/0`: the configured tick time in whole seconds.
    node.register_rpc_async("net_kernel", "get_net_ticktime", 0, |n, _| async move {
        Ok(Term::from(n.config().net_ticktime.as_secs() as i64))
    });
    // `net_kernel:nodes_info/0`, `node_info/1,2`: OTP's shapes, from the connection
    // table (docs/protocol.md §7.4).
    node.register_rpc_async("net_kernel", "nodes_info", 0, |n, _| async move {
        let all = n.connections_info().into_iter().map(|c| {
            let name = Term::Atom(c.node.clone());
            Term::tuple(vec![name, node_info_list(&n, &c)])
        });
        Ok(ok(Term::list(all.collect())))
    });
    node.register_rpc_async("net_kernel", "node_info", 1, |n, args| async move {
        match args.first() {
            Some(Term::Atom(peer)) => Ok(match n.connection_info(peer) {
                Some(c) => ok(node_info_list(&n, &c)),
                None => bad_node(),
            }),
            _ => Err(RpcException::error(Term::atom("function_clause"))),
        }
    });
    node.register_rpc_async("net_kernel", "node_info", 2, |n, args| async move {
        match args.as_slice() {
            [Term::Atom(peer), Term::Atom(key)] => Ok(match n.connection_info(peer) {
                None => bad_node(),
                Some(c) => {
                    let items = node_info_list(&n, &c);
                    let hit = items.as_list().and_then(|items| {
                        items.iter().find_map(|item| match item.as_tuple() {
                            Some([k, v]) if k.is_atom(key.as_str()) => Some(v.clone()),
                            _ => None,
                        })
                    });
                    match hit {
                        Some(v) => ok(v),
                        None => error(Term::atom("invalid_key")),
                    }
                }
            }),
            _ => Err(RpcException::error(Term::atom("function_clause"))),
        }
    });
    // `net_kernel:monitor_nodes/1` over rpc subscribes the process that runs the call,
    // which ends with it, as on BEAM (rpc runs each call in a process of its own).
    node.register_rpc_process("net_kernel", "monitor_nodes", 1, |p, args| async move {
        match args.first() {
            Some(Term::Atom(flag)) if matches!(flag.as_str(), "true" | "false") => {
                p.monitor_nodes(flag.as_str() == "true", MonitorNodesOpts::default());
                Ok(Term::atom("ok"))
            }
            _ => Ok(Term::atom("error")),
        }
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
    node.register_rpc_async("erlang", "process_info", 1, |n, args| async move {
        match args.as_slice() {
            [Term::Pid(pid)] => process_info(&n, pid, None),
            _ => Err(RpcException::badarg()),
        }
    });
    node.register_rpc_async("erlang", "process_info", 2, |n, args| async move {
        match args.as_slice() {
            [Term::Pid(pid), items] => process_info(&n, pid, Some(items)),
            _ => Err(RpcException::badarg()),
        }
    });
    node.register_rpc_async("erlang", "memory", 0, |_, _| async move {
        Ok(Term::list(
            MEMORY_KEYS
                .iter()
                .map(|k| pair(k, Term::Int(memory_of(k))))
                .collect(),
        ))
    });
    node.register_rpc_async("erlang", "memory", 1, |_, args| async move {
        match args.first() {
            Some(Term::Atom(k)) if MEMORY_KEYS.contains(&k.as_str()) => {
                Ok(Term::Int(memory_of(k.as_str())))
            }
            Some(Term::Nil) => Ok(Term::Nil),
            Some(Term::List(ks)) => ks
                .iter()
                .map(|k| match k.as_atom() {
                    Some(a) if MEMORY_KEYS.contains(&a.as_str()) => {
                        Ok(pair(a.as_str(), Term::Int(memory_of(a.as_str()))))
                    }
                    _ => Err(RpcException::badarg()),
                })
                .collect::<Result<Vec<_>, _>>()
                .map(Term::list),
            _ => Err(RpcException::badarg()),
        }
    });
    let since = std::sync::Arc::new(Statistics::new());
    node.register_rpc_async("erlang", "statistics", 1, move |_, args| {
        let since = since.clone();
        async move {
            match args.first() {
                Some(Term::Atom(k)) => since.answer(k.as_str()),
                _ => Err(RpcException::badarg()),
            }
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
        // Keys monitoring tools (observer_cli, recon) read, answered as a default
        // 64-bit BEAM would where they mean the same; a Rust node has no atom table,
        // ports, async threads or dirty schedulers, so those count 0, and no process
        // limit below BEAM's largest.
        "process_limit" => Term::Int(134_217_727),
        "atom_limit" => Term::Int(1_048_576),
        "atom_count"
        | "port_count"
        | "thread_pool_size"
        | "dirty_cpu_schedulers"
        | "dirty_cpu_schedulers_online"
        | "dirty_io_schedulers" => Term::Int(0),
        "port_limit" => Term::Int(65_536),
        "build_type" => Term::atom("opt"),
        "emu_flavor" => Term::atom("emu"),
        "time_offset" => Term::atom("final"),
        "time_warp_mode" => Term::atom("no_time_warp"),
        "kernel_poll" => Term::atom("true"),
        "smp_support" | "threads" => Term::atom("true"),
        "nif_version" => charlist("2.16"),
        "driver_version" => charlist("3.3"),
        _ => return Err(RpcException::badarg()),
    })
}

fn pair(key: &str, value: Term) -> Term {
    Term::tuple(vec![Term::atom(key), value])
}

fn pids(v: Vec<crate::term::Pid>) -> Term {
    Term::list(v.into_iter().map(Term::Pid).collect())
}

/// What `process_info/1` lists, in OTP's order (`registered_name` first when the
/// process has a name).
const PROCESS_INFO_DEFAULT: &[&str] = &[
    "current_function",
    "initial_call",
    "status",
    "message_queue_len",
    "links",
    "dictionary",
    "trap_exit",
    "error_handler",
    "priority",
    "group_leader",
    "total_heap_size",
    "heap_size",
    "stack_size",
    "reductions",
    "garbage_collection",
    "suspending",
];

/// `erlang:process_info/1,2` for a Rust process. A Rust process has no Erlang heap,
/// stack, reductions or dictionary: those items are reported as OTP reports a fresh
/// process (zeros, `[]`), so tools that ask for them get well-formed answers; the
/// rest comes from the process table ([`Node::process_info`]). A pid of another node
/// raises badarg and a dead pid gives `undefined`, as in OTP.
fn process_info(n: &Node, pid: &crate::term::Pid, items: Option<&Term>) -> RpcResult {
    if pid.node != *n.name() {
        return Err(RpcException::badarg());
    }
    let item_list: Vec<Atom> = match items {
        None => Vec::new(),
        Some(Term::Atom(a)) => vec![a.clone()],
        Some(t) => t
            .as_list()
            .ok_or_else(RpcException::badarg)?
            .iter()
            .map(|i| i.as_atom().cloned().ok_or_else(RpcException::badarg))
            .collect::<Result<_, _>>()?,
    };
    let known = |a: &Atom| {
        PROCESS_INFO_DEFAULT.contains(&a.as_str())
            || matches!(
                a.as_str(),
                "registered_name"
                    | "monitors"
                    | "monitored_by"
                    | "memory"
                    | "messages"
                    | "current_stacktrace"
                    | "current_location"
                    | "catchlevel"
                    | "last_calls"
                    | "binary"
                    | "garbage_collection_info"
                    | "parent"
                    | "message_queue_data"
                    | "min_heap_size"
                    | "min_bin_vheap_size"
                    | "fullsweep_after"
            )
    };
    if !item_list.iter().all(known) {
        return Err(RpcException::badarg());
    }
    let Some(info) = n.process_info(pid) else {
        return Ok(Term::atom("undefined"));
    };
    let value = |item: &str| -> Term {
        match item {
            "registered_name" => info
                .registered_name
                .clone()
                .map(Term::Atom)
                .unwrap_or_else(|| Term::list(Vec::new())),
            "current_function" | "initial_call" => Term::tuple(vec![
                Term::atom("beamnode"),
                Term::atom("rust_process"),
                Term::Int(0),
            ]),
            "status" => Term::atom(if info.message_queue_len > 0 {
                "runnable"
            } else {
                "waiting"
            }),
            "message_queue_len" => Term::Int(info.message_queue_len as i64),
            "links" => pids(info.links.clone()),
            "monitored_by" => pids(info.monitored_by.clone()),
            "monitors" => Term::list(
                info.monitors
                    .iter()
                    .map(|w| match w {
                        crate::runtime::Watched::Pid(p) => {
                            Term::tuple(vec![Term::atom("process"), Term::Pid(p.clone())])
                        }
                        crate::runtime::Watched::Name(name, node) => Term::tuple(vec![
                            Term::atom("process"),
                            Term::tuple(vec![Term::Atom(name.clone()), Term::Atom(node.clone())]),
                        ]),
                    })
                    .collect(),
            ),
            "trap_exit" => Term::atom(bool_str(info.trap_exit)),
            "error_handler" => Term::atom("error_handler"),
            "priority" => Term::atom("normal"),
            "group_leader" => info
                .group_leader
                .clone()
                .map(Term::Pid)
                .unwrap_or_else(|| Term::Pid(pid.clone())),
            "total_heap_size" | "heap_size" | "stack_size" | "reductions" | "memory" => {
                Term::Int(0)
            }
            // The messages themselves belong to the process's task; not exported.
            "dictionary" | "garbage_collection" | "suspending" | "messages" | "binary"
            | "current_stacktrace" => Term::list(Vec::new()),
            "current_location" => Term::tuple(vec![
                Term::atom("beamnode"),
                Term::atom("rust_process"),
                Term::Int(0),
                Term::list(Vec::new()),
            ]),
            "catchlevel" => Term::Int(0),
            "last_calls" => Term::atom("false"),
            "garbage_collection_info" => Term::list(
                [
                    "old_heap_block_size",
                    "heap_block_size",
                    "mbuf_size",
                    "recent_size",
                    "stack_size",
                    "old_heap_size",
                    "heap_size",
                    "bin_vheap_size",
                    "bin_vheap_block_size",
                    "bin_old_vheap_size",
                    "bin_old_vheap_block_size",
                ]
                .iter()
                .map(|k| pair(k, Term::Int(0)))
                .collect(),
            ),
            // Who spawned a Rust process is not recorded: OTP's answer for a process
            // without a parent.
            "parent" => Term::atom("undefined"),
            "message_queue_data" => Term::atom("on_heap"),
            "min_heap_size" => Term::Int(233),
            "min_bin_vheap_size" => Term::Int(46_422),
            "fullsweep_after" => Term::Int(65_535),
            _ => Term::atom("undefined"),
        }
    };
    match items {
        None => {
            let mut out = Vec::new();
            if info.registered_name.is_some() {
                out.push(pair("registered_name", value("registered_name")));
            }
            out.extend(PROCESS_INFO_DEFAULT.iter().map(|k| pair(k, value(k))));
            Ok(Term::list(out))
        }
        Some(Term::Atom(a)) => {
            // OTP: process_info(P, registered_name) is [] when there is no name.
            if a.as_str() == "registered_name" && info.registered_name.is_none() {
                return Ok(Term::list(Vec::new()));
            }
            Ok(pair(a.as_str(), value(a.as_str())))
        }
        Some(_) => Ok(Term::list(
            item_list
                .iter()
                .map(|a| pair(a.as_str(), value(a.as_str())))
                .collect(),
        )),
    }
}

/// `erlang:memory/0` keys, in OTP's order.
const MEMORY_KEYS: &[&str] = &[
    "total",
    "processes",
    "processes_used",
    "system",
    "atom",
    "atom_used",
    "binary",
    "code",
    "ets",
];

/// beamnode has no separate process heaps, atom table, code area or ETS: `total` and
/// `system` are the OS process's resident memory (Linux `/proc/self/status`), the
/// other categories 0.
fn memory_of(key: &str) -> i64 {
    match key {
        "total" | "system" => resident_bytes(),
        _ => 0,
    }
}

fn resident_bytes() -> i64 {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines()
                .find_map(|l| l.strip_prefix("VmRSS:"))
                .and_then(|v| v.trim().trim_end_matches("kB").trim().parse::<i64>().ok())
        })
        .map_or(0, |kb| kb * 1024)
}

/// CPU time of this OS process in milliseconds (user + system, all threads), from
/// Linux `/proc/self/stat` in clock ticks of 10 ms (`USER_HZ` is 100 on Linux); 0
/// where that file does not exist.
fn cpu_ms() -> u64 {
    let Ok(stat) = std::fs::read_to_string("/proc/self/stat") else {
        return 0;
    };
    // Fields after the command name (which may hold spaces) start after the last ')'.
    let Some(rest) = stat.rsplit_once(')').map(|(_, r)| r) else {
        return 0;
    };
    let f: Vec<&str> = rest.split_whitespace().collect();
    // utime and stime are fields 14 and 15 of the line, 12 and 13 after the name.
    let ticks = |i: usize| f.get(i).and_then(|v| v.parse::<u64>().ok()).unwrap_or(0);
    (ticks(11) + ticks(12)) * 10
}

/// `erlang:statistics/1` with the "since the last call" halves of `wall_clock` and
/// `runtime` kept per node.
struct Statistics {
    started: std::time::Instant,
    last: std::sync::Mutex<(u64, u64)>,
}

impl Statistics {
    fn new() -> Self {
        Statistics {
            started: std::time::Instant::now(),
            last: std::sync::Mutex::new((0, cpu_ms())),
        }
    }

    fn answer(&self, key: &str) -> RpcResult {
        let int = |v: u64| Term::Int(i64::try_from(v).unwrap_or(i64::MAX));
        let two = |a: u64, b: u64| Term::tuple(vec![int(a), int(b)]);
        let mut last = self.last.lock().unwrap_or_else(|e| e.into_inner());
        Ok(match key {
            "wall_clock" => {
                let now = u64::try_from(self.started.elapsed().as_millis()).unwrap_or(u64::MAX);
                let t = two(now, now.saturating_sub(last.0));
                last.0 = now;
                t
            }
            "runtime" => {
                let now = cpu_ms();
                let t = two(now, now.saturating_sub(last.1));
                last.1 = now;
                t
            }
            // No Erlang run queues or reductions: an idle emulator's answers.
            "run_queue"
            | "total_run_queue_lengths"
            | "total_run_queue_lengths_all"
            | "total_active_tasks"
            | "total_active_tasks_all" => int(0),
            // One element per normal run queue (one per scheduler), then the dirty CPU
            // run queue, and for the `_all` forms the dirty IO one too, as BEAM lists
            // them.
            "run_queue_lengths" | "active_tasks" | "run_queue_lengths_all" | "active_tasks_all" => {
                let k = std::thread::available_parallelism().map_or(1, |p| p.get());
                let dirty = if key.ends_with("_all") { 2 } else { 1 };
                Term::list(vec![int(0); k + dirty])
            }
            "reductions" | "exact_reductions" => two(0, 0),
            "context_switches" => Term::tuple(vec![int(0), int(0)]),
            "garbage_collection" => Term::tuple(vec![int(0), int(0), int(0)]),
            "io" => Term::tuple(vec![pair("input", int(0)), pair("output", int(0))]),
            _ => return Err(RpcException::badarg()),
        })
    }
}

fn ok(t: Term) -> Term {
    Term::tuple(vec![Term::atom("ok"), t])
}

fn error(t: Term) -> Term {
    Term::tuple(vec![Term::atom("error"), t])
}

fn bad_node() -> Term {
    error(Term::atom("bad_node"))
}

/// `[{owner, Pid}, {state, up}, {address, #net_address{}}, {type, normal | hidden},
/// {in, N}, {out, N}]`, in OTP's order. beamnode has no process per connection: the
/// owner is its `net_kernel`. The address is `#net_address{address = {Ip, Port},
/// host = Host, protocol = tcp | tls, family = inet | inet6}`; `in`/`out` count
/// messages (ticks not included).
fn node_info_list(n: &Node, c: &ConnectionInfo) -> Term {
    let pair = |k: &str, v: Term| Term::tuple(vec![Term::atom(k), v]);
    let owner = n
        .whereis(&Atom::new("net_kernel"))
        .map(Term::Pid)
        .unwrap_or_else(|| Term::atom("undefined"));
    let host = c.node.as_str().split_once('@').map_or("", |(_, h)| h);
    let address = match c.address {
        Some(a) => {
            let ip = match a.ip() {
                std::net::IpAddr::V4(v4) => {
                    Term::tuple(v4.octets().iter().map(|&o| Term::Int(o.into())).collect())
                }
                std::net::IpAddr::V6(v6) => {
                    Term::tuple(v6.segments().iter().map(|&s| Term::Int(s.into())).collect())
                }
            };
            Term::tuple(vec![
                Term::atom("net_address"),
                Term::tuple(vec![ip, Term::Int(a.port().into())]),
                Term::string(host),
                Term::atom(if c.tls { "tls" } else { "tcp" }),
                Term::atom(if a.is_ipv4() { "inet" } else { "inet6" }),
            ])
        }
        None => Term::atom("undefined"),
    };
    let count = |v: u64| Term::Int(i64::try_from(v).unwrap_or(i64::MAX));
    Term::list(vec![
        pair("owner", owner),
        pair("state", Term::atom("up")),
        pair("address", address),
        pair(
            "type",
            Term::atom(if c.visible { "normal" } else { "hidden" }),
        ),
        pair("in", count(c.messages_in)),
        pair("out", count(c.messages_out)),
    ])
}

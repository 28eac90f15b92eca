//! The one-shot client commands, `call`, `ping` and `names`: each dials the target with
//! a blocking connection (or asks its EPMD), prints the answer and exits.

use super::{
    resolve_cookie, short_hostname, CallArgs, ClientArgs, NamesArgs, PingArgs, EXIT_BADRPC,
    EXIT_NODEDOWN, EXIT_SUCCESS, EXIT_TIMEOUT, EXIT_USAGE,
};
use std::time::Duration;

fn target_name(node: &str) -> String {
    if node.contains('@') {
        node.to_string()
    } else {
        format!("{node}@{}", short_hostname())
    }
}

/// How many node names `call`/`ping` use: `beamnode_call_0` … `beamnode_call_63`.
///
/// Every node name a BEAM node ever sees becomes an atom there, and atoms are never
/// freed: a name per process (such as `beamnode_call_<os pid>`) lets a script that
/// calls a node every few seconds fill its atom table (1,048,576 by default) within
/// months and crash it. `erl_call` avoids that with one fixed name (`c17`), which makes
/// two concurrent calls kick each other off. A small pool does both: at most 64 atoms,
/// and a name in use is skipped ([`beamnode::blocking::Connection::dial_first_free`]).
const CALL_NAMES: u32 = 64;
/// Names tried before giving up when the peer keeps seeing ours in use: all of them,
/// so up to [`CALL_NAMES`] concurrent calls to one node all get a name (a name in use
/// costs one refused handshake).
const CALL_NAME_ATTEMPTS: u32 = CALL_NAMES;

/// The blocking connection of `call`/`ping`: a hidden node named
/// `beamnode_call_<k>@<the target's host>` (same short/long naming as the target),
/// starting at `k` = OS pid modulo [`CALL_NAMES`] so that processes started together
/// start on different names.
fn dial_blocking(
    target: &str,
    args: &ClientArgs,
    tls: Option<std::sync::Arc<beamnode::tls::DistTls>>,
) -> Result<beamnode::blocking::Connection, String> {
    use beamnode::blocking::{Connection, DialConfig};
    let host = target
        .split_once('@')
        .map(|(_, h)| h)
        .unwrap_or("localhost");
    let first = std::process::id() % CALL_NAMES;
    let names = (0..CALL_NAME_ATTEMPTS)
        .map(|i| format!("beamnode_call_{}@{host}", (first + i) % CALL_NAMES));
    let mut cfg = DialConfig::new("", resolve_cookie(args.cookie.as_deref())?, target);
    cfg.epmd_port = args
        .epmd_port
        .unwrap_or_else(beamnode::net::epmd_port_from_env);
    cfg.tls = tls;
    Connection::dial_first_free(&cfg, names).map_err(|e| e.to_string())
}

/// The TLS configuration of `call`/`ping` (`Some(None)`: plain TCP); `None` after
/// reporting an unusable one: a usage error, never a silent fallback to TCP.
fn client_tls(args: &ClientArgs) -> Option<Option<std::sync::Arc<beamnode::tls::DistTls>>> {
    match args.dist.tls() {
        Ok(tls) => Some(tls.map(std::sync::Arc::new)),
        Err(e) => {
            eprintln!("beamnode: {e}");
            None
        }
    }
}

/// `beamnode call`: `rpc:call` through the peer's `rex` on a blocking connection, as
/// `erl_call -a` does (one message each way; §9.4). The answer is printed in `rpc:call`
/// shape, the exit status tells success from `{badrpc, …}`, nodedown and timeout.
pub(super) fn call_blocking(args: &CallArgs) -> u8 {
    use beamnode::blocking::rpc;
    let call_args = match beamnode::term::parse::parse_args(&args.args) {
        Ok(a) => a,
        Err(e) => {
            eprintln!("beamnode: bad argument list {:?}: {e}", args.args);
            return EXIT_USAGE;
        }
    };
    let target = target_name(&args.node);
    let Some(tls) = client_tls(&args.client) else {
        return EXIT_USAGE;
    };
    let mut conn = match dial_blocking(&target, &args.client, tls) {
        Ok(c) => c,
        Err(e) => {
            eprintln!("beamnode: cannot connect to {target}: {e}");
            println!("{{badrpc,nodedown}}");
            return EXIT_NODEDOWN;
        }
    };
    let timeout = args
        .timeout
        .filter(|t| t.is_finite() && *t >= 0.0)
        .map(|t| Duration::try_from_secs_f64(t).unwrap_or(Duration::MAX));
    let mut stdout = std::io::stdout();
    let result = rpc::rex_call(
        &mut conn,
        &args.module,
        &args.function,
        call_args,
        timeout,
        &mut stdout,
    );
    print_call_result(result)
}

/// Prints a call's outcome as `rpc:call` returns it; the exit status tells which.
fn print_call_result(
    result: Result<beamnode::Term, beamnode::services::rpc_client::RpcError>,
) -> u8 {
    use beamnode::services::rpc_client::RpcError;
    match result {
        Ok(v) => {
            println!("{v}");
            EXIT_SUCCESS
        }
        Err(e) => {
            println!("{}", e.to_rpc_result());
            match e {
                RpcError::NodeDown(_) => EXIT_NODEDOWN,
                RpcError::Timeout => EXIT_TIMEOUT,
                _ => EXIT_BADRPC,
            }
        }
    }
}

/// `beamnode ping` without an async runtime.
pub(super) fn ping_blocking(args: &PingArgs) -> u8 {
    let target = target_name(&args.node);
    let Some(tls) = client_tls(&args.client) else {
        return EXIT_USAGE;
    };
    let up = match dial_blocking(&target, &args.client, tls) {
        Ok(mut conn) => beamnode::blocking::rpc::ping(&mut conn, Duration::from_secs(7)),
        Err(e) => {
            tracing::debug!(error = %e, "ping: no connection");
            false
        }
    };
    println!("{}", if up { "pong" } else { "pang" });
    if up {
        EXIT_SUCCESS
    } else {
        1
    }
}

pub(super) async fn names(args: NamesArgs) -> u8 {
    let port = args
        .epmd_port
        .unwrap_or_else(beamnode::net::epmd_port_from_env);
    let client = beamnode::net::epmd_client::EpmdClient::new(args.host.clone(), port);
    match client.names().await {
        Ok((epmd_port, names)) => {
            println!("epmd: up and running on port {epmd_port} with data:");
            for (name, port) in names {
                println!("name {name} at port {port}");
            }
            EXIT_SUCCESS
        }
        Err(e) => {
            eprintln!("beamnode: no EPMD at {}:{port}: {e}", args.host);
            EXIT_NODEDOWN
        }
    }
}

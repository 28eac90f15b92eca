//! `erl_call -a` against beamnode (docs/protocol.md §9.4): erl_call is a C node (ei). It
//! sends `{From, {call, M, F, A, user}}` to `rex` and waits for `{rex, Reply}`, and
//! it does not offer DFLAG_SEND_SENDER, so the reply must travel as a plain SEND
//! (§5.1). Run with the host's erl_call (OTP 25) and the newer-OTP root's (OTP 27),
//! with the answers compared with those of a real erl node for the same call.

use crate::common::*;
use std::time::Duration;

const T: Duration = Duration::from_secs(30);

/// Runs `erl_call -sname <target> -c <cookie> -a <apply>` (in `root` through chroot
/// when given); returns the exit code and stdout.
async fn erl_call(
    root: Option<&std::path::Path>,
    epmd: u16,
    target: &str,
    apply: &str,
) -> (i32, String) {
    let mut cmd = match root {
        None => {
            require("erl_call");
            tokio::process::Command::new("erl_call")
        }
        Some(root) => {
            let mut c = tokio::process::Command::new("chroot");
            c.arg(root).args(["env", "HOME=/root", "erl_call"]);
            c
        }
    };
    cmd.args(["-sname", target, "-c", COOKIE, "-a", apply])
        .env("ERL_EPMD_PORT", epmd.to_string())
        .kill_on_drop(true);
    let out = tokio::time::timeout(T, cmd.output())
        .await
        .expect("erl_call finished")
        .expect("run erl_call");
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stdout).trim().to_string(),
    )
}

async fn erl_call_against_rust(root: Option<std::path::PathBuf>) {
    let epmd = private_epmd().await;
    let node = rust_node("rustec", epmd, COOKIE).await;
    beamnode::services::rpc_server::start(&node).unwrap();
    beamnode::services::rust_math::register(&node);
    let r = node.name().as_str().to_string();
    let b_name = unique("ecpeer");
    let mut b = Erl::start(
        &b_name,
        COOKIE,
        epmd,
        "io:format(\"UP~n\"), timer:sleep(60000), halt().",
    );
    b.expect("UP", T).await;
    let b_node = format!("{b_name}@localhost");
    let root = root.as_deref();

    assert_eq!(
        erl_call(root, epmd, &r, "rust_math add [1,2]").await,
        (0, "3".to_string())
    );
    assert_eq!(
        erl_call(root, epmd, &r, "rust_math fib [100]").await,
        // erl_call prints bignums in hex: fib(100) = 354224848179261915075.
        (0, "16#1333DB76A7C594BFC3".to_string())
    );
    assert_eq!(
        erl_call(root, epmd, &r, "rust_math fail [boom]").await,
        (
            0,
            "{badrpc, {'EXIT', {boom, [{rust_math, fail, 1, []}]}}}".to_string()
        )
    );
    assert_eq!(
        erl_call(root, epmd, &r, "erlang node").await,
        (0, r.clone())
    );
    // An undefined function: what erl_call prints for a real node, too.
    let undef = erl_call(root, epmd, &r, "nomod nofun [x]").await;
    assert_eq!(
        undef,
        (
            0,
            "{badrpc, {'EXIT', {undef, [{nomod, nofun, [x], []}]}}}".to_string()
        )
    );
    assert_eq!(
        erl_call(root, epmd, &b_node, "nomod nofun [x]").await,
        undef
    );
    // The node is still fine for BEAM peers afterwards.
    assert!(node.ping(&beamnode::Atom::new(&b_node)).await);
    b.kill9();
    node.shutdown();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn erl_call_host_otp_applies_rust_functions() {
    erl_call_against_rust(None).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn erl_call_newer_otp_applies_rust_functions() {
    erl_call_against_rust(Some(newer_otp_root())).await;
}

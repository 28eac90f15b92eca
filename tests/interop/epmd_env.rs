//! `EpmdClient::from_env` honours `ERL_EPMD_PORT` (docs/protocol.md §1.1). The test
//! changes the process environment, which the other tests of this binary (run on other
//! threads) must not see: it runs its checks in a child process of this test binary
//! that runs this test alone.

use beamnode::net::EpmdClient;

/// Set in the child process that runs the checks.
const CHILD: &str = "BEAMNODE_TEST_EPMD_ENV_CHILD";

#[test]
fn from_env_reads_erl_epmd_port() {
    if std::env::var_os(CHILD).is_some() {
        std::env::set_var("ERL_EPMD_PORT", "4555");
        assert_eq!(EpmdClient::from_env("localhost").port(), 4555);
        std::env::set_var("ERL_EPMD_PORT", "not a port");
        assert_eq!(EpmdClient::from_env("localhost").port(), 4369);
        std::env::remove_var("ERL_EPMD_PORT");
        assert_eq!(EpmdClient::from_env("localhost").port(), 4369);
        return;
    }
    // This test's name as libtest knows it: the module path without the crate name.
    let module = module_path!().split_once("::").expect("a module path").1;
    let name = format!("{module}::from_env_reads_erl_epmd_port");
    let out = std::process::Command::new(std::env::current_exe().expect("test binary"))
        .args([&name, "--exact", "--test-threads=1"])
        .env(CHILD, "1")
        .output()
        .expect("run the test binary");
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success() && stdout.contains("test result: ok. 1 passed"),
        "{name} in a child process: {}\n{stdout}\n{}",
        out.status,
        String::from_utf8_lossy(&out.stderr)
    );
}

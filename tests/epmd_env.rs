//! `EpmdClient::from_env` honours `ERL_EPMD_PORT` (docs/protocol.md §1.1). Kept alone in
//! its own test binary because it changes the process environment.

use beamnode::net::EpmdClient;

#[test]
fn from_env_reads_erl_epmd_port() {
    std::env::set_var("ERL_EPMD_PORT", "4555");
    assert_eq!(EpmdClient::from_env("localhost").port(), 4555);
    std::env::set_var("ERL_EPMD_PORT", "not a port");
    assert_eq!(EpmdClient::from_env("localhost").port(), 4369);
    std::env::remove_var("ERL_EPMD_PORT");
    assert_eq!(EpmdClient::from_env("localhost").port(), 4369);
}

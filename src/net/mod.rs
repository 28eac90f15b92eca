//! The tokio layer: drives the sans-IO pieces of [`crate::proto`] over real sockets —
//! EPMD client and server, listener and dialer with their handshakes, and the driver of
//! each up connection.

pub(crate) mod connection;
pub mod epmd_client;
pub mod epmd_server;
pub(crate) mod pacing;
mod setup;
mod stream;

pub use epmd_client::{epmd_port_from_env, EpmdClient, EpmdError, EpmdRegistration, NodeInfo};
pub use epmd_server::{EpmdServer, EpmdServerConfig, EpmdServerHandle};
pub use setup::{ensure_epmd, SetupError};

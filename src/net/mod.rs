//! The tokio layer: drives the sans-IO pieces of [`crate::proto`] over real sockets.

pub mod epmd_client;
pub mod epmd_server;

pub use epmd_client::{EpmdClient, EpmdRegistration};
pub use epmd_server::{EpmdServer, EpmdServerConfig, EpmdServerHandle};

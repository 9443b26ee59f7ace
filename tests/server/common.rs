//! Starting `guichet serve` and talking to it (shared with other test binaries).

#[path = "../support/server.rs"]
mod server;
pub use server::*;

#[path = "../support/client.rs"]
mod client;
pub use client::*;

//! What Guichet's test binaries (`tests/server`, `tests/sync`) and benchmarks
//! (`tests/bench`) share, as one library: each lists it as the dev-dependency
//! `support` and uses its modules by path (`support::server::start`).
//!
//! - [`cli`]: the `guichet` binary under test, run in the C locale;
//! - [`server`]: a real `guichet serve` on 127.0.0.1:0, killed when dropped;
//! - [`client`]: a Table API client of that server, journal helpers included;
//! - [`agent`]: an agent at a workstation, the CLI with a home of its own;
//! - [`proxy`]: the fault-injecting HTTP proxy;
//! - [`inbox`]: a second profile on a workstation, for the one inbox;
//! - [`tmux`]: the console in a tmux pane, keys sent, the screen read back;
//! - [`bench`]: what the benchmarks share;
//! - [`chaos`]: replayable random kills.
//!
//! It does not depend on the `guichet` crate (that would be a cycle): it runs
//! the binary Cargo built for the test ([`cli::bin`]).

pub mod agent;
pub mod bench;
pub mod chaos;
pub mod cli;
pub mod client;
pub mod inbox;
pub mod proxy;
pub mod server;
pub mod tmux;

use std::sync::Once;

/// A reqwest client builder with TLS ready: rustls with the `ring` provider,
/// installed once per process, as `guichet::tls::http_client` does.
pub fn http_client() -> reqwest::ClientBuilder {
    static INSTALL: Once = Once::new();
    INSTALL.call_once(|| {
        // An Err means another provider was installed first, which serves too.
        let _ = rustls::crypto::ring::default_provider().install_default();
    });
    reqwest::Client::builder()
}

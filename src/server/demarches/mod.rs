//! `guichet serve`'s Démarches Simplifiées endpoint: `POST /api/v2/graphql`
//! speaks the subset of DS's GraphQL API (API v2) that Guichet uses, the
//! contract in src/backend/demarches/schema.graphql, on tables of its own
//! (`ds_*`) in the server's SQLite file. Deviations from DS are listed in
//! the README ("Démarches Simplifiées endpoint").
//!
//! - `http`: transport, tokens, statuses, throttling;
//! - `objects`, `types`, `inputs`: the schema's types; `load`: reading them;
//! - `mutations`, `workflow`: DS's state machine and its French refusals;
//! - `ids`, `dates`: Relay ids, cursors, Paris time;
//! - `tokens`: API tokens ([`add_token`] for tests and administrators);
//! - `seed`: the demo's démarches and dossiers.

mod dates;
mod errors;
mod http;
mod ids;
mod inputs;
mod load;
mod mutations;
mod objects;
pub(crate) mod seed;
pub(crate) mod store;
mod tokens;
mod types;
mod workflow;

pub(crate) use http::{Endpoint, graphql};
pub use tokens::{TokenSpec, add_token};

/// The token the demo seeds: read-write, every demo démarche; accepted only
/// while the server runs with `--demo`.
pub const DEMO_TOKEN: &str = "demo-ds-token";
/// The démarches `--demo` seeds (the demo's DS profile works them all).
pub const DEMO_DEMARCHES: [i64; 3] = [101, 102, 103];

/// How many dossiers `--demo` seeds unless told (`--demo-dossiers`).
pub const DEFAULT_DEMO_DOSSIERS: u32 = 60;

/// `serve`'s options for this endpoint.
#[derive(Debug, Clone, Default)]
pub struct DsOptions {
    /// Requests a minute per `Authorization` header; None: no limit.
    pub rate_limit: Option<u32>,
    /// Dossiers the demo seeds (None: [`DEFAULT_DEMO_DOSSIERS`]).
    pub demo_dossiers: Option<u32>,
    /// Tokens created at start-up (`--ds-token`).
    pub tokens: Vec<TokenSpec>,
}

/// The served schema in SDL, as `async_graphql::Schema::sdl` writes it.
pub fn sdl() -> String {
    http::schema(None).sdl()
}

//! Top-level GraphQL errors as DS words and codes them
//! (`extensions.code`). Refusals of mutations are not errors: they are
//! data (`errors: [{ message }]` in the payload, see `mutations`).

use async_graphql::{Error, ErrorExtensions};
use axum::http::StatusCode;

use super::super::error::ApiError;

pub fn coded(message: impl Into<String>, code: &'static str) -> Error {
    Error::new(message).extend_with(|_, e| e.set("code", code))
}

/// `Dossier not found`: no such number, or an id of another type.
pub fn not_found(type_name: &str) -> Error {
    coded(format!("{type_name} not found"), "not_found")
}

/// An object of a démarche the token does not cover.
pub fn hidden(type_name: &str) -> Error {
    coded(
        format!("An object of type {type_name} was hidden due to permissions"),
        "unauthorized",
    )
}

pub fn bad_request(message: impl Into<String>) -> Error {
    coded(message, "bad_request")
}

/// Database work that failed: past the deadline (`timeout`), or broken.
pub fn from_api(e: ApiError) -> Error {
    if e.status == StatusCode::SERVICE_UNAVAILABLE {
        coded(e.detail, "timeout")
    } else {
        coded("Internal Server Error", "internal_server_error")
    }
}

impl From<rusqlite::Error> for Failure {
    fn from(e: rusqlite::Error) -> Self {
        Failure::Api(ApiError::from(e))
    }
}

impl From<ApiError> for Failure {
    fn from(e: ApiError) -> Self {
        Failure::Api(e)
    }
}

/// Why database work for a resolver did not give its answer.
#[derive(Debug)]
pub enum Failure {
    Api(ApiError),
    /// A top-level GraphQL error (not found, hidden).
    Graphql(Error),
}

impl From<Failure> for Error {
    fn from(f: Failure) -> Error {
        match f {
            Failure::Api(e) => from_api(e),
            Failure::Graphql(e) => e,
        }
    }
}

impl From<Error> for Failure {
    fn from(e: Error) -> Self {
        Failure::Graphql(e)
    }
}

//! `POST /api/v2/graphql`: throttling, the token, the JSON body, then the
//! GraphQL execution under the server's deadline, with DS's statuses:
//! 429 throttled (plain text, `RateLimit-Reset`, no `Retry-After`); 403
//! without a known token; 401 with an expired one; 400 for a body or
//! `variables` that is not JSON; 200 for everything GraphQL says, syntax
//! and validation errors included; 500 when the server itself failed.

use std::sync::Arc;
use std::time::Duration;

use async_graphql::{EmptySubscription, Schema, Variables};
use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde::Deserialize;
use serde_json::{Value as Json, json};

use super::super::AppState;
use super::super::auth::digest;
use super::super::db::Db;
use super::super::rate_limit::RateLimiter;
use super::mutations::Mutation;
use super::objects::Query;
use super::tokens::{self, Refusal};

/// DS's depth limit.
pub const MAX_DEPTH: usize = 15;
/// Fields (each counted once, a page's nodes included once) one query may
/// select: a full sync query of every contract field is under 150.
pub const MAX_COMPLEXITY: usize = 1000;

pub type DsSchema = Schema<Query, Mutation, EmptySubscription>;

pub fn schema(db: Option<Arc<Db>>) -> DsSchema {
    let mut builder = Schema::build(Query, Mutation, EmptySubscription)
        .limit_depth(MAX_DEPTH)
        .limit_complexity(MAX_COMPLEXITY);
    if let Some(db) = db {
        builder = builder.data(db);
    }
    builder.finish()
}

/// The endpoint's state in the server's.
pub struct Endpoint {
    schema: DsSchema,
    limiter: Option<RateLimiter>,
    /// Demo tokens are accepted (the server runs its demo).
    demo: bool,
    deadline: Duration,
}

impl Endpoint {
    pub fn new(db: Arc<Db>, rate_limit: Option<u32>, demo: bool, deadline: Duration) -> Endpoint {
        Endpoint {
            schema: schema(Some(db)),
            limiter: rate_limit.map(RateLimiter::new),
            demo,
            deadline,
        }
    }
}

fn error_body(message: &str, code: &str) -> Json {
    json!({ "errors": [{ "message": message, "extensions": { "code": code } }], "data": null })
}

fn json_response(status: StatusCode, body: &Json) -> Response {
    (
        status,
        [(header::CONTENT_TYPE, "application/json; charset=utf-8")],
        serde_json::to_vec(body).unwrap_or_default(),
    )
        .into_response()
}

/// Past the rate limit: DS's (Rack::Attack's) answer, plain text.
fn throttled() -> Response {
    let now = crate::server::clock::epoch_now();
    let reset = now - now.rem_euclid(60) + 60;
    let mut response = (
        StatusCode::TOO_MANY_REQUESTS,
        [(header::CONTENT_TYPE, "text/plain; charset=utf-8")],
        "Trop de requêtes : attendez un peu avant de réessayer.\nToo many requests: wait a little before trying again.\n",
    )
        .into_response();
    let headers = response.headers_mut();
    headers.insert("ratelimit-remaining", HeaderValue::from_static("0"));
    headers.insert("ratelimit-reset", HeaderValue::from(reset));
    response
}

fn bearer(headers: &HeaderMap) -> Option<String> {
    let value = headers.get(header::AUTHORIZATION)?.to_str().ok()?.trim();
    let (scheme, token) = value.split_once(' ')?;
    (scheme.eq_ignore_ascii_case("bearer") && !token.trim().is_empty())
        .then(|| token.trim().to_string())
}

#[derive(Deserialize)]
struct Body {
    query: Option<String>,
    #[serde(default)]
    variables: Option<Json>,
    #[serde(rename = "operationName")]
    operation_name: Option<String>,
}

/// `variables` as an object: given as one, or as a JSON string of one.
fn variables(value: Option<Json>) -> Result<Json, (String, &'static str)> {
    match value {
        None | Some(Json::Null) => Ok(json!({})),
        Some(Json::Object(map)) => Ok(Json::Object(map)),
        Some(Json::String(text)) if text.trim().is_empty() => Ok(json!({})),
        Some(Json::String(text)) => match serde_json::from_str::<Json>(&text) {
            Ok(parsed) => variables(Some(parsed)).map_err(|(m, _)| (m, "bad_request")),
            Err(e) => Err((e.to_string(), "graphql_parse_failed")),
        },
        Some(other) => Err((format!("Unexpected parameter: {other}"), "bad_request")),
    }
}

pub async fn graphql(
    State(app): State<Arc<AppState>>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let endpoint = &app.ds;
    if let (Some(limiter), Some(authorization)) = (
        &endpoint.limiter,
        headers
            .get(header::AUTHORIZATION)
            .and_then(|v| v.to_str().ok()),
    ) && limiter.check(&digest(authorization)).is_err()
    {
        return throttled();
    }
    let forbidden = || {
        json_response(
            StatusCode::FORBIDDEN,
            &error_body(
                "Without a token, only persisted queries are allowed",
                "forbidden",
            ),
        )
    };
    let Some(token) = bearer(&headers) else {
        return forbidden();
    };
    let demo = endpoint.demo;
    let found = app
        .db
        .read(move |conn| {
            Ok(tokens::lookup(
                conn,
                &token,
                demo,
                crate::server::clock::epoch_now(),
            )?)
        })
        .await;
    let scope = match found {
        Ok(Ok(scope)) => scope,
        Ok(Err(Refusal::Unknown)) => return forbidden(),
        Ok(Err(Refusal::Expired)) => {
            return json_response(
                StatusCode::UNAUTHORIZED,
                &error_body("Token expired", "unauthorized"),
            );
        }
        Err(e) => {
            let error = super::errors::from_api(e);
            let code = error
                .extensions
                .as_ref()
                .and_then(|x| x.get("code"))
                .map(|v| v.to_string().trim_matches('"').to_string())
                .unwrap_or_else(|| "internal_server_error".to_string());
            let status = if code == "timeout" {
                StatusCode::OK
            } else {
                StatusCode::INTERNAL_SERVER_ERROR
            };
            return json_response(status, &error_body(&error.message, &code));
        }
    };
    let parsed: Body = match serde_json::from_slice(&body) {
        Ok(parsed) => parsed,
        Err(e) => {
            return json_response(
                StatusCode::BAD_REQUEST,
                &error_body(&e.to_string(), "bad_request"),
            );
        }
    };
    let variables = match variables(parsed.variables) {
        Ok(v) => v,
        Err((message, code)) => {
            return json_response(StatusCode::BAD_REQUEST, &error_body(&message, code));
        }
    };
    let Some(query) = parsed.query.filter(|q| !q.trim().is_empty()) else {
        return json_response(
            StatusCode::OK,
            &error_body("No query string was present", "bad_request"),
        );
    };
    if let Err(e) = async_graphql::parser::parse_query(&query) {
        let locations: Vec<Json> = e
            .positions()
            .map(|p| json!({ "line": p.line, "column": p.column }))
            .collect();
        return json_response(
            StatusCode::OK,
            &json!({ "errors": [{
                "message": e.to_string(),
                "locations": locations,
                "extensions": { "code": "graphql_parse_failed" },
            }] }),
        );
    }
    let mut request = async_graphql::Request::new(query)
        .variables(Variables::from_json(variables))
        .data(scope);
    if let Some(name) = parsed.operation_name.filter(|n| !n.is_empty()) {
        request = request.operation_name(name);
    }
    let executed = tokio::time::timeout(endpoint.deadline, endpoint.schema.execute(request)).await;
    let Ok(response) = executed else {
        return json_response(
            StatusCode::OK,
            &error_body(
                &format!(
                    "Timeout on the query: it ran past the server's deadline of {} s",
                    endpoint.deadline.as_secs_f64()
                ),
                "timeout",
            ),
        );
    };
    let mut response = response;
    let mut status = StatusCode::OK;
    for error in &mut response.errors {
        let extensions = error.extensions.get_or_insert_with(Default::default);
        // Validation errors carry no code: DS's are graphql-ruby's rule
        // names; ours say bad_request.
        match extensions.get("code") {
            None => extensions.set("code", "bad_request"),
            Some(code) if code == &async_graphql::Value::from("internal_server_error") => {
                status = StatusCode::INTERNAL_SERVER_ERROR;
            }
            Some(_) => {}
        }
    }
    // Serialized as is, the data keeps the order of the query's fields.
    (
        status,
        [(header::CONTENT_TYPE, "application/json; charset=utf-8")],
        serde_json::to_vec(&response).unwrap_or_default(),
    )
        .into_response()
}

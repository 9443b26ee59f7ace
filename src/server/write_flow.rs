//! A create or an update from request to response: the request's headers
//! and body checked, the `Idempotency-Key` claimed, then one transaction
//! that either replays the stored response to the key or writes the record
//! and stores its response under the key.

use axum::body::{Body, Bytes};
use axum::http::{HeaderMap, HeaderValue, Method, StatusCode, header};
use axum::response::{IntoResponse, Response};
use rusqlite::{Connection, TransactionBehavior};
use serde_json::{Value as Json, json};

use super::AppState;
use super::access::Agent;
use super::bounds::{BODY_LIMIT, body_too_large};
use super::error::ApiError;
use super::idempotency::{self, Stored};
use super::pagination::ListParams;
use super::records::{self, Record, render_one};
use super::tables::Table;
use super::writes::{self, mod_count};

/// A create or an update as the route hands it over: the table and record
/// it aims at, who asks, and the parts of the HTTP request the flow reads.
pub struct WriteRequest {
    pub table: &'static Table,
    pub agent: Agent,
    /// The record to update; None creates one.
    pub target: Option<String>,
    pub method: Method,
    /// The path as the client sent it (before routing strips `/api/now`):
    /// with the method and body, it tells an idempotent replay from a
    /// different request under the same key.
    pub path: String,
    /// The raw query string: `sysparm_*` shape the response body.
    pub query: Option<String>,
    /// `http://host[:port]`, for reference links and `Location`.
    pub base_url: String,
    /// Content-Type, Accept, `Idempotency-Key`, `If-Match`, `X-no-response-body`.
    pub headers: HeaderMap,
    /// Read only once the idempotency key is claimed.
    pub body: Body,
}

/// A write read from its request and checked: what its transaction needs.
struct Checked {
    table: &'static Table,
    agent: Agent,
    target: Option<String>,
    json: Json,
    key: Option<String>,
    fingerprint: String,
    if_match: Option<String>,
    params: ListParams,
    extensions: bool,
}

/// The response to a write, as stored under an idempotency key.
struct Written {
    status: StatusCode,
    body: Vec<u8>,
    etag: Option<String>,
    location: Option<String>,
    replayed: bool,
}

/// Runs a create or an update and answers it.
pub async fn write(app: &AppState, request: WriteRequest) -> Result<Response, ApiError> {
    let WriteRequest {
        table,
        agent,
        target,
        method,
        path,
        query,
        base_url,
        headers,
        body,
    } = request;
    check_write_headers(&headers)?;
    let extensions = app.options.extensions;
    let key = protective_header(&headers, "idempotency-key")?.filter(|_| extensions);
    // Claimed before the body is read: a slow upload is "in flight" too.
    let _claim = match &key {
        Some(key) => Some(app.in_flight.claim(&agent.sys_id, key)?),
        None => None,
    };
    let bytes = read_body(body).await?;
    let json: Json = serde_json::from_slice(&bytes)
        .map_err(|e| ApiError::bad_request(format!("the request body is not valid JSON: {e}")))?;
    let fingerprint = idempotency::fingerprint(method.as_str(), &path, &bytes);
    let if_match = protective_header(&headers, "if-match")?.filter(|_| extensions);
    let params = ListParams::parse(query.as_deref().unwrap_or(""), base_url)?;
    let checked = Checked {
        table,
        agent,
        target,
        json,
        key,
        fingerprint,
        if_match,
        params,
        extensions,
    };
    let written = app.db.write(move |conn| commit(conn, &checked)).await?;
    let no_body =
        header_text(&headers, "x-no-response-body").is_some_and(|v| v.eq_ignore_ascii_case("true"));
    Ok(written.into_response(no_body))
}

/// The write's transaction: the stored response when the key is known, else
/// the record written and its response stored under the key.
fn commit(conn: &mut Connection, w: &Checked) -> Result<Written, ApiError> {
    let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
    if let Some(key) = &w.key
        && let Some(stored) = idempotency::lookup(&tx, &w.agent.sys_id, key)?
    {
        return replay(key, stored, &w.fingerprint);
    }
    let record = writes::apply(
        &tx,
        w.table,
        &w.agent,
        w.target.as_deref(),
        &w.json,
        w.if_match.as_deref(),
        |conn, current| precondition_failed(conn, w.table, current, &w.params.render, &w.agent),
    )?;
    let rendered = render_one(&tx, w.table, &record, &w.params.render, &w.agent)?;
    let body = serde_json::to_vec(&json!({ "result": rendered })).unwrap_or_default();
    let id = records::text(
        w.table.field("sys_id").expect("sys_id"),
        record.get("sys_id"),
    );
    let creating = w.target.is_none();
    let written = Written {
        status: if creating {
            StatusCode::CREATED
        } else {
            StatusCode::OK
        },
        body,
        etag: w.extensions.then(|| format!("\"{}\"", mod_count(&record))),
        location: creating.then(|| {
            format!(
                "{}/api/now/table/{}/{id}",
                w.params.render.base_url, w.table.name
            )
        }),
        replayed: false,
    };
    if let Some(key) = &w.key {
        let stored = Stored {
            fingerprint: w.fingerprint.clone(),
            status: written.status.as_u16(),
            etag: written.etag.clone(),
            location: written.location.clone(),
            body: written.body.clone(),
        };
        idempotency::store(&tx, &w.agent.sys_id, key, &stored, super::epoch_now())?;
    }
    tx.commit()?;
    Ok(written)
}

/// The first response to `key`, if this is the same request again.
fn replay(key: &str, stored: Stored, fingerprint: &str) -> Result<Written, ApiError> {
    if stored.fingerprint != fingerprint {
        return Err(ApiError::new(
            StatusCode::UNPROCESSABLE_ENTITY,
            "Idempotency-Key reused",
            format!("Idempotency-Key '{key}' was used for a different request"),
        ));
    }
    Ok(Written {
        status: StatusCode::from_u16(stored.status).unwrap_or(StatusCode::OK),
        body: stored.body,
        etag: stored.etag,
        location: stored.location,
        replayed: true,
    })
}

impl Written {
    fn into_response(self, no_body: bool) -> Response {
        let mut response = if no_body {
            self.status.into_response()
        } else {
            (
                self.status,
                [(header::CONTENT_TYPE, "application/json;charset=UTF-8")],
                self.body,
            )
                .into_response()
        };
        let out = response.headers_mut();
        for (name, value) in [(header::ETAG, self.etag), (header::LOCATION, self.location)] {
            if let Some(value) = value.and_then(|v| HeaderValue::from_str(&v).ok()) {
                out.insert(name, value);
            }
        }
        if self.replayed {
            out.insert("idempotent-replayed", HeaderValue::from_static("true"));
        }
        response
    }
}

/// 412 with the record as it is now, so the client can show theirs beside mine.
fn precondition_failed(
    conn: &Connection,
    table: &'static Table,
    current: &Record,
    options: &records::Render,
    agent: &Agent,
) -> ApiError {
    let count = mod_count(current);
    let mut error = ApiError::new(
        StatusCode::PRECONDITION_FAILED,
        "Precondition Failed",
        format!("the record has changed: its version is now {count}"),
    )
    .with_header(header::ETAG, format!("\"{count}\""));
    let rendered = render_one(conn, table, current, options, agent).unwrap_or(Json::Null);
    error.body = Some(json!({
        "error": {"message": error.message, "detail": error.detail},
        "status": "failure",
        "result": rendered,
    }));
    error
}

/// A header whose value is unreadable (not visible ASCII) is refused rather
/// than ignored: ignoring If-Match or Idempotency-Key would write unprotected.
fn protective_header(headers: &HeaderMap, name: &str) -> Result<Option<String>, ApiError> {
    match headers.get(name) {
        None => Ok(None),
        Some(value) => value
            .to_str()
            .map(|v| Some(v.to_string()))
            .map_err(|_| ApiError::bad_request(format!("the {name} header is not readable text"))),
    }
}

fn header_text(headers: &HeaderMap, name: &str) -> Option<String> {
    headers
        .get(name)
        .and_then(|v| v.to_str().ok())
        .map(str::to_string)
}

/// Writes need a JSON body and a client that accepts JSON back.
fn check_write_headers(headers: &HeaderMap) -> Result<(), ApiError> {
    let content_type = header_text(headers, "content-type").unwrap_or_default();
    if !content_type
        .to_ascii_lowercase()
        .starts_with("application/json")
    {
        return Err(ApiError::bad_request(
            "writes need Content-Type: application/json",
        ));
    }
    if let Some(accept) = header_text(headers, "accept") {
        let accept = accept.to_ascii_lowercase();
        if !(accept.contains("application/json")
            || accept.contains("*/*")
            || accept.contains("application/*"))
        {
            return Err(ApiError::new(
                StatusCode::NOT_ACCEPTABLE,
                "Not Acceptable",
                "this server answers application/json",
            ));
        }
    }
    Ok(())
}

async fn read_body(body: Body) -> Result<Bytes, ApiError> {
    axum::body::to_bytes(body, BODY_LIMIT)
        .await
        .map_err(|_| body_too_large())
}

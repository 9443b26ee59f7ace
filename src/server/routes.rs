//! The HTTP surface: Table API routes, auth and rate-limit middleware.

use std::sync::Arc;

use axum::Router;
use axum::body::{Body, Bytes};
use axum::extract::{Extension, OriginalUri, Path, RawQuery, Request, State};
use axum::http::{HeaderMap, HeaderName, HeaderValue, Method, StatusCode, header};
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use rusqlite::TransactionBehavior;
use serde::Deserialize;
use serde_json::{Value as Json, json};

use super::AppState;
use super::access::{Agent, check_table_write, read_scope};
use super::auth;
use super::error::ApiError;
use super::idempotency::{self, Stored};
use super::pagination::{ListParams, link_header};
use super::query_sql;
use super::records::{self, Record, load_one, render, render_one};
use super::tables::{self, Table};
use super::writes::{self, mod_count};

/// Largest request body accepted (a case with a long description fits many times).
const BODY_LIMIT: usize = 1024 * 1024;

pub fn router(app: Arc<AppState>) -> Router {
    let table_routes = Router::new()
        .route("/table/{table}", get(list).post(create))
        .route(
            "/table/{table}/{sys_id}",
            get(read_one).patch(update).put(update).delete(delete),
        )
        .route("/{version}/table/{table}", get(list).post(create))
        .route(
            "/{version}/table/{table}/{sys_id}",
            get(read_one).patch(update).put(update).delete(delete),
        )
        .layer(middleware::from_fn_with_state(
            Arc::clone(&app),
            authenticate,
        ));
    Router::new()
        .nest("/api/now", table_routes)
        .route("/oauth_token.do", post(auth::token))
        .fallback(|| async {
            ApiError::new(
                StatusCode::BAD_REQUEST,
                "Requested URI does not represent any resource",
                "see /api/now/table/{table}",
            )
        })
        .layer(middleware::from_fn(server_date))
        .with_state(app)
}

/// The `Date` header by the server's clock, when tests moved it (hyper
/// writes the machine's otherwise).
async fn server_date(request: axum::extract::Request, next: middleware::Next) -> Response {
    let mut response = next.run(request).await;
    if super::clock::offset() != 0
        && let Ok(value) =
            axum::http::HeaderValue::from_str(&super::clock::http_date(super::clock::now()))
    {
        response
            .headers_mut()
            .insert(axum::http::header::DATE, value);
    }
    response
}

/// Authenticates every Table API request and applies the rate limit.
async fn authenticate(
    State(app): State<Arc<AppState>>,
    mut request: Request,
    next: Next,
) -> Response {
    let agent = match auth::agent_of(&app, request.headers()).await {
        Ok(agent) => agent,
        Err(e) => return e.into_response(),
    };
    let allowance = match &app.rate_limiter {
        Some(limiter) => match limiter.check(&agent.sys_id) {
            Ok(allowance) => Some(allowance),
            Err(e) => return e.into_response(),
        },
        None => None,
    };
    request.extensions_mut().insert(agent);
    let mut response = next.run(request).await;
    if app.options.extensions {
        // Clients detect the extensions from this header rather than guess.
        if let Ok(value) =
            HeaderValue::from_str(&crate::protocol::announce(&crate::protocol::Extension::ALL))
        {
            response
                .headers_mut()
                .insert(crate::protocol::EXTENSIONS_HEADER, value);
        }
    }
    if let Some(allowance) = allowance {
        let headers = response.headers_mut();
        headers.insert("x-ratelimit-limit", HeaderValue::from(allowance.limit));
        headers.insert(
            "x-ratelimit-reset",
            HeaderValue::from(allowance.reset_epoch),
        );
        headers.insert(
            "x-ratelimit-rule",
            HeaderValue::from_static("guichet-per-user"),
        );
    }
    response
}

/// API versions served: the unversioned path, v1 (404 on an empty list, as
/// ServiceNow's v1) and v2 (200 and an empty array).
#[derive(Clone, Copy, PartialEq, Eq)]
enum Version {
    V1,
    V2,
}

fn version(text: &str) -> Result<Version, ApiError> {
    match text {
        "v1" => Ok(Version::V1),
        "v2" => Ok(Version::V2),
        _ => Err(ApiError::bad_request(format!(
            "unknown API version '{text}' (use v1 or v2)"
        ))),
    }
}

fn table_named(name: &str) -> Result<&'static Table, ApiError> {
    tables::table(name).ok_or_else(|| {
        ApiError::bad_request(format!(
            "Invalid table {name} (served: {})",
            tables::TABLES
                .iter()
                .map(|t| t.name)
                .collect::<Vec<_>>()
                .join(", ")
        ))
    })
}

fn base_url(headers: &HeaderMap) -> String {
    let host = headers
        .get(header::HOST)
        .and_then(|h| h.to_str().ok())
        .unwrap_or("localhost");
    format!("http://{host}")
}

fn json_response(status: StatusCode, body: &Json) -> Response {
    let bytes = serde_json::to_vec(body).unwrap_or_default();
    (
        status,
        [(header::CONTENT_TYPE, "application/json;charset=UTF-8")],
        bytes,
    )
        .into_response()
}

fn set_etag(response: &mut Response, app: &AppState, record: &Record) {
    if app.options.extensions
        && let Ok(value) = HeaderValue::from_str(&format!("\"{}\"", mod_count(record)))
    {
        response.headers_mut().insert(header::ETAG, value);
    }
}

/// `/api/now/[v1|v2/]table/{table}[/{sys_id}]`.
#[derive(Deserialize)]
struct TablePath {
    version: Option<String>,
    table: String,
    sys_id: Option<String>,
}

impl TablePath {
    fn version(&self) -> Result<Version, ApiError> {
        self.version.as_deref().map_or(Ok(Version::V2), version)
    }
    fn sys_id(&self) -> Result<String, ApiError> {
        self.sys_id.clone().ok_or_else(ApiError::not_found)
    }
}

async fn list(
    State(app): State<Arc<AppState>>,
    Extension(agent): Extension<Agent>,
    Path(path): Path<TablePath>,
    RawQuery(raw): RawQuery,
    headers: HeaderMap,
    OriginalUri(uri): OriginalUri,
) -> Result<Response, ApiError> {
    let version = path.version()?;
    let table = table_named(&path.table)?;
    if app.options.deny_memberships && table.name == super::tables::MEMBER && !agent.supervisor {
        return Err(ApiError::forbidden(
            "ACL: read access to sys_user_grmember is not granted",
        ));
    }
    let params = ListParams::parse(raw.as_deref().unwrap_or(""), base_url(&headers))?;
    let (limit, offset) = (params.limit, params.offset);
    let p = params.clone();
    let (rows, total, more) = app
        .db
        .read(move |conn| {
            let scope = read_scope(table, &agent);
            let condition = query_sql::condition(table, &p.query, &agent.sys_id)?;
            let order = query_sql::order_by(table, &p.query)?;
            let where_sql = format!("({}) AND ({})", scope.text, condition.text);
            let mut binds = scope.params.clone();
            binds.extend(condition.params);
            let fields = p.render.output_fields(table);
            // One row past the page tells whether a next page exists without
            // counting, which matters under sysparm_no_count.
            let page_sql = format!("{where_sql}{order} LIMIT {} OFFSET {offset}", limit + 1);
            let mut records = records::load(conn, table, &fields, &page_sql, &binds)?;
            let more = records.len() > limit;
            records.truncate(limit);
            let total: Option<i64> = if p.no_count {
                None
            } else {
                let sql = format!("SELECT count(*) FROM \"{}\" WHERE {where_sql}", table.name);
                Some(conn.query_row(&sql, rusqlite::params_from_iter(binds.iter()), |r| r.get(0))?)
            };
            let rows = render(conn, table, &records, &p.render, &agent)?;
            Ok((rows, total, more))
        })
        .await?;
    if version == Version::V1 && rows.is_empty() {
        return Err(ApiError::not_found());
    }
    let mut response = json_response(StatusCode::OK, &json!({ "result": rows }));
    let out = response.headers_mut();
    if let Some(total) = total {
        out.insert(
            HeaderName::from_static("x-total-count"),
            HeaderValue::from(total),
        );
    }
    if !params.suppress_pagination_header
        && let Ok(value) = HeaderValue::from_str(&link_header(&params, uri.path(), total, more))
    {
        out.insert(header::LINK, value);
    }
    Ok(response)
}

async fn read_one(
    State(app): State<Arc<AppState>>,
    Extension(agent): Extension<Agent>,
    Path(path): Path<TablePath>,
    RawQuery(raw): RawQuery,
    headers: HeaderMap,
) -> Result<Response, ApiError> {
    path.version()?;
    let table = table_named(&path.table)?;
    let sys_id = path.sys_id()?;
    let params = ListParams::parse(raw.as_deref().unwrap_or(""), base_url(&headers))?;
    let (record, body) = app
        .db
        .read(move |conn| {
            let scope = read_scope(table, &agent);
            let record = load_one(conn, table, &sys_id, &scope)?.ok_or_else(ApiError::not_found)?;
            let body = render_one(conn, table, &record, &params.render, &agent)?;
            Ok((record, body))
        })
        .await?;
    let mut response = json_response(StatusCode::OK, &json!({ "result": body }));
    set_etag(&mut response, &app, &record);
    Ok(response)
}

async fn create(
    state: State<Arc<AppState>>,
    agent: Extension<Agent>,
    Path(path): Path<TablePath>,
    query: RawQuery,
    headers: HeaderMap,
    OriginalUri(uri): OriginalUri,
    body: Body,
) -> Result<Response, ApiError> {
    path.version()?;
    write(
        state,
        agent,
        Method::POST,
        path.table,
        None,
        query,
        headers,
        OriginalUri(uri),
        body,
    )
    .await
}

#[allow(clippy::too_many_arguments)]
async fn update(
    state: State<Arc<AppState>>,
    agent: Extension<Agent>,
    method: Method,
    Path(path): Path<TablePath>,
    query: RawQuery,
    headers: HeaderMap,
    OriginalUri(uri): OriginalUri,
    body: Body,
) -> Result<Response, ApiError> {
    path.version()?;
    let sys_id = path.sys_id()?;
    write(
        state,
        agent,
        method,
        path.table,
        Some(sys_id),
        query,
        headers,
        OriginalUri(uri),
        body,
    )
    .await
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
    axum::body::to_bytes(body, BODY_LIMIT).await.map_err(|_| {
        ApiError::new(
            StatusCode::PAYLOAD_TOO_LARGE,
            "Request body too large",
            format!("bodies are limited to {BODY_LIMIT} bytes"),
        )
    })
}

struct Written {
    status: StatusCode,
    body: Vec<u8>,
    etag: Option<String>,
    location: Option<String>,
    replayed: bool,
}

#[allow(clippy::too_many_arguments)]
async fn write(
    State(app): State<Arc<AppState>>,
    Extension(agent): Extension<Agent>,
    method: Method,
    table: String,
    sys_id: Option<String>,
    RawQuery(raw): RawQuery,
    headers: HeaderMap,
    OriginalUri(uri): OriginalUri,
    body: Body,
) -> Result<Response, ApiError> {
    let table = table_named(&table)?;
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
    let fingerprint = idempotency::fingerprint(method.as_str(), uri.path(), &bytes);
    let if_match = protective_header(&headers, "if-match")?.filter(|_| extensions);
    let base = base_url(&headers);
    let params = ListParams::parse(raw.as_deref().unwrap_or(""), base.clone())?;
    let creating = sys_id.is_none();

    let written = app
        .db
        .write(move |conn| {
            let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
            if let Some(key) = &key
                && let Some(stored) = idempotency::lookup(&tx, &agent.sys_id, key)?
            {
                if stored.fingerprint != fingerprint {
                    return Err(ApiError::new(
                        StatusCode::UNPROCESSABLE_ENTITY,
                        "Idempotency-Key reused",
                        format!("Idempotency-Key '{key}' was used for a different request"),
                    ));
                }
                return Ok(Written {
                    status: StatusCode::from_u16(stored.status).unwrap_or(StatusCode::OK),
                    body: stored.body,
                    etag: stored.etag,
                    location: stored.location,
                    replayed: true,
                });
            }
            let render_options = params.render.clone();
            let record = writes::apply(
                &tx,
                table,
                &agent,
                sys_id.as_deref(),
                &json,
                if_match.as_deref(),
                |conn, current| precondition_failed(conn, table, current, &render_options, &agent),
            )?;
            let rendered = render_one(&tx, table, &record, &params.render, &agent)?;
            let body = serde_json::to_vec(&json!({ "result": rendered })).unwrap_or_default();
            let id = records::text(table.field("sys_id").expect("sys_id"), record.get("sys_id"));
            let written = Written {
                status: if creating {
                    StatusCode::CREATED
                } else {
                    StatusCode::OK
                },
                body,
                etag: extensions.then(|| format!("\"{}\"", mod_count(&record))),
                location: creating.then(|| format!("{base}/api/now/table/{}/{id}", table.name)),
                replayed: false,
            };
            if let Some(key) = &key {
                let stored = Stored {
                    fingerprint,
                    status: written.status.as_u16(),
                    etag: written.etag.clone(),
                    location: written.location.clone(),
                    body: written.body.clone(),
                };
                idempotency::store(&tx, &agent.sys_id, key, &stored, super::epoch_now())?;
            }
            tx.commit()?;
            Ok(written)
        })
        .await?;

    let no_body =
        header_text(&headers, "x-no-response-body").is_some_and(|v| v.eq_ignore_ascii_case("true"));
    let mut response = if no_body {
        written.status.into_response()
    } else {
        (
            written.status,
            [(header::CONTENT_TYPE, "application/json;charset=UTF-8")],
            written.body,
        )
            .into_response()
    };
    let out = response.headers_mut();
    for (name, value) in [
        (header::ETAG, written.etag),
        (header::LOCATION, written.location),
    ] {
        if let Some(value) = value.and_then(|v| HeaderValue::from_str(&v).ok()) {
            out.insert(name, value);
        }
    }
    if written.replayed {
        out.insert("idempotent-replayed", HeaderValue::from_static("true"));
    }
    Ok(response)
}

/// 412 with the record as it is now, so the client can show theirs beside mine.
fn precondition_failed(
    conn: &rusqlite::Connection,
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

/// Deleting is for supervisors; a case takes its journal with it.
async fn delete(
    State(app): State<Arc<AppState>>,
    Extension(agent): Extension<Agent>,
    Path(path): Path<TablePath>,
) -> Result<Response, ApiError> {
    path.version()?;
    let table = table_named(&path.table)?;
    let sys_id = path.sys_id()?;
    app.db
        .write(move |conn| {
            let scope = read_scope(table, &agent);
            if load_one(conn, table, &sys_id, &scope)?.is_none() {
                return Err(ApiError::not_found());
            }
            if !agent.supervisor {
                return Err(ApiError::forbidden("only a supervisor may delete records"));
            }
            // The journal is an audit trail: not even a supervisor erases it.
            check_table_write(table, &agent)?;
            let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
            tx.execute(
                &format!("DELETE FROM \"{}\" WHERE sys_id = ?", table.name),
                [&sys_id],
            )?;
            if table.name == tables::CASE {
                tx.execute(
                    "DELETE FROM sys_journal_field WHERE element_id = ?",
                    [&sys_id],
                )?;
            }
            tx.commit()?;
            Ok(())
        })
        .await?;
    Ok(StatusCode::NO_CONTENT.into_response())
}

//! The HTTP surface: Table API routes, auth and rate-limit middleware. Each
//! handler reads its request and answers; the work is in `list`, `records`,
//! `write_flow` and `delete`.

use std::sync::Arc;

use axum::Router;
use axum::extract::{DefaultBodyLimit, Extension, OriginalUri, Path, RawQuery, Request, State};
use axum::http::{HeaderMap, HeaderName, HeaderValue, StatusCode, Uri, header};
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use serde::Deserialize;
use serde_json::{Value as Json, json};

use super::AppState;
use super::access::{Agent, check_table_read, read_scope};
use super::auth;
use super::bounds;
use super::delete;
use super::error::ApiError;
use super::list;
use super::pagination::{ListParams, link_header};
use super::records::{Record, load_one, render_one};
use super::tables::{self, Table};
use super::write_flow::{self, WriteRequest};
use super::writes::mod_count;

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
        // Démarches Simplifiées' GraphQL API, with its own tokens.
        .route("/api/v2/graphql", post(super::demarches::graphql))
        .fallback(|| async {
            ApiError::new(
                StatusCode::BAD_REQUEST,
                "Requested URI does not represent any resource",
                "see /api/now/table/{table}",
            )
        })
        .layer(middleware::from_fn(server_date))
        // Extractors (the token endpoint's form) stop at the same bound as
        // the write path; the middleware refuses an announced length first.
        .layer(DefaultBodyLimit::max(bounds::BODY_LIMIT))
        .layer(middleware::from_fn(bounds::limit_body))
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

/// The table a path names, among those served: an extension table is
/// unknown to a server without its extensions, as to a real instance.
fn table_named(app: &AppState, name: &str) -> Result<&'static Table, ApiError> {
    let extensions = app.options.extensions;
    tables::served(extensions)
        .find(|t| t.name == name)
        .ok_or_else(|| {
            ApiError::bad_request(format!(
                "Invalid table {name} (served: {})",
                tables::served(extensions)
                    .map(|t| t.name)
                    .collect::<Vec<_>>()
                    .join(", ")
            ))
        })
}

/// `scheme://host[:port]` as the client reached the server, for the links
/// and `Location` it writes.
fn base_url(app: &AppState, headers: &HeaderMap) -> String {
    let host = headers
        .get(header::HOST)
        .and_then(|h| h.to_str().ok())
        .unwrap_or("localhost");
    format!("{}://{host}", app.deployment.scheme())
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
    let table = table_named(&app, &path.table)?;
    check_table_read(table, &agent, app.options.deny_memberships)?;
    let params = ListParams::parse(raw.as_deref().unwrap_or(""), base_url(&app, &headers))?;
    let p = params.clone();
    let page = app
        .db
        .read(move |conn| list::page(conn, table, &agent, &p))
        .await?;
    if version == Version::V1 && page.rows.is_empty() {
        return Err(ApiError::not_found());
    }
    let mut response = json_response(StatusCode::OK, &json!({ "result": page.rows }));
    let out = response.headers_mut();
    if let Some(total) = page.total {
        out.insert(
            HeaderName::from_static("x-total-count"),
            HeaderValue::from(total),
        );
    }
    if !params.suppress_pagination_header
        && let Ok(value) =
            HeaderValue::from_str(&link_header(&params, uri.path(), page.total, page.more))
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
    let table = table_named(&app, &path.table)?;
    check_table_read(table, &agent, app.options.deny_memberships)?;
    let sys_id = path.sys_id()?;
    let params = ListParams::parse(raw.as_deref().unwrap_or(""), base_url(&app, &headers))?;
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
    State(app): State<Arc<AppState>>,
    Extension(agent): Extension<Agent>,
    Path(path): Path<TablePath>,
    OriginalUri(uri): OriginalUri,
    request: Request,
) -> Result<Response, ApiError> {
    path.version()?;
    let table = table_named(&app, &path.table)?;
    let base_url = base_url(&app, request.headers());
    write_flow::write(
        &app,
        write_request(table, agent, None, &uri, base_url, request),
    )
    .await
}

/// PATCH and PUT alike: both change only the fields the body names.
async fn update(
    State(app): State<Arc<AppState>>,
    Extension(agent): Extension<Agent>,
    Path(path): Path<TablePath>,
    OriginalUri(uri): OriginalUri,
    request: Request,
) -> Result<Response, ApiError> {
    path.version()?;
    let sys_id = path.sys_id()?;
    let table = table_named(&app, &path.table)?;
    let base_url = base_url(&app, request.headers());
    write_flow::write(
        &app,
        write_request(table, agent, Some(sys_id), &uri, base_url, request),
    )
    .await
}

/// The write a request asks for. `uri` is the path as the client sent it,
/// which the nested router's own view of the request has lost.
fn write_request(
    table: &'static Table,
    agent: Agent,
    target: Option<String>,
    uri: &Uri,
    base_url: String,
    request: Request,
) -> WriteRequest {
    let (parts, body) = request.into_parts();
    WriteRequest {
        table,
        agent,
        target,
        method: parts.method,
        path: uri.path().to_string(),
        query: parts.uri.query().map(str::to_string),
        base_url,
        headers: parts.headers,
        body,
    }
}

/// Deleting is for supervisors; a case takes its journal with it.
async fn delete(
    State(app): State<Arc<AppState>>,
    Extension(agent): Extension<Agent>,
    Path(path): Path<TablePath>,
) -> Result<Response, ApiError> {
    path.version()?;
    let table = table_named(&app, &path.table)?;
    let sys_id = path.sys_id()?;
    app.db
        .write(move |conn| delete::delete(conn, table, &agent, &sys_id))
        .await?;
    Ok(StatusCode::NO_CONTENT.into_response())
}

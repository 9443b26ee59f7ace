//! Authentication: HTTP Basic and OAuth bearer tokens (password and refresh
//! grants on `/oauth_token.do`). Passwords are argon2 hashes; a verified
//! password is remembered for a minute so that Basic auth, which sends the
//! password with every request, does not pay argon2 on every request.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use argon2::Argon2;
use argon2::password_hash::{PasswordHash, PasswordHasher, PasswordVerifier, SaltString};
use axum::Form;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use base64::Engine;
use rusqlite::{Connection, OptionalExtension};
use serde::Deserialize;
use serde_json::json;
use sha2::{Digest, Sha256};

use super::AppState;
use super::access::Agent;
use super::error::ApiError;

const VERIFIED_FOR: Duration = Duration::from_secs(60);
/// ServiceNow's default refresh-token lifetime: 100 days.
const REFRESH_TTL_SECS: i64 = 100 * 24 * 3600;

pub fn hash_password(password: &str) -> String {
    let salt = match SaltString::encode_b64(uuid::Uuid::new_v4().as_bytes()) {
        Ok(salt) => salt,
        Err(_) => return String::new(),
    };
    Argon2::default()
        .hash_password(password.as_bytes(), &salt)
        .map(|h| h.to_string())
        .unwrap_or_default()
}

fn verify_password(hash: &str, password: &str) -> bool {
    PasswordHash::new(hash)
        .map(|parsed| {
            Argon2::default()
                .verify_password(password.as_bytes(), &parsed)
                .is_ok()
        })
        .unwrap_or(false)
}

pub fn digest(text: &str) -> String {
    let mut hex = String::with_capacity(64);
    for byte in Sha256::digest(text.as_bytes()) {
        hex.push_str(&format!("{byte:02x}"));
    }
    hex
}

use super::epoch_now;

/// Passwords verified recently: the digest of user and password, mapped to
/// the stored hash they matched. Only the verdict is cached: roles and the
/// active flag are read again on every request, and a changed password (a
/// new hash) is verified afresh.
#[derive(Default)]
pub struct VerifiedCache(Mutex<HashMap<String, (String, Instant)>>);

impl VerifiedCache {
    fn matches(&self, key: &str, hash: &str) -> bool {
        let map = self.0.lock().unwrap_or_else(|p| p.into_inner());
        map.get(key)
            .is_some_and(|(h, at)| h == hash && at.elapsed() < VERIFIED_FOR)
    }
    fn put(&self, key: String, hash: String) {
        let mut map = self.0.lock().unwrap_or_else(|p| p.into_inner());
        map.retain(|_, (_, at)| at.elapsed() < VERIFIED_FOR);
        map.insert(key, (hash, Instant::now()));
    }
}

/// Failed logins per user name, to slow down guessing: past the allowance
/// in a window, logins for that name are refused outright for the rest of it.
#[derive(Default)]
pub struct Failures(Mutex<HashMap<String, (u32, Instant)>>);

const FAILURE_WINDOW: Duration = Duration::from_secs(60);
const FAILURES_ALLOWED: u32 = 10;

impl Failures {
    fn blocked(&self, user: &str) -> bool {
        let map = self.0.lock().unwrap_or_else(|p| p.into_inner());
        map.get(user)
            .is_some_and(|(n, since)| *n >= FAILURES_ALLOWED && since.elapsed() < FAILURE_WINDOW)
    }
    fn record(&self, user: &str) {
        let mut map = self.0.lock().unwrap_or_else(|p| p.into_inner());
        map.retain(|_, (_, since)| since.elapsed() < FAILURE_WINDOW);
        let entry = map.entry(user.to_string()).or_insert((0, Instant::now()));
        entry.0 += 1;
    }
}

/// Argon2 is slow and memory-hungry on purpose: at most two checks run at
/// once, on the blocking pool, never holding a database connection.
static VERIFYING: tokio::sync::Semaphore = tokio::sync::Semaphore::const_new(2);

/// A hash to verify against when the user does not exist, so that the time
/// taken does not tell which user names exist.
fn decoy_hash() -> &'static str {
    static DECOY: std::sync::OnceLock<String> = std::sync::OnceLock::new();
    DECOY.get_or_init(|| hash_password("decoy password"))
}

struct Account {
    agent: Agent,
    password_hash: Option<String>,
    usable: bool,
}

fn account(
    conn: &Connection,
    column: &str,
    value: &str,
    demo_mode: bool,
) -> rusqlite::Result<Option<Account>> {
    let sql = format!(
        "SELECT sys_id, user_name, password_hash, coalesce(roles, ''), coalesce(preferred_language, 'en'),
                coalesce(active, 1), demo
         FROM sys_user WHERE \"{column}\" = ?"
    );
    conn.query_row(&sql, [value], |r| {
        let roles: String = r.get(3)?;
        let active: bool = r.get(5)?;
        let demo: bool = r.get(6)?;
        Ok(Account {
            agent: Agent {
                sys_id: r.get(0)?,
                user_name: r.get(1)?,
                supervisor: roles.split(',').any(|role| role.trim() == "supervisor"),
                language: r.get(4)?,
            },
            password_hash: r.get(2)?,
            usable: active && (demo_mode || !demo),
        })
    })
    .optional()
}

/// Checks a user name and password; None when either is wrong.
async fn check_password(
    app: &Arc<AppState>,
    user: String,
    password: String,
) -> Result<Option<Agent>, ApiError> {
    if app.failures.blocked(&user) {
        return Err(ApiError::unauthenticated(
            "too many failed logins for this user: wait a minute",
        )
        .with_header(
            axum::http::header::RETRY_AFTER,
            FAILURE_WINDOW.as_secs().to_string(),
        ));
    }
    let key = digest(&format!("{user}\0{password}"));
    let demo_mode = app.options.demo.is_some();
    let name = user.clone();
    let found = app
        .db
        .read(move |conn| Ok(account(conn, "user_name", &name, demo_mode)?))
        .await?;
    let hash = found
        .as_ref()
        .filter(|a| a.usable)
        .and_then(|a| a.password_hash.clone())
        .unwrap_or_default();
    let verified = if !hash.is_empty() && app.verified.matches(&key, &hash) {
        true
    } else {
        let _permit = VERIFYING
            .acquire()
            .await
            .map_err(|_| ApiError::internal("password checks are shut down"))?;
        let against = if hash.is_empty() {
            decoy_hash().to_string()
        } else {
            hash.clone()
        };
        let ok = tokio::task::spawn_blocking(move || verify_password(&against, &password))
            .await
            .map_err(|e| ApiError::internal(format!("password check failed: {e}")))?;
        ok && !hash.is_empty()
    };
    if !verified {
        app.failures.record(&user);
        return Ok(None);
    }
    app.verified.put(key, hash);
    Ok(found.map(|a| a.agent))
}

/// The agent a request authenticates as, from `Authorization`.
pub async fn agent_of(app: &Arc<AppState>, headers: &HeaderMap) -> Result<Agent, ApiError> {
    let Some(value) = headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
    else {
        return Err(ApiError::unauthenticated(
            "Required to provide Auth information",
        ));
    };
    if let Some(encoded) = value.strip_prefix("Basic ") {
        let decoded = base64::engine::general_purpose::STANDARD
            .decode(encoded.trim())
            .ok()
            .and_then(|bytes| String::from_utf8(bytes).ok());
        let Some((user, password)) = decoded.as_deref().and_then(|s| s.split_once(':')) else {
            return Err(ApiError::unauthenticated("malformed Basic credentials"));
        };
        return check_password(app, user.to_string(), password.to_string())
            .await?
            .ok_or_else(|| ApiError::unauthenticated("wrong user name or password"));
    }
    if let Some(token) = value.strip_prefix("Bearer ") {
        let token_digest = digest(token.trim());
        let demo_mode = app.options.demo.is_some();
        return app
            .db
            .read(move |conn| {
                let user: Option<String> = conn
                    .query_row(
                        "SELECT user FROM oauth_token WHERE digest = ? AND kind = 'access' AND expires_at > ?",
                        rusqlite::params![token_digest, epoch_now()],
                        |r| r.get(0),
                    )
                    .optional()?;
                let Some(user) = user else {
                    return Err(ApiError::unauthenticated("the access token is unknown or expired"));
                };
                match account(conn, "sys_id", &user, demo_mode)? {
                    Some(a) if a.usable => Ok(a.agent),
                    _ => Err(ApiError::unauthenticated("the token's user is no longer active")),
                }
            })
            .await;
    }
    Err(ApiError::unauthenticated(
        "unsupported Authorization scheme (use Basic or Bearer)",
    ))
}

#[derive(Deserialize)]
pub struct TokenRequest {
    grant_type: Option<String>,
    username: Option<String>,
    password: Option<String>,
    refresh_token: Option<String>,
}

fn oauth_error(status: StatusCode, error: &str, description: &str) -> Response {
    (
        status,
        axum::Json(json!({"error": error, "error_description": description})),
    )
        .into_response()
}

/// `POST /oauth_token.do`. The reference back-end has no OAuth application
/// registry: `client_id` and `client_secret` are accepted and not checked.
pub async fn token(
    State(app): State<Arc<AppState>>,
    form: Result<Form<TokenRequest>, axum::extract::rejection::FormRejection>,
) -> Response {
    let request = match form {
        Ok(Form(request)) => request,
        // A form past the body limit is answered like any other body past it.
        Err(rejection) if rejection.status() == StatusCode::PAYLOAD_TOO_LARGE => {
            return super::bounds::body_too_large().into_response();
        }
        Err(rejection) => return rejection.into_response(),
    };
    match issue(&app, request).await {
        Ok(response) => response,
        Err(e) => e.into_response(),
    }
}

async fn issue(app: &Arc<AppState>, request: TokenRequest) -> Result<Response, ApiError> {
    if app.options.no_oauth {
        // What an instance answers when no OAuth application is registered
        // for the client id: the same 401 as for a wrong password.
        return Ok(oauth_error(
            StatusCode::UNAUTHORIZED,
            "server_error",
            "access_denied",
        ));
    }
    let ttl = app.options.token_ttl_secs;
    match request.grant_type.as_deref() {
        Some("password") => {
            let (Some(user), Some(password)) = (request.username, request.password) else {
                return Ok(oauth_error(
                    StatusCode::BAD_REQUEST,
                    "invalid_request",
                    "username and password are required",
                ));
            };
            let Some(agent) = check_password(app, user, password).await? else {
                return Ok(oauth_error(
                    StatusCode::UNAUTHORIZED,
                    "access_denied",
                    "wrong user name or password",
                ));
            };
            let access = new_token();
            let refresh = new_token();
            let (a, r) = (access.clone(), refresh.clone());
            app.db
                .write(move |conn| {
                    let now = epoch_now();
                    conn.execute("DELETE FROM oauth_token WHERE expires_at <= ?", [now])?;
                    let mut insert =
                        conn.prepare_cached("INSERT INTO oauth_token VALUES (?, ?, ?, ?)")?;
                    insert.execute(rusqlite::params![
                        digest(&a),
                        "access",
                        agent.sys_id,
                        now + ttl
                    ])?;
                    insert.execute(rusqlite::params![
                        digest(&r),
                        "refresh",
                        agent.sys_id,
                        now + REFRESH_TTL_SECS
                    ])?;
                    Ok(())
                })
                .await?;
            Ok(token_response(&access, &refresh, ttl))
        }
        Some("refresh_token") => {
            let Some(refresh) = request.refresh_token else {
                return Ok(oauth_error(
                    StatusCode::BAD_REQUEST,
                    "invalid_request",
                    "refresh_token is required",
                ));
            };
            let access = new_token();
            let (a, r) = (access.clone(), refresh.clone());
            let renewed = app
                .db
                .write(move |conn| {
                    let now = epoch_now();
                    let user: Option<String> = conn
                        .query_row(
                            "SELECT user FROM oauth_token WHERE digest = ? AND kind = 'refresh' AND expires_at > ?",
                            rusqlite::params![digest(&r), now],
                            |row| row.get(0),
                        )
                        .optional()?;
                    if let Some(user) = &user {
                        conn.execute(
                            "INSERT INTO oauth_token VALUES (?, 'access', ?, ?)",
                            rusqlite::params![digest(&a), user, now + ttl],
                        )?;
                    }
                    Ok(user.is_some())
                })
                .await?;
            if !renewed {
                return Ok(oauth_error(
                    StatusCode::UNAUTHORIZED,
                    "access_denied",
                    "the refresh token is unknown or expired",
                ));
            }
            Ok(token_response(&access, &refresh, ttl))
        }
        other => Ok(oauth_error(
            StatusCode::BAD_REQUEST,
            "unsupported_grant_type",
            &format!(
                "grant_type {} is not supported (use password or refresh_token)",
                other.unwrap_or("(missing)")
            ),
        )),
    }
}

fn new_token() -> String {
    format!(
        "{}{}",
        uuid::Uuid::new_v4().simple(),
        uuid::Uuid::new_v4().simple()
    )
}

fn token_response(access: &str, refresh: &str, ttl: i64) -> Response {
    axum::Json(json!({
        "access_token": access,
        "refresh_token": refresh,
        "scope": "useraccount",
        "token_type": "Bearer",
        "expires_in": ttl,
    }))
    .into_response()
}

//! Authentication: HTTP Basic and OAuth bearer tokens (password and refresh
//! grants on `/oauth_token.do`). Passwords are argon2 hashes; a verified
//! password is remembered for a minute so that Basic auth, which sends the
//! password with every request, does not pay argon2 on every request.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

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

fn epoch_now() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_secs() as i64)
}

/// Passwords verified recently, by digest of user and password.
#[derive(Default)]
pub struct VerifiedCache(Mutex<HashMap<String, (Agent, Instant)>>);

impl VerifiedCache {
    fn get(&self, key: &str) -> Option<Agent> {
        let map = self.0.lock().unwrap_or_else(|p| p.into_inner());
        map.get(key)
            .filter(|(_, at)| at.elapsed() < VERIFIED_FOR)
            .map(|(a, _)| a.clone())
    }
    fn put(&self, key: String, agent: Agent) {
        let mut map = self.0.lock().unwrap_or_else(|p| p.into_inner());
        map.retain(|_, (_, at)| at.elapsed() < VERIFIED_FOR);
        map.insert(key, (agent, Instant::now()));
    }
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
    let key = digest(&format!("{user}\0{password}"));
    if let Some(agent) = app.verified.get(&key) {
        return Ok(Some(agent));
    }
    let demo_mode = app.options.demo.is_some();
    let found = app
        .db
        .read(move |conn| {
            let Some(account) = account(conn, "user_name", &user, demo_mode)? else {
                return Ok(None);
            };
            let ok = account.usable
                && account
                    .password_hash
                    .as_deref()
                    .is_some_and(|hash| verify_password(hash, &password));
            Ok(ok.then_some(account.agent))
        })
        .await?;
    if let Some(agent) = &found {
        app.verified.put(key, agent.clone());
    }
    Ok(found)
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
    Form(request): Form<TokenRequest>,
) -> Response {
    match issue(&app, request).await {
        Ok(response) => response,
        Err(e) => e.into_response(),
    }
}

async fn issue(app: &Arc<AppState>, request: TokenRequest) -> Result<Response, ApiError> {
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

//! `Idempotency-Key` (an extension; IETF httpapi draft semantics): the first
//! successful response to a key is stored in the same transaction as its
//! write and replayed for the same request; the same key with another body
//! is 422; a key whose first request is still being processed is 409.

use std::collections::HashSet;
use std::sync::{Arc, Mutex};

use axum::http::StatusCode;
use rusqlite::{Connection, OptionalExtension};

use super::auth::digest;
use super::error::ApiError;

/// How long keys are kept. The draft asks for at least 24 hours.
pub const KEEP_SECS: i64 = 48 * 3600;

/// Keys whose first request is being processed, by (user, key).
#[derive(Default, Clone)]
pub struct InFlight(Arc<Mutex<HashSet<(String, String)>>>);

/// Holds a key as in flight until dropped.
pub struct Claim {
    set: InFlight,
    entry: (String, String),
}

impl InFlight {
    /// Claims `key` for `user`, or 409 if a request with it is in flight.
    pub fn claim(&self, user: &str, key: &str) -> Result<Claim, ApiError> {
        let entry = (user.to_string(), key.to_string());
        let mut set = self.0.lock().unwrap_or_else(|p| p.into_inner());
        if !set.insert(entry.clone()) {
            return Err(ApiError::new(
                StatusCode::CONFLICT,
                "Request in progress",
                format!(
                    "a request with Idempotency-Key '{key}' is still being processed; retry later"
                ),
            ));
        }
        Ok(Claim {
            set: self.clone(),
            entry,
        })
    }
}

impl Drop for Claim {
    fn drop(&mut self) {
        let mut set = self.set.0.lock().unwrap_or_else(|p| p.into_inner());
        set.remove(&self.entry);
    }
}

/// A stored first response.
pub struct Stored {
    pub fingerprint: String,
    pub status: u16,
    pub etag: Option<String>,
    pub location: Option<String>,
    pub body: Vec<u8>,
}

/// What identifies "the same request": method, path and body bytes.
pub fn fingerprint(method: &str, path: &str, body: &[u8]) -> String {
    digest(&format!(
        "{method} {path}\n{}",
        String::from_utf8_lossy(body)
    ))
}

pub fn lookup(conn: &Connection, user: &str, key: &str) -> rusqlite::Result<Option<Stored>> {
    conn.query_row(
        "SELECT fingerprint, status, etag, location, body FROM idempotency WHERE user = ? AND key = ?",
        [user, key],
        |r| {
            Ok(Stored {
                fingerprint: r.get(0)?,
                status: r.get(1)?,
                etag: r.get(2)?,
                location: r.get(3)?,
                body: r.get(4)?,
            })
        },
    )
    .optional()
}

pub fn store(
    conn: &Connection,
    user: &str,
    key: &str,
    stored: &Stored,
    now_epoch: i64,
) -> rusqlite::Result<()> {
    conn.execute(
        "INSERT INTO idempotency (user, key, fingerprint, status, etag, location, body, created_at)
         VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
        rusqlite::params![
            user,
            key,
            stored.fingerprint,
            stored.status,
            stored.etag,
            stored.location,
            stored.body,
            now_epoch
        ],
    )?;
    Ok(())
}

/// Forgets keys older than [`KEEP_SECS`].
pub fn purge(conn: &Connection, now_epoch: i64) -> rusqlite::Result<usize> {
    conn.execute(
        "DELETE FROM idempotency WHERE created_at < ?",
        [now_epoch - KEEP_SECS],
    )
}

//! API tokens: stored as SHA-256 digests, each covering every démarche of
//! the file or a list of them, read-only or read-write, with an optional
//! expiry.

use rusqlite::{Connection, OptionalExtension, params};
use time::OffsetDateTime;

use super::super::auth::digest;

/// What a token lets its bearer do.
#[derive(Debug, Clone)]
pub struct Scope {
    /// None: every démarche.
    pub demarches: Option<Vec<i64>>,
    pub read_only: bool,
}

impl Scope {
    pub fn covers(&self, demarche: i64) -> bool {
        self.demarches
            .as_ref()
            .is_none_or(|list| list.contains(&demarche))
    }
}

/// Why a token was not accepted.
#[derive(Debug, PartialEq, Eq)]
pub enum Refusal {
    Unknown,
    Expired,
}

/// Creates (or replaces) the token `token` in a database before (or while)
/// a server uses it; for tests and for administrators.
///
/// - `demarches`: None for every démarche of the file, or the numbers of
///   the démarches it covers (others are "hidden due to permissions");
/// - `read_only`: mutations are refused ("Le jeton utilisé est configuré
///   seulement en lecture");
/// - `expires_at`: past it, requests are answered 401 "Token expired".
///
/// ```no_run
/// let conn = guichet::server::open_database(std::path::Path::new("server.db")).unwrap();
/// guichet::server::demarches::add_token(&conn, "s3cret", Some(&[101]), true, None).unwrap();
/// ```
///
/// `guichet serve --ds-token 's3cret:read-only:demarches=101'` does the
/// same at start-up (see `--help` of that hidden flag in src/cli/serve.rs).
pub fn add_token(
    conn: &Connection,
    token: &str,
    demarches: Option<&[i64]>,
    read_only: bool,
    expires_at: Option<OffsetDateTime>,
) -> rusqlite::Result<()> {
    let tx = conn.unchecked_transaction()?;
    insert(&tx, token, demarches, read_only, expires_at, false)?;
    tx.commit()
}

/// [`add_token`] within the caller's transaction.
pub(super) fn insert(
    conn: &Connection,
    token: &str,
    demarches: Option<&[i64]>,
    read_only: bool,
    expires_at: Option<OffsetDateTime>,
    demo: bool,
) -> rusqlite::Result<()> {
    let tx = conn;
    let key = digest(token);
    tx.execute("DELETE FROM ds_token_demarche WHERE digest = ?", [&key])?;
    tx.execute(
        "INSERT OR REPLACE INTO ds_token (digest, all_demarches, read_only, expires_at, demo)
         VALUES (?, ?, ?, ?, ?)",
        params![
            key,
            demarches.is_none(),
            read_only,
            expires_at.map(OffsetDateTime::unix_timestamp),
            demo
        ],
    )?;
    for number in demarches.unwrap_or_default() {
        tx.execute(
            "INSERT OR IGNORE INTO ds_token_demarche (digest, demarche) VALUES (?, ?)",
            params![key, number],
        )?;
    }
    Ok(())
}

/// The scope of `token`, when it is known and alive. Demo tokens count
/// only when the server runs its demo.
pub fn lookup(
    conn: &Connection,
    token: &str,
    demo: bool,
    now_epoch: i64,
) -> rusqlite::Result<Result<Scope, Refusal>> {
    let key = digest(token);
    let row: Option<(bool, bool, Option<i64>, bool)> = conn
        .query_row(
            "SELECT all_demarches, read_only, expires_at, demo FROM ds_token WHERE digest = ?",
            [&key],
            |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?)),
        )
        .optional()?;
    let Some((all, read_only, expires_at, is_demo)) = row else {
        return Ok(Err(Refusal::Unknown));
    };
    if is_demo && !demo {
        return Ok(Err(Refusal::Unknown));
    }
    if expires_at.is_some_and(|at| at <= now_epoch) {
        return Ok(Err(Refusal::Expired));
    }
    let demarches = if all {
        None
    } else {
        let mut stmt = conn.prepare_cached(
            "SELECT demarche FROM ds_token_demarche WHERE digest = ? ORDER BY demarche",
        )?;
        Some(
            stmt.query_map([&key], |r| r.get(0))?
                .collect::<Result<Vec<i64>, _>>()?,
        )
    };
    Ok(Ok(Scope {
        demarches,
        read_only,
    }))
}

/// A `--ds-token` argument: `TOKEN[:read-only][:demarches=N,N...][:expires=EPOCH]`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TokenSpec {
    pub token: String,
    pub demarches: Option<Vec<i64>>,
    pub read_only: bool,
    pub expires_at: Option<i64>,
}

impl std::str::FromStr for TokenSpec {
    type Err = String;
    fn from_str(text: &str) -> Result<Self, String> {
        let mut parts = text.split(':');
        let token = parts.next().unwrap_or_default().to_string();
        if token.is_empty() {
            return Err("the token is empty".to_string());
        }
        let mut spec = TokenSpec {
            token,
            demarches: None,
            read_only: false,
            expires_at: None,
        };
        for part in parts {
            if part == "read-only" {
                spec.read_only = true;
            } else if let Some(list) = part.strip_prefix("demarches=") {
                let numbers = list
                    .split(',')
                    .map(|n| n.trim().parse::<i64>())
                    .collect::<Result<Vec<_>, _>>()
                    .map_err(|e| format!("demarches={list}: {e}"))?;
                spec.demarches = Some(numbers);
            } else if let Some(epoch) = part.strip_prefix("expires=") {
                spec.expires_at = Some(
                    epoch
                        .trim()
                        .parse()
                        .map_err(|e| format!("expires={epoch}: {e}"))?,
                );
            } else {
                return Err(format!(
                    "unknown part '{part}' (expected read-only, demarches=N,N or expires=EPOCH_SECONDS)"
                ));
            }
        }
        Ok(spec)
    }
}

impl TokenSpec {
    pub fn store(&self, conn: &Connection) -> rusqlite::Result<()> {
        add_token(
            conn,
            &self.token,
            self.demarches.as_deref(),
            self.read_only,
            self.expires_at
                .and_then(|at| OffsetDateTime::from_unix_timestamp(at).ok()),
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn conn() -> Connection {
        let conn = Connection::open_in_memory().unwrap();
        crate::server::schema::migrate(&conn).unwrap();
        conn
    }

    #[test]
    fn tokens_are_found_by_digest_with_their_scope() {
        let conn = conn();
        add_token(&conn, "all", None, false, None).unwrap();
        add_token(&conn, "some", Some(&[2, 3]), true, None).unwrap();
        let all = lookup(&conn, "all", false, 0).unwrap().unwrap();
        assert!(all.covers(99) && !all.read_only);
        let some = lookup(&conn, "some", false, 0).unwrap().unwrap();
        assert_eq!(some.demarches, Some(vec![2, 3]));
        assert!(some.read_only && !some.covers(1));
        assert_eq!(
            lookup(&conn, "nope", false, 0).unwrap().unwrap_err(),
            Refusal::Unknown
        );
        let stored: String = conn
            .query_row("SELECT digest FROM ds_token LIMIT 1", [], |r| r.get(0))
            .unwrap();
        assert_ne!(stored, "all");
    }

    #[test]
    fn expired_and_demo_tokens() {
        let conn = conn();
        let past = OffsetDateTime::from_unix_timestamp(1000).unwrap();
        add_token(&conn, "old", None, false, Some(past)).unwrap();
        assert!(lookup(&conn, "old", false, 999).unwrap().is_ok());
        assert_eq!(
            lookup(&conn, "old", false, 1000).unwrap().unwrap_err(),
            Refusal::Expired
        );
        insert(&conn, "demo", None, false, None, true).unwrap();
        assert!(lookup(&conn, "demo", true, 0).unwrap().is_ok());
        assert_eq!(
            lookup(&conn, "demo", false, 0).unwrap().unwrap_err(),
            Refusal::Unknown
        );
    }

    #[test]
    fn token_specs_parse() {
        let spec: TokenSpec = "abc:read-only:demarches=1,2:expires=5".parse().unwrap();
        assert_eq!(
            spec,
            TokenSpec {
                token: "abc".into(),
                demarches: Some(vec![1, 2]),
                read_only: true,
                expires_at: Some(5)
            }
        );
        assert!("abc:what".parse::<TokenSpec>().is_err());
        assert!("".parse::<TokenSpec>().is_err());
    }
}

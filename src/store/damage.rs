//! A damaged or truncated store: found at open, its queued actions saved
//! to a readable file before anything else touches it, then refused.
//!
//! At each open, once the key is accepted (the first page read), cheap
//! checks only (a few milliseconds on a store of 100,000 cases): the file
//! holds every page the database counts (a file cut short is the common
//! damage: a full disk, a copy interrupted; SQLite itself refuses one at
//! the first read), the schema and the unfinished actions of the outbox
//! read (its index and the pages of those rows: SQLCipher checks each
//! page's HMAC as it decrypts it). `PRAGMA quick_check`, which reads every
//! page (seconds on such a store), runs only after a process met a
//! "corrupt" error on some statement and left a mark beside the store: the
//! next open checks the whole file.
//!
//! On damage every outbox row that can still be read is saved, one JSON
//! object a line, to `NAME.outbox-rescue-<time>.jsonl` beside the store
//! (private, written then synced): rows are read by a scan from each end,
//! through the outbox's indexes, and by ranges of seq then one by one where
//! a range fails. `guichet queue import FILE` queues them again in a new
//! store, each under its own id: the back-end's idempotency key, so that an
//! action that had landed is not applied twice.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};

use rusqlite::{Connection, ErrorCode, OptionalExtension, params};
use serde::{Deserialize, Serialize};

use super::outbox::{audit, states_sql};
use super::{OutboxState, Store, StoreError, StoreKey, StoreResult};
use crate::domain::Action;

/// "corrupt" errors met by this process: a store dropped after one leaves
/// a mark, and the next open checks the whole file.
static CORRUPT_ERRORS: AtomicU64 = AtomicU64::new(0);

/// Whether an SQLite error says the file is damaged.
pub(super) fn is_damage(error: &rusqlite::Error) -> bool {
    matches!(
        error,
        rusqlite::Error::SqliteFailure(e, _)
            if matches!(e.code, ErrorCode::DatabaseCorrupt | ErrorCode::NotADatabase)
    )
}

/// Counts an error on its way out of the store.
pub(super) fn note(error: &rusqlite::Error) {
    if is_damage(error) {
        CORRUPT_ERRORS.fetch_add(1, Ordering::Relaxed);
    }
}

pub(super) fn corrupt_errors() -> u64 {
    CORRUPT_ERRORS.load(Ordering::Relaxed)
}

/// The mark a process leaves beside a store after a "corrupt" error.
pub(super) fn suspect_mark(path: &Path) -> PathBuf {
    let mut name = path.as_os_str().to_owned();
    name.push(".suspect");
    PathBuf::from(name)
}

/// Held by an open store: when it is dropped after this process met a
/// "corrupt" error, it leaves the mark that makes the next open check
/// every page. (Any store of the process leaves it: a check too many
/// costs a few seconds, a damage missed costs queued work.)
pub(super) struct Watch {
    path: PathBuf,
    errors_at_open: u64,
}

impl Watch {
    pub(super) fn new(path: &Path) -> Watch {
        Watch {
            path: path.to_path_buf(),
            errors_at_open: corrupt_errors(),
        }
    }
}

impl Drop for Watch {
    fn drop(&mut self) {
        if corrupt_errors() > self.errors_at_open {
            let _ = crate::private_files::open_or_create(&suspect_mark(&self.path));
        }
    }
}

/// The outbox's columns, as saved and imported.
const COLUMNS: &str = "seq, id, case_id, case_number, action, base_version, seen, created_at, state, \
     attempts, next_attempt_at, last_error, theirs, settled_by, keyless_sends, doubtful, first_sent_at, \
     first_sent_backend_at, updated_at";

/// An outbox row as a rescue file holds it: every column, the JSON ones
/// as JSON (or as the text found, should it not be JSON).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RescuedAction {
    pub seq: i64,
    pub id: String,
    pub case_id: String,
    pub case_number: String,
    pub action: serde_json::Value,
    pub base_version: Option<String>,
    pub seen: serde_json::Value,
    pub created_at: String,
    pub state: String,
    pub attempts: i64,
    pub next_attempt_at: i64,
    pub last_error: Option<String>,
    pub theirs: Option<serde_json::Value>,
    pub settled_by: Option<String>,
    pub keyless_sends: i64,
    pub doubtful: bool,
    pub first_sent_at: Option<String>,
    pub first_sent_backend_at: Option<String>,
    pub updated_at: String,
}

fn json_or_text(text: String) -> serde_json::Value {
    serde_json::from_str(&text).unwrap_or(serde_json::Value::String(text))
}

fn row_of(r: &rusqlite::Row<'_>) -> rusqlite::Result<RescuedAction> {
    Ok(RescuedAction {
        seq: r.get(0)?,
        id: r.get(1)?,
        case_id: r.get(2)?,
        case_number: r.get(3)?,
        action: json_or_text(r.get(4)?),
        base_version: r.get(5)?,
        seen: json_or_text(r.get(6)?),
        created_at: r.get(7)?,
        state: r.get(8)?,
        attempts: r.get(9)?,
        next_attempt_at: r.get(10)?,
        last_error: r.get(11)?,
        theirs: r.get::<_, Option<String>>(12)?.map(json_or_text),
        settled_by: r.get(13)?,
        keyless_sends: r.get(14)?,
        doubtful: r.get(15)?,
        first_sent_at: r.get(16)?,
        first_sent_backend_at: r.get(17)?,
        updated_at: r.get(18)?,
    })
}

const UNFINISHED: [OutboxState; 5] = [
    OutboxState::Pending,
    OutboxState::Sending,
    OutboxState::InDoubt,
    OutboxState::Failed,
    OutboxState::Conflict,
];

fn unfinished(state: &str) -> bool {
    UNFINISHED.iter().any(|s| s.as_str() == state)
}

fn has_outbox(conn: &Connection) -> rusqlite::Result<bool> {
    conn.query_row(
        "SELECT count(*) > 0 FROM sqlite_master WHERE type = 'table' AND name = 'outbox'",
        [],
        |r| r.get(0),
    )
}

/// A pragma's number (SQLCipher answers `page_size` as text).
fn number(conn: &Connection, pragma: &str) -> rusqlite::Result<u64> {
    use rusqlite::types::Value;
    let value: Value = conn.query_row(pragma, [], |r| r.get(0))?;
    Ok(match value {
        Value::Integer(n) => n.max(0) as u64,
        Value::Text(t) => t.trim().parse().unwrap_or(0),
        _ => 0,
    })
}

/// The cheap checks of every open: why the store looks damaged, or None.
/// `thorough` adds `PRAGMA quick_check` (every page read).
pub(super) fn check(conn: &Connection, path: &Path, thorough: bool) -> StoreResult<Option<String>> {
    match checks(conn, path, thorough) {
        Ok(found) => Ok(found),
        Err(e) if is_damage(&e) => Ok(Some(format!("reading it failed: {e}"))),
        Err(e) => Err(StoreError::Open {
            path: path.to_path_buf(),
            source: e,
        }),
    }
}

fn checks(conn: &Connection, path: &Path, thorough: bool) -> rusqlite::Result<Option<String>> {
    let page_size = number(conn, "PRAGMA page_size")?;
    let pages = number(conn, "PRAGMA page_count")?;
    let file_len = std::fs::metadata(path).map(|m| m.len()).unwrap_or(0);
    // SQLite refuses a file shorter than its header says (the first read
    // fails); this says it in words. With frames in the write-ahead log the
    // database may rightly be longer than the file (the log holds the
    // pages), as while a console has it open: a page missing from both is
    // found when read (the outbox's below; any other at its first read).
    let mut wal = path.as_os_str().to_owned();
    wal.push("-wal");
    let wal_len = std::fs::metadata(PathBuf::from(wal)).map_or(0, |m| m.len());
    if file_len < pages.saturating_mul(page_size) && wal_len == 0 {
        return Ok(Some(format!(
            "the file is cut short: {file_len} bytes where its {pages} pages need {}",
            pages * page_size
        )));
    }
    let _: i64 = conn.query_row("PRAGMA user_version", [], |r| r.get(0))?;
    if has_outbox(conn)? {
        // The rows a rescue must save, through the index that finds them.
        let mut stmt = conn.prepare(&format!(
            "SELECT {COLUMNS} FROM outbox WHERE state IN {}",
            states_sql(&UNFINISHED)
        ))?;
        let mut rows = stmt.query([])?;
        while let Some(row) = rows.next()? {
            if let Err(e) = row_of(row) {
                return Ok(Some(format!("a queued action cannot be read: {e}")));
            }
        }
        let _: Option<i64> = conn.query_row("SELECT max(seq) FROM outbox", [], |r| r.get(0))?;
    }
    if thorough {
        let mut stmt = conn.prepare("PRAGMA quick_check(20)")?;
        let problems: Vec<String> = stmt
            .query_map([], |r| r.get::<_, String>(0))?
            .collect::<rusqlite::Result<_>>()?;
        if problems != ["ok"] {
            return Ok(Some(problems.join("; ")));
        }
    }
    Ok(None)
}

/// What a rescue saved.
#[derive(Debug)]
pub(super) struct Rescue {
    pub file: PathBuf,
    /// Unfinished actions saved.
    pub actions: usize,
    /// Outbox rows that could not be read at all (of any state).
    pub unreadable: usize,
}

/// Connections to a damaged store, made again after each failed read
/// (SQLCipher leaves a connection that met a damaged page failing).
struct Reader<'a> {
    path: &'a Path,
    key: Option<&'a StoreKey>,
    conn: Option<Connection>,
}

impl Reader<'_> {
    fn connect(&self) -> rusqlite::Result<Connection> {
        let conn = Connection::open(self.path)?;
        super::sealing::apply(&conn, self.key)?;
        // A file cut short is read as far as it goes, instead of refused
        // whole (nothing is written through this connection).
        conn.execute_batch("PRAGMA writable_schema = ON; PRAGMA query_only = ON;")?;
        Ok(conn)
    }

    /// Runs `read`; false when it failed (what it gathered before stays).
    fn read(&mut self, read: impl FnOnce(&Connection) -> rusqlite::Result<()>) -> bool {
        if self.conn.is_none() {
            self.conn = self.connect().ok();
        }
        let Some(conn) = &self.conn else {
            return false;
        };
        let done = read(conn).is_ok();
        if !done {
            self.conn = None;
        }
        done
    }
}

/// Reads every outbox row it can, whatever pages are damaged; returns the
/// rows by seq and how many seqs failed to read.
fn scan<'a>(
    sql: String,
    found: &'a mut BTreeMap<i64, RescuedAction>,
) -> impl FnOnce(&Connection) -> rusqlite::Result<()> + 'a {
    move |conn: &Connection| {
        let mut stmt = conn.prepare(&sql)?;
        let mut rows = stmt.query([])?;
        while let Some(row) = rows.next()? {
            if let Ok(action) = row_of(row) {
                found.insert(action.seq, action);
            }
        }
        Ok(())
    }
}

fn salvage(path: &Path, key: Option<&StoreKey>) -> (BTreeMap<i64, RescuedAction>, usize) {
    let mut reader = Reader {
        path,
        key,
        conn: None,
    };
    let mut found: BTreeMap<i64, RescuedAction> = BTreeMap::new();
    let mut outbox = false;
    reader.read(|conn| {
        outbox = has_outbox(conn)?;
        Ok(())
    });
    if !outbox {
        return (found, 0);
    }
    // From each end of the table, as far as the damage lets each go.
    for order in ["", "DESC"] {
        let sql = format!("SELECT {COLUMNS} FROM outbox NOT INDEXED ORDER BY seq {order}");
        reader.read(scan(sql, &mut found));
    }
    // The seqs the indexes know, and the highest one given.
    let mut known: Vec<i64> = Vec::new();
    for sql in [
        "SELECT seq FROM outbox INDEXED BY outbox_state ORDER BY state, next_attempt_at",
        "SELECT seq FROM outbox INDEXED BY outbox_case ORDER BY case_id, state, seq",
        "SELECT seq FROM sqlite_sequence WHERE name = 'outbox'",
    ] {
        reader.read(|conn| {
            let mut stmt = conn.prepare(sql)?;
            let mut rows = stmt.query([])?;
            while let Some(row) = rows.next()? {
                if let Ok(seq) = row.get::<_, i64>(0) {
                    known.push(seq);
                }
            }
            Ok(())
        });
    }
    let top = known
        .iter()
        .chain(found.keys())
        .copied()
        .max()
        .unwrap_or(0)
        // A damaged sqlite_sequence must not make this loop for ever.
        .min(found.keys().last().copied().unwrap_or(0) + 10_000_000);
    let mut unreadable = 0;
    // By ranges of seq, then one by one where a range fails.
    const RANGE: i64 = 256;
    let mut start = 1;
    while start <= top {
        let end = (start + RANGE - 1).min(top);
        if found.range(start..=end).count() as i64 != end - start + 1 {
            let sql = format!("SELECT {COLUMNS} FROM outbox WHERE seq BETWEEN {start} AND {end}");
            if !reader.read(scan(sql, &mut found)) {
                for seq in start..=end {
                    if found.contains_key(&seq) {
                        continue;
                    }
                    let mut row = None;
                    let read = reader.read(|conn| {
                        row = conn
                            .query_row(
                                &format!("SELECT {COLUMNS} FROM outbox WHERE seq = ?"),
                                [seq],
                                row_of,
                            )
                            .optional()?;
                        Ok(())
                    });
                    match (read, row) {
                        (true, Some(action)) => {
                            found.insert(seq, action);
                        }
                        (true, None) => {}
                        (false, _) => unreadable += 1,
                    }
                }
            }
        }
        start = end + 1;
    }
    (found, unreadable)
}

/// The rescue files of a store, the newest last.
fn rescue_files(path: &Path) -> Vec<PathBuf> {
    let (Some(dir), Some(prefix)) = (path.parent(), rescue_prefix(path)) else {
        return Vec::new();
    };
    let mut files: Vec<PathBuf> = std::fs::read_dir(dir)
        .map(|entries| {
            entries
                .flatten()
                .map(|e| e.path())
                .filter(|p| {
                    p.file_name()
                        .and_then(|n| n.to_str())
                        .is_some_and(|n| n.starts_with(&prefix) && n.ends_with(".jsonl"))
                })
                .collect()
        })
        .unwrap_or_default();
    files.sort_by_key(|p| {
        let modified = std::fs::metadata(p).and_then(|m| m.modified()).ok();
        (modified, p.clone())
    });
    files
}

fn rescue_prefix(path: &Path) -> Option<String> {
    let stem = path.file_stem()?.to_str()?;
    Some(format!("{stem}.outbox-rescue-"))
}

/// Saves the unfinished actions that can be read to a new rescue file (or
/// names the last one, when it holds the same lines already).
pub(super) fn rescue(path: &Path, key: Option<&StoreKey>) -> StoreResult<Rescue> {
    let (rows, unreadable) = salvage(path, key);
    let saved: Vec<&RescuedAction> = rows.values().filter(|r| unfinished(&r.state)).collect();
    let mut text = String::new();
    for row in &saved {
        text.push_str(&super::to_json(row)?);
        text.push('\n');
    }
    let io = |file: &Path| {
        let file = file.to_path_buf();
        move |e: std::io::Error| {
            StoreError::Invalid(format!(
                "the store {} is damaged, and its queued actions could not be saved to {}: {e}",
                path.display(),
                file.display()
            ))
        }
    };
    if let Some(last) = rescue_files(path).last()
        && std::fs::read(last).is_ok_and(|bytes| bytes == text.as_bytes())
    {
        return Ok(Rescue {
            file: last.clone(),
            actions: saved.len(),
            unreadable,
        });
    }
    let prefix = rescue_prefix(path).unwrap_or_else(|| "store.outbox-rescue-".into());
    let stamp = time::OffsetDateTime::now_utc()
        .format(time::macros::format_description!(
            "[year][month][day]-[hour][minute][second]"
        ))
        .unwrap_or_default();
    let dir = path.parent().unwrap_or(Path::new("."));
    let mut n = 1;
    let file = loop {
        let name = match n {
            1 => format!("{prefix}{stamp}.jsonl"),
            n => format!("{prefix}{stamp}-{n}.jsonl"),
        };
        let file = dir.join(name);
        match crate::private_files::write_new(&file, text.as_bytes()) {
            Ok(()) => break file,
            Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists && n < 100 => n += 1,
            Err(e) => return Err(io(&file)(e)),
        }
    };
    Ok(Rescue {
        file,
        actions: saved.len(),
        unreadable,
    })
}

/// Reads a rescue file: one action a line (blank lines skipped).
pub fn read_rescue_file(file: &Path) -> StoreResult<Vec<RescuedAction>> {
    let text = std::fs::read_to_string(file)
        .map_err(|e| StoreError::Invalid(format!("cannot read {}: {e}", file.display())))?;
    text.lines()
        .enumerate()
        .filter(|(_, line)| !line.trim().is_empty())
        .map(|(i, line)| {
            serde_json::from_str(line).map_err(|e| {
                StoreError::Invalid(format!(
                    "{} line {}: not an action of a rescue file ({e})",
                    file.display(),
                    i + 1
                ))
            })
        })
        .collect()
}

/// What an import did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Imported {
    /// Queued again.
    pub added: usize,
    /// Already in this store under the same id (imported before): skipped.
    pub present: usize,
}

impl Store {
    /// Queues rescued actions again, in their order, each under its own id
    /// with how far it got: an action sent without an answer stays in
    /// doubt (settled by the back-end's idempotency key or a read-back,
    /// never blindly sent twice). An id already here is skipped, so a file
    /// imported twice queues nothing twice. All or nothing.
    pub fn import_actions(&mut self, actions: &[RescuedAction]) -> StoreResult<Imported> {
        let mut ordered: Vec<&RescuedAction> = actions.iter().collect();
        ordered.sort_by_key(|a| a.seq);
        let now = self.clock.now();
        let tx = self.write()?;
        let mut imported = Imported {
            added: 0,
            present: 0,
        };
        for a in ordered {
            let action: Action = serde_json::from_value(a.action.clone()).map_err(|e| {
                StoreError::Invalid(format!(
                    "action {}: not an action Guichet knows ({e})",
                    a.id
                ))
            })?;
            let state = match OutboxState::ALL.iter().find(|s| s.as_str() == a.state) {
                Some(OutboxState::Sending) => OutboxState::InDoubt,
                Some(s) if unfinished(s.as_str()) => *s,
                _ => continue,
            };
            // The id is the back-end's idempotency key: ours are UUIDs.
            if uuid::Uuid::parse_str(&a.id).is_err() || a.case_id.is_empty() {
                return Err(StoreError::Invalid(format!(
                    "action '{}' of case '{}': not an action id Guichet gave",
                    a.id, a.case_number
                )));
            }
            let doubtful = a.doubtful || state == OutboxState::InDoubt;
            let exists: bool = tx.query_row(
                "SELECT count(*) > 0 FROM outbox WHERE id = ?",
                [&a.id],
                |r| r.get(0),
            )?;
            if exists {
                imported.present += 1;
                continue;
            }
            let json = |v: &serde_json::Value| match v {
                serde_json::Value::String(s) => s.clone(),
                other => other.to_string(),
            };
            tx.execute(
                "INSERT INTO outbox (id, case_id, case_number, action, base_version, seen, created_at, state,
                   attempts, next_attempt_at, last_error, theirs, settled_by, keyless_sends, doubtful,
                   first_sent_at, first_sent_backend_at, updated_at)
                 VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, 0, ?, ?, ?, ?, ?, ?, ?, ?)",
                params![
                    a.id,
                    a.case_id,
                    a.case_number,
                    super::to_json(&action)?,
                    a.base_version,
                    json(&a.seen),
                    a.created_at,
                    state.as_str(),
                    a.attempts,
                    a.last_error,
                    a.theirs.as_ref().map(json),
                    a.settled_by,
                    a.keyless_sends,
                    doubtful,
                    a.first_sent_at,
                    a.first_sent_backend_at,
                    now,
                ],
            )?;
            // Read back as the outbox reads it: a row it could not read
            // would make the whole queue unreadable. All or nothing.
            super::outbox::entry(&tx, &a.id).map_err(|e| {
                StoreError::Invalid(format!("action {}: cannot be queued again ({e})", a.id))
            })?;
            audit(
                &tx,
                now,
                &a.id,
                &a.case_number,
                "imported",
                "from a rescue file",
            )?;
            super::cases::refresh_shown(&tx, &a.case_id)?;
            imported.added += 1;
        }
        tx.commit()?;
        Ok(imported)
    }
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeSet;

    use super::*;
    use crate::domain::{Action, Case};
    use crate::store::StoreKey;

    fn case(id: usize) -> Case {
        Case {
            id: format!("c{id}"),
            number: format!("CS{id:07}"),
            version: "1".into(),
            summary: format!("Demande de titre de séjour n°{id}"),
            description: "Pièces reçues au guichet, dossier complet à vérifier. ".repeat(5),
            ..Case::default()
        }
    }

    fn save(store: &mut Store, ids: std::ops::Range<usize>) {
        let cases: Vec<Case> = ids.map(case).collect();
        for chunk in cases.chunks(500) {
            store.save_cases(chunk).expect("save cases");
        }
    }

    /// A sealed store: `before` cases, `actions` comments queued on them,
    /// then `after` more cases (whose pages come after the outbox's).
    /// Returns the queued ids in order.
    fn store_with_queue(
        path: &Path,
        key: &StoreKey,
        before: usize,
        actions: usize,
        after: usize,
    ) -> Vec<String> {
        let mut store = Store::open(path, Some(key)).expect("open");
        save(&mut store, 0..before);
        let mut ids = Vec::new();
        for n in 0..actions {
            let number = case(n % before).number;
            let text = format!("Réponse {n}: {}", "pièce reçue, ".repeat(20));
            ids.push(
                store
                    .enqueue(&number, Action::Comment { text })
                    .expect("queue")
                    .id,
            );
        }
        save(&mut store, before..before + after);
        ids
    }

    /// The pages of the outbox (its table and indexes), and the page size.
    fn outbox_pages(path: &Path, key: &StoreKey) -> (BTreeSet<u64>, u64) {
        let conn = Connection::open(path).unwrap();
        super::super::sealing::apply(&conn, Some(key)).unwrap();
        let mut stmt = conn
            .prepare(
                "SELECT pageno FROM dbstat WHERE name IN
                 ('outbox', 'outbox_case', 'outbox_state', 'sqlite_autoindex_outbox_1', 'sqlite_sequence', 'sqlite_schema')",
            )
            .unwrap();
        let pages = stmt
            .query_map([], |r| r.get::<_, i64>(0))
            .unwrap()
            .map(|p| p.unwrap() as u64)
            .collect();
        (pages, number(&conn, "PRAGMA page_size").unwrap())
    }

    fn leaf_pages_of(path: &Path, key: &StoreKey, name: &str) -> Vec<u64> {
        let conn = Connection::open(path).unwrap();
        super::super::sealing::apply(&conn, Some(key)).unwrap();
        let mut stmt = conn
            .prepare(
                "SELECT pageno FROM dbstat WHERE name = ? AND pagetype = 'leaf' ORDER BY pageno",
            )
            .unwrap();
        stmt.query_map([name], |r| r.get::<_, i64>(0))
            .unwrap()
            .map(|p| p.unwrap() as u64)
            .collect()
    }

    fn garble(path: &Path, page: u64, page_size: u64) {
        use std::io::{Seek, SeekFrom, Write};
        let mut file = std::fs::OpenOptions::new().write(true).open(path).unwrap();
        file.seek(SeekFrom::Start((page - 1) * page_size)).unwrap();
        let junk: Vec<u8> = (0..page_size).map(|i| (i * 7919 % 251) as u8).collect();
        file.write_all(&junk).unwrap();
    }

    fn rescued_ids(error: StoreError) -> (Vec<String>, PathBuf, usize) {
        match error {
            StoreError::Damaged {
                rescued, actions, ..
            } => {
                let rows = read_rescue_file(&rescued).expect("rescue file");
                assert_eq!(rows.len(), actions);
                (rows.into_iter().map(|r| r.id).collect(), rescued, actions)
            }
            other => panic!("not refused as damaged: {other}"),
        }
    }

    #[test]
    fn a_store_cut_short_is_refused_once_its_queue_is_saved() {
        let dir = tempfile::tempdir().unwrap();
        let original = dir.path().join("orig.db");
        let key = StoreKey::random();
        let queued = store_with_queue(&original, &key, 20, 40, 600);
        let (outbox, page_size) = outbox_pages(&original, &key);
        let len = std::fs::metadata(&original).unwrap().len();
        let pages = len / page_size;
        let last_outbox = *outbox.iter().max().unwrap();
        assert!(last_outbox + 10 < pages, "the outbox lies before the end");
        for (n, keep) in [
            pages - 1,
            (last_outbox + pages) / 2,
            last_outbox + 1,
            pages / 3,
            2,
        ]
        .into_iter()
        .enumerate()
        {
            let path = dir.path().join(format!("cut{n}.db"));
            std::fs::copy(&original, &path).unwrap();
            let file = std::fs::OpenOptions::new().write(true).open(&path).unwrap();
            file.set_len(keep * page_size).unwrap();
            drop(file);
            let refused = Store::open(&path, Some(&key)).err().expect("refused");
            let message = refused.to_string();
            assert!(message.contains("is damaged"), "{message}");
            assert!(message.contains("guichet queue import"), "{message}");
            let (ids, file, _) = rescued_ids(refused);
            assert!(
                ids.iter().all(|id| queued.contains(id)),
                "only queued actions"
            );
            if keep > last_outbox {
                assert_eq!(
                    ids, queued,
                    "every action, in order, when the outbox is whole"
                );
            }
            let mode = std::os::unix::fs::PermissionsExt::mode(
                &std::fs::metadata(&file).unwrap().permissions(),
            );
            assert_eq!(mode & 0o777, 0o600);
            // Refused again, with no second file for the same actions.
            let again = Store::open(&path, Some(&key)).err().expect("refused again");
            assert_eq!(rescued_ids(again).1, file);
        }
    }

    #[test]
    fn garbage_on_an_outbox_page_loses_only_the_actions_on_it() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("p.db");
        let key = StoreKey::random();
        let queued = store_with_queue(&path, &key, 10, 200, 50);
        let leaves = leaf_pages_of(&path, &key, "outbox");
        assert!(leaves.len() > 4, "{leaves:?}");
        let (_, page_size) = outbox_pages(&path, &key);
        garble(&path, leaves[leaves.len() / 2], page_size);
        let refused = Store::open(&path, Some(&key)).err().expect("refused");
        let (ids, _, _) = rescued_ids(refused);
        assert!(ids.iter().all(|id| queued.contains(id)));
        let lost = queued.len() - ids.len();
        assert!(lost > 0 && lost < 20, "{lost} lost of {}", queued.len());
        // Those before and after the damaged page are all there.
        assert_eq!(ids.first(), queued.first());
        assert_eq!(ids.last(), queued.last());
    }

    #[test]
    fn garbage_in_a_case_page_is_found_at_the_first_error_and_every_action_saved() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("p.db");
        let key = StoreKey::random();
        let queued = store_with_queue(&path, &key, 10, 30, 400);
        let leaves = leaf_pages_of(&path, &key, "cases");
        let (outbox, page_size) = outbox_pages(&path, &key);
        let page = leaves[leaves.len() * 2 / 3];
        assert!(!outbox.contains(&page));
        garble(&path, page, page_size);
        // The cheap checks pass: the store opens, until a read meets it.
        {
            let store = Store::open(&path, Some(&key)).expect("opens");
            let all: rusqlite::Result<i64> =
                store
                    .conn
                    .query_row("SELECT sum(length(base)) FROM cases", [], |r| r.get(0));
            let error: StoreError = all.unwrap_err().into();
            assert!(error.to_string().contains("malformed"), "{error}");
        }
        assert!(suspect_mark(&path).exists());
        let refused = Store::open(&path, Some(&key)).err().expect("refused");
        assert_eq!(rescued_ids(refused).0, queued);
    }

    #[test]
    fn rescued_actions_are_queued_again_once_with_their_ids() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("p.db");
        let key = StoreKey::random();
        let queued = store_with_queue(&path, &key, 5, 12, 300);
        {
            let mut store = Store::open(&path, Some(&key)).unwrap();
            // One was sent, its answer lost: it must stay in doubt.
            store.mark_sending(&queued[0], true, None).unwrap();
        }
        let len = std::fs::metadata(&path).unwrap().len();
        std::fs::OpenOptions::new()
            .write(true)
            .open(&path)
            .unwrap()
            .set_len(len - 4096 * 3)
            .unwrap();
        let (_, file, _) = rescued_ids(Store::open(&path, Some(&key)).err().unwrap());
        let rows = read_rescue_file(&file).unwrap();

        let fresh = dir.path().join("fresh.db");
        let mut store = Store::open(&fresh, Some(&key)).unwrap();
        save(&mut store, 0..5);
        let imported = store.import_actions(&rows).unwrap();
        assert_eq!((imported.added, imported.present), (12, 0));
        let again = store.import_actions(&rows).unwrap();
        assert_eq!((again.added, again.present), (0, 12));
        let queue = store.queue(false).unwrap();
        let ids: Vec<&str> = queue.iter().map(|e| e.id.as_str()).collect();
        assert_eq!(ids, queued.iter().map(String::as_str).collect::<Vec<_>>());
        assert_eq!(queue[0].state, OutboxState::InDoubt);
        assert!(queue[0].doubtful && queue[0].first_sent_at.is_some());
        assert!(queue[1..].iter().all(|e| e.state == OutboxState::Pending));
        assert!(
            matches!(&queue[3].action, Action::Comment { text } if text.starts_with("Réponse 3:"))
        );
    }

    /// What the checks cost at open on a big store:
    ///   GUICHET_DAMAGE_CASES=100000 cargo test --lib damage::tests::cost -- --ignored --nocapture
    /// (SQLite and SQLCipher are built optimised in the test profile too).
    #[test]
    #[ignore]
    fn cost() {
        let cases: usize = std::env::var("GUICHET_DAMAGE_CASES")
            .ok()
            .and_then(|n| n.parse().ok())
            .unwrap_or(100_000);
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("big.db");
        let key = StoreKey::random();
        let started = std::time::Instant::now();
        store_with_queue(&path, &key, cases, 50, 0);
        let len = std::fs::metadata(&path).unwrap().len();
        eprintln!(
            "{cases} cases, {:.1} MB, made in {:.1} s",
            len as f64 / 1e6,
            started.elapsed().as_secs_f64()
        );
        let conn = Connection::open(&path).unwrap();
        super::super::sealing::apply(&conn, Some(&key)).unwrap();
        conn.query_row("SELECT count(*) FROM sqlite_master", [], |r| {
            r.get::<_, i64>(0)
        })
        .unwrap();
        for thorough in [false, true, false, true] {
            let started = std::time::Instant::now();
            let found = check(&conn, &path, thorough).unwrap();
            eprintln!(
                "check (thorough: {thorough}): {:.1} ms, {found:?}",
                started.elapsed().as_secs_f64() * 1000.0
            );
        }
        drop(conn);
        for _ in 0..3 {
            let started = std::time::Instant::now();
            drop(Store::open(&path, Some(&key)).unwrap());
            eprintln!(
                "Store::open: {:.1} ms",
                started.elapsed().as_secs_f64() * 1000.0
            );
        }
    }
}

//! The local store's schema. Indexed for every query the console makes:
//! by assignee, group, state, due date, update time, and full text.

use rusqlite::Connection;

/// Each step takes the store from the version before it to its own; a store
/// is brought up step by step, each step in one transaction.
const STEPS: [&str; 8] = [
    SCHEMA,
    V2_SORT_INDEXES,
    V3_HAYSTACK,
    V4_BACKEND_CLOCK,
    V5_RETENTION,
    V6_WORDS_WHEN_CHANGED,
    V7_INTAKE,
    V8_WORDS_BY_THE_STORE,
];

pub fn migrate(conn: &Connection) -> rusqlite::Result<()> {
    let current: i64 = conn.query_row("PRAGMA user_version", [], |r| r.get(0))?;
    if current >= STEPS.len() as i64 {
        return Ok(());
    }
    for (done, step) in STEPS.iter().enumerate() {
        let version = done as i64 + 1;
        // The version is read again inside the write lock: two processes
        // opening a new store at once take turns, and the second one finds
        // the step done.
        conn.execute_batch("BEGIN IMMEDIATE")?;
        let result = (|| {
            let now: i64 = conn.query_row("PRAGMA user_version", [], |r| r.get(0))?;
            if now < version {
                conn.execute_batch(&format!("{step} PRAGMA user_version = {version};"))?;
            }
            conn.execute_batch("COMMIT")
        })();
        if result.is_err() {
            let _ = conn.execute_batch("ROLLBACK");
        }
        result?;
    }
    Ok(())
}

/// The typo-tolerant search reads one narrow table of folded lines (filled
/// for existing cases by `Store::open` after this step).
const V3_HAYSTACK: &str = r#"
CREATE TABLE IF NOT EXISTS case_haystack (row INTEGER PRIMARY KEY, text TEXT NOT NULL);
CREATE TRIGGER IF NOT EXISTS case_haystack_delete AFTER DELETE ON cases BEGIN
  DELETE FROM case_haystack WHERE row = old.row;
END;
"#;

/// When an action first left, by the back-end's clock (learnt from its
/// `Date` header): read-backs never compare the workstation's clock with
/// the back-end's timestamps.
const V4_BACKEND_CLOCK: &str = r#"
ALTER TABLE outbox ADD COLUMN first_sent_backend_at TEXT;
"#;

/// Retention (`store::retention`): when a case arrived here, or the agent
/// last opened or acted on it, stamped by a trigger for every action queued whatever queued
/// it; and the cases purged, with the version they had, so that a pull can
/// tell one that changed since from one that did not (a purged case that
/// comes back is no longer one).
const V5_RETENTION: &str = r#"
ALTER TABLE cases ADD COLUMN touched_at TEXT;
-- Cases not stamped yet (just arrived): stamped at the end of each save.
CREATE INDEX cases_unstamped ON cases(id) WHERE touched_at IS NULL;
CREATE TRIGGER case_touched_by_action AFTER INSERT ON outbox BEGIN
  UPDATE cases SET touched_at = new.created_at WHERE id = new.case_id;
END;
CREATE TABLE purged_cases (id TEXT PRIMARY KEY, version TEXT NOT NULL, at TEXT NOT NULL) WITHOUT ROWID;
CREATE TRIGGER purged_case_back AFTER INSERT ON cases BEGIN
  DELETE FROM purged_cases WHERE id = new.id;
END;
"#;

/// A case is stored again whenever an action on it is settled or a pull
/// brings a new version, mostly with the same words: its search row is
/// rewritten only when the words changed (an FTS5 update deletes and
/// re-inserts every token).
const V6_WORDS_WHEN_CHANGED: &str = r#"
DROP TRIGGER case_words_update;
CREATE TRIGGER case_words_update AFTER UPDATE OF number, citizen, summary, description ON cases
WHEN old.number IS NOT new.number OR old.citizen IS NOT new.citizen
  OR old.summary IS NOT new.summary OR old.description IS NOT new.description
BEGIN
  UPDATE case_words SET number = new.number,
    citizen = coalesce((SELECT name FROM citizens WHERE id = new.citizen), ''),
    summary = new.summary, description = new.description
  WHERE rowid = new.row;
END;
"#;

/// Intake at the counter (`store::intake`): provisional numbers that the
/// back-end's replaced, and the procedure catalogue.
const V7_INTAKE: &str = r#"
CREATE TABLE renumbered (
  provisional TEXT PRIMARY KEY,
  provisional_id TEXT NOT NULL,
  case_id TEXT NOT NULL,
  number TEXT NOT NULL
) WITHOUT ROWID;
CREATE INDEX renumbered_id ON renumbered(provisional_id);
CREATE TABLE procedures (
  code TEXT PRIMARY KEY,
  label_en TEXT NOT NULL,
  label_fr TEXT NOT NULL,
  grp TEXT,
  due_days INTEGER,
  documents_en TEXT NOT NULL,
  documents_fr TEXT NOT NULL,
  follow_up_en TEXT NOT NULL,
  follow_up_fr TEXT NOT NULL
) WITHOUT ROWID;
"#;

/// No trigger on writes of cases: a statement that fires one runs in a
/// savepoint of its own, which copies each page it touches to a statement
/// journal and has FTS5 write its pending words to disk. The search words
/// are written by the store once per batch (`store::words`), and a purged
/// case that comes back is unmarked where cases are written
/// (`cases::store_shown`).
const V8_WORDS_BY_THE_STORE: &str = r#"
DROP TRIGGER case_words_insert;
DROP TRIGGER case_words_update;
DROP TRIGGER purged_case_back;
"#;

/// The console sorts lists by column: each order walks an index.
const V2_SORT_INDEXES: &str = r#"
CREATE INDEX IF NOT EXISTS cases_priority ON cases(priority, due = '', due, number);
"#;

const SCHEMA: &str = r#"
CREATE TABLE meta (key TEXT PRIMARY KEY, value TEXT NOT NULL) WITHOUT ROWID;

-- Cases as the agent sees them: the back-end's copy (`base`, JSON) with the
-- agent's pending actions applied on top in the columns.
CREATE TABLE cases (
  row INTEGER PRIMARY KEY,
  id TEXT NOT NULL UNIQUE,
  number TEXT NOT NULL UNIQUE,
  summary TEXT NOT NULL,
  description TEXT NOT NULL,
  state TEXT NOT NULL,
  priority INTEGER NOT NULL,
  procedure TEXT NOT NULL,
  channel TEXT NOT NULL,
  citizen TEXT,
  assignee TEXT,
  grp TEXT,
  opened TEXT NOT NULL,
  due TEXT NOT NULL,
  resolution_code TEXT NOT NULL,
  close_notes TEXT NOT NULL,
  updated TEXT NOT NULL,
  updated_by TEXT NOT NULL,
  version TEXT NOT NULL,
  base TEXT NOT NULL
);
CREATE INDEX cases_assignee ON cases(assignee, state);
CREATE INDEX cases_group ON cases(grp, state);
CREATE INDEX cases_state ON cases(state, due);
CREATE INDEX cases_due ON cases(due);
-- The lists' order (cases with a deadline first, soonest first): an index on
-- the same expressions lets a page of 50 be read without sorting them all.
CREATE INDEX cases_urgency ON cases(due = '', due, priority, number);
CREATE INDEX cases_updated ON cases(updated);
CREATE INDEX cases_citizen ON cases(citizen);

-- Words of a case for search, accents folded; kept in step by triggers.
CREATE VIRTUAL TABLE case_words USING fts5(
  number, citizen, summary, description,
  tokenize = 'unicode61 remove_diacritics 2'
);
CREATE TRIGGER case_words_insert AFTER INSERT ON cases BEGIN
  INSERT INTO case_words(rowid, number, citizen, summary, description)
  VALUES (new.row, new.number, coalesce((SELECT name FROM citizens WHERE id = new.citizen), ''),
          new.summary, new.description);
END;
CREATE TRIGGER case_words_update AFTER UPDATE OF number, citizen, summary, description ON cases BEGIN
  UPDATE case_words SET number = new.number,
    citizen = coalesce((SELECT name FROM citizens WHERE id = new.citizen), ''),
    summary = new.summary, description = new.description
  WHERE rowid = new.row;
END;
CREATE TRIGGER case_words_delete AFTER DELETE ON cases BEGIN
  DELETE FROM case_words WHERE rowid = old.row;
END;

CREATE TABLE citizens (
  id TEXT PRIMARY KEY,
  first_name TEXT NOT NULL,
  last_name TEXT NOT NULL,
  name TEXT NOT NULL,
  email TEXT NOT NULL,
  phone TEXT NOT NULL,
  street TEXT NOT NULL,
  city TEXT NOT NULL,
  zip TEXT NOT NULL
) WITHOUT ROWID;
CREATE TRIGGER citizen_name AFTER UPDATE OF name ON citizens BEGIN
  UPDATE case_words SET citizen = new.name
  WHERE rowid IN (SELECT row FROM cases WHERE citizen = new.id);
END;
CREATE TRIGGER citizen_insert AFTER INSERT ON citizens BEGIN
  UPDATE case_words SET citizen = new.name
  WHERE rowid IN (SELECT row FROM cases WHERE citizen = new.id);
END;

CREATE TABLE timeline (
  id TEXT PRIMARY KEY,
  case_id TEXT NOT NULL,
  kind TEXT NOT NULL,
  text TEXT NOT NULL,
  author TEXT NOT NULL,
  at TEXT NOT NULL
) WITHOUT ROWID;
CREATE INDEX timeline_case ON timeline(case_id, at);

CREATE TABLE users (
  id TEXT PRIMARY KEY,
  user_name TEXT NOT NULL,
  name TEXT NOT NULL,
  email TEXT NOT NULL,
  active INTEGER NOT NULL
) WITHOUT ROWID;
CREATE INDEX users_name ON users(user_name);
CREATE TABLE groups (id TEXT PRIMARY KEY, name TEXT NOT NULL) WITHOUT ROWID;
CREATE TABLE members (user TEXT NOT NULL, grp TEXT NOT NULL, PRIMARY KEY (user, grp)) WITHOUT ROWID;
CREATE INDEX members_group ON members(grp);
CREATE TABLE choices (
  list TEXT NOT NULL,
  value TEXT NOT NULL,
  label_en TEXT NOT NULL,
  label_fr TEXT NOT NULL,
  sequence INTEGER NOT NULL,
  stage TEXT,
  PRIMARY KEY (list, value)
) WITHOUT ROWID;

-- The outbox: every action the agent made, durable before the console says
-- "queued", leaving only when the back-end acknowledged it (done) or the
-- agent dropped it. One row per action, replayed in `seq` order per case.
CREATE TABLE outbox (
  seq INTEGER PRIMARY KEY AUTOINCREMENT,
  id TEXT NOT NULL UNIQUE,
  case_id TEXT NOT NULL,
  case_number TEXT NOT NULL,
  action TEXT NOT NULL,
  base_version TEXT,
  -- The values the agent saw of the fields the action sets (JSON).
  seen TEXT NOT NULL DEFAULT '{}',
  created_at TEXT NOT NULL,
  state TEXT NOT NULL CHECK (state IN ('pending', 'sending', 'in_doubt', 'done', 'failed', 'conflict', 'dropped')),
  attempts INTEGER NOT NULL DEFAULT 0,
  next_attempt_at INTEGER NOT NULL DEFAULT 0,
  last_error TEXT,
  theirs TEXT,
  -- How a done action was settled: sent, or found applied by a read-back.
  settled_by TEXT,
  -- Sends made without an idempotency key: an outcome left unknown by one
  -- of them can only be settled by reading back, never by a replay.
  keyless_sends INTEGER NOT NULL DEFAULT 0,
  -- Set when a send's outcome became unknown; cleared only when a read-back
  -- or a definite answer settles it. Decides read-back over re-send.
  doubtful INTEGER NOT NULL DEFAULT 0,
  -- When the action first left (local clock): read-backs count from here.
  first_sent_at TEXT,
  updated_at TEXT NOT NULL
);
CREATE INDEX outbox_case ON outbox(case_id, state, seq);
CREATE INDEX outbox_state ON outbox(state, next_attempt_at);

-- What happened to each action, with no personal data: no text, no names.
CREATE TABLE audit (
  seq INTEGER PRIMARY KEY AUTOINCREMENT,
  at TEXT NOT NULL,
  action_id TEXT NOT NULL,
  case_number TEXT NOT NULL,
  event TEXT NOT NULL,
  detail TEXT NOT NULL
);
"#;

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::Case;
    use crate::domain::search::Search;
    use crate::store::Store;

    fn found(store: &Store, words: &str) -> Vec<String> {
        let hits = store.search(&Search::parse(words).unwrap(), 10).unwrap();
        hits.into_iter().map(|h| h.row.case.id).collect()
    }

    #[test]
    fn a_store_of_version_7_keeps_its_words_and_the_store_writes_them_after() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("store.db");
        let old = Case {
            id: "c1".into(),
            number: "CS1".into(),
            summary: "Passeport perdu".into(),
            version: "1".into(),
            ..Case::default()
        };
        {
            let conn = Connection::open(&path).unwrap();
            for (done, step) in STEPS[..7].iter().enumerate() {
                let version = done + 1;
                conn.execute_batch(&format!("{step} PRAGMA user_version = {version};"))
                    .unwrap();
            }
            // Written as version 7 wrote cases: its triggers indexed the words.
            conn.execute(
                "INSERT INTO cases (id, number, summary, description, state, priority, procedure,
                   channel, opened, due, resolution_code, close_notes, updated, updated_by, version, base)
                 VALUES ('c1', 'CS1', 'Passeport perdu', '', '', 0, '', '', '', '', '', '', '', '', '1', ?)",
                [serde_json::to_string(&old).unwrap()],
            )
            .unwrap();
        }
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o600)).unwrap();
        let mut store = Store::open(&path, None).unwrap();
        let triggers: i64 = store
            .conn
            .query_row(
                "SELECT count(*) FROM sqlite_master WHERE type = 'trigger' AND tbl_name = 'cases'
                   AND (sql LIKE '%AFTER INSERT%' OR sql LIKE '%AFTER UPDATE%')",
                [],
                |r| r.get(0),
            )
            .unwrap();
        assert_eq!(triggers, 0, "no trigger on writes of cases");
        assert_eq!(found(&store, "passeport"), ["c1"]);

        let new = Case {
            id: "c2".into(),
            number: "CS2".into(),
            summary: "Carte grise".into(),
            version: "1".into(),
            ..Case::default()
        };
        store.save_cases(std::slice::from_ref(&new)).unwrap();
        assert_eq!(found(&store, "carte"), ["c2"]);
        let renamed = Case {
            summary: "Permis de conduire".into(),
            version: "2".into(),
            ..old
        };
        store.save_cases(&[renamed]).unwrap();
        assert!(found(&store, "passeport").is_empty());
        assert_eq!(found(&store, "permis"), ["c1"]);
        assert_eq!(found(&store, "CS2"), ["c2"]);
    }
}

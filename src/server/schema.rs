//! The server's SQLite schema, derived from the table registry, plus what the
//! registry does not describe: indexes for every query shape the console and
//! the sync engine send, the case full-text index, credentials, tokens and
//! idempotency records.

use rusqlite::Connection;

use super::tables::{Kind, TABLES};

/// Bumped when the schema changes; `migrate` brings older files forward.
/// 2: cases' `correlation_id`, the procedure catalogue `u_guichet_procedure`.
/// 3: the Démarches Simplifiées endpoint's `ds_*` tables.
const VERSION: i64 = 3;

pub fn migrate(conn: &Connection) -> rusqlite::Result<()> {
    let current: i64 = conn.query_row("PRAGMA user_version", [], |r| r.get(0))?;
    if current >= VERSION {
        return Ok(());
    }
    if current > 0 {
        return upgrade(conn);
    }
    let mut sql = String::from("BEGIN;\n");
    for table in &TABLES {
        sql.push_str(&create_table(table));
    }
    sql.push_str(EXTRA_COLUMNS);
    for ddl in INDEXES {
        sql.push_str(ddl);
        sql.push_str(";\n");
    }
    sql.push_str(SEARCH_TABLE);
    sql.push_str(SEARCH_TRIGGERS);
    sql.push_str(CREDENTIALS);
    sql.push_str(super::demarches::store::DDL);
    sql.push_str(&format!("PRAGMA user_version = {VERSION};\nCOMMIT;\n"));
    conn.execute_batch(&sql)
}

/// Brings a file of an older version up to the registry: the tables it
/// added are created and the columns it added appended (empty in the rows
/// already there), then every index is made, in one transaction. Agents'
/// data is kept as it is.
fn upgrade(conn: &Connection) -> rusqlite::Result<()> {
    let tx = conn.unchecked_transaction()?;
    for table in &TABLES {
        tx.execute_batch(&create_table(table))?;
        let present: Vec<String> = tx
            .prepare(&format!("PRAGMA table_info(\"{}\")", table.name))?
            .query_map([], |r| r.get::<_, String>(1))?
            .collect::<Result<_, _>>()?;
        for field in table.stored() {
            if !present.iter().any(|name| name == field.name) {
                tx.execute_batch(&format!(
                    "ALTER TABLE \"{}\" ADD COLUMN \"{}\" {};",
                    table.name,
                    field.name,
                    column_type(field.kind)
                ))?;
            }
        }
    }
    for ddl in INDEXES {
        tx.execute_batch(ddl)?;
    }
    tx.execute_batch(super::demarches::store::DDL)?;
    tx.execute_batch(&format!("PRAGMA user_version = {VERSION};"))?;
    tx.commit()
}

fn column_type(kind: Kind) -> &'static str {
    match kind {
        Kind::Integer | Kind::Boolean => "INTEGER",
        _ => "TEXT",
    }
}

fn create_table(table: &super::tables::Table) -> String {
    let mut columns = vec![r#""_row" INTEGER PRIMARY KEY"#.to_string()];
    for field in table.stored() {
        let ty = column_type(field.kind);
        let constraint = if field.name == "sys_id" {
            " NOT NULL UNIQUE"
        } else {
            ""
        };
        columns.push(format!(r#""{}" {ty}{constraint}"#, field.name));
    }
    format!(
        "CREATE TABLE IF NOT EXISTS \"{}\" (\n  {}\n);\n",
        table.name,
        columns.join(",\n  ")
    )
}

/// Columns the registry does not describe.
const EXTRA_COLUMNS: &str = r#"
ALTER TABLE sys_user ADD COLUMN password_hash TEXT;
-- Demo accounts only authenticate while the server runs with --demo.
ALTER TABLE sys_user ADD COLUMN demo INTEGER NOT NULL DEFAULT 0;
"#;

/// Secondary indexes, shaped after the query families clients send: the
/// console's queues (state and priority, newest or most urgent first), "my
/// cases", the team queue by group, and the sync engine's "updated since".
/// Composite indexes cover the `X-Total-Count` of those queries, so a count
/// never reads the table. Bulk seeding drops and rebuilds them.
pub const INDEXES: &[&str] = &[
    "CREATE UNIQUE INDEX IF NOT EXISTS case_number ON sn_customerservice_case(number)",
    "CREATE INDEX IF NOT EXISTS case_state ON sn_customerservice_case(state, priority, opened_at)",
    "CREATE INDEX IF NOT EXISTS case_group ON sn_customerservice_case(assignment_group, state, due_date)",
    "CREATE INDEX IF NOT EXISTS case_assignee ON sn_customerservice_case(assigned_to, active, assignment_group, sys_updated_on)",
    "CREATE INDEX IF NOT EXISTS case_consumer ON sn_customerservice_case(consumer)",
    "CREATE INDEX IF NOT EXISTS case_category ON sn_customerservice_case(category, state)",
    "CREATE INDEX IF NOT EXISTS case_opened ON sn_customerservice_case(opened_at)",
    "CREATE INDEX IF NOT EXISTS case_due ON sn_customerservice_case(due_date)",
    // A client reads back a case whose creation answer it lost by this id.
    "CREATE INDEX IF NOT EXISTS case_correlation ON sn_customerservice_case(correlation_id)",
    "CREATE INDEX IF NOT EXISTS case_updated ON sn_customerservice_case(sys_updated_on)",
    "CREATE INDEX IF NOT EXISTS journal_case ON sys_journal_field(element_id, sys_created_on)",
    "CREATE INDEX IF NOT EXISTS journal_created ON sys_journal_field(sys_created_on)",
    "CREATE UNIQUE INDEX IF NOT EXISTS user_name ON sys_user(user_name)",
    "CREATE INDEX IF NOT EXISTS user_updated ON sys_user(sys_updated_on)",
    "CREATE INDEX IF NOT EXISTS group_name ON sys_user_group(name)",
    "CREATE UNIQUE INDEX IF NOT EXISTS member_user_group ON sys_user_grmember(\"user\", \"group\")",
    "CREATE INDEX IF NOT EXISTS member_group ON sys_user_grmember(\"group\")",
    "CREATE INDEX IF NOT EXISTS citizen_name ON csm_consumer(name)",
    "CREATE INDEX IF NOT EXISTS citizen_updated ON csm_consumer(sys_updated_on)",
    "CREATE INDEX IF NOT EXISTS citizen_creator ON csm_consumer(sys_created_by)",
    "CREATE INDEX IF NOT EXISTS choice_element ON sys_choice(name, element, language)",
    "CREATE INDEX IF NOT EXISTS procedure_code ON u_guichet_procedure(code)",
];

/// Text search over cases: number, summary, description and the citizen's
/// name; remove_diacritics makes 'jose' find 'José'.
const SEARCH_TABLE: &str = r#"
CREATE VIRTUAL TABLE case_search USING fts5(
  number, short_description, description, citizen,
  tokenize = 'unicode61 remove_diacritics 2'
);
"#;

/// Triggers keep the search index in step with every write path.
const SEARCH_TRIGGERS: &str = r#"
CREATE TRIGGER IF NOT EXISTS case_search_insert AFTER INSERT ON sn_customerservice_case BEGIN
  INSERT INTO case_search(rowid, number, short_description, description, citizen)
  VALUES (new._row, new.number, new.short_description, new.description,
          (SELECT name FROM csm_consumer WHERE sys_id = new.consumer));
END;
CREATE TRIGGER IF NOT EXISTS case_search_update
AFTER UPDATE OF number, short_description, description, consumer ON sn_customerservice_case BEGIN
  UPDATE case_search SET number = new.number, short_description = new.short_description,
    description = new.description,
    citizen = (SELECT name FROM csm_consumer WHERE sys_id = new.consumer)
  WHERE rowid = new._row;
END;
CREATE TRIGGER IF NOT EXISTS case_search_delete AFTER DELETE ON sn_customerservice_case BEGIN
  DELETE FROM case_search WHERE rowid = old._row;
END;
CREATE TRIGGER IF NOT EXISTS case_search_citizen AFTER UPDATE OF name ON csm_consumer BEGIN
  UPDATE case_search SET citizen = new.name
  WHERE rowid IN (SELECT _row FROM sn_customerservice_case WHERE consumer = new.sys_id);
END;
"#;

const CREDENTIALS: &str = r#"
-- OAuth tokens, stored as SHA-256 digests: a copied database file does not
-- hand out live sessions.
CREATE TABLE oauth_token (
  digest TEXT PRIMARY KEY,
  kind TEXT NOT NULL CHECK (kind IN ('access', 'refresh')),
  user TEXT NOT NULL,
  expires_at INTEGER NOT NULL
) WITHOUT ROWID;
CREATE INDEX oauth_token_expiry ON oauth_token(expires_at);

-- Idempotency-Key records: the response of the first successful write,
-- committed in the same transaction as the write itself.
CREATE TABLE idempotency (
  user TEXT NOT NULL,
  key TEXT NOT NULL,
  fingerprint TEXT NOT NULL,
  status INTEGER NOT NULL,
  etag TEXT,
  location TEXT,
  body BLOB NOT NULL,
  created_at INTEGER NOT NULL,
  PRIMARY KEY (user, key)
) WITHOUT ROWID;
CREATE INDEX idempotency_age ON idempotency(created_at);
"#;

/// Drops secondary indexes and search triggers before a bulk load into
/// empty tables; [`after_bulk_load`] rebuilds them, faster than row by row.
pub fn before_bulk_load(conn: &Connection) -> rusqlite::Result<()> {
    for ddl in INDEXES {
        if let Some(name) = index_name(ddl) {
            conn.execute_batch(&format!("DROP INDEX IF EXISTS {name}"))?;
        }
    }
    conn.execute_batch(
        "DROP TRIGGER IF EXISTS case_search_insert; DROP TRIGGER IF EXISTS case_search_update;
         DROP TRIGGER IF EXISTS case_search_delete; DROP TRIGGER IF EXISTS case_search_citizen;",
    )
}

pub fn after_bulk_load(conn: &Connection) -> rusqlite::Result<()> {
    for ddl in INDEXES {
        conn.execute_batch(ddl)?;
    }
    conn.execute_batch(
        "DELETE FROM case_search;
         INSERT INTO case_search(rowid, number, short_description, description, citizen)
           SELECT c._row, c.number, c.short_description, c.description, p.name
           FROM sn_customerservice_case c LEFT JOIN csm_consumer p ON p.sys_id = c.consumer;",
    )?;
    conn.execute_batch(SEARCH_TRIGGERS)?;
    conn.execute_batch("ANALYZE")
}

fn index_name(ddl: &str) -> Option<&str> {
    ddl.split_whitespace().skip_while(|w| *w != "EXISTS").nth(1)
}

#[cfg(test)]
mod tests {
    #[test]
    fn migrate_is_idempotent() {
        let conn = rusqlite::Connection::open_in_memory().unwrap();
        super::migrate(&conn).unwrap();
        super::migrate(&conn).unwrap();
        let n: i64 = conn
            .query_row(
                "SELECT count(*) FROM sqlite_master WHERE type = 'index'",
                [],
                |r| r.get(0),
            )
            .unwrap();
        assert!(n > 15);
    }

    #[test]
    fn a_version_1_file_gains_the_new_column_and_table_and_keeps_its_cases() {
        let conn = rusqlite::Connection::open_in_memory().unwrap();
        // Version 1's case table, as the first release created it.
        conn.execute_batch(
            "CREATE TABLE sn_customerservice_case (_row INTEGER PRIMARY KEY, sys_id TEXT NOT NULL UNIQUE,
               number TEXT, short_description TEXT);
             INSERT INTO sn_customerservice_case (sys_id, number, short_description)
               VALUES ('a1', 'CS0001001', 'Passeport');
             PRAGMA user_version = 1;",
        )
        .unwrap();
        super::migrate(&conn).unwrap();
        let (number, correlation): (String, Option<String>) = conn
            .query_row(
                "SELECT number, correlation_id FROM sn_customerservice_case WHERE sys_id = 'a1'",
                [],
                |r| Ok((r.get(0)?, r.get(1)?)),
            )
            .unwrap();
        assert_eq!((number.as_str(), correlation), ("CS0001001", None));
        let procedures: i64 = conn
            .query_row("SELECT count(*) FROM u_guichet_procedure", [], |r| r.get(0))
            .unwrap();
        assert_eq!(procedures, 0);
        let version: i64 = conn
            .query_row("PRAGMA user_version", [], |r| r.get(0))
            .unwrap();
        assert_eq!(version, super::VERSION);
    }

    #[test]
    fn every_index_statement_names_its_index() {
        for ddl in super::INDEXES {
            assert!(
                super::index_name(ddl).is_some_and(|n| !n.contains('(')),
                "{ddl}"
            );
        }
    }
}

//! The full-text index of cases (`case_words`, FTS5), written by the store
//! rather than by triggers on `cases`. FTS5 writes its pending words out at
//! every statement savepoint, and a trigger gives each write of a case one:
//! a first sync of 100,000 cases wrote (and merged) 100,000 tiny segments,
//! a third of its storing time. Words written in one statement per batch of
//! cases are written out once, at the commit.

use rusqlite::Connection;

use super::StoreResult;

/// A case whose words are to be written.
#[derive(Debug, Clone, Copy)]
pub(super) struct Due {
    /// The case's row (the index's rowid).
    pub row: i64,
    /// Its words are in the index already, and change.
    pub replace: bool,
}

/// Writes the words of these cases as they are now stored.
pub(super) fn write(tx: &Connection, due: &[Due]) -> StoreResult<()> {
    if due.is_empty() {
        return Ok(());
    }
    let mut forget = tx.prepare_cached("DELETE FROM case_words WHERE rowid = ?")?;
    for old in due.iter().filter(|d| d.replace) {
        forget.execute([old.row])?;
    }
    let rows = super::to_json(&due.iter().map(|d| d.row).collect::<Vec<_>>())?;
    tx.prepare_cached(
        "INSERT INTO case_words (rowid, number, citizen, summary, description)
         SELECT c.row, c.number, coalesce(p.name, ''), c.summary, c.description
         FROM json_each(?1) j JOIN cases c ON c.row = j.value
         LEFT JOIN citizens p ON p.id = c.citizen",
    )?
    .execute([rows])?;
    Ok(())
}

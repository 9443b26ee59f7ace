//! The typo-tolerant search's own table: per case, one line of folded text
//! (number, citizen, procedure, summary: lower case, accents removed), so
//! that the fuzzy fallback reads one narrow table instead of joining the
//! wide cases table with citizens, and scores ASCII text on the matcher's
//! fast path. Kept in step where cases, citizens and procedure labels are
//! written; rebuilt in full only when a store is first migrated.

use rusqlite::{Connection, OptionalExtension, params};

use super::StoreResult;
use crate::domain::text::fold;

/// The folded line of one case.
fn line(number: &str, citizen: &str, procedure: &str, summary: &str) -> String {
    fold(&format!("{number} {citizen} {procedure} {summary}"))
}

/// Writes the line of the case stored at `row`.
pub(super) fn write(
    tx: &Connection,
    row: i64,
    number: &str,
    citizen: Option<&str>,
    procedure: &str,
    summary: &str,
) -> StoreResult<()> {
    let name: String = match citizen {
        Some(id) => tx
            .prepare_cached("SELECT name FROM citizens WHERE id = ?")?
            .query_row([id], |r| r.get(0))
            .optional()?
            .unwrap_or_default(),
        None => String::new(),
    };
    let label: String = tx
        .prepare_cached("SELECT label_fr FROM choices WHERE list = 'procedure' AND value = ?")?
        .query_row([procedure], |r| r.get(0))
        .optional()?
        .unwrap_or_else(|| procedure.to_string());
    tx.prepare_cached("INSERT OR REPLACE INTO case_haystack (row, text) VALUES (?, ?)")?
        .execute(params![row, line(number, &name, &label, summary)])?;
    Ok(())
}

/// Rewrites the lines of the cases matching `condition` (SQL on `c`).
pub(super) fn rewrite_where(
    tx: &Connection,
    condition: &str,
    param: Option<&str>,
) -> StoreResult<usize> {
    let mut stmt = tx.prepare_cached(&format!(
        "SELECT c.row, c.number, c.citizen, c.procedure, c.summary FROM cases c WHERE {condition}"
    ))?;
    let rows: Vec<(i64, String, Option<String>, String, String)> = stmt
        .query_map(rusqlite::params_from_iter(param), |r| {
            Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?, r.get(4)?))
        })?
        .collect::<Result<_, _>>()?;
    for (row, number, citizen, procedure, summary) in &rows {
        write(tx, *row, number, citizen.as_deref(), procedure, summary)?;
    }
    Ok(rows.len())
}

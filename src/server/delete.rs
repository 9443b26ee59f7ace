//! Deleting a record: for supervisors only, and a case takes its journal
//! with it.

use rusqlite::{Connection, TransactionBehavior};

use super::access::{Agent, check_table_write, read_scope};
use super::error::ApiError;
use super::records::load_one;
use super::tables::{self, Table};

/// Deletes `sys_id` from `table` in a transaction of its own. A record out
/// of the agent's reach is 404 before anything is said about permission.
pub fn delete(
    conn: &mut Connection,
    table: &'static Table,
    agent: &Agent,
    sys_id: &str,
) -> Result<(), ApiError> {
    let scope = read_scope(table, agent);
    if load_one(conn, table, sys_id, &scope)?.is_none() {
        return Err(ApiError::not_found());
    }
    if !agent.supervisor {
        return Err(ApiError::forbidden("only a supervisor may delete records"));
    }
    // The journal is an audit trail: not even a supervisor erases it.
    check_table_write(table, agent)?;
    let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
    tx.execute(
        &format!("DELETE FROM \"{}\" WHERE sys_id = ?", table.name),
        [sys_id],
    )?;
    if table.name == tables::CASE {
        tx.execute(
            "DELETE FROM sys_journal_field WHERE element_id = ?",
            [sys_id],
        )?;
    }
    tx.commit()?;
    Ok(())
}

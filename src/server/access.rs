//! Who may read and write what. Agents see the cases of their assignment
//! groups, with those cases' journal and citizens; supervisors see all.
//! Reference tables (users, groups, memberships, choices) are readable by
//! every authenticated user and writable by supervisors only.

use rusqlite::types::Value;

use super::error::ApiError;
use super::query_sql::Sql;
use super::tables::{CASE, CHOICE, CITIZEN, GROUP, JOURNAL, MEMBER, Table, USER};

/// The authenticated user a request acts for.
#[derive(Debug, Clone)]
pub struct Agent {
    pub sys_id: String,
    pub user_name: String,
    pub supervisor: bool,
    /// Language of choice labels in display values (`fr`, `en`).
    pub language: String,
}

const MY_GROUPS: &str = "(SELECT \"group\" FROM sys_user_grmember WHERE \"user\" = ?)";

/// The SQL condition limiting reads of `table` to what `agent` may see.
pub fn read_scope(table: &Table, agent: &Agent) -> Sql {
    let me = || Value::Text(agent.sys_id.clone());
    let mut sql = Sql::default();
    if agent.supervisor {
        sql.text.push('1');
        return sql;
    }
    match table.name {
        CASE => {
            sql.text = format!("\"assignment_group\" IN {MY_GROUPS}");
            sql.params.push(me());
        }
        JOURNAL => {
            sql.text = format!(
                "\"element_id\" IN (SELECT sys_id FROM sn_customerservice_case WHERE assignment_group IN {MY_GROUPS})"
            );
            sql.params.push(me());
        }
        CITIZEN => {
            // A citizen an agent has just registered at the desk has no case
            // yet; its creator must still be able to find it.
            sql.text = format!(
                "(\"sys_id\" IN (SELECT consumer FROM sn_customerservice_case WHERE assignment_group IN {MY_GROUPS}) OR \"sys_created_by\" = ?)"
            );
            sql.params.push(me());
            sql.params.push(Value::Text(agent.user_name.clone()));
        }
        _ => sql.text.push('1'),
    }
    sql
}

/// Table-level write permission; row-level checks (the case's group) come
/// from `read_scope` and the case rules.
pub fn check_table_write(table: &Table, agent: &Agent) -> Result<(), ApiError> {
    match table.name {
        JOURNAL => Err(ApiError::forbidden(
            "journal entries are written through a case's comments or work_notes fields",
        )),
        USER | GROUP | MEMBER | CHOICE if !agent.supervisor => Err(ApiError::forbidden(format!(
            "only a supervisor may change {}",
            table.name
        ))),
        _ => Ok(()),
    }
}

/// Whether `agent` belongs to `group` (a sys_id).
pub fn is_member(
    conn: &rusqlite::Connection,
    agent: &Agent,
    group: &str,
) -> rusqlite::Result<bool> {
    conn.query_row(
        "SELECT EXISTS (SELECT 1 FROM sys_user_grmember WHERE \"user\" = ? AND \"group\" = ?)",
        [&agent.sys_id, group],
        |r| r.get(0),
    )
}

//! Who may read and write what. Agents see the cases of their assignment
//! groups, with those cases' journal and citizens; supervisors see all.
//! The directory (users, groups, memberships, choices, and the procedure
//! catalogue when the extensions are on) is readable by every authenticated
//! user, as the console needs it to show names, queues and procedures, and
//! writable by supervisors only.
//!
//! Every read goes through [`read_scope`], applied in SQL to lists, counts,
//! text searches, reads by id, display values of references and the
//! records a write may reference, so that what an agent cannot read cannot
//! be inferred either.

use rusqlite::types::Value;

use super::error::ApiError;
use super::query_sql::Sql;
use super::tables::{CASE, CHOICE, CITIZEN, GROUP, JOURNAL, MEMBER, PROCEDURE, Table, USER};

/// The authenticated user a request acts for.
#[derive(Debug, Clone)]
pub struct Agent {
    pub sys_id: String,
    pub user_name: String,
    pub supervisor: bool,
    /// Language of choice labels in display values (`fr`, `en`).
    pub language: String,
}

/// The author the server signs the records it makes itself with (the demo's
/// citizens among them). No account may take this name: the creator of a
/// citizen without a case may read it.
pub const SERVER_AUTHOR: &str = "system";

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
            // yet; its creator must still be able to find it. Once a case
            // refers to it, the case decides: a creator whose case went to
            // another group no longer follows that citizen's record.
            sql.text = format!(
                "(\"sys_id\" IN (SELECT consumer FROM sn_customerservice_case WHERE assignment_group IN {MY_GROUPS}) \
                 OR (\"sys_created_by\" = ? AND NOT EXISTS (SELECT 1 FROM sn_customerservice_case WHERE consumer = \"{CITIZEN}\".\"sys_id\")))"
            );
            sql.params.push(me());
            sql.params.push(Value::Text(agent.user_name.clone()));
        }
        _ => sql.text.push('1'),
    }
    sql
}

/// Table-level read permission: `--deny-memberships` plays an instance
/// whose ACLs hide the membership table from agents, on every endpoint.
pub fn check_table_read(
    table: &Table,
    agent: &Agent,
    deny_memberships: bool,
) -> Result<(), ApiError> {
    if deny_memberships && table.name == MEMBER && !agent.supervisor {
        return Err(ApiError::forbidden(
            "ACL: read access to sys_user_grmember is not granted",
        ));
    }
    Ok(())
}

/// Table-level write permission; row-level checks (the case's group) come
/// from `read_scope` and the case rules.
pub fn check_table_write(table: &Table, agent: &Agent) -> Result<(), ApiError> {
    match table.name {
        JOURNAL => Err(ApiError::forbidden(
            "journal entries are written through a case's comments or work_notes fields",
        )),
        USER | GROUP | MEMBER | CHOICE | PROCEDURE if !agent.supervisor => Err(
            ApiError::forbidden(format!("only a supervisor may change {}", table.name)),
        ),
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

//! Business rules of the reference back-end: the case life cycle, what a
//! created case, citizen or procedure needs, and names derived from first
//! and last names. These are the server's rules; clients
//! learn states and labels from `sys_choice` rather than from this file.

use rusqlite::Connection;
use rusqlite::types::Value;

use super::access::{Agent, SERVER_AUTHOR, is_member};
use super::changes::Changes;
use super::error::ApiError;
use super::records::{Record, text};
use super::tables::{CASE, CITIZEN, CORRELATION_ID_MAX, PROCEDURE, Table, USER, static_table};

pub const NEW: i64 = 1;
pub const OPEN: i64 = 10;
pub const AWAITING_INFO: i64 = 18;
pub const RESOLVED: i64 = 6;
pub const CLOSED: i64 = 3;
pub const CANCELLED: i64 = 7;

/// Default priority of a new case: 4, Low, as in ServiceNow.
const DEFAULT_PRIORITY: i64 = 4;

fn state_name(state: i64) -> &'static str {
    match state {
        NEW => "New",
        OPEN => "Open",
        AWAITING_INFO => "Awaiting Info",
        RESOLVED => "Resolved",
        CLOSED => "Closed",
        CANCELLED => "Cancelled",
        _ => "unknown",
    }
}

/// The case flow: New → Open → Awaiting Info ↔ Open → Resolved → Closed, with
/// Cancelled from any open state and Resolved reopenable.
fn allowed(from: i64, to: i64) -> bool {
    from == to
        || matches!(
            (from, to),
            (NEW, OPEN | AWAITING_INFO | RESOLVED | CANCELLED)
                | (OPEN, AWAITING_INFO | RESOLVED | CANCELLED)
                | (AWAITING_INFO, OPEN | RESOLVED | CANCELLED)
                | (RESOLVED, CLOSED | OPEN)
        )
}

fn is_final(state: i64) -> bool {
    state == CLOSED || state == CANCELLED
}

/// Applies the table's rules to a create (`existing` is None) or an update,
/// completing `changes` with derived fields. Refusals are 400s that say
/// which rule refused and why.
pub fn apply(
    conn: &Connection,
    table: &Table,
    agent: &Agent,
    existing: Option<&Record>,
    changes: &mut Changes,
) -> Result<(), ApiError> {
    match table.name {
        CASE => case(conn, agent, existing, changes),
        CITIZEN => {
            // A citizen without a last name could be neither told apart at
            // the counter nor found again by the read-back of a lost answer.
            if (existing.is_none() || changes.fields.contains_key("last_name"))
                && blank(&merged(existing, changes, "last_name"))
            {
                return Err(ApiError::bad_request(
                    "a citizen needs a last_name (csm_consumer.last_name is empty)",
                ));
            }
            derive_name(existing, changes);
            Ok(())
        }
        PROCEDURE => procedure(existing, changes),
        USER => {
            if let Some(Value::Text(name)) = changes.fields.get("user_name")
                && name.trim().eq_ignore_ascii_case(SERVER_AUTHOR)
            {
                return Err(ApiError::bad_request(format!(
                    "user_name '{name}' is reserved: the server signs the records it creates itself with it"
                )));
            }
            derive_name(existing, changes);
            Ok(())
        }
        _ => Ok(()),
    }
}

/// The merged value of a field after the change: the new value if the change
/// sets it, else the stored one.
fn merged(existing: Option<&Record>, changes: &Changes, name: &'static str) -> Value {
    changes
        .fields
        .get(name)
        .cloned()
        .or_else(|| existing.and_then(|r| r.get(name).cloned()))
        .unwrap_or(Value::Null)
}

/// The merged value of a case field, as wire text.
fn merged_text(existing: Option<&Record>, changes: &Changes, name: &'static str) -> String {
    match static_table(CASE).field(name) {
        Some(f) => text(f, Some(&merged(existing, changes, name))),
        None => String::new(),
    }
}

/// Whether a value is missing or only spaces.
fn blank(value: &Value) -> bool {
    match value {
        Value::Null => true,
        Value::Text(s) => s.trim().is_empty(),
        _ => false,
    }
}

/// A procedure of the catalogue: the intake form finds it by code and
/// proposes a due date `due_days` after opening.
fn procedure(existing: Option<&Record>, changes: &mut Changes) -> Result<(), ApiError> {
    if blank(&merged(existing, changes, "code")) {
        return Err(ApiError::bad_request(
            "a procedure needs a code (the case category it describes)",
        ));
    }
    if let Some(days) = as_int(&merged(existing, changes, "due_days"))
        && days < 0
    {
        return Err(ApiError::bad_request(format!(
            "due_days is {days}: a legal deadline cannot be negative"
        )));
    }
    if existing.is_none() {
        changes.fields.entry("active").or_insert(Value::Integer(1));
    }
    Ok(())
}

fn as_int(value: &Value) -> Option<i64> {
    match value {
        Value::Integer(i) => Some(*i),
        _ => None,
    }
}

fn derive_name(existing: Option<&Record>, changes: &mut Changes) {
    if !changes.fields.contains_key("first_name") && !changes.fields.contains_key("last_name") {
        return;
    }
    let part = |name| match merged(existing, changes, name) {
        Value::Text(s) => s,
        _ => String::new(),
    };
    let name = format!("{} {}", part("first_name"), part("last_name"))
        .trim()
        .to_string();
    changes.fields.insert("name", Value::Text(name));
}

fn case(
    conn: &Connection,
    agent: &Agent,
    existing: Option<&Record>,
    changes: &mut Changes,
) -> Result<(), ApiError> {
    let number = existing
        .map(|r| {
            text(
                static_table(CASE).field("number").expect("case number"),
                r.get("number"),
            )
        })
        .unwrap_or_default();
    let old_state = existing.and_then(|r| r.get("state")).and_then(as_int);
    if let Some(state) = old_state.filter(|s| is_final(*s)) {
        return Err(ApiError::bad_request(format!(
            "case {number} is {}: a {} case cannot be updated",
            state_name(state),
            state_name(state).to_lowercase()
        )));
    }

    if existing.is_none() {
        changes.fields.entry("state").or_insert(Value::Integer(NEW));
        changes
            .fields
            .entry("priority")
            .or_insert(Value::Integer(DEFAULT_PRIORITY));
        if !changes.fields.contains_key("opened_at") {
            changes
                .fields
                .insert("opened_at", Value::Text(super::clock::now_text()));
        }
        if !changes.fields.contains_key("assignment_group") && !agent.supervisor {
            let first: Option<String> = conn
                .query_row(
                    "SELECT m.\"group\" FROM sys_user_grmember m JOIN sys_user_group g ON g.sys_id = m.\"group\"
                     WHERE m.\"user\" = ? ORDER BY g.name LIMIT 1",
                    [&agent.sys_id],
                    |r| r.get(0),
                )
                .ok();
            if let Some(group) = first {
                changes
                    .fields
                    .insert("assignment_group", Value::Text(group));
            }
        }
        changes
            .fields
            .insert("number", Value::Text(next_number(conn)?));
    }

    // A case without a summary shows as a blank line in every queue.
    if blank(&merged(existing, changes, "short_description"))
        && (existing.is_none() || changes.fields.contains_key("short_description"))
    {
        return Err(ApiError::bad_request(format!(
            "a case needs a short_description{}",
            if number.is_empty() {
                String::new()
            } else {
                format!(" (case {number})")
            }
        )));
    }
    if let Some(Value::Text(id)) = changes.fields.get("correlation_id")
        && id.chars().count() > CORRELATION_ID_MAX
    {
        return Err(ApiError::bad_request(format!(
            "correlation_id is {} characters long; it holds at most {CORRELATION_ID_MAX}",
            id.chars().count()
        )));
    }
    for required in ["state", "priority"] {
        if changes.fields.get(required) == Some(&Value::Null) {
            return Err(ApiError::bad_request(format!(
                "case {number}: {required} cannot be emptied"
            )));
        }
    }
    let new_state = as_int(&merged(existing, changes, "state")).unwrap_or(NEW);
    if let Some(from) = old_state {
        if !allowed(from, new_state) {
            return Err(ApiError::bad_request(format!(
                "case {number}: the transition {} → {} is not allowed (from {} a case may go to {})",
                state_name(from),
                state_name(new_state),
                state_name(from),
                [NEW, OPEN, AWAITING_INFO, RESOLVED, CLOSED, CANCELLED]
                    .into_iter()
                    .filter(|to| *to != from && allowed(from, *to))
                    .map(state_name)
                    .collect::<Vec<_>>()
                    .join(", ")
            )));
        }
    } else if is_final(new_state) || new_state == RESOLVED {
        return Err(ApiError::bad_request(format!(
            "a new case cannot start {}",
            state_name(new_state)
        )));
    }
    // A resolved or closed case keeps its resolution: it is checked whenever
    // the case ends there, not only when it arrives.
    if matches!(new_state, RESOLVED | CLOSED) {
        let code = merged_text(existing, changes, "resolution_code");
        let notes = merged_text(existing, changes, "close_notes");
        if code.trim().is_empty() || notes.trim().is_empty() {
            return Err(ApiError::bad_request(format!(
                "case {number}: resolving needs a resolution_code and close_notes ({} missing)",
                match (code.trim().is_empty(), notes.trim().is_empty()) {
                    (true, true) => "both are",
                    (true, false) => "resolution_code is",
                    _ => "close_notes is",
                }
            )));
        }
    }

    let group = merged_text(existing, changes, "assignment_group");
    if group.is_empty() {
        return Err(ApiError::bad_request("a case needs an assignment_group"));
    }
    if existing.is_none() && !agent.supervisor && !is_member(conn, agent, &group)? {
        return Err(ApiError::forbidden(format!(
            "{} may only open cases for their own groups",
            agent.user_name
        )));
    }
    if changes.fields.contains_key("assigned_to") || changes.fields.contains_key("assignment_group")
    {
        let assignee = merged_text(existing, changes, "assigned_to");
        if !assignee.is_empty() {
            let member: bool = conn.query_row(
                "SELECT EXISTS (SELECT 1 FROM sys_user_grmember WHERE \"user\" = ? AND \"group\" = ?)",
                [&assignee, &group],
                |r| r.get(0),
            )?;
            if !member {
                return Err(ApiError::bad_request(format!(
                    "case {number}: the assignee is not a member of the assignment group"
                )));
            }
        }
    }
    changes
        .fields
        .insert("active", Value::Integer(i64::from(!is_final(new_state))));
    Ok(())
}

/// The next case number, `CS` and seven digits, one above the highest.
fn next_number(conn: &Connection) -> Result<String, ApiError> {
    let highest: Option<String> = conn
        .query_row(
            "SELECT number FROM sn_customerservice_case ORDER BY number DESC LIMIT 1",
            [],
            |r| r.get(0),
        )
        .ok();
    let next = highest
        .and_then(|n| n.strip_prefix("CS").and_then(|d| d.parse::<u64>().ok()))
        .map_or(1001, |n| n + 1);
    Ok(format!("CS{next:07}"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_case_flow_allows_reopening_and_forbids_leaving_final_states() {
        assert!(allowed(NEW, OPEN));
        assert!(allowed(OPEN, AWAITING_INFO) && allowed(AWAITING_INFO, OPEN));
        assert!(allowed(RESOLVED, OPEN) && allowed(RESOLVED, CLOSED));
        assert!(!allowed(NEW, CLOSED));
        assert!(!allowed(CLOSED, OPEN) && !allowed(CANCELLED, OPEN));
        assert!(!allowed(AWAITING_INFO, NEW));
    }
}

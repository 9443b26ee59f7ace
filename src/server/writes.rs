//! Creating and updating records: body validation, the table's rules,
//! optimistic concurrency (`If-Match`, an extension), journal entries and the
//! sys_ bookkeeping, all inside the caller's transaction.

use std::collections::BTreeMap;

use axum::http::StatusCode;
use rusqlite::types::Value;
use rusqlite::{Connection, params_from_iter};
use serde_json::Value as Json;

use super::access::{Agent, check_table_write, read_scope};
use super::changes::Changes;
use super::error::ApiError;
use super::records::{Record, load_one};
use super::rules;
use super::tables::{CASE, Field, Kind, Table, Write, static_table};
use crate::domain::Timestamp;

/// The longest value a field takes: a long letter to a citizen fits many
/// times over, while a page of records stays a reasonable size to send.
const MAX_FIELD_BYTES: usize = 64 * 1024;

/// Reads a request body into typed changes, refusing unknown fields,
/// server-owned fields, wrong types and values outside a choice list.
pub fn parse_body(
    conn: &Connection,
    table: &'static Table,
    agent: &Agent,
    body: &Json,
) -> Result<Changes, ApiError> {
    let Json::Object(object) = body else {
        return Err(ApiError::bad_request(
            "the request body must be a JSON object of field values",
        ));
    };
    let mut changes = Changes::default();
    for (name, value) in object {
        let Some(field) = table.field(name) else {
            return Err(ApiError::bad_request(format!(
                "unknown field '{name}' in table {}",
                table.name
            )));
        };
        if field.write == Write::Server {
            return Err(ApiError::bad_request(format!(
                "field '{name}' is set by the server and cannot be written"
            )));
        }
        let raw = wire_string(field, value)?;
        if raw.len() > MAX_FIELD_BYTES {
            return Err(ApiError::bad_request(format!(
                "field '{name}' is longer than {} KiB",
                MAX_FIELD_BYTES / 1024
            )));
        }
        if field.kind == Kind::Journal {
            if !raw.trim().is_empty() {
                changes.journal.push((field.name, raw));
            }
            continue;
        }
        let typed = typed(conn, table, agent, field, &raw)?;
        changes.fields.insert(field.name, typed);
    }
    Ok(changes)
}

/// A JSON value as the string ServiceNow would take it: strings as they are,
/// numbers and booleans printed, `{"value": ...}` objects unwrapped.
fn wire_string(field: &Field, value: &Json) -> Result<String, ApiError> {
    match value {
        Json::String(s) => Ok(s.clone()),
        Json::Number(n) => Ok(n.to_string()),
        Json::Bool(b) => Ok(b.to_string()),
        Json::Null => Ok(String::new()),
        Json::Object(o) => match o.get("value") {
            Some(Json::String(s)) => Ok(s.clone()),
            _ => Err(ApiError::bad_request(format!(
                "field '{}' must be a string (or an object with a string 'value')",
                field.name
            ))),
        },
        Json::Array(_) => Err(ApiError::bad_request(format!(
            "field '{}' must be a string, not a list",
            field.name
        ))),
    }
}

fn typed(
    conn: &Connection,
    table: &Table,
    agent: &Agent,
    field: &Field,
    raw: &str,
) -> Result<Value, ApiError> {
    if raw.is_empty() {
        return Ok(Value::Null);
    }
    let value = match field.kind {
        Kind::Integer => Value::Integer(raw.trim().parse().map_err(|_| {
            ApiError::bad_request(format!(
                "'{raw}' is not a number for field '{}'",
                field.name
            ))
        })?),
        Kind::Boolean => match raw {
            "true" | "1" => Value::Integer(1),
            "false" | "0" => Value::Integer(0),
            _ => {
                return Err(ApiError::bad_request(format!(
                    "'{raw}' is not true or false for field '{}'",
                    field.name
                )));
            }
        },
        Kind::DateTime => {
            if Timestamp::parse(raw).is_err() {
                return Err(ApiError::bad_request(format!(
                    "'{raw}' is not a datetime for field '{}' (expected YYYY-MM-DD HH:MM:SS, UTC)",
                    field.name
                )));
            }
            Value::Text(raw.to_string())
        }
        Kind::Reference(target) => {
            // Only a record the agent may read can be referenced: pointing a
            // case at another group's citizen would open that citizen to them.
            // Missing and out of reach answer alike.
            let scope = read_scope(static_table(target), agent);
            let mut params = vec![Value::Text(raw.to_string())];
            params.extend(scope.params);
            let exists: bool = conn.query_row(
                &format!(
                    "SELECT EXISTS (SELECT 1 FROM \"{target}\" WHERE sys_id = ? AND ({}))",
                    scope.text
                ),
                params_from_iter(params.iter()),
                |r| r.get(0),
            )?;
            if !exists {
                return Err(ApiError::bad_request(format!(
                    "field '{}' refers to {target} '{raw}', which does not exist or is out of your reach",
                    field.name
                )));
            }
            Value::Text(raw.to_string())
        }
        Kind::Text | Kind::Journal => Value::Text(raw.to_string()),
    };
    if field.choice {
        check_choice(conn, table, field, raw)?;
    }
    Ok(value)
}

fn check_choice(
    conn: &Connection,
    table: &Table,
    field: &Field,
    raw: &str,
) -> Result<(), ApiError> {
    let mut stmt = conn.prepare_cached(
        "SELECT DISTINCT value FROM sys_choice WHERE name = ? AND element = ? AND NOT coalesce(inactive, 0) ORDER BY sequence",
    )?;
    let values: Vec<String> = stmt
        .query_map([table.name, field.name], |r| r.get(0))?
        .collect::<Result<_, _>>()?;
    if values.iter().any(|v| v == raw) {
        return Ok(());
    }
    // A case's category is its procedure: say so in the agent's terms.
    if table.name == CASE && field.name == "category" {
        return Err(ApiError::bad_request(format!(
            "unknown procedure '{raw}' (category of {CASE}; known procedures: {})",
            values.join(", ")
        )));
    }
    Err(ApiError::bad_request(format!(
        "'{raw}' is not a value of {}.{} (allowed: {})",
        table.name,
        field.name,
        values.join(", ")
    )))
}

/// Whether an `If-Match` header matches a record's `sys_mod_count`.
pub fn if_match_accepts(header: &str, mod_count: &str) -> bool {
    header
        .split(',')
        .map(str::trim)
        .any(|tag| tag == "*" || tag.trim_start_matches("W/").trim_matches('"') == mod_count)
}

/// A record's `sys_mod_count`, which is also its ETag.
pub fn mod_count(record: &Record) -> i64 {
    match record.get("sys_mod_count") {
        Some(Value::Integer(i)) => *i,
        _ => 0,
    }
}

/// Creates (`target` None) or updates a record inside the caller's
/// transaction and returns the stored record. `if_match` is honoured only
/// when the server runs with its extensions.
pub fn apply(
    conn: &Connection,
    table: &'static Table,
    agent: &Agent,
    target: Option<&str>,
    body: &Json,
    if_match: Option<&str>,
    on_conflict: impl FnOnce(&Connection, &Record) -> ApiError,
) -> Result<Record, ApiError> {
    check_table_write(table, agent)?;
    let scope = read_scope(table, agent);
    let existing = match target {
        Some(id) => {
            let Some(record) = load_one(conn, table, id, &scope)? else {
                // Out of the agent's groups: a write says so (403), while a
                // read keeps answering 404 as ServiceNow's ACLs do.
                let exists: bool = conn.query_row(
                    &format!(
                        "SELECT EXISTS (SELECT 1 FROM \"{}\" WHERE sys_id = ?)",
                        table.name
                    ),
                    [id],
                    |r| r.get(0),
                )?;
                return Err(if exists {
                    ApiError::forbidden(format!(
                        "{} may not change this record: it belongs to another group",
                        agent.user_name
                    ))
                } else {
                    ApiError::not_found()
                });
            };
            if let Some(header) = if_match
                && !if_match_accepts(header, &mod_count(&record).to_string())
            {
                return Err(on_conflict(conn, &record));
            }
            Some(record)
        }
        None => None,
    };
    let mut changes = parse_body(conn, table, agent, body)?;
    if let Some(existing) = &existing {
        // Setting a field to the value it has is no change (as in ServiceNow,
        // a no-op update does not bump sys_mod_count).
        changes
            .fields
            .retain(|name, value| existing.get(name) != Some(value));
        if changes.fields.is_empty() && changes.journal.is_empty() {
            return Ok(existing.clone());
        }
    }
    rules::apply(conn, table, agent, existing.as_ref(), &mut changes)?;

    let now = super::clock::now_text();
    let sys_id = match (&existing, target) {
        (Some(_), Some(id)) => {
            let count = existing.as_ref().map_or(0, mod_count);
            changes
                .fields
                .insert("sys_updated_on", Value::Text(now.clone()));
            changes
                .fields
                .insert("sys_updated_by", Value::Text(agent.user_name.clone()));
            changes
                .fields
                .insert("sys_mod_count", Value::Integer(count + 1));
            update_row(conn, table, id, &changes)?;
            id.to_string()
        }
        _ => {
            let id = new_sys_id();
            changes.fields.insert("sys_id", Value::Text(id.clone()));
            for name in ["sys_created_on", "sys_updated_on"] {
                changes.fields.insert(name, Value::Text(now.clone()));
            }
            for name in ["sys_created_by", "sys_updated_by"] {
                changes
                    .fields
                    .insert(name, Value::Text(agent.user_name.clone()));
            }
            changes.fields.insert("sys_mod_count", Value::Integer(0));
            insert_row(conn, table, &changes.fields)?;
            id
        }
    };
    for (element, value) in &changes.journal {
        append_journal(conn, table, &sys_id, element, value, &agent.user_name, &now)?;
    }
    // Read back within the transaction, past the access scope: a write may
    // legitimately move a case out of the agent's groups.
    let open = super::query_sql::Sql {
        text: "1".into(),
        params: Vec::new(),
    };
    load_one(conn, table, &sys_id, &open)?.ok_or_else(|| {
        ApiError::new(
            StatusCode::INTERNAL_SERVER_ERROR,
            "Write failed",
            "record vanished after write",
        )
    })
}

pub fn new_sys_id() -> String {
    uuid::Uuid::new_v4().simple().to_string()
}

pub fn insert_row(
    conn: &Connection,
    table: &Table,
    fields: &BTreeMap<&'static str, Value>,
) -> rusqlite::Result<()> {
    let names: Vec<String> = fields.keys().map(|n| format!("\"{n}\"")).collect();
    let marks = vec!["?"; names.len()].join(", ");
    let sql = format!(
        "INSERT INTO \"{}\" ({}) VALUES ({marks})",
        table.name,
        names.join(", ")
    );
    conn.prepare_cached(&sql)?
        .execute(params_from_iter(fields.values()))?;
    Ok(())
}

fn update_row(
    conn: &Connection,
    table: &Table,
    sys_id: &str,
    changes: &Changes,
) -> rusqlite::Result<()> {
    let sets: Vec<String> = changes
        .fields
        .keys()
        .map(|n| format!("\"{n}\" = ?"))
        .collect();
    let sql = format!(
        "UPDATE \"{}\" SET {} WHERE sys_id = ?",
        table.name,
        sets.join(", ")
    );
    let mut params: Vec<Value> = changes.fields.values().cloned().collect();
    params.push(Value::Text(sys_id.to_string()));
    conn.prepare_cached(&sql)?
        .execute(params_from_iter(params))?;
    Ok(())
}

pub fn append_journal(
    conn: &Connection,
    table: &Table,
    element_id: &str,
    element: &str,
    value: &str,
    by: &str,
    at: &str,
) -> rusqlite::Result<()> {
    conn.prepare_cached(
        "INSERT INTO sys_journal_field (sys_id, element_id, element, name, value,
           sys_created_on, sys_created_by, sys_updated_on, sys_updated_by, sys_mod_count)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?6, ?7, 0)",
    )?
    .execute(rusqlite::params![
        new_sys_id(),
        element_id,
        element,
        table.name,
        value,
        at,
        by
    ])?;
    Ok(())
}

#[cfg(test)]
mod tests {
    #[test]
    fn if_match_takes_strong_weak_bare_and_star() {
        use super::if_match_accepts as m;
        assert!(m("\"3\"", "3"));
        assert!(m("W/\"3\"", "3"));
        assert!(m("3", "3"));
        assert!(m("*", "7"));
        assert!(m("\"1\", \"3\"", "3"));
        assert!(!m("\"2\"", "3"));
    }
}

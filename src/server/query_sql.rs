//! Encoded queries compiled to parameterised SQL. Every value is bound, never
//! spliced; field names come from the table registry, never from the request.

use rusqlite::types::Value;

use super::error::ApiError;
use super::tables::{CASE, Field, Kind, Table};
use crate::encoded_query::{Condition, Operator, Query, Term};

/// Dynamic values ServiceNow clients commonly send; the reference back-end
/// understands these two and no other `javascript:` value.
const MY_USER_ID: &str = "javascript:gs.getUserID()";
const MY_GROUPS: &str = "javascript:getMyGroups()";

#[derive(Debug, Default)]
pub struct Sql {
    pub text: String,
    pub params: Vec<Value>,
}

impl Sql {
    fn push(&mut self, text: &str) {
        self.text.push_str(text);
    }
    fn bind(&mut self, value: Value) {
        self.text.push('?');
        self.params.push(value);
    }
}

/// The WHERE condition (no `WHERE` keyword) for `query` on `table`, for the
/// user `me` (the sys_id that dynamic values resolve to).
pub fn condition(table: &Table, query: &Query, me: &str) -> Result<Sql, ApiError> {
    let mut sql = Sql::default();
    if query.blocks.is_empty() {
        sql.push("1");
        return Ok(sql);
    }
    for (b, block) in query.blocks.iter().enumerate() {
        if b > 0 {
            sql.push(" OR ");
        }
        sql.push("(");
        for (g, group) in block.groups.iter().enumerate() {
            if g > 0 {
                sql.push(" AND ");
            }
            sql.push("(");
            for (t, term) in group.iter().enumerate() {
                if t > 0 {
                    sql.push(" OR ");
                }
                match term {
                    Term::Condition(c) => compile_condition(&mut sql, table, c, me)?,
                    Term::Text(words) => compile_text(&mut sql, table, words),
                }
            }
            sql.push(")");
        }
        sql.push(")");
    }
    Ok(sql)
}

/// `ORDER BY` clause; `_row` breaks ties so that offsets page stably.
pub fn order_by(table: &Table, query: &Query) -> Result<String, ApiError> {
    let mut parts = Vec::new();
    let mut last_desc = false;
    for order in &query.order {
        let field = known_field(table, &order.field)?;
        let dir = if order.descending { "DESC" } else { "ASC" };
        parts.push(format!("\"{}\" {dir}", field.name));
        last_desc = order.descending;
    }
    parts.push(format!(
        "\"_row\" {}",
        if last_desc { "DESC" } else { "ASC" }
    ));
    Ok(format!(" ORDER BY {}", parts.join(", ")))
}

fn known_field(table: &Table, name: &str) -> Result<&'static Field, ApiError> {
    match table.field(name) {
        Some(f) if f.kind != Kind::Journal => Ok(f),
        Some(_) => Err(ApiError::bad_request(format!(
            "field '{name}' of {} is a journal field and cannot be queried; query sys_journal_field instead",
            table.name
        ))),
        // Dot-walking would reach the referenced record past its own read
        // scope; the referenced table is queried by itself instead.
        None if name.contains('.') => Err(ApiError::bad_request(format!(
            "'{name}': dot-walking is not supported; query the referenced table by sys_id instead"
        ))),
        None => Err(ApiError::bad_request(format!(
            "unknown field '{name}' in table {}",
            table.name
        ))),
    }
}

fn compile_condition(
    sql: &mut Sql,
    table: &Table,
    c: &Condition,
    me: &str,
) -> Result<(), ApiError> {
    let field = known_field(table, &c.field)?;
    let col = format!("\"{}\"", field.name);
    let typed = |raw: &str| typed_value(field, raw, me);
    let like = |sql: &mut Sql, not: bool, pattern: String| {
        if not {
            sql.push(&format!("({col} IS NULL OR {col} NOT LIKE "));
        } else {
            sql.push(&format!("{col} LIKE "));
        }
        sql.bind(Value::Text(pattern));
        sql.push(" ESCAPE '\\'");
        if not {
            sql.push(")");
        }
    };
    match c.op {
        Operator::Eq if c.value.is_empty() => sql.push(&format!("({col} IS NULL OR {col} = '')")),
        Operator::Eq => {
            sql.push(&format!("{col} = "));
            sql.bind(typed(&c.value)?);
        }
        Operator::Ne => {
            sql.push(&format!("({col} IS NULL OR {col} != "));
            sql.bind(typed(&c.value)?);
            sql.push(")");
        }
        Operator::Lt | Operator::Gt | Operator::Le | Operator::Ge => {
            let symbol = c.op.as_str();
            sql.push(&format!("{col} {symbol} "));
            sql.bind(typed(&c.value)?);
        }
        Operator::Like => like(sql, false, format!("%{}%", escape_like(&c.value))),
        Operator::NotLike => like(sql, true, format!("%{}%", escape_like(&c.value))),
        Operator::StartsWith => like(sql, false, format!("{}%", escape_like(&c.value))),
        Operator::EndsWith => like(sql, false, format!("%{}", escape_like(&c.value))),
        Operator::In | Operator::NotIn => {
            let not = c.op == Operator::NotIn;
            if not {
                sql.push(&format!("({col} IS NULL OR {col} NOT IN ("));
            } else {
                sql.push(&format!("{col} IN ("));
            }
            if c.value == MY_GROUPS {
                sql.push("SELECT \"group\" FROM sys_user_grmember WHERE \"user\" = ");
                sql.bind(Value::Text(me.to_string()));
            } else {
                for (i, item) in c.list().enumerate() {
                    if i > 0 {
                        sql.push(", ");
                    }
                    sql.bind(typed(item)?);
                }
            }
            sql.push(if not { "))" } else { ")" });
        }
        Operator::IsEmpty => sql.push(&format!("({col} IS NULL OR {col} = '')")),
        Operator::IsNotEmpty => sql.push(&format!("({col} IS NOT NULL AND {col} != '')")),
        Operator::Anything => sql.push("1"),
        Operator::Between => {
            let Some((low, high)) = c.bounds() else {
                return Err(ApiError::bad_request(format!(
                    "BETWEEN on '{}' needs two bounds written low@high",
                    c.field
                )));
            };
            sql.push(&format!("{col} BETWEEN "));
            sql.bind(typed(low)?);
            sql.push(" AND ");
            sql.bind(typed(high)?);
        }
    }
    Ok(())
}

/// A query value as the column stores it: numbers for integer fields, 0/1
/// for booleans, text otherwise.
fn typed_value(field: &Field, raw: &str, me: &str) -> Result<Value, ApiError> {
    if raw == MY_USER_ID {
        return Ok(Value::Text(me.to_string()));
    }
    match field.kind {
        Kind::Integer => raw.trim().parse::<i64>().map(Value::Integer).map_err(|_| {
            ApiError::bad_request(format!(
                "'{raw}' is not a number for field '{}'",
                field.name
            ))
        }),
        Kind::Boolean => match raw {
            "true" | "1" => Ok(Value::Integer(1)),
            "false" | "0" => Ok(Value::Integer(0)),
            _ => Err(ApiError::bad_request(format!(
                "'{raw}' is not true or false for field '{}'",
                field.name
            ))),
        },
        _ => Ok(Value::Text(raw.to_string())),
    }
}

fn escape_like(value: &str) -> String {
    let mut out = String::with_capacity(value.len());
    for c in value.chars() {
        if matches!(c, '%' | '_' | '\\') {
            out.push('\\');
        }
        out.push(c);
    }
    out
}

/// Full-text search: every word must match (as a prefix), accents ignored.
/// Cases use the FTS5 index; other tables fall back to LIKE on their text fields.
fn compile_text(sql: &mut Sql, table: &Table, words: &str) {
    let words: Vec<&str> = words.split_whitespace().collect();
    if words.is_empty() {
        sql.push("1");
        return;
    }
    if table.name == CASE {
        let expression = words
            .iter()
            .map(|w| format!("\"{}\"*", w.replace('"', "\"\"")))
            .collect::<Vec<_>>()
            .join(" ");
        sql.push("\"_row\" IN (SELECT rowid FROM case_search WHERE case_search MATCH ");
        sql.bind(Value::Text(expression));
        sql.push(")");
        return;
    }
    if table.text_fields.is_empty() {
        sql.push("0");
        return;
    }
    for (i, word) in words.iter().enumerate() {
        if i > 0 {
            sql.push(" AND ");
        }
        sql.push("(");
        for (j, name) in table.text_fields.iter().enumerate() {
            if j > 0 {
                sql.push(" OR ");
            }
            sql.push(&format!("\"{name}\" LIKE "));
            sql.bind(Value::Text(format!("%{}%", escape_like(word))));
            sql.push(" ESCAPE '\\'");
        }
        sql.push(")");
    }
}

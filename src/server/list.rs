//! One page of a table's list: the agent's read scope and the encoded query
//! as SQL, ordered and paged, with the total unless `sysparm_no_count`.

use rusqlite::Connection;
use serde_json::Value as Json;

use super::access::{Agent, read_scope};
use super::error::ApiError;
use super::pagination::ListParams;
use super::query_sql;
use super::records::{self, render};
use super::tables::Table;

/// A rendered page, with what the `Link` and `X-Total-Count` headers need.
pub struct Page {
    pub rows: Vec<Json>,
    /// None under `sysparm_no_count`.
    pub total: Option<i64>,
    /// Whether a row exists past this page.
    pub more: bool,
}

pub fn page(
    conn: &Connection,
    table: &'static Table,
    agent: &Agent,
    params: &ListParams,
) -> Result<Page, ApiError> {
    let (limit, offset) = (params.limit, params.offset);
    let scope = read_scope(table, agent);
    let condition = query_sql::condition(table, &params.query, &agent.sys_id)?;
    let order = query_sql::order_by(table, &params.query)?;
    let where_sql = format!("({}) AND ({})", scope.text, condition.text);
    let mut binds = scope.params.clone();
    binds.extend(condition.params);
    let fields = params.render.output_fields(table);
    // One row past the page tells whether a next page exists without
    // counting, which matters under sysparm_no_count.
    let page_sql = format!("{where_sql}{order} LIMIT {} OFFSET {offset}", limit + 1);
    let mut records = records::load(conn, table, &fields, &page_sql, &binds)?;
    let more = records.len() > limit;
    records.truncate(limit);
    let total: Option<i64> = if params.no_count {
        None
    } else {
        let sql = format!("SELECT count(*) FROM \"{}\" WHERE {where_sql}", table.name);
        Some(conn.query_row(&sql, rusqlite::params_from_iter(binds.iter()), |r| r.get(0))?)
    };
    let rows = render(conn, table, &records, &params.render, agent)?;
    Ok(Page { rows, total, more })
}

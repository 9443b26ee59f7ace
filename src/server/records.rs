//! Reading records and rendering them exactly as the Table API does: every
//! value a string, references as `{link, value}`, display values from the
//! referenced record or the choice list.

use std::collections::{BTreeMap, HashMap, HashSet};

use rusqlite::types::Value;
use rusqlite::{Connection, params_from_iter};
use serde_json::{Map, Value as Json, json};

use super::access::{Agent, read_scope};
use super::error::ApiError;
use super::tables::{Field, Kind, Table, static_table};

/// A stored record: column values by field name.
pub type Record = BTreeMap<&'static str, Value>;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DisplayMode {
    Value,
    Display,
    All,
}

/// How to render records, from the request's `sysparm_` parameters.
#[derive(Debug, Clone)]
pub struct Render {
    /// `sysparm_fields`; unknown names are ignored, as ServiceNow does.
    pub fields: Option<Vec<String>>,
    pub display: DisplayMode,
    pub exclude_reference_link: bool,
    /// `http://host:port`, for reference links.
    pub base_url: String,
}

impl Render {
    /// The fields to output, in the registry's order.
    pub fn output_fields(&self, table: &'static Table) -> Vec<&'static Field> {
        match &self.fields {
            None => table.fields.iter().collect(),
            Some(names) => table
                .fields
                .iter()
                .filter(|f| names.iter().any(|n| n == f.name))
                .collect(),
        }
    }
}

/// Loads records of `table` matching `where_sql`, selecting `fields` (and
/// always sys_id).
pub fn load(
    conn: &Connection,
    table: &'static Table,
    fields: &[&'static Field],
    where_sql: &str,
    params: &[Value],
) -> rusqlite::Result<Vec<Record>> {
    let mut columns: Vec<&'static Field> = fields
        .iter()
        .copied()
        .filter(|f| f.kind != Kind::Journal)
        .collect();
    if !columns.iter().any(|f| f.name == "sys_id") {
        columns.push(table.field("sys_id").expect("every table has sys_id"));
    }
    let select = columns
        .iter()
        .map(|f| format!("\"{}\"", f.name))
        .collect::<Vec<_>>()
        .join(", ");
    let sql = format!("SELECT {select} FROM \"{}\" WHERE {where_sql}", table.name);
    let mut stmt = conn.prepare_cached(&sql)?;
    let rows = stmt.query_map(params_from_iter(params.iter()), |row| {
        let mut record = Record::new();
        for (i, f) in columns.iter().enumerate() {
            record.insert(f.name, row.get::<_, Value>(i)?);
        }
        Ok(record)
    })?;
    rows.collect()
}

/// Loads every stored field of one record by sys_id, within `scope`.
pub fn load_one(
    conn: &Connection,
    table: &'static Table,
    sys_id: &str,
    scope: &super::query_sql::Sql,
) -> rusqlite::Result<Option<Record>> {
    let fields: Vec<&'static Field> = table.stored().collect();
    let mut params = vec![Value::Text(sys_id.to_string())];
    params.extend(scope.params.iter().cloned());
    let mut found = load(
        conn,
        table,
        &fields,
        &format!("\"sys_id\" = ? AND ({})", scope.text),
        &params,
    )?;
    Ok(found.pop())
}

/// The wire string of a stored value.
pub fn text(field: &Field, value: Option<&Value>) -> String {
    match (field.kind, value) {
        (_, None | Some(Value::Null)) => String::new(),
        (Kind::Boolean, Some(Value::Integer(i))) => (*i != 0).to_string(),
        (_, Some(Value::Integer(i))) => i.to_string(),
        (_, Some(Value::Real(r))) => r.to_string(),
        (_, Some(Value::Text(s))) => s.clone(),
        (_, Some(Value::Blob(_))) => String::new(),
    }
}

/// Display values needed to render a page: referenced records' display
/// fields and choice labels, fetched in a few batched queries.
#[derive(Default)]
struct Labels {
    references: HashMap<&'static str, HashMap<String, String>>,
    choices: HashMap<(String, String), String>,
}

impl Labels {
    fn fetch(
        conn: &Connection,
        table: &'static Table,
        fields: &[&'static Field],
        records: &[Record],
        agent: &Agent,
    ) -> rusqlite::Result<Labels> {
        let mut labels = Labels::default();
        for field in fields {
            if let Kind::Reference(target) = field.kind {
                let ids: HashSet<String> = records
                    .iter()
                    .map(|r| text(field, r.get(field.name)))
                    .filter(|id| !id.is_empty())
                    .collect();
                let target = static_table(target);
                // A referenced record out of the agent's reach lends no
                // display value: its name would tell what the agent may
                // not read (the reference's sys_id is the record's own).
                let scope = read_scope(target, agent);
                let map = labels.references.entry(field.name).or_default();
                let ids: Vec<String> = ids.into_iter().collect();
                for chunk in ids.chunks(500) {
                    let marks = vec!["?"; chunk.len()].join(",");
                    let sql = format!(
                        "SELECT sys_id, \"{}\" FROM \"{}\" WHERE sys_id IN ({marks}) AND ({})",
                        target.display, target.name, scope.text
                    );
                    let binds = chunk
                        .iter()
                        .map(|id| Value::Text(id.clone()))
                        .chain(scope.params.iter().cloned());
                    let mut stmt = conn.prepare(&sql)?;
                    let rows = stmt.query_map(params_from_iter(binds), |r| {
                        Ok((r.get::<_, String>(0)?, r.get::<_, Option<String>>(1)?))
                    })?;
                    for row in rows {
                        let (id, display) = row?;
                        map.insert(id, display.unwrap_or_default());
                    }
                }
            }
        }
        if fields.iter().any(|f| f.choice) {
            // English first, then the agent's language overrides it.
            let mut stmt = conn.prepare_cached(
                "SELECT element, value, label FROM sys_choice WHERE name = ? AND language = ? AND NOT coalesce(inactive, 0)",
            )?;
            for lang in ["en", agent.language.as_str()] {
                let rows = stmt.query_map([table.name, lang], |r| {
                    Ok((
                        r.get::<_, String>(0)?,
                        r.get::<_, String>(1)?,
                        r.get::<_, Option<String>>(2)?.unwrap_or_default(),
                    ))
                })?;
                for row in rows {
                    let (element, value, label) = row?;
                    labels.choices.insert((element, value), label);
                }
            }
        }
        Ok(labels)
    }

    fn display(&self, field: &Field, value: &str) -> String {
        if value.is_empty() {
            return String::new();
        }
        if matches!(field.kind, Kind::Reference(_)) {
            return self
                .references
                .get(field.name)
                .and_then(|m| m.get(value))
                .cloned()
                .unwrap_or_default();
        }
        if field.choice
            && let Some(label) = self
                .choices
                .get(&(field.name.to_string(), value.to_string()))
        {
            return label.clone();
        }
        value.to_string()
    }
}

/// Renders records as the `result` array of a Table API response.
pub fn render(
    conn: &Connection,
    table: &'static Table,
    records: &[Record],
    render: &Render,
    agent: &Agent,
) -> rusqlite::Result<Vec<Json>> {
    let fields = render.output_fields(table);
    let labels = if render.display == DisplayMode::Value {
        Labels::default()
    } else {
        Labels::fetch(conn, table, &fields, records, agent)?
    };
    Ok(records
        .iter()
        .map(|record| {
            let mut object = Map::new();
            for field in &fields {
                let value = text(field, record.get(field.name));
                object.insert(
                    field.name.to_string(),
                    render_value(field, value, &labels, render),
                );
            }
            Json::Object(object)
        })
        .collect())
}

fn render_value(field: &Field, value: String, labels: &Labels, render: &Render) -> Json {
    let link = match field.kind {
        Kind::Reference(target) if !value.is_empty() && !render.exclude_reference_link => Some(
            format!("{}/api/now/table/{target}/{value}", render.base_url),
        ),
        _ => None,
    };
    match render.display {
        DisplayMode::Value => match link {
            Some(link) => json!({"link": link, "value": value}),
            None => Json::String(value),
        },
        DisplayMode::Display => {
            let display = labels.display(field, &value);
            match link {
                Some(link) => json!({"display_value": display, "link": link}),
                None => Json::String(display),
            }
        }
        DisplayMode::All => {
            let display = labels.display(field, &value);
            match link {
                Some(link) => json!({"display_value": display, "link": link, "value": value}),
                None => json!({"display_value": display, "value": value}),
            }
        }
    }
}

/// Renders one record loaded by sys_id (after a write, or a GET by id).
pub fn render_one(
    conn: &Connection,
    table: &'static Table,
    record: &Record,
    options: &Render,
    agent: &Agent,
) -> Result<Json, ApiError> {
    let mut rendered = render(conn, table, std::slice::from_ref(record), options, agent)?;
    Ok(rendered.pop().unwrap_or(Json::Null))
}

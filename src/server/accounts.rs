//! Groups and agent accounts for a small office, created from the command
//! line straight into the server's database: the Table API cannot set a
//! password, and a fresh office server has no supervisor to call it.

use std::collections::BTreeMap;

use rusqlite::types::Value;
use rusqlite::{Connection, OptionalExtension};

use super::access::SERVER_AUTHOR;
use super::auth::hash_password;
use super::tables::{GROUP, MEMBER, USER, static_table};
use super::writes::{insert_row, new_sys_id};
use crate::domain::Clock;

#[derive(Debug, thiserror::Error)]
pub enum AccountError {
    #[error("{0} already exists")]
    Exists(String),
    #[error("no group named '{0}' (create it first: guichet accounts --db DB group add '{0}')")]
    UnknownGroup(String),
    #[error("no agent with user name '{0}'")]
    UnknownAgent(String),
    #[error("the password is empty")]
    EmptyPassword,
    #[error("'{0}' is reserved: the server signs the records it creates itself with it")]
    ReservedName(String),
    #[error("database: {0}")]
    Database(#[from] rusqlite::Error),
}

pub struct NewAgent<'a> {
    pub user_name: &'a str,
    pub first_name: &'a str,
    pub last_name: &'a str,
    pub email: Option<&'a str>,
    /// Group names, e.g. "Accueil".
    pub groups: &'a [String],
    pub supervisor: bool,
    /// Language of choice labels: "fr" or "en".
    pub language: &'a str,
    pub password: &'a str,
}

/// One agent as `accounts list` shows it.
#[derive(Debug)]
pub struct AgentSummary {
    pub user_name: String,
    pub name: String,
    pub roles: String,
    pub groups: String,
    pub demo: bool,
}

fn bookkeeping(fields: &mut BTreeMap<&'static str, Value>, now: &str) {
    fields.insert("sys_id", Value::Text(new_sys_id()));
    for name in ["sys_created_on", "sys_updated_on"] {
        fields.insert(name, Value::Text(now.to_string()));
    }
    for name in ["sys_created_by", "sys_updated_by"] {
        fields.insert(name, Value::Text("admin".to_string()));
    }
    fields.insert("sys_mod_count", Value::Integer(0));
}

fn text(value: &str) -> Value {
    Value::Text(value.to_string())
}

pub fn add_group(conn: &mut Connection, name: &str, description: &str) -> Result<(), AccountError> {
    let tx = conn.transaction()?;
    let exists: bool = tx.query_row(
        "SELECT EXISTS (SELECT 1 FROM sys_user_group WHERE name = ?)",
        [name],
        |r| r.get(0),
    )?;
    if exists {
        return Err(AccountError::Exists(format!("group '{name}'")));
    }
    let mut fields = BTreeMap::new();
    bookkeeping(&mut fields, &Clock::system().now().to_string());
    fields.insert("name", text(name));
    fields.insert("description", text(description));
    fields.insert("active", Value::Integer(1));
    insert_row(&tx, static_table(GROUP), &fields)?;
    tx.commit()?;
    Ok(())
}

pub fn add_agent(conn: &mut Connection, agent: &NewAgent) -> Result<(), AccountError> {
    if agent.password.is_empty() {
        return Err(AccountError::EmptyPassword);
    }
    if agent.user_name.trim().eq_ignore_ascii_case(SERVER_AUTHOR) {
        return Err(AccountError::ReservedName(agent.user_name.to_string()));
    }
    let tx = conn.transaction()?;
    let exists: bool = tx.query_row(
        "SELECT EXISTS (SELECT 1 FROM sys_user WHERE user_name = ?)",
        [agent.user_name],
        |r| r.get(0),
    )?;
    if exists {
        return Err(AccountError::Exists(format!("agent '{}'", agent.user_name)));
    }
    let mut group_ids = Vec::new();
    for group in agent.groups {
        let id: Option<String> = tx
            .query_row(
                "SELECT sys_id FROM sys_user_group WHERE name = ?",
                [group],
                |r| r.get(0),
            )
            .optional()?;
        group_ids.push(id.ok_or_else(|| AccountError::UnknownGroup(group.clone()))?);
    }
    let now = Clock::system().now().to_string();
    let mut fields = BTreeMap::new();
    bookkeeping(&mut fields, &now);
    let user_id = match &fields["sys_id"] {
        Value::Text(id) => id.clone(),
        _ => new_sys_id(),
    };
    fields.insert("user_name", text(agent.user_name));
    fields.insert("first_name", text(agent.first_name));
    fields.insert("last_name", text(agent.last_name));
    fields.insert(
        "name",
        text(format!("{} {}", agent.first_name, agent.last_name).trim()),
    );
    fields.insert("email", agent.email.map_or(Value::Null, text));
    fields.insert("active", Value::Integer(1));
    fields.insert(
        "roles",
        text(if agent.supervisor { "supervisor" } else { "" }),
    );
    fields.insert("preferred_language", text(agent.language));
    insert_row(&tx, static_table(USER), &fields)?;
    tx.execute(
        "UPDATE sys_user SET password_hash = ? WHERE sys_id = ?",
        [hash_password(agent.password), user_id.clone()],
    )?;
    for group in group_ids {
        let mut member = BTreeMap::new();
        bookkeeping(&mut member, &now);
        member.insert("user", text(&user_id));
        member.insert("group", Value::Text(group));
        insert_row(&tx, static_table(MEMBER), &member)?;
    }
    tx.commit()?;
    Ok(())
}

pub fn set_password(
    conn: &Connection,
    user_name: &str,
    password: &str,
) -> Result<(), AccountError> {
    if password.is_empty() {
        return Err(AccountError::EmptyPassword);
    }
    let changed = conn.execute(
        "UPDATE sys_user SET password_hash = ?, sys_updated_on = ?, sys_updated_by = 'admin',
           sys_mod_count = sys_mod_count + 1 WHERE user_name = ?",
        [
            hash_password(password),
            Clock::system().now().to_string(),
            user_name.to_string(),
        ],
    )?;
    if changed == 0 {
        return Err(AccountError::UnknownAgent(user_name.to_string()));
    }
    // Sessions opened with the old password end with it.
    conn.execute(
        "DELETE FROM oauth_token WHERE user = (SELECT sys_id FROM sys_user WHERE user_name = ?)",
        [user_name],
    )?;
    Ok(())
}

pub fn list(conn: &Connection) -> Result<Vec<AgentSummary>, AccountError> {
    let mut stmt = conn.prepare(
        "SELECT u.user_name, coalesce(u.name, ''), coalesce(u.roles, ''), u.demo,
                coalesce((SELECT group_concat(g.name, ', ') FROM sys_user_grmember m
                          JOIN sys_user_group g ON g.sys_id = m.\"group\" WHERE m.\"user\" = u.sys_id), '')
         FROM sys_user u ORDER BY u.user_name",
    )?;
    let rows = stmt.query_map([], |r| {
        Ok(AgentSummary {
            user_name: r.get(0)?,
            name: r.get(1)?,
            roles: r.get(2)?,
            demo: r.get(3)?,
            groups: r.get(4)?,
        })
    })?;
    Ok(rows.collect::<Result<_, _>>()?)
}

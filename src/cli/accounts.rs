//! `guichet accounts`: groups and agents of a reference back-end.

use std::io::{IsTerminal, Read};
use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Args, Subcommand};

use super::session::code as exit;
use crate::server::accounts::{self, NewAgent};
use crate::server::open_database;

#[derive(Debug, Args)]
pub struct AccountsArgs {
    /// The server's SQLite database file (created if missing).
    #[arg(long)]
    db: PathBuf,
    #[command(subcommand)]
    command: AccountsCommand,
}

#[derive(Debug, Subcommand)]
enum AccountsCommand {
    /// Create an assignment group.
    GroupAdd {
        name: String,
        #[arg(long, default_value = "")]
        description: String,
    },
    /// Create an agent; the password is read from standard input.
    AgentAdd {
        user_name: String,
        #[arg(long)]
        first: String,
        #[arg(long)]
        last: String,
        /// A group the agent works in (repeat for several).
        #[arg(long = "group", value_name = "GROUP", required = true)]
        groups: Vec<String>,
        #[arg(long)]
        email: Option<String>,
        /// Sees every case, may change users, groups and choices.
        #[arg(long)]
        supervisor: bool,
        /// Language of state and priority labels the server sends.
        #[arg(long, default_value = "fr", value_parser = ["fr", "en"])]
        language: String,
    },
    /// Set an agent's password, read from standard input.
    Password { user_name: String },
    /// List the agents and their groups.
    List,
}

/// Why `guichet accounts` failed.
#[derive(Debug, thiserror::Error)]
enum AccountsError {
    #[error("cannot open {path}: {source}")]
    Open {
        path: std::path::PathBuf,
        source: rusqlite::Error,
    },
    #[error("cannot read the password: {0}")]
    Password(std::io::Error),
    #[error(transparent)]
    Account(#[from] crate::server::accounts::AccountError),
}

/// Reads a password from stdin: one line, without its line ending.
fn read_password() -> Result<String, AccountsError> {
    let mut stdin = std::io::stdin();
    if stdin.is_terminal() {
        eprint!("password (it is shown as you type; pipe it in to hide it): ");
    }
    let mut text = String::new();
    stdin
        .read_to_string(&mut text)
        .map_err(AccountsError::Password)?;
    Ok(text.lines().next().unwrap_or("").to_string())
}

pub fn run(args: AccountsArgs) -> ExitCode {
    match execute(args) {
        Ok(()) => ExitCode::SUCCESS,
        Err(message) => {
            eprintln!("guichet accounts: {message}");
            ExitCode::from(exit::ERROR)
        }
    }
}

fn execute(args: AccountsArgs) -> Result<(), AccountsError> {
    let mut conn = open_database(&args.db).map_err(|source| AccountsError::Open {
        path: args.db.clone(),
        source,
    })?;
    match args.command {
        AccountsCommand::GroupAdd { name, description } => {
            accounts::add_group(&mut conn, &name, &description)?;
            println!("group '{name}' created");
        }
        AccountsCommand::AgentAdd {
            user_name,
            first,
            last,
            groups,
            email,
            supervisor,
            language,
        } => {
            let password = read_password()?;
            let agent = NewAgent {
                user_name: &user_name,
                first_name: &first,
                last_name: &last,
                email: email.as_deref(),
                groups: &groups,
                supervisor,
                language: &language,
                password: &password,
            };
            accounts::add_agent(&mut conn, &agent)?;
            println!("agent '{user_name}' created in {}", groups.join(", "));
        }
        AccountsCommand::Password { user_name } => {
            let password = read_password()?;
            accounts::set_password(&conn, &user_name, &password)?;
            println!("password of '{user_name}' changed");
        }
        AccountsCommand::List => {
            for agent in accounts::list(&conn)? {
                let mut notes = Vec::new();
                if !agent.roles.is_empty() {
                    notes.push(agent.roles);
                }
                if agent.demo {
                    notes.push("demo account".into());
                }
                let notes = if notes.is_empty() {
                    String::new()
                } else {
                    format!(" ({})", notes.join(", "))
                };
                println!(
                    "{:<16} {:<28} {}{notes}",
                    agent.user_name, agent.name, agent.groups
                );
            }
        }
    }
    Ok(())
}

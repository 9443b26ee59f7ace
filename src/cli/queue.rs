//! `guichet queue`: the outbox as the agent sees it, and the agent's
//! decisions on it (retry, drop, resolve a conflict).

use clap::{Args, Subcommand};

use super::output::{print_json, queue_json};
use super::session::{Failure, Global, Outcome, Session};
use crate::store::OutboxState;

#[derive(Debug, Args)]
pub struct QueueArgs {
    #[command(subcommand)]
    command: Option<QueueCommand>,
    #[arg(long)]
    json: bool,
    /// Include applied and dropped actions.
    #[arg(long)]
    all: bool,
}

#[derive(Debug, Subcommand)]
enum QueueCommand {
    /// Try a refused action again.
    Retry { id: String },
    /// Remove an action that will not be applied (asks for --yes).
    Drop {
        id: String,
        #[arg(long)]
        yes: bool,
    },
    /// Decide a conflict: keep your change over theirs, or take theirs.
    Resolve {
        id: String,
        #[arg(long, conflicts_with = "theirs", required_unless_present = "theirs")]
        mine: bool,
        #[arg(long)]
        theirs: bool,
    },
}

pub fn queue(global: &Global, args: QueueArgs) -> Outcome {
    let mut session = Session::open(global)?;
    let store = &mut session.store;
    match args.command {
        None => {
            let entries = store.queue(args.all)?;
            if args.json {
                print_json(&entries.iter().map(queue_json).collect::<Vec<_>>());
            } else if entries.is_empty() {
                println!("nothing waits: every action is applied");
            } else {
                for e in &entries {
                    let error = e
                        .last_error
                        .as_deref()
                        .map(|m| format!(" — {m}"))
                        .unwrap_or_default();
                    println!(
                        "{:>5} {} {:<9} {:<28} {}{error}",
                        e.seq,
                        e.case_number,
                        e.state.as_str(),
                        e.action.describe(),
                        e.created_at
                    );
                }
            }
        }
        Some(QueueCommand::Retry { id }) => {
            let e = store.retry(&id)?;
            println!(
                "{} {} will be sent again at the next sync",
                e.seq,
                e.action.describe()
            );
        }
        Some(QueueCommand::Drop { id, yes }) => {
            let e = store.action(&id)?;
            if !yes {
                return Err(Failure::usage(format!(
                    "dropping {} ({} on {}) loses it for good: add --yes",
                    e.seq,
                    e.action.describe(),
                    e.case_number
                )));
            }
            let e = store.drop_action(&id)?;
            println!(
                "dropped {} ({} on {})",
                e.seq,
                e.action.describe(),
                e.case_number
            );
        }
        Some(QueueCommand::Resolve { id, mine, .. }) => {
            let e = store.resolve_conflict(&id, mine)?;
            match e.state {
                OutboxState::Pending => println!(
                    "{}: your change will be sent over theirs at the next sync",
                    e.seq
                ),
                _ => println!("{}: kept theirs, your change is dropped", e.seq),
            }
        }
    }
    Ok(())
}

//! `guichet queue`: the outbox as the agent sees it, and the agent's
//! decisions on it (retry, drop, resolve a conflict, export).

use clap::{Args, Subcommand};

use super::output::{describe, print_json, queue_json, state_width, state_word};
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
    /// Save every action not yet applied to a new file (readable JSON; it
    /// holds citizens' data): `logout --wipe` then loses none of them.
    Export { file: std::path::PathBuf },
    /// Queue again the actions a damaged store's rescue file holds
    /// (`NAME.outbox-rescue-*.jsonl`), each under its own id: an action
    /// imported twice, or that had landed, is not applied twice.
    Import { file: std::path::PathBuf },
}

pub fn queue(global: &Global, args: QueueArgs) -> Outcome {
    let mut session = Session::open(global)?;
    let lang = session.lang();
    let store = &mut session.store;
    match args.command {
        None => {
            let entries = store.queue(args.all)?;
            if args.json {
                print_json(&entries.iter().map(queue_json).collect::<Vec<_>>(), lang);
            } else if entries.is_empty() {
                println!("{}", lang.t("cli.queue_empty"));
            } else {
                let width = state_width(lang);
                for e in &entries {
                    let error = e
                        .last_error
                        .as_deref()
                        .map(|m| format!(" — {m}"))
                        .unwrap_or_default();
                    println!(
                        "{:>5} {} {:<width$} {:<28} {}{error}",
                        e.seq,
                        e.case_number,
                        state_word(e.state, lang),
                        describe(&e.action, lang),
                        e.created_at
                    );
                }
            }
        }
        Some(QueueCommand::Retry { id }) => {
            let e = store.retry(&id)?;
            println!(
                "{}",
                lang.f(
                    "cli.queue_retried",
                    &[("seq", &e.seq), ("what", &describe(&e.action, lang))],
                )
            );
        }
        Some(QueueCommand::Drop { id, yes }) => {
            let e = store.action(&id)?;
            if !yes {
                return Err(Failure::usage(lang.f(
                    "cli.queue_drop_needs_yes",
                    &[
                        ("seq", &e.seq),
                        ("what", &describe(&e.action, lang)),
                        ("number", &e.case_number),
                    ],
                )));
            }
            let e = store.drop_action(&id)?;
            println!(
                "{}",
                lang.f(
                    "cli.queue_dropped",
                    &[
                        ("seq", &e.seq),
                        ("what", &describe(&e.action, lang)),
                        ("number", &e.case_number),
                    ],
                )
            );
        }
        Some(QueueCommand::Resolve { id, mine, .. }) => {
            let e = store.resolve_conflict(&id, mine)?;
            let key = match e.state {
                OutboxState::Pending => "cli.queue_kept_mine",
                _ => "cli.queue_kept_theirs",
            };
            println!("{}", lang.f(key, &[("seq", &e.seq)]));
        }
        Some(QueueCommand::Export { file }) => {
            super::export::export(store, &session.name, &file, lang)?;
        }
        Some(QueueCommand::Import { file }) => {
            let actions = crate::store::read_rescue_file(&file)?;
            let imported = store.import_actions(&actions)?;
            println!(
                "{}",
                lang.f(
                    "cli.imported",
                    &[
                        ("count", &imported.added),
                        ("present", &imported.present),
                        ("file", &file.display()),
                    ],
                )
            );
        }
    }
    Ok(())
}

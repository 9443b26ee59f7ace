//! The command line: parsing with clap, one file per command group.

mod accounts;
mod serve;

use std::process::ExitCode;

use clap::{Parser, Subcommand};

#[derive(Debug, Parser)]
#[command(
    name = "guichet",
    version,
    about = "Offline-first console for public-service caseworkers"
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Run the reference back-end: a ServiceNow-compatible case server on SQLite.
    Serve(serve::ServeArgs),
    /// Manage the reference back-end's groups and agent accounts (for a small office).
    Accounts(accounts::AccountsArgs),
}

/// Exit codes shared by every command.
pub mod exit {
    pub const ERROR: u8 = 1;
    pub const USAGE: u8 = 2;
}

pub fn main() -> ExitCode {
    let cli = match Cli::try_parse() {
        Ok(cli) => cli,
        Err(e) => {
            let _ = e.print();
            return if e.use_stderr() {
                ExitCode::from(exit::USAGE)
            } else {
                ExitCode::SUCCESS
            };
        }
    };
    match cli.command {
        Command::Serve(args) => serve::run(args),
        Command::Accounts(args) => accounts::run(args),
    }
}

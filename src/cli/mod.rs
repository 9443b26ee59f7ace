//! The command line: parsing with clap, one file per command group. Client
//! commands share one pipeline with the console: read the local store, queue
//! actions in the outbox, sync with the back-end.

mod accounts;
mod actions;
mod audit;
mod cases;
mod console;
mod demo;
mod doctor;
mod export;
mod intake;
mod output;
mod profiles;
mod queue;
mod secret_input;
mod serve;
mod session;
mod sync;
mod unlock;
mod wipe;

use std::process::ExitCode;

use clap::{Parser, Subcommand};

use session::{Global, finish};

#[derive(Debug, Parser)]
#[command(
    name = "guichet",
    version,
    about = "Offline-first console for public-service caseworkers",
    after_help = "Exit codes: 0 applied or queued, 1 error, 2 usage, 3 not found, 4 conflict waiting, 5 login needed."
)]
struct Cli {
    #[command(flatten)]
    global: Global,
    /// Plain ASCII borders in the console, for terminals without box drawing.
    #[arg(long)]
    ascii: bool,
    /// Without a command: open the console on the profile.
    #[command(subcommand)]
    command: Option<Command>,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Try Guichet: a demo back-end in this process, a throwaway login, the console.
    Demo(demo::DemoArgs),
    /// Check credentials with a back-end and keep them in the keyring.
    Login(profiles::LoginArgs),
    /// Forget the password (queued actions are kept).
    Logout(profiles::LogoutArgs),
    /// Open the local store with your password, offline (after a restart).
    Unlock(unlock::UnlockArgs),
    /// List the profiles.
    Profiles,
    /// Say where things are, which keyring is used, and whether the back-end answers.
    Doctor,
    /// Push queued actions, then pull what changed.
    Sync(sync::SyncArgs),
    /// List cases from the local store (works offline).
    Cases(cases::CasesArgs),
    /// Show one case with its citizen and timeline.
    Case(cases::CaseArgs),
    /// Open a new case for a citizen at the counter (offline too: a
    /// provisional number NEW-n until the back-end numbers it).
    New(intake::NewArgs),
    /// The receipt of a case opened here: to read out, save or print.
    Receipt(intake::ReceiptArgs),
    /// Assign a case to yourself (and open it if new).
    Take(actions::TakeArgs),
    /// Assign a case to an agent or a group.
    Assign(actions::AssignArgs),
    /// Change a case's state (resolving needs --code and --notes).
    State(actions::StateArgs),
    /// Answer the citizen (they read it).
    Comment(actions::TextArgs),
    /// Leave an internal note (agents only).
    Note(actions::TextArgs),
    /// Set a case's priority, 1 (critical) to 4 (low).
    Priority(actions::PriorityArgs),
    /// Show the actions not yet applied, and decide on refused or conflicting ones.
    Queue(queue::QueueArgs),
    /// Your record of what was done here: actions, contact details shown, exports.
    Audit(audit::AuditArgs),
    /// Run the reference back-end: a ServiceNow-compatible case server on SQLite.
    Serve(serve::ServeArgs),
    /// Manage the reference back-end's groups and agent accounts (for a small office).
    Accounts(accounts::AccountsArgs),
}

/// `guichet cases | head`: the reader went away. Rust ignores SIGPIPE, so
/// printing then panics; a command-line tool should end quietly instead, as
/// Unix tools do (exit status 141, 128 + SIGPIPE, as a shell reports them).
/// Nothing is lost: the store's writes are transactions, and a sync cut
/// here is one cut by a kill, which the outbox is built for.
fn end_quietly_on_broken_pipe() {
    let default = std::panic::take_hook();
    std::panic::set_hook(Box::new(move |info| {
        let payload = info.payload();
        let text = payload
            .downcast_ref::<String>()
            .map(String::as_str)
            .or_else(|| payload.downcast_ref::<&str>().copied())
            .unwrap_or("");
        if text.starts_with("failed printing to stdout") && text.contains("os error 32") {
            std::process::exit(141);
        }
        default(info);
    }));
}

pub fn main() -> ExitCode {
    crate::console::mark_start();
    end_quietly_on_broken_pipe();
    let cli = match Cli::try_parse() {
        Ok(cli) => cli,
        Err(e) => {
            let _ = e.print();
            return if e.use_stderr() {
                ExitCode::from(session::code::USAGE)
            } else {
                ExitCode::SUCCESS
            };
        }
    };
    let global = &cli.global;
    // Client commands log to the workstation's private log file; `serve`
    // and `accounts` are the back-end's and log to their standard error.
    let _log = match cli.command {
        Some(Command::Serve(_) | Command::Accounts(_)) => None,
        _ => crate::logging::init(),
    };
    let Some(command) = cli.command else {
        return finish(console::open(global, cli.ascii));
    };
    match command {
        Command::Demo(args) => finish(demo::run(global, args)),
        Command::Login(args) => finish(profiles::login(global, args)),
        Command::Logout(args) => finish(profiles::logout(global, args)),
        Command::Unlock(args) => finish(unlock::unlock(global, args)),
        Command::Profiles => finish(profiles::profiles(global)),
        Command::Doctor => finish(doctor::doctor(global)),
        Command::Sync(args) => finish(sync::sync(global, args)),
        Command::Cases(args) => finish(cases::cases(global, args)),
        Command::Case(args) => finish(cases::case(global, args)),
        Command::New(args) => finish(intake::new(global, args)),
        Command::Receipt(args) => finish(intake::receipt(global, args)),
        Command::Take(args) => finish(actions::take(global, args)),
        Command::Assign(args) => finish(actions::assign(global, args)),
        Command::State(args) => finish(actions::state(global, args)),
        Command::Comment(args) => finish(actions::comment(global, args)),
        Command::Note(args) => finish(actions::note(global, args)),
        Command::Priority(args) => finish(actions::priority(global, args)),
        Command::Queue(args) => finish(queue::queue(global, args)),
        Command::Audit(args) => finish(audit::audit(global, args)),
        Command::Serve(args) => serve::run(args),
        Command::Accounts(args) => accounts::run(args),
    }
}

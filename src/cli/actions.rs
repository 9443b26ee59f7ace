//! `guichet take | assign | state | comment | note | priority`: every action
//! is queued in the outbox first (durably), then, unless --offline, pushed
//! at once; the command says whether it was applied or stays queued.

use clap::Args;

use super::session::{Failure, Global, Outcome, Session, code, text_argument};
use crate::app::compose;
use crate::app::submit::{self, Waiting};
use crate::app::{Remote, Submitted};
use crate::domain::{Action, Stage};

#[derive(Debug, Args)]
pub struct TakeArgs {
    number: String,
}

#[derive(Debug, Args)]
#[command(group = clap::ArgGroup::new("target").required(true).multiple(true))]
pub struct AssignArgs {
    number: String,
    /// An agent's user name (or a unique part of the name).
    #[arg(long, group = "target")]
    to: Option<String>,
    /// A group's name; without --to, the case waits in that group's queue.
    #[arg(long, group = "target")]
    group: Option<String>,
}

#[derive(Debug, Args)]
pub struct StateArgs {
    number: String,
    /// The new state: a label (English or French), a value, or a stage name
    /// (new, open, awaiting_info, resolved, closed, cancelled).
    state: String,
    /// Resolution code (needed to resolve).
    #[arg(long)]
    code: Option<String>,
    /// Close notes (needed to resolve).
    #[arg(long)]
    notes: Option<String>,
}

#[derive(Debug, Args)]
pub struct TextArgs {
    number: String,
    /// The text, or - to read it from standard input.
    text: String,
}

#[derive(Debug, Args)]
pub struct PriorityArgs {
    number: String,
    /// 1 (critical) to 4 (low).
    #[arg(value_parser = clap::value_parser!(u8).range(1..=4))]
    priority: u8,
}

pub fn take(global: &Global, args: TakeArgs) -> Outcome {
    let mut session = Session::open(global)?;
    let case = session.store.case(&args.number)?;
    let action = compose::take(&session.store, &case, session.lang())?;
    run(&mut session, &args.number, action)
}

pub fn assign(global: &Global, args: AssignArgs) -> Outcome {
    let mut session = Session::open(global)?;
    let action = compose::assign_named(
        &session.store,
        args.to.as_deref(),
        args.group.as_deref(),
        session.lang(),
    )?;
    run(&mut session, &args.number, action)
}

pub fn state(global: &Global, args: StateArgs) -> Outcome {
    let mut session = Session::open(global)?;
    let lang = session.lang();
    let case = session.store.case(&args.number)?;
    let choice = session.store.resolve_state(&args.state)?;
    let resolution_code = args
        .code
        .as_deref()
        .map(|typed| compose::resolution_code(&session.store, typed, lang))
        .transpose()?;
    let flow = session.store.state_flow()?;
    let no_notes = args.notes.as_deref().is_none_or(|n| n.trim().is_empty());
    if flow.moves.is_empty() {
        if choice.stage == Some(Stage::Resolved) && (resolution_code.is_none() || no_notes) {
            return Err(Failure::usage(lang.t("cli.resolve_needs")));
        }
    } else if flow.needs_notes.contains(&choice.value) && no_notes {
        // A back-end of its own flow (Démarches Simplifiées): the decision
        // is the state; some need a motivation, given as the notes.
        return Err(Failure::usage(lang.t("cli.decision_needs_notes")));
    }
    let action = compose::set_state(
        &session.store,
        &case,
        &choice,
        resolution_code,
        args.notes,
        lang,
    )?;
    run(&mut session, &args.number, action)
}

pub fn comment(global: &Global, args: TextArgs) -> Outcome {
    let mut session = Session::open(global)?;
    let lang = session.lang();
    let action = compose::comment(&text_argument(&args.text, lang)?, lang)?;
    run(&mut session, &args.number, action)
}

pub fn note(global: &Global, args: TextArgs) -> Outcome {
    let mut session = Session::open(global)?;
    let lang = session.lang();
    let action = compose::note(&text_argument(&args.text, lang)?, lang)?;
    run(&mut session, &args.number, action)
}

pub fn priority(global: &Global, args: PriorityArgs) -> Outcome {
    let mut session = Session::open(global)?;
    let action = compose::priority(args.priority, session.lang())?;
    run(&mut session, &args.number, action)
}

/// Queues the action, then tries to send it (and anything else due); says
/// what became of it, with an exit code scripts can rely on.
fn run(session: &mut Session, number: &str, action: Action) -> Outcome {
    // Refused here, not hours later after a sync: the back-end lacks it.
    let actions = session.store.backend_actions()?;
    if !actions.allow(&action) {
        let why = match action {
            Action::Priority { .. } => "why.backend_no_priority",
            Action::WorkNote { .. } => "why.backend_no_notes",
            Action::Open { .. } => "why.backend_no_opening",
            _ => "why.backend_no_assign_others",
        };
        return Err(Failure::usage(session.lang().t(why)));
    }
    let offline = session.offline;
    let (name, profile) = (&session.name, &session.profile);
    let submitted = submit::submit(
        &mut session.store,
        || Remote::connect(name, profile),
        number,
        action,
        offline,
    )?;
    say(submitted, session.lang())
}

/// Prints what became of a submitted action; its exit code for scripts.
pub(super) fn say(submitted: Submitted, lang: crate::i18n::Lang) -> Outcome {
    let message = submitted.message(lang);
    match submitted {
        Submitted::Applied { .. } => println!("{message}"),
        Submitted::Queued {
            why: Waiting::Login(_),
            ..
        } => return Err(Failure::new(code::LOGIN, message)),
        Submitted::Queued { .. } => println!("{message}"),
        Submitted::Conflict { .. } => return Err(Failure::new(code::CONFLICT, message)),
        Submitted::Refused { .. } => return Err(Failure::new(code::ERROR, message)),
    }
    Ok(())
}

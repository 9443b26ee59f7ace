//! `guichet take | assign | state | comment | note | priority`: every action
//! is queued in the outbox first (durably), then, unless --offline, pushed
//! at once; the command says whether it was applied or stays queued.

use clap::Args;

use super::session::{Failure, Global, Outcome, Session, code, runtime, text_argument};
use crate::domain::{Action, ChoiceList, Stage};
use crate::store::OutboxState;
use crate::sync::push;

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
    let me = session.store.me()?.ok_or_else(|| {
        Failure::new(
            code::LOGIN,
            "who you are is not known yet: run `guichet sync` once online",
        )
    })?;
    let case = session.store.case(&args.number)?;
    let state = match session.store.stage_of_state(&case.state)? {
        Some(Stage::New) => session.store.state_of_stage(Stage::Open)?,
        _ => None,
    };
    run(&mut session, &args.number, Action::Take { user: me, state })
}

pub fn assign(global: &Global, args: AssignArgs) -> Outcome {
    let mut session = Session::open(global)?;
    let user = args
        .to
        .as_deref()
        .map(|u| session.store.find_user(u))
        .transpose()?;
    let group = args
        .group
        .as_deref()
        .map(|g| session.store.find_group(g))
        .transpose()?;
    let action = Action::Assign {
        user: user.map(|u| u.id),
        group: group.map(|g| g.id),
    };
    run(&mut session, &args.number, action)
}

pub fn state(global: &Global, args: StateArgs) -> Outcome {
    let mut session = Session::open(global)?;
    let choice = session.store.resolve_state(&args.state)?;
    let resolution_code = match &args.code {
        Some(typed) => Some(resolution(&session, typed)?),
        None => None,
    };
    if choice.stage == Some(Stage::Resolved)
        && (resolution_code.is_none() || args.notes.as_deref().is_none_or(|n| n.trim().is_empty()))
    {
        return Err(Failure::usage("resolving needs --code and --notes"));
    }
    let action = Action::SetState {
        state: choice.value,
        resolution_code,
        close_notes: args.notes,
    };
    run(&mut session, &args.number, action)
}

fn resolution(session: &Session, typed: &str) -> Result<String, Failure> {
    let codes = session.store.choices(ChoiceList::Resolution)?;
    if codes.is_empty() {
        return Ok(typed.to_string());
    }
    let wanted = typed.to_lowercase();
    codes
        .iter()
        .find(|c| {
            c.value == typed
                || c.label_en.to_lowercase() == wanted
                || c.label_fr.to_lowercase() == wanted
        })
        .map(|c| c.value.clone())
        .ok_or_else(|| {
            let known: Vec<&str> = codes.iter().map(|c| c.value.as_str()).collect();
            Failure::usage(format!(
                "unknown resolution code '{typed}'; known: {}",
                known.join(", ")
            ))
        })
}

pub fn comment(global: &Global, args: TextArgs) -> Outcome {
    let mut session = Session::open(global)?;
    let text = text_argument(&args.text)?;
    run(&mut session, &args.number, Action::Comment { text })
}

pub fn note(global: &Global, args: TextArgs) -> Outcome {
    let mut session = Session::open(global)?;
    let text = text_argument(&args.text)?;
    run(&mut session, &args.number, Action::WorkNote { text })
}

pub fn priority(global: &Global, args: PriorityArgs) -> Outcome {
    let mut session = Session::open(global)?;
    run(
        &mut session,
        &args.number,
        Action::Priority {
            priority: args.priority,
        },
    )
}

/// Queues the action, then tries to send it (and anything else due).
fn run(session: &mut Session, number: &str, action: Action) -> Outcome {
    let queued = session.store.enqueue(number, action)?;
    let what = queued.action.describe();
    if session.offline {
        println!("queued: {} {what} (offline)", queued.case_number);
        return Ok(());
    }
    // Another process syncing this store will send it; do not race it.
    let Some(_lock) = session.store.lock_sync(false)? else {
        println!(
            "queued: {} {what} (a sync is running and will send it)",
            queued.case_number
        );
        return Ok(());
    };
    session.store.recover_interrupted()?;
    let pushed = match session.backend() {
        Ok(backend) => runtime()?
            .block_on(push::push(&*backend, &mut session.store, push::Round::Due))
            .map_err(Failure::from),
        Err(e) => Err(e),
    };
    let now = session.store.action(&queued.id)?;
    match (now.state, pushed) {
        (OutboxState::Done, _) => {
            println!("applied: {} {what}", now.case_number);
            Ok(())
        }
        (OutboxState::Conflict, _) => Err(Failure::new(
            code::CONFLICT,
            format!(
                "conflict: {} changed on the back-end since you saw it; your action waits (guichet queue resolve {} --mine|--theirs)",
                now.case_number, now.seq
            ),
        )),
        (OutboxState::Failed, _) => Err(Failure::new(
            code::ERROR,
            format!(
                "refused: {} {what}: {} (guichet queue retry {} or drop {})",
                now.case_number,
                now.last_error.unwrap_or_default(),
                now.seq,
                now.seq
            ),
        )),
        (_, Err(failure)) if failure.code == code::LOGIN => Err(Failure::new(
            code::LOGIN,
            format!("queued: {} {what}; {}", now.case_number, failure.message),
        )),
        (_, result) => {
            let reason = match result {
                Err(failure) => failure.message,
                Ok(report) => report
                    .away
                    .or(now.last_error)
                    .unwrap_or_else(|| "waiting for earlier actions on this case".into()),
            };
            println!("queued: {} {what} ({reason})", now.case_number);
            Ok(())
        }
    }
}

//! Submitting an action: queued in the outbox first (durably), then, when
//! the link allows, pushed at once; the outcome says what became of it in
//! terms both front ends show as they like.

use crate::domain::Action;
use crate::i18n::Lang;
use crate::store::{OutboxEntry, OutboxState, Store};
use crate::sync::push::{self, PushReport};

use super::view::describe;
use super::workspace::runtime;
use super::{AppError, Remote};

/// What became of a submitted action.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Submitted {
    /// The back-end acknowledged it.
    Applied { number: String, action: Action },
    /// It waits in the outbox, for the reason given.
    Queued {
        number: String,
        action: Action,
        why: Waiting,
    },
    /// The case changed on the back-end: the agent decides (mine or theirs).
    Conflict { number: String, seq: i64 },
    /// The back-end refused it: the agent retries or drops it.
    Refused {
        number: String,
        action: Action,
        seq: i64,
        reason: String,
    },
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Waiting {
    /// The agent works offline.
    Offline,
    /// Another process is syncing this store and will send it.
    SyncRunning,
    /// The back-end asks for a login; the action is kept.
    Login(String),
    /// The link or the back-end is away.
    Later(String),
    /// Earlier actions on the same case go first.
    Earlier,
}

impl Submitted {
    /// What the agent reads.
    pub fn message(&self, lang: Lang) -> String {
        // State values as they are: the CLI's words are stable for scripts.
        let what = |action: &Action| describe(action, lang, str::to_string);
        match self {
            Submitted::Applied { number, action } => lang.f(
                "submit.applied",
                &[("number", number), ("what", &what(action))],
            ),
            Submitted::Queued {
                number,
                action,
                why,
            } => {
                let why = match why {
                    Waiting::Offline => lang.t("submit.why_offline").to_string(),
                    Waiting::SyncRunning => lang.t("submit.why_sync_running").to_string(),
                    Waiting::Earlier => lang.t("submit.why_earlier").to_string(),
                    Waiting::Login(reason) | Waiting::Later(reason) => reason.clone(),
                };
                lang.f(
                    "submit.queued",
                    &[("number", number), ("what", &what(action)), ("why", &why)],
                )
            }
            Submitted::Conflict { number, seq } => {
                lang.f("submit.conflict", &[("number", number), ("seq", seq)])
            }
            Submitted::Refused {
                number,
                action,
                seq,
                reason,
            } => lang.f(
                "submit.refused",
                &[
                    ("number", number),
                    ("what", &what(action)),
                    ("seq", seq),
                    ("reason", reason),
                ],
            ),
        }
    }

    /// What an outbox entry's state says of it, once a push has run.
    pub fn of_entry(entry: &OutboxEntry, pushed: Result<&PushReport, &AppError>) -> Submitted {
        let number = entry.case_number.clone();
        let action = entry.action.clone();
        match entry.state {
            OutboxState::Done => Submitted::Applied { number, action },
            OutboxState::Conflict => Submitted::Conflict {
                number,
                seq: entry.seq,
            },
            OutboxState::Failed => Submitted::Refused {
                number,
                action,
                seq: entry.seq,
                reason: entry.last_error.clone().unwrap_or_default(),
            },
            _ => {
                let why = match pushed {
                    Err(e) if e.is_login() => Waiting::Login(e.to_string()),
                    Err(e) => Waiting::Later(e.to_string()),
                    Ok(report) => match report.away.clone().or_else(|| entry.last_error.clone()) {
                        Some(reason) => Waiting::Later(reason),
                        None => Waiting::Earlier,
                    },
                };
                Submitted::Queued {
                    number,
                    action,
                    why,
                }
            }
        }
    }
}

/// Queues the action on a case (by number or id): durable when this returns.
pub fn enqueue(store: &mut Store, case: &str, action: Action) -> Result<OutboxEntry, AppError> {
    Ok(store.enqueue(case, action)?)
}

/// The command line's way: queue, then (unless offline, or another process
/// is syncing) push what is due at once and say what became of it.
pub fn submit(
    store: &mut Store,
    connect: impl FnOnce() -> Result<Remote, AppError>,
    case: &str,
    action: Action,
    offline: bool,
) -> Result<Submitted, AppError> {
    let queued = enqueue(store, case, action)?;
    submit_queued(store, connect, queued, offline)
}

/// Pushes an action already queued (unless offline, or another process is
/// syncing) and says what became of it.
pub fn submit_queued(
    store: &mut Store,
    connect: impl FnOnce() -> Result<Remote, AppError>,
    queued: OutboxEntry,
    offline: bool,
) -> Result<Submitted, AppError> {
    let number = queued.case_number.clone();
    let action = queued.action.clone();
    if offline {
        return Ok(Submitted::Queued {
            number,
            action,
            why: Waiting::Offline,
        });
    }
    // Another process syncing this store will send it; do not race it.
    let Some(_lock) = store.lock_sync(false)? else {
        return Ok(Submitted::Queued {
            number,
            action,
            why: Waiting::SyncRunning,
        });
    };
    store.recover_interrupted()?;
    let pushed = match connect() {
        Ok(backend) => runtime()?
            .block_on(push::push(&*backend, store, push::Round::Due))
            .map_err(AppError::from),
        Err(e) => Err(e),
    };
    let now = store.action(&queued.id)?;
    Ok(Submitted::of_entry(&now, pushed.as_ref()))
}

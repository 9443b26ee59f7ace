//! Pushing the outbox: per case, oldest first; each action marked "sending"
//! (committed) before its request leaves; outcomes classified; actions whose
//! outcome is unknown are settled by the back-end's replay of the same
//! idempotency key or, where the back-end has none, by reading back what it
//! holds, never by a blind re-send.

use std::time::Duration;

use time::OffsetDateTime;

use super::{SyncError, backoff};
use crate::backend::{Backend, BackendError, Push};
use crate::domain::datetime;
use crate::store::{OutboxEntry, OutboxState, Store};

/// How far around an action's creation time a read-back looks for its
/// journal entry (clocks of workstation and back-end differ).
const CLOCK_SKEW: Duration = Duration::from_secs(15 * 60);
/// How many times in a row a field change follows the back-end's newer
/// version before giving the case a rest.
const MAX_REBASES: usize = 3;

#[derive(Debug, Default, Clone, serde::Serialize)]
pub struct PushReport {
    pub applied: usize,
    /// Settled by reading back: already applied before, not sent again.
    pub found_applied: usize,
    pub conflicts: usize,
    pub failed: usize,
    /// Left for later (network down, rate limited, outcome unknown).
    pub deferred: usize,
}

fn now_ms() -> i64 {
    (OffsetDateTime::now_utc().unix_timestamp_nanos() / 1_000_000) as i64
}

fn later(entry: &OutboxEntry, retry_after: Option<Duration>) -> i64 {
    now_ms() + backoff::delay(entry.attempts, retry_after).as_millis() as i64
}

/// What a read-back found for an action whose outcome was unknown.
enum ReadBack {
    Applied(crate::domain::Case),
    NotApplied,
    Conflict(crate::domain::Case),
    Gone,
}

async fn read_back(
    backend: &impl Backend,
    store: &Store,
    entry: &OutboxEntry,
) -> Result<ReadBack, BackendError> {
    let Some(case) = backend.case(&entry.case_id).await? else {
        return Ok(ReadBack::Gone);
    };
    if let Some((kind, text)) = entry.action.journal() {
        // Count my entries with this exact text since shortly before the
        // action was made, and the twins of it I already know were applied:
        // more entries than twins means this one landed.
        let me = store
            .meta("me_user_name")
            .ok()
            .flatten()
            .unwrap_or_default();
        let since = datetime::parse(&entry.created_at)
            .map(|at| datetime::format(at - CLOCK_SKEW))
            .unwrap_or_default();
        let entries = backend
            .timeline(std::slice::from_ref(&entry.case_id))
            .await?;
        let landed = entries
            .iter()
            .filter(|e| e.kind == kind && e.text == text && e.author == me && e.at >= since)
            .count();
        let twins = store.done_twins(entry, &since).unwrap_or(0);
        return Ok(if landed > twins {
            ReadBack::Applied(case)
        } else {
            ReadBack::NotApplied
        });
    }
    if entry.action.is_reflected_in(&case) {
        return Ok(ReadBack::Applied(case));
    }
    if entry.action.conflicts_with(&entry.seen, &case) {
        return Ok(ReadBack::Conflict(case));
    }
    Ok(ReadBack::NotApplied)
}

/// Which waiting actions a push round takes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Round {
    /// Those whose backoff has passed (background sync, after an action).
    Due,
    /// All of them now: the agent asked for a sync.
    Now,
}

/// Pushes waiting actions. Stops early when the back-end is unreachable or
/// refuses the credentials (the queue stays intact).
pub async fn push(
    backend: &impl Backend,
    store: &mut Store,
    round: Round,
) -> Result<PushReport, SyncError> {
    let mut report = PushReport::default();
    loop {
        let cutoff = match round {
            Round::Due => now_ms(),
            Round::Now => i64::MAX,
        };
        let ready = store.ready(cutoff)?;
        if ready.is_empty() {
            return Ok(report);
        }
        for entry in ready {
            if !push_one(backend, store, &entry, &mut report).await? {
                report.deferred += store.ready(i64::MAX)?.len();
                return Ok(report);
            }
        }
    }
}

/// Pushes one action; false when the round should stop (back-end away).
async fn push_one(
    backend: &impl Backend,
    store: &mut Store,
    entry: &OutboxEntry,
    report: &mut PushReport,
) -> Result<bool, SyncError> {
    let in_doubt = entry.state == OutboxState::InDoubt;
    let keys = match backend.capabilities().await {
        Ok(c) => c.idempotency_keys,
        Err(e) => return settle_error(store, entry, e, report),
    };
    // A replay settles an unknown outcome only if every send carried the key.
    if in_doubt && (!keys || entry.keyless_sends > 0) {
        match read_back(backend, store, entry).await {
            Ok(ReadBack::Applied(case)) => {
                store.mark_done(&entry.id, &case, "read_back")?;
                report.found_applied += 1;
                return Ok(true);
            }
            Ok(ReadBack::Conflict(theirs)) => {
                store.mark_conflict(&entry.id, &theirs)?;
                report.conflicts += 1;
                return Ok(true);
            }
            Ok(ReadBack::Gone) => {
                store.mark_failed(&entry.id, "the case is gone or out of your reach")?;
                report.failed += 1;
                return Ok(true);
            }
            Ok(ReadBack::NotApplied) => {}
            Err(e) => return settle_error(store, entry, e, report),
        }
    }
    // A field change is checked against the freshest copy held here: if
    // someone else changed one of its fields since the agent saw it, that is
    // a conflict; anything else they changed is not.
    let mut base_version = entry.base_version.clone();
    if entry.action.needs_base_version()
        && let Some(current) = store.base_case(&entry.case_id)?
    {
        if in_doubt && entry.action.is_reflected_in(&current) {
            // Already there: an earlier send whose answer was lost (or a
            // colleague made the same change). Nothing to send.
            store.mark_done(&entry.id, &current, "read_back")?;
            report.found_applied += 1;
            return Ok(true);
        }
        if entry.action.conflicts_with(&entry.seen, &current) {
            store.mark_conflict(&entry.id, &current)?;
            report.conflicts += 1;
            return Ok(true);
        }
        base_version = Some(current.version);
    }
    store.mark_sending(&entry.id, keys)?;
    // The copy held here may be behind: a refusal for the version alone,
    // with the fields untouched, is retried over the back-end's version.
    for _ in 0..MAX_REBASES {
        let push = Push {
            action_id: &entry.id,
            case_id: &entry.case_id,
            action: &entry.action,
            base_version: base_version.as_deref(),
        };
        match backend.push(&push).await {
            Ok(case) => {
                store.mark_done(&entry.id, &case, "sent")?;
                report.applied += 1;
                return Ok(true);
            }
            Err(BackendError::Conflict { theirs }) if entry.action.is_reflected_in(&theirs) => {
                store.mark_done(&entry.id, &theirs, "read_back")?;
                report.found_applied += 1;
                return Ok(true);
            }
            Err(BackendError::Conflict { theirs })
                if !entry.action.conflicts_with(&entry.seen, &theirs) =>
            {
                store.rebase(&entry.id, &theirs)?;
                base_version = Some(theirs.version.clone());
            }
            Err(e) => return settle_error(store, entry, e, report),
        }
    }
    store.mark_retry(
        &entry.id,
        "the case keeps changing on the back-end",
        later(entry, None),
    )?;
    Ok(true)
}

fn settle_error(
    store: &mut Store,
    entry: &OutboxEntry,
    error: BackendError,
    report: &mut PushReport,
) -> Result<bool, SyncError> {
    let message = error.to_string();
    match error {
        BackendError::Transient { retry_after, .. } => {
            store.mark_retry(&entry.id, &message, later(entry, retry_after))?;
            Ok(false)
        }
        BackendError::InDoubt(_) | BackendError::Protocol(_) => {
            store.mark_in_doubt(&entry.id, &message, later(entry, None))?;
            Ok(false)
        }
        BackendError::Auth(_) => {
            // Not the action's fault: it waits, untouched, for a new login.
            store.mark_retry(&entry.id, &message, 0)?;
            Err(SyncError::LoginNeeded(message))
        }
        BackendError::Conflict { theirs } => {
            store.mark_conflict(&entry.id, &theirs)?;
            report.conflicts += 1;
            Ok(true)
        }
        BackendError::Rejected(reason) => {
            store.mark_failed(&entry.id, &reason)?;
            report.failed += 1;
            Ok(true)
        }
        BackendError::NotFound => {
            store.mark_failed(&entry.id, "the case is gone or out of your reach")?;
            report.failed += 1;
            Ok(true)
        }
    }
}

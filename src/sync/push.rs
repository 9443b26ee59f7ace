//! Pushing the outbox: per case, oldest first; each action marked "sending"
//! (committed) before its request leaves; outcomes classified; actions whose
//! outcome is unknown are settled by the back-end's replay of the same
//! idempotency key or, where that cannot be trusted, by reading back what it
//! holds, never by a blind re-send.

use crate::store::Meta;
use std::collections::HashSet;
use std::time::Duration;

use super::{SyncError, backoff};
use crate::backend::{Backend, BackendError, Push};
use crate::domain::{Clock, Timestamp, is_provisional};
use crate::store::{OutboxEntry, OutboxState, Settled, Store};

/// How far before an action's first send, by the back-end's clock, a
/// read-back looks for its journal entry: the `Date` header counts whole
/// seconds and the back-end may stamp an entry a little before it commits.
const READ_BACK_MARGIN: Duration = Duration::from_secs(120);
/// The same when the back-end's clock was not known at the first send (no
/// `Date` header, or an action first sent by an earlier version): the
/// workstation's clock, with a wide margin for the two clocks' difference.
const CLOCK_SKEW: Duration = Duration::from_secs(15 * 60);
/// How many times in a row a field change follows the back-end's newer
/// version before giving the case a rest.
const MAX_REBASES: usize = 3;
/// Replays of an idempotency key are trusted this long after the first
/// send; the reference back-end keeps keys 48 hours, others may keep less.
const KEY_TRUST: Duration = Duration::from_secs(24 * 3600);
/// Failures in a row, on different cases, after which the back-end is
/// taken to be away and the round stops.
const AWAY_AFTER: usize = 3;
/// A window of a push round is this many times `requests_in_flight`
/// actions: marked "sending" with one fsync'd commit, settled with one
/// lazy commit. Bigger windows save commits; a crash leaves the whole
/// window to settle as unknown outcomes (by key replay or read-back).
const WINDOW: usize = 32;

#[derive(Debug, Default, Clone, serde::Serialize)]
pub struct PushReport {
    pub applied: usize,
    /// Settled by reading back: already applied before, not sent again.
    pub found_applied: usize,
    pub conflicts: usize,
    pub failed: usize,
    /// Left for later (network down, rate limited, outcome unknown).
    pub deferred: usize,
    /// Why the round stopped early, when the back-end looked away.
    pub away: Option<String>,
    /// Cases opened here that the back-end numbered: (provisional, real).
    pub numbered: Vec<(String, String)>,
}

impl PushReport {
    /// Notes the real number of a case opened here, once it is known.
    fn note_numbered(&mut self, entry: &OutboxEntry, case: &crate::domain::Case) {
        if entry.action.opens() {
            self.numbered
                .push((entry.case_number.clone(), case.number.clone()));
        }
    }
}

/// Which waiting actions a push round takes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Round {
    /// Those whose backoff has passed (background sync, after an action).
    Due,
    /// All of them now: the agent asked for a sync.
    Now,
}

/// When an action is tried again (epoch ms by `clock`).
fn later(entry: &OutboxEntry, retry_after: Option<Duration>, clock: &Clock) -> i64 {
    let wait = backoff::delay(entry.attempts, retry_after).min(Duration::from_secs(24 * 3600));
    clock.epoch_millis().saturating_add(wait.as_millis() as i64)
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
) -> Result<ReadBack, SyncError> {
    if entry.action.opens() {
        // The case carries the action's id: found, it was opened (and its
        // new citizen recorded); not found, neither reached the back-end
        // as a case, and a citizen recorded alone is found again at the
        // next send (see the adapter).
        return Ok(match backend.opened_case(&entry.id).await? {
            Some(case) => ReadBack::Applied(case),
            None => ReadBack::NotApplied,
        });
    }
    let Some(case) = backend.case(&entry.case_id).await? else {
        return Ok(ReadBack::Gone);
    };
    if let Some((kind, text)) = entry.action.journal() {
        // Count my entries with this exact text from shortly before the first
        // send, and my other actions with the same text sent since: more
        // entries than those twins means this one landed.
        let me = store.meta(Meta::MeUserName)?.unwrap_or_default();
        if me.is_empty() {
            return Err(SyncError::Store(crate::store::StoreError::Invalid(
                "who you are is not known: sync once to learn it".into(),
            )));
        }
        // By the back-end's clock where it was known at the first send: its
        // journal stamps are compared with its own time, never with ours.
        let since = match entry.first_sent_backend_at {
            Some(at) => at - READ_BACK_MARGIN,
            None => entry.first_sent_at.unwrap_or(entry.created_at) - CLOCK_SKEW,
        };
        let entries = backend
            .timeline(std::slice::from_ref(&entry.case_id))
            .await?;
        let landed = entries
            .iter()
            .filter(|e| e.kind == kind && e.text == text && e.author == me && e.at >= Some(since))
            .count();
        let twins = store.done_twins(entry, since)?;
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

/// Whether a replay of the action's key can be trusted to settle an
/// unknown outcome: every send carried the key, recently enough by the
/// back-end's clock (which decides how long it keeps keys).
/// `clock_offset` is the back-end's clock minus `clock`, when known.
fn replay_settles(
    entry: &OutboxEntry,
    keys: bool,
    clock_offset: Option<i64>,
    clock: &Clock,
) -> bool {
    let age = match (entry.first_sent_backend_at, clock_offset) {
        (Some(at), Some(offset)) => Some(clock.instant_ahead_by(offset) - at.instant()),
        _ => entry.first_sent_at.map(|at| clock.instant() - at.instant()),
    };
    let recent = age.is_some_and(|age| age < KEY_TRUST);
    keys && entry.keyless_sends == 0 && recent
}

/// How one action's push ended, for the round.
enum Step {
    /// Settled (applied, refused, in conflict): go on.
    Settled,
    /// Not settled, for a reason of its own case: go on with other cases.
    Deferred,
    /// The back-end is away or asks us to wait: stop the round.
    Stop,
    /// Waits for another case's action (a citizen being recorded): no
    /// failure of the back-end's.
    Waits,
}

/// Pushes waiting actions. A case that keeps failing is left for later
/// without holding up the others; the round stops when the back-end looks
/// away, or refuses the credentials (the queue stays intact).
pub async fn push(
    backend: &impl Backend,
    store: &mut Store,
    round: Round,
) -> Result<PushReport, SyncError> {
    let mut report = PushReport::default();
    let mut tried: HashSet<String> = HashSet::new();
    let mut failures_in_a_row = 0;
    if store.ready(i64::MAX)?.is_empty() {
        return Ok(report);
    }
    let keys = match backend.capabilities().await {
        Ok(c) => c.idempotency_keys,
        Err(BackendError::Auth(message)) => return Err(SyncError::LoginNeeded(message)),
        Err(e) => {
            // Nothing was sent: the back-end is away; every action waits.
            report.deferred = store.ready(i64::MAX)?.len();
            report.away = Some(e.to_string());
            return Ok(report);
        }
    };
    // Cases are independent: the heads of several cases are sent at once,
    // `in_flight` at a time, and each case's own actions still go one after
    // another. A window of them is marked "sending" with one commit (on disk
    // before any of its requests leaves) and settled with one more.
    let in_flight = backend.requests_in_flight().max(1);
    let mut stop = None;
    loop {
        let cutoff = match round {
            Round::Due => store.clock().epoch_millis(),
            Round::Now => i64::MAX,
        };
        let ready: Vec<OutboxEntry> = store
            .ready(cutoff)?
            .into_iter()
            .filter(|e| !tried.contains(&e.id))
            .collect();
        if ready.is_empty() {
            report.deferred = store.ready(i64::MAX)?.len();
            return Ok(report);
        }
        for window in ready.chunks(in_flight * WINDOW) {
            let mut steps = Vec::with_capacity(window.len());
            let mut ready_to_send = Vec::with_capacity(window.len());
            for entry in window {
                tried.insert(entry.id.clone());
                match prepare(backend, store, entry, &mut report, keys).await? {
                    Prepared::Settled(step) => steps.push(step),
                    Prepared::Send(base_version) => ready_to_send.push((entry, base_version)),
                }
            }
            let backend_time = backend
                .clock_offset()
                .map(|offset| Timestamp::from(store.clock().instant_ahead_by(offset)));
            let ids: Vec<&str> = ready_to_send.iter().map(|(e, _)| e.id.as_str()).collect();
            let marked = store.mark_sending_all(&ids, keys, backend_time)?;
            // One dropped or settled elsewhere meanwhile is not ours to send.
            let sends: Vec<_> = ready_to_send
                .into_iter()
                .zip(marked)
                .filter_map(|(send, marked)| marked.then_some(send))
                .collect();
            let pushes: Vec<Push<'_>> = sends
                .iter()
                .map(|(entry, base)| Push {
                    action_id: &entry.id,
                    case_id: &entry.case_id,
                    action: &entry.action,
                    base_version: base.as_deref(),
                    first_sent: entry.first_sent_backend_at,
                })
                .collect();
            // Each group's answers are settled, with one lazy commit, while
            // the next group's requests are in flight: the back-end's work
            // and ours overlap. Every answer is settled before anything else
            // is decided: a request that went out is never left "sending"
            // for nothing. A failure settling one does not stop the others:
            // the first is returned once all were tried.
            let mut outcomes = Vec::with_capacity(sends.len());
            let mut answered = 0;
            let mut previous = Vec::new();
            for group in pushes.chunks(in_flight) {
                let settling = &sends[answered - previous.len()..answered];
                let (got, settled) = futures_util::future::join(
                    futures_util::future::join_all(group.iter().map(|push| backend.push(push))),
                    async {
                        settle_all(store, settling, std::mem::take(&mut previous), &mut report)
                    },
                )
                .await;
                outcomes.extend(settled?);
                let trouble = got.iter().any(troubled);
                answered += got.len();
                previous = got;
                if trouble {
                    // The link or the back-end is in trouble: the rest of
                    // the window waits for the round's verdict below.
                    break;
                }
            }
            let last = &sends[answered - previous.len()..answered];
            outcomes.extend(settle_all(store, last, previous, &mut report)?);
            let unsent: Vec<&OutboxEntry> = sends[answered..].iter().map(|(e, _)| *e).collect();
            if !unsent.is_empty() {
                store.unmark_sending(&unsent)?;
                for entry in unsent {
                    tried.remove(&entry.id);
                }
            }
            let mut failure = None;
            for ((entry, _), outcome) in sends.iter().zip(outcomes) {
                let step = match outcome {
                    Ok(Outcome::Step(step)) => Ok(step),
                    Ok(Outcome::Rebase(theirs)) => {
                        rebase(backend, store, entry, theirs, &mut report).await
                    }
                    Err(e) => Err(e),
                };
                match step {
                    Ok(step) => steps.push(step),
                    Err(e) => {
                        failure.get_or_insert(e);
                    }
                }
            }
            if let Some(e) = failure {
                return Err(e);
            }
            for step in steps {
                match step {
                    Step::Settled => failures_in_a_row = 0,
                    Step::Deferred => {
                        failures_in_a_row += 1;
                        if failures_in_a_row >= AWAY_AFTER {
                            stop.get_or_insert("several cases failed in a row");
                        }
                    }
                    Step::Stop => stop = Some("the back-end asked to wait"),
                    Step::Waits => {}
                }
            }
            if let Some(why) = stop {
                report.deferred = store.ready(i64::MAX)?.len();
                report.away = Some(why.into());
                return Ok(report);
            }
        }
    }
}

/// Settles answers in the store with one lazy commit (see
/// `Store::relax_durability`: the next "sending" mark puts it on disk).
fn settle_all(
    store: &mut Store,
    sent: &[(&OutboxEntry, Option<String>)],
    answers: Vec<Result<crate::domain::Case, BackendError>>,
    report: &mut PushReport,
) -> Result<Vec<Result<Outcome, SyncError>>, SyncError> {
    if answers.is_empty() {
        return Ok(Vec::new());
    }
    store.relax_durability(true)?;
    let settled = store.in_one_commit(|store| {
        sent.iter()
            .zip(answers)
            .map(|((entry, _), answer)| settle(store, entry, answer, report))
            .collect()
    });
    store.relax_durability(false)?;
    Ok(settled?)
}

/// An answer saying the link or the back-end is in trouble, after which
/// the rest of a window is not sent in the same go.
fn troubled(answer: &Result<crate::domain::Case, BackendError>) -> bool {
    matches!(
        answer,
        Err(BackendError::Transient { .. }
            | BackendError::InDoubt(_)
            | BackendError::Protocol(_)
            | BackendError::Auth(_))
    )
}

/// What to do with an action before any request for it leaves.
enum Prepared {
    /// Settled here (read back, found applied, in conflict) or left for later.
    Settled(Step),
    /// To be sent over this version (once marked "sending").
    Send(Option<String>),
}

/// Settles an action whose outcome was unknown by reading back, and checks
/// a field change against the freshest copy held here.
async fn prepare(
    backend: &impl Backend,
    store: &mut Store,
    entry: &OutboxEntry,
    report: &mut PushReport,
    keys: bool,
) -> Result<Prepared, SyncError> {
    let settled = |step| Ok(Prepared::Settled(step));
    if let crate::domain::Action::Open {
        citizen: None,
        case,
    } = &entry.action
        && is_provisional(&case.citizen)
    {
        // Another case opened here records this citizen first.
        return settled(Step::Waits);
    }
    if is_provisional(&entry.case_id) && !entry.action.opens() {
        // Its opening was dropped: there is no case to act on.
        store.mark_failed(
            &entry.id,
            "this case was never opened on the back-end (its opening was dropped)",
        )?;
        report.failed += 1;
        return settled(Step::Settled);
    }
    let in_doubt = entry.doubtful || entry.state == OutboxState::InDoubt;
    if in_doubt && !replay_settles(entry, keys, backend.clock_offset(), store.clock()) {
        match read_back(backend, store, entry).await {
            Ok(ReadBack::Applied(case)) => {
                store.mark_done(&entry.id, &case, Settled::ReadBack)?;
                report.note_numbered(entry, &case);
                report.found_applied += 1;
                return settled(Step::Settled);
            }
            Ok(ReadBack::Conflict(theirs)) => {
                store.mark_conflict(&entry.id, &theirs)?;
                report.conflicts += 1;
                return settled(Step::Settled);
            }
            Ok(ReadBack::Gone) => {
                store.mark_failed(&entry.id, "the case is gone or out of your reach")?;
                report.failed += 1;
                return settled(Step::Settled);
            }
            Ok(ReadBack::NotApplied) => store.clear_doubt(&entry.id)?,
            Err(SyncError::Backend(e)) => {
                return settle_error(store, entry, e, report).map(Prepared::Settled);
            }
            Err(e) => return Err(e),
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
            store.mark_done(&entry.id, &current, Settled::ReadBack)?;
            report.found_applied += 1;
            return settled(Step::Settled);
        }
        if entry.action.conflicts_with(&entry.seen, &current) {
            store.mark_conflict(&entry.id, &current)?;
            report.conflicts += 1;
            return settled(Step::Settled);
        }
        base_version = Some(current.version);
    }
    Ok(Prepared::Send(base_version))
}

/// What an answer leaves to do.
enum Outcome {
    Step(Step),
    /// Refused for the version alone, with the action's fields untouched:
    /// to be sent again over the back-end's version (see `rebase`).
    Rebase(Box<crate::domain::Case>),
}

/// Settles the answer to an action's send, in the store only: nothing is
/// sent from here, so a window's answers are settled in one commit.
fn settle(
    store: &mut Store,
    entry: &OutboxEntry,
    answer: Result<crate::domain::Case, BackendError>,
    report: &mut PushReport,
) -> Result<Outcome, SyncError> {
    match answer {
        Ok(case) => {
            store.mark_done(&entry.id, &case, Settled::Sent)?;
            report.note_numbered(entry, &case);
            report.applied += 1;
            Ok(Outcome::Step(Step::Settled))
        }
        Err(BackendError::Conflict { theirs }) if entry.action.is_reflected_in(&theirs) => {
            store.mark_done(&entry.id, &theirs, Settled::ReadBack)?;
            report.found_applied += 1;
            Ok(Outcome::Step(Step::Settled))
        }
        Err(BackendError::Conflict { theirs })
            if !entry.action.conflicts_with(&entry.seen, &theirs) =>
        {
            Ok(Outcome::Rebase(theirs))
        }
        Err(e) => settle_error(store, entry, e, report).map(Outcome::Step),
    }
}

/// The copy held here was behind: the action is sent again over the
/// back-end's version, `MAX_REBASES` sends in all, then left for later.
async fn rebase(
    backend: &impl Backend,
    store: &mut Store,
    entry: &OutboxEntry,
    mut theirs: Box<crate::domain::Case>,
    report: &mut PushReport,
) -> Result<Step, SyncError> {
    for _ in 1..MAX_REBASES {
        store.rebase(&entry.id, &theirs)?;
        let answer = backend
            .push(&Push {
                action_id: &entry.id,
                case_id: &entry.case_id,
                action: &entry.action,
                base_version: Some(theirs.version.as_str()),
                first_sent: entry.first_sent_backend_at,
            })
            .await;
        match settle(store, entry, answer, report)? {
            Outcome::Step(step) => return Ok(step),
            Outcome::Rebase(newer) => theirs = newer,
        }
    }
    store.rebase(&entry.id, &theirs)?;
    store.mark_retry(
        &entry.id,
        "the case keeps changing on the back-end",
        later(entry, None, store.clock()),
    )?;
    Ok(Step::Deferred)
}

fn settle_error(
    store: &mut Store,
    entry: &OutboxEntry,
    error: BackendError,
    report: &mut PushReport,
) -> Result<Step, SyncError> {
    let message = error.to_string();
    match error {
        BackendError::Transient { retry_after, .. } => {
            store.mark_retry(
                &entry.id,
                &message,
                later(entry, retry_after, store.clock()),
            )?;
            // Asked to wait: everyone waits. Otherwise only this case does.
            Ok(if retry_after.is_some() {
                Step::Stop
            } else {
                Step::Deferred
            })
        }
        BackendError::InDoubt(_) | BackendError::Protocol(_) => {
            store.mark_in_doubt(&entry.id, &message, later(entry, None, store.clock()))?;
            Ok(Step::Deferred)
        }
        BackendError::Auth(_) => {
            // Not the action's fault: it waits, untouched, for a new login.
            store.mark_retry(&entry.id, &message, 0)?;
            Err(SyncError::LoginNeeded(message))
        }
        BackendError::Conflict { theirs } => {
            store.mark_conflict(&entry.id, &theirs)?;
            report.conflicts += 1;
            Ok(Step::Settled)
        }
        BackendError::Rejected(reason) => {
            store.mark_failed(&entry.id, &reason)?;
            report.failed += 1;
            Ok(Step::Settled)
        }
        BackendError::NotFound => {
            store.mark_failed(&entry.id, "the case is gone or out of your reach")?;
            report.failed += 1;
            Ok(Step::Settled)
        }
    }
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::replay_settles;
    use crate::domain::{Action, Clock, Timestamp};

    fn at(text: &str) -> Timestamp {
        Timestamp::parse(text).unwrap()
    }
    use crate::store::{OutboxEntry, Store, test_store};

    const HOUR: Duration = Duration::from_secs(3600);

    /// A comment first sent at 10:00 by the workstation's clock, with or
    /// without a key, when the back-end's clock said 05:00.
    fn sent_at_ten(with_key: bool) -> (tempfile::TempDir, Store, Clock, OutboxEntry) {
        let (dir, mut store) = test_store();
        let clock = Clock::stopped_at(at("2026-11-28 10:00:00"));
        store.set_clock(clock.clone());
        crate::store::save_case_one(&mut store);
        let queued = store
            .enqueue("CS1", Action::Comment { text: "x".into() })
            .unwrap();
        assert!(
            store
                .mark_sending(&queued.id, with_key, Some(at("2026-11-28 05:00:00")))
                .unwrap()
        );
        let sent = store.action(&queued.id).unwrap();
        (dir, store, clock, sent)
    }

    const FIVE_HOURS_BEHIND: Option<i64> = Some(-5 * 3600);

    #[test]
    fn a_replay_is_trusted_for_a_day_by_the_backends_clock() {
        let (_dir, _store, clock, sent) = sent_at_ten(true);
        assert_eq!(sent.first_sent_at, Some(at("2026-11-28 10:00:00")));
        clock.advance(23 * HOUR);
        assert!(replay_settles(&sent, true, FIVE_HOURS_BEHIND, &clock));
        assert!(
            !replay_settles(&sent, false, FIVE_HOURS_BEHIND, &clock),
            "a back-end without keys replays nothing"
        );
        // The back-end's clock was put 2 hours forward since: by its clock
        // the key is 25 hours old, though ours says 23.
        assert!(!replay_settles(&sent, true, Some(-3 * 3600), &clock));
        clock.advance(HOUR);
        assert!(
            !replay_settles(&sent, true, FIVE_HOURS_BEHIND, &clock),
            "a day old: the key may be forgotten"
        );
    }

    #[test]
    fn without_the_backends_clock_the_workstations_decides() {
        let (_dir, _store, clock, sent) = sent_at_ten(true);
        clock.advance(24 * HOUR - Duration::from_secs(1));
        assert!(replay_settles(&sent, true, None, &clock));
        clock.advance(Duration::from_secs(1));
        assert!(!replay_settles(&sent, true, None, &clock));
    }

    #[test]
    fn a_send_without_a_key_is_never_settled_by_a_replay() {
        let (_dir, _store, clock, sent) = sent_at_ten(false);
        assert_eq!(sent.keyless_sends, 1);
        assert!(!replay_settles(&sent, true, FIVE_HOURS_BEHIND, &clock));
    }
}

//! The outbox: actions the agent made, durable before the console says
//! "queued", replayed in order per case, leaving only when the back-end
//! acknowledged them or the agent dropped them.

use rusqlite::{Connection, OptionalExtension, params};
use serde::Serialize;

use super::cases::{refresh_shown, write_shown};
use super::{Store, StoreError, StoreResult};
use std::collections::BTreeMap;

use crate::domain::{Action, Case, CaseField, Timestamp};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum OutboxState {
    /// Waiting to be sent.
    Pending,
    /// Handed to the network; at start-up such a row becomes in_doubt.
    Sending,
    /// Sent without an answer: the back-end may or may not have applied it.
    InDoubt,
    Done,
    /// Refused by the back-end; waits for the agent (retry or drop).
    Failed,
    /// The case changed on the back-end; waits for the agent (mine, theirs).
    Conflict,
    Dropped,
}

impl OutboxState {
    pub const ALL: [OutboxState; 7] = [
        OutboxState::Pending,
        OutboxState::Sending,
        OutboxState::InDoubt,
        OutboxState::Done,
        OutboxState::Failed,
        OutboxState::Conflict,
        OutboxState::Dropped,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            OutboxState::Pending => "pending",
            OutboxState::Sending => "sending",
            OutboxState::InDoubt => "in_doubt",
            OutboxState::Done => "done",
            OutboxState::Failed => "failed",
            OutboxState::Conflict => "conflict",
            OutboxState::Dropped => "dropped",
        }
    }

    fn parse(text: &str) -> Option<OutboxState> {
        OutboxState::ALL.into_iter().find(|s| s.as_str() == text)
    }
}

/// How a done action was settled.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Settled {
    /// Its send was answered.
    Sent,
    /// Its answer was lost; reading the back-end back found it applied.
    ReadBack,
}

impl Settled {
    pub fn as_str(self) -> &'static str {
        match self {
            Settled::Sent => "sent",
            Settled::ReadBack => "read_back",
        }
    }

    fn parse(text: &str) -> Option<Settled> {
        [Settled::Sent, Settled::ReadBack]
            .into_iter()
            .find(|s| s.as_str() == text)
    }
}

#[derive(Debug, Clone, Serialize)]
pub struct OutboxEntry {
    pub seq: i64,
    pub id: String,
    pub case_id: String,
    pub case_number: String,
    pub action: Action,
    pub base_version: Option<String>,
    pub created_at: Timestamp,
    pub state: OutboxState,
    pub attempts: u32,
    /// Epoch milliseconds before which the action is not retried.
    pub next_attempt_at: i64,
    pub last_error: Option<String>,
    /// On conflict: the back-end's copy of the case.
    pub theirs: Option<Case>,
    /// For a done action: `sent`, or `read_back` when a read-back found it
    /// already applied (its answer had been lost).
    pub settled_by: Option<Settled>,
    /// Sends made without an idempotency key.
    pub keyless_sends: u32,
    /// A send's outcome is unknown: settle it before sending again.
    pub doubtful: bool,
    /// When the action first left (local clock).
    pub first_sent_at: Option<Timestamp>,
    /// When the action first left, by the back-end's clock, when known.
    pub first_sent_backend_at: Option<Timestamp>,
    /// What the agent saw of the fields the action sets.
    #[serde(skip)]
    pub seen: BTreeMap<CaseField, String>,
}

/// Writes a new pending action on `shown` (the case as the agent sees it).
pub(super) fn insert_action(
    tx: &Connection,
    now: Timestamp,
    id: &str,
    shown: &Case,
    action: &Action,
    base_version: Option<&str>,
) -> StoreResult<()> {
    let action_json = super::to_json(action)?;
    let seen = super::to_json(&action.seen_values(shown))?;
    tx.execute(
        "INSERT INTO outbox (id, case_id, case_number, action, base_version, seen, created_at, state, updated_at)
         VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
        params![
            id,
            shown.id,
            shown.number,
            action_json,
            base_version,
            seen,
            now,
            OutboxState::Pending.as_str(),
            now
        ],
    )?;
    Ok(())
}

/// An SQL list of state names, made from the enum (the one source of the
/// names): `('pending', 'sending')`.
pub(super) fn states_sql(states: &[OutboxState]) -> String {
    let names: Vec<String> = states.iter().map(|s| format!("'{}'", s.as_str())).collect();
    format!("({})", names.join(", "))
}

/// Actions whose effect the agent sees on the case (not yet acknowledged).
pub(super) const FOLDED: [OutboxState; 3] = [
    OutboxState::Pending,
    OutboxState::Sending,
    OutboxState::InDoubt,
];
/// Actions not yet applied or dropped (a list the outbox_state index
/// serves; `NOT IN` would scan the whole history).
const UNFINISHED_STATES: [OutboxState; 5] = [
    OutboxState::Pending,
    OutboxState::Sending,
    OutboxState::InDoubt,
    OutboxState::Failed,
    OutboxState::Conflict,
];
/// Actions that may be sent when their time comes.
const SENDABLE: [OutboxState; 2] = [OutboxState::Pending, OutboxState::InDoubt];
/// Actions waiting for the agent's decision.
pub(super) const DECISION: [OutboxState; 2] = [OutboxState::Conflict, OutboxState::Failed];

static UNFINISHED: std::sync::LazyLock<String> =
    std::sync::LazyLock::new(|| states_sql(&UNFINISHED_STATES));

const ENTRY_COLUMNS: &str = "seq, id, case_id, case_number, action, base_version, created_at, state, attempts, \
     next_attempt_at, last_error, theirs, settled_by, seen, keyless_sends, doubtful, first_sent_at, first_sent_backend_at";

fn entry_from_row(r: &rusqlite::Row<'_>) -> rusqlite::Result<Result<OutboxEntry, StoreError>> {
    let action: String = r.get(4)?;
    let state: String = r.get(7)?;
    let theirs: Option<String> = r.get(11)?;
    let seen: String = r.get(13)?;
    let parsed = (|| {
        Ok(OutboxEntry {
            seq: r.get(0)?,
            id: r.get(1)?,
            case_id: r.get(2)?,
            case_number: r.get(3)?,
            action: super::from_json("outbox action", &action)?,
            base_version: r.get(5)?,
            created_at: r.get(6)?,
            state: OutboxState::parse(&state)
                .ok_or_else(|| StoreError::Corrupt(format!("outbox state '{state}'")))?,
            attempts: r.get(8)?,
            next_attempt_at: r.get(9)?,
            last_error: r.get(10)?,
            theirs: theirs
                .map(|t| super::from_json("outbox theirs", &t))
                .transpose()?,
            settled_by: r
                .get::<_, Option<String>>(12)?
                .map(|s| {
                    Settled::parse(&s)
                        .ok_or_else(|| StoreError::Corrupt(format!("outbox settled_by '{s}'")))
                })
                .transpose()?,
            keyless_sends: r.get(14)?,
            doubtful: r.get(15)?,
            first_sent_at: r.get(16)?,
            first_sent_backend_at: r.get(17)?,
            seen: super::from_json("outbox seen", &seen)?,
        })
    })();
    Ok(parsed.map_err(|e: StoreError| e))
}

pub(super) fn audit(
    tx: &rusqlite::Connection,
    at: Timestamp,
    action_id: &str,
    case_number: &str,
    event: &str,
    detail: &str,
) -> StoreResult<()> {
    tx.prepare_cached(
        "INSERT INTO audit (at, action_id, case_number, event, detail) VALUES (?, ?, ?, ?, ?)",
    )?
    .execute(params![at, action_id, case_number, event, detail])?;
    Ok(())
}

/// After the agent decided on an action: the decision on the trail, the
/// case shown as its actions now leave it, and the action as it now stands.
fn decided(
    tx: &Connection,
    at: Timestamp,
    action: &OutboxEntry,
    event: &str,
    detail: &str,
) -> StoreResult<OutboxEntry> {
    audit(tx, at, &action.id, &action.case_number, event, detail)?;
    refresh_shown(tx, &action.case_id)?;
    entry(tx, &action.id)
}

/// An action by id, or by the short sequence number the queue shows.
pub(super) fn entry(conn: &rusqlite::Connection, id: &str) -> StoreResult<OutboxEntry> {
    // Two indexed lookups, not one `id = ? OR CAST(seq AS TEXT) = ?`: that
    // scans the whole outbox, once per settled action during a replay.
    let by_id = conn
        .prepare_cached(&format!("SELECT {ENTRY_COLUMNS} FROM outbox WHERE id = ?1"))?
        .query_row([id], entry_from_row)
        .optional()?;
    let found = match (by_id, id.parse::<i64>()) {
        (Some(found), _) => Some(found),
        (None, Ok(seq)) => conn
            .prepare_cached(&format!(
                "SELECT {ENTRY_COLUMNS} FROM outbox WHERE seq = ?1"
            ))?
            .query_row([seq], entry_from_row)
            .optional()?,
        (None, Err(_)) => None,
    };
    found.ok_or_else(|| StoreError::UnknownAction(id.to_string()))?
}

fn set_state(
    tx: &Connection,
    at: Timestamp,
    id: &str,
    state: OutboxState,
    error: Option<&str>,
    next_attempt_at: Option<i64>,
) -> StoreResult<()> {
    tx.execute(
        "UPDATE outbox SET state = ?2, last_error = coalesce(?3, last_error),
           next_attempt_at = coalesce(?4, next_attempt_at), updated_at = ?5 WHERE id = ?1",
        params![id, state.as_str(), error, next_attempt_at, at],
    )?;
    Ok(())
}

impl Store {
    /// Queues an action on a case. When this returns, the action is on disk
    /// (synchronous=FULL) with the case's local copy updated and the audit
    /// written, in one transaction.
    pub fn enqueue(&mut self, case: &str, action: Action) -> StoreResult<OutboxEntry> {
        let shown = self.case(case)?;
        if let Some(stage) = self.stage_of_state(&shown.state)?
            && stage.is_final()
        {
            return Err(StoreError::Invalid(format!(
                "{} is {}: a {} case cannot be changed",
                shown.number,
                stage.as_str(),
                stage.as_str()
            )));
        }
        let id = uuid::Uuid::now_v7().to_string();
        let now = self.clock.now();
        let tx = self.write()?;
        insert_action(&tx, now, &id, &shown, &action, Some(&shown.version))?;
        audit(&tx, now, &id, &shown.number, "queued", &action.describe())?;
        refresh_shown(&tx, &shown.id)?;
        let queued = entry(&tx, &id)?;
        tx.commit()?;
        Ok(queued)
    }

    /// After a crash, an action caught in the middle of sending has an
    /// unknown outcome: it becomes in_doubt, never silently re-sent.
    pub fn recover_interrupted(&mut self) -> StoreResult<usize> {
        Ok(self.conn.execute(
            "UPDATE outbox SET state = ?2, doubtful = 1, updated_at = ?1 WHERE state = ?3",
            params![
                self.clock.now(),
                OutboxState::InDoubt.as_str(),
                OutboxState::Sending.as_str()
            ],
        )?)
    }

    /// The actions to push now: per case, the oldest unfinished one, if it
    /// is due; a case whose oldest is failed or in conflict waits for the
    /// agent without holding up other cases.
    pub fn ready(&self, now_ms: i64) -> StoreResult<Vec<OutboxEntry>> {
        let sql = format!(
            "SELECT {ENTRY_COLUMNS} FROM outbox o
             WHERE o.seq IN (SELECT min(seq) FROM outbox WHERE state IN {} GROUP BY case_id)
               AND o.state IN {} AND o.next_attempt_at <= ?
             ORDER BY o.seq",
            *UNFINISHED,
            states_sql(&SENDABLE)
        );
        let mut stmt = self.conn.prepare_cached(&sql)?;
        let rows = stmt.query_map([now_ms], entry_from_row)?;
        rows.map(|r| r?).collect()
    }

    pub fn action(&self, id: &str) -> StoreResult<OutboxEntry> {
        entry(&self.conn, id)
    }

    /// Commits "sending" before the request leaves, so a crash during the
    /// request is remembered as in doubt. False when the action is no longer
    /// waiting (the agent dropped it meanwhile): then it must not be sent.
    /// `backend_now`: the back-end's clock now, when known (kept for the
    /// first send, to read back by the back-end's own timestamps).
    pub fn mark_sending(
        &mut self,
        id: &str,
        with_key: bool,
        backend_now: Option<Timestamp>,
    ) -> StoreResult<bool> {
        Ok(self.mark_sending_all(&[id], with_key, backend_now)?[0])
    }

    /// `mark_sending` for actions about to leave together, in one durable
    /// transaction (one write to disk for all, not one each).
    pub fn mark_sending_all(
        &mut self,
        ids: &[&str],
        with_key: bool,
        backend_now: Option<Timestamp>,
    ) -> StoreResult<Vec<bool>> {
        let now = self.clock.now();
        let tx = self.write()?;
        let mut marked = Vec::with_capacity(ids.len());
        {
            let mut update = tx.prepare_cached(&format!(
                "UPDATE outbox SET state = ?5, attempts = attempts + 1,
                   keyless_sends = keyless_sends + ?2, first_sent_at = coalesce(first_sent_at, ?3),
                   first_sent_backend_at = CASE WHEN first_sent_at IS NULL THEN ?4 ELSE first_sent_backend_at END,
                   updated_at = ?3
                 WHERE id = ?1 AND state IN {}",
                states_sql(&SENDABLE)
            ))?;
            for id in ids {
                let changed = update.execute(params![
                    id,
                    i64::from(!with_key),
                    now,
                    backend_now,
                    OutboxState::Sending.as_str()
                ])?;
                marked.push(changed == 1);
            }
        }
        tx.commit()?;
        Ok(marked)
    }

    /// Actions marked "sending" whose requests never left (the round ended
    /// first) are put back exactly as they were before the mark: nothing
    /// then takes them for possibly sent. Left "sending" by a crash instead,
    /// they are settled as unknown outcomes, which is safe too, only slower.
    pub fn unmark_sending(&mut self, before: &[&OutboxEntry]) -> StoreResult<()> {
        let tx = self.write()?;
        {
            let mut update = tx.prepare_cached(
                "UPDATE outbox SET state = ?2, attempts = ?3, keyless_sends = ?4,
                   first_sent_at = ?5, first_sent_backend_at = ?6
                 WHERE id = ?1 AND state = 'sending'",
            )?;
            for entry in before {
                update.execute(params![
                    entry.id,
                    entry.state.as_str(),
                    entry.attempts,
                    entry.keyless_sends,
                    entry.first_sent_at,
                    entry.first_sent_backend_at
                ])?;
            }
        }
        tx.commit()?;
        Ok(())
    }

    /// One change to one queued action: a transaction at one instant, given
    /// the action as it stood; nothing is kept unless the change succeeds.
    fn change_action<T>(
        &mut self,
        id: &str,
        change: impl FnOnce(&Connection, Timestamp, OutboxEntry) -> StoreResult<T>,
    ) -> StoreResult<T> {
        let now = self.clock.now();
        let tx = self.write()?;
        let current = entry(&tx, id)?;
        let out = change(&tx, now, current)?;
        tx.commit()?;
        Ok(out)
    }

    /// A read-back found that the action did not land: it may be sent again.
    pub fn clear_doubt(&mut self, id: &str) -> StoreResult<()> {
        self.conn
            .execute("UPDATE outbox SET doubtful = 0 WHERE id = ?", [id])?;
        Ok(())
    }

    /// The back-end applied the action and returned the case: one
    /// transaction stores the case and marks the action done.
    pub fn mark_done(&mut self, id: &str, returned: &Case, settled_by: Settled) -> StoreResult<()> {
        self.change_action(id, |tx, now, done| {
            set_state(tx, now, id, OutboxState::Done, None, None)?;
            tx.execute(
                "UPDATE outbox SET settled_by = ?, doubtful = 0 WHERE id = ?",
                params![settled_by.as_str(), id],
            )?;
            // A case opened here now has the back-end's id and number.
            super::intake::replace_provisional(tx, now, &done, returned)?;
            // A replayed answer carries the case as it was at the first send; a
            // newer copy pulled since is kept.
            let held: Option<String> = tx
                .query_row(
                    "SELECT version FROM cases WHERE id = ?",
                    [&done.case_id],
                    |r| r.get(0),
                )
                .optional()?;
            let newer_held = matches!(
                (held.as_deref().map(str::parse::<u64>), returned.version.parse::<u64>()),
                (Some(Ok(held)), Ok(returned)) if held > returned
            );
            if !newer_held {
                write_shown(tx, returned)?;
            }
            if let Some((kind, text)) = done.action.journal() {
                // Shown at once in the timeline; the next fetch of the case's
                // timeline replaces it with the back-end's own entry.
                let me: Option<String> = tx
                    .query_row(
                        "SELECT value FROM meta WHERE key = 'me_user_name'",
                        [],
                        |r| r.get(0),
                    )
                    .optional()?;
                tx.execute(
                    "INSERT OR REPLACE INTO timeline (id, case_id, kind, text, author, at) VALUES (?, ?, ?, ?, ?, ?)",
                    params![format!("local-{id}"), done.case_id, kind.as_str(), text, me.unwrap_or_default(), done.created_at],
                )?;
            }
            audit(
                tx,
                now,
                id,
                &done.case_number,
                "applied",
                &format!("attempt {}", done.attempts),
            )?;
            Ok(())
        })
    }

    /// Unknown outcome (sent, no answer): retried only after a read-back.
    pub fn mark_in_doubt(
        &mut self,
        id: &str,
        error: &str,
        next_attempt_at: i64,
    ) -> StoreResult<()> {
        let now = self.clock.now();
        let tx = self.write()?;
        set_state(
            &tx,
            now,
            id,
            OutboxState::InDoubt,
            Some(error),
            Some(next_attempt_at),
        )?;
        tx.execute("UPDATE outbox SET doubtful = 1 WHERE id = ?", [id])?;
        tx.commit()?;
        Ok(())
    }

    /// Not applied (never sent, or refused for a passing reason): try later.
    pub fn mark_retry(&mut self, id: &str, error: &str, next_attempt_at: i64) -> StoreResult<()> {
        self.change_action(id, |tx, now, current| {
            // An action whose outcome is unknown stays so until read back.
            let state = if current.doubtful {
                OutboxState::InDoubt
            } else {
                OutboxState::Pending
            };
            set_state(tx, now, id, state, Some(error), Some(next_attempt_at))?;
            Ok(())
        })
    }

    /// Refused for good: waits for the agent; the case shows the back-end's copy.
    pub fn mark_failed(&mut self, id: &str, error: &str) -> StoreResult<()> {
        self.change_action(id, |tx, now, failed| {
            set_state(tx, now, id, OutboxState::Failed, Some(error), None)?;
            audit(tx, now, id, &failed.case_number, "failed", error)?;
            refresh_shown(tx, &failed.case_id)?;
            Ok(())
        })
    }

    /// The case changed since the agent saw it: keep both copies, apply
    /// nothing, and let the agent choose.
    pub fn mark_conflict(&mut self, id: &str, theirs: &Case) -> StoreResult<()> {
        self.change_action(id, |tx, now, conflicted| {
            let theirs_json = super::to_json(theirs)?;
            tx.execute(
                "UPDATE outbox SET state = ?5, theirs = ?2, last_error = ?3, updated_at = ?4 WHERE id = ?1",
                params![
                    id,
                    theirs_json,
                    format!("the case changed on the back-end (version {})", theirs.version),
                    now,
                    OutboxState::Conflict.as_str()
                ],
            )?;
            write_shown(tx, theirs)?;
            audit(
                tx,
                now,
                id,
                &conflicted.case_number,
                "conflict",
                &format!("back-end version {}", theirs.version),
            )?;
            Ok(())
        })
    }

    /// The case moved on, but nobody touched the fields this action sets:
    /// keep the back-end's copy and send the action over its version.
    pub fn rebase(&mut self, id: &str, theirs: &Case) -> StoreResult<()> {
        self.change_action(id, |tx, now, current| {
            write_shown(tx, theirs)?;
            tx.execute(
                "UPDATE outbox SET base_version = ?2, updated_at = ?3 WHERE id = ?1",
                params![current.id, theirs.version, now],
            )?;
            Ok(())
        })
    }

    /// The queue as the agent sees it, oldest first.
    pub fn queue(&self, include_finished: bool) -> StoreResult<Vec<OutboxEntry>> {
        let filter = if include_finished {
            String::new()
        } else {
            format!("WHERE state IN {}", *UNFINISHED)
        };
        let mut stmt = self.conn.prepare(&format!(
            "SELECT {ENTRY_COLUMNS} FROM outbox {filter} ORDER BY seq"
        ))?;
        let rows = stmt.query_map([], entry_from_row)?;
        rows.map(|r| r?).collect()
    }

    /// The unfinished actions on one case, oldest first (outbox_case index).
    pub fn queue_of_case(&self, case_id: &str) -> StoreResult<Vec<OutboxEntry>> {
        let mut stmt = self.conn.prepare_cached(&format!(
            "SELECT {ENTRY_COLUMNS} FROM outbox WHERE case_id = ? AND state IN {} ORDER BY seq",
            *UNFINISHED
        ))?;
        let rows = stmt.query_map([case_id], entry_from_row)?;
        rows.map(|r| r?).collect()
    }

    /// How many unfinished actions are in each state (the status bar's count).
    pub fn queue_counts(&self) -> StoreResult<Vec<(OutboxState, u64)>> {
        let mut stmt = self.conn.prepare_cached(&format!(
            "SELECT state, count(*) FROM outbox WHERE state IN {} GROUP BY state",
            *UNFINISHED
        ))?;
        let rows = stmt.query_map([], |r| Ok((r.get::<_, String>(0)?, r.get::<_, i64>(1)?)))?;
        let mut out = Vec::new();
        for row in rows {
            let (state, n) = row?;
            let state = OutboxState::parse(&state)
                .ok_or_else(|| StoreError::Corrupt(format!("outbox state '{state}'")))?;
            out.push((state, n.max(0) as u64));
        }
        Ok(out)
    }

    /// The agent asks to try a failed action again.
    pub fn retry(&mut self, id: &str) -> StoreResult<OutboxEntry> {
        self.change_action(id, |tx, now, current| {
            if current.state != OutboxState::Failed {
                return Err(StoreError::Invalid(format!(
                    "action {} is {}; only a failed action can be retried",
                    current.seq,
                    current.state.as_str()
                )));
            }
            // A refused action whose earlier send may have landed is read back
            // before it is sent again.
            let state = if current.doubtful {
                OutboxState::InDoubt
            } else {
                OutboxState::Pending
            };
            set_state(tx, now, &current.id, state, None, Some(0))?;
            decided(tx, now, &current, "retry", "asked by the agent")
        })
    }

    /// The agent drops an action: the only way queued work leaves unapplied.
    pub fn drop_action(&mut self, id: &str) -> StoreResult<OutboxEntry> {
        self.change_action(id, |tx, now, current| {
            if matches!(
                current.state,
                OutboxState::Done | OutboxState::Dropped | OutboxState::Sending
            ) {
                return Err(StoreError::Invalid(format!(
                    "action {} is {} and cannot be dropped",
                    current.seq,
                    current.state.as_str()
                )));
            }
            set_state(tx, now, &current.id, OutboxState::Dropped, None, None)?;
            decided(tx, now, &current, "dropped", "asked by the agent")
        })
    }

    /// Resolves a conflict. Mine: apply the agent's action over the
    /// back-end's version the agent has now seen. Theirs: keep the
    /// back-end's copy and drop the action.
    pub fn resolve_conflict(&mut self, id: &str, keep_mine: bool) -> StoreResult<OutboxEntry> {
        self.change_action(id, |tx, now, current| {
            if current.state != OutboxState::Conflict {
                return Err(StoreError::Invalid(format!(
                    "action {} is {}, not in conflict",
                    current.seq,
                    current.state.as_str()
                )));
            }
            if keep_mine {
                // The agent has now seen theirs: the action applies over it.
                let theirs = current.theirs.as_ref();
                let seen = theirs
                    .map(|t| super::to_json(&current.action.seen_values(t)))
                    .transpose()?;
                tx.execute(
                    "UPDATE outbox SET state = ?5, base_version = coalesce(?2, base_version),
                       seen = coalesce(?3, seen), next_attempt_at = 0, theirs = NULL, updated_at = ?4 WHERE id = ?1",
                    params![
                        current.id,
                        theirs.map(|t| t.version.clone()),
                        seen,
                        now,
                        OutboxState::Pending.as_str()
                    ],
                )?;
            } else {
                set_state(tx, now, &current.id, OutboxState::Dropped, None, None)?;
            }
            let choice = if keep_mine {
                "kept mine"
            } else {
                "took theirs"
            };
            decided(tx, now, &current, "resolved", choice)
        })
    }

    /// How many of the agent's done actions on the same case appended this
    /// same journal text, sent after `since`, other than `except` (read-back).
    pub fn done_twins(&self, except: &OutboxEntry, since: Timestamp) -> StoreResult<usize> {
        let action = super::to_json(&except.action)?;
        // By when they were sent, on the same clock as the window searched:
        // the back-end's where it was known.
        let n: i64 = self.conn.query_row(
            "SELECT count(*) FROM outbox WHERE case_id = ? AND action = ? AND state = ? AND id != ?
               AND coalesce(first_sent_backend_at, first_sent_at) >= ?",
            params![
                except.case_id,
                action,
                OutboxState::Done.as_str(),
                except.id,
                since
            ],
            |r| r.get(0),
        )?;
        Ok(n.max(0) as usize)
    }

    pub fn unfinished_count(&self) -> StoreResult<u64> {
        let n: i64 = self.conn.query_row(
            &format!("SELECT count(*) FROM outbox WHERE state IN {}", *UNFINISHED),
            [],
            |r| r.get(0),
        )?;
        Ok(n.max(0) as u64)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::Choice;
    use crate::domain::{ChoiceList, Stage};
    use crate::store::test_store;

    fn case(id: &str, version: &str) -> Case {
        Case {
            id: id.into(),
            number: format!("CS{id}"),
            state: "10".into(),
            priority: 4,
            version: version.into(),
            ..Case::default()
        }
    }

    fn queue_comment(store: &mut Store, case: &str, text: &str) -> OutboxEntry {
        store
            .enqueue(
                case,
                Action::Comment {
                    text: text.to_string(),
                },
            )
            .unwrap()
    }

    fn seeded() -> (tempfile::TempDir, Store) {
        let (dir, mut store) = test_store();
        store
            .save_choices(&[
                Choice {
                    list: ChoiceList::State,
                    value: "10".into(),
                    label_en: "Open".into(),
                    label_fr: "Ouvert".into(),
                    sequence: 2,
                    stage: Some(Stage::Open),
                },
                Choice {
                    list: ChoiceList::State,
                    value: "3".into(),
                    label_en: "Closed".into(),
                    label_fr: "Clos".into(),
                    sequence: 5,
                    stage: Some(Stage::Closed),
                },
            ])
            .unwrap();
        store.save_cases(&[case("1", "5"), case("2", "1")]).unwrap();
        (dir, store)
    }

    #[test]
    fn queued_actions_show_locally_and_survive_a_pull() {
        let (_dir, mut store) = seeded();
        store
            .enqueue("CS1", Action::Priority { priority: 1 })
            .unwrap();
        assert_eq!(store.case("CS1").unwrap().priority, 1, "optimistic");
        // A pull brings the back-end's copy: the pending action stays applied.
        let mut newer = case("1", "6");
        newer.summary = "changed by someone".into();
        store.save_cases(&[newer]).unwrap();
        let shown = store.case("CS1").unwrap();
        assert_eq!(
            (shown.priority, shown.summary.as_str()),
            (1, "changed by someone")
        );
        assert_eq!(store.base_case("1").unwrap().unwrap().priority, 4);
    }

    #[test]
    fn one_blocked_case_does_not_hold_up_others_and_order_is_kept() {
        let (_dir, mut store) = seeded();
        let a1 = queue_comment(&mut store, "CS1", "a");
        let a2 = queue_comment(&mut store, "CS1", "b");
        let b1 = queue_comment(&mut store, "CS2", "c");
        let ready: Vec<String> = store
            .ready(i64::MAX)
            .unwrap()
            .into_iter()
            .map(|e| e.id)
            .collect();
        assert_eq!(
            ready,
            [a1.id.clone(), b1.id.clone()],
            "only the oldest per case"
        );
        store.mark_failed(&a1.id, "refused").unwrap();
        let ready: Vec<String> = store
            .ready(i64::MAX)
            .unwrap()
            .into_iter()
            .map(|e| e.id)
            .collect();
        assert_eq!(
            ready,
            std::slice::from_ref(&b1.id),
            "CS1 waits for the agent, CS2 goes on"
        );
        store.drop_action(&a1.id).unwrap();
        let ready: Vec<String> = store
            .ready(i64::MAX)
            .unwrap()
            .into_iter()
            .map(|e| e.id)
            .collect();
        assert_eq!(ready, [a2.id, b1.id]);
    }

    #[test]
    fn an_action_dropped_before_its_send_is_not_sent() {
        let (_dir, mut store) = seeded();
        let a = queue_comment(&mut store, "CS1", "x");
        store.drop_action(&a.id).unwrap();
        assert!(
            !store.mark_sending(&a.id, true, None).unwrap(),
            "the pusher must skip it"
        );
        assert_eq!(store.action(&a.id).unwrap().state, OutboxState::Dropped);
    }

    #[test]
    fn a_crash_while_sending_leaves_the_action_in_doubt() {
        let (_dir, mut store) = seeded();
        let a = queue_comment(&mut store, "CS1", "x");
        store.mark_sending(&a.id, true, None).unwrap();
        assert_eq!(store.recover_interrupted().unwrap(), 1);
        assert_eq!(store.action(&a.id).unwrap().state, OutboxState::InDoubt);
        store.mark_retry(&a.id, "still down", 0).unwrap();
        assert_eq!(
            store.action(&a.id).unwrap().state,
            OutboxState::InDoubt,
            "stays in doubt until read back"
        );
    }

    #[test]
    fn actions_leaving_together_are_marked_in_one_go_but_a_dropped_one_is_not() {
        let (_dir, mut store) = test_store();
        crate::store::save_test_case(&mut store, "1");
        crate::store::save_test_case(&mut store, "2");
        let a = queue_comment(&mut store, "CS1", "a");
        let b = queue_comment(&mut store, "CS2", "b");
        store.drop_action(&b.id).unwrap();
        let marked = store
            .mark_sending_all(&[a.id.as_str(), b.id.as_str()], true, None)
            .unwrap();
        assert_eq!(marked, [true, false]);
        assert_eq!(store.action(&a.id).unwrap().state, OutboxState::Sending);
        assert_eq!(store.action(&a.id).unwrap().attempts, 1);
        assert_eq!(store.action(&b.id).unwrap().state, OutboxState::Dropped);
    }

    #[test]
    fn a_mark_whose_request_never_left_is_undone_exactly() {
        let (_dir, mut store) = seeded();
        let a = queue_comment(&mut store, "CS1", "a");
        let before = store.action(&a.id).unwrap();
        store
            .mark_sending_all(
                &[a.id.as_str()],
                false,
                Some(Timestamp::parse("2026-11-28 05:00:00").unwrap()),
            )
            .unwrap();
        store.unmark_sending(&[&before]).unwrap();
        let after = store.action(&a.id).unwrap();
        assert_eq!(after.state, OutboxState::Pending);
        assert_eq!(
            (
                after.attempts,
                after.keyless_sends,
                after.first_sent_at,
                after.first_sent_backend_at
            ),
            (0, 0, None, None),
            "nothing says it may have left"
        );
        assert_eq!(
            store.recover_interrupted().unwrap(),
            0,
            "not in doubt after a crash"
        );
    }

    #[test]
    fn one_commit_keeps_every_settled_action_but_the_one_that_failed() {
        let (_dir, mut store) = seeded();
        let a = queue_comment(&mut store, "CS1", "a");
        let b = queue_comment(&mut store, "CS2", "b");
        store
            .mark_sending_all(&[a.id.as_str(), b.id.as_str()], true, None)
            .unwrap();
        let outcomes = store
            .in_one_commit(|store| {
                [
                    store.mark_done(&a.id, &case("1", "6"), Settled::Sent),
                    store.mark_done("no-such-action", &case("2", "2"), Settled::Sent),
                ]
            })
            .unwrap();
        assert!(outcomes[0].is_ok() && outcomes[1].is_err());
        assert!(store.conn.is_autocommit(), "the batch is committed");
        assert_eq!(store.action(&a.id).unwrap().state, OutboxState::Done);
        assert_eq!(store.action(&b.id).unwrap().state, OutboxState::Sending);
        // By its short number too (the queue shows those).
        let seq = store.action(&b.id).unwrap().seq.to_string();
        assert_eq!(store.action(&seq).unwrap().id, b.id);
    }

    #[test]
    fn actions_remember_what_the_agent_saw_and_rebase_keeps_it() {
        let (_dir, mut store) = seeded();
        let a = store
            .enqueue("CS1", Action::Priority { priority: 1 })
            .unwrap();
        let b = store
            .enqueue("CS1", Action::Priority { priority: 2 })
            .unwrap();
        assert_eq!(
            a.seen.get(&CaseField::Priority).map(String::as_str),
            Some("4")
        );
        assert_eq!(
            b.seen.get(&CaseField::Priority).map(String::as_str),
            Some("1"),
            "includes my own earlier action"
        );
        let mut theirs = case("1", "9");
        theirs.summary = "a colleague's edit".into();
        store.rebase(&a.id, &theirs).unwrap();
        let a = store.action(&a.id).unwrap();
        assert_eq!(a.base_version.as_deref(), Some("9"));
        assert_eq!(
            store.case("CS1").unwrap().priority,
            2,
            "my pending actions still show"
        );
    }

    #[test]
    fn conflicts_keep_both_copies_and_resolve_either_way() {
        let (_dir, mut store) = seeded();
        let a = store
            .enqueue("CS1", Action::Priority { priority: 1 })
            .unwrap();
        let mut theirs = case("1", "8");
        theirs.priority = 2;
        store.mark_conflict(&a.id, &theirs).unwrap();
        let held = store.action(&a.id).unwrap();
        assert_eq!(held.theirs.as_ref().unwrap().priority, 2);
        assert_eq!(
            store.case("CS1").unwrap().priority,
            2,
            "theirs is shown while undecided"
        );
        let kept = store.resolve_conflict(&a.id, true).unwrap();
        assert_eq!(
            (kept.state, kept.base_version.as_deref()),
            (OutboxState::Pending, Some("8"))
        );
        assert_eq!(store.case("CS1").unwrap().priority, 1);
    }

    #[test]
    fn closed_cases_refuse_actions_locally() {
        let (_dir, mut store) = seeded();
        let mut closed = case("2", "3");
        closed.state = "3".into();
        store.save_cases(&[closed]).unwrap();
        let e = store
            .enqueue("CS2", Action::Comment { text: "x".into() })
            .unwrap_err();
        assert!(e.to_string().contains("closed"), "{e}");
        assert_eq!(store.unfinished_count().unwrap(), 0);
    }
}

//! Cases in the local store: the back-end's copy, and the copy the agent
//! sees (the back-end's with the agent's pending actions applied).

use rusqlite::{Connection, OptionalExtension, params};
use serde::Serialize;

use super::timestamps::EmptyIfUnset;
use super::{Store, StoreError, StoreResult};
use crate::domain::{Action, Case};

/// A case as listed: the shown case and the names that go with it.
#[derive(Debug, Clone, Serialize)]
pub struct CaseRow {
    #[serde(flatten)]
    pub case: Case,
    pub citizen_name: String,
    pub assignee_name: String,
    pub assignee_user_name: String,
    pub group_name: String,
    /// Actions of the agent on this case not yet acknowledged.
    pub pending: u32,
    /// An action of the agent on this case waits for a decision.
    pub conflict: bool,
}

pub(super) const CASE_COLUMNS: &str = "c.id, c.number, c.summary, c.description, c.state, c.priority, c.procedure, \
     c.channel, c.citizen, c.assignee, c.grp, c.opened, c.due, c.resolution_code, c.close_notes, c.updated, \
     c.updated_by, c.version";

pub(super) fn case_from_row(r: &rusqlite::Row<'_>) -> rusqlite::Result<Case> {
    Ok(Case {
        id: r.get(0)?,
        number: r.get(1)?,
        summary: r.get(2)?,
        description: r.get(3)?,
        state: r.get(4)?,
        priority: r.get(5)?,
        procedure: r.get(6)?,
        channel: r.get(7)?,
        citizen: r.get(8)?,
        assignee: r.get(9)?,
        group: r.get(10)?,
        opened: r.get::<_, EmptyIfUnset>(11)?.0,
        due: r.get::<_, EmptyIfUnset>(12)?.0,
        resolution_code: r.get(13)?,
        close_notes: r.get(14)?,
        updated: r.get::<_, EmptyIfUnset>(15)?.0,
        updated_by: r.get(16)?,
        version: r.get(17)?,
    })
}

/// States of outbox rows whose effect the agent should see on the case, as SQL.
pub(super) static FOLDED_STATES: std::sync::LazyLock<String> =
    std::sync::LazyLock::new(|| super::outbox::states_sql(&super::outbox::FOLDED));

/// A case as the store holds it, read once per write: its row, the shown
/// fields its search rows are made of, and the back-end's copy (JSON,
/// parsed only when compared).
struct Held {
    row: i64,
    number: String,
    citizen: Option<String>,
    summary: String,
    description: String,
    procedure: String,
    base: String,
}

impl Held {
    fn read(tx: &Connection, id: &str) -> StoreResult<Option<Held>> {
        Ok(tx
            .prepare_cached(
                "SELECT row, number, citizen, summary, description, procedure, base
                 FROM cases WHERE id = ?",
            )?
            .query_row([id], |r| {
                Ok(Held {
                    row: r.get(0)?,
                    number: r.get(1)?,
                    citizen: r.get(2)?,
                    summary: r.get(3)?,
                    description: r.get(4)?,
                    procedure: r.get(5)?,
                    base: r.get(6)?,
                })
            })
            .optional()?)
    }

    /// The back-end's copy of case `id`.
    fn base(&self, id: &str) -> StoreResult<Case> {
        super::from_json(&format!("case {id}"), &self.base)
    }
}

/// Writes the shown copy of a case: `base` with pending actions applied,
/// and its search words.
pub(super) fn write_shown(tx: &Connection, base: &Case) -> StoreResult<()> {
    let held = Held::read(tx, &base.id)?;
    let due = store_shown(tx, base, held.as_ref())?;
    super::words::write(tx, due.as_slice())
}

/// Writes the shown copy of a case over what is `held` of it, and says
/// whether its search words are to be written (`words::write`, once for a
/// batch of cases).
fn store_shown(
    tx: &Connection,
    base: &Case,
    held: Option<&Held>,
) -> StoreResult<Option<super::words::Due>> {
    let mut shown = base.clone();
    let mut stmt = tx.prepare_cached(&format!(
        "SELECT action FROM outbox WHERE case_id = ? AND state IN {} ORDER BY seq",
        *FOLDED_STATES
    ))?;
    let actions = stmt.query_map([&base.id], |r| r.get::<_, String>(0))?;
    for action in actions {
        let action: Action = super::from_json("outbox action", &action?)?;
        action.apply_to(&mut shown);
    }
    let base_json = super::to_json(base)?;
    let values = params![
        shown.id,
        shown.number,
        shown.summary,
        shown.description,
        shown.state,
        shown.priority,
        shown.procedure,
        shown.channel,
        shown.citizen,
        shown.assignee,
        shown.group,
        EmptyIfUnset(shown.opened),
        EmptyIfUnset(shown.due),
        shown.resolution_code,
        shown.close_notes,
        EmptyIfUnset(shown.updated),
        shown.updated_by,
        shown.version,
        base_json
    ];
    // An insert or an update of one row, rather than an upsert: SQLite runs
    // an upsert in a savepoint that copies every page it touches to a
    // statement journal (7% of a first sync).
    let row = match held {
        Some(held) => {
            tx.prepare_cached(
                "UPDATE cases SET number = ?2, summary = ?3, description = ?4, state = ?5, priority = ?6,
                   procedure = ?7, channel = ?8, citizen = ?9, assignee = ?10, grp = ?11, opened = ?12, due = ?13,
                   resolution_code = ?14, close_notes = ?15, updated = ?16, updated_by = ?17, version = ?18, base = ?19
                 WHERE id = ?1",
            )?
            .execute(values)?;
            held.row
        }
        None => {
            tx.prepare_cached(
                "INSERT INTO cases (id, number, summary, description, state, priority, procedure, channel, citizen,
                   assignee, grp, opened, due, resolution_code, close_notes, updated, updated_by, version, base)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15, ?16, ?17, ?18, ?19)",
            )?
            .execute(values)?;
            tx.last_insert_rowid()
        }
    };
    // Most writes of a case (an action settled, a new version from the
    // back-end) leave its search rows as they were: an FTS5 update would
    // delete and insert every word, and the typo line costs two lookups.
    let same = |h: &Held| {
        (&h.number, &h.citizen, &h.summary) == (&shown.number, &shown.citizen, &shown.summary)
    };
    if !held.is_some_and(|h| same(h) && h.procedure == shown.procedure) {
        super::haystack::write(
            tx,
            row,
            &shown.number,
            shown.citizen.as_deref(),
            &shown.procedure,
            &shown.summary,
        )?;
    }
    Ok(match held {
        None => {
            // A purged case that comes back is no longer a purged one.
            tx.prepare_cached("DELETE FROM purged_cases WHERE id = ?")?
                .execute([&shown.id])?;
            Some(super::words::Due {
                row,
                replace: false,
            })
        }
        Some(h) if !same(h) || h.description != shown.description => {
            Some(super::words::Due { row, replace: true })
        }
        Some(_) => None,
    })
}

/// Recomputes the shown copy after the outbox changed for a case.
pub(super) fn refresh_shown(tx: &Connection, case_id: &str) -> StoreResult<()> {
    if let Some(held) = Held::read(tx, case_id)? {
        let due = store_shown(tx, &held.base(case_id)?, Some(&held))?;
        super::words::write(tx, due.as_slice())?;
    }
    Ok(())
}

impl Store {
    /// Stores cases as the back-end sent them; returns how many changed.
    /// A case already held at the same version is skipped (pages overlap).
    pub fn save_cases(&mut self, cases: &[Case]) -> StoreResult<usize> {
        let now = self.clock.now();
        let tx = self.write()?;
        let mut changed = 0;
        let mut words = Vec::new();
        for case in cases {
            let held = Held::read(&tx, &case.id)?;
            if let Some(held) = &held
                && held.base(&case.id)? == *case
            {
                continue;
            }
            words.extend(store_shown(&tx, case, held.as_ref())?);
            changed += 1;
        }
        super::words::write(&tx, &words)?;
        // A case's retention starts when it arrives: a first sync keeps the
        // history it fetched for the retention's days, instead of purging
        // at once what it has just downloaded.
        tx.execute(
            "UPDATE cases SET touched_at = ? WHERE touched_at IS NULL",
            [now],
        )?;
        tx.commit()?;
        Ok(changed)
    }

    /// Forgets cases the agent can no longer see (deleted, or moved out of
    /// reach). Queued actions on them stay in the outbox: pushing them will
    /// say why they cannot apply, and the agent decides.
    pub fn forget_cases(&mut self, ids: &[String]) -> StoreResult<usize> {
        let tx = self.write()?;
        let mut gone = 0;
        for id in ids {
            gone += tx.execute("DELETE FROM cases WHERE id = ?", [id])?;
            tx.execute("DELETE FROM timeline WHERE case_id = ?", [id])?;
        }
        tx.commit()?;
        Ok(gone)
    }

    /// Among `ids`, the cases assigned to `me` or touched by one of my actions.
    pub fn cases_assigned_among(&self, ids: &[String], me: &str) -> StoreResult<Vec<String>> {
        let wanted: std::collections::HashSet<&String> = ids.iter().collect();
        let mut stmt = self
            .conn
            .prepare("SELECT id FROM cases WHERE assignee = ?1 UNION SELECT case_id FROM outbox")?;
        let mine = stmt
            .query_map([me], |r| r.get::<_, String>(0))?
            .collect::<Result<Vec<_>, _>>()?;
        Ok(mine.into_iter().filter(|id| wanted.contains(id)).collect())
    }

    pub fn case_ids(&self) -> StoreResult<Vec<String>> {
        let mut stmt = self.conn.prepare("SELECT id FROM cases")?;
        let ids = stmt
            .query_map([], |r| r.get(0))?
            .collect::<Result<_, _>>()?;
        Ok(ids)
    }

    pub fn case_count(&self) -> StoreResult<u64> {
        let n: i64 = self
            .conn
            .query_row("SELECT count(*) FROM cases", [], |r| r.get(0))?;
        Ok(n.max(0) as u64)
    }

    /// A case by number (as agents quote it, a provisional `NEW-n` too,
    /// even once the back-end numbered it) or by back-end id.
    pub fn case(&self, number_or_id: &str) -> StoreResult<Case> {
        if let Some(number) = self.renumbered(number_or_id)? {
            return self.case(&number);
        }
        let sql = format!("SELECT {CASE_COLUMNS} FROM cases c WHERE c.number = ?1 OR c.id = ?1");
        self.conn
            .query_row(
                &sql,
                [number_or_id.trim().to_uppercase().as_str()],
                case_from_row,
            )
            .optional()?
            .or(self
                .conn
                .query_row(&sql, [number_or_id.trim()], case_from_row)
                .optional()?)
            .ok_or_else(|| StoreError::UnknownCase(number_or_id.to_string()))
    }

    /// The back-end's copy of a case (without the agent's pending actions).
    pub fn base_case(&self, id: &str) -> StoreResult<Option<Case>> {
        let base: Option<String> = self
            .conn
            .query_row("SELECT base FROM cases WHERE id = ?", [id], |r| r.get(0))
            .optional()?;
        base.map(|json| super::from_json(&format!("case {id}"), &json))
            .transpose()
    }
}

#[cfg(test)]
mod tests {
    use crate::domain::{Case, Timestamp};
    use crate::store::test_store;

    #[test]
    fn dates_are_kept_as_the_back_end_wrote_them_and_unset_ones_as_empty() {
        let (_dir, mut store) = test_store();
        let at = |text: &str| Some(Timestamp::parse(text).unwrap());
        let case = Case {
            id: "1".into(),
            number: "CS1".into(),
            opened: at("2026-11-20 08:00:00"),
            due: None,
            updated: at("2026-11-27 09:30:00"),
            version: "1".into(),
            ..Case::default()
        };
        store.save_cases(std::slice::from_ref(&case)).unwrap();
        let (opened, due, updated, base): (String, String, String, String) = store
            .conn
            .query_row(
                "SELECT opened, due, updated, base FROM cases WHERE id = '1'",
                [],
                |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?)),
            )
            .unwrap();
        assert_eq!(
            (opened.as_str(), due.as_str(), updated.as_str()),
            ("2026-11-20 08:00:00", "", "2026-11-27 09:30:00")
        );
        assert!(base.contains(r#""due":"""#), "{base}");
        assert!(base.contains(r#""opened":"2026-11-20 08:00:00""#), "{base}");
        assert_eq!(store.case("CS1").unwrap(), case);
        assert_eq!(store.base_case("1").unwrap(), Some(case));
    }
}

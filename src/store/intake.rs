//! Cases opened at the counter: queued with provisional ids and a
//! provisional number (`NEW-n`), shown at once, and renamed everywhere (the
//! case, its citizen, its queued actions, its timeline) when the back-end's
//! answer gives their real ids; the provisional number keeps finding the
//! case afterwards.

use rusqlite::{Connection, OptionalExtension, params};

use super::cases::write_shown;
use super::outbox::{FOLDED, audit, entry, insert_action, states_sql};
use super::{Meta, OutboxEntry, Store, StoreError, StoreResult};
use crate::domain::action::PROVISIONAL;
use crate::domain::directory::ProcedureInfo;
use crate::domain::{Action, Case, Citizen, NewCase, is_provisional};

/// A new provisional id (`new:…`).
pub fn provisional_id() -> String {
    format!("{PROVISIONAL}{}", uuid::Uuid::now_v7().simple())
}

impl Store {
    /// Queues the opening of `case`, and the recording of `citizen` (a new
    /// one, with a provisional id) before it, in one durable transaction:
    /// the case is in the lists at once, numbered `NEW-n`.
    pub fn open_case(
        &mut self,
        case: NewCase,
        citizen: Option<Citizen>,
    ) -> StoreResult<OutboxEntry> {
        if let Some(new) = &citizen
            && (!is_provisional(&new.id) || new.id != case.citizen)
        {
            return Err(StoreError::Invalid(
                "a new citizen has a provisional id, and is the case's citizen".into(),
            ));
        }
        let now = self.clock.now();
        let tx = self.write()?;
        let next: i64 = tx
            .query_row(
                "SELECT value FROM meta WHERE key = ?",
                [Meta::NextProvisional.key()],
                |r| r.get::<_, String>(0),
            )
            .optional()?
            .and_then(|n| n.parse().ok())
            .unwrap_or(1);
        tx.execute(
            "INSERT OR REPLACE INTO meta (key, value) VALUES (?, ?)",
            [Meta::NextProvisional.key(), &(next + 1).to_string()],
        )?;
        let number = format!("NEW-{next}");
        let id = provisional_id();
        if let Some(new) = &citizen {
            tx.execute(
                "INSERT INTO citizens (id, first_name, last_name, name, email, phone, street, city, zip)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9)",
                params![new.id, new.first_name, new.last_name, new.name(), new.email, new.phone, new.street, new.city, new.zip],
            )?;
        }
        let me: Option<String> = tx
            .query_row(
                "SELECT value FROM meta WHERE key = ?",
                [Meta::MeUserName.key()],
                |r| r.get(0),
            )
            .optional()?;
        let first_state: Option<String> = tx
            .query_row(
                "SELECT value FROM choices WHERE list = 'state' AND stage = 'new' ORDER BY sequence LIMIT 1",
                [],
                |r| r.get(0),
            )
            .optional()?;
        let shown = Case {
            id: id.clone(),
            number: number.clone(),
            summary: case.summary.clone(),
            description: case.description.clone(),
            state: first_state.unwrap_or_else(|| "1".into()),
            priority: case.priority,
            procedure: case.procedure.clone(),
            channel: case.channel.clone(),
            citizen: Some(case.citizen.clone()),
            assignee: case.assignee.clone(),
            group: case.group.clone(),
            opened: Some(now),
            due: case.due,
            updated: Some(now),
            updated_by: me.unwrap_or_default(),
            ..Case::default()
        };
        write_shown(&tx, &shown)?;
        let action = Action::Open {
            citizen: citizen.map(Box::new),
            case: Box::new(case),
        };
        let action_id = uuid::Uuid::now_v7().to_string();
        insert_action(&tx, now, &action_id, &shown, &action, None)?;
        audit(&tx, now, &action_id, &number, "queued", &action.describe())?;
        let queued = entry(&tx, &action_id)?;
        tx.commit()?;
        Ok(queued)
    }

    /// The catalogue of procedures, as the last reference refresh stored it.
    pub fn procedure_infos(&self) -> StoreResult<Vec<ProcedureInfo>> {
        let mut stmt = self.conn.prepare_cached(
            "SELECT code, label_en, label_fr, grp, due_days, documents_en, documents_fr, follow_up_en, follow_up_fr
             FROM procedures ORDER BY code",
        )?;
        let lines = |text: String| -> Vec<String> {
            text.lines()
                .map(str::trim)
                .filter(|l| !l.is_empty())
                .map(str::to_string)
                .collect()
        };
        let rows = stmt.query_map([], |r| {
            Ok(ProcedureInfo {
                code: r.get(0)?,
                label_en: r.get(1)?,
                label_fr: r.get(2)?,
                group: r.get(3)?,
                due_days: r.get(4)?,
                documents_en: lines(r.get(5)?),
                documents_fr: lines(r.get(6)?),
                follow_up_en: r.get(7)?,
                follow_up_fr: r.get(8)?,
            })
        })?;
        Ok(rows.collect::<Result<_, _>>()?)
    }

    /// Replaces the stored catalogue (one transaction).
    pub fn save_procedure_infos(&mut self, infos: &[ProcedureInfo]) -> StoreResult<()> {
        let tx = self.write()?;
        tx.execute("DELETE FROM procedures", [])?;
        for p in infos {
            tx.prepare_cached(
                "INSERT OR REPLACE INTO procedures (code, label_en, label_fr, grp, due_days, documents_en, documents_fr, follow_up_en, follow_up_fr)
                 VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
            )?
            .execute(params![
                p.code,
                p.label_en,
                p.label_fr,
                p.group,
                p.due_days,
                p.documents_en.join("\n"),
                p.documents_fr.join("\n"),
                p.follow_up_en,
                p.follow_up_fr
            ])?;
        }
        tx.commit()?;
        Ok(())
    }

    /// The number the back-end gave a case opened here, by its provisional
    /// number or id (screens and scripts may still hold either).
    pub fn renumbered(&self, provisional: &str) -> StoreResult<Option<String>> {
        if !provisional.trim().to_uppercase().starts_with("NEW-") && !is_provisional(provisional) {
            return Ok(None);
        }
        Ok(self
            .conn
            .query_row(
                "SELECT number FROM renumbered WHERE provisional = ?1 OR provisional_id = ?2",
                params![provisional.trim().to_uppercase(), provisional.trim()],
                |r| r.get(0),
            )
            .optional()?)
    }
}

/// The back-end opened the case `done` queued, as `returned`: its real id,
/// number and citizen replace the provisional ones everywhere, in the
/// transaction that marks the opening done.
pub(super) fn replace_provisional(
    tx: &Connection,
    now: crate::domain::Timestamp,
    done: &OutboxEntry,
    returned: &Case,
) -> StoreResult<()> {
    let Action::Open { case, .. } = &done.action else {
        return Ok(());
    };
    let provisional = &done.case_id;
    if !is_provisional(provisional) {
        return Ok(());
    }
    let unfinished = states_sql(&FOLDED);
    if let Some(real) = returned.citizen.as_deref()
        && is_provisional(&case.citizen)
        && real != case.citizen
    {
        let held: bool = tx
            .query_row("SELECT 1 FROM citizens WHERE id = ?", [real], |_| Ok(true))
            .optional()?
            .unwrap_or(false);
        if held {
            tx.execute("DELETE FROM citizens WHERE id = ?", [&case.citizen])?;
        } else {
            tx.execute(
                "UPDATE citizens SET id = ?1 WHERE id = ?2",
                params![real, case.citizen],
            )?;
        }
        tx.execute(
            "UPDATE cases SET citizen = ?1, base = json_set(base, '$.citizen', ?1) WHERE citizen = ?2",
            params![real, case.citizen],
        )?;
        // Other cases opened here for the same new citizen wait for this id.
        tx.execute(
            &format!(
                "UPDATE outbox SET action = json_set(action, '$.case.citizen', ?1)
                 WHERE state IN {unfinished} AND json_extract(action, '$.kind') = 'open'
                   AND json_extract(action, '$.case.citizen') = ?2"
            ),
            params![real, case.citizen],
        )?;
    }
    let held: bool = tx
        .query_row("SELECT 1 FROM cases WHERE id = ?", [&returned.id], |_| {
            Ok(true)
        })
        .optional()?
        .unwrap_or(false);
    if held {
        // A pull brought the real case in first (the answer to the opening
        // was lost, and read back later): the provisional copy goes.
        tx.execute("DELETE FROM cases WHERE id = ?", [provisional])?;
    } else {
        let row: Option<i64> = tx
            .query_row(
                "UPDATE cases SET id = ?1, number = ?2 WHERE id = ?3 RETURNING row",
                params![returned.id, returned.number, provisional],
                |r| r.get(0),
            )
            .optional()?;
        // Found by the back-end's number from now on, as a word and as a typo.
        let renumbered = row.map(|row| super::words::Due { row, replace: true });
        super::words::write(tx, renumbered.as_slice())?;
        super::haystack::rewrite_where(tx, "c.id = ?", Some(&returned.id))?;
    }
    tx.execute(
        "UPDATE outbox SET case_id = ?1, case_number = ?2 WHERE case_id = ?3",
        params![returned.id, returned.number, provisional],
    )?;
    tx.execute(
        "UPDATE timeline SET case_id = ?1 WHERE case_id = ?2",
        params![returned.id, provisional],
    )?;
    tx.execute(
        "INSERT OR REPLACE INTO renumbered (provisional, provisional_id, case_id, number) VALUES (?, ?, ?, ?)",
        params![done.case_number, provisional, returned.id, returned.number],
    )?;
    audit(
        tx,
        now,
        &done.id,
        &done.case_number,
        "numbered",
        &returned.number,
    )?;
    Ok(())
}

/// The digits of a phone number, for comparing numbers however written.
fn digits(text: &str) -> String {
    text.chars().filter(char::is_ascii_digit).collect()
}

impl Store {
    /// How many citizens the store knows.
    pub fn citizen_count(&self) -> StoreResult<u64> {
        let n: i64 = self
            .conn
            .query_row("SELECT count(*) FROM citizens", [], |r| r.get(0))?;
        Ok(n.max(0) as u64)
    }

    /// Citizens whose name, e-mail or phone match `query`, best first:
    /// accents and case ignored, typos tolerated (the fuzzy matcher the
    /// case search uses), a phone matched by its digits however written.
    /// Reads every citizen once (the worker's thread, never a key path).
    pub fn find_citizens(&self, query: &str, limit: usize) -> StoreResult<Vec<Citizen>> {
        use nucleo_matcher::pattern::{CaseMatching, Normalization, Pattern};
        use nucleo_matcher::{Config, Matcher, Utf32Str};
        let folded = crate::domain::text::fold(query.trim());
        if folded.is_empty() || limit == 0 {
            return Ok(Vec::new());
        }
        let wanted_digits = digits(&folded);
        let pattern = Pattern::parse(&folded, CaseMatching::Ignore, Normalization::Smart);
        let mut matcher = Matcher::new(Config::DEFAULT);
        let mut buffer = Vec::new();
        let mut scored: Vec<(u32, String)> = Vec::new();
        let mut stmt = self
            .conn
            .prepare_cached("SELECT id, name, email, phone FROM citizens")?;
        let mut rows = stmt.query([])?;
        while let Some(row) = rows.next()? {
            let id: String = row.get(0)?;
            let name: String = row.get(1)?;
            let email: String = row.get(2)?;
            let phone: String = row.get(3)?;
            let line = crate::domain::text::fold(&format!("{name} {email}"));
            let mut score = pattern
                .score(Utf32Str::new(&line, &mut buffer), &mut matcher)
                .unwrap_or(0);
            // Words typed as they are written come first.
            if folded.split_whitespace().all(|w| line.contains(w)) {
                score = score.saturating_add(1000);
            }
            if wanted_digits.len() >= 6 && digits(&phone).contains(&wanted_digits) {
                score = score.saturating_add(2000);
            }
            if score > 0 {
                scored.push((score, id));
            }
        }
        scored.sort_by(|a, b| b.0.cmp(&a.0).then(a.1.cmp(&b.1)));
        let mut found = Vec::new();
        for (_, id) in scored.into_iter().take(limit) {
            if let Some(citizen) = self.citizen(&id)? {
                found.push(citizen);
            }
        }
        Ok(found)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::{OutboxState, Settled, test_store};

    fn new_case(citizen: &str) -> NewCase {
        NewCase {
            citizen: citizen.into(),
            procedure: "passeport".into(),
            summary: "Passeport perdu".into(),
            description: String::new(),
            channel: "walk-in".into(),
            priority: 3,
            due: None,
            group: Some("g1".into()),
            assignee: None,
        }
    }

    #[test]
    fn the_back_ends_ids_replace_the_provisional_ones_everywhere() {
        let (_dir, mut store) = test_store();
        let citizen = Citizen {
            id: provisional_id(),
            first_name: "Aurore".into(),
            last_name: "Comptoir".into(),
            email: "aurore@example.org".into(),
            ..Citizen::default()
        };
        let opening = store
            .open_case(new_case(&citizen.id), Some(citizen.clone()))
            .unwrap();
        assert_eq!(opening.case_number, "NEW-1");
        // A second case for the same new citizen, opened before any sync.
        let second = store.open_case(new_case(&citizen.id), None).unwrap();
        assert_eq!(second.case_number, "NEW-2");
        let note = store
            .enqueue("NEW-1", Action::WorkNote { text: "vu".into() })
            .unwrap();
        assert_eq!(store.case("NEW-1").unwrap().summary, "Passeport perdu");
        assert_eq!(
            store.find_citizens("comptoir", 5).unwrap()[0].id,
            citizen.id
        );

        let real = Case {
            id: "c1".into(),
            number: "CS0000042".into(),
            version: "1".into(),
            citizen: Some("p1".into()),
            summary: "Passeport perdu".into(),
            procedure: "passeport".into(),
            ..Case::default()
        };
        store.mark_done(&opening.id, &real, Settled::Sent).unwrap();
        let shown = store.case("NEW-1").unwrap();
        assert_eq!(
            (shown.id.as_str(), shown.number.as_str()),
            ("c1", "CS0000042")
        );
        assert_eq!(
            store.renumbered("new-1").unwrap().as_deref(),
            Some("CS0000042")
        );
        // Searched by the back-end's number now, and still by the citizen.
        let found = |words: &str| -> Vec<String> {
            let search = crate::domain::search::Search::parse(words).unwrap();
            let hits = store.search(&search, 10).unwrap();
            hits.into_iter().map(|h| h.row.case.id).collect()
        };
        assert_eq!(found("CS0000042"), ["c1"]);
        // A digit short: the typo search's line has the new number too.
        assert_eq!(found("CS000042"), ["c1"]);
        assert!(found("NEW-1").is_empty());
        assert_eq!(found("comptoir").len(), 2);
        let waiting = store.action(&note.id).unwrap();
        assert_eq!(
            (
                waiting.case_id.as_str(),
                waiting.case_number.as_str(),
                waiting.state
            ),
            ("c1", "CS0000042", OutboxState::Pending)
        );
        assert!(store.citizen(&citizen.id).unwrap().is_none());
        assert_eq!(store.citizen("p1").unwrap().unwrap().last_name, "Comptoir");
        // The other opening now names the recorded citizen.
        let Action::Open { case, citizen } = store.action(&second.id).unwrap().action else {
            panic!("an opening")
        };
        assert_eq!((case.citizen.as_str(), citizen.is_none()), ("p1", true));
        assert_eq!(store.case("NEW-2").unwrap().citizen.as_deref(), Some("p1"));
    }

    #[test]
    fn a_new_citizen_must_be_the_cases_own_and_provisional() {
        let (_dir, mut store) = test_store();
        let citizen = Citizen {
            id: "p9".into(),
            ..Citizen::default()
        };
        assert!(store.open_case(new_case("p9"), Some(citizen)).is_err());
        assert_eq!(store.case_count().unwrap(), 0);
    }
}

//! Retention: a workstation keeps the cases its agent works on, not every
//! case it ever saw. A case neither updated on the back-end nor opened or
//! acted on here for the profile's `retention_days` (closed and cancelled
//! ones: `closed_retention_days`) is purged with its timeline, its search
//! rows and its finished actions, and its citizen once no case refers to
//! them. A case with an action not yet applied or dropped is never purged:
//! no expiry ever loses queued work. Nor is the agent's working set: open
//! cases assigned to the agent, or nobody's in the agent's groups, are work,
//! not a cache.
//!
//! "Touched here" is the `touched_at` column: set when the case arrives in
//! the store, when the agent opens the case ([`Store::touch_case`]) and, by a trigger, when an action on it is
//! queued, whichever way it was queued.

use std::time::Duration;

use rusqlite::{OptionalExtension, Transaction, TransactionBehavior};
use serde::Serialize;

use super::outbox::states_sql;
use super::{OutboxState, Store, StoreResult};
use crate::domain::{Stage, Timestamp};

const DAY: Duration = Duration::from_secs(24 * 3600);
/// Opening a case again within this time does not write its stamp again:
/// the days of retention are all that it is compared with.
const TOUCH_GRAIN: Duration = Duration::from_secs(3600);

/// How long cases are kept without being touched.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Retention {
    /// Any case (default 30).
    pub days: u32,
    /// Closed and cancelled cases, when shorter than `days` (default 14:
    /// the dashboard's two weeks of resolved cases stay whole).
    pub closed_days: u32,
}

impl Default for Retention {
    fn default() -> Self {
        Retention {
            days: 30,
            closed_days: 14,
        }
    }
}

/// What one purge removed (counts only: no ids, no names).
#[derive(Debug, Default, Clone, PartialEq, Eq, Serialize)]
pub struct PurgeReport {
    pub cases: usize,
    pub citizens: usize,
    pub timeline_entries: usize,
    /// Applied or dropped actions of the purged cases (their texts).
    pub finished_actions: usize,
}

impl Store {
    /// The retention this store is purged by (the profile's).
    pub fn set_retention(&mut self, retention: Retention) {
        self.retention = retention;
    }

    pub fn retention(&self) -> Retention {
        self.retention
    }

    /// The agent opened the case: it counts as touched now.
    pub fn touch_case(&self, id: &str) -> StoreResult<()> {
        let now = self.clock.now();
        let touched: Option<Option<Timestamp>> = self
            .conn
            .prepare_cached("SELECT touched_at FROM cases WHERE id = ?")?
            .query_row([id], |r| r.get(0))
            .optional()?;
        // A read first: the write lock is taken only when the stamp is due,
        // so that showing a case never waits for a sync's transaction.
        if let Some(touched) = touched
            && touched.is_none_or(|at| now - at >= TOUCH_GRAIN)
        {
            self.conn
                .prepare_cached("UPDATE cases SET touched_at = ? WHERE id = ?")?
                .execute(rusqlite::params![now, id])?;
        }
        Ok(())
    }

    /// Purges, in one transaction, what the retention no longer keeps at
    /// `now` (see the module's documentation).
    pub fn purge_expired(&self, now: Timestamp) -> StoreResult<PurgeReport> {
        let Retention { days, closed_days } = self.retention;
        let cutoff = now - DAY * days;
        let closed_cutoff = now - DAY * closed_days.min(days);
        let final_stages: Vec<String> = Stage::ALL
            .into_iter()
            .filter(|s| s.is_final())
            .map(|s| format!("'{}'", s.as_str()))
            .collect();
        let finished = states_sql(&[OutboxState::Done, OutboxState::Dropped]);
        let tx = Transaction::new_unchecked(&self.conn, TransactionBehavior::Immediate)?;
        tx.execute_batch(
            "CREATE TEMP TABLE IF NOT EXISTS expiring (id TEXT PRIMARY KEY) WITHOUT ROWID;
             CREATE TEMP TABLE IF NOT EXISTS expiring_citizens (citizen TEXT PRIMARY KEY) WITHOUT ROWID;
             DELETE FROM temp.expiring; DELETE FROM temp.expiring_citizens;",
        )?;
        tx.execute(
            &format!(
                "INSERT INTO temp.expiring (id)
                 SELECT c.id FROM cases c
                 WHERE max(c.updated, coalesce(c.touched_at, '')) <
                       CASE WHEN c.state IN (SELECT value FROM choices WHERE list = 'state'
                                             AND stage IN ({stages}))
                            THEN ?2 ELSE ?1 END
                   AND NOT EXISTS (SELECT 1 FROM outbox o
                                   WHERE o.case_id = c.id AND o.state NOT IN {finished})
                   AND NOT coalesce(
                         c.state NOT IN (SELECT value FROM choices WHERE list = 'state'
                                         AND stage IN ({stages}))
                         AND (c.assignee = (SELECT value FROM meta WHERE key = 'me')
                              OR (c.assignee IS NULL AND c.grp IN
                                  (SELECT grp FROM members
                                   WHERE user = (SELECT value FROM meta WHERE key = 'me')))),
                         0)",
                stages = final_stages.join(", ")
            ),
            rusqlite::params![cutoff, closed_cutoff],
        )?;
        let mut report = PurgeReport {
            finished_actions: tx.execute(
                &format!(
                    "DELETE FROM outbox WHERE state IN {finished}
                       AND case_id IN (SELECT id FROM temp.expiring)"
                ),
                [],
            )?,
            ..PurgeReport::default()
        };
        // Remembered so that a comparison of every visible id does not
        // fetch them again; forgotten when the case comes back (`cases::store_shown`).
        tx.execute(
            "INSERT OR REPLACE INTO purged_cases (id, version, at)
             SELECT c.id, c.version, ? FROM cases c WHERE c.id IN (SELECT id FROM temp.expiring)",
            [now],
        )?;
        tx.execute(
            "INSERT INTO temp.expiring_citizens (citizen)
             SELECT DISTINCT citizen FROM cases
             WHERE citizen IS NOT NULL AND id IN (SELECT id FROM temp.expiring)",
            [],
        )?;
        // The search rows (case_words, case_haystack) go by trigger.
        report.cases = tx.execute(
            "DELETE FROM cases WHERE id IN (SELECT id FROM temp.expiring)",
            [],
        )?;
        // By the purged cases' ids (the timeline_case and cases_citizen
        // indexes), not by scanning every timeline entry and citizen.
        report.timeline_entries = tx.execute(
            "DELETE FROM timeline WHERE case_id IN (SELECT id FROM temp.expiring)",
            [],
        )?;
        report.citizens = tx.execute(
            "DELETE FROM citizens WHERE id IN (SELECT citizen FROM temp.expiring_citizens)
               AND NOT EXISTS (SELECT 1 FROM cases c WHERE c.citizen = citizens.id)",
            [],
        )?;
        tx.execute_batch("DELETE FROM temp.expiring; DELETE FROM temp.expiring_citizens;")?;
        tx.commit()?;
        Ok(report)
    }

    /// Forgets the marks of purged cases the agent can no longer see.
    pub fn forget_purged(&mut self, ids: &[String]) -> StoreResult<()> {
        let tx = self.write()?;
        {
            let mut forget = tx.prepare_cached("DELETE FROM purged_cases WHERE id = ?")?;
            for id in ids {
                forget.execute([id])?;
            }
        }
        tx.commit()?;
        Ok(())
    }

    /// Cases purged and not seen again since: a comparison of the visible
    /// ids should count them as held, or it fetches them back every time.
    pub fn purged_case_ids(&self) -> StoreResult<Vec<String>> {
        let mut stmt = self.conn.prepare("SELECT id FROM purged_cases")?;
        let ids = stmt
            .query_map([], |r| r.get(0))?
            .collect::<Result<_, _>>()?;
        Ok(ids)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::{Action, Case, Choice, ChoiceList, Citizen, Clock, EntryKind};
    use crate::domain::{TimelineEntry, text::fold};
    use crate::store::test_store;

    const NOW: &str = "2026-11-28 10:00:00";
    const ARRIVED: &str = "2026-09-01 08:00:00";

    fn at(text: &str) -> Timestamp {
        Timestamp::parse(text).unwrap()
    }

    fn case(id: &str, state: &str, updated: &str, citizen: &str) -> Case {
        Case {
            id: id.into(),
            number: format!("CS{id}"),
            state: state.into(),
            priority: 4,
            citizen: Some(citizen.into()),
            summary: format!("Passeport {id}"),
            updated: Some(at(updated)),
            version: "1".into(),
            ..Case::default()
        }
    }

    fn state(value: &str, stage: Stage) -> Choice {
        Choice {
            list: ChoiceList::State,
            value: value.into(),
            label_en: value.into(),
            label_fr: value.into(),
            sequence: 0,
            stage: Some(stage),
        }
    }

    fn citizen(id: &str, last_name: &str) -> Citizen {
        Citizen {
            id: id.into(),
            first_name: "José".into(),
            last_name: last_name.into(),
            email: format!("{id}@example.fr"),
            ..Citizen::default()
        }
    }

    /// A store on a clock stopped at NOW: cases 1 (stale, open), 2 (fresh,
    /// open), 3 (closed twenty days ago), 4 (open, twenty days ago);
    /// citizens a (of 1 only), b (of 2 and 3) and c (of 4).
    fn store() -> (tempfile::TempDir, Store) {
        let (dir, mut store) = test_store();
        // The cases arrived long before their last update.
        store.set_clock(Clock::stopped_at(at(ARRIVED)));
        store
            .save_choices(&[state("10", Stage::Open), state("3", Stage::Closed)])
            .unwrap();
        store
            .save_cases(&[
                case("1", "10", "2026-10-01 09:00:00", "a"),
                case("2", "10", "2026-11-27 09:00:00", "b"),
                case("3", "3", "2026-11-08 09:00:00", "b"),
                case("4", "10", "2026-11-08 09:00:00", "c"),
            ])
            .unwrap();
        store.set_clock(Clock::stopped_at(at(NOW)));
        store
            .save_citizens(&[
                citizen("a", "Lefèvre"),
                citizen("b", "Diop"),
                citizen("c", "Picard"),
            ])
            .unwrap();
        let entry = |id: &str, case: &str| TimelineEntry {
            id: id.into(),
            case_id: case.into(),
            kind: EntryKind::Comment,
            text: "Votre rendez-vous est fixé".into(),
            author: "demo".into(),
            at: Some(at("2026-10-01 09:00:00")),
        };
        store
            .save_timeline(
                &["1".into(), "2".into()],
                &[entry("t1", "1"), entry("t2", "2")],
            )
            .unwrap();
        (dir, store)
    }

    fn ids(store: &Store) -> Vec<String> {
        let mut ids = store.case_ids().unwrap();
        ids.sort();
        ids
    }

    fn count(store: &Store, sql: &str) -> i64 {
        store.conn.query_row(sql, [], |r| r.get(0)).unwrap()
    }

    #[test]
    fn a_stale_case_goes_with_its_timeline_search_rows_and_citizen() {
        let (_dir, store) = store();
        let report = store.purge_expired(at(NOW)).unwrap();
        assert_eq!(ids(&store), ["2", "4"]);
        assert_eq!(
            report,
            PurgeReport {
                cases: 2,
                citizens: 1,
                timeline_entries: 1,
                finished_actions: 0
            }
        );
        assert!(store.citizen("a").unwrap().is_none());
        assert_eq!(store.timeline("1").unwrap().len(), 0);
        assert_eq!(store.timeline("2").unwrap().len(), 1);
        assert_eq!(count(&store, "SELECT count(*) FROM case_haystack"), 2);
        assert_eq!(count(&store, "SELECT count(*) FROM case_words"), 2);
        let folded = fold("Lefèvre");
        let found: i64 = store
            .conn
            .query_row(
                "SELECT count(*) FROM case_haystack WHERE text LIKE '%' || ? || '%'",
                [folded],
                |r| r.get(0),
            )
            .unwrap();
        assert_eq!(found, 0, "no search line names the purged citizen");
        let mut purged = store.purged_case_ids().unwrap();
        purged.sort();
        assert_eq!(purged, ["1", "3"]);
    }

    #[test]
    fn a_stale_case_with_an_action_not_yet_applied_stays() {
        let (_dir, mut store) = store();
        let queued = store
            .enqueue("CS1", Action::Comment { text: "x".into() })
            .unwrap();
        // Queuing counts as touching: a month later it would go, were it
        // not for the action still waiting.
        store.clock().advance(DAY * 60);
        let later = store.clock().now();
        for state in [
            OutboxState::Pending,
            OutboxState::Sending,
            OutboxState::Failed,
            OutboxState::Conflict,
            OutboxState::InDoubt,
        ] {
            store
                .conn
                .execute(
                    "UPDATE outbox SET state = ? WHERE id = ?",
                    [state.as_str(), &queued.id],
                )
                .unwrap();
            store.purge_expired(later).unwrap();
            assert!(ids(&store).contains(&"1".to_string()), "{state:?}");
            assert_eq!(store.action(&queued.id).unwrap().state, state);
            assert!(store.citizen("a").unwrap().is_some(), "still referenced");
        }
        store.drop_action(&queued.id).unwrap();
        let report = store.purge_expired(later).unwrap();
        assert!(!ids(&store).contains(&"1".to_string()));
        assert_eq!(report.finished_actions, 1, "its text goes too");
        assert_eq!(store.unfinished_count().unwrap(), 0);
    }

    #[test]
    fn opening_or_queuing_keeps_a_case_for_another_period() {
        let (_dir, mut store) = store();
        store.touch_case("1").unwrap();
        // Dropped at once: only the stamp of its queuing keeps case 4.
        let queued = store
            .enqueue("CS4", Action::Priority { priority: 1 })
            .unwrap();
        store.drop_action(&queued.id).unwrap();
        store.purge_expired(at(NOW)).unwrap();
        assert_eq!(ids(&store), ["1", "2", "4"]);
        store.clock().advance(DAY * 29);
        store.purge_expired(store.clock().now()).unwrap();
        assert_eq!(ids(&store), ["1", "4"]);
        store.clock().advance(DAY * 2);
        store.purge_expired(store.clock().now()).unwrap();
        assert!(ids(&store).is_empty());
    }

    #[test]
    fn closed_cases_go_sooner_and_a_citizen_still_referenced_stays() {
        let (_dir, mut store) = store();
        store.purge_expired(at(NOW)).unwrap();
        // Cases 3 (closed) and 4 (open) were both updated twenty days ago.
        assert_eq!(ids(&store), ["2", "4"]);
        assert!(store.citizen("b").unwrap().is_some(), "case 2 is theirs");
        assert!(store.citizen("c").unwrap().is_some());
        // A closed period longer than the general one is capped by it.
        store.set_retention(Retention {
            days: 5,
            closed_days: 60,
        });
        store.purge_expired(at(NOW)).unwrap();
        assert_eq!(ids(&store), ["2"]);
        assert!(store.citizen("c").unwrap().is_none());
    }

    #[test]
    fn a_purged_case_that_comes_back_is_held_again() {
        let (_dir, mut store) = store();
        store.purge_expired(at(NOW)).unwrap();
        store
            .save_cases(&[case("1", "10", "2026-11-28 09:00:00", "a")])
            .unwrap();
        assert_eq!(store.purged_case_ids().unwrap(), ["3"]);
        assert!(store.missing_citizens().unwrap().contains(&"a".to_string()));
        // Gone from the agent's reach: its mark goes too.
        store.forget_purged(&["3".to_string()]).unwrap();
        assert!(store.purged_case_ids().unwrap().is_empty());
    }

    #[test]
    fn a_case_just_fetched_is_kept_for_the_retention_whatever_its_age() {
        let (_dir, mut store) = test_store();
        store.set_clock(Clock::stopped_at(at(NOW)));
        store.save_choices(&[state("3", Stage::Closed)]).unwrap();
        // A first sync brings a case closed a year ago: it stays its days.
        store
            .save_cases(&[case("9", "3", "2025-11-01 09:00:00", "z")])
            .unwrap();
        assert_eq!(store.purge_expired(at(NOW)).unwrap().cases, 0);
        assert_eq!(
            store
                .purge_expired(at("2026-12-13 10:00:00"))
                .unwrap()
                .cases,
            1,
            "closed: gone after closed_retention_days from its arrival"
        );
    }

    #[test]
    fn the_agents_working_set_is_never_purged() {
        use crate::domain::directory::Directory;
        use crate::domain::{Group, User};
        let (dir, mut store) = store();
        let _keep = dir;
        store
            .save_directory(&Directory {
                users: vec![User {
                    id: "me".into(),
                    user_name: "demo".into(),
                    name: "Camille Démo".into(),
                    email: String::new(),
                    active: true,
                }],
                groups: vec![Group {
                    id: "g".into(),
                    name: "Titres".into(),
                }],
                memberships: vec![("me".into(), "g".into())],
                only_my_groups: false,
            })
            .unwrap();
        store.set_meta(crate::store::Meta::Me, "me").unwrap();
        // Case 1 is stale and open: mine, it stays; case 4's twin in my
        // group's queue, nobody's, stays; closed cases still go.
        store.set_clock(Clock::stopped_at(at(ARRIVED)));
        let mut mine = case("1", "10", "2026-10-01 09:00:00", "a");
        mine.assignee = Some("me".into());
        mine.version = "2".into();
        let mut queued = case("5", "10", "2026-10-01 09:00:00", "a");
        queued.group = Some("g".into());
        store.save_cases(&[mine, queued]).unwrap();
        let purged = store.purge_expired(at("2027-06-01 10:00:00")).unwrap();
        let left = store.case_ids().unwrap();
        assert!(left.contains(&"1".to_string()), "{left:?}");
        assert!(left.contains(&"5".to_string()), "{left:?}");
        assert!(!left.contains(&"3".to_string()), "{left:?} {purged:?}");
    }
}

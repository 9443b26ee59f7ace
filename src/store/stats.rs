//! Figures for the console's dashboard, each from an index: open cases by
//! state (cases_state), my resolved cases per day (cases_assignee).

use time::Duration;

use super::{Store, StoreResult};
use crate::domain::{ChoiceList, Stage, Timestamp};

#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Stats {
    /// Open cases by state value, in the state list's order.
    pub open_by_state: Vec<(String, u64)>,
    /// My resolved (or closed) cases by day of their last update, oldest
    /// day first, today last.
    pub resolved_per_day: Vec<u64>,
}

impl Store {
    pub fn dashboard(&self, days: usize) -> StoreResult<Stats> {
        let states = self.choices(ChoiceList::State)?;
        let mut open_by_state = Vec::new();
        let mut count = self
            .conn
            .prepare_cached("SELECT count(*) FROM cases WHERE state = ?")?;
        for state in states
            .iter()
            .filter(|c| c.stage.is_some_and(Stage::is_open))
        {
            let n: i64 = count.query_row([&state.value], |r| r.get(0))?;
            open_by_state.push((state.value.clone(), n.max(0) as u64));
        }
        let mut resolved_per_day = vec![0; days];
        let Some(me) = self.me()? else {
            return Ok(Stats {
                open_by_state,
                resolved_per_day,
            });
        };
        let today = self.clock.now().date();
        let first = today - Duration::days(days.saturating_sub(1) as i64);
        let done: Vec<String> = states
            .iter()
            .filter(|c| matches!(c.stage, Some(Stage::Resolved | Stage::Closed)))
            .map(|c| c.value.clone())
            .collect();
        let mut stmt = self.conn.prepare_cached(
            "SELECT substr(updated, 1, 10), count(*) FROM cases
             WHERE assignee = ?1 AND state = ?2 AND updated >= ?3 GROUP BY 1",
        )?;
        let since = Timestamp::start_of(first).to_string();
        for state in &done {
            let rows = stmt.query_map([me.as_str(), state.as_str(), since.as_str()], |r| {
                Ok((r.get::<_, String>(0)?, r.get::<_, i64>(1)?))
            })?;
            for row in rows {
                let (day, n) = row?;
                let Ok(at) = Timestamp::parse(&format!("{day} 00:00:00")) else {
                    continue;
                };
                let index = (at.date() - first).whole_days();
                if let Some(slot) = usize::try_from(index)
                    .ok()
                    .and_then(|i| resolved_per_day.get_mut(i))
                {
                    *slot += n.max(0) as u64;
                }
            }
        }
        Ok(Stats {
            open_by_state,
            resolved_per_day,
        })
    }
}

#[cfg(test)]
mod tests {
    use crate::domain::{Case, Choice, ChoiceList, Clock, Stage, Timestamp};
    use crate::store::{Meta, test_store};

    fn state(value: &str, label: &str, stage: Stage) -> Choice {
        Choice {
            list: ChoiceList::State,
            value: value.into(),
            label_en: label.into(),
            label_fr: label.into(),
            sequence: 0,
            stage: Some(stage),
        }
    }

    fn resolved_by_me(id: &str, updated: &str) -> Case {
        Case {
            id: id.into(),
            number: format!("CS{id}"),
            state: "6".into(),
            assignee: Some("u1".into()),
            updated: Some(Timestamp::parse(updated).unwrap()),
            version: "1".into(),
            ..Case::default()
        }
    }

    #[test]
    fn resolved_per_day_ends_today_by_the_stores_clock() {
        let (_dir, mut store) = test_store();
        store
            .save_choices(&[
                state("10", "Open", Stage::Open),
                state("6", "Resolved", Stage::Resolved),
            ])
            .unwrap();
        store.set_meta(Meta::Me, "u1").unwrap();
        store
            .save_cases(&[
                resolved_by_me("1", "2026-11-26 23:59:59"),
                resolved_by_me("2", "2026-11-27 15:00:00"),
                resolved_by_me("3", "2026-11-28 09:00:00"),
                resolved_by_me("4", "2026-11-28 09:30:00"),
            ])
            .unwrap();
        let clock = Clock::stopped_at(Timestamp::parse("2026-11-28 10:00:00").unwrap());
        store.set_clock(clock.clone());
        assert_eq!(store.dashboard(2).unwrap().resolved_per_day, [1, 2]);
        assert_eq!(store.dashboard(3).unwrap().resolved_per_day, [1, 1, 2]);
        // Past midnight: yesterday's two move one column left.
        clock.advance(std::time::Duration::from_secs(14 * 3600));
        assert_eq!(store.dashboard(3).unwrap().resolved_per_day, [1, 2, 0]);
    }
}

//! Figures for the console's dashboard, each from an index: open cases by
//! state (cases_state), my resolved cases per day (cases_assignee).

use time::{Duration, OffsetDateTime};

use super::{Store, StoreResult};
use crate::domain::{ChoiceList, Stage, datetime};

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
        let today = OffsetDateTime::now_utc().date();
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
        let since = datetime::format(first.midnight().assume_utc());
        for state in &done {
            let rows = stmt.query_map([me.as_str(), state.as_str(), since.as_str()], |r| {
                Ok((r.get::<_, String>(0)?, r.get::<_, i64>(1)?))
            })?;
            for row in rows {
                let (day, n) = row?;
                let Some(at) = datetime::parse(&format!("{day} 00:00:00")) else {
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

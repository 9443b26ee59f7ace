//! The agent's own record of what was done at this workstation: actions
//! (queued, applied, refused, dropped...), contact details revealed, queues
//! exported. Append-only: nothing here updates or deletes a row. It names
//! cases by number and never holds a citizen's name or a text.

use serde::Serialize;

use super::{Store, StoreResult};
use crate::domain::Timestamp;

/// What happened outside the outbox, for the trail.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Event {
    /// The agent showed a citizen's contact details.
    Reveal,
    /// The unsent queue was written to a file.
    Export,
}

impl Event {
    fn as_str(self) -> &'static str {
        match self {
            Event::Reveal => "reveal",
            Event::Export => "export",
        }
    }
}

/// One line of the trail.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct AuditLine {
    pub seq: i64,
    pub at: Timestamp,
    /// The case's number; empty for what concerns no case (an export).
    pub case: String,
    /// queued, applied, failed, conflict, retry, dropped, reveal, export...
    pub event: String,
    pub detail: String,
}

impl Store {
    /// Writes an event of the agent's own to the trail, now.
    pub fn record(&self, event: Event, case_number: &str, detail: &str) -> StoreResult<()> {
        // Not an action: no action id.
        super::outbox::audit(
            &self.conn,
            self.clock.now(),
            "",
            case_number,
            event.as_str(),
            detail,
        )
    }

    /// The newest `limit` lines of the trail, oldest first.
    pub fn audit_trail(&self, limit: usize) -> StoreResult<Vec<AuditLine>> {
        let mut stmt = self.conn.prepare_cached(
            "SELECT seq, at, case_number, event, detail FROM
               (SELECT * FROM audit ORDER BY seq DESC LIMIT ?) ORDER BY seq",
        )?;
        let lines = stmt
            .query_map([limit as i64], |r| {
                Ok(AuditLine {
                    seq: r.get(0)?,
                    at: r.get(1)?,
                    case: r.get(2)?,
                    event: r.get(3)?,
                    detail: r.get(4)?,
                })
            })?
            .collect::<Result<_, _>>()?;
        Ok(lines)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::{Action, Clock};
    use crate::store::{save_case_one, test_store};

    #[test]
    fn actions_reveals_and_exports_are_on_the_trail_in_order() {
        let (_dir, mut store) = test_store();
        store.set_clock(Clock::stopped_at(
            Timestamp::parse("2026-11-28 10:00:00").unwrap(),
        ));
        save_case_one(&mut store);
        store
            .enqueue(
                "CS1",
                Action::Comment {
                    text: "Bonjour Mme Lefèvre".into(),
                },
            )
            .unwrap();
        store.record(Event::Reveal, "CS1", "").unwrap();
        store.record(Event::Export, "", "1 action").unwrap();
        let trail = store.audit_trail(10).unwrap();
        let events: Vec<(&str, &str)> = trail
            .iter()
            .map(|l| (l.case.as_str(), l.event.as_str()))
            .collect();
        assert_eq!(
            events,
            [("CS1", "queued"), ("CS1", "reveal"), ("", "export")]
        );
        assert!(
            trail.iter().all(|l| !l.detail.contains("Lefèvre")),
            "no text on the trail: {trail:?}"
        );
        assert_eq!(
            store.audit_trail(1).unwrap()[0].event,
            "export",
            "the newest"
        );
    }
}

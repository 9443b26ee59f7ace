//! Which unfinished actions the agent holds in an export file (`guichet
//! queue export`): a wipe may delete the store only when nothing queued
//! would be lost with it. Outbox seqs only grow, so one number says it:
//! every action up to it that was unfinished at the export is in a file.

use super::{Meta, OutboxEntry, Store, StoreResult};

impl Store {
    /// Every unfinished action up to `seq` is now in a file the agent keeps
    /// (the mark never moves back).
    pub fn mark_exported(&self, seq: i64) -> StoreResult<()> {
        self.conn.execute(
            "INSERT INTO meta (key, value) VALUES (?1, ?2) ON CONFLICT (key) DO UPDATE
               SET value = max(CAST(value AS INTEGER), CAST(excluded.value AS INTEGER))",
            rusqlite::params![Meta::ExportedThrough.key(), seq],
        )?;
        Ok(())
    }

    /// The unfinished actions in no export file: what a wipe would lose.
    pub fn unexported(&self) -> StoreResult<Vec<OutboxEntry>> {
        let through = self
            .meta(Meta::ExportedThrough)?
            .and_then(|seq| seq.parse::<i64>().ok())
            .unwrap_or(0);
        let mut waiting = self.queue(false)?;
        waiting.retain(|e| e.seq > through);
        Ok(waiting)
    }
}

#[cfg(test)]
mod tests {
    use crate::domain::Action;
    use crate::store::{save_case_one, test_store};

    #[test]
    fn only_actions_queued_after_the_export_are_unexported() {
        let (_dir, mut store) = test_store();
        save_case_one(&mut store);
        let comment = |text: &str| Action::Comment { text: text.into() };
        let first = store.enqueue("CS1", comment("a")).unwrap();
        assert_eq!(store.unexported().unwrap().len(), 1);
        store.mark_exported(first.seq).unwrap();
        assert!(store.unexported().unwrap().is_empty());
        let second = store.enqueue("CS1", comment("b")).unwrap();
        let left: Vec<i64> = store.unexported().unwrap().iter().map(|e| e.seq).collect();
        assert_eq!(left, [second.seq]);
        store.mark_exported(0).unwrap();
        assert_eq!(store.unexported().unwrap().len(), 1, "never moves back");
    }
}

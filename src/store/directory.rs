//! Users, groups, choice lists, citizens and timelines in the local store.

use rusqlite::{OptionalExtension, params};

use super::timestamps::EmptyIfUnset;
use super::{Store, StoreError, StoreResult};
use crate::domain::directory::Directory;
pub use crate::domain::text::fold;
use crate::domain::{
    Case, Choice, ChoiceList, Citizen, EntryKind, Group, Stage, TimelineEntry, User,
};

impl Store {
    pub fn save_directory(&mut self, directory: &Directory) -> StoreResult<()> {
        let tx = self.write()?;
        tx.execute_batch("DELETE FROM users; DELETE FROM groups; DELETE FROM members;")?;
        for u in &directory.users {
            tx.execute(
                "INSERT OR REPLACE INTO users (id, user_name, name, email, active) VALUES (?, ?, ?, ?, ?)",
                params![u.id, u.user_name, u.name, u.email, u.active],
            )?;
        }
        for g in &directory.groups {
            tx.execute(
                "INSERT OR REPLACE INTO groups (id, name) VALUES (?, ?)",
                params![g.id, g.name],
            )?;
        }
        for (user, group) in &directory.memberships {
            tx.execute(
                "INSERT OR IGNORE INTO members (user, grp) VALUES (?, ?)",
                params![user, group],
            )?;
        }
        tx.commit()?;
        Ok(())
    }

    pub fn save_choices(&mut self, choices: &[Choice]) -> StoreResult<()> {
        let procedures_before = self.choices(ChoiceList::Procedure)?;
        let tx = self.write()?;
        tx.execute("DELETE FROM choices", [])?;
        for c in choices {
            tx.execute(
                "INSERT OR REPLACE INTO choices (list, value, label_en, label_fr, sequence, stage) VALUES (?, ?, ?, ?, ?, ?)",
                params![c.list.as_str(), c.value, c.label_en, c.label_fr, c.sequence, c.stage.map(Stage::as_str)],
            )?;
        }
        // Procedure labels are in the search lines: rewrite them only when
        // the labels changed (rare: the reference refresh is hourly).
        let procedures_after: Vec<&Choice> = choices
            .iter()
            .filter(|c| c.list == ChoiceList::Procedure)
            .collect();
        let same = procedures_before.len() == procedures_after.len()
            && procedures_before
                .iter()
                .zip(&procedures_after)
                .all(|(a, b)| a.value == b.value && a.label_fr == b.label_fr);
        if !same {
            super::haystack::rewrite_where(&tx, "1", None)?;
        }
        tx.commit()?;
        Ok(())
    }

    pub fn choices(&self, list: ChoiceList) -> StoreResult<Vec<Choice>> {
        let mut stmt = self.conn.prepare_cached(
            "SELECT value, label_en, label_fr, sequence, stage FROM choices WHERE list = ? ORDER BY sequence, value",
        )?;
        let rows = stmt.query_map([list.as_str()], |r| {
            Ok(Choice {
                list,
                value: r.get(0)?,
                label_en: r.get(1)?,
                label_fr: r.get(2)?,
                sequence: r.get(3)?,
                stage: r
                    .get::<_, Option<String>>(4)?
                    .as_deref()
                    .and_then(Stage::parse),
            })
        })?;
        Ok(rows.collect::<Result<_, _>>()?)
    }

    /// A state named by what the agent types: a value, an English or French
    /// label, or a stage name (`open`, `resolved`...), accents and case ignored.
    pub fn resolve_state(&self, typed: &str) -> StoreResult<Choice> {
        let states = self.choices(ChoiceList::State)?;
        if states.is_empty() {
            return Err(StoreError::Invalid(
                "no state list yet: run `guichet sync` while online".into(),
            ));
        }
        let wanted = fold(typed.trim()).replace(['-', ' '], "_");
        let matches = |c: &Choice| {
            c.value == typed.trim()
                || fold(&c.label_en).replace(['-', ' '], "_") == wanted
                || fold(&c.label_fr).replace(['-', ' '], "_") == wanted
                || c.stage.is_some_and(|s| s.as_str() == wanted)
        };
        states.iter().find(|c| matches(c)).cloned().ok_or_else(|| {
            let known: Vec<String> = states
                .iter()
                .map(|c| format!("{} ({})", c.label_en, c.value))
                .collect();
            StoreError::Invalid(format!(
                "unknown state '{typed}'; known: {}",
                known.join(", ")
            ))
        })
    }

    /// The state value of a stage (e.g. the value meaning "open").
    pub fn state_of_stage(&self, stage: Stage) -> StoreResult<Option<String>> {
        Ok(self
            .choices(ChoiceList::State)?
            .into_iter()
            .find(|c| c.stage == Some(stage))
            .map(|c| c.value))
    }

    pub fn stage_of_state(&self, value: &str) -> StoreResult<Option<Stage>> {
        let stage: Option<Option<String>> = self
            .conn
            .query_row(
                "SELECT stage FROM choices WHERE list = 'state' AND value = ?",
                [value],
                |r| r.get(0),
            )
            .optional()?;
        Ok(stage.flatten().as_deref().and_then(Stage::parse))
    }

    pub fn label(&self, list: ChoiceList, value: &str, french: bool) -> StoreResult<String> {
        let label: Option<String> = self
            .conn
            .query_row(
                if french {
                    "SELECT label_fr FROM choices WHERE list = ? AND value = ?"
                } else {
                    "SELECT label_en FROM choices WHERE list = ? AND value = ?"
                },
                [list.as_str(), value],
                |r| r.get(0),
            )
            .optional()?;
        Ok(label.unwrap_or_else(|| value.to_string()))
    }

    /// A user by user name, exact, or by a unique part of the name.
    pub fn find_user(&self, typed: &str) -> StoreResult<User> {
        let users = self.users()?;
        if let Some(u) = users.iter().find(|u| u.user_name == typed || u.id == typed) {
            return Ok(u.clone());
        }
        let wanted = fold(typed);
        let found: Vec<&User> = users
            .iter()
            .filter(|u| fold(&u.name).contains(&wanted))
            .collect();
        match found.as_slice() {
            [one] => Ok((*one).clone()),
            [] => Err(StoreError::Invalid(format!("no agent matches '{typed}'"))),
            many => Err(StoreError::Invalid(format!(
                "'{typed}' matches several agents: {}",
                many.iter()
                    .map(|u| u.user_name.as_str())
                    .collect::<Vec<_>>()
                    .join(", ")
            ))),
        }
    }

    pub fn users(&self) -> StoreResult<Vec<User>> {
        let mut stmt = self.conn.prepare_cached(
            "SELECT id, user_name, name, email, active FROM users ORDER BY user_name",
        )?;
        let rows = stmt.query_map([], |r| {
            Ok(User {
                id: r.get(0)?,
                user_name: r.get(1)?,
                name: r.get(2)?,
                email: r.get(3)?,
                active: r.get(4)?,
            })
        })?;
        Ok(rows.collect::<Result<_, _>>()?)
    }

    /// The ids of the groups a user belongs to.
    pub fn groups_of(&self, user: &str) -> StoreResult<Vec<String>> {
        let mut stmt = self
            .conn
            .prepare_cached("SELECT grp FROM members WHERE user = ? ORDER BY grp")?;
        let ids = stmt
            .query_map([user], |r| r.get(0))?
            .collect::<Result<_, _>>()?;
        Ok(ids)
    }

    pub fn groups(&self) -> StoreResult<Vec<Group>> {
        let mut stmt = self
            .conn
            .prepare_cached("SELECT id, name FROM groups ORDER BY name")?;
        let groups = stmt
            .query_map([], |r| {
                Ok(Group {
                    id: r.get(0)?,
                    name: r.get(1)?,
                })
            })?
            .collect::<Result<_, _>>()?;
        Ok(groups)
    }

    /// A group by name, accents and case ignored, or by id.
    pub fn find_group(&self, typed: &str) -> StoreResult<Group> {
        let groups = self.groups()?;
        let wanted = fold(typed);
        groups
            .iter()
            .find(|g| g.id == typed || fold(&g.name) == wanted)
            .cloned()
            .ok_or_else(|| {
                let names: Vec<&str> = groups.iter().map(|g| g.name.as_str()).collect();
                StoreError::Invalid(format!("no group '{typed}'; known: {}", names.join(", ")))
            })
    }

    pub fn save_citizens(&mut self, citizens: &[Citizen]) -> StoreResult<()> {
        let tx = self.write()?;
        for c in citizens {
            tx.prepare_cached(
                "INSERT INTO citizens (id, first_name, last_name, name, email, phone, street, city, zip)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9)
                 ON CONFLICT (id) DO UPDATE SET first_name = ?2, last_name = ?3, name = ?4, email = ?5,
                   phone = ?6, street = ?7, city = ?8, zip = ?9",
            )?
            .execute(params![c.id, c.first_name, c.last_name, c.name(), c.email, c.phone, c.street, c.city, c.zip])?;
            // The citizen's name is part of the search line of their cases.
            super::haystack::rewrite_where(&tx, "c.citizen = ?", Some(&c.id))?;
        }
        tx.commit()?;
        Ok(())
    }

    /// Citizens referenced by cases but not yet stored.
    /// Among the citizens these cases refer to, those not stored yet.
    pub fn citizens_missing_for(&self, cases: &[Case]) -> StoreResult<Vec<String>> {
        let mut known = self
            .conn
            .prepare_cached("SELECT 1 FROM citizens WHERE id = ?")?;
        let mut seen = std::collections::HashSet::new();
        let mut missing = Vec::new();
        for id in cases.iter().filter_map(|c| c.citizen.as_ref()) {
            if seen.insert(id) && !known.exists([id])? {
                missing.push(id.clone());
            }
        }
        Ok(missing)
    }

    pub fn missing_citizens(&self) -> StoreResult<Vec<String>> {
        let mut stmt = self.conn.prepare(
            "SELECT DISTINCT citizen FROM cases WHERE citizen IS NOT NULL AND citizen NOT IN (SELECT id FROM citizens)",
        )?;
        let rows = stmt.query_map([], |r| r.get(0))?;
        Ok(rows.collect::<Result<_, _>>()?)
    }

    pub fn citizen(&self, id: &str) -> StoreResult<Option<Citizen>> {
        Ok(self
            .conn
            .query_row(
                "SELECT id, first_name, last_name, email, phone, street, city, zip FROM citizens WHERE id = ?",
                [id],
                |r| {
                    Ok(Citizen {
                        id: r.get(0)?,
                        first_name: r.get(1)?,
                        last_name: r.get(2)?,
                        email: r.get(3)?,
                        phone: r.get(4)?,
                        street: r.get(5)?,
                        city: r.get(6)?,
                        zip: r.get(7)?,
                    })
                },
            )
            .optional()?)
    }

    /// Replaces the timeline of the given cases with what the back-end holds.
    pub fn save_timeline(
        &mut self,
        case_ids: &[String],
        entries: &[TimelineEntry],
    ) -> StoreResult<()> {
        let tx = self.write()?;
        for id in case_ids {
            tx.execute("DELETE FROM timeline WHERE case_id = ?", [id])?;
        }
        for e in entries {
            tx.prepare_cached(
                "INSERT OR REPLACE INTO timeline (id, case_id, kind, text, author, at) VALUES (?, ?, ?, ?, ?, ?)",
            )?
            .execute(params![
                e.id,
                e.case_id,
                e.kind.as_str(),
                e.text,
                e.author,
                EmptyIfUnset(e.at)
            ])?;
        }
        tx.commit()?;
        Ok(())
    }

    pub fn timeline(&self, case_id: &str) -> StoreResult<Vec<TimelineEntry>> {
        let mut stmt = self
            .conn
            .prepare_cached("SELECT id, case_id, kind, text, author, at FROM timeline WHERE case_id = ? ORDER BY at, id")?;
        let rows = stmt.query_map([case_id], |r| {
            Ok((
                r.get::<_, String>(0)?,
                r.get::<_, String>(1)?,
                r.get::<_, String>(2)?,
                r.get(3)?,
                r.get(4)?,
                r.get::<_, EmptyIfUnset>(5)?.0,
            ))
        })?;
        let mut out = Vec::new();
        for row in rows {
            let (id, case_id, kind, text, author, at) = row?;
            let kind = EntryKind::parse(&kind)
                .ok_or_else(|| StoreError::Corrupt(format!("timeline kind '{kind}'")))?;
            out.push(TimelineEntry {
                id,
                case_id,
                kind,
                text,
                author,
                at,
            });
        }
        Ok(out)
    }
}

//! Deterministic demo data: for a given case count and day, the same
//! citizens, cases and journal, drawn from the catalogues in assets/demo/.
//! Everything is synthetic; no real person is named.

mod catalog;

use std::time::Instant;

use argon2::password_hash::{PasswordHasher, SaltString};
use rand::rngs::Xoshiro256PlusPlus;
use rand::seq::IndexedRandom;
use rand::{Rng, RngExt, SeedableRng};
use rusqlite::{Connection, params};
use time::{Date, Duration, OffsetDateTime, Time};

use super::rules::{AWAITING_INFO, CANCELLED, CLOSED, NEW, OPEN, RESOLVED};
use super::schema;
use crate::domain::Timestamp;
pub use catalog::Catalog;

/// The password of every demo account.
pub const DEMO_PASSWORD: &str = "demo";

/// How many months back demo cases were opened.
const HISTORY_DAYS: i64 = 180;

struct Ids(Xoshiro256PlusPlus);

impl Ids {
    fn next(&mut self) -> String {
        format!("{:016x}{:016x}", self.0.next_u64(), self.0.next_u64())
    }
}

/// Why the demo could not be seeded.
#[derive(Debug, thiserror::Error)]
pub enum SeedError {
    /// An embedded catalogue is broken (a build mistake the tests catch).
    #[error("demo catalogue: {0}")]
    Catalog(String),
    #[error("database: {0}")]
    Database(#[from] rusqlite::Error),
    #[error("password hash: {0}")]
    Hash(String),
}

/// Seeds `cases` demo cases, and `dossiers` dossiers of the Démarches
/// Simplifiées endpoint, into an empty database. Returns None (and touches
/// nothing) when the database already holds users or cases, so that a
/// restart keeps what agents changed.
pub fn seed(
    conn: &mut Connection,
    cases: u32,
    dossiers: u32,
    day: Date,
) -> Result<Option<String>, SeedError> {
    let started = Instant::now();
    let catalog = Catalog::load().map_err(SeedError::Catalog)?;
    let occupied: bool = conn.query_row(
        "SELECT EXISTS (SELECT 1 FROM sys_user) OR EXISTS (SELECT 1 FROM sn_customerservice_case)",
        [],
        |r| r.get(0),
    )?;
    if occupied {
        return Ok(None);
    }
    // One hash for every demo account: argon2 is slow on purpose, and the
    // fixed salt keeps the seeded file identical for identical inputs.
    let salt =
        SaltString::from_b64("Z3VpY2hldGRlbW9zYWx0").map_err(|e| SeedError::Hash(e.to_string()))?;
    let hash = argon2::Argon2::default()
        .hash_password(DEMO_PASSWORD.as_bytes(), &salt)
        .map_err(|e| SeedError::Hash(e.to_string()))?
        .to_string();
    // An empty file needs no write-ahead log to be filled: a rollback journal
    // records almost nothing for new pages, where WAL would write every page
    // twice (gigabytes at a million cases). WAL and FULL sync come back after.
    conn.execute_batch(
        "PRAGMA journal_mode = DELETE; PRAGMA synchronous = NORMAL; PRAGMA cache_size = -262144;",
    )?;
    let tx = conn.transaction()?;
    let mut generator = Generator::new(&catalog, cases, day, hash);
    generator.write(&tx)?;
    let demarches = super::demarches::seed::seed(&tx, &catalog, dossiers, day)?;
    tx.commit()?;
    conn.execute_batch(
        "PRAGMA journal_mode = WAL; PRAGMA synchronous = FULL; PRAGMA cache_size = -32000;",
    )?;
    Ok(Some(format!(
        "demo: seeded {cases} cases, {} citizens, {} journal entries and {} agents, and {demarches}, in {:.2} s (password for every demo account: {DEMO_PASSWORD})",
        generator.citizens.len(),
        generator.journal_entries,
        catalog.agents.len(),
        started.elapsed().as_secs_f64()
    )))
}

struct Citizen {
    sys_id: String,
    name: String,
    email: String,
    city: &'static str,
}

struct Generator<'c> {
    catalog: &'c Catalog,
    cases: u32,
    rng: Xoshiro256PlusPlus,
    ids: Ids,
    /// The demo's "now": midnight opening the chosen day, so that nothing
    /// seeded lies in the future.
    now: OffsetDateTime,
    group_ids: Vec<String>,
    /// (sys_id, user_name, groups by index)
    agents: Vec<(String, String, Vec<usize>)>,
    citizens: Vec<Citizen>,
    journal_entries: u64,
    password_hash: String,
}

impl<'c> Generator<'c> {
    fn new(catalog: &'c Catalog, cases: u32, day: Date, password_hash: String) -> Self {
        Generator {
            catalog,
            cases,
            rng: Xoshiro256PlusPlus::seed_from_u64(u64::from(cases)),
            ids: Ids(Xoshiro256PlusPlus::seed_from_u64(
                u64::from(cases) ^ 0x9e37_79b9_7f4a_7c15,
            )),
            now: day.with_time(Time::MIDNIGHT).assume_utc(),
            group_ids: Vec::new(),
            agents: Vec::new(),
            citizens: Vec::new(),
            journal_entries: 0,
            password_hash,
        }
    }

    fn write(&mut self, tx: &Connection) -> rusqlite::Result<()> {
        let created = Timestamp::from(self.now - Duration::days(HISTORY_DAYS + 30)).to_string();
        schema::before_bulk_load(tx)?;
        self.write_choices(tx, &created)?;
        self.write_people(tx, &created)?;
        self.write_citizens(tx, &created)?;
        self.write_cases(tx)?;
        // Last, so that the sys_ids drawn for everything above stay those
        // earlier releases seeded.
        self.write_procedures(tx, &created)?;
        schema::after_bulk_load(tx)
    }

    /// The procedure catalogue (`u_guichet_procedure`), one row per
    /// procedure, documents one per line.
    fn write_procedures(&mut self, tx: &Connection, created: &str) -> rusqlite::Result<()> {
        let mut insert = tx.prepare(
            "INSERT INTO u_guichet_procedure (sys_id, code, label_fr, label_en, \"group\", due_days,
               documents_fr, documents_en, follow_up_fr, follow_up_en, active,
               sys_created_on, sys_created_by, sys_updated_on, sys_updated_by, sys_mod_count)
             VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, 1, ?, 'system', ?, 'system', 0)",
        )?;
        for p in &self.catalog.procedures {
            let group = self
                .catalog
                .groups
                .iter()
                .position(|g| g.key == p.group)
                .and_then(|i| self.group_ids.get(i));
            insert.execute(params![
                self.ids.next(),
                p.code,
                p.label_fr,
                p.label_en,
                group,
                p.due_days,
                p.documents_fr.join("\n"),
                p.documents_en.join("\n"),
                p.follow_up_fr,
                p.follow_up_en,
                created,
                created
            ])?;
        }
        Ok(())
    }

    fn write_choices(&mut self, tx: &Connection, created: &str) -> rusqlite::Result<()> {
        let mut insert = tx.prepare(
            "INSERT INTO sys_choice (sys_id, name, element, value, label, sequence, language, inactive,
               sys_created_on, sys_created_by, sys_updated_on, sys_updated_by, sys_mod_count)
             VALUES (?, 'sn_customerservice_case', ?, ?, ?, ?, ?, 0, ?, 'system', ?, 'system', 0)",
        )?;
        let categories = self.catalog.procedures.iter().enumerate().map(|(i, p)| {
            (
                "category",
                p.code.as_str(),
                i as i64 + 1,
                p.label_en.as_str(),
                p.label_fr.as_str(),
            )
        });
        let listed = self.catalog.choices.iter().map(|c| {
            (
                c.element.as_str(),
                c.value.as_str(),
                c.sequence,
                c.en.as_str(),
                c.fr.as_str(),
            )
        });
        for (element, value, sequence, en, fr) in listed.chain(categories) {
            for (language, label) in [("en", en), ("fr", fr)] {
                insert.execute(params![
                    self.ids.next(),
                    element,
                    value,
                    label,
                    sequence,
                    language,
                    created,
                    created
                ])?;
            }
        }
        Ok(())
    }

    fn write_people(&mut self, tx: &Connection, created: &str) -> rusqlite::Result<()> {
        let mut group = tx.prepare(
            "INSERT INTO sys_user_group (sys_id, name, description, active,
               sys_created_on, sys_created_by, sys_updated_on, sys_updated_by, sys_mod_count)
             VALUES (?, ?, ?, 1, ?, 'system', ?, 'system', 0)",
        )?;
        for g in &self.catalog.groups {
            let id = self.ids.next();
            group.execute(params![id, g.name, g.description, created, created])?;
            self.group_ids.push(id);
        }
        let mut user = tx.prepare(
            "INSERT INTO sys_user (sys_id, user_name, first_name, last_name, name, email, active, roles,
               preferred_language, password_hash, demo,
               sys_created_on, sys_created_by, sys_updated_on, sys_updated_by, sys_mod_count)
             VALUES (?, ?, ?, ?, ?, ?, 1, ?, 'fr', ?, 1, ?, 'system', ?, 'system', 0)",
        )?;
        let mut member = tx.prepare(
            "INSERT INTO sys_user_grmember (sys_id, \"user\", \"group\",
               sys_created_on, sys_created_by, sys_updated_on, sys_updated_by, sys_mod_count)
             VALUES (?, ?, ?, ?, 'system', ?, 'system', 0)",
        )?;
        for a in &self.catalog.agents {
            let id = self.ids.next();
            let name = format!("{} {}", a.first_name, a.last_name);
            let email = format!("{}@demo.guichet.example", a.user_name);
            user.execute(params![
                id,
                a.user_name,
                a.first_name,
                a.last_name,
                name,
                email,
                a.roles.join(","),
                self.password_hash,
                created,
                created
            ])?;
            let mut groups = Vec::new();
            for key in &a.groups {
                if let Some(i) = self.catalog.groups.iter().position(|g| &g.key == key) {
                    member.execute(params![
                        self.ids.next(),
                        id,
                        self.group_ids[i],
                        created,
                        created
                    ])?;
                    groups.push(i);
                }
            }
            self.agents.push((id, a.user_name.clone(), groups));
        }
        Ok(())
    }

    fn write_citizens(&mut self, tx: &Connection, created: &str) -> rusqlite::Result<()> {
        let count = (self.cases as usize * 2 / 3).max(50);
        let mut insert = tx.prepare(
            "INSERT INTO csm_consumer (sys_id, first_name, last_name, name, email, mobile_phone, street, city, zip,
               sys_created_on, sys_created_by, sys_updated_on, sys_updated_by, sys_mod_count)
             VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, 'system', ?, 'system', 0)",
        )?;
        let c = self.catalog;
        for _ in 0..count {
            let first = *c.first_names.choose(&mut self.rng).unwrap_or(&"Camille");
            let last = *c.last_names.choose(&mut self.rng).unwrap_or(&"Martin");
            let (zip, city) = *c
                .cities
                .choose(&mut self.rng)
                .unwrap_or(&("23000", "Guéret"));
            let street = format!(
                "{} {}",
                self.rng.random_range(1..120),
                c.streets
                    .choose(&mut self.rng)
                    .unwrap_or(&"rue de la Mairie")
            );
            let email = format!(
                "{}.{}{}@example.fr",
                ascii_fold(first),
                ascii_fold(last),
                self.rng.random_range(1..100)
            );
            let phone = format!(
                "0{} {:02} {:02} {:02} {:02}",
                if self.rng.random_bool(0.5) { 6 } else { 7 },
                self.rng.random_range(0..100),
                self.rng.random_range(0..100),
                self.rng.random_range(0..100),
                self.rng.random_range(0..100)
            );
            let citizen = Citizen {
                sys_id: self.ids.next(),
                name: format!("{first} {last}"),
                email,
                city,
            };
            insert.execute(params![
                citizen.sys_id,
                first,
                last,
                citizen.name,
                citizen.email,
                phone,
                street,
                city,
                zip,
                created,
                created
            ])?;
            self.citizens.push(citizen);
        }
        Ok(())
    }

    fn pick_state(&mut self, age_days: i64) -> i64 {
        let done = (age_days as f64 / 120.0).min(0.85);
        if self.rng.random_bool(done) {
            *[
                RESOLVED, RESOLVED, RESOLVED, CLOSED, CLOSED, CLOSED, CLOSED, CLOSED, CLOSED,
                CANCELLED,
            ]
            .choose(&mut self.rng)
            .unwrap_or(&CLOSED)
        } else if age_days > 14 {
            *[OPEN, OPEN, OPEN, AWAITING_INFO, AWAITING_INFO]
                .choose(&mut self.rng)
                .unwrap_or(&OPEN)
        } else {
            *[NEW, NEW, OPEN, OPEN, AWAITING_INFO]
                .choose(&mut self.rng)
                .unwrap_or(&NEW)
        }
    }

    fn write_cases(&mut self, tx: &Connection) -> rusqlite::Result<()> {
        let mut case = tx.prepare(
            "INSERT INTO sn_customerservice_case (sys_id, number, short_description, description, state, priority,
               category, contact_type, consumer, assigned_to, assignment_group, opened_at, due_date,
               resolution_code, close_notes, active,
               sys_created_on, sys_created_by, sys_updated_on, sys_updated_by, sys_mod_count)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15, ?16, ?12, ?17, ?18, ?19, ?20)",
        )?;
        let mut journal = tx.prepare(
            "INSERT INTO sys_journal_field (sys_id, element_id, element, name, value,
               sys_created_on, sys_created_by, sys_updated_on, sys_updated_by, sys_mod_count)
             VALUES (?1, ?2, ?3, 'sn_customerservice_case', ?4, ?5, ?6, ?5, ?6, 0)",
        )?;
        let c = self.catalog;
        let contact_types = [
            "walk-in", "walk-in", "walk-in", "phone", "phone", "web", "web", "mail",
        ];
        let resolutions = [
            "granted",
            "granted",
            "granted",
            "rejected",
            "information_given",
            "redirected",
            "duplicate",
            "withdrawn",
        ];
        for n in 0..self.cases {
            let Some(procedure) = c.procedures.choose(&mut self.rng) else {
                break;
            };
            let group = c
                .groups
                .iter()
                .position(|g| g.key == procedure.group)
                .unwrap_or(0);
            let citizen_index = self.rng.random_range(0..self.citizens.len());
            let age_days = self.rng.random_range(0..HISTORY_DAYS);
            // Opened during office hours (08:30 to 17:30) of one of the past days.
            let opened = self.now - Duration::days(age_days + 1)
                + Duration::seconds(8 * 3600 + 1800 + self.rng.random_range(0..9 * 3600));
            let state = self.pick_state(age_days);
            let priority = *[1, 2, 2, 2, 3, 3, 3, 3, 3, 4, 4, 4, 4]
                .choose(&mut self.rng)
                .unwrap_or(&3);
            let contact_type = *contact_types.choose(&mut self.rng).unwrap_or(&"walk-in");
            let members: Vec<usize> = (0..self.agents.len())
                .filter(|i| self.agents[*i].2.contains(&group))
                .collect();
            let assignee = if state == NEW && self.rng.random_bool(0.8) {
                None
            } else {
                members.choose(&mut self.rng).copied()
            };
            let citizen = &self.citizens[citizen_index];
            let description = procedure
                .descriptions
                .choose(&mut self.rng)
                .map(|d| {
                    d.replace("{citizen}", &citizen.name)
                        .replace("{city}", citizen.city)
                })
                .unwrap_or_default();
            let summary = procedure
                .summaries
                .choose(&mut self.rng)
                .cloned()
                .unwrap_or_default();
            let sys_id = self.ids.next();
            let citizen_id = citizen.sys_id.clone();
            let citizen_email = citizen.email.clone();
            let creator = match (contact_type, assignee) {
                ("web", _) => citizen_email.clone(),
                (_, Some(a)) => self.agents[a].1.clone(),
                _ => "accueil".to_string(),
            };

            // The journal: a few entries spread between opening and now.
            let entries = match state {
                NEW => self.rng.random_range(0..2),
                OPEN => self.rng.random_range(1..4),
                AWAITING_INFO => self.rng.random_range(2..5),
                _ => self.rng.random_range(2..6),
            };
            // Entries spread between opening and "now", in order, each in its
            // own slice of that span, so no two cases pile up on one second.
            let span = (self.now - opened).whole_seconds().max(60);
            let slice = span / (i64::from(entries) + 1);
            let mut at = opened;
            let mut last_comment = None;
            for e in 0..entries {
                at = opened
                    + Duration::seconds(
                        slice * (i64::from(e) + 1) - self.rng.random_range(0..slice.max(2) / 2),
                    );
                let kind = self.rng.random_range(0..3);
                let (element, value, by) = match (kind, assignee) {
                    (0, _) => (
                        "comments",
                        procedure.citizen_messages.choose(&mut self.rng),
                        citizen_email.clone(),
                    ),
                    (1, Some(a)) => (
                        "comments",
                        procedure.comments.choose(&mut self.rng),
                        self.agents[a].1.clone(),
                    ),
                    (_, Some(a)) => (
                        "work_notes",
                        procedure.work_notes.choose(&mut self.rng),
                        self.agents[a].1.clone(),
                    ),
                    (_, None) => (
                        "work_notes",
                        procedure.work_notes.choose(&mut self.rng),
                        "accueil".to_string(),
                    ),
                };
                let value = value.cloned().unwrap_or_default();
                if element == "comments" && by != citizen_email {
                    last_comment = Some(value.clone());
                }
                journal.execute(params![
                    self.ids.next(),
                    sys_id,
                    element,
                    value,
                    Timestamp::from(at).to_string(),
                    by
                ])?;
                self.journal_entries += 1;
            }
            let updated = if entries == 0 {
                opened + Duration::minutes(5)
            } else {
                at
            };
            let (resolution, close_notes) = if matches!(state, RESOLVED | CLOSED) {
                let code = *resolutions.choose(&mut self.rng).unwrap_or(&"granted");
                let notes =
                    last_comment.unwrap_or_else(|| "Dossier traité et usager informé.".to_string());
                (Some(code), Some(notes))
            } else {
                (None, None)
            };
            let updated_by = assignee.map_or_else(|| creator.clone(), |a| self.agents[a].1.clone());
            let mod_count =
                i64::from(entries) + i64::from(state != NEW) + i64::from(assignee.is_some());
            case.execute(params![
                sys_id,
                format!("CS{:07}", 1001 + u64::from(n)),
                summary,
                description,
                state,
                priority,
                procedure.code,
                contact_type,
                citizen_id,
                assignee.map(|a| self.agents[a].0.clone()),
                self.group_ids[group],
                Timestamp::from(opened).to_string(),
                Timestamp::from(opened + Duration::days(procedure.due_days)).to_string(),
                resolution,
                close_notes,
                !matches!(state, CLOSED | CANCELLED),
                creator,
                Timestamp::from(updated).to_string(),
                updated_by,
                mod_count,
            ])?;
        }
        Ok(())
    }
}

/// Lower-case ASCII for demo e-mail addresses: accents dropped, ligatures
/// spelt out, anything else that is not a letter or digit removed.
fn ascii_fold(text: &str) -> String {
    let spelt = text.replace(['œ', 'Œ'], "oe").replace(['æ', 'Æ'], "ae");
    crate::domain::text::fold(&spelt)
        .chars()
        .filter(char::is_ascii_alphanumeric)
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn seeded(cases: u32) -> Connection {
        let mut conn = Connection::open_in_memory().unwrap();
        super::super::schema::migrate(&conn).unwrap();
        let day = Date::from_calendar_date(2026, time::Month::March, 2).unwrap();
        seed(&mut conn, cases, 30, day).unwrap().unwrap();
        conn
    }

    fn dump(conn: &Connection) -> Vec<String> {
        let mut stmt = conn
            .prepare("SELECT sys_id || number || short_description || state || opened_at || coalesce(assigned_to, '') FROM sn_customerservice_case ORDER BY number")
            .unwrap();
        stmt.query_map([], |r| r.get(0))
            .unwrap()
            .map(Result::unwrap)
            .collect()
    }

    #[test]
    fn the_same_count_and_day_give_the_same_data() {
        assert_eq!(dump(&seeded(200)), dump(&seeded(200)));
        assert_ne!(dump(&seeded(200)), dump(&seeded(201))[..200].to_vec());
    }

    #[test]
    fn every_state_is_represented_and_seeding_twice_is_refused() {
        let mut conn = seeded(400);
        for state in [NEW, OPEN, AWAITING_INFO, RESOLVED, CLOSED, CANCELLED] {
            let n: i64 = conn
                .query_row(
                    "SELECT count(*) FROM sn_customerservice_case WHERE state = ?",
                    [state],
                    |r| r.get(0),
                )
                .unwrap();
            assert!(n > 0, "state {state}");
        }
        let day = Date::from_calendar_date(2026, time::Month::March, 2).unwrap();
        assert!(seed(&mut conn, 10, 30, day).unwrap().is_none());
    }

    #[test]
    fn ascii_fold_keeps_addresses_plain() {
        assert_eq!(ascii_fold("Hélène"), "helene");
        assert_eq!(ascii_fold("D'Almeida"), "dalmeida");
        assert_eq!(ascii_fold("Lætitia Œuvray"), "laetitiaoeuvray");
    }
}

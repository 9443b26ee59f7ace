//! Intake at the counter (issue #11): finding or recording the citizen,
//! opening a case for a procedure, the receipt.
//!
//! TEMPORARY: the console's branch carries these bodies only so that the
//! console can be built and tried; the real module (store, outbox, sync)
//! replaces this file when the branches are merged. Only the signatures
//! matter here.

use crate::domain::{ChoiceList, Citizen, Timestamp};
use crate::i18n::Lang;
use crate::store::{OutboxEntry, Store, StoreResult};

use super::AppError;

#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct NewCitizen {
    pub first_name: String,
    pub last_name: String,
    pub email: String,
    pub phone: String,
    pub street: String,
    pub city: String,
    pub zip: String,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CitizenChoice {
    Known(String /* citizen id */),
    New(NewCitizen),
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Intake {
    pub citizen: CitizenChoice,
    /// Procedure code.
    pub procedure: String,
    pub summary: String,
    pub description: String,
    /// Channel choice value; walk-in by default (see `default_channel`).
    pub channel: String,
    /// 1..=4
    pub priority: u8,
    pub due: Option<Timestamp>,
    /// Group id; None = the procedure's group.
    pub group: Option<String>,
    /// True by default.
    pub assign_to_me: bool,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Procedure {
    pub code: String,
    pub label: String,
    pub group: Option<String>,
    pub due_days: Option<u32>,
    pub documents: Vec<String>,
    pub follow_up: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Receipt {
    pub number: String,
    pub provisional: bool,
    pub citizen: String,
    pub procedure: String,
    pub opened: Option<Timestamp>,
    pub deadline: Option<Timestamp>,
    pub documents: Vec<String>,
    pub follow_up: Option<String>,
}

/// Every stored citizen (a naive scan: temporary).
fn all_citizens(store: &Store) -> StoreResult<Vec<Citizen>> {
    let mut seen = std::collections::BTreeSet::new();
    let mut out = Vec::new();
    for id in store.case_ids()? {
        if let Some(citizen_id) = store.case(&id)?.citizen
            && seen.insert(citizen_id.clone())
            && let Some(c) = store.citizen(&citizen_id)?
        {
            out.push(c);
        }
    }
    Ok(out)
}

/// Citizens known locally whose name, e-mail or phone match `query` (accents folded, typos tolerated), best first.
pub fn find_citizens(store: &Store, query: &str, limit: usize) -> StoreResult<Vec<Citizen>> {
    use crate::domain::text::fold;
    let wanted = fold(query.trim());
    if wanted.is_empty() {
        return Ok(Vec::new());
    }
    let mut found: Vec<Citizen> = all_citizens(store)?
        .into_iter()
        .filter(|c| fold(&format!("{} {} {}", c.name(), c.email, c.phone)).contains(&wanted))
        .collect();
    found.truncate(limit);
    Ok(found)
}

/// Known citizens nearly identical to a new one (same folded name, or same e-mail or phone).
pub fn near_duplicates(store: &Store, new: &NewCitizen) -> StoreResult<Vec<Citizen>> {
    use crate::domain::text::fold;
    let name = fold(&format!(
        "{} {}",
        new.first_name.trim(),
        new.last_name.trim()
    ));
    Ok(all_citizens(store)?
        .into_iter()
        .filter(|c| {
            (!new.last_name.trim().is_empty() && fold(&c.name()) == name)
                || (!new.email.trim().is_empty() && c.email == new.email.trim())
                || (!new.phone.trim().is_empty() && c.phone == new.phone.trim())
        })
        .take(5)
        .collect())
}

/// The procedure catalogue in the agent's language, sorted by label.
pub fn procedures(store: &Store, lang: Lang) -> StoreResult<Vec<Procedure>> {
    let mut out: Vec<Procedure> = store
        .choices(ChoiceList::Procedure)?
        .iter()
        .map(|c| Procedure {
            code: c.value.clone(),
            label: super::compose::label_of(c, lang).to_string(),
            group: None,
            due_days: Some(30),
            documents: Vec::new(),
            follow_up: None,
        })
        .collect();
    out.sort_by(|a, b| a.label.cmp(&b.label));
    Ok(out)
}

/// The channel choices (value, label in the agent's language), walk-in first.
pub fn channels(store: &Store, lang: Lang) -> StoreResult<Vec<(String, String)>> {
    let mut out: Vec<(String, String)> = store
        .choices(ChoiceList::Channel)?
        .iter()
        .map(|c| {
            (
                c.value.clone(),
                super::compose::label_of(c, lang).to_string(),
            )
        })
        .collect();
    out.sort_by_key(|(v, _)| v != default_channel());
    Ok(out)
}

pub fn default_channel() -> &'static str {
    "walk-in"
}

/// The due date a procedure's legal deadline gives, counted from `now`.
pub fn proposed_due(procedure: &Procedure, now: Timestamp) -> Option<Timestamp> {
    procedure
        .due_days
        .map(|d| now + std::time::Duration::from_secs(u64::from(d) * 86_400))
}

/// What is missing or wrong, one sentence each in the agent's language; empty when the intake can be queued.
pub fn check(_store: &Store, intake: &Intake, lang: Lang) -> StoreResult<Vec<String>> {
    let fr = lang.is_french();
    let mut out = Vec::new();
    if let CitizenChoice::New(c) = &intake.citizen
        && c.last_name.trim().is_empty()
    {
        out.push(
            if fr {
                "Le nom de l'usager manque."
            } else {
                "The citizen's last name is missing."
            }
            .to_string(),
        );
    }
    if intake.procedure.is_empty() {
        out.push(
            if fr {
                "Choisissez la démarche."
            } else {
                "Choose the procedure."
            }
            .to_string(),
        );
    }
    if intake.summary.trim().is_empty() {
        out.push(
            if fr {
                "L'objet manque."
            } else {
                "The summary is missing."
            }
            .to_string(),
        );
    }
    Ok(out)
}

/// Queues the new case (and the new citizen), durably; the entry's `case_number` is the provisional number (NEW-n).
pub fn queue(_store: &mut Store, _intake: Intake, _lang: Lang) -> Result<OutboxEntry, AppError> {
    Err(AppError::Invalid("intake is not built yet".into()))
}

/// The receipt of a case opened here (provisional or real number).
pub fn receipt(_store: &Store, number: &str, _lang: Lang) -> Result<Receipt, AppError> {
    Ok(Receipt {
        number: number.to_string(),
        provisional: number.starts_with("NEW-"),
        citizen: String::new(),
        procedure: String::new(),
        opened: None,
        deadline: None,
        documents: Vec::new(),
        follow_up: None,
    })
}

impl Receipt {
    /// The receipt as plain text (80 columns), to read out, print or write to a file.
    pub fn text(&self, _lang: Lang) -> String {
        let mut out = format!("{}\n{}\n{}\n", self.number, self.citizen, self.procedure);
        for d in &self.documents {
            out.push_str(&format!("- {d}\n"));
        }
        out
    }
}

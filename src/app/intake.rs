//! Intake at the counter: finding the citizen (or recording a new one, with
//! a warning when a near-identical one is known), the procedure and its
//! legal deadline, what is missing before anything is queued, queueing the
//! opening offline like every other write, and the receipt handed to the
//! citizen. Both front ends (`guichet new`, the console's form) use these.

use crate::domain::text::fold;
use crate::domain::{ChoiceList, Citizen, NewCase, Timestamp, is_provisional};
use crate::i18n::Lang;
use crate::store::{OutboxEntry, ProcedureInfo, Store, StoreResult, provisional_id};

use super::AppError;
use super::compose::label_of;

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
    /// A citizen known here (a back-end's id, or a provisional one).
    Known(String),
    New(NewCitizen),
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Intake {
    pub citizen: CitizenChoice,
    /// The procedure's code.
    pub procedure: String,
    pub summary: String,
    pub description: String,
    /// A channel choice's value; walk-in at the counter (`default_channel`).
    pub channel: String,
    /// 1 (critical) to 4 (low).
    pub priority: u8,
    pub due: Option<Timestamp>,
    /// A group's id; None: the procedure's group.
    pub group: Option<String>,
    /// Assigned to the agent (the default), or left in the group's queue.
    pub assign_to_me: bool,
}

/// A procedure of the catalogue, in the agent's language.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Procedure {
    pub code: String,
    pub label: String,
    pub group: Option<String>,
    pub due_days: Option<u32>,
    pub documents: Vec<String>,
    pub follow_up: Option<String>,
}

/// What the citizen takes away.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Receipt {
    pub number: String,
    /// Not numbered by the back-end yet (said so on the receipt).
    pub provisional: bool,
    pub citizen: String,
    pub procedure: String,
    pub opened: Option<Timestamp>,
    pub deadline: Option<Timestamp>,
    pub documents: Vec<String>,
    pub follow_up: Option<String>,
}

/// Citizens known locally whose name, e-mail or phone match `query`
/// (accents folded, typos tolerated), best first.
pub fn find_citizens(store: &Store, query: &str, limit: usize) -> StoreResult<Vec<Citizen>> {
    store.find_citizens(query, limit)
}

/// Known citizens nearly identical to a new one: the same name (accents and
/// case aside), or the same e-mail, or the same phone number.
pub fn near_duplicates(store: &Store, new: &NewCitizen) -> StoreResult<Vec<Citizen>> {
    let name = fold(&format!(
        "{} {}",
        new.first_name.trim(),
        new.last_name.trim()
    ));
    let digits = |t: &str| t.chars().filter(char::is_ascii_digit).collect::<String>();
    let phone = digits(&new.phone);
    let email = fold(new.email.trim());
    let mut query = String::new();
    for part in [new.last_name.trim(), new.email.trim(), new.phone.trim()] {
        if !part.is_empty() {
            query = part.to_string();
            break;
        }
    }
    let mut near = Vec::new();
    for known in store.find_citizens(&query, 50)? {
        let same_name = name.trim().len() > 2 && fold(&known.name()) == name.trim();
        let same_email = !email.is_empty() && fold(&known.email) == email;
        let same_phone = phone.len() >= 6 && digits(&known.phone) == phone;
        if same_name || same_email || same_phone {
            near.push(known);
        }
    }
    Ok(near)
}

/// The procedure catalogue in the agent's language, sorted by label: the
/// back-end's catalogue (deadlines, documents) where it has one, else the
/// procedure choice list alone.
pub fn procedures(store: &Store, lang: Lang) -> StoreResult<Vec<Procedure>> {
    let infos = store.procedure_infos()?;
    let mut list: Vec<Procedure> = if infos.is_empty() {
        store
            .choices(ChoiceList::Procedure)?
            .iter()
            .map(|c| Procedure {
                code: c.value.clone(),
                label: label_of(c, lang).to_string(),
                group: None,
                due_days: None,
                documents: Vec::new(),
                follow_up: None,
            })
            .collect()
    } else {
        infos.iter().map(|p| procedure_of(p, lang)).collect()
    };
    list.sort_by_key(|p| fold(&p.label));
    Ok(list)
}

fn procedure_of(info: &ProcedureInfo, lang: Lang) -> Procedure {
    let (label, documents, follow_up) = if lang.is_french() {
        (&info.label_fr, &info.documents_fr, &info.follow_up_fr)
    } else {
        (&info.label_en, &info.documents_en, &info.follow_up_en)
    };
    Procedure {
        code: info.code.clone(),
        label: label.clone(),
        group: info.group.clone(),
        due_days: info.due_days,
        documents: documents.clone(),
        follow_up: Some(follow_up.clone()).filter(|f| !f.trim().is_empty()),
    }
}

/// The channel choices (value, label), walk-in first.
pub fn channels(store: &Store, lang: Lang) -> StoreResult<Vec<(String, String)>> {
    let mut list: Vec<(String, String)> = store
        .choices(ChoiceList::Channel)?
        .iter()
        .map(|c| (c.value.clone(), label_of(c, lang).to_string()))
        .collect();
    list.sort_by_key(|(value, _)| value != default_channel());
    Ok(list)
}

/// At the counter, the citizen is there in person.
pub fn default_channel() -> &'static str {
    "walk-in"
}

/// The due date a procedure's legal deadline gives, counted from `now`.
pub fn proposed_due(procedure: &Procedure, now: Timestamp) -> Option<Timestamp> {
    procedure
        .due_days
        .map(|days| now + std::time::Duration::from_secs(u64::from(days) * 86_400))
}

/// What is missing or wrong, one sentence each in the agent's language;
/// empty when the intake can be queued.
pub fn check(store: &Store, intake: &Intake, lang: Lang) -> StoreResult<Vec<String>> {
    let mut wrong = Vec::new();
    match &intake.citizen {
        CitizenChoice::Known(id) => {
            if store.citizen(id)?.is_none() {
                wrong.push(lang.t("intake_check.citizen_unknown").to_string());
            }
        }
        CitizenChoice::New(new) => {
            if new.first_name.trim().is_empty() {
                wrong.push(lang.t("intake_check.first_name_missing").to_string());
            }
            if new.last_name.trim().is_empty() {
                wrong.push(lang.t("intake_check.last_name_missing").to_string());
            }
            if new.email.trim().is_empty() && new.phone.trim().is_empty() {
                wrong.push(lang.t("intake_check.contact_missing").to_string());
            }
            if !new.email.trim().is_empty() && !new.email.contains('@') {
                wrong.push(lang.t("intake_check.email_invalid").to_string());
            }
        }
    }
    let procedures = procedures(store, lang)?;
    let procedure = procedures.iter().find(|p| p.code == intake.procedure);
    if intake.procedure.trim().is_empty() {
        wrong.push(lang.t("intake_check.procedure_missing").to_string());
    } else if procedure.is_none() {
        wrong.push(lang.f(
            "intake_check.procedure_unknown",
            &[("code", &intake.procedure)],
        ));
    }
    if intake.summary.trim().is_empty() {
        wrong.push(lang.t("intake_check.summary_missing").to_string());
    }
    if !(1..=4).contains(&intake.priority) {
        wrong.push(lang.t("error.priority_range").to_string());
    }
    if !channels(store, lang)?
        .iter()
        .any(|(value, _)| *value == intake.channel)
    {
        wrong.push(lang.f(
            "intake_check.channel_unknown",
            &[("channel", &intake.channel)],
        ));
    }
    let group = intake
        .group
        .clone()
        .or_else(|| procedure.and_then(|p| p.group.clone()));
    match group {
        None => wrong.push(lang.t("intake_check.group_missing").to_string()),
        Some(group) => {
            let mine = match store.me()? {
                Some(me) => store.groups_of(&me)?,
                None => Vec::new(),
            };
            if !mine.contains(&group) {
                wrong.push(lang.t("intake_check.group_not_mine").to_string());
            }
        }
    }
    if intake.assign_to_me && store.me()?.is_none() {
        wrong.push(lang.t("error.me_unknown").to_string());
    }
    Ok(wrong)
}

/// Queues the opening of the case (and the recording of a new citizen
/// first), durably; the entry's `case_number` is its provisional number.
pub fn queue(store: &mut Store, intake: Intake, lang: Lang) -> Result<OutboxEntry, AppError> {
    let wrong = check(store, &intake, lang)?;
    if !wrong.is_empty() {
        return Err(AppError::Invalid(wrong.join("; ")));
    }
    let procedure = procedures(store, lang)?
        .into_iter()
        .find(|p| p.code == intake.procedure);
    let group = intake
        .group
        .clone()
        .or_else(|| procedure.and_then(|p| p.group));
    let assignee = match intake.assign_to_me {
        true => store.me()?,
        false => None,
    };
    let (citizen_id, new_citizen) = match intake.citizen {
        CitizenChoice::Known(id) => (id, None),
        CitizenChoice::New(new) => {
            let id = provisional_id();
            let citizen = Citizen {
                id: id.clone(),
                first_name: new.first_name.trim().to_string(),
                last_name: new.last_name.trim().to_string(),
                email: new.email.trim().to_string(),
                phone: new.phone.trim().to_string(),
                street: new.street.trim().to_string(),
                city: new.city.trim().to_string(),
                zip: new.zip.trim().to_string(),
            };
            (id, Some(citizen))
        }
    };
    let case = NewCase {
        citizen: citizen_id,
        procedure: intake.procedure,
        summary: intake.summary.trim().to_string(),
        description: intake.description.trim_end().to_string(),
        channel: intake.channel,
        priority: intake.priority,
        due: intake.due,
        group,
        assignee,
    };
    Ok(store.open_case(case, new_citizen)?)
}

/// The receipt of a case (by its provisional or its real number).
pub fn receipt(store: &Store, number: &str, lang: Lang) -> Result<Receipt, AppError> {
    let case = store.case(number)?;
    let citizen = match &case.citizen {
        Some(id) => store.citizen(id)?.map(|c| c.name()).unwrap_or_default(),
        None => String::new(),
    };
    let procedure = procedures(store, lang)?
        .into_iter()
        .find(|p| p.code == case.procedure);
    Ok(Receipt {
        provisional: is_provisional(&case.id),
        number: case.number,
        citizen,
        procedure: procedure
            .as_ref()
            .map_or(case.procedure.clone(), |p| p.label.clone()),
        opened: case.opened,
        deadline: case.due,
        documents: procedure
            .as_ref()
            .map(|p| p.documents.clone())
            .unwrap_or_default(),
        follow_up: procedure.and_then(|p| p.follow_up),
    })
}

impl Receipt {
    /// The receipt as plain text (at most 80 columns), to read out, print
    /// or write to a file.
    pub fn text(&self, lang: Lang) -> String {
        let day = |at: &Option<Timestamp>| {
            at.map(|t| t.to_string().chars().take(10).collect::<String>())
                .unwrap_or_else(|| lang.t("receipt_text.none").to_string())
        };
        let mut out = String::new();
        let mut line = |text: String| {
            out.push_str(&text);
            out.push('\n');
        };
        line(lang.t("receipt_text.title").to_string());
        line(String::new());
        line(lang.f("receipt_text.number", &[("number", &self.number)]));
        if self.provisional {
            line(lang.t("receipt_text.provisional").to_string());
        }
        line(lang.f("receipt_text.citizen", &[("citizen", &self.citizen)]));
        line(lang.f("receipt_text.procedure", &[("procedure", &self.procedure)]));
        line(lang.f("receipt_text.opened", &[("day", &day(&self.opened))]));
        line(lang.f("receipt_text.deadline", &[("day", &day(&self.deadline))]));
        line(String::new());
        if self.documents.is_empty() {
            line(lang.t("receipt_text.no_documents").to_string());
        } else {
            line(lang.t("receipt_text.documents").to_string());
            for document in &self.documents {
                line(format!("  - {document}"));
            }
        }
        line(String::new());
        line(
            self.follow_up
                .clone()
                .unwrap_or_else(|| lang.t("receipt_text.follow_up").to_string()),
        );
        wrap(&out, 80)
    }
}

/// Long lines folded at spaces, for an 80-column printer.
fn wrap(text: &str, width: usize) -> String {
    let mut out = String::new();
    for line in text.lines() {
        if line.chars().count() <= width {
            out.push_str(line);
            out.push('\n');
            continue;
        }
        let mut current = String::new();
        for word in line.split(' ') {
            if !current.is_empty() && current.chars().count() + 1 + word.chars().count() > width {
                out.push_str(current.trim_end());
                out.push('\n');
                current = String::from("    ");
            }
            if !current.is_empty() && !current.ends_with(' ') {
                current.push(' ');
            }
            current.push_str(word);
        }
        out.push_str(current.trim_end());
        out.push('\n');
    }
    out
}

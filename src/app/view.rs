//! View models: a case as a list line, a case in full, a deadline as a
//! countdown. Built from the local store, shown by either front end.

use serde::Serialize;
use time::OffsetDateTime;

use crate::domain::{Action, CaseField, ChoiceList, Citizen, TimelineEntry, Timestamp};
use crate::i18n::Lang;
use crate::store::{CaseRow, OutboxEntry, OutboxState, Store, StoreResult};

/// One case as `guichet cases --json` prints it (documented in the README)
/// and as the console's queues list it.
#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
pub struct CaseLine {
    /// The profile the case came from, in the one inbox (`cases --inbox`);
    /// empty, and not printed, when one profile is read.
    #[serde(rename = "source", skip_serializing_if = "String::is_empty")]
    pub source: String,
    #[serde(skip)]
    pub id: String,
    pub number: String,
    pub state: String,
    pub state_label: String,
    pub stage: Option<&'static str>,
    pub priority: u8,
    pub citizen: String,
    pub procedure: String,
    pub procedure_label: String,
    pub summary: String,
    pub assignee: String,
    #[serde(skip)]
    pub assignee_name: String,
    pub group: String,
    #[serde(with = "crate::domain::timestamp::or_empty")]
    pub due: Option<Timestamp>,
    #[serde(with = "crate::domain::timestamp::or_empty")]
    pub updated: Option<Timestamp>,
    /// Actions of mine on the case not yet applied.
    pub pending: u32,
    /// An action of mine on it waits for my decision (conflict or refusal).
    pub attention: bool,
}

pub fn case_line(store: &Store, row: &CaseRow, lang: Lang) -> StoreResult<CaseLine> {
    let case = &row.case;
    Ok(CaseLine {
        source: String::new(),
        id: case.id.clone(),
        number: case.number.clone(),
        state: case.state.clone(),
        state_label: store.label(ChoiceList::State, &case.state, lang.is_french())?,
        stage: store.stage_of_state(&case.state)?.map(|s| s.as_str()),
        priority: case.priority,
        citizen: row.citizen_name.clone(),
        procedure: case.procedure.clone(),
        procedure_label: store.label(ChoiceList::Procedure, &case.procedure, lang.is_french())?,
        summary: case.summary.clone(),
        assignee: row.assignee_user_name.clone(),
        assignee_name: row.assignee_name.clone(),
        group: row.group_name.clone(),
        due: case.due,
        updated: case.updated,
        pending: row.pending,
        attention: row.conflict,
    })
}

impl CaseLine {
    /// The case in the inbox: its profile and its id there.
    pub fn key(&self) -> crate::app::inbox::Ref {
        crate::app::inbox::Ref::new(&self.source, &self.id)
    }
}

/// Everything shown about one case.
#[derive(Debug, Clone)]
pub struct CaseDetail {
    pub line: CaseLine,
    pub description: String,
    /// The channel's value (`walk_in`...) and its label.
    pub channel: String,
    pub channel_label: String,
    pub opened: Option<Timestamp>,
    pub resolution_code: String,
    pub close_notes: String,
    pub version: String,
    pub citizen: Option<Citizen>,
    pub timeline: Vec<TimelineEntry>,
    /// My actions on it not yet applied, or waiting for my decision.
    pub queued: Vec<OutboxEntry>,
}

impl CaseDetail {
    /// Conflicting actions of mine, with the back-end's copy.
    pub fn conflicts(&self) -> impl Iterator<Item = &OutboxEntry> {
        self.queued
            .iter()
            .filter(|e| e.state == OutboxState::Conflict)
    }
}

/// The case with this number or id, as shown, with what goes with it.
pub fn case_detail(store: &Store, number_or_id: &str, lang: Lang) -> StoreResult<CaseDetail> {
    let case = store.case(number_or_id)?;
    let row = store
        .case_row(&case.id)?
        .ok_or_else(|| crate::store::StoreError::UnknownCase(number_or_id.to_string()))?;
    let line = case_line(store, &row, lang)?;
    let citizen = case
        .citizen
        .as_deref()
        .map(|id| store.citizen(id))
        .transpose()?
        .flatten();
    Ok(CaseDetail {
        line,
        description: case.description.clone(),
        channel: case.channel.clone(),
        channel_label: store.label(ChoiceList::Channel, &case.channel, lang.is_french())?,
        opened: case.opened,
        resolution_code: case.resolution_code.clone(),
        close_notes: case.close_notes.clone(),
        version: case.version.clone(),
        citizen,
        timeline: store.timeline(&case.id)?,
        queued: store.queue_of_case(&case.id)?,
    })
}

/// What an action does, in the agent's language, with state values named
/// by their labels (`label_of_state`). No citizen data: texts are counted,
/// not quoted.
pub fn describe(action: &Action, lang: Lang, label_of_state: impl Fn(&str) -> String) -> String {
    match action {
        Action::Take { .. } => lang.t("action.take").to_string(),
        Action::Assign { user: Some(_), .. } => lang.t("action.assign_agent").to_string(),
        Action::Assign { group: Some(_), .. } => lang.t("action.assign_group").to_string(),
        Action::Assign { .. } => lang.t("action.assign").to_string(),
        Action::SetState { state, .. } => {
            lang.f("action.state", &[("state", &label_of_state(state))])
        }
        Action::Comment { text } => lang.f("action.comment", &[("n", &text.chars().count())]),
        Action::WorkNote { text } => lang.f("action.note", &[("n", &text.chars().count())]),
        Action::Priority { priority } => lang.f("action.priority", &[("p", priority)]),
        Action::Open {
            citizen: Some(_), ..
        } => lang.t("action.open_new_citizen").to_string(),
        Action::Open { .. } => lang.t("action.open").to_string(),
    }
}

/// A case field's name, in the agent's language.
pub fn field_name(field: CaseField, lang: Lang) -> &'static str {
    lang.t(match field {
        CaseField::Assignee => "field.assignee",
        CaseField::Group => "field.group",
        CaseField::State => "field.state",
        CaseField::ResolutionCode => "field.resolution_code",
        CaseField::CloseNotes => "field.close_notes",
        CaseField::Priority => "field.priority",
    })
}

/// A deadline as agents say it: `J-3` (three days left), `J0` (today),
/// `J+2` (two days late), in whole days of the agent's calendar.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Countdown {
    None,
    Left(i64),
    Late(i64),
}

impl CaseLine {
    /// The deadline's countdown; none once the case is no longer open
    /// (a resolved case is not late).
    pub fn countdown(&self, now: OffsetDateTime, offset: time::UtcOffset) -> Countdown {
        let open = self
            .stage
            .and_then(crate::domain::Stage::parse)
            .is_none_or(crate::domain::Stage::is_open);
        if open {
            Countdown::of(self.due, now, offset)
        } else {
            Countdown::None
        }
    }
}

impl Countdown {
    /// A deadline, if any, seen from `now` in the agent's time zone `offset`.
    pub fn of(due: Option<Timestamp>, now: OffsetDateTime, offset: time::UtcOffset) -> Countdown {
        let Some(due) = due.map(Timestamp::instant) else {
            return Countdown::None;
        };
        // Far-future dates do not fit every offset: UTC then.
        let day = |t: OffsetDateTime| t.checked_to_offset(offset).unwrap_or(t).date();
        let days = (day(due) - day(now)).whole_days();
        if due < now {
            Countdown::Late(days.abs().max(0))
        } else {
            Countdown::Left(days)
        }
    }

    pub fn is_late(self) -> bool {
        matches!(self, Countdown::Late(_))
    }

    /// `J-3`, `J0`; late ones carry a `!` so that lateness never rests on
    /// colour alone. The same letters in French and English: agents in
    /// French administrations say "J-3".
    pub fn text(self) -> String {
        match self {
            Countdown::None => "-".into(),
            Countdown::Left(0) => "J0".into(),
            Countdown::Left(days) => format!("J-{days}"),
            // Past its hour today: late, on the day.
            Countdown::Late(0) => "!J0".into(),
            Countdown::Late(days) => format!("!J+{days}"),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::Countdown;
    use crate::domain::Timestamp;
    use time::macros::{datetime, offset};

    /// A deadline as the back-end writes it ("" for none).
    fn due(text: &str) -> Option<Timestamp> {
        Timestamp::parse_optional(text).unwrap()
    }

    #[test]
    fn countdowns_count_calendar_days_in_the_agents_zone() {
        let now = datetime!(2026-11-28 10:00 UTC);
        let paris = offset!(+1);
        assert_eq!(
            Countdown::of(due("2026-12-01 09:00:00"), now, paris).text(),
            "J-3"
        );
        assert_eq!(
            Countdown::of(due("2026-11-28 18:00:00"), now, paris).text(),
            "J0"
        );
        assert_eq!(
            Countdown::of(due("2026-11-26 09:00:00"), now, paris).text(),
            "!J+2"
        );
        // 23:30 UTC on the 28th is already the 29th in Paris.
        assert_eq!(
            Countdown::of(due("2026-11-28 23:30:00"), now, paris).text(),
            "J-1"
        );
        assert_eq!(Countdown::of(due(""), now, paris), Countdown::None);
        assert!(Countdown::of(due("2026-11-28 09:59:59"), now, paris).is_late());
        assert_eq!(
            Countdown::of(due("2026-11-28 09:59:59"), now, paris).text(),
            "!J0"
        );
        assert!(
            matches!(Countdown::of(due("9999-12-31 23:30:00"), now, paris), Countdown::Left(d) if d > 2_900_000),
            "the last representable evening does not crash"
        );
    }
}

//! Cases, citizens and timeline entries, in the caseworker's words. Back-end
//! ids are opaque strings; states, priorities and procedures are choice
//! values whose labels and meaning come from the back-end's choice lists.

use serde::{Deserialize, Serialize};

use super::Timestamp;

/// Where a case stands, whatever the back-end calls its states. The adapter
/// maps each back-end state to one stage; views and rules speak in stages.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Stage {
    New,
    Open,
    AwaitingInfo,
    Resolved,
    Closed,
    Cancelled,
}

impl Stage {
    pub const ALL: [Stage; 6] = [
        Stage::New,
        Stage::Open,
        Stage::AwaitingInfo,
        Stage::Resolved,
        Stage::Closed,
        Stage::Cancelled,
    ];

    /// Still someone's work: not resolved, closed or cancelled.
    pub fn is_open(self) -> bool {
        matches!(self, Stage::New | Stage::Open | Stage::AwaitingInfo)
    }

    /// No change is possible any more.
    pub fn is_final(self) -> bool {
        matches!(self, Stage::Closed | Stage::Cancelled)
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Stage::New => "new",
            Stage::Open => "open",
            Stage::AwaitingInfo => "awaiting_info",
            Stage::Resolved => "resolved",
            Stage::Closed => "closed",
            Stage::Cancelled => "cancelled",
        }
    }

    pub fn parse(text: &str) -> Option<Stage> {
        Stage::ALL.into_iter().find(|s| s.as_str() == text)
    }

    /// The case flow: New → Open → Awaiting info ↔ Open → Resolved →
    /// Closed, cancelled from any open stage, a resolved case reopenable.
    /// The reference back-end enforces the same flow; offering only these
    /// moves spares the agent a refusal hours later, after a sync.
    pub fn can_move_to(self, to: Stage) -> bool {
        use Stage::*;
        matches!(
            (self, to),
            (New, Open | AwaitingInfo | Resolved | Cancelled)
                | (Open, AwaitingInfo | Resolved | Cancelled)
                | (AwaitingInfo, Open | Resolved | Cancelled)
                | (Resolved, Closed | Open)
        )
    }
}

/// A case as stored locally and shown to the agent.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct Case {
    /// The back-end's id (a ServiceNow sys_id).
    pub id: String,
    /// The number agents and citizens quote, e.g. CS0001234.
    pub number: String,
    pub summary: String,
    pub description: String,
    /// Back-end state value (a choice value).
    pub state: String,
    /// 1 (critical) to 4 (low); 0 when the back-end gave none.
    pub priority: u8,
    /// The procedure (choice value), e.g. "passeport".
    pub procedure: String,
    /// How the citizen came: walk-in, phone, web, mail (choice value).
    pub channel: String,
    pub citizen: Option<String>,
    pub assignee: Option<String>,
    pub group: Option<String>,
    // Dates the back-end may leave unset (it sends ""); written "" when
    // unset, in the store and in JSON, as they always were.
    #[serde(with = "super::timestamp::or_empty")]
    pub opened: Option<Timestamp>,
    /// The legal response deadline; None when the case has none.
    #[serde(with = "super::timestamp::or_empty")]
    pub due: Option<Timestamp>,
    pub resolution_code: String,
    pub close_notes: String,
    #[serde(with = "super::timestamp::or_empty")]
    pub updated: Option<Timestamp>,
    pub updated_by: String,
    /// The back-end's version token (ServiceNow: sys_mod_count).
    pub version: String,
}

impl Case {
    /// A field an action may set, as text (empty when unset).
    pub fn field(&self, field: super::CaseField) -> String {
        use super::CaseField::*;
        match field {
            Assignee => self.assignee.clone().unwrap_or_default(),
            Group => self.group.clone().unwrap_or_default(),
            State => self.state.clone(),
            ResolutionCode => self.resolution_code.clone(),
            CloseNotes => self.close_notes.clone(),
            Priority => self.priority.to_string(),
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct Citizen {
    pub id: String,
    pub first_name: String,
    pub last_name: String,
    pub email: String,
    pub phone: String,
    pub street: String,
    pub city: String,
    pub zip: String,
}

impl Citizen {
    pub fn name(&self) -> String {
        format!("{} {}", self.first_name, self.last_name)
            .trim()
            .to_string()
    }
}

/// Who may read a timeline entry.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum EntryKind {
    /// An answer the citizen reads (ServiceNow: comments).
    Comment,
    /// An internal note between agents (ServiceNow: work_notes).
    WorkNote,
}

impl EntryKind {
    pub fn as_str(self) -> &'static str {
        match self {
            EntryKind::Comment => "comment",
            EntryKind::WorkNote => "work_note",
        }
    }
    pub fn parse(text: &str) -> Option<EntryKind> {
        match text {
            "comment" => Some(EntryKind::Comment),
            "work_note" => Some(EntryKind::WorkNote),
            _ => None,
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TimelineEntry {
    pub id: String,
    pub case_id: String,
    pub kind: EntryKind,
    pub text: String,
    pub author: String,
    /// When it was written; None when the back-end did not say.
    #[serde(with = "super::timestamp::or_empty")]
    pub at: Option<Timestamp>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct User {
    pub id: String,
    pub user_name: String,
    pub name: String,
    pub email: String,
    pub active: bool,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Group {
    pub id: String,
    pub name: String,
}

/// Which choice list a choice belongs to.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ChoiceList {
    State,
    Priority,
    Procedure,
    Channel,
    Resolution,
}

impl ChoiceList {
    pub const ALL: [ChoiceList; 5] = [
        ChoiceList::State,
        ChoiceList::Priority,
        ChoiceList::Procedure,
        ChoiceList::Channel,
        ChoiceList::Resolution,
    ];
    pub fn as_str(self) -> &'static str {
        match self {
            ChoiceList::State => "state",
            ChoiceList::Priority => "priority",
            ChoiceList::Procedure => "procedure",
            ChoiceList::Channel => "channel",
            ChoiceList::Resolution => "resolution",
        }
    }
    pub fn parse(text: &str) -> Option<ChoiceList> {
        ChoiceList::ALL.into_iter().find(|c| c.as_str() == text)
    }
}

/// One value of a choice list with its labels.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Choice {
    pub list: ChoiceList,
    pub value: String,
    pub label_en: String,
    pub label_fr: String,
    pub sequence: i64,
    /// For states: the stage this state means.
    pub stage: Option<Stage>,
}

#[cfg(test)]
mod tests {
    use super::Stage;

    #[test]
    fn the_flow_never_leaves_a_final_stage() {
        for from in Stage::ALL.into_iter().filter(|s| s.is_final()) {
            assert!(Stage::ALL.into_iter().all(|to| !from.can_move_to(to)));
        }
        assert!(Stage::New.can_move_to(Stage::Open));
        assert!(Stage::Resolved.can_move_to(Stage::Open));
        assert!(!Stage::Open.can_move_to(Stage::Closed));
        assert!(!Stage::Open.can_move_to(Stage::Open));
    }
}

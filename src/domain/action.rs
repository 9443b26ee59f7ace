//! What an agent does to a case. An action is made concrete when the agent
//! makes it (a "take" already names the agent and the state it moves to), so
//! that replaying it later, on any back-end, needs nothing but itself.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use super::case::{Case, EntryKind};

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Action {
    /// Assign the case to oneself, opening it if it was new.
    Take {
        user: String,
        state: Option<String>,
    },
    /// Hand the case to a user, or to a group (which clears the assignee
    /// unless one is named).
    Assign {
        user: Option<String>,
        group: Option<String>,
    },
    /// Move the case to another state; resolving carries a code and notes.
    SetState {
        state: String,
        resolution_code: Option<String>,
        close_notes: Option<String>,
    },
    /// An answer the citizen reads.
    Comment {
        text: String,
    },
    /// An internal note.
    WorkNote {
        text: String,
    },
    Priority {
        priority: u8,
    },
    /// Opens a new case, recording its citizen first when `citizen` is
    /// given (a citizen met at the counter, known to no back-end yet).
    /// Queued with provisional ids (`new:…`) and number (`NEW-n`) that the
    /// back-end's answer replaces everywhere.
    Open {
        citizen: Option<Box<super::case::Citizen>>,
        case: Box<NewCase>,
    },
}

/// A case as the agent opens it at the counter.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct NewCase {
    /// The citizen's id: a back-end's, or a provisional one (`new:…`).
    pub citizen: String,
    pub procedure: String,
    pub summary: String,
    pub description: String,
    pub channel: String,
    pub priority: u8,
    pub due: Option<super::Timestamp>,
    pub group: Option<String>,
    pub assignee: Option<String>,
}

/// Ids given here to what no back-end has numbered yet start with this.
pub const PROVISIONAL: &str = "new:";

/// Whether an id is one given here, still waiting for the back-end's.
pub fn is_provisional(id: &str) -> bool {
    id.starts_with(PROVISIONAL)
}

/// The case fields an action may set.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum CaseField {
    Assignee,
    Group,
    State,
    ResolutionCode,
    CloseNotes,
    Priority,
}

impl Action {
    pub fn kind(&self) -> &'static str {
        match self {
            Action::Take { .. } => "take",
            Action::Assign { .. } => "assign",
            Action::SetState { .. } => "state",
            Action::Comment { .. } => "comment",
            Action::WorkNote { .. } => "note",
            Action::Priority { .. } => "priority",
            Action::Open { .. } => "open",
        }
    }

    /// The journal entry the action appends, if any. Appends are the actions
    /// that a blind re-send would duplicate.
    pub fn journal(&self) -> Option<(EntryKind, &str)> {
        match self {
            Action::Comment { text } => Some((EntryKind::Comment, text)),
            Action::WorkNote { text } => Some((EntryKind::WorkNote, text)),
            _ => None,
        }
    }

    /// The fields the action sets, with their new values (None clears).
    pub fn field_changes(&self) -> Vec<(CaseField, Option<String>)> {
        match self {
            Action::Take { user, state } => {
                let mut changes = vec![(CaseField::Assignee, Some(user.clone()))];
                if let Some(state) = state {
                    changes.push((CaseField::State, Some(state.clone())));
                }
                changes
            }
            Action::Assign { user, group } => {
                let mut changes = Vec::new();
                if let Some(group) = group {
                    changes.push((CaseField::Group, Some(group.clone())));
                    changes.push((CaseField::Assignee, user.clone()));
                } else if let Some(user) = user {
                    changes.push((CaseField::Assignee, Some(user.clone())));
                }
                changes
            }
            Action::SetState {
                state,
                resolution_code,
                close_notes,
            } => {
                let mut changes = vec![(CaseField::State, Some(state.clone()))];
                if let Some(code) = resolution_code {
                    changes.push((CaseField::ResolutionCode, Some(code.clone())));
                }
                if let Some(notes) = close_notes {
                    changes.push((CaseField::CloseNotes, Some(notes.clone())));
                }
                changes
            }
            Action::Priority { priority } => {
                vec![(CaseField::Priority, Some(priority.to_string()))]
            }
            Action::Comment { .. } | Action::WorkNote { .. } | Action::Open { .. } => Vec::new(),
        }
    }

    /// Whether the action overwrites fields someone else may have changed:
    /// those are checked against the version the agent saw; appending a
    /// comment or a note is never a conflict.
    pub fn needs_base_version(&self) -> bool {
        self.journal().is_none() && !self.opens()
    }

    /// Whether the action opens a new case (nothing to compare it with).
    pub fn opens(&self) -> bool {
        matches!(self, Action::Open { .. })
    }

    /// Applies the action to a local copy of the case, as the agent expects
    /// to see it before the back-end has confirmed.
    pub fn apply_to(&self, case: &mut Case) {
        for (field, value) in self.field_changes() {
            let value = value.unwrap_or_default();
            match field {
                CaseField::Assignee => case.assignee = Some(value).filter(|v| !v.is_empty()),
                CaseField::Group => case.group = Some(value).filter(|v| !v.is_empty()),
                CaseField::State => case.state = value,
                CaseField::ResolutionCode => case.resolution_code = value,
                CaseField::CloseNotes => case.close_notes = value,
                CaseField::Priority => case.priority = value.parse().unwrap_or(case.priority),
            }
        }
    }

    /// The values, as the agent saw them, of the fields this action sets:
    /// kept with the action to tell a real conflict from a harmless one.
    pub fn seen_values(&self, seen: &Case) -> BTreeMap<CaseField, String> {
        self.field_changes()
            .into_iter()
            .map(|(field, _)| (field, seen.field(field)))
            .collect()
    }

    /// Whether someone else changed a field this action sets: the back-end's
    /// copy differs from what the agent saw. Other changes to the case (a
    /// note, another field, the agent's own earlier actions) are no conflict.
    pub fn conflicts_with(&self, seen: &BTreeMap<CaseField, String>, theirs: &Case) -> bool {
        self.field_changes().into_iter().any(|(field, _)| {
            seen.get(&field)
                .is_some_and(|value| *value != theirs.field(field))
        })
    }

    /// Whether `case` already shows everything this action sets (a field
    /// change whose outcome was unknown is then known to have landed).
    pub fn is_reflected_in(&self, case: &Case) -> bool {
        if self.opens() {
            return false;
        }
        let mut applied = case.clone();
        self.apply_to(&mut applied);
        self.journal().is_none() && applied == *case
    }

    /// One line for the queue and the audit: what, without personal data.
    pub fn describe(&self) -> String {
        match self {
            Action::Take { .. } => "take".into(),
            Action::Assign { user: Some(_), .. } => "assign to an agent".into(),
            Action::Assign { group: Some(_), .. } => "assign to a group".into(),
            Action::Assign { .. } => "assign".into(),
            Action::SetState { state, .. } => format!("state → {state}"),
            Action::Comment { text } => format!("comment ({} characters)", text.chars().count()),
            Action::WorkNote { text } => format!("note ({} characters)", text.chars().count()),
            Action::Priority { priority } => format!("priority → {priority}"),
            Action::Open {
                citizen: Some(_), ..
            } => "open a case for a new citizen".into(),
            Action::Open { .. } => "open a case".into(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn actions_round_trip_through_json_and_apply_locally() {
        let take = Action::Take {
            user: "u1".into(),
            state: Some("10".into()),
        };
        let json = serde_json::to_string(&take).unwrap();
        assert_eq!(json, r#"{"kind":"take","user":"u1","state":"10"}"#);
        assert_eq!(serde_json::from_str::<Action>(&json).unwrap(), take);

        let mut case = Case {
            state: "1".into(),
            priority: 4,
            ..Case::default()
        };
        assert!(!take.is_reflected_in(&case));
        take.apply_to(&mut case);
        assert_eq!(
            (case.assignee.as_deref(), case.state.as_str()),
            (Some("u1"), "10")
        );
        assert!(take.is_reflected_in(&case));

        let to_group = Action::Assign {
            user: None,
            group: Some("g2".into()),
        };
        to_group.apply_to(&mut case);
        assert_eq!(
            (case.assignee.as_deref(), case.group.as_deref()),
            (None, Some("g2"))
        );
    }

    #[test]
    fn a_conflict_is_someone_else_changing_a_field_i_set() {
        let seen = Case {
            priority: 4,
            summary: "x".into(),
            ..Case::default()
        };
        let mine = Action::Priority { priority: 1 };
        let values = mine.seen_values(&seen);
        let mut theirs = seen.clone();
        theirs.summary = "edited by a colleague".into();
        theirs.version = "9".into();
        assert!(
            !mine.conflicts_with(&values, &theirs),
            "another field changed: no conflict"
        );
        theirs.priority = 2;
        assert!(mine.conflicts_with(&values, &theirs));
        assert!(!Action::Comment { text: "x".into() }.conflicts_with(&values, &theirs));
    }

    #[test]
    fn only_field_changes_are_checked_against_the_base_version() {
        assert!(!Action::Comment { text: "x".into() }.needs_base_version());
        assert!(Action::Priority { priority: 1 }.needs_base_version());
        assert!(!Action::WorkNote { text: "x".into() }.is_reflected_in(&Case::default()));
    }
}

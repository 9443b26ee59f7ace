//! Shaping command output: the stable JSON of `--json`, CSV, and text in
//! the agent's language.

use serde::Serialize;
use serde_json::json;

use crate::domain::Action;
use crate::i18n::Lang;
use crate::store::{OutboxEntry, OutboxState};

/// What an action does, in the agent's language; in English, the words of
/// `Action::describe` (the audit's and `--json`'s), state values as they are.
pub fn describe(action: &Action, lang: Lang) -> String {
    crate::app::view::describe(action, lang, str::to_string)
}

/// An outbox state in a word, for the queue's text listing.
pub fn state_word(state: OutboxState, lang: Lang) -> &'static str {
    lang.t(match state {
        OutboxState::Pending => "cli.state_pending",
        OutboxState::Sending => "cli.state_sending",
        OutboxState::InDoubt => "cli.state_in_doubt",
        OutboxState::Done => "cli.state_done",
        OutboxState::Failed => "cli.state_failed",
        OutboxState::Conflict => "cli.state_conflict",
        OutboxState::Dropped => "cli.state_dropped",
    })
}

/// The width of the queue's state column: the longest word, at least 9.
pub fn state_width(lang: Lang) -> usize {
    OutboxState::ALL
        .into_iter()
        .map(|s| state_word(s, lang).chars().count())
        .max()
        .unwrap_or(0)
        .max(9)
}

/// `guichet queue --json` items.
pub fn queue_json(entry: &OutboxEntry) -> serde_json::Value {
    json!({
        "id": entry.id,
        "seq": entry.seq,
        "case": entry.case_number,
        "kind": entry.action.kind(),
        "what": entry.action.describe(),
        // The fields it sets, and their values when the agent made it: what
        // a conflict is judged against.
        "sets": entry.action.field_changes().into_iter().collect::<std::collections::BTreeMap<_, _>>(),
        "seen": entry.seen,
        "state": entry.state,
        "attempts": entry.attempts,
        "error": entry.last_error,
        "created_at": entry.created_at,
        "theirs_version": entry.theirs.as_ref().map(|c| c.version.clone()),
        "settled_by": entry.settled_by,
    })
}

/// A CSV field, quoted when it holds a separator, a quote or a line break.
pub fn csv_field(text: &str) -> String {
    if text.contains([',', '"', '\n', '\r']) {
        format!("\"{}\"", text.replace('"', "\"\""))
    } else {
        text.to_string()
    }
}

/// Cuts text to `width` characters for a table column, on one line.
pub fn cell(text: &str, width: usize) -> String {
    let one_line: String = text
        .chars()
        .map(|c| if c.is_control() { ' ' } else { c })
        .collect();
    let count = one_line.chars().count();
    if count <= width {
        format!("{one_line:<width$}")
    } else {
        let cut: String = one_line.chars().take(width.saturating_sub(1)).collect();
        format!("{cut}…")
    }
}

pub fn print_json(value: &impl Serialize, lang: Lang) {
    match serde_json::to_string_pretty(value) {
        Ok(text) => println!("{text}"),
        Err(e) => eprintln!(
            "guichet: {}",
            lang.f("cli.json_unwritable", &[("error", &e)])
        ),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn english_descriptions_are_the_domains() {
        let actions = [
            Action::Take {
                user: "u".into(),
                state: None,
            },
            Action::Assign {
                user: Some("u".into()),
                group: None,
            },
            Action::Assign {
                user: None,
                group: Some("g".into()),
            },
            Action::Assign {
                user: None,
                group: None,
            },
            Action::SetState {
                state: "6".into(),
                resolution_code: None,
                close_notes: None,
            },
            Action::Comment {
                text: "Bonjour {n}".into(),
            },
            Action::WorkNote { text: "é".into() },
            Action::Priority { priority: 2 },
        ];
        for action in &actions {
            assert_eq!(describe(action, Lang::En), action.describe());
            assert_ne!(describe(action, Lang::Fr), action.describe(), "{action:?}");
        }
    }

    #[test]
    fn english_state_words_are_the_stores() {
        for state in OutboxState::ALL {
            assert_eq!(state_word(state, Lang::En), state.as_str());
        }
        assert_eq!(state_width(Lang::En), 9);
    }
}

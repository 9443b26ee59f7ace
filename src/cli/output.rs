//! Shaping command output: the stable JSON of `--json`, CSV, and text.

use serde::Serialize;
use serde_json::json;

use crate::domain::ChoiceList;
use crate::store::{CaseRow, OutboxEntry, Store, StoreResult};

/// One case as `guichet cases --json` prints it (documented in the README).
#[derive(Debug, Serialize)]
pub struct CaseLine {
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
    pub group: String,
    pub due: String,
    pub updated: String,
    /// Actions of mine on the case not yet applied.
    pub pending: u32,
    /// An action of mine on it waits for my decision (conflict or refusal).
    pub attention: bool,
}

pub fn case_line(store: &Store, row: &CaseRow, french: bool) -> StoreResult<CaseLine> {
    let case = &row.case;
    Ok(CaseLine {
        number: case.number.clone(),
        state: case.state.clone(),
        state_label: store.label(ChoiceList::State, &case.state, french)?,
        stage: store.stage_of_state(&case.state)?.map(|s| s.as_str()),
        priority: case.priority,
        citizen: row.citizen_name.clone(),
        procedure: case.procedure.clone(),
        procedure_label: store.label(ChoiceList::Procedure, &case.procedure, french)?,
        summary: case.summary.clone(),
        assignee: row.assignee_user_name.clone(),
        group: row.group_name.clone(),
        due: case.due.clone(),
        updated: case.updated.clone(),
        pending: row.pending,
        attention: row.conflict,
    })
}

/// `guichet queue --json` items.
pub fn queue_json(entry: &OutboxEntry) -> serde_json::Value {
    json!({
        "id": entry.id,
        "seq": entry.seq,
        "case": entry.case_number,
        "kind": entry.action.kind(),
        "what": entry.action.describe(),
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

pub fn print_json(value: &impl Serialize) {
    match serde_json::to_string_pretty(value) {
        Ok(text) => println!("{text}"),
        Err(e) => eprintln!("guichet: cannot write JSON: {e}"),
    }
}

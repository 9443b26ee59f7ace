//! Shaping command output: the stable JSON of `--json`, CSV, and text.

use serde::Serialize;
use serde_json::json;

use crate::store::OutboxEntry;

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

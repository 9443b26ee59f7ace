//! `guichet queue export FILE`: every action not yet applied, as readable
//! JSON in a new private file, so that an agent can wipe a workstation
//! (`logout --wipe`) without losing work, and enter it again elsewhere.

use std::path::Path;

use serde_json::json;

use super::output::describe;
use super::session::{Failure, Outcome, code};
use crate::i18n::Lang;
use crate::store::{OutboxEntry, Store};

/// One action as the agent reads it: where, what, how far it got.
fn action_json(entry: &OutboxEntry, lang: Lang) -> serde_json::Value {
    json!({
        "seq": entry.seq,
        "id": entry.id,
        "case": entry.case_number,
        "kind": entry.action.kind(),
        "what": describe(&entry.action, lang),
        "action": entry.action,
        "state": entry.state,
        "created_at": entry.created_at,
        "attempts": entry.attempts,
        "error": entry.last_error,
    })
}

/// Writes the unfinished actions of `store` to `file` (never over an
/// existing file), durably, then remembers them as exported.
pub fn export(store: &Store, profile: &str, file: &Path, lang: Lang) -> Outcome {
    let entries = store.queue(false)?;
    let document = json!({
        "profile": profile,
        "exported_at": store.clock().now(),
        "actions": entries.iter().map(|e| action_json(e, lang)).collect::<Vec<_>>(),
    });
    let unwritable = |error: &dyn std::fmt::Display| {
        Failure::new(
            code::ERROR,
            lang.f(
                "cli.export_unwritable",
                &[("file", &file.display()), ("error", error)],
            ),
        )
    };
    let mut text = serde_json::to_string_pretty(&document).map_err(|e| unwritable(&e))?;
    text.push('\n');
    crate::private_files::write_new(file, text.as_bytes()).map_err(|e| {
        if e.kind() == std::io::ErrorKind::AlreadyExists {
            Failure::usage(lang.f("cli.export_exists", &[("file", &file.display())]))
        } else {
            unwritable(&e)
        }
    })?;
    // Only once the file is on disk: a wipe then counts these as kept.
    if let Some(last) = entries.last() {
        store.mark_exported(last.seq)?;
    }
    let detail = format!("{} action(s)", entries.len());
    if store
        .record(crate::store::AuditEvent::Export, "", &detail)
        .is_err()
    {
        tracing::warn!("an export could not be written to the audit trail");
    }
    println!(
        "{}",
        lang.f(
            "cli.exported",
            &[("count", &entries.len()), ("file", &file.display())],
        )
    );
    Ok(())
}

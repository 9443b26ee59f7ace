//! Internal notes, in a private annotation. DS has no internal notes; its
//! private annotations are fields only instructeurs see. A profile names
//! one text annotation, and each note is appended to it as a block:
//!
//! ```text
//! [Guichet · 2026-11-29 10:12:00 UTC · agent@mairie.fr · 3f9a1c2e]
//! The note's text, on as many lines as it has.
//! ```
//!
//! The last part of the header is the action's own reference: a note whose
//! answer was lost is found again by it, so that it is never appended twice.
//! Read back, each block is a timeline entry of its own.

use crate::domain::{EntryKind, TimelineEntry, Timestamp};

const OPEN: &str = "[Guichet · ";

/// The reference a note carries: the random end of its action's id.
pub fn reference(action_id: &str) -> String {
    let hex: String = action_id.chars().filter(char::is_ascii_hexdigit).collect();
    hex[hex.len().saturating_sub(12)..].to_string()
}

/// The annotation's text with a note appended.
pub fn append(current: &str, at: Timestamp, author: &str, action_id: &str, text: &str) -> String {
    let block = format!(
        "{OPEN}{at} UTC · {author} · {}]\n{}",
        reference(action_id),
        text.trim_end()
    );
    if current.trim().is_empty() {
        block
    } else {
        format!("{}\n\n{block}", current.trim_end())
    }
}

/// Whether the annotation holds the note of this action already.
pub fn holds(current: &str, action_id: &str) -> bool {
    let tail = format!(" · {}]", reference(action_id));
    current
        .lines()
        .any(|line| line.starts_with(OPEN) && line.ends_with(&tail))
}

/// The notes of an annotation, as timeline entries of `case_id`. Text
/// written in the annotation by hand (in DS's own pages) before any note,
/// or not in this shape, is one entry of unknown author and time.
pub fn entries(case_id: &str, annotation_id: &str, value: &str) -> Vec<TimelineEntry> {
    let mut entries: Vec<TimelineEntry> = Vec::new();
    let mut current: Option<TimelineEntry> = None;
    let mut lines: Vec<&str> = Vec::new();
    let flush = |entry: Option<TimelineEntry>, lines: &mut Vec<&str>, out: &mut Vec<_>| {
        let text = lines.join("\n").trim_matches('\n').trim_end().to_string();
        lines.clear();
        match entry {
            Some(mut entry) => {
                entry.text = text;
                out.push(entry);
            }
            None if !text.trim().is_empty() => out.push(TimelineEntry {
                id: format!("{annotation_id}:0"),
                case_id: case_id.to_string(),
                kind: EntryKind::WorkNote,
                text,
                author: String::new(),
                at: None,
            }),
            None => {}
        }
    };
    for line in value.lines() {
        if let Some(header) = header(line) {
            let previous = current.take();
            flush(previous, &mut lines, &mut entries);
            let (at, author, reference) = header;
            current = Some(TimelineEntry {
                id: format!("{annotation_id}:{reference}"),
                case_id: case_id.to_string(),
                kind: EntryKind::WorkNote,
                text: String::new(),
                author: author.to_string(),
                at,
            });
        } else {
            lines.push(line);
        }
    }
    flush(current, &mut lines, &mut entries);
    entries
}

/// A block's header: when, who, and the action's reference.
fn header(line: &str) -> Option<(Option<Timestamp>, &str, &str)> {
    let inner = line.strip_prefix(OPEN)?.strip_suffix(']')?;
    let mut parts = inner.split(" · ");
    let at = parts.next()?;
    let author = parts.next()?;
    let reference = parts.next()?;
    if parts.next().is_some() || reference.is_empty() {
        return None;
    }
    let at = Timestamp::parse(at.trim_end_matches(" UTC")).ok();
    Some((at, author, reference))
}

#[cfg(test)]
mod tests {
    use super::*;

    const ID: &str = "0193a1b2-c3d4-7e5f-8a9b-0c1d2e3f4a5b";
    const OTHER: &str = "0193a1b2-c3d4-7e5f-8a9b-ffffffffffff";

    fn at(text: &str) -> Timestamp {
        Timestamp::parse(text).unwrap()
    }

    #[test]
    fn notes_are_appended_found_again_and_read_back_exactly() {
        let first = append(
            "",
            at("2026-11-29 10:12:00"),
            "a@guichet.test",
            ID,
            "Pièce manquante:\njustificatif de domicile",
        );
        assert!(holds(&first, ID));
        assert!(!holds(&first, OTHER));
        let both = append(
            &first,
            at("2026-11-29 11:00:00"),
            "b@guichet.test",
            OTHER,
            "Rappelé",
        );
        assert!(holds(&both, ID) && holds(&both, OTHER));
        let read = entries("D1", "A1", &both);
        assert_eq!(read.len(), 2);
        assert_eq!(read[0].text, "Pièce manquante:\njustificatif de domicile");
        assert_eq!(read[0].author, "a@guichet.test");
        assert_eq!(read[0].at, Some(at("2026-11-29 10:12:00")));
        assert_eq!(read[1].text, "Rappelé");
        assert_ne!(read[0].id, read[1].id);
    }

    #[test]
    fn text_written_by_hand_is_kept_as_one_entry() {
        let value = append(
            "Dossier suivi par le service social",
            at("2026-11-29 10:12:00"),
            "a@guichet.test",
            ID,
            "ok",
        );
        let read = entries("D1", "A1", &value);
        assert_eq!(read.len(), 2);
        assert_eq!(read[0].text, "Dossier suivi par le service social");
        assert_eq!(read[0].author, "");
        assert_eq!(read[1].text, "ok");
        // A line that only looks like a header is text.
        let odd = entries("D1", "A1", "[Guichet · not a header]\nx");
        assert_eq!(odd.len(), 1);
        assert!(entries("D1", "A1", "").is_empty());
    }
}

//! Relay global ids and page cursors, encoded as DS encodes them.
//!
//! - Ids: standard base64, padded, of `"<Type>-<id>"`: `Dossier-123`,
//!   `Procedure-<démarche number>`, `GroupeInstructeur-<number>`,
//!   `Instructeur-<id>`, `User-<id>`, `Commentaire-<id>` (messages),
//!   `Traitement-<id>`, `Label-<id>`, `DeletedDossier-<id>`,
//!   `Individual-<n>` / `Etablissement-<n>` (the demandeur) and
//!   `Champ-<stable id>` (a champ or annotation: the same id on every dossier
//!   of its démarche). Decoding also takes the unpadded and URL-safe forms.
//! - Cursors: URL-safe base64 without padding of `"<instant>;<number>"`, the
//!   instant in UTC to the nanosecond (`2026-07-02T18:14:35.123456000Z`): the
//!   row's `updated_at` when the listing has `updatedSince`, its dépôt date
//!   otherwise (deletion date for deleted dossiers).

use base64::Engine;
use base64::engine::general_purpose::{STANDARD, STANDARD_NO_PAD, URL_SAFE, URL_SAFE_NO_PAD};

use super::dates;

pub fn encode(kind: &str, id: impl std::fmt::Display) -> String {
    STANDARD.encode(format!("{kind}-{id}"))
}

fn decode_base64(text: &str) -> Option<Vec<u8>> {
    let text = text.trim();
    [&STANDARD, &STANDARD_NO_PAD, &URL_SAFE, &URL_SAFE_NO_PAD]
        .iter()
        .find_map(|engine| engine.decode(text).ok())
}

/// The `<id>` of an id of type `kind`, when `text` is one.
pub fn decode(kind: &str, text: &str) -> Option<String> {
    let plain = String::from_utf8(decode_base64(text)?).ok()?;
    plain
        .strip_prefix(kind)
        .and_then(|rest| rest.strip_prefix('-'))
        .map(str::to_string)
}

/// The number of an id of type `kind` whose id is a number.
pub fn decode_number(kind: &str, text: &str) -> Option<i64> {
    decode(kind, text)?.parse().ok()
}

/// A champ's id: `Champ-<stable id>`, or `Champ-<stable id>|<row>` in a
/// repetition (we have none: the row is ignored).
pub fn decode_champ(text: &str) -> Option<i64> {
    decode("Champ", text)?.split('|').next()?.parse().ok()
}

pub fn cursor(at_micros: i64, number: i64) -> String {
    URL_SAFE_NO_PAD.encode(format!("{};{number}", dates::cursor_stamp(at_micros)))
}

/// `(instant, number)` of a cursor this endpoint wrote.
pub fn parse_cursor(text: &str) -> Option<(i64, i64)> {
    let plain = String::from_utf8(decode_base64(text)?).ok()?;
    let (stamp, number) = plain.split_once(';')?;
    Some((dates::parse(stamp)?, number.trim().parse().ok()?))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_are_base64_of_type_and_id() {
        assert_eq!(encode("Dossier", 123), "RG9zc2llci0xMjM=");
        assert_eq!(decode_number("Dossier", "RG9zc2llci0xMjM="), Some(123));
        assert_eq!(decode_number("Dossier", "RG9zc2llci0xMjM"), Some(123));
        assert_eq!(decode_number("Instructeur", "RG9zc2llci0xMjM="), None);
        assert_eq!(decode_number("Dossier", "not base64!"), None);
        assert_eq!(decode_champ(&encode("Champ", "42|row")), Some(42));
        assert_eq!(decode_champ(&encode("Champ", 42)), Some(42));
    }

    #[test]
    fn cursors_keep_microseconds_and_number() {
        let c = cursor(1_782_000_000_123_456, 77);
        assert!(
            !c.contains('=') && !c.contains('+') && !c.contains('/'),
            "{c}"
        );
        assert_eq!(parse_cursor(&c), Some((1_782_000_000_123_456, 77)));
        assert_eq!(parse_cursor("garbage"), None);
    }
}

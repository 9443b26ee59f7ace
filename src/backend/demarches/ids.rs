//! Démarches Simplifiées' ids and dates as Guichet keeps them: Relay
//! global ids (base64 of `Dossier-<n>`) as case ids, `DS-<n>` as the case
//! number agents quote (it can never be taken for a ServiceNow `CS…`), and
//! dates in Paris time with their offset, kept in UTC.

use base64::Engine;

use crate::domain::Timestamp;

/// The prefix of every case number from Démarches Simplifiées.
pub const NUMBER_PREFIX: &str = "DS-";

/// The number agents and citizens quote for dossier `number`.
pub fn case_number(number: i64) -> String {
    format!("{NUMBER_PREFIX}{number}")
}

/// The dossier number inside a Relay id (`Dossier-<n>` in base64), read
/// whatever base64 flavour the back-end wrote it in.
pub fn dossier_number(id: &str) -> Option<i64> {
    use base64::engine::general_purpose::{STANDARD, STANDARD_NO_PAD, URL_SAFE, URL_SAFE_NO_PAD};
    let bytes = [STANDARD, STANDARD_NO_PAD, URL_SAFE, URL_SAFE_NO_PAD]
        .iter()
        .find_map(|engine| engine.decode(id.trim()).ok())?;
    let text = String::from_utf8(bytes).ok()?;
    text.strip_prefix("Dossier-")?.parse().ok()
}

/// A date and time as DS writes it (RFC 3339, Paris time with its offset).
pub fn parse_datetime(text: &str) -> Option<Timestamp> {
    time::OffsetDateTime::parse(text, &time::format_description::well_known::Rfc3339)
        .ok()
        .map(Timestamp::from)
}

/// A date DS gives without a time (`datePrevisionnelleDecisionSVASVR`):
/// noon UTC of that day, so that it reads as the same day in France.
pub fn parse_date(text: &str) -> Option<Timestamp> {
    let format = time::macros::format_description!("[year]-[month]-[day]");
    let day = time::Date::parse(text, format).ok()?;
    Some(Timestamp::start_of(day) + std::time::Duration::from_secs(12 * 3600))
}

/// A UTC instant as DS reads one (`updatedSince`).
pub fn write_datetime(at: Timestamp) -> String {
    at.instant()
        .format(&time::format_description::well_known::Rfc3339)
        .unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn relay_ids_give_their_number_in_any_base64_flavour() {
        // base64("Dossier-123") with and without padding.
        assert_eq!(dossier_number("RG9zc2llci0xMjM="), Some(123));
        assert_eq!(dossier_number("RG9zc2llci0xMjM"), Some(123));
        assert_eq!(dossier_number("UHJvY2VkdXJlLTE="), None, "a démarche's id");
        assert_eq!(dossier_number("not base64!"), None);
        assert_eq!(case_number(1_032_882), "DS-1032882");
    }

    #[test]
    fn paris_times_are_kept_in_utc() {
        let summer = parse_datetime("2026-07-02T20:14:35+02:00").unwrap();
        assert_eq!(summer.to_string(), "2026-07-02 18:14:35");
        let winter = parse_datetime("2026-11-29T09:00:00+01:00").unwrap();
        assert_eq!(winter.to_string(), "2026-11-29 08:00:00");
        assert_eq!(write_datetime(winter), "2026-11-29T08:00:00Z");
        assert_eq!(
            parse_date("2027-01-31").unwrap().to_string(),
            "2027-01-31 12:00:00"
        );
        assert!(parse_datetime("yesterday").is_none());
    }
}

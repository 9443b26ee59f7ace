//! Datetimes as the Table API writes them: `YYYY-MM-DD HH:MM:SS`, UTC.

use time::format_description::BorrowedFormatItem;
use time::macros::format_description;
use time::{OffsetDateTime, PrimitiveDateTime};

const FORMAT: &[BorrowedFormatItem<'static>] =
    format_description!("[year]-[month]-[day] [hour]:[minute]:[second]");

/// Formats a UTC instant the way ServiceNow stores it.
pub fn format(at: OffsetDateTime) -> String {
    let at = at.to_offset(time::UtcOffset::UTC);
    at.format(FORMAT)
        .unwrap_or_else(|_| String::from("1970-01-01 00:00:00"))
}

/// Parses a ServiceNow datetime (taken as UTC).
pub fn parse(text: &str) -> Option<OffsetDateTime> {
    PrimitiveDateTime::parse(text, FORMAT)
        .ok()
        .map(|p| p.assume_utc())
}

const HTTP_DATE: &[BorrowedFormatItem<'static>] = format_description!(
    "[weekday repr:short], [day] [month repr:short] [year] [hour]:[minute]:[second] GMT"
);

/// An HTTP `Date` header value (RFC 9110 IMF-fixdate).
pub fn http_date(at: OffsetDateTime) -> String {
    at.to_offset(time::UtcOffset::UTC)
        .format(HTTP_DATE)
        .unwrap_or_default()
}

/// Reads an HTTP `Date` header value: how a back-end's clock is learnt.
pub fn parse_http_date(text: &str) -> Option<OffsetDateTime> {
    PrimitiveDateTime::parse(text.trim(), HTTP_DATE)
        .ok()
        .map(|t| t.assume_utc())
}

#[cfg(test)]
mod tests {
    #[test]
    fn round_trips_and_rejects_other_shapes() {
        let at = super::parse("2026-03-01 08:05:09").unwrap();
        assert_eq!(super::format(at), "2026-03-01 08:05:09");
        assert!(super::parse("2026-03-01T08:05:09Z").is_none());
        assert!(super::parse("2026-02-30 08:05:09").is_none());
    }

    #[test]
    fn http_dates_round_trip() {
        let at = time::macros::datetime!(2026-11-28 22:35:07 UTC);
        let text = super::http_date(at);
        assert_eq!(text, "Sat, 28 Nov 2026 22:35:07 GMT");
        assert_eq!(super::parse_http_date(&text), Some(at));
        assert_eq!(super::parse_http_date("yesterday"), None);
    }
}

//! Dates in HTTP headers (RFC 9110 IMF-fixdate): how a back-end tells its
//! clock. Instants as the Table API writes them are [`super::Timestamp`].

use time::format_description::BorrowedFormatItem;
use time::macros::format_description;
use time::{OffsetDateTime, PrimitiveDateTime};

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
    fn http_dates_round_trip() {
        let at = time::macros::datetime!(2026-11-28 22:35:07 UTC);
        let text = super::http_date(at);
        assert_eq!(text, "Sat, 28 Nov 2026 22:35:07 GMT");
        assert_eq!(super::parse_http_date(&text), Some(at));
        assert_eq!(super::parse_http_date("yesterday"), None);
    }
}

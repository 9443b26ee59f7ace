//! Instants as the endpoint stores and shows them. Stored: microseconds
//! since the epoch, UTC. Shown: Paris time with its offset, to the second
//! (`2026-07-02T20:14:35+02:00`), as DS shows them. `time` has no time-zone
//! database, so the EU summer-time rule is computed here: +02:00 from the
//! last Sunday of March, 01:00 UTC, to the last Sunday of October, 01:00 UTC;
//! +01:00 otherwise.

use time::format_description::well_known::{Iso8601, Rfc3339};
use time::macros::{format_description, offset, time};
use time::{Date, Duration, Month, OffsetDateTime, PrimitiveDateTime, UtcOffset, Weekday};

/// Now, by the server's clock (`--clock-offset` included), in microseconds.
pub fn now_micros() -> i64 {
    micros(crate::server::clock::now())
}

pub fn micros(at: OffsetDateTime) -> i64 {
    (at.unix_timestamp_nanos() / 1000) as i64
}

pub fn instant(micros: i64) -> OffsetDateTime {
    OffsetDateTime::from_unix_timestamp_nanos(i128::from(micros) * 1000)
        .unwrap_or(OffsetDateTime::UNIX_EPOCH)
}

fn last_sunday(year: i32, month: Month) -> Date {
    let next = month.next();
    let next_year = if next == Month::January {
        year + 1
    } else {
        year
    };
    let mut day = Date::from_calendar_date(next_year, next, 1)
        .map(|d| d - Duration::days(1))
        .unwrap_or(Date::MIN);
    while day.weekday() != Weekday::Sunday {
        day -= Duration::days(1);
    }
    day
}

/// Paris's offset from UTC at `at`.
pub fn paris_offset(at: OffsetDateTime) -> UtcOffset {
    let utc = at.to_offset(UtcOffset::UTC);
    let year = utc.year();
    let start = last_sunday(year, Month::March)
        .with_time(time!(01:00))
        .assume_utc();
    let end = last_sunday(year, Month::October)
        .with_time(time!(01:00))
        .assume_utc();
    if utc >= start && utc < end {
        offset!(+2)
    } else {
        offset!(+1)
    }
}

/// `micros` in Paris time, to the second, with its offset.
pub fn paris(micros: i64) -> String {
    let at = instant(micros);
    let local = at.to_offset(paris_offset(at));
    local
        .format(format_description!(
            "[year]-[month]-[day]T[hour]:[minute]:[second][offset_hour sign:mandatory]:[offset_minute]"
        ))
        .unwrap_or_default()
}

/// A client's ISO 8601 date-time: with an offset or `Z`, or without (UTC,
/// as DS reads it), fractions of a second allowed.
pub fn parse(text: &str) -> Option<i64> {
    let text = text.trim();
    if let Ok(at) = OffsetDateTime::parse(text, &Rfc3339) {
        return Some(micros(at));
    }
    if let Ok(at) = OffsetDateTime::parse(text, &Iso8601::DEFAULT) {
        return Some(micros(at));
    }
    PrimitiveDateTime::parse(text, &Iso8601::DEFAULT)
        .ok()
        .map(|at| micros(at.assume_utc()))
}

/// An instant in a cursor: UTC to the nanosecond, as DS writes it
/// (`2026-07-02T18:14:35.123456000Z`).
pub fn cursor_stamp(micros: i64) -> String {
    instant(micros)
        .format(format_description!(
            "[year]-[month]-[day]T[hour]:[minute]:[second].[subsecond digits:9]Z"
        ))
        .unwrap_or_default()
}

/// A day, `YYYY-MM-DD`.
pub fn parse_day(text: &str) -> Option<Date> {
    Date::parse(text.trim(), format_description!("[year]-[month]-[day]")).ok()
}

pub fn format_day(day: Date) -> String {
    day.format(format_description!("[year]-[month]-[day]"))
        .unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;
    use time::macros::datetime;

    #[test]
    fn paris_is_one_hour_ahead_in_winter_and_two_in_summer() {
        assert_eq!(
            paris(micros(datetime!(2026-01-15 12:00 UTC))),
            "2026-01-15T13:00:00+01:00"
        );
        assert_eq!(
            paris(micros(datetime!(2026-07-02 18:14:35.9 UTC))),
            "2026-07-02T20:14:35+02:00"
        );
        // 2026: summer time from Sunday 29 March to Sunday 25 October, 01:00 UTC.
        assert_eq!(
            paris(micros(datetime!(2026-03-29 00:59:59 UTC))),
            "2026-03-29T01:59:59+01:00"
        );
        assert_eq!(
            paris(micros(datetime!(2026-03-29 01:00 UTC))),
            "2026-03-29T03:00:00+02:00"
        );
        assert_eq!(
            paris(micros(datetime!(2026-10-25 00:59:59 UTC))),
            "2026-10-25T02:59:59+02:00"
        );
        assert_eq!(
            paris(micros(datetime!(2026-10-25 01:00 UTC))),
            "2026-10-25T02:00:00+01:00"
        );
        // 2027: 28 March and 31 October.
        assert_eq!(
            last_sunday(2027, Month::March),
            time::macros::date!(2027 - 03 - 28)
        );
        assert_eq!(
            last_sunday(2027, Month::October),
            time::macros::date!(2027 - 10 - 31)
        );
        assert_eq!(
            last_sunday(2026, Month::December),
            time::macros::date!(2026 - 12 - 27)
        );
    }

    #[test]
    fn parses_what_clients_send_and_reads_back_paris_dates() {
        let at = micros(datetime!(2026-07-02 18:14:35 UTC));
        assert_eq!(parse("2026-07-02T20:14:35+02:00"), Some(at));
        assert_eq!(parse("2026-07-02T18:14:35Z"), Some(at));
        assert_eq!(parse("2026-07-02T18:14:35"), Some(at));
        assert_eq!(parse("2026-07-02T18:14:35.5Z"), Some(at + 500_000));
        assert_eq!(parse(&paris(at)), Some(at));
        assert_eq!(parse("yesterday"), None);
        assert_eq!(cursor_stamp(at + 1), "2026-07-02T18:14:35.000001000Z");
        assert_eq!(parse(&cursor_stamp(at + 1)), Some(at + 1));
    }
}

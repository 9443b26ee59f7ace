//! An instant as ServiceNow writes it: UTC, to the second, as
//! `YYYY-MM-DD HH:MM:SS`. The text form is the only one on the wire, in the
//! local store and in JSON, so that comparing two of them as text or as
//! instants gives the same order.

use std::fmt;
use std::str::FromStr;
use std::time::Duration;

use time::format_description::BorrowedFormatItem;
use time::macros::format_description;
use time::{Date, OffsetDateTime, PrimitiveDateTime, UtcOffset};

const FORMAT: &[BorrowedFormatItem<'static>] =
    format_description!("[year]-[month]-[day] [hour]:[minute]:[second]");

/// An instant in UTC, to the second.
#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Timestamp(PrimitiveDateTime);

/// A text that is not a date and time as ServiceNow writes them.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("'{0}' is not a date and time written YYYY-MM-DD HH:MM:SS (UTC)")]
pub struct TimestampError(String);

impl Timestamp {
    /// Parses `YYYY-MM-DD HH:MM:SS`, taken as UTC.
    pub fn parse(text: &str) -> Result<Timestamp, TimestampError> {
        PrimitiveDateTime::parse(text, FORMAT)
            .map(Timestamp)
            .map_err(|_| {
                // The error quotes what came, cut short: a back-end gone
                // wrong may send anything, of any length.
                TimestampError(text.chars().take(40).collect())
            })
    }

    /// A date that may be unset: ServiceNow sends an unset date (a case
    /// without a deadline) as "", which is None here, not an error.
    pub fn parse_optional(text: &str) -> Result<Option<Timestamp>, TimestampError> {
        if text.is_empty() {
            return Ok(None);
        }
        Timestamp::parse(text).map(Some)
    }

    /// The instant, with its offset (UTC).
    pub fn instant(self) -> OffsetDateTime {
        self.0.assume_utc()
    }

    /// The calendar day, in UTC.
    pub fn date(self) -> Date {
        self.0.date()
    }

    /// Midnight (UTC) opening `day`.
    pub fn start_of(day: Date) -> Timestamp {
        Timestamp(day.midnight())
    }

    /// To the second: the type never holds a fraction (the calendar's
    /// last instant, reached by saturating, has one).
    fn whole(at: PrimitiveDateTime) -> Timestamp {
        Timestamp(at.replace_nanosecond(0).unwrap_or(at))
    }
}

impl From<OffsetDateTime> for Timestamp {
    /// The same instant in UTC; the fraction of a second is dropped, as the
    /// back-end drops it.
    fn from(at: OffsetDateTime) -> Timestamp {
        let utc = at.checked_to_offset(UtcOffset::UTC).unwrap_or(at);
        Timestamp::whole(PrimitiveDateTime::new(utc.date(), utc.time()))
    }
}

/// A std duration in the time crate's terms; one too long for it is as
/// long as it can be (the sums below saturate anyway).
fn span(by: Duration) -> time::Duration {
    time::Duration::try_from(by).unwrap_or(time::Duration::MAX)
}

impl std::ops::Add<Duration> for Timestamp {
    type Output = Timestamp;
    /// Saturates at the last representable instant rather than panic.
    fn add(self, by: Duration) -> Timestamp {
        Timestamp::whole(self.0.saturating_add(span(by)))
    }
}

impl std::ops::Sub<Duration> for Timestamp {
    type Output = Timestamp;
    /// Saturates at the first representable instant rather than panic.
    fn sub(self, by: Duration) -> Timestamp {
        Timestamp::whole(self.0.saturating_sub(span(by)))
    }
}

impl std::ops::Sub for Timestamp {
    type Output = time::Duration;
    /// How long from `earlier` to `self` (negative when it is later).
    fn sub(self, earlier: Timestamp) -> time::Duration {
        self.0 - earlier.0
    }
}

impl fmt::Display for Timestamp {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // Every year this type holds has four digits (or a sign and four),
        // so formatting cannot fail; the error is passed on should it.
        let text = self.0.format(FORMAT).map_err(|_| fmt::Error)?;
        // Padded like a string, so that `{:<19}` lines up columns.
        f.pad(&text)
    }
}

impl fmt::Debug for Timestamp {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Timestamp({self})")
    }
}

impl FromStr for Timestamp {
    type Err = TimestampError;
    fn from_str(text: &str) -> Result<Timestamp, TimestampError> {
        Timestamp::parse(text)
    }
}

impl serde::Serialize for Timestamp {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.collect_str(self)
    }
}

impl<'de> serde::Deserialize<'de> for Timestamp {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Timestamp, D::Error> {
        let text = <String as serde::Deserialize>::deserialize(deserializer)?;
        Timestamp::parse(&text).map_err(serde::de::Error::custom)
    }
}

/// A date that may be unset, written "" when it is (as ServiceNow writes
/// it, and as the store and `--json` always have): for
/// `#[serde(with = "timestamp::or_empty")]` on an `Option<Timestamp>`.
pub mod or_empty {
    use super::Timestamp;

    /// The text of a date that may be unset: "" when it is.
    pub fn text(at: Option<Timestamp>) -> String {
        at.map(|at| at.to_string()).unwrap_or_default()
    }

    pub fn serialize<S: serde::Serializer>(
        at: &Option<Timestamp>,
        serializer: S,
    ) -> Result<S::Ok, S::Error> {
        serializer.collect_str(&text(*at))
    }

    pub fn deserialize<'de, D: serde::Deserializer<'de>>(
        deserializer: D,
    ) -> Result<Option<Timestamp>, D::Error> {
        let text = <String as serde::Deserialize>::deserialize(deserializer)?;
        Timestamp::parse_optional(&text).map_err(serde::de::Error::custom)
    }
}

#[cfg(test)]
mod tests {
    use super::{Timestamp, or_empty};
    use std::time::Duration;
    use time::macros::datetime;

    fn at(text: &str) -> Timestamp {
        Timestamp::parse(text).expect("a timestamp")
    }

    #[test]
    fn round_trips_and_rejects_other_shapes() {
        assert_eq!(at("2026-03-01 08:05:09").to_string(), "2026-03-01 08:05:09");
        assert!(Timestamp::parse("2026-03-01T08:05:09Z").is_err());
        assert!(Timestamp::parse("2026-02-30 08:05:09").is_err());
        let refused = Timestamp::parse("tomorrow").unwrap_err().to_string();
        assert!(refused.contains("'tomorrow'"), "{refused}");
        assert!(refused.contains("YYYY-MM-DD HH:MM:SS"), "{refused}");
    }

    #[test]
    fn an_empty_date_is_unset_not_an_error() {
        assert_eq!(Timestamp::parse_optional(""), Ok(None));
        assert_eq!(
            Timestamp::parse_optional("2026-03-01 08:05:09"),
            Ok(Some(at("2026-03-01 08:05:09")))
        );
        assert!(Timestamp::parse_optional(" ").is_err());
        assert_eq!(or_empty::text(None), "");
    }

    #[test]
    fn instants_become_utc_to_the_second() {
        let paris = datetime!(2026-03-01 09:05:09.75 +1);
        assert_eq!(Timestamp::from(paris), at("2026-03-01 08:05:09"));
        assert_eq!(
            at("2026-03-01 08:05:09").instant(),
            datetime!(2026-03-01 08:05:09 UTC)
        );
    }

    #[test]
    fn order_and_arithmetic_follow_time() {
        let early = at("2026-03-01 23:59:59");
        let late = at("2026-03-02 00:00:00");
        assert!(early < late);
        assert_eq!(early + Duration::from_secs(1), late);
        assert_eq!(late - Duration::from_secs(1), early);
        assert_eq!((late - early).whole_seconds(), 1);
        assert_eq!(Timestamp::start_of(late.date()), late);
        // Far past the calendar's ends: the last instant, no panic.
        let last = at("9999-12-31 23:59:59");
        assert_eq!(last + Duration::from_secs(3600), last);
        assert_eq!(early + Duration::MAX, last);
    }

    #[test]
    fn json_holds_the_same_text() {
        #[derive(serde::Serialize, serde::Deserialize, PartialEq, Debug)]
        struct Held {
            at: Timestamp,
            #[serde(with = "or_empty")]
            due: Option<Timestamp>,
        }
        let held = Held {
            at: at("2026-03-01 08:05:09"),
            due: None,
        };
        let json = serde_json::to_string(&held).unwrap();
        assert_eq!(json, r#"{"at":"2026-03-01 08:05:09","due":""}"#);
        assert_eq!(serde_json::from_str::<Held>(&json).unwrap(), held);
        assert!(serde_json::from_str::<Held>(r#"{"at":"","due":""}"#).is_err());
    }
}

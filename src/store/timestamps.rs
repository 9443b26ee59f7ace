//! Timestamps in SQLite: the very text the back-end writes
//! (`YYYY-MM-DD HH:MM:SS`, UTC), so that stores written before the type
//! existed read as they are, and SQL orders and compares them as text in
//! time order. The outbox's optional instants are NULL when unset; the
//! back-end's dates (a case's deadline...) are "" when unset, as it sends
//! them, and go through [`EmptyIfUnset`].

use rusqlite::types::{FromSql, FromSqlError, FromSqlResult, ToSql, ToSqlOutput, ValueRef};

use crate::domain::Timestamp;
use crate::domain::timestamp::or_empty;

/// A back-end's date that may be unset, in a `NOT NULL` column: "" when it
/// is (`Option<Timestamp>` alone would write NULL and refuse "").
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) struct EmptyIfUnset(pub Option<Timestamp>);

impl ToSql for EmptyIfUnset {
    fn to_sql(&self) -> rusqlite::Result<ToSqlOutput<'_>> {
        Ok(ToSqlOutput::from(or_empty::text(self.0)))
    }
}

impl FromSql for EmptyIfUnset {
    fn column_result(value: ValueRef<'_>) -> FromSqlResult<EmptyIfUnset> {
        Timestamp::parse_optional(value.as_str()?)
            .map(EmptyIfUnset)
            .map_err(|e| FromSqlError::Other(Box::new(e)))
    }
}

impl ToSql for Timestamp {
    fn to_sql(&self) -> rusqlite::Result<ToSqlOutput<'_>> {
        Ok(ToSqlOutput::from(self.to_string()))
    }
}

impl FromSql for Timestamp {
    fn column_result(value: ValueRef<'_>) -> FromSqlResult<Timestamp> {
        Timestamp::parse(value.as_str()?).map_err(|e| FromSqlError::Other(Box::new(e)))
    }
}

#[cfg(test)]
mod tests {
    use crate::domain::Timestamp;

    #[test]
    fn stored_as_the_same_text_and_read_back() {
        let conn = rusqlite::Connection::open_in_memory().unwrap();
        let at = Timestamp::parse("2026-03-01 08:05:09").unwrap();
        let (text, back): (String, Timestamp) = conn
            .query_row("SELECT ?1, ?1", [at], |r| Ok((r.get(0)?, r.get(1)?)))
            .unwrap();
        assert_eq!((text.as_str(), back), ("2026-03-01 08:05:09", at));
        let unset: Option<Timestamp> = conn.query_row("SELECT NULL", [], |r| r.get(0)).unwrap();
        assert_eq!(unset, None);
        let refused = conn.query_row("SELECT 'soon'", [], |r| r.get::<_, Timestamp>(0));
        assert!(refused.unwrap_err().to_string().contains("'soon'"));
    }

    #[test]
    fn an_unset_date_is_an_empty_text() {
        use super::EmptyIfUnset;
        let conn = rusqlite::Connection::open_in_memory().unwrap();
        let at = Timestamp::parse("2026-03-01 08:05:09").unwrap();
        let texts: (String, String) = conn
            .query_row(
                "SELECT ?1, ?2",
                [EmptyIfUnset(None), EmptyIfUnset(Some(at))],
                |r| Ok((r.get(0)?, r.get(1)?)),
            )
            .unwrap();
        assert_eq!(texts, (String::new(), "2026-03-01 08:05:09".into()));
        let read: (EmptyIfUnset, EmptyIfUnset) = conn
            .query_row("SELECT '', '2026-03-01 08:05:09'", [], |r| {
                Ok((r.get(0)?, r.get(1)?))
            })
            .unwrap();
        assert_eq!(read, (EmptyIfUnset(None), EmptyIfUnset(Some(at))));
    }
}

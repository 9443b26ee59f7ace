//! What an instance offers this profile, checked the way the sync will use
//! it: for `login` (the case table and field map must hold before anything
//! is kept) and `guichet doctor` (every table, the rate limit, the proxy).

use reqwest::header::HeaderMap;

use super::{ServiceNow, wire};
use crate::backend::{BackendError, BackendResult};

/// The case table as the instance answered for it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CaseTable {
    pub table: String,
    /// Mapped fields the instance returned no value for (wrong names).
    pub missing: Vec<String>,
    /// False when the agent sees no case yet: fields could not be checked.
    pub sampled: bool,
}

/// A table the sync reads, and whether this agent may read it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TableAccess {
    pub table: String,
    pub readable: Result<(), String>,
}

/// A rate limit rule the instance applies to this agent, from its headers.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RateLimit {
    /// Requests allowed per window.
    pub limit: String,
    /// When the window ends (epoch seconds), if said.
    pub reset: Option<String>,
}

impl RateLimit {
    fn from_headers(headers: &HeaderMap) -> Option<RateLimit> {
        let header = |name: &str| {
            headers
                .get(name)
                .and_then(|v| v.to_str().ok())
                .map(str::to_string)
        };
        Some(RateLimit {
            limit: header("x-ratelimit-limit")?,
            reset: header("x-ratelimit-reset"),
        })
    }
}

/// The tables besides the case table, with the fields the sync asks of them.
const TABLES: [(&str, &str); 6] = [
    (wire::CITIZEN_TABLE, wire::ID_FIELD),
    (wire::JOURNAL_TABLE, wire::ID_FIELD),
    (wire::USER_TABLE, wire::ID_FIELD),
    (wire::GROUP_TABLE, wire::ID_FIELD),
    (wire::MEMBER_TABLE, wire::MEMBER_FIELDS),
    (wire::CHOICE_TABLE, wire::ID_FIELD),
];

impl ServiceNow {
    /// Reads one case with every mapped field. The Table API drops a field
    /// name it does not know instead of refusing it, so a wrong name in the
    /// field map would otherwise show as empty cases, silently.
    pub async fn check_case_table(&self) -> BackendResult<CaseTable> {
        let params = [
            ("sysparm_limit", "1".to_string()),
            ("sysparm_fields", self.schema.case_fields()),
            ("sysparm_exclude_reference_link", "true".into()),
            ("sysparm_no_count", "true".into()),
        ];
        let answer = self.get(self.schema.table(), &params).await?;
        let rows = wire::result_rows(&answer.body)?;
        let missing = match rows.first().and_then(|row| row.as_object()) {
            Some(record) => self.schema.missing_in(record),
            None => Vec::new(),
        };
        Ok(CaseTable {
            table: self.schema.table().to_string(),
            missing,
            sampled: !rows.is_empty(),
        })
    }

    /// Whether each table the sync reads answers this agent, and the rate
    /// limit the instance announces (on any answer under a rule).
    pub async fn probe_tables(&self) -> (Vec<TableAccess>, Option<RateLimit>) {
        let mut access = Vec::new();
        let mut rate_limit = None;
        for (table, fields) in TABLES {
            let params = [
                ("sysparm_limit", "1".to_string()),
                ("sysparm_fields", fields.to_string()),
                ("sysparm_no_count", "true".into()),
            ];
            let readable = match self.get(table, &params).await {
                Ok(answer) => {
                    rate_limit = rate_limit.or_else(|| RateLimit::from_headers(&answer.headers));
                    Ok(())
                }
                Err(BackendError::Rejected(why)) => Err(why),
                Err(e) => Err(e.to_string()),
            };
            access.push(TableAccess {
                table: table.to_string(),
                readable,
            });
        }
        (access, rate_limit)
    }

    /// The proxy requests go through (credentials hidden) and the
    /// environment variable that set it (None: the profile's own).
    pub fn proxy_in_use(&self) -> Option<(String, Option<&'static str>)> {
        self.client.proxy_in_use()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_rate_limit_is_read_from_servicenow_headers() {
        let mut headers = HeaderMap::new();
        assert_eq!(RateLimit::from_headers(&headers), None);
        headers.insert("x-ratelimit-limit", "100".parse().unwrap());
        headers.insert("x-ratelimit-reset", "1764370800".parse().unwrap());
        assert_eq!(
            RateLimit::from_headers(&headers),
            Some(RateLimit {
                limit: "100".into(),
                reset: Some("1764370800".into())
            })
        );
    }
}

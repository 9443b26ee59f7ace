//! What the reference back-end and the ServiceNow adapter must agree on,
//! in one place that both depend on (neither depends on the other): the
//! header announcing our extensions and its tokens, and the page ceiling.
//! Datetimes on the wire are `domain::datetime`'s.

/// The response header in which the reference back-end announces the
/// extensions it offers (a real instance sends none).
pub const EXTENSIONS_HEADER: &str = "x-guichet-extensions";

/// The most rows one page may hold (`sysparm_limit`), as on ServiceNow.
pub const PAGE_CEILING: usize = 10_000;

/// Extensions beyond ServiceNow's Table API.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Extension {
    /// `ETag` on single records.
    ETag,
    /// Writes conditional on the version the client saw.
    IfMatch,
    /// Replays of a write answered, not re-applied.
    IdempotencyKey,
}

impl Extension {
    pub const ALL: [Extension; 3] = [
        Extension::ETag,
        Extension::IfMatch,
        Extension::IdempotencyKey,
    ];

    pub fn token(self) -> &'static str {
        match self {
            Extension::ETag => "etag",
            Extension::IfMatch => "if-match",
            Extension::IdempotencyKey => "idempotency-key",
        }
    }
}

/// The header value announcing `extensions`.
pub fn announce(extensions: &[Extension]) -> String {
    extensions
        .iter()
        .map(|e| e.token())
        .collect::<Vec<_>>()
        .join(", ")
}

/// The extensions a header value announces (unknown tokens ignored).
pub fn announced(value: &str) -> Vec<Extension> {
    value
        .split(',')
        .map(|t| t.trim().to_ascii_lowercase())
        .filter_map(|t| Extension::ALL.into_iter().find(|e| e.token() == t))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn what_is_announced_is_what_is_read() {
        let header = announce(&Extension::ALL);
        assert_eq!(header, "etag, if-match, idempotency-key");
        assert_eq!(announced(&header), Extension::ALL);
        assert_eq!(
            announced("If-Match, x-future-thing"),
            [Extension::IfMatch],
            "tokens, not substrings"
        );
        assert!(announced("not-if-match").is_empty());
    }
}

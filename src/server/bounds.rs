//! What one request may weigh: its body, its query string and the encoded
//! query in it. Everything past these bounds is refused up front with a
//! ServiceNow-shaped error that says the bound, so that no single request
//! can hold a database connection or the server's memory for long.

use axum::extract::Request;
use axum::http::{StatusCode, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};

use super::error::ApiError;
use crate::encoded_query::{Query, Term};

/// Largest request body accepted: a case with a long description fits many
/// times over (each field is itself limited to 64 KiB).
pub const BODY_LIMIT: usize = 1024 * 1024;

/// Longest query string: `sysparm_query` plus the other parameters. The
/// client's longest, a list of 100 sys_ids, is about 3.5 KiB.
pub const MAX_QUERY_STRING_BYTES: usize = 32 * 1024;

/// Longest `sysparm_query`.
pub const MAX_ENCODED_QUERY_BYTES: usize = 16 * 1024;

/// Most conditions in one encoded query, counting each word of a text search
/// and each ordering: every one is a predicate evaluated on every candidate row.
pub const MAX_QUERY_TERMS: usize = 100;

pub fn body_too_large() -> ApiError {
    ApiError::new(
        StatusCode::PAYLOAD_TOO_LARGE,
        "Request body too large",
        format!(
            "request bodies are limited to {} KiB ({BODY_LIMIT} bytes)",
            BODY_LIMIT / 1024
        ),
    )
}

/// Refuses a body announced larger than [`BODY_LIMIT`] before anything else
/// (authentication included) spends work on it. Bodies without a length
/// are cut at the same limit where they are read.
pub async fn limit_body(request: Request, next: Next) -> Response {
    let announced = request
        .headers()
        .get(header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.trim().parse::<u64>().ok());
    if announced.is_some_and(|n| n > BODY_LIMIT as u64) {
        return body_too_large().into_response();
    }
    next.run(request).await
}

/// The raw query string, before it is decoded.
pub fn check_query_string(raw: &str) -> Result<(), ApiError> {
    if raw.len() > MAX_QUERY_STRING_BYTES {
        return Err(ApiError::bad_request(format!(
            "the query string is {} bytes long; it is limited to {} KiB",
            raw.len(),
            MAX_QUERY_STRING_BYTES / 1024
        )));
    }
    Ok(())
}

/// `sysparm_query` as sent, before it is parsed.
pub fn check_encoded_query(text: &str) -> Result<(), ApiError> {
    if text.len() > MAX_ENCODED_QUERY_BYTES {
        return Err(ApiError::bad_request(format!(
            "sysparm_query is {} bytes long; it is limited to {} KiB (ask for fewer records at once, or page)",
            text.len(),
            MAX_ENCODED_QUERY_BYTES / 1024
        )));
    }
    Ok(())
}

/// A parsed encoded query: at most [`MAX_QUERY_TERMS`] conditions.
pub fn check_terms(query: &Query) -> Result<(), ApiError> {
    let conditions: usize = query
        .blocks
        .iter()
        .flat_map(|b| &b.groups)
        .flatten()
        .map(|term| match term {
            Term::Condition(_) => 1,
            Term::Text(words) => words.split_whitespace().count().max(1),
        })
        .sum();
    let terms = conditions + query.order.len();
    if terms > MAX_QUERY_TERMS {
        return Err(ApiError::bad_request(format!(
            "sysparm_query has {terms} conditions, orderings and search words; at most {MAX_QUERY_TERMS} are allowed"
        )));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::encoded_query::parse;

    #[test]
    fn terms_count_conditions_search_words_and_orderings() {
        let ok = parse("state=1^ORstate=2^123TEXTQUERY321=jean dupont^ORDERBYnumber").unwrap();
        assert!(check_terms(&ok).is_ok());
        let many = (0..MAX_QUERY_TERMS + 1)
            .map(|i| format!("priority={i}"))
            .collect::<Vec<_>>()
            .join("^OR");
        let e = check_terms(&parse(&many).unwrap()).unwrap_err();
        assert!(e.detail.contains("at most 100"), "{}", e.detail);
        let words = format!(
            "123TEXTQUERY321={}",
            vec!["a"; MAX_QUERY_TERMS + 1].join(" ")
        );
        assert!(check_terms(&parse(&words).unwrap()).is_err());
    }

    #[test]
    fn long_queries_are_refused_with_their_length() {
        assert!(check_encoded_query(&"a".repeat(MAX_ENCODED_QUERY_BYTES)).is_ok());
        let e = check_encoded_query(&"a".repeat(MAX_ENCODED_QUERY_BYTES + 1)).unwrap_err();
        assert_eq!(e.status, StatusCode::BAD_REQUEST);
        assert!(e.detail.contains("16 KiB"), "{}", e.detail);
        assert!(check_query_string(&"a".repeat(MAX_QUERY_STRING_BYTES + 1)).is_err());
    }
}

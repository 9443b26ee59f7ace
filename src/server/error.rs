//! Errors as ServiceNow shapes them:
//! `{"error": {"message": ..., "detail": ...}, "status": "failure"}`.

use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde_json::json;

#[derive(Debug, Clone)]
pub struct ApiError {
    pub status: StatusCode,
    pub message: String,
    pub detail: String,
    /// Extra headers, e.g. `Retry-After` on 429.
    pub headers: Vec<(header::HeaderName, String)>,
    /// A body to send instead of the envelope (412 carries the current record).
    pub body: Option<serde_json::Value>,
}

impl ApiError {
    pub fn new(status: StatusCode, message: impl Into<String>, detail: impl Into<String>) -> Self {
        ApiError {
            status,
            message: message.into(),
            detail: detail.into(),
            headers: Vec::new(),
            body: None,
        }
    }
    pub fn bad_request(detail: impl Into<String>) -> Self {
        Self::new(StatusCode::BAD_REQUEST, "Invalid request", detail)
    }
    pub fn unauthenticated(detail: impl Into<String>) -> Self {
        Self::new(StatusCode::UNAUTHORIZED, "User Not Authenticated", detail)
            .with_header(header::WWW_AUTHENTICATE, "Basic realm=\"Guichet\"")
    }
    pub fn forbidden(detail: impl Into<String>) -> Self {
        Self::new(StatusCode::FORBIDDEN, "Operation Failed", detail)
    }
    pub fn not_found() -> Self {
        Self::new(
            StatusCode::NOT_FOUND,
            "No Record found",
            "Record doesn't exist or ACL restricts the record retrieval",
        )
    }
    pub fn internal(detail: impl Into<String>) -> Self {
        let detail = detail.into();
        tracing::error!("internal error: {detail}");
        Self::new(
            StatusCode::INTERNAL_SERVER_ERROR,
            "Internal server error",
            detail,
        )
    }
    pub fn with_header(mut self, name: header::HeaderName, value: impl Into<String>) -> Self {
        self.headers.push((name, value.into()));
        self
    }
}

impl From<rusqlite::Error> for ApiError {
    fn from(e: rusqlite::Error) -> Self {
        if e.sqlite_error_code() == Some(rusqlite::ErrorCode::ConstraintViolation) {
            return ApiError::new(
                StatusCode::CONFLICT,
                "Operation Failed",
                "the record conflicts with an existing one (a unique value is already taken)",
            );
        }
        // Only the deadline interrupts a connection (`deadline`), which says
        // so with its duration; this is the fallback wording.
        if e.sqlite_error_code() == Some(rusqlite::ErrorCode::OperationInterrupted) {
            return ApiError::new(
                StatusCode::SERVICE_UNAVAILABLE,
                "Transaction cancelled: maximum execution time exceeded",
                "the request's database work ran past the server's deadline",
            );
        }
        // The cause goes to the server's log, not to the client.
        tracing::error!("database error: {e}");
        ApiError::new(
            StatusCode::INTERNAL_SERVER_ERROR,
            "Internal server error",
            "a database error occurred",
        )
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let body = self.body.unwrap_or_else(|| {
            json!({
                "error": {"message": self.message, "detail": self.detail},
                "status": "failure",
            })
        });
        let mut response = (self.status, axum::Json(body)).into_response();
        for (name, value) in self.headers {
            if let Ok(value) = HeaderValue::from_str(&value) {
                response.headers_mut().insert(name, value);
            }
        }
        response
    }
}

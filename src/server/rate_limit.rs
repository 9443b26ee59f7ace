//! Per-user request limits (`--rate-limit N` requests a minute), answered as
//! ServiceNow answers them: `X-RateLimit-Limit` and `X-RateLimit-Reset` on
//! responses under the rule, 429 with `Retry-After` past the limit.

use std::collections::HashMap;
use std::sync::Mutex;

use axum::http::{StatusCode, header};

use super::error::ApiError;

const WINDOW_SECS: u64 = 60;

pub struct RateLimiter {
    per_minute: u32,
    windows: Mutex<HashMap<String, (u64, u32)>>,
}

/// The rule's state for one request, for the response headers.
pub struct Allowance {
    pub limit: u32,
    pub reset_epoch: u64,
}

impl RateLimiter {
    pub fn new(per_minute: u32) -> Self {
        RateLimiter {
            per_minute,
            windows: Mutex::new(HashMap::new()),
        }
    }

    /// Counts a request by `user`; Err(429) once the window's quota is spent.
    pub fn check(&self, user: &str) -> Result<Allowance, ApiError> {
        let now = super::clock::epoch_now().max(0) as u64;
        let window = now - now % WINDOW_SECS;
        let reset_epoch = window + WINDOW_SECS;
        let mut windows = self.windows.lock().unwrap_or_else(|p| p.into_inner());
        windows.retain(|_, (start, _)| *start == window);
        let entry = windows.entry(user.to_string()).or_insert((window, 0));
        if entry.1 >= self.per_minute {
            let retry_after = reset_epoch.saturating_sub(now).max(1);
            return Err(ApiError::new(
                StatusCode::TOO_MANY_REQUESTS,
                "Rate limit exceeded",
                format!("{user} may send {} requests a minute", self.per_minute),
            )
            .with_header(header::RETRY_AFTER, retry_after.to_string())
            .with_header(
                header::HeaderName::from_static("x-ratelimit-limit"),
                self.per_minute.to_string(),
            )
            .with_header(
                header::HeaderName::from_static("x-ratelimit-reset"),
                reset_epoch.to_string(),
            )
            .with_header(
                header::HeaderName::from_static("x-ratelimit-rule"),
                "guichet-per-user",
            ));
        }
        entry.1 += 1;
        Ok(Allowance {
            limit: self.per_minute,
            reset_epoch,
        })
    }
}

//! When to try again: exponential backoff with full jitter (a random wait
//! between zero and min(cap, base × 2^attempt)), never sooner than the
//! back-end asked with Retry-After or a rate-limit reset.

use std::time::Duration;

use rand::RngExt;

pub const BASE: Duration = Duration::from_secs(1);
pub const CAP: Duration = Duration::from_secs(300);

/// The wait before attempt `attempt + 1`.
pub fn delay(attempt: u32, retry_after: Option<Duration>) -> Duration {
    let ceiling = BASE
        .saturating_mul(2u32.saturating_pow(attempt.min(16)))
        .min(CAP);
    let jittered = Duration::from_millis(rand::rng().random_range(0..=ceiling.as_millis() as u64));
    jittered.max(retry_after.unwrap_or_default())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn waits_grow_are_capped_and_honour_the_back_end() {
        for attempt in 0..30 {
            let d = delay(attempt, None);
            assert!(d <= CAP);
            assert!(d <= BASE * 2u32.saturating_pow(attempt.min(16)));
        }
        assert!(delay(0, Some(Duration::from_secs(30))) >= Duration::from_secs(30));
        // Full jitter: not all the same.
        let samples: std::collections::HashSet<_> = (0..20).map(|_| delay(8, None)).collect();
        assert!(samples.len() > 1);
    }
}

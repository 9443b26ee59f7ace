//! The server's clock. Tests set an offset (`serve --clock-offset`) to play
//! an instance whose clock is hours away from the workstation's: record
//! timestamps and the `Date` header then follow it, as a real instance's
//! would.

use std::sync::atomic::{AtomicI64, Ordering};

use time::OffsetDateTime;

use crate::domain::Clock;
pub use crate::domain::datetime::http_date;

static OFFSET_SECS: AtomicI64 = AtomicI64::new(0);

/// Sets the offset (seconds added to the machine's clock, the crate's one
/// source of now).
pub fn set_offset(seconds: i64) {
    OFFSET_SECS.store(seconds, Ordering::SeqCst);
}

pub fn offset() -> i64 {
    OFFSET_SECS.load(Ordering::SeqCst)
}

/// Now, by the server's clock.
pub fn now() -> OffsetDateTime {
    Clock::system().instant_ahead_by(offset())
}

/// Now as the Table API writes datetimes.
pub fn now_text() -> String {
    crate::domain::Timestamp::from(now()).to_string()
}

/// Epoch seconds, by the server's clock.
pub fn epoch_now() -> i64 {
    now().unix_timestamp()
}

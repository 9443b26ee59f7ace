//! Where "now" comes from: the one source of the time of day for the whole
//! crate. In use it is the workstation's clock; a test stops it at an
//! instant of its choosing and moves it on by hand, so that what depends on
//! the time of day (a deadline passed, a key too old to trust) can be
//! checked on any day.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use time::OffsetDateTime;

use super::Timestamp;

/// A clock: the system's, or one stopped at an instant (for tests).
/// Clones share the instant: moving one moves them all.
#[derive(Debug, Clone, Default)]
pub struct Clock {
    /// None: the system clock.
    stopped: Option<Arc<Mutex<OffsetDateTime>>>,
}

impl Clock {
    /// The workstation's clock.
    pub fn system() -> Clock {
        Clock::default()
    }

    /// A clock that shows `at` until moved with [`Clock::advance`].
    pub fn stopped_at(at: Timestamp) -> Clock {
        Clock {
            stopped: Some(Arc::new(Mutex::new(at.instant()))),
        }
    }

    /// Moves a stopped clock on; the system clock moves by itself and is
    /// left alone.
    pub fn advance(&self, by: Duration) {
        if let Some(stopped) = &self.stopped {
            let mut at = stopped.lock().unwrap_or_else(|p| p.into_inner());
            *at = at.saturating_add(time::Duration::try_from(by).unwrap_or(time::Duration::MAX));
        }
    }

    /// Now, to the fraction of a second.
    pub fn instant(&self) -> OffsetDateTime {
        match &self.stopped {
            None => OffsetDateTime::now_utc(),
            Some(stopped) => *stopped.lock().unwrap_or_else(|p| p.into_inner()),
        }
    }

    /// Now by a clock `seconds` ahead of this one (behind when negative):
    /// a back-end's, from what its `Date` header said.
    pub fn instant_ahead_by(&self, seconds: i64) -> OffsetDateTime {
        self.instant()
            .saturating_add(time::Duration::seconds(seconds))
    }

    /// Now, to the second, as the back-end and the store write it.
    pub fn now(&self) -> Timestamp {
        Timestamp::from(self.instant())
    }

    /// Seconds since the Unix epoch (0 if the clock is set before it).
    pub fn epoch_seconds(&self) -> u64 {
        u64::try_from(self.instant().unix_timestamp()).unwrap_or(0)
    }

    /// Milliseconds since the Unix epoch (0 if the clock is set before it).
    pub fn epoch_millis(&self) -> i64 {
        let millis = self.instant().unix_timestamp_nanos() / 1_000_000;
        i64::try_from(millis.max(0)).unwrap_or(i64::MAX)
    }
}

#[cfg(test)]
mod tests {
    use super::Clock;
    use crate::domain::Timestamp;
    use std::time::Duration;

    #[test]
    fn a_stopped_clock_moves_only_when_told_and_clones_follow() {
        let start = Timestamp::parse("2026-11-28 10:00:00").unwrap();
        let clock = Clock::stopped_at(start);
        let seen_elsewhere = clock.clone();
        assert_eq!(clock.now(), start);
        clock.advance(Duration::from_secs(90));
        assert_eq!(seen_elsewhere.now().to_string(), "2026-11-28 10:01:30");
        assert_eq!(seen_elsewhere.epoch_seconds(), 1_795_860_090);
        assert_eq!(seen_elsewhere.epoch_millis(), 1_795_860_090_000);
    }

    #[test]
    fn the_system_clock_is_today() {
        let clock = Clock::system();
        clock.advance(Duration::from_secs(3600 * 24 * 365));
        let now = clock.now().instant();
        let system = time::OffsetDateTime::now_utc();
        assert!((system - now).abs() < time::Duration::minutes(1));
        assert!(clock.epoch_seconds() > 1_700_000_000);
        assert_eq!(clock.now().to_string().len(), 19);
    }
}

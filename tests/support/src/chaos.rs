//! Random kills for the crash tests, replayable: the seed is printed, and
//! `GUICHET_CHAOS_SEED` runs the same dice again.

use std::time::{SystemTime, UNIX_EPOCH};

/// How many kills a chaos test deals: `GUICHET_CHAOS_KILLS` (default 16;
/// the full run uses 100).
pub fn kills() -> usize {
    std::env::var("GUICHET_CHAOS_KILLS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(16)
}

/// A small deterministic generator, seeded from the clock and printed, so a
/// failing run can be replayed with GUICHET_CHAOS_SEED.
pub struct Dice(u64);

impl Dice {
    #[allow(clippy::new_without_default)]
    pub fn new() -> Dice {
        let seed = std::env::var("GUICHET_CHAOS_SEED")
            .ok()
            .and_then(|v| v.parse().ok())
            .unwrap_or_else(|| {
                SystemTime::now()
                    .duration_since(UNIX_EPOCH)
                    .map_or(7, |d| d.as_nanos() as u64)
            });
        eprintln!("chaos seed: {seed}");
        Dice(seed | 1)
    }

    /// Dice of a known seed (a thread's share of a printed run).
    pub fn seeded(seed: u64) -> Dice {
        Dice(seed | 1)
    }

    /// A number in 0..n.
    pub fn below(&mut self, n: u64) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0 % n
    }
}

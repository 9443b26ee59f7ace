//! What the benchmarks (`tests/bench`, `harness = false`) share.

use std::time::Duration;

/// True when Cargo only asks for the list of tests (`cargo test --benches`
/// runs each benchmark with `--list`): there is nothing to run then.
pub fn listing() -> bool {
    std::env::args().any(|a| a == "--list")
}

/// A size from the environment (`GUICHET_BENCH_CASES`...), else `default`.
pub fn env_number(name: &str, default: usize) -> usize {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

/// Median, min and max of a sample.
pub fn spread(mut times: Vec<Duration>) -> (Duration, Duration, Duration) {
    times.sort();
    (times[times.len() / 2], times[0], times[times.len() - 1])
}

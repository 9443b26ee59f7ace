//! What the benchmarks (`tests/bench`, `harness = false`) share.

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

/// Median, min and max of a sample (times, ratios).
pub fn spread<T: PartialOrd + Copy>(mut sample: Vec<T>) -> (T, T, T) {
    sample.sort_by(|a, b| a.partial_cmp(b).unwrap_or(std::cmp::Ordering::Equal));
    (
        sample[sample.len() / 2],
        sample[0],
        sample[sample.len() - 1],
    )
}

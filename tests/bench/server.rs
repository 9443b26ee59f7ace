//! Reference back-end benchmark: seed time, and list-page latency of the
//! queries the console and the sync engine send, each reported with its ratio
//! to a baseline page measured in the same run (these machines are noisy).
//!
//!   cargo bench --bench server
//!   GUICHET_BENCH_CASES=1000000 cargo bench --bench server

use std::time::{Duration, Instant};

use support::bench::{env_number, listing};
use support::server;

fn percentile(sorted: &[Duration], p: f64) -> Duration {
    sorted[((sorted.len() - 1) as f64 * p).round() as usize]
}

async fn measure(
    client: &reqwest::Client,
    url: &str,
    user: &str,
    query: &[(&str, &str)],
    rounds: usize,
) -> (Duration, Duration, usize) {
    let mut times = Vec::with_capacity(rounds);
    let mut rows = 0;
    for _ in 0..rounds {
        let started = Instant::now();
        let response = client
            .get(format!("{url}/api/now/table/sn_customerservice_case"))
            .basic_auth(user, Some("demo"))
            .query(query)
            .send()
            .await
            .expect("request");
        assert!(
            response.status().is_success(),
            "{query:?}: {}",
            response.status()
        );
        let body: serde_json::Value = response.json().await.expect("json");
        times.push(started.elapsed());
        rows = body["result"].as_array().map_or(0, Vec::len);
    }
    times.sort();
    (percentile(&times, 0.5), percentile(&times, 0.95), rows)
}

fn main() {
    if listing() {
        return;
    }
    let cases = env_number("GUICHET_BENCH_CASES", 100_000) as u32;
    let dir = tempfile::tempdir().expect("temp dir");

    let (small, report) = server::seed(&dir.path().join("small.db"), 5_000);
    println!("seed 5000: {report}");
    drop(small);
    let (big, report) = server::seed(&dir.path().join("big.db"), cases);
    println!("seed {cases}: {report}");
    let size = std::fs::metadata(dir.path().join("big.db")).map_or(0, |m| m.len());
    println!("database file: {:.1} MiB", size as f64 / 1048576.0);

    let runtime = tokio::runtime::Runtime::new().expect("runtime");
    let client = support::http_client().build().expect("client");
    let rounds = 40;
    type Params = Vec<(&'static str, &'static str)>;
    let queries: [(&str, &str, Params); 6] = [
        (
            "baseline: first 50, no filter, no count",
            "superviseur",
            vec![("sysparm_limit", "50"), ("sysparm_no_count", "true")],
        ),
        (
            "open, high priority, newest first (count)",
            "superviseur",
            vec![
                ("sysparm_limit", "50"),
                ("sysparm_query", "state=10^priority<=2^ORDERBYDESCopened_at"),
            ],
        ),
        (
            "agent's team queue by due date (count)",
            "titres",
            vec![
                ("sysparm_limit", "50"),
                ("sysparm_query", "stateIN1,10,18^ORDERBYdue_date"),
                ("sysparm_display_value", "all"),
            ],
        ),
        (
            "my cases (count)",
            "demo",
            vec![
                ("sysparm_limit", "50"),
                (
                    "sysparm_query",
                    "assigned_to=javascript:gs.getUserID()^active=true^ORDERBYDESCsys_updated_on",
                ),
            ],
        ),
        (
            "text search 'martin' (count)",
            "superviseur",
            vec![
                ("sysparm_limit", "50"),
                (
                    "sysparm_query",
                    "123TEXTQUERY321=martin^ORDERBYDESCopened_at",
                ),
            ],
        ),
        (
            "sync page: updated since, 1000 rows, 8 fields",
            "superviseur",
            vec![
                ("sysparm_limit", "1000"),
                ("sysparm_no_count", "true"),
                (
                    "sysparm_fields",
                    "sys_id,number,state,priority,assigned_to,assignment_group,due_date,sys_updated_on",
                ),
                (
                    "sysparm_query",
                    "sys_updated_on>2026-01-01 00:00:00^ORDERBYsys_updated_on",
                ),
            ],
        ),
    ];
    runtime.block_on(async {
        let mut baseline = None;
        println!("list latency over {cases} cases, {rounds} rounds each (median / p95, ratio of medians to the baseline):");
        for (name, user, query) in &queries {
            let (median, p95, rows) = measure(&client, &big.url, user, query, rounds).await;
            let base = *baseline.get_or_insert(median);
            println!(
                "  {name:<48} {:>8.2} ms / {:>8.2} ms  x{:.2}  ({rows} rows)",
                median.as_secs_f64() * 1e3,
                p95.as_secs_f64() * 1e3,
                median.as_secs_f64() / base.as_secs_f64()
            );
            // The line compare.sh gathers into its summary table.
            println!(
                "SUMMARY|server ({cases} cases)|list: {name}, median / p95|{:.2} / {:.2} ms|×{:.2} the baseline",
                median.as_secs_f64() * 1e3,
                p95.as_secs_f64() * 1e3,
                median.as_secs_f64() / base.as_secs_f64()
            );
        }
    });
}

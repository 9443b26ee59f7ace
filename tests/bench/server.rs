//! Reference back-end benchmark: seed time, and list-page latency of the
//! queries the console and the sync engine send, each reported with its ratio
//! to a baseline page measured in the same run (these machines are noisy).
//!
//!   cargo bench --bench server
//!   GUICHET_BENCH_CASES=1000000 cargo bench --bench server

use std::io::{BufRead, BufReader};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

struct Served {
    child: Child,
    url: String,
    seed_report: String,
}

impl Drop for Served {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn serve(db: &std::path::Path, cases: u32) -> Served {
    let started = Instant::now();
    let mut child = Command::new(env!("CARGO_BIN_EXE_guichet"))
        .args([
            "serve",
            "--addr",
            "127.0.0.1:0",
            "--demo",
            &cases.to_string(),
            "--db",
        ])
        .arg(db)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("start guichet serve");
    let mut line = String::new();
    BufReader::new(child.stdout.take().expect("stdout"))
        .read_line(&mut line)
        .expect("first line");
    let url = line.trim().trim_start_matches("listening on ").to_string();
    let mut report = String::new();
    BufReader::new(child.stderr.take().expect("stderr"))
        .read_line(&mut report)
        .expect("seed report");
    Served {
        child,
        url,
        seed_report: format!(
            "{} (process ready after {:.2} s)",
            report.trim(),
            started.elapsed().as_secs_f64()
        ),
    }
}

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
    if std::env::args().any(|a| a == "--list") {
        return; // `cargo test --benches` asks for the list of tests
    }
    let cases: u32 = std::env::var("GUICHET_BENCH_CASES")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(100_000);
    let dir = tempfile::tempdir().expect("temp dir");

    let small = serve(&dir.path().join("small.db"), 5_000);
    println!("seed 5000: {}", small.seed_report);
    drop(small);
    let big = serve(&dir.path().join("big.db"), cases);
    println!("seed {cases}: {}", big.seed_report);
    let size = std::fs::metadata(dir.path().join("big.db")).map_or(0, |m| m.len());
    println!("database file: {:.1} MiB", size as f64 / 1048576.0);

    let runtime = tokio::runtime::Runtime::new().expect("runtime");
    let client = guichet::tls::http_client().build().expect("client");
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
        }
    });
}

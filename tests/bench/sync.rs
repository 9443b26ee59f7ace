//! Local-first spine benchmark, against a real `guichet serve` (release
//! build), through the test proxy to count bytes on the wire:
//! full sync, idle sync, replay rate of queued actions, local search.
//! Times of local queries are reported with their ratio to a baseline
//! query measured in the same run.
//!
//!   cargo bench --bench sync
//!   GUICHET_BENCH_CASES=100000 GUICHET_BENCH_ACTIONS=10000 cargo bench --bench sync
//!   (GUICHET_BENCH_SYNC_ROUNDS: rounds of the first sync beside curl, 3 by
//!   default; GUICHET_BENCH_ROUNDS: rounds of the replay comparison, 4 by
//!   default; GUICHET_BENCH_ACTIONS=0 leaves the replay out)

use std::time::{Duration, Instant};

use guichet::domain::Action;
use guichet::domain::search::{Search, View};

use support::agent::Agent;
use support::bench::{env_number, listing, spread};
use support::proxy::FaultProxy;
use support::server;

fn main() {
    if listing() {
        return;
    }
    let cases = env_number("GUICHET_BENCH_CASES", 100_000);
    let actions = env_number("GUICHET_BENCH_ACTIONS", 10_000);
    let runtime = tokio::runtime::Runtime::new().expect("runtime");
    let started = Instant::now();
    let server = server::start_today(cases as u32, &[]);
    println!(
        "server seeded with {cases} cases in {:.1} s",
        started.elapsed().as_secs_f64()
    );
    let proxy = runtime.block_on(FaultProxy::start(server.address()));
    // First syncs by fresh agents beside curl, in rounds that alternate
    // which goes first (the page cache and the disk drift over a run).
    let sync_rounds = env_number("GUICHET_BENCH_SYNC_ROUNDS", 3).max(1);
    let (mut ours, mut curls, mut ratios) = (Vec::new(), Vec::new(), Vec::new());
    let mut agent = None;
    for round in 0..sync_rounds {
        let fresh = Agent::login(&proxy.url, "superviseur");
        let first_sync = || {
            let before = proxy.stats();
            let started = Instant::now();
            let report = fresh.json(&["sync", "--json"]);
            let took = started.elapsed();
            let after = proxy.stats();
            println!(
                "round {}: full sync: {} cases in {:.1} s, {} requests, {:.1} MiB on the wire",
                round + 1,
                report["report"]["pull"]["cases_changed"],
                took.as_secs_f64(),
                after.requests - before.requests,
                (after.bytes_to_client - before.bytes_to_client) as f64 / 1048576.0
            );
            took
        };
        // The same data fetched the simplest way, through the same proxy:
        // each table in pages of 10,000 with curl, one after another.
        let curl = || {
            let before = proxy.stats();
            let started = Instant::now();
            let (rows, requests) = curl_tables(&proxy.url, "superviseur");
            let took = started.elapsed();
            let after = proxy.stats();
            println!(
                "round {}: curl, same tables: {rows} rows in {:.1} s, {requests} requests, {:.1} MiB on the wire",
                round + 1,
                took.as_secs_f64(),
                (after.bytes_to_client - before.bytes_to_client) as f64 / 1048576.0,
            );
            took
        };
        let (mine, theirs) = if round % 2 == 0 {
            let mine = first_sync();
            (mine, curl())
        } else {
            let theirs = curl();
            (first_sync(), theirs)
        };
        ratios.push(mine.as_secs_f64() / theirs.as_secs_f64());
        ours.push(mine);
        curls.push(theirs);
        agent = Some(fresh);
    }
    let agent = agent.expect("one round at least");
    let ratio =
        ours.iter().sum::<Duration>().as_secs_f64() / curls.iter().sum::<Duration>().as_secs_f64();
    let (full, full_low, full_high) = spread(ours);
    let (plain, plain_low, plain_high) = spread(curls);
    let (median, low, high) = spread(ratios);
    println!(
        "full first sync, median of {sync_rounds}: {:.1} s ({:.1}-{:.1}); curl, same tables: {:.1} s ({:.1}-{:.1}); Guichet/curl = {ratio:.2}, per round median {median:.2} ({low:.2}-{high:.2}) (target <= 1.3)",
        full.as_secs_f64(),
        full_low.as_secs_f64(),
        full_high.as_secs_f64(),
        plain.as_secs_f64(),
        plain_low.as_secs_f64(),
        plain_high.as_secs_f64(),
    );
    // The lines compare.sh gathers into its summary table.
    println!(
        "SUMMARY|sync ({cases} cases)|full first sync (supervisor), median of {sync_rounds}|{:.1} s ({:.1}-{:.1})|curl, same tables: {:.1} s: Guichet/curl = {ratio:.2}, per round {median:.2} ({low:.2}-{high:.2}) (target <= 1.3)",
        full.as_secs_f64(),
        full_low.as_secs_f64(),
        full_high.as_secs_f64(),
        plain.as_secs_f64(),
    );

    let before = proxy.stats();
    let started = Instant::now();
    agent.ok(&["sync"]);
    let idle = started.elapsed();
    let after = proxy.stats();
    println!(
        "idle sync: {:.3} s, {} requests, {} bytes on the wire",
        idle.as_secs_f64(),
        after.requests - before.requests,
        after.bytes_to_client - before.bytes_to_client
    );
    println!(
        "SUMMARY|sync ({cases} cases)|idle sync|{} requests, {} bytes|target: one request under 2 KB",
        after.requests - before.requests,
        after.bytes_to_client - before.bytes_to_client
    );

    if actions > 0 {
        replay(&runtime, &server, &agent, cases, actions);
    }

    let store = agent.open_store();
    let queries: [(&str, Search); 5] = [
        (
            "baseline: open cases, first 50",
            Search::default().with(View::Open.filters()),
        ),
        (
            "word 'martin' (full-text)",
            Search::parse("martin").expect("query"),
        ),
        (
            "state:awaiting_info prio:1,2 due:<7d",
            Search::parse("state:awaiting_info prio:1,2 due:<7d").expect("query"),
        ),
        (
            "'passepirt' (typo: fuzzy fallback)",
            Search::parse("passepirt").expect("query"),
        ),
        (
            "group:titres assignee:none 'carte'",
            Search::parse("group:titres assignee:none carte").expect("query"),
        ),
    ];
    println!(
        "local search over {} cases (median of 15, ratio to the baseline):",
        store.case_count().unwrap_or(0)
    );
    let mut baseline = None;
    for (name, search) in queries {
        let mut times = Vec::new();
        let mut found = 0;
        for _ in 0..15 {
            let started = Instant::now();
            found = store.search(&search, 50).expect("search").len();
            times.push(started.elapsed());
        }
        let (m, _, _) = spread(times);
        let base = *baseline.get_or_insert(m);
        println!(
            "  {name:<40} {:>8.2} ms  x{:.1}  ({found} found)",
            m.as_secs_f64() * 1e3,
            m.as_secs_f64() / base.as_secs_f64()
        );
        println!(
            "SUMMARY|sync ({cases} cases)|local search {name}, median of 15|{:.2} ms|×{:.1} the baseline",
            m.as_secs_f64() * 1e3,
            m.as_secs_f64() / base.as_secs_f64()
        );
    }
}

/// Replays `actions` queued actions against the same PATCH requests sent
/// back to back by a plain client.
fn replay(
    runtime: &tokio::runtime::Runtime,
    server: &server::Server,
    agent: &Agent,
    cases: usize,
    actions: usize,
) {
    // Replay against the same PATCH requests sent back to back by a plain
    // client, in rounds that alternate which goes first: the disk's fsync
    // time drifts over a run, and the server's file grows with each round.
    let rounds = env_number("GUICHET_BENCH_ROUNDS", 4).max(1);
    let per_round = (actions / rounds).max(1);
    let numbers = agent.numbers("open", (per_round / 5).max(1));
    agent.retarget(&server.url);
    let plain = server.client("superviseur");
    let ids: Vec<String> = runtime.block_on(async {
        let mut ids = Vec::with_capacity(numbers.len());
        for number in &numbers {
            let case = plain.find_case(&format!("number={number}")).await;
            ids.push(case["sys_id"].as_str().expect("sys_id").to_string());
        }
        ids
    });
    let (mut queued, mut replayed, mut direct, mut ratios) =
        (Duration::ZERO, Duration::ZERO, Duration::ZERO, Vec::new());
    let mut applied = 0;
    for round in 0..rounds {
        let offset = round * per_round;
        queued += queue_actions(agent, &numbers, offset, per_round);
        let mut replay = || {
            let started = Instant::now();
            let report = agent.json(&["sync", "--json"]);
            applied += report["report"]["push"]["applied"].as_u64().unwrap_or(0);
            assert_eq!(report["waiting"], 0, "every action replayed: {report}");
            started.elapsed()
        };
        let send = || runtime.block_on(plain_patches(&plain, &ids, offset, per_round));
        let (mine, theirs) = if round % 2 == 0 {
            let mine = replay();
            (mine, send())
        } else {
            let theirs = send();
            (replay(), theirs)
        };
        println!(
            "round {}: replayed {per_round} actions in {:.2} s; the same PATCHes by a plain client {:.2} s: ×{:.2}",
            round + 1,
            mine.as_secs_f64(),
            theirs.as_secs_f64(),
            mine.as_secs_f64() / theirs.as_secs_f64()
        );
        replayed += mine;
        direct += theirs;
        ratios.push(mine.as_secs_f64() / theirs.as_secs_f64());
    }
    let total = per_round * rounds;
    assert_eq!(applied as usize, total, "every action applied once");
    println!(
        "queued {total} actions in {:.1} s ({:.0} per second, each committed with fsync)",
        queued.as_secs_f64(),
        total as f64 / queued.as_secs_f64()
    );
    let (median, low, high) = spread(ratios);
    println!(
        "replayed {total} actions in {:.1} s ({:.0} per second); the same {total} PATCH requests back to back (plain client): {:.1} s; Guichet/plain = {:.2}, per round median {median:.2} ({low:.2}-{high:.2}) (target <= 1.3)",
        replayed.as_secs_f64(),
        total as f64 / replayed.as_secs_f64(),
        direct.as_secs_f64(),
        replayed.as_secs_f64() / direct.as_secs_f64()
    );
    println!(
        "SUMMARY|sync ({cases} cases)|replay {total} queued actions|{:.1} s|the same PATCHes back to back: {:.1} s: Guichet/plain = {:.2}, per round {median:.2} ({low:.2}-{high:.2}) (target <= 1.3)",
        replayed.as_secs_f64(),
        direct.as_secs_f64(),
        replayed.as_secs_f64() / direct.as_secs_f64()
    );
}

/// Queues `count` actions straight into the agent's store, as the console
/// does: four comments for a priority. Returns the time it took.
fn queue_actions(agent: &Agent, numbers: &[String], offset: usize, count: usize) -> Duration {
    let mut store = agent.open_store();
    let started = Instant::now();
    for i in offset..offset + count {
        let number = &numbers[i % numbers.len()];
        let action = if i % 5 == 4 {
            Action::Priority {
                priority: (i % 4) as u8 + 1,
            }
        } else {
            Action::Comment {
                text: format!("Message {i} pour {number}"),
            }
        };
        store.enqueue(number, action).expect("enqueue");
    }
    started.elapsed()
}

/// The requests a replay sends, one after another: the same PATCHes with
/// the same parameters and an idempotency key each, as Guichet sends them to
/// a back-end that keeps keys (without the If-Match of its priority changes:
/// a plain client knows no versions).
async fn plain_patches(
    plain: &support::client::Client,
    ids: &[String],
    offset: usize,
    count: usize,
) -> Duration {
    let started = Instant::now();
    for i in offset..offset + count {
        let id = &ids[i % ids.len()];
        let body = if i % 5 == 4 {
            serde_json::json!({"priority": ((i % 4) + 1).to_string()})
        } else {
            serde_json::json!({"comments": format!("Message {i} (direct)")})
        };
        let request = plain
            .request(
                reqwest::Method::PATCH,
                &format!("/api/now/table/sn_customerservice_case/{id}"),
            )
            .query(&[
                ("sysparm_fields", CASE_FIELDS),
                ("sysparm_exclude_reference_link", "true"),
            ])
            .header(
                "Idempotency-Key",
                format!("plain-{i}-{}", std::process::id()),
            )
            .json(&body);
        plain.send(request).await.expect(200);
    }
    started.elapsed()
}

/// The case fields Guichet reads (and asks back from each PATCH).
const CASE_FIELDS: &str = "sys_id,number,short_description,description,state,priority,category,contact_type,consumer,assigned_to,assignment_group,opened_at,due_date,resolution_code,close_notes,sys_updated_on,sys_updated_by,sys_mod_count";

/// Cases, citizens and comments/work notes with the fields Guichet reads, in
/// keyset pages of 10,000 (the page ceiling), one curl after another, as a
/// script would fetch them. Returns (rows, requests).
fn curl_tables(url: &str, user: &str) -> (usize, usize) {
    let tables = [
        ("sn_customerservice_case", CASE_FIELDS, ""),
        (
            "csm_consumer",
            "sys_id,first_name,last_name,email,mobile_phone,street,city,zip",
            "",
        ),
        (
            "sys_journal_field",
            "sys_id,element_id,element,value,sys_created_on,sys_created_by",
            "elementINcomments,work_notes^",
        ),
    ];
    let (mut rows, mut requests) = (0, 0);
    for (table, fields, filter) in tables {
        let mut after = String::new();
        loop {
            let out = std::process::Command::new("curl")
                .args(["-sS", "--fail", "--compressed", "-G", "-u"])
                .arg(format!("{user}:demo"))
                .arg(format!("{url}/api/now/table/{table}"))
                .args(["--data-urlencode"])
                .arg(format!(
                    "sysparm_query={filter}sys_id>{after}^ORDERBYsys_id"
                ))
                .args(["--data-urlencode", &format!("sysparm_fields={fields}")])
                .args([
                    "--data-urlencode",
                    "sysparm_limit=10000",
                    "--data-urlencode",
                    "sysparm_exclude_reference_link=true",
                    "--data-urlencode",
                    "sysparm_no_count=true",
                ])
                .output()
                .expect("curl runs");
            requests += 1;
            assert!(
                out.status.success(),
                "curl: {}",
                String::from_utf8_lossy(&out.stderr)
            );
            let body: serde_json::Value = serde_json::from_slice(&out.stdout).expect("JSON");
            let page = body["result"].as_array().expect("result");
            rows += page.len();
            match page.last().and_then(|r| r["sys_id"].as_str()) {
                Some(last) if page.len() == 10_000 => after = last.to_string(),
                _ => break,
            }
        }
    }
    (rows, requests)
}

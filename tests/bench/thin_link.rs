//! A thin link: the agent `demo` syncs through the test proxy throttled to
//! 64 kbit/s with a 300 ms round trip (issue #9). Measured: how long until
//! the agent's own open cases are usable after a first sync starts, the
//! whole first sync, an incremental sync after cases changed on the
//! back-end, and an idle sync; each with its requests and bytes, beside the
//! physical floor of the same exchange on that link (its bytes at the link's
//! rate plus one round trip per request), computed in the same run from the
//! proxy's counts.
//!
//!   cargo bench --bench thin_link
//!   GUICHET_BENCH_CASES=20000 GUICHET_BENCH_CHANGED=50 cargo bench --bench thin_link
//!
//! GUICHET_BENCH_KBITS and GUICHET_BENCH_RTT_MS change the link (64, 300).

use std::process::Stdio;
use std::time::{Duration, Instant};

use serde_json::{Value, json};

use support::agent::Agent;
use support::bench::{env_number, listing};
use support::client::CASES;
use support::proxy::{FaultProxy, Link, Stats};
use support::server;

/// How often another process looks at the agent's store during the first sync.
const POLL: Duration = Duration::from_millis(100);

fn main() {
    if listing() {
        return;
    }
    let cases = env_number("GUICHET_BENCH_CASES", 2_000);
    let changed = env_number("GUICHET_BENCH_CHANGED", 50);
    let link = Link {
        bits_per_second: env_number("GUICHET_BENCH_KBITS", 64) as u64 * 1_000,
        round_trip: Duration::from_millis(env_number("GUICHET_BENCH_RTT_MS", 300) as u64),
    };
    let runtime = tokio::runtime::Runtime::new().expect("runtime");
    let started = Instant::now();
    let server = server::start(cases as u32, &[]);
    println!(
        "server seeded with {cases} cases in {:.1} s; link {} kbit/s, {} ms round trip",
        started.elapsed().as_secs_f64(),
        link.bits_per_second / 1_000,
        link.round_trip.as_millis()
    );
    let proxy = runtime.block_on(FaultProxy::start_throttled(server.address(), link));

    // What the back-end holds for the agent: the console's "mine" view (its
    // cases in an open stage: new, open, awaiting info), counted by the
    // server itself.
    let demo = server.client("demo");
    let own = runtime.block_on(async {
        let me = demo.user_id("demo").await;
        let reply = demo
            .list(
                CASES,
                &[
                    (
                        "sysparm_query",
                        format!("stateIN1,10,18^assigned_to={me}").as_str(),
                    ),
                    ("sysparm_fields", "sys_id"),
                    ("sysparm_limit", "1"),
                ],
            )
            .await
            .expect(200);
        reply
            .header("X-Total-Count")
            .and_then(|n| n.parse::<usize>().ok())
            .expect("X-Total-Count")
    });
    println!("the back-end holds {own} open cases assigned to demo");
    assert!(own > 0, "demo has no open case at this size");

    let agent = Agent::login(&proxy.url, "demo");

    // First sync, with another process reading the store until it lists the
    // agent's own open cases (the store is shared; reads do not wait for the
    // sync).
    let before = proxy.stats();
    let started = Instant::now();
    let sync = agent
        .command(&["sync", "--json"])
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("spawn guichet sync");
    // Its output is read to the end on a thread of its own, so that a full pipe never stalls it.
    let sync = std::thread::spawn(move || sync.wait_with_output());
    let mut usable: Option<(Duration, Stats)> = None;
    let mut polls = 0;
    let mut polling = Duration::ZERO;
    loop {
        if usable.is_none() {
            polls += 1;
            let poll = Instant::now();
            // The time taken is when the poll that saw them ended: late by at most one poll
            // and one interval, never early.
            if mine(&agent) == Some(own) {
                usable = Some((started.elapsed(), proxy.stats()));
            }
            polling += poll.elapsed();
        }
        if sync.is_finished() {
            break;
        }
        std::thread::sleep(POLL);
    }
    let output = sync
        .join()
        .expect("the sync's thread")
        .expect("guichet sync");
    let first = started.elapsed();
    let after = proxy.stats();
    assert!(
        output.status.success(),
        "first sync failed: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    let report: Value = serde_json::from_slice(&output.stdout).expect("sync --json");
    // A working set stored in the last moments of the sync is seen by the
    // poll after it.
    if usable.is_none() && mine(&agent) == Some(own) {
        usable = Some((first, after.clone()));
    }
    let (usable_at, usable_stats) = usable.unwrap_or_else(|| {
        let out = agent.run(MINE);
        panic!(
            "the agent's own cases never showed up: {:?} cases listed, {own} expected; {out:?}",
            mine(&agent)
        )
    });
    println!(
        "first sync: {} cases in {:.1} s; own cases usable after {:.1} s (seen by the last of {polls} polls, every {} ms, each {:.0} ms on average)",
        report["report"]["pull"]["cases_changed"],
        first.as_secs_f64(),
        usable_at.as_secs_f64(),
        POLL.as_millis(),
        polling.as_secs_f64() * 1e3 / f64::from(polls.max(1))
    );
    let mut rows = vec![
        Row::new(
            format!("first sync: the agent's {own} open cases usable"),
            usable_at,
            &before,
            &usable_stats,
        ),
        Row::new(
            format!(
                "first sync, whole ({} cases)",
                report["report"]["pull"]["cases_changed"]
            ),
            first,
            &before,
            &after,
        ),
    ];

    // Cases changed on the back-end by the supervisor: half the agent's
    // own (their timelines come along), the rest among the open cases it
    // holds (a closed case cannot be updated).
    let mut numbers = agent.numbers("mine", changed / 2);
    for number in agent.numbers("open", changed * 2) {
        if numbers.len() >= changed {
            break;
        }
        if !numbers.contains(&number) {
            numbers.push(number);
        }
    }
    let supervisor = server.client("superviseur");
    runtime.block_on(async {
        for (i, number) in numbers.iter().enumerate() {
            let case = supervisor.find_case(&format!("number={number}")).await;
            let id = case["sys_id"].as_str().expect("sys_id");
            supervisor
                .patch(
                    &format!("{CASES}/{id}"),
                    json!({"comments": format!("Pièce reçue au guichet ({i}), dossier complet.")}),
                )
                .await
                .expect(200);
        }
    });
    let before = proxy.stats();
    let started = Instant::now();
    let report = agent.json(&["sync", "--json"]);
    let incremental = started.elapsed();
    let after = proxy.stats();
    let received = &report["report"]["pull"]["cases_changed"];
    println!(
        "incremental sync: {received} cases changed of {} patched, {:.1} s",
        numbers.len(),
        incremental.as_secs_f64()
    );
    rows.push(Row::new(
        format!("incremental sync, {} cases changed", numbers.len()),
        incremental,
        &before,
        &after,
    ));

    let before = proxy.stats();
    let started = Instant::now();
    agent.ok(&["sync"]);
    let idle = started.elapsed();
    let after = proxy.stats();
    rows.push(Row::new(
        "idle sync, nothing changed".into(),
        idle,
        &before,
        &after,
    ));

    println!();
    println!(
        "{cases} demo cases, {} kbit/s, {} ms round trip. Floor: every byte (both ways) at the link's rate plus one round trip per request, one request at a time (the sync sends up to 4 at once, so it can beat this floor); bytes are HTTP bytes counted by the proxy.",
        link.bits_per_second / 1_000,
        link.round_trip.as_millis()
    );
    println!();
    println!(
        "| what | time | requests | bytes down / up | wire floor (bytes only) | floor with round trips | time / floor |"
    );
    println!("|---|---|---|---|---|---|---|");
    for row in &rows {
        let bytes_only = link.transmit(row.down + row.up);
        let floor = link.floor(row.down + row.up, row.requests);
        println!(
            "| {} | {:.2} s | {} | {} / {} | {:.2} s | {:.2} s | ×{:.2} |",
            row.what,
            row.time.as_secs_f64(),
            row.requests,
            thousands(row.down),
            thousands(row.up),
            bytes_only.as_secs_f64(),
            floor.as_secs_f64(),
            row.time.as_secs_f64() / floor.as_secs_f64()
        );
    }
    println!();
    for row in &rows {
        let floor = link.floor(row.down + row.up, row.requests);
        println!(
            "SUMMARY|thin_link ({cases} cases, {} kbit/s, {} ms)|{}|{:.2} s, {} requests, {} bytes|×{:.2} the link's floor ({:.2} s)",
            link.bits_per_second / 1_000,
            link.round_trip.as_millis(),
            row.what,
            row.time.as_secs_f64(),
            row.requests,
            thousands(row.down + row.up),
            row.time.as_secs_f64() / floor.as_secs_f64(),
            floor.as_secs_f64()
        );
    }
}

/// One measured exchange, with the proxy's counts over it.
struct Row {
    what: String,
    time: Duration,
    requests: u64,
    down: u64,
    up: u64,
}

impl Row {
    fn new(what: String, time: Duration, before: &Stats, after: &Stats) -> Row {
        Row {
            what,
            time,
            requests: after.requests - before.requests,
            down: after.bytes_to_client - before.bytes_to_client,
            up: after.bytes_from_client - before.bytes_from_client,
        }
    }
}

/// The agent's own open cases, listed from its store without the network.
const MINE: &[&str] = &[
    "--offline",
    "cases",
    "--view",
    "mine",
    "--limit",
    "1000000",
    "--json",
];

/// How many open cases the agent's store lists as its own, read offline by
/// another process; None while the store cannot be read yet.
fn mine(agent: &Agent) -> Option<usize> {
    let output = agent
        .command(MINE)
        .stdin(Stdio::null())
        .stderr(Stdio::null())
        .output()
        .ok()?;
    if !output.status.success() {
        return None;
    }
    let list: Value = serde_json::from_slice(&output.stdout).ok()?;
    list.as_array().map(Vec::len)
}

/// 1234567 -> "1,234,567".
fn thousands(n: u64) -> String {
    let digits = n.to_string();
    let mut out = String::new();
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(c);
    }
    out
}

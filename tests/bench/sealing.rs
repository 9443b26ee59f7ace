//! What encryption at rest costs: the same work on a sealed store and on a
//! plain one (`encrypt_store = false`), in the same run, against the same
//! `guichet serve`, taking turns so that the machine's noise falls on both:
//! a full sync, local queries, and a command's start-up (open the store,
//! read one page of cases, exit).
//!
//!   cargo bench --bench sealing
//!   GUICHET_BENCH_CASES=100000 cargo bench --bench sealing

use std::time::{Duration, Instant};

use guichet::domain::search::{Search, View};
use guichet::store::Sort;

use support::agent::Agent;
use support::bench::{env_number, listing, spread};
use support::server;

fn seconds(d: Duration) -> f64 {
    d.as_secs_f64()
}

fn main() {
    if listing() {
        return;
    }
    let cases = env_number("GUICHET_BENCH_CASES", 20_000);
    let rounds = env_number("GUICHET_BENCH_ROUNDS", 2);
    let started = Instant::now();
    let server = server::start(cases as u32, &[]);
    println!(
        "server seeded with {cases} cases in {:.1} s",
        seconds(started.elapsed())
    );
    let plain_setting = [("encrypt_store", toml::Value::Boolean(false))];

    // Full syncs, taking turns: a fresh agent each time (a first sync).
    let mut sealed_syncs = Vec::new();
    let mut plain_syncs = Vec::new();
    let (mut sealed_agent, mut plain_agent) = (None, None);
    for round in 0..rounds {
        for sealed in [round % 2 == 0, round % 2 != 0] {
            let settings: &[(&str, toml::Value)] = if sealed { &[] } else { &plain_setting };
            let agent = Agent::login_with(&server.url, "superviseur", Some("en"), settings);
            agent.keep_cases_for(Some(36_500));
            let started = Instant::now();
            agent.ok(&["sync"]);
            let took = started.elapsed();
            if sealed {
                sealed_syncs.push(took);
            } else {
                plain_syncs.push(took);
            }
            let header = std::fs::read(agent.store_path()).expect("store");
            assert_eq!(
                &header[..16] != b"SQLite format 3\0",
                sealed,
                "the store is as asked"
            );
            if sealed {
                sealed_agent = Some(agent);
            } else {
                plain_agent = Some(agent);
            }
        }
    }
    let (Some(sealed), Some(plain)) = (sealed_agent, plain_agent) else {
        panic!("no rounds: GUICHET_BENCH_ROUNDS is 0")
    };
    println!("| what | sealed | plain | sealed/plain |");
    println!("|---|---|---|---|");
    let row = |what: &str, s: Duration, p: Duration| {
        println!(
            "| {what} | {:.3} s | {:.3} s | {:.2} |",
            seconds(s),
            seconds(p),
            seconds(s) / seconds(p)
        );
        // The line compare.sh gathers into its summary table.
        println!(
            "SUMMARY|sealing|{what}|sealed {:.3} s, plain {:.3} s|sealed/plain = {:.2}",
            seconds(s),
            seconds(p),
            seconds(s) / seconds(p)
        );
    };
    let (s, _, _) = spread(sealed_syncs.clone());
    let (p, _, _) = spread(plain_syncs.clone());
    row(
        &format!("full sync of {cases} cases (median of {rounds})"),
        s,
        p,
    );

    // Local queries, through the store as the console runs them.
    let queries: [(&str, Search); 3] = [
        (
            "open cases, first page",
            Search::default().with(View::Open.filters()),
        ),
        ("word 'martin'", Search::parse("martin").expect("query")),
        (
            "'passepirt' (typo)",
            Search::parse("passepirt").expect("query"),
        ),
    ];
    let sealed_store = sealed.open_store();
    let plain_store = plain.open_store();
    for (what, search) in &queries {
        let mut times = (Vec::new(), Vec::new());
        for _ in 0..15 {
            for (store, into) in [(&sealed_store, &mut times.0), (&plain_store, &mut times.1)] {
                let started = Instant::now();
                store
                    .search_page(search, Sort::Urgency, false, (0, 60), true)
                    .expect("search");
                into.push(started.elapsed());
            }
        }
        let (s, _, _) = spread(times.0);
        let (p, _, _) = spread(times.1);
        row(&format!("local query: {what} (median of 15)"), s, p);
    }
    // The intake form's citizen search (a scan of every known citizen).
    let citizens = sealed_store.citizen_count().unwrap_or(0);
    for typed in ["martin", "0612"] {
        let mut times = (Vec::new(), Vec::new());
        for _ in 0..15 {
            for (store, into) in [(&sealed_store, &mut times.0), (&plain_store, &mut times.1)] {
                let started = Instant::now();
                store.find_citizens(typed, 5).expect("citizens");
                into.push(started.elapsed());
            }
        }
        let (s, _, _) = spread(times.0);
        let (p, _, _) = spread(times.1);
        row(
            &format!("intake: citizens matching '{typed}' among {citizens} (median of 15)"),
            s,
            p,
        );
    }
    drop((sealed_store, plain_store));

    // Start-up: a whole command that opens the store and reads one page.
    let mut times = (Vec::new(), Vec::new());
    for _ in 0..15 {
        for (agent, into) in [(&sealed, &mut times.0), (&plain, &mut times.1)] {
            let started = Instant::now();
            agent.ok(&["--offline", "cases", "--limit", "20"]);
            into.push(started.elapsed());
        }
    }
    let (s, _, _) = spread(times.0);
    let (p, _, _) = spread(times.1);
    row(
        "start-up: `guichet --offline cases --limit 20` (median of 15)",
        s,
        p,
    );
    let size = |agent: &Agent| {
        std::fs::metadata(agent.store_path())
            .map(|m| m.len())
            .unwrap_or(0) as f64
            / 1048576.0
    };
    println!(
        "| store file | {:.1} MiB | {:.1} MiB | {:.2} |",
        size(&sealed),
        size(&plain),
        size(&sealed) / size(&plain)
    );
}

//! Exactly once through a hostile network: connections reset after the
//! server applied the request, 5xx bursts, 429 with Retry-After, delays and
//! truncated answers, with and without the server's extensions.

use std::time::Duration;

use support::agent::Agent;
use support::proxy::{Fault, FaultProxy};
use support::server::start;

fn hostile() -> Vec<Fault> {
    vec![
        Fault::ResetAfterUpstream,
        Fault::Pass,
        Fault::Status(502),
        Fault::ResetAfterUpstream,
        Fault::TooManyRequests {
            retry_after_secs: 1,
        },
        Fault::TruncateBody,
        Fault::Delay(Duration::from_millis(150)),
        Fault::Status(503),
        Fault::Pass,
        Fault::ResetBeforeUpstream,
        Fault::ResetAfterUpstream,
        Fault::Status(500),
        Fault::TruncateBody,
    ]
}

/// Returns how many actions a read-back found already applied.
async fn exactly_once_through_faults(extra: &[&str]) -> u64 {
    let server = start(60, extra);
    let proxy = FaultProxy::start(server.address()).await;
    let agent = Agent::login(&proxy.url, "demo");
    agent.ok(&["sync"]);
    let cases = agent.numbers("open", 10);
    let expected = agent.queue_work(&cases, 3, "2");

    // Writes meet the hostile list in turn; every request (reads, tokens)
    // meets a second copy of it too.
    for _ in 0..3 {
        proxy.schedule_writes(hostile());
    }
    proxy.schedule(hostile());
    agent.sync_until_drained(80);
    let all = agent.json(&["--offline", "queue", "--all", "--json"]);
    let found_applied = all
        .as_array()
        .unwrap()
        .iter()
        .filter(|e| e["settled_by"] == "read_back")
        .count() as u64;
    assert!(proxy.stats().faults >= 20, "{:?}", proxy.stats());
    // Writes were hit: some actions needed more than one send or a read-back.
    assert!(
        all.as_array()
            .unwrap()
            .iter()
            .any(|e| e["attempts"].as_u64() > Some(1) || e["settled_by"] == "read_back"),
        "no write met a fault"
    );

    let boss = server.client("superviseur");
    for number in &cases {
        let texts = boss.journal_texts(number).await;
        for (_, text) in expected.iter().filter(|(n, _)| n == number) {
            assert_eq!(
                texts.iter().filter(|t| *t == text).count(),
                1,
                "{text} on {number}"
            );
        }
        let case = boss.find_case(&format!("number={number}")).await;
        assert_eq!(case["priority"], "2");
    }
    found_applied
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn with_idempotency_keys() {
    exactly_once_through_faults(&[]).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn without_extensions_through_read_back() {
    // Resets after the server applied a write: read back, not re-sent.
    assert!(exactly_once_through_faults(&["--no-extensions"]).await > 0);
}

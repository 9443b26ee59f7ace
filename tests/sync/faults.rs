//! Exactly once through a hostile network: connections reset after the
//! server applied the request, 5xx bursts, 429 with Retry-After, delays and
//! truncated answers, with and without the server's extensions.

use std::time::Duration;

use support::agent::synced_through_proxy;
use support::proxy::Fault;

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
    let (server, proxy, agent) = synced_through_proxy(60, extra, "demo").await;
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
    boss.assert_landed_once(&cases, &expected, Some("2")).await;
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

/// How many actions the sized run queues: `GUICHET_FAULTS_ACTIONS` (120 by
/// default; the full run is 10,000).
fn actions_at_scale() -> usize {
    std::env::var("GUICHET_FAULTS_ACTIONS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(120)
}

/// What each write meets, drawn at the rates: 30% of connections
/// reset after the server applied the request, 20% answered 5xx, 5% held
/// 2 s, 5% cut short; the rest pass.
fn drawn_faults(dice: &mut support::chaos::Dice, count: usize) -> Vec<Fault> {
    (0..count)
        .map(|_| match dice.below(100) {
            0..30 => Fault::ResetAfterUpstream,
            30..50 => Fault::Status([500, 502, 503][dice.below(3) as usize]),
            50..55 => Fault::Delay(Duration::from_secs(2)),
            55..60 => Fault::TruncateBody,
            _ => Fault::Pass,
        })
        .collect()
}

/// Many actions on many cases through the drawn faults: each comment lands
/// once and in its case's order, and each case ends at its last priority.
async fn exactly_once_and_in_order_at_scale(extra: &[&str]) {
    let actions = actions_at_scale();
    let per_case = 10;
    let cases_wanted = actions.div_ceil(per_case);
    let (server, proxy, agent) =
        synced_through_proxy((cases_wanted * 4).max(200) as u32, extra, "superviseur").await;
    let cases = agent.numbers("open", cases_wanted);
    assert_eq!(cases.len(), cases_wanted, "enough open cases");
    // Queued straight into the store, as the console does (a process per
    // action would take longer than the run itself).
    let mut comments: Vec<Vec<String>> = vec![Vec::new(); cases.len()];
    let mut last_priority = vec![None; cases.len()];
    {
        let mut store = agent.open_store();
        for i in 0..actions {
            let c = i % cases.len();
            let action = if i % per_case == per_case - 1 {
                let priority = (i / cases.len() % 4) as u8 + 1;
                last_priority[c] = Some(priority);
                guichet::domain::Action::Priority { priority }
            } else {
                let text = format!("Réponse {i} au dossier {}", cases[c]);
                comments[c].push(text.clone());
                guichet::domain::Action::Comment { text }
            };
            store.enqueue(&cases[c], action).expect("queued");
        }
    }
    let mut dice = support::chaos::Dice::new();
    proxy.schedule_writes(drawn_faults(&mut dice, actions * 3));
    agent.sync_until_drained(actions * 2 + 50);
    assert!(
        proxy.stats().faults > (actions / 4) as u64,
        "{:?}",
        proxy.stats()
    );

    let boss = server.client("superviseur");
    for (c, number) in cases.iter().enumerate() {
        let ours: Vec<String> = boss
            .journal_texts(number)
            .await
            .into_iter()
            .filter(|t| t.starts_with("Réponse "))
            .collect();
        assert_eq!(ours, comments[c], "each once, in order, on {number}");
        if let Some(priority) = last_priority[c] {
            let case = boss.find_case(&format!("number={number}")).await;
            assert_eq!(case["priority"], priority.to_string(), "{number}");
        }
    }
}

/// `GUICHET_FAULTS_ACTIONS=10000 cargo test --test sync faults::at_scale` (both modes side by side)
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn at_scale_with_idempotency_keys() {
    exactly_once_and_in_order_at_scale(&[]).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn at_scale_without_extensions() {
    exactly_once_and_in_order_at_scale(&["--no-extensions"]).await;
}

/// A failed write ends its group of requests, and the actions of the window
/// not sent yet go back to waiting exactly as they were: the same sync then
/// sends each of them once, none is left "sending" or in doubt (the refused
/// one goes again in the sync's second push round).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn actions_not_sent_after_a_failure_go_back_untouched() {
    let (_server, proxy, agent) = synced_through_proxy(60, &[], "superviseur").await;
    let cases = agent.numbers("open", 10);
    for number in &cases {
        agent.ok(&[
            "--offline",
            "comment",
            number,
            &format!("Réponse pour {number}"),
        ]);
    }
    proxy.schedule_writes([Fault::Status(503)]);
    agent.ok(&["sync"]);
    let all = agent.json(&["--offline", "queue", "--all", "--json"]);
    let all = all.as_array().unwrap();
    // The sync's second push round sends the refused one again.
    assert!(all.iter().all(|e| e["state"] == "done"), "{all:?}");
    let attempts: Vec<u64> = all
        .iter()
        .map(|e| e["attempts"].as_u64().unwrap())
        .collect();
    assert_eq!(
        attempts.iter().filter(|a| **a == 2).count(),
        1,
        "only the refused one was sent twice; the others never taken for sent: {attempts:?}"
    );
    for done in all {
        assert!(done["attempts"].as_u64() <= Some(2), "{done}");
        assert_eq!(done["settled_by"], "sent", "{done}");
    }
}

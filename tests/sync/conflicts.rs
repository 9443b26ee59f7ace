//! Two agents change the same case offline: the second is shown a
//! conflict, never applied over the first; each way of resolving works.
//! Against a server with conditional writes and against one without.

use support::agent::Agent;
use support::client::s;
use support::server::start;

fn priority_of(agent: &Agent, number: &str) -> u64 {
    agent.json(&["--offline", "case", number, "--json"])["priority"]
        .as_u64()
        .unwrap()
}

async fn conflicts_are_surfaced_and_resolved(extra: &[&str]) {
    let server = start(80, extra);
    let boss = server.client("superviseur");
    let group = boss.group_id("Titres").await;
    let number = s(&boss
        .find_case(&format!("assignment_group={group}^state=10"))
        .await["number"])
    .to_string();
    let first = Agent::login(&server.url, "demo");
    let second = Agent::login(&server.url, "titres");
    first.ok(&["sync"]);
    second.ok(&["sync"]);

    // Both change the priority offline; the first to sync wins the race.
    first.ok(&["--offline", "priority", &number, "1"]);
    second.ok(&["--offline", "priority", &number, "3"]);
    first.ok(&["sync"]);
    let report = second.json(&["sync", "--json"]);
    assert_eq!(report["report"]["push"]["conflicts"], 1, "{report}");
    let server_case = boss.find_case(&format!("number={number}")).await;
    assert_eq!(
        s(&server_case["priority"]),
        "1",
        "not applied over the first"
    );
    let held = second.queue();
    assert_eq!(held.len(), 1);
    assert_eq!(held[0]["state"], "conflict");
    assert_eq!(
        priority_of(&second, &number),
        1,
        "theirs is shown while undecided"
    );

    // Theirs: the change is dropped.
    let id = held[0]["id"].as_str().unwrap().to_string();
    second.ok(&["queue", "resolve", &id, "--theirs"]);
    assert!(second.queue().is_empty());
    second.ok(&["sync"]);
    assert_eq!(
        s(&boss.find_case(&format!("number={number}")).await["priority"]),
        "1"
    );

    // Again, and this time mine: applied over theirs, knowingly.
    first.ok(&["--offline", "priority", &number, "2"]);
    second.ok(&["--offline", "priority", &number, "4"]);
    first.ok(&["sync"]);
    second.ok(&["sync"]);
    let held = second.queue();
    assert_eq!(held[0]["state"], "conflict");
    second.ok(&[
        "queue",
        "resolve",
        held[0]["seq"].to_string().as_str(),
        "--mine",
    ]);
    second.ok(&["sync"]);
    assert_eq!(
        s(&boss.find_case(&format!("number={number}")).await["priority"]),
        "4"
    );
    assert!(second.queue().is_empty());

    // An action made online on a stale copy says so at once (exit 4).
    first.ok(&["sync"]);
    first.ok(&["priority", &number, "1"]);
    let stale = second.run(&["priority", &number, "3"]).expect(4);
    assert!(stale.stderr.contains("conflict"), "{}", stale.stderr);

    // Comments never conflict: both land.
    first.ok(&["--offline", "comment", &number, "Réponse du premier agent"]);
    second.ok(&["--offline", "comment", &number, "Réponse du second agent"]);
    second.ok(&[
        "queue",
        "drop",
        second.queue()[0]["id"].as_str().unwrap(),
        "--yes",
    ]);
    first.ok(&["sync"]);
    second.ok(&["sync"]);
    let texts = boss.journal_texts(&number).await;
    assert!(texts.contains(&"Réponse du premier agent".to_string()));
    assert!(texts.contains(&"Réponse du second agent".to_string()));
}

#[tokio::test]
async fn with_conditional_writes() {
    conflicts_are_surfaced_and_resolved(&[]).await;
}

#[tokio::test]
async fn without_extensions_like_a_real_servicenow() {
    conflicts_are_surfaced_and_resolved(&["--no-extensions"]).await;
}

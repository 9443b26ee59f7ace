//! Login, sync, list, every action applied and visible on the server; an
//! incremental sync asks only for what changed.

use serde_json::json;

use support::agent::Agent;
use support::client::{CASES, Client, s};
use support::proxy::FaultProxy;
use support::server::start;

async fn case_by_number(boss: &Client, number: &str) -> serde_json::Value {
    boss.find_case(&format!("number={number}")).await
}

#[tokio::test]
async fn every_action_is_applied_on_the_server() {
    let server = start(60, &[]);
    let boss = server.client("superviseur");
    let agent = Agent::login(&server.url, "demo");
    assert!(agent.ok(&["sync"]).contains("synced"));
    assert_eq!(
        agent.numbers("all", 500).len(),
        60,
        "every case the demo agent sees"
    );

    let new = s(&boss.find_case("state=1").await["number"]).to_string();
    assert!(agent.ok(&["take", &new]).starts_with("applied"));
    let demo = boss.user_id("demo").await;
    let case = case_by_number(&boss, &new).await;
    assert_eq!(s(&case["assigned_to"]["value"]), demo);
    assert_eq!(s(&case["state"]), "10", "taking a new case opens it");

    agent.ok(&["comment", &new, "Bonjour, votre dossier est complet."]);
    agent.ok(&["note", &new, "Pièces vérifiées au guichet."]);
    agent.ok(&["priority", &new, "2"]);
    let case = case_by_number(&boss, &new).await;
    assert_eq!(s(&case["priority"]), "2");
    let journal = boss.journal(s(&case["sys_id"])).await;
    for (element, text) in [
        ("comments", "Bonjour, votre dossier est complet."),
        ("work_notes", "Pièces vérifiées au guichet."),
    ] {
        let found = journal
            .iter()
            .filter(|e| s(&e["element"]) == element && s(&e["value"]) == text)
            .count();
        assert_eq!(found, 1, "{element}");
    }

    agent.ok(&["state", &new, "awaiting_info"]);
    agent.ok(&["state", &new, "Open"]);
    agent.ok(&[
        "state",
        &new,
        "resolved",
        "--code",
        "granted",
        "--notes",
        "Titre remis en main propre.",
    ]);
    let case = case_by_number(&boss, &new).await;
    assert_eq!(
        (s(&case["state"]), s(&case["resolution_code"])),
        ("6", "granted")
    );

    let other = s(&boss.find_case("state=10").await["number"]).to_string();
    agent.ok(&["assign", &other, "--group", "Accueil"]);
    let case = case_by_number(&boss, &other).await;
    let groups = boss
        .list(
            "/api/now/table/sys_user_group",
            &[("sysparm_query", "name=Accueil")],
        )
        .await
        .expect(200);
    assert_eq!(
        s(&case["assignment_group"]["value"]),
        s(&groups.rows()[0]["sys_id"])
    );
    assert_eq!(
        s(&case["assigned_to"]),
        "",
        "a case sent to a group waits in its queue"
    );
    agent.ok(&["assign", &other, "--to", "accueil"]);
    let case = case_by_number(&boss, &other).await;
    assert_eq!(
        s(&case["assigned_to"]["value"]),
        boss.user_id("accueil").await
    );

    // The local store shows what the server holds, offline.
    let shown = agent.json(&["--offline", "case", &new, "--json"]);
    assert_eq!(shown["state"], "6");
    assert_eq!(shown["state_label"], "Resolved");
    assert!(
        shown["timeline"]
            .as_array()
            .unwrap()
            .iter()
            .any(|e| e["text"] == "Bonjour, votre dossier est complet.")
    );
    assert!(agent.queue().is_empty(), "nothing left waiting");
}

// Multi-threaded: the proxy runs on this runtime while the agent's commands
// block a thread.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_incremental_sync_fetches_only_what_changed() {
    let server = start(300, &[]);
    let proxy = FaultProxy::start(server.address()).await;
    let agent = Agent::login(&proxy.url, "superviseur");
    let first = agent.json(&["sync", "--json"]);
    assert_eq!(first["report"]["pull"]["cases_changed"], 300);

    let before = proxy.stats();
    let idle = agent.json(&["sync", "--json"]);
    let after = proxy.stats();
    assert_eq!(idle["report"]["pull"]["cases_changed"], 0);
    // The OAuth session is kept in the keyring between commands: one query.
    assert_eq!(
        after.requests - before.requests,
        1,
        "one small request when nothing changed"
    );
    let idle_bytes = after.bytes_to_client - before.bytes_to_client;
    assert!(idle_bytes < 4_000, "{idle_bytes} bytes for an idle sync");

    let boss = server.client("superviseur");
    let some = boss
        .list(
            CASES,
            &[("sysparm_query", "state=10"), ("sysparm_limit", "3")],
        )
        .await
        .expect(200);
    assert_eq!(some.rows().len(), 3, "cases to change");
    for case in some.rows() {
        boss.patch(
            &format!("{CASES}/{}", s(&case["sys_id"])),
            json!({"priority": "1", "work_notes": "relance"}),
        )
        .await
        .expect(200);
    }
    let changed = agent.json(&["sync", "--json"]);
    assert_eq!(changed["report"]["pull"]["cases_changed"], 3);
    assert!(
        changed["report"]["pull"]["cases_received"]
            .as_u64()
            .unwrap()
            <= 6,
        "{changed}"
    );
    for case in some.rows() {
        let local = agent.json(&["--offline", "case", s(&case["number"]), "--json"]);
        assert_eq!(local["priority"], 1);
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_expired_session_is_renewed_without_the_agent() {
    use guichet::backend::Backend;
    use guichet::backend::servicenow::{Schema, ServiceNow, Settings};
    let server = start(10, &["--token-ttl", "1"]);
    let backend = ServiceNow::new(
        Settings::new(&server.url, "demo", "demo"),
        Schema::default(),
    )
    .unwrap();
    assert_eq!(backend.me().await.unwrap().user.user_name, "demo");
    tokio::time::sleep(std::time::Duration::from_millis(1500)).await;
    assert_eq!(
        backend.me().await.unwrap().groups.len(),
        4,
        "renewed and still authorised"
    );
}

#[tokio::test]
async fn cases_that_come_into_reach_without_changing_are_pulled() {
    let server = start(120, &[]);
    let boss = server.client("superviseur");
    let agent = Agent::login(&server.url, "accueil");
    agent.ok(&["sync"]);
    let before = agent.numbers("all", 500).len();
    // The agent joins Titres: its cases did not change, but are now in reach.
    let user = boss.user_id("accueil").await;
    let group = boss.group_id("Titres").await;
    boss.post(
        "/api/now/table/sys_user_grmember",
        json!({"user": user, "group": group}),
    )
    .await
    .expect(201);
    let titres = boss
        .list(
            CASES,
            &[
                ("sysparm_query", &format!("assignment_group={group}")),
                ("sysparm_limit", "500"),
            ],
        )
        .await
        .expect(200);
    let report = agent.json(&["sync", "--reconcile", "--json"]);
    assert_eq!(
        agent.numbers("all", 500).len(),
        before + titres.rows().len(),
        "{report}"
    );
}

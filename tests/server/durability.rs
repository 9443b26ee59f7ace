//! What the server acknowledged survives a kill -9, and restarts keep data.

use serde_json::json;

use support::client::*;
use support::server::*;

#[tokio::test]
async fn acknowledged_writes_survive_a_kill_minus_nine() {
    let server = start(50, &[]);
    let client = server.client("demo");
    let cases = client
        .list(
            CASES,
            &[("sysparm_query", "state=10"), ("sysparm_limit", "10")],
        )
        .await
        .expect(200);
    let ids: Vec<String> = cases
        .rows()
        .iter()
        .map(|c| s(&c["sys_id"]).to_string())
        .collect();
    let mut acknowledged = Vec::new();
    for (i, id) in ids.iter().enumerate() {
        let note = format!("note {i} avant la coupure");
        client
            .patch(
                &format!("{CASES}/{id}"),
                json!({"work_notes": note, "priority": "1"}),
            )
            .await
            .expect(200);
        acknowledged.push((id.clone(), note));
    }
    // SIGKILL straight after the last acknowledgement, then restart on the file.
    let server = server.restart(Some(50), &[]);
    let client = server.client("demo");
    for (id, note) in &acknowledged {
        let journal = client.journal(id).await;
        assert_eq!(
            journal.iter().filter(|e| s(&e["value"]) == note).count(),
            1,
            "{note}"
        );
        let case = client.get(&format!("{CASES}/{id}")).await.expect(200);
        assert_eq!(s(&case.result()["priority"]), "1");
    }
    // The idempotency record survived with its write.
    let total = client
        .list(
            CASES,
            &[("sysparm_no_count", "false"), ("sysparm_limit", "1")],
        )
        .await
        .expect(200);
    assert_eq!(
        total.header("x-total-count"),
        Some("50"),
        "--demo did not reseed a database that holds data"
    );
}

#[tokio::test]
async fn idempotency_records_survive_a_kill_minus_nine() {
    let server = start(20, &[]);
    let client = server.client("demo");
    let case = client.find_case("state=10").await;
    let id = s(&case["sys_id"]).to_string();
    let path = format!("{CASES}/{id}");
    let body = json!({"comments": "Un seul envoi"});
    client
        .send(
            client
                .request(reqwest::Method::PATCH, &path)
                .header("Idempotency-Key", "k1")
                .json(&body),
        )
        .await
        .expect(200);
    let server = server.restart(Some(20), &[]);
    let client = server.client("demo");
    let replay = client
        .send(
            client
                .request(reqwest::Method::PATCH, &path)
                .header("Idempotency-Key", "k1")
                .json(&body),
        )
        .await
        .expect(200);
    assert_eq!(replay.header("idempotent-replayed"), Some("true"));
    let entries = client.journal(&id).await;
    assert_eq!(
        entries
            .iter()
            .filter(|e| s(&e["value"]) == "Un seul envoi")
            .count(),
        1
    );
}

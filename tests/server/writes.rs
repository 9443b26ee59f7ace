//! Creating and updating cases: journal, transitions, bookkeeping, bad bodies.

use reqwest::Method;
use serde_json::json;

use support::client::*;
use support::server::*;

#[tokio::test]
async fn comments_and_work_notes_append_journal_entries() {
    let server = start(40, &[]);
    let client = server.client("demo");
    let case = client.find_case("state=10").await;
    let id = s(&case["sys_id"]).to_string();
    let before: i64 = s(&case["sys_mod_count"]).parse().unwrap();
    let journal_before = client.journal(&id).await.len();

    let reply = client
        .patch(
            &format!("{CASES}/{id}"),
            json!({"comments": "Votre dossier est complet.", "work_notes": "Pièces vérifiées."}),
        )
        .await
        .expect(200);
    let updated = reply.result();
    assert_eq!(
        s(&updated["comments"]),
        "",
        "journal fields read back empty"
    );
    assert_eq!(s(&updated["work_notes"]), "");
    assert_eq!(
        s(&updated["sys_mod_count"]).parse::<i64>().unwrap(),
        before + 1
    );
    assert_eq!(s(&updated["sys_updated_by"]), "demo");

    let journal = client.journal(&id).await;
    assert_eq!(journal.len(), journal_before + 2);
    let added: Vec<(&str, &str)> = journal[journal_before..]
        .iter()
        .map(|e| (s(&e["element"]), s(&e["value"])))
        .collect();
    assert!(
        added.contains(&("comments", "Votre dossier est complet.")),
        "{added:?}"
    );
    assert!(
        added.contains(&("work_notes", "Pièces vérifiées.")),
        "{added:?}"
    );
    for entry in &journal[journal_before..] {
        assert_eq!(s(&entry["sys_created_by"]), "demo");
        assert_eq!(s(&entry["name"]), "sn_customerservice_case");
    }
}

#[tokio::test]
async fn creating_a_case_numbers_it_and_answers_201_with_location() {
    let server = start(20, &[]);
    let client = server.client("accueil");
    let citizen = client
        .post(
            "/api/now/table/csm_consumer",
            json!({"first_name": "Zoé", "last_name": "Lefèvre", "city": "Guéret"}),
        )
        .await
        .expect(201);
    let citizen_id = s(&citizen.result()["sys_id"]).to_string();
    assert_eq!(
        s(&citizen.result()["name"]),
        "Zoé Lefèvre",
        "the name is derived"
    );

    let reply = client
        .post(CASES, json!({"short_description": "Demande d'acte de naissance", "consumer": citizen_id, "contact_type": "walk-in", "comments": "Reçue au guichet."}))
        .await
        .expect(201);
    let case = reply.result().clone();
    let location = reply.header("location").unwrap();
    assert_eq!(
        location,
        format!("{}{CASES}/{}", server.url, s(&case["sys_id"]))
    );
    assert_eq!(reply.header("etag"), Some("\"0\""));
    assert_eq!(s(&case["state"]), "1");
    assert_eq!(s(&case["priority"]), "4");
    assert_eq!(s(&case["active"]), "true");
    assert!(
        s(&case["number"]) > "CS0001020",
        "numbers continue after the demo's"
    );
    assert_eq!(client.journal(s(&case["sys_id"])).await.len(), 1);
    // The citizen just registered is visible to its creator.
    client
        .get(&format!("/api/now/table/csm_consumer/{citizen_id}"))
        .await
        .expect(200);
}

#[tokio::test]
async fn the_case_flow_is_enforced_with_reasons() {
    let server = start(60, &[]);
    let client = server.client("superviseur");
    let new = s(&client.find_case("state=1").await["sys_id"]).to_string();
    let path = format!("{CASES}/{new}");

    let refused = client.patch(&path, json!({"state": "3"})).await.expect(400);
    assert!(
        refused.detail().contains("New → Closed"),
        "{}",
        refused.detail()
    );
    let refused = client.patch(&path, json!({"state": "6"})).await.expect(400);
    assert!(
        refused.detail().contains("resolution_code") && refused.detail().contains("close_notes"),
        "{}",
        refused.detail()
    );
    let refused = client
        .patch(&path, json!({"state": "6", "resolution_code": "granted"}))
        .await
        .expect(400);
    assert!(
        refused.detail().contains("close_notes is missing"),
        "{}",
        refused.detail()
    );
    let refused = client
        .patch(&path, json!({"resolution_code": "approved-ish"}))
        .await
        .expect(400);
    assert!(
        refused.detail().contains("granted"),
        "lists the allowed values: {}",
        refused.detail()
    );

    client
        .patch(&path, json!({"state": "10"}))
        .await
        .expect(200);
    client
        .patch(&path, json!({"state": "18"}))
        .await
        .expect(200);
    client
        .patch(&path, json!({"state": "10"}))
        .await
        .expect(200);
    client
        .patch(
            &path,
            json!({"state": "6", "resolution_code": "granted", "close_notes": "Titre remis."}),
        )
        .await
        .expect(200);
    let closed = client.patch(&path, json!({"state": "3"})).await.expect(200);
    assert_eq!(s(&closed.result()["active"]), "false");
    let refused = client
        .patch(&path, json!({"comments": "encore un mot"}))
        .await
        .expect(400);
    assert!(refused.detail().contains("Closed"), "{}", refused.detail());
    let refused = client
        .post(CASES, json!({"short_description": "x", "state": "3"}))
        .await
        .expect(400);
    assert!(
        refused.detail().contains("cannot start"),
        "{}",
        refused.detail()
    );
}

#[tokio::test]
async fn a_no_op_update_changes_nothing() {
    let server = start(20, &[]);
    let client = server.client("demo");
    let case = client.find_case("state=10").await;
    let path = format!("{CASES}/{}", s(&case["sys_id"]));
    let same = client
        .patch(&path, json!({"state": "10"}))
        .await
        .expect(200);
    assert_eq!(same.result()["sys_mod_count"], case["sys_mod_count"]);
    assert_eq!(same.result()["sys_updated_on"], case["sys_updated_on"]);
}

#[tokio::test]
async fn assignment_checks_membership() {
    let server = start(60, &[]);
    let client = server.client("superviseur");
    let users = client
        .list(
            "/api/now/table/sys_user",
            &[("sysparm_query", "user_nameINaccueil,titres")],
        )
        .await
        .expect(200);
    let id_of = |name: &str| {
        s(&users
            .rows()
            .iter()
            .find(|u| s(&u["user_name"]) == name)
            .unwrap()["sys_id"])
        .to_string()
    };
    let groups = client
        .list(
            "/api/now/table/sys_user_group",
            &[("sysparm_query", "name=Titres")],
        )
        .await
        .expect(200);
    let titres = s(&groups.rows()[0]["sys_id"]).to_string();
    let case = client
        .find_case(&format!("assignment_group={titres}^state=10"))
        .await;
    let path = format!("{CASES}/{}", s(&case["sys_id"]));
    let refused = client
        .patch(&path, json!({"assigned_to": id_of("accueil")}))
        .await
        .expect(400);
    assert!(
        refused.detail().contains("not a member"),
        "{}",
        refused.detail()
    );
    let taken = client
        .patch(&path, json!({"assigned_to": id_of("titres")}))
        .await
        .expect(200);
    assert_eq!(s(&taken.result()["assigned_to"]["value"]), id_of("titres"));
    let refused = client
        .patch(&path, json!({"assigned_to": "f".repeat(32)}))
        .await
        .expect(400);
    assert!(
        refused.detail().contains("does not exist"),
        "{}",
        refused.detail()
    );
}

#[tokio::test]
async fn bad_bodies_get_clear_errors_and_change_nothing() {
    let server = start(20, &[]);
    let client = server.client("demo");
    let case = client.find_case("state=10").await;
    let path = format!("{CASES}/{}", s(&case["sys_id"]));
    let long = format!("{{\"description\": \"{}\"}}", "x".repeat(70 * 1024));
    let cases: [(&str, &str); 7] = [
        (long.as_str(), "longer than 64 KiB"),
        ("{\"state\": ", "not valid JSON"),
        ("[1, 2]", "JSON object"),
        ("{\"state\": \"open\"}", "not a number"),
        ("{\"state\": [10]}", "not a list"),
        ("{\"colour\": \"blue\"}", "unknown field 'colour'"),
        ("{\"number\": \"CS0000001\"}", "set by the server"),
    ];
    for (body, message) in cases {
        let reply = client
            .send(
                client
                    .request(Method::PATCH, &path)
                    .header("Content-Type", "application/json")
                    .body(body.to_string()),
            )
            .await
            .expect(400);
        let shown: String = body.chars().take(40).collect();
        assert!(reply.detail().contains(message), "{shown}: {}", reply.body);
    }
    let reply = client
        .send(
            client
                .request(Method::PATCH, &path)
                .body("{\"state\":\"18\"}"),
        )
        .await
        .expect(400);
    assert!(reply.detail().contains("Content-Type"), "{}", reply.body);
    // A body past the limit is answered 413 before it is read in full; a
    // client still sending may see that answer or a reset instead.
    let huge = format!("{{\"description\": \"{}\"}}", "x".repeat(2 * 1024 * 1024));
    // On a client of its own: the connection it dies with is not pooled.
    let own = client.with_auth(client.auth.clone());
    let own = Client {
        http: support::http_client().build().unwrap(),
        ..own
    };
    let sent = own
        .request(Method::PATCH, &path)
        .header("Content-Type", "application/json")
        .body(huge)
        .send()
        .await;
    if let Ok(response) = sent {
        assert_eq!(response.status(), 413);
    }
    let after = client.get(&path).await.expect(200);
    assert_eq!(
        after.result()["sys_mod_count"],
        case["sys_mod_count"],
        "nothing was applied"
    );
}

#[tokio::test]
async fn no_response_body_when_asked() {
    let server = start(20, &[]);
    let client = server.client("demo");
    let case = client.find_case("state=10").await;
    let path = format!("{CASES}/{}", s(&case["sys_id"]));
    let reply = client
        .send(
            client
                .request(Method::PATCH, &path)
                .header("X-no-response-body", "true")
                .json(&json!({"priority": "2"})),
        )
        .await
        .expect(200);
    assert!(reply.body.is_null());
    let after = client.get(&path).await.expect(200);
    assert_eq!(s(&after.result()["priority"]), "2");
}

#[tokio::test]
async fn state_cannot_be_emptied_and_a_closed_case_keeps_its_resolution() {
    let server = start(40, &[]);
    let client = server.client("superviseur");
    let open = client.find_case("state=10").await;
    let path = format!("{CASES}/{}", s(&open["sys_id"]));
    let refused = client.patch(&path, json!({"state": ""})).await.expect(400);
    assert!(
        refused.detail().contains("cannot be emptied"),
        "{}",
        refused.body
    );
    client
        .patch(
            &path,
            json!({"state": "6", "resolution_code": "granted", "close_notes": "Remis."}),
        )
        .await
        .expect(200);
    let refused = client
        .patch(&path, json!({"state": "3", "close_notes": ""}))
        .await
        .expect(400);
    assert!(refused.detail().contains("close_notes"), "{}", refused.body);
}

#[tokio::test]
async fn an_unreadable_if_match_is_refused_not_ignored() {
    let server = start(10, &[]);
    let client = server.client("demo");
    let case = client.find_case("state=10").await;
    let path = format!("{CASES}/{}", s(&case["sys_id"]));
    let value = reqwest::header::HeaderValue::from_bytes(b"\"\xff\"").unwrap();
    let reply = client
        .send(
            client
                .request(Method::PATCH, &path)
                .header("If-Match", value)
                .json(&json!({"priority": "1"})),
        )
        .await
        .expect(400);
    assert!(
        reply.detail().contains("If-Match") || reply.detail().contains("if-match"),
        "{}",
        reply.body
    );
}

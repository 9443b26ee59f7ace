//! Group-based access: agents see their groups' cases, journal and citizens.

use serde_json::json;

use support::client::*;
use support::server::*;

#[tokio::test]
async fn agents_read_only_their_groups_and_supervisors_read_all() {
    let server = start(200, &[]);
    let boss = server.client("superviseur");
    let accueil = server.client("accueil");
    let all = boss.all_cases("number,assignment_group").await;
    assert_eq!(all.len(), 200);
    let accueil_group = accueil.group_id("Accueil").await;
    let theirs: Vec<_> = all
        .iter()
        .filter(|c| s(&c["assignment_group"]["value"]) == accueil_group)
        .collect();
    let seen = accueil.all_cases("number,assignment_group").await;
    assert_eq!(seen.len(), theirs.len());
    assert!(
        seen.iter()
            .all(|c| s(&c["assignment_group"]["value"]) == accueil_group)
    );
    // The demo agent is in every group.
    assert_eq!(server.client("demo").all_cases("number").await.len(), 200);
}

#[tokio::test]
async fn another_groups_case_is_404_to_read_and_403_to_write() {
    let server = start(100, &[]);
    let accueil = server.client("accueil");
    let boss = server.client("superviseur");
    let titres = boss.group_id("Titres").await;
    let case = boss
        .find_case(&format!("assignment_group={titres}^state=10"))
        .await;
    let id = s(&case["sys_id"]);
    let path = format!("{CASES}/{id}");

    accueil.get(&path).await.expect(404);
    let refused = accueil
        .patch(&path, json!({"comments": "hello"}))
        .await
        .expect(403);
    assert_eq!(refused.body["status"], "failure");
    assert!(
        boss.journal(id)
            .await
            .iter()
            .all(|e| s(&e["value"]) != "hello")
    );

    // Nor its journal, nor its citizen.
    assert!(accueil.journal(id).await.is_empty());
    assert!(!boss.journal(id).await.is_empty() || s(&case["sys_mod_count"]) == "0");
    let citizen = s(&case["consumer"]["value"]);
    let citizen_cases = boss
        .list(
            CASES,
            &[(
                "sysparm_query",
                &format!("consumer={citizen}^assignment_group!={titres}"),
            )],
        )
        .await
        .expect(200);
    if citizen_cases.rows().is_empty() {
        accueil
            .get(&format!("/api/now/table/csm_consumer/{citizen}"))
            .await
            .expect(404);
    }
    // An agent may not open a case for another group.
    let refused = accueil
        .post(
            CASES,
            json!({"short_description": "x", "assignment_group": titres}),
        )
        .await
        .expect(403);
    assert!(refused.detail().contains("own groups"), "{}", refused.body);
}

#[tokio::test]
async fn reference_tables_are_readable_by_all_and_writable_by_supervisors() {
    let server = start(20, &[]);
    let agent = server.client("titres");
    let groups = agent.get("/api/now/table/sys_user_group").await.expect(200);
    assert_eq!(groups.rows().len(), 4);
    let choices = agent
        .list(
            "/api/now/table/sys_choice",
            &[("sysparm_query", "element=state^language=fr^ORDERBYsequence")],
        )
        .await
        .expect(200);
    let labels: Vec<&str> = choices.rows().iter().map(|c| s(&c["label"])).collect();
    assert_eq!(
        labels,
        [
            "Nouveau",
            "Ouvert",
            "En attente d'informations",
            "Résolu",
            "Clos",
            "Annulé"
        ]
    );
    let members = agent
        .get("/api/now/table/sys_user_grmember")
        .await
        .expect(200);
    assert!(members.rows().len() >= 18);
    // Password hashes never leave the server.
    let users = agent.get("/api/now/table/sys_user").await.expect(200);
    assert!(
        users
            .rows()
            .iter()
            .all(|u| u.get("password_hash").is_none())
    );

    agent
        .post("/api/now/table/sys_user_group", json!({"name": "Pirates"}))
        .await
        .expect(403);
    agent
        .post("/api/now/table/sys_journal_field", json!({}))
        .await
        .expect(403);
    server
        .client("superviseur")
        .post(
            "/api/now/table/sys_user_group",
            json!({"name": "Médiation"}),
        )
        .await
        .expect(201);
}

#[tokio::test]
async fn deleting_is_for_supervisors_and_takes_the_journal() {
    let server = start(30, &[]);
    let boss = server.client("superviseur");
    let case = boss.find_case("state=10").await;
    let id = s(&case["sys_id"]).to_string();
    let path = format!("{CASES}/{id}");
    server
        .client("demo")
        .send(
            server
                .client("demo")
                .request(reqwest::Method::DELETE, &path),
        )
        .await
        .expect(403);
    let reply = boss
        .send(boss.request(reqwest::Method::DELETE, &path))
        .await
        .expect(204);
    assert!(reply.body.is_null());
    boss.get(&path).await.expect(404);
    assert!(boss.journal(&id).await.is_empty());
}

#[tokio::test]
async fn an_agent_cannot_reach_another_groups_citizen_through_a_reference() {
    let server = start(120, &[]);
    let boss = server.client("superviseur");
    let titres = server.client("titres");
    let accueil_group = boss.group_id("Accueil").await;
    let titres_group = boss.group_id("Titres").await;
    // A citizen known only to Accueil cases.
    let accueil_cases = boss
        .list(
            CASES,
            &[
                (
                    "sysparm_query",
                    &format!("assignment_group={accueil_group}"),
                ),
                ("sysparm_limit", "200"),
            ],
        )
        .await
        .expect(200);
    let mut outsider = None;
    for case in accueil_cases.rows() {
        let citizen = s(&case["consumer"]["value"]).to_string();
        let elsewhere = boss
            .list(
                CASES,
                &[(
                    "sysparm_query",
                    &format!("consumer={citizen}^assignment_group!={accueil_group}"),
                )],
            )
            .await
            .expect(200);
        if elsewhere.rows().is_empty() {
            outsider = Some(citizen);
            break;
        }
    }
    let outsider = outsider.expect("a citizen with Accueil cases only");
    let mine = boss
        .find_case(&format!("assignment_group={titres_group}^state=10"))
        .await;
    let refused = titres
        .patch(
            &format!("{CASES}/{}", s(&mine["sys_id"])),
            json!({"consumer": outsider}),
        )
        .await
        .expect(400);
    assert!(
        refused.detail().contains("out of your reach"),
        "{}",
        refused.body
    );
    titres
        .get(&format!("/api/now/table/csm_consumer/{outsider}"))
        .await
        .expect(404);
}

#[tokio::test]
async fn the_journal_cannot_be_deleted_even_by_a_supervisor() {
    let server = start(20, &[]);
    let boss = server.client("superviseur");
    let case = boss.find_case("state=10^sys_mod_count>1").await;
    let entry = boss.journal(s(&case["sys_id"])).await.remove(0);
    let path = format!("/api/now/table/sys_journal_field/{}", s(&entry["sys_id"]));
    boss.send(boss.request(reqwest::Method::DELETE, &path))
        .await
        .expect(403);
    boss.get(&path).await.expect(200);
}

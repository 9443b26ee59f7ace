//! Intake at the counter (issue #11), as the client sends it: a citizen
//! registered, then a case opened for them in the agent's group, each POST
//! under an `Idempotency-Key` with the extensions on, or read back by
//! `sys_created_by`/`sys_created_on` and `correlation_id` without them; and
//! the procedure catalogue the form and the receipt read.

use reqwest::Method;
use serde_json::{Value, json};

use guichet::domain::Timestamp;
use support::client::*;
use support::server::*;

const CITIZENS: &str = "/api/now/table/csm_consumer";
const PROCEDURES: &str = "/api/now/table/u_guichet_procedure";

/// A moment shortly before now, as the client writes `sys_created_on`
/// bounds (UTC, `YYYY-MM-DD HH:MM:SS`): the margin covers a clock that
/// drifts a little from the server's.
fn a_minute_ago() -> String {
    Timestamp::from(time::OffsetDateTime::now_utc() - time::Duration::minutes(1)).to_string()
}

fn citizen_body(last_name: &str) -> Value {
    json!({
        "first_name": "Maëlle",
        "last_name": last_name,
        "email": "maelle.guichet@example.fr",
        "mobile_phone": "06 12 34 56 78",
        "street": "3 rue de la Mairie",
        "city": "Guéret",
        "zip": "23000",
    })
}

fn keyed(client: &Client, path: &str, key: &str, body: &Value) -> reqwest::RequestBuilder {
    client
        .request(Method::POST, path)
        .header("Idempotency-Key", key)
        .json(body)
}

/// The rows of `path` matching an encoded query.
async fn matching(client: &Client, path: &str, query: &str) -> Vec<Value> {
    client
        .list(path, &[("sysparm_query", query), ("sysparm_limit", "100")])
        .await
        .expect(200)
        .rows()
        .clone()
}

/// The read-back of a citizen whose creation answer was lost.
fn citizen_read_back(user: &str, since: &str, last_name: &str) -> String {
    format!(
        "sys_created_by={user}^sys_created_on>={since}^first_name=Maëlle^last_name={last_name}^email=maelle.guichet@example.fr"
    )
}

#[tokio::test]
async fn an_agent_registers_a_citizen_then_opens_a_walk_in_case_for_them_in_their_group() {
    let server = start(20, &[]);
    let agent = server.client("accueil");
    let group = agent.group_id("Accueil").await;
    let me = agent.user_id("accueil").await;
    let since = a_minute_ago();

    let citizen = agent
        .post(CITIZENS, citizen_body("Intake"))
        .await
        .expect(201);
    let citizen = citizen.result().clone();
    let citizen_id = s(&citizen["sys_id"]).to_string();
    assert_eq!(s(&citizen["name"]), "Maëlle Intake");
    assert_eq!(s(&citizen["mobile_phone"]), "06 12 34 56 78");
    assert_eq!(s(&citizen["sys_created_by"]), "accueil");
    assert!(s(&citizen["sys_created_on"]) >= since.as_str());

    // Without a case yet, its creator finds it by the read-back query.
    let found = matching(
        &agent,
        CITIZENS,
        &citizen_read_back("accueil", &since, "Intake"),
    )
    .await;
    assert_eq!(found.len(), 1, "{found:?}");
    assert_eq!(s(&found[0]["sys_id"]), citizen_id);

    let action = uuid::Uuid::new_v4().to_string();
    let reply = agent
        .post(
            CASES,
            json!({
                "short_description": "Certificat de résidence pour la CAF",
                "description": "Reçue au guichet, pièces vérifiées.",
                "category": "certificat_residence",
                "contact_type": "walk-in",
                "priority": "3",
                "due_date": "2026-04-01 17:00:00",
                "consumer": citizen_id,
                "assignment_group": group,
                "assigned_to": me,
                "correlation_id": action,
            }),
        )
        .await
        .expect(201);
    let case = reply.result().clone();
    let case_id = s(&case["sys_id"]).to_string();
    assert!(s(&case["number"]).starts_with("CS"), "{case}");
    assert_eq!(s(&case["state"]), "1", "a new case starts New");
    assert_eq!(s(&case["active"]), "true");
    assert!(s(&case["opened_at"]) >= since.as_str(), "{case}");
    assert_eq!(s(&case["sys_created_by"]), "accueil");
    assert_eq!(s(&case["correlation_id"]), action);
    assert_eq!(s(&case["contact_type"]), "walk-in");
    assert_eq!(s(&case["consumer"]["value"]), citizen_id);
    assert!(
        reply
            .header("location")
            .is_some_and(|l| l.ends_with(&case_id))
    );

    // Both are the agent's to read, the citizen now through the case's group;
    // the channel's label is the agent's language's.
    let read = agent
        .list(
            &format!("{CASES}/{case_id}"),
            &[("sysparm_display_value", "all")],
        )
        .await
        .expect(200);
    assert_eq!(
        s(&read.result()["contact_type"]["display_value"]),
        "Guichet"
    );
    assert_eq!(
        s(&read.result()["consumer"]["display_value"]),
        "Maëlle Intake"
    );
    agent
        .get(&format!("{CITIZENS}/{citizen_id}"))
        .await
        .expect(200);

    // The read-back of a case whose answer was lost: by correlation_id.
    let found = matching(&agent, CASES, &format!("correlation_id={action}")).await;
    assert_eq!(found.len(), 1);
    assert_eq!(s(&found[0]["sys_id"]), case_id);
    assert!(
        matching(
            &agent,
            CASES,
            &format!("correlation_id={}", uuid::Uuid::new_v4())
        )
        .await
        .is_empty()
    );
}

#[tokio::test]
async fn a_case_outside_the_agents_groups_or_assigned_outside_its_group_is_refused() {
    let server = start(20, &[]);
    let agent = server.client("accueil");
    let mine = agent.group_id("Accueil").await;
    let theirs = agent.group_id("Titres").await;
    let outsider = agent.user_id("titres").await;
    let citizen = agent
        .post(CITIZENS, citizen_body("Refusée"))
        .await
        .expect(201);
    let citizen_id = s(&citizen.result()["sys_id"]).to_string();
    let case = |group: &str, assignee: Option<&str>| {
        let mut body = json!({
            "short_description": "Passeport",
            "category": "passeport",
            "contact_type": "walk-in",
            "consumer": citizen_id,
            "assignment_group": group,
        });
        if let Some(assignee) = assignee {
            body["assigned_to"] = json!(assignee);
        }
        body
    };

    let refused = agent.post(CASES, case(&theirs, None)).await.expect(403);
    assert!(refused.detail().contains("own groups"), "{}", refused.body);
    assert_eq!(refused.body["status"], "failure");
    let refused = agent
        .post(CASES, case(&mine, Some(&outsider)))
        .await
        .expect(400);
    assert!(
        refused
            .detail()
            .contains("not a member of the assignment group"),
        "{}",
        refused.body
    );
    // Nothing was created, and the citizen is still only its creator's.
    assert!(
        matching(&agent, CASES, &format!("consumer={citizen_id}"))
            .await
            .is_empty()
    );
    let boss = server.client("superviseur");
    assert!(
        matching(&boss, CASES, &format!("consumer={citizen_id}"))
            .await
            .is_empty()
    );
    server
        .client("titres")
        .get(&format!("{CITIZENS}/{citizen_id}"))
        .await
        .expect(404);
}

#[tokio::test]
async fn bad_intake_input_is_a_400_that_says_what_is_wrong() {
    let server = start(20, &[]);
    let agent = server.client("accueil");
    let group = agent.group_id("Accueil").await;
    let base = json!({
        "short_description": "Inscription sur les listes électorales",
        "category": "inscription_electorale",
        "contact_type": "walk-in",
        "assignment_group": group,
    });
    let with = |field: &str, value: Value| {
        let mut body = base.clone();
        if value.is_null() {
            body.as_object_mut().map(|o| o.remove(field));
        } else {
            body[field] = value;
        }
        body
    };
    let cases = [
        (
            with("short_description", Value::Null),
            "a case needs a short_description",
        ),
        (with("short_description", json!("   ")), "short_description"),
        (
            with("category", json!("permis_bateau")),
            "unknown procedure 'permis_bateau'",
        ),
        (
            with("consumer", json!("0123456789abcdef0123456789abcdef")),
            "field 'consumer' refers to csm_consumer",
        ),
        (
            with("contact_type", json!("pigeon")),
            "is not a value of sn_customerservice_case.contact_type",
        ),
        (
            with("correlation_id", json!("x".repeat(101))),
            "at most 100",
        ),
        (with("due_date", json!("demain")), "is not a datetime"),
    ];
    for (body, expected) in cases {
        let refused = agent.post(CASES, body.clone()).await.expect(400);
        assert!(
            refused.detail().contains(expected),
            "{body}: {}",
            refused.body
        );
        assert_eq!(refused.body["status"], "failure", "ServiceNow's shape");
        assert!(refused.body["error"]["message"].is_string());
    }
    let refused = agent
        .post(
            CITIZENS,
            json!({"first_name": "Sans", "email": "x@example.fr"}),
        )
        .await
        .expect(400);
    assert!(refused.detail().contains("last_name"), "{}", refused.body);
    let refused = agent
        .post(CITIZENS, json!({"last_name": "Tel", "phone": "0600000000"}))
        .await
        .expect(400);
    assert!(
        refused.detail().contains("unknown field 'phone'"),
        "the phone column is mobile_phone: {}",
        refused.body
    );
    // None of them left a case behind.
    assert!(
        matching(
            &agent,
            CASES,
            "category=inscription_electorale^sys_created_by=accueil"
        )
        .await
        .is_empty()
    );
    // A correlation_id of exactly 100 characters is taken.
    agent
        .post(CASES, with("correlation_id", json!("x".repeat(100))))
        .await
        .expect(201);
}

#[tokio::test]
async fn a_replayed_idempotency_key_creates_one_citizen_and_one_case_and_answers_the_same() {
    let server = start(20, &[]);
    let agent = server.client("accueil");
    let group = agent.group_id("Accueil").await;
    let since = a_minute_ago();

    let body = citizen_body("Rejouée");
    let first = agent
        .send(keyed(&agent, CITIZENS, "citizen-action-1", &body))
        .await
        .expect(201);
    let again = agent
        .send(keyed(&agent, CITIZENS, "citizen-action-1", &body))
        .await
        .expect(201);
    assert_eq!(first.body, again.body);
    assert_eq!(first.header("location"), again.header("location"));
    assert_eq!(again.header("idempotent-replayed"), Some("true"));
    let citizens = matching(
        &agent,
        CITIZENS,
        &citizen_read_back("accueil", &since, "Rejouée"),
    )
    .await;
    assert_eq!(citizens.len(), 1, "one citizen: {citizens:?}");
    let citizen_id = s(&first.result()["sys_id"]).to_string();

    let action = uuid::Uuid::new_v4().to_string();
    let case = json!({
        "short_description": "Attestation d'accueil",
        "category": "attestation_accueil",
        "contact_type": "walk-in",
        "consumer": citizen_id,
        "assignment_group": group,
        "correlation_id": action,
    });
    let first = agent
        .send(keyed(&agent, CASES, &action, &case))
        .await
        .expect(201);
    let again = agent
        .send(keyed(&agent, CASES, &action, &case))
        .await
        .expect(201);
    assert_eq!(first.body, again.body);
    assert_eq!(again.header("idempotent-replayed"), Some("true"));
    let cases = matching(&agent, CASES, &format!("correlation_id={action}")).await;
    assert_eq!(cases.len(), 1, "one case: {cases:?}");
}

#[tokio::test]
async fn without_extensions_the_same_post_twice_creates_two_and_the_catalogue_is_absent() {
    // A real instance has no Idempotency-Key: a POST whose answer was lost
    // and that is sent again creates a second record. This is why the
    // client reads back (by correlation_id, or by creator, time and names)
    // before it sends a creation again.
    let server = start(20, &["--no-extensions"]);
    let agent = server.client("accueil");
    let group = agent.group_id("Accueil").await;
    let since = a_minute_ago();

    let body = citizen_body("Doublée");
    let one = agent
        .send(keyed(&agent, CITIZENS, "ignored-1", &body))
        .await
        .expect(201);
    let two = agent
        .send(keyed(&agent, CITIZENS, "ignored-1", &body))
        .await
        .expect(201);
    assert!(two.header("idempotent-replayed").is_none());
    assert_ne!(s(&one.result()["sys_id"]), s(&two.result()["sys_id"]));
    let citizens = matching(
        &agent,
        CITIZENS,
        &citizen_read_back("accueil", &since, "Doublée"),
    )
    .await;
    assert_eq!(citizens.len(), 2, "{citizens:?}");

    let action = uuid::Uuid::new_v4().to_string();
    let case = json!({
        "short_description": "Recensement citoyen",
        "category": "recensement",
        "contact_type": "walk-in",
        "consumer": s(&one.result()["sys_id"]),
        "assignment_group": group,
        "correlation_id": action,
    });
    let one = agent
        .send(keyed(&agent, CASES, &action, &case))
        .await
        .expect(201);
    let two = agent
        .send(keyed(&agent, CASES, &action, &case))
        .await
        .expect(201);
    assert_ne!(s(&one.result()["number"]), s(&two.result()["number"]));
    let cases = matching(&agent, CASES, &format!("correlation_id={action}")).await;
    assert_eq!(cases.len(), 2, "correlation_id is stored, not a key");

    // The procedure catalogue is an extension: a real instance has no such table.
    let absent = agent.get(PROCEDURES).await.expect(400);
    let detail = absent.detail();
    assert!(
        detail.starts_with("Invalid table u_guichet_procedure"),
        "{}",
        absent.body
    );
    let served = detail.split("served:").nth(1).unwrap_or_default();
    assert!(
        served.contains("csm_consumer") && !served.contains("u_guichet_procedure"),
        "{detail}"
    );
}

#[tokio::test]
async fn the_procedure_catalogue_lists_every_procedure_with_its_deadline_and_documents() {
    let server = start(20, &[]);
    let agent = server.client("accueil");
    let titres = agent.group_id("Titres").await;
    let procedures = agent
        .list(
            PROCEDURES,
            &[
                ("sysparm_query", "active=true^ORDERBYcode"),
                ("sysparm_display_value", "all"),
            ],
        )
        .await
        .expect(200)
        .rows()
        .clone();
    // The same procedures as the case's category choices.
    let categories = matching(
        &agent,
        "/api/now/table/sys_choice",
        "name=sn_customerservice_case^element=category^language=fr",
    )
    .await;
    assert_eq!(procedures.len(), categories.len());
    assert_eq!(procedures.len(), 20);
    for p in &procedures {
        let code = s(&p["code"]["value"]);
        assert!(
            categories.iter().any(|c| s(&c["value"]) == code),
            "{code} is a category"
        );
        let documents_fr: Vec<&str> = s(&p["documents_fr"]["value"]).lines().collect();
        let documents_en: Vec<&str> = s(&p["documents_en"]["value"]).lines().collect();
        assert!(!documents_fr.is_empty(), "{code}");
        assert_eq!(documents_fr.len(), documents_en.len(), "{code}");
        assert!(s(&p["due_days"]["value"]).parse::<u32>().is_ok(), "{code}");
        assert!(!s(&p["follow_up_fr"]["value"]).is_empty(), "{code}");
        assert!(!s(&p["follow_up_en"]["value"]).is_empty(), "{code}");
        assert!(!s(&p["group"]["display_value"]).is_empty(), "{code}");
    }
    let cni = matching(&agent, PROCEDURES, "code=cni").await;
    let cni = cni.first().expect("the identity card procedure");
    assert_eq!(s(&cni["due_days"]), "30");
    assert_eq!(s(&cni["group"]["value"]), titres);
    assert_eq!(s(&cni["label_fr"]), "Carte nationale d'identité");
    assert!(
        s(&cni["documents_fr"])
            .lines()
            .any(|d| d.starts_with("Photo d'identité conforme")),
        "{cni}"
    );

    // Read-only for agents; a supervisor keeps the catalogue.
    let id = s(&cni["sys_id"]).to_string();
    let refused = agent
        .patch(&format!("{PROCEDURES}/{id}"), json!({"due_days": "10"}))
        .await
        .expect(403);
    assert!(refused.detail().contains("supervisor"), "{}", refused.body);
    agent
        .post(PROCEDURES, json!({"code": "x", "label_fr": "X"}))
        .await
        .expect(403);
    server
        .client("superviseur")
        .patch(&format!("{PROCEDURES}/{id}"), json!({"due_days": "21"}))
        .await
        .expect(200);
}

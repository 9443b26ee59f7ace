//! Group isolation on every table and endpoint: what an agent of one group
//! cannot read, it cannot count, search, order by, reach through a
//! reference or a display value, or obtain by replaying another user's
//! idempotency key.

use std::collections::BTreeSet;

use reqwest::Method;
use serde_json::{Value, json};

use guichet::server::tables::{CASE, CITIZEN, JOURNAL, TABLES};
use support::client::*;
use support::server::*;

/// The tables whose rows belong to groups; every other served table is the
/// directory, readable by every agent. A new table must be placed here or
/// in [`DIRECTORY`] on purpose: the first test fails until it is.
const PRIVATE: [&str; 3] = [CASE, JOURNAL, CITIZEN];
const DIRECTORY: [&str; 5] = [
    "sys_user",
    "sys_user_group",
    "sys_user_grmember",
    "sys_choice",
    // The procedure catalogue (an extension, served with them on).
    "u_guichet_procedure",
];

fn table_path(table: &str) -> String {
    format!("/api/now/table/{table}")
}

/// An encoded query value with its carets doubled.
fn literal(value: &str) -> String {
    value.replace('^', "^^")
}

/// The sys_ids `client` gets for `query` on `table`, and `X-Total-Count`
/// (asked with a page of one, so the count cannot come from the rows).
async fn answer(client: &Client, table: &str, query: &str) -> (BTreeSet<String>, i64) {
    let reply = client
        .list(
            &table_path(table),
            &[
                ("sysparm_query", query),
                ("sysparm_fields", "sys_id"),
                ("sysparm_limit", "10000"),
            ],
        )
        .await
        .expect(200);
    let ids: BTreeSet<String> = reply
        .rows()
        .iter()
        .map(|r| s(&r["sys_id"]).to_string())
        .collect();
    let counted = client
        .list(
            &table_path(table),
            &[("sysparm_query", query), ("sysparm_limit", "1")],
        )
        .await
        .expect(200);
    let total = counted
        .header("x-total-count")
        .and_then(|v| v.parse().ok())
        .unwrap_or_else(|| panic!("no X-Total-Count for {query}"));
    (ids, total)
}

/// Every record of `table` the supervisor reads, with `fields`.
async fn everything(boss: &Client, table: &str, fields: &str) -> Vec<Value> {
    boss.list(
        &table_path(table),
        &[
            ("sysparm_fields", fields),
            ("sysparm_limit", "10000"),
            ("sysparm_exclude_reference_link", "true"),
        ],
    )
    .await
    .expect(200)
    .rows()
    .clone()
}

/// One private table as the test sees it: the condition that narrows the
/// supervisor's view to what the agent may read, a record of the other
/// group, and a text field of it to probe with.
struct Probe {
    table: &'static str,
    scope: String,
    hidden: Vec<String>,
    field: &'static str,
    value: String,
    word: String,
}

#[tokio::test]
async fn cross_group_reads_counts_searches_and_orderings_are_refused_on_every_table() {
    let server = start(200, &[]);
    let boss = server.client("superviseur");
    let agent = server.client("accueil");
    let mine = boss.group_id("Accueil").await;
    let theirs = boss.group_id("Titres").await;

    let served: BTreeSet<&str> = TABLES.iter().map(|t| t.name).collect();
    let placed: BTreeSet<&str> = PRIVATE.iter().chain(DIRECTORY.iter()).copied().collect();
    assert_eq!(
        served, placed,
        "every served table is either private to groups or part of the directory"
    );

    let cases = everything(
        &boss,
        CASE,
        "sys_id,number,assignment_group,consumer,short_description",
    )
    .await;
    let in_group = |group: &str| -> Vec<&Value> {
        cases
            .iter()
            .filter(|c| s(&c["assignment_group"]) == group)
            .collect()
    };
    let my_cases = in_group(&mine);
    let their_cases = in_group(&theirs);
    assert!(!my_cases.is_empty() && !their_cases.is_empty());
    let my_case_ids: Vec<&str> = my_cases.iter().map(|c| s(&c["sys_id"])).collect();
    let my_citizens: BTreeSet<&str> = my_cases.iter().map(|c| s(&c["consumer"])).collect();

    // Cases: another group's case, probed through its number.
    let their_case = their_cases[0];
    let case_probe = Probe {
        table: CASE,
        scope: format!("assignment_group={mine}"),
        hidden: their_cases
            .iter()
            .map(|c| s(&c["sys_id"]).to_string())
            .collect(),
        field: "number",
        value: s(&their_case["number"]).to_string(),
        word: s(&their_case["number"]).to_string(),
    };

    // The journal of the other group's cases, probed through an entry's text.
    let journal = everything(&boss, JOURNAL, "sys_id,element_id,value").await;
    let their_case_ids: BTreeSet<&str> = their_cases.iter().map(|c| s(&c["sys_id"])).collect();
    let their_entries: Vec<&Value> = journal
        .iter()
        .filter(|e| their_case_ids.contains(s(&e["element_id"])))
        .collect();
    let entry = their_entries
        .iter()
        .find(|e| s(&e["value"]).split_whitespace().any(|w| w.len() > 4))
        .expect("a journal entry of the other group with words");
    let journal_probe = Probe {
        table: JOURNAL,
        scope: format!("element_idIN{}", my_case_ids.join(",")),
        hidden: their_entries
            .iter()
            .map(|e| s(&e["sys_id"]).to_string())
            .collect(),
        field: "value",
        value: literal(s(&entry["value"])),
        word: s(&entry["value"])
            .split_whitespace()
            .find(|w| w.len() > 4)
            .unwrap_or_default()
            .trim_matches(|c: char| !c.is_alphanumeric())
            .to_string(),
    };

    // Citizens known only to the other group's cases.
    let citizens = everything(&boss, CITIZEN, "sys_id,name,email").await;
    let their_citizens: Vec<&Value> = citizens
        .iter()
        .filter(|p| {
            let id = s(&p["sys_id"]);
            !my_citizens.contains(id) && their_cases.iter().any(|c| s(&c["consumer"]) == id)
        })
        .collect();
    let outsider = their_citizens.first().expect("a citizen of Titres only");
    let citizen_probe = Probe {
        table: CITIZEN,
        scope: format!(
            "sys_idIN{}",
            my_citizens.iter().copied().collect::<Vec<_>>().join(",")
        ),
        hidden: their_citizens
            .iter()
            .map(|p| s(&p["sys_id"]).to_string())
            .collect(),
        field: "name",
        value: s(&outsider["name"]).to_string(),
        word: s(&outsider["name"])
            .split_whitespace()
            .last()
            .unwrap_or_default()
            .to_string(),
    };

    for probe in [case_probe, journal_probe, citizen_probe] {
        let Probe {
            table,
            scope,
            hidden,
            field,
            value,
            word,
        } = &probe;
        assert!(!hidden.is_empty(), "{table}: records of the other group");
        let hidden_set: BTreeSet<String> = hidden.iter().cloned().collect();
        let two = hidden.iter().take(2).cloned().collect::<Vec<_>>().join(",");
        let queries = [
            String::new(),
            format!("sys_id={}", hidden[0]),
            format!("sys_idIN{two}"),
            format!("sys_id!={}", hidden[0]),
            format!("{field}={value}"),
            format!("{field}!={value}"),
            format!("{field}LIKE{value}"),
            format!("{field}NOT LIKE{value}"),
            format!("{field}STARTSWITH{value}"),
            format!("{field}ENDSWITH{value}"),
            format!("{field}>={value}"),
            format!("{field}<{value}"),
            format!("{field}ISNOTEMPTY"),
            format!("{field}ISEMPTY"),
            format!("{field}ANYTHING"),
            format!("123TEXTQUERY321={word}"),
            format!("ORDERBYDESC{field}"),
            format!("{field}={value}^ORDERBY{field}"),
            format!("sys_id={}^ORsys_idISNOTEMPTY", hidden[0]),
            "sys_created_onISNOTEMPTY^ORDERBYDESCsys_updated_on".to_string(),
        ];
        for query in &queries {
            let (seen, total) = answer(&agent, table, query).await;
            let truth_query = if query.is_empty() {
                scope.clone()
            } else {
                format!("{query}^{scope}")
            };
            let (truth, _) = answer(&boss, table, &truth_query).await;
            assert!(
                seen.is_disjoint(&hidden_set),
                "{table}: {query} returned another group's record"
            );
            assert_eq!(
                seen, truth,
                "{table}: {query} answers exactly what the agent may read"
            );
            assert_eq!(
                total,
                seen.len() as i64,
                "{table}: X-Total-Count of {query} counts only what the agent may read"
            );
        }
        // A block of its own (^NQ) does not escape the scope either.
        let (seen, total) = answer(
            &agent,
            table,
            &format!("sys_id={}^NQ{field}={value}", hidden[0]),
        )
        .await;
        assert!(seen.is_disjoint(&hidden_set), "{table}: ^NQ");
        assert_eq!(total, seen.len() as i64, "{table}: ^NQ count");

        // Read by id, whatever the rendering asked.
        for id in hidden.iter().take(3) {
            let path = format!("{}/{id}", table_path(table));
            agent.get(&path).await.expect(404);
            agent
                .list(&path, &[("sysparm_display_value", "all")])
                .await
                .expect(404);
            agent
                .list(&format!("/api/now/v1/table/{table}/{id}"), &[])
                .await
                .expect(404);
        }
        // v1 answers an empty list 404, the same as a list with no match.
        agent
            .list(
                &format!("/api/now/v1/table/{table}"),
                &[("sysparm_query", &format!("sys_id={}", hidden[0]))],
            )
            .await
            .expect(404);
    }

    // The directory is the same for every agent, and only what it shows is
    // queryable: no hidden column answers a condition or an ordering.
    for table in DIRECTORY {
        let (seen, total) = answer(&agent, table, "").await;
        let (all, _) = answer(&boss, table, "").await;
        assert_eq!(seen, all, "{table} is the directory");
        assert_eq!(total, all.len() as i64);
    }
    for query in [
        "password_hash=x",
        "password_hashISNOTEMPTY",
        "ORDERBYpassword_hash",
        "demo=1",
        "ORDERBYdemo",
        "_row>0",
    ] {
        let refused = agent
            .list(&table_path("sys_user"), &[("sysparm_query", query)])
            .await
            .expect(400);
        assert!(
            refused.detail().contains("unknown field"),
            "{query}: {}",
            refused.body
        );
    }
    let refused = agent
        .list(CASES, &[("sysparm_query", "ORDERBYcomments")])
        .await
        .expect(400);
    assert!(
        refused.detail().contains("journal field"),
        "{}",
        refused.body
    );
}

#[tokio::test]
async fn references_display_values_and_dot_walks_stay_within_the_scope() {
    let server = start(120, &[]);
    let boss = server.client("superviseur");
    let agent = server.client("accueil");
    let mine = boss.group_id("Accueil").await;
    let theirs = boss.group_id("Titres").await;

    // Dot-walking would read the referenced record past its own scope.
    for query in ["consumer.name=Martin", "ORDERBYconsumer.name"] {
        let refused = agent
            .list(CASES, &[("sysparm_query", query)])
            .await
            .expect(400);
        assert!(
            refused.detail().contains("dot-walking"),
            "{query}: {}",
            refused.body
        );
    }
    let walked = agent
        .list(
            CASES,
            &[
                ("sysparm_fields", "number,consumer.name,consumer.email"),
                ("sysparm_limit", "5"),
            ],
        )
        .await
        .expect(200);
    for row in walked.rows() {
        let keys: Vec<&String> = row.as_object().unwrap().keys().collect();
        assert_eq!(keys, ["number"], "dot-walked fields are not rendered");
    }

    // Display values of the agent's cases are those of records it reads.
    let listed = agent
        .list(
            CASES,
            &[
                ("sysparm_fields", "consumer,assignment_group"),
                ("sysparm_display_value", "all"),
                ("sysparm_limit", "10000"),
            ],
        )
        .await
        .expect(200);
    for row in listed.rows().iter().take(10) {
        let citizen = agent
            .get(&format!(
                "/api/now/table/csm_consumer/{}",
                s(&row["consumer"]["value"])
            ))
            .await
            .expect(200);
        assert_eq!(
            s(&row["consumer"]["display_value"]),
            s(&citizen.result()["name"])
        );
    }

    // A case handed to another group takes its citizen out of reach: the
    // answer to the hand-over lends no display value for it.
    let all = everything(&boss, CASE, "sys_id,assignment_group,consumer,state").await;
    let handed = all
        .iter()
        .find(|c| {
            s(&c["assignment_group"]) == mine
                && matches!(s(&c["state"]), "1" | "10" | "18")
                && all
                    .iter()
                    .filter(|o| s(&o["consumer"]) == s(&c["consumer"]))
                    .all(|o| s(&o["sys_id"]) == s(&c["sys_id"]))
        })
        .expect("an open Accueil case whose citizen has no other case");
    let citizen = s(&handed["consumer"]).to_string();
    let path = format!("{CASES}/{}", s(&handed["sys_id"]));
    let reply = agent
        .send(
            agent
                .request(Method::PATCH, &format!("{path}?sysparm_display_value=all"))
                .json(&json!({"assignment_group": theirs, "assigned_to": ""})),
        )
        .await
        .expect(200);
    assert_eq!(s(&reply.result()["consumer"]["value"]), citizen);
    assert_eq!(
        s(&reply.result()["consumer"]["display_value"]),
        "",
        "the citizen is now out of reach: no name lent"
    );
    assert_eq!(
        s(&reply.result()["assignment_group"]["display_value"]),
        "Titres",
        "groups are the directory"
    );
    agent.get(&path).await.expect(404);
    agent
        .get(&format!("/api/now/table/csm_consumer/{citizen}"))
        .await
        .expect(404);

    // A citizen registered at the desk is its creator's while no case
    // refers to it; once its case goes to another group, the case decides.
    let created = agent
        .post(
            "/api/now/table/csm_consumer",
            json!({"first_name": "Zélie", "last_name": "Isolée"}),
        )
        .await
        .expect(201);
    let newcomer = s(&created.result()["sys_id"]).to_string();
    let citizen_path = format!("/api/now/table/csm_consumer/{newcomer}");
    agent.get(&citizen_path).await.expect(200);
    let (found, total) = answer(&agent, CITIZEN, "123TEXTQUERY321=Isolée").await;
    assert!(found.contains(&newcomer) && total == 1, "{found:?}");
    let case = agent
        .post(
            CASES,
            json!({"short_description": "Inscription", "consumer": newcomer}),
        )
        .await
        .expect(201);
    agent.get(&citizen_path).await.expect(200);
    boss.patch(
        &format!("{CASES}/{}", s(&case.result()["sys_id"])),
        json!({"assignment_group": theirs}),
    )
    .await
    .expect(200);
    agent.get(&citizen_path).await.expect(404);
    let (found, total) = answer(&agent, CITIZEN, "123TEXTQUERY321=Isolée").await;
    assert!(found.is_empty() && total == 0, "{found:?}");
    // Nor can a case of the agent's own group be pointed at it now.
    let own = boss
        .find_case(&format!("assignment_group={mine}^state=10"))
        .await;
    agent
        .patch(
            &format!("{CASES}/{}", s(&own["sys_id"])),
            json!({"consumer": newcomer}),
        )
        .await
        .expect(400);

    // The name the server signs its own records with is no agent's.
    let me = boss.user_id("accueil").await;
    let refused = boss
        .patch(
            &format!("/api/now/table/sys_user/{me}"),
            json!({"user_name": "system"}),
        )
        .await
        .expect(400);
    assert!(refused.detail().contains("reserved"), "{}", refused.body);
}

#[tokio::test]
async fn hidden_memberships_are_hidden_by_id_too() {
    let server = start(10, &["--deny-memberships"]);
    let boss = server.client("superviseur");
    let agent = server.client("accueil");
    let membership = boss
        .get("/api/now/table/sys_user_grmember")
        .await
        .expect(200);
    let id = s(&membership.rows()[0]["sys_id"]).to_string();
    let path = format!("/api/now/table/sys_user_grmember/{id}");
    agent
        .get("/api/now/table/sys_user_grmember")
        .await
        .expect(403);
    agent.get(&path).await.expect(403);
    boss.get(&path).await.expect(200);
}

#[tokio::test]
async fn an_idempotency_key_replayed_by_another_user_is_their_own_request() {
    let server = start(60, &[]);
    let boss = server.client("superviseur");
    let accueil = server.client("accueil");
    let titres = server.client("titres");
    let accueil_group = boss.group_id("Accueil").await;
    let keyed = |client: &Client, method: Method, path: &str, key: &str, body: &Value| {
        client
            .request(method, path)
            .header("Idempotency-Key", key)
            .json(body)
    };

    // A create: the other user's same request, same key, is not answered
    // with the first user's record but judged as theirs (403: not their group).
    let body = json!({"short_description": "Rendez-vous", "assignment_group": accueil_group});
    let first = accueil
        .send(keyed(&accueil, Method::POST, CASES, "shared-key-1", &body))
        .await
        .expect(201);
    let created = s(&first.result()["sys_id"]).to_string();
    let other = titres
        .send(keyed(&titres, Method::POST, CASES, "shared-key-1", &body))
        .await
        .expect(403);
    assert!(other.header("idempotent-replayed").is_none());
    assert!(!other.body.to_string().contains(&created), "{}", other.body);
    let again = accueil
        .send(keyed(&accueil, Method::POST, CASES, "shared-key-1", &body))
        .await
        .expect(201);
    assert_eq!(again.header("idempotent-replayed"), Some("true"));
    assert_eq!(s(&again.result()["sys_id"]), created);

    // An update: the same.
    let path = format!("{CASES}/{created}");
    let change = json!({"work_notes": "Pièces reçues"});
    accueil
        .send(keyed(
            &accueil,
            Method::PATCH,
            &path,
            "shared-key-2",
            &change,
        ))
        .await
        .expect(200);
    let other = titres
        .send(keyed(
            &titres,
            Method::PATCH,
            &path,
            "shared-key-2",
            &change,
        ))
        .await
        .expect(403);
    assert!(other.header("idempotent-replayed").is_none());
    assert!(other.body.get("result").is_none(), "{}", other.body);

    // The other user's key is theirs alone: a request of their own under it
    // is written, not refused as a different request under a known key.
    let titres_group = boss.group_id("Titres").await;
    let own = titres
        .send(keyed(
            &titres,
            Method::POST,
            CASES,
            "shared-key-1",
            &json!({"short_description": "Autre", "assignment_group": titres_group}),
        ))
        .await
        .expect(201);
    assert!(own.header("idempotent-replayed").is_none());
    assert_ne!(s(&own.result()["sys_id"]), created);
}

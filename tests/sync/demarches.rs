//! The Démarches Simplifiées adapter against `guichet serve`'s DS endpoint:
//! an instructeur's dossiers as cases, each action landing once on the
//! server (checked there, over GraphQL), through a hostile link, with a
//! read-only token, and only within the instructeur's groups.

use std::time::Duration;

use serde_json::{Value, json};
use support::agent::Agent;
use support::client::Auth;
use support::proxy::{Fault, FaultProxy};
use support::server::{Server, start};

const TOKEN: &str = "demo-ds-token";
const DEMARCHES: [i64; 3] = [101, 102, 103];
const ME: &str = "demo@guichet.test";
const ENDPOINT: &str = "/api/v2/graphql";

/// A query to the server's DS endpoint with the demo token (what the
/// server holds, not what the agent's store says).
async fn graphql(server: &Server, query: &str, variables: Value) -> Value {
    let client = server.client("x").with_auth(Auth::Bearer(TOKEN.into()));
    let reply = client
        .post(ENDPOINT, json!({ "query": query, "variables": variables }))
        .await
        .expect(200);
    assert!(reply.body["errors"].is_null(), "{}", reply.body);
    reply.body["data"].clone()
}

fn number_of(case_number: &str) -> i64 {
    case_number
        .strip_prefix("DS-")
        .and_then(|n| n.parse().ok())
        .unwrap_or_else(|| panic!("not a DS number: {case_number}"))
}

/// The dossier as the server holds it: state, motivation, followers,
/// messages, and the "Notes internes" annotation.
async fn dossier(server: &Server, number: i64) -> Value {
    graphql(
        server,
        "query($n: Int!) { dossier(number: $n) { state motivation groupeInstructeur { number }
           instructeurs { email } messages { body email } annotations { label stringValue } } }",
        json!({ "n": number }),
    )
    .await["dossier"]
        .clone()
}

fn notes_of(dossier: &Value) -> String {
    dossier["annotations"]
        .as_array()
        .unwrap()
        .iter()
        .find(|a| a["label"] == "Notes internes")
        .and_then(|a| a["stringValue"].as_str())
        .unwrap_or_default()
        .to_string()
}

fn messages_with(dossier: &Value, text: &str) -> usize {
    dossier["messages"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|m| m["body"] == text && m["email"] == ME)
        .count()
}

/// The numbers of the groups the demo agent instructs.
async fn my_groups(server: &Server) -> Vec<i64> {
    let mut groups = Vec::new();
    for d in DEMARCHES {
        let data = graphql(
            server,
            "query($d: Int!) { demarche(number: $d) { groupeInstructeurs { number instructeurs { email } } } }",
            json!({ "d": d }),
        )
        .await;
        for g in data["demarche"]["groupeInstructeurs"].as_array().unwrap() {
            if g["instructeurs"]
                .as_array()
                .unwrap()
                .iter()
                .any(|i| i["email"] == ME)
            {
                groups.push(g["number"].as_i64().unwrap());
            }
        }
    }
    groups
}

fn local(agent: &Agent, view: &str) -> Vec<Value> {
    agent
        .json(&[
            "--offline",
            "cases",
            "--view",
            view,
            "--limit",
            "1000",
            "--json",
        ])
        .as_array()
        .unwrap()
        .clone()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_instructeur_works_his_groups_dossiers_and_each_action_lands_once() {
    let server = start(10, &["--demo-dossiers", "60"]);
    let agent = Agent::login_demarches(&server.url, ME, TOKEN, &DEMARCHES);
    agent.ok(&["sync"]);
    let all = local(&agent, "all");
    assert!(!all.is_empty());
    let groups = my_groups(&server).await;
    for case in &all {
        let number = case["number"].as_str().unwrap();
        let held = dossier(&server, number_of(number)).await;
        let group = held["groupeInstructeur"]["number"].as_i64().unwrap();
        assert!(
            groups.contains(&group),
            "{number} is of group {group}, not one of {groups:?}"
        );
    }
    // Every dossier of his groups, and no other.
    let mut on_server = 0;
    for group in &groups {
        let mut after = Value::Null;
        loop {
            let data = graphql(
                &server,
                "query($g: Int!, $a: String) { groupeInstructeur(number: $g) {
                   dossiers(first: 100, after: $a) { pageInfo { hasNextPage endCursor } nodes { number } } } }",
                json!({ "g": group, "a": after }),
            )
            .await;
            let page = &data["groupeInstructeur"]["dossiers"];
            on_server += page["nodes"].as_array().unwrap().len();
            if page["pageInfo"]["hasNextPage"] != true {
                break;
            }
            after = page["pageInfo"]["endCursor"].clone();
        }
    }
    assert_eq!(all.len(), on_server);

    // A new dossier nobody follows: taking it passes it into instruction.
    let new = all
        .iter()
        .find(|c| {
            c["state"] == "en_construction" && c["assignee"].as_str().unwrap_or("").is_empty()
        })
        .expect("a dossier in construction nobody follows")["number"]
        .as_str()
        .unwrap()
        .to_string();
    agent.ok(&["take", &new]);
    let held = dossier(&server, number_of(&new)).await;
    assert_eq!(held["state"], "en_instruction");
    assert!(
        held["instructeurs"]
            .as_array()
            .unwrap()
            .iter()
            .any(|i| i["email"] == ME)
    );

    agent.ok(&["comment", &new, "Votre dossier est complet."]);
    agent.ok(&["note", &new, "Vérifié au guichet:\npièce d'identité vue"]);
    let held = dossier(&server, number_of(&new)).await;
    assert_eq!(messages_with(&held, "Votre dossier est complet."), 1);
    assert!(
        notes_of(&held).contains("Vérifié au guichet:\npièce d'identité vue"),
        "{held}"
    );

    // The note comes back as a note of the timeline, by its author.
    agent.ok(&["sync"]);
    let case = agent.json(&["--offline", "case", &new, "--json"]);
    let timeline = case["timeline"].as_array().unwrap();
    assert!(
        timeline.iter().any(|e| e["kind"] == "work_note"
            && e["text"] == "Vérifié au guichet:\npièce d'identité vue"
            && e["author"] == ME),
        "{case}"
    );

    // A refusal needs its motivation, asked before anything is queued.
    let refused = agent.run(&["state", &new, "refuse"]).expect(2);
    assert!(refused.stderr.contains("--notes"), "{}", refused.stderr);
    agent.ok(&["state", &new, "accepte", "--notes", "Dossier conforme"]);
    let held = dossier(&server, number_of(&new)).await;
    assert_eq!(held["state"], "accepte");
    assert_eq!(held["motivation"], "Dossier conforme");

    // A refusal of DS's own reaches the agent in DS's French words, with
    // their gist in English: a démarche under silence vaut accord does not
    // let a dossier go back to construction.
    let sva = all
        .iter()
        .find(|c| {
            c["state"] == "en_instruction" && c["procedure"] == "101" && c["number"] != new.as_str()
        })
        .expect("a dossier in instruction of démarche 101")["number"]
        .as_str()
        .unwrap()
        .to_string();
    let refused = agent.run(&["state", &sva, "en_construction"]).expect(1);
    assert!(
        refused
            .stderr
            .contains("ne peut pas repasser en construction")
            && refused.stderr.contains("cannot go back to construction"),
        "{}",
        refused.stderr
    );
    assert_eq!(
        dossier(&server, number_of(&sva)).await["state"],
        "en_instruction"
    );
    // The refused action waits for the agent's decision; dropped here.
    let held = agent.queue();
    assert_eq!(held.len(), 1, "{held:?}");
    assert_eq!(held[0]["state"], "failed");
    agent.ok(&["queue", "drop", held[0]["id"].as_str().unwrap(), "--yes"]);

    // DS has no priority: refused at once, with the reason.
    let no = agent.run(&["priority", &new, "1"]).expect(2);
    assert!(no.stderr.contains("no priority"), "{}", no.stderr);
    assert!(agent.queue().is_empty(), "{:?}", agent.queue());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_dossier_outside_the_instructeurs_groups_is_neither_listed_nor_acted_on() {
    let server = start(10, &["--demo-dossiers", "60"]);
    let agent = Agent::login_demarches(&server.url, ME, TOKEN, &DEMARCHES);
    agent.ok(&["sync"]);
    let groups = my_groups(&server).await;
    // A dossier of another group, as the server holds it.
    let mut other = None;
    for n in 10_001..=10_200 {
        let client = server.client("x").with_auth(Auth::Bearer(TOKEN.into()));
        let reply = client
            .post(ENDPOINT, json!({ "query": "query($n: Int!) { dossier(number: $n) { number groupeInstructeur { number } } }", "variables": { "n": n } }))
            .await;
        let group = reply.body["data"]["dossier"]["groupeInstructeur"]["number"].as_i64();
        if group.is_some_and(|g| !groups.contains(&g)) {
            other = Some(n);
            break;
        }
    }
    let other = format!("DS-{}", other.expect("a dossier of another group"));
    let listed: Vec<String> = local(&agent, "all")
        .iter()
        .map(|c| c["number"].as_str().unwrap().to_string())
        .collect();
    assert!(!listed.contains(&other));
    agent.run(&["case", &other]).expect(3);
    agent.run(&["comment", &other, "x"]).expect(3);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_read_only_token_is_said_at_login_and_writes_stay_queued_with_the_reason() {
    let server = start(
        10,
        &[
            "--demo-dossiers",
            "30",
            "--ds-token",
            "lecture-seule:read-only",
        ],
    );
    let agent = Agent::new_workstation();
    let login = agent.login_demarches_output(&server.url, ME, "lecture-seule", &DEMARCHES);
    let login = login.expect(0);
    assert!(login.stderr.contains("read-only"), "{}", login.stderr);
    agent.keep_cases_for(Some(36_500));
    agent.ok(&["sync"]);
    let number = local(&agent, "open")[0]["number"]
        .as_str()
        .unwrap()
        .to_string();
    let out = agent.run(&["comment", &number, "Bonjour"]);
    assert_eq!(out.code, 5, "login needed: {} {}", out.stdout, out.stderr);
    let queue = agent.queue();
    assert_eq!(queue.len(), 1, "{queue:?}");
    let held = dossier(&server, number_of(&number)).await;
    assert_eq!(messages_with(&held, "Bonjour"), 0);
}

/// Lost answers after the server applied a mutation, 500s, 429 without
/// Retry-After (DS sends RateLimit-Reset), cut answers and delays.
fn hostile() -> Vec<Fault> {
    let reset = (std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs()
        + 1)
    .to_string();
    vec![
        Fault::ResetAfterUpstream,
        Fault::Pass,
        Fault::Status(500),
        Fault::ResetAfterUpstream,
        Fault::Respond {
            status: 429,
            headers: vec![
                ("RateLimit-Remaining".into(), "0".into()),
                ("RateLimit-Reset".into(), reset),
                ("Content-Type".into(), "text/plain".into()),
            ],
            body: b"Too many requests".to_vec(),
        },
        Fault::TruncateBody,
        Fault::Delay(Duration::from_millis(150)),
        Fault::Pass,
        Fault::ResetBeforeUpstream,
        Fault::ResetAfterUpstream,
    ]
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn each_action_lands_once_through_a_hostile_link() {
    let server = start(10, &["--demo-dossiers", "60"]);
    let proxy = FaultProxy::start(server.address()).await;
    let agent = Agent::login_demarches(&proxy.url, ME, TOKEN, &DEMARCHES);
    agent.ok(&["sync"]);
    let mine: Vec<String> = local(&agent, "open")
        .iter()
        .filter(|c| c["state"] == "en_instruction" || c["state"] == "en_construction")
        .take(6)
        .map(|c| c["number"].as_str().unwrap().to_string())
        .collect();
    assert!(mine.len() >= 4, "{mine:?}");
    let mut expected = Vec::new();
    for (i, number) in mine.iter().enumerate() {
        agent.ok(&["--offline", "take", number]);
        for k in 0..2 {
            let text = format!("Message {k} du dossier {number} ({i})");
            agent.ok(&["--offline", "comment", number, &text]);
            expected.push((number.clone(), text, false));
        }
        let note = format!("Note interne {i}");
        agent.ok(&["--offline", "note", number, &note]);
        expected.push((number.clone(), note, true));
    }
    for _ in 0..3 {
        proxy.schedule_writes(hostile());
    }
    proxy.schedule(hostile());
    agent.sync_until_drained(80);
    assert!(proxy.stats().faults >= 10, "{:?}", proxy.stats());
    // The faults did land on writes: some actions needed another send or
    // were settled by reading back (otherwise the test proved nothing).
    let all = agent.json(&["--offline", "queue", "--all", "--json"]);
    let all = all.as_array().unwrap();
    assert!(all.iter().all(|e| e["state"] == "done"), "{all:?}");
    assert!(
        all.iter()
            .any(|e| e["attempts"].as_u64() > Some(1) || e["settled_by"] == "read_back"),
        "no write met a fault"
    );
    for (number, text, note) in &expected {
        let held = dossier(&server, number_of(number)).await;
        if *note {
            assert_eq!(
                notes_of(&held).matches(text.as_str()).count(),
                1,
                "{number}: {held}"
            );
        } else {
            assert_eq!(messages_with(&held, text), 1, "{number}: {text}");
        }
    }
    for number in &mine {
        let held = dossier(&server, number_of(number)).await;
        assert_eq!(held["state"], "en_instruction", "{number}");
        assert!(
            held["instructeurs"]
                .as_array()
                .unwrap()
                .iter()
                .any(|i| i["email"] == ME)
        );
    }
}

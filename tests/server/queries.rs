//! Encoded queries against the real server, checked against the same
//! predicate evaluated here on the full list of cases.

use std::collections::BTreeSet;

use proptest::prelude::*;
use serde_json::{Value, json};

use support::client::*;
use support::server::*;

struct Fixture {
    _server: Server,
    client: Client,
    cases: Vec<Value>,
}

async fn fixture() -> Fixture {
    let server = start(250, &[]);
    let client = server.client("superviseur");
    let reply = client
        .list(
            CASES,
            &[
                (
                    "sysparm_fields",
                    "number,state,priority,short_description,assigned_to,opened_at,consumer",
                ),
                ("sysparm_exclude_reference_link", "true"),
                ("sysparm_limit", "10000"),
            ],
        )
        .await
        .expect(200);
    let cases = reply.rows().clone();
    assert_eq!(cases.len(), 250);
    Fixture {
        _server: server,
        client,
        cases,
    }
}

impl Fixture {
    async fn numbers(&self, query: &str) -> BTreeSet<String> {
        let reply = self
            .client
            .list(
                CASES,
                &[
                    ("sysparm_query", query),
                    ("sysparm_fields", "number"),
                    ("sysparm_limit", "10000"),
                ],
            )
            .await
            .expect(200);
        reply
            .rows()
            .iter()
            .map(|r| s(&r["number"]).to_string())
            .collect()
    }

    fn expected(&self, keep: impl Fn(&Value) -> bool) -> BTreeSet<String> {
        self.cases
            .iter()
            .filter(|c| keep(c))
            .map(|c| s(&c["number"]).to_string())
            .collect()
    }

    #[track_caller]
    fn check(&self, query: &str, got: BTreeSet<String>, want: BTreeSet<String>) {
        assert!(
            !want.is_empty() || query.contains("CS9"),
            "{query}: the fixture should match something"
        );
        assert_eq!(got, want, "{query}");
    }
}

fn int(c: &Value, field: &str) -> i64 {
    s(&c[field]).parse().unwrap()
}

#[tokio::test]
async fn comparison_operators_on_numbers_and_datetimes() {
    let f = fixture().await;
    let cases = [
        (
            "state=10",
            Box::new(|c: &Value| int(c, "state") == 10) as Box<dyn Fn(&Value) -> bool>,
        ),
        ("state!=10", Box::new(|c: &Value| int(c, "state") != 10)),
        ("priority<3", Box::new(|c: &Value| int(c, "priority") < 3)),
        ("priority>3", Box::new(|c: &Value| int(c, "priority") > 3)),
        ("priority<=2", Box::new(|c: &Value| int(c, "priority") <= 2)),
        ("priority>=3", Box::new(|c: &Value| int(c, "priority") >= 3)),
        (
            "stateIN1,18",
            Box::new(|c: &Value| [1, 18].contains(&int(c, "state"))),
        ),
        (
            "stateNOT IN1,18",
            Box::new(|c: &Value| ![1, 18].contains(&int(c, "state"))),
        ),
        (
            "assigned_toISEMPTY",
            Box::new(|c: &Value| s(&c["assigned_to"]).is_empty()),
        ),
        (
            "assigned_toISNOTEMPTY",
            Box::new(|c: &Value| !s(&c["assigned_to"]).is_empty()),
        ),
        ("stateANYTHING", Box::new(|_: &Value| true)),
        (
            "state=1^ORstate=18^priority<=2",
            Box::new(|c: &Value| [1, 18].contains(&int(c, "state")) && int(c, "priority") <= 2),
        ),
        (
            "state=1^priority=2^NQstate=7",
            Box::new(|c: &Value| {
                (int(c, "state") == 1 && int(c, "priority") == 2) || int(c, "state") == 7
            }),
        ),
    ];
    for (query, keep) in cases {
        f.check(query, f.numbers(query).await, f.expected(keep));
    }
    let mut opened: Vec<&str> = f.cases.iter().map(|c| s(&c["opened_at"])).collect();
    opened.sort();
    let (low, high) = (opened[50], opened[150]);
    let query = format!("opened_atBETWEEN{low}@{high}");
    f.check(
        &query,
        f.numbers(&query).await,
        f.expected(|c| (low..=high).contains(&s(&c["opened_at"]))),
    );
    let query = format!("opened_at>{high}");
    f.check(
        &query,
        f.numbers(&query).await,
        f.expected(|c| s(&c["opened_at"]) > high),
    );
}

#[tokio::test]
async fn text_operators_are_case_insensitive() {
    let f = fixture().await;
    let summary = |c: &Value| s(&c["short_description"]).to_ascii_lowercase();
    let sample = s(&f.cases[0]["short_description"]).to_string();
    let word = sample
        .split_whitespace()
        .find(|w| w.len() > 4 && w.is_ascii())
        .unwrap()
        .to_ascii_lowercase();
    let tail: String = sample
        .chars()
        .rev()
        .take(6)
        .collect::<Vec<_>>()
        .into_iter()
        .rev()
        .collect();
    let head: String = sample.chars().take(8).collect();

    let q = format!("short_descriptionLIKE{}", word.to_uppercase());
    f.check(
        &q,
        f.numbers(&q).await,
        f.expected(|c| summary(c).contains(&word)),
    );
    let q = format!("short_descriptionNOT LIKE{word}");
    f.check(
        &q,
        f.numbers(&q).await,
        f.expected(|c| !summary(c).contains(&word)),
    );
    let q = format!("short_descriptionSTARTSWITH{head}");
    f.check(
        &q,
        f.numbers(&q).await,
        f.expected(|c| s(&c["short_description"]).starts_with(&head)),
    );
    let q = format!("short_descriptionENDSWITH{tail}");
    f.check(
        &q,
        f.numbers(&q).await,
        f.expected(|c| s(&c["short_description"]).ends_with(&tail)),
    );
}

#[tokio::test]
async fn ordering_is_applied_field_by_field() {
    let f = fixture().await;
    let reply = f
        .client
        .list(
            CASES,
            &[
                ("sysparm_query", "ORDERBYpriority^ORDERBYDESCnumber"),
                ("sysparm_fields", "number,priority"),
            ],
        )
        .await
        .expect(200);
    let keys: Vec<(i64, String)> = reply
        .rows()
        .iter()
        .map(|r| (int(r, "priority"), s(&r["number"]).to_string()))
        .collect();
    let priorities: std::collections::BTreeSet<i64> = keys.iter().map(|k| k.0).collect();
    assert!(
        keys.len() > 10 && priorities.len() > 1,
        "enough rows and priorities to show an order: {keys:?}"
    );
    let mut sorted = keys.clone();
    sorted.sort_by(|a, b| a.0.cmp(&b.0).then(b.1.cmp(&a.1)));
    assert_eq!(keys, sorted);
}

#[tokio::test]
async fn a_caret_in_a_value_is_written_twice() {
    let f = fixture().await;
    let group = f.client.find_case("state=10").await["assignment_group"]["value"].clone();
    f.client
        .post(
            CASES,
            json!({"short_description": "Dossier A^B", "assignment_group": group}),
        )
        .await
        .expect(201);
    let got = f.numbers("short_description=Dossier A^^B").await;
    assert_eq!(got.len(), 1, "{got:?}");
}

fn fold(text: &str) -> String {
    text.to_lowercase()
        .chars()
        .map(|c| match c {
            'é' | 'è' | 'ê' | 'ë' => 'e',
            'à' | 'â' | 'ä' => 'a',
            'î' | 'ï' => 'i',
            'ô' | 'ö' => 'o',
            'ù' | 'û' | 'ü' => 'u',
            'ç' => 'c',
            c => c,
        })
        .collect()
}

#[tokio::test]
async fn text_search_ignores_accents_and_covers_the_citizen() {
    let f = fixture().await;
    let named = f
        .client
        .list(
            CASES,
            &[
                ("sysparm_fields", "number,consumer"),
                ("sysparm_display_value", "true"),
                ("sysparm_exclude_reference_link", "true"),
                ("sysparm_limit", "10000"),
            ],
        )
        .await
        .expect(200);
    let accented = named
        .rows()
        .iter()
        .map(|r| s(&r["consumer"]).to_string())
        .find(|name| {
            name.split_whitespace()
                .last()
                .is_some_and(|w| fold(w) != w.to_lowercase() && w.len() > 3)
        })
        .expect("a citizen whose surname has an accent");
    let surname = accented.split_whitespace().last().unwrap();
    let plain = fold(surname);
    let got = f.numbers(&format!("123TEXTQUERY321={plain}")).await;
    let theirs: BTreeSet<String> = named
        .rows()
        .iter()
        .filter(|r| s(&r["consumer"]) == accented)
        .map(|r| s(&r["number"]).to_string())
        .collect();
    assert!(
        !theirs.is_empty() && theirs.is_subset(&got),
        "{plain}: {theirs:?} not in {got:?}"
    );
    // A number is searchable too, by prefix.
    let number = s(&f.cases[7]["number"]);
    assert!(
        f.numbers(&format!("123TEXTQUERY321={}", number.to_lowercase()))
            .await
            .contains(number)
    );
}

#[tokio::test]
async fn dynamic_values_for_me_and_my_groups() {
    let server = start(150, &[]);
    let demo = server.client("demo");
    let me = demo
        .get("/api/now/table/sys_user?sysparm_query=user_name=demo")
        .await
        .expect(200);
    let my_id = s(&me.rows()[0]["sys_id"]).to_string();
    let mine = demo
        .list(
            CASES,
            &[
                ("sysparm_query", "assigned_to=javascript:gs.getUserID()"),
                ("sysparm_exclude_reference_link", "true"),
            ],
        )
        .await
        .expect(200);
    assert!(!mine.rows().is_empty());
    assert!(mine.rows().iter().all(|r| s(&r["assigned_to"]) == my_id));
    let accueil = server.client("accueil");
    let all = accueil.all_cases("number").await;
    let team = accueil
        .list(
            CASES,
            &[
                (
                    "sysparm_query",
                    "assignment_groupINjavascript:getMyGroups()",
                ),
                ("sysparm_limit", "10000"),
            ],
        )
        .await
        .expect(200);
    assert_eq!(team.rows().len(), all.len());
}

fn random_query() -> impl Strategy<Value = String> {
    let field = prop_oneof![
        Just("state"),
        Just("priority"),
        Just("number"),
        Just("short_description"),
        Just("assigned_to"),
        Just("opened_at"),
        Just("active"),
        Just("comments"),
        Just("nope"),
        Just("sys_mod_count"),
        Just("123TEXTQUERY321"),
    ];
    let op = prop_oneof![
        Just("="),
        Just("!="),
        Just("<"),
        Just(">="),
        Just("LIKE"),
        Just("NOT IN"),
        Just("IN"),
        Just("ISEMPTY"),
        Just("BETWEEN"),
        Just("STARTSWITH"),
        Just("ORDERBY"),
        Just("??"),
        Just(""),
    ];
    let value = "[a-zA-Z0-9 ,@^\"'%_*()-]{0,10}";
    let condition = (field, op, value).prop_map(|(f, o, v)| format!("{f}{o}{v}"));
    let joiner = prop_oneof![
        Just("^"),
        Just("^OR"),
        Just("^NQ"),
        Just("^ORDERBY"),
        Just("^ORDERBYDESC")
    ];
    (
        condition.clone(),
        prop::collection::vec((joiner, condition), 0..4),
    )
        .prop_map(|(first, rest)| {
            rest.into_iter()
                .fold(first, |acc, (j, c)| format!("{acc}{j}{c}"))
        })
}

#[test]
fn random_queries_never_produce_a_server_error() {
    let runtime = tokio::runtime::Runtime::new().unwrap();
    let server = start(30, &[]);
    let client = server.client("accueil");
    let mut config = ProptestConfig::with_cases(96);
    config.failure_persistence = None;
    proptest!(config, |(query in random_query(), display in prop_oneof![Just("true"), Just("all"), Just("false")])| {
        let reply = runtime.block_on(client.list(CASES, &[("sysparm_query", query.as_str()), ("sysparm_display_value", display)]));
        prop_assert!(reply.status == 200 || reply.status == 400, "{} -> {} {}", query, reply.status, reply.body);
        if reply.status == 400 {
            prop_assert_eq!(&reply.body["status"], "failure");
        }
    });
}

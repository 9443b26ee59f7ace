//! The Démarches Simplifiées endpoint (`POST /api/v2/graphql`), as the DS
//! adapter sees it: the contract's schema, paging, DS's state machine and
//! its French refusals, tokens, throttling and transport errors.

use std::collections::{BTreeMap, BTreeSet};

use async_graphql::parser::types::{
    ServiceDocument, TypeDefinition, TypeKind, TypeSystemDefinition,
};
use base64::Engine;
use base64::engine::general_purpose::STANDARD as B64;
use reqwest::StatusCode;
use reqwest::header::HeaderMap;
use serde_json::{Value, json};

use support::server::*;

const ENDPOINT: &str = "/api/v2/graphql";
const DEMO_TOKEN: &str = "demo-ds-token";
const NO_ACCESS: &str = "L’instructeur n’a pas les droits d’accès à ce dossier";

// ---------------------------------------------------------------------------
// The contract

fn contract_text() -> String {
    std::fs::read_to_string(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/src/backend/demarches/schema.graphql"
    ))
    .expect("the contract")
}

fn types_of(doc: &ServiceDocument) -> BTreeMap<String, TypeDefinition> {
    doc.definitions
        .iter()
        .filter_map(|d| match d {
            TypeSystemDefinition::Type(t) => Some((t.node.name.node.to_string(), t.node.clone())),
            _ => None,
        })
        .collect()
}

/// What `served` lacks or serves differently from `contract`: every type,
/// field, argument, enum value and input field of the contract, with the
/// same type (and default); nothing required that the contract lacks.
fn mismatches(contract: &str, served: &str) -> Vec<String> {
    let contract = async_graphql::parser::parse_schema(contract).expect("contract parses");
    let served = async_graphql::parser::parse_schema(served).expect("served SDL parses");
    let (want, have) = (types_of(&contract), types_of(&served));
    let mut out = Vec::new();
    for (name, expected) in &want {
        let Some(found) = have.get(name) else {
            out.push(format!("type {name} is not served"));
            continue;
        };
        match (&expected.kind, &found.kind) {
            (TypeKind::Scalar, TypeKind::Scalar) => {}
            (TypeKind::Object(e), TypeKind::Object(f)) => {
                let names = |list: &Vec<async_graphql::Positioned<async_graphql::Name>>| {
                    list.iter()
                        .map(|n| n.node.to_string())
                        .collect::<BTreeSet<_>>()
                };
                if names(&e.implements) != names(&f.implements) {
                    out.push(format!("{name} implements other interfaces"));
                }
                fields(name, &e.fields, &f.fields, &mut out);
            }
            (TypeKind::Interface(e), TypeKind::Interface(f)) => {
                fields(name, &e.fields, &f.fields, &mut out);
            }
            (TypeKind::Enum(e), TypeKind::Enum(f)) => {
                let values = |list: &Vec<
                    async_graphql::Positioned<async_graphql::parser::types::EnumValueDefinition>,
                >| {
                    list.iter()
                        .map(|v| v.node.value.node.to_string())
                        .collect::<BTreeSet<_>>()
                };
                if values(&e.values) != values(&f.values) {
                    out.push(format!(
                        "enum {name}: {:?} served as {:?}",
                        values(&e.values),
                        values(&f.values)
                    ));
                }
            }
            (TypeKind::InputObject(e), TypeKind::InputObject(f)) => {
                inputs(name, &e.fields, &f.fields, &mut out);
                let one_of =
                    |t: &TypeDefinition| t.directives.iter().any(|d| d.node.name.node == "oneOf");
                if one_of(expected) != one_of(found) {
                    out.push(format!("input {name}: @oneOf differs"));
                }
            }
            _ => out.push(format!("type {name} is served as another kind")),
        }
    }
    let roots = |doc: &ServiceDocument| {
        doc.definitions
            .iter()
            .find_map(|d| match d {
                TypeSystemDefinition::Schema(s) => Some((
                    s.node.query.as_ref().map(|n| n.node.to_string()),
                    s.node.mutation.as_ref().map(|n| n.node.to_string()),
                )),
                _ => None,
            })
            .unwrap_or((Some("Query".into()), None))
    };
    if roots(&contract) != roots(&served) {
        out.push("the schema's roots differ".to_string());
    }
    out
}

type Fields = Vec<async_graphql::Positioned<async_graphql::parser::types::FieldDefinition>>;
type Inputs = Vec<async_graphql::Positioned<async_graphql::parser::types::InputValueDefinition>>;

fn fields(owner: &str, want: &Fields, have: &Fields, out: &mut Vec<String>) {
    for e in want {
        let field = e.node.name.node.as_str();
        match have.iter().find(|f| f.node.name.node == field) {
            None => out.push(format!("{owner}.{field} is not served")),
            Some(f) => {
                if e.node.ty.node.to_string() != f.node.ty.node.to_string() {
                    out.push(format!(
                        "{owner}.{field}: {} served as {}",
                        e.node.ty.node, f.node.ty.node
                    ));
                }
                inputs(
                    &format!("{owner}.{field}"),
                    &e.node.arguments,
                    &f.node.arguments,
                    out,
                );
            }
        }
    }
}

fn inputs(owner: &str, want: &Inputs, have: &Inputs, out: &mut Vec<String>) {
    for e in want {
        let name = e.node.name.node.as_str();
        match have.iter().find(|f| f.node.name.node == name) {
            None => out.push(format!("{owner}({name}) is not served")),
            Some(f) => {
                if e.node.ty.node.to_string() != f.node.ty.node.to_string() {
                    out.push(format!(
                        "{owner}({name}): {} served as {}",
                        e.node.ty.node, f.node.ty.node
                    ));
                }
                let default = |v: &async_graphql::parser::types::InputValueDefinition| {
                    v.default_value.as_ref().map(|d| d.node.to_string())
                };
                if default(&e.node) != default(&f.node) {
                    out.push(format!(
                        "{owner}({name}): default {:?} served as {:?}",
                        default(&e.node),
                        default(&f.node)
                    ));
                }
            }
        }
    }
    for f in have {
        let name = f.node.name.node.as_str();
        if !want.iter().any(|e| e.node.name.node == name)
            && !f.node.ty.node.nullable
            && f.node.default_value.is_none()
        {
            out.push(format!(
                "{owner}({name}) is required but not in the contract"
            ));
        }
    }
}

#[test]
fn the_served_schema_is_the_contract() {
    let contract = contract_text();
    let served = guichet::server::demarches::sdl();
    let found = mismatches(&contract, &served);
    assert!(
        found.is_empty(),
        "the served schema departs from the contract:\n{}",
        found.join("\n")
    );
}

#[test]
fn the_contract_check_sees_a_difference() {
    let contract = contract_text();
    let served = guichet::server::demarches::sdl();
    for (from, to, expected) in [
        ("nom: String!", "nom: String", "PersonnePhysique.nom"),
        ("  sans_suite\n", "", "enum DossierState"),
        (
            "follow: Boolean! = true",
            "follow: Boolean! = false",
            "follow",
        ),
        (
            "updatedSince: ISO8601DateTime",
            "updatedSince: String",
            "updatedSince",
        ),
    ] {
        assert!(contract.contains(from), "{from}");
        let changed = contract.replacen(from, to, 1);
        let found = mismatches(&changed, &served);
        assert!(
            found.iter().any(|m| m.contains(expected)),
            "changing {from:?} goes unseen: {found:?}"
        );
    }
    // A served input field the contract lacks may not be required.
    let extra = served.replacen(
        "input DossierBasculeSuiviInput {",
        "input DossierBasculeSuiviInput {\n\tmandatory: String!",
        1,
    );
    assert!(
        mismatches(&contract, &extra)
            .iter()
            .any(|m| m.contains("mandatory")),
    );
}

// ---------------------------------------------------------------------------
// Talking to the endpoint

struct Ds {
    base: String,
    http: reqwest::Client,
}

struct Answer {
    status: StatusCode,
    headers: HeaderMap,
    text: String,
}

impl Answer {
    fn json(&self) -> Value {
        serde_json::from_str(&self.text).unwrap_or_else(|e| panic!("not JSON ({e}): {}", self.text))
    }
    /// The first top-level error's message and code.
    fn error(&self) -> (String, String) {
        let body = self.json();
        let e = &body["errors"][0];
        (
            e["message"].as_str().unwrap_or_default().to_string(),
            e["extensions"]["code"]
                .as_str()
                .unwrap_or_default()
                .to_string(),
        )
    }
}

impl Ds {
    fn new(server: &Server) -> Ds {
        Ds {
            base: server.url.clone(),
            http: support::http_client().build().expect("http client"),
        }
    }

    async fn raw(&self, authorization: Option<&str>, body: impl Into<reqwest::Body>) -> Answer {
        let mut request = self
            .http
            .post(format!("{}{ENDPOINT}", self.base))
            .header("Content-Type", "application/json")
            .body(body);
        if let Some(value) = authorization {
            request = request.header("Authorization", value);
        }
        let response = request.send().await.expect("request");
        Answer {
            status: response.status(),
            headers: response.headers().clone(),
            text: response.text().await.expect("body"),
        }
    }

    async fn ask(&self, token: &str, query: &str, variables: Value) -> Answer {
        let body = json!({ "query": query, "variables": variables }).to_string();
        self.raw(Some(&format!("Bearer {token}")), body).await
    }

    /// The data of a query that must succeed.
    async fn data(&self, query: &str, variables: Value) -> Value {
        let answer = self.ask(DEMO_TOKEN, query, variables).await;
        assert_eq!(answer.status, StatusCode::OK, "{}", answer.text);
        let body = answer.json();
        assert!(body.get("errors").is_none(), "{body}");
        body["data"].clone()
    }

    /// A mutation's payload (`dossier { ...DOSSIER } errors { message }`).
    async fn mutate(&self, token: &str, name: &str, input: Value) -> Value {
        let input_type = format!("{}{}Input", name[..1].to_uppercase(), &name[1..]);
        let query = format!(
            "mutation($input: {input_type}!) {{ {name}(input: $input) {{ clientMutationId dossier {{ {DOSSIER} }} errors {{ message }} }} }}"
        );
        let answer = self.ask(token, &query, json!({ "input": input })).await;
        assert_eq!(answer.status, StatusCode::OK, "{}", answer.text);
        let body = answer.json();
        assert!(body.get("errors").is_none(), "{body}");
        body["data"][name].clone()
    }

    async fn dossier(&self, number: i64) -> Value {
        self.data(
            &format!("query($n: Int!) {{ dossier(number: $n) {{ {DOSSIER} }} }}"),
            json!({ "n": number }),
        )
        .await["dossier"]
            .clone()
    }

    /// Dossiers of a group in a state, by number.
    async fn in_groupe(&self, groupe: i64, state: &str) -> Vec<Value> {
        let data = self
            .data(
                &format!(
                    "query($g: Int!, $s: DossierState) {{ groupeInstructeur(number: $g) {{ dossiers(state: $s) {{ nodes {{ {DOSSIER} }} }} }} }}"
                ),
                json!({ "g": groupe, "s": state }),
            )
            .await;
        data["groupeInstructeur"]["dossiers"]["nodes"]
            .as_array()
            .cloned()
            .unwrap_or_default()
    }

    /// Instructeurs of each group of a démarche: group number → (email → id).
    async fn instructeurs(&self, demarche: i64) -> BTreeMap<i64, BTreeMap<String, String>> {
        let data = self
            .data(
                "query($d: Int!) { demarche(number: $d) { groupeInstructeurs { number instructeurs { id email } } } }",
                json!({ "d": demarche }),
            )
            .await;
        data["demarche"]["groupeInstructeurs"]
            .as_array()
            .expect("groups")
            .iter()
            .map(|g| {
                (
                    g["number"].as_i64().unwrap(),
                    g["instructeurs"]
                        .as_array()
                        .unwrap()
                        .iter()
                        .map(|i| {
                            (
                                i["email"].as_str().unwrap().to_string(),
                                i["id"].as_str().unwrap().to_string(),
                            )
                        })
                        .collect(),
                )
            })
            .collect()
    }
}

const DOSSIER: &str = "id number state archived dateDepot dateDerniereModification
    datePassageEnInstruction dateTraitement datePrevisionnelleDecisionSVASVR motivation
    demarche { id number title }
    demandeur { id ... on PersonnePhysique { civilite nom prenom email } ... on PersonneMorale { siret libelleNaf address { label postalCode cityName } entreprise { raisonSociale siren } } }
    usager { id email } groupeInstructeur { id number label }
    instructeurs { id email } labels { id name }
    champs { id label stringValue } annotations { id label stringValue updatedAt ... on TextChamp { value } }
    messages { id body createdAt email correction { reason dateResolution } }
    traitements { state event dateTraitement emailAgentTraitant motivation }";

fn relay(kind: &str, id: i64) -> String {
    B64.encode(format!("{kind}-{id}"))
}

fn errors_of(payload: &Value) -> Vec<String> {
    payload["errors"]
        .as_array()
        .map(|list| {
            list.iter()
                .map(|e| e["message"].as_str().unwrap_or_default().to_string())
                .collect()
        })
        .unwrap_or_default()
}

fn n(value: &Value) -> i64 {
    value["number"].as_i64().expect("number")
}

fn text(value: &Value) -> &str {
    value
        .as_str()
        .unwrap_or_else(|| panic!("not a string: {value}"))
}

/// An instant as the endpoint writes it, to the second.
fn instant(value: &Value) -> time::OffsetDateTime {
    time::OffsetDateTime::parse(text(value), &time::format_description::well_known::Rfc3339)
        .unwrap_or_else(|e| panic!("{value}: {e}"))
}

fn emails(list: &Value) -> Vec<String> {
    list.as_array()
        .unwrap()
        .iter()
        .map(|p| p["email"].as_str().unwrap().to_string())
        .collect()
}

fn server(dossiers: u32, extra: &[&str]) -> Server {
    let count = dossiers.to_string();
    let mut args = vec!["--demo-dossiers", count.as_str()];
    args.extend_from_slice(extra);
    start(10, &args)
}

// ---------------------------------------------------------------------------
// Reading

#[tokio::test]
async fn ids_dates_and_demo_data_read_as_ds_writes_them() {
    let server = server(300, &[]);
    let ds = Ds::new(&server);
    let d = ds.dossier(10_001).await;
    assert_eq!(text(&d["id"]), "RG9zc2llci0xMDAwMQ==");
    assert_eq!(text(&d["id"]), relay("Dossier", 10_001));
    assert_eq!(text(&d["demarche"]["id"]), relay("Procedure", 101));
    assert_eq!(
        text(&d["groupeInstructeur"]["id"]),
        relay(
            "GroupeInstructeur",
            d["groupeInstructeur"]["number"].as_i64().unwrap()
        )
    );
    // The demo lies in the winter before 2 March 2026: Paris is at +01:00.
    let depot = text(&d["dateDepot"]);
    assert!(depot.ends_with("+01:00") && depot.len() == 25, "{depot}");
    assert!(instant(&d["dateDerniereModification"]) >= instant(&d["dateDepot"]));
    assert!(
        d["demandeur"]["nom"]
            .as_str()
            .is_some_and(|s| !s.is_empty()),
        "{d}"
    );
    let labels: Vec<&str> = d["annotations"]
        .as_array()
        .unwrap()
        .iter()
        .map(|a| text(&a["label"]))
        .collect();
    assert!(labels.contains(&"Notes internes"), "{labels:?}");
    // Three démarches, two groups each; démarche 103's demandeurs are companies.
    for (number, title) in [
        (101, "Demande de carte de stationnement"),
        (102, "Aide au permis de conduire"),
        (103, "Subvention association"),
    ] {
        let data = ds
            .data(
                "query($d: Int!) { demarche(number: $d) { title state groupeInstructeurs { number } } }",
                json!({ "d": number }),
            )
            .await;
        assert_eq!(data["demarche"]["title"], title);
        assert_eq!(data["demarche"]["state"], "publiee");
        assert_eq!(
            data["demarche"]["groupeInstructeurs"]
                .as_array()
                .unwrap()
                .len(),
            2
        );
    }
    let company = ds.dossier(10_003).await;
    assert!(
        company["demandeur"]["siret"]
            .as_str()
            .is_some_and(|s| s.len() == 14),
        "{company}"
    );
    // The SVA démarche gives a decision date to its open dossiers.
    let sva = ds.in_groupe(201, "en_construction").await;
    assert!(!sva.is_empty());
    assert!(sva.iter().all(|d| {
        d["datePrevisionnelleDecisionSVASVR"]
            .as_str()
            .is_some_and(|s| s.len() == 10)
    }));
    // The demo agent has dossiers he follows and dossiers he does not.
    let mine = ds.in_groupe(201, "en_instruction").await;
    let followed = mine
        .iter()
        .chain(&sva)
        .filter(|d| emails(&d["instructeurs"]).contains(&"demo@guichet.test".to_string()))
        .count();
    assert!(
        followed > 0 && followed < mine.len() + sva.len(),
        "{followed}"
    );
    // An unknown number is not_found.
    let answer = ds
        .ask(DEMO_TOKEN, "{ dossier(number: 1) { id } }", json!({}))
        .await;
    assert_eq!(answer.status, StatusCode::OK);
    assert_eq!(
        answer.error(),
        ("Dossier not found".into(), "not_found".into())
    );
}

/// One page of a démarche's dossiers: its nodes, whether more follow, and
/// its end cursor.
async fn page(
    ds: &Ds,
    demarche: i64,
    first: i64,
    since: Option<&str>,
    after: Option<&str>,
) -> (Vec<Value>, bool, Option<String>) {
    let data = ds
        .data(
            "query($d: Int!, $first: Int, $after: String, $since: ISO8601DateTime) {
               demarche(number: $d) { dossiers(first: $first, after: $after, updatedSince: $since) {
                 pageInfo { hasNextPage endCursor } nodes { number dateDerniereModification } } } }",
            json!({ "d": demarche, "first": first, "after": after, "since": since }),
        )
        .await;
    let c = &data["demarche"]["dossiers"];
    (
        c["nodes"].as_array().unwrap().clone(),
        c["pageInfo"]["hasNextPage"].as_bool().unwrap(),
        c["pageInfo"]["endCursor"].as_str().map(str::to_string),
    )
}

/// Every page from `after` on; the nodes and the last non-null end cursor.
async fn all_pages(
    ds: &Ds,
    demarche: i64,
    first: i64,
    since: Option<&str>,
    mut after: Option<String>,
) -> (Vec<Value>, Option<String>) {
    let mut nodes = Vec::new();
    loop {
        let (more, next, cursor) = page(ds, demarche, first, since, after.as_deref()).await;
        nodes.extend(more);
        after = cursor.or(after);
        if !next {
            return (nodes, after);
        }
    }
}

/// Something that moves a dossier's dateDerniereModification.
async fn touch(ds: &Ds, number: i64, instructeur: &str) {
    let payload = ds
        .mutate(
            DEMO_TOKEN,
            "dossierBasculeSuivi",
            json!({ "dossierId": relay("Dossier", number), "instructeurId": instructeur, "follow": true }),
        )
        .await;
    assert!(errors_of(&payload).is_empty(), "{payload}");
}

#[tokio::test]
async fn paging_since_a_date_misses_nothing_while_dossiers_change() {
    let server = server(150, &[]);
    let ds = Ds::new(&server);
    let superviseur = ds.instructeurs(101).await[&201]["superviseur@guichet.test"].clone();
    // Every dossier of the démarche, in dépôt (number) order.
    let (all, _) = all_pages(&ds, 101, 100, None, None).await;
    let numbers: Vec<i64> = all.iter().map(n).collect();
    assert_eq!(numbers.len(), 50);
    assert!(numbers.windows(2).all(|w| w[0] < w[1]), "{numbers:?}");

    // Page by 7 since a date before everything, while dossiers change
    // between pages: some already read, one not read yet.
    let since = "2020-01-01T00:00:00+01:00";
    let mut seen = Vec::new();
    let mut after: Option<String> = None;
    let mut touched = Vec::new();
    for page_number in 0.. {
        let (nodes, next, cursor) = page(&ds, 101, 7, Some(since), after.as_deref()).await;
        seen.extend(nodes);
        after = cursor.or(after);
        if !next {
            break;
        }
        let changed = match page_number {
            1 => Some(n(&seen[3])),
            2 => Some(numbers[45]),
            4 => Some(n(&seen[0])),
            _ => None,
        };
        if let Some(number) = changed {
            touch(&ds, number, &superviseur).await;
            touched.push(number);
        }
    }
    assert_eq!(touched.len(), 3);
    let mut counts: BTreeMap<i64, usize> = BTreeMap::new();
    for node in &seen {
        *counts.entry(n(node)).or_default() += 1;
    }
    for number in &numbers {
        // A dossier changed after it was read comes again; none is missed,
        // and none unchanged is repeated.
        let read_before_its_change = *number != numbers[45] && touched.contains(number);
        let expected = if read_before_its_change { 2 } else { 1 };
        assert_eq!(counts.get(number), Some(&expected), "dossier {number}");
    }
    // In (dateDerniereModification, number) order.
    let keys: Vec<time::OffsetDateTime> = seen
        .iter()
        .map(|d| instant(&d["dateDerniereModification"]))
        .collect();
    assert!(keys.windows(2).all(|w| w[0] <= w[1]), "{keys:?}");

    // Polling again from the last cursor: nothing new, then exactly what changed.
    let last_cursor = after.clone();
    let (again, cursor) = all_pages(&ds, 101, 7, Some(since), last_cursor.clone()).await;
    assert!(again.is_empty(), "{again:?}");
    assert_eq!(cursor, last_cursor, "an empty page keeps the last cursor");
    touch(&ds, numbers[10], &superviseur).await;
    let (again, _) = all_pages(&ds, 101, 7, Some(since), last_cursor).await;
    assert_eq!(again.iter().map(n).collect::<Vec<_>>(), vec![numbers[10]]);

    // The filter is inclusive: since a dossier's own date, it is listed.
    let d = ds.dossier(numbers[10]).await;
    let (from_it, _) = all_pages(
        &ds,
        101,
        100,
        Some(text(&d["dateDerniereModification"])),
        None,
    )
    .await;
    assert!(from_it.iter().any(|x| n(x) == numbers[10]), "{from_it:?}");
}

#[tokio::test]
async fn first_is_capped_at_100_and_pages_follow_numbers() {
    let server = server(330, &[]);
    let ds = Ds::new(&server);
    let query = "query($first: Int, $after: String) { demarche(number: 101) { dossiers(first: $first, after: $after) {
                   pageInfo { hasNextPage hasPreviousPage startCursor endCursor } nodes { number } } } }";
    let data = ds.data(query, json!({ "first": 500 })).await;
    let c = &data["demarche"]["dossiers"];
    assert_eq!(c["nodes"].as_array().unwrap().len(), 100);
    assert_eq!(c["pageInfo"]["hasNextPage"], true);
    assert_eq!(c["pageInfo"]["hasPreviousPage"], false);
    let first_page: Vec<i64> = c["nodes"].as_array().unwrap().iter().map(n).collect();
    let data = ds
        .data(query, json!({ "after": c["pageInfo"]["endCursor"] }))
        .await;
    let c = &data["demarche"]["dossiers"];
    let second: Vec<i64> = c["nodes"].as_array().unwrap().iter().map(n).collect();
    assert_eq!(second.len(), 10);
    assert_eq!(c["pageInfo"]["hasNextPage"], false);
    assert_eq!(c["pageInfo"]["hasPreviousPage"], true);
    assert!(second[0] > *first_page.last().unwrap());
    // Without `first`, a page is 100 too.
    let data = ds.data(query, json!({})).await;
    assert_eq!(
        data["demarche"]["dossiers"]["nodes"]
            .as_array()
            .unwrap()
            .len(),
        100
    );
    // A cursor that is not one, and a negative `first`, are bad requests.
    let answer = ds
        .ask(DEMO_TOKEN, query, json!({ "after": "nonsense" }))
        .await;
    assert_eq!(answer.error().1, "bad_request", "{}", answer.text);
    let answer = ds.ask(DEMO_TOKEN, query, json!({ "first": -1 })).await;
    assert_eq!(answer.error().1, "bad_request", "{}", answer.text);
}

#[tokio::test]
async fn deleted_dossiers_page_by_deletion_date() {
    let server = server(300, &[]);
    let ds = Ds::new(&server);
    let query = "query($after: String, $since: ISO8601DateTime) { demarche(number: 102) {
                   deletedDossiers(first: 1, after: $after, deletedSince: $since) {
                     pageInfo { hasNextPage endCursor } nodes { id number state reason dateSupression } } } }";
    let mut after: Option<String> = None;
    let mut all = Vec::new();
    loop {
        let data = ds.data(query, json!({ "after": after })).await;
        let c = &data["demarche"]["deletedDossiers"];
        all.extend(c["nodes"].as_array().unwrap().iter().cloned());
        after = c["pageInfo"]["endCursor"].as_str().map(str::to_string);
        if c["pageInfo"]["hasNextPage"] != true {
            break;
        }
    }
    assert_eq!(all.len(), 5, "{all:?}");
    let dates: Vec<time::OffsetDateTime> =
        all.iter().map(|d| instant(&d["dateSupression"])).collect();
    assert!(dates.windows(2).all(|w| w[0] <= w[1]));
    for d in &all {
        assert!(n(d) > 10_300, "deleted dossiers are not live ones: {d}");
        assert_eq!(text(&d["id"]).len() % 4, 0);
        assert!(
            [
                "user_request",
                "expired",
                "instructeur_request",
                "user_removed"
            ]
            .contains(&text(&d["reason"]))
        );
    }
    // deletedSince is inclusive and filters.
    let since = text(&all[2]["dateSupression"]).to_string();
    let data = ds
        .data(
            "query($since: ISO8601DateTime) { demarche(number: 102) { deletedDossiers(deletedSince: $since) { nodes { number } } } }",
            json!({ "since": since }),
        )
        .await;
    let later: Vec<i64> = data["demarche"]["deletedDossiers"]["nodes"]
        .as_array()
        .unwrap()
        .iter()
        .map(n)
        .collect();
    assert!(
        later.contains(&n(&all[2])) && !later.contains(&n(&all[0])) && later.len() >= 3,
        "{later:?}"
    );
}

// ---------------------------------------------------------------------------
// Mutations

/// What a state change must move: dateDerniereModification forward, one
/// more traitement, by the instructeur.
struct Track {
    last_change: time::OffsetDateTime,
    traitements: usize,
}

impl Track {
    fn new(dossier: &Value) -> Track {
        Track {
            last_change: instant(&dossier["dateDerniereModification"]),
            traitements: dossier["traitements"].as_array().unwrap().len(),
        }
    }

    fn check(&mut self, payload: &Value, state: &str, event: &str) -> Value {
        assert!(errors_of(payload).is_empty(), "{payload}");
        assert_eq!(payload["clientMutationId"], "m1");
        let dossier = &payload["dossier"];
        assert_eq!(dossier["state"], state, "{payload}");
        // Shown to the second: never earlier, and the stored microseconds
        // order it (the paging test checks that order).
        let changed = instant(&dossier["dateDerniereModification"]);
        assert!(
            changed >= self.last_change,
            "dateDerniereModification moves"
        );
        self.last_change = changed;
        let list = dossier["traitements"].as_array().unwrap();
        assert_eq!(list.len(), self.traitements + 1, "a traitement per change");
        self.traitements = list.len();
        let t = list.last().unwrap();
        assert_eq!(
            (t["state"].as_str(), t["event"].as_str()),
            (Some(state), Some(event))
        );
        assert_eq!(t["emailAgentTraitant"], "demo@guichet.test");
        dossier.clone()
    }
}

#[tokio::test]
async fn each_transition_and_each_refusal_in_french() {
    let server = server(300, &[]);
    let ds = Ds::new(&server);
    let groups = ds.instructeurs(102).await;
    let demo = groups[&203]["demo@guichet.test"].clone();
    let d = ds.in_groupe(203, "en_construction").await[0].clone();
    let id = text(&d["id"]).to_string();
    let input = |extra: Value| {
        let mut input = json!({ "dossierId": id, "instructeurId": demo, "clientMutationId": "m1" });
        input
            .as_object_mut()
            .unwrap()
            .extend(extra.as_object().unwrap().clone());
        input
    };
    let mut track = Track::new(&d);

    let p = ds
        .mutate(DEMO_TOKEN, "dossierPasserEnInstruction", input(json!({})))
        .await;
    let dossier = track.check(&p, "en_instruction", "passe_en_instruction");
    assert!(dossier["datePassageEnInstruction"].is_string());
    assert!(
        emails(&dossier["instructeurs"]).contains(&"demo@guichet.test".to_string()),
        "the instructeur follows it"
    );
    // A replay is refused with DS's words: the action had landed.
    let p = ds
        .mutate(DEMO_TOKEN, "dossierPasserEnInstruction", input(json!({})))
        .await;
    assert_eq!(errors_of(&p), vec!["Le dossier est déjà en instruction"]);
    assert!(p["dossier"].is_null());

    let p = ds
        .mutate(DEMO_TOKEN, "dossierAccepter", input(json!({})))
        .await;
    let dossier = track.check(&p, "accepte", "accepte");
    assert!(dossier["dateTraitement"].is_string() && dossier["motivation"].is_null());
    for name in ["dossierAccepter", "dossierPasserEnInstruction"] {
        let p = ds.mutate(DEMO_TOKEN, name, input(json!({}))).await;
        assert_eq!(errors_of(&p), vec!["Le dossier est déjà accepté"], "{name}");
    }
    let p = ds
        .mutate(
            DEMO_TOKEN,
            "dossierRefuser",
            input(json!({ "motivation": "Hors délai" })),
        )
        .await;
    assert_eq!(errors_of(&p), vec!["Le dossier est déjà accepté"]);

    let p = ds
        .mutate(DEMO_TOKEN, "dossierRepasserEnInstruction", input(json!({})))
        .await;
    let dossier = track.check(&p, "en_instruction", "repasse_en_instruction");
    assert!(dossier["dateTraitement"].is_null());
    let p = ds
        .mutate(DEMO_TOKEN, "dossierRepasserEnInstruction", input(json!({})))
        .await;
    assert_eq!(errors_of(&p), vec!["Le dossier est déjà en instruction"]);

    // Refusing needs a motivation: the schema says so (a validation error).
    let answer = ds
        .ask(
            DEMO_TOKEN,
            "mutation($input: DossierRefuserInput!) { dossierRefuser(input: $input) { errors { message } } }",
            json!({ "input": input(json!({})) }),
        )
        .await;
    assert_eq!(answer.status, StatusCode::OK);
    assert!(answer.error().0.contains("motivation"), "{}", answer.text);
    assert_eq!(ds.dossier(n(&d)).await["state"], "en_instruction");
    let p = ds
        .mutate(
            DEMO_TOKEN,
            "dossierRefuser",
            input(json!({ "motivation": "Pièces manquantes" })),
        )
        .await;
    let dossier = track.check(&p, "refuse", "refuse");
    assert_eq!(dossier["motivation"], "Pièces manquantes");
    assert_eq!(
        dossier["traitements"].as_array().unwrap().last().unwrap()["motivation"],
        "Pièces manquantes"
    );
    let p = ds
        .mutate(
            DEMO_TOKEN,
            "dossierRefuser",
            input(json!({ "motivation": "encore" })),
        )
        .await;
    assert_eq!(errors_of(&p), vec!["Le dossier est déjà refusé"]);

    ds.mutate(DEMO_TOKEN, "dossierRepasserEnInstruction", input(json!({})))
        .await;
    track = Track::new(&ds.dossier(n(&d)).await);
    let p = ds
        .mutate(
            DEMO_TOKEN,
            "dossierClasserSansSuite",
            input(json!({ "motivation": "Demande retirée" })),
        )
        .await;
    track.check(&p, "sans_suite", "classe_sans_suite");
    let p = ds
        .mutate(
            DEMO_TOKEN,
            "dossierRepasserEnConstruction",
            input(json!({})),
        )
        .await;
    assert_eq!(errors_of(&p), vec!["Le dossier est déjà classé sans suite"]);

    ds.mutate(DEMO_TOKEN, "dossierRepasserEnInstruction", input(json!({})))
        .await;
    track = Track::new(&ds.dossier(n(&d)).await);
    let p = ds
        .mutate(
            DEMO_TOKEN,
            "dossierRepasserEnConstruction",
            input(json!({})),
        )
        .await;
    track.check(&p, "en_construction", "repasse_en_construction");
    let p = ds
        .mutate(
            DEMO_TOKEN,
            "dossierRepasserEnConstruction",
            input(json!({})),
        )
        .await;
    assert_eq!(errors_of(&p), vec!["Le dossier est déjà en construction"]);
    let p = ds
        .mutate(DEMO_TOKEN, "dossierAccepter", input(json!({})))
        .await;
    assert_eq!(errors_of(&p), vec!["Le dossier est déjà en construction"]);

    // Under SVA (démarche 101), a dossier in instruction stays there.
    let sva_groups = ds.instructeurs(101).await;
    let demo_101 = sva_groups[&201]["demo@guichet.test"].clone();
    let sva = ds.in_groupe(201, "en_instruction").await[0].clone();
    let p = ds
        .mutate(
            DEMO_TOKEN,
            "dossierRepasserEnConstruction",
            json!({ "dossierId": sva["id"], "instructeurId": demo_101 }),
        )
        .await;
    let refusal = errors_of(&p);
    assert_eq!(refusal.len(), 1);
    assert!(refusal[0].contains("SVA"), "{refusal:?}");
    assert_eq!(ds.dossier(n(&sva)).await["state"], "en_instruction");

    // Unknown ids are top-level not_found errors.
    let answer = ds
        .ask(
            DEMO_TOKEN,
            "mutation($input: DossierAccepterInput!) { dossierAccepter(input: $input) { errors { message } } }",
            json!({ "input": { "dossierId": relay("Dossier", 999_999), "instructeurId": demo } }),
        )
        .await;
    assert_eq!(
        answer.error(),
        ("Dossier not found".into(), "not_found".into())
    );
}

#[tokio::test]
async fn only_the_instructeurs_of_the_dossiers_group_act_on_it() {
    let server = server(300, &[]);
    let ds = Ds::new(&server);
    let groups = ds.instructeurs(102).await;
    // One of group 204 who is not in 203.
    let outsider = groups[&204]
        .iter()
        .find(|(email, _)| !groups[&203].contains_key(*email))
        .map(|(_, id)| id.clone())
        .expect("an instructeur of 204 only");
    let d = ds.in_groupe(203, "en_construction").await[0].clone();
    let ids = json!({ "dossierId": d["id"], "instructeurId": outsider });
    let with = |extra: Value| {
        let mut input = ids.clone();
        input
            .as_object_mut()
            .unwrap()
            .extend(extra.as_object().unwrap().clone());
        input
    };
    let p = ds
        .mutate(DEMO_TOKEN, "dossierPasserEnInstruction", with(json!({})))
        .await;
    assert_eq!(errors_of(&p), vec![NO_ACCESS]);
    let p = ds
        .mutate(DEMO_TOKEN, "dossierBasculeSuivi", with(json!({})))
        .await;
    assert_eq!(errors_of(&p), vec![NO_ACCESS]);
    let answer = ds
        .ask(
            DEMO_TOKEN,
            "mutation($input: DossierEnvoyerMessageInput!) { dossierEnvoyerMessage(input: $input) { message { id } errors { message } } }",
            json!({ "input": with(json!({ "body": "Bonjour" })) }),
        )
        .await;
    let body = answer.json();
    assert_eq!(
        body["data"]["dossierEnvoyerMessage"]["errors"][0]["message"], NO_ACCESS,
        "{body}"
    );
    assert!(body["data"]["dossierEnvoyerMessage"]["message"].is_null());
    let after = ds.dossier(n(&d)).await;
    assert_eq!(after["state"], "en_construction");
    assert_eq!(after["messages"], d["messages"]);
    assert_eq!(
        after["dateDerniereModification"],
        d["dateDerniereModification"]
    );
    // A replayed state change by an outsider still says "déjà" first, as DS checks the state first.
    let en_instruction = ds.in_groupe(203, "en_instruction").await[0].clone();
    let p = ds
        .mutate(
            DEMO_TOKEN,
            "dossierPasserEnInstruction",
            json!({ "dossierId": en_instruction["id"], "instructeurId": outsider }),
        )
        .await;
    assert_eq!(errors_of(&p), vec!["Le dossier est déjà en instruction"]);
}

async fn send_message(ds: &Ds, input: Value) -> Value {
    let answer = ds
        .ask(
            DEMO_TOKEN,
            "mutation($input: DossierEnvoyerMessageInput!) { dossierEnvoyerMessage(input: $input) {
               clientMutationId message { id body createdAt email correction { reason dateResolution } } errors { message } } }",
            json!({ "input": input }),
        )
        .await;
    let body = answer.json();
    assert!(body.get("errors").is_none(), "{body}");
    body["data"]["dossierEnvoyerMessage"].clone()
}

#[tokio::test]
async fn messages_post_each_time_and_a_correction_sends_the_dossier_back() {
    let server = server(300, &[]);
    let ds = Ds::new(&server);
    let demo = ds.instructeurs(102).await[&203]["demo@guichet.test"].clone();
    let d = ds.in_groupe(203, "en_instruction").await[0].clone();
    let before = d["messages"].as_array().unwrap().len();
    let input = json!({ "dossierId": d["id"], "instructeurId": demo, "body": "Merci de joindre votre devis.", "correction": "incomplete" });
    let p = send_message(&ds, input.clone()).await;
    assert!(errors_of(&p).is_empty(), "{p}");
    assert_eq!(p["message"]["body"], "Merci de joindre votre devis.");
    assert_eq!(p["message"]["email"], "demo@guichet.test");
    assert_eq!(p["message"]["correction"]["reason"], "incomplete");
    assert!(p["message"]["correction"]["dateResolution"].is_null());
    let after = ds.dossier(n(&d)).await;
    assert_eq!(
        after["state"], "en_construction",
        "a correction sends it back"
    );
    assert_eq!(
        after["traitements"].as_array().unwrap().last().unwrap()["event"],
        "repasse_en_construction"
    );
    assert!(instant(&after["dateDerniereModification"]) > instant(&d["dateDerniereModification"]));
    // Not idempotent: a replay posts a second message (no second correction).
    let p = send_message(&ds, input).await;
    assert!(errors_of(&p).is_empty(), "{p}");
    assert!(
        p["message"]["correction"].is_null(),
        "a correction is already pending: {p}"
    );
    let messages = ds.dossier(n(&d)).await["messages"]
        .as_array()
        .unwrap()
        .clone();
    assert_eq!(messages.len(), before + 2);
    let ours = messages
        .iter()
        .filter(|m| m["body"] == "Merci de joindre votre devis.")
        .count();
    assert_eq!(ours, 2);
    // Going back into instruction resolves the correction.
    ds.mutate(
        DEMO_TOKEN,
        "dossierPasserEnInstruction",
        json!({ "dossierId": d["id"], "instructeurId": demo }),
    )
    .await;
    let messages = ds.dossier(n(&d)).await["messages"]
        .as_array()
        .unwrap()
        .clone();
    assert!(
        messages
            .iter()
            .any(|m| m["correction"]["dateResolution"].is_string()),
        "{messages:?}"
    );
    // A blank message is refused.
    let p = send_message(
        &ds,
        json!({ "dossierId": d["id"], "instructeurId": demo, "body": "  " }),
    )
    .await;
    assert_eq!(errors_of(&p), vec!["Votre message ne peut être vide"]);
    assert!(p["message"].is_null());
}

#[tokio::test]
async fn annotations_last_writer_wins_and_wrong_ones_are_named() {
    let server = server(300, &[]);
    let ds = Ds::new(&server);
    let demo = ds.instructeurs(103).await[&205]["demo@guichet.test"].clone();
    let d = ds.in_groupe(205, "en_construction").await[0].clone();
    let notes = d["annotations"]
        .as_array()
        .unwrap()
        .iter()
        .find(|a| a["label"] == "Notes internes")
        .expect("Notes internes")
        .clone();
    let observations = d["annotations"]
        .as_array()
        .unwrap()
        .iter()
        .find(|a| a["label"] == "Observations")
        .expect("Observations")
        .clone();
    let query = "mutation($input: DossierModifierAnnotationsInput!) { dossierModifierAnnotations(input: $input) {
                   annotations { id label stringValue updatedAt } errors { message } } }";
    let modify = |annotations: Value| json!({ "input": { "dossierId": d["id"], "instructeurId": demo, "annotations": annotations } });
    for value in ["Premier avis", "Avis définitif"] {
        let body = ds
            .ask(
                DEMO_TOKEN,
                query,
                modify(json!([{ "id": notes["id"], "value": { "text": value } }])),
            )
            .await
            .json();
        let p = &body["data"]["dossierModifierAnnotations"];
        assert!(p["errors"].is_null(), "{body}");
        assert_eq!(p["annotations"][0]["stringValue"], value);
    }
    let after = ds.dossier(n(&d)).await;
    let written = after["annotations"]
        .as_array()
        .unwrap()
        .iter()
        .find(|a| a["label"] == "Notes internes")
        .unwrap()
        .clone();
    assert_eq!(written["stringValue"], "Avis définitif");
    assert_eq!(written["value"], "Avis définitif");
    assert!(instant(&written["updatedAt"]) > instant(&notes["updatedAt"]));
    assert!(instant(&after["dateDerniereModification"]) > instant(&d["dateDerniereModification"]));

    // A text value for a textarea, and an id that is no annotation: named
    // in DS's words; the valid one of the same list is still written.
    let unknown = relay("Champ", 999);
    let body = ds
        .ask(
            DEMO_TOKEN,
            query,
            modify(json!([
                { "id": observations["id"], "value": { "text": "court" } },
                { "id": unknown, "value": { "text": "x" } },
                { "id": observations["id"], "value": { "textarea": "Visite faite.\nRien à signaler." } },
            ])),
        )
        .await
        .json();
    let p = &body["data"]["dossierModifierAnnotations"];
    assert_eq!(
        errors_of(p),
        vec![
            format!(
                "L‘annotation \"{}\" n’est pas de type attendu",
                text(&observations["id"])
            ),
            format!("L‘annotation \"{unknown}\" n’existe pas"),
        ]
    );
    assert_eq!(p["annotations"].as_array().unwrap().len(), 1);
    assert_eq!(
        p["annotations"][0]["stringValue"],
        "Visite faite.\nRien à signaler."
    );
    // A champ of the form is no annotation.
    let champ = d["champs"][0]["id"].clone();
    let body = ds
        .ask(
            DEMO_TOKEN,
            query,
            modify(json!([{ "id": champ, "value": { "text": "x" } }])),
        )
        .await
        .json();
    assert_eq!(
        errors_of(&body["data"]["dossierModifierAnnotations"]),
        vec![format!("L‘annotation \"{}\" n’existe pas", text(&champ))]
    );
    // `annotations(id:)` reads one back.
    let data = ds
        .data(
            "query($n: Int!, $id: ID) { dossier(number: $n) { annotations(id: $id) { label stringValue } } }",
            json!({ "n": n(&d), "id": notes["id"] }),
        )
        .await;
    assert_eq!(
        data["dossier"]["annotations"],
        json!([{ "label": "Notes internes", "stringValue": "Avis définitif" }])
    );
}

#[tokio::test]
async fn following_and_changing_group() {
    let server = server(300, &[]);
    let ds = Ds::new(&server);
    let groups = ds.instructeurs(101).await;
    let demo = groups[&201]["demo@guichet.test"].clone();
    let d = ds.in_groupe(201, "en_construction").await[0].clone();
    let query = "mutation($input: DossierBasculeSuiviInput!) { dossierBasculeSuivi(input: $input) {
                   dossier { instructeurs { email } } instructeur { id email } errors { message } } }";
    let body = ds
        .ask(
            DEMO_TOKEN,
            query,
            json!({ "input": { "dossierId": d["id"], "instructeurId": demo } }),
        )
        .await
        .json();
    let p = &body["data"]["dossierBasculeSuivi"];
    assert_eq!(p["instructeur"]["email"], "demo@guichet.test", "{body}");
    assert!(
        emails(&p["dossier"]["instructeurs"]).contains(&"demo@guichet.test".into()),
        "follow defaults to true"
    );
    let body = ds
        .ask(
            DEMO_TOKEN,
            query,
            json!({ "input": { "dossierId": d["id"], "instructeurId": demo, "follow": false } }),
        )
        .await
        .json();
    assert!(
        !emails(&body["data"]["dossierBasculeSuivi"]["dossier"]["instructeurs"])
            .contains(&"demo@guichet.test".into())
    );

    let change = |groupe: i64| json!({ "dossierId": d["id"], "groupeInstructeurId": relay("GroupeInstructeur", groupe) });
    let p = ds
        .mutate(DEMO_TOKEN, "dossierChangerGroupeInstructeur", change(201))
        .await;
    assert_eq!(
        errors_of(&p),
        vec!["Le dossier est déjà avec le groupe instructeur: 'Centre-ville'"]
    );
    let p = ds
        .mutate(DEMO_TOKEN, "dossierChangerGroupeInstructeur", change(203))
        .await;
    assert_eq!(
        errors_of(&p),
        vec![
            "Le groupe instructeur 'Jeunes de 18 à 25 ans' n’appartient pas à la même démarche que le dossier"
        ]
    );
    let p = ds
        .mutate(DEMO_TOKEN, "dossierChangerGroupeInstructeur", change(202))
        .await;
    assert!(errors_of(&p).is_empty(), "{p}");
    assert_eq!(p["dossier"]["groupeInstructeur"]["number"], 202);
    // The demo agent (not in 202) has lost access to it.
    let p = ds
        .mutate(
            DEMO_TOKEN,
            "dossierPasserEnInstruction",
            json!({ "dossierId": d["id"], "instructeurId": demo }),
        )
        .await;
    assert_eq!(errors_of(&p), vec![NO_ACCESS]);
    let listed: Vec<i64> = ds
        .in_groupe(202, "en_construction")
        .await
        .iter()
        .map(n)
        .collect();
    assert!(listed.contains(&n(&d)));
}

// ---------------------------------------------------------------------------
// Tokens, transport, throttling

#[tokio::test]
async fn tokens_scope_demarches_writes_and_time() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("server.db");
    {
        // The public way to make tokens before the server starts.
        let conn = guichet::server::open_database(&db).unwrap();
        let soon = time::OffsetDateTime::now_utc() + time::Duration::hours(1);
        guichet::server::demarches::add_token(&conn, "scoped-ro", Some(&[102]), true, Some(soon))
            .unwrap();
    }
    let server = start_on(
        &db,
        Some(10),
        &[
            "--demo-dossiers",
            "30",
            "--ds-token",
            "expired:expires=1000",
            "--ds-token",
            "writer:demarches=102",
        ],
    );
    let ds = Ds::new(&server);
    let demarche = "query($d: Int!) { demarche(number: $d) { title } }";
    let answer = ds.ask("scoped-ro", demarche, json!({ "d": 101 })).await;
    assert_eq!(answer.status, StatusCode::OK);
    assert_eq!(
        answer.error(),
        (
            "An object of type Demarche was hidden due to permissions".into(),
            "unauthorized".into()
        )
    );
    assert!(answer.json()["data"].is_null());
    let answer = ds.ask("scoped-ro", demarche, json!({ "d": 102 })).await;
    assert_eq!(
        answer.json()["data"]["demarche"]["title"],
        "Aide au permis de conduire"
    );
    let answer = ds
        .ask(
            "scoped-ro",
            "{ dossier(number: 10001) { number } }",
            json!({}),
        )
        .await;
    assert_eq!(
        answer.error().0,
        "An object of type Dossier was hidden due to permissions"
    );
    let answer = ds
        .ask(
            "scoped-ro",
            "{ groupeInstructeur(number: 201) { label } }",
            json!({}),
        )
        .await;
    assert_eq!(answer.error().1, "unauthorized");

    // A read-only token's mutation is refused as data, and changes nothing.
    let demo = ds.instructeurs(102).await[&203]["demo@guichet.test"].clone();
    let d = ds.in_groupe(203, "en_construction").await[0].clone();
    let p = ds
        .mutate(
            "scoped-ro",
            "dossierPasserEnInstruction",
            json!({ "dossierId": d["id"], "instructeurId": demo }),
        )
        .await;
    assert_eq!(
        errors_of(&p),
        vec!["Le jeton utilisé est configuré seulement en lecture"]
    );
    assert_eq!(ds.dossier(n(&d)).await["state"], "en_construction");
    // A writer limited to 102 may write there, not on 101's dossiers.
    let p = ds
        .mutate(
            "writer",
            "dossierPasserEnInstruction",
            json!({ "dossierId": d["id"], "instructeurId": demo }),
        )
        .await;
    assert_eq!(p["dossier"]["state"], "en_instruction", "{p}");
    let answer = ds
        .ask(
            "writer",
            "mutation($input: DossierPasserEnInstructionInput!) { dossierPasserEnInstruction(input: $input) { errors { message } } }",
            json!({ "input": { "dossierId": relay("Dossier", 10_001), "instructeurId": demo } }),
        )
        .await;
    assert_eq!(
        answer.error().0,
        "An object of type Dossier was hidden due to permissions"
    );

    // Expired: 401; unknown or missing: 403.
    let answer = ds.ask("expired", demarche, json!({ "d": 102 })).await;
    assert_eq!(answer.status, StatusCode::UNAUTHORIZED);
    assert_eq!(
        answer.error(),
        ("Token expired".into(), "unauthorized".into())
    );
    for authorization in [
        None,
        Some("Bearer nobody-knows-me"),
        Some("Basic ZGVtbzpkZW1v"),
    ] {
        let answer = ds
            .raw(
                authorization,
                json!({ "query": "{ demarche(number: 102) { title } }" }).to_string(),
            )
            .await;
        assert_eq!(answer.status, StatusCode::FORBIDDEN, "{authorization:?}");
        assert_eq!(
            answer.error(),
            (
                "Without a token, only persisted queries are allowed".into(),
                "forbidden".into()
            )
        );
    }
}

#[tokio::test]
async fn the_demo_token_lives_only_with_the_demo() {
    let server = server(20, &[]);
    let ds = Ds::new(&server);
    assert_eq!(
        ds.ask(DEMO_TOKEN, "{ demarche(number: 101) { title } }", json!({}))
            .await
            .status,
        StatusCode::OK
    );
    let server = server.restart(None, &[]);
    let ds = Ds::new(&server);
    let answer = ds
        .ask(DEMO_TOKEN, "{ demarche(number: 101) { title } }", json!({}))
        .await;
    assert_eq!(answer.status, StatusCode::FORBIDDEN, "{}", answer.text);
}

#[tokio::test]
async fn malformed_bodies_are_400_and_graphql_errors_200() {
    let server = server(20, &[]);
    let ds = Ds::new(&server);
    let bearer = format!("Bearer {DEMO_TOKEN}");
    let answer = ds.raw(Some(&bearer), "{\"query\": ").await;
    assert_eq!(answer.status, StatusCode::BAD_REQUEST);
    assert_eq!(answer.error().1, "bad_request");
    let answer = ds
        .raw(
            Some(&bearer),
            json!({ "query": "query($n: Int!) { dossier(number: $n) { number } }", "variables": "{oops" }).to_string(),
        )
        .await;
    assert_eq!(answer.status, StatusCode::BAD_REQUEST);
    assert_eq!(answer.error().1, "graphql_parse_failed");
    // The server's body bound applies here too: a body announced past it
    // is refused from the request's head.
    let head = format!(
        "POST {ENDPOINT} HTTP/1.1\r\nHost: {}\r\nAuthorization: {bearer}\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n",
        server.address(),
        2 * 1024 * 1024
    );
    let mut stream = tokio::net::TcpStream::connect(server.address())
        .await
        .unwrap();
    tokio::io::AsyncWriteExt::write_all(&mut stream, head.as_bytes())
        .await
        .unwrap();
    let mut answer = Vec::new();
    tokio::time::timeout(
        std::time::Duration::from_secs(10),
        tokio::io::AsyncReadExt::read_to_end(&mut stream, &mut answer),
    )
    .await
    .expect("answered from the head")
    .unwrap();
    let status_line = String::from_utf8_lossy(&answer)
        .lines()
        .next()
        .unwrap_or_default()
        .to_string();
    assert!(status_line.contains(" 413 "), "{status_line}");
    // Variables as a JSON string are read, as DS reads them.
    let answer = ds
        .raw(
            Some(&bearer),
            json!({ "query": "query($n: Int!) { dossier(number: $n) { number } }", "variables": "{\"n\": 10002}" }).to_string(),
        )
        .await;
    assert_eq!(
        answer.json()["data"]["dossier"]["number"],
        10_002,
        "{}",
        answer.text
    );
    // GraphQL syntax and validation errors: 200, with a code.
    let answer = ds
        .ask(
            DEMO_TOKEN,
            "{ dossier(number: 10001 { number } }",
            json!({}),
        )
        .await;
    assert_eq!(answer.status, StatusCode::OK);
    assert_eq!(answer.error().1, "graphql_parse_failed");
    let answer = ds
        .ask(DEMO_TOKEN, "{ dossier(number: 10001) { nope } }", json!({}))
        .await;
    assert_eq!(answer.status, StatusCode::OK);
    let (message, code) = answer.error();
    assert!(
        message.contains("nope") && !code.is_empty(),
        "{}",
        answer.text
    );
    // Too deep (DS's limit: 15) or too complex a query is refused before it runs.
    let mut deep = String::from("name");
    for _ in 0..20 {
        deep = format!("name ofType {{ {deep} }}");
    }
    let deep = format!("{{ __schema {{ types {{ fields {{ type {{ {deep} }} }} }} }} }}");
    let answer = ds.ask(DEMO_TOKEN, &deep, json!({})).await;
    assert_eq!(answer.status, StatusCode::OK);
    assert!(answer.json()["data"].is_null(), "{}", answer.text);
    assert!(answer.error().0.contains("deep"), "{}", answer.text);
    let wide: String = (0..600)
        .map(|i| format!("a{i}: demarche(number: 101) {{ number }} "))
        .collect();
    let answer = ds
        .ask(DEMO_TOKEN, &format!("{{ {wide} }}"), json!({}))
        .await;
    let message = answer.error().0;
    assert!(message.contains("complex"), "{message}");
    assert!(answer.json()["data"].is_null());
}

#[tokio::test]
async fn past_the_rate_limit_429_with_its_reset_and_no_retry_after() {
    let server = server(20, &["--ds-rate-limit", "3"]);
    let ds = Ds::new(&server);
    let mut throttled = None;
    for i in 0..10 {
        let answer = ds
            .ask(DEMO_TOKEN, "{ demarche(number: 101) { title } }", json!({}))
            .await;
        if answer.status == StatusCode::TOO_MANY_REQUESTS {
            throttled = Some((i, answer));
            break;
        }
        assert_eq!(answer.status, StatusCode::OK, "{}", answer.text);
    }
    // Three a minute, so the fourth (the seventh across a minute's turn).
    let (i, answer) = throttled.expect("throttled");
    assert!((3..=6).contains(&i), "throttled at request {i}");
    let header = |name: &str| {
        answer
            .headers
            .get(name)
            .and_then(|v| v.to_str().ok())
            .map(str::to_string)
    };
    assert_eq!(header("ratelimit-remaining").as_deref(), Some("0"));
    let reset: i64 = header("ratelimit-reset")
        .expect("RateLimit-Reset")
        .parse()
        .unwrap();
    let now = time::OffsetDateTime::now_utc().unix_timestamp();
    assert!(
        reset > now - 1 && reset <= now + 61,
        "reset {reset}, now {now}"
    );
    assert!(header("retry-after").is_none(), "no Retry-After");
    assert!(header("content-type").is_some_and(|c| c.starts_with("text/plain")));
    assert!(
        serde_json::from_str::<Value>(&answer.text).is_err(),
        "a plain-text body"
    );
    // Another Authorization header has its own allowance.
    let other = ds
        .raw(
            Some("Bearer someone-else"),
            json!({ "query": "{ demarche(number: 101) { title } }" }).to_string(),
        )
        .await;
    assert_eq!(other.status, StatusCode::FORBIDDEN);
}

#[tokio::test]
async fn dates_follow_the_servers_clock_and_paris_summer_time() {
    // Move the server's clock to 15 July of next year, just past midday UTC
    // (the offset is whole seconds: aim at half a minute past).
    let now = time::OffsetDateTime::now_utc();
    let july = time::Date::from_calendar_date(now.year() + 1, time::Month::July, 15)
        .unwrap()
        .with_hms(12, 0, 30)
        .unwrap()
        .assume_utc();
    let offset = (july - now).whole_seconds().to_string();
    let server = server(20, &["--clock-offset", &offset]);
    let ds = Ds::new(&server);
    let demo = ds.instructeurs(102).await[&203]["demo@guichet.test"].clone();
    let d = ds.in_groupe(203, "en_construction").await[0].clone();
    let p = ds
        .mutate(
            DEMO_TOKEN,
            "dossierPasserEnInstruction",
            json!({ "dossierId": d["id"], "instructeurId": demo }),
        )
        .await;
    let at = text(&p["dossier"]["datePassageEnInstruction"]);
    assert!(at.ends_with("+02:00"), "{at}");
    assert!(
        at.starts_with(&format!("{}-07-15T14:", now.year() + 1)),
        "{at}"
    );
    assert_eq!(
        p["dossier"]["dateDerniereModification"],
        p["dossier"]["datePassageEnInstruction"]
    );
}

/// Every query the Guichet adapter sends is valid against the served
/// schema and answers without error on the demo data (its mutations run in
/// the sync tests, tests/sync/demarches.rs).
#[tokio::test]
async fn every_query_of_the_adapter_runs() {
    let server = server(40, &[]);
    let ds = Ds::new(&server);
    for (name, document) in guichet::backend::demarches::queries::all() {
        if !document.trim_start().starts_with("query") {
            continue;
        }
        let mut variables = serde_json::Map::new();
        // `$name: Type` declarations, given values the demo has.
        for declaration in document.split('$').skip(1) {
            let Some((var, rest)) = declaration.split_once(':') else {
                continue;
            };
            let (var, kind) = (var.trim(), rest.trim_start());
            if var.is_empty()
                || variables.contains_key(var)
                || !var.chars().all(|c| c.is_alphanumeric())
            {
                continue;
            }
            let value = if kind.starts_with("Int") {
                match var.chars().next() {
                    Some('d') => json!(101),
                    Some('g') => json!(201),
                    Some('f') => json!(100),
                    _ => json!(10_001),
                }
            } else {
                Value::Null
            };
            variables.insert(var.to_string(), value);
        }
        let data = ds.data(&document, Value::Object(variables)).await;
        assert!(!data.is_null(), "{name}: no data");
    }
}

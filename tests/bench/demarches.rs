//! A first sync of Démarches Simplifiées dossiers (issue #12): the
//! supervisor, instructeur of every group, syncs the demo démarches from
//! `guichet serve`'s DS endpoint through the (pass-through) test proxy,
//! which counts requests and bytes. Beside it, in the same run, the same
//! dossiers fetched the simplest way: each démarche's dossiers in pages of
//! 100, one request after another, with the same fields.
//!
//!   cargo bench --bench demarches                      (10,000 dossiers)
//!   GUICHET_BENCH_DOSSIERS=2000 cargo bench --bench demarches

use std::time::Instant;

use serde_json::{Value, json};

use support::agent::Agent;
use support::bench::{env_number, listing};
use support::client::Auth;
use support::proxy::FaultProxy;
use support::server;

const TOKEN: &str = "demo-ds-token";
const DEMARCHES: [i64; 3] = [101, 102, 103];

fn main() {
    if listing() {
        return;
    }
    let dossiers = env_number("GUICHET_BENCH_DOSSIERS", 10_000);
    let runtime = tokio::runtime::Runtime::new().expect("runtime");
    let started = Instant::now();
    let server = server::start(10, &["--demo-dossiers", &dossiers.to_string()]);
    println!(
        "server seeded with {dossiers} dossiers in {:.1} s",
        started.elapsed().as_secs_f64()
    );
    let proxy = runtime.block_on(FaultProxy::start(server.address()));

    // The plain client: every dossier of each démarche, with the fields
    // Guichet reads, page after page.
    let fields = guichet::backend::demarches::queries::DOSSIER_FIELDS;
    let query = format!(
        "query($d: Int!, $a: String) {{ demarche(number: $d) {{ dossiers(first: 100, after: $a) {{
           pageInfo {{ hasNextPage endCursor }} nodes {{ ...DossierFields }} }} }} }}\n{fields}"
    );
    let client = server.client("x").with_auth(Auth::Bearer(TOKEN.into()));
    let before = proxy.stats();
    let plain_started = Instant::now();
    let mut plain_dossiers = 0;
    let mut plain_requests = 0;
    runtime.block_on(async {
        for d in DEMARCHES {
            let mut after = Value::Null;
            loop {
                let reply = client
                    .send(
                        client
                            .request(
                                reqwest::Method::POST,
                                &format!("{}/api/v2/graphql", proxy.url),
                            )
                            .json(&json!({ "query": query, "variables": { "d": d, "a": after } })),
                    )
                    .await
                    .expect(200);
                plain_requests += 1;
                let page = &reply.body["data"]["demarche"]["dossiers"];
                plain_dossiers += page["nodes"].as_array().map_or(0, Vec::len);
                if page["pageInfo"]["hasNextPage"] != true {
                    break;
                }
                after = page["pageInfo"]["endCursor"].clone();
            }
        }
    });
    let plain = plain_started.elapsed();
    let plain_bytes = proxy.stats().bytes_to_client - before.bytes_to_client;

    let agent = Agent::login_demarches(&proxy.url, "superviseur@guichet.test", TOKEN, &DEMARCHES);
    let before = proxy.stats();
    let sync_started = Instant::now();
    let report: Value = serde_json::from_str(&agent.ok(&["sync", "--json"])).expect("sync --json");
    let first = sync_started.elapsed();
    let after = proxy.stats();
    let listed = agent
        .json(&[
            "--offline",
            "cases",
            "--view",
            "all",
            "--limit",
            "100000",
            "--json",
        ])
        .as_array()
        .map_or(0, Vec::len);
    let idle_before = proxy.stats();
    let idle_started = Instant::now();
    agent.ok(&["sync"]);
    let idle = idle_started.elapsed();
    let idle_after = proxy.stats();

    println!(
        "first sync: {listed} dossiers stored ({} received) in {:.1} s, {} requests, {} bytes down, {} up",
        report["report"]["pull"]["cases_received"],
        first.as_secs_f64(),
        after.requests - before.requests,
        after.bytes_to_client - before.bytes_to_client,
        after.bytes_from_client - before.bytes_from_client,
    );
    println!(
        "plain client: {plain_dossiers} dossiers in {:.1} s, {plain_requests} requests, {plain_bytes} bytes down",
        plain.as_secs_f64()
    );
    println!(
        "SUMMARY|demarches ({dossiers} dossiers)|full first sync (supervisor, every group)|{:.1} s, {} requests, {:.1} MB down|plain client, same fields: {:.1} s: Guichet/plain = {:.2}",
        first.as_secs_f64(),
        after.requests - before.requests,
        (after.bytes_to_client - before.bytes_to_client) as f64 / 1e6,
        plain.as_secs_f64(),
        first.as_secs_f64() / plain.as_secs_f64(),
    );
    println!(
        "SUMMARY|demarches ({dossiers} dossiers)|idle sync|{:.2} s, {} requests, {} bytes down|",
        idle.as_secs_f64(),
        idle_after.requests - idle_before.requests,
        idle_after.bytes_to_client - idle_before.bytes_to_client,
    );
    assert_eq!(listed, plain_dossiers, "every dossier stored once");
}

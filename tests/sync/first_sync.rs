//! A first sync: the agent's working set before the history, every case
//! once, and the request plan of a pull that reads the whole history.

use std::collections::HashSet;
use std::time::Duration;

use serde_json::Value;
use support::agent::Agent;
use support::chaos::Dice;
use support::proxy::{Fault, FaultProxy};
use support::server::start;

/// A field's value, a reference's sys_id for reference fields.
fn text(value: &Value) -> &str {
    match value {
        Value::Object(reference) => reference["value"].as_str().unwrap_or(""),
        other => other.as_str().unwrap_or(""),
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_working_set_comes_first_then_every_case_once() {
    let server = start(2600, &[]);
    let agent = Agent::login(&server.url, "demo");
    let report = agent.json(&["sync", "--json"]);
    let pull = &report["report"]["pull"];

    // What the back-end says the working set is: demo's open cases, and the
    // open cases nobody took in demo's groups.
    let demo = server.client("demo");
    let me = demo.user_id("demo").await;
    let cases = demo
        .all_cases("sys_id,number,active,assigned_to,assignment_group")
        .await;
    let groups: HashSet<String> = demo
        .list(
            "/api/now/table/sys_user_grmember",
            &[
                ("sysparm_query", &format!("user={me}")),
                ("sysparm_fields", "group"),
            ],
        )
        .await
        .rows()
        .iter()
        .map(|r| text(&r["group"]).to_string())
        .collect();
    let expected = cases
        .iter()
        .filter(|c| text(&c["active"]) == "true")
        .filter(|c| {
            text(&c["assigned_to"]) == me
                || (text(&c["assigned_to"]).is_empty()
                    && groups.contains(text(&c["assignment_group"])))
        })
        .count();
    assert!(expected > 0, "demo has a working set to fetch");
    assert_eq!(pull["working_set"], expected, "{pull}");

    // Then the history, every case once.
    let numbers = agent.numbers("all", 10_000);
    let unique: HashSet<&String> = numbers.iter().collect();
    assert_eq!(unique.len(), numbers.len(), "no case twice");
    assert_eq!(numbers.len(), cases.len(), "every case the agent can see");
    // Each case was fetched once by the history's pages (a page read twice
    // would count twice), and pages grew past the first one's 500 cases:
    // at 500 each, 2,600 cases take 6 pages.
    assert_eq!(pull["cases_received"], cases.len(), "{pull}");
    assert!(pull["pages"].as_u64() < Some(6), "{pull}");

    // A later sync starts from the watermark: no working set again.
    let again = agent.json(&["sync", "--json"]);
    assert_eq!(again["report"]["pull"]["working_set"], 0, "{again}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_first_sync_killed_at_random_points_resumes_with_every_case_once() {
    let server = start(3000, &[]);
    let proxy = FaultProxy::start(server.address()).await;
    let agent = Agent::login(&proxy.url, "superviseur");
    // Slow answers, so that kills land between pages and inside them.
    proxy.set_default(Fault::Delay(Duration::from_millis(40)));
    agent.kill_syncs(&mut Dice::new(), Duration::from_millis(700));
    proxy.set_default(Fault::Pass);
    agent.ok(&["sync"]);

    let numbers = agent.numbers("all", 10_000);
    let unique: HashSet<&String> = numbers.iter().collect();
    assert_eq!(unique.len(), numbers.len(), "no case twice");
    let seen = server.client("superviseur").all_cases("number").await;
    assert_eq!(numbers.len(), seen.len(), "every case, once");
    // Every case's citizen came with it.
    let detail = agent.json(&["--offline", "case", &numbers[numbers.len() / 2], "--json"]);
    assert!(detail["citizen_details"].is_object(), "{detail}");
}

/// A first sync whose third page of history fails, after the page writer
/// took the first two: those are kept with their watermark, and the next
/// sync reads only what follows them, every case once.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_first_sync_cut_by_a_failed_page_resumes_after_the_pages_stored() {
    let server = start(3000, &[]);
    let proxy = FaultProxy::start(server.address()).await;
    let agent = Agent::login(&proxy.url, "superviseur");
    // Pages of history (500, then 2,000 cases) are the requests ordered by
    // update time; the third one fails (a sync does not ask twice).
    proxy.schedule_matching(
        "ORDERBYsys_updated_on",
        [Fault::Pass, Fault::Pass, Fault::Status(503)],
    );
    let failed = agent.run(&["sync"]);
    assert_ne!(
        failed.code, 0,
        "the third page failed the sync: {}",
        failed.stderr
    );
    let kept = agent.numbers("all", 10_000).len();
    assert!(kept >= 2500, "the two pages stored: {kept} cases");

    let report = agent.json(&["sync", "--json"]);
    let pull = &report["report"]["pull"];
    let received = pull["cases_received"].as_u64().unwrap_or(0);
    assert!(received < 1000, "resumed after the pages stored: {pull}");
    let numbers = agent.numbers("all", 10_000);
    let unique: HashSet<&String> = numbers.iter().collect();
    assert_eq!(unique.len(), numbers.len(), "no case twice");
    let seen = server.client("superviseur").all_cases("number").await;
    assert_eq!(numbers.len(), seen.len(), "every case, once");
}

//! Intake at the counter (issue #11): cases opened offline for citizens met
//! at the counter, with work queued behind each opening, created exactly
//! once when the link comes back (through lost answers and kills, with and
//! without the server's extensions), their provisional numbers replaced
//! everywhere.

use std::collections::BTreeMap;
use std::time::Duration;

use serde_json::Value;
use support::agent::{Agent, synced_through_proxy};
use support::proxy::Fault;
use support::server::{Server, start};

/// A few demo cases (their citizens are known), and the agent synced.
fn desk(extra: &[&str]) -> (Server, Agent) {
    let server = start(30, extra);
    let agent = Agent::login(&server.url, "demo");
    agent.ok(&["sync"]);
    (server, agent)
}

/// The group option a back-end without the procedure catalogue needs.
fn group_args(extensions: bool) -> Vec<&'static str> {
    if extensions {
        Vec::new()
    } else {
        vec!["--group", "titres"]
    }
}

/// Opens `n` cases offline, each for a new citizen, with a comment and a
/// state change queued behind it. Returns (provisional number, summary,
/// comment) of each.
fn open_offline(agent: &Agent, n: usize, extensions: bool) -> Vec<(String, String, String)> {
    let mut opened = Vec::new();
    for i in 0..n {
        let summary = format!("Renouvellement de passeport, guichet {i}");
        let name = format!("Usagère{i} Comptoir{i}");
        let email = format!("usagere{i}@example.org");
        let mut args = vec![
            "--offline",
            "new",
            "--new-citizen",
            &name,
            "--email",
            &email,
            "--procedure",
            "passeport",
            "--summary",
            &summary,
            "--json",
        ];
        args.extend(group_args(extensions));
        let case = agent.json(&args);
        let number = case["number"].as_str().expect("number").to_string();
        assert!(number.starts_with("NEW-"), "{number}");
        let comment = format!("Pièces reçues pour le dossier {i}.");
        agent.ok(&["--offline", "comment", &number, &comment]);
        agent.ok(&["--offline", "state", &number, "awaiting_info"]);
        opened.push((number, summary, comment));
    }
    opened
}

/// Every case and citizen is on the server once, with its comment once and
/// its state; locally every provisional number now names the real case.
async fn check_once(server: &Server, agent: &Agent, opened: &[(String, String, String)]) {
    assert!(agent.queue().is_empty(), "{:?}", agent.queue());
    let boss = server.client("superviseur");
    let cases = boss
        .all_cases("sys_id,number,short_description,state,consumer")
        .await;
    let mut by_summary: BTreeMap<String, Vec<&Value>> = BTreeMap::new();
    for case in &cases {
        if let Some(summary) = case["short_description"].as_str() {
            by_summary
                .entry(summary.to_string())
                .or_default()
                .push(case);
        }
    }
    for (provisional, summary, comment) in opened {
        let found = by_summary.get(summary).cloned().unwrap_or_default();
        assert_eq!(found.len(), 1, "{summary} created {} times", found.len());
        let number = found[0]["number"].as_str().expect("number");
        assert_eq!(boss.journal_count(number, comment).await, 1, "{comment}");
        let local = agent.json(&["--offline", "case", provisional, "--json"]);
        assert_eq!(local["number"], number, "{provisional} names the real case");
        assert_eq!(local["state_label"], "Awaiting Info");
        assert!(
            local["citizen"]
                .as_str()
                .is_some_and(|c| c.contains("Comptoir")),
            "{local}"
        );
    }
    let listed = agent.ok(&["--offline", "cases", "--view", "all", "--limit", "1000"]);
    assert!(
        !listed.contains("NEW-"),
        "no provisional number left: {listed}"
    );
    // One citizen per name.
    for (_, summary, _) in opened {
        let i = summary.rsplit(' ').next().expect("index");
        let rows = boss
            .list(
                "/api/now/table/csm_consumer",
                &[("sysparm_query", &format!("last_name=Comptoir{i}"))],
            )
            .await;
        assert_eq!(rows.rows().len(), 1, "Comptoir{i}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn fifty_cases_opened_offline_are_created_once_with_their_work() {
    let (server, agent) = desk(&[]);
    let opened = open_offline(&agent, 50, true);
    assert_eq!(agent.queue().len(), 150);
    // The receipt says the number is provisional.
    let receipt = agent.ok(&["--offline", "receipt", &opened[0].0]);
    assert!(receipt.contains(&opened[0].0), "{receipt}");
    assert!(receipt.contains("provisional"), "{receipt}");
    // The agent is told each real number.
    let synced = agent.ok(&["sync"]);
    assert!(
        synced.contains(&format!("{} is now CS", opened[0].0)),
        "{synced}"
    );
    check_once(&server, &agent, &opened).await;
    let receipt = agent.ok(&["--offline", "receipt", &opened[0].0]);
    assert!(!receipt.contains("provisional"), "{receipt}");
}

async fn through_lost_answers(extra: &[&str], extensions: bool) {
    let (server, proxy, agent) = synced_through_proxy(30, extra, "demo").await;
    let opened = open_offline(&agent, 8, extensions);
    // Answers lost after the server applied the POST, again and again.
    for _ in 0..6 {
        proxy.schedule_writes([
            Fault::ResetAfterUpstream,
            Fault::Pass,
            Fault::TruncateBody,
            Fault::Status(502),
            Fault::ResetAfterUpstream,
            Fault::Delay(Duration::from_millis(50)),
        ]);
    }
    agent.sync_until_drained(80);
    assert!(proxy.stats().faults >= 6, "{:?}", proxy.stats());
    // Openings met the faults: some were sent again or read back.
    let all = agent.json(&["--offline", "queue", "--all", "--json"]);
    assert!(
        all.as_array()
            .expect("a list")
            .iter()
            .any(|e| e["kind"] == "open"
                && (e["attempts"].as_u64() > Some(1) || e["settled_by"] == "read_back")),
        "no opening met a fault: {all}"
    );
    check_once(&server, &agent, &opened).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn lost_answers_create_nothing_twice_with_keys() {
    through_lost_answers(&[], true).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn lost_answers_create_nothing_twice_without_extensions() {
    through_lost_answers(&["--no-extensions"], false).await;
}

async fn through_kills(extra: &[&str], extensions: bool) {
    let server = start(30, extra);
    let agent = Agent::login(&server.url, "demo");
    agent.ok(&["sync"]);
    let opened = open_offline(&agent, 10, extensions);
    let mut dice = support::chaos::Dice::new();
    agent.kill_syncs(&mut dice, Duration::from_millis(400));
    agent.sync_until_drained(20);
    check_once(&server, &agent, &opened).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn kills_create_nothing_twice_with_keys() {
    through_kills(&[], true).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn kills_create_nothing_twice_without_extensions() {
    through_kills(&["--no-extensions"], false).await;
}

#[test]
fn a_known_citizen_is_found_and_a_near_duplicate_is_said() {
    let (_server, agent) = desk(&[]);
    let case = agent.json(&["--offline", "case", &agent.numbers("open", 1)[0], "--json"]);
    let name = case["citizen_details"]["name"]
        .as_str()
        .expect("name")
        .to_string();
    let email = case["citizen_details"]["email"]
        .as_str()
        .expect("email")
        .to_string();
    // Found by e-mail: one citizen, no new record.
    let opened = agent.json(&[
        "--offline",
        "new",
        "--citizen",
        &email,
        "--procedure",
        "passeport",
        "--summary",
        "Passeport perdu",
        "--json",
    ]);
    assert_eq!(opened["citizen"], name);
    // Recorded again under the same name: the agent is warned.
    let out = agent
        .run(&[
            "--offline",
            "new",
            "--new-citizen",
            &name,
            "--email",
            "autre@example.org",
            "--procedure",
            "passeport",
            "--summary",
            "Passeport perdu",
        ])
        .expect(0);
    assert!(out.stderr.contains("near-identical"), "{}", out.stderr);
    assert!(out.stderr.contains(&name), "{}", out.stderr);
    // A query naming nobody is refused with what is closest.
    let none = agent
        .run(&[
            "--offline",
            "new",
            "--citizen",
            "Zzyzx Qwerty",
            "--procedure",
            "passeport",
            "--summary",
            "x",
        ])
        .expect(3);
    assert!(none.stderr.contains("Zzyzx"), "{}", none.stderr);
    // What is missing is said before anything is queued.
    let before = agent.queue().len();
    let missing = agent
        .run(&[
            "--offline",
            "new",
            "--new-citizen",
            "Solo",
            "--procedure",
            "passeport",
            "--summary",
            "x",
        ])
        .expect(2);
    assert!(missing.stderr.contains("last name"), "{}", missing.stderr);
    assert!(
        missing.stderr.contains("e-mail or phone"),
        "{}",
        missing.stderr
    );
    assert_eq!(agent.queue().len(), before);
}

#[test]
fn a_refused_opening_holds_the_work_queued_behind_it() {
    let (_server, agent) = desk(&[]);
    // A citizen this workstation knows and the back-end does not (gone
    // since): the back-end refuses to open a case for them.
    agent
        .open_store()
        .save_citizens(&[guichet::domain::Citizen {
            id: "0123456789abcdef0123456789abcdef".into(),
            first_name: "Fantôme".into(),
            last_name: "Disparu".into(),
            email: "fantome@example.org".into(),
            ..Default::default()
        }])
        .expect("a citizen");
    let opened = agent.json(&[
        "--offline",
        "new",
        "--citizen",
        "fantome@example.org",
        "--procedure",
        "passeport",
        "--summary",
        "Ouverture refusée",
        "--json",
    ]);
    let number = opened["number"].as_str().expect("number").to_string();
    agent.ok(&["--offline", "comment", &number, "Bonjour"]);
    let _ = agent.run(&["sync"]);
    let queue = agent.queue();
    assert_eq!(queue.len(), 2, "{queue:?}");
    assert_eq!(queue[0]["state"], "failed", "{queue:?}");
    assert!(
        queue[0]["error"].as_str().is_some_and(|e| !e.is_empty()),
        "says why: {queue:?}"
    );
    assert_eq!(queue[1]["state"], "pending", "held: {queue:?}");
    // Nothing was sent for a case that does not exist.
    let shown = agent.json(&["--offline", "case", &number, "--json"]);
    assert_eq!(shown["number"], number.as_str());
}

//! The console end to end, as an agent uses it: the real binary in a
//! pseudo-terminal (tmux, 80x24) against a real `guichet serve`. Keys are
//! typed, the screen is read back, and the back-end is asked what landed.

use std::time::Duration;

use support::agent::{Agent, synced_through_proxy};
use support::client::{Client, s};
use support::server::start;
use support::tmux::Console;

/// The console on the agent's profile, at 80x24, in English, without colour.
fn open_console(agent: &Agent) -> Console {
    let console = Console::start(
        agent.home(),
        &agent.profile,
        (80, 24),
        &[("LC_ALL", "en_GB.UTF-8"), ("NO_COLOR", "1")],
        &[],
    );
    console.wait_for("[1 Mine]");
    console
}

/// A case of mine whose citizen's name has an accent, with the name as an
/// agent would type it without accents.
fn case_with_accented_citizen(agent: &Agent) -> (String, String, String) {
    let cases = agent.my_cases();
    assert!(!cases.is_empty(), "the demo agent has cases");
    let case = cases
        .iter()
        .find(|c| {
            let name = c["citizen"].as_str().unwrap_or("");
            !name.is_ascii() && name.split_whitespace().count() >= 2
        })
        .expect("a citizen with an accent among my cases");
    let name = case["citizen"].as_str().expect("citizen").to_string();
    let typed = guichet::domain::text::fold(&name);
    (
        case["number"].as_str().expect("number").to_string(),
        name,
        typed,
    )
}

/// Filters by the citizen typed without accents, opens the case, answers
/// the citizen and resolves it.
fn work_the_case(console: &Console, number: &str, typed: &str, comment: &str) {
    console.keys(&["/"]);
    console.type_text(typed);
    console.keys(&["Enter"]);
    // The case is in the filtered list, selected or not: go to it.
    let screen = console.wait_for(number);
    let rows: Vec<&str> = screen.lines().skip(3).collect();
    let at = rows
        .iter()
        .position(|l| l.contains(number))
        .expect("the case in the list");
    for _ in 0..at {
        console.keys(&["j"]);
    }
    console.wait_until("the case selected", |s| {
        s.lines().any(|l| l.starts_with('▶') && l.contains(number))
    });
    console.keys(&["Enter"]);
    console.wait_for(&format!(" {number} "));
    console.keys(&["c"]);
    console.wait_for("Answer to the citizen");
    console.type_text(comment);
    console.keys(&["C-s"]);
    console.wait_for("queued:");
    console.keys(&["s"]);
    console.wait_for("Change state");
    console.type_text("resolved");
    console.keys(&["Enter"]);
    console.wait_for("Resolution code");
    console.keys(&["Enter"]);
    console.wait_for("Resolution notes");
    console.type_text("Answered at the counter.");
    console.keys(&["C-s"]);
    console.wait_for("Resolved");
}

async fn assert_landed_once(boss: &Client, number: &str, comment: &str) {
    let texts = boss.journal_texts(number).await;
    assert_eq!(
        texts.iter().filter(|t| *t == comment).count(),
        1,
        "{number}: the comment exactly once in {texts:?}"
    );
    let case = boss.find_case(&format!("number={number}")).await;
    assert_eq!(s(&case["state"]), "6", "{number} resolved on the back-end");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn filter_open_answer_and_resolve_from_the_console() {
    let server = start(150, &[]);
    let agent = Agent::login(&server.url, "demo");
    agent.ok(&["sync"]);
    let (number, name, typed) = case_with_accented_citizen(&agent);
    assert_ne!(name, typed, "typed without accents");

    let console = open_console(&agent);
    let comment = format!("Bonjour, votre dossier {number} est traité.");
    work_the_case(&console, &number, &typed, &comment);
    console.wait_for("outbox: 0");
    console.keys(&["q"]);
    assert!(
        console.wait_gone(Duration::from_secs(10)),
        "q quits when nothing waits"
    );

    assert_landed_once(&server.client("superviseur"), &number, &comment).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn with_the_link_cut_actions_queue_and_land_once_when_it_returns() {
    let (server, proxy, agent) = synced_through_proxy(150, &[], "demo").await;
    let (number, _, typed) = case_with_accented_citizen(&agent);

    let console = open_console(&agent);
    console.wait_for("[+ online]");
    proxy.set_down(true);
    let comment = format!("Réponse hors ligne pour {number}.");
    work_the_case(&console, &number, &typed, &comment);
    // Both actions wait; the console says the back-end is away, and keeps
    // working: back to the list, another queue, the outbox.
    console.wait_for("outbox: 2");
    console.wait_for("back-end unreachable");
    console.keys(&["Escape"]);
    console.keys(&["3"]);
    console.wait_for("[3 Open]");
    console.keys(&["o"]);
    let outbox = console.wait_for("Outbox");
    assert!(outbox.contains(&number), "{outbox}");
    assert!(
        proxy.stats().forwarded > 0,
        "the console did sync before the cut"
    );

    proxy.set_down(false);
    console.keys(&["C-r"]);
    console.wait_for("outbox: 0");
    console.wait_for("Nothing waits");
    assert_landed_once(&server.client("superviseur"), &number, &comment).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn marked_cases_get_one_queued_action_each_after_one_confirmation() {
    let server = start(150, &[]);
    let agent = Agent::login(&server.url, "demo");
    agent.ok(&["sync"]);
    // Offline: the actions stay in the outbox, where they can be counted.
    let console = Console::start(
        agent.home(),
        &agent.profile,
        (80, 24),
        &[("LC_ALL", "en_GB.UTF-8")],
        &["--offline"],
    );
    console.wait_for("[1 Mine]");
    console.keys(&["3"]);
    console.wait_for("[3 Open]");
    console.keys(&["Space"]);
    console.keys(&["Space"]);
    console.keys(&["Space"]);
    console.wait_for("3 marked");
    console.keys(&["p"]);
    console.wait_for("Priority");
    console.keys(&["Enter"]);
    console.wait_for("Apply this to 3 cases?");
    assert!(agent.queue().is_empty(), "nothing queued before the yes");
    console.keys(&["y"]);
    console.wait_for("3 actions queued");
    let queue = agent.queue();
    assert_eq!(queue.len(), 3, "{queue:?}");
    let cases: std::collections::BTreeSet<&str> =
        queue.iter().filter_map(|e| e["case"].as_str()).collect();
    assert_eq!(cases.len(), 3, "one action per case: {queue:?}");
    assert!(
        queue
            .iter()
            .all(|e| e["kind"] == "priority" && e["state"] == "pending")
    );
    // Quitting with unsent actions asks first; the actions stay.
    console.keys(&["q"]);
    console.wait_for("not applied yet");
    console.keys(&["y"]);
    assert!(console.wait_gone(Duration::from_secs(10)));
    assert_eq!(agent.queue().len(), 3, "quitting keeps them");
}

//! The one inbox: one workstation, two profiles on two back-ends (two
//! reference servers with the same demo data, so that case numbers and
//! ids meet). The CLI lists both with their source; the console shows both
//! and sends each action to the back-end its case came from, through that
//! profile's outbox, exactly once, even across one back-end's outage.

use std::collections::BTreeSet;
use std::time::Duration;

use serde_json::Value;
use support::agent::Agent;
use support::client::Client;
use support::proxy::FaultProxy;
use support::server::start;
use support::tmux::Console;

/// The inbox's open cases, as `cases --inbox --json` lists them.
fn inbox(agent: &Agent) -> Vec<Value> {
    agent
        .json(&[
            "--offline",
            "cases",
            "--inbox",
            "--view",
            "open",
            "--limit",
            "500",
            "--json",
        ])
        .as_array()
        .expect("a list")
        .clone()
}

/// Filters the inbox's list by `number`, selects the row of `tag`'s
/// back-end, opens it and answers the citizen.
fn comment_from_the_console(console: &Console, tag: &str, number: &str, text: &str) {
    console.keys(&["/"]);
    console.type_text(number);
    console.keys(&["Enter"]);
    let screen = console.wait_until("the case in the list", |s| {
        s.lines()
            .skip(3)
            .any(|l| l.contains(number) && l.contains(tag))
    });
    let at = screen
        .lines()
        .skip(3)
        .position(|l| l.contains(number) && l.contains(tag))
        .expect("the row");
    for _ in 0..at {
        console.keys(&["j"]);
    }
    console.wait_until("the row selected", |s| {
        s.lines()
            .any(|l| l.starts_with('>') && l.contains(number) && l.contains(tag))
    });
    console.keys(&["Enter"]);
    // The case's own header (list rows start with two columns of marks).
    let header = format!(" {tag} {number} ");
    console.wait_until("the case open", |s| {
        s.lines().any(|l| l.starts_with(&header))
    });
    console.keys(&["c"]);
    console.wait_for("Answer to the citizen");
    console.type_text(text);
    console.keys(&["C-s"]);
    console.wait_until("the comment queued", |s| {
        s.contains("queued:") && !s.contains("Answer to the citizen")
    });
    // Back to the list, the filter cleared.
    console.keys(&["Escape"]);
    console.keys(&["Escape"]);
}

async fn count(boss: &Client, number: &str, text: &str) -> usize {
    boss.journal_count(number, text).await
}

/// Waits (up to 30 s) for `text` to be on the case at `boss`'s back-end.
async fn landed(boss: &Client, number: &str, text: &str) {
    let deadline = std::time::Instant::now() + Duration::from_secs(30);
    while count(boss, number, text).await == 0 {
        assert!(
            std::time::Instant::now() < deadline,
            "{text} never landed on {number}"
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}

/// The unfinished actions of a profile's outbox.
fn waiting(agent: &Agent, profile: &str) -> usize {
    agent
        .json(&["--profile", profile, "--offline", "queue", "--json"])
        .as_array()
        .map_or(0, Vec::len)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_backends_in_one_inbox_each_action_lands_once_on_its_own() {
    let first_server = start(60, &[]);
    let second_server = start(60, &[]);
    let proxy = FaultProxy::start(second_server.address()).await;
    let agent = Agent::login(&first_server.url, "demo");
    let second = agent.add_profile("ds", &proxy.url, "demo");
    agent.ok(&["sync"]);
    agent.ok_on(&second.name, &["sync"]);

    // The command line: every case of both, each with its source.
    let listed = inbox(&agent);
    let mine = agent.json(&[
        "--offline",
        "cases",
        "--view",
        "open",
        "--limit",
        "500",
        "--json",
    ]);
    let theirs = agent.json(&[
        "--profile",
        &second.name,
        "--offline",
        "cases",
        "--view",
        "open",
        "--limit",
        "500",
        "--json",
    ]);
    let (mine, theirs) = (
        mine.as_array().expect("a list"),
        theirs.as_array().expect("a list"),
    );
    assert!(
        mine.iter().all(|c| c.get("source").is_none()),
        "one profile's list has no source"
    );
    assert_eq!(listed.len(), mine.len() + theirs.len());
    let sources: BTreeSet<&str> = listed
        .iter()
        .map(|c| c["source"].as_str().expect("a source"))
        .collect();
    assert_eq!(
        sources,
        BTreeSet::from([agent.profile.as_str(), second.name.as_str()])
    );
    // The same demo on both: a number both back-ends have.
    let number = mine
        .iter()
        .map(|c| c["number"].as_str().expect("number"))
        .find(|n| theirs.iter().any(|c| c["number"] == *n))
        .expect("a number on both back-ends")
        .to_string();

    // The console on both; the second back-end down.
    proxy.set_down(true);
    let console = Console::start_inbox(
        agent.home(),
        (80, 24),
        &[("LC_ALL", "en_GB.UTF-8"), ("NO_COLOR", "1")],
        &["--ascii"],
    );
    let (tag, second_tag) = (&agent.profile[..6], &second.name[..6]);
    console.wait_until("both back-ends, the second down", |s| {
        s.contains(&format!("{tag} + 0")) && s.contains(&format!("{second_tag} x 0"))
    });
    // The open cases of both, where the chosen number is.
    console.keys(&["3"]);
    console.wait_for("[3 Open]");
    let to_first = format!("Réponse du guichet, premier back-end, {number}.");
    let to_second = format!("Réponse du guichet, second back-end, {number}.");
    comment_from_the_console(&console, tag, &number, &to_first);
    comment_from_the_console(&console, second_tag, &number, &to_second);
    // The first back-end's lands; the second's waits in its outbox.
    console.wait_for(&format!("{second_tag} x 1"));
    let (one, two) = (
        first_server.client("superviseur"),
        second_server.client("superviseur"),
    );
    landed(&one, &number, &to_first).await;
    console.wait_for(&format!("{tag} + 0"));
    assert_eq!(waiting(&agent, &second.name), 1);
    assert_eq!(waiting(&agent, &agent.profile), 0);
    assert_eq!(count(&two, &number, &to_second).await, 0);

    // The second back-end returns: the agent syncs, its action lands.
    proxy.set_down(false);
    console.keys(&["C-r"]);
    console.wait_for(&format!("{second_tag} + 0"));
    console.keys(&["q"]);
    assert!(console.wait_gone(Duration::from_secs(10)), "nothing waits");

    for (server, mine, other) in [(&one, &to_first, &to_second), (&two, &to_second, &to_first)] {
        assert_eq!(
            count(server, &number, mine).await,
            1,
            "{mine}: exactly once"
        );
        assert_eq!(
            count(server, &number, other).await,
            0,
            "{other}: never here"
        );
    }
    assert_eq!(waiting(&agent, &agent.profile), 0);
    assert_eq!(waiting(&agent, &second.name), 0);

    // `inbox = false` leaves a profile out.
    let path = agent.home().join("config.toml");
    let config = std::fs::read_to_string(&path).expect("config");
    let config = config.replace(
        &format!("[profiles.{}]\n", second.name),
        &format!("[profiles.{}]\ninbox = false\n", second.name),
    );
    std::fs::write(&path, config).expect("config");
    let alone = inbox(&agent);
    assert_eq!(alone.len(), mine.len());
    assert!(alone.iter().all(|c| c["source"] == agent.profile.as_str()));
}

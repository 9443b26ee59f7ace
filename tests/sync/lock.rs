//! The idle lock and the audit screen end to end: the real console in tmux
//! (80x24) against a real `guichet serve`, the idle time cut to seconds by
//! GUICHET_LOCK_AFTER_SECS (for tests and demos only).

use std::collections::BTreeSet;

use support::agent::Agent;
use support::server::start;
use support::tmux::Console;

/// Seconds without a key before the console locks, in these tests: long
/// enough to read the list first, short enough not to wait long.
const LOCK_AFTER: &str = "5";

fn open_console(agent: &Agent, lock_after: &str) -> Console {
    let console = Console::start(
        agent.home(),
        &agent.profile,
        (80, 24),
        &[
            ("LC_ALL", "en_GB.UTF-8"),
            ("NO_COLOR", "1"),
            ("GUICHET_LOCK_AFTER_SECS", lock_after),
        ],
        &[],
    );
    console.wait_for("[1 Mine]");
    console
}

/// What of the agent's cases the screen shows: numbers, the citizens'
/// names and each part of them long enough to mean something.
fn shown_case_data(agent: &Agent, screen: &str) -> BTreeSet<String> {
    let mut shown = BTreeSet::new();
    for case in agent.my_cases() {
        let number = case["number"].as_str().unwrap_or_default();
        if number.is_empty() || !screen.contains(number) {
            continue;
        }
        shown.insert(number.to_string());
        let citizen = case["citizen"].as_str().unwrap_or_default();
        shown.insert(citizen.to_string());
        shown.extend(
            citizen
                .split_whitespace()
                .filter(|w| w.chars().count() >= 4)
                .map(str::to_string),
        );
    }
    shown.remove("");
    shown
}

/// Waits for the lock, and checks that nothing of the list shows on it.
fn wait_for_the_lock(console: &Console, before: &BTreeSet<String>) -> String {
    let locked = console.wait_for("Guichet · locked");
    assert!(locked.contains("Password"), "{locked}");
    for data in before {
        assert!(
            !locked.contains(data.as_str()),
            "{data:?} shows on the lock screen:\n{locked}"
        );
    }
    locked
}

/// A console showing the agent's list, then locked: the server (kept as
/// long as the console), the console, and what the list showed.
fn locked_console() -> (support::server::Server, Agent, Console, BTreeSet<String>) {
    let server = start(150, &[]);
    let agent = Agent::login(&server.url, "demo");
    agent.ok(&["sync"]);
    let console = open_console(&agent, LOCK_AFTER);
    let list = console.wait_until("rows of cases", |s| s.contains("▶ CS"));
    let before = shown_case_data(&agent, &list);
    assert!(before.len() >= 3, "the list shows cases: {list}");
    wait_for_the_lock(&console, &before);
    (server, agent, console, before)
}

#[test]
fn an_idle_console_locks_and_shows_no_citizen_and_a_wrong_password_keeps_it() {
    let (_server, _agent, console, before) = locked_console();
    console.type_text("not-the-password");
    console.keys(&["Enter"]);
    // Wrong (the real check) or not checkable (no verifier): locked all
    // the same, and still nothing of the list.
    let after = console.wait_until("the check's answer", |s| {
        s.contains("Wrong password") || s.contains("cannot be checked")
    });
    assert!(after.contains("Guichet · locked"), "{after}");
    for data in &before {
        assert!(!after.contains(data.as_str()), "{data:?}:\n{after}");
    }
    // Ctrl-C leaves from the lock.
    console.keys(&["C-c"]);
    assert!(console.wait_gone(std::time::Duration::from_secs(10)));
}

/// The password is checked offline against the store's key file.
#[test]
fn the_agents_password_unlocks_and_the_list_is_back() {
    let (_server, _agent, console, before) = locked_console();
    // The password the agent logged in with.
    console.type_text("demo");
    console.keys(&["Enter"]);
    let back = console.wait_for("[1 Mine]");
    let number = before
        .iter()
        .find(|d| d.starts_with("CS"))
        .expect("a case number");
    assert!(back.contains(number.as_str()), "the list is back:\n{back}");
}

#[test]
fn contact_details_shown_are_on_the_audit_screen() {
    let server = start(150, &[]);
    let agent = Agent::login(&server.url, "demo");
    agent.ok(&["sync"]);
    // No idle lock here (0: never).
    let console = open_console(&agent, "0");
    let list = console.wait_until("rows of cases", |s| s.contains("▶ CS"));
    let number = list
        .lines()
        .find_map(|l| l.strip_prefix("▶ "))
        .and_then(|l| l.split_whitespace().next())
        .expect("the selected case's number")
        .to_string();
    console.keys(&["Enter"]);
    console.wait_for(&format!(" {number} "));
    console.keys(&["v"]);
    console.keys(&["A"]);
    let trail = console.wait_until("the reveal on the trail", |s| {
        s.lines()
            .any(|l| l.contains(&number) && l.contains("contact shown"))
    });
    assert!(trail.contains("Audit trail"), "{trail}");
    let first_row = trail.lines().nth(2).unwrap_or_default();
    assert!(
        first_row.contains("contact shown"),
        "newest first:\n{trail}"
    );
}

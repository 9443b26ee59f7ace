//! Only the agent removes queued work: not a logout, not a wipe, not a
//! forgotten `--yes`.

use support::agent::Agent;
use support::server::start;

#[tokio::test]
async fn logout_keeps_the_queue_and_a_wipe_is_refused_while_actions_wait() {
    let server = start(20, &[]);
    let agent = Agent::login(&server.url, "demo");
    agent.ok(&["sync"]);
    let number = agent.numbers("open", 1).remove(0);
    agent.ok(&[
        "--offline",
        "comment",
        &number,
        "Gardé malgré la déconnexion",
    ]);

    let refused = agent.run(&["logout", "--wipe"]).expect(1);
    assert!(
        refused.stderr.contains("1 action(s) are not yet applied"),
        "{}",
        refused.stderr
    );
    assert!(agent.store_path().exists(), "the store is kept");
    assert_eq!(agent.queue().len(), 1);

    // Logged out, the action waits; logged in again, it goes.
    let out = agent.run(&["sync"]).expect(5);
    assert!(out.stderr.contains("log in again"), "{}", out.stderr);
    assert_eq!(agent.queue().len(), 1);
    agent.relogin();
    agent.ok(&["sync"]);
    assert!(agent.queue().is_empty());
    let boss = server.client("superviseur");
    assert_eq!(
        boss.journal_count(&number, "Gardé malgré la déconnexion")
            .await,
        1
    );
}

#[tokio::test]
async fn dropping_needs_yes_and_only_waiting_actions_can_be_dropped() {
    let server = start(20, &[]);
    let agent = Agent::login(&server.url, "demo");
    agent.ok(&["sync"]);
    let number = agent.numbers("open", 1).remove(0);
    agent.ok(&["--offline", "priority", &number, "1"]);
    let id = agent.queue()[0]["id"].as_str().unwrap().to_string();
    let refused = agent.run(&["queue", "drop", &id]).expect(2);
    assert!(refused.stderr.contains("--yes"), "{}", refused.stderr);
    assert_eq!(agent.queue().len(), 1, "nothing dropped without --yes");
    agent.ok(&["sync"]);
    let refused = agent.run(&["queue", "drop", &id, "--yes"]).expect(2);
    assert!(
        refused.stderr.contains("done"),
        "an applied action cannot be dropped: {}",
        refused.stderr
    );
    agent
        .run(&["queue", "drop", "no-such-action", "--yes"])
        .expect(3);
}

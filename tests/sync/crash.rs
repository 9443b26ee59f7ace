//! The workstation dies mid-sync: `guichet sync` killed with SIGKILL at
//! random points while it replays the queue, restarted each time. Nothing
//! queued is lost and nothing is applied twice, with the server's
//! idempotency keys and without them (read-back).
//!
//! `GUICHET_CHAOS_KILLS` sets the number of kills (default 16 per mode)
//! and `GUICHET_CHAOS_COMMENTS` the comments queued on each of the 12 cases
//! (default 4, with a priority change each: 60 actions). The full run:
//! `GUICHET_CHAOS_KILLS=1000 GUICHET_CHAOS_COMMENTS=416` (5,004 actions).

use std::time::Duration;

use support::agent::synced_through_proxy;
use support::chaos::Dice;
use support::proxy::Fault;

async fn killed_at_random_points(extra: &[&str]) {
    let (server, proxy, agent) = synced_through_proxy(60, extra, "demo").await;
    let cases = agent.numbers("open", 12);
    let comments = std::env::var("GUICHET_CHAOS_COMMENTS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(4);
    let expected = agent.queue_work(&cases, comments, "1");
    // Slow every answer down so that kills land inside the replay.
    proxy.set_default(Fault::Delay(Duration::from_millis(25)));
    agent.kill_syncs(&mut Dice::new(), Duration::from_millis(400));
    proxy.set_default(Fault::Pass);
    agent.sync_until_drained(10);

    let boss = server.client("superviseur");
    boss.assert_landed_once(&cases, &expected, Some("1")).await;
    let all = agent.json(&["--offline", "queue", "--all", "--json"]);
    assert_eq!(
        all.as_array().unwrap().len(),
        expected.len() + cases.len(),
        "no action lost"
    );
    assert!(all.as_array().unwrap().iter().all(|e| e["state"] == "done"));
    // The kills did land inside sends: some outcomes had to be settled.
    let settled_after_a_kill = all
        .as_array()
        .unwrap()
        .iter()
        .filter(|e| e["attempts"].as_u64() > Some(1) || e["settled_by"] == "read_back")
        .count();
    assert!(
        settled_after_a_kill > 0,
        "no kill interrupted a send: the test proved nothing"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn with_idempotency_keys() {
    killed_at_random_points(&[]).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn without_extensions() {
    killed_at_random_points(&["--no-extensions"]).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_action_made_during_a_sync_waits_for_it_and_lands_once() {
    let (server, proxy, agent) = synced_through_proxy(40, &["--no-extensions"], "demo").await;
    let cases = agent.numbers("open", 8);
    let expected = agent.queue_work(&cases, 2, "3");
    proxy.set_default(Fault::Delay(Duration::from_millis(60)));
    let mut running = agent.spawn(&["sync"]);
    std::thread::sleep(Duration::from_millis(400));
    // A second process must not touch what the first has in flight.
    let out = agent
        .run(&["comment", &cases[0], "Pendant la synchronisation"])
        .expect(0);
    assert!(out.stdout.contains("a sync is running"), "{}", out.stdout);
    let _ = running.wait();
    proxy.set_default(Fault::Pass);
    agent.ok(&["sync"]);
    assert!(agent.queue().is_empty());
    let boss = server.client("superviseur");
    boss.assert_landed_once(&cases, &expected, None).await;
    assert_eq!(
        boss.journal_count(&cases[0], "Pendant la synchronisation")
            .await,
        1
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_identical_comments_both_land_when_one_answer_is_lost() {
    let (server, proxy, agent) = synced_through_proxy(20, &["--no-extensions"], "demo").await;
    let number = agent.numbers("open", 1).remove(0);
    agent.ok(&["--offline", "comment", &number, "Bien reçu, merci."]);
    agent.ok(&["--offline", "comment", &number, "Bien reçu, merci."]);
    // The first lands; the second never reaches the server, and its
    // outcome is unknown: the read-back must not count the first twice.
    proxy.schedule_writes([Fault::Pass, Fault::ResetBeforeUpstream]);
    let _ = agent.run(&["sync"]);
    agent.ok(&["sync"]);
    assert!(agent.queue().is_empty());
    let boss = server.client("superviseur");
    let texts = boss.journal_texts(&number).await;
    assert_eq!(
        texts.iter().filter(|t| *t == "Bien reçu, merci.").count(),
        2,
        "{texts:?}"
    );
}

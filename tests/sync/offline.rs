//! A day without a link: 200 actions across 50 cases queued while the
//! back-end is unreachable, then one sync applies each exactly once, in
//! order per case.

use support::agent::synced_through_proxy;
use support::client::s;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_day_offline_then_one_sync_applies_everything_once() {
    let (server, proxy, agent) = synced_through_proxy(150, &[], "demo").await;
    let cases = agent.numbers("open", 50);
    assert_eq!(cases.len(), 50);

    proxy.set_down(true);
    for (i, number) in cases.iter().enumerate() {
        let first = format!("Premier message {i} pour {number}");
        let second = format!("Note {i} du guichet");
        let steps: [&[&str]; 4] = [
            &["comment", number, &first],
            &["priority", number, "1"],
            &["note", number, &second],
            &["priority", number, if i % 2 == 0 { "2" } else { "3" }],
        ];
        for args in steps {
            // Not --offline: the command tries the link, finds it down, and
            // keeps the action queued.
            let out = agent.run(args).expect(0);
            assert!(out.stdout.starts_with("queued"), "{}", out.stdout);
        }
    }
    let queue = agent.queue();
    assert_eq!(queue.len(), 200);
    assert!(
        queue.iter().all(|e| e["state"] == "pending"),
        "nothing sent, nothing in doubt"
    );
    // Locally, every change already shows.
    let local = agent.json(&["--offline", "case", &cases[1], "--json"]);
    assert_eq!(local["priority"], 3);
    assert_eq!(local["pending"], 4);
    let sync_down = agent.run(&["sync"]).expect(1);
    assert!(
        sync_down.stderr.contains("200 action(s) stay queued"),
        "{}",
        sync_down.stderr
    );

    proxy.set_down(false);
    let report = agent.json(&["sync", "--json"]);
    assert_eq!(report["report"]["push"]["applied"], 200, "{report}");
    assert_eq!(report["waiting"], 0);

    let boss = server.client("superviseur");
    for (i, number) in cases.iter().enumerate() {
        let texts = boss.journal_texts(number).await;
        for expected in [
            format!("Premier message {i} pour {number}"),
            format!("Note {i} du guichet"),
        ] {
            assert_eq!(
                texts.iter().filter(|t| **t == expected).count(),
                1,
                "{number}: {expected}"
            );
        }
        // The last priority queued is the one that stays: order was kept.
        let case = boss.find_case(&format!("number={number}")).await;
        assert_eq!(
            s(&case["priority"]),
            if i % 2 == 0 { "2" } else { "3" },
            "{number}"
        );
    }
}

//! A back-end gone wrong: malformed JSON, wrong types, missing fields, a
//! huge body. Each gives a clear error; the store and the queue are left
//! exactly as they were.

use support::agent::{Agent, synced_through_proxy};
use support::proxy::Fault;

fn json_answer(body: &str) -> Fault {
    Fault::Respond {
        status: 200,
        headers: vec![("Content-Type".into(), "application/json".into())],
        body: body.as_bytes().to_vec(),
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bad_answers_are_refused_and_nothing_is_lost() {
    let (server, proxy, agent) = synced_through_proxy(40, &[], "demo").await;
    let number = agent.numbers("open", 1).remove(0);
    let before_cases = agent.numbers("all", 500);
    let before_case = agent.json(&["--offline", "case", &number, "--json"]);

    let huge = Fault::Respond {
        status: 200,
        headers: vec![
            ("Content-Type".into(), "application/json".into()),
            ("Content-Length".into(), "200000000".into()),
        ],
        body: b"{\"result\": [".to_vec(),
    };
    let answers = [
        (
            json_answer("{\"result\": [ {\"sys_id\": "),
            "not valid JSON",
        ),
        (
            json_answer("{\"result\": [{\"sys_id\": \"a\", \"number\": [\"CS1\"]}]}"),
            "'number' is a list",
        ),
        (
            json_answer("{\"result\": [{\"number\": \"CS0009999\"}]}"),
            "without 'sys_id'",
        ),
        (json_answer("{\"records\": []}"), "no 'result' list"),
        (huge, "more than the"),
    ];
    for (fault, message) in answers {
        // The session is kept between commands, so the first request is the
        // read of changed cases: it gets the bad answer.
        proxy.schedule([fault]);
        let out = agent.run(&["sync"]);
        assert_eq!(out.code, 1, "{message}: {out:?}");
        assert!(
            out.stderr.contains(message),
            "expected '{message}' in: {}",
            out.stderr
        );
        assert_eq!(
            agent.numbers("all", 500),
            before_cases,
            "the store is untouched"
        );
    }
    // And the next sync, with a sane back-end, works from the same point.
    let fine = agent.json(&["sync", "--json"]);
    assert_eq!(fine["report"]["pull"]["cases_changed"], 0, "{fine}");
    let after = agent.json(&["--offline", "case", &number, "--json"]);
    assert_eq!(after["number"], before_case["number"]);

    // A write answered with garbage: applied or not, it is neither lost
    // nor doubled. Requests: capabilities, the write.
    agent.ok(&[
        "--offline",
        "comment",
        &number,
        "Un message qui ne doit pas se perdre",
    ]);
    proxy.schedule([Fault::Pass, json_answer("{\"result\": 42")]);
    // The unreadable answer leaves the outcome unknown; the same sync's
    // second round settles it (a replay of the same key), without a double.
    agent.ok(&["sync"]);
    assert!(agent.queue().is_empty());
    let all = agent.json(&["--offline", "queue", "--all", "--json"]);
    let sent = all.as_array().unwrap().last().unwrap().clone();
    assert_eq!(
        (sent["state"].as_str(), sent["attempts"].as_u64()),
        (Some("done"), Some(2)),
        "{sent}"
    );
    let boss = server.client("superviseur");
    assert_eq!(
        boss.journal_count(&number, "Un message qui ne doit pas se perdre")
            .await,
        1
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_redirected_write_is_refused_not_taken_for_applied() {
    let (server, proxy, agent) = synced_through_proxy(20, &[], "demo").await;
    let number = agent.numbers("open", 1).remove(0);
    proxy.schedule_writes([Fault::Respond {
        status: 303,
        headers: vec![(
            "Location".into(),
            format!("{}/api/now/table/sn_customerservice_case", proxy.url),
        )],
        body: Vec::new(),
    }]);
    let out = agent.run(&["comment", &number, "Redirigé ?"]).expect(1);
    assert!(out.stderr.contains("redirects"), "{}", out.stderr);
    assert_eq!(agent.queue()[0]["state"], "failed");
    let boss = server.client("superviseur");
    assert!(
        !boss
            .journal_texts(&number)
            .await
            .contains(&"Redirigé ?".to_string())
    );
}

/// `guichet cases | head`: the reader goes away. The command ends quietly
/// with 141 (128 + SIGPIPE), as Unix tools do, never with a panic.
#[test]
fn a_reader_that_goes_away_ends_the_command_quietly() {
    let server = support::server::start(200, &[]);
    let agent = Agent::login(&server.url, "demo");
    agent.ok(&["sync"]);
    let mut child = agent
        .command(&["--offline", "cases", "--view", "all", "--limit", "200"])
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .expect("guichet");
    // The reader is gone before the first line is written.
    drop(child.stdout.take());
    let out = child.wait_with_output().expect("guichet");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(!stderr.contains("panicked"), "{stderr}");
    assert_eq!(out.status.code(), Some(141), "{stderr}");
}

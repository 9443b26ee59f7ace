//! Real instances as administrations run them: clocks hours away from the
//! workstation's, and no OAuth application registered for Guichet.

use support::agent::{Agent, synced_through_proxy};
use support::proxy::Fault;
use support::server::start;

/// A comment whose answer is lost after the back-end applied it, with the
/// back-end's clock `offset_secs` away from the workstation's: it must be
/// found by reading back (or by the key's replay), never sent twice.
async fn lost_answer_with_clock_apart(offset_secs: i64, extra: &[&str]) {
    let offset = offset_secs.to_string();
    let mut args = vec!["--clock-offset", offset.as_str()];
    args.extend_from_slice(extra);
    let (server, proxy, agent) = synced_through_proxy(30, &args, "demo").await;
    let cases = agent.numbers("open", 1);
    assert_eq!(cases.len(), 1, "a case to answer");
    let number = &cases[0];
    let text = format!("Réponse unique ({offset_secs} s d'écart)");

    proxy.schedule_writes([Fault::ResetAfterUpstream]);
    let out = agent.run(&["comment", number, &text]).expect(0);
    assert!(out.stdout.starts_with("queued"), "{}", out.stdout);
    assert_eq!(proxy.stats().faults, 1, "the answer was lost");
    agent.sync_until_drained(6);

    let boss = server.client("superviseur");
    let texts = boss.journal_texts(number).await;
    assert_eq!(
        texts.iter().filter(|t| **t == text).count(),
        1,
        "sent once to the citizen, clock {offset_secs} s apart: {texts:?}"
    );
    let doctor = agent.ok(&["doctor"]);
    let way = if offset_secs > 0 {
        "s ahead of"
    } else {
        "s behind"
    };
    assert!(
        doctor.contains(way),
        "doctor says the clocks disagree: {doctor}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn backend_20_minutes_behind_without_extensions() {
    lost_answer_with_clock_apart(-20 * 60, &["--no-extensions"]).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn backend_20_minutes_behind_with_keys() {
    lost_answer_with_clock_apart(-20 * 60, &[]).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn backend_3_hours_ahead_without_extensions() {
    lost_answer_with_clock_apart(3 * 3600, &["--no-extensions"]).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn backend_5_hours_behind_without_extensions() {
    lost_answer_with_clock_apart(-5 * 3600, &["--no-extensions"]).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn no_oauth_application_falls_back_to_basic_and_a_wrong_password_is_still_wrong() {
    let server = start(10, &["--no-oauth", "--no-extensions"]);
    let agent = Agent::login(&server.url, "demo");
    agent.ok(&["sync"]);
    assert!(
        !agent.numbers("open", 5).is_empty(),
        "work goes on over Basic"
    );
    let doctor = agent.ok(&["doctor"]);
    assert!(doctor.contains("HTTP Basic"), "{doctor}");

    // The same 401 from the token endpoint for a wrong password: the Table
    // API call then says the password is wrong.
    agent
        .run_with_input(
            &[
                "login",
                "--profile",
                "other",
                "--url",
                &server.url,
                "--user",
                "demo",
                "--password-stdin",
            ],
            "not-the-password\n",
        )
        .expect(5);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_login_method_is_chosen_per_profile() {
    let server = start(10, &[]);
    let agent = Agent::login(&server.url, "demo");
    let said = agent
        .run_with_input(&["login", "--auth", "basic", "--password-stdin"], "demo\n")
        .expect(0)
        .stdout;
    assert!(said.contains("with HTTP Basic"), "{said}");
    agent.ok(&["sync"]);
    assert!(agent.ok(&["doctor"]).contains("login:        HTTP Basic"));

    // A registered OAuth application: its id in the config, its secret in
    // the keyring only.
    let said = agent
        .run_with_input(
            &[
                "login",
                "--auth",
                "oauth",
                "--oauth-client-id",
                "mairie-app",
                "--password-stdin",
            ],
            "demo\nthe-client-secret\n",
        )
        .expect(0)
        .stdout;
    assert!(said.contains("with OAuth"), "{said}");
    let config = std::fs::read_to_string(agent.home().join("config.toml")).expect("config");
    assert!(
        config.contains("oauth_client_id = \"mairie-app\""),
        "{config}"
    );
    assert!(
        !config.contains("the-client-secret"),
        "no secret in the config"
    );
    agent.ok(&["sync"]);

    // OAuth required, and the instance has none for us: said, not hidden
    // behind a fallback.
    let strict = start(10, &["--no-oauth"]);
    let stderr = agent
        .run_with_input(
            &[
                "login",
                "--profile",
                "strict",
                "--url",
                &strict.url,
                "--user",
                "demo",
                "--auth",
                "oauth",
                "--password-stdin",
            ],
            "demo\n",
        )
        .expect(5)
        .stderr;
    assert!(stderr.contains("oauth_client_id"), "{stderr}");
}

//! The command line speaks the agent's language: the profile's choice, else
//! the locale's (`LC_ALL`, `LC_MESSAGES`, `LANG`), English by default.

use support::agent::Agent;
use support::server::start;

#[tokio::test]
async fn the_locale_chooses_the_language_when_the_profile_has_none() {
    let server = start(10, &[]);
    let agent = Agent::login_speaking(&server.url, "demo", None);
    agent.ok(&["sync"]);

    let french = agent.run_in_locale("fr_FR.UTF-8", &["queue"]).expect(0);
    assert!(
        french
            .stdout
            .contains("rien n'attend : toutes les actions sont appliquées"),
        "{}",
        french.stdout
    );
    let english = agent.run_in_locale("en_GB.UTF-8", &["queue"]).expect(0);
    assert!(
        english
            .stdout
            .contains("nothing waits: every action is applied"),
        "{}",
        english.stdout
    );

    // An action queued offline, then the queue that holds it.
    let number = agent.numbers("open", 1).remove(0);
    let queued = agent
        .run_in_locale("fr_FR.UTF-8", &["--offline", "priority", &number, "2"])
        .expect(0);
    assert!(
        queued.stdout.contains("en file") && queued.stdout.contains("(hors ligne)"),
        "{}",
        queued.stdout
    );
    let french = agent.run_in_locale("fr_FR.UTF-8", &["queue"]).expect(0);
    assert!(
        french.stdout.contains("en attente") && french.stdout.contains("priorité → 2"),
        "{}",
        french.stdout
    );
    let english = agent.run_in_locale("en_GB.UTF-8", &["queue"]).expect(0);
    assert!(
        english.stdout.contains("pending") && english.stdout.contains("priority → 2"),
        "{}",
        english.stdout
    );

    // A refusal of the command line's own, on stderr.
    let french = agent
        .run_in_locale("fr_FR.UTF-8", &["--offline", "sync"])
        .expect(2);
    assert!(
        french
            .stderr
            .contains("la synchronisation a besoin du réseau : retirez --offline"),
        "{}",
        french.stderr
    );
    let english = agent
        .run_in_locale("en_GB.UTF-8", &["--offline", "sync"])
        .expect(2);
    assert!(
        english
            .stderr
            .contains("sync needs the network; drop --offline"),
        "{}",
        english.stderr
    );
}

#[tokio::test]
async fn the_profiles_language_wins_over_the_locale() {
    let server = start(10, &[]);
    // `Agent::login` chooses English for its profile.
    let agent = Agent::login(&server.url, "demo");
    let out = agent.run_in_locale("fr_FR.UTF-8", &["queue"]).expect(0);
    assert!(
        out.stdout
            .contains("nothing waits: every action is applied"),
        "{}",
        out.stdout
    );
    let speaking_french = Agent::login_speaking(&server.url, "demo", Some("fr"));
    let out = speaking_french
        .run_in_locale("en_GB.UTF-8", &["queue"])
        .expect(0);
    assert!(out.stdout.contains("rien n'attend"), "{}", out.stdout);
}

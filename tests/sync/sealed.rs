//! Encryption at rest (issue #8): the store is sealed with a key kept in the
//! keyring and, sealed with the agent's password, in a key file; nothing a
//! citizen said is readable in any file; the password opens the store after
//! a restart and on a machine with no keyring; a plain store from an
//! earlier version is sealed with its queue.

use std::path::{Path, PathBuf};

use support::agent::Agent;
use support::server::start;

use crate::privacy::{personal_texts, synced};

/// Every file under the agent's home (config, data, state, logs).
fn every_file(folder: &Path) -> Vec<PathBuf> {
    let mut files = Vec::new();
    for entry in std::fs::read_dir(folder).expect("folder").flatten() {
        let path = entry.path();
        if path.is_dir() {
            files.extend(every_file(&path));
        } else {
            files.push(path);
        }
    }
    files
}

fn holds(bytes: &[u8], text: &str) -> bool {
    bytes.windows(text.len()).any(|w| w == text.as_bytes())
}

/// The files under the agent's home that hold one of `texts` in clear.
fn in_clear(agent: &Agent, texts: &[String]) -> Vec<String> {
    let mut found = Vec::new();
    for file in every_file(agent.home()) {
        let bytes = std::fs::read(&file).expect("file");
        for text in texts {
            if holds(&bytes, text) {
                found.push(format!("{} in {}", text, file.display()));
            }
        }
    }
    found
}

/// What a restart does to the kernel keyring: the store's key and the
/// password are gone; the key file is still there.
fn restart(agent: &Agent, user: &str) {
    guichet::secrets::forget_store_key(&agent.store_path()).expect("forget the key");
    guichet::secrets::forget_password(&agent.profile, user).expect("forget the password");
}

#[test]
fn no_file_holds_a_citizen_name_in_clear_and_the_store_needs_its_key() {
    let (_server, agent) = synced(40);
    let number = agent.numbers("open", 1).remove(0);
    let comment = "Votre dossier de Mme Ravelonarivo est complet.";
    agent.ok(&["--offline", "comment", &number, comment]);
    let mut secret = personal_texts(&agent);
    assert!(secret.len() > 40, "names and texts to look for: {secret:?}");
    secret.push(comment.to_string());
    // A console holds the store open: its -wal and -shm are on disk too.
    let open = agent.open_store();
    assert!(open.case_count().expect("count") > 0);
    let found = in_clear(&agent, &secret);
    assert!(found.is_empty(), "in clear: {found:?}");
    drop(open);

    let refused = guichet::store::Store::open(&agent.store_path(), None)
        .err()
        .expect("refused without its key");
    assert!(
        matches!(refused, guichet::store::StoreError::CannotUnseal(_)),
        "{refused}"
    );
    let other = guichet::store::StoreKey::random();
    assert!(guichet::store::Store::open(&agent.store_path(), Some(&other)).is_err());
    // Nothing was lost by the refusals.
    assert_eq!(agent.queue().len(), 1);
    let doctor = agent.ok(&["doctor"]);
    assert!(doctor.contains("the local store is encrypted"), "{doctor}");
}

#[test]
fn after_a_restart_the_password_opens_the_store_offline() {
    let (_server, agent) = synced(10);
    let number = agent.numbers("open", 1).remove(0);
    agent.ok(&["--offline", "note", &number, "Appel du service état civil"]);
    restart(&agent, "demo");

    // No terminal to ask on: the command says what to do.
    let locked = agent.run(&["--offline", "queue"]).expect(5);
    assert!(
        locked.stderr.contains("guichet unlock"),
        "{}",
        locked.stderr
    );
    let wrong = agent.run_with_input(&["unlock", "--password-stdin"], "dmeo\n");
    let wrong = wrong.expect(5);
    assert!(wrong.stderr.contains("does not open"), "{}", wrong.stderr);

    agent
        .run_with_input(&["--offline", "unlock", "--password-stdin"], "demo\n")
        .expect(0);
    assert_eq!(agent.queue().len(), 1, "the queued note is there");
    // The password the key file took is the back-end's: the sync goes on.
    agent.ok(&["sync"]);
    assert!(agent.queue().is_empty());
}

#[test]
fn without_any_keyring_the_password_opens_the_store_each_time() {
    let server = start(10, &[]);
    let agent = Agent::login(&server.url, "demo");
    // A machine without a keyring: a login there keeps no password.
    agent.ok(&["logout"]);
    let no_keyring = |args: &[&str], password: Option<&str>| {
        let mut command = agent.command(args);
        command.env("GUICHET_KEYRING", "none");
        if let Some(password) = password {
            command.env("GUICHET_PASSWORD", password);
        }
        command
    };
    let login =
        support::cli::run_with_input(no_keyring(&["login", "--password-stdin"], None), "demo\n")
            .expect(0);
    assert!(login.stdout.contains("no keyring"), "{}", login.stdout);
    support::cli::run(no_keyring(&["sync"], Some("demo"))).expect(0);
    let cases = support::cli::run(no_keyring(&["--offline", "cases"], Some("demo"))).expect(0);
    assert!(cases.stdout.contains("CS"), "{}", cases.stdout);
    let locked = support::cli::run(no_keyring(&["--offline", "cases"], None)).expect(5);
    assert!(
        locked.stderr.contains("guichet unlock"),
        "{}",
        locked.stderr
    );
    let wrong = support::cli::run(no_keyring(&["--offline", "cases"], Some("nope"))).expect(5);
    assert!(wrong.stderr.contains("does not open"), "{}", wrong.stderr);
}

#[test]
fn a_plain_store_of_an_earlier_version_is_sealed_with_its_queue() {
    let server = start(20, &[]);
    let agent = Agent::login_with(
        &server.url,
        "demo",
        Some("en"),
        &[("encrypt_store", toml::Value::Boolean(false))],
    );
    agent.keep_cases_for(Some(36_500));
    agent.ok(&["sync"]);
    let numbers = agent.numbers("open", 5);
    let queued = agent.queue_work(&numbers, 2, "2");
    let header = |path: &Path| std::fs::read(path).expect("store")[..16].to_vec();
    assert_eq!(header(&agent.store_path()), b"SQLite format 3\0");
    let names = personal_texts(&agent);
    assert!(!in_clear(&agent, &names).is_empty(), "plain before");

    // The new version's default: sealed at the first open.
    agent.edit_profile(|profile| {
        profile.remove("encrypt_store");
    });
    assert_eq!(agent.queue().len(), queued.len() + numbers.len());
    assert_ne!(header(&agent.store_path()), b"SQLite format 3\0");
    let found = in_clear(&agent, &names);
    assert!(found.is_empty(), "in clear after sealing: {found:?}");
    agent.ok(&["sync"]);
    assert!(agent.queue().is_empty());
    for (number, text) in &queued {
        let case = agent.json(&["--offline", "case", number, "--json"]);
        let times = case["timeline"]
            .as_array()
            .expect("timeline")
            .iter()
            .filter(|e| e["text"].as_str() == Some(text.as_str()))
            .count();
        assert_eq!(times, 1, "{text} on {number}");
    }
}

#[test]
fn a_store_whose_key_is_lost_is_refused_then_wiped_only_when_its_queue_is_given_up() {
    let (_server, agent) = synced(5);
    let number = agent.numbers("open", 1).remove(0);
    agent.ok(&["--offline", "note", &number, "Note jamais envoyée"]);
    // The key gone from the keyring and from the disk.
    restart(&agent, "demo");
    std::fs::remove_file(agent.store_path().with_extension("key")).expect("the key file");
    let lost = agent.run(&["--offline", "queue"]).expect(1);
    assert!(lost.stderr.contains("is lost"), "{}", lost.stderr);
    // Logging in again writes no new key that could not open it.
    let login = agent.run_with_input(&["login", "--password-stdin"], "demo\n");
    assert!(login.expect(1).stderr.contains("is lost"));
    assert!(!agent.store_path().with_extension("key").exists());
    // A wipe that would keep the queue cannot read it: refused.
    agent.run(&["logout", "--wipe"]).expect(1);
    assert!(agent.store_path().exists());
    let out = agent
        .run(&["logout", "--wipe", "--drop-unsent", "--yes"])
        .expect(0);
    assert!(out.stderr.contains("could not be read"), "{}", out.stderr);
    assert!(!agent.store_path().exists());
}

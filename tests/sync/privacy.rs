//! Citizens' data on shared front-desk workstations (issue #8): private
//! files, quiet logs and traces, retention, and a wipe that loses no queued
//! work unless the agent says so.

use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};

use serde_json::Value;
use support::agent::{Agent, synced_through_proxy};
use support::cli::{self, Output};
use support::server::{Server, start};

fn mode(path: &Path) -> u32 {
    std::fs::metadata(path)
        .unwrap_or_else(|e| panic!("{}: {e}", path.display()))
        .permissions()
        .mode()
        & 0o777
}

fn chmod(path: &Path, mode: u32) {
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(mode)).expect("chmod");
}

/// The SQLite files of a store: the file, its -wal and its -shm.
fn sqlite_files(store: &Path) -> [PathBuf; 3] {
    let with = |suffix: &str| PathBuf::from(format!("{}{suffix}", store.display()));
    [store.to_path_buf(), with("-wal"), with("-shm")]
}

/// A back-end with `cases` demo cases, and the agent `demo` synced with it
/// (the server goes when dropped: keep it as long as the agent).
pub(crate) fn synced(cases: u32) -> (Server, Agent) {
    let server = start(cases, &[]);
    let agent = Agent::login(&server.url, "demo");
    agent.ok(&["sync"]);
    (server, agent)
}

fn log_of(agent: &Agent) -> PathBuf {
    agent.home().join("state").join("guichet.log")
}

#[test]
fn config_store_wal_and_log_are_private_from_creation() {
    let (_server, agent) = synced(10);
    let home = agent.home();
    let store = agent.store_path();
    for file in [
        home.join("config.toml"),
        store.clone(),
        store.with_extension("lock"),
        store.with_extension("inuse"),
        // The store's key, sealed with the password.
        store.with_extension("key"),
        log_of(&agent),
    ] {
        assert_eq!(mode(&file), 0o600, "{}", file.display());
    }
    // The folders Guichet made (the home itself is the test's).
    for folder in [
        home.join("data"),
        home.join("data").join("profiles"),
        home.join("state"),
    ] {
        assert_eq!(mode(&folder), 0o700, "{}", folder.display());
    }
    // SQLite removes the -wal and -shm when the last connection closes:
    // look at them while the store is open, as a console holds it.
    let open = agent.open_store();
    assert!(open.case_count().expect("count") > 0);
    for file in sqlite_files(&store) {
        assert_eq!(mode(&file), 0o600, "{}", file.display());
    }
}

#[test]
fn a_store_or_config_open_to_others_is_refused_untouched_and_its_queue_kept() {
    let (_server, agent) = synced(10);
    let number = agent.numbers("open", 1).remove(0);
    agent.ok(&["--offline", "comment", &number, "Pièces reçues, merci."]);
    agent.ok(&["--offline", "priority", &number, "2"]);
    let store = agent.store_path();
    let before = std::fs::read(&store).expect("store");

    chmod(&store, 0o644);
    let fix = format!("chmod 600 {}", store.display());
    for args in [
        &["--offline", "queue"][..],
        &["sync"],
        &["--offline", "cases"],
        &["logout", "--wipe", "--drop-unsent", "--yes"],
    ] {
        let out = agent.run(args).expect(1);
        assert!(out.stderr.contains(&fix), "{args:?}: {}", out.stderr);
        assert!(out.stderr.contains("citizens' data"), "{}", out.stderr);
    }
    assert_eq!(std::fs::read(&store).expect("store"), before, "untouched");
    assert_eq!(mode(&store), 0o644, "reported, not changed");

    chmod(&store, 0o600);
    let queue = agent.queue();
    assert_eq!(queue.len(), 2, "{queue:?}");

    // The config too: it says who the agent is and where the cases are.
    let config = agent.home().join("config.toml");
    chmod(&config, 0o640);
    let out = agent.run(&["--offline", "queue"]).expect(1);
    assert!(
        out.stderr
            .contains(&format!("chmod 600 {}", config.display())),
        "{}",
        out.stderr
    );
    chmod(&config, 0o600);
    assert_eq!(agent.queue().len(), 2);
}

/// Every text that says who a citizen is or what they were told, read
/// from the store after a sync (directly: showing the cases with `guichet
/// case` would count as opening them, and keep them from the purge).
pub(crate) fn personal_texts(agent: &Agent) -> Vec<String> {
    let store = agent.open_store();
    let mut texts = Vec::new();
    for id in store.case_ids().expect("ids") {
        let case = store.case(&id).expect("case");
        if let Some(citizen) = case
            .citizen
            .and_then(|c| store.citizen(&c).expect("citizen"))
        {
            texts.extend([citizen.name(), citizen.email, citizen.phone, citizen.street]);
        }
        texts.extend(
            store
                .timeline(&id)
                .expect("timeline")
                .into_iter()
                .map(|e| e.text),
        );
    }
    texts.retain(|t| t.len() > 3);
    texts.sort();
    texts.dedup();
    texts
}

fn traced(agent: &Agent, args: &[&str]) -> Output {
    let mut command = agent.command(args);
    command
        .env("GUICHET_TRACE_HTTP", "1")
        .env("GUICHET_LOG", "trace");
    cli::run(command)
}

#[test]
fn no_name_contact_comment_or_secret_in_the_trace_or_the_log() {
    let (_server, agent) = synced(12);
    let mut secret = personal_texts(&agent);
    assert!(secret.len() > 12, "names and texts to look for: {secret:?}");
    let number = agent.numbers("open", 1).remove(0);
    let comment = "Votre rendez-vous du 3 décembre est confirmé, Mme Lefèvre.";
    agent.ok(&["--offline", "comment", &number, comment]);
    secret.push(comment.to_string());
    // The default retention purges the other demo cases once they have been
    // cached long enough: the log then has a line to write, which must name
    // no one.
    agent.keep_cases_for(None);
    agent.age_cached_cases(60);

    let mut seen = String::new();
    for args in [&["sync"][..], &["case", &number], &["sync", "--reconcile"]] {
        let out = traced(&agent, args).expect(0);
        assert!(
            out.stderr.contains("http: GET /api/now/table/"),
            "{}",
            out.stderr
        );
        seen.push_str(&out.stderr);
    }
    assert!(seen.contains("http: PATCH /api/now/table/sn_customerservice_case/"));
    assert!(seen.contains(" -> 200"), "the status: {seen}");
    assert!(!seen.contains('?'), "no query values: {seen}");
    let log = std::fs::read_to_string(log_of(&agent)).expect("the log file");
    assert!(log.contains("retention purge"), "{log}");
    for (name, text) in [("stderr", &seen), ("log", &log)] {
        for personal in &secret {
            assert!(!text.contains(personal.as_str()), "{name} names {personal}");
        }
        for credential in [
            "Authorization",
            "authorization",
            "Basic ",
            "Bearer",
            "ZGVtbzpkZW1v",
        ] {
            assert!(!text.contains(credential), "{name} holds {credential}");
        }
        assert!(!text.contains("password"), "{name}");
    }
}

fn store_files_left(agent: &Agent) -> Vec<PathBuf> {
    sqlite_files(&agent.store_path())
        .into_iter()
        .filter(|f| f.exists())
        .collect()
}

#[test]
fn a_wipe_goes_ahead_only_once_unsent_actions_are_exported() {
    let (_server, agent) = synced(10);
    let number = agent.numbers("open", 1).remove(0);
    let text = "Merci de rapporter votre justificatif de domicile.";
    agent.ok(&["--offline", "comment", &number, text]);
    agent.ok(&["--offline", "priority", &number, "1"]);

    let out = agent.run(&["logout", "--wipe"]).expect(1);
    assert!(
        out.stderr.contains("guichet queue export FILE"),
        "{}",
        out.stderr
    );
    assert!(out.stderr.contains("--drop-unsent"), "{}", out.stderr);
    assert!(agent.store_path().exists());

    let dir = tempfile::tempdir().expect("temp dir");
    // An export that could not be written counts for nothing.
    let nowhere = dir.path().join("no-such-folder").join("x.json");
    agent
        .run(&[
            "--offline",
            "queue",
            "export",
            nowhere.to_str().expect("path"),
        ])
        .expect(1);
    agent.run(&["logout", "--wipe"]).expect(1);
    assert_eq!(agent.queue().len(), 2);

    let file = dir.path().join("file-d-attente.json");
    let out = agent.ok(&["--offline", "queue", "export", file.to_str().expect("path")]);
    assert!(out.contains("2 action(s)"), "{out}");
    assert_eq!(mode(&file), 0o600);
    let exported: Value =
        serde_json::from_str(&std::fs::read_to_string(&file).expect("export")).expect("JSON");
    let actions = exported["actions"].as_array().expect("actions");
    assert_eq!(actions.len(), 2, "{exported}");
    assert_eq!(actions[0]["case"], number.as_str());
    assert_eq!(actions[0]["kind"], "comment");
    assert_eq!(actions[0]["action"]["text"], text);
    assert_eq!(actions[0]["state"], "pending");
    assert!(actions[0]["created_at"].is_string());
    assert!(actions[0].get("error").is_some());
    assert_eq!(actions[1]["action"]["priority"], 1);

    // An export never writes over a file.
    let before = std::fs::read(&file).expect("export");
    let out = agent
        .run(&["--offline", "queue", "export", file.to_str().expect("path")])
        .expect(2);
    assert!(out.stderr.contains("already exists"), "{}", out.stderr);
    assert_eq!(std::fs::read(&file).expect("export"), before);

    // An action queued after the export is in no file: refused again.
    agent.ok(&["--offline", "note", &number, "Appel passé à 10 h."]);
    let out = agent.run(&["logout", "--wipe"]).expect(1);
    assert!(
        out.stderr.contains("1 action(s) are not yet applied"),
        "{}",
        out.stderr
    );
    assert_eq!(agent.queue().len(), 3);

    let second = dir.path().join("suite.json");
    agent.ok(&[
        "--offline",
        "queue",
        "export",
        second.to_str().expect("path"),
    ]);
    let out = agent.ok(&["logout", "--wipe"]);
    assert!(out.contains("3 action(s) never sent"), "{out}");
    assert!(store_files_left(&agent).is_empty());
    let config = std::fs::read_to_string(agent.home().join("config.toml")).expect("config");
    assert!(!config.contains(&agent.profile), "{config}");
}

#[test]
fn dropping_unsent_actions_at_a_wipe_needs_a_confirmation() {
    let (_server, agent) = synced(10);
    let number = agent.numbers("open", 1).remove(0);
    agent.ok(&["--offline", "priority", &number, "1"]);

    // No terminal to ask on: --yes or nothing.
    let out = agent.run(&["logout", "--wipe", "--drop-unsent"]).expect(2);
    assert!(out.stderr.contains("--yes"), "{}", out.stderr);
    assert_eq!(agent.queue().len(), 1, "kept");

    let out = agent.run(&["logout", "--wipe", "--drop-unsent", "--yes"]);
    out.expect(0);
    assert!(store_files_left(&agent).is_empty());
}

#[test]
fn a_wipe_waits_for_no_other_guichet_on_the_store() {
    let (_server, agent) = synced(10);
    // A console left open on the profile: a wipe would delete the file
    // under it, and what it queued next would vanish with it.
    let console = agent.open_store();
    let out = agent.run(&["logout", "--wipe"]).expect(1);
    assert!(
        out.stderr.contains("open in another Guichet"),
        "{}",
        out.stderr
    );
    assert_eq!(store_files_left(&agent).len(), 3, "nothing deleted");
    drop(console);
    agent.ok(&["logout", "--wipe"]);
    assert!(store_files_left(&agent).is_empty());
}

#[test]
fn a_sync_purges_cases_left_alone_but_not_those_with_queued_work() {
    let (_server, agent) = synced(20);
    let all = agent.numbers("all", 100).len();
    assert!(all > 5, "{all} cases");
    // Two months later, nobody having touched them: with the default
    // retention the cached cases go, but for the one the agent acts on now
    // and the agent's working set (its open cases, and its groups' open
    // cases nobody took).
    agent.age_cached_cases(60);
    let number = agent.numbers("open", 1).remove(0);
    agent.ok(&["--offline", "note", &number, "Rappeler lundi."]);
    let untaken = agent.json(&[
        "--offline",
        "cases",
        "--view",
        "team",
        "--limit",
        "100",
        "--json",
    ]);
    let mut keep: std::collections::BTreeSet<String> = agent
        .numbers("mine", 100)
        .into_iter()
        .chain(
            untaken
                .as_array()
                .expect("a list")
                .iter()
                .filter(|c| c["assignee"].is_null())
                .filter_map(|c| c["number"].as_str().map(str::to_string)),
        )
        .collect();
    keep.insert(number.clone());
    assert!(keep.len() < all, "something to purge");
    agent.keep_cases_for(None);
    let report = agent.json(&["sync", "--json"]);
    assert_eq!(
        report["report"]["purged"]["cases"],
        all - keep.len(),
        "{report}"
    );
    let left: std::collections::BTreeSet<String> = agent.numbers("all", 100).into_iter().collect();
    assert_eq!(left, keep);
    let kept = agent.json(&["--offline", "case", &number, "--json"]);
    assert!(kept["citizen_details"]["name"].is_string(), "{kept}");

    // An incremental pull does not bring back what did not change.
    agent.ok(&["sync"]);
    let left: std::collections::BTreeSet<String> = agent.numbers("all", 100).into_iter().collect();
    assert_eq!(left, keep);
}

#[test]
fn the_audit_trail_keeps_actions_reveals_and_exports_without_names() {
    let (_server, agent) = synced(10);
    let secret = personal_texts(&agent);
    let number = agent.numbers("open", 1).remove(0);
    let comment = "Bonjour Mme Lefèvre, votre titre est prêt.";
    agent.ok(&["--offline", "comment", &number, comment]);
    // `guichet case` prints the citizen's contact details: a reveal.
    agent.ok(&["--offline", "case", &number]);
    let file = agent.home().join("queue.json");
    agent.ok(&["--offline", "queue", "export", file.to_str().expect("path")]);

    let trail = agent.json(&["--offline", "audit", "--json"]);
    let events: Vec<(String, String)> = trail
        .as_array()
        .expect("a list")
        .iter()
        .map(|l| {
            (
                l["case"].as_str().unwrap_or("").to_string(),
                l["event"].as_str().unwrap_or("").to_string(),
            )
        })
        .collect();
    let expected = [
        (number.clone(), "queued".to_string()),
        (number.clone(), "reveal".to_string()),
        (String::new(), "export".to_string()),
    ];
    assert_eq!(events, expected, "{trail}");
    let text = trail.to_string();
    assert!(!text.contains(comment), "no comment text on the trail");
    for personal in &secret {
        assert!(
            !text.contains(personal.as_str()),
            "the trail names {personal}"
        );
    }
    let said = agent.ok(&["--offline", "audit"]);
    assert!(said.contains(&number) && said.contains("reveal"), "{said}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_wipe_waits_until_an_action_sent_without_answer_is_settled() {
    use support::proxy::Fault;
    let (server, proxy, agent) = synced_through_proxy(10, &[], "demo").await;
    let number = agent.numbers("open", 1).remove(0);
    // Applied by the back-end, its answer lost: the outcome is unknown here.
    proxy.schedule_writes([Fault::ResetAfterUpstream]);
    agent
        .run(&["comment", &number, "Votre dossier est complet."])
        .expect(0);
    assert_eq!(proxy.stats().faults, 1, "the answer was lost");
    let file = agent.home().join("queue.json");
    agent.ok(&["--offline", "queue", "export", file.to_str().expect("path")]);

    // Exported or not, entered again elsewhere it would land twice.
    let out = agent.run(&["logout", "--wipe"]).expect(1);
    assert!(out.stderr.contains("guichet sync"), "{}", out.stderr);
    assert!(agent.store_path().exists(), "nothing deleted");
    assert_eq!(agent.queue().len(), 1, "the action is kept");

    // The logout itself happened: back in, a sync learns the outcome
    // (found applied), and then the wipe goes ahead.
    agent.relogin();
    agent.ok(&["sync"]);
    assert!(agent.queue().is_empty());
    agent.ok(&["logout", "--wipe"]);
    assert!(store_files_left(&agent).is_empty());
    let texts = server.client("superviseur").journal_texts(&number).await;
    assert_eq!(
        texts
            .iter()
            .filter(|t| *t == "Votre dossier est complet.")
            .count(),
        1
    );
}

#[test]
fn doctor_names_a_folder_other_accounts_can_list() {
    let (_server, agent) = synced(3);
    let profiles = agent.home().join("data").join("profiles");
    // The home is the test's (the config's folder): made private as
    // Guichet makes the folders it creates.
    chmod(agent.home(), 0o700);
    let before = agent.ok(&["--offline", "doctor"]);
    assert!(!before.contains("can be listed"), "{before}");
    chmod(&profiles, 0o755);
    let said = agent.ok(&["--offline", "doctor"]);
    assert!(
        said.contains(&format!("{} can be listed", profiles.display())),
        "{said}"
    );
    assert!(said.contains("chmod 700"), "{said}");
}

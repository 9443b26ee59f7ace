//! An agent at a workstation: the `guichet` CLI with a home of its own
//! (config, local store) and its own profile, run as a separate process.

use std::process::{Child, Command, Stdio};

use serde_json::Value;

use crate::cli::{self, Output};

pub struct Agent {
    home: tempfile::TempDir,
    pub profile: String,
}

impl Drop for Agent {
    /// Logs out, so that test runs leave no secrets in the kernel keyring.
    fn drop(&mut self) {
        let _ = self
            .command(&["logout"])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .status();
    }
}

impl Agent {
    /// Logs `user` (password "demo") in to the back-end at `url`, on a
    /// profile that speaks English.
    pub fn login(url: &str, user: &str) -> Agent {
        Agent::login_speaking(url, user, Some("en"))
    }

    /// Logs in on a profile with this language, or none (the locale's).
    pub fn login_speaking(url: &str, user: &str, language: Option<&str>) -> Agent {
        Agent::login_with(url, user, language, &[])
    }

    /// Logs in on a profile that has `settings` before its first login
    /// (e.g. `encrypt_store = false`, as a workstation of an earlier
    /// version had, whose store was plain).
    pub fn login_with(
        url: &str,
        user: &str,
        language: Option<&str>,
        settings: &[(&str, toml::Value)],
    ) -> Agent {
        let agent = Agent {
            home: tempfile::tempdir().expect("temp dir"),
            // Profiles are unique so that parallel tests never share a
            // keyring entry.
            profile: format!("t{}", uuid::Uuid::new_v4().simple()),
        };
        if !settings.is_empty() {
            agent.write_profile(url, user, settings);
        }
        let mut args = vec!["login", "--url", url, "--user", user, "--password-stdin"];
        if let Some(language) = language {
            args.extend(["--language", language]);
        }
        agent.run_with_input(&args, "demo\n").expect(0);
        // Demo data is laid around a fixed day in the past (DEMO_DATE),
        // which the default retention would purge at the first sync: tests
        // of other things keep every case; tests of retention set their own.
        agent.keep_cases_for(Some(36_500));
        agent
    }

    /// An instructeur (`email`) logged in to the Démarches Simplifiées
    /// endpoint at `url` with `token`, working `demarches`, notes kept in
    /// the annotation "Notes internes", on a profile that speaks English.
    pub fn login_demarches(url: &str, email: &str, token: &str, demarches: &[i64]) -> Agent {
        let agent = Agent {
            home: tempfile::tempdir().expect("temp dir"),
            profile: format!("t{}", uuid::Uuid::new_v4().simple()),
        };
        let output = agent.login_demarches_output(url, email, token, demarches);
        output.expect(0);
        agent.keep_cases_for(Some(36_500));
        agent
    }

    /// Runs that login, whatever its outcome (for refusals).
    pub fn login_demarches_output(
        &self,
        url: &str,
        email: &str,
        token: &str,
        demarches: &[i64],
    ) -> Output {
        let numbers: Vec<String> = demarches.iter().map(i64::to_string).collect();
        let mut args = vec![
            "login",
            "--kind",
            "demarches",
            "--url",
            url,
            "--as",
            email,
            "--token-stdin",
            "--notes-annotation",
            "Notes internes",
            "--language",
            "en",
        ];
        for n in &numbers {
            args.extend(["--demarche", n.as_str()]);
        }
        self.run_with_input(&args, &format!("{token}\n"))
    }

    /// An agent with a home of its own and no profile yet.
    pub fn new_workstation() -> Agent {
        Agent {
            home: tempfile::tempdir().expect("temp dir"),
            profile: format!("t{}", uuid::Uuid::new_v4().simple()),
        }
    }

    /// Sets the profile's `retention_days` and `closed_retention_days`
    /// (None: the defaults).
    pub fn keep_cases_for(&self, days: Option<u32>) {
        self.edit_profile(|profile| {
            for key in ["retention_days", "closed_retention_days"] {
                match days {
                    Some(days) => {
                        profile.insert(key.into(), toml::Value::Integer(days.into()));
                    }
                    None => {
                        profile.remove(key);
                    }
                }
            }
        });
    }

    /// Logs in again on the same profile (after a logout).
    pub fn relogin(&self) {
        self.run_with_input(&["login", "--password-stdin"], "demo\n")
            .expect(0);
    }

    /// Runs a command with `input` on its standard input (passwords, secrets).
    pub fn run_with_input(&self, args: &[&str], input: &str) -> Output {
        cli::run_with_input(self.command(args), input)
    }

    /// A `guichet` command in the C locale: English whatever the machine's
    /// locale, unless the profile chose a language.
    pub fn command(&self, args: &[&str]) -> Command {
        let mut command = cli::guichet();
        command
            .args(args)
            .env("GUICHET_HOME", self.home.path())
            .env("GUICHET_PROFILE", &self.profile)
            .env_remove("GUICHET_PASSWORD");
        command
    }

    pub fn run(&self, args: &[&str]) -> Output {
        cli::run(self.command(args))
    }

    /// Runs a command in a locale (`LC_ALL`), e.g. `fr_FR.UTF-8`.
    pub fn run_in_locale(&self, locale: &str, args: &[&str]) -> Output {
        let mut command = self.command(args);
        command.env("LC_ALL", locale);
        cli::run(command)
    }

    /// Runs a command that must succeed; returns its stdout.
    #[track_caller]
    pub fn ok(&self, args: &[&str]) -> String {
        self.run(args).expect(0).stdout
    }

    #[track_caller]
    pub fn json(&self, args: &[&str]) -> Value {
        let out = self.ok(args);
        serde_json::from_str(&out).unwrap_or_else(|e| panic!("not JSON ({e}): {out}"))
    }

    pub fn spawn(&self, args: &[&str]) -> Child {
        self.command(args)
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("spawn guichet")
    }

    /// The agent's home (GUICHET_HOME: config, data, logs).
    pub fn home(&self) -> &std::path::Path {
        self.home.path()
    }

    /// Makes every cached case look as if it arrived and was last opened
    /// `days` ago, and the retention as if it never looked: the next sync
    /// purges by the profile's retention (the binary's clock is the
    /// machine's; the store is aged instead).
    pub fn age_cached_cases(&self, days: u32) {
        let store = self.store_connection();
        store
            .execute(
                "UPDATE cases SET touched_at = datetime('now', ?)",
                [format!("-{days} days")],
            )
            .expect("aged");
        store
            .execute("DELETE FROM meta WHERE key = 'purged_at'", [])
            .expect("purge due");
    }

    /// Starts `guichet sync` and kills it (SIGKILL) at a random point within
    /// `within`, as many times as the chaos tests deal (`chaos::kills`).
    pub fn kill_syncs(&self, dice: &mut crate::chaos::Dice, within: std::time::Duration) {
        for _ in 0..crate::chaos::kills() {
            let mut sync = self.spawn(&["sync"]);
            let at = dice.below(within.as_millis().max(1) as u64);
            std::thread::sleep(std::time::Duration::from_millis(at));
            let _ = sync.kill();
            let _ = sync.wait();
        }
    }

    /// The key of the agent's store, from its key file and the password
    /// ("demo") it was sealed with, as `guichet unlock` opens it.
    pub fn store_key(&self) -> guichet::store::StoreKey {
        let file = guichet::secrets::KeyFile::read(&self.store_path().with_extension("key"))
            .expect("the key file")
            .expect("a key file after login");
        file.open("demo").expect("the password opens the key")
    }

    /// The agent's local store, opened with its key (a plain one as it
    /// is: opened with a key, it would be sealed).
    pub fn open_store(&self) -> guichet::store::Store {
        use guichet::store::{Sealed, Store, sealed_state};
        let key = match sealed_state(&self.store_path()).expect("the store") {
            Sealed::Plain => None,
            _ => Some(self.store_key()),
        };
        Store::open(&self.store_path(), key.as_ref()).expect("the store")
    }

    /// A raw SQLite connection to the agent's sealed store.
    pub fn store_connection(&self) -> rusqlite::Connection {
        let conn = rusqlite::Connection::open(self.store_path()).expect("the store");
        conn.execute_batch(&format!(
            "PRAGMA key = \"x'{}'\";",
            self.store_key().to_hex().as_str()
        ))
        .expect("the key");
        conn
    }

    /// The profile's local store file.
    pub fn store_path(&self) -> std::path::PathBuf {
        self.home
            .path()
            .join("data")
            .join("profiles")
            .join(format!("{}.db", self.profile))
    }

    /// Points the profile at another URL (e.g. through a proxy).
    pub fn retarget(&self, url: &str) {
        self.edit_profile(|profile| {
            profile.insert("url".into(), toml::Value::String(url.to_string()));
        });
    }

    /// A config holding only this profile, private like Guichet's own.
    fn write_profile(&self, url: &str, user: &str, settings: &[(&str, toml::Value)]) {
        use std::os::unix::fs::OpenOptionsExt;
        let mut profile = toml::Table::new();
        profile.insert("url".into(), toml::Value::String(url.into()));
        profile.insert("user".into(), toml::Value::String(user.into()));
        for (key, value) in settings {
            profile.insert((*key).into(), value.clone());
        }
        let mut profiles = toml::Table::new();
        profiles.insert(self.profile.clone(), toml::Value::Table(profile));
        let mut config = toml::Table::new();
        config.insert("profiles".into(), toml::Value::Table(profiles));
        let mut file = std::fs::OpenOptions::new()
            .write(true)
            .create_new(true)
            .mode(0o600)
            .open(self.home.path().join("config.toml"))
            .expect("config");
        std::io::Write::write_all(
            &mut file,
            toml::to_string(&config).expect("toml").as_bytes(),
        )
        .expect("write config");
    }

    /// Changes the profile in the config file (which keeps its mode).
    pub fn edit_profile(&self, edit: impl FnOnce(&mut toml::Table)) {
        let path = self.home.path().join("config.toml");
        let text = std::fs::read_to_string(&path).expect("config");
        let mut config: toml::Table = toml::from_str(&text).expect("config TOML");
        let profiles = config
            .get_mut("profiles")
            .and_then(|p| p.as_table_mut())
            .expect("profiles");
        let profile = profiles
            .get_mut(&self.profile)
            .and_then(|p| p.as_table_mut())
            .expect("profile");
        edit(profile);
        std::fs::write(&path, toml::to_string(&config).expect("toml")).expect("write config");
    }

    /// Numbers of cases in a view, from the local store.
    pub fn numbers(&self, view: &str, limit: usize) -> Vec<String> {
        let list = self.json(&[
            "--offline",
            "cases",
            "--view",
            view,
            "--limit",
            &limit.to_string(),
            "--json",
        ]);
        list.as_array()
            .expect("a list")
            .iter()
            .map(|c| c["number"].as_str().expect("number").to_string())
            .collect()
    }

    /// Queues, offline, `comments` distinct comments then a priority change
    /// on each case; returns the (case, text) of every comment.
    pub fn queue_work(
        &self,
        cases: &[String],
        comments: usize,
        priority: &str,
    ) -> Vec<(String, String)> {
        let mut expected = Vec::new();
        for (i, number) in cases.iter().enumerate() {
            for k in 0..comments {
                let text = format!("Réponse {k} au dossier {number} ({i})");
                self.ok(&["--offline", "comment", number, &text]);
                expected.push((number.clone(), text));
            }
            self.ok(&["--offline", "priority", number, priority]);
        }
        expected
    }

    /// Syncs until the queue is empty, in fewer than `rounds` syncs (a
    /// sync stopped by a fault leaves the rest for the next).
    #[track_caller]
    pub fn sync_until_drained(&self, rounds: usize) {
        let mut done = 0;
        while !self.queue().is_empty() {
            done += 1;
            assert!(done < rounds, "the queue never drained: {:?}", self.queue());
            let _ = self.run(&["sync"]);
        }
    }

    /// The agent's own cases from the local store, as `cases --json` lists them.
    pub fn my_cases(&self) -> Vec<Value> {
        self.json(&[
            "--offline",
            "cases",
            "--view",
            "mine",
            "--limit",
            "500",
            "--json",
        ])
        .as_array()
        .expect("a list")
        .clone()
    }

    pub fn queue(&self) -> Vec<Value> {
        self.json(&["--offline", "queue", "--json"])
            .as_array()
            .expect("a list")
            .clone()
    }
}

/// The setting of most offline and fault tests: a `guichet serve` of
/// `cases` demo cases (started with `extra`), the fault proxy in front of
/// it, and `user` logged in through the proxy, synced once.
pub async fn synced_through_proxy(
    cases: u32,
    extra: &[&str],
    user: &str,
) -> (crate::server::Server, crate::proxy::FaultProxy, Agent) {
    let server = crate::server::start(cases, extra);
    let proxy = crate::proxy::FaultProxy::start(server.address()).await;
    let agent = Agent::login(&proxy.url, user);
    agent.ok(&["sync"]);
    (server, proxy, agent)
}

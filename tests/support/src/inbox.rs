//! The one inbox: a second profile on an agent's workstation (the same
//! home), and the console opened on every profile at once.

use std::process::Stdio;

use crate::agent::Agent;

/// A second profile of an agent's workstation; logged out when dropped.
pub struct OtherProfile<'a> {
    agent: &'a Agent,
    pub name: String,
}

impl Drop for OtherProfile<'_> {
    fn drop(&mut self) {
        let _ = self
            .agent
            .command(&["--profile", &self.name, "logout"])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .status();
    }
}

impl Agent {
    /// Logs `user` (password "demo") in to `url` on the profile `name` of
    /// this workstation, in English, keeping every case like the first
    /// profile does.
    pub fn add_profile(&self, name: &str, url: &str, user: &str) -> OtherProfile<'_> {
        let name = format!("{name}{}", &uuid::Uuid::new_v4().simple().to_string()[..6]);
        self.run_with_input(
            &[
                "--profile",
                &name,
                "login",
                "--url",
                url,
                "--user",
                user,
                "--password-stdin",
                "--language",
                "en",
            ],
            "demo\n",
        )
        .expect(0);
        let path = self.home().join("config.toml");
        let text = std::fs::read_to_string(&path).expect("config");
        let mut config: toml::Table = toml::from_str(&text).expect("config TOML");
        let profile = config
            .get_mut("profiles")
            .and_then(|p| p.as_table_mut())
            .and_then(|p| p.get_mut(&name))
            .and_then(|p| p.as_table_mut())
            .expect("the new profile");
        for key in ["retention_days", "closed_retention_days"] {
            profile.insert(key.into(), toml::Value::Integer(36_500));
        }
        std::fs::write(&path, toml::to_string(&config).expect("toml")).expect("write config");
        OtherProfile { agent: self, name }
    }

    /// A command on another profile of this workstation.
    #[track_caller]
    pub fn ok_on(&self, profile: &str, args: &[&str]) -> String {
        let mut all = vec!["--profile", profile];
        all.extend_from_slice(args);
        self.ok(&all)
    }
}

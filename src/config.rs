//! Profiles: which back-end, which user, which language. One TOML file in
//! the XDG config dir; secrets never go there (see `secrets`). `GUICHET_HOME`
//! moves both the config and the data (for tests and portable installs).

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    #[error("cannot find a home directory for the configuration; set GUICHET_HOME")]
    NoHome,
    #[error("cannot read {path}: {source}")]
    Read {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("{path} is not valid: {message}")]
    Invalid { path: PathBuf, message: String },
    #[error("cannot write {path}: {source}")]
    Write {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("no profile '{0}' (see `guichet profiles`, or create it with `guichet login`)")]
    UnknownProfile(String),
    #[error(
        "no profile yet: log in first with `guichet login --profile NAME --url URL --user USER`"
    )]
    NoProfile,
    #[error("profile names use letters, digits, '-' and '_' only, not '{0}'")]
    BadName(String),
    /// The config is open to other accounts: refused untouched.
    #[error("configuration: {0}")]
    Exposed(crate::private_files::Exposed),
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Profile {
    /// The back-end's base URL, e.g. `https://instance.service-now.com`.
    pub url: String,
    pub user: String,
    /// Which adapter speaks to it: `servicenow` or `demarches`
    /// (Démarches Simplifiées, where `user` is the instructeur's e-mail).
    #[serde(default = "default_backend")]
    pub backend: String,
    /// `fr` or `en` for labels; default from the environment.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub language: Option<String>,
    /// Plain `http://` to a host other than this machine: refused unless
    /// the agent allowed it at login (`--insecure-http`).
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub insecure_http: bool,
    /// A proxy for this profile (`http://proxy:3128`), over the
    /// `HTTPS_PROXY`/`HTTP_PROXY`/`ALL_PROXY`/`NO_PROXY` of the environment.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub proxy: Option<String>,
    /// Seconds an answer may go without a byte before the link is taken for
    /// dead (default 30; raise it on a very slow link).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub read_timeout_secs: Option<u64>,
    /// Seconds to open a connection (default 10).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub connect_timeout_secs: Option<u64>,
    /// Requests in flight at once when syncing (default 4; 1 on a link
    /// that cannot bear more).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub requests_in_flight: Option<usize>,
    /// How to log in: `auto` (OAuth where the instance offers it to us, else
    /// HTTP Basic), `basic`, or `oauth` (an administrator registered Guichet).
    #[serde(default, skip_serializing_if = "AuthMode::is_auto")]
    pub auth: AuthMode,
    /// The OAuth application's client id (its secret is in the keyring).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub oauth_client_id: Option<String>,
    /// A PEM file of the administration's own certificate authority, trusted
    /// beside the system's roots.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ca_cert: Option<PathBuf>,
    /// The table cases live in, where the instance keeps them elsewhere than
    /// CSM's `sn_customerservice_case` (`incident`, an extension of `task`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub case_table: Option<String>,
    /// Case fields the instance names its own way, e.g. `citizen =
    /// "caller_id"`, `due = "u_deadline"`; checked at login.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub fields: BTreeMap<String, String>,
    /// Encrypt the local store (default true). `false` keeps a new store
    /// plain: for a workstation whose disk is encrypted already, or to
    /// measure what encryption costs. A store sealed once stays sealed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub encrypt_store: Option<bool>,
    /// Days a case is kept in the local store when neither the back-end
    /// updated it nor the agent opened or acted on it here (default 30).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub retention_days: Option<u32>,
    /// The same for closed and cancelled cases (default 14).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub closed_retention_days: Option<u32>,
    /// Minutes without a key before the console locks (default 5; 0 never
    /// locks): on a shared front-desk workstation the next person at the
    /// counter must not find a citizen's case on the screen. Unlocking asks
    /// the agent's password, checked on this workstation.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub lock_after_minutes: Option<u32>,
    /// Démarches Simplifiées: the démarches the agent works (DS has no
    /// query listing those a token covers).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub demarches: Vec<i64>,
    /// Démarches Simplifiées: the private annotation internal notes are
    /// appended to (DS has no internal notes); none, and notes are refused.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub notes_annotation: Option<String>,
    /// Whether the console's one inbox shows this profile's cases (default
    /// true).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub inbox: Option<bool>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize, clap::ValueEnum)]
#[serde(rename_all = "snake_case")]
pub enum AuthMode {
    #[default]
    Auto,
    Basic,
    Oauth,
}

impl AuthMode {
    pub fn is_auto(&self) -> bool {
        *self == AuthMode::Auto
    }
}

impl Profile {
    /// A ServiceNow profile with every other setting at its default.
    pub fn new(url: &str, user: &str) -> Profile {
        Profile {
            url: url.trim_end_matches('/').to_string(),
            user: user.to_string(),
            backend: default_backend(),
            language: None,
            insecure_http: false,
            proxy: None,
            read_timeout_secs: None,
            connect_timeout_secs: None,
            requests_in_flight: None,
            auth: AuthMode::Auto,
            oauth_client_id: None,
            ca_cert: None,
            case_table: None,
            fields: BTreeMap::new(),
            encrypt_store: None,
            retention_days: None,
            closed_retention_days: None,
            lock_after_minutes: None,
            demarches: Vec::new(),
            notes_annotation: None,
            inbox: None,
        }
    }

    /// The adapter that speaks to Démarches Simplifiées.
    pub const DEMARCHES: &'static str = "demarches";

    pub fn is_demarches(&self) -> bool {
        self.backend == Profile::DEMARCHES
    }

    /// Minutes without a key before the console locks; 0: never.
    pub fn idle_lock_minutes(&self) -> u32 {
        self.lock_after_minutes.unwrap_or(5)
    }

    /// How long the local store keeps cases nobody touched.
    pub fn retention(&self) -> crate::store::Retention {
        let default = crate::store::Retention::default();
        crate::store::Retention {
            days: self.retention_days.unwrap_or(default.days),
            closed_days: self.closed_retention_days.unwrap_or(default.closed_days),
        }
    }
}

fn default_backend() -> String {
    "servicenow".into()
}

#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct Config {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub default_profile: Option<String>,
    #[serde(default)]
    pub profiles: BTreeMap<String, Profile>,
}

/// Where Guichet keeps its files.
#[derive(Debug, Clone)]
pub struct Paths {
    pub config_file: PathBuf,
    pub data_dir: PathBuf,
}

impl Paths {
    pub fn discover() -> Result<Paths, ConfigError> {
        if let Some(home) = std::env::var_os("GUICHET_HOME").filter(|h| !h.is_empty()) {
            let home = PathBuf::from(home);
            return Ok(Paths {
                config_file: home.join("config.toml"),
                data_dir: home.join("data"),
            });
        }
        let dirs = directories::ProjectDirs::from("", "", "guichet").ok_or(ConfigError::NoHome)?;
        Ok(Paths {
            config_file: dirs.config_dir().join("config.toml"),
            data_dir: dirs.data_dir().to_path_buf(),
        })
    }

    /// The local store of a profile.
    pub fn store(&self, profile: &str) -> PathBuf {
        self.data_dir.join("profiles").join(format!("{profile}.db"))
    }

    /// The store's key sealed with the agent's password (see `app::unlock`).
    pub fn store_key_file(&self, profile: &str) -> PathBuf {
        self.data_dir
            .join("profiles")
            .join(format!("{profile}.key"))
    }
}

pub fn check_name(name: &str) -> Result<(), ConfigError> {
    if name.is_empty()
        || !name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_')
    {
        return Err(ConfigError::BadName(name.to_string()));
    }
    Ok(())
}

impl Config {
    /// Reads the config; a missing file is an empty config. TOML errors say
    /// the line and column. A config other accounts may read or change is
    /// refused untouched: it says who the agent is and where their cases
    /// are, and a changed one could send their password elsewhere.
    pub fn load(path: &Path) -> Result<Config, ConfigError> {
        let exposed =
            crate::private_files::Exposed::check(&[path.to_path_buf()]).map_err(|source| {
                ConfigError::Read {
                    path: path.to_path_buf(),
                    source,
                }
            })?;
        if let Some(exposed) = exposed {
            return Err(ConfigError::Exposed(exposed));
        }
        let text = match std::fs::read_to_string(path) {
            Ok(text) => text,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Config::default()),
            Err(source) => {
                return Err(ConfigError::Read {
                    path: path.to_path_buf(),
                    source,
                });
            }
        };
        let config: Config = toml::from_str(&text).map_err(|e| ConfigError::Invalid {
            path: path.to_path_buf(),
            message: e.to_string(),
        })?;
        for (name, profile) in &config.profiles {
            check_name(name)?;
            // A day of zero would purge every case the moment it arrives.
            if profile.retention_days == Some(0) || profile.closed_retention_days == Some(0) {
                return Err(ConfigError::Invalid {
                    path: path.to_path_buf(),
                    message: format!(
                        "profile {name}: retention_days and closed_retention_days are at least 1"
                    ),
                });
            }
            // No request at all would never sync.
            if profile.requests_in_flight == Some(0) {
                return Err(ConfigError::Invalid {
                    path: path.to_path_buf(),
                    message: format!("profile {name}: requests_in_flight is at least 1"),
                });
            }
        }
        Ok(config)
    }

    /// Writes the config through a temporary file and a rename, so a crash
    /// never leaves half a file; the file is 0600 and its folder 0700 from
    /// their creation.
    pub fn save(&self, path: &Path) -> Result<(), ConfigError> {
        let write_error = |source| ConfigError::Write {
            path: path.to_path_buf(),
            source,
        };
        if let Some(dir) = path.parent() {
            crate::private_files::create_dir(dir).map_err(write_error)?;
        }
        let text = toml::to_string_pretty(self).map_err(|e| ConfigError::Invalid {
            path: path.to_path_buf(),
            message: e.to_string(),
        })?;
        crate::private_files::replace(path, text.as_bytes()).map_err(write_error)
    }

    /// The profile to use: the one named, else the default, else the only one.
    pub fn profile(&self, name: Option<&str>) -> Result<(String, Profile), ConfigError> {
        let name = match name {
            Some(name) => name.to_string(),
            None => match (&self.default_profile, self.profiles.len()) {
                (Some(default), _) => default.clone(),
                (None, 1) => self.profiles.keys().next().cloned().unwrap_or_default(),
                (None, 0) => return Err(ConfigError::NoProfile),
                (None, _) => {
                    return Err(ConfigError::UnknownProfile(
                        "(none chosen: pass --profile)".into(),
                    ));
                }
            },
        };
        let profile = self
            .profiles
            .get(&name)
            .cloned()
            .ok_or(ConfigError::UnknownProfile(name.clone()))?;
        Ok((name, profile))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn config_round_trips_and_errors_say_where() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("config.toml");
        assert!(Config::load(&path).unwrap().profiles.is_empty());
        let mut config = Config::default();
        config.profiles.insert(
            "mairie".into(),
            Profile {
                url: "http://127.0.0.1:8080".into(),
                user: "demo".into(),
                backend: "servicenow".into(),
                language: None,
                insecure_http: false,
                proxy: Some("http://proxy.example.fr:3128".into()),
                read_timeout_secs: Some(120),
                connect_timeout_secs: None,
                requests_in_flight: Some(1),
                auth: AuthMode::Basic,
                oauth_client_id: None,
                ca_cert: None,
                case_table: Some("incident".into()),
                fields: [("citizen".to_string(), "caller_id".to_string())].into(),
                encrypt_store: None,
                retention_days: Some(60),
                closed_retention_days: None,
                lock_after_minutes: Some(0),
                demarches: Vec::new(),
                notes_annotation: None,
                inbox: None,
            },
        );
        config.save(&path).unwrap();
        let text = std::fs::read_to_string(&path).unwrap();
        assert!(text.contains("case_table = \"incident\""), "{text}");
        assert!(text.contains("citizen = \"caller_id\""), "{text}");
        let back = Config::load(&path).unwrap();
        assert_eq!(back.profile(None).unwrap().0, "mairie");
        assert_eq!(
            back.profile(None).unwrap().1.proxy.as_deref(),
            Some("http://proxy.example.fr:3128")
        );
        assert_eq!(back.profile(None).unwrap().1.auth, AuthMode::Basic);
        assert_eq!(
            back.profile(None).unwrap().1.retention(),
            crate::store::Retention {
                days: 60,
                closed_days: 14
            }
        );
        std::fs::write(&path, "[profiles.mairie]\nurl = 12\n").unwrap();
        let e = Config::load(&path).unwrap_err().to_string();
        assert!(e.contains("line 2"), "{e}");
        assert!(check_name("a b").is_err() && check_name("guichet-1").is_ok());
    }

    #[test]
    fn a_zero_retention_is_refused() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("config.toml");
        crate::private_files::replace(
            &path,
            b"[profiles.mairie]\nurl = \"https://x\"\nuser = \"u\"\nretention_days = 0\n",
        )
        .unwrap();
        let e = Config::load(&path).unwrap_err().to_string();
        assert!(e.contains("at least 1"), "{e}");
        crate::private_files::replace(
            &path,
            b"[profiles.mairie]\nurl = \"https://x\"\nuser = \"u\"\nrequests_in_flight = 0\n",
        )
        .unwrap();
        let e = Config::load(&path).unwrap_err().to_string();
        assert!(e.contains("requests_in_flight is at least 1"), "{e}");
    }

    #[cfg(unix)]
    #[test]
    fn the_config_is_private_and_refused_untouched_when_open_to_others() {
        use std::os::unix::fs::PermissionsExt;
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("new").join("config.toml");
        let mut config = Config::default();
        config
            .profiles
            .insert("mairie".into(), Profile::new("https://x", "u"));
        config.save(&path).unwrap();
        let mode = |p: &Path| std::fs::metadata(p).unwrap().permissions().mode() & 0o777;
        assert_eq!((mode(&path), mode(path.parent().unwrap())), (0o600, 0o700));
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o644)).unwrap();
        let e = Config::load(&path).unwrap_err();
        assert!(matches!(e, ConfigError::Exposed(_)), "{e}");
        assert!(e.to_string().contains("chmod 600"), "{e}");
        assert_eq!(mode(&path), 0o644, "reported, not changed");
    }
}

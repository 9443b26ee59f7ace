//! What every client command needs: the profile, its local store, its
//! back-end, and exit codes that scripts can rely on.

use std::process::ExitCode;

use crate::backend::servicenow::{SavedSession, ServiceNow, Settings};
use crate::config::{Config, ConfigError, Paths, Profile};
use crate::secrets::{self, SecretError};
use crate::store::{Store, StoreError};
use crate::sync::SyncError;

/// Exit codes of client commands.
pub mod code {
    pub const ERROR: u8 = 1;
    pub const USAGE: u8 = 2;
    pub const NOT_FOUND: u8 = 3;
    pub const CONFLICT: u8 = 4;
    pub const LOGIN: u8 = 5;
}

/// A command's failure: a message for the agent and an exit code.
#[derive(Debug)]
pub struct Failure {
    pub code: u8,
    pub message: String,
}

impl Failure {
    pub fn new(code: u8, message: impl Into<String>) -> Failure {
        Failure {
            code,
            message: message.into(),
        }
    }
    pub fn usage(message: impl Into<String>) -> Failure {
        Failure::new(code::USAGE, message)
    }
}

impl From<StoreError> for Failure {
    fn from(e: StoreError) -> Self {
        let code = match e {
            StoreError::UnknownCase(_) | StoreError::UnknownAction(_) => code::NOT_FOUND,
            StoreError::Invalid(_) => code::USAGE,
            _ => code::ERROR,
        };
        Failure::new(code, e.to_string())
    }
}

impl From<ConfigError> for Failure {
    fn from(e: ConfigError) -> Self {
        let code = match e {
            ConfigError::NoProfile => code::LOGIN,
            ConfigError::UnknownProfile(_) | ConfigError::BadName(_) => code::USAGE,
            _ => code::ERROR,
        };
        Failure::new(code, e.to_string())
    }
}

impl From<SyncError> for Failure {
    fn from(e: SyncError) -> Self {
        Failure::new(
            if e.is_login() {
                code::LOGIN
            } else {
                code::ERROR
            },
            e.to_string(),
        )
    }
}

impl From<SecretError> for Failure {
    fn from(e: SecretError) -> Self {
        Failure::new(code::ERROR, e.to_string())
    }
}

pub type Outcome = Result<(), Failure>;

pub fn finish(outcome: Outcome) -> ExitCode {
    match outcome {
        Ok(()) => ExitCode::SUCCESS,
        Err(failure) => {
            eprintln!("guichet: {}", failure.message);
            ExitCode::from(failure.code)
        }
    }
}

/// Options every client command takes.
#[derive(Debug, Clone, clap::Args)]
pub struct Global {
    /// The profile to use (default: the one in the config).
    #[arg(long, global = true, env = "GUICHET_PROFILE")]
    pub profile: Option<String>,
    /// Touch no network at all: read the local store, queue actions.
    #[arg(long, global = true)]
    pub offline: bool,
}

pub struct Session {
    pub name: String,
    pub profile: Profile,
    pub store: Store,
    pub offline: bool,
}

impl Session {
    pub fn open(global: &Global) -> Result<Session, Failure> {
        let paths = Paths::discover()?;
        let config = Config::load(&paths.config_file)?;
        let (name, profile) = config.profile(global.profile.as_deref())?;
        let store = Store::open(&paths.store(&name))?;
        Ok(Session {
            name,
            profile,
            store,
            offline: global.offline,
        })
    }

    /// Whether labels should be French.
    pub fn french(&self) -> bool {
        match &self.profile.language {
            Some(language) => language.starts_with("fr"),
            None => std::env::var("LANG").is_ok_and(|l| l.starts_with("fr")),
        }
    }

    /// The back-end, with the password from the keyring.
    pub fn backend(&self) -> Result<Remote, Failure> {
        backend_for(&self.name, &self.profile)
    }
}

/// The back-end of a profile. When dropped, it keeps its OAuth session in
/// the keyring, so that the next command reuses it instead of asking for a
/// new token: one round trip less per command on a slow rural link.
pub struct Remote {
    backend: ServiceNow,
    profile: String,
    user: String,
    loaded: Option<String>,
}

impl std::ops::Deref for Remote {
    type Target = ServiceNow;
    fn deref(&self) -> &ServiceNow {
        &self.backend
    }
}

impl Drop for Remote {
    fn drop(&mut self) {
        let Some(session) = self.backend.session() else {
            return;
        };
        if self.loaded.as_deref() == Some(session.access.as_str()) {
            return;
        }
        if let Ok(text) = serde_json::to_string(&session) {
            // Losing it only costs a token request next time.
            let _ = secrets::save_session(&self.profile, &self.user, &text);
        }
    }
}

pub fn backend_for(name: &str, profile: &Profile) -> Result<Remote, Failure> {
    if profile.backend != "servicenow" {
        return Err(Failure::usage(format!(
            "profile {name}: back-end '{}' is not supported yet (only servicenow)",
            profile.backend
        )));
    }
    let password = secrets::password(name, &profile.user)?.ok_or_else(|| {
        Failure::new(
            code::LOGIN,
            format!(
                "no password for profile {name}: log in again with `guichet login --profile {name}`"
            ),
        )
    })?;
    let mut settings = Settings::new(&profile.url, &profile.user, &password);
    settings.session =
        secrets::session(name, &profile.user).and_then(|text| serde_json::from_str(&text).ok());
    let loaded = settings
        .session
        .as_ref()
        .map(|s: &SavedSession| s.access.clone());
    let backend =
        ServiceNow::new(settings).map_err(|e| Failure::new(code::ERROR, e.to_string()))?;
    Ok(Remote {
        backend,
        profile: name.to_string(),
        user: profile.user.clone(),
        loaded,
    })
}

/// A runtime for the network part of a command.
pub fn runtime() -> Result<tokio::runtime::Runtime, Failure> {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(|e| Failure::new(code::ERROR, format!("cannot start the async runtime: {e}")))
}

/// Reads text given as an argument, or from stdin when it is `-`.
pub fn text_argument(text: &str) -> Result<String, Failure> {
    let text = if text == "-" {
        let mut buffer = String::new();
        std::io::Read::read_to_string(&mut std::io::stdin(), &mut buffer)
            .map_err(|e| Failure::new(code::ERROR, format!("cannot read standard input: {e}")))?;
        buffer
    } else {
        text.to_string()
    };
    let text = text.trim_end_matches(['\n', '\r']).to_string();
    if text.trim().is_empty() {
        return Err(Failure::usage("the text is empty"));
    }
    Ok(text)
}

//! What every client command needs: the profile, its local store, its
//! back-end, and exit codes that scripts can rely on.

use std::process::ExitCode;

use crate::app::{AppError, Remote, Workspace};
use crate::config::{Config, ConfigError, Paths, Profile};
use crate::i18n::Lang;
use crate::secrets::SecretError;
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

/// A refusal of files open to other accounts, in the locale's language
/// (the profile's cannot be known when the config itself is refused).
fn exposed(key: &str, exposed: &crate::private_files::Exposed) -> Failure {
    Failure::new(
        code::ERROR,
        Lang::choose(None).f(
            key,
            &[("files", &exposed.files_text()), ("fix", &exposed.fix())],
        ),
    )
}

impl From<StoreError> for Failure {
    fn from(e: StoreError) -> Self {
        match &e {
            StoreError::Exposed(files) => return exposed("cli.store_exposed", files),
            StoreError::InUse(path) => {
                return Failure::new(
                    code::ERROR,
                    Lang::choose(None).f("cli.store_in_use", &[("path", &path.display())]),
                );
            }
            _ => {}
        }
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
        if let ConfigError::Exposed(files) = &e {
            return exposed("cli.config_exposed", files);
        }
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

impl From<AppError> for Failure {
    fn from(e: AppError) -> Self {
        match e {
            AppError::Store(e) => e.into(),
            AppError::Config(e) => e.into(),
            AppError::Sync(e) => e.into(),
            AppError::Secret(e) => e.into(),
            AppError::Invalid(message) => Failure::usage(message),
            AppError::Login(message) | AppError::Locked(message) => {
                Failure::new(code::LOGIN, message)
            }
            AppError::System(message) => Failure::new(code::ERROR, message),
        }
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
        let Workspace {
            name,
            profile,
            store,
            ..
        } = super::unlock::open_workspace(global.profile.as_deref())?;
        Ok(Session {
            name,
            profile,
            store,
            offline: global.offline,
        })
    }

    /// The language of labels and messages.
    pub fn lang(&self) -> Lang {
        Lang::choose(self.profile.language.as_deref())
    }

    /// The back-end, with the password from the keyring.
    pub fn backend(&self) -> Result<Remote, Failure> {
        Ok(Remote::connect(&self.name, &self.profile)?)
    }
}

/// The language of a command that opens no session (or not yet): the
/// profile's choice when one is configured, else the locale's.
pub fn lang_of(global: &Global) -> Lang {
    let profile = Paths::discover()
        .and_then(|paths| Config::load(&paths.config_file))
        .and_then(|config| config.profile(global.profile.as_deref()))
        .ok();
    Lang::choose(profile.and_then(|(_, p)| p.language).as_deref())
}

/// A runtime for the network part of a command.
pub fn runtime() -> Result<tokio::runtime::Runtime, Failure> {
    Ok(crate::app::workspace::runtime()?)
}

/// One line of standard input without its line ending (`unreadable`: the
/// message's key should it fail).
pub fn read_line(lang: Lang, unreadable: &str) -> Result<String, Failure> {
    let mut line = String::new();
    std::io::stdin()
        .read_line(&mut line)
        .map_err(|e| Failure::new(code::ERROR, lang.f(unreadable, &[("error", &e)])))?;
    Ok(line.trim_end_matches(['\n', '\r']).to_string())
}

/// Reads text given as an argument, or from stdin when it is `-`.
pub fn text_argument(text: &str, lang: Lang) -> Result<String, Failure> {
    let text = if text == "-" {
        let mut buffer = String::new();
        std::io::Read::read_to_string(&mut std::io::stdin(), &mut buffer).map_err(|e| {
            Failure::new(
                code::ERROR,
                lang.f("cli.stdin_unreadable", &[("error", &e)]),
            )
        })?;
        buffer
    } else {
        text.to_string()
    };
    let text = text.trim_end_matches(['\n', '\r']).to_string();
    if text.trim().is_empty() {
        return Err(Failure::usage(lang.t("cli.text_empty")));
    }
    Ok(text)
}

//! One error type for the front ends: what failed, in words an agent can act
//! on, and what kind of failure it is (so the CLI can pick an exit code and
//! the console a message).

use crate::config::ConfigError;
use crate::secrets::SecretError;
use crate::store::StoreError;
use crate::sync::SyncError;

#[derive(Debug, thiserror::Error)]
pub enum AppError {
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error(transparent)]
    Config(#[from] ConfigError),
    #[error(transparent)]
    Sync(#[from] SyncError),
    #[error(transparent)]
    Secret(#[from] SecretError),
    /// What the agent asked for cannot be done as asked (and nothing was queued).
    #[error("{0}")]
    Invalid(String),
    /// The agent must log in (again) before this can go on.
    #[error("{0}")]
    Login(String),
    /// The store's key is not at hand: the agent's password opens it.
    #[error("{0}")]
    Locked(String),
    /// The machine refused something (runtime, files): not the agent's doing.
    #[error("{0}")]
    System(String),
}

impl AppError {
    pub fn is_login(&self) -> bool {
        match self {
            AppError::Login(_) | AppError::Locked(_) | AppError::Config(ConfigError::NoProfile) => {
                true
            }
            AppError::Sync(e) => e.is_login(),
            _ => false,
        }
    }

    /// The case or the queued action named does not exist locally.
    pub fn is_not_found(&self) -> bool {
        matches!(
            self,
            AppError::Store(StoreError::UnknownCase(_) | StoreError::UnknownAction(_))
        )
    }

    /// The agent's input was wrong (an exit code 2 in the CLI).
    pub fn is_usage(&self) -> bool {
        matches!(
            self,
            AppError::Invalid(_)
                | AppError::Store(StoreError::Invalid(_))
                | AppError::Config(ConfigError::UnknownProfile(_) | ConfigError::BadName(_))
        )
    }
}

//! Unlocking the console: the agent's password checked on this workstation
//! against a local verifier, never sent anywhere.
//!
//! TEMPORARY: the real check (argon2 against the verifier written at login)
//! is being built on main; this stub refuses every password with an error,
//! so that a locked console stays locked until it lands.

use super::AppError;
use crate::config::Paths;

/// Whether `password` is the agent's on `profile`. Slow on purpose (argon2):
/// never call it in a key or draw path.
pub fn check_password(paths: &Paths, profile: &str, password: &str) -> Result<bool, AppError> {
    let _ = (paths, profile, password);
    Err(AppError::System(
        "the offline password check is not built yet".into(),
    ))
}

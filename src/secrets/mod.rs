//! Credentials, only ever in the OS keyring, never in a file.
//!
//! Through `keyring-core`, the keyring ecosystem's common API: the
//! platform's store where there is one, the Linux kernel keyring (our own
//! store, see `kernel.rs`) on thin terminals without D-Bus; `choice.rs` says
//! which and why. `GUICHET_PASSWORD` in the environment overrides the
//! keyring for scripts.

mod choice;
#[cfg(target_os = "linux")]
mod kernel;
mod key_file;

use std::sync::OnceLock;

use keyring_core::Entry;

use crate::store::StoreKey;

pub use choice::{KEYRING_ENV, Why};
pub use key_file::{KeyFile, KeyFileError};

pub const PASSWORD_ENV: &str = "GUICHET_PASSWORD";

/// The service name every Guichet secret is kept under.
const SERVICE: &str = "guichet";

#[derive(Debug, thiserror::Error)]
pub enum SecretError {
    #[error(
        "no keyring is available on this machine ({0}); set {PASSWORD_ENV} for this session instead"
    )]
    NoKeyring(VaultError),
    #[error("keyring: {0}")]
    Keyring(#[from] VaultError),
}

/// What the credential store itself said.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum VaultError {
    #[error("the keyring cannot be reached: {0}")]
    Unreachable(String),
    #[error("the keyring refused: {0}")]
    Refused(String),
    #[error("the stored secret is not text")]
    NotText,
}

impl From<keyring_core::Error> for VaultError {
    fn from(error: keyring_core::Error) -> Self {
        match error {
            keyring_core::Error::NoStorageAccess(e) => VaultError::Unreachable(e.to_string()),
            keyring_core::Error::BadEncoding(_) => VaultError::NotText,
            other => VaultError::Refused(other.to_string()),
        }
    }
}

/// The store, chosen and checked once per process.
fn vault() -> Result<&'static choice::Vault, SecretError> {
    static VAULT: OnceLock<Result<choice::Vault, VaultError>> = OnceLock::new();
    VAULT
        .get_or_init(|| choice::choose().map_err(VaultError::Unreachable))
        .as_ref()
        .map_err(|e| SecretError::NoKeyring(e.clone()))
}

/// Which credential store is in use, for `login`: a key of the CLI's
/// catalogue (`cli.keyring_*`), said in the agent's language.
pub fn store_in_use() -> Result<&'static str, SecretError> {
    Ok(vault()?.name)
}

/// Which store is in use (a catalogue key) and why it was chosen, for `doctor`.
pub fn store_and_reason() -> Result<(&'static str, &'static Why), SecretError> {
    let vault = vault()?;
    Ok((vault.name, &vault.why))
}

fn entry(account: &str) -> Result<Entry, SecretError> {
    Entry::new_in_store(&vault()?.store, SERVICE, account)
        .map_err(|e| SecretError::Keyring(e.into()))
}

fn set(account: &str, secret: &str) -> Result<(), SecretError> {
    Ok(entry(account)?
        .set_password(secret)
        .map_err(VaultError::from)?)
}

/// A kept secret; `None` when nothing is kept under that name.
fn get(account: &str) -> Result<Option<String>, SecretError> {
    match entry(account)?.get_password() {
        Ok(secret) => Ok(Some(secret)),
        Err(keyring_core::Error::NoEntry) => Ok(None),
        Err(e) => Err(VaultError::from(e).into()),
    }
}

/// Forgets a secret; one that was never kept is already forgotten.
fn forget(account: &str) -> Result<(), SecretError> {
    match entry(account)?.delete_credential() {
        Ok(()) | Err(keyring_core::Error::NoEntry) => Ok(()),
        Err(e) => Err(VaultError::from(e).into()),
    }
}

fn account(profile: &str, user: &str) -> String {
    format!("{profile}:{user}")
}

pub fn save_password(profile: &str, user: &str, password: &str) -> Result<(), SecretError> {
    set(&account(profile, user), password)
}

/// The password for a profile: the environment override, else the keyring.
pub fn password(profile: &str, user: &str) -> Result<Option<String>, SecretError> {
    if let Ok(password) = std::env::var(PASSWORD_ENV)
        && !password.is_empty()
    {
        return Ok(Some(password));
    }
    get(&account(profile, user))
}

/// Forgets everything kept for a profile: password, session, OAuth secret.
pub fn forget_password(profile: &str, user: &str) -> Result<(), SecretError> {
    forget(&account(profile, user))?;
    forget(&session_account(profile, user))?;
    forget(&client_secret_account(profile))
}

fn client_secret_account(profile: &str) -> String {
    format!("{profile}:oauth-client-secret")
}

/// Keeps the secret of the OAuth application an administrator registered.
pub fn save_client_secret(profile: &str, secret: &str) -> Result<(), SecretError> {
    set(&client_secret_account(profile), secret)
}

/// The OAuth application's secret, if one was kept.
pub fn client_secret(profile: &str) -> Option<String> {
    get(&client_secret_account(profile)).ok().flatten()
}

fn session_account(profile: &str, user: &str) -> String {
    format!("{profile}:{user}:session")
}

/// Keeps a back-end session token (a secret too) for the next command.
pub fn save_session(profile: &str, user: &str, session: &str) -> Result<(), SecretError> {
    set(&session_account(profile, user), session)
}

/// A session token kept by an earlier command, if any.
pub fn session(profile: &str, user: &str) -> Option<String> {
    get(&session_account(profile, user)).ok().flatten()
}

/// A store's key is kept under a name of its file's place, so that two
/// stores of the same profile name (two homes, two test runs) never share
/// one, and nothing in the name says whose store it is.
fn store_key_account(store: &std::path::Path) -> String {
    use sha2::Digest;
    let place = std::path::absolute(store).unwrap_or_else(|_| store.to_path_buf());
    let digest = sha2::Sha256::digest(place.as_os_str().as_encoded_bytes());
    let short: String = digest[..12].iter().map(|b| format!("{b:02x}")).collect();
    format!("store-key:{short}")
}

/// Keeps a store's key for the next commands of this session (until the
/// machine restarts, with the kernel keyring).
pub fn save_store_key(store: &std::path::Path, key: &StoreKey) -> Result<(), SecretError> {
    set(&store_key_account(store), &key.to_hex())
}

/// The store's key, if the keyring has it.
pub fn store_key(store: &std::path::Path) -> Result<Option<StoreKey>, SecretError> {
    Ok(get(&store_key_account(store))?.and_then(|hex| StoreKey::from_hex(&hex)))
}

/// Forgets a store's key (the key file still opens it with the password).
pub fn forget_store_key(store: &std::path::Path) -> Result<(), SecretError> {
    forget(&store_key_account(store))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_keyring_keeps_replaces_and_forgets_a_password() {
        let store = store_in_use();
        assert!(store.is_ok(), "{store:?}");
        let profile = format!("test-{}", uuid::Uuid::new_v4().simple());
        save_password(&profile, "demo", "s3cret").unwrap();
        assert_eq!(
            get(&account(&profile, "demo")).unwrap().as_deref(),
            Some("s3cret")
        );
        save_password(&profile, "demo", "n0uveau").unwrap();
        assert_eq!(
            get(&account(&profile, "demo")).unwrap().as_deref(),
            Some("n0uveau")
        );
        forget_password(&profile, "demo").unwrap();
        assert_eq!(get(&account(&profile, "demo")).unwrap(), None);
    }

    #[test]
    fn forgetting_what_was_never_kept_is_not_an_error() {
        let profile = format!("test-{}", uuid::Uuid::new_v4().simple());
        forget_password(&profile, "nobody").unwrap();
        assert_eq!(session(&profile, "nobody"), None);
    }
}

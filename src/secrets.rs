//! Credentials, only ever in the OS keyring, never in a file.
//!
//! On Linux: the kernel's per-user keyring (keyutils). It needs no D-Bus
//! session (thin terminals and SSH logins have none), lives in kernel memory,
//! is shared by the user's logins and is gone at reboot, so a shared
//! workstation forgets passwords when it restarts.
//!
//! Why not keyring-core's keyutils store: it links every secret into the
//! "persistent" keyring, which hardened hosts and containers refuse (seen
//! on our own CI machines: AccessDenied), and its failed attempt leaves the
//! process with a private session keyring whose secrets vanish at exit. We
//! use the same kernel facility through the crate that store wraps.
//! `GUICHET_PASSWORD` in the environment overrides the keyring for scripts.

use std::sync::OnceLock;

pub const PASSWORD_ENV: &str = "GUICHET_PASSWORD";

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
    #[error("the keyring did not return what was stored")]
    Forgetful,
    #[error("Guichet has no keyring support on this system yet")]
    Unsupported,
}

/// Checks once per process that the keyring really keeps, returns and
/// forgets a secret.
fn available() -> Result<(), SecretError> {
    static PROBE: OnceLock<Result<(), VaultError>> = OnceLock::new();
    PROBE
        .get_or_init(|| {
            let name = format!("probe-{}", std::process::id());
            vault::set(&name, "probe")?;
            let back = vault::get(&name)?;
            vault::forget(&name);
            match back.as_deref() {
                Some("probe") => Ok(()),
                _ => Err(VaultError::Forgetful),
            }
        })
        .clone()
        .map_err(SecretError::NoKeyring)
}

/// Which credential store is in use, for `guichet doctor`.
pub fn store_in_use() -> Result<&'static str, SecretError> {
    available()?;
    Ok(vault::NAME)
}

fn account(profile: &str, user: &str) -> String {
    format!("{profile}:{user}")
}

pub fn save_password(profile: &str, user: &str, password: &str) -> Result<(), SecretError> {
    available()?;
    vault::set(&account(profile, user), password).map_err(SecretError::from)
}

/// The password for a profile: the environment override, else the keyring.
pub fn password(profile: &str, user: &str) -> Result<Option<String>, SecretError> {
    if let Ok(password) = std::env::var(PASSWORD_ENV)
        && !password.is_empty()
    {
        return Ok(Some(password));
    }
    available()?;
    vault::get(&account(profile, user)).map_err(SecretError::from)
}

pub fn forget_password(profile: &str, user: &str) -> Result<(), SecretError> {
    available()?;
    vault::forget(&account(profile, user));
    vault::forget(&session_account(profile, user));
    vault::forget(&client_secret_account(profile));
    Ok(())
}

fn client_secret_account(profile: &str) -> String {
    format!("{profile}:oauth-client-secret")
}

/// Keeps the secret of the OAuth application an administrator registered.
pub fn save_client_secret(profile: &str, secret: &str) -> Result<(), SecretError> {
    available()?;
    vault::set(&client_secret_account(profile), secret).map_err(SecretError::from)
}

/// The OAuth application's secret, if one was kept.
pub fn client_secret(profile: &str) -> Option<String> {
    available().ok()?;
    vault::get(&client_secret_account(profile)).ok().flatten()
}

fn session_account(profile: &str, user: &str) -> String {
    format!("{profile}:{user}:session")
}

/// Keeps a back-end session token (a secret too) for the next command.
pub fn save_session(profile: &str, user: &str, session: &str) -> Result<(), SecretError> {
    available()?;
    vault::set(&session_account(profile, user), session).map_err(SecretError::from)
}

/// A session token kept by an earlier command, if any.
pub fn session(profile: &str, user: &str) -> Option<String> {
    available().ok()?;
    vault::get(&session_account(profile, user)).ok().flatten()
}

#[cfg(target_os = "linux")]
mod vault {
    use linux_keyutils::{KeyRing, KeyRingIdentifier};

    use super::VaultError;

    pub const NAME: &str =
        "Linux kernel keyring (per-user keyring: shared by your logins, forgotten at reboot)";

    fn ring() -> Result<KeyRing, VaultError> {
        KeyRing::from_special_id(KeyRingIdentifier::User, true)
            .map_err(|e| VaultError::Unreachable(e.to_string()))
    }

    fn description(account: &str) -> String {
        format!("guichet:{account}")
    }

    pub fn set(account: &str, secret: &str) -> Result<(), VaultError> {
        // add_key replaces the payload of an existing key of that name.
        ring()?
            .add_key(&description(account), secret)
            .map(|_| ())
            .map_err(|e| VaultError::Refused(e.to_string()))
    }

    pub fn get(account: &str) -> Result<Option<String>, VaultError> {
        let Ok(key) = ring()?.search(&description(account)) else {
            return Ok(None);
        };
        let bytes = key
            .read_to_vec()
            .map_err(|e| VaultError::Refused(e.to_string()))?;
        String::from_utf8(bytes)
            .map(Some)
            .map_err(|_| VaultError::NotText)
    }

    pub fn forget(account: &str) {
        if let Ok(ring) = ring()
            && let Ok(key) = ring.search(&description(account))
        {
            let _ = key.invalidate();
        }
    }
}

#[cfg(not(target_os = "linux"))]
mod vault {
    use super::VaultError;

    pub const NAME: &str = "none";
    pub fn set(_: &str, _: &str) -> Result<(), VaultError> {
        Err(VaultError::Unsupported)
    }
    pub fn get(_: &str) -> Result<Option<String>, VaultError> {
        Err(VaultError::Unsupported)
    }
    pub fn forget(_: &str) {}
}

#[cfg(test)]
mod tests {
    #[test]
    fn the_keyring_keeps_replaces_and_forgets_a_password() {
        let store = super::store_in_use();
        assert!(store.is_ok(), "{store:?}");
        let profile = format!("test-{}", uuid::Uuid::new_v4().simple());
        super::save_password(&profile, "demo", "s3cret").unwrap();
        assert_eq!(
            super::vault::get(&super::account(&profile, "demo"))
                .unwrap()
                .as_deref(),
            Some("s3cret")
        );
        super::save_password(&profile, "demo", "n0uveau").unwrap();
        assert_eq!(
            super::vault::get(&super::account(&profile, "demo"))
                .unwrap()
                .as_deref(),
            Some("n0uveau")
        );
        super::forget_password(&profile, "demo").unwrap();
        assert_eq!(
            super::vault::get(&super::account(&profile, "demo")).unwrap(),
            None
        );
    }
}

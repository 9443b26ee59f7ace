//! Which credential store this machine offers, chosen once per process.
//!
//! The platform's own store where there is one (macOS Keychain, Windows
//! Credential Manager, Secret Service when a D-Bus session runs and Guichet
//! was built with it), else the Linux kernel keyring, which thin terminals
//! and SSH logins always have. `GUICHET_KEYRING=kernel` forces the kernel
//! keyring (a desktop whose Secret Service prompts at every unlock).

use std::sync::Arc;

use keyring_core::{CredentialStore, Entry};

pub const KEYRING_ENV: &str = "GUICHET_KEYRING";

/// `GUICHET_KEYRING=none`: no keyring at all, as on a machine that has
/// none (a container refusing the kernel keyring): the password path only.
#[cfg(target_os = "linux")]
const NO_KEYRING_FORCED: &str = "GUICHET_KEYRING=none";

/// The store in use and why it was chosen, for `login` and `doctor`.
#[derive(Clone)]
pub struct Vault {
    pub store: Arc<CredentialStore>,
    /// The store's name: a key of the CLI's catalogue (`cli.keyring_*`).
    pub name: &'static str,
    pub why: Why,
}

/// Why this store: each reason is a sentence of the CLI's catalogue.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Why {
    /// The operating system's own store.
    Platform,
    /// A D-Bus session answered for the Secret Service.
    SecretService,
    /// No D-Bus session: a thin terminal, an SSH login, a container.
    NoDbus,
    /// Guichet was built without Secret Service support.
    NotBuiltIn,
    /// `GUICHET_KEYRING=kernel`.
    Forced,
    /// The Secret Service was there but failed its check.
    SecretServiceFailed(String),
}

impl Why {
    pub fn key(&self) -> &'static str {
        match self {
            Why::Platform => "cli.keyring_why_platform",
            Why::SecretService => "cli.keyring_why_secret_service",
            Why::NoDbus => "cli.keyring_why_no_dbus",
            Why::NotBuiltIn => "cli.keyring_why_not_built_in",
            Why::Forced => "cli.keyring_why_forced",
            Why::SecretServiceFailed(_) => "cli.keyring_why_secret_service_failed",
        }
    }

    pub fn detail(&self) -> &str {
        match self {
            Why::SecretServiceFailed(error) => error,
            _ => "",
        }
    }
}

/// Writes, reads back and forgets a secret: a store that does not give back
/// what it was given (or loses it at once) is not one to trust a password to.
pub fn works(store: &Arc<CredentialStore>) -> Result<(), String> {
    let entry = Entry::new_in_store(
        store,
        super::SERVICE,
        &format!("probe-{}", std::process::id()),
    )
    .map_err(|e| e.to_string())?;
    entry.set_password("probe").map_err(|e| e.to_string())?;
    let back = entry.get_password().map_err(|e| e.to_string());
    let _ = entry.delete_credential();
    match back?.as_str() {
        "probe" => Ok(()),
        _ => Err("the store did not give back what it was given".into()),
    }
}

#[cfg(target_os = "linux")]
pub fn choose() -> Result<Vault, String> {
    let kernel = |why| {
        let store: Arc<CredentialStore> = super::kernel::KernelStore::new();
        works(&store)?;
        Ok(Vault {
            store,
            name: "cli.keyring_kernel",
            why,
        })
    };
    match std::env::var(KEYRING_ENV).as_deref() {
        Ok("kernel") => return kernel(Why::Forced),
        Ok("none") => return Err(NO_KEYRING_FORCED.into()),
        _ => {}
    }
    if std::env::var_os("DBUS_SESSION_BUS_ADDRESS").is_none() {
        return kernel(Why::NoDbus);
    }
    secret_service().or_else(kernel)
}

/// The desktop's Secret Service (GNOME Keyring, KWallet, KeePassXC).
#[cfg(all(target_os = "linux", feature = "secret-service"))]
fn secret_service() -> Result<Vault, Why> {
    let store: Arc<CredentialStore> = zbus_secret_service_keyring_store::Store::new()
        .map_err(|e| Why::SecretServiceFailed(e.to_string()))?;
    works(&store).map_err(Why::SecretServiceFailed)?;
    Ok(Vault {
        store,
        name: "cli.keyring_secret_service",
        why: Why::SecretService,
    })
}

#[cfg(all(target_os = "linux", not(feature = "secret-service")))]
fn secret_service() -> Result<Vault, Why> {
    Err(Why::NotBuiltIn)
}

#[cfg(target_os = "macos")]
pub fn choose() -> Result<Vault, String> {
    let store: Arc<CredentialStore> =
        apple_native_keyring_store::keychain::Store::new().map_err(|e| e.to_string())?;
    works(&store)?;
    Ok(Vault {
        store,
        name: "cli.keyring_macos",
        why: Why::Platform,
    })
}

#[cfg(target_os = "windows")]
pub fn choose() -> Result<Vault, String> {
    let store: Arc<CredentialStore> =
        windows_native_keyring_store::Store::new().map_err(|e| e.to_string())?;
    works(&store)?;
    Ok(Vault {
        store,
        name: "cli.keyring_windows",
        why: Why::Platform,
    })
}

#[cfg(not(any(target_os = "linux", target_os = "macos", target_os = "windows")))]
pub fn choose() -> Result<Vault, String> {
    Err("Guichet has no keyring support on this system yet".into())
}

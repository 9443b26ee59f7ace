//! The Linux kernel keyring as a `keyring-core` credential store.
//!
//! Why our own and not the published keyutils store: that store links every
//! secret into the "persistent" keyring, which hardened hosts and containers
//! refuse (seen on our own CI machines: AccessDenied), and after the refusal
//! the secret sits only in a session keyring the process created for itself,
//! gone when it exits: the agent's password was lost between two commands.
//! This store keeps secrets in the per-user keyring: no D-Bus needed (thin
//! terminals and SSH logins have none), shared by the user's logins, held in
//! kernel memory and forgotten at reboot, so a shared workstation forgets
//! passwords when it restarts.

use std::collections::HashMap;
use std::sync::Arc;

use keyring_core::api::{CredentialApi, CredentialPersistence, CredentialStoreApi};
use keyring_core::{Credential, Entry, Error, Result};
use linux_keyutils::{KeyRing, KeyRingIdentifier};

#[derive(Debug)]
pub struct KernelStore;

impl KernelStore {
    pub fn new() -> Arc<Self> {
        Arc::new(Self)
    }
}

impl CredentialStoreApi for KernelStore {
    fn vendor(&self) -> String {
        "Guichet's Linux kernel keyring store (per-user keyring)".into()
    }

    fn id(&self) -> String {
        "guichet-kernel-user-keyring".into()
    }

    fn build(
        &self,
        service: &str,
        user: &str,
        _modifiers: Option<&HashMap<&str, &str>>,
    ) -> Result<Entry> {
        Ok(Entry::new_with_credential(Arc::new(KernelCredential {
            service: service.to_owned(),
            user: user.to_owned(),
        })))
    }

    fn as_any(&self) -> &dyn std::any::Any {
        self
    }

    fn persistence(&self) -> CredentialPersistence {
        CredentialPersistence::UntilReboot
    }
}

/// The kernel's answer as keyring-core carries it (the crate's error type
/// is an `std::error::Error` only with a feature we do not need).
fn said(error: linux_keyutils::KeyError) -> keyring_core::error::PlatformError {
    error.to_string().into()
}

/// A search that found nothing is "no entry", and so is a key revoked or
/// expired: it holds nothing readable any more (an invalidated key is still
/// found, revoked, until the kernel collects it, which under load takes a
/// moment). Any other refusal (access denied) is a failure: a logout must
/// not say a password is forgotten while it is still held.
fn absent_or_failed(error: linux_keyutils::KeyError) -> Error {
    use linux_keyutils::KeyError;
    match error {
        KeyError::KeyDoesNotExist | KeyError::KeyRevoked | KeyError::KeyExpired => Error::NoEntry,
        other => Error::PlatformFailure(said(other)),
    }
}

/// One secret, named `service:user` in the user's keyring.
#[derive(Debug)]
struct KernelCredential {
    service: String,
    user: String,
}

impl KernelCredential {
    fn description(&self) -> String {
        format!("{}:{}", self.service, self.user)
    }

    fn ring() -> Result<KeyRing> {
        // `create` is true: a user keyring exists for every uid, the flag only
        // asks the kernel to make it if this is the user's first key.
        KeyRing::from_special_id(KeyRingIdentifier::User, true)
            .map_err(|e| Error::NoStorageAccess(said(e)))
    }
}

impl CredentialApi for KernelCredential {
    fn set_secret(&self, secret: &[u8]) -> Result<()> {
        if secret.is_empty() {
            // The kernel refuses empty payloads; say so in keyring-core's words.
            return Err(Error::Invalid("secret".into(), "cannot be empty".into()));
        }
        // add_key replaces the payload of an existing key of that name.
        Self::ring()?
            .add_key(&self.description(), secret)
            .map(|_| ())
            .map_err(|e| Error::PlatformFailure(said(e)))
    }

    fn get_secret(&self) -> Result<Vec<u8>> {
        let key = Self::ring()?
            .search(&self.description())
            .map_err(absent_or_failed)?;
        key.read_to_vec()
            .map_err(|e| Error::PlatformFailure(said(e)))
    }

    fn delete_credential(&self) -> Result<()> {
        let key = Self::ring()?
            .search(&self.description())
            .map_err(absent_or_failed)?;
        key.invalidate()
            .map_err(|e| Error::PlatformFailure(said(e)))
    }

    fn get_credential(&self) -> Result<Option<Arc<Credential>>> {
        // A name identifies one key: this credential is its own wrapper.
        self.get_secret().map(|_| None)
    }

    fn get_specifiers(&self) -> Option<(String, String)> {
        Some((self.service.clone(), self.user.clone()))
    }

    fn as_any(&self) -> &dyn std::any::Any {
        self
    }
}

//! The store's key: where it is kept and what opens it.
//!
//! Each profile's store is sealed with a random key (see `store::sealing`).
//! That key is kept in two places:
//! - the keyring, for the commands of a session (with the kernel keyring,
//!   until the machine restarts or the agent logs out);
//! - a key file beside the store, sealed with the agent's password
//!   (`secrets::KeyFile`): after a restart, or on a machine without any
//!   keyring, the password opens it, offline. The same file is the console
//!   lock's verifier.
//!
//! A store is sealed only once a password is at hand to seal its key with:
//! a key kept only in a keyring that forgets at restart would lose the
//! store, and the actions queued in it, with it.

use std::path::Path;

use crate::config::{Paths, Profile};
use crate::i18n::Lang;
use crate::secrets::{self, KeyFile, KeyFileError};
use crate::store::{Sealed, StoreKey, sealed_state};

use super::AppError;

/// The key a profile's store opens with; `None` while it stays plain.
/// `password`: one the agent just typed; else `GUICHET_PASSWORD`, else the
/// one the keyring keeps for the profile.
pub fn store_key(
    paths: &Paths,
    name: &str,
    profile: &Profile,
    password: Option<&str>,
) -> Result<Option<StoreKey>, AppError> {
    let store = paths.store(name);
    let state = sealed_state(&store)?;
    let encrypt = profile.encrypt_store.unwrap_or(true);
    if state != Sealed::Sealed && !encrypt {
        return Ok(None);
    }
    if let Some(key) = kept_key(&store) {
        return Ok(Some(key));
    }
    let password = match password {
        Some(password) => Some(password.to_string()),
        None => secrets::password(name, &profile.user).ok().flatten(),
    };
    let key_path = paths.store_key_file(name);
    let sealed = state == Sealed::Sealed;
    match (read_key_file(&key_path)?, password) {
        (Some(file), Some(password)) => match file.open(&password) {
            Ok(key) => {
                keep(&store, &key);
                Ok(Some(key))
            }
            // A plain store stays plain until the right password comes.
            Err(KeyFileError::WrongPassword) if !sealed => Ok(None),
            Err(e) => Err(unopened(&key_path, e, lang(profile))),
        },
        (Some(_), None) if sealed => Err(locked(name, lang(profile))),
        (None, _) if sealed => Err(key_lost_error(&store, &key_path, lang(profile))),
        // A new store, or a plain one from an earlier version.
        (None, Some(password)) => Ok(Some(new_key(&store, &key_path, &password)?)),
        // Plain, and no password to seal its key with yet: it stays plain
        // until the next login or unlock.
        (_, None) => Ok(None),
    }
}

/// Whether a sealed store's key is gone from both places it was kept:
/// nothing can ever read it again.
pub fn key_lost(paths: &Paths, name: &str) -> bool {
    let store = paths.store(name);
    matches!(sealed_state(&store), Ok(Sealed::Sealed))
        && kept_key(&store).is_none()
        && matches!(read_key_file(&paths.store_key_file(name)), Ok(None))
}

/// The refusal of a store whose key is gone from the keyring and the disk.
fn key_lost_error(store: &Path, key_path: &Path, lang: Lang) -> AppError {
    AppError::System(lang.f(
        "error.store_key_lost",
        &[("store", &store.display()), ("file", &key_path.display())],
    ))
}

/// The refusal of a store whose key needs the password.
pub fn locked(name: &str, lang: Lang) -> AppError {
    AppError::Locked(lang.f("error.store_locked", &[("name", &name)]))
}

fn lang(profile: &Profile) -> Lang {
    Lang::choose(profile.language.as_deref())
}

/// Checks the agent's password offline, against the key file: true when it
/// opens the store's key. Slow on purpose (argon2): never in a key path.
pub fn check_password(paths: &Paths, name: &str, password: &str) -> Result<bool, AppError> {
    Ok(open_key_file(paths, name, password)?.is_some())
}

/// The store's key from the key file, if `password` opens it.
fn open_key_file(paths: &Paths, name: &str, password: &str) -> Result<Option<StoreKey>, AppError> {
    let key_path = paths.store_key_file(name);
    let Some(file) = read_key_file(&key_path)? else {
        return Err(AppError::Locked(Lang::choose(None).f(
            "error.store_no_verifier",
            &[("name", &name), ("file", &key_path.display())],
        )));
    };
    match file.open(password) {
        Ok(key) => Ok(Some(key)),
        Err(KeyFileError::WrongPassword) => Ok(None),
        Err(e) => Err(damaged(&key_path, e)),
    }
}

/// After the back-end accepted `password`: the store's key is sealed with
/// it (a new key for a new store; the kept key sealed again when the
/// password changed), so that the password opens the store offline.
pub fn seal_with(paths: &Paths, name: &str, password: &str) -> Result<(), AppError> {
    let store = paths.store(name);
    let key_path = paths.store_key_file(name);
    let file = read_key_file(&key_path)?;
    if let Some(file) = &file {
        match file.open(password) {
            Ok(key) => {
                keep(&store, &key);
                return Ok(());
            }
            Err(KeyFileError::WrongPassword) => {}
            Err(e) => return Err(damaged(&key_path, e)),
        }
    }
    let key = match (kept_key(&store), file) {
        (Some(key), _) => key,
        // A sealed store with its key gone from both places: a new key
        // would not open it, and would hide that the old one is lost.
        (None, None) if sealed_state(&store)? == Sealed::Sealed => {
            return Err(key_lost_error(&store, &key_path, Lang::choose(None)));
        }
        (None, None) => {
            new_key(&store, &key_path, password)?;
            return Ok(());
        }
        (None, Some(_)) => {
            return Err(AppError::Locked(
                Lang::choose(None).f("error.store_password_changed", &[("name", &name)]),
            ));
        }
    };
    KeyFile::seal(&key, password)
        .write(&key_path)
        .map_err(|e| AppError::System(e.to_string()))
}

/// Opens the key file with a password the agent typed (`guichet unlock`,
/// the prompt at start) and keeps the key for the session.
pub fn unlock(paths: &Paths, name: &str, password: &str) -> Result<bool, AppError> {
    let key = open_key_file(paths, name, password)?;
    if let Some(key) = &key {
        keep(&paths.store(name), key);
    }
    Ok(key.is_some())
}

/// Forgets the session's copy of the key (logout): the password is then
/// needed to open the store again.
pub fn forget_kept(paths: &Paths, name: &str) {
    let _ = secrets::forget_store_key(&paths.store(name));
}

/// Removes the key file and the keyring's copy (a wipe, once the store is gone).
pub fn forget_all(paths: &Paths, name: &str) -> Result<(), AppError> {
    forget_kept(paths, name);
    match std::fs::remove_file(paths.store_key_file(name)) {
        Err(e) if e.kind() != std::io::ErrorKind::NotFound => Err(AppError::System(format!(
            "cannot remove {}: {e}",
            paths.store_key_file(name).display()
        ))),
        _ => Ok(()),
    }
}

fn kept_key(store: &Path) -> Option<StoreKey> {
    // A keyring that cannot answer is one that does not have the key: the
    // password path still opens the store.
    secrets::store_key(store).ok().flatten()
}

/// Keeps the key for this session; without a keyring the password is asked
/// again next time, which loses nothing.
fn keep(store: &Path, key: &StoreKey) {
    if let Err(e) = secrets::save_store_key(store, key) {
        tracing::info!(error = %e, "the store's key is not kept between commands");
    }
}

/// A new key, written sealed with `password` before any store uses it.
fn new_key(store: &Path, key_path: &Path, password: &str) -> Result<StoreKey, AppError> {
    let key = StoreKey::random();
    if let Some(folder) = key_path.parent() {
        crate::private_files::create_dir(folder)
            .map_err(|e| AppError::System(format!("cannot create {}: {e}", folder.display())))?;
    }
    KeyFile::seal(&key, password)
        .write(key_path)
        .map_err(|e| AppError::System(e.to_string()))?;
    keep(store, &key);
    Ok(key)
}

fn read_key_file(path: &Path) -> Result<Option<KeyFile>, AppError> {
    KeyFile::read(path).map_err(|e| AppError::System(e.to_string()))
}

fn unopened(path: &Path, e: KeyFileError, lang: Lang) -> AppError {
    match e {
        KeyFileError::WrongPassword => {
            AppError::Locked(lang.f("error.store_wrong_password", &[("file", &path.display())]))
        }
        e => damaged(path, e),
    }
}

fn damaged(path: &Path, e: KeyFileError) -> AppError {
    AppError::System(format!("{}: {e}", path.display()))
}

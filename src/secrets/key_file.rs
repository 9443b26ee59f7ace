//! The store's key sealed with the agent's password, in a file beside the
//! store: how the store opens after a restart emptied the kernel keyring, on
//! a machine with no keyring at all, and how the console's lock checks the
//! password offline.
//!
//! The password is stretched with argon2id (parameters kept in the file, so
//! that later versions can raise them) into a key that seals the store's key
//! with AES-256-GCM (ring, already linked for TLS). The seal's tag is the
//! verifier: a wrong password fails to open it, and nothing else about the
//! password is kept. An attacker holding the disk must guess the password at
//! argon2's price per guess, which is the exposure any offline password check
//! has.

use std::path::Path;

use base64::Engine;
use base64::engine::general_purpose::STANDARD as B64;
use ring::aead::{AES_256_GCM, Aad, LessSafeKey, Nonce, UnboundKey};
use serde::{Deserialize, Serialize};

use crate::store::StoreKey;

/// Bound to every seal, so that a sealed blob is not taken for another.
const CONTEXT: &[u8] = b"guichet store key v1";

/// argon2id as OWASP's password storage cheat sheet recommends (19 MiB,
/// two passes): tens of milliseconds here, once per unlock.
const MEMORY_KIB: u32 = 19 * 1024;
const PASSES: u32 = 2;

#[derive(Debug, thiserror::Error)]
pub enum KeyFileError {
    #[error("the password does not open the store's key")]
    WrongPassword,
    #[error("the key file is damaged ({0})")]
    Damaged(String),
    #[error("{path} is not a Guichet key file: {reason}")]
    Unreadable { path: String, reason: String },
    #[error("cannot use {path}: {source}")]
    Io {
        path: String,
        source: std::io::Error,
    },
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct KeyFile {
    version: u32,
    kdf: String,
    memory_kib: u32,
    passes: u32,
    lanes: u32,
    salt: String,
    cipher: String,
    nonce: String,
    sealed: String,
}

impl KeyFile {
    /// Seals `key` with `password` (a fresh salt and nonce every time).
    pub fn seal(key: &StoreKey, password: &str) -> KeyFile {
        let salt: [u8; 16] = rand::random();
        let nonce: [u8; 12] = rand::random();
        let mut sealed = key.bytes().to_vec();
        let wrapping = wrapping_key(password, &salt, MEMORY_KIB, PASSES, 1)
            .expect("argon2 accepts the parameters this version writes");
        wrapping
            .seal_in_place_append_tag(
                Nonce::assume_unique_for_key(nonce),
                Aad::from(CONTEXT),
                &mut sealed,
            )
            .expect("AES-GCM seals 32 bytes");
        KeyFile {
            version: 1,
            kdf: "argon2id".into(),
            memory_kib: MEMORY_KIB,
            passes: PASSES,
            lanes: 1,
            salt: B64.encode(salt),
            cipher: "aes-256-gcm".into(),
            nonce: B64.encode(nonce),
            sealed: B64.encode(sealed),
        }
    }

    /// The store's key, if `password` is the one it was sealed with.
    pub fn open(&self, password: &str) -> Result<StoreKey, KeyFileError> {
        let bad = |reason: &str| KeyFileError::Damaged(reason.to_string());
        if self.version != 1 || self.kdf != "argon2id" || self.cipher != "aes-256-gcm" {
            return Err(bad("a format this version does not know"));
        }
        let salt = B64.decode(&self.salt).map_err(|_| bad("salt"))?;
        let nonce: [u8; 12] = B64
            .decode(&self.nonce)
            .ok()
            .and_then(|n| n.try_into().ok())
            .ok_or_else(|| bad("nonce"))?;
        let mut sealed = B64.decode(&self.sealed).map_err(|_| bad("sealed key"))?;
        let wrapping = wrapping_key(password, &salt, self.memory_kib, self.passes, self.lanes)
            .ok_or_else(|| bad("argon2 parameters"))?;
        let key = wrapping
            .open_in_place(
                Nonce::assume_unique_for_key(nonce),
                Aad::from(CONTEXT),
                &mut sealed,
            )
            .map_err(|_| KeyFileError::WrongPassword)?;
        StoreKey::from_slice(key).ok_or_else(|| bad("a key of the wrong length"))
    }

    /// Reads the file at `path`; `None` when there is none.
    pub fn read(path: &Path) -> Result<Option<KeyFile>, KeyFileError> {
        let text = match std::fs::read_to_string(path) {
            Ok(text) => text,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
            Err(source) => {
                return Err(KeyFileError::Io {
                    path: path.display().to_string(),
                    source,
                });
            }
        };
        serde_json::from_str(&text)
            .map(Some)
            .map_err(|e| KeyFileError::Unreadable {
                path: path.display().to_string(),
                reason: e.to_string(),
            })
    }

    /// Writes the file 0600, replacing any earlier one in one rename.
    pub fn write(&self, path: &Path) -> Result<(), KeyFileError> {
        let text = serde_json::to_string_pretty(self).expect("a key file is JSON");
        crate::private_files::replace(path, text.as_bytes()).map_err(|source| KeyFileError::Io {
            path: path.display().to_string(),
            source,
        })
    }
}

/// The AES key argon2id stretches `password` into; `None` for parameters
/// argon2 refuses (a damaged file).
fn wrapping_key(
    password: &str,
    salt: &[u8],
    memory_kib: u32,
    passes: u32,
    lanes: u32,
) -> Option<LessSafeKey> {
    let params = argon2::Params::new(memory_kib, passes, lanes, Some(32)).ok()?;
    let argon = argon2::Argon2::new(argon2::Algorithm::Argon2id, argon2::Version::V0x13, params);
    let mut bytes = zeroize::Zeroizing::new([0u8; 32]);
    argon
        .hash_password_into(password.as_bytes(), salt, bytes.as_mut())
        .ok()?;
    UnboundKey::new(&AES_256_GCM, bytes.as_ref())
        .ok()
        .map(LessSafeKey::new)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_right_password_opens_the_key_and_a_wrong_one_does_not() {
        let key = StoreKey::random();
        let file = KeyFile::seal(&key, "s3cret");
        assert_eq!(file.open("s3cret").unwrap().bytes(), key.bytes());
        assert!(matches!(
            file.open("s3cre"),
            Err(KeyFileError::WrongPassword)
        ));
    }

    #[test]
    fn a_tampered_file_is_refused_never_taken_for_another_key() {
        let key = StoreKey::random();
        let mut file = KeyFile::seal(&key, "s3cret");
        let mut sealed = B64.decode(&file.sealed).unwrap();
        sealed[0] ^= 1;
        file.sealed = B64.encode(sealed);
        assert!(file.open("s3cret").is_err());
        file.memory_kib = 0;
        assert!(file.open("s3cret").is_err());
    }

    #[test]
    fn the_file_round_trips_through_disk_privately() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("p.key");
        assert_eq!(KeyFile::read(&path).unwrap(), None);
        let key = StoreKey::random();
        let file = KeyFile::seal(&key, "pw");
        file.write(&path).unwrap();
        assert_eq!(KeyFile::read(&path).unwrap().as_ref(), Some(&file));
        assert_eq!(crate::private_files::open_to_others(&path).unwrap(), None);
        std::fs::write(&path, "{not json").unwrap();
        assert!(matches!(
            KeyFile::read(&path),
            Err(KeyFileError::Unreadable { .. })
        ));
    }
}

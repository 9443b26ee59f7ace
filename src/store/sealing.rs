//! Encryption at rest: the store is a SQLCipher database (AES-256 pages,
//! each with an HMAC) opened with a random 32-byte key given raw, so that
//! opening costs no key stretching; `app::unlock` keeps that key. A plain
//! store from an earlier version is sealed in place, queued actions and all.

use std::path::{Path, PathBuf};

use rusqlite::Connection;
use zeroize::Zeroizing;

use super::{StoreError, StoreResult};

/// What every plain SQLite file starts with; a sealed one starts with
/// random bytes (SQLCipher's salt).
const PLAIN_HEADER: &[u8; 16] = b"SQLite format 3\0";

/// A store's key, wiped from memory when dropped.
#[derive(Clone)]
pub struct StoreKey(Zeroizing<[u8; 32]>);

impl std::fmt::Debug for StoreKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("StoreKey(..)")
    }
}

impl StoreKey {
    pub fn random() -> StoreKey {
        StoreKey(Zeroizing::new(rand::random()))
    }

    pub fn from_slice(bytes: &[u8]) -> Option<StoreKey> {
        let bytes: [u8; 32] = bytes.try_into().ok()?;
        Some(StoreKey(Zeroizing::new(bytes)))
    }

    pub fn bytes(&self) -> &[u8; 32] {
        &self.0
    }

    /// The key as text, for a keyring that keeps text only.
    pub fn to_hex(&self) -> Zeroizing<String> {
        let mut text = Zeroizing::new(String::with_capacity(64));
        for byte in self.0.iter() {
            text.push_str(&format!("{byte:02x}"));
        }
        text
    }

    pub fn from_hex(text: &str) -> Option<StoreKey> {
        if text.len() != 64 || !text.is_ascii() {
            return None;
        }
        let mut bytes = Zeroizing::new([0u8; 32]);
        for (i, byte) in bytes.iter_mut().enumerate() {
            *byte = u8::from_str_radix(&text[2 * i..2 * i + 2], 16).ok()?;
        }
        Some(StoreKey(bytes))
    }

    /// SQLCipher's raw-key form: `x'…'` skips its password stretching.
    fn sql_literal(&self) -> Zeroizing<String> {
        Zeroizing::new(format!("\"x'{}'\"", self.to_hex().as_str()))
    }
}

/// What a store's file holds, read from its first bytes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Sealed {
    /// No file yet, or an empty one: the store is still to be made.
    New,
    /// A plain SQLite file (an earlier version, or encryption turned off).
    Plain,
    /// Anything else: a sealed store (or a damaged file, which only its key
    /// can tell apart).
    Sealed,
}

pub fn sealed_state(path: &Path) -> StoreResult<Sealed> {
    use std::io::Read;
    let mut file = match std::fs::File::open(path) {
        Ok(file) => file,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Sealed::New),
        Err(e) => {
            return Err(StoreError::Invalid(format!(
                "cannot read {}: {e}",
                path.display()
            )));
        }
    };
    let mut header = [0u8; 16];
    let mut read = 0;
    while read < header.len() {
        match file.read(&mut header[read..]) {
            Ok(0) => break,
            Ok(n) => read += n,
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
            Err(e) => {
                return Err(StoreError::Invalid(format!(
                    "cannot read {}: {e}",
                    path.display()
                )));
            }
        }
    }
    Ok(match read {
        0 => Sealed::New,
        16 if &header == PLAIN_HEADER => Sealed::Plain,
        _ => Sealed::Sealed,
    })
}

/// Gives the connection its key; must come before anything reads the file.
pub(super) fn apply(conn: &Connection, key: Option<&StoreKey>) -> rusqlite::Result<()> {
    // SQLCipher writes its errors (a wrong key) to stderr, over the
    // console's screen: the store's own error says it instead.
    conn.execute_batch("PRAGMA cipher_log_level = NONE;")?;
    if let Some(key) = key {
        conn.execute_batch(&format!("PRAGMA key = {};", key.sql_literal().as_str()))?;
    }
    Ok(())
}

/// Reads the first page: with a wrong key, or none for a sealed file, or a
/// damaged file, SQLite says "file is not a database", which becomes a
/// refusal that leaves the file as it is.
pub(super) fn check_readable(conn: &Connection, path: &Path) -> StoreResult<()> {
    match conn.query_row("SELECT count(*) FROM sqlite_master", [], |r| {
        r.get::<_, i64>(0)
    }) {
        Ok(_) => Ok(()),
        Err(rusqlite::Error::SqliteFailure(e, _))
            if e.code == rusqlite::ErrorCode::NotADatabase =>
        {
            Err(StoreError::CannotUnseal(path.to_path_buf()))
        }
        Err(source) => Err(StoreError::Open {
            path: path.to_path_buf(),
            source,
        }),
    }
}

fn sealing_file(path: &Path) -> PathBuf {
    let mut name = path.as_os_str().to_owned();
    name.push(".sealing");
    PathBuf::from(name)
}

/// Seals the plain store at `path` with `key`, in a copy that replaces it
/// in one rename once it holds as many queued actions as the original: a
/// crash at any point leaves either the plain store or the sealed one, and
/// a copy half made is made again. The caller holds the store alone.
pub(super) fn seal_plain(path: &Path, key: &StoreKey) -> StoreResult<()> {
    let copy = sealing_file(path);
    match std::fs::remove_file(&copy) {
        Err(e) if e.kind() != std::io::ErrorKind::NotFound => {
            return Err(StoreError::Invalid(format!(
                "cannot remove {}: {e}",
                copy.display()
            )));
        }
        _ => {}
    }
    super::files::create_private(&copy)?;
    let open_error = |source| StoreError::Open {
        path: path.to_path_buf(),
        source,
    };
    let plain = Connection::open(path).map_err(open_error)?;
    plain.busy_timeout(std::time::Duration::from_secs(10))?;
    // Everything into the file: the copy is read from it and its log.
    plain.query_row("PRAGMA wal_checkpoint(TRUNCATE)", [], |_| Ok(()))?;
    let version: i64 = plain.query_row("PRAGMA user_version", [], |r| r.get(0))?;
    let queued = outbox_rows(&plain)?;
    plain.execute(
        &format!(
            "ATTACH DATABASE ?1 AS sealed KEY {}",
            key.sql_literal().as_str()
        ),
        [copy.to_string_lossy()],
    )?;
    plain.query_row("SELECT sqlcipher_export('sealed')", [], |_| Ok(()))?;
    plain.execute_batch(&format!("PRAGMA sealed.user_version = {version};"))?;
    plain.execute_batch("DETACH DATABASE sealed;")?;
    drop(plain);

    let sealed = Connection::open(&copy).map_err(open_error)?;
    apply(&sealed, Some(key))?;
    check_readable(&sealed, &copy)?;
    if outbox_rows(&sealed)? != queued {
        return Err(StoreError::Corrupt(format!(
            "sealing {} did not copy every queued action; the plain store is kept",
            path.display()
        )));
    }
    drop(sealed);
    let io =
        |e: std::io::Error| StoreError::Invalid(format!("cannot seal {}: {e}", path.display()));
    std::fs::File::open(&copy)
        .and_then(|f| f.sync_all())
        .map_err(io)?;
    std::fs::rename(&copy, path).map_err(io)?;
    crate::private_files::sync_folder(path).map_err(io)?;
    Ok(())
}

/// The outbox's rows (none before the outbox existed).
fn outbox_rows(conn: &Connection) -> StoreResult<i64> {
    let has_outbox: bool = conn.query_row(
        "SELECT count(*) > 0 FROM sqlite_master WHERE type = 'table' AND name = 'outbox'",
        [],
        |r| r.get(0),
    )?;
    if !has_outbox {
        return Ok(0);
    }
    Ok(conn.query_row("SELECT count(*) FROM outbox", [], |r| r.get(0))?)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::search::Search;
    use crate::domain::{Action, Case, Citizen};
    use crate::store::Store;

    /// Every file SQLite keeps for the store, read raw.
    fn raw_bytes(path: &Path) -> Vec<u8> {
        let mut bytes = Vec::new();
        for suffix in ["", "-wal", "-shm"] {
            let mut name = path.as_os_str().to_owned();
            name.push(suffix);
            if let Ok(more) = std::fs::read(PathBuf::from(name)) {
                bytes.extend(more);
            }
        }
        bytes
    }

    fn contains(haystack: &[u8], needle: &str) -> bool {
        haystack
            .windows(needle.len())
            .any(|w| w == needle.as_bytes())
    }

    /// A case of Mme Quentinelle with a note queued on it.
    fn fill(store: &mut Store) {
        store
            .save_citizens(&[Citizen {
                id: "c1".into(),
                first_name: "Aurore".into(),
                last_name: "Quentinelle".into(),
                email: "aurore.quentinelle@example.org".into(),
                ..Citizen::default()
            }])
            .unwrap();
        store
            .save_cases(&[Case {
                id: "1".into(),
                number: "CS1".into(),
                version: "1".into(),
                summary: "Renouvellement du passeport".into(),
                citizen: Some("c1".into()),
                ..Case::default()
            }])
            .unwrap();
        store
            .enqueue(
                "CS1",
                Action::WorkNote {
                    text: "Pièce justificative Zébulon reçue".into(),
                },
            )
            .unwrap();
    }

    #[test]
    fn a_sealed_store_keeps_no_name_in_clear_and_opens_only_with_its_key() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("p.db");
        let key = StoreKey::random();
        {
            let mut store = Store::open(&path, Some(&key)).unwrap();
            fill(&mut store);
            // The typo search reads on a second connection, which needs the key too.
            let hits = store.search(&Search::parse("quentinele").unwrap(), 10);
            assert_eq!(hits.unwrap().len(), 1);
            let words = store.search(&Search::parse("passeport").unwrap(), 10);
            assert_eq!(words.unwrap().len(), 1);
            let bytes = raw_bytes(&path);
            // Words long enough not to turn up in the ciphertext by chance:
            // three letters, as the number "CS1", are found in a random
            // file of this size about once in a hundred runs.
            for word in ["Quentinelle", "quentinelle", "passeport", "Zébulon"] {
                assert!(!contains(&bytes, word), "{word} in clear");
            }
        }
        assert_eq!(sealed_state(&path).unwrap(), Sealed::Sealed);
        let before = std::fs::read(&path).unwrap();
        for wrong in [None, Some(StoreKey::random())] {
            let refused = Store::open(&path, wrong.as_ref()).err().unwrap();
            assert!(
                matches!(refused, StoreError::CannotUnseal(_)),
                "{refused:?}"
            );
        }
        assert_eq!(std::fs::read(&path).unwrap(), before, "never overwritten");
        let store = Store::open(&path, Some(&key)).unwrap();
        assert_eq!(store.unfinished_count().unwrap(), 1);
    }

    #[test]
    fn a_plain_store_is_sealed_with_its_queued_actions() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("p.db");
        {
            let mut store = Store::open(&path, None).unwrap();
            fill(&mut store);
            assert!(contains(&raw_bytes(&path), "Quentinelle"));
        }
        assert_eq!(sealed_state(&path).unwrap(), Sealed::Plain);
        // A copy half made by an earlier, interrupted sealing is made again.
        std::fs::write(sealing_file(&path), b"half a copy").unwrap();
        let key = StoreKey::random();
        let store = Store::open(&path, Some(&key)).unwrap();
        let queue = store.queue(false).unwrap();
        assert_eq!(queue.len(), 1);
        assert!(matches!(&queue[0].action, Action::WorkNote { text } if text.contains("Zébulon")));
        assert_eq!(store.case_count().unwrap(), 1);
        drop(store);
        assert_eq!(sealed_state(&path).unwrap(), Sealed::Sealed);
        assert!(!sealing_file(&path).exists());
        let bytes = raw_bytes(&path);
        assert!(!contains(&bytes, "Quentinelle") && !contains(&bytes, "Zébulon"));
        // The schema version came along: nothing is migrated twice.
        let store = Store::open(&path, Some(&key)).unwrap();
        assert_eq!(store.unfinished_count().unwrap(), 1);
    }

    #[test]
    fn a_key_survives_the_keyring_as_text() {
        let key = StoreKey::random();
        let back = StoreKey::from_hex(&key.to_hex()).unwrap();
        assert_eq!(back.bytes(), key.bytes());
        assert!(StoreKey::from_hex("zz").is_none());
        assert!(StoreKey::from_hex(&"é".repeat(32)).is_none());
        assert_eq!(format!("{key:?}"), "StoreKey(..)");
    }
}

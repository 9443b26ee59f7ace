//! The store's files on disk: the SQLite file and its -wal and -shm, made
//! private from creation, refused when found open to other accounts, and
//! wiped only while no other process has the store open.

use std::fs::File;
use std::path::{Path, PathBuf};

use super::{Store, StoreError, StoreResult};
use crate::private_files::{self, Exposed};

/// The SQLite file, then the files SQLite keeps beside it in WAL mode.
fn sqlite_files(store: &Path) -> [PathBuf; 3] {
    let with = |suffix: &str| {
        let mut name = store.as_os_str().to_owned();
        name.push(suffix);
        PathBuf::from(name)
    };
    [store.to_path_buf(), with("-wal"), with("-shm")]
}

/// The file every open store holds a shared lock on, so that a wipe can
/// know that nobody (a console left open, a sync) would go on writing to a
/// deleted file: the actions queued there would vanish with it.
fn presence_file(store: &Path) -> PathBuf {
    store.with_extension("inuse")
}

fn io_error(path: &Path) -> impl Fn(std::io::Error) -> StoreError + '_ {
    move |e| StoreError::Invalid(format!("cannot use {}: {e}", path.display()))
}

/// Refuses a store whose files other accounts may read (nothing is read or
/// changed then: the agent fixes the modes and nothing was lost), and
/// creates a missing one 0600 in a 0700 folder before SQLite opens it:
/// SQLite creates its -wal and -shm with the mode of the main file.
pub(super) fn create_private(store: &Path) -> StoreResult<()> {
    let files = sqlite_files(store);
    if let Some(exposed) = Exposed::check(&files).map_err(io_error(store))? {
        return Err(StoreError::Exposed(exposed));
    }
    private_files::open_or_create(store)
        .map(drop)
        .map_err(io_error(store))
}

/// A lock on the presence file, released when dropped.
pub(super) struct Presence(#[allow(dead_code)] File);

impl Presence {
    /// Held by every open store (waits only while a wipe runs). Where the
    /// file system cannot lock, the store opens all the same: a wipe there
    /// cannot lock either, and is refused, so nothing is lost either way.
    pub(super) fn shared(store: &Path) -> StoreResult<Presence> {
        Presence::take(store, |file| match file.lock_shared() {
            Err(e) if e.kind() != std::io::ErrorKind::Interrupted => {
                tracing::warn!(error = %e, "the store's presence cannot be locked here");
                Ok(())
            }
            other => other,
        })
    }

    /// Held by a wipe: refused while any other store is open.
    pub(super) fn exclusive(store: &Path) -> StoreResult<Presence> {
        Presence::take(store, |file| {
            file.try_lock().map_err(|e| match e {
                std::fs::TryLockError::WouldBlock => std::io::ErrorKind::WouldBlock.into(),
                std::fs::TryLockError::Error(e) => e,
            })
        })
    }

    fn take(store: &Path, lock: impl Fn(&File) -> std::io::Result<()>) -> StoreResult<Presence> {
        let path = presence_file(store);
        if let Some(dir) = store.parent() {
            private_files::create_dir(dir).map_err(io_error(dir))?;
        }
        loop {
            let file = private_files::open_or_create(&path).map_err(io_error(&path))?;
            lock(&file).map_err(|e| match e.kind() {
                std::io::ErrorKind::WouldBlock => StoreError::InUse(store.to_path_buf()),
                _ => io_error(&path)(e),
            })?;
            // A wipe removes the file once done: a lock taken on the old
            // one, while waiting for it, would protect nothing.
            if same_file(&file, &path) {
                return Ok(Presence(file));
            }
        }
    }
}

#[cfg(unix)]
fn same_file(file: &File, path: &Path) -> bool {
    use std::os::unix::fs::MetadataExt;
    match (file.metadata(), std::fs::metadata(path)) {
        (Ok(held), Ok(named)) => held.dev() == named.dev() && held.ino() == named.ino(),
        _ => false,
    }
}

#[cfg(not(unix))]
fn same_file(_file: &File, path: &Path) -> bool {
    path.exists()
}

impl Store {
    /// Deletes a store nothing can read any more (its key is lost), while
    /// no other process has it open. The caller has the agent's word that
    /// its unsent actions are given up.
    pub fn wipe_unreadable(path: &Path) -> StoreResult<()> {
        let presence = Presence::exclusive(path)?;
        for file in sqlite_files(path) {
            match std::fs::remove_file(&file) {
                Err(e) if e.kind() != std::io::ErrorKind::NotFound => {
                    return Err(io_error(&file)(e));
                }
                _ => {}
            }
        }
        let _ = std::fs::remove_file(path.with_extension("lock"));
        let _ = std::fs::remove_file(presence_file(path));
        let _ = std::fs::remove_file(super::damage::suspect_mark(path));
        drop(presence);
        Ok(())
    }

    /// Deletes the store at `path` with its -wal and -shm, once `allowed`
    /// agreed, looking at the store while no other process has it open
    /// (refused with [`StoreError::InUse`] otherwise). False when there
    /// was no store.
    pub fn wipe<E: From<StoreError>>(
        path: &Path,
        key: Option<&super::StoreKey>,
        allowed: impl FnOnce(&Store) -> Result<(), E>,
    ) -> Result<bool, E> {
        if !path.exists() {
            return Ok(false);
        }
        let presence = Presence::exclusive(path)?;
        let store = Store::open_held(path, presence, key)?;
        allowed(&store)?;
        let Store {
            conn,
            helper,
            _presence: presence,
            ..
        } = store;
        // Closing the last connection checkpoints the WAL into the file:
        // should a removal below fail, nothing committed is only in the WAL.
        if let Some(helper) = helper.into_inner() {
            helper.close().map_err(|(_, e)| StoreError::Sql(e))?;
        }
        conn.close().map_err(|(_, e)| StoreError::Sql(e))?;
        for file in sqlite_files(path) {
            match std::fs::remove_file(&file) {
                Err(e) if e.kind() != std::io::ErrorKind::NotFound => {
                    return Err(io_error(&file)(e).into());
                }
                _ => {}
            }
        }
        // Nobody holds these while the presence lock is ours.
        let _ = std::fs::remove_file(path.with_extension("lock"));
        let _ = std::fs::remove_file(presence_file(path));
        let _ = std::fs::remove_file(super::damage::suspect_mark(path));
        drop(presence);
        Ok(true)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::Action;

    fn with_case(path: &Path) -> Store {
        let mut store = Store::open(path, None).unwrap();
        crate::store::save_case_one(&mut store);
        store
    }

    #[test]
    fn a_wipe_waits_for_no_one_and_leaves_nothing() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("profiles").join("p.db");
        let open = with_case(&path);
        let e = Store::wipe(&path, None, |_| Ok::<(), StoreError>(())).unwrap_err();
        assert!(matches!(e, StoreError::InUse(_)), "{e}");
        drop(open);
        let mut refused = false;
        let e = Store::wipe(&path, None, |store| {
            refused = store.case_count()? == 1;
            Err(StoreError::Invalid("kept".into()))
        })
        .unwrap_err();
        assert!(refused && e.to_string() == "kept");
        assert_eq!(Store::open(&path, None).unwrap().case_count().unwrap(), 1);
        assert!(Store::wipe(&path, None, |_| Ok::<(), StoreError>(())).unwrap());
        let left: Vec<_> = std::fs::read_dir(path.parent().unwrap())
            .unwrap()
            .map(|e| e.unwrap().file_name())
            .collect();
        assert!(left.is_empty(), "{left:?}");
        assert!(!Store::wipe(&path, None, |_| Ok::<(), StoreError>(())).unwrap());
    }

    #[cfg(unix)]
    #[test]
    fn a_store_open_to_others_is_refused_untouched_and_opens_once_private() {
        use std::os::unix::fs::PermissionsExt;
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("profiles").join("p.db");
        let mut store = with_case(&path);
        store
            .enqueue("CS1", Action::Priority { priority: 1 })
            .unwrap();
        drop(store);
        let mode = |p: &Path| std::fs::metadata(p).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode(&path), 0o600);
        assert_eq!(mode(path.parent().unwrap()), 0o700);
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o644)).unwrap();
        let before = std::fs::read(&path).unwrap();
        let e = Store::open(&path, None).err().unwrap().to_string();
        assert!(e.contains(&format!("chmod 600 {}", path.display())), "{e}");
        assert_eq!(std::fs::read(&path).unwrap(), before, "untouched");
        assert_eq!(mode(&path), 0o644);
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o600)).unwrap();
        assert_eq!(
            Store::open(&path, None)
                .unwrap()
                .unfinished_count()
                .unwrap(),
            1
        );
    }
}

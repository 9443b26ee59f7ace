//! The workstation's local store: one SQLite file per profile holding the
//! cases the agent can see, their citizens and timelines, the directory and
//! choice lists, the sync watermarks, and the outbox of actions not yet
//! acknowledged by the back-end. The console and the CLI read only from here.
//!
//! Every access goes through [`Store::open`] with the store's key (see
//! `sealing`): the file is encrypted at rest.

mod audit;
mod cases;
mod damage;
mod directory;
mod export;
mod files;
mod haystack;
mod intake;
mod outbox;
mod retention;
mod schema;
mod sealing;
mod search;
mod stats;
mod timestamps;
mod words;

use std::path::{Path, PathBuf};

use rusqlite::{Connection, OptionalExtension};

use crate::domain::{Clock, Timestamp};

pub use crate::domain::directory::ProcedureInfo;
pub use audit::{AuditLine, Event as AuditEvent};
pub use cases::CaseRow;
pub use damage::{Imported, RescuedAction, read_rescue_file};
pub use intake::provisional_id;
pub use outbox::{OutboxEntry, OutboxState, Settled};
pub use retention::{PurgeReport, Retention};
pub use sealing::{Sealed, StoreKey, sealed_state};
pub use search::{Page, SearchHit, Sort};
pub use stats::Stats;

#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error("local store {path}: {source}")]
    Open {
        path: PathBuf,
        source: rusqlite::Error,
    },
    #[error("local store: {0}")]
    Sql(rusqlite::Error),
    #[error("local store holds unreadable data: {0}")]
    Corrupt(String),
    #[error("no case {0} in the local store (run `guichet sync` while online)")]
    UnknownCase(String),
    #[error("no queued action {0}")]
    UnknownAction(String),
    #[error("{0}")]
    Invalid(String),
    /// The store's files are open to other accounts: refused untouched.
    #[error("local store: {0}")]
    Exposed(crate::private_files::Exposed),
    /// The key does not open the file (or the file is damaged): refused,
    /// and the file is left as it is.
    #[error(
        "local store {0} cannot be read with the key kept for it: the key is not the one it was sealed with, or the file is damaged. The file is left as it is; `guichet unlock` opens it with your password"
    )]
    CannotUnseal(PathBuf),
    /// The store is damaged or cut short: its queued actions that could
    /// be read were saved to `rescued` first, and it is refused.
    #[error(
        "local store {path} is damaged ({why}). Before anything else, its {actions} unsent action(s) were saved to {rescued}{lost}. To go on: `guichet logout --wipe`, `guichet login`, then `guichet queue import {rescued}` and `guichet sync`: each action keeps its id, so none is applied twice",
        path = path.display(),
        rescued = rescued.display(),
        lost = if *unreadable > 0 { format!(" ({unreadable} row(s) of the outbox could not be read at all)") } else { String::new() }
    )]
    Damaged {
        path: PathBuf,
        why: String,
        rescued: PathBuf,
        actions: usize,
        unreadable: usize,
    },
    /// Another process has the store open (a wipe waits for none).
    #[error(
        "local store {0} is open in another Guichet (a console, a sync): close it, then try again"
    )]
    InUse(PathBuf),
}

impl From<rusqlite::Error> for StoreError {
    fn from(e: rusqlite::Error) -> Self {
        damage::note(&e);
        StoreError::Sql(e)
    }
}

impl StoreError {
    /// The query was stopped on purpose (a newer one replaced it).
    pub fn is_interrupted(&self) -> bool {
        matches!(
            self,
            StoreError::Sql(rusqlite::Error::SqliteFailure(e, _))
                if e.code == rusqlite::ErrorCode::OperationInterrupted
        )
    }
}

pub type StoreResult<T> = Result<T, StoreError>;

/// Reads JSON the store wrote (`what` names it in the error): the one place
/// where a serde error becomes a store error.
pub(crate) fn from_json<T: serde::de::DeserializeOwned>(what: &str, text: &str) -> StoreResult<T> {
    serde_json::from_str(text).map_err(|e| StoreError::Corrupt(format!("{what}: {e}")))
}

/// Writes a value as JSON for the store.
pub(crate) fn to_json<T: serde::Serialize + ?Sized>(value: &T) -> StoreResult<String> {
    serde_json::to_string(value).map_err(|e| StoreError::Corrupt(e.to_string()))
}

/// What the store remembers besides cases and actions, one value each.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Meta {
    /// The agent's user id on the back-end.
    Me,
    /// The agent's user name (journal entries name their author by it).
    MeUserName,
    /// When the directory and choice lists were last refreshed (epoch s).
    ReferenceAt,
    /// Where the incremental pull stands (JSON of a `Watermark`).
    Watermark,
    /// Cases whose timelines are owed after a pull (JSON list of ids).
    TimelinesDue,
    /// When the visible ids were last compared (epoch s).
    ReconciledAt,
    /// When the last pull finished (`YYYY-MM-DD HH:MM:SS`, UTC).
    PulledAt,
    /// The typo search's lines were filled for cases stored before them.
    HaystackFilled,
    /// The highest outbox seq written to an export file (`queue export`).
    ExportedThrough,
    /// When the retention last purged (epoch s).
    PurgedAt,
    /// The n of the next provisional number (`NEW-n`) given here.
    NextProvisional,
    /// Which actions the back-end has (JSON of `backend::Actions`).
    Actions,
    /// The state moves it allows (JSON of `backend::StateFlow`).
    StateFlow,
}

impl Meta {
    fn key(self) -> &'static str {
        match self {
            Meta::Me => "me",
            Meta::MeUserName => "me_user_name",
            Meta::ReferenceAt => "reference_at",
            Meta::Watermark => "watermark",
            Meta::TimelinesDue => "timelines_due",
            Meta::ReconciledAt => "reconciled_at",
            Meta::PulledAt => "pulled_at",
            Meta::HaystackFilled => "haystack_filled",
            Meta::ExportedThrough => "exported_through",
            Meta::PurgedAt => "purged_at",
            Meta::NextProvisional => "next_provisional",
            Meta::Actions => "actions",
            Meta::StateFlow => "state_flow",
        }
    }
}

pub struct Store {
    conn: Connection,
    path: PathBuf,
    /// A second, read-only connection, opened on first need, for scans
    /// split in two halves read side by side (the typo search).
    helper: std::cell::RefCell<Option<Connection>>,
    /// Interrupt handles of both connections.
    interrupts: Interrupt,
    /// What the store stamps its records with and counts "today" by.
    clock: Clock,
    /// How long cases untouched are kept (the profile's settings).
    retention: Retention,
    /// The key the store was opened with (its other connections need it).
    key: Option<StoreKey>,
    /// Says to a wipe that this store is open; released when dropped.
    _presence: files::Presence,
    /// Leaves a mark for the next open should a "corrupt" error come up.
    _watch: damage::Watch,
}

/// A write transaction of the store's own, or a savepoint inside the
/// transaction of `Store::in_one_commit`.
enum Write<'c> {
    Own(rusqlite::Transaction<'c>),
    InBatch(rusqlite::Savepoint<'c>),
}

impl Write<'_> {
    fn commit(self) -> rusqlite::Result<()> {
        match self {
            Write::Own(tx) => tx.commit(),
            Write::InBatch(savepoint) => savepoint.commit(),
        }
    }
}

impl std::ops::Deref for Write<'_> {
    type Target = Connection;

    fn deref(&self) -> &Connection {
        match self {
            Write::Own(tx) => tx,
            Write::InBatch(savepoint) => savepoint,
        }
    }
}

/// Stops the store's running queries from another thread (the console
/// cancels a search that a newer keystroke replaced).
#[derive(Clone)]
pub struct Interrupt(std::sync::Arc<std::sync::Mutex<Vec<rusqlite::InterruptHandle>>>);

impl Interrupt {
    pub fn interrupt(&self) {
        if let Ok(handles) = self.0.lock() {
            for handle in handles.iter() {
                handle.interrupt();
            }
        }
    }
}

/// Held while a process talks to the back-end for a store: one at a time,
/// so that a second process never mistakes the first one's request in
/// flight for an interrupted one. Released when dropped (or at exit).
pub struct SyncLock(#[allow(dead_code)] std::fs::File);

impl Store {
    /// Opens (creating if needed) the store at `path`, sealed with `key`
    /// (plain without one). WAL with synchronous=FULL: an action the console
    /// called "queued" is on disk and survives a power cut. The file is
    /// created 0600 in a 0700 folder (SQLite gives its -wal and -shm files
    /// the same mode); a store found open to other accounts is refused
    /// untouched (see `files`). A plain store opened with a key is sealed
    /// first, alone (see `sealing`).
    pub fn open(path: &Path, key: Option<&StoreKey>) -> StoreResult<Store> {
        if let Some(key) = key
            && sealed_state(path)? == Sealed::Plain
        {
            let alone = files::Presence::exclusive(path)?;
            // Another process may have sealed it while this one waited.
            if sealed_state(path)? == Sealed::Plain {
                files::create_private(path)?;
                sealing::seal_plain(path, key)?;
            }
            drop(alone);
        }
        let presence = files::Presence::shared(path)?;
        Store::open_held(path, presence, key)
    }

    /// Another store on the same file and key (the console reads, writes
    /// and syncs on connections of their own).
    pub fn reopen(&self) -> StoreResult<Store> {
        let mut store = Store::open(&self.path, self.key.as_ref())?;
        store.retention = self.retention;
        store.clock = self.clock.clone();
        Ok(store)
    }

    /// Opens the store while `presence` is held (shared by every open
    /// store; exclusive for a wipe).
    fn open_held(
        path: &Path,
        presence: files::Presence,
        key: Option<&StoreKey>,
    ) -> StoreResult<Store> {
        let open_error = |source| StoreError::Open {
            path: path.to_path_buf(),
            source,
        };
        files::create_private(path)?;
        let conn = Connection::open(path).map_err(open_error)?;
        sealing::apply(&conn, key).map_err(open_error)?;
        // Before anything writes to it: a damaged store's queued actions
        // are saved, then it is refused (see `damage`).
        let mark = damage::suspect_mark(path);
        let thorough = mark.exists();
        let verdict = match sealing::check_readable(&conn, path) {
            // SQLite itself refuses a file shorter than it counts.
            Err(StoreError::Open { source, .. }) if damage::is_damage(&source) => {
                Some(source.to_string())
            }
            Err(e) => return Err(e),
            Ok(()) => damage::check(&conn, path, thorough)?,
        };
        if let Some(why) = verdict {
            drop(conn);
            let rescue = damage::rescue(path, key)?;
            tracing::error!(
                "local store {} is damaged ({why}): {} unsent action(s) saved to {}",
                path.display(),
                rescue.actions,
                rescue.file.display()
            );
            return Err(StoreError::Damaged {
                path: path.to_path_buf(),
                why,
                rescued: rescue.file,
                actions: rescue.actions,
                unreadable: rescue.unreadable,
            });
        }
        if thorough {
            let _ = std::fs::remove_file(&mark);
        }
        conn.execute_batch(
            "PRAGMA journal_mode = WAL;
             PRAGMA synchronous = FULL;
             PRAGMA busy_timeout = 10000;
             PRAGMA foreign_keys = ON;",
        )
        .map_err(open_error)?;
        schema::migrate(&conn).map_err(open_error)?;
        conn.execute_batch(&format!(
            "PRAGMA cache_size = -{};",
            cache_kib(key.is_some())
        ))
        .map_err(open_error)?;
        let interrupts = Interrupt(std::sync::Arc::new(std::sync::Mutex::new(vec![
            conn.get_interrupt_handle(),
        ])));
        let mut store = Store {
            conn,
            path: path.to_path_buf(),
            helper: std::cell::RefCell::new(None),
            interrupts,
            clock: Clock::system(),
            retention: Retention::default(),
            key: key.cloned(),
            _presence: presence,
            _watch: damage::Watch::new(path),
        };
        store.fill_haystack()?;
        Ok(store)
    }

    /// Cases stored before the search lines existed get theirs (once, on
    /// the first open after the upgrade).
    fn fill_haystack(&mut self) -> StoreResult<()> {
        if self.meta(Meta::HaystackFilled)?.is_some() {
            return Ok(());
        }
        let tx = self.write()?;
        haystack::rewrite_where(&tx, "c.row NOT IN (SELECT row FROM case_haystack)", None)?;
        tx.execute(
            "INSERT OR REPLACE INTO meta (key, value) VALUES (?, '1')",
            [Meta::HaystackFilled.key()],
        )?;
        tx.commit()?;
        Ok(())
    }

    /// A write transaction holding the write lock from its start
    /// (IMMEDIATE): a read-then-write never fails half way because another
    /// process wrote in between.
    /// Inside `in_one_commit`, a savepoint of its transaction instead: a
    /// write that fails leaves nothing, the others wait for the one commit.
    fn write(&mut self) -> rusqlite::Result<Write<'_>> {
        if self.conn.is_autocommit() {
            self.conn
                .transaction_with_behavior(rusqlite::TransactionBehavior::Immediate)
                .map(Write::Own)
        } else {
            self.conn.savepoint().map(Write::InBatch)
        }
    }

    /// Runs `work` with every write of it in one transaction, committed
    /// once at the end: a push round settles a whole window of answers with
    /// one commit instead of one per action (each commit writes the shared
    /// index pages again). A write of `work` that fails is undone alone;
    /// the others are kept. If the commit itself fails, none is kept, and
    /// the actions stay "sending", to be settled as unknown outcomes.
    pub fn in_one_commit<T>(&mut self, work: impl FnOnce(&mut Store) -> T) -> StoreResult<T> {
        if !self.conn.is_autocommit() {
            // Already inside one: the outer commit covers this work too.
            return Ok(work(self));
        }
        self.conn.execute_batch("BEGIN IMMEDIATE")?;
        let out = work(self);
        if let Err(e) = self.conn.execute_batch("COMMIT") {
            let _ = self.conn.execute_batch("ROLLBACK");
            return Err(e.into());
        }
        Ok(out)
    }

    /// What stops this store's running queries from another thread.
    pub fn interrupt_handle(&self) -> Interrupt {
        self.interrupts.clone()
    }

    /// The second connection, opened read-only on first use.
    fn helper(&self) -> StoreResult<std::cell::RefMut<'_, Option<Connection>>> {
        let mut helper = self.helper.borrow_mut();
        if helper.is_none() {
            let conn = Connection::open_with_flags(
                &self.path,
                rusqlite::OpenFlags::SQLITE_OPEN_READ_ONLY
                    | rusqlite::OpenFlags::SQLITE_OPEN_NO_MUTEX,
            )
            .map_err(|source| StoreError::Open {
                path: self.path.clone(),
                source,
            })?;
            sealing::apply(&conn, self.key.as_ref())?;
            conn.execute_batch(&format!(
                "PRAGMA cache_size = -{};",
                cache_kib(self.key.is_some())
            ))?;
            conn.busy_timeout(std::time::Duration::from_secs(10))?;
            if let Ok(mut handles) = self.interrupts.0.lock() {
                handles.push(conn.get_interrupt_handle());
            }
            *helper = Some(conn);
        }
        Ok(helper)
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    /// The profile's clock: the store's stamps, its "overdue" and "today",
    /// and the sync rounds run on it.
    pub fn clock(&self) -> &Clock {
        &self.clock
    }

    /// Runs the store (and the syncs on it) on another clock: a test's,
    /// stopped at a day of its choosing.
    pub fn set_clock(&mut self, clock: Clock) {
        self.clock = clock;
    }

    pub fn meta(&self, meta: Meta) -> StoreResult<Option<String>> {
        Ok(self
            .conn
            .query_row("SELECT value FROM meta WHERE key = ?", [meta.key()], |r| {
                r.get(0)
            })
            .optional()?)
    }

    pub fn set_meta(&self, meta: Meta, value: &str) -> StoreResult<()> {
        self.conn.execute(
            "INSERT INTO meta (key, value) VALUES (?1, ?2) ON CONFLICT (key) DO UPDATE SET value = ?2",
            [meta.key(), value],
        )?;
        Ok(())
    }

    /// Takes the store's sync lock: waits for it, or with `wait` false
    /// returns None when another process holds it.
    pub fn lock_sync(&self, wait: bool) -> StoreResult<Option<SyncLock>> {
        let path = self.path.with_extension("lock");
        let io =
            |e: std::io::Error| StoreError::Invalid(format!("cannot lock {}: {e}", path.display()));
        let file = crate::private_files::open_or_create(&path).map_err(io)?;
        if wait {
            file.lock().map_err(io)?;
            return Ok(Some(SyncLock(file)));
        }
        match file.try_lock() {
            Ok(()) => Ok(Some(SyncLock(file))),
            Err(std::fs::TryLockError::WouldBlock) => Ok(None),
            Err(std::fs::TryLockError::Error(e)) => Err(io(e)),
        }
    }

    /// Commits that reach the disk lazily (`true`), or at once (`false`, the
    /// default). Lazily only while settling outcomes: an outcome lost to a
    /// power cut leaves its action "sending", which is settled again by
    /// reading back. What must never be lost (an action queued, "sending"
    /// marked before a request leaves) is committed at once, and such a
    /// commit also puts every lazy one before it on disk (one write-ahead
    /// log, written in order).
    pub fn relax_durability(&self, relaxed: bool) -> StoreResult<()> {
        let level = if relaxed { "NORMAL" } else { "FULL" };
        self.conn
            .execute_batch(&format!("PRAGMA synchronous = {level};"))?;
        Ok(())
    }

    /// A first pull writes the whole history: with SQLite's default 2 MB
    /// page cache, its indexes and search tables are read back from the file
    /// over and over. A bigger cache while it lasts, the default after.
    /// The write-ahead log is copied back into the file less often too (every
    /// 64 MB rather than 4 MB): index pages that every page of cases touches
    /// are then copied once, not once per page.
    pub fn bulk_writes(&self, on: bool) -> StoreResult<()> {
        let (kib, wal_pages) = if on {
            (65536, 16384)
        } else {
            (cache_kib(self.key.is_some()), 1000)
        };
        self.conn.execute_batch(&format!(
            "PRAGMA cache_size = -{kib}; PRAGMA wal_autocheckpoint = {wal_pages};"
        ))?;
        Ok(())
    }

    /// Plans each statement once, whatever values it runs with. SQLite
    /// plans again a statement whose plan looked at a bound value each time
    /// that value changes: on a connection that stores page after page of
    /// cases, that was 7% of a first sync. For connections that sync, not
    /// those that search, where a date's value rightly decides the plan.
    pub fn plan_once(&self) -> StoreResult<()> {
        self.conn.set_db_config(
            rusqlite::config::DbConfig::SQLITE_DBCONFIG_ENABLE_QPSG,
            true,
        )?;
        Ok(())
    }

    /// Updates the query planner's statistics where they are stale.
    pub fn optimize(&self) -> StoreResult<()> {
        self.conn.execute_batch("PRAGMA optimize = 0x10002;")?;
        Ok(())
    }

    /// When the last pull finished; None before the first (or should the
    /// value be unreadable: it only says how fresh the copy is).
    pub fn last_pull(&self) -> StoreResult<Option<Timestamp>> {
        Ok(self
            .meta(Meta::PulledAt)?
            .and_then(|at| Timestamp::parse(&at).ok()))
    }

    /// The agent's own user id, learnt at login or first sync.
    /// Which actions the back-end has, as the last reference refresh
    /// said (all of them before any).
    pub fn backend_actions(&self) -> StoreResult<crate::backend::Actions> {
        Ok(self
            .meta(Meta::Actions)?
            .and_then(|text| serde_json::from_str(&text).ok())
            .unwrap_or_default())
    }

    /// The state moves the back-end allows, as last said.
    pub fn state_flow(&self) -> StoreResult<crate::backend::StateFlow> {
        Ok(self
            .meta(Meta::StateFlow)?
            .and_then(|text| serde_json::from_str(&text).ok())
            .unwrap_or_default())
    }

    pub fn me(&self) -> StoreResult<Option<String>> {
        self.meta(Meta::Me)
    }
}

/// SQLite's page cache per connection, in KiB. A sealed store's pages are
/// decrypted and their HMAC checked each time they are read from the file:
/// the index and search pages a query walks stay decrypted in a bigger
/// cache (SQLite's default is 2 MB; memory is taken only as pages are read).
fn cache_kib(sealed: bool) -> i64 {
    if sealed { 32 * 1024 } else { 2000 }
}

#[cfg(test)]
pub(crate) fn test_store() -> (tempfile::TempDir, Store) {
    let dir = tempfile::tempdir().expect("temp dir");
    let store = Store::open(&dir.path().join("store.db"), None).expect("open store");
    (dir, store)
}

/// Stores one open case, id 1, number CS1, for tests that queue on it.
#[cfg(test)]
pub(crate) fn save_case_one(store: &mut Store) {
    save_test_case(store, "1");
}

/// Stores an open case with this id, numbered `CS{id}`, at version 1.
#[cfg(test)]
pub(crate) fn save_test_case(store: &mut Store, id: &str) {
    store
        .save_cases(&[crate::domain::Case {
            id: id.into(),
            number: format!("CS{id}"),
            version: "1".into(),
            ..crate::domain::Case::default()
        }])
        .expect("save a case");
}

//! Connections to the server's SQLite file: one writer (SQLite has one
//! writer anyway, and a single lock keeps write transactions short and
//! ordered) and a few readers that WAL lets run beside it. All work runs on
//! tokio's blocking pool so no request stalls the async workers, and under
//! the server's deadline (`deadline`) so no request holds a connection long.

use std::path::Path;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use rusqlite::Connection;

use super::deadline;
use super::error::ApiError;
use super::schema;

pub struct Db {
    writer: Mutex<Connection>,
    readers: Vec<Mutex<Connection>>,
    next_reader: AtomicUsize,
    /// How long one request's database work may take, waiting included.
    deadline: Duration,
}

const READERS: usize = 4;

fn configure(conn: &Connection) -> rusqlite::Result<()> {
    // synchronous=FULL: a write acknowledged to a client survives power loss,
    // not only a crash of this process.
    conn.execute_batch(
        "PRAGMA journal_mode = WAL;
         PRAGMA synchronous = FULL;
         PRAGMA busy_timeout = 10000;
         PRAGMA cache_size = -32000;
         PRAGMA temp_store = MEMORY;",
    )
}

/// The database holds every citizen's data and the agents' password
/// hashes: a new file is made 0600 before SQLite opens it (SQLite gives its
/// -wal and -shm the main file's mode). An existing file keeps its mode: an
/// administrator may have chosen it.
fn create_private(path: &Path) -> rusqlite::Result<()> {
    crate::private_files::open_or_create(path)
        .map(drop)
        .map_err(|e| {
            rusqlite::Error::SqliteFailure(
                rusqlite::ffi::Error::new(rusqlite::ffi::SQLITE_CANTOPEN),
                Some(format!("cannot create {}: {e}", path.display())),
            )
        })
}

/// One configured connection with the schema in place, for commands that
/// work on the file directly (`guichet accounts`), even beside a running server.
pub fn open_single(path: &Path) -> rusqlite::Result<Connection> {
    create_private(path)?;
    let conn = Connection::open(path)?;
    configure(&conn)?;
    schema::migrate(&conn)?;
    Ok(conn)
}

impl Db {
    pub fn open(path: &Path, deadline: Duration) -> Result<Arc<Db>, rusqlite::Error> {
        create_private(path)?;
        let writer = Connection::open(path)?;
        configure(&writer)?;
        schema::migrate(&writer)?;
        // Refresh the planner's statistics where they are missing or stale:
        // the composite indexes only win when the planner knows the data.
        writer.execute_batch("PRAGMA optimize = 0x10002;")?;
        let mut readers = Vec::with_capacity(READERS);
        for _ in 0..READERS {
            let conn = Connection::open(path)?;
            configure(&conn)?;
            readers.push(Mutex::new(conn));
        }
        Ok(Arc::new(Db {
            writer: Mutex::new(writer),
            readers,
            next_reader: AtomicUsize::new(0),
            deadline,
        }))
    }

    /// Runs `work` on a reader connection.
    pub async fn read<T, F>(self: &Arc<Self>, work: F) -> Result<T, ApiError>
    where
        T: Send + 'static,
        F: FnOnce(&Connection) -> Result<T, ApiError> + Send + 'static,
    {
        let db = Arc::clone(self);
        let limit = self.deadline;
        deadline::within(limit, move |watch| {
            let i = db.next_reader.fetch_add(1, Ordering::Relaxed) % db.readers.len();
            let conn = db.readers[i].lock().unwrap_or_else(|p| p.into_inner());
            watch.run(conn.get_interrupt_handle(), limit, || work(&conn))
        })
        .await
    }

    /// Runs `work` on the writer connection; `work` opens its own transaction.
    pub async fn write<T, F>(self: &Arc<Self>, work: F) -> Result<T, ApiError>
    where
        T: Send + 'static,
        F: FnOnce(&mut Connection) -> Result<T, ApiError> + Send + 'static,
    {
        let db = Arc::clone(self);
        let limit = self.deadline;
        deadline::within(limit, move |watch| {
            let mut conn = db.writer.lock().unwrap_or_else(|p| p.into_inner());
            watch.run(conn.get_interrupt_handle(), limit, || work(&mut conn))
        })
        .await
    }
}

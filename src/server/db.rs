//! Connections to the server's SQLite file: one writer (SQLite has one
//! writer anyway, and a single lock keeps write transactions short and
//! ordered) and a few readers that WAL lets run beside it. All work runs on
//! tokio's blocking pool so no request stalls the async workers.

use std::path::Path;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};

use rusqlite::Connection;

use super::error::ApiError;
use super::schema;

pub struct Db {
    writer: Mutex<Connection>,
    readers: Vec<Mutex<Connection>>,
    next_reader: AtomicUsize,
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

/// One configured connection with the schema in place, for commands that
/// work on the file directly (`guichet accounts`), even beside a running server.
pub fn open_single(path: &Path) -> rusqlite::Result<Connection> {
    let conn = Connection::open(path)?;
    configure(&conn)?;
    schema::migrate(&conn)?;
    Ok(conn)
}

impl Db {
    pub fn open(path: &Path) -> Result<Arc<Db>, rusqlite::Error> {
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
        }))
    }

    /// Runs `work` on a reader connection.
    pub async fn read<T, F>(self: &Arc<Self>, work: F) -> Result<T, ApiError>
    where
        T: Send + 'static,
        F: FnOnce(&Connection) -> Result<T, ApiError> + Send + 'static,
    {
        let db = Arc::clone(self);
        run_blocking(move || {
            let i = db.next_reader.fetch_add(1, Ordering::Relaxed) % db.readers.len();
            let conn = db.readers[i].lock().unwrap_or_else(|p| p.into_inner());
            work(&conn)
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
        run_blocking(move || {
            let mut conn = db.writer.lock().unwrap_or_else(|p| p.into_inner());
            work(&mut conn)
        })
        .await
    }
}

async fn run_blocking<T: Send + 'static>(
    work: impl FnOnce() -> Result<T, ApiError> + Send + 'static,
) -> Result<T, ApiError> {
    tokio::task::spawn_blocking(work)
        .await
        .map_err(|e| ApiError::internal(format!("database task failed: {e}")))?
}

//! A deadline on every piece of database work (`serve --query-deadline-secs`).
//! Work runs on tokio's blocking pool with a connection of its own; past the
//! deadline, work still waiting for a connection is given up before it
//! starts, and work running is stopped with `sqlite3_interrupt`, which makes
//! the running statement fail at its next step (a write's transaction is
//! rolled back). The client gets a 503 rather than a hung request, and the
//! connection is free again for the next one.

use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;

use axum::http::StatusCode;
use rusqlite::InterruptHandle;

use super::error::ApiError;

/// The default of `serve --query-deadline-secs`.
pub const DEFAULT: Duration = Duration::from_secs(10);

/// Where one piece of work stands. The interrupt is sent under the same lock
/// that [`Watch::run`] takes to leave `Running`, so a late deadline can
/// never interrupt the next request on the same connection.
enum State {
    /// Queued, waiting for the blocking pool or for its connection.
    Waiting,
    Running(InterruptHandle),
    Finished,
    /// The deadline passed: not started, or interrupted.
    Expired,
}

/// What the timer found when the deadline came.
enum Expiry {
    /// Never started, and now never will: answer at once.
    BeforeStart,
    /// Interrupted: it ends promptly with an error.
    Interrupted,
    /// Done in time after all.
    TooLate,
}

#[derive(Clone)]
pub struct Watch(Arc<Mutex<State>>);

impl Watch {
    fn new() -> Watch {
        Watch(Arc::new(Mutex::new(State::Waiting)))
    }

    fn lock(&self) -> MutexGuard<'_, State> {
        self.0.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Runs `work` under the deadline on the connection `interrupt` stops
    /// (already in the caller's hands); work that the deadline stopped
    /// answers the deadline error whatever SQLite said.
    pub fn run<T>(
        &self,
        interrupt: InterruptHandle,
        limit: Duration,
        work: impl FnOnce() -> Result<T, ApiError>,
    ) -> Result<T, ApiError> {
        {
            let mut state = self.lock();
            if matches!(*state, State::Expired) {
                return Err(deadline_error(limit));
            }
            *state = State::Running(interrupt);
        }
        // Left running, the state would let a late timer interrupt whoever
        // takes the connection next: leave it even when `work` panics.
        let finished = Finished(self);
        let result = work();
        let expired = finished.leave();
        match result {
            Err(_) if expired => Err(deadline_error(limit)),
            other => other,
        }
    }

    fn expire(&self) -> Expiry {
        let mut state = self.lock();
        match std::mem::replace(&mut *state, State::Expired) {
            State::Waiting | State::Expired => Expiry::BeforeStart,
            State::Running(handle) => {
                handle.interrupt();
                Expiry::Interrupted
            }
            State::Finished => {
                *state = State::Finished;
                Expiry::TooLate
            }
        }
    }
}

/// Leaves the running state when dropped.
struct Finished<'a>(&'a Watch);

impl Finished<'_> {
    /// Whether the deadline stopped the work.
    fn leave(self) -> bool {
        let mut state = self.0.lock();
        let expired = matches!(*state, State::Expired);
        *state = State::Finished;
        expired
    }
}

impl Drop for Finished<'_> {
    fn drop(&mut self) {
        let mut state = self.0.lock();
        if matches!(*state, State::Running(_)) {
            *state = State::Finished;
        }
    }
}

/// ServiceNow's words for a transaction past its quota, with the deadline.
pub fn deadline_error(limit: Duration) -> ApiError {
    ApiError::new(
        StatusCode::SERVICE_UNAVAILABLE,
        "Transaction cancelled: maximum execution time exceeded",
        format!(
            "the request's database work ran past the server's deadline of {} s; narrow the query (fewer conditions, a filter on state, group or dates) or try again when the server is less busy",
            limit.as_secs_f64()
        ),
    )
}

/// Runs `work` on the blocking pool within `limit`. `work` receives the
/// watch to run its database work under, once it has its connection.
pub async fn within<T: Send + 'static>(
    limit: Duration,
    work: impl FnOnce(&Watch) -> Result<T, ApiError> + Send + 'static,
) -> Result<T, ApiError> {
    let watch = Watch::new();
    let inner = watch.clone();
    let mut task = tokio::task::spawn_blocking(move || work(&inner));
    let joined = tokio::select! {
        joined = &mut task => joined,
        () = tokio::time::sleep(limit) => match watch.expire() {
            // The task gives up by itself when it gets its connection.
            Expiry::BeforeStart => return Err(deadline_error(limit)),
            Expiry::Interrupted | Expiry::TooLate => task.await,
        },
    };
    joined.map_err(|e| ApiError::internal(format!("database task failed: {e}")))?
}

#[cfg(test)]
mod tests {
    use super::*;
    use rusqlite::Connection;

    /// A statement that never ends by itself.
    const ENDLESS: &str =
        "WITH RECURSIVE n(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM n) SELECT count(*) FROM n";

    fn count(conn: &Connection, sql: &str) -> Result<i64, ApiError> {
        Ok(conn.query_row(sql, [], |r| r.get(0))?)
    }

    #[tokio::test]
    async fn endless_work_is_interrupted_and_the_connection_serves_again() {
        let conn = Arc::new(Mutex::new(Connection::open_in_memory().unwrap()));
        let limit = Duration::from_millis(100);
        let c = Arc::clone(&conn);
        let e = within(limit, move |watch| {
            let conn = c.lock().unwrap();
            watch.run(conn.get_interrupt_handle(), limit, || count(&conn, ENDLESS))
        })
        .await
        .unwrap_err();
        assert_eq!(e.status, StatusCode::SERVICE_UNAVAILABLE);
        assert!(e.message.contains("maximum execution time"), "{e:?}");
        for _ in 0..3 {
            let c = Arc::clone(&conn);
            let n = within(limit, move |watch| {
                let conn = c.lock().unwrap();
                watch.run(conn.get_interrupt_handle(), limit, || {
                    count(&conn, "SELECT 41 + 1")
                })
            })
            .await
            .unwrap();
            assert_eq!(n, 42);
        }
    }

    #[tokio::test]
    async fn work_still_waiting_at_the_deadline_never_starts() {
        let conn = Arc::new(Mutex::new(Connection::open_in_memory().unwrap()));
        let limit = Duration::from_millis(50);
        // The work waits (as for a busy connection) until the test lets it go.
        let (go, wait) = std::sync::mpsc::channel::<()>();
        let (done, finished) = std::sync::mpsc::channel::<bool>();
        let c = Arc::clone(&conn);
        let e = within(limit, move |watch| {
            let _ = wait.recv();
            let conn = c.lock().unwrap();
            let mut started = false;
            let result = watch.run(conn.get_interrupt_handle(), limit, || {
                started = true;
                Ok(())
            });
            let _ = done.send(started);
            result
        })
        .await
        .unwrap_err();
        assert_eq!(e.status, StatusCode::SERVICE_UNAVAILABLE);
        go.send(()).unwrap();
        let started = tokio::task::spawn_blocking(move || finished.recv().unwrap())
            .await
            .unwrap();
        assert!(
            !started,
            "work past its deadline before it started never runs"
        );
    }
}

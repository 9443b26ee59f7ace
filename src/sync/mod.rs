//! The sync engine: push the outbox, then pull what changed. One code path
//! whether the link is up or not: actions are always queued first, and a
//! sync with no link simply leaves them queued.

mod backoff;
pub mod pull;
pub mod push;

use crate::backend::{Backend, BackendError};
use crate::store::{Store, StoreError};

pub use pull::PullReport;
pub use push::PushReport;

#[derive(Debug, thiserror::Error)]
pub enum SyncError {
    #[error("{0}")]
    Backend(#[from] BackendError),
    #[error("{0}")]
    Store(#[from] StoreError),
    #[error("login needed: {0} (queued actions are kept)")]
    LoginNeeded(String),
}

impl SyncError {
    /// The back-end could not be reached or asked us to wait.
    pub fn is_offline(&self) -> bool {
        matches!(
            self,
            SyncError::Backend(BackendError::Transient { .. } | BackendError::InDoubt(_))
        )
    }
    pub fn is_login(&self) -> bool {
        matches!(
            self,
            SyncError::LoginNeeded(_) | SyncError::Backend(BackendError::Auth(_))
        )
    }
}

#[derive(Debug, Default, Clone, serde::Serialize)]
pub struct SyncReport {
    pub push: PushReport,
    pub pull: Option<PullReport>,
}

/// One round: push what waits (all of it when the agent asked, else what is
/// due), then pull. Interrupted sends are recovered when the store is opened.
pub async fn sync_once(
    backend: &impl Backend,
    store: &mut Store,
    round: push::Round,
    reconcile: bool,
) -> Result<SyncReport, SyncError> {
    // The agent's identity is needed to read back journal entries.
    if store.me()?.is_none() {
        pull::reference(backend, store).await?;
    }
    let push = push::push(backend, store, round).await?;
    let pull = pull::pull(backend, store, reconcile).await?;
    // Changes pulled may have settled nothing new to push, but a conflict
    // resolution made meanwhile may be due: one more push round is cheap.
    let mut report = SyncReport {
        push,
        pull: Some(pull),
    };
    let again = push::push(backend, store, round).await?;
    report.push.applied += again.applied;
    report.push.found_applied += again.found_applied;
    report.push.conflicts += again.conflicts;
    report.push.failed += again.failed;
    report.push.deferred = again.deferred;
    Ok(report)
}

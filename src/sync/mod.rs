//! The sync engine: push the outbox, then pull what changed. One code path
//! whether the link is up or not: actions are always queued first, and a
//! sync with no link simply leaves them queued.

mod backoff;
mod page_writer;
pub mod pull;
pub mod push;

use crate::backend::{Backend, BackendError};
use crate::store::{PurgeReport, Store, StoreError};

pub use pull::PullReport;

/// How often the retention looks for cases to purge.
const PURGE_EVERY: std::time::Duration = std::time::Duration::from_secs(3600);
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
    /// What the retention purged after the pull.
    pub purged: PurgeReport,
}

/// One round: push what waits (all of it when the agent asked, else what is
/// due), then pull. Interrupted sends are recovered when the store is opened.
pub async fn sync_once(
    backend: &impl Backend,
    store: &mut Store,
    round: push::Round,
    reconcile: bool,
) -> Result<SyncReport, SyncError> {
    sync_once_with(backend, store, round, reconcile, &mut |_| {}).await
}

/// A round that says how the pull goes (the console shows the working set
/// as soon as it is stored).
pub async fn sync_once_with(
    backend: &impl Backend,
    store: &mut Store,
    round: push::Round,
    reconcile: bool,
    progress: &mut (dyn FnMut(pull::Progress) + Send),
) -> Result<SyncReport, SyncError> {
    // The agent's identity is needed to read back journal entries.
    if store.me()?.is_none() {
        pull::reference(backend, store).await?;
    }
    let push = push::push(backend, store, round).await?;
    let pull = pull::pull_with(backend, store, reconcile, progress).await?;
    // Changes pulled may have settled nothing new to push, but a conflict
    // resolution made meanwhile may be due: one more push round is cheap.
    let mut report = SyncReport {
        push,
        pull: Some(pull),
        purged: PurgeReport::default(),
    };
    let again = push::push(backend, store, round).await?;
    report.push.applied += again.applied;
    report.push.found_applied += again.found_applied;
    report.push.conflicts += again.conflicts;
    report.push.failed += again.failed;
    report.push.deferred = again.deferred;
    // Retention, once the pull succeeded: what the back-end still changes
    // came in first, so only cases really left alone go. Cases with an
    // action not yet applied stay whatever their age.
    // Days of retention leave no need to look every round: once an hour
    // spares the console's minute rounds a scan of every case.
    let now = store.clock().epoch_seconds();
    let last: Option<u64> = store
        .meta(crate::store::Meta::PurgedAt)?
        .and_then(|at| at.parse().ok());
    if last.is_none_or(|at| now.saturating_sub(at) >= PURGE_EVERY.as_secs()) {
        report.purged = store.purge_expired(store.clock().now())?;
        store.set_meta(crate::store::Meta::PurgedAt, &now.to_string())?;
    }
    if report.purged.cases > 0 {
        tracing::info!(
            cases = report.purged.cases,
            citizens = report.purged.citizens,
            "retention purge"
        );
    }
    Ok(report)
}

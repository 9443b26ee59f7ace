//! Pulling the back-end's changes into the local store: incremental by
//! update-time watermark, in keyset pages, starting a little before the
//! watermark so that a change committed after a later one is not missed
//! (the overlap's repeats are dropped by version).

use crate::store::Meta;
use std::time::Duration;

use super::SyncError;
use crate::backend::{Backend, Watermark};
use crate::store::Store;

/// Cases per page.
pub const PAGE: usize = 500;
/// How far back each pull starts before the watermark. ServiceNow stamps
/// `sys_updated_on` before business rules run and the transaction commits,
/// so a change may become visible seconds after its stamp; repeats in the
/// overlap are dropped by version.
pub const OVERLAP: Duration = Duration::from_secs(30);
/// How often the directory and choice lists are refreshed.
const REFERENCE_EVERY: Duration = Duration::from_secs(3600);
/// How often the full list of visible ids is compared, to forget cases that
/// were deleted or moved out of the agent's reach.
const RECONCILE_EVERY: Duration = Duration::from_secs(3600);

#[derive(Debug, Default, Clone, serde::Serialize)]
pub struct PullReport {
    /// Cases received whose content changed locally.
    pub cases_changed: usize,
    pub cases_received: usize,
    pub pages: usize,
    pub citizens: usize,
    pub timelines: usize,
    pub forgotten: usize,
    /// Records the back-end sent that could not be read, and were skipped.
    pub unreadable: usize,
    pub reference_refreshed: bool,
}

fn since_epoch(meta: Option<String>) -> Option<i64> {
    meta.and_then(|v| v.parse().ok())
}

/// Refreshes the agent's identity, the directory and the choice lists.
pub async fn reference(backend: &impl Backend, store: &mut Store) -> Result<(), SyncError> {
    let me = backend.me().await?;
    let directory = backend.directory().await?;
    let choices = backend.choices().await?;
    store.save_directory(&directory)?;
    store.save_choices(&choices)?;
    store.set_meta(Meta::Me, &me.user.id)?;
    store.set_meta(Meta::MeUserName, &me.user.user_name)?;
    let now = store.clock().epoch_seconds();
    store.set_meta(Meta::ReferenceAt, &now.to_string())?;
    Ok(())
}

pub async fn pull(
    backend: &impl Backend,
    store: &mut Store,
    force_reconcile: bool,
) -> Result<PullReport, SyncError> {
    let mut report = PullReport::default();
    let now = store.clock().epoch_seconds() as i64;
    let stale =
        |at: Option<i64>, every: Duration| at.is_none_or(|at| now - at >= every.as_secs() as i64);
    if stale(since_epoch(store.meta(Meta::ReferenceAt)?), REFERENCE_EVERY) {
        reference(backend, store).await?;
        report.reference_refreshed = true;
    }

    let watermark: Option<Watermark> = store
        .meta(Meta::Watermark)?
        .and_then(|w| serde_json::from_str(&w).ok());
    // Start a little before the watermark: a write committed late in the
    // same second would otherwise be skipped for ever.
    let mut cursor = watermark.as_ref().map(|w| Watermark {
        updated: w.updated.map(|at| at - OVERLAP),
        id: String::new(),
    });
    let mut newest = watermark.clone();
    let mut changed_ids = Vec::new();
    loop {
        let page = backend.changed_cases(cursor.as_ref(), PAGE).await?;
        report.pages += 1;
        report.cases_received += page.cases.len();
        report.unreadable += page.unreadable;
        let Some(last) = page.cases.last() else {
            break;
        };
        let next = Watermark {
            updated: last.updated,
            id: last.id.clone(),
        };
        let before: Vec<(String, String)> = page
            .cases
            .iter()
            .map(|c| (c.id.clone(), c.version.clone()))
            .collect();
        let changed = store.save_cases(&page.cases)?;
        report.cases_changed += changed;
        if changed > 0 {
            changed_ids.extend(before.into_iter().map(|(id, _)| id));
        }
        if newest
            .as_ref()
            .is_none_or(|w| (&next.updated, &next.id) > (&w.updated, &w.id))
        {
            newest = Some(next.clone());
        }
        // The watermark moves with each stored page: an interrupted pull
        // resumes where it stopped.
        if let Some(w) = &newest {
            store.set_meta(
                Meta::Watermark,
                &serde_json::to_string(w).unwrap_or_default(),
            )?;
        }
        if !page.more {
            break;
        }
        cursor = Some(next);
    }

    let missing = store.missing_citizens()?;
    if !missing.is_empty() {
        let citizens = backend.citizens(&missing).await?;
        report.citizens = citizens.len();
        store.save_citizens(&citizens)?;
    }

    // Timelines of the agent's own cases follow every change; other cases'
    // timelines are fetched when the agent opens them online.
    // The list is kept until fetched: the watermark has already moved past
    // these cases, so a failed fetch must be retried by the next pull.
    let me = store.me()?.unwrap_or_default();
    let mut mine: Vec<String> = store
        .meta(Meta::TimelinesDue)?
        .and_then(|due| serde_json::from_str(&due).ok())
        .unwrap_or_default();
    for id in store.cases_assigned_among(&changed_ids, &me)? {
        if !mine.contains(&id) {
            mine.push(id);
        }
    }
    if !mine.is_empty() {
        store.set_meta(
            Meta::TimelinesDue,
            &serde_json::to_string(&mine).unwrap_or_default(),
        )?;
        let entries = backend.timeline(&mine).await?;
        report.timelines = mine.len();
        store.save_timeline(&mine, &entries)?;
        store.set_meta(Meta::TimelinesDue, "[]")?;
    }

    if force_reconcile
        || stale(
            since_epoch(store.meta(Meta::ReconciledAt)?),
            RECONCILE_EVERY,
        )
    {
        let visible: std::collections::HashSet<String> =
            backend.visible_case_ids().await?.into_iter().collect();
        // An empty answer is more likely a back-end gone wrong than every case
        // gone at once: forget nothing then.
        if !visible.is_empty() {
            let local: std::collections::HashSet<String> = store.case_ids()?.into_iter().collect();
            let gone: Vec<String> = local
                .iter()
                .filter(|id| !visible.contains(*id))
                .cloned()
                .collect();
            report.forgotten = store.forget_cases(&gone)?;
            // Cases that came into reach without changing (a new group, a
            // case moved to ours) are not in any "changed since" page.
            let arrived: Vec<String> = visible
                .iter()
                .filter(|id| !local.contains(*id))
                .cloned()
                .collect();
            if !arrived.is_empty() {
                let cases = backend.cases(&arrived).await?;
                report.cases_changed += store.save_cases(&cases)?;
                let missing = store.missing_citizens()?;
                if !missing.is_empty() {
                    store.save_citizens(&backend.citizens(&missing).await?)?;
                }
            }
        }
        store.set_meta(Meta::ReconciledAt, &now.to_string())?;
    }
    if report.cases_changed > 1000 {
        // After a large pull, refresh the query planner's statistics so
        // that the list and search indexes are used.
        store.optimize()?;
    }
    store.set_meta(Meta::PulledAt, &store.clock().now().to_string())?;
    Ok(report)
}

/// Refreshes one case and its timeline (when the agent opens it online).
pub async fn refresh_case(
    backend: &impl Backend,
    store: &mut Store,
    id: &str,
) -> Result<bool, SyncError> {
    match backend.case(id).await? {
        Some(case) => {
            store.save_cases(std::slice::from_ref(&case))?;
            if let Some(citizen) = &case.citizen {
                let citizens = backend.citizens(std::slice::from_ref(citizen)).await?;
                store.save_citizens(&citizens)?;
            }
            let entries = backend.timeline(std::slice::from_ref(&case.id)).await?;
            store.save_timeline(std::slice::from_ref(&case.id), &entries)?;
            Ok(true)
        }
        None => {
            store.forget_cases(&[id.to_string()])?;
            Ok(false)
        }
    }
}

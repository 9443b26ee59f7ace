//! Pulling the back-end's changes into the local store: incremental by
//! update-time watermark, in keyset pages, starting a little before the
//! watermark so that a change committed after a later one is not missed
//! (the overlap's repeats are dropped by version).

use crate::store::Meta;
use std::time::Duration;

use super::SyncError;
use super::page_writer::{Batch, Pages};
use crate::backend::{Backend, Watermark};
use crate::store::Store;

/// Cases in the first page of a pull; later pages grow while the link
/// answers fast (see `PageSize`).
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
/// After this long without a pull, the working set comes first again.
const LONG_OFFLINE: Duration = Duration::from_secs(24 * 3600);

/// What a pull has done so far, for a console that shows cases while the
/// rest of the history streams in.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Progress {
    /// The agent's open cases and the team queue are stored: work can start.
    WorkingSet { cases: usize },
}

/// The size of the next page of cases: pages grow while the back-end
/// answers quickly (fewer round trips on a fast link) and shrink when one
/// takes long (an interrupted page is re-read whole, and on a 64 kbit/s link
/// a page of 10,000 cases takes minutes). A back-end that answers fewer
/// rows than asked, with more to come, has a ceiling of its own: it is
/// learnt, not assumed.
#[derive(Debug, Clone, Copy)]
struct PageSize {
    rows: usize,
    ceiling: usize,
}

impl PageSize {
    const FLOOR: usize = 100;
    const QUICK: Duration = Duration::from_secs(2);
    const SLOW: Duration = Duration::from_secs(10);

    fn new() -> PageSize {
        PageSize {
            rows: PAGE,
            ceiling: crate::protocol::PAGE_CEILING,
        }
    }

    fn after(&mut self, asked: usize, got: usize, more: bool, took: Duration) {
        if more && got > 0 && got < asked {
            self.ceiling = got;
        }
        self.rows = if took < Self::QUICK {
            self.rows.saturating_mul(4)
        } else if took > Self::SLOW {
            self.rows / 2
        } else {
            self.rows
        }
        .clamp(Self::FLOOR, self.ceiling.max(Self::FLOOR));
    }
}

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
    /// Cases of the working set fetched before the rest (first sync, or
    /// after a long offline spell).
    pub working_set: usize,
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
    // The catalogue is an extension: a back-end without one (a real
    // instance) leaves intake without proposed deadlines, nothing more.
    match backend.procedures().await {
        Ok(procedures) => store.save_procedure_infos(&procedures)?,
        Err(e) => tracing::info!(error = %e, "no procedure catalogue"),
    }
    store.set_meta(
        Meta::Actions,
        &serde_json::to_string(&backend.actions()).unwrap_or_default(),
    )?;
    store.set_meta(
        Meta::StateFlow,
        &serde_json::to_string(&backend.state_flow()).unwrap_or_default(),
    )?;
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
    pull_with(backend, store, force_reconcile, &mut |_| {}).await
}

/// A pull that says when the working set is stored (`progress`).
pub async fn pull_with(
    backend: &impl Backend,
    store: &mut Store,
    force_reconcile: bool,
    progress: &mut (dyn FnMut(Progress) + Send),
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
    let long_away = store
        .last_pull()?
        .is_none_or(|at| store.clock().now() - at > LONG_OFFLINE);
    // Timelines the working set already brought: not fetched again below.
    let mut timelines_fetched = std::collections::HashSet::new();
    if watermark.is_none() || long_away {
        let set = working_set(backend, store).await?;
        (report.working_set, report.cases_changed) = (set.cases, set.changed);
        timelines_fetched.extend(set.timelines);
        progress(Progress::WorkingSet {
            cases: report.working_set,
        });
    }
    let first = watermark.is_none();
    let changed_ids = changed_pages(backend, store, watermark, &mut report).await?;

    // Citizens a case referred to before they were readable (or stored by
    // an earlier version): fetched now.
    let missing = store.missing_citizens()?;
    if !missing.is_empty() {
        let citizens = backend.citizens(&missing).await?;
        report.citizens += citizens.len();
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
    let mut due: std::collections::HashSet<String> = mine.iter().cloned().collect();
    for id in store.cases_assigned_among(&changed_ids, &me)? {
        if !timelines_fetched.contains(&id) && due.insert(id.clone()) {
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

    if first && !force_reconcile {
        // A first pull read every case the agent can see: nothing to compare.
        store.set_meta(Meta::ReconciledAt, &now.to_string())?;
    } else if force_reconcile
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
            // Cases the retention purged are not "arrived": fetching them
            // again would only have them purged again.
            let purged: std::collections::HashSet<String> =
                store.purged_case_ids()?.into_iter().collect();
            // Cases opened here and not yet numbered are no back-end's yet.
            let gone: Vec<String> = local
                .iter()
                .filter(|id| !visible.contains(*id) && !crate::domain::is_provisional(id))
                .cloned()
                .collect();
            report.forgotten = store.forget_cases(&gone)?;
            // A purged case the agent can no longer see will not come back:
            // its mark goes, or the marks would only ever grow.
            let unseen: Vec<String> = purged
                .iter()
                .filter(|id| !visible.contains(*id))
                .cloned()
                .collect();
            store.forget_purged(&unseen)?;
            // Cases that came into reach without changing (a new group, a
            // case moved to ours) are not in any "changed since" page.
            let arrived: Vec<String> = visible
                .iter()
                .filter(|id| !local.contains(*id) && !purged.contains(*id))
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

/// The agent's open cases and the team queue, with their citizens and the
/// timelines of the agent's own cases: fetched before the history so that
/// work can start.
async fn working_set(backend: &impl Backend, store: &mut Store) -> Result<WorkingSet, SyncError> {
    let Some(me) = store.me()? else {
        return Ok(WorkingSet::default());
    };
    let groups = store.groups_of(&me)?;
    let cases = backend.working_set(&me, &groups).await?;
    // Citizens first, as for every page (see `changed_pages`).
    let missing = store.citizens_missing_for(&cases)?;
    if !missing.is_empty() {
        store.save_citizens(&backend.citizens(&missing).await?)?;
    }
    let changed = store.save_cases(&cases)?;
    let mine: Vec<String> = cases
        .iter()
        .filter(|c| c.assignee.as_deref() == Some(me.as_str()))
        .map(|c| c.id.clone())
        .collect();
    if !mine.is_empty() {
        let entries = backend.timeline(&mine).await?;
        store.save_timeline(&mine, &entries)?;
    }
    Ok(WorkingSet {
        cases: cases.len(),
        changed,
        timelines: mine,
    })
}

/// What the working set brought.
#[derive(Default)]
struct WorkingSet {
    cases: usize,
    changed: usize,
    /// The cases whose timelines were fetched with it.
    timelines: Vec<String>,
}

/// Reads the cases changed since the watermark (all of them on a first
/// pull) page by page, storing each page and moving the watermark with it,
/// so that an interrupted pull resumes where it stopped. Returns the ids of
/// pages that changed something locally.
async fn changed_pages(
    backend: &impl Backend,
    store: &mut Store,
    watermark: Option<Watermark>,
    report: &mut PullReport,
) -> Result<Vec<String>, SyncError> {
    let mut pages = Pages::new(watermark.is_none());
    let read = read_pages(backend, store, watermark, report, &mut pages).await;
    // Pages handed over are stored whatever happened to the reading; the
    // writer's own failure is the one to tell (the reading stopped for it).
    let written = pages.finish().await?;
    report.cases_changed += written.changed;
    report.forgotten += written.forgotten;
    read?;
    Ok(written.changed_ids)
}

async fn read_pages(
    backend: &impl Backend,
    store: &mut Store,
    watermark: Option<Watermark>,
    report: &mut PullReport,
    pages: &mut Pages,
) -> Result<(), SyncError> {
    // Start a little before the watermark: a write committed late in the
    // same second would otherwise be skipped for ever.
    let cursor = watermark.as_ref().map(|w| Watermark {
        updated: w.updated.map(|at| at - OVERLAP),
        id: String::new(),
    });
    let mut newest = watermark;
    let mut size = PageSize::new();
    // Citizens this pull asked for: a writer may not have stored them yet.
    let mut asked = std::collections::HashSet::new();
    let fetch = |cursor: Option<Watermark>, rows: usize| async move {
        let started = std::time::Instant::now();
        let page = backend.changed_cases(cursor.as_ref(), rows).await;
        (page, rows, started.elapsed())
    };
    let citizens = |ids: Vec<String>| async move {
        if ids.is_empty() {
            return Ok(Vec::new());
        }
        backend.citizens(&ids).await
    };
    let mut fetched = fetch(cursor, size.rows).await;
    loop {
        let (page, rows, took) = fetched;
        let page = page?;
        size.after(rows, page.cases.len(), page.more, took);
        report.pages += 1;
        report.cases_received += page.cases.len();
        report.unreadable += page.unreadable;
        let next = page.cases.last().map(|last| Watermark {
            updated: last.updated,
            id: last.id.clone(),
        });
        if let Some(next) = &next
            && newest
                .as_ref()
                .is_none_or(|w| (&next.updated, &next.id) > (&w.updated, &w.id))
        {
            newest = Some(next.clone());
        }
        // Citizens come with their page: a case stored after its citizen is
        // indexed for search with the citizen's name at once.
        let missing: Vec<String> = store
            .citizens_missing_for(&page.cases)?
            .into_iter()
            .filter(|id| asked.insert(id.clone()))
            .collect();
        // The next page is read alongside this one's citizens.
        let (citizens, following) = match next.filter(|_| page.more) {
            Some(next) => {
                let (citizens, following) =
                    futures_util::future::join(citizens(missing), fetch(Some(next), size.rows))
                        .await;
                (citizens?, Some(following))
            }
            None => (citizens(missing).await?, None),
        };
        report.citizens += citizens.len();
        let batch = Batch {
            citizens,
            watermark: newest.clone().filter(|_| !page.cases.is_empty()),
            cases: page.cases,
            deleted: page.deleted,
        };
        // A writer that stopped says why from `Pages::finish`.
        if !pages.put(store, batch, following.is_some()).await? {
            return Ok(());
        }
        match following {
            Some(following) => fetched = following,
            None => return Ok(()),
        }
    }
}

/// Refreshes one case and its timeline (when the agent opens it online).
pub async fn refresh_case(
    backend: &impl Backend,
    store: &mut Store,
    id: &str,
) -> Result<bool, SyncError> {
    // Opened here and not numbered yet: no back-end has it to refresh (and
    // "not found" must not forget it).
    if crate::domain::is_provisional(id) {
        return Ok(true);
    }
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pages_grow_on_a_fast_link_shrink_on_a_slow_one_and_learn_the_ceiling() {
        let fast = Duration::from_millis(300);
        let mut size = PageSize::new();
        assert_eq!(size.rows, PAGE);
        size.after(PAGE, PAGE, true, fast);
        assert_eq!(size.rows, 2000);
        size.after(2000, 2000, true, fast);
        assert_eq!(size.rows, 8000);
        size.after(8000, 8000, true, fast);
        assert_eq!(size.rows, crate::protocol::PAGE_CEILING);
        // A back-end that caps pages at 1,000 (with more to come) is
        // believed; a short last page (nothing more) is not a cap.
        size.after(10_000, 1000, true, fast);
        assert_eq!(size.rows, 1000);
        size.after(1000, 1000, true, fast);
        assert_eq!(size.rows, 1000);
        let mut size = PageSize::new();
        size.after(PAGE, 37, false, fast);
        assert_eq!(size.rows, 2000);
        // A 64 kbit/s link: pages halve down to the floor, so that an
        // interrupted page costs little.
        let slow = Duration::from_secs(40);
        for _ in 0..10 {
            size.after(size.rows, size.rows, true, slow);
        }
        assert_eq!(size.rows, PageSize::FLOOR);
    }
}

//! Storing the pages of a long pull on a connection and a thread of their
//! own, so that the next page and its citizens are read from the back-end
//! while this one is written (on a first sync of 100,000 cases, storing
//! takes about as long as the transfer: done one after the other, the
//! first sync took twice the wire's time).

use crate::backend::Watermark;
use crate::domain::{Case, Citizen};
use crate::store::{Meta, Store};

use super::SyncError;

/// One page of a pull, with what is needed to store it whole.
pub(super) struct Batch {
    /// The page's citizens not stored yet: written before the cases, so
    /// that each case is indexed for search with its citizen's name.
    pub citizens: Vec<Citizen>,
    pub cases: Vec<Case>,
    /// Cases the back-end says were deleted.
    pub deleted: Vec<String>,
    /// Where the next pull starts, written after the page's cases: a pull
    /// stopped at any point resumes after the last page stored whole.
    pub watermark: Option<Watermark>,
}

/// What the stored pages changed locally.
#[derive(Debug, Default)]
pub(super) struct Written {
    pub changed: usize,
    /// Ids of the pages that changed something.
    pub changed_ids: Vec<String>,
    pub forgotten: usize,
}

impl Written {
    fn absorb(&mut self, other: Written) {
        self.changed += other.changed;
        self.changed_ids.extend(other.changed_ids);
        self.forgotten += other.forgotten;
    }
}

/// Where the pages of a pull go: stored on the pull's own connection while
/// the pull is one page long, handed to a `PageWriter` from the first page
/// that has more behind it.
pub(super) struct Pages {
    /// A first sync: the writer gets the bigger cache.
    bulk: bool,
    written: Written,
    writer: Option<PageWriter>,
}

impl Pages {
    pub fn new(bulk: bool) -> Pages {
        Pages {
            bulk,
            written: Written::default(),
            writer: None,
        }
    }

    /// Stores `batch`, here or by the writer; false when the writer has
    /// stopped (its error comes from `finish`).
    pub async fn put(
        &mut self,
        store: &mut Store,
        batch: Batch,
        more: bool,
    ) -> Result<bool, SyncError> {
        let writer = match &self.writer {
            Some(writer) => writer,
            None if !more => {
                store_batch(store, batch, &mut self.written)?;
                return Ok(true);
            }
            None => self.writer.insert(PageWriter::start(store, self.bulk)?),
        };
        Ok(writer.write(batch).await)
    }

    /// Waits for every page handed over to be stored.
    pub async fn finish(self) -> Result<Written, SyncError> {
        let mut written = self.written;
        if let Some(writer) = self.writer {
            written.absorb(writer.finish().await?);
        }
        Ok(written)
    }
}

/// Stores one page (on whichever connection holds it).
fn store_batch(store: &mut Store, batch: Batch, written: &mut Written) -> Result<(), SyncError> {
    if !batch.deleted.is_empty() {
        written.forgotten += store.forget_cases(&batch.deleted)?;
    }
    if !batch.citizens.is_empty() {
        store.save_citizens(&batch.citizens)?;
    }
    if batch.cases.is_empty() {
        return Ok(());
    }
    let changed = store.save_cases(&batch.cases)?;
    written.changed += changed;
    if changed > 0 {
        written
            .changed_ids
            .extend(batch.cases.iter().map(|c| c.id.clone()));
    }
    if let Some(w) = &batch.watermark {
        store.set_meta(
            Meta::Watermark,
            &serde_json::to_string(w).unwrap_or_default(),
        )?;
    }
    Ok(())
}

/// A writer of pages on a blocking thread. At most one page waits while
/// another is written: the reader is held back rather than memory grown.
struct PageWriter {
    pages: tokio::sync::mpsc::Sender<Batch>,
    done: tokio::task::JoinHandle<Result<Written, SyncError>>,
}

impl PageWriter {
    /// Starts a writer on another connection to `store`'s file; `bulk`
    /// gives it the bigger cache of a first sync.
    fn start(store: &Store, bulk: bool) -> Result<PageWriter, SyncError> {
        let mut own = store.reopen()?;
        own.bulk_writes(bulk)?;
        own.plan_once()?;
        let (pages, mut arriving) = tokio::sync::mpsc::channel::<Batch>(1);
        let done = tokio::task::spawn_blocking(move || {
            let mut written = Written::default();
            while let Some(batch) = arriving.blocking_recv() {
                store_batch(&mut own, batch, &mut written)?;
            }
            Ok(written)
        });
        Ok(PageWriter { pages, done })
    }

    /// Hands a page over; false when the writer has stopped (its error
    /// comes from `finish`).
    async fn write(&self, batch: Batch) -> bool {
        self.pages.send(batch).await.is_ok()
    }

    /// Waits for every page handed over to be stored.
    async fn finish(self) -> Result<Written, SyncError> {
        drop(self.pages);
        match self.done.await {
            Ok(written) => written,
            // A bug in storing is not hidden as a sync error; what was
            // committed stays, and the next pull resumes from the last
            // watermark written.
            Err(e) if e.is_panic() => std::panic::resume_unwind(e.into_panic()),
            Err(e) => Err(crate::store::StoreError::Invalid(format!(
                "storing the pulled pages stopped: {e}"
            ))
            .into()),
        }
    }
}

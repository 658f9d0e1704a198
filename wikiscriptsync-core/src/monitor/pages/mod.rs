//! The page watcher (`check-wiki-updates`): monitored pages grouped by wiki, one batched
//! lookup per 50 titles, latest revision ids compared, one page check log row per page, and a
//! change event for each edited, deleted or moved page.
//!
//! Pages are claimed in the database with a lease, so runners that overlap never check the
//! same page in a run. Wikis are looked up concurrently, each one serially;
//! each request's results are written (one transaction) while the wiki's next request is out.
//!
//! This module holds the run: settings, report, and the claim loop that queues claimed pages
//! per wiki and starts a lane for each; [`lookup`] holds what one wiki's lane does, and
//! [`own`] how a new revision that is our own unrecorded publish is told from an on-wiki edit.

mod lookup;
mod own;

use std::collections::{HashMap, HashSet, VecDeque};
use std::future::Future;
use std::sync::{Arc, PoisonError};

use chrono::Utc;
use tokio::sync::{Notify, Semaphore, mpsc};
use tokio::task::JoinSet;

use super::events::{ChangeEvent, PageChange};
use super::{Progress, ProgressSink, RunError, RunOutlook, Selection, report_progress};
use crate::mw::{PageLookup, PageState, TITLES_PER_REQUEST, WikiApi, WikiSession, WikiSessionExt};
use crate::store::{
    CheckQueue, ClaimRequest, PageCheck, PageCheckStatus, PageMonitor, PageMonitorId, Store,
    StoreError,
};

/// How the page watcher runs.
#[derive(Debug, Clone)]
pub struct PageCheckSettings {
    /// This runner's id in claims (see [`super::runner_id`]).
    pub owner: String,
    /// How long a claim holds before another runner may take the page over.
    pub lease: chrono::Duration,
    /// The most pages claimed per database round trip. A run's first claim is one lookup's
    /// worth of titles per wiki slot, so lookups start at once; each next claim is twice the
    /// previous one, up to this.
    pub batch_size: u32,
    /// Wikis looked up at the same time (each wiki is always asked serially).
    pub concurrency: usize,
    /// When a checked page is due again.
    pub interval: chrono::Duration,
}

impl PageCheckSettings {
    /// Every 30 minutes, a 10-minute lease, 4 wikis at a time.
    pub fn new(owner: impl Into<String>) -> Self {
        Self {
            owner: owner.into(),
            lease: chrono::Duration::minutes(10),
            batch_size: 5000,
            concurrency: 4,
            interval: chrono::Duration::minutes(25),
        }
    }
}

/// A wiki whose lookup failed (its pages are logged as errors; other wikis went on).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WikiFailure {
    /// The wiki as stored.
    pub wiki: String,
    /// Pages affected.
    pub pages: u64,
    /// What went wrong.
    pub detail: String,
}

/// What one `check-wiki-updates` run did.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct PageRunReport {
    /// Pages checked (results written).
    pub checked: u64,
    /// ... unchanged.
    pub unchanged: u64,
    /// ... with a new revision.
    pub changed: u64,
    /// ... deleted.
    pub deleted: u64,
    /// ... moved.
    pub moved: u64,
    /// ... that could not be checked.
    pub errors: u64,
    /// Wikis asked.
    pub wikis: u64,
    /// Edited, deleted and moved pages, one event each (first sightings are not events).
    pub changes: Vec<ChangeEvent>,
    /// Wikis whose lookup failed.
    pub failures: Vec<WikiFailure>,
    /// Checks dropped because another runner took the claim over.
    pub lease_lost: u64,
    /// Requests sent to wikis.
    pub requests: u64,
    /// The queue after the run, and the pages asked for that were not checked.
    pub outlook: Option<RunOutlook>,
}

impl PageRunReport {
    /// The one-line summary the commands print.
    pub fn summary(&self) -> String {
        let mut line = format!(
            "check-wiki-updates: {} pages on {} wikis checked ({} unchanged, {} edited, {} deleted, \
             {} moved, {} errors); {} requests",
            self.checked,
            self.wikis,
            self.unchanged,
            self.changed,
            self.deleted,
            self.moved,
            self.errors,
            self.requests
        );
        if self.lease_lost > 0 {
            line.push_str(&format!(
                "; {} taken over by another runner",
                self.lease_lost
            ));
        }
        if let Some(outlook) = &self.outlook {
            line.push_str("; ");
            line.push_str(&outlook.describe("page"));
        }
        line
    }
}

/// Checks due monitored pages. Cheap to clone.
#[derive(Clone)]
pub struct PageWatcher {
    store: Arc<dyn Store>,
    wiki: Arc<dyn WikiApi>,
    settings: Arc<PageCheckSettings>,
    progress: Option<ProgressSink>,
}

impl std::fmt::Debug for PageWatcher {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PageWatcher")
            .field("settings", &self.settings)
            .finish_non_exhaustive()
    }
}

/// Each claim is this many times the previous one, from the first (one lookup's worth of
/// titles per wiki slot) up to the settings' `batch_size`.
const CLAIM_GROWTH: u32 = 2;

/// Claimed pages not looked up yet, shared by the run and its wiki lanes.
#[derive(Default)]
struct Backlog {
    /// The pages still to look up, per wiki. A wiki is here from its claim until its lane
    /// finds its queue empty, so pages claimed while its lane runs join that lane.
    queues: HashMap<String, VecDeque<PageMonitor>>,
    /// Wikis with queued pages and no lane yet, first claimed first.
    waiting: VecDeque<String>,
    /// Pages in `queues`.
    queued: usize,
    /// The run claims again once fewer pages than this are queued (0: nothing left to claim).
    claim_below: usize,
    /// Lanes looking up or waiting for a slot (their session already open).
    looking: usize,
}

impl Backlog {
    /// Queues claimed pages; returns how many wikis got a new lane's worth of work.
    fn add(&mut self, claimed: Vec<PageMonitor>) -> u64 {
        let mut new = 0;
        self.queued += claimed.len();
        for monitor in claimed {
            match self.queues.get_mut(&monitor.wiki) {
                Some(queue) => queue.push_back(monitor),
                None => {
                    self.waiting.push_back(monitor.wiki.clone());
                    self.queues
                        .insert(monitor.wiki.clone(), VecDeque::from([monitor]));
                    new += 1;
                }
            }
        }
        new
    }

    /// The next lookup's pages of `wiki`: up to `titles` distinct titles, with every queued
    /// monitor of those titles (several users may watch one page). `None` when the queue is
    /// empty, which ends the wiki's lane: pages claimed later start a new one.
    fn take_chunk(&mut self, wiki: &str, titles: usize) -> Option<Vec<PageMonitor>> {
        let queue = self.queues.get_mut(wiki)?;
        if queue.is_empty() {
            self.queues.remove(wiki);
            return None;
        }
        let mut chosen: HashSet<String> = HashSet::new();
        let mut chunk = Vec::new();
        let mut rest = VecDeque::with_capacity(queue.len());
        for monitor in queue.drain(..) {
            if chosen.contains(&monitor.page_title) {
                chunk.push(monitor);
            } else if chosen.len() < titles {
                chosen.insert(monitor.page_title.clone());
                chunk.push(monitor);
            } else {
                rest.push_back(monitor);
            }
        }
        *queue = rest;
        self.queued -= chunk.len();
        Some(chunk)
    }

    /// Every page still queued for `wiki` (its lookups failed); ends its lane.
    fn drain(&mut self, wiki: &str) -> Vec<PageMonitor> {
        let drained: Vec<PageMonitor> = self.queues.remove(wiki).unwrap_or_default().into();
        self.queued -= drained.len();
        drained
    }
}

/// What a run and its lanes share.
struct Shared {
    backlog: std::sync::Mutex<Backlog>,
    /// A lane took the backlog below `claim_below` (time for the next claim) or finished its
    /// lookups (time to prepare the next lane).
    wake: Notify,
    /// The wikis looked up at once.
    slots: Arc<Semaphore>,
    /// One database write at a time per run (claims included). SQLite has one writer, and a
    /// writer that finds it busy sleeps in growing steps (1, 2, 5, 10, … ms) instead of
    /// queueing, which at the end of a run left the last wikis' writes waiting for each other.
    writes: tokio::sync::Mutex<()>,
}

impl Shared {
    fn backlog(&self) -> std::sync::MutexGuard<'_, Backlog> {
        self.backlog.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// A lane has finished its lookups (and given its slot back).
    fn lane_looked_up(&self) {
        self.backlog().looking -= 1;
        self.wake.notify_one();
    }
}

/// What a run has taken in so far.
#[derive(Default)]
struct RunState {
    report: PageRunReport,
    /// Lanes queued so far (a wiki whose lane ended before more of its pages were claimed
    /// counts twice).
    claimed: u64,
    /// Lanes finished so far.
    done: u64,
}

impl PageWatcher {
    /// A watcher over these clients (lookups use anonymous sessions).
    pub fn new(store: Arc<dyn Store>, wiki: Arc<dyn WikiApi>, settings: PageCheckSettings) -> Self {
        Self {
            store,
            wiki,
            settings: Arc::new(settings),
            progress: None,
        }
    }

    /// Reports progress after each wiki.
    #[must_use]
    pub fn with_progress(mut self, sink: ProgressSink) -> Self {
        self.progress = Some(sink);
        self
    }

    /// Checks every due page once.
    ///
    /// Claimed pages queue per wiki; a wiki's lane takes a slot (the wiki concurrency) and
    /// looks its queue up one request at a time, writing each request's results while it sends
    /// the next, until the queue is empty. Pages claimed while a wiki's lane runs join that
    /// lane, so a wiki split across claims is still asked ⌈N/50⌉ times (once more if its lane
    /// ran out of pages before the rest was claimed). The first claim is small, so lookups
    /// start at once; each next one is bigger up to `batch_size`, and is made when fewer pages
    /// than it are left to look up (so about two claims' pages are held at most).
    pub async fn run(&self) -> Result<PageRunReport, RunError> {
        self.run_selection(&Selection::Due).await
    }

    /// Checks the selected pages once, like [`Self::run`]: the due ones, or (started by hand)
    /// all or some of them whether due or not. Pages another runner holds are left to it and
    /// reported as held; the report's outlook says what is due next.
    pub async fn run_selection(
        &self,
        selection: &Selection<PageMonitorId>,
    ) -> Result<PageRunReport, RunError> {
        let owner = &self.settings.owner;
        let queue = CheckQueue::Pages;
        let (only, made) =
            super::select(self.store.as_ref(), queue, selection, |id| id.0, owner).await?;
        let mut report = self.run_claims(only.map(Arc::from)).await?;
        report.outlook = Some(super::outlook(self.store.as_ref(), queue, owner, made).await?);
        Ok(report)
    }

    /// The claim loop of [`Self::run`] (claims only among `only` when given).
    async fn run_claims(
        &self,
        only: Option<Arc<[PageMonitorId]>>,
    ) -> Result<PageRunReport, RunError> {
        let now = Utc::now();
        let concurrency = self.settings.concurrency.max(1);
        let batch_size = self.settings.batch_size.max(1);
        let per_lookup = u32::try_from(TITLES_PER_REQUEST).unwrap_or(u32::MAX);
        let mut limit = batch_size.min(
            u32::try_from(concurrency)
                .unwrap_or(u32::MAX)
                .saturating_mul(per_lookup),
        );
        // Claims small next to a lookup still keep a full lookup queued for every lane.
        let keep_queued = concurrency
            .saturating_add(1)
            .saturating_mul(TITLES_PER_REQUEST);
        let mut run = RunState::default();
        let shared = Arc::new(Shared {
            backlog: std::sync::Mutex::new(Backlog::default()),
            wake: Notify::new(),
            slots: Arc::new(Semaphore::new(concurrency)),
            writes: tokio::sync::Mutex::new(()),
        });
        let mut lanes: JoinSet<Result<PageRunReport, StoreError>> = JoinSet::new();
        // At most one claim in flight; dropping the run aborts it (its pages' leases expire).
        let mut claims: JoinSet<Result<Vec<PageMonitor>, StoreError>> = JoinSet::new();
        let mut exhausted = false;
        loop {
            let has_waiting = {
                let mut backlog = shared.backlog();
                if exhausted {
                    backlog.claim_below = 0;
                } else {
                    backlog.claim_below = (limit as usize).max(keep_queued);
                    if claims.is_empty() && backlog.queued < backlog.claim_below {
                        claims.spawn(self.claim(Arc::clone(&shared), now, limit, only.clone()));
                        limit = limit.saturating_mul(CLAIM_GROWTH).min(batch_size);
                    }
                }
                // One lane more than the slots: the next wiki opens its session while the
                // others look up, and starts the moment a slot is free.
                while backlog.looking <= concurrency {
                    let Some(wiki) = backlog.waiting.pop_front() else {
                        break;
                    };
                    backlog.looking += 1;
                    let (this, shared) = (self.clone(), Arc::clone(&shared));
                    lanes.spawn(async move { this.check_wiki(wiki, shared).await });
                }
                !backlog.waiting.is_empty()
            };
            let claiming = !claims.is_empty();
            // Finished lanes are taken in first, so a database error stops the run as early as
            // it can; then claims, so their pages join running lanes before these run dry. A
            // lane wakes the run when it finished its lookups (room for a waiting wiki) or took
            // the backlog below `claim_below` (time to claim).
            tokio::select! {
                biased;
                Some(joined) = lanes.join_next() => self.take_in(joined, &mut lanes, &mut run)?,
                Some(claimed) = claims.join_next() => {
                    let claimed = claimed
                        .map_err(|err| RunError::Task(err.to_string()))?
                        .map_err(RunError::Store)?;
                    if claimed.is_empty() {
                        exhausted = true;
                    } else {
                        run.claimed += shared.backlog().add(claimed);
                    }
                }
                () = shared.wake.notified(), if has_waiting || !(exhausted || claiming) => {}
                else => break,
            }
        }
        Ok(run.report)
    }

    /// Claims up to `limit` due pages (only among `only` when given), in turn with the run's
    /// writes.
    fn claim(
        &self,
        shared: Arc<Shared>,
        now: chrono::DateTime<Utc>,
        limit: u32,
        only: Option<Arc<[PageMonitorId]>>,
    ) -> impl Future<Output = Result<Vec<PageMonitor>, StoreError>> + Send + 'static {
        let store = Arc::clone(&self.store);
        let request = ClaimRequest {
            owner: self.settings.owner.clone(),
            now,
            lease: self.settings.lease,
            limit,
        };
        async move {
            let _turn = shared.writes.lock().await;
            match only {
                None => store.claim_due_pages(&request).await,
                Some(ids) => store.claim_due_pages_among(&ids, &request).await,
            }
        }
    }

    /// Adds one finished lane to the report; a database error aborts the lanes still running.
    fn take_in(
        &self,
        joined: Result<Result<PageRunReport, StoreError>, tokio::task::JoinError>,
        lanes: &mut JoinSet<Result<PageRunReport, StoreError>>,
        run: &mut RunState,
    ) -> Result<(), RunError> {
        let lane = match joined.map_err(|err| RunError::Task(err.to_string()))? {
            Ok(lane) => lane,
            Err(err) => {
                lanes.abort_all();
                return Err(RunError::Store(err));
            }
        };
        run.done += 1;
        run.report.absorb(lane);
        report_progress(
            self.progress.as_ref(),
            Progress {
                done: run.done,
                pending: run.claimed - run.done,
            },
        );
        Ok(())
    }
}

#[cfg(test)]
mod tests;

//! The page watcher (`check-wiki-updates`): monitored pages grouped by wiki, one batched
//! lookup per 50 titles, latest revision ids compared, one page check log row per page, and a
//! change event for each edited, deleted or moved page.
//!
//! Pages are claimed in the database with a lease, so runners that overlap never check the
//! same page in a run. Wikis are looked up concurrently, each one serially;
//! each request's results are written (one transaction) while the wiki's next request is out.

use std::collections::{HashMap, HashSet, VecDeque};
use std::future::Future;
use std::sync::{Arc, PoisonError};

use chrono::Utc;
use tokio::sync::{Notify, Semaphore, mpsc};
use tokio::task::JoinSet;

use super::events::{ChangeEvent, PageChange};
use super::{Progress, ProgressSink, RunError, RunOutlook, Selection, report_progress};
use crate::mw::{PageLookup, PageState, TITLES_PER_REQUEST, WikiApi, WikiSession};
use crate::publish::diff_link;
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

/// One lookup's results, not written yet.
struct Looked {
    checked_at: chrono::DateTime<Utc>,
    checks: Vec<PageCheck>,
    events: Vec<(PageMonitorId, ChangeEvent)>,
}

impl PageRunReport {
    /// Counts written checks; those whose claim another runner had taken over were not written.
    fn record(&mut self, looked: Looked, lost: &[PageMonitorId]) {
        let lost: HashSet<PageMonitorId> = lost.iter().copied().collect();
        for check in &looked.checks {
            if lost.contains(&check.page_monitor_id) {
                self.lease_lost += 1;
                continue;
            }
            self.checked += 1;
            match check.status {
                PageCheckStatus::Unchanged => self.unchanged += 1,
                PageCheckStatus::Changed => self.changed += 1,
                PageCheckStatus::Deleted => self.deleted += 1,
                PageCheckStatus::Moved => self.moved += 1,
                PageCheckStatus::Error => self.errors += 1,
            }
        }
        self.changes.extend(
            looked
                .events
                .into_iter()
                .filter(|(id, _)| !lost.contains(id))
                .map(|(_, event)| event),
        );
    }

    /// Adds one lane's report.
    fn absorb(&mut self, lane: Self) {
        self.checked += lane.checked;
        self.unchanged += lane.unchanged;
        self.changed += lane.changed;
        self.deleted += lane.deleted;
        self.moved += lane.moved;
        self.errors += lane.errors;
        self.wikis += lane.wikis;
        self.changes.extend(lane.changes);
        self.failures.extend(lane.failures);
        self.lease_lost += lane.lease_lost;
        self.requests += lane.requests;
    }
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

    /// One wiki's lane: looks its queued pages up one request at a time (titles deduplicated
    /// across users) while a writer beside it writes each request's results in their own
    /// transaction, so a lookup never waits for a write. When a lookup fails, that request's
    /// pages and every page still queued for the wiki get an error row; the pages looked up
    /// before keep their results. The slot goes back after the last lookup, so the next
    /// wiki's lookups overlap with the last writes.
    async fn check_wiki(
        self,
        wiki: String,
        shared: Arc<Shared>,
    ) -> Result<PageRunReport, StoreError> {
        let (results, mut to_write) = mpsc::unbounded_channel::<Looked>();
        let look_up = async {
            let outcome = self.look_up(&wiki, &shared, &results).await;
            drop(results);
            outcome
        };
        let (this, writer_shared) = (&self, &shared);
        // Ends (dropping `to_write`, which stops the lookups) at the first database error.
        let write = async move {
            let mut written = PageRunReport::default();
            while let Some(looked) = to_write.recv().await {
                let lost = this.write(writer_shared, &looked).await?;
                written.record(looked, &lost);
            }
            Ok::<_, StoreError>(written)
        };
        let ((requests, failure), written) = tokio::join!(look_up, write);
        let mut report = written?;
        report.wikis = 1;
        report.requests = requests;
        report.failures.extend(failure);
        Ok(report)
    }

    /// The lookups of one wiki's lane, each request's results sent to its writer; returns the
    /// requests sent and the failure, if any. The session is opened before the lane waits for
    /// a slot (building its HTTP client takes a few milliseconds of CPU).
    async fn look_up(
        &self,
        wiki: &str,
        shared: &Shared,
        results: &mpsc::UnboundedSender<Looked>,
    ) -> (u64, Option<WikiFailure>) {
        let mut requests = 0;
        let opened = self.open_session(wiki).await;
        let slot = match &opened {
            Ok(_) => Arc::clone(&shared.slots).acquire_owned().await.ok(),
            Err(_) => None,
        };
        let failed = match opened {
            Err(detail) => Some((detail, shared.backlog().drain(wiki))),
            Ok((session, url)) => loop {
                let Some(chunk) = self.take_chunk(shared, wiki) else {
                    break None;
                };
                let checked_at = Utc::now();
                let mut titles: Vec<String> = Vec::new();
                let mut index: HashMap<&str, usize> = HashMap::new();
                for monitor in &chunk {
                    index.entry(monitor.page_title.as_str()).or_insert_with(|| {
                        titles.push(monitor.page_title.clone());
                        titles.len() - 1
                    });
                }
                let looked_up = session.lookup_revisions(&titles).await;
                requests = session.request_count();
                let lookups = match looked_up {
                    Ok(lookups) => lookups,
                    Err(err) => {
                        let mut affected = chunk;
                        affected.extend(shared.backlog().drain(wiki));
                        break Some((err.to_string(), affected));
                    }
                };
                let next_check_at = checked_at + self.settings.interval;
                let mut looked = Looked {
                    checked_at,
                    checks: Vec::with_capacity(chunk.len()),
                    events: Vec::new(),
                };
                for monitor in &chunk {
                    let lookup = index
                        .get(monitor.page_title.as_str())
                        .and_then(|&i| lookups.get(i));
                    let (check, event) = compare(monitor, lookup, &url, next_check_at);
                    looked.checks.push(check);
                    if let Some(event) = event {
                        looked.events.push((monitor.id, event));
                    }
                }
                if results.send(looked).is_err() {
                    // The writer stopped at a database error, which the lane reports.
                    break None;
                }
            },
        };
        drop(slot);
        shared.lane_looked_up();
        let Some((detail, affected)) = failed else {
            return (requests, None);
        };
        tracing::warn!(wiki, error = %detail, "page lookup failed");
        let checked_at = Utc::now();
        let next_check_at = checked_at + self.settings.interval;
        let checks = affected
            .iter()
            .map(|m| PageCheck {
                page_monitor_id: m.id,
                status: PageCheckStatus::Error,
                new_revid: None,
                detail: Some(detail.clone()),
                next_check_at,
            })
            .collect();
        // If the writer has stopped, its database error is what the lane reports.
        let _ = results.send(Looked {
            checked_at,
            checks,
            events: Vec::new(),
        });
        let failure = WikiFailure {
            wiki: wiki.to_owned(),
            pages: affected.len() as u64,
            detail,
        };
        (requests, Some(failure))
    }

    /// An anonymous session on `wiki`, built on a blocking thread (it builds an HTTP client).
    async fn open_session(
        &self,
        wiki: &str,
    ) -> Result<(Arc<dyn WikiSession>, crate::mw::WikiUrl), String> {
        let (api, wiki) = (Arc::clone(&self.wiki), wiki.to_owned());
        tokio::task::spawn_blocking(move || {
            let url = api.parse_wiki(&wiki).map_err(|err| err.to_string())?;
            let session = api.anonymous(&url).map_err(|err| err.to_string())?;
            Ok((session, url))
        })
        .await
        .unwrap_or_else(|err| match err.try_into_panic() {
            // A panic is a bug: it ends the lane, and the run reports it as one.
            Ok(panic) => std::panic::resume_unwind(panic),
            Err(err) => Err(format!("opening a session was cancelled: {err}")),
        })
    }

    /// The next lookup's pages for `wiki`'s lane, waking the run when it should claim again.
    fn take_chunk(&self, shared: &Shared, wiki: &str) -> Option<Vec<PageMonitor>> {
        let mut backlog = shared.backlog();
        let chunk = backlog.take_chunk(wiki, TITLES_PER_REQUEST);
        if backlog.queued < backlog.claim_below {
            shared.wake.notify_one();
        }
        chunk
    }

    /// Writes one lookup's results, in turn with the run's other writes; returns the ids whose
    /// claim another runner had taken over (not written).
    async fn write(
        &self,
        shared: &Shared,
        looked: &Looked,
    ) -> Result<Vec<PageMonitorId>, StoreError> {
        let _turn = shared.writes.lock().await;
        self.store
            .complete_page_checks(&self.settings.owner, looked.checked_at, &looked.checks)
            .await
    }
}

/// One monitor against what the wiki said now.
fn compare(
    monitor: &PageMonitor,
    lookup: Option<&PageLookup>,
    wiki: &crate::mw::WikiUrl,
    next_check_at: chrono::DateTime<Utc>,
) -> (PageCheck, Option<ChangeEvent>) {
    let check = |status, new_revid, detail: Option<String>| PageCheck {
        page_monitor_id: monitor.id,
        status,
        new_revid,
        detail,
        next_check_at,
    };
    let change = PageChange {
        user: monitor.user_id,
        page_monitor_id: monitor.id,
        wiki: monitor.wiki.clone(),
        title: monitor.page_title.clone(),
        old_revid: monitor.last_revid,
        new_revid: None,
        editor: None,
        timestamp: None,
        summary: None,
        diff_url: None,
        new_title: None,
    };
    let Some(lookup) = lookup else {
        return (
            check(
                PageCheckStatus::Error,
                None,
                Some("the wiki's answer did not include this title".to_owned()),
            ),
            None,
        );
    };
    match &lookup.state {
        PageState::Invalid { reason } => (
            check(
                PageCheckStatus::Error,
                None,
                Some(format!("invalid title: {reason}")),
            ),
            None,
        ),
        PageState::Missing { .. } => {
            // Only a page we saw before can have been deleted; report it once.
            let event = (monitor.last_revid.is_some()
                && monitor.last_status != Some(PageCheckStatus::Deleted))
            .then_some(ChangeEvent::PageDeleted(change));
            (
                check(
                    PageCheckStatus::Deleted,
                    None,
                    Some("the page does not exist (deleted, or never created)".to_owned()),
                ),
                event,
            )
        }
        PageState::Exists(revision) => {
            let revid = i64::try_from(revision.revision_id).unwrap_or(i64::MAX);
            if revision.redirected_from.is_some() {
                let event = (monitor.last_status != Some(PageCheckStatus::Moved)).then(|| {
                    ChangeEvent::PageMoved(PageChange {
                        new_revid: Some(revid),
                        new_title: Some(revision.title.clone()),
                        ..change.clone()
                    })
                });
                return (
                    check(
                        PageCheckStatus::Moved,
                        Some(revid),
                        Some(format!(
                            "moved to {} (the old title redirects)",
                            revision.title
                        )),
                    ),
                    event,
                );
            }
            let detail = format!(
                "r{} by {} at {}{}",
                revision.revision_id,
                revision.user.as_deref().unwrap_or("(hidden)"),
                revision.timestamp,
                revision
                    .comment
                    .as_deref()
                    .filter(|c| !c.is_empty())
                    .map(|c| format!(": {c}"))
                    .unwrap_or_default()
            );
            match monitor.last_revid {
                Some(old) if old != revid => {
                    let old_rev = u64::try_from(old).ok();
                    let event = ChangeEvent::PageChanged(PageChange {
                        new_revid: Some(revid),
                        editor: revision.user.clone(),
                        timestamp: Some(revision.timestamp.clone()),
                        summary: revision.comment.clone(),
                        diff_url: Some(diff_link(wiki, revision.revision_id, old_rev)),
                        ..change
                    });
                    (
                        check(PageCheckStatus::Changed, Some(revid), Some(detail)),
                        Some(event),
                    )
                }
                _ => (
                    check(PageCheckStatus::Unchanged, Some(revid), Some(detail)),
                    None,
                ),
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::*;
    use crate::mw::testkit::{FakeWiki, Fault};
    use crate::mw::{ActionApiClient, AllowList, ClientConfig, RetryPolicy, UserAgent};
    use crate::publish::wiki_key;
    use crate::store::{DatabaseUrl, PageRequest, StoreSettings, UserId};

    fn queued(id: i64, title: &str) -> PageMonitor {
        PageMonitor {
            id: PageMonitorId(id),
            user_id: UserId(1),
            wiki: "w".to_owned(),
            page_title: title.to_owned(),
            origin: crate::store::MonitorOrigin::User,
            last_revid: None,
            last_checked_at: None,
            last_status: None,
            next_check_at: Utc::now(),
            created_at: Utc::now(),
        }
    }

    #[test]
    fn a_chunk_has_at_most_the_titles_of_one_lookup_with_every_monitor_of_them() {
        let mut backlog = Backlog::default();
        let new = backlog.add(vec![
            queued(1, "A"),
            queued(2, "B"),
            queued(3, "C"),
            queued(4, "A"),
        ]);
        assert_eq!((new, backlog.queued), (1, 4));
        let ids = |chunk: Vec<PageMonitor>| chunk.iter().map(|m| m.id.0).collect::<Vec<_>>();
        // Two titles per lookup: A (both users) and B; C waits.
        assert_eq!(backlog.take_chunk("w", 2).map(ids), Some(vec![1, 2, 4]));
        assert_eq!(backlog.queued, 1);
        // Pages claimed while the lane runs join it, no new lane.
        assert_eq!(backlog.add(vec![queued(5, "D")]), 0);
        assert_eq!(backlog.take_chunk("w", 2).map(ids), Some(vec![3, 5]));
        assert_eq!(backlog.take_chunk("w", 2), None, "empty: the lane ends");
        assert!(backlog.queues.is_empty());
        assert_eq!(
            backlog.add(vec![queued(6, "E")]),
            1,
            "a later claim: a new lane"
        );
        assert_eq!(backlog.queued, 1);
    }

    struct Fixture {
        store: Arc<dyn Store>,
        client: Arc<ActionApiClient>,
        user: UserId,
        _dir: tempfile::TempDir,
    }

    async fn fixture(wikis: &[&FakeWiki]) -> Fixture {
        let dir = tempfile::tempdir().expect("temp dir");
        let url = format!("sqlite:{}", dir.path().join("store.sqlite3").display());
        let store = crate::store::open(&DatabaseUrl::new(url), &StoreSettings::migrating())
            .await
            .expect("store");
        let user = store
            .upsert_user("central-1", "Alice", Utc::now())
            .await
            .expect("user")
            .id;
        let hosts: Vec<String> = wikis.iter().map(|w| w.host()).collect();
        let mut config =
            ClientConfig::new(UserAgent::from_contact("https://example.org/t").unwrap());
        config.allow_list = AllowList::wikimedia()
            .with_extra_hosts(&hosts.join(","))
            .expect("loopback hosts");
        config.retry = RetryPolicy::fast_for_tests();
        config.request_timeout = Duration::from_secs(5);
        let client = Arc::new(ActionApiClient::new(config).expect("client"));
        Fixture {
            store,
            client,
            user,
            _dir: dir,
        }
    }

    impl Fixture {
        async fn monitor_pages(&self, wiki: &FakeWiki, pages: usize) {
            let key = wiki_key(&wiki.wiki_url());
            let now = Utc::now();
            for i in 0..pages {
                let title = format!("User:Alice/p{i}.js");
                wiki.add_page(&title, "x();");
                self.store
                    .add_page_monitor(self.user, &key, &title, now)
                    .await
                    .expect("monitor");
            }
        }

        fn watcher(&self, batch_size: u32) -> PageWatcher {
            PageWatcher::new(
                Arc::clone(&self.store),
                Arc::clone(&self.client) as Arc<dyn WikiApi>,
                PageCheckSettings {
                    batch_size,
                    interval: chrono::Duration::zero(),
                    ..PageCheckSettings::new("runner")
                },
            )
        }

        /// Every monitor's check log statuses, newest first.
        async fn logs(&self) -> Vec<Vec<PageCheckStatus>> {
            let mut logs = Vec::new();
            for monitor in self.store.list_page_monitors(self.user).await.unwrap() {
                let log = self
                    .store
                    .page_check_log(self.user, monitor.id, PageRequest::first(10))
                    .await
                    .unwrap();
                logs.push(log.items.iter().map(|e| e.status).collect());
            }
            logs
        }
    }

    #[tokio::test]
    async fn claims_smaller_than_a_lookup_still_give_one_lane_per_wiki_and_one_row_per_page() {
        let wikis = [FakeWiki::start().await, FakeWiki::start().await];
        let fx = fixture(&[&wikis[0], &wikis[1]]).await;
        for wiki in &wikis {
            fx.monitor_pages(wiki, 120).await;
            // Lookups slower than claims, as on a real wiki.
            wiki.inject(Fault::Delay(Duration::from_millis(100)), usize::MAX / 2);
        }
        let progress = Arc::new(std::sync::Mutex::new(Vec::new()));
        let seen = Arc::clone(&progress);
        let report = fx
            .watcher(30)
            .with_progress(Arc::new(move |p| seen.lock().unwrap().push(p)))
            .run()
            .await
            .unwrap();
        assert_eq!(
            (report.checked, report.unchanged),
            (240, 240),
            "{}",
            report.summary()
        );
        assert_eq!(
            report.wikis, 2,
            "pages claimed later joined their wiki's lane"
        );
        for wiki in &wikis {
            // ⌈120/50⌉ = 3, and one more if the lane's first lookup went out with the first
            // claim's 30 titles only.
            let asked = wiki.request_count();
            assert!((3..=4).contains(&asked), "{asked} requests");
        }
        assert_eq!(
            report.requests,
            (wikis[0].request_count() + wikis[1].request_count()) as u64
        );
        assert!(
            fx.logs()
                .await
                .iter()
                .all(|log| log == &[PageCheckStatus::Unchanged])
        );
        let progress = progress.lock().unwrap();
        assert_eq!(progress.len(), 2);
        assert_eq!(
            progress.last(),
            Some(&Progress {
                done: 2,
                pending: 0
            })
        );
    }

    #[tokio::test]
    async fn a_lookup_failing_mid_wiki_keeps_the_results_before_and_logs_the_rest_as_errors() {
        let (broken, fine) = (FakeWiki::start().await, FakeWiki::start().await);
        let fx = fixture(&[&broken, &fine]).await;
        fx.monitor_pages(&broken, 120).await;
        fx.monitor_pages(&fine, 60).await;
        // The first lookup is answered, every later one is broken.
        broken.inject(Fault::Delay(Duration::from_millis(1)), 1);
        broken.inject(Fault::MalformedJson, usize::MAX / 2);
        let report = fx.watcher(1000).run().await.unwrap();
        assert_eq!(
            (report.checked, report.unchanged, report.errors),
            (180, 50 + 60, 70),
            "{}",
            report.summary()
        );
        assert_eq!(report.failures.len(), 1, "{:?}", report.failures);
        assert_eq!(report.failures[0].wiki, wiki_key(&broken.wiki_url()));
        assert_eq!(report.failures[0].pages, 70);
        assert_eq!(fine.request_count(), 2, "the other wiki went on");
        let logs = fx.logs().await;
        assert_eq!(logs.len(), 180);
        assert!(logs.iter().all(|log| log.len() == 1), "one row per page");
        let errors = logs
            .iter()
            .filter(|log| log[0] == PageCheckStatus::Error)
            .count();
        assert_eq!(errors, 70);
    }
}

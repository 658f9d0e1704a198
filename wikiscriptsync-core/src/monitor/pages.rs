//! The page watcher (`check-wiki-updates`): monitored pages grouped by wiki, one batched
//! lookup per 50 titles (500 with `apihighlimits`), latest revision ids compared, one page
//! check log row per page, and a change event for each edited, deleted or moved page.
//!
//! Pages are claimed in the database with a lease (ordered by wiki), so runners that overlap
//! never check the same page in a run. Wikis are looked up concurrently, each one serially.

use std::collections::{BTreeMap, HashMap, HashSet, VecDeque};
use std::sync::Arc;

use chrono::Utc;
use tokio::sync::{OwnedSemaphorePermit, Semaphore};
use tokio::task::JoinSet;

use super::events::{ChangeEvent, PageChange};
use super::{Progress, ProgressSink, RunError, report_progress};
use crate::mw::{PageLookup, PageState, WikiApi};
use crate::publish::diff_link;
use crate::store::{
    ClaimRequest, PageCheck, PageCheckStatus, PageMonitor, PageMonitorId, Store, StoreError,
};

/// How the page watcher runs.
#[derive(Debug, Clone)]
pub struct PageCheckSettings {
    /// This runner's id in claims (see [`super::runner_id`]).
    pub owner: String,
    /// How long a claim holds before another runner may take the page over.
    pub lease: chrono::Duration,
    /// Pages claimed per database round trip.
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

/// What a run has taken in so far.
#[derive(Default)]
struct RunState {
    report: PageRunReport,
    /// Wikis claimed so far (a wiki split across two batches counts twice).
    claimed: u64,
    /// Wikis finished so far.
    done: u64,
}

/// Claimed pages grouped by wiki, so each wiki is asked once per batch.
fn group_by_wiki(claimed: Vec<PageMonitor>) -> BTreeMap<String, Vec<PageMonitor>> {
    let mut by_wiki: BTreeMap<String, Vec<PageMonitor>> = BTreeMap::new();
    for monitor in claimed {
        by_wiki
            .entry(monitor.wiki.clone())
            .or_default()
            .push(monitor);
    }
    by_wiki
}

/// The outcome of one wiki's pages.
struct WikiResult {
    checks: Vec<PageCheck>,
    events: Vec<(PageMonitorId, ChangeEvent)>,
    failure: Option<WikiFailure>,
    requests: u64,
    /// Pages whose claim another runner had taken over (their results were not written).
    lost_ids: Vec<PageMonitorId>,
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
    /// One set of slots (the wiki concurrency) serves the whole run, and the next batch is
    /// claimed while the current one is looked up (one batch ahead), so a wiki of the next
    /// batch starts the moment a slot frees instead of after the slowest wiki of this one.
    pub async fn run(&self) -> Result<PageRunReport, RunError> {
        let now = Utc::now();
        let mut run = RunState::default();
        let slots = Arc::new(Semaphore::new(self.settings.concurrency.max(1)));
        let mut tasks: JoinSet<Result<WikiResult, StoreError>> = JoinSet::new();
        // At most one claim in flight; dropping the run aborts it (its pages' leases expire).
        let mut claims: JoinSet<Result<Vec<PageMonitor>, StoreError>> = JoinSet::new();
        let claim = || {
            let store = Arc::clone(&self.store);
            let request = ClaimRequest {
                owner: self.settings.owner.clone(),
                now,
                lease: self.settings.lease,
                limit: self.settings.batch_size.max(1),
            };
            async move { store.claim_due_pages(&request).await }
        };
        claims.spawn(claim());
        let mut waiting: VecDeque<(String, Vec<PageMonitor>)> = VecDeque::new();
        loop {
            // Wikis that finish meanwhile are taken in first, so a database error stops the
            // run as early as it can.
            let Some((wiki, monitors)) = waiting.pop_front() else {
                tokio::select! {
                    biased;
                    Some(joined) = tasks.join_next() => self.take_in(joined, &mut tasks, &mut run)?,
                    Some(claimed) = claims.join_next() => {
                        let claimed = claimed
                            .map_err(|err| RunError::Task(err.to_string()))?
                            .map_err(RunError::Store)?;
                        if !claimed.is_empty() {
                            let by_wiki = group_by_wiki(claimed);
                            run.claimed += by_wiki.len() as u64;
                            waiting.extend(by_wiki);
                            claims.spawn(claim());
                        }
                    }
                    else => break,
                }
                continue;
            };
            let slot = loop {
                tokio::select! {
                    biased;
                    Some(joined) = tasks.join_next() => self.take_in(joined, &mut tasks, &mut run)?,
                    slot = Arc::clone(&slots).acquire_owned() => break slot.ok(),
                }
            };
            let this = self.clone();
            tasks.spawn(async move { this.check_wiki(&wiki, monitors, slot).await });
        }
        Ok(run.report)
    }

    /// Adds one finished wiki to the report; a database error aborts the wikis still running.
    fn take_in(
        &self,
        joined: Result<Result<WikiResult, StoreError>, tokio::task::JoinError>,
        tasks: &mut JoinSet<Result<WikiResult, StoreError>>,
        run: &mut RunState,
    ) -> Result<(), RunError> {
        let result = match joined.map_err(|err| RunError::Task(err.to_string()))? {
            Ok(result) => result,
            Err(err) => {
                tasks.abort_all();
                return Err(RunError::Store(err));
            }
        };
        let report = &mut run.report;
        run.done += 1;
        report.wikis += 1;
        report.requests += result.requests;
        let lost: HashSet<PageMonitorId> = result.lost_ids.iter().copied().collect();
        for check in &result.checks {
            if lost.contains(&check.page_monitor_id) {
                report.lease_lost += 1;
                continue;
            }
            report.checked += 1;
            match check.status {
                PageCheckStatus::Unchanged => report.unchanged += 1,
                PageCheckStatus::Changed => report.changed += 1,
                PageCheckStatus::Deleted => report.deleted += 1,
                PageCheckStatus::Moved => report.moved += 1,
                PageCheckStatus::Error => report.errors += 1,
            }
        }
        report.changes.extend(
            result
                .events
                .into_iter()
                .filter(|(id, _)| !lost.contains(id))
                .map(|(_, event)| event),
        );
        report.failures.extend(result.failure);
        report_progress(
            self.progress.as_ref(),
            Progress {
                done: run.done,
                pending: run.claimed - run.done,
            },
        );
        Ok(())
    }

    /// Looks up one wiki's pages (titles deduplicated across users) and writes the results in
    /// one transaction. A wiki that fails gets an error row per page.
    async fn check_wiki(
        self,
        wiki: &str,
        monitors: Vec<PageMonitor>,
        slot: Option<OwnedSemaphorePermit>,
    ) -> Result<WikiResult, StoreError> {
        let checked_at = Utc::now();
        let next_check_at = checked_at + self.settings.interval;
        let mut titles: Vec<String> = Vec::new();
        let mut index: HashMap<&str, usize> = HashMap::new();
        for monitor in &monitors {
            index.entry(monitor.page_title.as_str()).or_insert_with(|| {
                titles.push(monitor.page_title.clone());
                titles.len() - 1
            });
        }
        let mut requests = 0;
        let looked_up = match self.wiki.parse_wiki(wiki) {
            Ok(url) => match self.wiki.anonymous(&url) {
                Ok(session) => {
                    let result = session.lookup_revisions(&titles).await;
                    requests = session.request_count();
                    result.map(|lookups| (url, lookups))
                }
                Err(err) => Err(err),
            },
            Err(err) => Err(err),
        };
        // The slot goes back before the write, so the next wiki's lookups overlap with it.
        drop(slot);
        let (url, lookups) = match looked_up {
            Ok(found) => found,
            Err(err) => {
                let detail = err.to_string();
                tracing::warn!(wiki, error = %detail, "page lookup failed");
                let checks = monitors
                    .iter()
                    .map(|m| PageCheck {
                        page_monitor_id: m.id,
                        status: PageCheckStatus::Error,
                        new_revid: None,
                        detail: Some(detail.clone()),
                        next_check_at,
                    })
                    .collect();
                let result = WikiResult {
                    checks,
                    events: Vec::new(),
                    failure: Some(WikiFailure {
                        wiki: wiki.to_owned(),
                        pages: monitors.len() as u64,
                        detail,
                    }),
                    requests,
                    lost_ids: Vec::new(),
                };
                return self.write(checked_at, result).await;
            }
        };
        let mut checks = Vec::with_capacity(monitors.len());
        let mut events = Vec::new();
        for monitor in &monitors {
            let lookup = index
                .get(monitor.page_title.as_str())
                .and_then(|&i| lookups.get(i));
            let (check, event) = compare(monitor, lookup, &url, next_check_at);
            checks.push(check);
            if let Some(event) = event {
                events.push((monitor.id, event));
            }
        }
        self.write(
            checked_at,
            WikiResult {
                checks,
                events,
                failure: None,
                requests,
                lost_ids: Vec::new(),
            },
        )
        .await
    }

    async fn write(
        &self,
        checked_at: chrono::DateTime<Utc>,
        mut result: WikiResult,
    ) -> Result<WikiResult, StoreError> {
        let lost = self
            .store
            .complete_page_checks(&self.settings.owner, checked_at, &result.checks)
            .await?;
        result.lost_ids = lost;
        Ok(result)
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

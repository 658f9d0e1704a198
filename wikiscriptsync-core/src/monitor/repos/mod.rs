//! The repository checker (`check-updates`): for every due repository, the visibility rule
//! ([`crate::repository::require_public`]: nothing of a repository that is no longer public
//! is read), one conditional head probe; only if the branch moved (or a file is watched for
//! the first time), one tree request for the watched paths' blob SHAs. Each repository's
//! result is written in one transaction (file check log rows included) and its rate-limit
//! snapshots go to the quota log.
//!
//! Work is claimed in the database with a lease, so runners that overlap never check the same
//! repository in a run. A per-host quota reserve (a share of the host's own limit, see
//! [`crate::quota`]) stops checking a host for the rest of the run when its remaining quota
//! falls below it; and a user whose fair share of a host for this hour is spent has their
//! repositories there skipped while other users' are checked. What each check cost is counted
//! against its user's share. Skipped repositories stay due for the next run.

use std::collections::VecDeque;
use std::sync::{Arc, Mutex, PoisonError};
use std::time::SystemTime;

use chrono::Utc;
use tokio::task::JoinSet;

mod quota;
mod report;

use quota::{Quota, quota_row};

pub use report::{
    RepositoryCheckSettings, RepositoryFailure, RepositoryRunReport, ReserveReached, UserShareSpent,
};

use super::events::{ChangeEvent, FileChange};
use super::{Progress, ProgressSink, RunError, Selection, report_progress};
use crate::forge::{
    CommitSha, Forge, ForgeError, HeadProbe, KnownHead, LimitKind, RepoLocator, Usage,
};
use crate::quota::QuotaShares;
use crate::repository::{ReadRefused, Validators};
use crate::store::{
    CheckQueue, ClaimRequest, ClaimedRepository, FileCheckResult, FileCheckStatus, RepositoryCheck,
    RepositoryCheckStatus, RepositoryId, Store, StoreError, UserId,
};

/// Checks due repositories against the forges. Cheap to clone.
#[derive(Clone)]
pub struct RepositoryChecker {
    store: Arc<dyn Store>,
    forges: Arc<dyn Forge>,
    settings: Arc<RepositoryCheckSettings>,
    shares: QuotaShares,
    progress: Option<ProgressSink>,
}

impl std::fmt::Debug for RepositoryChecker {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RepositoryChecker")
            .field("settings", &self.settings)
            .finish_non_exhaustive()
    }
}

/// What checking one repository produced, before it is written.
struct Checked {
    check: RepositoryCheck,
    events: Vec<ChangeEvent>,
    usage: Usage,
    failure: Option<RepositoryFailure>,
    host: Option<String>,
    /// The forge refused for a while (primary quota gone, or a long secondary back-off):
    /// asking this host again in this run would only be refused too.
    host_blocked: bool,
    /// The repository had never been checked (no head known): its "moved" is a first sight.
    first_seen: bool,
}

enum TaskResult {
    Written(Box<Checked>),
    LeaseLost(Usage),
    /// Left unchecked because its host is out of quota.
    Skipped(RepositoryId, String),
    /// Left unchecked because its user's share of the (web) host is spent.
    ShareSpent(RepositoryId, UserId, String),
}

impl RepositoryChecker {
    /// A checker over these clients.
    pub fn new(
        store: Arc<dyn Store>,
        forges: Arc<dyn Forge>,
        settings: RepositoryCheckSettings,
    ) -> Self {
        let shares = QuotaShares::new(Arc::clone(&store), Arc::clone(&forges), settings.quota);
        Self {
            store,
            forges,
            settings: Arc::new(settings),
            shares,
            progress: None,
        }
    }

    /// Reports progress after each repository (for a progress line, or tests).
    #[must_use]
    pub fn with_progress(mut self, sink: ProgressSink) -> Self {
        self.progress = Some(sink);
        self
    }

    /// Takes the hour of users' shares, and the time their checks' requests are counted at,
    /// from `clock` (the wall clock otherwise).
    #[must_use]
    pub fn with_quota_clock(mut self, clock: crate::quota::Clock) -> Self {
        self.shares = self.shares.with_clock(clock);
        self
    }

    /// Checks every due repository once. Per-repository failures are logged and reported;
    /// only the database failing ends the run early ([`RunError`]).
    pub async fn run(&self) -> Result<RepositoryRunReport, RunError> {
        self.run_selection(&Selection::Due).await
    }

    /// Checks the selected repositories once: the due ones, or (started by hand) all or some
    /// of them whether due or not, through the same claims, check log, quota and events.
    /// Repositories another runner holds are left to it and reported as held; the report's
    /// outlook says what is due next.
    pub async fn run_selection(
        &self,
        selection: &Selection<RepositoryId>,
    ) -> Result<RepositoryRunReport, RunError> {
        let owner = &self.settings.owner;
        let queue = CheckQueue::Repositories;
        let (only, made) =
            super::select(self.store.as_ref(), queue, selection, |id| id.0, owner).await?;
        let mut report = self.run_claims(only.as_deref()).await?;
        report.outlook = Some(super::outlook(self.store.as_ref(), queue, owner, made).await?);
        Ok(report)
    }

    /// "Check now": makes the user's repository due and checks it, and only it, the way
    /// [`Self::run`] does (lease, check log, quota snapshots, change events). `None`, and
    /// nothing checked, when it is not that user's repository.
    pub async fn check_one(
        &self,
        user: UserId,
        id: RepositoryId,
    ) -> Result<Option<RepositoryRunReport>, RunError> {
        if !self
            .store
            .mark_repository_due(user, id, Utc::now())
            .await
            .map_err(RunError::Store)?
        {
            return Ok(None);
        }
        self.run_claims(Some(&[id])).await.map(Some)
    }

    /// Claims and checks due repositories (only among `only` when given) until none are left.
    async fn run_claims(
        &self,
        only: Option<&[RepositoryId]>,
    ) -> Result<RepositoryRunReport, RunError> {
        let now = Utc::now();
        let quota = Arc::new(Mutex::new(Quota::default()));
        let mut report = RepositoryRunReport::default();
        let mut queue: VecDeque<ClaimedRepository> = VecDeque::new();
        let mut skipped: Vec<RepositoryId> = Vec::new();
        let mut tasks: JoinSet<Result<TaskResult, StoreError>> = JoinSet::new();
        let mut drained = false;
        let concurrency = self.settings.concurrency.max(1);
        loop {
            if queue.is_empty() && !drained && tasks.len() < concurrency {
                let request = ClaimRequest {
                    owner: self.settings.owner.clone(),
                    now,
                    lease: self.settings.lease,
                    limit: self.settings.batch_size.max(1),
                };
                let claimed = match only {
                    None => self.store.claim_due_repositories(&request).await,
                    Some(ids) => self.store.claim_due_repositories_among(ids, &request).await,
                }
                .map_err(RunError::Store)?;
                // One repository is claimed at most once; a short claim among given ids
                // took every one of them that could be claimed.
                drained = claimed.is_empty()
                    || (only.is_some() && claimed.len() < request.limit as usize);
                queue.extend(claimed);
            }
            while tasks.len() < concurrency
                && let Some(claimed) = queue.pop_front()
            {
                let this = self.clone();
                let quota = Arc::clone(&quota);
                tasks.spawn(async move { this.check_and_write(claimed, quota).await });
            }
            let Some(joined) = tasks.join_next().await else {
                if queue.is_empty() && drained {
                    break;
                }
                continue;
            };
            let result = joined.map_err(|err| RunError::Task(err.to_string()))?;
            match result {
                Ok(TaskResult::Written(checked)) => {
                    let checked = *checked;
                    report.checked += 1;
                    report.files_checked += checked.check.files.len() as u64;
                    match checked.check.status {
                        RepositoryCheckStatus::Unchanged => report.unchanged += 1,
                        RepositoryCheckStatus::Moved => {
                            report.moved += 1;
                            report.first_seen += u64::from(checked.first_seen);
                        }
                        RepositoryCheckStatus::Missing | RepositoryCheckStatus::Error => {
                            report.failed += 1;
                        }
                    }
                    add_usage(&mut report, &checked.usage);
                    report.changes.extend(checked.events);
                    report.failures.extend(checked.failure);
                }
                Ok(TaskResult::LeaseLost(usage)) => {
                    report.lease_lost += 1;
                    add_usage(&mut report, &usage);
                }
                Ok(TaskResult::Skipped(id, host)) => {
                    skipped.push(id);
                    let mut quota = quota.lock().unwrap_or_else(PoisonError::into_inner);
                    if let Some(reserve) = quota.exhausted.get_mut(&host) {
                        reserve.skipped += 1;
                    }
                }
                Ok(TaskResult::ShareSpent(id, user, host)) => {
                    skipped.push(id);
                    let mut quota = quota.lock().unwrap_or_else(PoisonError::into_inner);
                    if let Some(share) = quota.spent.get_mut(&(user, host)) {
                        share.skipped += 1;
                    }
                }
                Err(err) => {
                    // The database is gone or refuses writes: stop at once. Each check is
                    // one transaction, so nothing is half-written; claims expire by lease.
                    tasks.abort_all();
                    return Err(RunError::Store(err));
                }
            }
            report_progress(
                self.progress.as_ref(),
                Progress {
                    done: report.checked + report.lease_lost + skipped.len() as u64,
                    pending: (queue.len() + tasks.len()) as u64,
                },
            );
        }
        if !skipped.is_empty() {
            self.store
                .release_repository_claims(&self.settings.owner, &skipped)
                .await
                .map_err(RunError::Store)?;
        }
        let quota = quota.lock().unwrap_or_else(PoisonError::into_inner);
        report.reserve_reached = quota.exhausted.values().cloned().collect();
        report.shares_spent = quota.spent.values().cloned().collect();
        for share in &report.shares_spent {
            tracing::info!(
                user = %share.spent.user,
                host = %share.spent.host,
                spent = share.spent.spent,
                share = share.spent.share,
                skipped = share.skipped,
                "a user's share of the host's quota for this hour is spent: their checks wait"
            );
        }
        for reserve in &report.reserve_reached {
            tracing::warn!(
                host = %reserve.host,
                remaining = ?reserve.remaining,
                skipped = reserve.skipped,
                "quota reserve reached: stopped checking this host for this run"
            );
        }
        Ok(report)
    }

    /// Checks one repository (unless its host is out of quota) and writes the result.
    async fn check_and_write(
        self,
        claimed: ClaimedRepository,
        quota: Arc<Mutex<Quota>>,
    ) -> Result<TaskResult, StoreError> {
        let locator = crate::repository::locator_of(self.forges.as_ref(), &claimed.repository);
        let user = claimed.repository.user_id;
        let mut web_host = None;
        if let Ok(locator) = &locator {
            let host = locator.api_host();
            if !self.host_has_quota(&host, locator, &quota).await? {
                return Ok(TaskResult::Skipped(claimed.repository.id, host));
            }
            let host = locator.web_host();
            if !self.user_has_share(user, &host, locator, &quota).await? {
                return Ok(TaskResult::ShareSpent(claimed.repository.id, user, host));
            }
            web_host = Some(host);
        }
        let checked = self.check(&claimed, locator).await;
        if let Some(host) = &checked.host {
            self.note_quota(host, &checked, &quota);
        }
        if let Some(host) = web_host {
            {
                let mut quota = quota.lock().unwrap_or_else(PoisonError::into_inner);
                if let Some(n) = quota.in_flight.get_mut(&(user, host.clone())) {
                    *n = n.saturating_sub(1);
                }
            }
            // Counted even when the result is lost below: the requests were made.
            let at = self.shares.clock().now();
            crate::quota::record(self.store.as_ref(), user, &host, &checked.usage, at).await?;
        }
        match self.store.complete_repository_check(&checked.check).await {
            Ok(()) => {}
            Err(StoreError::LeaseLost { .. }) => return Ok(TaskResult::LeaseLost(checked.usage)),
            Err(err) => return Err(err),
        }
        for snapshot in &checked.usage.snapshots {
            if let Some(row) = quota_row(snapshot) {
                self.store.record_api_quota(&row).await?;
            }
        }
        if let Some(failure) = &checked.failure {
            tracing::warn!(repository = %failure.url, branch = %failure.branch, error = %failure.detail, "repository check failed");
        }
        Ok(TaskResult::Written(Box::new(checked)))
    }

    /// Probes and compares one repository; never fails (failures become the result).
    async fn check(
        &self,
        claimed: &ClaimedRepository,
        locator: Result<RepoLocator, crate::forge::LocatorError>,
    ) -> Checked {
        let repo = &claimed.repository;
        let checked_at = Utc::now();
        let next_check_at = checked_at + self.settings.interval;
        let mut usage = Usage::default();
        let mut check = RepositoryCheck {
            repository_id: repo.id,
            owner: self.settings.owner.clone(),
            checked_at,
            status: RepositoryCheckStatus::Error,
            head_sha: None,
            etag: None,
            next_check_at,
            files: Vec::new(),
        };
        let failed =
            |check: RepositoryCheck, usage: Usage, error: Result<&ForgeError, String>, host| {
                let host_blocked = error.as_ref().is_ok_and(|e| blocks_host(e));
                let detail = error.map_or_else(|text| text, ToString::to_string);
                let files = claimed
                    .files
                    .iter()
                    .map(|f| FileCheckResult {
                        watched_file_id: f.id,
                        status: FileCheckStatus::Error,
                        new_blob_sha: None,
                        commit_sha: None,
                        detail: Some(detail.clone()),
                    })
                    .collect();
                Checked {
                    check: RepositoryCheck { files, ..check },
                    events: Vec::new(),
                    usage,
                    failure: Some(RepositoryFailure {
                        repository_id: repo.id,
                        url: repo.url.clone(),
                        branch: repo.branch.clone(),
                        detail,
                    }),
                    host,
                    host_blocked,
                    first_seen: false,
                }
            };
        let locator = match locator {
            Ok(locator) => locator,
            Err(err) => {
                return failed(
                    check,
                    usage,
                    Err(format!("the repository cannot be located: {err}")),
                    None,
                );
            }
        };
        let host = Some(locator.api_host());
        let forge = Arc::clone(&self.forges);
        let stored = Validators::parse(repo.etag.as_deref());
        // Nothing of a repository that is no longer public is read: each check says so in
        // the file check log (no notice: the check log and the run's summary carry it).
        let visibility_validator = match crate::repository::require_public(
            forge.as_ref(),
            &locator,
            stored.visibility.as_deref(),
            &mut usage,
        )
        .await
        {
            Ok(validator) => validator,
            Err(ReadRefused::NotPublic(refusal)) => {
                return failed(check, usage, Err(refusal.to_string()), host);
            }
            Err(ReadRefused::Forge(err)) => {
                if let ForgeError::NotFound { .. } = err {
                    check.status = RepositoryCheckStatus::Missing;
                }
                return failed(check, usage, Ok(&err), host);
            }
        };
        let known = repo
            .head_sha
            .as_deref()
            .and_then(|sha| CommitSha::parse(sha).ok())
            .map(|sha| KnownHead {
                sha,
                validator: stored.head.clone(),
            });
        let probe = match forge
            .head(&locator, &repo.branch, known.as_ref(), &mut usage)
            .await
        {
            Ok(probe) => probe,
            Err(err) => {
                if let ForgeError::NotFound { .. } | ForgeError::BranchNotFound { .. } = err {
                    check.status = RepositoryCheckStatus::Missing;
                }
                return failed(check, usage, Ok(&err), host);
            }
        };
        let head = probe.sha().clone();
        // Both validators are written with a successful check (the column keeps the old text
        // when a check fails).
        let validators = Validators {
            head: match &probe {
                HeadProbe::Moved { validator, .. } => validator.clone(),
                HeadProbe::NotModified { .. } => stored.head.clone(),
            },
            visibility: visibility_validator,
        }
        .to_column();
        let first_sighting = claimed.files.iter().any(|f| f.last_blob_sha.is_none());
        if !probe.moved() && !first_sighting {
            check.status = RepositoryCheckStatus::Unchanged;
            check.head_sha = Some(head.to_string());
            check.etag = validators;
            check.files = claimed
                .files
                .iter()
                .map(|f| FileCheckResult {
                    watched_file_id: f.id,
                    status: FileCheckStatus::Unchanged,
                    new_blob_sha: f.last_blob_sha.clone(),
                    commit_sha: Some(head.to_string()),
                    detail: None,
                })
                .collect();
            return Checked {
                check,
                events: Vec::new(),
                usage,
                failure: None,
                host,
                host_blocked: false,
                first_seen: false,
            };
        }
        let paths: Vec<String> = claimed.files.iter().map(|f| f.path.clone()).collect();
        let found = match forge.blob_shas(&locator, &head, &paths, &mut usage).await {
            Ok(found) => found,
            // The head is not recorded, so the next run probes "moved" again and retries.
            Err(err) => return failed(check, usage, Ok(&err), host),
        };
        check.status = if probe.moved() {
            RepositoryCheckStatus::Moved
        } else {
            RepositoryCheckStatus::Unchanged
        };
        check.head_sha = Some(head.to_string());
        check.etag = validators;
        let mut events = Vec::new();
        for file in &claimed.files {
            let change = |new: Option<String>| FileChange {
                user: repo.user_id,
                watched_file_id: file.id,
                repository_url: repo.url.clone(),
                branch: repo.branch.clone(),
                path: file.path.clone(),
                old_blob_sha: file.last_blob_sha.clone(),
                new_blob_sha: new,
                commit_sha: head.to_string(),
                commit_url: locator.commit_url(&head),
            };
            let result = match found.get(&file.path) {
                Some(tree_file) => {
                    let new = tree_file.blob_sha.to_string();
                    let status = match &file.last_blob_sha {
                        Some(old) if *old != new => {
                            events.push(ChangeEvent::FileChanged(change(Some(new.clone()))));
                            FileCheckStatus::Changed
                        }
                        _ => FileCheckStatus::Unchanged,
                    };
                    FileCheckResult {
                        watched_file_id: file.id,
                        status,
                        new_blob_sha: Some(new),
                        commit_sha: Some(head.to_string()),
                        detail: file
                            .last_blob_sha
                            .is_none()
                            .then(|| "first check".to_owned()),
                    }
                }
                None => {
                    if file.last_status != Some(FileCheckStatus::Missing) {
                        events.push(ChangeEvent::FileMissing(change(None)));
                    }
                    FileCheckResult {
                        watched_file_id: file.id,
                        status: FileCheckStatus::Missing,
                        new_blob_sha: None,
                        commit_sha: Some(head.to_string()),
                        detail: Some(format!("not in {} at {}", repo.branch, head.short())),
                    }
                }
            };
            check.files.push(result);
        }
        Checked {
            check,
            events,
            usage,
            failure: None,
            host,
            host_blocked: false,
            first_seen: repo.head_sha.is_none(),
        }
    }
}

/// Whether an error means the host will refuse us for a while: the primary quota is gone, or
/// it asked for a back-off longer than a few seconds (the forge client then refuses locally
/// until it passes).
fn blocks_host(error: &ForgeError) -> bool {
    match error {
        ForgeError::RateLimited {
            kind: LimitKind::Primary,
            ..
        } => true,
        ForgeError::RateLimited { retry_at, .. } => retry_at
            .duration_since(SystemTime::now())
            .is_ok_and(|wait| wait > std::time::Duration::from_secs(5)),
        _ => false,
    }
}

fn add_usage(report: &mut RepositoryRunReport, usage: &Usage) {
    report.requests += u64::from(usage.requests);
    report.quota_spent += u64::from(usage.quota_spent);
    report.not_modified += u64::from(usage.not_modified);
}

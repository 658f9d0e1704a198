//! [`Publisher`]: one publish attempt from start to end — the job resolved from a mapping or
//! given ad hoc, the per-user mutex (step 1), the pipeline (steps 2–7, in `pipeline.rs`) and
//! the record-keeping (step 8, in `record.rs`) on every path: errors, refusals and panics in
//! the pipeline.
//!
//! A dry run (a preview) is a read: it runs the pipeline without the mutex and without any
//! record — no publish-task row, no publish-log row, nothing remembered on the mapping — so
//! opening a preview (a GET in the web app) changes nothing and is never refused as busy.
//!
//! The attempt runs in its own tokio task, so a caller that goes away (a closed browser tab)
//! does not leave the mutex held, and the pipeline runs in a nested task, so a panic becomes a
//! logged [`PublishError::Panicked`] instead of a stuck RUNNING row.

use std::sync::{Arc, Mutex, PoisonError};

use chrono::Utc;
use tracing::{Instrument as _, error, info, info_span, warn};

use crate::forge::{BlobSha, CommitSha, Forge};
use crate::mw::WikiApi;
use crate::store::{
    MappingId, PUBLISH_TASK_EXPIRY, PublishLock, PublishLogId, Store, UserId, WatchedFileId,
};
use crate::vault::Vault;

use super::edit::LockWindow;
use super::error::{PublishError, PublishFailure};
use super::record::{preview_failed, previewed};
use super::report::{PublishOutcome, PublishReport, PublishTargetSummary, RequestCounts};
use super::request::{
    AdHocPublish, Credentials, MappingPublish, PublishOptions, PublishSource, SourceRevision,
};
use super::step::PublishStep;

/// Publishes files to wiki pages. Cheap to clone (it holds `Arc`s).
///
/// Call it inside a tokio runtime: each attempt runs in a spawned task. Stored BotPasswords
/// are looked up under the wiki's [`WikiUrl::key`](crate::mw::WikiUrl::key) (falling back to the mapping's wiki string), so
/// save them under the same key.
#[derive(Clone)]
pub struct Publisher {
    pub(super) wiki: Arc<dyn WikiApi>,
    pub(super) forges: Arc<dyn Forge>,
    pub(super) store: Arc<dyn Store>,
    /// `None` when no key is configured: only given credentials can be used then.
    pub(super) vault: Option<Arc<Vault>>,
    /// When a publish's forge requests are counted against the user's share.
    pub(super) quota_clock: crate::quota::Clock,
}

impl std::fmt::Debug for Publisher {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Publisher")
            .field("store", &self.store.backend())
            .field("vault", &self.vault)
            .finish_non_exhaustive()
    }
}

/// One target's result when a file is published everywhere it is mapped.
#[derive(Debug)]
pub struct TargetResult {
    /// The mapping.
    pub mapping: MappingId,
    /// What happened there.
    pub result: Result<PublishReport, PublishFailure>,
}

/// Everything the pipeline needs, owned, so it can run in its own task.
#[derive(Debug, Clone)]
pub(super) struct Job {
    pub(super) user: UserId,
    pub(super) mapping: Option<MappingId>,
    pub(super) source: PublishSource,
    pub(super) wiki: String,
    pub(super) page: String,
    /// Moved into the pipeline before it starts, so that only the pipeline (and then the wiki
    /// session) holds the password; left as `Stored` in the job's other copies.
    pub(super) credentials: Credentials,
    pub(super) allow_create: bool,
    pub(super) banner: bool,
    /// The revision our last publish made, when known from the mapping.
    pub(super) last_published: Option<u64>,
    pub(super) options: PublishOptions,
    /// A mapping preview: an on-wiki change since our last publish is shown (its diff in the
    /// report) and the preview goes on to what publishing over it would do, from the same
    /// login and probe, instead of stopping at the drift refusal.
    pub(super) show_drift: bool,
    /// The publish lock held (`None` for a dry run, which takes none).
    pub(super) lock: Option<LockWindow>,
}

/// What the pipeline knows so far; shared with the attempt so that a failure or a panic is
/// logged with everything learned before it.
#[derive(Debug, Default)]
pub(super) struct Progress {
    pub(super) step: Option<PublishStep>,
    pub(super) target: PublishTargetSummary,
    pub(super) requests: RequestCounts,
    /// The publish-log row written ahead of the edit, which step 8 settles.
    pub(super) write_ahead: Option<PublishLogId>,
}

pub(super) type SharedProgress = Arc<Mutex<Progress>>;

pub(super) fn update(progress: &SharedProgress, change: impl FnOnce(&mut Progress)) {
    change(&mut progress.lock().unwrap_or_else(PoisonError::into_inner));
}

/// What a successful pipeline run produced.
#[derive(Debug)]
pub(super) struct Done {
    pub(super) outcome: PublishOutcome,
    pub(super) diff: String,
    pub(super) diff_url: Option<String>,
    pub(super) overwrote_drift: bool,
    /// The blob, commit and revision to remember on the mapping.
    pub(super) published: Option<(String, String, u64)>,
    /// The on-wiki change since our last publish, as a unified diff (previews with
    /// `show_drift` only).
    pub(super) drift: Option<String>,
    /// Something the user should know about how the result was learnt (a lost answer).
    pub(super) note: Option<String>,
}

impl Publisher {
    /// A publisher over the MediaWiki client, the forge router, the store and the vault
    /// (`None` without a key: then only [`Credentials::Given`](super::Credentials) can publish,
    /// and a stored BotPassword is refused with [`PublishError::Vault`]).
    pub fn new(
        wiki: Arc<dyn WikiApi>,
        forges: Arc<dyn Forge>,
        store: Arc<dyn Store>,
        vault: Option<Arc<Vault>>,
    ) -> Self {
        Self {
            wiki,
            forges,
            store,
            vault,
            quota_clock: crate::quota::Clock::system(),
        }
    }

    /// The same publisher counting its forge requests against users' shares at the time
    /// `clock` says (the wall clock otherwise).
    #[must_use]
    pub fn with_quota_clock(mut self, clock: crate::quota::Clock) -> Self {
        self.quota_clock = clock;
        self
    }

    /// The store (for callers that also read the publish log).
    pub fn store(&self) -> &Arc<dyn Store> {
        &self.store
    }

    /// Publishes a stored mapping: its watched file at the commit of the last repository check
    /// (verified against the blob SHA seen then) to its page, with the user's stored
    /// BotPassword, the mapping's create and banner options, and the drift guard comparing
    /// with the revision the mapping last published.
    pub async fn publish_mapping(
        &self,
        request: MappingPublish,
        options: PublishOptions,
    ) -> Result<PublishReport, PublishFailure> {
        match self.mapping_job(request, options).await {
            Ok(job) => self.attempt(job).await,
            // A dry run is a read: it leaves no row, not even for a refusal.
            Err(failure) if options.dry_run => Err(failure),
            Err(failure) => Err(self.log_unstarted(request, failure).await),
        }
    }

    /// Previews publishing a stored mapping: a dry run (no mutex, no log row, no edit) that,
    /// when the page changed on-wiki since our last publish, reports that change in
    /// [`PublishReport::drift`] and goes on to the diff publishing over it would make — one
    /// login and one probe for both.
    pub async fn preview_mapping(
        &self,
        request: MappingPublish,
    ) -> Result<PublishReport, PublishFailure> {
        let options = PublishOptions {
            dry_run: true,
            overwrite_drift: false,
        };
        let mut job = self.mapping_job(request, options).await?;
        job.show_drift = true;
        self.attempt(job).await
    }

    /// Publishes to an ad-hoc target (the CLI, CI jobs). The drift guard compares with the
    /// revision of the user's last successful publish to the same page found in the publish
    /// log, if any.
    pub async fn publish(
        &self,
        request: AdHocPublish,
        options: PublishOptions,
    ) -> Result<PublishReport, PublishFailure> {
        let job = Job {
            user: request.user,
            mapping: None,
            source: request.source,
            wiki: request.wiki,
            page: request.page,
            credentials: request.credentials,
            allow_create: request.allow_create,
            banner: request.banner,
            last_published: None,
            options,
            show_drift: false,
            lock: None,
        };
        self.attempt(job).await
    }

    /// Publishes one watched file to every enabled mapping of it, one target after the other
    /// (each with its own mutex turn, log row and outcome). Fails only when the file's
    /// mappings cannot be listed.
    pub async fn publish_everywhere(
        &self,
        user: UserId,
        file: WatchedFileId,
        options: PublishOptions,
    ) -> Result<Vec<TargetResult>, PublishError> {
        if self.store.watched_file(user, file).await?.is_none() {
            return Err(PublishError::WatchedFileNotFound(file));
        }
        let mappings = self.store.list_mappings(user, file).await?;
        let mut results = Vec::with_capacity(mappings.len());
        for mapping in mappings.into_iter().filter(|m| m.options.publish_enabled) {
            let request = MappingPublish {
                user,
                mapping: mapping.id,
            };
            let result = self.publish_mapping(request, options).await;
            results.push(TargetResult {
                mapping: mapping.id,
                result,
            });
        }
        Ok(results)
    }

    /// Resolves a mapping into a job: mapping → watched file → repository.
    async fn mapping_job(
        &self,
        request: MappingPublish,
        options: PublishOptions,
    ) -> Result<Job, PublishFailure> {
        let early = |error: PublishError| PublishFailure {
            step: PublishStep::Mutex,
            error,
            target: PublishTargetSummary::default(),
            requests: RequestCounts::default(),
            log_id: None,
            dry_run: options.dry_run,
            record_error: None,
        };
        let user = request.user;
        let mapping = self
            .store
            .mapping(user, request.mapping)
            .await
            .map_err(|e| early(e.into()))?
            .ok_or_else(|| early(PublishError::MappingNotFound(request.mapping)))?;
        let target = PublishTargetSummary {
            wiki: mapping.wiki.clone(),
            page: mapping.page_title.clone(),
            ..PublishTargetSummary::default()
        };
        let with_target = |error: PublishError| PublishFailure {
            target: target.clone(),
            ..early(error)
        };
        if !mapping.options.publish_enabled {
            return Err(with_target(PublishError::PublishingDisabled {
                wiki: mapping.wiki.clone(),
                page: mapping.page_title.clone(),
            }));
        }
        let file = self
            .store
            .watched_file(user, mapping.watched_file_id)
            .await
            .map_err(|e| with_target(e.into()))?
            .ok_or_else(|| {
                with_target(PublishError::WatchedFileNotFound(mapping.watched_file_id))
            })?;
        let repository = self
            .store
            .repository(user, file.repository_id)
            .await
            .map_err(|e| with_target(e.into()))?
            .ok_or_else(|| with_target(PublishError::WatchedFileNotFound(file.id)))?;
        let repo = crate::repository::locator_of(self.forges.as_ref(), &repository)
            .map_err(|e| with_target(e.into()))?;
        // A file never checked has no commit; the pipeline stops at the fetch step and logs it.
        let commit = repository
            .head_sha
            .as_deref()
            .and_then(|sha| CommitSha::parse(sha).ok());
        let expected_blob = file
            .last_blob_sha
            .as_deref()
            .and_then(|sha| BlobSha::parse(sha).ok());
        let revision = match commit {
            Some(sha) => SourceRevision::Commit(sha),
            None => SourceRevision::Branch(String::new()),
        };
        Ok(Job {
            user,
            mapping: Some(mapping.id),
            source: PublishSource::Repository {
                repo: Box::new(repo),
                revision,
                path: file.path.clone(),
                expected_blob,
            },
            wiki: mapping.wiki.clone(),
            page: mapping.page_title.clone(),
            credentials: Credentials::Stored,
            allow_create: mapping.options.allow_create,
            banner: mapping.options.add_banner,
            last_published: mapping
                .last_published
                .as_ref()
                .and_then(|p| u64::try_from(p.revid).ok()),
            options,
            show_drift: false,
            lock: None,
        })
    }

    /// One attempt in its own task: the caller going away does not leave the mutex held. A
    /// dry run takes no mutex and records nothing.
    async fn attempt(&self, job: Job) -> Result<PublishReport, PublishFailure> {
        let dry_run = job.options.dry_run;
        let span = info_span!("publish", user = %job.user, wiki = %without_userinfo(&job.wiki), page = %job.page, dry_run);
        let this = self.clone();
        let run = async move {
            if dry_run {
                this.unlocked_dry_run(job).await
            } else {
                this.locked_attempt(job).await
            }
        };
        match tokio::spawn(run.instrument(span)).await {
            Ok(result) => result,
            Err(join) => {
                error!(panic = join.is_panic(), "the publish task ended abnormally");
                Err(PublishFailure {
                    step: PublishStep::Record,
                    error: PublishError::Panicked {
                        step: PublishStep::Record,
                    },
                    target: PublishTargetSummary::default(),
                    requests: RequestCounts::default(),
                    log_id: None,
                    dry_run,
                    record_error: Some("the publish task ended abnormally".to_owned()),
                })
            }
        }
    }

    /// A dry run: the pipeline (steps 2–6) in a nested task, without the mutex and without
    /// step 8's records.
    async fn unlocked_dry_run(self, mut job: Job) -> Result<PublishReport, PublishFailure> {
        let credentials = std::mem::replace(&mut job.credentials, Credentials::Stored);
        let progress = new_progress(&job);
        match self.run_pipeline(&job, credentials, &progress).await {
            Ok(done) => Ok(previewed(&job, &progress, done)),
            Err(error) => {
                let step = current_step(&progress);
                Err(preview_failed(&job, &progress, step, error))
            }
        }
    }

    /// Step 1, the pipeline (steps 2–7) in a nested task, then step 8.
    async fn locked_attempt(self, mut job: Job) -> Result<PublishReport, PublishFailure> {
        let credentials = std::mem::replace(&mut job.credentials, Credentials::Stored);
        let progress = new_progress(&job);

        // Step 1: the mutex.
        let task = match self.store.acquire_publish_task(job.user, Utc::now()).await {
            Ok(PublishLock::Acquired { task, expired }) => {
                if let Some(expired) = expired {
                    warn!(%expired, "took over a publish task that had been running for more than five minutes");
                }
                task
            }
            Ok(PublishLock::Busy { running_since, .. }) => {
                info!(%running_since, "another publish of this user is running");
                let error = PublishError::Busy {
                    since: running_since,
                };
                return Err(self
                    .fail(&job, None, &progress, PublishStep::Mutex, error)
                    .await);
            }
            Err(err) => {
                return Err(self
                    .fail(&job, None, &progress, PublishStep::Mutex, err.into())
                    .await);
            }
        };

        // The lock's lifetime, from the row itself, bounds the pipeline.
        let started = match self.store.publish_task(task).await {
            Ok(row) => row.and_then(|t| t.started_at).unwrap_or_else(Utc::now),
            Err(err) => {
                return Err(self
                    .fail(&job, Some(task), &progress, PublishStep::Mutex, err.into())
                    .await);
            }
        };
        job.lock = Some(LockWindow {
            task,
            expires_at: started + PUBLISH_TASK_EXPIRY,
        });
        match self.run_pipeline(&job, credentials, &progress).await {
            Ok(done) => Ok(self.succeed(&job, task, &progress, done).await),
            Err(error) => {
                let step = current_step(&progress);
                Err(self.fail(&job, Some(task), &progress, step, error).await)
            }
        }
    }
}

impl Publisher {
    /// The pipeline in a nested task, so that a panic in it becomes
    /// [`PublishError::Panicked`] at the step it had reached.
    async fn run_pipeline(
        &self,
        job: &Job,
        credentials: Credentials,
        progress: &SharedProgress,
    ) -> Result<Done, PublishError> {
        let pipeline = {
            let this = self.clone();
            let job = job.clone();
            let progress = Arc::clone(progress);
            tokio::spawn(
                async move { this.pipeline(&job, credentials, &progress).await }.in_current_span(),
            )
        };
        match pipeline.await {
            Ok(result) => result,
            Err(join) => {
                let step = current_step(progress);
                error!(%step, panic = join.is_panic(), "the publish pipeline ended abnormally");
                Err(PublishError::Panicked { step })
            }
        }
    }
}

fn new_progress(job: &Job) -> SharedProgress {
    Arc::new(Mutex::new(Progress {
        step: Some(PublishStep::Mutex),
        target: initial_target(job),
        requests: RequestCounts::default(),
        write_ahead: None,
    }))
}

fn initial_target(job: &Job) -> PublishTargetSummary {
    let (repo_url, branch, path, commit) = match &job.source {
        PublishSource::Repository {
            repo,
            revision,
            path,
            ..
        } => {
            let (branch, commit) = match revision {
                SourceRevision::Commit(sha) => (repo.branch.clone(), Some(sha.to_string())),
                SourceRevision::Branch(b) if b.is_empty() => (None, None),
                SourceRevision::Branch(b) => (Some(b.clone()), None),
            };
            (Some(repo.web_url()), branch, Some(path.clone()), commit)
        }
        PublishSource::LocalFile { path } => (None, None, Some(path.display().to_string()), None),
    };
    PublishTargetSummary {
        // Until the wiki is parsed (which refuses credentials in URLs), a user name and
        // password someone pasted into the address must not reach a log.
        wiki: without_userinfo(&job.wiki),
        page: job.page.clone(),
        repo_url,
        branch,
        path,
        commit,
        blob_sha: None,
        base_revision: None,
    }
}

/// `scheme://user:password@host/...` → `scheme://[redacted]@host/...`; anything else as is.
pub(super) fn without_userinfo(input: &str) -> String {
    let (scheme, rest) = input.split_once("://").unwrap_or(("", input));
    let authority_end = rest.find(['/', '?', '#']).unwrap_or(rest.len());
    match rest[..authority_end].rfind('@') {
        Some(at) => {
            let prefix = if scheme.is_empty() {
                String::new()
            } else {
                format!("{scheme}://")
            };
            format!("{prefix}[redacted]{}", &rest[at..])
        }
        None => input.to_owned(),
    }
}

fn current_step(progress: &SharedProgress) -> PublishStep {
    progress
        .lock()
        .unwrap_or_else(PoisonError::into_inner)
        .step
        .unwrap_or(PublishStep::Mutex)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn credentials_pasted_into_a_wiki_address_are_never_echoed() {
        assert_eq!(
            without_userinfo("https://me:hunter2@en.wikipedia.org/w/api.php"),
            "https://[redacted]@en.wikipedia.org/w/api.php"
        );
        assert_eq!(
            without_userinfo("me:hunter2@en.wikipedia.org"),
            "[redacted]@en.wikipedia.org"
        );
        assert_eq!(without_userinfo("en.wikipedia.org"), "en.wikipedia.org");
        assert_eq!(
            without_userinfo("https://host/w/api.php?x=a@b"),
            "https://host/w/api.php?x=a@b"
        );
    }
}

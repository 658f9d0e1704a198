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

use std::sync::Arc;

use chrono::Utc;
use tracing::{Instrument as _, error, info, info_span, warn};

use crate::forge::{BlobSha, CommitSha, Forge};
use crate::mw::WikiApi;
use crate::store::{MappingId, PUBLISH_TASK_EXPIRY, PublishLock, Store, UserId, WatchedFileId};
use crate::vault::Vault;

use super::edit::LockWindow;
use super::error::{PublishError, PublishFailure};
use super::job::{
    DriftReference, Engine, Job, Ledger, Memory, current_step, new_progress, without_userinfo,
};
use super::record::{preview_failed, previewed};
use super::report::{PublishReport, PublishTargetSummary, RequestCounts};
use super::request::{
    AdHocPublish, Credentials, MappingPublish, PublishOptions, PublishSource, SourceRevision,
};
use super::step::PublishStep;

/// Publishes files to wiki pages, keeping a record of every attempt. Cheap to clone (it
/// holds `Arc`s).
///
/// Call it inside a tokio runtime: each attempt runs in a spawned task. Stored BotPasswords
/// are looked up under the wiki's [`WikiUrl::key`](crate::mw::WikiUrl::key) (falling back to the mapping's wiki string), so
/// save them under the same key.
///
/// It needs a store: for the user's publish mutex (across processes), the publish log (a row
/// written ahead of each edit and settled with its result), the forge quota each user spends,
/// and the drift guard's memory of what was last published. A one-off publish with a
/// credential the caller supplies and no record at all is a
/// [`StandalonePublisher`](super::StandalonePublisher), which runs the same steps without
/// those.
#[derive(Clone)]
pub struct Publisher {
    pub(super) engine: Engine,
    pub(super) ledger: Ledger,
}

impl std::fmt::Debug for Publisher {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Publisher")
            .field("store", &self.ledger.store.backend())
            .field("vault", &self.ledger.vault)
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
            engine: Engine { wiki, forges },
            ledger: Ledger {
                store,
                vault,
                quota_clock: crate::quota::Clock::system(),
            },
        }
    }

    /// The same publisher counting its forge requests against users' shares at the time
    /// `clock` says (the wall clock otherwise).
    #[must_use]
    pub fn with_quota_clock(mut self, clock: crate::quota::Clock) -> Self {
        self.ledger.quota_clock = clock;
        self
    }

    /// The store (for callers that also read the publish log).
    pub fn store(&self) -> &Arc<dyn Store> {
        &self.ledger.store
    }

    /// The record-keeping of one attempt by `user` (for `mapping`, if any).
    fn memory(&self, user: UserId, mapping: Option<MappingId>) -> Memory {
        Memory {
            ledger: self.ledger.clone(),
            user,
            mapping,
            lock: None,
        }
    }

    /// Publishes a stored mapping: its watched file at the commit of the last repository check
    /// (verified against the blob SHA seen then) to its page, with the user's stored
    /// BotPassword, the mapping's create and banner options, and the drift guard comparing
    /// with the revision the mapping last published.
    ///
    /// # Errors
    ///
    /// A [`PublishFailure`] naming the step that stopped, the requests spent and the
    /// publish-log row written for it (also for a refusal before the mutex, except for a
    /// mapping that is not the user's, which has no row to log against):
    /// - before any request: the mapping or its file not the user's, publishing switched off,
    ///   the file never checked, another publish of the user running
    ///   ([`PublishError::Busy`]), no stored BotPassword or no key to decrypt it;
    /// - the file: not public, unreadable, not text, empty, too large, or not matching the
    ///   blob SHA the last check saw;
    /// - the wiki: a failed login, a missing right, a missing page without the mapping's
    ///   create option, protection, a block, an edit conflict;
    /// - [`PublishError::Drift`] when the page changed on-wiki since the mapping's last
    ///   publish and `overwrite_drift` is off;
    /// - [`PublishError::OutOfTime`] when the steps before the edit outlasted the lock, and
    ///   [`PublishError::EditNotApplied`] / [`PublishError::EditUnknown`] when the edit's
    ///   answer was lost.
    ///
    /// [`PublishFailure::class`] tells refusals, busy and other failures apart. A dry run
    /// fails the same ways except busy, and writes no row.
    pub async fn publish_mapping(
        &self,
        request: MappingPublish,
        options: PublishOptions,
    ) -> Result<PublishReport, PublishFailure> {
        match self.mapping_job(request, options).await {
            Ok(job) => {
                let memory = self.memory(request.user, Some(request.mapping));
                self.attempt(job, memory).await
            }
            // A dry run is a read: it leaves no row, not even for a refusal.
            Err(failure) if options.dry_run => Err(failure),
            Err(failure) => Err(self.log_unstarted(request, failure).await),
        }
    }

    /// Previews publishing a stored mapping: a dry run (no mutex, no log row, no edit) that,
    /// when the page changed on-wiki since our last publish, reports that change in
    /// [`PublishReport::drift`] and goes on to the diff publishing over it would make — one
    /// login and one probe for both.
    ///
    /// # Errors
    ///
    /// As [`publish_mapping`](Self::publish_mapping) before its edit, never busy and with no
    /// publish-log row; an on-wiki change is not an error here but the report's `drift`.
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
        let memory = self.memory(request.user, Some(request.mapping));
        self.attempt(job, memory).await
    }

    /// Publishes to an ad-hoc target (the CLI, CI jobs). The drift guard compares with the
    /// revision of the user's last successful publish to the same page found in the publish
    /// log, if any. The attempt is logged as the user's, under their mutex; to publish once
    /// without a store, use a [`StandalonePublisher`](super::StandalonePublisher).
    ///
    /// # Errors
    ///
    /// A [`PublishFailure`], recorded in the publish log (except for a dry run):
    /// - before any request: a wiki off the allow-list or an invalid title, another publish
    ///   of the user running ([`PublishError::Busy`]), [`Credentials::Stored`] with no stored
    ///   BotPassword for the wiki or no key to decrypt it;
    /// - the file: not public, unreadable (a local file too), not text, empty, too large, or
    ///   not matching `expected_blob`;
    /// - the wiki: a failed login, a missing right, a missing page without `allow_create`,
    ///   protection, a block, an edit conflict;
    /// - [`PublishError::Drift`] when the page changed on-wiki since the user's last logged
    ///   publish there and `overwrite_drift` is off;
    /// - [`PublishError::OutOfTime`], [`PublishError::EditNotApplied`] and
    ///   [`PublishError::EditUnknown`] as for [`publish_mapping`](Self::publish_mapping).
    pub async fn publish(
        &self,
        request: AdHocPublish,
        options: PublishOptions,
    ) -> Result<PublishReport, PublishFailure> {
        let job = Job {
            source: request.source,
            wiki: request.wiki,
            page: request.page,
            credentials: request.credentials,
            allow_create: request.allow_create,
            banner: request.banner,
            drift: DriftReference::Log,
            options,
            show_drift: false,
        };
        self.attempt(job, self.memory(request.user, None)).await
    }

    /// Publishes one watched file to every enabled mapping of it, one target after the other
    /// (each with its own mutex turn, log row and outcome).
    ///
    /// # Errors
    ///
    /// [`PublishError::WatchedFileNotFound`] when the file is not the user's, and
    /// [`PublishError::Store`] when its mappings cannot be listed. Each target's own failure
    /// is in its [`TargetResult`], as [`publish_mapping`](Self::publish_mapping) describes.
    pub async fn publish_everywhere(
        &self,
        user: UserId,
        file: WatchedFileId,
        options: PublishOptions,
    ) -> Result<Vec<TargetResult>, PublishError> {
        let store = &self.ledger.store;
        if store.watched_file(user, file).await?.is_none() {
            return Err(PublishError::WatchedFileNotFound(file));
        }
        let mappings = store.list_mappings(user, file).await?;
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
        let store = &self.ledger.store;
        let mapping = store
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
        let file = store
            .watched_file(user, mapping.watched_file_id)
            .await
            .map_err(|e| with_target(e.into()))?
            .ok_or_else(|| {
                with_target(PublishError::WatchedFileNotFound(mapping.watched_file_id))
            })?;
        let repository = store
            .repository(user, file.repository_id)
            .await
            .map_err(|e| with_target(e.into()))?
            .ok_or_else(|| with_target(PublishError::WatchedFileNotFound(file.id)))?;
        let repo = crate::repository::locator_of(self.engine.forges.as_ref(), &repository)
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
            drift: DriftReference::Mapping(
                mapping
                    .last_published
                    .as_ref()
                    .and_then(|p| u64::try_from(p.revid).ok()),
            ),
            options,
            show_drift: false,
        })
    }

    /// One attempt in its own task: the caller going away does not leave the mutex held. A
    /// dry run takes no mutex and records nothing.
    async fn attempt(&self, job: Job, memory: Memory) -> Result<PublishReport, PublishFailure> {
        let dry_run = job.options.dry_run;
        let span = info_span!("publish", user = %memory.user, wiki = %without_userinfo(&job.wiki), page = %job.page, dry_run);
        let this = self.clone();
        let run = async move {
            if dry_run {
                this.unlocked_dry_run(job, memory).await
            } else {
                this.locked_attempt(job, memory).await
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
    async fn unlocked_dry_run(
        self,
        mut job: Job,
        memory: Memory,
    ) -> Result<PublishReport, PublishFailure> {
        let credentials = std::mem::replace(&mut job.credentials, Credentials::Stored);
        let progress = new_progress(&job);
        let result = self
            .engine
            .run_pipeline(&job, Some(memory), credentials, &progress)
            .await;
        match result {
            Ok(done) => Ok(previewed(&job, &progress, done)),
            Err(error) => {
                let step = current_step(&progress);
                Err(preview_failed(&job, &progress, step, error))
            }
        }
    }

    /// Step 1, the pipeline (steps 2–7) in a nested task, then step 8.
    async fn locked_attempt(
        self,
        mut job: Job,
        mut memory: Memory,
    ) -> Result<PublishReport, PublishFailure> {
        let credentials = std::mem::replace(&mut job.credentials, Credentials::Stored);
        let progress = new_progress(&job);

        // Step 1: the mutex.
        let store = Arc::clone(&self.ledger.store);
        let task = match store.acquire_publish_task(memory.user, Utc::now()).await {
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
                    .fail(&job, &memory, None, &progress, PublishStep::Mutex, error)
                    .await);
            }
            Err(err) => {
                return Err(self
                    .fail(
                        &job,
                        &memory,
                        None,
                        &progress,
                        PublishStep::Mutex,
                        err.into(),
                    )
                    .await);
            }
        };

        // The lock's lifetime, from the row itself, bounds the pipeline.
        let started = match store.publish_task(task).await {
            Ok(row) => row.and_then(|t| t.started_at).unwrap_or_else(Utc::now),
            Err(err) => {
                let (step, error) = (PublishStep::Mutex, err.into());
                return Err(self
                    .fail(&job, &memory, Some(task), &progress, step, error)
                    .await);
            }
        };
        memory.lock = Some(LockWindow {
            task,
            expires_at: started + PUBLISH_TASK_EXPIRY,
        });
        let result = self
            .engine
            .run_pipeline(&job, Some(memory.clone()), credentials, &progress)
            .await;
        match result {
            Ok(done) => Ok(self.succeed(&job, &memory, task, &progress, done).await),
            Err(error) => {
                let step = current_step(&progress);
                Err(self
                    .fail(&job, &memory, Some(task), &progress, step, error)
                    .await)
            }
        }
    }
}

//! [`Publisher`]: the eight steps of a publish, in order, with the publish log written and the
//! mutex released on every path — errors, refusals, dry runs and panics in the pipeline.
//!
//! The attempt runs in its own tokio task, so a caller that goes away (a closed browser tab)
//! does not leave the mutex held, and the pipeline runs in a nested task, so a panic becomes a
//! logged [`PublishError::Panicked`] instead of a stuck RUNNING row.

use std::path::Path;
use std::sync::{Arc, Mutex, PoisonError};

use chrono::Utc;
use tracing::{Instrument as _, debug, error, info, info_span, warn};

use crate::forge::{BlobSha, CommitSha, Forge as _, Forges, RepoLocator, Usage};
use crate::mw::{
    self, BotPassword, CreatePolicy, EditOutcome, EditRequest, Title, WikiApi, WikiUrl,
};
use crate::store::{
    MappingId, NewPublishLogEntry, PageRequest, PublishLock, PublishLogFilter, PublishLogId,
    PublishOutcome as LogOutcome, PublishedState, Store, TaskOutcome, UserId, WatchedFileId,
};
use crate::vault::Vault;

use super::error::{FailureClass, PublishError, PublishFailure};
use super::report::{PublishOutcome, PublishReport, PublishTargetSummary, RequestCounts};
use super::request::{
    AdHocPublish, Credentials, MappingPublish, PublishOptions, PublishSource, SourceRevision,
};
use super::step::PublishStep;
use super::text;

/// The largest file a publish accepts (MediaWiki's default `$wgMaxArticleSize` is 2 MiB).
pub const MAX_FILE_BYTES: u64 = 2 * 1024 * 1024;

/// The publish-log `message` column holds at most this many characters.
const LOG_MESSAGE_CHARS: usize = 1000;

/// How many of the user's newest log rows are searched for the last publish to an ad-hoc
/// target (the drift guard's reference revision).
const LAST_PUBLISH_LOOKBACK: u32 = 200;

/// Publishes files to wiki pages. Cheap to clone (it holds `Arc`s).
///
/// Call it inside a tokio runtime: each attempt runs in a spawned task. Stored BotPasswords
/// are looked up under the wiki's [`WikiUrl::key`] (falling back to the mapping's wiki string), so
/// save them under the same key.
#[derive(Clone)]
pub struct Publisher {
    wiki: Arc<dyn WikiApi>,
    forges: Arc<Forges>,
    store: Arc<dyn Store>,
    vault: Arc<Vault>,
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
struct Job {
    user: UserId,
    mapping: Option<MappingId>,
    source: PublishSource,
    wiki: String,
    page: String,
    /// Moved into the pipeline before it starts, so that only the pipeline (and then the wiki
    /// session) holds the password; left as `Stored` in the job's other copies.
    credentials: Credentials,
    allow_create: bool,
    banner: bool,
    /// The revision our last publish made, when known from the mapping.
    last_published: Option<u64>,
    options: PublishOptions,
}

/// What the pipeline knows so far; shared with the attempt so that a failure or a panic is
/// logged with everything learned before it.
#[derive(Debug, Default)]
struct Progress {
    step: Option<PublishStep>,
    target: PublishTargetSummary,
    requests: RequestCounts,
}

type SharedProgress = Arc<Mutex<Progress>>;

fn update(progress: &SharedProgress, change: impl FnOnce(&mut Progress)) {
    change(&mut progress.lock().unwrap_or_else(PoisonError::into_inner));
}

/// What a successful pipeline run produced.
#[derive(Debug)]
struct Done {
    outcome: PublishOutcome,
    diff: String,
    diff_url: Option<String>,
    overwrote_drift: bool,
    /// The blob, commit and revision to remember on the mapping.
    published: Option<(String, String, u64)>,
}

impl Publisher {
    /// A publisher over the MediaWiki client, the forge router, the store and the vault.
    pub fn new(
        wiki: Arc<dyn WikiApi>,
        forges: Arc<Forges>,
        store: Arc<dyn Store>,
        vault: Arc<Vault>,
    ) -> Self {
        Self {
            wiki,
            forges,
            store,
            vault,
        }
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
            Err(failure) => Err(self.log_unstarted(request, failure).await),
        }
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
        let repo = self
            .forges
            .parse_repo_url(&repository.url)
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
        })
    }

    /// One attempt in its own task: the caller going away does not leave the mutex held.
    async fn attempt(&self, job: Job) -> Result<PublishReport, PublishFailure> {
        let dry_run = job.options.dry_run;
        let span = info_span!("publish", user = %job.user, wiki = %without_userinfo(&job.wiki), page = %job.page, dry_run);
        let this = self.clone();
        match tokio::spawn(async move { this.locked_attempt(job).await }.instrument(span)).await {
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
                })
            }
        }
    }

    /// Step 1, the pipeline (steps 2–7) in a nested task, then step 8.
    async fn locked_attempt(self, mut job: Job) -> Result<PublishReport, PublishFailure> {
        let credentials = std::mem::replace(&mut job.credentials, Credentials::Stored);
        let progress: SharedProgress = Arc::new(Mutex::new(Progress {
            step: Some(PublishStep::Mutex),
            target: initial_target(&job),
            requests: RequestCounts::default(),
        }));

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

        let pipeline = {
            let this = self.clone();
            let job = job.clone();
            let progress = Arc::clone(&progress);
            tokio::spawn(
                async move { this.pipeline(&job, credentials, &progress).await }.in_current_span(),
            )
        };
        let result = match pipeline.await {
            Ok(result) => result,
            Err(join) => {
                let step = current_step(&progress);
                error!(%step, panic = join.is_panic(), "the publish pipeline ended abnormally");
                Err(PublishError::Panicked { step })
            }
        };

        match result {
            Ok(done) => Ok(self.succeed(&job, task, &progress, done).await),
            Err(error) => {
                let step = current_step(&progress);
                Err(self.fail(&job, Some(task), &progress, step, error).await)
            }
        }
    }

    /// Steps 2–7.
    async fn pipeline(
        &self,
        job: &Job,
        credentials: Credentials,
        progress: &SharedProgress,
    ) -> Result<Done, PublishError> {
        let set_step = |step: PublishStep| {
            debug!(%step, "publish step");
            update(progress, |p| p.step = Some(step));
        };

        // The wiki and title are checked before anything is decrypted or fetched.
        set_step(PublishStep::Validate);
        let wiki = self.wiki.parse_wiki(&job.wiki).map_err(|err| {
            // A parse error may quote the input; never when it carries credentials.
            if without_userinfo(&job.wiki) == job.wiki {
                err
            } else {
                mw::Error::WikiUrl(mw::WikiUrlError::CredentialsInUrl)
            }
        })?;
        let wiki_key = wiki.key();
        let title = Title::parse(&job.page)?;
        update(progress, |p| {
            p.target.wiki.clone_from(&wiki_key);
            p.target.page = title.as_str().to_owned();
        });

        // Step 2: the BotPassword. The plaintext lives in a SecretString (zeroized on drop)
        // and moves into the session, which is dropped when this function returns.
        set_step(PublishStep::Decrypt);
        let credentials = self.credentials(job, credentials, &wiki_key).await?;

        // Step 3: the file, verified.
        set_step(PublishStep::Fetch);
        let file = self.fetch(&job.source, progress).await?;
        let publish_text = match (job.banner, text::FileKind::from_path(&file.path)) {
            (true, Some(kind)) => match text::banner(kind, &file.banner_source) {
                Some(banner) => format!("{banner}{}", file.text),
                None => file.text.clone(),
            },
            _ => file.text.clone(),
        };

        // Step 4: a fresh session and the one-request probe.
        set_step(PublishStep::Login);
        let before = self.wiki.request_count();
        let session = match self.wiki.login(&wiki, credentials).await {
            Ok(session) => session,
            Err(err) => {
                let sent = self.wiki.request_count().saturating_sub(before);
                update(progress, |p| p.requests.wiki = sent);
                return Err(err.into());
            }
        };
        let count_wiki = || {
            let sent = session.request_count();
            update(progress, |p| p.requests.wiki = sent);
        };
        count_wiki();
        set_step(PublishStep::Probe);
        let probe = session.probe(&title).await;
        count_wiki();
        let probe = probe?;
        if let Err(err) = probe.check_rights(&title) {
            return Err(match err {
                mw::Error::MissingRight(missing) => PublishError::MissingRight(missing),
                other => PublishError::Wiki(other),
            });
        }
        let page = &probe.page;
        let live_revision = page.revision_id.filter(|_| page.exists);
        update(progress, |p| p.target.base_revision = live_revision);
        if !page.exists && !job.allow_create {
            return Err(PublishError::PageMissing {
                wiki: wiki_key,
                title: title.as_str().to_owned(),
            });
        }
        let live_text = page.text.clone().unwrap_or_default();
        let unchanged = page.exists && text::same_page_text(&live_text, &publish_text);
        let live_label = match live_revision {
            Some(rev) => format!("{} (revision {rev}, live)", title.as_str()),
            None => format!("{} (does not exist yet)", title.as_str()),
        };
        let diff = text::unified_diff(&live_text, &publish_text, &live_label, &file.label);

        // Step 5: the drift guard. An on-wiki change since our last publish is never
        // overwritten silently; when the live text already equals the file nothing would be
        // overwritten, so that case falls through to "no change".
        set_step(PublishStep::DriftGuard);
        let mut overwrote_drift = false;
        if let Some(live) = live_revision {
            let last = match (job.mapping, job.last_published) {
                (Some(_), last) => last,
                (None, _) => {
                    self.last_published_from_log(job.user, &wiki_key, &title)
                        .await?
                }
            };
            if let Some(last) = last.filter(|last| *last != live) {
                if unchanged {
                    debug!(last, live, "the page changed on-wiki but equals the file");
                } else if job.options.overwrite_drift {
                    info!(last, live, "overwriting an on-wiki change on request");
                    overwrote_drift = true;
                } else {
                    let old = session.page_text(&title, Some(last)).await;
                    count_wiki();
                    let old = old.ok().flatten().map(|old| old.text);
                    return Err(drift_refusal(
                        &wiki,
                        &title,
                        (last, old.as_deref()),
                        (live, &live_text),
                    ));
                }
            }
        }

        // Step 6: no change after MediaWiki's normalisation.
        set_step(PublishStep::NoChange);
        if unchanged {
            let revision = live_revision.unwrap_or_default();
            return Ok(Done {
                outcome: PublishOutcome::NoChange { revision },
                diff: String::new(),
                diff_url: None,
                overwrote_drift: false,
                published: (!job.options.dry_run)
                    .then(|| (file.blob_sha.clone(), file.commit.clone(), revision)),
            });
        }
        if job.options.dry_run {
            return Ok(Done {
                outcome: PublishOutcome::WouldPublish {
                    would_create: !page.exists,
                },
                diff,
                diff_url: None,
                overwrote_drift,
                published: None,
            });
        }

        // Step 7: the edit, based on the probed revision and started at the probe's time.
        set_step(PublishStep::Edit);
        let mut edit = EditRequest::new(title.clone(), publish_text, file.summary.clone());
        edit.base_revision = live_revision;
        edit.start_timestamp = Some(probe.server_time.clone());
        edit.create = if job.allow_create {
            CreatePolicy::MayCreate
        } else {
            CreatePolicy::MustExist
        };
        let outcome = session.edit(&edit).await;
        count_wiki();
        let (outcome, new_revision, diff_url) = edit_result(&outcome?, &wiki, live_revision);
        Ok(Done {
            outcome,
            diff,
            diff_url,
            overwrote_drift,
            published: Some((file.blob_sha, file.commit, new_revision)),
        })
    }

    /// Step 2.
    async fn credentials(
        &self,
        job: &Job,
        credentials: Credentials,
        wiki_key: &str,
    ) -> Result<BotPassword, PublishError> {
        match credentials {
            Credentials::Given(password) => Ok(password),
            Credentials::Stored => {
                let mut stored = self.store.credential(job.user, wiki_key).await?;
                if stored.is_none() && job.wiki != wiki_key {
                    stored = self.store.credential(job.user, &job.wiki).await?;
                }
                let stored = stored.ok_or_else(|| PublishError::NoCredential {
                    wiki: wiki_key.to_owned(),
                })?;
                let password = self.vault.decrypt(&stored.ciphertext)?;
                Ok(BotPassword::new(stored.bot_username, password))
            }
        }
    }

    /// Step 3.
    async fn fetch(
        &self,
        source: &PublishSource,
        progress: &SharedProgress,
    ) -> Result<FetchedFile, PublishError> {
        match source {
            PublishSource::Repository {
                repo,
                revision,
                path,
                expected_blob,
            } => {
                let mut usage = Usage::default();
                let result = self
                    .fetch_from_repo(repo, revision, path, expected_blob.as_ref(), &mut usage)
                    .await;
                update(progress, |p| p.requests.forge = u64::from(usage.requests));
                let (commit, content) = result?;
                let blob_sha = content.blob_sha.to_string();
                update(progress, |p| {
                    p.target.commit = Some(commit.to_string());
                    p.target.blob_sha = Some(blob_sha.clone());
                });
                let text = String::from_utf8(content.bytes)
                    .map_err(|_| PublishError::NotText { path: path.clone() })?;
                let commit_url = repo.commit_url(&commit);
                Ok(FetchedFile {
                    path: path.clone(),
                    text,
                    summary: text::edit_summary(
                        &repo.full_name(),
                        commit.as_str(),
                        path,
                        Some(&commit_url),
                    ),
                    banner_source: format!("{}@{}:{path}", repo.web_url(), commit.short()),
                    label: format!("{}@{}:{path}", repo.full_name(), commit.short()),
                    blob_sha,
                    commit: commit.to_string(),
                })
            }
            PublishSource::LocalFile { path } => {
                let shown = path.display().to_string();
                let bytes = read_local_file(path).await?;
                let blob_sha = BlobSha::of_bytes(&bytes);
                update(progress, |p| p.target.blob_sha = Some(blob_sha.to_string()));
                let text = String::from_utf8(bytes).map_err(|_| PublishError::NotText {
                    path: shown.clone(),
                })?;
                let name = path
                    .file_name()
                    .map_or_else(|| shown.clone(), |n| n.to_string_lossy().into_owned());
                Ok(FetchedFile {
                    summary: text::local_edit_summary(&name, blob_sha.as_str()),
                    banner_source: format!("{name} (blob {})", blob_sha.short()),
                    label: format!("{shown} (blob {})", blob_sha.short()),
                    path: shown,
                    text,
                    blob_sha: blob_sha.to_string(),
                    commit: String::new(),
                })
            }
        }
    }

    async fn fetch_from_repo(
        &self,
        repo: &RepoLocator,
        revision: &SourceRevision,
        path: &str,
        expected: Option<&BlobSha>,
        usage: &mut Usage,
    ) -> Result<(CommitSha, crate::forge::FileContent), PublishError> {
        let commit = match revision {
            SourceRevision::Commit(sha) => sha.clone(),
            SourceRevision::Branch(branch) if branch.is_empty() => {
                return Err(PublishError::NotCheckedYet {
                    path: path.to_owned(),
                    what: "the commit",
                });
            }
            SourceRevision::Branch(branch) => self
                .forges
                .head(repo, branch, None, usage)
                .await?
                .sha()
                .clone(),
        };
        let content = self
            .forges
            .file_content(repo, &commit, path, expected, usage)
            .await?;
        Ok((commit, content))
    }

    /// The revision of the user's last successful (non-dry-run) publish to this page, from
    /// the newest rows of the publish log.
    async fn last_published_from_log(
        &self,
        user: UserId,
        wiki_key: &str,
        title: &Title,
    ) -> Result<Option<u64>, PublishError> {
        let page = self
            .store
            .publish_log(
                user,
                PublishLogFilter::All,
                PageRequest::first(LAST_PUBLISH_LOOKBACK),
            )
            .await?;
        Ok(page
            .items
            .iter()
            .map(|row| &row.entry)
            .filter(|e| !e.dry_run && e.wiki == wiki_key && e.page_title == title.as_str())
            .filter(|e| matches!(e.outcome, LogOutcome::Published | LogOutcome::NoChange))
            .find_map(|e| e.new_revid.and_then(|r| u64::try_from(r).ok())))
    }

    /// Step 8 after success: remember what was published, log, release.
    async fn succeed(
        &self,
        job: &Job,
        task: crate::store::PublishTaskId,
        progress: &SharedProgress,
        done: Done,
    ) -> PublishReport {
        update(progress, |p| p.step = Some(PublishStep::Record));
        let (target, requests) = snapshot(progress);
        let mut message = success_message(&done, &target, job.options.dry_run);
        if let (Some(mapping), Some((blob, commit, revision))) = (job.mapping, &done.published) {
            let state = PublishedState {
                blob_sha: blob.clone(),
                commit_sha: commit.clone(),
                revid: i64::try_from(*revision).unwrap_or(i64::MAX),
                at: Utc::now(),
            };
            if let Err(err) = self.store.record_published(job.user, mapping, &state).await {
                error!(%err, "could not remember the published revision on the mapping");
                message.push_str(
                    " (warning: the published revision could not be saved, so the next publish \
                     may warn about drift)",
                );
            }
        }
        let outcome = match done.outcome {
            PublishOutcome::Published { .. } => LogOutcome::Published,
            PublishOutcome::NoChange { .. } => LogOutcome::NoChange,
            PublishOutcome::WouldPublish { .. } => LogOutcome::WouldPublish,
        };
        let mut entry = log_entry(job, Some(task), &target, outcome, &message);
        entry.new_revid = match done.outcome {
            PublishOutcome::Published { new_revision, .. } => i64::try_from(new_revision).ok(),
            PublishOutcome::NoChange { revision } => i64::try_from(revision).ok(),
            PublishOutcome::WouldPublish { .. } => None,
        };
        let log_id = self.record(&entry, Some(task), &TaskOutcome::Done).await;
        info!(
            outcome = done.outcome.as_str(),
            forge_requests = requests.forge,
            wiki_requests = requests.wiki,
            "publish finished"
        );
        PublishReport {
            outcome: done.outcome,
            dry_run: job.options.dry_run,
            target,
            requests,
            diff_url: done.diff_url,
            diff: done.diff,
            overwrote_drift: done.overwrote_drift,
            log_id,
            message,
        }
    }

    /// Step 8 after a failure: log, release (when we hold the mutex).
    async fn fail(
        &self,
        job: &Job,
        task: Option<crate::store::PublishTaskId>,
        progress: &SharedProgress,
        step: PublishStep,
        error: PublishError,
    ) -> PublishFailure {
        let (target, requests) = snapshot(progress);
        let outcome = log_outcome(&error);
        let failure = PublishFailure {
            step,
            error,
            target,
            requests,
            log_id: None,
            dry_run: job.options.dry_run,
        };
        let message = failure.user_message();
        info!(%step, code = failure.error.code(), "publish stopped");
        let entry = log_entry(job, task, &failure.target, outcome, &message);
        let log_id = self
            .record(&entry, task, &TaskOutcome::Failed(truncate(&message, 500)))
            .await;
        PublishFailure { log_id, ..failure }
    }

    /// Logs a mapping publish that stopped before the mutex (publishing switched off, the
    /// repository gone or unreadable). A mapping that does not exist has no row to log against.
    async fn log_unstarted(
        &self,
        request: MappingPublish,
        failure: PublishFailure,
    ) -> PublishFailure {
        if matches!(failure.error, PublishError::MappingNotFound(_)) {
            return failure;
        }
        let target = &failure.target;
        let entry = NewPublishLogEntry {
            user_id: request.user,
            mapping_id: Some(request.mapping),
            task_id: None,
            at: Utc::now(),
            outcome: log_outcome(&failure.error),
            dry_run: failure.dry_run,
            wiki: truncate(&target.wiki, 100),
            page_title: truncate(&target.page, 255),
            repo_url: target.repo_url.clone(),
            branch: target.branch.clone(),
            file_path: target.path.clone(),
            commit_sha: None,
            blob_sha: None,
            base_revid: None,
            new_revid: None,
            message: Some(truncate(&failure.user_message(), LOG_MESSAGE_CHARS)),
        };
        let log_id = self.record(&entry, None, &TaskOutcome::Done).await;
        PublishFailure { log_id, ..failure }
    }

    /// Appends the log row, then releases the mutex; failures of either are logged, never
    /// raised (the publish itself already happened or failed).
    async fn record(
        &self,
        entry: &NewPublishLogEntry,
        task: Option<crate::store::PublishTaskId>,
        outcome: &TaskOutcome,
    ) -> Option<PublishLogId> {
        let log_id = match self.store.append_publish_log(entry).await {
            Ok(id) => Some(id),
            Err(err) => {
                error!(%err, "could not write the publish log row");
                None
            }
        };
        if let Some(task) = task {
            match self
                .store
                .release_publish_task(task, outcome, Utc::now())
                .await
            {
                Ok(true) => {}
                Ok(false) => {
                    warn!(%task, "the publish task had already been expired and taken over");
                }
                Err(err) => {
                    error!(%err, %task, "could not release the publish mutex; it expires after five minutes");
                }
            }
        }
        log_id
    }
}

/// The file as the pipeline uses it.
struct FetchedFile {
    path: String,
    text: String,
    blob_sha: String,
    /// Empty for a local file.
    commit: String,
    summary: String,
    banner_source: String,
    /// How the diff labels the file.
    label: String,
}

async fn read_local_file(path: &Path) -> Result<Vec<u8>, PublishError> {
    let shown = path.display().to_string();
    let io_error = |err: std::io::Error| PublishError::LocalFile {
        path: shown.clone(),
        detail: err.to_string(),
    };
    let meta = tokio::fs::metadata(path).await.map_err(io_error)?;
    if meta.len() > MAX_FILE_BYTES {
        return Err(PublishError::TooLarge {
            path: shown,
            size: meta.len(),
            limit: MAX_FILE_BYTES,
        });
    }
    tokio::fs::read(path).await.map_err(io_error)
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
fn without_userinfo(input: &str) -> String {
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

/// The drift refusal, with the on-wiki change as a diff from the text we last published to the
/// live text (or, when that revision cannot be read, a link to compare on the wiki).
fn drift_refusal(
    wiki: &WikiUrl,
    title: &Title,
    (last, last_text): (u64, Option<&str>),
    (live, live_text): (u64, &str),
) -> PublishError {
    let diff = match last_text {
        Some(old) => text::unified_diff(
            old,
            live_text,
            &format!("{} (revision {last}, your last publish)", title.as_str()),
            &format!("{} (revision {live}, live)", title.as_str()),
        ),
        // The old revision may be deleted or hidden: say so instead of failing.
        None => format!(
            "(the text of revision {last} cannot be read; compare on the wiki: {})\n",
            wiki.diff_link(live, Some(last))
        ),
    };
    PublishError::Drift {
        title: title.as_str().to_owned(),
        last_published: last,
        live_revision: live,
        diff,
    }
}

/// What an edit did, as an outcome, the revision to remember and the diff link.
fn edit_result(
    outcome: &EditOutcome,
    wiki: &WikiUrl,
    live_revision: Option<u64>,
) -> (PublishOutcome, u64, Option<String>) {
    match *outcome {
        EditOutcome::Created { revision, .. } => (
            PublishOutcome::Published {
                old_revision: None,
                new_revision: revision,
                created: true,
            },
            revision,
            Some(wiki.diff_link(revision, None)),
        ),
        EditOutcome::Updated {
            old_revision,
            new_revision,
            ..
        } => (
            PublishOutcome::Published {
                old_revision: Some(old_revision),
                new_revision,
                created: false,
            },
            new_revision,
            Some(wiki.diff_link(new_revision, Some(old_revision))),
        ),
        // The wiki's own pre-save transform made the texts equal: nothing new was saved.
        EditOutcome::NoChange => {
            let revision = live_revision.unwrap_or_default();
            (PublishOutcome::NoChange { revision }, revision, None)
        }
    }
}

/// How a failure is recorded in the publish log.
fn log_outcome(error: &PublishError) -> LogOutcome {
    match (error, error.class()) {
        (PublishError::Drift { .. }, _) => LogOutcome::DriftRefused,
        (_, FailureClass::Busy) => LogOutcome::Busy,
        (_, FailureClass::Refused) => LogOutcome::Refused,
        (_, FailureClass::Other) => LogOutcome::Failed,
    }
}

fn current_step(progress: &SharedProgress) -> PublishStep {
    progress
        .lock()
        .unwrap_or_else(PoisonError::into_inner)
        .step
        .unwrap_or(PublishStep::Mutex)
}

fn snapshot(progress: &SharedProgress) -> (PublishTargetSummary, RequestCounts) {
    let p = progress.lock().unwrap_or_else(PoisonError::into_inner);
    (p.target.clone(), p.requests)
}

fn log_entry(
    job: &Job,
    task: Option<crate::store::PublishTaskId>,
    target: &PublishTargetSummary,
    outcome: LogOutcome,
    message: &str,
) -> NewPublishLogEntry {
    NewPublishLogEntry {
        user_id: job.user,
        mapping_id: job.mapping,
        task_id: task,
        at: Utc::now(),
        outcome,
        dry_run: job.options.dry_run,
        wiki: truncate(&target.wiki, 100),
        page_title: truncate(&target.page, 255),
        repo_url: target.repo_url.clone(),
        branch: target.branch.clone(),
        file_path: target.path.clone(),
        commit_sha: target.commit.clone(),
        blob_sha: target.blob_sha.clone(),
        base_revid: target.base_revision.and_then(|r| i64::try_from(r).ok()),
        new_revid: None,
        message: Some(truncate(message, LOG_MESSAGE_CHARS)),
    }
}

fn success_message(done: &Done, target: &PublishTargetSummary, dry_run: bool) -> String {
    let page = &target.page;
    let mut message = match &done.outcome {
        PublishOutcome::Published {
            new_revision,
            created: true,
            ..
        } => format!("created {page} (revision {new_revision})"),
        PublishOutcome::Published { new_revision, .. } => {
            format!("published {page} (revision {new_revision})")
        }
        PublishOutcome::NoChange { revision } => format!(
            "no change: {page} already has this text (revision {revision}){}",
            if dry_run { " (dry run)" } else { "" }
        ),
        PublishOutcome::WouldPublish { would_create: true } => {
            format!("dry run: would create {page}; nothing was edited")
        }
        PublishOutcome::WouldPublish { .. } => {
            format!("dry run: would update {page}; nothing was edited")
        }
    };
    if done.overwrote_drift {
        message.push_str(" — an on-wiki change since your last publish was overwritten on request");
    }
    message
}

/// At most `max` characters (the log's column sizes), ending in `…` when cut.
fn truncate(text: &str, max: usize) -> String {
    if text.chars().count() <= max {
        return text.to_owned();
    }
    let mut cut: String = text.chars().take(max.saturating_sub(1)).collect();
    cut.push('…');
    cut
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

    #[test]
    fn log_messages_are_cut_to_the_column_size() {
        assert_eq!(truncate("short", 10), "short");
        let cut = truncate(&"é".repeat(20), 10);
        assert_eq!(cut.chars().count(), 10);
        assert!(cut.ends_with('…'));
    }
}

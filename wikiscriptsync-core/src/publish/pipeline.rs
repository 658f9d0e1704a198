//! The publish pipeline, steps 2–7 of [`PublishStep`]: the wiki and title checked, the
//! BotPassword decrypted, the file fetched and verified, a fresh wiki session and its probe,
//! the drift guard and the no-change check (here), then the edit (`edit.rs`). It reports what
//! it learns into the shared progress as it goes, so that a failure is recorded with
//! everything known before it.
//!
//! Under the publish lock, everything before the edit must finish in the lock's time left for
//! it ([`super::edit::LockWindow`]), so that a pipeline stalled in retries gives up, having
//! edited nothing, before another publish may take the lock over.

use std::path::Path;

use tracing::{debug, info};

use crate::forge::{BlobSha, CommitSha, RepoLocator, Usage};
use crate::mw::{self, BotPassword, CreatePolicy, EditRequest, Title, WikiUrl};
use crate::store::{PageRequest, PublishLogFilter, PublishOutcome as LogOutcome};

use super::edit::{ReadyEdit, content_sha1};
use super::error::PublishError;
use super::job::{
    Done, DriftReference, Engine, Job, Memory, SharedProgress, update, without_userinfo,
};
use super::report::PublishOutcome;
use super::request::{Credentials, PublishSource, SourceRevision};
use super::step::PublishStep;
use super::text;

/// The largest file a publish accepts (MediaWiki's default `$wgMaxArticleSize` is 2 MiB).
pub const MAX_FILE_BYTES: u64 = 2 * 1024 * 1024;

/// How many of the user's newest log rows are searched for the last publish to an ad-hoc
/// target (the drift guard's reference revision).
const LAST_PUBLISH_LOOKBACK: u32 = 200;

/// Where the steps before the edit ended.
pub(super) enum Prepared {
    /// Nothing to edit: no change, or a dry run's answer.
    Done(Done),
    /// Everything is ready for step 7.
    Edit(Box<ReadyEdit>),
}

impl Engine {
    /// Steps 2–7: steps 2–6 bounded by the lock's time left for them, then the edit.
    /// `memory` is the logged attempt's record-keeping, `None` for a standalone publish.
    pub(super) async fn pipeline(
        &self,
        job: &Job,
        memory: Option<&Memory>,
        credentials: Credentials,
        progress: &SharedProgress,
    ) -> Result<Done, PublishError> {
        let prepare = self.prepare(job, memory, credentials, progress);
        let prepared = match memory.and_then(|m| m.lock.as_ref()) {
            Some(lock) => tokio::time::timeout(lock.time_to_prepare(), prepare)
                .await
                .map_err(|_| lock.too_slow())??,
            None => prepare.await?,
        };
        match prepared {
            Prepared::Done(done) => Ok(done),
            Prepared::Edit(ready) => self.edit(memory, *ready, progress).await,
        }
    }

    /// Steps 2–6.
    async fn prepare(
        &self,
        job: &Job,
        memory: Option<&Memory>,
        credentials: Credentials,
        progress: &SharedProgress,
    ) -> Result<Prepared, PublishError> {
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
        let credentials = resolve_credentials(job, memory, credentials, &wiki_key).await?;

        // Step 3: the file, verified.
        set_step(PublishStep::Fetch);
        let file = self.fetch(memory, &job.source, progress).await?;
        // Before the login: an empty file never costs a wiki request.
        if file.text.trim().is_empty() {
            return Err(PublishError::EmptyFile { path: file.path });
        }
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
        let mut drift = None;
        if let Some(live) = live_revision {
            let last = match (job.drift, memory) {
                (DriftReference::Mapping(last) | DriftReference::Given(last), _) => last,
                (DriftReference::Log, Some(memory)) => {
                    memory.last_published_from_log(&wiki_key, &title).await?
                }
                // A log to read needs a store: not reached (only logged publishes ask for it).
                (DriftReference::Log, None) => None,
            };
            let last = match (last.filter(|last| *last != live), memory) {
                // Our own edit whose record was lost (written ahead, never settled) is not an
                // on-wiki change: the write-ahead row knows its text.
                (Some(_), Some(memory))
                    if memory
                        .recognise_unrecorded_edit(&wiki_key, &title, live, &live_text)
                        .await =>
                {
                    None
                }
                (last, _) => last,
            };
            if let Some(last) = last {
                if unchanged {
                    debug!(last, live, "the page changed on-wiki but equals the file");
                } else if job.options.overwrite_drift {
                    info!(last, live, "overwriting an on-wiki change on request");
                    overwrote_drift = true;
                } else {
                    let old = session.page_text(&title, Some(last)).await;
                    count_wiki();
                    let old = old.ok().flatten().map(|old| old.text);
                    let diff =
                        drift_diff(&wiki, &title, (last, old.as_deref()), (live, &live_text));
                    if !job.show_drift {
                        return Err(PublishError::Drift {
                            title: title.as_str().to_owned(),
                            last_published: last,
                            live_revision: live,
                            diff,
                        });
                    }
                    // A preview shows the change and goes on, from this same session, to
                    // what publishing over it would do.
                    drift = Some(diff);
                }
            }
        }

        // Step 6: no change after MediaWiki's normalisation.
        set_step(PublishStep::NoChange);
        if unchanged {
            let revision = live_revision.unwrap_or_default();
            return Ok(Prepared::Done(Done {
                outcome: PublishOutcome::NoChange { revision },
                diff: String::new(),
                diff_url: None,
                overwrote_drift: false,
                published: (!job.options.dry_run)
                    .then(|| (file.blob_sha.clone(), file.commit.clone(), revision)),
                drift: None,
                note: None,
            }));
        }
        if job.options.dry_run {
            return Ok(Prepared::Done(Done {
                outcome: PublishOutcome::WouldPublish {
                    would_create: !page.exists,
                },
                diff,
                diff_url: None,
                overwrote_drift,
                published: None,
                drift,
                note: None,
            }));
        }

        // Step 7 (in `edit.rs`): based on the probed revision and started at the probe's time.
        let sha1 = content_sha1(&publish_text);
        let mut edit = EditRequest::new(title.clone(), publish_text, file.summary.clone());
        edit.base_revision = live_revision;
        edit.start_timestamp = Some(probe.server_time);
        edit.create = if job.allow_create {
            CreatePolicy::MayCreate
        } else {
            CreatePolicy::MustExist
        };
        Ok(Prepared::Edit(Box::new(ReadyEdit {
            session,
            wiki,
            edit,
            content_sha1: sha1,
            diff,
            base_text: page.exists.then_some(live_text),
            overwrote_drift,
            blob_sha: file.blob_sha,
            commit: file.commit,
        })))
    }

    /// Step 3, its forge requests counted against the publishing user's share of the host
    /// (a logged publish; a standalone one has no shares).
    async fn fetch(
        &self,
        memory: Option<&Memory>,
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
                // The requests count against the publishing user's share of the host (the
                // use case checked it had room before the publish began).
                if let Some(memory) = memory {
                    let ledger = &memory.ledger;
                    let at = ledger.quota_clock.now();
                    let store = ledger.store.as_ref();
                    crate::quota::record_for(store, memory.user, repo, &usage, at).await?;
                }
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
        // A repository can turn private after it was added: ask before reading anything.
        crate::repository::require_public(self.forges.as_ref(), repo, None, usage).await?;
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
}

impl Memory {
    /// The revision of the user's last successful (non-dry-run) publish to this page, from
    /// the newest rows of the publish log.
    async fn last_published_from_log(
        &self,
        wiki_key: &str,
        title: &Title,
    ) -> Result<Option<u64>, PublishError> {
        let page = self
            .ledger
            .store
            .publish_log(
                self.user,
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
}

/// Step 2: the BotPassword given, or the user's stored one decrypted (a logged publish only:
/// a standalone publish can only be given one).
async fn resolve_credentials(
    job: &Job,
    memory: Option<&Memory>,
    credentials: Credentials,
    wiki_key: &str,
) -> Result<BotPassword, PublishError> {
    let memory = match (credentials, memory) {
        (Credentials::Given(password), _) => return Ok(password),
        (Credentials::Stored, Some(memory)) => memory,
        // Not reached: a standalone publish's request holds a BotPassword, not `Stored`.
        (Credentials::Stored, None) => {
            return Err(PublishError::NoCredential {
                wiki: wiki_key.to_owned(),
            });
        }
    };
    let store = memory.ledger.store.as_ref();
    let mut stored = store.credential(memory.user, wiki_key).await?;
    if stored.is_none() && job.wiki != wiki_key {
        stored = store.credential(memory.user, &job.wiki).await?;
    }
    let stored = stored.ok_or_else(|| PublishError::NoCredential {
        wiki: wiki_key.to_owned(),
    })?;
    let vault = memory
        .ledger
        .vault
        .as_deref()
        .ok_or(crate::vault::VaultError::MissingKey)?;
    // Sealed for this user and the row's wiki: a row altered in the database is refused
    // here, before the login.
    let owner = crate::vault::CredentialOwner {
        user: memory.user,
        wiki: &stored.wiki,
    };
    let password = vault.decrypt(owner, &stored.ciphertext)?;
    Ok(BotPassword::new(stored.bot_username, password))
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

/// The on-wiki change as a diff from the text we last published to the live text (or, when
/// that revision cannot be read, a link to compare on the wiki).
fn drift_diff(
    wiki: &WikiUrl,
    title: &Title,
    (last, last_text): (u64, Option<&str>),
    (live, live_text): (u64, &str),
) -> String {
    match last_text {
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
    }
}

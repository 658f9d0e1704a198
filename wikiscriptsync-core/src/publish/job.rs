//! What one publish attempt carries through the pipeline, shared by the logged
//! [`Publisher`](super::Publisher) and the [`StandalonePublisher`](super::StandalonePublisher):
//! the clients ([`Engine`], whose methods are the steps), the logged attempt's record-keeping
//! ([`Memory`], absent for a standalone publish), the job itself, what it has learned so far
//! ([`Progress`]) and what it produced ([`Done`]).

use std::sync::{Arc, Mutex, PoisonError};

use tracing::{Instrument as _, error};

use crate::forge::Forge;
use crate::mw::WikiApi;
use crate::store::{MappingId, PublishLogId, Store, UserId};
use crate::vault::Vault;

use super::edit::LockWindow;
use super::error::PublishError;
use super::report::{DriftMemory, PublishOutcome, PublishTargetSummary, RequestCounts};
use super::request::{Credentials, PublishOptions, PublishSource, SourceRevision};
use super::step::PublishStep;

/// The clients every publish uses: the wiki and the forges. The steps both publishers share
/// (`pipeline.rs`, `edit.rs`) are its methods.
#[derive(Clone)]
pub(super) struct Engine {
    pub(super) wiki: Arc<dyn WikiApi>,
    pub(super) forges: Arc<dyn Forge>,
}

/// What a logged publish keeps its records in.
#[derive(Clone)]
pub(super) struct Ledger {
    pub(super) store: Arc<dyn Store>,
    /// `None` when no key is configured: only given credentials can be used then.
    pub(super) vault: Option<Arc<Vault>>,
    /// When a publish's forge requests are counted against the user's share.
    pub(super) quota_clock: crate::quota::Clock,
}

/// One logged attempt's own record-keeping: the ledger, who publishes, the mapping, and the
/// publish lock once taken. A standalone publish has none, so the steps that need one (stored
/// credentials, quota, the publish log's memory, the lock and the write-ahead row) are
/// skipped there.
#[derive(Clone)]
pub(super) struct Memory {
    pub(super) ledger: Ledger,
    pub(super) user: UserId,
    pub(super) mapping: Option<MappingId>,
    /// The publish lock held (`None` for a dry run, which takes none).
    pub(super) lock: Option<LockWindow>,
}

/// Everything the pipeline needs, owned, so it can run in its own task.
#[derive(Debug, Clone)]
pub(super) struct Job {
    pub(super) source: PublishSource,
    pub(super) wiki: String,
    pub(super) page: String,
    /// Moved into the pipeline before it starts, so that only the pipeline (and then the wiki
    /// session) holds the password; left as `Stored` in the job's other copies.
    pub(super) credentials: Credentials,
    pub(super) allow_create: bool,
    pub(super) banner: bool,
    /// Where the drift guard learns which revision was last published.
    pub(super) drift: DriftReference,
    pub(super) options: PublishOptions,
    /// A mapping preview: an on-wiki change since our last publish is shown (its diff in the
    /// report) and the preview goes on to what publishing over it would do, from the same
    /// login and probe, instead of stopping at the drift refusal.
    pub(super) show_drift: bool,
}

/// Where the drift guard learns the revision the last publish made.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum DriftReference {
    /// The mapping remembers it (`None`: never published).
    Mapping(Option<u64>),
    /// The user's publish log, searched for the last publish to the same page (ad hoc).
    Log,
    /// The caller of a standalone publish says it (`None`: no drift guard).
    Given(Option<u64>),
}

impl DriftReference {
    /// What the report says about it.
    pub(super) fn memory(self) -> DriftMemory {
        match self {
            Self::Mapping(_) | Self::Log => DriftMemory::Store,
            Self::Given(Some(revision)) => DriftMemory::Given { revision },
            Self::Given(None) => DriftMemory::Off,
        }
    }
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

impl Engine {
    /// The pipeline in a nested task, so that a panic in it becomes
    /// [`PublishError::Panicked`] at the step it had reached. `memory` is `None` for a
    /// standalone publish.
    pub(super) async fn run_pipeline(
        &self,
        job: &Job,
        memory: Option<Memory>,
        credentials: Credentials,
        progress: &SharedProgress,
    ) -> Result<Done, PublishError> {
        let pipeline = {
            let this = self.clone();
            let job = job.clone();
            let progress = Arc::clone(progress);
            let run = async move {
                this.pipeline(&job, memory.as_ref(), credentials, &progress)
                    .await
            };
            tokio::spawn(run.in_current_span())
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

pub(super) fn new_progress(job: &Job) -> SharedProgress {
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

pub(super) fn current_step(progress: &SharedProgress) -> PublishStep {
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

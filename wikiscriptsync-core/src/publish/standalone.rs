//! [`StandalonePublisher`]: a one-off publish with a credential the caller supplies, without a
//! store, a vault or a log — for other Rust tools that use WikiScriptSync as a library.
//!
//! It runs the same steps as [`Publisher`](super::Publisher) (the shared pipeline in
//! `pipeline.rs` and `edit.rs`): the wiki address and title checked, the file fetched at the
//! commit and its blob SHA verified, a fresh login, the one-request probe, the rights check,
//! the drift guard (only with an expected revision), the no-change check, and the edit with
//! its base revision and start timestamp (`nocreate` unless creating is allowed). What needs a
//! store is skipped: the per-user publish mutex across processes, the publish-log row written
//! ahead of the edit and settled after it, the forge quota shares, and the drift guard's memory
//! of the last publish.

use std::sync::Arc;

use tracing::{Instrument as _, info_span};

use crate::forge::Forge;
use crate::mw::WikiApi;

use super::error::PublishFailure;
use super::job::{DriftReference, Engine, Job, current_step, new_progress, without_userinfo};
use super::record::{preview_failed, previewed};
use super::report::PublishReport;
use super::request::{Credentials, PublishOptions, StandalonePublish};

/// Publishes one file to one wiki page with a BotPassword the caller supplies, keeping no
/// record: no store, no vault, no publish log. Cheap to clone (it holds `Arc`s).
///
/// Without a log there is no drift memory: pass
/// [`StandalonePublish::expected_revision`] (the revision your last publish made) to have an
/// on-wiki change since then refused, else it is replaced like any other difference
/// ([`PublishReport::drift_memory`] says which). A change made on the wiki between the probe
/// and the edit is still never lost: it is an edit conflict, or MediaWiki merges it and the
/// report says [`PublishOutcome::Merged`](super::PublishOutcome::Merged), never a clean
/// publish.
///
/// Nothing stops two publishes to the same page from running at once (a logged
/// [`Publisher`](super::Publisher) holds a per-user mutex across processes); the wiki's
/// conflict detection still refuses or merges the second edit.
///
/// Call it inside a tokio runtime: the steps run in a spawned task, so a panic in them is a
/// [`PublishError::Panicked`](super::PublishError::Panicked), not a panic of the caller.
#[derive(Clone)]
pub struct StandalonePublisher {
    engine: Engine,
}

impl std::fmt::Debug for StandalonePublisher {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("StandalonePublisher")
            .finish_non_exhaustive()
    }
}

impl StandalonePublisher {
    /// A publisher over a MediaWiki client and a forge client (or router).
    pub fn new(wiki: Arc<dyn WikiApi>, forges: Arc<dyn Forge>) -> Self {
        Self {
            engine: Engine { wiki, forges },
        }
    }

    /// Publishes `request.source` to `request.page` (or, with
    /// [`PublishOptions::dry_run`], reports the diff and edits nothing).
    ///
    /// A cold publish of a file at a commit costs 4 wiki requests (login token, login, probe,
    /// edit) and 1 or 2 forge requests (the file, and the tree when its blob SHA is not
    /// given); naming a branch adds one for its head. The report's
    /// [`requests`](PublishReport::requests) counts them.
    ///
    /// # Errors
    ///
    /// A [`PublishFailure`] naming the step that stopped, what it had spent and the
    /// [`PublishError`](super::PublishError):
    /// - refused before any request: a wiki off the allow-list or with credentials in its
    ///   address, or an invalid title ([`PublishStep::Validate`](super::PublishStep::Validate));
    /// - the file: unreadable, not public, not text, empty, too large, or its bytes not
    ///   matching the blob SHA ([`PublishStep::Fetch`](super::PublishStep::Fetch));
    /// - the wiki: a failed login, a missing right (naming the BotPassword grant to add), a
    ///   missing page without `allow_create`, protection, a block, an edit conflict;
    /// - [`PublishError::Drift`](super::PublishError::Drift) when `expected_revision` is
    ///   given, the page is now at another revision with other text, and overwriting was not
    ///   asked for;
    /// - a lost answer to the edit: [`PublishError::EditNotApplied`](super::PublishError::EditNotApplied)
    ///   when the page shows it did not land, [`PublishError::EditUnknown`](super::PublishError::EditUnknown)
    ///   when the page cannot tell (check its history before publishing again).
    ///
    /// [`FailureClass`](super::FailureClass) tells refusals (look and decide) from the rest.
    pub async fn publish(
        &self,
        request: StandalonePublish,
        options: PublishOptions,
    ) -> Result<PublishReport, PublishFailure> {
        let credentials = Credentials::Given(request.credentials);
        let job = Job {
            source: request.source,
            wiki: request.wiki,
            page: request.page,
            // Moved into the pipeline below; the job keeps no copy of the password.
            credentials: Credentials::Stored,
            allow_create: request.allow_create,
            banner: request.banner,
            drift: DriftReference::Given(request.expected_revision),
            options,
            show_drift: false,
        };
        let span = info_span!("publish", wiki = %without_userinfo(&job.wiki), page = %job.page, dry_run = options.dry_run, standalone = true);
        let progress = new_progress(&job);
        let result = self
            .engine
            .run_pipeline(&job, None, credentials, &progress)
            .instrument(span)
            .await;
        match result {
            Ok(done) => Ok(previewed(&job, &progress, done)),
            Err(error) => {
                let step = current_step(&progress);
                Err(preview_failed(&job, &progress, step, error))
            }
        }
    }
}

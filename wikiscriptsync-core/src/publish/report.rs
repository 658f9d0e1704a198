//! What a publish reports back: the outcome, the requests it cost, the new revision and the
//! diff link, and a message for the user.

use crate::store::PublishLogId;

/// Requests one publish sent. A cold publish from a checked mapping costs 1 forge request and
/// 4 MediaWiki requests (login token, login, probe, edit).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct RequestCounts {
    /// Requests to GitHub or GitLab.
    pub forge: u64,
    /// Requests to the wiki's Action API.
    pub wiki: u64,
}

/// Where a publish goes and where its file came from, as far as known (also in failures).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct PublishTargetSummary {
    /// The wiki, as stored in the log (host for Wikimedia-style wikis, else the API URL).
    pub wiki: String,
    /// The page title (normalised when it was valid).
    pub page: String,
    /// The repository's web URL (`None` for a local file).
    pub repo_url: Option<String>,
    /// The branch, when the source named one.
    pub branch: Option<String>,
    /// The file's path (in the repository, or on disk).
    pub path: Option<String>,
    /// The commit the file was read at.
    pub commit: Option<String>,
    /// The git blob SHA of the file's bytes.
    pub blob_sha: Option<String>,
    /// The page's revision the edit was (or would be) based on.
    pub base_revision: Option<u64>,
}

/// What a publish did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PublishOutcome {
    /// The page was edited (or created).
    Published {
        /// The revision before (`None` when the page was created).
        old_revision: Option<u64>,
        /// The new revision.
        new_revision: u64,
        /// Whether the page was created.
        created: bool,
    },
    /// The page had changed on-wiki between the probe and the edit, and MediaWiki merged the
    /// file's change into those revisions instead of refusing the edit (changes that do not
    /// overlap are merged; see [`mw::EditRequest::base_revision`](crate::mw::EditRequest)).
    /// The page holds the on-wiki changes as well as the file's: this is drift, never a
    /// clean publish. The report's `drift` is the diff of what was merged (the text the
    /// publish was based on → the live text before the edit); the mapping keeps its last
    /// clean publish, so the next publish shows the change again.
    Merged {
        /// The revision the publish was based on.
        base_revision: u64,
        /// The page's latest revision when the edit was saved: the revisions after
        /// `base_revision` up to this one were merged.
        latest_revision: u64,
        /// The new revision with the merged text; `None` when the merge changed nothing
        /// (the on-wiki revisions already had the file's change).
        new_revision: Option<u64>,
    },
    /// The page already had the file's text (after MediaWiki's normalisation): no edit.
    NoChange {
        /// The page's current revision.
        revision: u64,
    },
    /// A dry run found a change: the diff shows it; nothing was edited.
    WouldPublish {
        /// Whether the page would be created.
        would_create: bool,
    },
}

impl PublishOutcome {
    /// A stable machine-readable name (`--json`).
    pub fn as_str(&self) -> &'static str {
        match self {
            Self::Published { created: true, .. } => "created",
            Self::Published { .. } => "published",
            Self::Merged { .. } => "merged",
            Self::NoChange { .. } => "no_change",
            Self::WouldPublish { .. } => "would_publish",
        }
    }
}

/// What the drift guard compared the live page with: whether an on-wiki change since the
/// last publish could be noticed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DriftMemory {
    /// The publisher's store remembered the last publish (the mapping, or the user's publish
    /// log): an on-wiki change since then is refused unless overwriting was asked for.
    Store,
    /// A standalone publish was given the revision the caller last published
    /// ([`StandalonePublish::expected_revision`](super::StandalonePublish::expected_revision)):
    /// the page being at any other revision is refused as drift unless overwriting was asked
    /// for.
    Given {
        /// The revision the caller said it last published.
        revision: u64,
    },
    /// None: a standalone publish without an expected revision has no drift memory, so an
    /// on-wiki change since the caller's last publish is not noticed; it is replaced like any
    /// other difference. (A change made between this publish's probe and its edit is still
    /// caught: an edit conflict, or [`PublishOutcome::Merged`].)
    Off,
}

/// A publish that went through (published, no change, or a dry run).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PublishReport {
    /// What happened.
    pub outcome: PublishOutcome,
    /// Whether it was a dry run.
    pub dry_run: bool,
    /// Target and source.
    pub target: PublishTargetSummary,
    /// Requests sent to the forge and the wiki.
    pub requests: RequestCounts,
    /// `<index.php>?diff=<new>&oldid=<old>` after an edit.
    pub diff_url: Option<String>,
    /// Unified diff from the live page to the file (dry runs; also shown before a first
    /// publish over an existing page). Empty when nothing differs.
    pub diff: String,
    /// What changed on-wiki since our last publish (unified diff from the text we last
    /// published to the live text), when a mapping preview found such a change
    /// ([`Publisher::preview_mapping`](super::Publisher::preview_mapping)); after a
    /// [`PublishOutcome::Merged`] edit, what MediaWiki merged (the text the publish was based
    /// on → the live text before the edit); `None` otherwise.
    pub drift: Option<String>,
    /// Whether an on-wiki change since the last publish was overwritten on request.
    pub overwrote_drift: bool,
    /// What the drift guard knew of the last publish ([`DriftMemory::Off`]: nothing, so an
    /// on-wiki change was not looked for).
    pub drift_memory: DriftMemory,
    /// The publish-log row (`None` for a dry run, which writes none).
    pub log_id: Option<PublishLogId>,
    /// A one-line message for the user.
    pub message: String,
    /// Why the attempt's record (its publish-log row, the revision remembered on the
    /// mapping, the lock's release) could not be written, when it could not: the edit
    /// happened but the audit trail is incomplete (the CLI exits non-zero).
    pub record_error: Option<String>,
}

impl PublishReport {
    /// What to tell the user when this attempt could not be recorded completely
    /// ([`record_error`](Self::record_error)): what happened on the wiki, that the record of
    /// it is missing, and what to do. The web app and the CLI both say it (`None`: recorded).
    pub fn unrecorded_warning(&self) -> Option<String> {
        let error = self.record_error.as_deref()?;
        let happened = match self.outcome {
            PublishOutcome::Published { .. } => "The edit was made on the wiki",
            PublishOutcome::Merged { .. } => {
                "The edit was merged on the wiki with on-wiki changes made meanwhile"
            }
            PublishOutcome::NoChange { .. } => "Nothing was changed on the wiki",
            PublishOutcome::WouldPublish { .. } => "Nothing was edited",
        };
        Some(format!("{happened}, but {}", unrecorded_tail(error)))
    }

    /// The new revision, after an edit.
    pub fn new_revision(&self) -> Option<u64> {
        match self.outcome {
            PublishOutcome::Published { new_revision, .. } => Some(new_revision),
            PublishOutcome::Merged { new_revision, .. } => new_revision,
            _ => None,
        }
    }
}

/// The part of an "attempt not recorded" warning after what happened on the wiki.
pub(super) fn unrecorded_tail(error: &str) -> String {
    format!(
        "this attempt could not be recorded completely ({error}): the publish log may not show \
         it, and the next publish may take the page's current text for a change made on-wiki. \
         Check the page's history on the wiki before publishing again; if this happens again, \
         tell the tool's maintainers."
    )
}

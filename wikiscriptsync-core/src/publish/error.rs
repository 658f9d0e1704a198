//! Why a publish did not happen. [`PublishError`] says what went wrong and what to do;
//! [`PublishFailure`] adds where the pipeline stopped, what it spent, and the publish-log row.
//! No variant carries a BotPassword, a key or a token: the leaf errors they wrap don't either.

use chrono::{DateTime, Utc};

use crate::forge::{ForgeError, LocatorError};
use crate::mw;
use crate::store::{MappingId, PublishLogId, StoreError, WatchedFileId};
use crate::vault::VaultError;

use super::report::{PublishTargetSummary, RequestCounts};
use super::step::PublishStep;

/// How a failed publish is classified for exit codes and the web app's wording.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FailureClass {
    /// Refused on purpose, by us or by the wiki: drift, edit conflict, missing right, missing
    /// page without creation, protection, block. The user must look and decide.
    Refused,
    /// Another publish of the same user is running; try again when it is done.
    Busy,
    /// Anything else (network, credentials, configuration, forge, database).
    Other,
}

/// What went wrong in a publish.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum PublishError {
    /// The user's publish mutex is held by another publish.
    #[error(
        "another publish of yours is running since {} UTC; wait for it to finish (a stuck one \
         expires after five minutes) and try again",
        .since.format("%Y-%m-%d %H:%M:%S")
    )]
    Busy {
        /// When the running publish started.
        since: DateTime<Utc>,
    },
    /// The mapping does not exist or is not the user's.
    #[error("mapping {0} does not exist (or is not yours)")]
    MappingNotFound(MappingId),
    /// The watched file does not exist or is not the user's.
    #[error("watched file {0} does not exist (or is not yours)")]
    WatchedFileNotFound(WatchedFileId),
    /// The mapping's file has not been checked yet, so there is no commit to publish from.
    #[error(
        "{what} is not known yet for {path}: the repository has not been checked since the file \
         was added; run a check (or wait for the hourly one) and publish again"
    )]
    NotCheckedYet {
        /// The watched file's path.
        path: String,
        /// What is missing ("the commit", "the file's blob SHA").
        what: &'static str,
    },
    /// The mapping has publishing switched off.
    #[error("publishing to {page} on {wiki} is switched off for this mapping; switch it on first")]
    PublishingDisabled {
        /// The wiki.
        wiki: String,
        /// The page.
        page: String,
    },
    /// No BotPassword is stored for the wiki.
    #[error(
        "no BotPassword is stored for {wiki}; create one on the wiki's Special:BotPasswords and \
         save it in WikiScriptSync"
    )]
    NoCredential {
        /// The wiki.
        wiki: String,
    },
    /// The vault cannot decrypt (bad or rotated-away key) or the key configuration is wrong.
    #[error(transparent)]
    Vault(#[from] VaultError),
    /// The database failed.
    #[error("the database failed: {0}")]
    Store(#[from] StoreError),
    /// The repository URL is not one we can read.
    #[error(transparent)]
    RepoUrl(#[from] LocatorError),
    /// The forge failed (not found, rate limit, blob mismatch, ...).
    #[error(transparent)]
    Forge(#[from] ForgeError),
    /// A local file could not be read.
    #[error("cannot read {path}: {detail}")]
    LocalFile {
        /// The path given.
        path: String,
        /// The operating system's reason.
        detail: String,
    },
    /// The file is larger than a wiki page may be.
    #[error("{path} is {size} bytes, more than the {limit}-byte limit of a wiki page")]
    TooLarge {
        /// The file.
        path: String,
        /// Its size.
        size: u64,
        /// The limit.
        limit: u64,
    },
    /// The file is not UTF-8 text.
    #[error("{path} is not UTF-8 text, so it cannot be a wiki page")]
    NotText {
        /// The file.
        path: String,
    },
    /// The file is empty (or only whitespace, which MediaWiki saves as nothing): publishing it
    /// would blank the page.
    #[error(
        "{path} is empty, so publishing it would blank the page; add content to the file or \
         unmap it"
    )]
    EmptyFile {
        /// The file.
        path: String,
    },
    /// The page title is not valid.
    #[error(transparent)]
    Title(#[from] mw::TitleError),
    /// The page does not exist and creating it was not allowed.
    #[error(
        "`{title}` does not exist on {wiki}; allow creating it (the mapping's \"create\" option, \
         or --create) if you meant to create it"
    )]
    PageMissing {
        /// The wiki.
        wiki: String,
        /// The page.
        title: String,
    },
    /// The page changed on-wiki since our last publish there.
    #[error(
        "`{title}` was changed on-wiki since your last publish (you published revision \
         {last_published}, the page is now at revision {live_revision}): review the on-wiki \
         change and bring it into the repository, or publish again choosing to overwrite it"
    )]
    Drift {
        /// The page.
        title: String,
        /// The revision our last publish made (or found).
        last_published: u64,
        /// The page's current revision.
        live_revision: u64,
        /// Unified diff from the text we last published to the live text (empty when the old
        /// text could not be read).
        diff: String,
    },
    /// The session lacks a right the edit needs (checked before editing).
    #[error(transparent)]
    MissingRight(#[from] mw::MissingRight),
    /// The wiki failed or refused (login, probe, edit).
    #[error(transparent)]
    Wiki(#[from] mw::Error),
    /// The publish could not reach its edit within its lock's lifetime, or lost the lock:
    /// nothing was edited.
    #[error("{reason}; nothing was edited: publish again")]
    OutOfTime {
        /// What ran out.
        reason: String,
    },
    /// The wiki's answer to the edit was lost, and the page shows the edit did not land.
    #[error(
        "the wiki's answer to the edit was lost ({lost}); the page is still at {}, so the edit \
         was not applied: publish again",
        .revision.map_or_else(|| "no revision (it does not exist)".to_owned(), |r| format!("revision {r}"))
    )]
    EditNotApplied {
        /// Why the answer was lost.
        lost: String,
        /// The page's revision, unchanged (`None`: the page still does not exist).
        revision: Option<u64>,
    },
    /// The wiki's answer to the edit was lost, and the page could not tell whether it landed.
    #[error(
        "the wiki's answer to the edit was lost ({lost}) and {why}: the edit may have been \
         applied; check the page's history ({history}) before publishing again"
    )]
    EditUnknown {
        /// Why the answer was lost.
        lost: String,
        /// Why the page could not tell.
        why: String,
        /// The page's history on the wiki.
        history: String,
    },
    /// The pipeline panicked (a bug). The attempt was logged and the mutex released.
    #[error(
        "the publish stopped unexpectedly at {step} (an internal error); it was recorded, please \
         report it"
    )]
    Panicked {
        /// The step that was running.
        step: PublishStep,
    },
}

impl PublishError {
    /// Refused, busy or other.
    pub fn class(&self) -> FailureClass {
        use mw::Error as W;
        match self {
            Self::Busy { .. } => FailureClass::Busy,
            Self::PageMissing { .. }
            | Self::Drift { .. }
            | Self::MissingRight(_)
            | Self::EmptyFile { .. } => FailureClass::Refused,
            Self::Wiki(
                W::MissingRight(_)
                | W::PermissionDenied { .. }
                | W::EditConflict { .. }
                | W::PageDeleted { .. }
                | W::ProtectedPage { .. }
                | W::Blocked { .. }
                | W::PageMissing { .. }
                | W::PageExists { .. }
                | W::SpamBlacklist { .. }
                | W::AbuseFilter { .. }
                | W::Captcha { .. },
            ) => FailureClass::Refused,
            _ => FailureClass::Other,
        }
    }

    /// Whether this is a refusal (exit code 3 in the CLI).
    pub fn is_refusal(&self) -> bool {
        self.class() == FailureClass::Refused
    }

    /// A stable machine-readable code (`--json`).
    pub fn code(&self) -> &'static str {
        use mw::Error as W;
        match self {
            Self::Busy { .. } => "busy",
            Self::MappingNotFound(_) => "mapping_not_found",
            Self::WatchedFileNotFound(_) => "watched_file_not_found",
            Self::NotCheckedYet { .. } => "not_checked_yet",
            Self::PublishingDisabled { .. } => "publishing_disabled",
            Self::NoCredential { .. } => "no_credential",
            Self::Vault(_) => "vault",
            Self::Store(_) => "database",
            Self::RepoUrl(_) => "repository_url",
            Self::Forge(_) => "forge",
            Self::LocalFile { .. } => "local_file",
            Self::TooLarge { .. } => "too_large",
            Self::NotText { .. } => "not_text",
            Self::EmptyFile { .. } => "empty_file",
            Self::Title(_) => "invalid_title",
            Self::PageMissing { .. } | Self::Wiki(W::PageMissing { .. }) => "page_missing",
            Self::Drift { .. } => "drift",
            Self::MissingRight(_) | Self::Wiki(W::MissingRight(_)) => "missing_right",
            Self::Wiki(W::Login(_)) => "login_failed",
            Self::Wiki(W::EditConflict { .. }) => "edit_conflict",
            Self::Wiki(W::PermissionDenied { .. }) => "permission_denied",
            Self::Wiki(W::ProtectedPage { .. }) => "protected",
            Self::Wiki(W::Blocked { .. }) => "blocked",
            Self::Wiki(W::PageDeleted { .. }) => "page_deleted",
            Self::Wiki(_) => "wiki",
            Self::OutOfTime { .. } => "out_of_time",
            Self::EditNotApplied { .. } => "edit_not_applied",
            Self::EditUnknown { .. } => "edit_unknown",
            Self::Panicked { .. } => "internal",
        }
    }
}

/// A publish that did not happen: the error, where it stopped, and what it spent.
#[derive(Debug, thiserror::Error)]
#[error("{error}")]
pub struct PublishFailure {
    /// The step the pipeline stopped at.
    pub step: PublishStep,
    /// What went wrong.
    #[source]
    pub error: PublishError,
    /// The target, as far as it was known.
    pub target: PublishTargetSummary,
    /// Requests sent before stopping.
    pub requests: RequestCounts,
    /// The publish-log row written for this attempt (`None` only when writing it failed, or
    /// for a mapping that does not exist).
    pub log_id: Option<PublishLogId>,
    /// Whether it was a dry run.
    pub dry_run: bool,
    /// Why the attempt's record (its publish-log row, the lock's release) could not be
    /// written, when it could not: the caller must not report the attempt as recorded (the
    /// CLI exits non-zero).
    pub record_error: Option<String>,
}

impl PublishFailure {
    /// Refused, busy or other.
    pub fn class(&self) -> FailureClass {
        self.error.class()
    }

    /// What to tell the user when this attempt could not be recorded completely
    /// ([`record_error`](Self::record_error)), after [`user_message`](Self::user_message)
    /// (which says what happened on the wiki). The web app and the CLI both say it (`None`:
    /// recorded).
    pub fn unrecorded_warning(&self) -> Option<String> {
        let error = self.record_error.as_deref()?;
        let tail = super::report::unrecorded_tail(error);
        // The tail starts with "this attempt": as a sentence of its own, with a capital.
        Some(format!("T{}", &tail[1..]))
    }

    /// The message shown to the user: the step, then the error (which says what to do).
    pub fn user_message(&self) -> String {
        format!("stopped at {}: {}", self.step, self.error)
    }
}

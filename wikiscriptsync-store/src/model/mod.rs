//! Domain types the store reads and writes. Callers never see sqlx types: rows are mapped to
//! these in the backends.

use std::fmt;

use crate::error::{StoreError, StoreResult};

mod checks;
mod limits;
mod notifications;
mod publish;
mod reports;
mod sync;
mod wikis;

pub use checks::*;
pub use limits::*;
pub use notifications::*;
pub use publish::*;
pub use reports::*;
pub use sync::*;
pub use wikis::*;

macro_rules! id_type {
    ($(#[$doc:meta] $name:ident),* $(,)?) => {$(
        #[$doc]
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
        pub struct $name(pub i64);

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                self.0.fmt(f)
            }
        }
    )*};
}

id_type!(
    /// Row id of a user.
    UserId,
    /// Row id of a tracked repository.
    RepositoryId,
    /// Row id of a watched file.
    WatchedFileId,
    /// Row id of a file → wiki page mapping.
    MappingId,
    /// Row id of a monitored wiki page.
    PageMonitorId,
    /// Row id of a publish task (a publish mutex holding).
    PublishTaskId,
    /// Row id of a publish log entry.
    PublishLogId,
    /// Row id of a stored BotPassword.
    CredentialId,
    /// Row id of a notification log entry.
    NotificationId,
);

macro_rules! string_enum {
    ($(#[$doc:meta])* $name:ident { $($(#[$vdoc:meta])* $variant:ident = $text:literal),* $(,)? }) => {
        $(#[$doc])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
        pub enum $name {
            $($(#[$vdoc])* $variant),*
        }

        impl $name {
            /// The value stored in the database.
            pub fn as_str(self) -> &'static str {
                match self {
                    $(Self::$variant => $text),*
                }
            }

            /// Parse a stored value.
            pub(crate) fn parse(text: &str) -> StoreResult<Self> {
                match text {
                    $($text => Ok(Self::$variant),)*
                    other => Err(StoreError::Corrupt(format!(
                        concat!("unknown ", stringify!($name), " `{}`"), other
                    ))),
                }
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(self.as_str())
            }
        }
    };
}

string_enum!(
    /// The kind of forge a repository lives on.
    Forge {
        /// GitHub (github.com).
        GitHub = "github",
        /// GitLab (gitlab.com, gitlab.wikimedia.org, ...).
        GitLab = "gitlab",
    }
);

string_enum!(
    /// Result of checking one watched file.
    FileCheckStatus {
        /// The blob SHA did not change (or the branch head did not move).
        Unchanged = "unchanged",
        /// The blob SHA changed.
        Changed = "changed",
        /// The file is no longer in the branch.
        Missing = "missing",
        /// The check failed (network, 403, 429, 5xx ...); the detail says why.
        Error = "error",
    }
);

string_enum!(
    /// How a mapping's wiki page stands against its file.
    MappingSyncState {
        /// The page has the file as last checked, and no later edit was seen on-wiki.
        InSync = "in_sync",
        /// Never published.
        NeverPublished = "never_published",
        /// The file changed (or was not checked yet) since the last publish.
        FileChanged = "file_changed",
        /// A page monitor saw a revision newer than our last publish: someone edited the page.
        ChangedOnWiki = "changed_on_wiki",
        /// Publishing is switched off for this mapping.
        Off = "off",
    }
);

string_enum!(
    /// Result of checking a repository as a whole.
    RepositoryCheckStatus {
        /// The branch head did not move (conditional request answered 304 or same SHA).
        Unchanged = "unchanged",
        /// The branch head moved.
        Moved = "moved",
        /// The repository or branch is gone.
        Missing = "missing",
        /// The check failed.
        Error = "error",
    }
);

string_enum!(
    /// Result of checking one monitored wiki page.
    PageCheckStatus {
        /// Same latest revision as last time.
        Unchanged = "unchanged",
        /// A new revision.
        Changed = "changed",
        /// The page was deleted (or never existed).
        Deleted = "deleted",
        /// The page was moved.
        Moved = "moved",
        /// The check failed.
        Error = "error",
    }
);

string_enum!(
    /// Why a page monitor exists.
    MonitorOrigin {
        /// The user asked to monitor the page.
        User = "user",
        /// Created because a file was mapped to the page; it goes when the user's last
        /// mapping to the page goes.
        Mapping = "mapping",
    }
);

string_enum!(
    /// State of a publish task, as in the seed tool.
    PublishTaskStatus {
        /// Created but not started (kept for compatibility with the seed's data; the store
        /// itself creates tasks directly as RUNNING).
        Pending = "PENDING",
        /// Holding the user's publish mutex.
        Running = "RUNNING",
        /// Finished successfully.
        Done = "DONE",
        /// Finished with an error, or expired.
        Failed = "FAILED",
    }
);

string_enum!(
    /// What came of one publish attempt, as recorded in the publish log.
    PublishOutcome {
        /// The page was edited.
        Published = "published",
        /// The page was edited, but on a base revision that was no longer the latest:
        /// MediaWiki merged the file's change into on-wiki revisions the publish had not seen,
        /// so the page now holds more than the file. Not a clean publish: the next one
        /// compares against the last clean publish and shows the on-wiki change.
        Merged = "merged",
        /// The page already had the file's content; nothing was edited.
        NoChange = "no_change",
        /// A dry run that would have edited the page.
        WouldPublish = "would_publish",
        /// The page changed on-wiki since our last publish; the publish was refused.
        DriftRefused = "drift_refused",
        /// Refused by the wiki or by policy (missing right, edit conflict, protected page).
        Refused = "refused",
        /// Another publish of the same user was running.
        Busy = "busy",
        /// Failed (network, credentials, forge, ...); the message says where.
        Failed = "failed",
        /// Written ahead of an edit: the edit was being sent and no result is recorded yet.
        /// A row left in this state means the process stopped before it could record the
        /// answer: the page's history says whether the edit landed.
        Pending = "pending",
        /// The wiki's answer to the edit was lost and the page could not tell whether the
        /// edit landed; the message says to check the page's history.
        Unknown = "unknown",
    }
);

string_enum!(
    /// Delivery state of a notification.
    NotificationStatus {
        /// Claimed by a runner, not yet posted.
        Pending = "pending",
        /// Posted on the user's talk page.
        Sent = "sent",
        /// Posting failed; it will be retried on the next run.
        Failed = "failed",
    }
);

/// Keyset pagination, newest first: pass `next` of the previous page to get the next one.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PageRequest {
    /// Only rows with an id below this one (None: start at the newest).
    pub before_id: Option<i64>,
    /// Rows per page (1..=500).
    pub limit: u32,
}

impl PageRequest {
    /// The first page with `limit` rows.
    pub fn first(limit: u32) -> Self {
        Self {
            before_id: None,
            limit,
        }
    }
}

/// One page of rows, newest first.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Paged<T> {
    /// The rows.
    pub items: Vec<T>,
    /// The request for the next (older) page; None when this was the last one.
    pub next: Option<PageRequest>,
}

/// Migrations applied by [`crate::Store::migrate`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MigrationReport {
    /// Versions applied now (empty when the schema was already current).
    pub applied: Vec<i64>,
    /// The newest version in the database afterwards.
    pub current: Option<i64>,
}

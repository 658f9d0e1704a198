//! Domain types the store reads and writes. Callers never see sqlx types: rows are mapped to
//! these in the backends.

use std::collections::BTreeSet;
use std::fmt;

use chrono::{DateTime, NaiveDate, Utc};

use crate::error::{StoreError, StoreResult};

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

/// A user, keyed by the OAuth central id (`sub`), not by the renameable user name.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct User {
    /// Row id.
    pub id: UserId,
    /// The OAuth 2.0 `sub` claim (the global account's central id).
    pub central_id: String,
    /// The user name at the last login.
    pub username: String,
    /// When the user first logged in.
    pub created_at: DateTime<Utc>,
    /// When the user last logged in.
    pub last_login_at: DateTime<Utc>,
}

/// A repository to track.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewRepository {
    /// GitHub or GitLab.
    pub forge: Forge,
    /// The forge host (`github.com`, `gitlab.wikimedia.org`); quota is tracked per host.
    pub host: String,
    /// The repository's web URL.
    pub url: String,
    /// The branch to follow.
    pub branch: String,
}

/// A tracked repository.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Repository {
    /// Row id.
    pub id: RepositoryId,
    /// Owner.
    pub user_id: UserId,
    /// GitHub or GitLab.
    pub forge: Forge,
    /// The forge host.
    pub host: String,
    /// The repository's web URL.
    pub url: String,
    /// The branch followed.
    pub branch: String,
    /// The branch head SHA seen at the last successful check.
    pub head_sha: Option<String>,
    /// The ETag of the last head probe, for the next conditional request.
    pub etag: Option<String>,
    /// When the repository was last checked.
    pub last_checked_at: Option<DateTime<Utc>>,
    /// The result of the last check.
    pub last_status: Option<RepositoryCheckStatus>,
    /// When the repository is due for its next check.
    pub next_check_at: DateTime<Utc>,
    /// When it was added.
    pub created_at: DateTime<Utc>,
}

/// A file of a repository under monitoring.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WatchedFile {
    /// Row id.
    pub id: WatchedFileId,
    /// The repository.
    pub repository_id: RepositoryId,
    /// Path inside the repository.
    pub path: String,
    /// Git blob SHA seen at the last check (file content is never stored).
    pub last_blob_sha: Option<String>,
    /// When it was last checked.
    pub last_checked_at: Option<DateTime<Utc>>,
    /// Result of the last check.
    pub last_status: Option<FileCheckStatus>,
    /// When it was added.
    pub created_at: DateTime<Utc>,
}

/// Per-target publishing options of a mapping.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct MappingOptions {
    /// Whether publishing to this target is switched on.
    pub publish_enabled: bool,
    /// Whether a publish may create the page (otherwise `nocreate`).
    pub allow_create: bool,
    /// Whether to put a "published from" banner comment at the top.
    pub add_banner: bool,
}

impl Default for MappingOptions {
    fn default() -> Self {
        Self {
            publish_enabled: true,
            allow_create: false,
            add_banner: false,
        }
    }
}

/// A new file → wiki page mapping.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewMapping {
    /// The watched file to publish.
    pub watched_file_id: WatchedFileId,
    /// The wiki's host name, e.g. `en.wikipedia.org`.
    pub wiki: String,
    /// The page title, e.g. `User:Example/common.js`.
    pub page_title: String,
    /// Publishing options.
    pub options: MappingOptions,
}

/// What was published last to a mapping's page (the drift guard compares against it).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PublishedState {
    /// Git blob SHA of the published file.
    pub blob_sha: String,
    /// Commit the file was taken from.
    pub commit_sha: String,
    /// Revision id our edit created (or found, for "no change").
    pub revid: i64,
    /// When.
    pub at: DateTime<Utc>,
}

/// A file → wiki page mapping.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Mapping {
    /// Row id.
    pub id: MappingId,
    /// The watched file.
    pub watched_file_id: WatchedFileId,
    /// The wiki host.
    pub wiki: String,
    /// The page title.
    pub page_title: String,
    /// Publishing options.
    pub options: MappingOptions,
    /// The last successful publish, if any.
    pub last_published: Option<PublishedState>,
    /// When it was added.
    pub created_at: DateTime<Utc>,
}

/// A monitored wiki page.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PageMonitor {
    /// Row id.
    pub id: PageMonitorId,
    /// Owner.
    pub user_id: UserId,
    /// The wiki host.
    pub wiki: String,
    /// The page title.
    pub page_title: String,
    /// Why it exists (asked for by the user, or created with a mapping).
    pub origin: MonitorOrigin,
    /// The latest revision id seen.
    pub last_revid: Option<i64>,
    /// When it was last checked.
    pub last_checked_at: Option<DateTime<Utc>>,
    /// Result of the last check.
    pub last_status: Option<PageCheckStatus>,
    /// When it is due next.
    pub next_check_at: DateTime<Utc>,
    /// When it was added.
    pub created_at: DateTime<Utc>,
}

/// A request to claim due work with a lease.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ClaimRequest {
    /// A unique id of the runner (e.g. host name + process id + start time).
    pub owner: String,
    /// The current time; items with `next_check_at <= now` are due.
    pub now: DateTime<Utc>,
    /// How long the claim is held before other runners may take the item over.
    pub lease: chrono::Duration,
    /// At most this many items.
    pub limit: u32,
}

/// A claimed repository together with its watched files.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ClaimedRepository {
    /// The repository.
    pub repository: Repository,
    /// Its watched files.
    pub files: Vec<WatchedFile>,
}

/// The result of checking one watched file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FileCheckResult {
    /// The file.
    pub watched_file_id: WatchedFileId,
    /// What was found.
    pub status: FileCheckStatus,
    /// The blob SHA now (None when missing or on error).
    pub new_blob_sha: Option<String>,
    /// The commit the new blob was seen at.
    pub commit_sha: Option<String>,
    /// Error text or other detail.
    pub detail: Option<String>,
}

/// Everything one repository check found; written in one transaction.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RepositoryCheck {
    /// The repository.
    pub repository_id: RepositoryId,
    /// The runner that holds the claim.
    pub owner: String,
    /// When the check ran.
    pub checked_at: DateTime<Utc>,
    /// The repository-level result.
    pub status: RepositoryCheckStatus,
    /// The head SHA now (None keeps the stored one, e.g. on errors).
    pub head_sha: Option<String>,
    /// The ETag now (None keeps the stored one).
    pub etag: Option<String>,
    /// When to check again.
    pub next_check_at: DateTime<Utc>,
    /// One entry per file looked at; each becomes a sync_filechecklog row.
    pub files: Vec<FileCheckResult>,
}

/// The result of checking one monitored page.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PageCheck {
    /// The monitor.
    pub page_monitor_id: PageMonitorId,
    /// What was found.
    pub status: PageCheckStatus,
    /// The latest revision id now (None keeps the stored one).
    pub new_revid: Option<i64>,
    /// Detail (editor, summary, diff link, new title, error text).
    pub detail: Option<String>,
    /// When to check again.
    pub next_check_at: DateTime<Utc>,
}

/// A file check log row.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FileCheckLogEntry {
    /// Row id.
    pub id: i64,
    /// The file.
    pub watched_file_id: WatchedFileId,
    /// When.
    pub checked_at: DateTime<Utc>,
    /// What was found.
    pub status: FileCheckStatus,
    /// The blob SHA before.
    pub old_blob_sha: Option<String>,
    /// The blob SHA after.
    pub new_blob_sha: Option<String>,
    /// The commit.
    pub commit_sha: Option<String>,
    /// Detail.
    pub detail: Option<String>,
}

/// A page check log row.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PageCheckLogEntry {
    /// Row id.
    pub id: i64,
    /// The monitor.
    pub page_monitor_id: PageMonitorId,
    /// When.
    pub checked_at: DateTime<Utc>,
    /// What was found.
    pub status: PageCheckStatus,
    /// Revision before.
    pub old_revid: Option<i64>,
    /// Revision after.
    pub new_revid: Option<i64>,
    /// Detail.
    pub detail: Option<String>,
}

/// A rate-limit snapshot from a forge response.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ApiQuotaSnapshot {
    /// The forge host.
    pub host: String,
    /// The quota bucket (`core`, `graphql`, ...).
    pub resource: String,
    /// The limit per window.
    pub limit: i64,
    /// Requests left in the window.
    pub remaining: i64,
    /// When the window resets.
    pub reset_at: Option<DateTime<Utc>>,
    /// When the snapshot was taken.
    pub recorded_at: DateTime<Utc>,
}

/// Outcome of trying to take a user's publish mutex.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PublishLock {
    /// The mutex is ours; release it with [`crate::Store::release_publish_task`].
    Acquired {
        /// The new RUNNING task.
        task: PublishTaskId,
        /// A stale RUNNING task that was marked FAILED ("expired") to take over.
        expired: Option<PublishTaskId>,
    },
    /// Another publish of this user is running.
    Busy {
        /// The running task.
        task: PublishTaskId,
        /// Since when it runs.
        running_since: DateTime<Utc>,
    },
}

/// How a publish task ended.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum TaskOutcome {
    /// DONE.
    Done,
    /// FAILED with a reason.
    Failed(String),
}

/// A publish task row.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PublishTask {
    /// Row id.
    pub id: PublishTaskId,
    /// Owner.
    pub user_id: UserId,
    /// State.
    pub status: PublishTaskStatus,
    /// Why it failed.
    pub reason: Option<String>,
    /// When it started running.
    pub started_at: Option<DateTime<Utc>>,
    /// When it finished.
    pub finished_at: Option<DateTime<Utc>>,
}

/// A publish attempt to record.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewPublishLogEntry {
    /// Who published.
    pub user_id: UserId,
    /// The stored mapping, if the target was one (None for ad-hoc targets).
    pub mapping_id: Option<MappingId>,
    /// The mutex task the attempt ran under, if it got that far.
    pub task_id: Option<PublishTaskId>,
    /// When.
    pub at: DateTime<Utc>,
    /// What came of it.
    pub outcome: PublishOutcome,
    /// Whether it was a dry run.
    pub dry_run: bool,
    /// Target wiki host.
    pub wiki: String,
    /// Target page title.
    pub page_title: String,
    /// Source repository URL (None for a local file).
    pub repo_url: Option<String>,
    /// Source branch.
    pub branch: Option<String>,
    /// Source file path.
    pub file_path: Option<String>,
    /// Source commit.
    pub commit_sha: Option<String>,
    /// Git blob SHA of the file.
    pub blob_sha: Option<String>,
    /// The page revision the edit was based on.
    pub base_revid: Option<i64>,
    /// The revision the edit created.
    pub new_revid: Option<i64>,
    /// Human-readable message (error text, refusal reason). Never a secret.
    pub message: Option<String>,
}

/// A recorded publish attempt.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PublishLogEntry {
    /// Row id.
    pub id: PublishLogId,
    /// The attempt.
    pub entry: NewPublishLogEntry,
}

/// Which publish log rows to list.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum PublishLogFilter {
    /// All of the user's attempts.
    #[default]
    All,
    /// Attempts for one mapping.
    Mapping(MappingId),
}

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

/// A stored BotPassword: the ciphertext only. Debug does not print the ciphertext.
#[derive(Clone, PartialEq, Eq)]
pub struct StoredCredential {
    /// Row id.
    pub id: CredentialId,
    /// Owner.
    pub user_id: UserId,
    /// The wiki host.
    pub wiki: String,
    /// `User@BotName`.
    pub bot_username: String,
    /// The Fernet token of the BotPassword.
    pub ciphertext: String,
    /// When it was saved.
    pub saved_at: DateTime<Utc>,
}

impl fmt::Debug for StoredCredential {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("StoredCredential")
            .field("id", &self.id)
            .field("user_id", &self.user_id)
            .field("wiki", &self.wiki)
            .field("bot_username", &self.bot_username)
            .field("ciphertext", &"[REDACTED]")
            .field("saved_at", &self.saved_at)
            .finish()
    }
}

/// What the web app shows about a stored BotPassword (never the password or ciphertext).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CredentialSummary {
    /// Row id.
    pub id: CredentialId,
    /// The wiki host.
    pub wiki: String,
    /// `User@BotName`.
    pub bot_username: String,
    /// When it was saved.
    pub saved_at: DateTime<Utc>,
}

/// A user's notification preferences. Every event kind is on unless disabled.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct NotificationPreferences {
    /// The wiki whose user talk page gets the notifications (None: notifications off).
    pub home_wiki: Option<String>,
    /// One message per run summarising every change, instead of one per change.
    pub digest: bool,
    /// Event kinds switched off (`[a-z0-9_]+` names, e.g. `file_changed`).
    pub disabled_event_kinds: BTreeSet<String>,
}

impl NotificationPreferences {
    /// Whether the user wants notifications of this kind.
    pub fn is_enabled(&self, event_kind: &str) -> bool {
        !self.disabled_event_kinds.contains(event_kind)
    }
}

/// A notification about to be sent; `dedup_key` identifies the change (e.g.
/// `file:<id>:<new blob sha>`), so one change is never notified twice.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewNotification {
    /// Recipient.
    pub user_id: UserId,
    /// Identifies the change (or digest) across runs.
    pub dedup_key: String,
    /// The event kind (`file_changed`, `page_changed`, `digest`, ...).
    pub event_kind: String,
    /// Section heading.
    pub subject: String,
    /// Message text (a change summary; never file content).
    pub body: String,
}

/// Outcome of claiming a notification for sending.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum NotificationClaim {
    /// Ours to send; finish it with [`crate::Store::finish_notification`].
    Claimed(NotificationId),
    /// Already posted; do nothing.
    AlreadySent,
    /// Another runner holds an unexpired claim on it.
    InProgress,
}

/// How sending a notification ended.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum NotificationResult {
    /// Posted.
    Sent {
        /// Wiki it was posted to.
        wiki: String,
        /// Revision id of the post.
        revid: Option<i64>,
    },
    /// Posting failed; retried next run.
    Failed(String),
}

/// A notification log row.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NotificationLogEntry {
    /// Row id.
    pub id: NotificationId,
    /// Recipient.
    pub user_id: UserId,
    /// The dedup key.
    pub dedup_key: String,
    /// The event kind.
    pub event_kind: String,
    /// Section heading.
    pub subject: String,
    /// Message text.
    pub body: String,
    /// Delivery state.
    pub status: NotificationStatus,
    /// Send attempts so far.
    pub attempts: i64,
    /// Wiki it was posted to.
    pub posted_wiki: Option<String>,
    /// Revision id of the post.
    pub posted_revid: Option<i64>,
    /// Last error.
    pub error: Option<String>,
    /// First recorded.
    pub created_at: DateTime<Utc>,
    /// Last changed.
    pub updated_at: DateTime<Utc>,
}

/// A count of uses of one feature on one day (no personal data).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UsageCount {
    /// The day (UTC).
    pub day: NaiveDate,
    /// The feature (`dashboard`, `publish`, ...).
    pub feature: String,
    /// How many times.
    pub count: i64,
}

/// Which mappings [`crate::Store::mapping_statuses`] lists.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum MappingScope {
    /// Every mapping of the user.
    All,
    /// The mappings of one repository's watched files.
    Repository(RepositoryId),
    /// The mappings of one watched file.
    File(WatchedFileId),
    /// The mappings to pages on one wiki (as stored, e.g. `en.wikipedia.org`).
    Wiki(String),
}

/// A mapping with the file and repository it publishes from and how it stands.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MappingStatus {
    /// The mapping.
    pub mapping: Mapping,
    /// The watched file's path.
    pub file_path: String,
    /// The repository the file is in.
    pub repository_id: RepositoryId,
    /// The repository's URL.
    pub repository_url: String,
    /// How the page stands against the file.
    pub state: MappingSyncState,
}

/// One repository's line on the dashboard: counts, not lists, so the dashboard costs the same
/// for 5 files as for 5,000.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RepositorySummary {
    /// The repository.
    pub repository: Repository,
    /// Watched files.
    pub files: u64,
    /// ... never checked yet.
    pub files_unchecked: u64,
    /// ... whose last check found them missing or failed.
    pub files_failing: u64,
    /// Mappings of its files.
    pub mappings: u64,
    /// ... that are [`MappingSyncState::InSync`].
    pub in_sync: u64,
    /// ... whose publishing is switched off.
    pub off: u64,
}

impl RepositorySummary {
    /// Mappings that are neither in sync nor switched off: they need the user.
    pub fn attention(&self) -> u64 {
        self.mappings.saturating_sub(self.in_sync + self.off)
    }
}

/// Everything the dashboard shows, read in a fixed number of queries whose answers do not
/// grow with the number of files, mappings or pages: counts per repository, and only the
/// items that need attention (up to a limit, with the total).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Dashboard {
    /// Repositories with their counts.
    pub repositories: Vec<RepositorySummary>,
    /// Mappings that are not in sync, the ones needing action first (at most the limit asked
    /// for).
    pub attention: Vec<MappingStatus>,
    /// Watched files whose last check found them missing or failed (at most the limit).
    pub failing_files: Vec<FailingFile>,
    /// Monitored pages, those whose last check saw an edit, deletion, move or error first (at
    /// most the limit).
    pub pages: Vec<PageMonitor>,
    /// How many pages the user monitors.
    pub pages_total: u64,
    /// Stored BotPasswords (summaries).
    pub credentials: Vec<CredentialSummary>,
    /// The newest publish attempts.
    pub recent_publishes: Vec<PublishLogEntry>,
    /// The newest notifications.
    pub recent_notifications: Vec<NotificationLogEntry>,
}

impl Dashboard {
    /// How many mappings need the user in all ([`RepositorySummary::attention`] summed);
    /// `attention` lists at most the limit asked for.
    pub fn attention_total(&self) -> u64 {
        self.repositories
            .iter()
            .map(RepositorySummary::attention)
            .sum()
    }
}

/// A watched file whose last check found it missing or failed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FailingFile {
    /// The file.
    pub file: WatchedFile,
    /// The repository's URL.
    pub repository_url: String,
}

/// How many items of each list the dashboard asks for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct DashboardLimits {
    /// Publishes and notifications.
    pub recent: u32,
    /// Mappings needing attention, failing files, and monitored pages.
    pub items: u32,
}

/// How many items are due for a check.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct DueCounts {
    /// Repositories due and not claimed.
    pub repositories: i64,
    /// Monitored pages due and not claimed.
    pub pages: i64,
}

/// Rows removed (or, in a dry run, that would be removed) by retention.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct RetentionReport {
    /// sync_filechecklog rows.
    pub file_checks: u64,
    /// wiki_monitor_wikipage_checklog rows.
    pub page_checks: u64,
    /// sync_apiquotalog rows.
    pub api_quota: u64,
    /// notifications_notificationlog rows.
    pub notifications: u64,
    /// Whether this was a dry run (nothing deleted).
    pub dry_run: bool,
}

/// Rows whose parent row is gone (possible when foreign keys were off, e.g. after a manual
/// import), removed or, in a dry run, counted.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct OrphanReport {
    /// `(table, rows)` for each child table, parents before children.
    pub tables: Vec<(&'static str, u64)>,
    /// Whether this was a dry run (nothing deleted).
    pub dry_run: bool,
}

impl OrphanReport {
    /// All orphans together.
    pub fn total(&self) -> u64 {
        self.tables.iter().map(|(_, n)| n).sum()
    }
}

/// Migrations applied by [`crate::Store::migrate`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MigrationReport {
    /// Versions applied now (empty when the schema was already current).
    pub applied: Vec<i64>,
    /// The newest version in the database afterwards.
    pub current: Option<i64>,
}

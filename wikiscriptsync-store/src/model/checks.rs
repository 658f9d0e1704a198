//! Repository checks and wiki page monitors: claims with a lease, what a check found, the
//! check logs and forge quota snapshots.

use chrono::{DateTime, Utc};

use super::*;

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

/// What one use case or repository check done for a user cost on a forge host (a row of
/// `sync_forgequotause`), so each user's spending of the host's shared quota can be summed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ForgeQuotaUse {
    /// The user the requests were made for.
    pub user_id: UserId,
    /// The forge's web host (`github.com`, `gitlab.example.org:8443`).
    pub host: String,
    /// The quota the requests cost (a GitHub `304` sent with a token costs none).
    pub spent: u64,
    /// When they were made.
    pub recorded_at: DateTime<Utc>,
}

/// One of the two queues of scheduled checks.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum CheckQueue {
    /// Tracked repositories (`check-updates`).
    Repositories,
    /// Monitored wiki pages (`check-wiki-updates`).
    Pages,
}

/// How a check queue stands, as seen by one runner: what explains a run that checked little
/// or nothing (nothing due yet, or another runner holding the items).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct CheckOutlook {
    /// Items due now and not held by another runner.
    pub due: u64,
    /// When the earliest of the other items not held by another runner falls due.
    pub next_due_at: Option<DateTime<Utc>>,
    /// Items whose unexpired lease another runner holds.
    pub held: u64,
    /// The latest lease expiry among those.
    pub held_until: Option<DateTime<Utc>>,
}

/// An item whose unexpired lease another runner holds.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct HeldItem {
    /// Its row id (a repository or page monitor id, per queue).
    pub id: i64,
    /// When the lease expires.
    pub until: DateTime<Utc>,
}

/// What [`crate::Store::make_due_now`] did.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct MadeDue {
    /// Items now due and not held by another runner (made due, or already due).
    pub due: u64,
    /// Items left alone because another runner holds them, by id.
    pub held: Vec<HeldItem>,
    /// Ids asked for that do not exist, ascending.
    pub missing: Vec<i64>,
}

/// How many items are due for a check.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct DueCounts {
    /// Repositories due and not claimed.
    pub repositories: i64,
    /// Monitored pages due and not claimed.
    pub pages: i64,
}

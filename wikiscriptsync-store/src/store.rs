//! The `Store` trait: everything the product persists, as one object-safe async trait that
//! core, the web app and the jobs hold as `Arc<dyn Store>`.
//!
//! Conventions: time is an input (`now`/`at` arguments), so behaviour is testable and every
//! process agrees on what "due" and "stale" mean. Methods taking a `user` only see that
//! user's rows: another user's id gives `None`/`false`/[`StoreError::NotFound`], which the
//! web app turns into a 404.

use async_trait::async_trait;
use chrono::{DateTime, NaiveDate, Utc};

#[cfg(doc)]
use crate::error::StoreError;
use crate::error::StoreResult;
use crate::model::*;

/// How long a RUNNING publish task holds the mutex before the next attempt may expire it.
pub const PUBLISH_TASK_EXPIRY: chrono::Duration = chrono::Duration::minutes(5);

/// Persistence for WikiScriptSync (one implementation per database backend).
#[async_trait]
pub trait Store: Send + Sync + std::fmt::Debug {
    // ----- schema -------------------------------------------------------------------------

    /// `sqlite` or `mariadb`.
    fn backend(&self) -> &'static str;

    /// Apply pending migrations; running it again is a no-op. Errors with
    /// [`StoreError::SchemaNewer`] when the database was migrated by a newer binary.
    async fn migrate(&self) -> StoreResult<MigrationReport>;

    /// Check the database answers and its schema is exactly this binary's (for check-health).
    async fn health(&self) -> StoreResult<()>;

    /// Close the pool, waiting for connections to be returned.
    async fn close(&self);

    // ----- users --------------------------------------------------------------------------

    /// Record a login: create the user for this central id or update the user name (users
    /// can be renamed; the central id stays).
    async fn upsert_user(
        &self,
        central_id: &str,
        username: &str,
        now: DateTime<Utc>,
    ) -> StoreResult<User>;

    /// A user by row id.
    async fn user(&self, id: UserId) -> StoreResult<Option<User>>;

    /// A user by OAuth central id.
    async fn user_by_central_id(&self, central_id: &str) -> StoreResult<Option<User>>;

    /// A user by current user name (for the CLI's `--user NAME`).
    async fn user_by_name(&self, username: &str) -> StoreResult<Option<User>>;

    /// Record a web session `id` (a random token, at most 64 characters) of `user`, usable
    /// until `expires`. The user's sessions that expired by `now` are deleted.
    async fn create_session(
        &self,
        id: &str,
        user: UserId,
        now: DateTime<Utc>,
        expires: DateTime<Utc>,
    ) -> StoreResult<()>;

    /// The user of session `id` when it exists and has not expired at `now`.
    async fn session_user(&self, id: &str, now: DateTime<Utc>) -> StoreResult<Option<User>>;

    /// End session `id` (a logout); `false` when there was none.
    async fn end_session(&self, id: &str) -> StoreResult<bool>;

    /// End every session of `user` ("log out everywhere"); how many there were.
    async fn end_user_sessions(&self, user: UserId) -> StoreResult<u64>;

    // ----- repositories, watched files, mappings -------------------------------------------

    /// Track a repository; it is due for a check at once. [`StoreError::AlreadyExists`] when the
    /// user already tracks this URL and branch.
    async fn add_repository(
        &self,
        user: UserId,
        repository: &NewRepository,
        now: DateTime<Utc>,
    ) -> StoreResult<Repository>;

    /// One of the user's repositories.
    async fn repository(&self, user: UserId, id: RepositoryId) -> StoreResult<Option<Repository>>;

    /// The user's repositories, oldest first.
    async fn list_repositories(&self, user: UserId) -> StoreResult<Vec<Repository>>;

    /// Stop tracking a repository, with its watched files, mappings and check logs, and (in
    /// the same transaction) the monitors its mappings created, as [`Store::remove_mapping`]
    /// does. Returns false when it did not exist (or is not the user's).
    async fn remove_repository(&self, user: UserId, id: RepositoryId) -> StoreResult<bool>;

    /// Watch a file of one of the user's repositories.
    async fn watch_file(
        &self,
        user: UserId,
        repository: RepositoryId,
        path: &str,
        now: DateTime<Utc>,
    ) -> StoreResult<WatchedFile>;

    /// One of the user's watched files.
    async fn watched_file(
        &self,
        user: UserId,
        id: WatchedFileId,
    ) -> StoreResult<Option<WatchedFile>>;

    /// The watched files of one of the user's repositories, by path.
    async fn list_watched_files(
        &self,
        user: UserId,
        repository: RepositoryId,
    ) -> StoreResult<Vec<WatchedFile>>;

    /// Stop watching a file (with its mappings and check log, and, in the same transaction,
    /// the monitors its mappings created, as [`Store::remove_mapping`] does).
    async fn unwatch_file(&self, user: UserId, id: WatchedFileId) -> StoreResult<bool>;

    /// Map one of the user's watched files to a wiki page. [`StoreError::AlreadyExists`] when
    /// the file is already mapped to that page, [`StoreError::NotFound`] when the file is not
    /// the user's.
    async fn add_mapping(
        &self,
        user: UserId,
        mapping: &NewMapping,
        now: DateTime<Utc>,
    ) -> StoreResult<Mapping>;

    /// [`Store::add_mapping`], and with `monitor` make sure the user monitors the mapped page
    /// (a mapped page's monitor is what tells that someone edited it on-wiki since our last
    /// publish): a new monitor has origin [`MonitorOrigin::Mapping`], an existing one is left
    /// as it is. One transaction: on any error nothing is written.
    async fn add_mapping_with_monitor(
        &self,
        user: UserId,
        mapping: &NewMapping,
        monitor: bool,
        now: DateTime<Utc>,
    ) -> StoreResult<Mapping>;

    /// One of the user's mappings.
    async fn mapping(&self, user: UserId, id: MappingId) -> StoreResult<Option<Mapping>>;

    /// The mappings of one of the user's watched files (several targets per file).
    async fn list_mappings(&self, user: UserId, file: WatchedFileId) -> StoreResult<Vec<Mapping>>;

    /// The user's mappings in `scope` with their file, repository and sync state (by
    /// repository, file path, then mapping).
    async fn mapping_statuses(
        &self,
        user: UserId,
        scope: &MappingScope,
    ) -> StoreResult<Vec<MappingStatus>>;

    /// Change a mapping's options.
    async fn set_mapping_options(
        &self,
        user: UserId,
        id: MappingId,
        options: MappingOptions,
    ) -> StoreResult<bool>;

    /// Delete a mapping (its publish log rows stay, with the mapping id cleared). In the same
    /// transaction, the user's monitor of the page goes too when a mapping created it
    /// ([`MonitorOrigin::Mapping`]) and no other mapping of the user targets that page; a
    /// monitor the user asked for stays.
    async fn remove_mapping(&self, user: UserId, id: MappingId) -> StoreResult<bool>;

    /// Remember what the last successful publish to this mapping's page was (blob SHA, commit,
    /// revision id), for the drift guard. The user's monitor of the same page, if any, moves
    /// up to that revision: our own edit is not an on-wiki change.
    async fn record_published(
        &self,
        user: UserId,
        id: MappingId,
        state: &PublishedState,
    ) -> StoreResult<()>;

    // ----- publish mutex and audit log -----------------------------------------------------

    /// Take the user's publish mutex in one atomic database step: succeeds only if the user
    /// has no RUNNING task, or expires a RUNNING task started before
    /// `now - PUBLISH_TASK_EXPIRY` (FAILED, reason "expired") and takes over.
    async fn acquire_publish_task(
        &self,
        user: UserId,
        now: DateTime<Utc>,
    ) -> StoreResult<PublishLock>;

    /// Release the mutex with DONE or FAILED. Returns false when the task was no longer
    /// RUNNING (it had been expired and taken over); its row is then left as it is.
    async fn release_publish_task(
        &self,
        task: PublishTaskId,
        outcome: &TaskOutcome,
        now: DateTime<Utc>,
    ) -> StoreResult<bool>;

    /// A publish task by id.
    async fn publish_task(&self, task: PublishTaskId) -> StoreResult<Option<PublishTask>>;

    /// Append a publish attempt to the permanent audit log. There is no delete, and the only
    /// update is [`Store::settle_publish_log`] of a row written ahead of its edit.
    async fn append_publish_log(&self, entry: &NewPublishLogEntry) -> StoreResult<PublishLogId>;

    /// Settle one of the user's rows written ahead of an edit ([`PublishOutcome::Pending`])
    /// with the edit's result, once: false, and nothing changed, when the row is not the
    /// user's or is no longer pending. A `Pending` settlement is [`StoreError::InvalidInput`].
    async fn settle_publish_log(
        &self,
        user: UserId,
        id: PublishLogId,
        settlement: &PublishSettlement,
    ) -> StoreResult<bool>;

    /// The user's publish attempts, newest first, paginated.
    async fn publish_log(
        &self,
        user: UserId,
        filter: PublishLogFilter,
        page: PageRequest,
    ) -> StoreResult<Paged<PublishLogEntry>>;

    // ----- BotPasswords (ciphertext only) ---------------------------------------------------

    /// Save (or replace) the user's BotPassword for a wiki.
    async fn set_credential(
        &self,
        user: UserId,
        wiki: &str,
        bot_username: &str,
        ciphertext: &str,
        now: DateTime<Utc>,
    ) -> StoreResult<CredentialSummary>;

    /// The user's stored BotPassword for a wiki, for the publisher to decrypt.
    async fn credential(&self, user: UserId, wiki: &str) -> StoreResult<Option<StoredCredential>>;

    /// What the user has stored (wiki, bot user name, time saved), by wiki.
    async fn list_credentials(&self, user: UserId) -> StoreResult<Vec<CredentialSummary>>;

    /// Delete the user's BotPassword for a wiki.
    async fn delete_credential(&self, user: UserId, wiki: &str) -> StoreResult<bool>;

    /// Stores a resolved wiki (replacing what was stored under its key) and remembers
    /// `spellings` (what users typed, normalised) as names of it. Its key, its API URL and
    /// every spelling then find it with [`Store::wiki_by_spelling`].
    async fn save_wiki(&self, wiki: &KnownWiki, spellings: &[String]) -> StoreResult<()>;

    /// The wiki stored under this key, API URL or remembered spelling.
    async fn wiki_by_spelling(&self, spelling: &str) -> StoreResult<Option<KnownWiki>>;

    /// Every known wiki, by key.
    async fn known_wikis(&self) -> StoreResult<Vec<KnownWiki>>;

    /// Every stored credential, for key rotation.
    async fn all_credentials(&self) -> StoreResult<Vec<StoredCredential>>;

    /// Replace a ciphertext if it is still `old` (compare-and-swap, so a concurrent
    /// "save BotPassword" is never overwritten by a rotation). Returns whether it changed.
    async fn replace_credential_ciphertext(
        &self,
        id: CredentialId,
        old: &str,
        new: &str,
    ) -> StoreResult<bool>;

    // ----- repository checks ---------------------------------------------------------------

    /// Claim up to `limit` repositories that are due and not claimed by another runner
    /// (lease expired or none), oldest due first, with their watched files. On MariaDB this
    /// uses `FOR UPDATE SKIP LOCKED`, so concurrent runners get disjoint sets.
    async fn claim_due_repositories(
        &self,
        claim: &ClaimRequest,
    ) -> StoreResult<Vec<ClaimedRepository>>;

    /// Claim one repository like [`Store::claim_due_repositories`] does (only if it is due
    /// and not claimed by another runner); `None` otherwise.
    async fn claim_due_repository(
        &self,
        id: RepositoryId,
        claim: &ClaimRequest,
    ) -> StoreResult<Option<ClaimedRepository>>;

    /// Claim, like [`Store::claim_due_repositories`], the due repositories among `ids` that
    /// no other runner holds (at most `claim.limit`).
    async fn claim_due_repositories_among(
        &self,
        ids: &[RepositoryId],
        claim: &ClaimRequest,
    ) -> StoreResult<Vec<ClaimedRepository>>;

    /// Make items of `queue` due at `now` (every item, or the ids in `only`) for a check
    /// started by hand, except those whose lease another runner than `owner` holds; those
    /// are reported as held. Overdue items keep their time. Claim them afterwards with the
    /// claim methods, so a manual check takes the same lease path as a scheduled one.
    async fn make_due_now(
        &self,
        queue: CheckQueue,
        only: Option<&[i64]>,
        owner: &str,
        now: DateTime<Utc>,
    ) -> StoreResult<MadeDue>;

    /// How `queue` stands at `now` for runner `owner`: items due, when the next one falls
    /// due, and how many another runner holds until when (why a run checked nothing).
    async fn check_outlook(
        &self,
        queue: CheckQueue,
        owner: &str,
        now: DateTime<Utc>,
    ) -> StoreResult<CheckOutlook>;

    /// Make one of the user's repositories due at `now` (for "Check now"). False, and nothing
    /// changed, when it is not that user's repository.
    async fn mark_repository_due(
        &self,
        user: UserId,
        id: RepositoryId,
        now: DateTime<Utc>,
    ) -> StoreResult<bool>;

    /// Record a repository check in one transaction: head SHA, ETag, per-file blob SHAs and
    /// one sync_filechecklog row per file; releases the claim. [`StoreError::LeaseLost`] (and
    /// nothing written) when `owner` no longer holds the claim.
    async fn complete_repository_check(&self, check: &RepositoryCheck) -> StoreResult<()>;

    /// Give back every repository and page claim `owner` still holds (a runner stopping
    /// early, e.g. on SIGTERM), so that the next run need not wait for the leases to expire.
    /// Returns how many claims were released.
    async fn release_all_claims(&self, owner: &str) -> StoreResult<u64>;

    /// Give claimed repositories back unchecked (e.g. quota reserve reached); they stay due.
    async fn release_repository_claims(
        &self,
        owner: &str,
        ids: &[RepositoryId],
    ) -> StoreResult<u64>;

    /// The check history of one of the user's watched files, newest first.
    async fn file_check_log(
        &self,
        user: UserId,
        file: WatchedFileId,
        page: PageRequest,
    ) -> StoreResult<Paged<FileCheckLogEntry>>;

    /// Record a forge rate-limit snapshot.
    async fn record_api_quota(&self, snapshot: &ApiQuotaSnapshot) -> StoreResult<()>;

    /// The newest rate-limit snapshot for a host.
    async fn latest_api_quota(&self, host: &str) -> StoreResult<Option<ApiQuotaSnapshot>>;

    /// Record what a user's forge requests cost on a host (nothing for a use that cost no
    /// quota); the user's rows on that host older than two hours are deleted on the way, as
    /// no hourly share needs them.
    async fn record_forge_quota_use(&self, usage: &ForgeQuotaUse) -> StoreResult<()>;

    /// The quota the user's forge requests on `host` cost since `since` (the hour's start).
    async fn forge_quota_spent(
        &self,
        user: UserId,
        host: &str,
        since: DateTime<Utc>,
    ) -> StoreResult<u64>;

    /// How many users track at least one repository on the forge `forge` at web host `host`:
    /// the number of users a host's quota is shared among.
    async fn users_tracking_host(&self, forge: Forge, host: &str) -> StoreResult<u64>;

    /// How many repositories and pages are due and unclaimed at `now`.
    async fn due_counts(&self, now: DateTime<Utc>) -> StoreResult<DueCounts>;

    // ----- wiki page monitors --------------------------------------------------------------

    /// Monitor a wiki page at the user's request; due at once. When a mapping had created the
    /// user's monitor of the page, that monitor becomes the user's own
    /// ([`MonitorOrigin::User`], so it outlives the mapping) and is returned;
    /// [`StoreError::AlreadyExists`] when the user already monitors the page on its own.
    async fn add_page_monitor(
        &self,
        user: UserId,
        wiki: &str,
        page_title: &str,
        now: DateTime<Utc>,
    ) -> StoreResult<PageMonitor>;

    /// Monitor a wiki page unless the user already does (a mapped page's monitor is what
    /// tells that someone edited it on-wiki since our last publish). A new monitor has origin
    /// [`MonitorOrigin::User`]; an existing one is left as it is.
    async fn ensure_page_monitor(
        &self,
        user: UserId,
        wiki: &str,
        page_title: &str,
        now: DateTime<Utc>,
    ) -> StoreResult<()>;

    /// One of the user's page monitors.
    async fn page_monitor(
        &self,
        user: UserId,
        id: PageMonitorId,
    ) -> StoreResult<Option<PageMonitor>>;

    /// The user's page monitors, by wiki and title.
    async fn list_page_monitors(&self, user: UserId) -> StoreResult<Vec<PageMonitor>>;

    /// Stop monitoring a page (with its check log).
    async fn remove_page_monitor(&self, user: UserId, id: PageMonitorId) -> StoreResult<bool>;

    /// Claim up to `limit` due pages, ordered by wiki so callers can batch lookups per wiki.
    async fn claim_due_pages(&self, claim: &ClaimRequest) -> StoreResult<Vec<PageMonitor>>;

    /// Claim, like [`Store::claim_due_pages`], the due pages among `ids` that no other
    /// runner holds (at most `claim.limit`).
    async fn claim_due_pages_among(
        &self,
        ids: &[PageMonitorId],
        claim: &ClaimRequest,
    ) -> StoreResult<Vec<PageMonitor>>;

    /// Record page checks in one transaction (last revision, status, a page check log row
    /// each) and release their claims. Pages whose claim `owner` no longer holds are skipped;
    /// returns the ids that were skipped.
    async fn complete_page_checks(
        &self,
        owner: &str,
        checked_at: DateTime<Utc>,
        checks: &[PageCheck],
    ) -> StoreResult<Vec<PageMonitorId>>;

    /// Give claimed pages back unchecked.
    async fn release_page_claims(&self, owner: &str, ids: &[PageMonitorId]) -> StoreResult<u64>;

    /// The check history of one of the user's monitored pages, newest first.
    async fn page_check_log(
        &self,
        user: UserId,
        monitor: PageMonitorId,
        page: PageRequest,
    ) -> StoreResult<Paged<PageCheckLogEntry>>;

    // ----- notifications -------------------------------------------------------------------

    /// The user's preferences (defaults when never saved).
    async fn notification_preferences(&self, user: UserId) -> StoreResult<NotificationPreferences>;

    /// Save the user's preferences.
    async fn set_notification_preferences(
        &self,
        user: UserId,
        preferences: &NotificationPreferences,
        now: DateTime<Utc>,
    ) -> StoreResult<()>;

    /// Claim a notification for sending, keyed by `(user, dedup_key)`: a new key is recorded
    /// as pending and claimed; a failed one (or a pending one whose lease expired) is claimed
    /// again for a retry; a sent one is never sent twice.
    async fn claim_notification(
        &self,
        notification: &NewNotification,
        owner: &str,
        now: DateTime<Utc>,
        lease: chrono::Duration,
    ) -> StoreResult<NotificationClaim>;

    /// Record how sending a claimed notification ended.
    async fn finish_notification(
        &self,
        id: NotificationId,
        owner: &str,
        result: &NotificationResult,
        now: DateTime<Utc>,
    ) -> StoreResult<()>;

    /// Failed notifications to retry (oldest first).
    async fn failed_notifications(&self, limit: u32) -> StoreResult<Vec<NotificationLogEntry>>;

    /// The user's notifications, newest first.
    async fn notification_log(
        &self,
        user: UserId,
        page: PageRequest,
    ) -> StoreResult<Paged<NotificationLogEntry>>;

    // ----- per-user limits ---------------------------------------------------------------

    /// How many repositories, watched files, mappings and monitored pages the user holds (one
    /// query).
    async fn user_counts(&self, user: UserId) -> StoreResult<UserCounts>;

    /// Takes one `action` for the user when fewer than `limit` were taken in the `window`
    /// before `now` (and records it), else refuses with the time one frees up. Counting and
    /// recording are one transaction: concurrent takers of one user never exceed the limit.
    async fn take_action_slot(
        &self,
        user: UserId,
        action: UserAction,
        now: DateTime<Utc>,
        window: chrono::TimeDelta,
        limit: u32,
    ) -> StoreResult<ActionSlot>;

    // ----- dashboard, metrics, maintenance -------------------------------------------------

    /// Everything the user's dashboard shows: counts per repository, the mappings needing
    /// attention, failing files and monitored pages (each up to `limits.items`), and the
    /// `limits.recent` newest publishes and notifications.
    async fn dashboard(&self, user: UserId, limits: DashboardLimits) -> StoreResult<Dashboard>;

    /// Count `count` uses of a feature on a day (aggregated; no user is recorded).
    async fn record_usage(&self, day: NaiveDate, feature: &str, count: u64) -> StoreResult<()>;

    /// Usage counts for days in `from..=to`, by day then feature.
    async fn usage_metrics(&self, from: NaiveDate, to: NaiveDate) -> StoreResult<Vec<UsageCount>>;

    /// Delete check, quota and notification log rows older than `cutoff` (publish_log is
    /// never deleted); with `dry_run`, only count them.
    async fn purge_logs(
        &self,
        cutoff: DateTime<Utc>,
        dry_run: bool,
    ) -> StoreResult<RetentionReport>;

    /// Find rows whose parent row is gone and delete them (or, with `dry_run`, count them).
    async fn clean_orphans(&self, dry_run: bool) -> StoreResult<OrphanReport>;
}

//! Row types read by the backends (`FromRow`, generic over both drivers) and their mapping to
//! domain types, plus the time encoding (BIGINT milliseconds since the epoch, UTC).

use std::collections::BTreeSet;

use chrono::{DateTime, NaiveDate, Utc};
use sqlx::FromRow;

use crate::error::{StoreError, StoreResult};
use crate::model::*;
use crate::text::{Plain, Text};

/// Milliseconds since the epoch, the stored form of every timestamp.
pub(crate) fn ms(at: DateTime<Utc>) -> i64 {
    at.timestamp_millis()
}

/// A stored timestamp back to UTC time.
pub(crate) fn time(ms: i64) -> StoreResult<DateTime<Utc>> {
    DateTime::from_timestamp_millis(ms)
        .ok_or_else(|| StoreError::Corrupt(format!("timestamp {ms} ms is out of range")))
}

fn opt_time(ms: Option<i64>) -> StoreResult<Option<DateTime<Utc>>> {
    ms.map(time).transpose()
}

fn opt_parse<T>(text: Option<&str>, parse: fn(&str) -> StoreResult<T>) -> StoreResult<Option<T>> {
    text.map(parse).transpose()
}

/// Days are stored as `YYYY-MM-DD`.
pub(crate) fn day_text(day: NaiveDate) -> String {
    day.format("%Y-%m-%d").to_string()
}

#[derive(FromRow)]
pub(crate) struct UserRow {
    id: i64,
    central_id: Text,
    username: Text,
    created_at: i64,
    last_login_at: i64,
}

impl UserRow {
    pub(crate) const COLUMNS: &'static str = "id, central_id, username, created_at, last_login_at";

    pub(crate) fn into_domain(self) -> StoreResult<User> {
        Ok(User {
            id: UserId(self.id),
            central_id: self.central_id.plain(),
            username: self.username.plain(),
            created_at: time(self.created_at)?,
            last_login_at: time(self.last_login_at)?,
        })
    }
}

#[derive(FromRow)]
pub(crate) struct RepositoryRow {
    id: i64,
    user_id: i64,
    forge: Text,
    host: Text,
    full_name: Text,
    repo_url: Text,
    branch: Text,
    head_sha: Option<Text>,
    etag: Option<Text>,
    last_checked_at: Option<i64>,
    last_status: Option<Text>,
    next_check_at: i64,
    created_at: i64,
}

impl RepositoryRow {
    pub(crate) const COLUMNS: &'static str = "r.id, r.user_id, r.forge, r.host, r.full_name, \
        r.repo_url, r.branch, r.head_sha, r.etag, r.last_checked_at, r.last_status, r.next_check_at, \
        r.created_at";

    pub(crate) fn into_domain(self) -> StoreResult<Repository> {
        Ok(Repository {
            id: RepositoryId(self.id),
            user_id: UserId(self.user_id),
            forge: Forge::parse(&self.forge)?,
            host: self.host.plain(),
            full_name: self.full_name.plain(),
            url: self.repo_url.plain(),
            branch: self.branch.plain(),
            head_sha: self.head_sha.plain(),
            etag: self.etag.plain(),
            last_checked_at: opt_time(self.last_checked_at)?,
            last_status: opt_parse(self.last_status.as_deref(), RepositoryCheckStatus::parse)?,
            next_check_at: time(self.next_check_at)?,
            created_at: time(self.created_at)?,
        })
    }
}

#[derive(FromRow)]
pub(crate) struct WatchedFileRow {
    id: i64,
    repository_id: i64,
    path: Text,
    last_blob_sha: Option<Text>,
    last_checked_at: Option<i64>,
    last_status: Option<Text>,
    created_at: i64,
}

impl WatchedFileRow {
    pub(crate) const COLUMNS: &'static str = "f.id, f.repository_id, f.path, f.last_blob_sha, \
        f.last_checked_at, f.last_status, f.created_at";

    pub(crate) fn into_domain(self) -> StoreResult<WatchedFile> {
        Ok(WatchedFile {
            id: WatchedFileId(self.id),
            repository_id: RepositoryId(self.repository_id),
            path: self.path.plain(),
            last_blob_sha: self.last_blob_sha.plain(),
            last_checked_at: opt_time(self.last_checked_at)?,
            last_status: opt_parse(self.last_status.as_deref(), FileCheckStatus::parse)?,
            created_at: time(self.created_at)?,
        })
    }
}

#[derive(FromRow)]
pub(crate) struct MappingRow {
    id: i64,
    watched_file_id: i64,
    wiki: Text,
    page_title: Text,
    publish_enabled: bool,
    allow_create: bool,
    add_banner: bool,
    last_published_blob_sha: Option<Text>,
    last_published_commit_sha: Option<Text>,
    last_published_revid: Option<i64>,
    last_published_at: Option<i64>,
    created_at: i64,
}

impl MappingRow {
    pub(crate) const COLUMNS: &'static str = "m.id, m.watched_file_id, m.wiki, m.page_title, \
        m.publish_enabled, m.allow_create, m.add_banner, m.last_published_blob_sha, \
        m.last_published_commit_sha, m.last_published_revid, m.last_published_at, m.created_at";

    pub(crate) fn into_domain(self) -> StoreResult<Mapping> {
        let last_published = match (
            self.last_published_blob_sha,
            self.last_published_commit_sha,
            self.last_published_revid,
            self.last_published_at,
        ) {
            (Some(blob_sha), Some(commit_sha), Some(revid), Some(at)) => Some(PublishedState {
                blob_sha: blob_sha.plain(),
                commit_sha: commit_sha.plain(),
                revid,
                at: time(at)?,
            }),
            _ => None,
        };
        Ok(Mapping {
            id: MappingId(self.id),
            watched_file_id: WatchedFileId(self.watched_file_id),
            wiki: self.wiki.plain(),
            page_title: self.page_title.plain(),
            options: MappingOptions {
                publish_enabled: self.publish_enabled,
                allow_create: self.allow_create,
                add_banner: self.add_banner,
            },
            last_published,
            created_at: time(self.created_at)?,
        })
    }
}

#[derive(FromRow)]
pub(crate) struct MappingStatusRow {
    #[sqlx(flatten)]
    mapping: MappingRow,
    file_path: Text,
    repository_id: i64,
    repository_url: Text,
    state: Text,
}

impl MappingStatusRow {
    pub(crate) fn into_domain(self) -> StoreResult<MappingStatus> {
        Ok(MappingStatus {
            mapping: self.mapping.into_domain()?,
            file_path: self.file_path.plain(),
            repository_id: RepositoryId(self.repository_id),
            repository_url: self.repository_url.plain(),
            state: MappingSyncState::parse(&self.state)?,
        })
    }
}

#[derive(FromRow)]
pub(crate) struct FailingFileRow {
    #[sqlx(flatten)]
    file: WatchedFileRow,
    repository_url: Text,
}

impl FailingFileRow {
    pub(crate) fn into_domain(self) -> StoreResult<FailingFile> {
        Ok(FailingFile {
            file: self.file.into_domain()?,
            repository_url: self.repository_url.plain(),
        })
    }
}

#[derive(FromRow)]
pub(crate) struct PageMonitorRow {
    id: i64,
    user_id: i64,
    wiki: Text,
    page_title: Text,
    origin: Text,
    last_revid: Option<i64>,
    last_checked_at: Option<i64>,
    last_status: Option<Text>,
    next_check_at: i64,
    created_at: i64,
}

impl PageMonitorRow {
    pub(crate) const COLUMNS: &'static str = "p.id, p.user_id, p.wiki, p.page_title, \
        p.origin, p.last_revid, p.last_checked_at, p.last_status, p.next_check_at, p.created_at";

    pub(crate) fn into_domain(self) -> StoreResult<PageMonitor> {
        Ok(PageMonitor {
            id: PageMonitorId(self.id),
            user_id: UserId(self.user_id),
            wiki: self.wiki.plain(),
            page_title: self.page_title.plain(),
            origin: MonitorOrigin::parse(&self.origin)?,
            last_revid: self.last_revid,
            last_checked_at: opt_time(self.last_checked_at)?,
            last_status: opt_parse(self.last_status.as_deref(), PageCheckStatus::parse)?,
            next_check_at: time(self.next_check_at)?,
            created_at: time(self.created_at)?,
        })
    }
}

#[derive(FromRow)]
pub(crate) struct FileCheckLogRow {
    id: i64,
    watched_file_id: i64,
    checked_at: i64,
    status: Text,
    old_blob_sha: Option<Text>,
    new_blob_sha: Option<Text>,
    commit_sha: Option<Text>,
    detail: Option<Text>,
}

impl FileCheckLogRow {
    pub(crate) const COLUMNS: &'static str = "l.id, l.watched_file_id, l.checked_at, l.status, \
        l.old_blob_sha, l.new_blob_sha, l.commit_sha, l.detail";

    pub(crate) fn into_domain(self) -> StoreResult<FileCheckLogEntry> {
        Ok(FileCheckLogEntry {
            id: self.id,
            watched_file_id: WatchedFileId(self.watched_file_id),
            checked_at: time(self.checked_at)?,
            status: FileCheckStatus::parse(&self.status)?,
            old_blob_sha: self.old_blob_sha.plain(),
            new_blob_sha: self.new_blob_sha.plain(),
            commit_sha: self.commit_sha.plain(),
            detail: self.detail.plain(),
        })
    }
}

#[derive(FromRow)]
pub(crate) struct PageCheckLogRow {
    id: i64,
    page_monitor_id: i64,
    checked_at: i64,
    status: Text,
    old_revid: Option<i64>,
    new_revid: Option<i64>,
    detail: Option<Text>,
}

impl PageCheckLogRow {
    pub(crate) const COLUMNS: &'static str =
        "l.id, l.page_monitor_id, l.checked_at, l.status, l.old_revid, l.new_revid, l.detail";

    pub(crate) fn into_domain(self) -> StoreResult<PageCheckLogEntry> {
        Ok(PageCheckLogEntry {
            id: self.id,
            page_monitor_id: PageMonitorId(self.page_monitor_id),
            checked_at: time(self.checked_at)?,
            status: PageCheckStatus::parse(&self.status)?,
            old_revid: self.old_revid,
            new_revid: self.new_revid,
            detail: self.detail.plain(),
        })
    }
}

#[derive(FromRow)]
pub(crate) struct ApiQuotaRow {
    host: Text,
    resource: Text,
    quota_limit: i64,
    remaining: i64,
    reset_at: Option<i64>,
    recorded_at: i64,
}

impl ApiQuotaRow {
    pub(crate) const COLUMNS: &'static str =
        "host, resource, quota_limit, remaining, reset_at, recorded_at";

    pub(crate) fn into_domain(self) -> StoreResult<ApiQuotaSnapshot> {
        Ok(ApiQuotaSnapshot {
            host: self.host.plain(),
            resource: self.resource.plain(),
            limit: self.quota_limit,
            remaining: self.remaining,
            reset_at: opt_time(self.reset_at)?,
            recorded_at: time(self.recorded_at)?,
        })
    }
}

#[derive(FromRow)]
pub(crate) struct PublishTaskRow {
    id: i64,
    user_id: i64,
    status: Text,
    reason: Option<Text>,
    started_at: Option<i64>,
    finished_at: Option<i64>,
}

impl PublishTaskRow {
    pub(crate) const COLUMNS: &'static str = "id, user_id, status, reason, started_at, finished_at";

    pub(crate) fn into_domain(self) -> StoreResult<PublishTask> {
        Ok(PublishTask {
            id: PublishTaskId(self.id),
            user_id: UserId(self.user_id),
            status: PublishTaskStatus::parse(&self.status)?,
            reason: self.reason.plain(),
            started_at: opt_time(self.started_at)?,
            finished_at: opt_time(self.finished_at)?,
        })
    }
}

#[derive(FromRow)]
pub(crate) struct PublishLogRow {
    id: i64,
    user_id: i64,
    mapping_id: Option<i64>,
    task_id: Option<i64>,
    created_at: i64,
    outcome: Text,
    dry_run: bool,
    wiki: Text,
    page_title: Text,
    repo_url: Option<Text>,
    branch: Option<Text>,
    file_path: Option<Text>,
    commit_sha: Option<Text>,
    blob_sha: Option<Text>,
    base_revid: Option<i64>,
    new_revid: Option<i64>,
    message: Option<Text>,
    content_sha1: Option<Text>,
}

impl PublishLogRow {
    pub(crate) const COLUMNS: &'static str = "id, user_id, mapping_id, task_id, created_at, \
        outcome, dry_run, wiki, page_title, repo_url, branch, file_path, commit_sha, blob_sha, \
        base_revid, new_revid, message, content_sha1";

    pub(crate) fn into_domain(self) -> StoreResult<PublishLogEntry> {
        Ok(PublishLogEntry {
            id: PublishLogId(self.id),
            entry: NewPublishLogEntry {
                user_id: UserId(self.user_id),
                mapping_id: self.mapping_id.map(MappingId),
                task_id: self.task_id.map(PublishTaskId),
                at: time(self.created_at)?,
                outcome: PublishOutcome::parse(&self.outcome)?,
                dry_run: self.dry_run,
                wiki: self.wiki.plain(),
                page_title: self.page_title.plain(),
                repo_url: self.repo_url.plain(),
                branch: self.branch.plain(),
                file_path: self.file_path.plain(),
                commit_sha: self.commit_sha.plain(),
                blob_sha: self.blob_sha.plain(),
                base_revid: self.base_revid,
                new_revid: self.new_revid,
                message: self.message.plain(),
                content_sha1: self.content_sha1.plain(),
            },
        })
    }
}

#[derive(FromRow)]
pub(crate) struct CredentialRow {
    id: i64,
    user_id: i64,
    wiki: Text,
    bot_username: Text,
    ciphertext: Text,
    saved_at: i64,
}

impl CredentialRow {
    pub(crate) const COLUMNS: &'static str =
        "id, user_id, wiki, bot_username, ciphertext, saved_at";

    pub(crate) fn into_domain(self) -> StoreResult<StoredCredential> {
        Ok(StoredCredential {
            id: CredentialId(self.id),
            user_id: UserId(self.user_id),
            wiki: self.wiki.plain(),
            bot_username: self.bot_username.plain(),
            ciphertext: self.ciphertext.plain(),
            saved_at: time(self.saved_at)?,
        })
    }
}

#[derive(FromRow)]
pub(crate) struct CredentialSummaryRow {
    id: i64,
    wiki: Text,
    bot_username: Text,
    saved_at: i64,
}

impl CredentialSummaryRow {
    pub(crate) const COLUMNS: &'static str = "id, wiki, bot_username, saved_at";

    pub(crate) fn into_domain(self) -> StoreResult<CredentialSummary> {
        Ok(CredentialSummary {
            id: CredentialId(self.id),
            wiki: self.wiki.plain(),
            bot_username: self.bot_username.plain(),
            saved_at: time(self.saved_at)?,
        })
    }
}

#[derive(FromRow)]
pub(crate) struct PreferencesRow {
    home_wiki: Option<Text>,
    digest: bool,
    disabled_event_kinds: Text,
}

impl PreferencesRow {
    pub(crate) fn into_domain(self) -> NotificationPreferences {
        NotificationPreferences {
            home_wiki: self.home_wiki.plain(),
            digest: self.digest,
            disabled_event_kinds: self
                .disabled_event_kinds
                .split(',')
                .filter(|kind| !kind.is_empty())
                .map(str::to_owned)
                .collect::<BTreeSet<_>>(),
        }
    }
}

#[derive(FromRow)]
pub(crate) struct NotificationRow {
    id: i64,
    user_id: i64,
    dedup_key: Text,
    event_kind: Text,
    subject: Text,
    body: Text,
    status: Text,
    attempts: i64,
    posted_wiki: Option<Text>,
    posted_revid: Option<i64>,
    error: Option<Text>,
    created_at: i64,
    updated_at: i64,
}

impl NotificationRow {
    pub(crate) const COLUMNS: &'static str = "id, user_id, dedup_key, event_kind, subject, body, \
        status, attempts, posted_wiki, posted_revid, error, created_at, updated_at";

    pub(crate) fn into_domain(self) -> StoreResult<NotificationLogEntry> {
        Ok(NotificationLogEntry {
            id: NotificationId(self.id),
            user_id: UserId(self.user_id),
            dedup_key: self.dedup_key.plain(),
            event_kind: self.event_kind.plain(),
            subject: self.subject.plain(),
            body: self.body.plain(),
            status: NotificationStatus::parse(&self.status)?,
            attempts: self.attempts,
            posted_wiki: self.posted_wiki.plain(),
            posted_revid: self.posted_revid,
            error: self.error.plain(),
            created_at: time(self.created_at)?,
            updated_at: time(self.updated_at)?,
        })
    }
}

#[derive(FromRow)]
pub(crate) struct UsageRow {
    day: Text,
    feature: Text,
    visit_count: i64,
}

impl UsageRow {
    pub(crate) fn into_domain(self) -> StoreResult<UsageCount> {
        Ok(UsageCount {
            day: NaiveDate::parse_from_str(&self.day, "%Y-%m-%d")
                .map_err(|error| StoreError::Corrupt(format!("day `{}`: {error}", &*self.day)))?,
            feature: self.feature.plain(),
            count: self.visit_count,
        })
    }
}

/// Map every row, stopping at the first that does not fit.
pub(crate) fn map_rows<R, T>(
    rows: Vec<R>,
    f: impl FnMut(R) -> StoreResult<T>,
) -> StoreResult<Vec<T>> {
    rows.into_iter().map(f).collect()
}

#[derive(FromRow)]
pub(crate) struct KnownWikiRow {
    wiki: Text,
    api_url: Text,
    wiki_id: Text,
    server: Text,
    sitename: Text,
    language: Text,
    namespaces: Text,
    resolved_at: i64,
}

impl KnownWikiRow {
    pub(crate) const COLUMNS: &'static str = "w.wiki, w.api_url, w.wiki_id, w.server, w.sitename, w.language, w.namespaces, w.resolved_at";

    pub(crate) fn into_domain(self) -> StoreResult<KnownWiki> {
        Ok(KnownWiki {
            key: self.wiki.plain(),
            api_url: self.api_url.plain(),
            wiki_id: self.wiki_id.plain(),
            server: self.server.plain(),
            sitename: self.sitename.plain(),
            language: self.language.plain(),
            namespaces: self.namespaces.plain(),
            resolved_at: time(self.resolved_at)?,
        })
    }
}

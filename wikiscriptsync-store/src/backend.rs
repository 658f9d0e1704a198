//! The two backends, SQLite and MariaDB. Their behaviour is written once (the
//! `impl_store!` macro below); what differs per engine is data: the [`Dialect`] SQL strings
//! (upserts, `FOR UPDATE SKIP LOCKED`) and how a write transaction begins (`BEGIN IMMEDIATE`
//! on SQLite so concurrent writers queue instead of deadlocking).

use std::collections::HashMap;
use std::str::FromStr;
use std::time::Duration;

use async_trait::async_trait;
use chrono::{DateTime, NaiveDate, Utc};
use sqlx::migrate::{Migrate, Migrator};
use sqlx::mysql::{MySql, MySqlConnectOptions, MySqlConnection, MySqlPool, MySqlPoolOptions};
use sqlx::sqlite::{
    Sqlite, SqliteConnectOptions, SqliteConnection, SqliteJournalMode, SqlitePool,
    SqlitePoolOptions, SqliteSynchronous,
};
use sqlx::{Connection, Transaction};

use crate::error::{DbErrorKind, StoreError, StoreResult, classify, from_connect, from_query};
use crate::model::*;
use crate::rows::*;
use crate::settings::{DatabaseUrl, MigrationPolicy, StoreSettings};
use crate::store::{PUBLISH_TASK_EXPIRY, Store};
use crate::text::{Plain, Text};

static SQLITE_MIGRATOR: Migrator = sqlx::migrate!("migrations/sqlite");
static MYSQL_MIGRATOR: Migrator = sqlx::migrate!("migrations/mysql");

/// How often an operation that hit a deadlock or a lock race is retried.
const MAX_ATTEMPTS: u32 = 8;
/// Largest page of a paginated listing.
const MAX_PAGE: u32 = 500;

/// The SQL that differs between the engines.
pub(crate) struct Dialect {
    upsert_user: &'static str,
    upsert_credential: &'static str,
    upsert_preferences: &'static str,
    upsert_usage: &'static str,
    insert_notification_if_absent: &'static str,
    /// Appended to the "what is due" SELECT inside a claim transaction.
    claim_lock_suffix: &'static str,
    /// Statement that opens a write transaction (None: the driver's default `BEGIN`).
    begin_write: Option<&'static str>,
}

const SQLITE: Dialect = Dialect {
    upsert_user: "INSERT INTO users (central_id, username, created_at, last_login_at) \
        VALUES (?, ?, ?, ?) ON CONFLICT (central_id) DO UPDATE SET \
        username = excluded.username, last_login_at = excluded.last_login_at",
    upsert_credential: "INSERT INTO publish_botcredential \
        (user_id, wiki, bot_username, ciphertext, saved_at) VALUES (?, ?, ?, ?, ?) \
        ON CONFLICT (user_id, wiki) DO UPDATE SET bot_username = excluded.bot_username, \
        ciphertext = excluded.ciphertext, saved_at = excluded.saved_at",
    upsert_preferences: "INSERT INTO notifications_userpreference \
        (user_id, home_wiki, digest, disabled_event_kinds, updated_at) VALUES (?, ?, ?, ?, ?) \
        ON CONFLICT (user_id) DO UPDATE SET home_wiki = excluded.home_wiki, \
        digest = excluded.digest, disabled_event_kinds = excluded.disabled_event_kinds, \
        updated_at = excluded.updated_at",
    upsert_usage: "INSERT INTO accounts_toolvisit (day, feature, visit_count) VALUES (?, ?, ?) \
        ON CONFLICT (day, feature) DO UPDATE SET visit_count = visit_count + excluded.visit_count",
    insert_notification_if_absent: "INSERT INTO notifications_notificationlog \
        (user_id, dedup_key, event_kind, subject, body, status, attempts, created_at, updated_at) \
        VALUES (?, ?, ?, ?, ?, 'pending', 0, ?, ?) ON CONFLICT (user_id, dedup_key) DO NOTHING",
    claim_lock_suffix: "",
    begin_write: Some("BEGIN IMMEDIATE"),
};

const MYSQL: Dialect = Dialect {
    upsert_user: "INSERT INTO users (central_id, username, created_at, last_login_at) \
        VALUES (?, ?, ?, ?) ON DUPLICATE KEY UPDATE \
        username = VALUES(username), last_login_at = VALUES(last_login_at)",
    upsert_credential: "INSERT INTO publish_botcredential \
        (user_id, wiki, bot_username, ciphertext, saved_at) VALUES (?, ?, ?, ?, ?) \
        ON DUPLICATE KEY UPDATE bot_username = VALUES(bot_username), \
        ciphertext = VALUES(ciphertext), saved_at = VALUES(saved_at)",
    upsert_preferences: "INSERT INTO notifications_userpreference \
        (user_id, home_wiki, digest, disabled_event_kinds, updated_at) VALUES (?, ?, ?, ?, ?) \
        ON DUPLICATE KEY UPDATE home_wiki = VALUES(home_wiki), digest = VALUES(digest), \
        disabled_event_kinds = VALUES(disabled_event_kinds), updated_at = VALUES(updated_at)",
    upsert_usage: "INSERT INTO accounts_toolvisit (day, feature, visit_count) VALUES (?, ?, ?) \
        ON DUPLICATE KEY UPDATE visit_count = visit_count + VALUES(visit_count)",
    insert_notification_if_absent: "INSERT INTO notifications_notificationlog \
        (user_id, dedup_key, event_kind, subject, body, status, attempts, created_at, updated_at) \
        VALUES (?, ?, ?, ?, ?, 'pending', 0, ?, ?) ON DUPLICATE KEY UPDATE id = id",
    claim_lock_suffix: " FOR UPDATE SKIP LOCKED",
    begin_write: None,
};

// ----- shared SQL ---------------------------------------------------------------------------

const OWNED_FILE_IDS: &str = "SELECT f.id FROM sync_watchedfile f \
    JOIN sync_trackedrepository r ON r.id = f.repository_id WHERE r.user_id = ?";

/// Every mapping of a user with its file, repository and [`MappingSyncState`], as a derived
/// table `s` both engines read. The state is decided here, once: publishing off; never
/// published; a page monitor of the same user saw a newer revision than our last publish
/// (someone edited the page); the file's last checked blob is not the published one; else in
/// sync. The caller appends `WHERE`/`ORDER BY` on `s`'s columns.
fn mapping_status_sql(columns: &str) -> String {
    format!(
        "SELECT {columns} FROM (SELECT {mapping}, f.path AS file_path, \
         r.id AS repository_id, r.repo_url AS repository_url, \
         CASE WHEN m.publish_enabled = 0 THEN 'off' \
         WHEN m.last_published_revid IS NULL THEN 'never_published' \
         WHEN EXISTS (SELECT 1 FROM wiki_monitor_pagemonitor pm WHERE pm.user_id = r.user_id \
             AND pm.wiki = m.wiki AND pm.page_title = m.page_title \
             AND pm.last_revid > m.last_published_revid) THEN 'changed_on_wiki' \
         WHEN f.last_blob_sha IS NULL OR f.last_blob_sha <> m.last_published_blob_sha \
             THEN 'file_changed' \
         ELSE 'in_sync' END AS state \
         FROM sync_filemapping m \
         JOIN sync_watchedfile f ON f.id = m.watched_file_id \
         JOIN sync_trackedrepository r ON r.id = f.repository_id \
         WHERE r.user_id = ?) s",
        mapping = MappingRow::COLUMNS
    )
}

/// Page checks that saw something the user should look at.
const NOTABLE_PAGE_STATUSES: &str = "('changed', 'deleted', 'moved', 'error')";
/// File checks that failed.
const FAILING_FILE_STATUSES: &str = "('missing', 'error')";

/// Child tables and the parent each row needs, parents before children.
const ORPHAN_RELATIONS: [(&str, &str, &str); 10] = [
    ("sync_trackedrepository", "user_id", "users"),
    ("wiki_monitor_pagemonitor", "user_id", "users"),
    ("publish_botcredential", "user_id", "users"),
    ("publish_task", "user_id", "users"),
    ("notifications_notificationlog", "user_id", "users"),
    ("notifications_userpreference", "user_id", "users"),
    (
        "sync_watchedfile",
        "repository_id",
        "sync_trackedrepository",
    ),
    ("sync_filemapping", "watched_file_id", "sync_watchedfile"),
    ("sync_filechecklog", "watched_file_id", "sync_watchedfile"),
    (
        "wiki_monitor_wikipage_checklog",
        "page_monitor_id",
        "wiki_monitor_pagemonitor",
    ),
];

/// Log tables retention applies to, with their time column.
const RETAINED_LOGS: [(&str, &str); 4] = [
    ("sync_filechecklog", "checked_at"),
    ("wiki_monitor_wikipage_checklog", "checked_at"),
    ("sync_apiquotalog", "recorded_at"),
    ("notifications_notificationlog", "created_at"),
];

/// `?, ?, ?` for `n` values.
fn placeholders(n: usize) -> String {
    vec!["?"; n].join(", ")
}

fn check_page(page: PageRequest) -> StoreResult<(i64, i64)> {
    if page.limit == 0 || page.limit > MAX_PAGE {
        return Err(StoreError::InvalidInput(format!(
            "page size {} is out of range 1..={MAX_PAGE}",
            page.limit
        )));
    }
    Ok((page.before_id.unwrap_or(i64::MAX), i64::from(page.limit)))
}

/// Turn one page of rows (fetched with `limit + 1`) into a [`Paged`].
fn paged<T>(mut items: Vec<T>, page: PageRequest, id: impl Fn(&T) -> i64) -> Paged<T> {
    let limit = page.limit as usize;
    let next = if items.len() > limit {
        items.truncate(limit);
        items.last().map(|last| PageRequest {
            before_id: Some(id(last)),
            limit: page.limit,
        })
    } else {
        None
    };
    Paged { items, next }
}

fn check_claim(claim: &ClaimRequest) -> StoreResult<()> {
    if claim.owner.is_empty() || claim.owner.len() > 64 {
        return Err(StoreError::InvalidInput(
            "the claim owner must be 1 to 64 characters (e.g. host:pid:start)".to_owned(),
        ));
    }
    if claim.limit == 0 {
        return Err(StoreError::InvalidInput(
            "the claim limit must be at least 1".to_owned(),
        ));
    }
    if claim.lease <= chrono::Duration::zero() {
        return Err(StoreError::InvalidInput(
            "the lease must be positive".to_owned(),
        ));
    }
    Ok(())
}

fn check_event_kind(kind: &str) -> StoreResult<()> {
    let valid = !kind.is_empty()
        && kind.len() <= 32
        && kind
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_');
    if valid {
        Ok(())
    } else {
        Err(StoreError::InvalidInput(format!(
            "event kind `{kind}` must be 1 to 32 characters of a-z, 0-9 and _"
        )))
    }
}

/// Map a unique violation to [`StoreError::AlreadyExists`], anything else as usual.
fn unique_as(what: &'static str) -> impl Fn(sqlx::Error) -> StoreError {
    move |error| match classify(&error) {
        DbErrorKind::UniqueViolation => StoreError::AlreadyExists { what },
        _ => from_query(error),
    }
}

/// The outcome of one try of an operation that may lose a race and be retried.
enum Attempt<T> {
    Done(T),
    Retry,
}

/// Errors worth another try: deadlocks, lock timeouts, SQLITE_BUSY.
fn is_transient(error: &StoreError) -> bool {
    matches!(error, StoreError::Contention(_))
}

async fn backoff(attempt: u32) {
    // Short and jittered by attempt number: contention here is between a handful of processes.
    tokio::time::sleep(Duration::from_millis(u64::from(2 + attempt * 3))).await;
}

/// Applied migration versions unknown to `migrator` mean a newer binary migrated the database.
fn schema_status(migrator: &Migrator, applied: &[i64]) -> StoreResult<usize> {
    let known: Vec<i64> = migrator
        .iter()
        .filter(|m| !m.migration_type.is_down_migration())
        .map(|m| m.version)
        .collect();
    let newest_known = known.iter().copied().max().unwrap_or(0);
    if let Some(unknown) = applied.iter().copied().filter(|v| !known.contains(v)).max() {
        return Err(StoreError::SchemaNewer {
            applied: unknown,
            known: newest_known,
        });
    }
    Ok(known.iter().filter(|v| !applied.contains(v)).count())
}

fn migration_error(error: sqlx::migrate::MigrateError) -> StoreError {
    match error {
        // Not a migration problem but a database one (server gone, pool exhausted, ...).
        sqlx::migrate::MigrateError::Execute(inner) => match from_query(inner) {
            StoreError::Database(detail) => StoreError::Migration(detail),
            other => other,
        },
        other => StoreError::Migration(other.to_string()),
    }
}

macro_rules! impl_store {
    ($store:ident, $db:ty, $conn:ty, $dialect:expr, $migrator:expr, $name:literal) => {
        impl $store {
            const DIALECT: &'static Dialect = &$dialect;

            async fn begin_write(&self) -> StoreResult<Transaction<'static, $db>> {
                match Self::DIALECT.begin_write {
                    Some(statement) => self.pool.begin_with(statement).await,
                    None => self.pool.begin().await,
                }
                .map_err(from_query)
            }

            /// Versions recorded in `_sqlx_migrations` (creating that table if needed).
            async fn applied_versions(&self) -> StoreResult<Vec<i64>> {
                let mut conn = self.pool.acquire().await.map_err(from_query)?;
                let conn: &mut $conn = &mut conn;
                conn.ensure_migrations_table().await.map_err(migration_error)?;
                if let Some(version) = conn.dirty_version().await.map_err(migration_error)? {
                    return Err(StoreError::Migration(format!(
                        "migration {version} failed part-way earlier; fix the cause and \
                         repair the schema, then run `wikiscriptsync migrate` again"
                    )));
                }
                Ok(conn
                    .list_applied_migrations()
                    .await
                    .map_err(migration_error)?
                    .into_iter()
                    .map(|m| m.version)
                    .collect())
            }

            async fn prepare_schema(&self, policy: MigrationPolicy) -> StoreResult<()> {
                match policy {
                    MigrationPolicy::Apply => self.migrate().await.map(|_| ()),
                    MigrationPolicy::RequireCurrent => self.health().await,
                }
            }

            async fn try_acquire(
                &self,
                user: UserId,
                now: DateTime<Utc>,
            ) -> StoreResult<Attempt<PublishLock>> {
                let mut tx = self.begin_write().await?;
                let running: Option<(i64, Option<i64>)> = sqlx::query_as(
                    "SELECT id, started_at FROM publish_task WHERE running_user_id = ?",
                )
                .bind(user.0)
                .fetch_optional(&mut *tx)
                .await
                .map_err(from_query)?;
                let mut expired = None;
                if let Some((id, started_at)) = running {
                    let started_at = started_at.unwrap_or(0);
                    if started_at >= ms(now - PUBLISH_TASK_EXPIRY) {
                        return Ok(Attempt::Done(PublishLock::Busy {
                            task: PublishTaskId(id),
                            running_since: time(started_at)?,
                        }));
                    }
                    let done = sqlx::query(
                        "UPDATE publish_task SET status = 'FAILED', reason = 'expired', \
                         finished_at = ?, running_user_id = NULL \
                         WHERE id = ? AND status = 'RUNNING'",
                    )
                    .bind(ms(now))
                    .bind(id)
                    .execute(&mut *tx)
                    .await
                    .map_err(from_query)?;
                    if done.rows_affected() != 1 {
                        // Someone else expired it first; look again.
                        return Ok(Attempt::Retry);
                    }
                    expired = Some(PublishTaskId(id));
                }
                let inserted: Result<(i64,), sqlx::Error> = sqlx::query_as(
                    "INSERT INTO publish_task \
                     (user_id, status, created_at, started_at, running_user_id) \
                     VALUES (?, 'RUNNING', ?, ?, ?) RETURNING id",
                )
                .bind(user.0)
                .bind(ms(now))
                .bind(ms(now))
                .bind(user.0)
                .fetch_one(&mut *tx)
                .await;
                match inserted {
                    Ok((id,)) => {
                        tx.commit().await.map_err(from_query)?;
                        Ok(Attempt::Done(PublishLock::Acquired {
                            task: PublishTaskId(id),
                            expired,
                        }))
                    }
                    // A concurrent acquirer won between our read and our insert.
                    Err(error) if matches!(classify(&error), DbErrorKind::UniqueViolation) => {
                        Ok(Attempt::Retry)
                    }
                    Err(error) => Err(from_query(error)),
                }
            }

            /// Lock and lease due rows of `table` (only row `only` when given) in one
            /// transaction; returns their ids.
            async fn claim_ids(
                &self,
                table: &str,
                claim: &ClaimRequest,
                only: Option<i64>,
            ) -> StoreResult<Vec<i64>> {
                check_claim(claim)?;
                let now = ms(claim.now);
                let select = format!(
                    "SELECT id FROM {table} WHERE next_check_at <= ? \
                     AND (lease_expires_at IS NULL OR lease_expires_at <= ?){} \
                     ORDER BY next_check_at, id LIMIT ?{}",
                    if only.is_some() { " AND id = ?" } else { "" },
                    Self::DIALECT.claim_lock_suffix
                );
                let mut tx = self.begin_write().await?;
                let mut query = sqlx::query_as(&select).bind(now).bind(now);
                if let Some(id) = only {
                    query = query.bind(id);
                }
                let ids: Vec<(i64,)> = query
                    .bind(i64::from(claim.limit))
                    .fetch_all(&mut *tx)
                    .await
                    .map_err(from_query)?;
                let ids: Vec<i64> = ids.into_iter().map(|(id,)| id).collect();
                if !ids.is_empty() {
                    let update = format!(
                        "UPDATE {table} SET lease_owner = ?, lease_expires_at = ? \
                         WHERE id IN ({})",
                        placeholders(ids.len())
                    );
                    let mut query = sqlx::query(&update)
                        .bind(&claim.owner)
                        .bind(ms(claim.now + claim.lease));
                    for id in &ids {
                        query = query.bind(*id);
                    }
                    query.execute(&mut *tx).await.map_err(from_query)?;
                }
                tx.commit().await.map_err(from_query)?;
                Ok(ids)
            }

            /// Claims due repositories (only `only` when given) with their watched files.
            async fn claim_repositories(
                &self,
                claim: &ClaimRequest,
                only: Option<RepositoryId>,
            ) -> StoreResult<Vec<ClaimedRepository>> {
                let mut attempt = 0;
                let ids = loop {
                    match self
                        .claim_ids("sync_trackedrepository", claim, only.map(|id| id.0))
                        .await
                    {
                        Err(error) if is_transient(&error) && attempt + 1 < MAX_ATTEMPTS => {
                            backoff(attempt).await;
                            attempt += 1;
                        }
                        other => break other?,
                    }
                };
                if ids.is_empty() {
                    return Ok(Vec::new());
                }
                let list = placeholders(ids.len());
                let repo_sql = format!(
                    "SELECT {} FROM sync_trackedrepository r WHERE r.id IN ({list}) \
                     ORDER BY r.next_check_at, r.id",
                    RepositoryRow::COLUMNS
                );
                let file_sql = format!(
                    "SELECT {} FROM sync_watchedfile f WHERE f.repository_id IN ({list}) \
                     ORDER BY f.repository_id, f.path",
                    WatchedFileRow::COLUMNS
                );
                let mut repo_query = sqlx::query_as::<_, RepositoryRow>(&repo_sql);
                let mut file_query = sqlx::query_as::<_, WatchedFileRow>(&file_sql);
                for id in &ids {
                    repo_query = repo_query.bind(*id);
                    file_query = file_query.bind(*id);
                }
                let repos = repo_query.fetch_all(&self.pool).await.map_err(from_query)?;
                let files = file_query.fetch_all(&self.pool).await.map_err(from_query)?;
                let mut by_repo: HashMap<RepositoryId, Vec<WatchedFile>> = HashMap::new();
                for file in map_rows(files, WatchedFileRow::into_domain)? {
                    by_repo.entry(file.repository_id).or_default().push(file);
                }
                map_rows(repos, |row| {
                    let repository = row.into_domain()?;
                    let files = by_repo.remove(&repository.id).unwrap_or_default();
                    Ok(ClaimedRepository { repository, files })
                })
            }

            async fn release_claims(&self, table: &str, owner: &str, ids: &[i64]) -> StoreResult<u64> {
                if ids.is_empty() {
                    return Ok(0);
                }
                let sql = format!(
                    "UPDATE {table} SET lease_owner = NULL, lease_expires_at = NULL \
                     WHERE lease_owner = ? AND id IN ({})",
                    placeholders(ids.len())
                );
                let mut query = sqlx::query(&sql).bind(owner);
                for id in ids {
                    query = query.bind(*id);
                }
                Ok(query.execute(&self.pool).await.map_err(from_query)?.rows_affected())
            }

            async fn owned_repositories(
                &self,
                sql: &str,
                bind: i64,
            ) -> StoreResult<Vec<Repository>> {
                let rows: Vec<RepositoryRow> = sqlx::query_as(sql)
                    .bind(bind)
                    .fetch_all(&self.pool)
                    .await
                    .map_err(from_query)?;
                map_rows(rows, RepositoryRow::into_domain)
            }

            async fn mappings_where(
                &self,
                condition: &str,
                binds: &[i64],
            ) -> StoreResult<Vec<Mapping>> {
                let sql = format!(
                    "SELECT {} FROM sync_filemapping m \
                     JOIN sync_watchedfile f ON f.id = m.watched_file_id \
                     JOIN sync_trackedrepository r ON r.id = f.repository_id \
                     WHERE {condition} ORDER BY m.watched_file_id, m.id",
                    MappingRow::COLUMNS
                );
                let mut query = sqlx::query_as::<_, MappingRow>(&sql);
                for bind in binds {
                    query = query.bind(*bind);
                }
                let rows = query.fetch_all(&self.pool).await.map_err(from_query)?;
                map_rows(rows, MappingRow::into_domain)
            }

            /// Insert a page monitor unless the user has one of the page already; the new
            /// row's id, or `None` when it existed.
            async fn insert_monitor(
                conn: &mut $conn,
                user: UserId,
                wiki: &str,
                page_title: &str,
                origin: MonitorOrigin,
                now: DateTime<Utc>,
            ) -> StoreResult<Option<i64>> {
                if wiki.is_empty() || page_title.is_empty() {
                    return Err(StoreError::InvalidInput(
                        "a page monitor needs a wiki and a page title".to_owned(),
                    ));
                }
                let inserted: Result<(i64,), sqlx::Error> = sqlx::query_as(
                    "INSERT INTO wiki_monitor_pagemonitor \
                     (user_id, wiki, page_title, origin, next_check_at, created_at) \
                     VALUES (?, ?, ?, ?, ?, ?) RETURNING id",
                )
                .bind(user.0)
                .bind(wiki)
                .bind(page_title)
                .bind(origin.as_str())
                .bind(ms(now))
                .bind(ms(now))
                .fetch_one(&mut *conn)
                .await;
                match inserted {
                    Ok((id,)) => Ok(Some(id)),
                    // Only the statement fails; a surrounding transaction goes on.
                    Err(error) if matches!(classify(&error), DbErrorKind::UniqueViolation) => {
                        Ok(None)
                    }
                    Err(error) => Err(from_query(error)),
                }
            }

            /// The distinct (wiki, page title) targets of the user's mappings matching
            /// `condition` (on `m`, `f`, `r`, with one bind).
            async fn mapped_pages(
                conn: &mut $conn,
                user: UserId,
                condition: &str,
                bind: i64,
            ) -> StoreResult<Vec<(String, String)>> {
                let sql = format!(
                    "SELECT DISTINCT m.wiki, m.page_title FROM sync_filemapping m \
                     JOIN sync_watchedfile f ON f.id = m.watched_file_id \
                     JOIN sync_trackedrepository r ON r.id = f.repository_id \
                     WHERE r.user_id = ? AND {condition}"
                );
                let pages: Vec<(Text, Text)> = sqlx::query_as(&sql)
                    .bind(user.0)
                    .bind(bind)
                    .fetch_all(&mut *conn)
                    .await
                    .map_err(from_query)?;
                Ok(pages
                    .into_iter()
                    .map(|(wiki, page_title)| (wiki.plain(), page_title.plain()))
                    .collect())
            }

            /// Delete the user's monitors of `pages` that a mapping created and that no
            /// mapping of the user targets any more.
            async fn drop_unmapped_monitors(
                conn: &mut $conn,
                user: UserId,
                pages: &[(String, String)],
            ) -> StoreResult<()> {
                for (wiki, page_title) in pages {
                    sqlx::query(
                        "DELETE FROM wiki_monitor_pagemonitor WHERE user_id = ? AND wiki = ? \
                         AND page_title = ? AND origin = 'mapping' AND NOT EXISTS \
                         (SELECT 1 FROM sync_filemapping m \
                         JOIN sync_watchedfile f ON f.id = m.watched_file_id \
                         JOIN sync_trackedrepository r ON r.id = f.repository_id \
                         WHERE r.user_id = ? AND m.wiki = ? AND m.page_title = ?)",
                    )
                    .bind(user.0)
                    .bind(wiki)
                    .bind(page_title)
                    .bind(user.0)
                    .bind(wiki)
                    .bind(page_title)
                    .execute(&mut *conn)
                    .await
                    .map_err(from_query)?;
                }
                Ok(())
            }

            /// Run `delete` (repository, file or mapping rows of the user, cascading to
            /// mappings) and drop the monitors those mappings created, in one transaction.
            /// `scope` picks the affected mappings as in [`Self::mapped_pages`].
            async fn delete_with_mapping_monitors(
                &self,
                user: UserId,
                scope: &str,
                scope_id: i64,
                delete: &str,
                binds: &[i64],
            ) -> StoreResult<bool> {
                let mut tx = self.begin_write().await?;
                let pages = Self::mapped_pages(&mut tx, user, scope, scope_id).await?;
                let mut query = sqlx::query(delete);
                for bind in binds {
                    query = query.bind(*bind);
                }
                let deleted = query.execute(&mut *tx).await.map_err(from_query)?.rows_affected();
                if deleted > 0 {
                    Self::drop_unmapped_monitors(&mut tx, user, &pages).await?;
                }
                tx.commit().await.map_err(from_query)?;
                Ok(deleted > 0)
            }

            async fn count(&self, sql: &str, binds: &[i64]) -> StoreResult<u64> {
                let mut query = sqlx::query_as::<_, (i64,)>(sql);
                for bind in binds {
                    query = query.bind(*bind);
                }
                let (n,) = query.fetch_one(&self.pool).await.map_err(from_query)?;
                Ok(u64::try_from(n).unwrap_or(0))
            }

            async fn execute(&self, sql: &str, binds: &[i64]) -> StoreResult<u64> {
                let mut query = sqlx::query(sql);
                for bind in binds {
                    query = query.bind(*bind);
                }
                Ok(query.execute(&self.pool).await.map_err(from_query)?.rows_affected())
            }
        }

        #[async_trait]
        impl Store for $store {
            fn backend(&self) -> &'static str {
                $name
            }

            async fn migrate(&self) -> StoreResult<MigrationReport> {
                let before = self.applied_versions().await?;
                schema_status(&$migrator, &before)?;
                $migrator.run(&self.pool).await.map_err(migration_error)?;
                let after = self.applied_versions().await?;
                Ok(MigrationReport {
                    applied: after.iter().copied().filter(|v| !before.contains(v)).collect(),
                    current: after.iter().copied().max(),
                })
            }

            async fn health(&self) -> StoreResult<()> {
                let applied = self.applied_versions().await?;
                match schema_status(&$migrator, &applied)? {
                    0 => Ok(()),
                    pending => Err(StoreError::SchemaNotMigrated { pending }),
                }
            }

            async fn close(&self) {
                self.pool.close().await;
            }

            // ----- users ----------------------------------------------------------------

            async fn upsert_user(
                &self,
                central_id: &str,
                username: &str,
                now: DateTime<Utc>,
            ) -> StoreResult<User> {
                if central_id.is_empty() || username.is_empty() {
                    return Err(StoreError::InvalidInput(
                        "a user needs a central id and a user name".to_owned(),
                    ));
                }
                sqlx::query(Self::DIALECT.upsert_user)
                    .bind(central_id)
                    .bind(username)
                    .bind(ms(now))
                    .bind(ms(now))
                    .execute(&self.pool)
                    .await
                    .map_err(from_query)?;
                self.user_by_central_id(central_id)
                    .await?
                    .ok_or(StoreError::NotFound { what: "user" })
            }

            async fn user(&self, id: UserId) -> StoreResult<Option<User>> {
                let sql = format!("SELECT {} FROM users WHERE id = ?", UserRow::COLUMNS);
                let row: Option<UserRow> = sqlx::query_as(&sql)
                    .bind(id.0)
                    .fetch_optional(&self.pool)
                    .await
                    .map_err(from_query)?;
                row.map(UserRow::into_domain).transpose()
            }

            async fn user_by_central_id(&self, central_id: &str) -> StoreResult<Option<User>> {
                let sql = format!("SELECT {} FROM users WHERE central_id = ?", UserRow::COLUMNS);
                let row: Option<UserRow> = sqlx::query_as(&sql)
                    .bind(central_id)
                    .fetch_optional(&self.pool)
                    .await
                    .map_err(from_query)?;
                row.map(UserRow::into_domain).transpose()
            }

            async fn user_by_name(&self, username: &str) -> StoreResult<Option<User>> {
                // A name can have moved between accounts; the most recent login wins.
                let sql = format!(
                    "SELECT {} FROM users WHERE username = ? ORDER BY last_login_at DESC LIMIT 1",
                    UserRow::COLUMNS
                );
                let row: Option<UserRow> = sqlx::query_as(&sql)
                    .bind(username)
                    .fetch_optional(&self.pool)
                    .await
                    .map_err(from_query)?;
                row.map(UserRow::into_domain).transpose()
            }

            // ----- repositories, files, mappings ---------------------------------------

            async fn add_repository(
                &self,
                user: UserId,
                repository: &NewRepository,
                now: DateTime<Utc>,
            ) -> StoreResult<Repository> {
                if repository.url.is_empty() || repository.branch.is_empty() {
                    return Err(StoreError::InvalidInput(
                        "a repository needs a URL and a branch".to_owned(),
                    ));
                }
                let (id,): (i64,) = sqlx::query_as(
                    "INSERT INTO sync_trackedrepository \
                     (user_id, forge, host, repo_url, branch, next_check_at, created_at) \
                     VALUES (?, ?, ?, ?, ?, ?, ?) RETURNING id",
                )
                .bind(user.0)
                .bind(repository.forge.as_str())
                .bind(&repository.host)
                .bind(&repository.url)
                .bind(&repository.branch)
                .bind(ms(now))
                .bind(ms(now))
                .fetch_one(&self.pool)
                .await
                .map_err(unique_as("a tracked repository with this URL and branch"))?;
                self.repository(user, RepositoryId(id))
                    .await?
                    .ok_or(StoreError::NotFound { what: "repository" })
            }

            async fn repository(
                &self,
                user: UserId,
                id: RepositoryId,
            ) -> StoreResult<Option<Repository>> {
                let sql = format!(
                    "SELECT {} FROM sync_trackedrepository r WHERE r.user_id = ? AND r.id = ?",
                    RepositoryRow::COLUMNS
                );
                let row: Option<RepositoryRow> = sqlx::query_as(&sql)
                    .bind(user.0)
                    .bind(id.0)
                    .fetch_optional(&self.pool)
                    .await
                    .map_err(from_query)?;
                row.map(RepositoryRow::into_domain).transpose()
            }

            async fn list_repositories(&self, user: UserId) -> StoreResult<Vec<Repository>> {
                let sql = format!(
                    "SELECT {} FROM sync_trackedrepository r WHERE r.user_id = ? ORDER BY r.id",
                    RepositoryRow::COLUMNS
                );
                self.owned_repositories(&sql, user.0).await
            }

            async fn remove_repository(&self, user: UserId, id: RepositoryId) -> StoreResult<bool> {
                self.delete_with_mapping_monitors(
                    user,
                    "r.id = ?",
                    id.0,
                    "DELETE FROM sync_trackedrepository WHERE id = ? AND user_id = ?",
                    &[id.0, user.0],
                )
                .await
            }

            async fn watch_file(
                &self,
                user: UserId,
                repository: RepositoryId,
                path: &str,
                now: DateTime<Utc>,
            ) -> StoreResult<WatchedFile> {
                if path.is_empty() {
                    return Err(StoreError::InvalidInput("the file path is empty".to_owned()));
                }
                if self.repository(user, repository).await?.is_none() {
                    return Err(StoreError::NotFound { what: "repository" });
                }
                let (id,): (i64,) = sqlx::query_as(
                    "INSERT INTO sync_watchedfile (repository_id, path, created_at) \
                     VALUES (?, ?, ?) RETURNING id",
                )
                .bind(repository.0)
                .bind(path)
                .bind(ms(now))
                .fetch_one(&self.pool)
                .await
                .map_err(unique_as("a watched file with this path"))?;
                self.watched_file(user, WatchedFileId(id))
                    .await?
                    .ok_or(StoreError::NotFound { what: "watched file" })
            }

            async fn watched_file(
                &self,
                user: UserId,
                id: WatchedFileId,
            ) -> StoreResult<Option<WatchedFile>> {
                let sql = format!(
                    "SELECT {} FROM sync_watchedfile f \
                     JOIN sync_trackedrepository r ON r.id = f.repository_id \
                     WHERE r.user_id = ? AND f.id = ?",
                    WatchedFileRow::COLUMNS
                );
                let row: Option<WatchedFileRow> = sqlx::query_as(&sql)
                    .bind(user.0)
                    .bind(id.0)
                    .fetch_optional(&self.pool)
                    .await
                    .map_err(from_query)?;
                row.map(WatchedFileRow::into_domain).transpose()
            }

            async fn list_watched_files(
                &self,
                user: UserId,
                repository: RepositoryId,
            ) -> StoreResult<Vec<WatchedFile>> {
                let sql = format!(
                    "SELECT {} FROM sync_watchedfile f \
                     JOIN sync_trackedrepository r ON r.id = f.repository_id \
                     WHERE r.user_id = ? AND r.id = ? ORDER BY f.path",
                    WatchedFileRow::COLUMNS
                );
                let rows: Vec<WatchedFileRow> = sqlx::query_as(&sql)
                    .bind(user.0)
                    .bind(repository.0)
                    .fetch_all(&self.pool)
                    .await
                    .map_err(from_query)?;
                map_rows(rows, WatchedFileRow::into_domain)
            }

            async fn unwatch_file(&self, user: UserId, id: WatchedFileId) -> StoreResult<bool> {
                self.delete_with_mapping_monitors(
                    user,
                    "f.id = ?",
                    id.0,
                    "DELETE FROM sync_watchedfile WHERE id = ? AND repository_id IN \
                     (SELECT id FROM sync_trackedrepository WHERE user_id = ?)",
                    &[id.0, user.0],
                )
                .await
            }

            async fn add_mapping(
                &self,
                user: UserId,
                mapping: &NewMapping,
                now: DateTime<Utc>,
            ) -> StoreResult<Mapping> {
                self.add_mapping_with_monitor(user, mapping, false, now).await
            }

            async fn add_mapping_with_monitor(
                &self,
                user: UserId,
                mapping: &NewMapping,
                monitor: bool,
                now: DateTime<Utc>,
            ) -> StoreResult<Mapping> {
                if mapping.wiki.is_empty() || mapping.page_title.is_empty() {
                    return Err(StoreError::InvalidInput(
                        "a mapping needs a wiki and a page title".to_owned(),
                    ));
                }
                let mut tx = self.begin_write().await?;
                let owned: Option<(i64,)> = sqlx::query_as(&format!(
                    "SELECT id FROM ({OWNED_FILE_IDS}) owned WHERE id = ?"
                ))
                .bind(user.0)
                .bind(mapping.watched_file_id.0)
                .fetch_optional(&mut *tx)
                .await
                .map_err(from_query)?;
                if owned.is_none() {
                    return Err(StoreError::NotFound { what: "watched file" });
                }
                let (id,): (i64,) = sqlx::query_as(
                    "INSERT INTO sync_filemapping (watched_file_id, wiki, page_title, \
                     publish_enabled, allow_create, add_banner, created_at) \
                     VALUES (?, ?, ?, ?, ?, ?, ?) RETURNING id",
                )
                .bind(mapping.watched_file_id.0)
                .bind(&mapping.wiki)
                .bind(&mapping.page_title)
                .bind(mapping.options.publish_enabled)
                .bind(mapping.options.allow_create)
                .bind(mapping.options.add_banner)
                .bind(ms(now))
                .fetch_one(&mut *tx)
                .await
                .map_err(unique_as("a mapping of this file to this page"))?;
                if monitor {
                    Self::insert_monitor(
                        &mut tx,
                        user,
                        &mapping.wiki,
                        &mapping.page_title,
                        MonitorOrigin::Mapping,
                        now,
                    )
                    .await?;
                }
                tx.commit().await.map_err(from_query)?;
                self.mapping(user, MappingId(id))
                    .await?
                    .ok_or(StoreError::NotFound { what: "mapping" })
            }

            async fn mapping(&self, user: UserId, id: MappingId) -> StoreResult<Option<Mapping>> {
                let mut found = self
                    .mappings_where("r.user_id = ? AND m.id = ?", &[user.0, id.0])
                    .await?;
                Ok(found.pop())
            }

            async fn list_mappings(
                &self,
                user: UserId,
                file: WatchedFileId,
            ) -> StoreResult<Vec<Mapping>> {
                self.mappings_where("r.user_id = ? AND f.id = ?", &[user.0, file.0])
                    .await
            }

            async fn set_mapping_options(
                &self,
                user: UserId,
                id: MappingId,
                options: MappingOptions,
            ) -> StoreResult<bool> {
                let sql = format!(
                    "UPDATE sync_filemapping SET publish_enabled = ?, allow_create = ?, \
                     add_banner = ? WHERE id = ? AND watched_file_id IN ({OWNED_FILE_IDS})"
                );
                let done = sqlx::query(&sql)
                    .bind(options.publish_enabled)
                    .bind(options.allow_create)
                    .bind(options.add_banner)
                    .bind(id.0)
                    .bind(user.0)
                    .execute(&self.pool)
                    .await
                    .map_err(from_query)?;
                Ok(done.rows_affected() > 0)
            }

            async fn remove_mapping(&self, user: UserId, id: MappingId) -> StoreResult<bool> {
                let sql = format!(
                    "DELETE FROM sync_filemapping WHERE id = ? AND watched_file_id IN \
                     ({OWNED_FILE_IDS})"
                );
                self.delete_with_mapping_monitors(user, "m.id = ?", id.0, &sql, &[id.0, user.0])
                    .await
            }

            async fn record_published(
                &self,
                user: UserId,
                id: MappingId,
                state: &PublishedState,
            ) -> StoreResult<()> {
                let sql = format!(
                    "UPDATE sync_filemapping SET last_published_blob_sha = ?, \
                     last_published_commit_sha = ?, last_published_revid = ?, \
                     last_published_at = ? WHERE id = ? AND watched_file_id IN \
                     ({OWNED_FILE_IDS})"
                );
                let mut tx = self.begin_write().await?;
                let done = sqlx::query(&sql)
                    .bind(&state.blob_sha)
                    .bind(&state.commit_sha)
                    .bind(state.revid)
                    .bind(ms(state.at))
                    .bind(id.0)
                    .bind(user.0)
                    .execute(&mut *tx)
                    .await
                    .map_err(from_query)?;
                if done.rows_affected() == 0 {
                    return Err(StoreError::NotFound { what: "mapping" });
                }
                // Our own edit is not an on-wiki change: the user's monitor of the page moves
                // up to it, so it neither reports the publish nor calls the page drifted.
                sqlx::query(
                    "UPDATE wiki_monitor_pagemonitor SET last_revid = ? \
                     WHERE user_id = ? AND (last_revid IS NULL OR last_revid < ?) \
                     AND EXISTS (SELECT 1 FROM sync_filemapping m WHERE m.id = ? \
                     AND m.wiki = wiki_monitor_pagemonitor.wiki \
                     AND m.page_title = wiki_monitor_pagemonitor.page_title)",
                )
                .bind(state.revid)
                .bind(user.0)
                .bind(state.revid)
                .bind(id.0)
                .execute(&mut *tx)
                .await
                .map_err(from_query)?;
                tx.commit().await.map_err(from_query)?;
                Ok(())
            }

            // ----- publish mutex and log ------------------------------------------------

            async fn acquire_publish_task(
                &self,
                user: UserId,
                now: DateTime<Utc>,
            ) -> StoreResult<PublishLock> {
                for attempt in 0..MAX_ATTEMPTS {
                    match self.try_acquire(user, now).await {
                        Ok(Attempt::Done(lock)) => return Ok(lock),
                        Ok(Attempt::Retry) => {}
                        Err(error) if is_transient(&error) && attempt + 1 < MAX_ATTEMPTS => {}
                        Err(error) => return Err(error),
                    }
                    backoff(attempt).await;
                }
                Err(StoreError::Contention(
                    "the publish mutex kept changing hands while acquiring it".to_owned(),
                ))
            }

            async fn release_publish_task(
                &self,
                task: PublishTaskId,
                outcome: &TaskOutcome,
                now: DateTime<Utc>,
            ) -> StoreResult<bool> {
                let (status, reason) = match outcome {
                    TaskOutcome::Done => (PublishTaskStatus::Done, None),
                    TaskOutcome::Failed(reason) => {
                        (PublishTaskStatus::Failed, Some(reason.chars().take(255).collect::<String>()))
                    }
                };
                let done = sqlx::query(
                    "UPDATE publish_task SET status = ?, reason = ?, finished_at = ?, \
                     running_user_id = NULL WHERE id = ? AND status = 'RUNNING'",
                )
                .bind(status.as_str())
                .bind(reason)
                .bind(ms(now))
                .bind(task.0)
                .execute(&self.pool)
                .await
                .map_err(from_query)?;
                Ok(done.rows_affected() == 1)
            }

            async fn publish_task(&self, task: PublishTaskId) -> StoreResult<Option<PublishTask>> {
                let sql = format!(
                    "SELECT {} FROM publish_task WHERE id = ?",
                    PublishTaskRow::COLUMNS
                );
                let row: Option<PublishTaskRow> = sqlx::query_as(&sql)
                    .bind(task.0)
                    .fetch_optional(&self.pool)
                    .await
                    .map_err(from_query)?;
                row.map(PublishTaskRow::into_domain).transpose()
            }

            async fn append_publish_log(
                &self,
                entry: &NewPublishLogEntry,
            ) -> StoreResult<PublishLogId> {
                let message = entry.message.as_ref().map(|m| m.chars().take(1000).collect::<String>());
                let (id,): (i64,) = sqlx::query_as(
                    "INSERT INTO publish_log (user_id, mapping_id, task_id, created_at, outcome, \
                     dry_run, wiki, page_title, repo_url, branch, file_path, commit_sha, \
                     blob_sha, base_revid, new_revid, message) \
                     VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?) RETURNING id",
                )
                .bind(entry.user_id.0)
                .bind(entry.mapping_id.map(|m| m.0))
                .bind(entry.task_id.map(|t| t.0))
                .bind(ms(entry.at))
                .bind(entry.outcome.as_str())
                .bind(entry.dry_run)
                .bind(&entry.wiki)
                .bind(&entry.page_title)
                .bind(&entry.repo_url)
                .bind(&entry.branch)
                .bind(&entry.file_path)
                .bind(&entry.commit_sha)
                .bind(&entry.blob_sha)
                .bind(entry.base_revid)
                .bind(entry.new_revid)
                .bind(message)
                .fetch_one(&self.pool)
                .await
                .map_err(from_query)?;
                Ok(PublishLogId(id))
            }

            async fn publish_log(
                &self,
                user: UserId,
                filter: PublishLogFilter,
                page: PageRequest,
            ) -> StoreResult<Paged<PublishLogEntry>> {
                let (before, limit) = check_page(page)?;
                let mapping_condition = match filter {
                    PublishLogFilter::All => "",
                    PublishLogFilter::Mapping(_) => "AND mapping_id = ?",
                };
                let sql = format!(
                    "SELECT {} FROM publish_log WHERE user_id = ? {mapping_condition} AND id < ? \
                     ORDER BY id DESC LIMIT ?",
                    PublishLogRow::COLUMNS
                );
                let mut query = sqlx::query_as::<_, PublishLogRow>(&sql).bind(user.0);
                if let PublishLogFilter::Mapping(id) = filter {
                    query = query.bind(id.0);
                }
                let rows = query
                    .bind(before)
                    .bind(limit + 1)
                    .fetch_all(&self.pool)
                    .await
                    .map_err(from_query)?;
                Ok(paged(map_rows(rows, PublishLogRow::into_domain)?, page, |e| e.id.0))
            }

            // ----- credentials ----------------------------------------------------------

            async fn set_credential(
                &self,
                user: UserId,
                wiki: &str,
                bot_username: &str,
                ciphertext: &str,
                now: DateTime<Utc>,
            ) -> StoreResult<CredentialSummary> {
                if wiki.is_empty() || bot_username.is_empty() || ciphertext.is_empty() {
                    return Err(StoreError::InvalidInput(
                        "a credential needs a wiki, a bot user name and a ciphertext".to_owned(),
                    ));
                }
                sqlx::query(Self::DIALECT.upsert_credential)
                    .bind(user.0)
                    .bind(wiki)
                    .bind(bot_username)
                    .bind(ciphertext)
                    .bind(ms(now))
                    .execute(&self.pool)
                    .await
                    .map_err(from_query)?;
                let stored = self
                    .credential(user, wiki)
                    .await?
                    .ok_or(StoreError::NotFound { what: "credential" })?;
                Ok(CredentialSummary {
                    id: stored.id,
                    wiki: stored.wiki,
                    bot_username: stored.bot_username,
                    saved_at: stored.saved_at,
                })
            }

            async fn credential(
                &self,
                user: UserId,
                wiki: &str,
            ) -> StoreResult<Option<StoredCredential>> {
                let sql = format!(
                    "SELECT {} FROM publish_botcredential WHERE user_id = ? AND wiki = ?",
                    CredentialRow::COLUMNS
                );
                let row: Option<CredentialRow> = sqlx::query_as(&sql)
                    .bind(user.0)
                    .bind(wiki)
                    .fetch_optional(&self.pool)
                    .await
                    .map_err(from_query)?;
                row.map(CredentialRow::into_domain).transpose()
            }

            async fn list_credentials(&self, user: UserId) -> StoreResult<Vec<CredentialSummary>> {
                let sql = format!(
                    "SELECT {} FROM publish_botcredential WHERE user_id = ? ORDER BY wiki",
                    CredentialSummaryRow::COLUMNS
                );
                let rows: Vec<CredentialSummaryRow> = sqlx::query_as(&sql)
                    .bind(user.0)
                    .fetch_all(&self.pool)
                    .await
                    .map_err(from_query)?;
                map_rows(rows, CredentialSummaryRow::into_domain)
            }

            async fn delete_credential(&self, user: UserId, wiki: &str) -> StoreResult<bool> {
                let done =
                    sqlx::query("DELETE FROM publish_botcredential WHERE user_id = ? AND wiki = ?")
                        .bind(user.0)
                        .bind(wiki)
                        .execute(&self.pool)
                        .await
                        .map_err(from_query)?;
                Ok(done.rows_affected() > 0)
            }

            async fn all_credentials(&self) -> StoreResult<Vec<StoredCredential>> {
                let sql = format!(
                    "SELECT {} FROM publish_botcredential ORDER BY id",
                    CredentialRow::COLUMNS
                );
                let rows: Vec<CredentialRow> =
                    sqlx::query_as(&sql).fetch_all(&self.pool).await.map_err(from_query)?;
                map_rows(rows, CredentialRow::into_domain)
            }

            async fn replace_credential_ciphertext(
                &self,
                id: CredentialId,
                old: &str,
                new: &str,
            ) -> StoreResult<bool> {
                let done = sqlx::query(
                    "UPDATE publish_botcredential SET ciphertext = ? WHERE id = ? AND ciphertext = ?",
                )
                .bind(new)
                .bind(id.0)
                .bind(old)
                .execute(&self.pool)
                .await
                .map_err(from_query)?;
                Ok(done.rows_affected() == 1)
            }

            // ----- repository checks ----------------------------------------------------

            async fn claim_due_repositories(
                &self,
                claim: &ClaimRequest,
            ) -> StoreResult<Vec<ClaimedRepository>> {
                self.claim_repositories(claim, None).await
            }

            async fn claim_due_repository(
                &self,
                id: RepositoryId,
                claim: &ClaimRequest,
            ) -> StoreResult<Option<ClaimedRepository>> {
                Ok(self.claim_repositories(claim, Some(id)).await?.pop())
            }

            async fn mark_repository_due(
                &self,
                user: UserId,
                id: RepositoryId,
                now: DateTime<Utc>,
            ) -> StoreResult<bool> {
                if self.repository(user, id).await?.is_none() {
                    return Ok(false);
                }
                self.execute(
                    "UPDATE sync_trackedrepository SET next_check_at = ? \
                     WHERE id = ? AND user_id = ?",
                    &[ms(now), id.0, user.0],
                )
                .await?;
                Ok(true)
            }

            async fn complete_repository_check(&self, check: &RepositoryCheck) -> StoreResult<()> {
                let mut tx = self.begin_write().await?;
                let at = ms(check.checked_at);
                for file in &check.files {
                    // Log first: the row keeps the SHA we had before this check.
                    sqlx::query(
                        "INSERT INTO sync_filechecklog (watched_file_id, checked_at, status, \
                         old_blob_sha, new_blob_sha, commit_sha, detail) \
                         SELECT id, ?, ?, last_blob_sha, ?, ?, ? FROM sync_watchedfile \
                         WHERE id = ? AND repository_id = ?",
                    )
                    .bind(at)
                    .bind(file.status.as_str())
                    .bind(&file.new_blob_sha)
                    .bind(&file.commit_sha)
                    .bind(file.detail.as_ref().map(|d| d.chars().take(1000).collect::<String>()))
                    .bind(file.watched_file_id.0)
                    .bind(check.repository_id.0)
                    .execute(&mut *tx)
                    .await
                    .map_err(from_query)?;
                    sqlx::query(
                        "UPDATE sync_watchedfile SET last_blob_sha = COALESCE(?, last_blob_sha), \
                         last_checked_at = ?, last_status = ? WHERE id = ? AND repository_id = ?",
                    )
                    .bind(&file.new_blob_sha)
                    .bind(at)
                    .bind(file.status.as_str())
                    .bind(file.watched_file_id.0)
                    .bind(check.repository_id.0)
                    .execute(&mut *tx)
                    .await
                    .map_err(from_query)?;
                }
                let done = sqlx::query(
                    "UPDATE sync_trackedrepository SET head_sha = COALESCE(?, head_sha), \
                     etag = COALESCE(?, etag), last_checked_at = ?, last_status = ?, \
                     next_check_at = ?, lease_owner = NULL, lease_expires_at = NULL \
                     WHERE id = ? AND lease_owner = ?",
                )
                .bind(&check.head_sha)
                .bind(&check.etag)
                .bind(at)
                .bind(check.status.as_str())
                .bind(ms(check.next_check_at))
                .bind(check.repository_id.0)
                .bind(&check.owner)
                .execute(&mut *tx)
                .await
                .map_err(from_query)?;
                if done.rows_affected() != 1 {
                    tx.rollback().await.map_err(from_query)?;
                    return Err(StoreError::LeaseLost {
                        what: "repository",
                        id: check.repository_id.0,
                        owner: check.owner.clone(),
                    });
                }
                tx.commit().await.map_err(from_query)
            }

            async fn release_repository_claims(
                &self,
                owner: &str,
                ids: &[RepositoryId],
            ) -> StoreResult<u64> {
                let ids: Vec<i64> = ids.iter().map(|id| id.0).collect();
                self.release_claims("sync_trackedrepository", owner, &ids).await
            }

            async fn file_check_log(
                &self,
                user: UserId,
                file: WatchedFileId,
                page: PageRequest,
            ) -> StoreResult<Paged<FileCheckLogEntry>> {
                let (before, limit) = check_page(page)?;
                if self.watched_file(user, file).await?.is_none() {
                    return Err(StoreError::NotFound { what: "watched file" });
                }
                let sql = format!(
                    "SELECT {} FROM sync_filechecklog l WHERE l.watched_file_id = ? \
                     AND l.id < ? ORDER BY l.id DESC LIMIT ?",
                    FileCheckLogRow::COLUMNS
                );
                let rows: Vec<FileCheckLogRow> = sqlx::query_as(&sql)
                    .bind(file.0)
                    .bind(before)
                    .bind(limit + 1)
                    .fetch_all(&self.pool)
                    .await
                    .map_err(from_query)?;
                Ok(paged(map_rows(rows, FileCheckLogRow::into_domain)?, page, |e| e.id))
            }

            async fn record_api_quota(&self, snapshot: &ApiQuotaSnapshot) -> StoreResult<()> {
                sqlx::query(
                    "INSERT INTO sync_apiquotalog \
                     (host, resource, quota_limit, remaining, reset_at, recorded_at) \
                     VALUES (?, ?, ?, ?, ?, ?)",
                )
                .bind(&snapshot.host)
                .bind(&snapshot.resource)
                .bind(snapshot.limit)
                .bind(snapshot.remaining)
                .bind(snapshot.reset_at.map(ms))
                .bind(ms(snapshot.recorded_at))
                .execute(&self.pool)
                .await
                .map_err(from_query)?;
                Ok(())
            }

            async fn latest_api_quota(&self, host: &str) -> StoreResult<Option<ApiQuotaSnapshot>> {
                let sql = format!(
                    "SELECT {} FROM sync_apiquotalog WHERE host = ? ORDER BY id DESC LIMIT 1",
                    ApiQuotaRow::COLUMNS
                );
                let row: Option<ApiQuotaRow> = sqlx::query_as(&sql)
                    .bind(host)
                    .fetch_optional(&self.pool)
                    .await
                    .map_err(from_query)?;
                row.map(ApiQuotaRow::into_domain).transpose()
            }

            async fn due_counts(&self, now: DateTime<Utc>) -> StoreResult<DueCounts> {
                let due = |table: &str| {
                    format!(
                        "SELECT COUNT(*) FROM {table} WHERE next_check_at <= ? \
                         AND (lease_expires_at IS NULL OR lease_expires_at <= ?)"
                    )
                };
                let now = ms(now);
                let repositories = self.count(&due("sync_trackedrepository"), &[now, now]).await?;
                let pages = self.count(&due("wiki_monitor_pagemonitor"), &[now, now]).await?;
                Ok(DueCounts {
                    repositories: i64::try_from(repositories).unwrap_or(i64::MAX),
                    pages: i64::try_from(pages).unwrap_or(i64::MAX),
                })
            }

            // ----- page monitors --------------------------------------------------------

            async fn add_page_monitor(
                &self,
                user: UserId,
                wiki: &str,
                page_title: &str,
                now: DateTime<Utc>,
            ) -> StoreResult<PageMonitor> {
                let mut conn = self.pool.acquire().await.map_err(from_query)?;
                let inserted =
                    Self::insert_monitor(&mut conn, user, wiki, page_title, MonitorOrigin::User, now)
                        .await?;
                let id = match inserted {
                    Some(id) => id,
                    None => {
                        // A monitor a mapping created becomes the user's own, so it outlives
                        // the mapping; a second request of the user's own is a duplicate.
                        let adopted = sqlx::query(
                            "UPDATE wiki_monitor_pagemonitor SET origin = 'user' \
                             WHERE user_id = ? AND wiki = ? AND page_title = ? \
                             AND origin = 'mapping'",
                        )
                        .bind(user.0)
                        .bind(wiki)
                        .bind(page_title)
                        .execute(&mut *conn)
                        .await
                        .map_err(from_query)?;
                        if adopted.rows_affected() == 0 {
                            return Err(StoreError::AlreadyExists {
                                what: "a monitor of this page",
                            });
                        }
                        let (id,): (i64,) = sqlx::query_as(
                            "SELECT id FROM wiki_monitor_pagemonitor \
                             WHERE user_id = ? AND wiki = ? AND page_title = ?",
                        )
                        .bind(user.0)
                        .bind(wiki)
                        .bind(page_title)
                        .fetch_one(&mut *conn)
                        .await
                        .map_err(from_query)?;
                        id
                    }
                };
                drop(conn);
                self.page_monitor(user, PageMonitorId(id))
                    .await?
                    .ok_or(StoreError::NotFound { what: "page monitor" })
            }

            async fn ensure_page_monitor(
                &self,
                user: UserId,
                wiki: &str,
                page_title: &str,
                now: DateTime<Utc>,
            ) -> StoreResult<()> {
                let mut conn = self.pool.acquire().await.map_err(from_query)?;
                Self::insert_monitor(&mut conn, user, wiki, page_title, MonitorOrigin::User, now)
                    .await?;
                Ok(())
            }

            async fn page_monitor(
                &self,
                user: UserId,
                id: PageMonitorId,
            ) -> StoreResult<Option<PageMonitor>> {
                let sql = format!(
                    "SELECT {} FROM wiki_monitor_pagemonitor p WHERE p.user_id = ? AND p.id = ?",
                    PageMonitorRow::COLUMNS
                );
                let row: Option<PageMonitorRow> = sqlx::query_as(&sql)
                    .bind(user.0)
                    .bind(id.0)
                    .fetch_optional(&self.pool)
                    .await
                    .map_err(from_query)?;
                row.map(PageMonitorRow::into_domain).transpose()
            }

            async fn list_page_monitors(&self, user: UserId) -> StoreResult<Vec<PageMonitor>> {
                let sql = format!(
                    "SELECT {} FROM wiki_monitor_pagemonitor p WHERE p.user_id = ? \
                     ORDER BY p.wiki, p.page_title",
                    PageMonitorRow::COLUMNS
                );
                let rows: Vec<PageMonitorRow> = sqlx::query_as(&sql)
                    .bind(user.0)
                    .fetch_all(&self.pool)
                    .await
                    .map_err(from_query)?;
                map_rows(rows, PageMonitorRow::into_domain)
            }

            async fn remove_page_monitor(
                &self,
                user: UserId,
                id: PageMonitorId,
            ) -> StoreResult<bool> {
                let n = self
                    .execute(
                        "DELETE FROM wiki_monitor_pagemonitor WHERE id = ? AND user_id = ?",
                        &[id.0, user.0],
                    )
                    .await?;
                Ok(n > 0)
            }

            async fn claim_due_pages(&self, claim: &ClaimRequest) -> StoreResult<Vec<PageMonitor>> {
                let mut attempt = 0;
                let ids = loop {
                    match self.claim_ids("wiki_monitor_pagemonitor", claim, None).await {
                        Err(error) if is_transient(&error) && attempt + 1 < MAX_ATTEMPTS => {
                            backoff(attempt).await;
                            attempt += 1;
                        }
                        other => break other?,
                    }
                };
                if ids.is_empty() {
                    return Ok(Vec::new());
                }
                let sql = format!(
                    "SELECT {} FROM wiki_monitor_pagemonitor p WHERE p.id IN ({}) \
                     ORDER BY p.wiki, p.page_title, p.id",
                    PageMonitorRow::COLUMNS,
                    placeholders(ids.len())
                );
                let mut query = sqlx::query_as::<_, PageMonitorRow>(&sql);
                for id in &ids {
                    query = query.bind(*id);
                }
                let rows = query.fetch_all(&self.pool).await.map_err(from_query)?;
                map_rows(rows, PageMonitorRow::into_domain)
            }

            async fn complete_page_checks(
                &self,
                owner: &str,
                checked_at: DateTime<Utc>,
                checks: &[PageCheck],
            ) -> StoreResult<Vec<PageMonitorId>> {
                let at = ms(checked_at);
                let mut skipped = Vec::new();
                let mut tx = self.begin_write().await?;
                for check in checks {
                    sqlx::query(
                        "INSERT INTO wiki_monitor_wikipage_checklog (page_monitor_id, \
                         checked_at, status, old_revid, new_revid, detail) \
                         SELECT id, ?, ?, last_revid, ?, ? FROM wiki_monitor_pagemonitor \
                         WHERE id = ? AND lease_owner = ?",
                    )
                    .bind(at)
                    .bind(check.status.as_str())
                    .bind(check.new_revid)
                    .bind(check.detail.as_ref().map(|d| d.chars().take(1000).collect::<String>()))
                    .bind(check.page_monitor_id.0)
                    .bind(owner)
                    .execute(&mut *tx)
                    .await
                    .map_err(from_query)?;
                    let done = sqlx::query(
                        "UPDATE wiki_monitor_pagemonitor SET last_revid = COALESCE(?, last_revid), \
                         last_checked_at = ?, last_status = ?, next_check_at = ?, \
                         lease_owner = NULL, lease_expires_at = NULL \
                         WHERE id = ? AND lease_owner = ?",
                    )
                    .bind(check.new_revid)
                    .bind(at)
                    .bind(check.status.as_str())
                    .bind(ms(check.next_check_at))
                    .bind(check.page_monitor_id.0)
                    .bind(owner)
                    .execute(&mut *tx)
                    .await
                    .map_err(from_query)?;
                    if done.rows_affected() != 1 {
                        skipped.push(check.page_monitor_id);
                    }
                }
                tx.commit().await.map_err(from_query)?;
                Ok(skipped)
            }

            async fn release_page_claims(
                &self,
                owner: &str,
                ids: &[PageMonitorId],
            ) -> StoreResult<u64> {
                let ids: Vec<i64> = ids.iter().map(|id| id.0).collect();
                self.release_claims("wiki_monitor_pagemonitor", owner, &ids).await
            }

            async fn page_check_log(
                &self,
                user: UserId,
                monitor: PageMonitorId,
                page: PageRequest,
            ) -> StoreResult<Paged<PageCheckLogEntry>> {
                let (before, limit) = check_page(page)?;
                if self.page_monitor(user, monitor).await?.is_none() {
                    return Err(StoreError::NotFound { what: "page monitor" });
                }
                let sql = format!(
                    "SELECT {} FROM wiki_monitor_wikipage_checklog l \
                     WHERE l.page_monitor_id = ? AND l.id < ? ORDER BY l.id DESC LIMIT ?",
                    PageCheckLogRow::COLUMNS
                );
                let rows: Vec<PageCheckLogRow> = sqlx::query_as(&sql)
                    .bind(monitor.0)
                    .bind(before)
                    .bind(limit + 1)
                    .fetch_all(&self.pool)
                    .await
                    .map_err(from_query)?;
                Ok(paged(map_rows(rows, PageCheckLogRow::into_domain)?, page, |e| e.id))
            }

            // ----- notifications --------------------------------------------------------

            async fn notification_preferences(
                &self,
                user: UserId,
            ) -> StoreResult<NotificationPreferences> {
                let row: Option<PreferencesRow> = sqlx::query_as(
                    "SELECT home_wiki, digest, disabled_event_kinds \
                     FROM notifications_userpreference WHERE user_id = ?",
                )
                .bind(user.0)
                .fetch_optional(&self.pool)
                .await
                .map_err(from_query)?;
                Ok(row.map(PreferencesRow::into_domain).unwrap_or_default())
            }

            async fn set_notification_preferences(
                &self,
                user: UserId,
                preferences: &NotificationPreferences,
                now: DateTime<Utc>,
            ) -> StoreResult<()> {
                for kind in &preferences.disabled_event_kinds {
                    check_event_kind(kind)?;
                }
                let disabled = preferences
                    .disabled_event_kinds
                    .iter()
                    .map(String::as_str)
                    .collect::<Vec<_>>()
                    .join(",");
                sqlx::query(Self::DIALECT.upsert_preferences)
                    .bind(user.0)
                    .bind(&preferences.home_wiki)
                    .bind(preferences.digest)
                    .bind(disabled)
                    .bind(ms(now))
                    .execute(&self.pool)
                    .await
                    .map_err(from_query)?;
                Ok(())
            }

            async fn claim_notification(
                &self,
                notification: &NewNotification,
                owner: &str,
                now: DateTime<Utc>,
                lease: chrono::Duration,
            ) -> StoreResult<NotificationClaim> {
                check_event_kind(&notification.event_kind)?;
                if notification.dedup_key.is_empty() || notification.dedup_key.len() > 255 {
                    return Err(StoreError::InvalidInput(
                        "the dedup key must be 1 to 255 bytes".to_owned(),
                    ));
                }
                if owner.is_empty() || owner.len() > 64 || lease <= chrono::Duration::zero() {
                    return Err(StoreError::InvalidInput(
                        "a notification claim needs an owner of 1 to 64 characters and a \
                         positive lease"
                            .to_owned(),
                    ));
                }
                let subject: String = notification.subject.chars().take(255).collect();
                sqlx::query(Self::DIALECT.insert_notification_if_absent)
                    .bind(notification.user_id.0)
                    .bind(&notification.dedup_key)
                    .bind(&notification.event_kind)
                    .bind(&subject)
                    .bind(&notification.body)
                    .bind(ms(now))
                    .bind(ms(now))
                    .execute(&self.pool)
                    .await
                    .map_err(from_query)?;
                // Claiming is one conditional UPDATE, atomic on both engines.
                let claimed = sqlx::query(
                    "UPDATE notifications_notificationlog SET status = 'pending', \
                     lease_owner = ?, lease_expires_at = ?, attempts = attempts + 1, \
                     subject = ?, body = ?, updated_at = ? \
                     WHERE user_id = ? AND dedup_key = ? AND (status = 'failed' OR \
                     (status = 'pending' AND (lease_expires_at IS NULL OR lease_expires_at <= ?)))",
                )
                .bind(owner)
                .bind(ms(now + lease))
                .bind(&subject)
                .bind(&notification.body)
                .bind(ms(now))
                .bind(notification.user_id.0)
                .bind(&notification.dedup_key)
                .bind(ms(now))
                .execute(&self.pool)
                .await
                .map_err(from_query)?;
                let (id, status, lease_owner): (i64, Text, Option<Text>) = sqlx::query_as(
                    "SELECT id, status, lease_owner FROM notifications_notificationlog \
                     WHERE user_id = ? AND dedup_key = ?",
                )
                .bind(notification.user_id.0)
                .bind(&notification.dedup_key)
                .fetch_one(&self.pool)
                .await
                .map_err(from_query)?;
                Ok(match NotificationStatus::parse(&status)? {
                    NotificationStatus::Sent => NotificationClaim::AlreadySent,
                    NotificationStatus::Pending
                        if claimed.rows_affected() == 1 && lease_owner.as_deref() == Some(owner) =>
                    {
                        NotificationClaim::Claimed(NotificationId(id))
                    }
                    _ => NotificationClaim::InProgress,
                })
            }

            async fn finish_notification(
                &self,
                id: NotificationId,
                owner: &str,
                result: &NotificationResult,
                now: DateTime<Utc>,
            ) -> StoreResult<()> {
                let (status, wiki, revid, error) = match result {
                    NotificationResult::Sent { wiki, revid } => {
                        (NotificationStatus::Sent, Some(wiki.as_str()), *revid, None)
                    }
                    NotificationResult::Failed(error) => (
                        NotificationStatus::Failed,
                        None,
                        None,
                        Some(error.chars().take(1000).collect::<String>()),
                    ),
                };
                let done = sqlx::query(
                    "UPDATE notifications_notificationlog SET status = ?, \
                     posted_wiki = COALESCE(?, posted_wiki), posted_revid = COALESCE(?, posted_revid), \
                     error = ?, lease_owner = NULL, lease_expires_at = NULL, updated_at = ? \
                     WHERE id = ? AND lease_owner = ? AND status = 'pending'",
                )
                .bind(status.as_str())
                .bind(wiki)
                .bind(revid)
                .bind(error)
                .bind(ms(now))
                .bind(id.0)
                .bind(owner)
                .execute(&self.pool)
                .await
                .map_err(from_query)?;
                if done.rows_affected() != 1 {
                    return Err(StoreError::LeaseLost {
                        what: "notification",
                        id: id.0,
                        owner: owner.to_owned(),
                    });
                }
                Ok(())
            }

            async fn failed_notifications(
                &self,
                limit: u32,
            ) -> StoreResult<Vec<NotificationLogEntry>> {
                let sql = format!(
                    "SELECT {} FROM notifications_notificationlog WHERE status = 'failed' \
                     ORDER BY updated_at, id LIMIT ?",
                    NotificationRow::COLUMNS
                );
                let rows: Vec<NotificationRow> = sqlx::query_as(&sql)
                    .bind(i64::from(limit))
                    .fetch_all(&self.pool)
                    .await
                    .map_err(from_query)?;
                map_rows(rows, NotificationRow::into_domain)
            }

            async fn notification_log(
                &self,
                user: UserId,
                page: PageRequest,
            ) -> StoreResult<Paged<NotificationLogEntry>> {
                let (before, limit) = check_page(page)?;
                let sql = format!(
                    "SELECT {} FROM notifications_notificationlog WHERE user_id = ? AND id < ? \
                     ORDER BY id DESC LIMIT ?",
                    NotificationRow::COLUMNS
                );
                let rows: Vec<NotificationRow> = sqlx::query_as(&sql)
                    .bind(user.0)
                    .bind(before)
                    .bind(limit + 1)
                    .fetch_all(&self.pool)
                    .await
                    .map_err(from_query)?;
                Ok(paged(map_rows(rows, NotificationRow::into_domain)?, page, |e| e.id.0))
            }

            // ----- dashboard, metrics, maintenance --------------------------------------

            async fn mapping_statuses(
                &self,
                user: UserId,
                scope: &MappingScope,
            ) -> StoreResult<Vec<MappingStatus>> {
                let condition = match scope {
                    MappingScope::All => "",
                    MappingScope::Repository(_) => " WHERE s.repository_id = ?",
                    MappingScope::File(_) => " WHERE s.watched_file_id = ?",
                    MappingScope::Wiki(_) => " WHERE s.wiki = ?",
                };
                let sql = format!(
                    "{}{condition} ORDER BY s.repository_id, s.file_path, s.id",
                    mapping_status_sql("s.*")
                );
                let query = sqlx::query_as::<_, MappingStatusRow>(&sql).bind(user.0);
                let query = match scope {
                    MappingScope::All => query,
                    MappingScope::Repository(id) => query.bind(id.0),
                    MappingScope::File(id) => query.bind(id.0),
                    MappingScope::Wiki(wiki) => query.bind(wiki.as_str()),
                };
                let rows = query.fetch_all(&self.pool).await.map_err(from_query)?;
                map_rows(rows, MappingStatusRow::into_domain)
            }

            async fn dashboard(
                &self,
                user: UserId,
                limits: DashboardLimits,
            ) -> StoreResult<Dashboard> {
                let recent_page = PageRequest::first(limits.recent.clamp(1, MAX_PAGE));
                let items = i64::from(limits.items.min(MAX_PAGE));

                // Counts per repository: files by check result, mappings by state.
                let file_counts: Vec<(i64, i64, i64, i64)> = sqlx::query_as(&format!(
                    "SELECT f.repository_id, COUNT(*), \
                     COUNT(CASE WHEN f.last_status IS NULL THEN 1 END), \
                     COUNT(CASE WHEN f.last_status IN {FAILING_FILE_STATUSES} THEN 1 END) \
                     FROM sync_watchedfile f \
                     JOIN sync_trackedrepository r ON r.id = f.repository_id \
                     WHERE r.user_id = ? GROUP BY f.repository_id"
                ))
                .bind(user.0)
                .fetch_all(&self.pool)
                .await
                .map_err(from_query)?;
                let state_counts: Vec<(i64, Text, i64)> = sqlx::query_as(&format!(
                    "{} GROUP BY s.repository_id, s.state",
                    mapping_status_sql("s.repository_id, s.state, COUNT(*)")
                ))
                .bind(user.0)
                .fetch_all(&self.pool)
                .await
                .map_err(from_query)?;
                let mut repositories: Vec<RepositorySummary> = self
                    .list_repositories(user)
                    .await?
                    .into_iter()
                    .map(|repository| RepositorySummary {
                        repository,
                        files: 0,
                        files_unchecked: 0,
                        files_failing: 0,
                        mappings: 0,
                        in_sync: 0,
                        off: 0,
                    })
                    .collect();
                let index: HashMap<i64, usize> = repositories
                    .iter()
                    .enumerate()
                    .map(|(i, r)| (r.repository.id.0, i))
                    .collect();
                let count = |n: i64| u64::try_from(n).unwrap_or(0);
                for (repository, files, unchecked, failing) in file_counts {
                    if let Some(summary) = index.get(&repository).map(|&i| &mut repositories[i]) {
                        summary.files = count(files);
                        summary.files_unchecked = count(unchecked);
                        summary.files_failing = count(failing);
                    }
                }
                for (repository, state, n) in state_counts {
                    let Some(summary) = index.get(&repository).map(|&i| &mut repositories[i])
                    else {
                        continue;
                    };
                    let n = count(n);
                    summary.mappings += n;
                    match MappingSyncState::parse(&state)? {
                        MappingSyncState::InSync => summary.in_sync += n,
                        MappingSyncState::Off => summary.off += n,
                        _ => {}
                    }
                }

                // Only the items that need attention, the most urgent first.
                let attention_sql = format!(
                    "{} WHERE s.state NOT IN ('in_sync', 'off') ORDER BY \
                     CASE s.state WHEN 'changed_on_wiki' THEN 0 WHEN 'file_changed' THEN 1 \
                     ELSE 2 END, s.repository_id, s.file_path, s.id LIMIT ?",
                    mapping_status_sql("s.*")
                );
                let attention: Vec<MappingStatusRow> = sqlx::query_as(&attention_sql)
                    .bind(user.0)
                    .bind(items)
                    .fetch_all(&self.pool)
                    .await
                    .map_err(from_query)?;
                let failing_sql = format!(
                    "SELECT {}, r.repo_url AS repository_url FROM sync_watchedfile f \
                     JOIN sync_trackedrepository r ON r.id = f.repository_id \
                     WHERE r.user_id = ? AND f.last_status IN {FAILING_FILE_STATUSES} \
                     ORDER BY f.repository_id, f.path LIMIT ?",
                    WatchedFileRow::COLUMNS
                );
                let failing: Vec<FailingFileRow> = sqlx::query_as(&failing_sql)
                    .bind(user.0)
                    .bind(items)
                    .fetch_all(&self.pool)
                    .await
                    .map_err(from_query)?;
                let pages_sql = format!(
                    "SELECT {} FROM wiki_monitor_pagemonitor p WHERE p.user_id = ? ORDER BY \
                     CASE WHEN p.last_status IN {NOTABLE_PAGE_STATUSES} THEN 0 ELSE 1 END, \
                     p.wiki, p.page_title LIMIT ?",
                    PageMonitorRow::COLUMNS
                );
                let pages: Vec<PageMonitorRow> = sqlx::query_as(&pages_sql)
                    .bind(user.0)
                    .bind(items)
                    .fetch_all(&self.pool)
                    .await
                    .map_err(from_query)?;
                let pages_total = self
                    .count(
                        "SELECT COUNT(*) FROM wiki_monitor_pagemonitor WHERE user_id = ?",
                        &[user.0],
                    )
                    .await?;
                Ok(Dashboard {
                    repositories,
                    attention: map_rows(attention, MappingStatusRow::into_domain)?,
                    failing_files: map_rows(failing, FailingFileRow::into_domain)?,
                    pages: map_rows(pages, PageMonitorRow::into_domain)?,
                    pages_total,
                    credentials: self.list_credentials(user).await?,
                    recent_publishes: self
                        .publish_log(user, PublishLogFilter::All, recent_page)
                        .await?
                        .items,
                    recent_notifications: self.notification_log(user, recent_page).await?.items,
                })
            }

            async fn record_usage(
                &self,
                day: NaiveDate,
                feature: &str,
                count: u64,
            ) -> StoreResult<()> {
                if feature.is_empty() || feature.len() > 64 {
                    return Err(StoreError::InvalidInput(
                        "the feature name must be 1 to 64 bytes".to_owned(),
                    ));
                }
                let count = i64::try_from(count).map_err(|_| {
                    StoreError::InvalidInput(format!("usage count {count} is too large"))
                })?;
                if count == 0 {
                    return Ok(());
                }
                sqlx::query(Self::DIALECT.upsert_usage)
                    .bind(day_text(day))
                    .bind(feature)
                    .bind(count)
                    .execute(&self.pool)
                    .await
                    .map_err(from_query)?;
                Ok(())
            }

            async fn usage_metrics(
                &self,
                from: NaiveDate,
                to: NaiveDate,
            ) -> StoreResult<Vec<UsageCount>> {
                let rows: Vec<UsageRow> = sqlx::query_as(
                    "SELECT day, feature, visit_count FROM accounts_toolvisit \
                     WHERE day >= ? AND day <= ? ORDER BY day, feature",
                )
                .bind(day_text(from))
                .bind(day_text(to))
                .fetch_all(&self.pool)
                .await
                .map_err(from_query)?;
                map_rows(rows, UsageRow::into_domain)
            }

            async fn purge_logs(
                &self,
                cutoff: DateTime<Utc>,
                dry_run: bool,
            ) -> StoreResult<RetentionReport> {
                let cutoff = ms(cutoff);
                let mut counts = [0_u64; RETAINED_LOGS.len()];
                for ((table, column), count) in RETAINED_LOGS.iter().zip(counts.iter_mut()) {
                    *count = if dry_run {
                        self.count(
                            &format!("SELECT COUNT(*) FROM {table} WHERE {column} < ?"),
                            &[cutoff],
                        )
                        .await?
                    } else {
                        self.execute(&format!("DELETE FROM {table} WHERE {column} < ?"), &[cutoff])
                            .await?
                    };
                }
                let [file_checks, page_checks, api_quota, notifications] = counts;
                Ok(RetentionReport {
                    file_checks,
                    page_checks,
                    api_quota,
                    notifications,
                    dry_run,
                })
            }

            async fn clean_orphans(&self, dry_run: bool) -> StoreResult<OrphanReport> {
                let mut tables = Vec::with_capacity(ORPHAN_RELATIONS.len());
                for (child, column, parent) in ORPHAN_RELATIONS {
                    let orphan = format!(
                        "NOT EXISTS (SELECT 1 FROM {parent} p WHERE p.id = {child}.{column})"
                    );
                    let n = if dry_run {
                        self.count(&format!("SELECT COUNT(*) FROM {child} WHERE {orphan}"), &[])
                            .await?
                    } else {
                        self.execute(&format!("DELETE FROM {child} WHERE {orphan}"), &[]).await?
                    };
                    tables.push((child, n));
                }
                Ok(OrphanReport { tables, dry_run })
            }
        }
    };
}

/// The SQLite backend (an embedded file).
#[derive(Debug)]
pub struct SqliteStore {
    pool: SqlitePool,
}

/// The MariaDB/MySQL backend (ToolsDB).
#[derive(Debug)]
pub struct MySqlStore {
    pool: MySqlPool,
}

impl_store!(
    SqliteStore,
    Sqlite,
    SqliteConnection,
    SQLITE,
    SQLITE_MIGRATOR,
    "sqlite"
);
impl_store!(
    MySqlStore,
    MySql,
    MySqlConnection,
    MYSQL,
    MYSQL_MIGRATOR,
    "mariadb"
);

impl SqliteStore {
    /// Open (creating the file if needed) with foreign keys on, WAL and a busy timeout.
    pub async fn open(url: &DatabaseUrl, settings: &StoreSettings) -> StoreResult<Self> {
        settings.validate()?;
        let target = url.redacted();
        let options = SqliteConnectOptions::from_str(url.expose())
            .map_err(|error| StoreError::InvalidUrl {
                reason: format!("{target}: {error}"),
            })?
            .create_if_missing(true)
            .foreign_keys(true)
            .journal_mode(SqliteJournalMode::Wal)
            .synchronous(SqliteSynchronous::Normal)
            .busy_timeout(settings.sqlite_busy_timeout);
        // Each connection to `sqlite::memory:` is a separate database: keep exactly one.
        let in_memory = url.expose().contains(":memory:") || url.expose().contains("mode=memory");
        let max = if in_memory {
            1
        } else {
            settings.max_connections
        };
        // Connect once directly so a bad path fails now, with the driver's reason.
        let first = tokio::time::timeout(
            settings.acquire_timeout,
            SqliteConnection::connect_with(&options),
        )
        .await
        .map_err(|_| StoreError::Unreachable {
            target: target.clone(),
            detail: "timed out opening the database file".to_owned(),
        })?
        .map_err(|error| from_connect(error, &target))?;
        first
            .close()
            .await
            .map_err(|error| from_connect(error, &target))?;
        let pool = SqlitePoolOptions::new()
            .max_connections(max)
            .min_connections(settings.min_connections.min(max))
            .idle_timeout(if in_memory {
                None
            } else {
                Some(settings.idle_timeout)
            })
            .max_lifetime(if in_memory {
                None
            } else {
                Some(Duration::from_secs(30 * 60))
            })
            .acquire_timeout(settings.acquire_timeout)
            .connect_lazy_with(options);
        let store = Self { pool };
        store.prepare_schema(settings.migrations).await?;
        Ok(store)
    }
}

impl MySqlStore {
    /// Connect to MariaDB (utf8mb4, UTC session time zone) with a small pool.
    pub async fn open(url: &DatabaseUrl, settings: &StoreSettings) -> StoreResult<Self> {
        settings.validate()?;
        let target = url.redacted();
        // sqlx only knows the `mysql:` scheme.
        let raw = url.expose();
        let normalized = match raw.get(..8) {
            Some(prefix) if prefix.eq_ignore_ascii_case("mariadb:") => {
                format!("mysql:{}", &raw[8..])
            }
            _ => raw.to_owned(),
        };
        let options = MySqlConnectOptions::from_str(&normalized)
            .map_err(|error| StoreError::InvalidUrl {
                reason: format!("{target}: {error}"),
            })?
            .charset("utf8mb4")
            .timezone(Some("+00:00".to_owned()));
        let first = tokio::time::timeout(
            settings.acquire_timeout,
            MySqlConnection::connect_with(&options),
        )
        .await
        .map_err(|_| StoreError::Unreachable {
            target: target.clone(),
            detail: format!("no answer within {:?}", settings.acquire_timeout),
        })?
        .map_err(|error| from_connect(error, &target))?;
        first
            .close()
            .await
            .map_err(|error| from_connect(error, &target))?;
        let pool = MySqlPoolOptions::new()
            .max_connections(settings.max_connections)
            .min_connections(settings.min_connections)
            .idle_timeout(Some(settings.idle_timeout))
            .acquire_timeout(settings.acquire_timeout)
            .connect_lazy_with(options);
        let store = Self { pool };
        store.prepare_schema(settings.migrations).await?;
        Ok(store)
    }
}

//! The two backends, SQLite and MariaDB. Their behaviour is written once, per domain: each
//! submodule holds a macro expanding to an inherent `impl` of a backend (users, repositories,
//! mappings, ...), and `delegate` writes the one `Store` implementation, whose methods call
//! those. The `impl_store!` macro below applies them all to a backend. What differs per engine
//! is data: the [`Dialect`] SQL strings (upserts, `FOR UPDATE SKIP LOCKED`) and how a write
//! transaction begins (`BEGIN IMMEDIATE` on SQLite so concurrent writers queue instead of
//! deadlocking). This module holds what the domains share: the dialects, SQL fragments and
//! small helpers, which every macro body uses by name.

mod base;
mod checks;
mod credentials;
mod delegate;
mod limits;
mod maintenance;
mod mappings;
mod monitors;
mod notifications;
mod publish;
mod reports;
mod repositories;
mod users;
mod wikis;

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
    upsert_wiki: &'static str,
    upsert_wiki_spelling: &'static str,
    /// Appended to the "what is due" SELECT inside a claim transaction.
    claim_lock_suffix: &'static str,
    /// Statement that opens a write transaction (None: the driver's default `BEGIN`).
    begin_write: Option<&'static str>,
    /// Appended to a SELECT of one row inside a write transaction to lock it.
    lock_row_suffix: &'static str,
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
    upsert_wiki: "INSERT INTO wikis (wiki, api_url, wiki_id, server, sitename, language, \
        namespaces, resolved_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT (wiki) DO UPDATE SET \
        api_url = excluded.api_url, wiki_id = excluded.wiki_id, server = excluded.server, \
        sitename = excluded.sitename, language = excluded.language, \
        namespaces = excluded.namespaces, resolved_at = excluded.resolved_at",
    upsert_wiki_spelling: "INSERT INTO wiki_spellings (spelling, wiki) VALUES (?, ?) \
        ON CONFLICT (spelling) DO UPDATE SET wiki = excluded.wiki",
    claim_lock_suffix: "",
    begin_write: Some("BEGIN IMMEDIATE"),
    lock_row_suffix: "",
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
    upsert_wiki: "INSERT INTO wikis (wiki, api_url, wiki_id, server, sitename, language, \
        namespaces, resolved_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?) ON DUPLICATE KEY UPDATE \
        api_url = VALUES(api_url), wiki_id = VALUES(wiki_id), server = VALUES(server), \
        sitename = VALUES(sitename), language = VALUES(language), \
        namespaces = VALUES(namespaces), resolved_at = VALUES(resolved_at)",
    upsert_wiki_spelling: "INSERT INTO wiki_spellings (spelling, wiki) VALUES (?, ?) \
        ON DUPLICATE KEY UPDATE wiki = VALUES(wiki)",
    claim_lock_suffix: " FOR UPDATE SKIP LOCKED",
    begin_write: None,
    lock_row_suffix: " FOR UPDATE",
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

/// The table of a check queue.
fn queue_table(queue: CheckQueue) -> &'static str {
    match queue {
        CheckQueue::Repositories => "sync_trackedrepository",
        CheckQueue::Pages => "wiki_monitor_pagemonitor",
    }
}

/// A row whose unexpired lease another runner holds (binds: now, our owner). Never NULL, so
/// `NOT` of it is exact.
const HELD_BY_ANOTHER: &str = "(lease_expires_at IS NOT NULL AND lease_expires_at > ? \
    AND (lease_owner IS NULL OR lease_owner <> ?))";

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
        base::impl_base!($store, $db, $conn, $dialect, $migrator);
        users::impl_users!($store, $db, $conn, $dialect, $migrator);
        repositories::impl_repositories!($store, $db, $conn, $dialect, $migrator);
        mappings::impl_mappings!($store, $db, $conn, $dialect, $migrator);
        publish::impl_publish!($store, $db, $conn, $dialect, $migrator);
        credentials::impl_credentials!($store, $db, $conn, $dialect, $migrator);
        limits::impl_limits!($store, $db, $conn, $dialect, $migrator);
        wikis::impl_wikis!($store, $db, $conn, $dialect, $migrator);
        checks::impl_checks!($store, $db, $conn, $dialect, $migrator);
        monitors::impl_monitors!($store, $db, $conn, $dialect, $migrator);
        notifications::impl_notifications!($store, $db, $conn, $dialect, $migrator);
        reports::impl_reports!($store, $db, $conn, $dialect, $migrator);
        maintenance::impl_maintenance!($store, $db, $conn, $dialect, $migrator);
        delegate::impl_store_trait!($store, $name);
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

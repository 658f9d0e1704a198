//! The store's error type: each variant tells the caller what went wrong and what to do.
//!
//! Messages never contain passwords: connection URLs are reduced to scheme, host and database
//! before they are put into an error.

use thiserror::Error;

/// Everything that can go wrong in the store.
#[derive(Debug, Error)]
#[non_exhaustive]
pub enum StoreError {
    /// The database URL has a scheme we have no backend for.
    #[error(
        "unsupported database URL scheme `{scheme}`: use `sqlite:` (a local file) or \
         `mysql:`/`mariadb:` (MariaDB, e.g. ToolsDB)"
    )]
    UnknownScheme {
        /// The scheme that was given.
        scheme: String,
    },
    /// The database URL could not be parsed.
    #[error("invalid database URL: {reason}")]
    InvalidUrl {
        /// What was wrong with it.
        reason: String,
    },
    /// Configuration (ToolsDB credentials, pool sizes, ...) is missing or wrong.
    #[error("store configuration: {0}")]
    Config(String),
    /// The database server could not be reached (refused, DNS failure, timeout).
    #[error(
        "cannot reach the database at {target}: {detail}; check that the server is running \
         and the host and port are right"
    )]
    Unreachable {
        /// Scheme, host and database (never the password).
        target: String,
        /// The underlying cause.
        detail: String,
    },
    /// The server refused the user name or password.
    #[error(
        "the database at {target} refused the credentials: {detail}; check the user name and \
         password (on Toolforge: TOOL_TOOLSDB_USER/TOOL_TOOLSDB_PASSWORD or replica.my.cnf)"
    )]
    AccessDenied {
        /// Scheme, host and database (never the password).
        target: String,
        /// The server's message.
        detail: String,
    },
    /// The database (schema) does not exist on the server.
    #[error(
        "the database at {target} does not exist: {detail}; create it first \
         (CREATE DATABASE ... CHARACTER SET utf8mb4)"
    )]
    DatabaseMissing {
        /// Scheme, host and database.
        target: String,
        /// The server's message.
        detail: String,
    },
    /// The database was migrated by a newer version of this program.
    #[error(
        "the database schema is newer than this binary (database has migration {applied}, \
         this binary knows up to {known}); upgrade wikiscriptsync before using this database"
    )]
    SchemaNewer {
        /// The newest migration version applied to the database.
        applied: i64,
        /// The newest migration version this binary embeds.
        known: i64,
    },
    /// The database has not been migrated to this binary's schema yet.
    #[error(
        "the database schema is out of date ({pending} migration(s) pending); run \
         `wikiscriptsync migrate` first"
    )]
    SchemaNotMigrated {
        /// How many embedded migrations are not applied yet.
        pending: usize,
    },
    /// Applying a migration failed (on MariaDB the schema may be half-applied: DDL is not
    /// transactional; fix the cause and run the migration again).
    #[error("database migration failed: {0}")]
    Migration(String),
    /// The row does not exist, or does not belong to the given user.
    #[error("{what} not found")]
    NotFound {
        /// What was looked for.
        what: &'static str,
    },
    /// A row with the same unique key already exists.
    #[error("{what} already exists")]
    AlreadyExists {
        /// What would have been duplicated.
        what: &'static str,
    },
    /// A work claim (lease) was lost: another runner took the item over after the lease
    /// expired. Drop the result; the other runner records its own.
    #[error("the lease on {what} {id} is no longer held by `{owner}`")]
    LeaseLost {
        /// Repository, page or notification.
        what: &'static str,
        /// Its id.
        id: i64,
        /// The owner that tried to complete the work.
        owner: String,
    },
    /// An argument was invalid (empty owner id, zero limit, bad event kind, ...).
    #[error("invalid input: {0}")]
    InvalidInput(String),
    /// Concurrent writers kept colliding (deadlocks, lock timeouts, a locked SQLite file)
    /// after several retries; try again shortly.
    #[error("the database stayed busy with concurrent writers: {0}; try again shortly")]
    Contention(String),
    /// Every pooled connection stayed busy for the whole acquire timeout.
    #[error(
        "timed out waiting for a free database connection; the pool is too small for the \
         load or queries are stuck (raise max_connections or acquire_timeout)"
    )]
    PoolTimeout,
    /// A stored value could not be mapped to a domain value (corrupt or hand-edited row).
    #[error("unexpected value in the database: {0}")]
    Corrupt(String),
    /// Any other database error.
    #[error("database error: {0}")]
    Database(String),
}

/// Shorthand for results of store operations.
pub type StoreResult<T> = Result<T, StoreError>;

/// How a low-level error should be treated.
pub(crate) enum DbErrorKind {
    UniqueViolation,
    /// Deadlock, lock wait timeout, SQLITE_BUSY: the operation may be retried.
    Transient,
    Other,
}

/// Classify a sqlx error by its driver code.
pub(crate) fn classify(error: &sqlx::Error) -> DbErrorKind {
    let sqlx::Error::Database(db) = error else {
        return DbErrorKind::Other;
    };
    if db.is_unique_violation() {
        return DbErrorKind::UniqueViolation;
    }
    match db.code().as_deref() {
        // MariaDB: 1213 deadlock, 1205 lock wait timeout; SQLite: 5 BUSY, 6 LOCKED,
        // 517 BUSY_SNAPSHOT, 261 BUSY_RECOVERY.
        Some("1213" | "1205" | "40001" | "5" | "6" | "517" | "261") => DbErrorKind::Transient,
        _ => DbErrorKind::Other,
    }
}

/// Map a sqlx error from a query into a [`StoreError`].
pub(crate) fn from_query(error: sqlx::Error) -> StoreError {
    if matches!(classify(&error), DbErrorKind::Transient) {
        return StoreError::Contention(error.to_string());
    }
    match error {
        sqlx::Error::PoolTimedOut => StoreError::PoolTimeout,
        sqlx::Error::RowNotFound => StoreError::NotFound { what: "row" },
        other => StoreError::Database(other.to_string()),
    }
}

/// Map a sqlx error raised while connecting into a [`StoreError`].
pub(crate) fn from_connect(error: sqlx::Error, target: &str) -> StoreError {
    let target = target.to_owned();
    match error {
        sqlx::Error::Database(db) => {
            let detail = db.message().to_owned();
            match db.code().as_deref() {
                // 1045 access denied (password), 1044 access denied to database,
                // 28000 is the SQLSTATE for both.
                Some("1045" | "1044" | "1698" | "28000") => {
                    StoreError::AccessDenied { target, detail }
                }
                Some("1049" | "42000") if detail.contains("Unknown database") => {
                    StoreError::DatabaseMissing { target, detail }
                }
                // SQLite: 14 CANTOPEN
                Some("14") => StoreError::Unreachable { target, detail },
                _ => StoreError::Database(detail),
            }
        }
        sqlx::Error::Io(io) => StoreError::Unreachable {
            target,
            detail: io.to_string(),
        },
        sqlx::Error::Tls(tls) => StoreError::Unreachable {
            target,
            detail: tls.to_string(),
        },
        sqlx::Error::PoolTimedOut => StoreError::Unreachable {
            target,
            detail: "no connection could be opened within the acquire timeout".to_owned(),
        },
        other => StoreError::Database(other.to_string()),
    }
}

//! Throw-away databases for tests (feature `testkit`): a SQLite file in a temp dir, or a
//! uniquely named MariaDB database created on a server the caller names (tests read it from
//! [`MARIADB_ENV`]) and dropped again when the test ends. Without a server a MariaDB test
//! prints `skipped: ...`; on CI it fails instead, since CI must run everything. This module
//! reads no environment: the test decides where its settings come from.

use std::io::Write as _;
use std::sync::Arc;
use std::sync::atomic::{AtomicU32, Ordering};

use sqlx::Connection as _;

use crate::{DatabaseUrl, Store, StoreSettings, open};

/// The variable tests read the MariaDB server from (`mysql://user@host:port`).
pub const MARIADB_ENV: &str = "WIKISCRIPTSYNC_TEST_MARIADB_URL";

/// Makes database names unique within one test process.
static DATABASES: AtomicU32 = AtomicU32::new(0);

/// The engine a test database runs on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Engine {
    /// A SQLite file.
    Sqlite,
    /// A MariaDB database.
    MariaDb,
}

/// A fresh, empty database for one test; a MariaDB one is dropped when this is dropped.
#[derive(Debug)]
pub struct TestDatabase {
    /// Its engine.
    pub engine: Engine,
    url: String,
    /// Holds the SQLite file.
    _dir: Option<tempfile::TempDir>,
    /// The server and the database to drop.
    mariadb: Option<(String, String)>,
}

/// The MariaDB test server's URL (`server`, as read from [`MARIADB_ENV`]), or `None` after
/// printing `skipped: ...`. Panics without a server when `ci` is true: CI must run every test.
pub fn mariadb_server(server: Option<String>, ci: bool) -> Option<String> {
    match server {
        Some(url) if !url.is_empty() => Some(url),
        _ => {
            assert!(
                !ci,
                "CI is set but {MARIADB_ENV} is not: .ci/run must export it"
            );
            // Straight to stderr: the test harness captures eprintln! too, and shows it only for
            // failing tests.
            let _ = writeln!(std::io::stderr(), "skipped: {MARIADB_ENV} not set");
            None
        }
    }
}

impl TestDatabase {
    /// A new empty SQLite file.
    pub fn sqlite() -> Self {
        let dir = tempfile::tempdir().expect("temp dir");
        let url = format!("sqlite:{}", dir.path().join("test.sqlite3").display());
        Self {
            engine: Engine::Sqlite,
            url,
            _dir: Some(dir),
            mariadb: None,
        }
    }

    /// A new empty MariaDB database (utf8mb4, case-sensitive as in production) on `server`,
    /// or `None` when there is none (see [`mariadb_server`] for `server` and `ci`).
    pub async fn mariadb_from(server: Option<String>, ci: bool) -> Option<Self> {
        let server = mariadb_server(server, ci)?;
        let server = server.trim_end_matches('/').to_owned();
        let nanos = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.subsec_nanos())
            .unwrap_or(0);
        let name = format!(
            "wss_test_{}_{}_{nanos}",
            std::process::id(),
            DATABASES.fetch_add(1, Ordering::Relaxed)
        );
        let mut admin = sqlx::MySqlConnection::connect(&server)
            .await
            .expect("connect to the MariaDB test server");
        sqlx::query(&format!(
            "CREATE DATABASE `{name}` CHARACTER SET utf8mb4 COLLATE utf8mb4_bin"
        ))
        .execute(&mut admin)
        .await
        .expect("create the test database");
        admin.close().await.ok();
        Some(Self {
            engine: Engine::MariaDb,
            url: format!("{server}/{name}"),
            _dir: None,
            mariadb: Some((server, name)),
        })
    }

    /// A new empty database on `engine` (`None`: MariaDB is not configured; `server` and
    /// `ci` as for [`TestDatabase::mariadb_from`]).
    pub async fn new_from(engine: Engine, server: Option<String>, ci: bool) -> Option<Self> {
        match engine {
            Engine::Sqlite => Some(Self::sqlite()),
            Engine::MariaDb => Self::mariadb_from(server, ci).await,
        }
    }

    /// Its URL, as `WIKISCRIPTSYNC_DATABASE_URL` takes it.
    pub fn url(&self) -> &str {
        &self.url
    }

    /// Its URL, as [`open`] takes it.
    pub fn database_url(&self) -> DatabaseUrl {
        DatabaseUrl::new(self.url.clone())
    }

    /// A store over it (a pool of its own), migrated.
    pub async fn open(&self) -> Arc<dyn Store> {
        open(&self.database_url(), &StoreSettings::migrating())
            .await
            .expect("open the test store")
    }
}

impl Drop for TestDatabase {
    fn drop(&mut self) {
        let Some((server, name)) = self.mariadb.take() else {
            return;
        };
        // Best effort, on a thread of its own: Drop cannot await, and runs inside the test's
        // runtime.
        let _ = std::thread::spawn(move || {
            let Ok(runtime) = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
            else {
                return;
            };
            runtime.block_on(async {
                if let Ok(mut admin) = sqlx::MySqlConnection::connect(&server).await {
                    let _ = sqlx::query(&format!("DROP DATABASE IF EXISTS `{name}`"))
                        .execute(&mut admin)
                        .await;
                    let _ = admin.close().await;
                }
            });
        })
        .join();
    }
}

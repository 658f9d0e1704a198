//! Test databases: a SQLite temp file, or a uniquely named MariaDB database created on the
//! server named by `WIKISCRIPTSYNC_TEST_MARIADB_URL` and dropped again when the test ends.
#![allow(dead_code)]

use std::sync::Arc;
use std::sync::atomic::{AtomicU32, Ordering};

use sqlx::Connection;
use url::Url;
use wikiscriptsync_store::{DatabaseUrl, MigrationPolicy, Store, StoreSettings, open};

/// The variable naming the MariaDB server for tests.
pub const MARIADB_ENV: &str = "WIKISCRIPTSYNC_TEST_MARIADB_URL";

static COUNTER: AtomicU32 = AtomicU32::new(0);

/// The engine a test runs on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Engine {
    Sqlite,
    MariaDb,
}

/// A fresh, empty database for one test.
pub struct TestDb {
    pub engine: Engine,
    pub url: String,
    _dir: Option<tempfile::TempDir>,
    mariadb: Option<(String, String)>,
}

/// The MariaDB server URL, or None (and a "skipped" line) when it is not configured.
pub fn mariadb_server() -> Option<String> {
    match std::env::var(MARIADB_ENV) {
        Ok(url) if !url.is_empty() => Some(url),
        _ => {
            // CI provides MariaDB for every run: there, its absence is a broken setup.
            assert!(
                std::env::var_os("CI").is_none(),
                "CI is set but {MARIADB_ENV} is not: .ci/run must export it"
            );
            println!("skipped: {MARIADB_ENV} not set");
            None
        }
    }
}

fn unique_name() -> String {
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.subsec_nanos())
        .unwrap_or(0);
    format!(
        "wss_test_{}_{}_{}",
        std::process::id(),
        COUNTER.fetch_add(1, Ordering::Relaxed),
        nanos
    )
}

impl TestDb {
    /// A new empty SQLite file.
    pub fn sqlite() -> Self {
        let dir = tempfile::tempdir().expect("temp dir");
        let url = format!("sqlite:{}", dir.path().join("store.db").display());
        Self {
            engine: Engine::Sqlite,
            url,
            _dir: Some(dir),
            mariadb: None,
        }
    }

    /// A new empty MariaDB database, or None when no server is configured.
    pub async fn mariadb() -> Option<Self> {
        let server = mariadb_server()?;
        let name = unique_name();
        let mut admin = sqlx::MySqlConnection::connect(&server)
            .await
            .expect("connect to the MariaDB test server");
        sqlx::query(&format!("CREATE DATABASE {name} CHARACTER SET utf8mb4"))
            .execute(&mut admin)
            .await
            .expect("create test database");
        admin.close().await.ok();
        let mut url = Url::parse(&server).expect("MariaDB test URL");
        url.set_path(&name);
        Some(Self {
            engine: Engine::MariaDb,
            url: url.to_string(),
            _dir: None,
            mariadb: Some((server, name)),
        })
    }

    /// A new empty database of the given engine (None: MariaDB not configured).
    pub async fn new(engine: Engine) -> Option<Self> {
        match engine {
            Engine::Sqlite => Some(Self::sqlite()),
            Engine::MariaDb => Self::mariadb().await,
        }
    }

    pub fn database_url(&self) -> DatabaseUrl {
        DatabaseUrl::new(self.url.clone())
    }

    /// Open the store, applying migrations.
    pub async fn open(&self) -> Arc<dyn Store> {
        self.open_with(StoreSettings::migrating()).await
    }

    pub async fn open_with(&self, settings: StoreSettings) -> Arc<dyn Store> {
        open(&self.database_url(), &settings)
            .await
            .expect("open the store")
    }

    /// Open without migrating (the schema must be current).
    pub async fn open_current(&self) -> Arc<dyn Store> {
        self.open_with(StoreSettings {
            migrations: MigrationPolicy::RequireCurrent,
            ..StoreSettings::default()
        })
        .await
    }

    /// Run raw SQL statements outside the store with foreign key checks off (to plant
    /// orphans or fake a newer schema).
    pub async fn raw(&self, statements: &[&str]) {
        match self.engine {
            Engine::Sqlite => {
                let mut conn = sqlx::SqliteConnection::connect(&self.url)
                    .await
                    .expect("sqlite");
                sqlx::query("PRAGMA foreign_keys = OFF")
                    .execute(&mut conn)
                    .await
                    .expect("pragma");
                for statement in statements {
                    sqlx::query(statement)
                        .execute(&mut conn)
                        .await
                        .expect(statement);
                }
                conn.close().await.ok();
            }
            Engine::MariaDb => {
                let mut conn = sqlx::MySqlConnection::connect(&self.url)
                    .await
                    .expect("mariadb");
                sqlx::query("SET foreign_key_checks = 0")
                    .execute(&mut conn)
                    .await
                    .expect("fk");
                for statement in statements {
                    sqlx::query(statement)
                        .execute(&mut conn)
                        .await
                        .expect(statement);
                }
                conn.close().await.ok();
            }
        }
    }

    /// One integer from a raw query.
    pub async fn raw_i64(&self, sql: &str) -> i64 {
        match self.engine {
            Engine::Sqlite => {
                let mut conn = sqlx::SqliteConnection::connect(&self.url)
                    .await
                    .expect("sqlite");
                let (n,): (i64,) = sqlx::query_as(sql).fetch_one(&mut conn).await.expect(sql);
                n
            }
            Engine::MariaDb => {
                let mut conn = sqlx::MySqlConnection::connect(&self.url)
                    .await
                    .expect("mariadb");
                let (n,): (i64,) = sqlx::query_as(sql).fetch_one(&mut conn).await.expect(sql);
                n
            }
        }
    }
}

impl Drop for TestDb {
    fn drop(&mut self) {
        let Some((server, name)) = self.mariadb.take() else {
            return;
        };
        // Drop runs inside the test's runtime; do the async cleanup on a thread of its own.
        let _ = std::thread::spawn(move || {
            let runtime = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .expect("runtime");
            runtime.block_on(async move {
                if let Ok(mut admin) = sqlx::MySqlConnection::connect(&server).await {
                    let _ = sqlx::query(&format!("DROP DATABASE IF EXISTS {name}"))
                        .execute(&mut admin)
                        .await;
                    let _ = admin.close().await;
                }
            });
        })
        .join();
    }
}

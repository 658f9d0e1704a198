//! Test databases: the crate's [`TestDatabase`] (a SQLite temp file, or a MariaDB database
//! dropped when the test ends), with the raw access the conformance suite needs.
#![allow(dead_code)]

use std::sync::Arc;

use sqlx::Connection;
// Each test file uses only part of this module.
#[allow(unused_imports)]
pub use wikiscriptsync_store::testkit::{Engine, MARIADB_ENV, TestDatabase};

/// The MariaDB test server from [`MARIADB_ENV`] (`None`, or a failure under `CI`, without).
pub fn mariadb_server() -> Option<String> {
    wikiscriptsync_store::testkit::mariadb_server(std::env::var(MARIADB_ENV).ok(), on_ci())
}

/// Whether the tests run on CI (where a missing MariaDB server is a failure).
fn on_ci() -> bool {
    std::env::var_os("CI").is_some()
}
use wikiscriptsync_store::{DatabaseUrl, MigrationPolicy, Store, StoreSettings, open};

/// A fresh, empty database for one test.
pub struct TestDb {
    pub engine: Engine,
    pub url: String,
    _db: TestDatabase,
}

impl From<TestDatabase> for TestDb {
    fn from(db: TestDatabase) -> Self {
        Self {
            engine: db.engine,
            url: db.url().to_owned(),
            _db: db,
        }
    }
}

impl TestDb {
    /// A new empty SQLite file.
    pub fn sqlite() -> Self {
        TestDatabase::sqlite().into()
    }

    /// A new empty MariaDB database, or None when no server is configured.
    pub async fn mariadb() -> Option<Self> {
        TestDatabase::mariadb_from(std::env::var(MARIADB_ENV).ok(), on_ci())
            .await
            .map(Self::from)
    }

    /// A new empty database of the given engine (None: MariaDB not configured).
    pub async fn new(engine: Engine) -> Option<Self> {
        TestDatabase::new_from(engine, std::env::var(MARIADB_ENV).ok(), on_ci())
            .await
            .map(Self::from)
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
    /// Applies only the migrations older than `version` (the schema as an older binary left
    /// it), so a test can plant rows the next migration must carry over.
    pub async fn migrate_before(&self, version: i64) {
        let dir = match self.engine {
            Engine::Sqlite => "migrations/sqlite",
            Engine::MariaDb => "migrations/mysql",
        };
        let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join(dir);
        let mut migrator = sqlx::migrate::Migrator::new(path)
            .await
            .expect("migrations");
        let older: Vec<_> = migrator
            .migrations
            .iter()
            .filter(|m| m.version < version)
            .cloned()
            .collect();
        assert!(
            older.len() < migrator.migrations.len(),
            "no migration {version}"
        );
        migrator.migrations = older.into();
        match self.engine {
            Engine::Sqlite => {
                // The store has not opened the file yet: create it.
                let options: sqlx::sqlite::SqliteConnectOptions =
                    self.url.parse().expect("sqlite URL");
                let mut conn = sqlx::SqliteConnection::connect_with(
                    &options.create_if_missing(true).foreign_keys(true),
                )
                .await
                .expect("sqlite");
                migrator.run(&mut conn).await.expect("older migrations");
            }
            Engine::MariaDb => {
                let mut conn = sqlx::MySqlConnection::connect(&self.url)
                    .await
                    .expect("mariadb");
                migrator.run(&mut conn).await.expect("older migrations");
            }
        }
    }
}

//! Shared by the `wikiscriptsync-jobs` binary tests: a throw-away database (a SQLite temp
//! file, or a MariaDB database created for the test and dropped afterwards), the binary's
//! command line with a clean environment, and readers for its one-line summaries.
// Each test file uses only part of this module.
#![allow(dead_code)]

use std::process::{Command, Output};
use std::sync::atomic::{AtomicU32, Ordering};

/// The binary under test.
pub const BIN: &str = env!("CARGO_BIN_EXE_wikiscriptsync-jobs");
/// The variable naming the MariaDB server for tests (`mysql://user@host:port`).
pub const MARIADB_ENV: &str = "WIKISCRIPTSYNC_TEST_MARIADB_URL";

/// Makes database names unique within one test process.
static DATABASES: AtomicU32 = AtomicU32::new(0);

/// A database for one test; a MariaDB one is dropped when this is dropped.
pub struct TestDatabase {
    /// What `WIKISCRIPTSYNC_DATABASE_URL` is set to.
    pub url: String,
    /// Holds the SQLite file.
    _dir: Option<tempfile::TempDir>,
    /// The server and the database to drop.
    mariadb: Option<(String, String)>,
}

impl TestDatabase {
    /// A new SQLite file in a temp dir.
    pub fn sqlite() -> Self {
        let dir = tempfile::tempdir().expect("temp dir");
        let url = format!("sqlite:{}", dir.path().join("jobs.sqlite3").display());
        Self {
            url,
            _dir: Some(dir),
            mariadb: None,
        }
    }

    /// A new database on the MariaDB test server, or None (after printing "skipped") when no
    /// server is configured. In CI a missing server fails the test instead: nothing may skip
    /// there.
    pub async fn mariadb() -> Option<Self> {
        use sqlx::Connection as _;
        let server = match std::env::var(MARIADB_ENV) {
            Ok(url) if !url.is_empty() => url,
            _ => {
                assert!(
                    std::env::var_os("CI").is_none(),
                    "CI is set but {MARIADB_ENV} is not"
                );
                println!("skipped: {MARIADB_ENV} not set");
                return None;
            }
        };
        let nanos = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.subsec_nanos())
            .unwrap_or(0);
        let name = format!(
            "wss_jobsbin_{}_{}_{nanos}",
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
        let server = server.trim_end_matches('/').to_owned();
        Some(Self {
            url: format!("{server}/{name}"),
            _dir: None,
            mariadb: Some((server, name)),
        })
    }
}

impl Drop for TestDatabase {
    fn drop(&mut self) {
        let Some((server, name)) = self.mariadb.take() else {
            return;
        };
        // Best effort, on a thread of its own: Drop cannot await, and may run inside the
        // test's runtime.
        let _ = std::thread::spawn(move || {
            use sqlx::Connection as _;
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
                }
            });
        })
        .join();
    }
}

/// The binary with `args`, an empty environment but for `PATH`, a contact, the database and
/// the extra (fake) wiki hosts; logs at `warn`.
pub fn jobs_command(args: &[&str], database_url: &str, wiki_hosts: &[String]) -> Command {
    let mut command = Command::new(BIN);
    command
        .args(args)
        .env_clear()
        .env("PATH", std::env::var("PATH").unwrap_or_default())
        .env("WIKISCRIPTSYNC_CONTACT", "https://example.org/tests")
        .env("WIKISCRIPTSYNC_DATABASE_URL", database_url)
        .env("WIKISCRIPTSYNC_EXTRA_WIKI_HOSTS", wiki_hosts.join(","))
        .env("RUST_LOG", "warn");
    command
}

/// Runs a command to its end without blocking the runtime.
pub async fn output(mut command: Command) -> Output {
    tokio::task::spawn_blocking(move || command.output().expect("run the binary"))
        .await
        .expect("the blocking task")
}

/// Standard output as text.
pub fn stdout(output: &Output) -> String {
    String::from_utf8_lossy(&output.stdout).into_owned()
}

/// The numbers, in order, on the first line of standard output starting with `prefix`
/// (e.g. `check-wiki-updates: 120 pages on 2 wikis checked (0 unchanged, ...)`).
pub fn summary_numbers(output: &Output, prefix: &str) -> Vec<u64> {
    let text = stdout(output);
    let line = text
        .lines()
        .find(|line| line.starts_with(prefix))
        .unwrap_or_else(|| panic!("no `{prefix}` line in {text:?}"));
    line[prefix.len()..]
        .split(|c: char| !c.is_ascii_digit())
        .filter(|part| !part.is_empty())
        .map(|part| part.parse().expect("digits"))
        .collect()
}

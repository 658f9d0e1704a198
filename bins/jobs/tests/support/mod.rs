//! Shared by the `wikiscriptsync-jobs` binary tests: a throw-away database (a SQLite temp
//! file, or a MariaDB database created for the test and dropped afterwards), the binary's
//! command line with a clean environment, and readers for its one-line summaries.
// Each test file uses only part of this module.
#![allow(dead_code)]

use std::process::{Command, Output};

/// The binary under test.
pub const BIN: &str = env!("CARGO_BIN_EXE_wikiscriptsync-jobs");
use wikiscriptsync_store::testkit::MARIADB_ENV;
/// A database for one test (SQLite, or MariaDB dropped when the test ends).
pub use wikiscriptsync_store::testkit::TestDatabase;

/// A new empty MariaDB database on the server named by `WIKISCRIPTSYNC_TEST_MARIADB_URL` (dropped when the test ends),
/// or `None` after printing `skipped: ...`; a failure when `CI` is set.
pub async fn mariadb() -> Option<TestDatabase> {
    TestDatabase::mariadb_from(
        std::env::var(MARIADB_ENV).ok(),
        std::env::var_os("CI").is_some(),
    )
    .await
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

//! Shared set-up for the monitoring tests: stores (SQLite temp file or a throw-away MariaDB
//! database), users, tracked repositories and monitored pages, and clients pointed at fakes.
#![allow(dead_code)]

use std::collections::BTreeSet;
use std::sync::Arc;
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::Duration;

use chrono::{DateTime, Utc};
use sqlx::Connection as _;
use wikiscriptsync_core::forge::testkit::FakeGitHub;
use wikiscriptsync_core::forge::{ForgeConfigBuilder, Forges};
use wikiscriptsync_core::monitor::{PageCheckSettings, RepositoryCheckSettings};
use wikiscriptsync_core::mw::{ActionApiClient, AllowList, ClientConfig, RetryPolicy, UserAgent};
use wikiscriptsync_core::store::{
    DatabaseUrl, Forge, NewRepository, NotificationPreferences, PageRequest, Repository, Store,
    StoreSettings, UserId, WatchedFile,
};

/// The variable naming the MariaDB server for tests.
pub const MARIADB_ENV: &str = "WIKISCRIPTSYNC_TEST_MARIADB_URL";
/// The fake accounts' BotPassword.
pub const PASSWORD: &str = "n0tifyBotPassw0rdQQ77zz11yy22xx33";
/// The notification bot on the fake wiki.
pub const NOTIFIER: &str = "Notifier@notify";

static COUNTER: AtomicU32 = AtomicU32::new(0);

/// A database for one test; a MariaDB one is dropped when this is dropped.
pub struct TestDb {
    pub url: DatabaseUrl,
    _dir: Option<tempfile::TempDir>,
    mariadb: Option<(String, String)>,
}

impl TestDb {
    /// A new SQLite file.
    pub fn sqlite() -> Self {
        let dir = tempfile::tempdir().expect("temp dir");
        let url = format!("sqlite:{}", dir.path().join("store.sqlite3").display());
        Self {
            url: DatabaseUrl::new(url),
            _dir: Some(dir),
            mariadb: None,
        }
    }

    /// A new MariaDB database, or None (after printing `skipped: ...`) when no server is
    /// configured; in CI its absence fails the test.
    pub async fn mariadb() -> Option<Self> {
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
            "wss_jobs_{}_{}_{nanos}",
            std::process::id(),
            COUNTER.fetch_add(1, Ordering::Relaxed)
        );
        let mut admin = sqlx::MySqlConnection::connect(&server)
            .await
            .expect("connect to the MariaDB test server");
        sqlx::query(&format!(
            "CREATE DATABASE `{name}` CHARACTER SET utf8mb4 COLLATE utf8mb4_bin"
        ))
        .execute(&mut admin)
        .await
        .expect("create test database");
        let url = format!("{}/{name}", server.trim_end_matches('/'));
        Some(Self {
            url: DatabaseUrl::new(url),
            _dir: None,
            mariadb: Some((server, name)),
        })
    }

    /// A store handle (its own pool), migrated.
    pub async fn open(&self) -> Arc<dyn Store> {
        wikiscriptsync_core::store::open(&self.url, &StoreSettings::migrating())
            .await
            .expect("open the test store")
    }
}

impl Drop for TestDb {
    fn drop(&mut self) {
        if let Some((server, name)) = self.mariadb.take() {
            // Best effort, on a separate thread: Drop cannot await.
            let _ = std::thread::spawn(move || {
                let runtime = tokio::runtime::Builder::new_current_thread()
                    .enable_all()
                    .build()
                    .expect("runtime");
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
}

/// Forges pointed at a fake GitHub with a token (so 304s are free), fast retries.
pub fn forges(builder: ForgeConfigBuilder) -> Arc<Forges> {
    Arc::new(Forges::new(builder.build().expect("forge config")).expect("forges"))
}

/// The fake GitHub with a token.
pub fn github_with_token(github: &FakeGitHub) -> ForgeConfigBuilder {
    github.config_builder_with_token("ghp_testtoken0000000000000000000000000000")
}

/// A MediaWiki client allowed to talk to the given fake hosts, with fast retries.
pub fn wiki_client(hosts: &[String]) -> Arc<ActionApiClient> {
    let mut config =
        ClientConfig::new(UserAgent::from_contact("https://example.org/tests").unwrap());
    config.allow_list = AllowList::wikimedia()
        .with_extra_hosts(&hosts.join(","))
        .expect("loopback hosts");
    config.retry = RetryPolicy::fast_for_tests();
    config.request_timeout = Duration::from_secs(5);
    Arc::new(ActionApiClient::new(config).expect("client"))
}

/// Repository settings for tests: due again at once, so the next run checks everything.
pub fn repo_settings(owner: &str, concurrency: usize) -> RepositoryCheckSettings {
    RepositoryCheckSettings {
        interval: chrono::Duration::zero(),
        concurrency,
        batch_size: 10,
        ..RepositoryCheckSettings::new(owner)
    }
}

/// Page settings for tests: due again at once.
pub fn page_settings(owner: &str) -> PageCheckSettings {
    PageCheckSettings {
        interval: chrono::Duration::zero(),
        batch_size: 1000,
        ..PageCheckSettings::new(owner)
    }
}

/// A user.
pub async fn user(store: &dyn Store, name: &str) -> UserId {
    store
        .upsert_user(&format!("central-{name}"), name, Utc::now())
        .await
        .expect("user")
        .id
}

/// Notifications for `user` on `home_wiki`.
pub async fn notify_on(store: &dyn Store, user: UserId, home_wiki: &str, digest: bool) {
    store
        .set_notification_preferences(
            user,
            &NotificationPreferences {
                home_wiki: Some(home_wiki.to_owned()),
                digest,
                disabled_event_kinds: BTreeSet::new(),
            },
            Utc::now(),
        )
        .await
        .expect("preferences");
}

/// Tracks `full_name` on the fake GitHub (branch main) and watches `paths`; `added` orders
/// the repositories (oldest due first).
pub async fn track(
    store: &dyn Store,
    user: UserId,
    github: &FakeGitHub,
    full_name: &str,
    paths: &[&str],
    added: DateTime<Utc>,
) -> (Repository, Vec<WatchedFile>) {
    let repo = store
        .add_repository(
            user,
            &NewRepository {
                forge: Forge::GitHub,
                host: "github.com".to_owned(),
                url: github.repo_url(full_name),
                branch: "main".to_owned(),
            },
            added,
        )
        .await
        .expect("repository");
    let mut files = Vec::new();
    for path in paths {
        files.push(
            store
                .watch_file(user, repo.id, path, added)
                .await
                .expect("watch"),
        );
    }
    (repo, files)
}

/// The statuses logged for a watched file, newest first.
pub async fn file_log(store: &dyn Store, user: UserId, file: &WatchedFile) -> Vec<String> {
    store
        .file_check_log(user, file.id, PageRequest::first(100))
        .await
        .expect("file log")
        .items
        .into_iter()
        .map(|e| format!("{}:{}", e.status, e.detail.unwrap_or_default()))
        .collect()
}

/// Counts rows of a file's check log.
pub async fn file_log_len(store: &dyn Store, user: UserId, file: &WatchedFile) -> usize {
    file_log(store, user, file).await.len()
}

/// A sequence of times, one second apart, starting ten minutes ago.
pub fn times(n: usize) -> Vec<DateTime<Utc>> {
    let start = Utc::now() - chrono::Duration::minutes(10);
    (0..n)
        .map(|i| start + chrono::Duration::seconds(i as i64))
        .collect()
}

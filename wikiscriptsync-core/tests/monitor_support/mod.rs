//! Shared set-up for the monitoring tests: stores (SQLite temp file or a throw-away MariaDB
//! database), users, tracked repositories and monitored pages, and clients pointed at fakes.
#![allow(dead_code)]

use std::collections::BTreeSet;
use std::sync::Arc;
use std::time::Duration;

use chrono::{DateTime, Utc};
use wikiscriptsync_core::forge::testkit::FakeGitHub;
use wikiscriptsync_core::forge::{ForgeConfigBuilder, Forges};
use wikiscriptsync_core::monitor::{PageCheckSettings, RepositoryCheckSettings};
use wikiscriptsync_core::mw::{ActionApiClient, AllowList, ClientConfig, RetryPolicy, UserAgent};
use wikiscriptsync_core::store::{
    Forge, NewRepository, NotificationPreferences, PageRequest, Repository, Store, UserId,
    WatchedFile,
};
use wikiscriptsync_store::testkit::{MARIADB_ENV, TestDatabase};

/// The fake accounts' BotPassword.
pub const PASSWORD: &str = "n0tifyBotPassw0rdQQ77zz11yy22xx33";
/// The notification bot on the fake wiki.
pub const NOTIFIER: &str = "Notifier@notify";

/// A database for one test (SQLite, or MariaDB dropped when the test ends).
pub type TestDb = TestDatabase;

/// A new empty MariaDB database on the server named by `WIKISCRIPTSYNC_TEST_MARIADB_URL` (dropped when the test ends),
/// or `None` after printing `skipped: ...`; a failure when `CI` is set.
pub async fn mariadb() -> Option<TestDatabase> {
    TestDatabase::mariadb_from(
        std::env::var(MARIADB_ENV).ok(),
        std::env::var_os("CI").is_some(),
    )
    .await
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
                full_name: full_name.to_owned(),
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

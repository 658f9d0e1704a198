//! What the journeys share: the real MediaWiki's coordinates (from the variables
//! `scripts/mediawiki-test-server` prints), a fake GitHub, a fresh SQLite store, and the core
//! use cases over them.
#![allow(dead_code)]

use std::sync::Arc;
use std::time::Duration;

use secrecy::SecretString;
use wikiscriptsync_core::app::{App, AppParts};
use wikiscriptsync_core::forge::Forges;
use wikiscriptsync_core::forge::testkit::FakeGitHub;
use wikiscriptsync_core::mw::{
    ActionApiClient, AllowList, BotPassword, ClientConfig, UserAgent, WikiApi, WikiSession, WikiUrl,
};
use wikiscriptsync_core::vault::Vault;
use wikiscriptsync_store::testkit::TestDatabase;

/// The real test wiki and its accounts.
pub struct RealWiki {
    /// The API URL.
    pub api: String,
    /// The allow-list entry for it (`WIKISCRIPTSYNC_EXTRA_WIKI_HOSTS`).
    pub hosts: String,
    /// An interface administrator's BotPassword login name and password.
    pub admin: (String, String),
    /// The notification bot.
    pub notifier: (String, String),
    /// The user whose talk page gets notices (the journey's maintainer).
    pub recipient: String,
}

impl RealWiki {
    /// The wiki from the environment, or `None` after saying the test is skipped (a failure
    /// under CI, where nothing may skip).
    pub fn from_env(test: &str) -> Option<Self> {
        let var = |name: &str| std::env::var(name).ok().filter(|v| !v.is_empty());
        let Some(api) = var("WIKISCRIPTSYNC_TEST_MEDIAWIKI_URL") else {
            assert!(
                std::env::var_os("CI").is_none(),
                "WIKISCRIPTSYNC_TEST_MEDIAWIKI_URL is not set in CI: start scripts/mediawiki-test-server"
            );
            eprintln!(
                "skipped: {test}: WIKISCRIPTSYNC_TEST_MEDIAWIKI_URL not set (no real MediaWiki)"
            );
            return None;
        };
        let must =
            |name: &str| var(name).unwrap_or_else(|| panic!("{name} must be set with the wiki"));
        Some(Self {
            api,
            hosts: must("WIKISCRIPTSYNC_EXTRA_WIKI_HOSTS"),
            admin: (
                must("WIKISCRIPTSYNC_TEST_MW_ADMIN_USER"),
                must("WIKISCRIPTSYNC_TEST_MW_ADMIN_PASSWORD"),
            ),
            notifier: (
                must("WIKISCRIPTSYNC_TEST_MW_NOTIFY_USER"),
                must("WIKISCRIPTSYNC_TEST_MW_NOTIFY_PASSWORD"),
            ),
            recipient: must("WIKISCRIPTSYNC_TEST_MW_RECIPIENT"),
        })
    }

    /// The wiki client the use cases get.
    pub fn client(&self) -> ActionApiClient {
        let mut config =
            ClientConfig::new(UserAgent::from_contact("https://example.org/journeys").unwrap())
                .interactive();
        config.allow_list =
            AllowList::with_hosts(self.hosts.split(',')).expect("the test wiki's host");
        config.request_timeout = Duration::from_secs(30);
        ActionApiClient::new(config).expect("wiki client")
    }

    /// The wiki's URL as the client parses it.
    pub fn url(&self, client: &dyn WikiApi) -> WikiUrl {
        client
            .parse_wiki(&self.api)
            .expect("the test wiki is allow-listed")
    }

    /// A BotPassword.
    pub fn bot(&self, (login, password): &(String, String)) -> BotPassword {
        BotPassword::new(login.clone(), SecretString::from(password.clone()))
    }

    /// The administrator's session, to edit pages behind the tool's back and read them.
    pub async fn admin_session(&self) -> Arc<dyn WikiSession> {
        let client = self.client();
        let url = self.url(&client);
        client
            .login(&url, self.bot(&self.admin))
            .await
            .expect("admin login")
    }
}

/// The use cases over a real wiki client, a fake GitHub and a fresh SQLite store.
pub struct Journey {
    /// The use cases.
    pub app: App,
    /// The fake GitHub.
    pub github: FakeGitHub,
    /// The store's database (kept alive for the test).
    pub db: TestDatabase,
}

impl Journey {
    /// A fresh journey on `wiki`.
    pub async fn start(wiki: &RealWiki) -> Self {
        let github = FakeGitHub::start().await;
        let db = TestDatabase::sqlite();
        let store = db.open().await;
        let forges = Forges::new(github.config_builder().build().unwrap()).unwrap();
        let vault = Vault::from_key_list(&Vault::generate_key()).unwrap();
        let app = App::new(AppParts {
            store,
            wiki: Arc::new(wiki.client()),
            forges: Arc::new(forges),
            vault: Some(Arc::new(vault)),
            runner_host: "journey".to_owned(),
        });
        Self { app, github, db }
    }
}

/// A marker unique to this run, so repeated runs against one wiki use fresh pages.
pub fn marker() -> String {
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_nanos())
        .unwrap_or(0);
    format!("{}-{nanos}", std::process::id())
}

/// The `wikiscriptsync` binary, built now if it is missing or stale (a no-op when `cargo test
/// --workspace` built it already), so the journeys never run an old CLI.
pub fn cli_binary() -> std::path::PathBuf {
    static BINARY: std::sync::OnceLock<std::path::PathBuf> = std::sync::OnceLock::new();
    BINARY
        .get_or_init(|| {
            let out = std::process::Command::new(env!("CARGO"))
                .args([
                    "build",
                    "--quiet",
                    "-p",
                    "wikiscriptsync-cli",
                    "--bin",
                    "wikiscriptsync",
                    "--message-format=json",
                ])
                .current_dir(env!("CARGO_MANIFEST_DIR"))
                .output()
                .expect("run cargo build");
            assert!(
                out.status.success(),
                "building the CLI failed: {}",
                String::from_utf8_lossy(&out.stderr)
            );
            String::from_utf8_lossy(&out.stdout)
                .lines()
                .filter_map(|line| serde_json::from_str::<serde_json::Value>(line).ok())
                .find_map(|message| {
                    (message["target"]["name"] == "wikiscriptsync")
                        .then(|| message["executable"].as_str().map(Into::into))
                        .flatten()
                })
                .expect("cargo names the CLI's executable")
        })
        .clone()
}

//! The publisher over fakes: a fake wiki, a fake GitHub and a SQLite temp store, with one user
//! who has a stored BotPassword and a checked mapping.
#![allow(dead_code)]

use std::sync::Arc;
use std::time::Duration;

use chrono::Utc;
use secrecy::SecretString;
use wikiscriptsync_core::forge::testkit::FakeGitHub;
use wikiscriptsync_core::forge::{BlobSha, CommitSha, Forges, RepoLocator};
use wikiscriptsync_core::mw::testkit::{FakeAccount, FakeWiki, Fault};
use wikiscriptsync_core::mw::{ActionApiClient, BotPassword, ClientConfig, RetryPolicy, UserAgent};
use wikiscriptsync_core::publish::{
    AdHocPublish, Credentials, MappingPublish, PublishFailure, PublishOptions, PublishReport,
    PublishSource, Publisher, SourceRevision,
};
use wikiscriptsync_core::store::{
    ClaimRequest, DatabaseUrl, FileCheckResult, FileCheckStatus, Forge, MappingId, MappingOptions,
    NewMapping, NewRepository, PageRequest, PublishLogEntry, PublishLogFilter, PublishOutcome,
    PublishTaskStatus, RepositoryCheck, RepositoryCheckStatus, Store, StoreSettings, UserId,
    WatchedFileId,
};
use wikiscriptsync_core::vault::Vault;

/// The BotPassword of the fake accounts: distinctive, so a leak is easy to find.
pub const PASSWORD: &str = "s3cr3tBotPassw0rdXYZZYqq7kk2mm9aa";
/// The admin account (interface-admin rights).
pub const ADMIN: &str = "Admin@publisher";
/// An account with only `read`/`edit`.
pub const LIMITED: &str = "Limited@publisher";
/// The repository on the fake GitHub.
pub const REPO: &str = "octo/gadgets";
/// The file in it.
pub const PATH: &str = "src/Gadget-hello.js";
/// The target page.
pub const PAGE: &str = "MediaWiki:Gadget-hello.js";
/// The file's first version.
pub const V1: &str = "// hello v1\nmw.log('hello');\n";

pub struct Env {
    pub wiki: FakeWiki,
    pub github: FakeGitHub,
    pub store: Arc<dyn Store>,
    pub vault: Arc<Vault>,
    pub key: SecretString,
    pub publisher: Publisher,
    pub forges: Arc<Forges>,
    pub client: Arc<ActionApiClient>,
    pub user: UserId,
    pub db_path: std::path::PathBuf,
    pub dir: tempfile::TempDir,
}

pub fn admin_account(login: &str) -> FakeAccount {
    FakeAccount::new(login, PASSWORD).with_rights(&[
        "read",
        "edit",
        "writeapi",
        "createpage",
        "editsitejs",
        "editsitecss",
        "editsitejson",
        "editinterface",
    ])
}

pub fn mw_client(wiki: &FakeWiki) -> ActionApiClient {
    mw_client_with_timeout(wiki, Duration::from_secs(5))
}

/// A client for the fake wiki that gives up on an answer after `timeout`.
pub fn mw_client_with_timeout(wiki: &FakeWiki, timeout: Duration) -> ActionApiClient {
    let mut config =
        ClientConfig::new(UserAgent::from_contact("https://example.org/tests").unwrap())
            .interactive();
    config.allow_list = wiki.allow_list();
    config.retry = RetryPolicy::fast_for_tests();
    config.request_timeout = timeout;
    ActionApiClient::new(config).unwrap()
}

/// The use cases over `store`, the fake wiki (through [`mw_client`]) and the fake GitHub, with
/// a fresh vault when `with_vault`.
pub fn use_cases(
    store: Arc<dyn Store>,
    wiki: &FakeWiki,
    github: &FakeGitHub,
    with_vault: bool,
) -> wikiscriptsync_core::app::App {
    wikiscriptsync_core::app::App::new(wikiscriptsync_core::app::AppParts {
        store,
        wiki: Arc::new(mw_client(wiki)),
        forges: Arc::new(Forges::new(github.config_builder().build().unwrap()).unwrap()),
        vault: with_vault.then(|| Arc::new(Vault::from_key_list(&Vault::generate_key()).unwrap())),
        runner_host: "tests".to_owned(),
    })
}

impl Env {
    pub async fn start() -> Self {
        let wiki = FakeWiki::start().await;
        wiki.add_account(admin_account(ADMIN));
        wiki.add_account(FakeAccount::new(LIMITED, PASSWORD));
        let github = FakeGitHub::start().await;
        github.add_repo(REPO, [(PATH, V1)]);
        let dir = tempfile::tempdir().unwrap();
        let (store, db_path) = temp_store(dir.path()).await;
        let key = Vault::generate_key();
        let vault = Arc::new(Vault::from_key_list(&key).unwrap());
        let client = Arc::new(mw_client(&wiki));
        let forges = Arc::new(Forges::new(github.config_builder().build().unwrap()).unwrap());
        let publisher = Publisher::new(
            client.clone(),
            forges.clone(),
            Arc::clone(&store),
            Some(Arc::clone(&vault)),
        );
        let user = store
            .upsert_user("central-1", "Admin", Utc::now())
            .await
            .unwrap()
            .id;
        Self {
            wiki,
            github,
            store,
            vault,
            key,
            publisher,
            forges,
            client,
            user,
            db_path,
            dir,
        }
    }

    pub fn wiki_key(&self) -> String {
        self.wiki.api_url()
    }

    /// Saves the user's BotPassword for the fake wiki, encrypted.
    pub async fn store_credential(&self, login: &str) {
        let wiki = self.wiki_key();
        let owner = wikiscriptsync_core::vault::CredentialOwner {
            user: self.user,
            wiki: &wiki,
        };
        let ciphertext = self.vault.encrypt(owner, &SecretString::from(PASSWORD));
        self.store
            .set_credential(self.user, &self.wiki_key(), login, &ciphertext, Utc::now())
            .await
            .unwrap();
    }

    /// Tracks the repository, watches the file, records a check at the branch head and maps
    /// the file to `page`.
    pub async fn checked_mapping(&self, page: &str, options: MappingOptions) -> MappingId {
        seed_mapping(
            self.store.as_ref(),
            self.user,
            &self.github,
            &self.wiki_key(),
            page,
            options,
        )
        .await
    }

    /// The watched file, checked at the current head (re-used if it already exists).
    pub async fn checked_file(&self) -> (WatchedFileId, CommitSha) {
        seed_checked_file(self.store.as_ref(), self.user, &self.github).await
    }

    /// Publishes the file to [`PAGE`] as [`ADMIN`], for real (no dry run, no overwrite).
    pub async fn publish_page(&self) -> Result<PublishReport, PublishFailure> {
        self.publisher
            .publish(self.ad_hoc(ADMIN, PASSWORD, PAGE), opts(false, false))
            .await
    }

    /// Lets the first `query` (the login token) through and gives the second (the probe)
    /// `fault`.
    pub fn fault_on_probe(&self, fault: Fault) {
        self.wiki
            .inject_for("query", Fault::Delay(Duration::ZERO), 1);
        self.wiki.inject_for("query", fault, 1);
    }

    pub fn mapping_request(&self, mapping: MappingId) -> MappingPublish {
        MappingPublish {
            user: self.user,
            mapping,
        }
    }

    pub fn repo(&self) -> RepoLocator {
        self.forges
            .parse_repo_url(&self.github.repo_url(REPO))
            .unwrap()
    }

    /// An ad-hoc publish of the file at the head of `main` with a given BotPassword.
    pub fn ad_hoc(&self, login: &str, password: &str, page: &str) -> AdHocPublish {
        AdHocPublish {
            user: self.user,
            source: PublishSource::Repository {
                repo: Box::new(self.repo()),
                revision: SourceRevision::Branch("main".to_owned()),
                path: PATH.to_owned(),
                expected_blob: None,
            },
            wiki: self.wiki_key(),
            page: page.to_owned(),
            credentials: Credentials::Given(BotPassword::new(
                login,
                SecretString::from(password.to_owned()),
            )),
            allow_create: false,
            banner: false,
        }
    }

    pub fn ad_hoc_at(&self, commit: CommitSha, blob: Option<BlobSha>, page: &str) -> AdHocPublish {
        let mut request = self.ad_hoc(ADMIN, PASSWORD, page);
        request.source = PublishSource::Repository {
            repo: Box::new(self.repo()),
            revision: SourceRevision::Commit(commit),
            path: PATH.to_owned(),
            expected_blob: blob,
        };
        request
    }

    /// The user's publish log, newest first.
    pub async fn log(&self) -> Vec<PublishLogEntry> {
        self.store
            .publish_log(self.user, PublishLogFilter::All, PageRequest::first(100))
            .await
            .unwrap()
            .items
    }

    /// Runs SQL on the store's SQLite file from a second connection (fault injection).
    pub async fn sql(&self, statements: &[&str]) {
        sql(&self.db_path, statements).await;
    }

    /// Asserts the newest log row failed and its publish task is marked FAILED.
    pub async fn assert_newest_task_failed(&self) {
        let log = self.log().await;
        assert_eq!(log[0].entry.outcome, PublishOutcome::Failed, "{log:?}");
        let task = self
            .store
            .publish_task(log[0].entry.task_id.unwrap())
            .await
            .unwrap()
            .unwrap();
        assert_eq!(task.status, PublishTaskStatus::Failed);
    }

    /// Asserts the newest log row's task (if any) is no longer RUNNING, and that a new
    /// publish could take the mutex right away.
    pub async fn assert_mutex_released(&self) {
        if let Some(task) = self.log().await.first().and_then(|r| r.entry.task_id) {
            let task = self.store.publish_task(task).await.unwrap().unwrap();
            assert_ne!(task.status, PublishTaskStatus::Running, "{task:?}");
        }
        match self
            .store
            .acquire_publish_task(self.user, Utc::now())
            .await
            .unwrap()
        {
            wikiscriptsync_core::store::PublishLock::Acquired { task, .. } => {
                self.store
                    .release_publish_task(
                        task,
                        &wikiscriptsync_core::store::TaskOutcome::Done,
                        Utc::now(),
                    )
                    .await
                    .unwrap();
            }
            busy => panic!("the mutex is still held: {busy:?}"),
        }
    }
}

/// Runs SQL on the SQLite file `db` from a connection of its own (fault injection beside a
/// store that has it open).
pub async fn sql(db: &std::path::Path, statements: &[&str]) {
    use sqlx::Connection as _;
    let url = format!("sqlite:{}", db.display());
    let mut conn = sqlx::SqliteConnection::connect(&url).await.unwrap();
    for statement in statements {
        sqlx::query(statement).execute(&mut conn).await.unwrap();
    }
    conn.close().await.unwrap();
}

/// The real test wiki's API URL (`WIKISCRIPTSYNC_TEST_MEDIAWIKI_URL`, set by
/// `scripts/mediawiki-test-server`), or `None` after printing "skipped"; in CI (`CI` set) a
/// missing wiki fails the test instead.
pub fn real_wiki_api_url() -> Option<String> {
    use std::io::Write as _;
    let api_url = std::env::var("WIKISCRIPTSYNC_TEST_MEDIAWIKI_URL")
        .ok()
        .filter(|v| !v.is_empty());
    if api_url.is_none() {
        assert!(
            std::env::var_os("CI").is_none(),
            "WIKISCRIPTSYNC_TEST_MEDIAWIKI_URL is not set in CI: start scripts/mediawiki-test-server"
        );
        // Straight to stderr: the test harness captures eprintln! too, and shows it only for
        // failing tests.
        let _ = writeln!(
            std::io::stderr(),
            "skipped: WIKISCRIPTSYNC_TEST_MEDIAWIKI_URL not set (no real MediaWiki)"
        );
    }
    api_url
}

pub fn opts(dry_run: bool, overwrite_drift: bool) -> PublishOptions {
    PublishOptions {
        dry_run,
        overwrite_drift,
    }
}

pub fn create_allowed() -> MappingOptions {
    MappingOptions {
        allow_create: true,
        ..MappingOptions::default()
    }
}

/// Tracks [`REPO`], watches [`PATH`], records a check at the head of `main` and maps the file
/// to `page` on `wiki`.
pub async fn seed_mapping(
    store: &dyn Store,
    user: UserId,
    github: &FakeGitHub,
    wiki: &str,
    page: &str,
    options: MappingOptions,
) -> MappingId {
    let (file, _) = seed_checked_file(store, user, github).await;
    store
        .add_mapping(
            user,
            &NewMapping {
                watched_file_id: file,
                wiki: wiki.to_owned(),
                page_title: page.to_owned(),
                options,
            },
            Utc::now(),
        )
        .await
        .unwrap()
        .id
}

/// The watched file (created on first use), with a check recorded at the head of `main`.
pub async fn seed_checked_file(
    store: &dyn Store,
    user: UserId,
    github: &FakeGitHub,
) -> (WatchedFileId, CommitSha) {
    let now = Utc::now();
    let repository = match store
        .list_repositories(user)
        .await
        .unwrap()
        .into_iter()
        .next()
    {
        Some(r) => r,
        None => store
            .add_repository(
                user,
                &NewRepository {
                    forge: Forge::GitHub,
                    host: "github.com".to_owned(),
                    full_name: REPO.to_owned(),
                    url: github.repo_url(REPO),
                    branch: "main".to_owned(),
                },
                now,
            )
            .await
            .unwrap(),
    };
    let file = match store
        .list_watched_files(user, repository.id)
        .await
        .unwrap()
        .into_iter()
        .next()
    {
        Some(f) => f,
        None => store
            .watch_file(user, repository.id, PATH, now)
            .await
            .unwrap(),
    };
    let head = github.head_of(REPO, "main").unwrap();
    let blob = github.blob_sha_of(REPO, "main", PATH).unwrap();
    // Claim the repository (due: its next check is never later than now), complete the check.
    let claim_at = Utc::now() + chrono::Duration::days(3650);
    let claimed = store
        .claim_due_repositories(&ClaimRequest {
            owner: "test".to_owned(),
            now: claim_at,
            lease: chrono::Duration::minutes(5),
            limit: 10,
        })
        .await
        .unwrap();
    assert!(claimed.iter().any(|c| c.repository.id == repository.id));
    store
        .complete_repository_check(&RepositoryCheck {
            repository_id: repository.id,
            owner: "test".to_owned(),
            checked_at: Utc::now(),
            status: RepositoryCheckStatus::Moved,
            head_sha: Some(head.to_string()),
            etag: None,
            next_check_at: Utc::now(),
            files: vec![FileCheckResult {
                watched_file_id: file.id,
                status: FileCheckStatus::Changed,
                new_blob_sha: Some(blob.to_string()),
                commit_sha: Some(head.to_string()),
                detail: None,
            }],
        })
        .await
        .unwrap();
    (file.id, head)
}

/// A fresh SQLite store in `dir`, migrated.
pub async fn temp_store(dir: &std::path::Path) -> (Arc<dyn Store>, std::path::PathBuf) {
    let db_path = dir.join("store.sqlite3");
    let url = DatabaseUrl::new(format!("sqlite:{}", db_path.display()));
    let store = wikiscriptsync_core::store::open(&url, &StoreSettings::migrating())
        .await
        .unwrap();
    (store, db_path)
}

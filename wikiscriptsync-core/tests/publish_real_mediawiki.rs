//! The publisher against a real MediaWiki (`scripts/mediawiki-test-server`), with a fake GitHub
//! as the file source and a SQLite temp store. Runs when `WIKISCRIPTSYNC_TEST_MEDIAWIKI_URL` is
//! set; otherwise prints "skipped: ..." — except in CI (`CI` set), where a missing wiki fails.
//!
//! Every test uses its own page (`MediaWiki:Gadget-wss-<unique>.js`), so tests can run in
//! parallel and repeatedly against the same wiki, and its own User-Agent: the request counts a
//! publish reports are compared with the requests the wiki logged for that User-Agent.

mod common;

use std::sync::Arc;
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::Duration;

use async_trait::async_trait;
use chrono::Utc;
use common::{PATH, REPO, V1, opts, seed_checked_file, seed_mapping, temp_store};
use secrecy::SecretString;
use wikiscriptsync_core::forge::Forges;
use wikiscriptsync_core::forge::testkit::FakeGitHub;
use wikiscriptsync_core::mw::testkit::{ACCESS_LOG_ENV, AccessLog, unique_user_agent};
use wikiscriptsync_core::mw::{
    self, ActionApiClient, AllowList, BotPassword, ClientConfig, EditOutcome, EditRequest,
    PageLookup, PageText, Probe, TalkNotice, TalkNoticeOutcome, Title, UserAgent, UserInfo,
    WikiApi, WikiSession, WikiUrl,
};
use wikiscriptsync_core::publish::{
    FailureClass, MappingPublish, PublishError, PublishOutcome, PublishStep, Publisher, text,
};
use wikiscriptsync_core::store::{MappingId, MappingOptions, Store, UserId};
use wikiscriptsync_core::vault::Vault;

struct Accounts {
    api_url: String,
    admin: BotPassword,
    limited: BotPassword,
}

/// The wiki's coordinates, or `None` after printing "skipped" (panics in CI).
fn accounts() -> Option<Accounts> {
    let var = |name: &str| std::env::var(name).ok().filter(|v| !v.is_empty());
    let api_url = common::real_wiki_api_url()?;
    let account = |user: &str, password: &str| {
        BotPassword::new(
            var(user).unwrap_or_else(|| panic!("{user} must be set with the wiki")),
            SecretString::from(var(password).unwrap_or_else(|| panic!("{password} must be set"))),
        )
    };
    Some(Accounts {
        api_url,
        admin: account(
            "WIKISCRIPTSYNC_TEST_MW_ADMIN_USER",
            "WIKISCRIPTSYNC_TEST_MW_ADMIN_PASSWORD",
        ),
        limited: account(
            "WIKISCRIPTSYNC_TEST_MW_LIMITED_USER",
            "WIKISCRIPTSYNC_TEST_MW_LIMITED_PASSWORD",
        ),
    })
}

fn unique(prefix: &str) -> String {
    static COUNTER: AtomicU32 = AtomicU32::new(0);
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_nanos())
        .unwrap_or(0);
    format!(
        "{prefix}-{}-{}-{nanos}",
        std::process::id(),
        COUNTER.fetch_add(1, Ordering::Relaxed)
    )
}

fn gadget_title() -> String {
    format!("MediaWiki:Gadget-{}.js", unique("wss"))
}

struct Real {
    accounts: Accounts,
    client: Arc<ActionApiClient>,
    /// This test's User-Agent, and the wiki's log of requests by User-Agent.
    user_agent: UserAgent,
    access_log: AccessLog,
    wiki: WikiUrl,
    github: FakeGitHub,
    store: Arc<dyn Store>,
    vault: Arc<Vault>,
    publisher: Publisher,
    forges: Arc<Forges>,
    user: UserId,
    _dir: tempfile::TempDir,
}

impl Real {
    /// The wiki and a client whose User-Agent names `test`.
    async fn start(test: &str) -> Option<Self> {
        let accounts = accounts()?;
        let access_log = std::env::var_os(ACCESS_LOG_ENV)
            .filter(|path| !path.is_empty())
            .map(AccessLog::at)
            .expect("WIKISCRIPTSYNC_TEST_MEDIAWIKI_ACCESS_LOG is set with the wiki");
        let user_agent = unique_user_agent(test);
        let mut config = ClientConfig::new(user_agent.clone()).interactive();
        config.allow_list = AllowList::with_hosts(
            std::env::var("WIKISCRIPTSYNC_EXTRA_WIKI_HOSTS")
                .unwrap_or_default()
                .split(','),
        )
        .unwrap();
        config.retry = mw::RetryPolicy::fast_for_tests();
        config.request_timeout = Duration::from_secs(20);
        let client = Arc::new(ActionApiClient::new(config).unwrap());
        let wiki = client.parse_wiki(&accounts.api_url).unwrap();
        let github = FakeGitHub::start().await;
        github.add_repo(REPO, [(PATH, V1)]);
        let dir = tempfile::tempdir().unwrap();
        let (store, _) = temp_store(dir.path()).await;
        let vault = Arc::new(Vault::from_key_list(&Vault::generate_key()).unwrap());
        let forges = Arc::new(Forges::new(github.config_builder().build().unwrap()).unwrap());
        let publisher = Publisher::new(
            client.clone(),
            forges.clone(),
            store.clone(),
            Some(vault.clone()),
        );
        let user = store
            .upsert_user(&unique("central"), "Admin", Utc::now())
            .await
            .unwrap()
            .id;
        Some(Self {
            accounts,
            client,
            user_agent,
            access_log,
            wiki,
            github,
            store,
            vault,
            publisher,
            forges,
            user,
            _dir: dir,
        })
    }

    /// The requests the wiki logged for this test's User-Agent.
    fn server_count(&self) -> u64 {
        let n = self
            .access_log
            .requests_from(&self.user_agent)
            .expect("read the wiki's access log");
        u64::try_from(n).unwrap()
    }

    /// The wiki received exactly the requests the client counted.
    fn assert_server_agrees(&self) {
        assert_eq!(
            self.server_count(),
            self.client.request_count(),
            "requests logged by the wiki vs counted by the client ({})",
            self.user_agent.as_str()
        );
    }

    /// A publisher like `self.publisher` whose wiki sessions edit through `hook`.
    fn publisher_with(&self, hook: impl EditHook) -> Publisher {
        Publisher::new(
            Arc::new(HookedWiki {
                inner: self.client.clone(),
                hook: Arc::new(hook),
            }),
            self.forges.clone(),
            self.store.clone(),
            Some(self.vault.clone()),
        )
    }

    fn wiki_key(&self) -> String {
        self.wiki.key()
    }

    async fn save_credential(&self, account: &BotPassword, password: &SecretString) {
        let wiki = self.wiki_key();
        let owner = wikiscriptsync_core::vault::CredentialOwner {
            user: self.user,
            wiki: &wiki,
        };
        self.store
            .set_credential(
                self.user,
                &wiki,
                account.login_name(),
                &self.vault.encrypt(owner, password),
                Utc::now(),
            )
            .await
            .unwrap();
    }

    fn admin_password() -> SecretString {
        SecretString::from(std::env::var("WIKISCRIPTSYNC_TEST_MW_ADMIN_PASSWORD").unwrap())
    }

    async fn mapping(&self, page: &str, options: MappingOptions) -> MappingId {
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

    fn request(&self, mapping: MappingId) -> MappingPublish {
        MappingPublish {
            user: self.user,
            mapping,
        }
    }

    /// Commits a new version of the file and records a check of it.
    async fn commit(&self, text: &str) {
        self.github.commit(REPO, "main", [(PATH, Some(text))]);
        seed_checked_file(self.store.as_ref(), self.user, &self.github).await;
    }

    async fn admin_session(&self) -> Arc<dyn WikiSession> {
        self.client
            .login(&self.wiki, self.accounts.admin.clone())
            .await
            .unwrap()
    }

    /// The page's live text, read back through the API.
    async fn live_text(&self, page: &str) -> String {
        let title = Title::parse(page).unwrap();
        self.admin_session()
            .await
            .page_text(&title, None)
            .await
            .unwrap()
            .unwrap()
            .text
    }
}

fn create_allowed() -> MappingOptions {
    MappingOptions {
        allow_create: true,
        ..MappingOptions::default()
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn create_then_update_then_no_change_and_the_page_equals_the_file() {
    let Some(real) = Real::start("create-update").await else {
        return;
    };
    real.save_credential(&real.accounts.admin, &Real::admin_password())
        .await;
    let page = gadget_title();
    let mapping = real.mapping(&page, create_allowed()).await;

    let before = real.server_count();
    let created = real
        .publisher
        .publish_mapping(real.request(mapping), opts(false, false))
        .await
        .unwrap();
    let seen = real.server_count() - before;
    assert!(
        matches!(
            created.outcome,
            PublishOutcome::Published { created: true, .. }
        ),
        "{created:?}"
    );
    // Cold publish from a checked mapping: 1 forge request + 4 wiki requests.
    assert_eq!(created.requests.forge, 1, "{created:?}");
    assert_eq!(created.requests.wiki, 4, "{created:?}");
    assert_eq!(seen, 4, "the wiki saw the same four");
    assert_eq!(real.live_text(&page).await, text::normalize(V1));

    let v2 = "// hello v2\r\nmw.log('hello again');   \r\n\r\n";
    real.commit(v2).await;
    let before = real.server_count();
    let updated = real
        .publisher
        .publish_mapping(real.request(mapping), opts(false, false))
        .await
        .unwrap();
    assert_eq!(real.server_count() - before, updated.requests.wiki);
    let PublishOutcome::Published {
        old_revision: Some(old),
        new_revision,
        created: false,
    } = updated.outcome
    else {
        panic!("{updated:?}");
    };
    assert_eq!(Some(old), created.new_revision());
    assert_eq!(
        updated.diff_url.as_deref(),
        Some(
            format!(
                "{}index.php?diff={new_revision}&oldid={old}",
                real.wiki.script_base()
            )
            .as_str()
        )
    );
    assert_eq!(real.live_text(&page).await, text::normalize(v2));

    let before = real.server_count();
    let again = real
        .publisher
        .publish_mapping(real.request(mapping), opts(false, false))
        .await
        .unwrap();
    assert_eq!(real.server_count() - before, again.requests.wiki);
    assert_eq!(
        again.outcome,
        PublishOutcome::NoChange {
            revision: new_revision
        }
    );
    assert_eq!(again.requests.wiki, 3, "no edit request");
    let stored = real
        .store
        .mapping(real.user, mapping)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(
        stored.last_published.unwrap().revid,
        i64::try_from(new_revision).unwrap()
    );
    real.assert_server_agrees();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_on_wiki_edit_is_refused_as_drift_then_overwritten_with_the_flag() {
    let Some(real) = Real::start("drift").await else {
        return;
    };
    real.save_credential(&real.accounts.admin, &Real::admin_password())
        .await;
    let page = gadget_title();
    let mapping = real.mapping(&page, create_allowed()).await;
    real.publisher
        .publish_mapping(real.request(mapping), opts(false, false))
        .await
        .unwrap();
    // Someone edits on-wiki (here: the admin by hand, outside WikiScriptSync).
    let title = Title::parse(&page).unwrap();
    let session = real.admin_session().await;
    let probe = session.probe(&title).await.unwrap();
    let mut edit = EditRequest::new(title.clone(), format!("{V1}hotfix();\n"), "hotfix on-wiki");
    edit.base_revision = probe.page.revision_id;
    session.edit(&edit).await.unwrap();
    real.commit("// hello v2\n").await;

    let failure = real
        .publisher
        .publish_mapping(real.request(mapping), opts(false, false))
        .await
        .unwrap_err();
    assert_eq!(failure.step, PublishStep::DriftGuard);
    assert_eq!(failure.class(), FailureClass::Refused);
    let PublishError::Drift { diff, .. } = &failure.error else {
        panic!("{failure:?}");
    };
    assert!(diff.contains("+hotfix();"), "{diff}");
    assert!(real.live_text(&page).await.contains("hotfix();"));

    let report = real
        .publisher
        .publish_mapping(real.request(mapping), opts(false, true))
        .await
        .unwrap();
    assert!(report.overwrote_drift);
    assert_eq!(real.live_text(&page).await, "// hello v2");
    real.assert_server_agrees();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_dry_run_shows_the_diff_and_leaves_the_page_alone() {
    let Some(real) = Real::start("dry-run").await else {
        return;
    };
    real.save_credential(&real.accounts.admin, &Real::admin_password())
        .await;
    let page = gadget_title();
    let mapping = real.mapping(&page, create_allowed()).await;
    let report = real
        .publisher
        .publish_mapping(real.request(mapping), opts(true, false))
        .await
        .unwrap();
    assert_eq!(
        report.outcome,
        PublishOutcome::WouldPublish { would_create: true }
    );
    assert!(report.diff.contains("+mw.log('hello');"), "{}", report.diff);
    let title = Title::parse(&page).unwrap();
    let missing = real
        .admin_session()
        .await
        .page_text(&title, None)
        .await
        .unwrap();
    assert!(missing.is_none(), "a dry run created the page");
    real.assert_server_agrees();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_limited_bot_password_is_stopped_at_the_probe_naming_the_grant() {
    let Some(real) = Real::start("limited").await else {
        return;
    };
    let page = gadget_title();
    let mut request = common_ad_hoc(&real, &page);
    request.credentials =
        wikiscriptsync_core::publish::Credentials::Given(real.accounts.limited.clone());
    let before = real.server_count();
    let failure = real
        .publisher
        .publish(request, opts(false, false))
        .await
        .unwrap_err();
    assert_eq!(failure.step, PublishStep::Probe);
    assert_eq!(failure.error.code(), "missing_right");
    assert_eq!(failure.class(), FailureClass::Refused);
    assert!(failure.to_string().contains("editsiteconfig"), "{failure}");
    assert_eq!(
        failure.requests.wiki, 3,
        "login token, login, probe; no edit"
    );
    assert_eq!(
        real.server_count() - before,
        3,
        "the wiki saw the same three"
    );
    real.assert_server_agrees();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_wrong_password_fails_at_login() {
    let Some(real) = Real::start("wrong-password").await else {
        return;
    };
    let page = gadget_title();
    let mut request = common_ad_hoc(&real, &page);
    request.credentials = wikiscriptsync_core::publish::Credentials::Given(BotPassword::new(
        real.accounts.admin.login_name(),
        SecretString::from("definitely-not-the-password"),
    ));
    let failure = real
        .publisher
        .publish(request, opts(false, false))
        .await
        .unwrap_err();
    assert_eq!(failure.step, PublishStep::Login);
    assert_eq!(failure.error.code(), "login_failed");
    assert_eq!(failure.class(), FailureClass::Other);
    assert!(!failure.to_string().contains("definitely-not-the-password"));
    assert_eq!(real.server_count(), failure.requests.wiki);
    real.assert_server_agrees();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_bad_key_fails_at_decrypt_before_contacting_the_wiki() {
    let Some(real) = Real::start("bad-key").await else {
        return;
    };
    let other = Vault::from_key_list(&Vault::generate_key()).unwrap();
    let wiki = real.wiki_key();
    let owner = wikiscriptsync_core::vault::CredentialOwner {
        user: real.user,
        wiki: &wiki,
    };
    real.store
        .set_credential(
            real.user,
            &wiki,
            real.accounts.admin.login_name(),
            &other.encrypt(owner, &Real::admin_password()),
            Utc::now(),
        )
        .await
        .unwrap();
    let page = gadget_title();
    let mapping = real.mapping(&page, create_allowed()).await;
    let before = real.client.request_count();
    let failure = real
        .publisher
        .publish_mapping(real.request(mapping), opts(false, false))
        .await
        .unwrap_err();
    assert_eq!(failure.step, PublishStep::Decrypt);
    assert_eq!(failure.error.code(), "vault");
    assert_eq!(
        real.client.request_count(),
        before,
        "nothing was sent to the wiki"
    );
    assert_eq!(real.server_count(), 0, "the wiki saw nothing either");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_edit_racing_the_publish_is_an_edit_conflict() {
    let Some(real) = Real::start("race").await else {
        return;
    };
    // MediaWiki ignores conflicts with your own edits, so the racer is another account: the
    // page is Limited's own user script, which Limited may edit (editmycssjs) and the admin
    // may edit as an interface administrator (edituserjs).
    let limited_user = real.accounts.limited.user_name().to_owned();
    let page = format!("User:{limited_user}/{}.js", unique("wss-race"));
    let title = Title::parse(&page).unwrap();
    let limited = real
        .client
        .login(&real.wiki, real.accounts.limited.clone())
        .await
        .unwrap();
    let mut create = EditRequest::new(title.clone(), "// line one\n", "setup");
    create.create = mw::CreatePolicy::MayCreate;
    limited.edit(&create).await.unwrap();

    let racing = real.publisher_with(Racer {
        racer: limited,
        title: title.clone(),
        race_text: "// the racer's line one\n",
    });
    let failure = racing
        .publish(common_ad_hoc(&real, &page), opts(false, false))
        .await
        .unwrap_err();
    assert_eq!(failure.step, PublishStep::Edit, "{failure:?}");
    assert_eq!(failure.error.code(), "edit_conflict", "{failure}");
    assert_eq!(failure.class(), FailureClass::Refused);
    assert_eq!(real.live_text(&page).await, "// the racer's line one");
    real.assert_server_agrees();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_edit_racing_the_publish_that_mediawiki_merges_is_reported_as_drift_not_published() {
    let Some(real) = Real::start("race-merged").await else {
        return;
    };
    // As above, the racer is another account, on its own user script.
    let limited_user = real.accounts.limited.user_name().to_owned();
    let page = format!("User:{limited_user}/{}.js", unique("wss-merged"));
    let title = Title::parse(&page).unwrap();
    let limited = real
        .client
        .login(&real.wiki, real.accounts.limited.clone())
        .await
        .unwrap();
    let mut create = EditRequest::new(title.clone(), "a();\nb();\nc();\nd();\n", "setup");
    create.create = mw::CreatePolicy::MayCreate;
    let EditOutcome::Created { revision: base, .. } = limited.edit(&create).await.unwrap() else {
        panic!("not created")
    };
    // The file changes the first line; the racer, between our probe and our edit, the last.
    real.github
        .commit(REPO, "main", [(PATH, Some("A();\nb();\nc();\nd();\n"))]);
    let racing = real.publisher_with(Racer {
        racer: limited.clone(),
        title: title.clone(),
        race_text: "a();\nb();\nc();\nD();\n",
    });
    let report = racing
        .publish(common_ad_hoc(&real, &page), opts(false, false))
        .await
        .unwrap();
    let live = limited.probe(&title).await.unwrap().page;
    let new = live.revision_id.unwrap();
    let PublishOutcome::Merged {
        base_revision,
        latest_revision,
        new_revision,
    } = report.outcome
    else {
        panic!("a merged edit must not be reported as a clean publish: {report:?}")
    };
    assert_eq!(base_revision, base);
    assert!(
        latest_revision > base && latest_revision < new,
        "{report:?}"
    );
    assert_eq!(new_revision, Some(new));
    assert_eq!(report.outcome.as_str(), "merged");
    // The page holds both changes: the file is not what is live.
    assert_eq!(real.live_text(&page).await, "A();\nb();\nc();\nD();");
    // The drift is what was merged: the base text against the racer's revision.
    let drift = report.drift.as_deref().expect("the merged change is shown");
    assert!(
        drift.contains("-d();") && drift.contains("+D();"),
        "{drift}"
    );
    assert!(
        !drift.contains("A();"),
        "our own change is not the drift: {drift}"
    );
    assert!(
        report.message.contains("not a clean publish"),
        "{}",
        report.message
    );
    assert!(report.message.contains("merged"), "{}", report.message);
    // The publish-log row (written ahead, then settled) says merged, not published.
    let log = real
        .store
        .publish_log(
            real.user,
            wikiscriptsync_core::store::PublishLogFilter::All,
            wikiscriptsync_core::store::PageRequest::first(10),
        )
        .await
        .unwrap()
        .items;
    assert_eq!(log.len(), 1, "{log:?}");
    let row = &log[0].entry;
    assert_eq!(
        row.outcome,
        wikiscriptsync_core::store::PublishOutcome::Merged
    );
    assert_eq!(row.base_revid, Some(i64::try_from(base).unwrap()));
    assert_eq!(row.new_revid, Some(i64::try_from(new).unwrap()));
    assert!(
        row.message
            .as_deref()
            .unwrap_or_default()
            .contains("not a clean publish"),
        "{row:?}"
    );
}

fn common_ad_hoc(real: &Real, page: &str) -> wikiscriptsync_core::publish::AdHocPublish {
    wikiscriptsync_core::publish::AdHocPublish {
        user: real.user,
        source: wikiscriptsync_core::publish::PublishSource::Repository {
            repo: Box::new(
                real.forges
                    .parse_repo_url(&real.github.repo_url(REPO))
                    .unwrap(),
            ),
            revision: wikiscriptsync_core::publish::SourceRevision::Branch("main".to_owned()),
            path: PATH.to_owned(),
            expected_blob: None,
        },
        wiki: real.accounts.api_url.clone(),
        page: page.to_owned(),
        credentials: wikiscriptsync_core::publish::Credentials::Given(real.accounts.admin.clone()),
        allow_create: false,
        banner: false,
    }
}

/// Another account edits the page just before our edit is sent, i.e. after the probe: the race
/// the drift guard cannot see and `baserevid` must catch.
struct Racer {
    racer: Arc<dyn WikiSession>,
    title: Title,
    /// The racer's text for the page.
    race_text: &'static str,
}

#[async_trait]
impl EditHook for Racer {
    async fn edit(
        &self,
        inner: &dyn WikiSession,
        request: &EditRequest,
    ) -> Result<EditOutcome, mw::Error> {
        // The racer's edit lands between our probe and our edit.
        let probe = self.racer.probe(&self.title).await?;
        let mut race = EditRequest::new(self.title.clone(), self.race_text, "race");
        race.base_revision = probe.page.revision_id;
        self.racer.edit(&race).await?;
        inner.edit(request).await
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_edit_whose_answer_is_lost_is_resolved_from_the_real_page() {
    let Some(real) = Real::start("answer-lost").await else {
        return;
    };
    let page = gadget_title();
    let title = Title::parse(&page).unwrap();
    let mut create = EditRequest::new(title.clone(), "// before\n", "setup");
    create.create = mw::CreatePolicy::MayCreate;
    real.admin_session().await.edit(&create).await.unwrap();

    // The edit reaches the wiki and lands; its answer never comes back.
    let landed = real.publisher_with(Lose::AfterSending);
    let report = landed
        .publish(common_ad_hoc(&real, &page), opts(false, false))
        .await
        .unwrap();
    let live = real.admin_session().await.probe(&title).await.unwrap();
    let revision = live.page.revision_id.unwrap();
    assert_eq!(report.new_revision(), Some(revision), "{report:?}");
    assert!(
        report.message.contains("answer was lost"),
        "{}",
        report.message
    );
    assert!(text::same_page_text(&real.live_text(&page).await, V1));
    let log = real
        .store
        .publish_log(
            real.user,
            wikiscriptsync_core::store::PublishLogFilter::All,
            wikiscriptsync_core::store::PageRequest::first(10),
        )
        .await
        .unwrap()
        .items;
    assert_eq!(log.len(), 1, "{log:?}");
    assert_eq!(
        log[0].entry.new_revid,
        Some(i64::try_from(revision).unwrap())
    );

    // The connection dies before the edit reaches the wiki: recorded as not applied.
    real.github
        .commit(REPO, "main", [(PATH, Some("// v2 from the repository\n"))]);
    let lost = real.publisher_with(Lose::BeforeSending);
    let failure = lost
        .publish(common_ad_hoc(&real, &page), opts(false, false))
        .await
        .unwrap_err();
    assert_eq!(failure.error.code(), "edit_not_applied", "{failure}");
    assert!(
        failure
            .to_string()
            .contains(&format!("still at revision {revision}")),
        "{failure}"
    );
    assert!(text::same_page_text(&real.live_text(&page).await, V1));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_edit_retried_after_its_first_try_landed_records_the_revision_that_try_made() {
    let Some(real) = Real::start("retried-edit").await else {
        return;
    };
    let page = gadget_title();
    let title = Title::parse(&page).unwrap();
    let mut create = EditRequest::new(title.clone(), "// before\n", "setup");
    create.create = mw::CreatePolicy::MayCreate;
    real.admin_session().await.edit(&create).await.unwrap();
    let base = real
        .admin_session()
        .await
        .probe(&title)
        .await
        .unwrap()
        .page
        .revision_id
        .unwrap();

    // The first try lands but its answer is a proxy's 503; the client's retry then hears
    // "no change" from MediaWiki (our own edit since the base is no conflict).
    let retrying = real.publisher_with(Lose::FirstOfTwo);
    let report = retrying
        .publish(common_ad_hoc(&real, &page), opts(false, false))
        .await
        .unwrap();
    let live = real.admin_session().await.probe(&title).await.unwrap();
    let revision = live.page.revision_id.unwrap();
    assert_ne!(revision, base, "the first try landed");
    assert_eq!(report.new_revision(), Some(revision), "{report:?}");
    assert!(report.message.contains("earlier try"), "{}", report.message);
}

/// How [`LosingWiki`] loses the answer to an edit.
#[derive(Clone, Copy)]
enum Lose {
    /// The connection dies after the request got through.
    AfterSending,
    /// The connection dies before the request got through.
    BeforeSending,
    /// The request gets through, its answer is lost, and it is sent again (the client's
    /// retry after a 503): the second answer is returned.
    FirstOfTwo,
}

/// Sessions lose the answer to every edit, as [`Lose`] says.
#[async_trait]
impl EditHook for Lose {
    async fn edit(
        &self,
        inner: &dyn WikiSession,
        request: &EditRequest,
    ) -> Result<EditOutcome, mw::Error> {
        match self {
            Lose::AfterSending => {
                inner.edit(request).await?;
            }
            Lose::BeforeSending => {}
            Lose::FirstOfTwo => {
                inner.edit(request).await?;
                return inner.edit(request).await;
            }
        }
        Err(mw::Error::Network {
            wiki: inner.wiki().host(),
            detail: "connection reset by peer (injected)".to_owned(),
        })
    }
}

/// What a [`HookedWiki`]'s sessions do in place of a plain edit.
#[async_trait]
trait EditHook: Send + Sync + 'static {
    /// Sends (or does not send) `request` through `inner`, the real session.
    async fn edit(
        &self,
        inner: &dyn WikiSession,
        request: &EditRequest,
    ) -> Result<EditOutcome, mw::Error>;
}

/// The real client, whose logged-in sessions edit through `hook`; everything else passes through.
struct HookedWiki {
    inner: Arc<ActionApiClient>,
    hook: Arc<dyn EditHook>,
}

#[async_trait]
impl WikiApi for HookedWiki {
    fn parse_wiki(&self, input: &str) -> Result<WikiUrl, mw::Error> {
        self.inner.parse_wiki(input)
    }
    fn parse_address(&self, input: &str) -> Result<mw::WikiAddress, mw::Error> {
        WikiApi::parse_address(self.inner.as_ref(), input)
    }
    async fn resolve_wiki(&self, input: &str) -> Result<mw::WikiIdentity, mw::Error> {
        WikiApi::resolve_wiki(self.inner.as_ref(), input).await
    }
    async fn login(
        &self,
        wiki: &WikiUrl,
        credentials: BotPassword,
    ) -> Result<Arc<dyn WikiSession>, mw::Error> {
        let session = WikiApi::login(self.inner.as_ref(), wiki, credentials).await?;
        Ok(Arc::new(HookedSession {
            inner: session,
            hook: self.hook.clone(),
        }))
    }
    fn anonymous(&self, wiki: &WikiUrl) -> Result<Arc<dyn WikiSession>, mw::Error> {
        WikiApi::anonymous(self.inner.as_ref(), wiki)
    }
    fn request_count(&self) -> u64 {
        WikiApi::request_count(self.inner.as_ref())
    }
}

struct HookedSession {
    inner: Arc<dyn WikiSession>,
    hook: Arc<dyn EditHook>,
}

#[async_trait]
impl WikiSession for HookedSession {
    fn wiki(&self) -> &WikiUrl {
        self.inner.wiki()
    }
    fn user_name(&self) -> Option<String> {
        self.inner.user_name()
    }
    fn request_count(&self) -> u64 {
        self.inner.request_count()
    }
    async fn user_info(&self) -> Result<UserInfo, mw::Error> {
        self.inner.user_info().await
    }
    async fn lookup_revisions(&self, titles: &[&str]) -> Result<Vec<PageLookup>, mw::Error> {
        self.inner.lookup_revisions(titles).await
    }
    async fn page_text(
        &self,
        title: &Title,
        revision: Option<u64>,
    ) -> Result<Option<PageText>, mw::Error> {
        self.inner.page_text(title, revision).await
    }
    async fn probe(&self, title: &Title) -> Result<Probe, mw::Error> {
        self.inner.probe(title).await
    }
    async fn edit(&self, request: &EditRequest) -> Result<EditOutcome, mw::Error> {
        self.hook.edit(self.inner.as_ref(), request).await
    }
    async fn append(&self, request: &EditRequest) -> Result<EditOutcome, mw::Error> {
        self.inner.append(request).await
    }
    async fn post_talk_notice(&self, notice: &TalkNotice) -> Result<TalkNoticeOutcome, mw::Error> {
        self.inner.post_talk_notice(notice).await
    }
}

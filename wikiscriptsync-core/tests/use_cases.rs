//! The use-case layer over a fake wiki, a fake GitHub and a temp SQLite store: every refusal
//! happens before any request or write and says what to do; ownership is checked everywhere;
//! a mapping and the monitor it created come and go together.

use std::sync::Arc;
use std::time::Duration;

use secrecy::SecretString;
use wikiscriptsync_core::app::{App, AppParts, Field, MapFile, UseCaseError};
use wikiscriptsync_core::forge::Forges;
use wikiscriptsync_core::forge::testkit::FakeGitHub;
use wikiscriptsync_core::mw::testkit::{FakeAccount, FakeWiki};
use wikiscriptsync_core::mw::{ActionApiClient, ClientConfig, RetryPolicy, UserAgent};
use wikiscriptsync_core::store::testkit::TestDatabase;
use wikiscriptsync_core::store::{MappingOptions, MonitorOrigin, UserId};
use wikiscriptsync_core::vault::Vault;

const REPO: &str = "octo/gadgets";
const PASSWORD: &str = "useCaseBotPassw0rdQQ12";

struct Fakes {
    wiki: FakeWiki,
    github: FakeGitHub,
    _db: TestDatabase,
    app: App,
    alice: UserId,
    bob: UserId,
}

impl Fakes {
    async fn start(with_vault: bool) -> Self {
        let wiki = FakeWiki::start().await;
        wiki.add_account(
            FakeAccount::new("Alice@sync", PASSWORD).with_rights(&["edit", "editmyuserjs"]),
        );
        let github = FakeGitHub::start().await;
        github.add_repo(
            REPO,
            [
                ("src/a.js", "// a"),
                ("src/b.css", "b {}"),
                ("README.md", "# r"),
            ],
        );
        github.commit(REPO, "maintenance", [("src/a.js", Some("// m"))]);
        let db = TestDatabase::sqlite();
        let store = db.open().await;
        let mut config =
            ClientConfig::new(UserAgent::from_contact("https://example.org/tests").unwrap())
                .interactive();
        config.allow_list = wiki.allow_list();
        config.retry = RetryPolicy::fast_for_tests();
        config.request_timeout = Duration::from_secs(5);
        let app = App::new(AppParts {
            store,
            wiki: Arc::new(ActionApiClient::new(config).unwrap()),
            forges: Arc::new(Forges::new(github.config_builder().build().unwrap()).unwrap()),
            vault: with_vault
                .then(|| Arc::new(Vault::from_key_list(&Vault::generate_key()).unwrap())),
            runner_host: "tests".to_owned(),
        });
        let alice = app.log_in("1", "Alice").await.unwrap().id;
        let bob = app.log_in("2", "Bob").await.unwrap().id;
        Self {
            wiki,
            github,
            _db: db,
            app,
            alice,
            bob,
        }
    }

    fn forge_requests(&self) -> u64 {
        self.github.stats().requests
    }
}

#[track_caller]
fn refused(result: Result<impl std::fmt::Debug, UseCaseError>, field: Field) -> String {
    match result {
        Err(err @ UseCaseError::Invalid { .. }) => {
            assert_eq!(err.field(), Some(field), "{err}");
            assert!(err.is_user_error());
            err.to_string()
        }
        other => panic!("expected a refusal of {field:?}, got {other:?}"),
    }
}

#[tokio::test]
async fn a_repository_needs_a_parseable_url_and_an_existing_branch() {
    let fakes = Fakes::start(true).await;
    let app = &fakes.app;
    let url = fakes.github.repo_url(REPO);

    let message = refused(
        app.add_repository(fakes.alice, "not a url", None).await,
        Field::Url,
    );
    assert!(message.contains("not a url"), "{message}");
    let message = refused(
        app.add_repository(fakes.alice, &url, Some("a..b")).await,
        Field::Branch,
    );
    assert!(message.contains("git accepts"), "{message}");
    assert_eq!(fakes.forge_requests(), 0, "refused before any request");

    let message = refused(
        app.add_repository(fakes.alice, &url, Some("mian")).await,
        Field::Branch,
    );
    assert!(message.contains("`mian` does not exist"), "{message}");
    assert!(message.contains("default branch is `main`"), "{message}");
    assert!(message.contains("Did you mean `main`"), "{message}");
    assert!(
        app.repositories(fakes.alice).await.unwrap().is_empty(),
        "nothing stored"
    );

    let repo = app
        .add_repository(fakes.alice, &url, Some("maintenance"))
        .await
        .unwrap();
    assert_eq!(repo.branch, "maintenance");
    let default = app.add_repository(fakes.alice, &url, None).await.unwrap();
    assert_eq!(default.branch, "main");
    match app.add_repository(fakes.alice, &url, None).await {
        Err(UseCaseError::Conflict(message)) => assert!(message.contains("already track")),
        other => panic!("{other:?}"),
    }
    // Another user's id is not found, for reading and for removing.
    assert!(matches!(
        app.repository(fakes.bob, repo.id).await,
        Err(UseCaseError::NotFound { .. })
    ));
    assert!(matches!(
        app.remove_repository(fakes.bob, repo.id).await,
        Err(UseCaseError::NotFound { .. })
    ));
    assert_eq!(app.repositories(fakes.alice).await.unwrap().len(), 2);
}

#[tokio::test]
async fn only_publishable_files_at_the_branch_head_are_watched() {
    let fakes = Fakes::start(true).await;
    let app = &fakes.app;
    let repo = app
        .add_repository(fakes.alice, &fakes.github.repo_url(REPO), None)
        .await
        .unwrap();
    let before = fakes.forge_requests();
    let paths = |p: &[&str]| p.iter().map(|s| (*s).to_owned()).collect::<Vec<_>>();
    let message = refused(
        app.watch_files(fakes.alice, repo.id, &paths(&["src/a.js", "README.md"]))
            .await,
        Field::Paths,
    );
    assert!(
        message.contains("README.md is not a .js, .css or .json file"),
        "{message}"
    );
    assert_eq!(fakes.forge_requests(), before, "refused before any request");
    let message = refused(
        app.watch_files(fakes.alice, repo.id, &paths(&["src/a.js", "src/gone.js"]))
            .await,
        Field::Paths,
    );
    assert!(message.contains("src/gone.js"), "{message}");
    assert!(
        app.watched_files(fakes.alice, repo.id)
            .await
            .unwrap()
            .is_empty(),
        "all or nothing"
    );
    let watched = app
        .watch_files(fakes.alice, repo.id, &paths(&["/src/a.js", "src/b.css"]))
        .await
        .unwrap();
    assert_eq!(watched.added.len(), 2);
    let again = app
        .watch_files(fakes.alice, repo.id, &paths(&["src/a.js"]))
        .await
        .unwrap();
    assert!(again.added.is_empty());
    assert_eq!(again.already, ["src/a.js"]);
    assert!(matches!(
        app.watch_files(fakes.bob, repo.id, &paths(&["src/a.js"]))
            .await,
        Err(UseCaseError::NotFound { .. })
    ));
}

#[tokio::test]
async fn a_mapping_brings_its_monitor_and_takes_it_away_unless_the_user_monitors_the_page() {
    let fakes = Fakes::start(true).await;
    let app = &fakes.app;
    let repo = app
        .add_repository(fakes.alice, &fakes.github.repo_url(REPO), None)
        .await
        .unwrap();
    let file = app
        .watch_files(fakes.alice, repo.id, &["src/a.js".to_owned()])
        .await
        .unwrap()
        .added[0]
        .id;
    let map = |title: &str, monitor: bool| MapFile {
        file,
        wiki: fakes.wiki.api_url(),
        title: title.to_owned(),
        options: MappingOptions::default(),
        monitor,
    };
    let wiki_requests = fakes.wiki.request_count();
    refused(
        app.map_file(fakes.alice, &map("Foo|bar", true)).await,
        Field::Title,
    );
    let mut elsewhere = map("User:Alice/a.js", true);
    elsewhere.wiki = "wiki.evil.example".to_owned();
    refused(app.map_file(fakes.alice, &elsewhere).await, Field::Wiki);
    assert_eq!(fakes.wiki.request_count(), wiki_requests, "no request");

    let mapping = app
        .map_file(fakes.alice, &map("User:Alice/a.js", true))
        .await
        .unwrap();
    let monitors = app.page_monitors(fakes.alice).await.unwrap();
    assert_eq!(monitors.len(), 1);
    assert_eq!(monitors[0].origin, MonitorOrigin::Mapping);
    assert!(matches!(
        app.map_file(fakes.alice, &map("User:Alice/a.js", true))
            .await,
        Err(UseCaseError::Conflict(_))
    ));
    assert!(matches!(
        app.unmap(fakes.bob, mapping.id).await,
        Err(UseCaseError::NotFound { .. })
    ));
    app.unmap(fakes.alice, mapping.id).await.unwrap();
    assert!(
        app.page_monitors(fakes.alice).await.unwrap().is_empty(),
        "the monitor the mapping created goes with it"
    );

    // Monitored on the user's own account too: unmapping leaves it.
    let mapping = app
        .map_file(fakes.alice, &map("User:Alice/a.js", true))
        .await
        .unwrap();
    let own = app
        .monitor_pages(
            fakes.alice,
            &fakes.wiki.api_url(),
            &["User:Alice/a.js".to_owned()],
        )
        .await
        .unwrap();
    assert_eq!(own.added.len(), 1, "the user now monitors it on their own");
    app.unmap(fakes.alice, mapping.id).await.unwrap();
    let monitors = app.page_monitors(fakes.alice).await.unwrap();
    assert_eq!(monitors.len(), 1);
    assert_eq!(monitors[0].origin, MonitorOrigin::User);
}

#[tokio::test]
async fn a_botpassword_is_saved_only_after_one_login_that_works() {
    let fakes = Fakes::start(true).await;
    let app = &fakes.app;
    let wiki = fakes.wiki.api_url();
    let secret = |s: &str| SecretString::from(s.to_owned());
    for bad in ["@sync", "Alice@", "Alice"] {
        refused(
            app.save_credential(fakes.alice, &wiki, bad, secret(PASSWORD))
                .await,
            Field::BotUser,
        );
    }
    refused(
        app.save_credential(fakes.alice, &wiki, "Alice@sync", secret(" "))
            .await,
        Field::Password,
    );
    assert_eq!(fakes.wiki.request_count(), 0, "refused before any request");
    let message = refused(
        app.save_credential(fakes.alice, &wiki, "Alice@sync", secret("wrong"))
            .await,
        Field::Password,
    );
    assert!(message.contains("not saved"), "{message}");
    assert!(app.credentials(fakes.alice).await.unwrap().is_empty());
    assert_eq!(fakes.wiki.requests_for("login"), 1);

    let report = app
        .save_credential(fakes.alice, &wiki, "Alice@sync", secret(PASSWORD))
        .await
        .unwrap();
    assert_eq!(report.bot_username, "Alice@sync");
    assert_eq!(fakes.wiki.requests_for("login"), 2, "one check login");
    let verified = app.verify_credential(fakes.alice, &wiki).await.unwrap();
    assert_eq!(verified.grants, report.grants);
    assert_eq!(fakes.wiki.requests_for("login"), 3);
    assert!(!format!("{report:?}{verified:?}").contains(PASSWORD));
    refused(app.verify_credential(fakes.bob, &wiki).await, Field::Wiki);
    app.delete_credential(fakes.alice, &wiki).await.unwrap();
    assert!(app.credentials(fakes.alice).await.unwrap().is_empty());
}

#[tokio::test]
async fn without_a_key_nothing_is_stored_and_the_refusal_says_how_to_make_one() {
    let fakes = Fakes::start(false).await;
    let err = fakes
        .app
        .save_credential(
            fakes.alice,
            &fakes.wiki.api_url(),
            "Alice@sync",
            SecretString::from(PASSWORD.to_owned()),
        )
        .await
        .unwrap_err();
    assert!(matches!(err, UseCaseError::Vault(_)), "{err:?}");
    assert!(
        err.to_string().contains("CREDENTIAL_ENCRYPTION_KEY"),
        "{err}"
    );
    assert_eq!(fakes.wiki.request_count(), 0);
}

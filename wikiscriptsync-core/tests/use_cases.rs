//! The use-case layer over a fake wiki, a fake GitHub and a temp SQLite store: every refusal
//! happens before any request or write and says what to do; ownership is checked everywhere;
//! a mapping and the monitor it created come and go together.

mod common;

use secrecy::SecretString;
use wikiscriptsync_core::app::CheckNowOutcome;
use wikiscriptsync_core::app::{App, Field, MapFile, UseCaseError};
use wikiscriptsync_core::forge::testkit::FakeGitHub;
use wikiscriptsync_core::mw::testkit::{FakeAccount, FakeWiki};
use wikiscriptsync_core::publish::PublishOutcome;
use wikiscriptsync_core::store::testkit::TestDatabase;
use wikiscriptsync_core::store::{
    Forge, MappingOptions, MonitorOrigin, NewRepository, RepositoryId, UserId,
};

const REPO: &str = "octo/gadgets";
const PASSWORD: &str = "useCaseBotPassw0rdQQ12";

struct Fakes {
    wiki: FakeWiki,
    github: FakeGitHub,
    db: TestDatabase,
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
        let app = common::use_cases(store, &wiki, &github, with_vault);
        let alice = app.log_in("1", "Alice").await.unwrap().id;
        let bob = app.log_in("2", "Bob").await.unwrap().id;
        Self {
            wiki,
            github,
            db,
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

/// A repository row written straight to the store, as an older binary (or a hand-edited
/// database) may have left it.
async fn plant_repository(fakes: &Fakes, host: &str, full_name: &str, url: &str) -> RepositoryId {
    let store = fakes.db.open().await;
    store
        .add_repository(
            fakes.alice,
            &NewRepository {
                forge: Forge::GitHub,
                host: host.to_owned(),
                full_name: full_name.to_owned(),
                url: url.to_owned(),
                branch: "main".to_owned(),
            },
            chrono::Utc::now(),
        )
        .await
        .unwrap()
        .id
}

#[tokio::test]
async fn an_added_repository_keeps_its_forge_host_and_full_name() {
    let fakes = Fakes::start(true).await;
    let url = format!("{}/tree/maintenance", fakes.github.repo_url(REPO));
    let repo = fakes
        .app
        .add_repository(fakes.alice, &url, None)
        .await
        .unwrap();
    assert_eq!(
        (repo.forge, repo.host.as_str(), repo.full_name.as_str()),
        (Forge::GitHub, "github.com", REPO)
    );
    assert_eq!(repo.url, fakes.github.repo_url(REPO), "the canonical URL");
    assert_eq!(repo.branch, "maintenance");
}

#[tokio::test]
async fn a_stored_repository_is_watched_checked_and_published_from_its_typed_parts_not_its_url() {
    let fakes = Fakes::start(true).await;
    let app = &fakes.app;
    // The URL is for people only: nothing downstream parses it.
    let id = plant_repository(&fakes, "github.com", REPO, "not a repository URL").await;
    let watched = app
        .watch_files(fakes.alice, id, &["src/a.js".to_owned()])
        .await
        .unwrap();
    assert_eq!(watched.check, Some(CheckNowOutcome::FirstCheck));
    let file = watched.added[0].id;
    let (outcome, report) = app
        .check_repository_now(fakes.alice, id, "tests")
        .await
        .unwrap();
    assert_eq!(outcome, CheckNowOutcome::Unchanged, "{report:?}");
    app.save_credential(
        fakes.alice,
        &fakes.wiki.api_url(),
        "Alice@sync",
        SecretString::from(PASSWORD.to_owned()),
    )
    .await
    .unwrap();
    let mapping = app
        .map_file(
            fakes.alice,
            &MapFile {
                file,
                wiki: fakes.wiki.api_url(),
                title: "User:Alice/a.js".to_owned(),
                options: MappingOptions::default(),
                monitor: false,
            },
        )
        .await
        .unwrap();
    fakes.wiki.add_page("User:Alice/a.js", "// before");
    let published = app.publish(fakes.alice, mapping.id, false).await.unwrap();
    let report = published.result.unwrap();
    assert!(
        matches!(
            report.outcome,
            PublishOutcome::Published { created: false, .. }
        ),
        "{:?}",
        report.outcome
    );
    assert_eq!(
        fakes.wiki.page_text("User:Alice/a.js").as_deref(),
        Some("// a")
    );

    // Conversely, typed parts no configured forge serves fail the check even though the URL
    // would parse: the URL is not consulted while the row has a full name.
    let elsewhere = plant_repository(
        &fakes,
        "ghe.example.org",
        "octo/other",
        &fakes.github.repo_url(REPO),
    )
    .await;
    let (outcome, report) = app
        .check_repository_now(fakes.alice, elsewhere, "tests")
        .await
        .unwrap();
    assert_eq!(outcome, CheckNowOutcome::Failed);
    let detail = &report.unwrap().failures[0].detail;
    assert!(
        detail.contains("cannot be located") && detail.contains("ghe.example.org"),
        "{detail}"
    );
}

#[tokio::test]
async fn a_repository_stored_before_full_names_is_located_from_its_url_once() {
    let fakes = Fakes::start(true).await;
    let app = &fakes.app;
    let legacy = plant_repository(&fakes, "github.com", "", &fakes.github.repo_url(REPO)).await;
    let watched = app
        .watch_files(fakes.alice, legacy, &["src/a.js".to_owned()])
        .await
        .unwrap();
    assert_eq!(watched.check, Some(CheckNowOutcome::FirstCheck));
    let (outcome, report) = app
        .check_repository_now(fakes.alice, legacy, "tests")
        .await
        .unwrap();
    assert_eq!(outcome, CheckNowOutcome::Unchanged, "{report:?}");

    // Without a full name the URL is all there is: an unusable one is reported, not guessed.
    let broken = plant_repository(&fakes, "github.com", "", "not a repository URL").await;
    let message = refused(
        app.watch_files(fakes.alice, broken, &["src/a.js".to_owned()])
            .await,
        Field::Url,
    );
    assert!(message.contains("can no longer be located"), "{message}");
    let (outcome, report) = app
        .check_repository_now(fakes.alice, broken, "tests")
        .await
        .unwrap();
    assert_eq!(outcome, CheckNowOutcome::Failed);
    let detail = &report.unwrap().failures[0].detail;
    assert!(detail.contains("cannot be located"), "{detail}");
}

#[tokio::test]
async fn sessions_end_at_logout_one_or_all_and_a_blocked_account_cannot_log_in() {
    let fakes = Fakes::start(false).await;
    let app = &fakes.app;
    let first = app.start_session(fakes.alice).await.unwrap();
    let second = app.start_session(fakes.alice).await.unwrap();
    let bobs = app.start_session(fakes.bob).await.unwrap();
    assert_ne!(first, second);
    let user_of = |id: String| async move { app.session_user(&id).await.unwrap().map(|u| u.id) };
    assert_eq!(user_of(first.clone()).await, Some(fakes.alice));

    app.log_out(&first).await.unwrap();
    assert_eq!(user_of(first.clone()).await, None);
    assert_eq!(user_of(second.clone()).await, Some(fakes.alice));
    assert_eq!(app.log_out_everywhere(fakes.alice).await.unwrap(), 1);
    assert_eq!(user_of(second).await, None);
    assert_eq!(user_of(bobs).await, Some(fakes.bob));

    let profile = |blocked: bool| -> wikiscriptsync_core::mw::oauth::Profile {
        serde_json::from_value(serde_json::json!({
            "sub": "77", "username": "Mallory", "blocked": blocked
        }))
        .unwrap()
    };
    match app.log_in_oauth(&profile(true)).await {
        Err(err @ UseCaseError::Forbidden(_)) => {
            assert!(err.to_string().contains("blocked"), "{err}");
            assert!(err.is_user_error());
        }
        other => panic!("a blocked account logged in: {other:?}"),
    }
    let store = fakes.db.open().await;
    assert!(store.user_by_central_id("77").await.unwrap().is_none());
    let mallory = app.log_in_oauth(&profile(false)).await.unwrap();
    assert_eq!(mallory.username, "Mallory");
}

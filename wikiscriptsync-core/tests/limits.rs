//! Limits per user, through the use cases over a fake wiki, a fake GitHub and a temp SQLite
//! store: each is refused before any request or write with a message naming the limit and
//! the operator's variable, and one user reaching a limit leaves another's share untouched.

mod common;

use secrecy::SecretString;
use wikiscriptsync_core::app::{App, Limit, MapFile, UseCaseError, UserLimits};
use wikiscriptsync_core::forge::testkit::FakeGitHub;
use wikiscriptsync_core::mw::testkit::{FakeAccount, FakeWiki};
use wikiscriptsync_core::settings::vars;
use wikiscriptsync_core::store::testkit::TestDatabase;
use wikiscriptsync_core::store::{MappingOptions, UserId};

const REPO: &str = "octo/gadgets";
const OTHER: &str = "octo/tools";
const PASSWORD: &str = "limitsBotPassw0rdQQ12";

struct Fakes {
    wiki: FakeWiki,
    github: FakeGitHub,
    _db: TestDatabase,
    app: App,
    alice: UserId,
    bob: UserId,
}

async fn start(limits: UserLimits) -> Fakes {
    let wiki = FakeWiki::start().await;
    for login in ["Alice@sync", "Bob@sync"] {
        wiki.add_account(FakeAccount::new(login, PASSWORD).with_rights(&["edit", "editmyuserjs"]));
    }
    let github = FakeGitHub::start().await;
    github.add_repo(REPO, [("src/a.js", "// a"), ("src/b.js", "// b")]);
    github.add_repo(OTHER, [("tool.js", "// t")]);
    let db = TestDatabase::sqlite();
    let store = db.open().await;
    let app = common::use_cases(store, &wiki, &github, true).with_limits(limits);
    let alice = app.log_in("1", "Alice").await.unwrap().id;
    let bob = app.log_in("2", "Bob").await.unwrap().id;
    Fakes {
        wiki,
        github,
        _db: db,
        app,
        alice,
        bob,
    }
}

/// The refusal of `limit`, with its message; anything else fails the test.
#[track_caller]
fn limit_reached(result: Result<impl std::fmt::Debug, UseCaseError>, limit: Limit) -> String {
    match result {
        Err(err @ UseCaseError::LimitReached { .. }) => {
            assert!(
                matches!(&err, UseCaseError::LimitReached { limit: l, .. } if *l == limit),
                "{err:?}"
            );
            assert!(err.is_user_error(), "{err}");
            let message = err.to_string();
            assert!(message.contains(limit.variable()), "{message}");
            message
        }
        other => panic!("expected the {limit:?} limit, got {other:?}"),
    }
}

fn paths(p: &[&str]) -> Vec<String> {
    p.iter().map(|s| (*s).to_owned()).collect()
}

#[tokio::test]
async fn holding_more_than_the_limits_is_refused_before_any_request_and_per_user() {
    let fakes = start(UserLimits {
        repositories: 1,
        watched_files: 1,
        mappings: 1,
        monitored_pages: 2,
        ..UserLimits::default()
    })
    .await;
    let app = &fakes.app;
    let repo = app
        .add_repository(fakes.alice, &fakes.github.repo_url(REPO), None)
        .await
        .unwrap();

    // Repositories: the second is refused without asking GitHub; Bob's share is his own.
    let before = fakes.github.stats().requests;
    let message = limit_reached(
        app.add_repository(fakes.alice, &fakes.github.repo_url(OTHER), None)
            .await,
        Limit::Repositories,
    );
    assert!(
        message.contains("allows 1 tracked repositories per user") && message.contains("Remove"),
        "{message}"
    );
    assert_eq!(fakes.github.stats().requests, before, "no request");
    assert_eq!(app.repositories(fakes.alice).await.unwrap().len(), 1);
    app.add_repository(fakes.bob, &fakes.github.repo_url(OTHER), None)
        .await
        .unwrap();

    // Watched files: two at once would pass the limit of one; nothing is watched.
    let before = fakes.github.stats().requests;
    let message = limit_reached(
        app.watch_files(fakes.alice, repo.id, &paths(&["src/a.js", "src/b.js"]))
            .await,
        Limit::WatchedFiles,
    );
    assert!(message.contains("would make 2"), "{message}");
    assert_eq!(fakes.github.stats().requests, before, "no request");
    let file = app
        .watch_files(fakes.alice, repo.id, &paths(&["src/a.js"]))
        .await
        .unwrap()
        .added[0]
        .id;
    // Asking again for a file already watched adds nothing, so it is no refusal.
    app.watch_files(fakes.alice, repo.id, &paths(&["src/a.js"]))
        .await
        .unwrap();
    limit_reached(
        app.watch_files(fakes.alice, repo.id, &paths(&["src/b.js"]))
            .await,
        Limit::WatchedFiles,
    );

    // Mappings: the second is refused (the wiki is known by then: no request at all).
    let map = |title: &str, monitor: bool| MapFile {
        file,
        wiki: fakes.wiki.api_url(),
        title: title.to_owned(),
        options: MappingOptions::default(),
        monitor,
    };
    app.map_file(fakes.alice, &map("User:Alice/a.js", true))
        .await
        .unwrap();
    let wiki_requests = fakes.wiki.request_count();
    limit_reached(
        app.map_file(fakes.alice, &map("User:Alice/b.js", false))
            .await,
        Limit::Mappings,
    );
    assert_eq!(app.user_counts(fakes.alice).await.unwrap().mappings, 1);

    // Monitored pages: one is held (the mapping's); two more would make three.
    limit_reached(
        app.monitor_pages(
            fakes.alice,
            &fakes.wiki.api_url(),
            &paths(&["User:Alice/x.js", "User:Alice/y.js"]),
        )
        .await,
        Limit::MonitoredPages,
    );
    // The page the mapping monitors adds nothing: one new page fits.
    app.monitor_pages(
        fakes.alice,
        &fakes.wiki.api_url(),
        &paths(&["User:Alice/a.js", "User:Alice/x.js"]),
    )
    .await
    .unwrap();
    limit_reached(
        app.monitor_pages(
            fakes.alice,
            &fakes.wiki.api_url(),
            &paths(&["User:Alice/y.js"]),
        )
        .await,
        Limit::MonitoredPages,
    );
    assert_eq!(fakes.wiki.request_count(), wiki_requests, "no request");
    assert_eq!(
        app.user_counts(fakes.alice).await.unwrap().monitored_pages,
        2
    );
}

#[tokio::test]
async fn botpassword_checks_are_limited_per_user_and_hour_before_the_login() {
    let fakes = start(UserLimits {
        credential_checks_per_hour: 2,
        ..UserLimits::default()
    })
    .await;
    let app = &fakes.app;
    let wiki = fakes.wiki.api_url();
    let secret = |s: &str| SecretString::from(s.to_owned());
    // Two wrong passwords: two logins, both counted.
    for _ in 0..2 {
        assert!(
            app.save_credential(fakes.alice, &wiki, "Alice@sync", secret("wrong"))
                .await
                .is_err()
        );
    }
    assert_eq!(fakes.wiki.requests_for("login"), 2);
    // The third check in the hour is refused without logging in, right password or not.
    let message = limit_reached(
        app.save_credential(fakes.alice, &wiki, "Alice@sync", secret(PASSWORD))
            .await,
        Limit::CredentialChecks,
    );
    assert!(
        message.contains("2 BotPassword checks an hour") && message.contains("Try again after"),
        "{message}"
    );
    assert_eq!(fakes.wiki.requests_for("login"), 2, "no login");
    assert!(app.credentials(fakes.alice).await.unwrap().is_empty());
    // Bob's checks are his own.
    app.save_credential(fakes.bob, &wiki, "Bob@sync", secret(PASSWORD))
        .await
        .unwrap();
    app.verify_credential(fakes.bob, &wiki).await.unwrap();
    limit_reached(
        app.verify_credential(fakes.bob, &wiki).await,
        Limit::CredentialChecks,
    );
    assert_eq!(fakes.wiki.requests_for("login"), 4);
}

#[test]
fn every_limit_names_a_listed_variable() {
    for limit in [
        Limit::Repositories,
        Limit::WatchedFiles,
        Limit::Mappings,
        Limit::MonitoredPages,
        Limit::CredentialChecks,
    ] {
        assert!(vars::variable(limit.variable()).is_some(), "{limit:?}");
    }
}

//! Only public repositories are read for a user, although every forge request carries the
//! operator's token (which can read more): adding a private or internal repository is refused
//! with the reason, and one that turns private after it was added is no longer read by checks,
//! file listings, watching, previews or publishes — asserted on the fakes' request logs.

mod common;

use std::sync::Arc;

use secrecy::SecretString;
use wikiscriptsync_core::app::{
    App, AppParts, CheckNowOutcome, Field, MapFile, UseCaseError, Watched,
};
use wikiscriptsync_core::forge::testkit::{Endpoint, FakeGitHub, FakeGitLab, RecordedRequest};
use wikiscriptsync_core::forge::{Forges, Visibility};
use wikiscriptsync_core::mw::testkit::{FakeAccount, FakeWiki};
use wikiscriptsync_core::publish::PublishError;
use wikiscriptsync_core::store::testkit::TestDatabase;
use wikiscriptsync_core::store::{
    FileCheckStatus, MappingOptions, PageRequest, Repository, UserId,
};
use wikiscriptsync_core::vault::Vault;

const PASSWORD: &str = "privateRepoBotPassw0rdQQ12";
const GITHUB_TOKEN: &str = "ghp_OperatorTokenThatCanReadPrivateRepos";
const GITLAB_TOKEN: &str = "glpat-OperatorTokenThatCanReadPrivateRepos";

struct Fakes {
    wiki: FakeWiki,
    github: FakeGitHub,
    gitlab: FakeGitLab,
    db: TestDatabase,
    app: App,
    alice: UserId,
}

impl Fakes {
    /// The use cases with the operator's tokens for both fakes: the tokens can read the
    /// private repositories, so only the visibility rule keeps them out.
    async fn start() -> Self {
        let wiki = FakeWiki::start().await;
        wiki.add_account(
            FakeAccount::new("Alice@sync", PASSWORD).with_rights(&["edit", "editmyuserjs"]),
        );
        let github = FakeGitHub::start().await;
        github.add_repo("octo/open", [("src/a.js", "// a"), ("src/b.js", "// b")]);
        github.add_repo_with("octo/secret", "main", true, [("src/a.js", "// s")]);
        let gitlab = FakeGitLab::start().await;
        gitlab.add_repo("team/open", [("src/a.js", "// a")]);
        gitlab.add_repo_with("team/secret", "main", true, [("src/a.js", "// s")]);
        gitlab.add_repo("team/staff", [("src/a.js", "// i")]);
        gitlab.set_visibility("team/staff", Visibility::Internal);
        let host = gitlab.uri().trim_start_matches("http://").to_owned();
        let config = github
            .config_builder_with_token(GITHUB_TOKEN)
            .gitlab_instance(&gitlab.uri())
            .gitlab_token(&host, GITLAB_TOKEN.into())
            .build()
            .unwrap();
        let db = TestDatabase::sqlite();
        let app = App::new(AppParts {
            store: db.open().await,
            wiki: Arc::new(common::mw_client(&wiki)),
            forges: Arc::new(Forges::new(config).unwrap()),
            vault: Some(Arc::new(
                Vault::from_key_list(&Vault::generate_key()).unwrap(),
            )),
            runner_host: "tests".to_owned(),
        });
        let alice = app.log_in("1", "Alice").await.unwrap().id;
        Self {
            wiki,
            github,
            gitlab,
            db,
            app,
            alice,
        }
    }

    /// The same use cases in a new process: a new forge client (no ETag cache, no project
    /// ids) over the same database.
    async fn new_process(&self) -> App {
        let host = self.gitlab.uri().trim_start_matches("http://").to_owned();
        let config = self
            .github
            .config_builder_with_token(GITHUB_TOKEN)
            .gitlab_instance(&self.gitlab.uri())
            .gitlab_token(&host, GITLAB_TOKEN.into())
            .build()
            .unwrap();
        App::new(AppParts {
            store: self.db.open().await,
            wiki: Arc::new(common::mw_client(&self.wiki)),
            forges: Arc::new(Forges::new(config).unwrap()),
            vault: None,
            runner_host: "tests".to_owned(),
        })
    }

    /// Alice tracks the repository at `url` and watches its `src/a.js`, which the first check
    /// reads.
    async fn track_a_js(&self, url: &str) -> (Repository, Watched) {
        let repo = self
            .app
            .add_repository(self.alice, url, None)
            .await
            .unwrap();
        let watched = self
            .app
            .watch_files(self.alice, repo.id, &["src/a.js".to_owned()])
            .await
            .unwrap();
        assert_eq!(watched.check, Some(CheckNowOutcome::FirstCheck));
        (repo, watched)
    }

    fn forget_requests(&self) {
        self.github.reset_stats();
        self.gitlab.reset_stats();
    }
}

fn endpoints(requests: &[RecordedRequest]) -> Vec<Endpoint> {
    requests.iter().map(|r| r.endpoint).collect()
}

#[track_caller]
fn refused_url(result: Result<impl std::fmt::Debug, UseCaseError>) -> String {
    match result {
        Err(err @ UseCaseError::Invalid { .. }) => {
            assert_eq!(err.field(), Some(Field::Url), "{err}");
            err.to_string()
        }
        other => panic!("expected a refusal of the URL, got {other:?}"),
    }
}

#[tokio::test]
async fn a_private_or_internal_repository_is_refused_when_added_before_anything_is_read() {
    let fakes = Fakes::start().await;
    let app = &fakes.app;

    let url = fakes.github.repo_url("octo/secret");
    for branch in [None, Some("main")] {
        let message = refused_url(app.add_repository(fakes.alice, &url, branch).await);
        assert!(
            message.contains(
                "https://github.com/octo/secret is private on github.com; only public \
                 repositories can be tracked"
            ),
            "{message}"
        );
    }
    refused_url(app.default_branch(fakes.alice, &url).await);
    // Only the repository resource was asked (who may read it), never its branch or files.
    let asked = fakes.github.requests();
    assert!(!asked.is_empty());
    assert!(
        endpoints(&asked).iter().all(|e| *e == Endpoint::Repository),
        "{asked:?}"
    );

    let host = fakes.gitlab.uri().trim_start_matches("http://").to_owned();
    for (name, visibility) in [("team/secret", "private"), ("team/staff", "internal")] {
        let url = fakes.gitlab.repo_url(name);
        for branch in [None, Some("main")] {
            let message = refused_url(app.add_repository(fakes.alice, &url, branch).await);
            assert!(
                message.contains(&format!(
                    "{url} is {visibility} on {host}; only public repositories can be tracked"
                )),
                "{message}"
            );
        }
    }
    let asked = fakes.gitlab.requests();
    assert!(
        endpoints(&asked).iter().all(|e| *e == Endpoint::Project),
        "{asked:?}"
    );
    assert!(app.repositories(fakes.alice).await.unwrap().is_empty());

    // Public ones are tracked as before.
    app.add_repository(fakes.alice, &fakes.github.repo_url("octo/open"), None)
        .await
        .unwrap();
    app.add_repository(fakes.alice, &fakes.gitlab.repo_url("team/open"), None)
        .await
        .unwrap();
    assert_eq!(app.repositories(fakes.alice).await.unwrap().len(), 2);
}

#[tokio::test]
async fn a_github_repository_that_turns_private_is_not_read_by_checks_listings_or_publishes() {
    let fakes = Fakes::start().await;
    let app = &fakes.app;
    let (repo, watched) = fakes.track_a_js(&fakes.github.repo_url("octo/open")).await;
    let file = watched.added[0].id;
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
                options: MappingOptions {
                    allow_create: true,
                    ..MappingOptions::default()
                },
                monitor: false,
            },
        )
        .await
        .unwrap();

    // The owner makes it private; the operator's token could still read it.
    fakes
        .github
        .set_visibility("octo/open", Visibility::Private);
    fakes
        .github
        .commit("octo/open", "main", [("src/a.js", Some("// secret"))]);
    fakes.forget_requests();
    let wiki_requests = fakes.wiki.request_count();

    let (outcome, report) = app
        .check_repository_now(fakes.alice, repo.id, "tests")
        .await
        .unwrap();
    assert_eq!(outcome, CheckNowOutcome::Failed);
    let detail = &report.unwrap().failures[0].detail;
    let expected = "https://github.com/octo/open is private on github.com; only public \
                    repositories can be tracked";
    assert!(detail.contains(expected), "{detail}");
    let overview = app
        .file_overview(fakes.alice, file, PageRequest::first(10))
        .await
        .unwrap();
    let newest = &overview.checks.items[0];
    assert_eq!(newest.status, FileCheckStatus::Error);
    assert!(
        newest
            .detail
            .as_deref()
            .unwrap_or_default()
            .contains(expected),
        "{newest:?}"
    );

    // The repository page's file listing and watching another file are refused too.
    let stored = app.repository(fakes.alice, repo.id).await.unwrap();
    assert!(refused_url(app.branch_files(&stored).await).contains(expected));
    assert!(
        refused_url(
            app.watch_files(fakes.alice, repo.id, &["src/b.js".to_owned()])
                .await
        )
        .contains(expected)
    );

    // A preview and a publish stop before reading the file and before the wiki.
    let preview = app.preview(fakes.alice, mapping.id).await.unwrap();
    let failure = preview.result.unwrap_err();
    assert!(
        matches!(failure.error, PublishError::NotPublic(_)),
        "{failure:?}"
    );
    let published = app.publish(fakes.alice, mapping.id, false).await.unwrap();
    let failure = published.result.unwrap_err();
    assert!(
        matches!(failure.error, PublishError::NotPublic(_)),
        "{failure:?}"
    );
    assert!(failure.user_message().contains(expected), "{failure}");
    assert!(failure.error.is_refusal());

    let asked = fakes.github.requests();
    assert!(
        endpoints(&asked).iter().all(|e| *e == Endpoint::Repository),
        "only who may read it was asked: {asked:?}"
    );
    assert_eq!(fakes.wiki.request_count(), wiki_requests, "no wiki request");
    assert_eq!(fakes.wiki.page_text("User:Alice/a.js"), None);
}

#[tokio::test]
async fn a_gitlab_project_that_turns_internal_is_not_read_by_the_next_check() {
    let fakes = Fakes::start().await;
    let app = &fakes.app;
    let (repo, _) = fakes.track_a_js(&fakes.gitlab.repo_url("team/open")).await;

    fakes
        .gitlab
        .set_visibility("team/open", Visibility::Internal);
    fakes
        .gitlab
        .commit("team/open", "main", [("src/a.js", Some("// i"))]);
    fakes.forget_requests();
    let (outcome, report) = app
        .check_repository_now(fakes.alice, repo.id, "tests")
        .await
        .unwrap();
    assert_eq!(outcome, CheckNowOutcome::Failed);
    let detail = &report.unwrap().failures[0].detail;
    assert!(detail.contains("is internal on"), "{detail}");
    assert_eq!(
        endpoints(&fakes.gitlab.requests()),
        [Endpoint::Project],
        "no branch, tree or file request"
    );
}

#[tokio::test]
async fn an_unchanged_public_github_repository_still_costs_no_quota_in_a_new_process() {
    let fakes = Fakes::start().await;
    let repo = fakes
        .app
        .add_repository(fakes.alice, &fakes.github.repo_url("octo/open"), None)
        .await
        .unwrap();
    fakes
        .app
        .watch_files(fakes.alice, repo.id, &["src/a.js".to_owned()])
        .await
        .unwrap();

    // The next hourly run is a new process: only what the check stored is known.
    let hourly = fakes.new_process().await;
    fakes.forget_requests();
    let (outcome, report) = hourly
        .check_repository_now(fakes.alice, repo.id, "tests")
        .await
        .unwrap();
    assert_eq!(outcome, CheckNowOutcome::Unchanged, "{report:?}");
    let stats = fakes.github.stats();
    assert_eq!(
        (stats.requests, stats.not_modified, stats.quota_spent),
        (2, 2, 0),
        "who may read it and the head probe, both answered 304 to stored validators: {stats:?}"
    );
    assert_eq!(
        endpoints(&fakes.github.requests()),
        [Endpoint::Repository, Endpoint::Commit]
    );
}

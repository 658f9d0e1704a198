//! Wikis known by what they are, over a fake wiki laid out like Debian's MediaWiki (API at
//! `/api.php`), a fake GitHub and a temp SQLite store: every spelling of one wiki is one wiki,
//! and once the wiki is known every refusal of a title (or an empty file) happens before any
//! request to the wiki or the forge and names the field at fault.

mod common;

use secrecy::SecretString;
use wikiscriptsync_core::app::{App, Field, MapFile, UseCaseError};
use wikiscriptsync_core::forge::testkit::FakeGitHub;
use wikiscriptsync_core::mw::testkit::{FakeAccount, FakeWiki};
use wikiscriptsync_core::publish::PublishError;
use wikiscriptsync_core::store::testkit::TestDatabase;
use wikiscriptsync_core::store::{MappingOptions, UserId, WatchedFileId};

const REPO: &str = "octo/gadgets";
const PASSWORD: &str = "wikiIdentityBotPassw0rd1";

struct Fakes {
    wiki: FakeWiki,
    github: FakeGitHub,
    _db: TestDatabase,
    app: App,
    alice: UserId,
}

impl Fakes {
    async fn start() -> Self {
        let wiki = FakeWiki::start_with_script_path("").await;
        wiki.set_site_name("TestWiki", "testwiki");
        wiki.add_account(FakeAccount::new("Alice@sync", PASSWORD).with_rights(&[
            "edit",
            "createpage",
            "editmyuserjs",
            "editmyusercss",
        ]));
        let github = FakeGitHub::start().await;
        github.add_repo(
            REPO,
            [
                ("src/a.js", "// a"),
                ("src/c.js", "// c"),
                ("src/b.css", "b {}"),
                ("src/empty.js", ""),
            ],
        );
        let db = TestDatabase::sqlite();
        let store = db.open().await;
        let app = common::use_cases(store, &wiki, &github, true);
        let alice = app.log_in("1", "Alice").await.unwrap().id;
        Self {
            wiki,
            github,
            _db: db,
            app,
            alice,
        }
    }

    /// The four spellings of the issue: host, site URL, api.php URL, article URL.
    fn spellings(&self) -> [String; 4] {
        let host = self.wiki.host();
        [
            host.clone(),
            format!("http://{host}"),
            format!("http://{host}/api.php"),
            self.wiki.article_url("Main Page"),
        ]
    }

    /// Watches `paths`; their ids in the same order.
    async fn watched(&self, paths: &[&str]) -> Vec<WatchedFileId> {
        let repo = self
            .app
            .add_repository(self.alice, &self.github.repo_url(REPO), None)
            .await
            .unwrap();
        let paths: Vec<String> = paths.iter().map(|p| (*p).to_owned()).collect();
        let watched = self
            .app
            .watch_files(self.alice, repo.id, &paths)
            .await
            .unwrap();
        paths
            .iter()
            .map(|path| {
                watched
                    .added
                    .iter()
                    .find(|f| &f.path == path)
                    .expect("watched")
                    .id
            })
            .collect()
    }

    fn map(&self, file: WatchedFileId, title: &str) -> MapFile {
        MapFile {
            file,
            wiki: self.wiki.host(),
            title: title.to_owned(),
            options: MappingOptions::default(),
            monitor: true,
        }
    }

    /// Requests to the wiki and the forge so far.
    fn requests(&self) -> (usize, u64) {
        (self.wiki.request_count(), self.github.stats().requests)
    }
}

#[track_caller]
fn refused(result: Result<impl std::fmt::Debug, UseCaseError>, field: Field) -> String {
    match result {
        Err(UseCaseError::Invalid {
            field: got,
            message,
        }) => {
            assert_eq!(got, field, "{message}");
            message
        }
        other => panic!("expected a refusal of {field:?}, got {other:?}"),
    }
}

#[tokio::test]
async fn the_three_spellings_and_an_article_url_are_one_wiki_with_one_monitor() {
    let fakes = Fakes::start().await;
    let app = &fakes.app;
    let page = vec!["MediaWiki:Gadget-x.js".to_owned()];
    let mut keys = Vec::new();
    for spelling in fakes.spellings() {
        let monitored = app
            .monitor_pages(fakes.alice, &spelling, &page)
            .await
            .unwrap();
        keys.push(monitored.wiki);
    }
    let api = format!("http://{}/api.php", fakes.wiki.host());
    assert_eq!(keys, [api.clone(), api.clone(), api.clone(), api.clone()]);
    let monitors = app.page_monitors(fakes.alice).await.unwrap();
    assert_eq!(monitors.len(), 1, "one monitor: {monitors:?}");
    assert_eq!(monitors[0].wiki, api);
    // Each spelling was resolved once; asking again with any of them sends nothing.
    let before = fakes.wiki.request_count();
    for spelling in fakes.spellings() {
        let again = app
            .monitor_pages(fakes.alice, &spelling, &page)
            .await
            .unwrap();
        assert_eq!(again.already, page);
    }
    assert_eq!(
        fakes.wiki.request_count(),
        before,
        "known spellings cost nothing"
    );
    let names = app.wiki_names().await.unwrap();
    assert_eq!(
        names.get(&api).map(String::as_str),
        Some(format!("TestWiki ({})", fakes.wiki.host()).as_str())
    );

    // Credentials and preferences name the same wiki, whichever spelling is used.
    let secret = SecretString::from(PASSWORD.to_owned());
    let report = app
        .save_credential(fakes.alice, &fakes.spellings()[0], "Alice@sync", secret)
        .await
        .unwrap();
    assert_eq!(report.wiki, api);
    let verified = app
        .verify_credential(fakes.alice, &fakes.spellings()[3])
        .await
        .unwrap();
    assert_eq!(verified.wiki, api);
    let preferences = app
        .set_preferences(
            fakes.alice,
            wikiscriptsync_core::app::PreferencesChange {
                home_wiki: Some(Some(fakes.spellings()[1].clone())),
                ..Default::default()
            },
        )
        .await
        .unwrap();
    assert_eq!(preferences.home_wiki.as_deref(), Some(api.as_str()));
    assert_eq!(
        app.delete_credential(fakes.alice, &fakes.spellings()[2])
            .await
            .unwrap(),
        api
    );
}

#[tokio::test]
async fn titles_are_refused_at_save_time_without_a_request_once_the_wiki_is_known() {
    let fakes = Fakes::start().await;
    let app = &fakes.app;
    let files = fakes.watched(&["src/a.js", "src/c.js", "src/b.css"]).await;
    let (js, other_js, css) = (files[0], files[1], files[2]);
    // Knowing the wiki costs one siteinfo request, once.
    let first = app
        .map_file(fakes.alice, &fakes.map(js, "User:Alice/a.js"))
        .await
        .unwrap();
    let before = fakes.requests();

    for title in ["Special:BlankPage", "special:blankpage", "Media:Logo.png"] {
        let message = refused(
            app.map_file(fakes.alice, &fakes.map(other_js, title)).await,
            Field::Title,
        );
        assert!(message.contains("cannot be edited"), "{message}");
        refused(
            app.monitor_pages(fakes.alice, &fakes.wiki.host(), &[title.to_owned()])
                .await,
            Field::Title,
        );
    }
    let message = refused(
        app.map_file(fakes.alice, &fakes.map(other_js, "MediaWiki:Gadget-%FF.js"))
            .await,
        Field::Title,
    );
    assert!(message.contains("percent-encoded"), "{message}");
    let message = refused(
        app.map_file(fakes.alice, &fakes.map(css, "User:Alice/a.js"))
            .await,
        Field::Title,
    );
    assert!(
        message.contains("javascript page") && message.contains("needs a css page"),
        "{message}"
    );
    refused(
        app.map_file(fakes.alice, &fakes.map(js, "Gadget.js")).await,
        Field::Title,
    );
    let message = refused(
        app.map_file(fakes.alice, &fakes.map(other_js, "User:Alice/a.js"))
            .await,
        Field::Title,
    );
    assert!(
        message.contains("src/a.js") && message.contains("one file only"),
        "names the existing mapping's file: {message}"
    );
    assert_eq!(
        fakes.requests(),
        before,
        "no request to the wiki or the forge"
    );

    // A percent-encoded title that decodes to a valid one is saved decoded.
    let decoded = app
        .map_file(
            fakes.alice,
            &fakes.map(other_js, "MediaWiki:Gadget-caf%C3%A9.js"),
        )
        .await
        .unwrap();
    assert_eq!(decoded.page_title, "MediaWiki:Gadget-café.js");
    assert_eq!(first.page_title, "User:Alice/a.js");
    assert_eq!(fakes.requests(), before, "and that too without a request");
}

#[tokio::test]
async fn an_empty_file_is_refused_at_publish_before_any_wiki_request() {
    let fakes = Fakes::start().await;
    let app = &fakes.app;
    let file = fakes.watched(&["src/empty.js"]).await[0];
    let mapping = app
        .map_file(fakes.alice, &fakes.map(file, "User:Alice/empty.js"))
        .await
        .unwrap();
    app.save_credential(
        fakes.alice,
        &fakes.wiki.host(),
        "Alice@sync",
        SecretString::from(PASSWORD.to_owned()),
    )
    .await
    .unwrap();
    let repo = app.repositories(fakes.alice).await.unwrap()[0]
        .repository
        .id;
    app.check_repository_now(fakes.alice, repo, "test")
        .await
        .unwrap();
    let wiki_requests = fakes.wiki.request_count();
    let outcome = app.publish(fakes.alice, mapping.id, false).await.unwrap();
    let failure = outcome.result.unwrap_err();
    assert!(
        matches!(&failure.error, PublishError::EmptyFile { path } if path == "src/empty.js"),
        "{failure:?}"
    );
    assert_eq!(failure.error.code(), "empty_file");
    assert_eq!(fakes.wiki.request_count(), wiki_requests, "no wiki request");
    assert_eq!(
        fakes.wiki.page("User:Alice/empty.js"),
        None,
        "nothing published"
    );
}

#[tokio::test]
async fn titles_with_a_line_break_or_too_long_to_store_are_refused_with_the_reason() {
    let fakes = Fakes::start().await;
    let app = &fakes.app;
    let js = fakes.watched(&["src/a.js"]).await[0];
    for title in [
        "User:Alice/a.js\n",
        "User:Alice/a.js\r\n",
        "\nUser:Alice/a.js",
    ] {
        let message = refused(
            app.map_file(fakes.alice, &fakes.map(js, title)).await,
            Field::Title,
        );
        assert!(message.contains("line break"), "{title:?}: {message}");
        let message = refused(
            app.monitor_pages(fakes.alice, &fakes.wiki.host(), &[title.to_owned()])
                .await,
            Field::Title,
        );
        assert!(message.contains("line break"), "{title:?}: {message}");
        let message = refused(app.parse_page(&fakes.wiki.host(), title), Field::Title);
        assert!(message.contains("line break"), "{title:?}: {message}");
    }
    assert!(
        app.mappings(fakes.alice, js).await.unwrap().is_empty(),
        "nothing was stored"
    );
    // Valid on the wiki (the name without its prefix is under 255 bytes) but longer than the
    // store's column with the prefix: refused with the limit, not a database error.
    let long = format!("MediaWiki:Gadget-{}.js", "a".repeat(240));
    let message = refused(
        app.map_file(fakes.alice, &fakes.map(js, &long)).await,
        Field::Title,
    );
    assert!(message.contains("at most 255 characters"), "{message}");
    let message = refused(
        app.monitor_pages(fakes.alice, &fakes.wiki.host(), std::slice::from_ref(&long))
            .await,
        Field::Title,
    );
    assert!(message.contains("at most 255 characters"), "{message}");
    // Surrounding spaces are no reason to refuse: MediaWiki trims them too.
    let mapping = app
        .map_file(fakes.alice, &fakes.map(js, "  User:Alice/a.js "))
        .await
        .unwrap();
    assert_eq!(mapping.page_title, "User:Alice/a.js");
}

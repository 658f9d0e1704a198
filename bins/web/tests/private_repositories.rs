//! The add-repository form refuses a private repository with the reason, although the
//! operator's GitHub token (configured here) could read it; a repository that turned private
//! shows the reason on its page instead of its files.

mod common;

use axum::http::StatusCode;
use common::{
    BOT_LOGIN, BOT_PASSWORD, REPO, SCRIPT, SCRIPT_PATH, TestApp, state_with_forges, wiki_client,
};
use wikiscriptsync_core::forge::testkit::{Endpoint, FakeGitHub};
use wikiscriptsync_core::forge::{Forges, Visibility};
use wikiscriptsync_core::mw::testkit::{FakeAccount, FakeWiki};

/// The harness's app, but with an operator token for the fake GitHub (which lets the token
/// read private repositories, as GitHub does for a token with access).
async fn start_with_token() -> TestApp {
    let github = FakeGitHub::start().await;
    github.add_repo(REPO, [(SCRIPT_PATH, SCRIPT)]);
    github.add_repo_with("alice/secret", "main", true, [(SCRIPT_PATH, SCRIPT)]);
    let wiki = FakeWiki::start().await;
    wiki.add_account(FakeAccount::new(BOT_LOGIN, BOT_PASSWORD).with_rights(&["edit"]));
    let dir = tempfile::tempdir().unwrap();
    let forges = Forges::new(
        github
            .config_builder_with_token("ghp_OperatorTokenThatCanReadPrivateRepos")
            .build()
            .unwrap(),
    )
    .unwrap();
    let state = state_with_forges(dir.path(), forges, wiki_client(wiki.allow_list()), &[]).await;
    TestApp::assemble(state, github, wiki, dir)
}

#[tokio::test]
async fn the_form_refuses_a_private_repository_with_the_reason() {
    let app = start_with_token().await;
    let mut alice = app.login("alice").await;
    let url = app.github.repo_url("alice/secret");
    let expected = "https://github.com/alice/secret is private on github.com; only public \
                    repositories can be tracked";

    let offered = app
        .get(&mut alice, &format!("/repositories/new?url={url}"))
        .await;
    assert!(offered.body.contains(expected), "{}", offered.body);
    let refused = app
        .post(
            &mut alice,
            "/repositories/new",
            &[("url", &url), ("branch", "main")],
        )
        .await;
    refused.expect(StatusCode::BAD_REQUEST);
    assert!(refused.body.contains(expected), "{}", refused.body);
    assert!(
        app.github
            .requests()
            .iter()
            .all(|r| r.endpoint == Endpoint::Repository),
        "nothing but who may read it was asked: {:?}",
        app.github.requests()
    );

    // A tracked repository that turns private: its page says why instead of listing files.
    let added = app
        .post(
            &mut alice,
            "/repositories/new",
            &[("url", &app.github.repo_url(REPO)), ("branch", "")],
        )
        .await;
    added.expect(StatusCode::SEE_OTHER);
    let page = added.location().unwrap().to_owned();
    app.github.set_visibility(REPO, Visibility::Private);
    app.github.reset_stats();
    let shown = app.get(&mut alice, &page).await;
    assert!(
        shown.body.contains(&format!(
            "https://github.com/{REPO} is private on github.com"
        )),
        "{}",
        shown.body
    );
    assert!(!shown.body.contains(SCRIPT_PATH), "{}", shown.body);
    assert!(
        app.github
            .requests()
            .iter()
            .all(|r| r.endpoint == Endpoint::Repository),
        "{:?}",
        app.github.requests()
    );
}

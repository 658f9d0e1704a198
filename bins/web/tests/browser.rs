//! The real-browser journey in headless Chromium, driven over WebDriver (chromedriver on a
//! loopback port) from plain HTTP: development login → add a repository (fake GitHub) → watch a
//! file → map it → save a BotPassword for the real test MediaWiki → preview → publish → the page
//! on the wiki has the content → the publish log shows it. Screenshots of the dashboard and the
//! preview go to `$CARGO_TARGET_DIR/screenshots/` (or `target/screenshots/`).
//!
//! Skips with "skipped: ..." when chromedriver or the test wiki is missing, except under CI.

mod common;
mod webdriver;

use serde_json::{Value, json};
use tokio::net::TcpListener;

use common::*;
use webdriver::{Driver, chromedriver_path, skip};
use wikiscriptsync_core::forge::testkit::FakeGitHub;
use wikiscriptsync_core::mw::AllowList;

/// The latest text of `title` on the test wiki, read anonymously.
async fn wiki_text(api: &str, title: &str) -> Option<String> {
    let response: Value = reqwest::Client::new()
        .get(api)
        .query(&[
            ("action", "query"),
            ("prop", "revisions"),
            ("rvprop", "content"),
            ("rvslots", "main"),
            ("titles", title),
            ("format", "json"),
            ("formatversion", "2"),
        ])
        .header(
            "User-Agent",
            "wikiscriptsync-tests/0 (https://example.org/tests)",
        )
        .send()
        .await
        .ok()?
        .json()
        .await
        .ok()?;
    response["query"]["pages"][0]["revisions"][0]["slots"]["main"]["content"]
        .as_str()
        .map(str::to_owned)
}

#[tokio::test]
async fn a_maintainer_publishes_a_file_to_the_real_test_wiki_in_headless_chromium() {
    let Some(chromedriver) = chromedriver_path() else {
        return skip("chromedriver is not installed (apt-get install chromium chromium-driver)");
    };
    let (Ok(api), Ok(bot), Ok(password)) = (
        std::env::var("WIKISCRIPTSYNC_TEST_MEDIAWIKI_URL"),
        std::env::var("WIKISCRIPTSYNC_TEST_MW_ADMIN_USER"),
        std::env::var("WIKISCRIPTSYNC_TEST_MW_ADMIN_PASSWORD"),
    ) else {
        return skip("WIKISCRIPTSYNC_TEST_MEDIAWIKI_URL and the admin BotPassword are not set");
    };
    let allow = AllowList::wikimedia()
        .with_extra_hosts(&std::env::var("WIKISCRIPTSYNC_EXTRA_WIKI_HOSTS").unwrap_or_default())
        .unwrap();

    // The app on a loopback port over a fake GitHub and the real test wiki.
    let github = FakeGitHub::start().await;
    let marker = format!("browser-{}", chrono::Utc::now().timestamp_millis());
    let script = format!("// {marker}\nmw.log('published by the browser test');\n");
    github.add_repo(
        REPO,
        [
            (SCRIPT_PATH, script.as_bytes()),
            ("README.md", b"# r\n".as_slice()),
        ],
    );
    let dir = tempfile::tempdir().unwrap();
    let state = state_for(dir.path(), &github, wiki_client(allow), &["dev:alice"])
        .await
        .state;
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let base = format!("http://{}", listener.local_addr().unwrap());
    tokio::spawn(wikiscriptsync_web::serve(
        listener,
        wikiscriptsync_web::router(state.clone()),
        std::future::pending(),
    ));

    let driver = Driver::start(&chromedriver).await;
    let acting_user = bot.split('@').next().unwrap().to_owned();
    let page = format!("User:{acting_user}/{marker}.js");

    // Development login: the __Host- cookie must be accepted over http://127.0.0.1.
    driver.goto(&format!("{base}/login")).await;
    driver.type_into("#username", "alice").await;
    driver.click("button[type=submit]").await;
    driver.wait_for_text("pages in sync").await;

    // Add the repository: the default branch is looked up and offered.
    driver.goto(&format!("{base}/repositories/new")).await;
    driver.type_into("#url", &github.repo_url(REPO)).await;
    driver.click("form[method=get] button").await;
    driver.wait_for_text("default branch is").await;
    driver
        .click("form[method=post][action='/repositories/new'] button")
        .await;
    driver.wait_for_text("Files to watch").await;

    // Watch the script.
    driver.click(&format!("input[value='{SCRIPT_PATH}']")).await;
    driver
        .click("form[action$='/watch'] button[type=submit]")
        .await;

    // Map it to a page on the test wiki that may be created.
    driver.click("a[href^='/files/']").await;
    driver.type_into("#wiki", &api).await;
    // A title with a character MediaWiki refuses is flagged by the browser as it is typed.
    driver.type_into("#title", "User:Alice/a|b.js").await;
    assert_eq!(
        driver
            .evaluate("document.querySelector('#title').validity.patternMismatch")
            .await,
        json!(true)
    );
    driver.clear("#title").await;
    driver.type_into("#title", &page).await;
    assert_eq!(
        driver
            .evaluate("document.querySelector('#title').validity.valid")
            .await,
        json!(true)
    );
    driver.click("#allow_create").await;
    driver
        .click("form[action$='/mappings'] button[type=submit]")
        .await;
    driver.wait_for_text(&format!("{page}</td>")).await;

    // Save the BotPassword: it is checked by logging in.
    driver.goto(&format!("{base}/credentials")).await;
    driver.type_into("#wiki", &api).await;
    driver.type_into("#bot_username", &bot).await;
    driver.type_into("#password", &password).await;
    driver
        .click("form[action='/credentials'] button[type=submit]")
        .await;
    let saved = driver.wait_for_text("logging in with it worked").await;
    assert!(!saved.contains(&password), "the BotPassword is never shown");

    // Preview, then publish.
    driver.goto(&format!("{base}/")).await;
    driver.click("a[href$='/publish']").await;
    let preview = driver.wait_for_text("The page will be created").await;
    assert!(preview.contains(&marker));
    let preview_shot = driver.screenshot("preview.png").await;
    driver
        .click("form[action$='/publish'] button[type=submit]")
        .await;
    let result = driver.wait_for_text("Created the page at revision").await;
    assert!(result.contains("diff-link"));
    assert!(!result.contains(&password));

    // The wiki has the file.
    let text = wiki_text(&api, &page)
        .await
        .expect("the page exists on the wiki");
    assert_eq!(text.trim_end(), script.trim_end());

    // The publish log and the dashboard show it.
    driver.goto(&format!("{base}/publishes")).await;
    let log = driver.wait_for_text("publish-log").await;
    assert!(log.contains(&page) && log.contains("published"), "{log}");
    driver.goto(&format!("{base}/")).await;
    driver.wait_for_text("1 of 1 pages in sync").await;
    let dashboard_shot = driver.screenshot("dashboard.png").await;
    println!(
        "screenshots: {} {}",
        dashboard_shot.display(),
        preview_shot.display()
    );
    driver.quit().await;
}

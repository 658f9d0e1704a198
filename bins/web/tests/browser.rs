//! The real-browser journey in headless Chromium, driven over WebDriver (chromedriver on a
//! loopback port) from plain HTTP: development login → add a repository (fake GitHub) → watch a
//! file → map it → save a BotPassword for the real test MediaWiki → preview → publish → the page
//! on the wiki has the content → the publish log shows it. Screenshots of the dashboard and the
//! preview go to `$CARGO_TARGET_DIR/screenshots/` (or `target/screenshots/`).
//!
//! Skips with "skipped: ..." when chromedriver or the test wiki is missing, except under CI.

mod common;

use std::io::Write as _;
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use base64::Engine as _;
use serde_json::{Value, json};
use tokio::net::TcpListener;

use common::*;
use wikiscriptsync_core::forge::testkit::FakeGitHub;
use wikiscriptsync_core::mw::AllowList;

const ELEMENT: &str = "element-6066-11e4-a52e-4f735466cecf";

/// Prints why the test cannot run and returns, or fails under CI.
fn skip(why: &str) {
    if std::env::var_os("CI").is_some() {
        panic!("CI is set but the browser test cannot run: {why}");
    }
    // Straight to stderr: the test harness captures eprintln! too, and shows it only for
    // failing tests.
    let _ = writeln!(std::io::stderr(), "skipped: {why}");
}

fn chromedriver_path() -> Option<PathBuf> {
    if let Some(path) = std::env::var_os("WIKISCRIPTSYNC_CHROMEDRIVER") {
        return Some(PathBuf::from(path));
    }
    std::env::var_os("PATH").and_then(|paths| {
        std::env::split_paths(&paths)
            .map(|dir| dir.join("chromedriver"))
            .find(|candidate| candidate.is_file())
    })
}

fn screenshot_dir() -> PathBuf {
    let target = std::env::var_os("CARGO_TARGET_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from(concat!(env!("CARGO_MANIFEST_DIR"), "/../../target")));
    target.join("screenshots")
}

/// chromedriver, killed on drop.
struct Driver {
    child: Child,
    base: String,
    http: reqwest::Client,
    session: String,
}

impl Drop for Driver {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Driver {
    async fn start(path: &PathBuf) -> Self {
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        let child = Command::new(path)
            .arg(format!("--port={port}"))
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("chromedriver starts");
        let base = format!("http://127.0.0.1:{port}");
        let http = reqwest::Client::new();
        let mut driver = Self {
            child,
            base,
            http,
            session: String::new(),
        };
        for _ in 0..100 {
            if let Ok(r) = driver
                .http
                .get(format!("{}/status", driver.base))
                .send()
                .await
                && r.status().is_success()
            {
                break;
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        let chromium = ["/usr/bin/chromium", "/usr/bin/chromium-browser"]
            .into_iter()
            .find(|p| std::path::Path::new(p).exists());
        let mut options = json!({
            "args": [
                "--headless", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
                "--disable-background-networking", "--disable-component-update",
                "--disable-sync", "--no-first-run", "--window-size=1280,1400"
            ]
        });
        if let Some(binary) = chromium {
            options["binary"] = json!(binary);
        }
        let created = driver
            .call(
                reqwest::Method::POST,
                "/session",
                Some(json!({"capabilities": {"alwaysMatch": {
                    "browserName": "chrome",
                    "goog:chromeOptions": options
                }}})),
            )
            .await;
        driver.session = created["sessionId"]
            .as_str()
            .expect("a WebDriver session")
            .to_owned();
        driver
    }

    async fn call(&self, method: reqwest::Method, path: &str, body: Option<Value>) -> Value {
        let mut request = self.http.request(method, format!("{}{path}", self.base));
        if let Some(body) = body {
            request = request.json(&body);
        }
        let response: Value = request.send().await.unwrap().json().await.unwrap();
        if let Some(error) = response["value"].get("error") {
            panic!("WebDriver {path}: {error} {}", response["value"]["message"]);
        }
        response["value"].clone()
    }

    async fn session_call(
        &self,
        method: reqwest::Method,
        path: &str,
        body: Option<Value>,
    ) -> Value {
        self.call(method, &format!("/session/{}{path}", self.session), body)
            .await
    }

    async fn goto(&self, url: &str) {
        self.session_call(reqwest::Method::POST, "/url", Some(json!({"url": url})))
            .await;
    }

    /// The first element matching `css`, waiting up to 10 s for it (a submitted form's next
    /// page may still be loading).
    async fn find(&self, css: &str) -> String {
        for _ in 0..100 {
            let found = self
                .session_call(
                    reqwest::Method::POST,
                    "/elements",
                    Some(json!({"using": "css selector", "value": css})),
                )
                .await;
            if let Some(id) = found.get(0).and_then(|e| e[ELEMENT].as_str()) {
                return id.to_owned();
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        let page = self.source().await;
        std::fs::create_dir_all(screenshot_dir()).ok();
        std::fs::write(screenshot_dir().join("last-page.html"), &page).ok();
        panic!(
            "no element {css} on {} (page saved as last-page.html)",
            self.url().await
        );
    }

    /// The page source once it contains `text` (waiting up to 10 s).
    async fn wait_for_text(&self, text: &str) -> String {
        let mut page = String::new();
        for _ in 0..100 {
            page = self.source().await;
            if page.contains(text) {
                return page;
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        std::fs::create_dir_all(screenshot_dir()).ok();
        std::fs::write(screenshot_dir().join("last-page.html"), &page).ok();
        panic!(
            "`{text}` never appeared on {} (page saved as last-page.html)",
            self.url().await
        );
    }

    async fn type_into(&self, css: &str, text: &str) {
        let element = self.find(css).await;
        self.session_call(
            reqwest::Method::POST,
            &format!("/element/{element}/value"),
            Some(json!({"text": text})),
        )
        .await;
    }

    async fn click(&self, css: &str) {
        let element = self.find(css).await;
        self.session_call(
            reqwest::Method::POST,
            &format!("/element/{element}/click"),
            Some(json!({})),
        )
        .await;
    }

    async fn clear(&self, css: &str) {
        let element = self.find(css).await;
        self.session_call(
            reqwest::Method::POST,
            &format!("/element/{element}/clear"),
            Some(json!({})),
        )
        .await;
    }

    /// The value of a JavaScript expression in the page (WebDriver's execute; the page itself
    /// runs no script).
    async fn evaluate(&self, expression: &str) -> Value {
        self.session_call(
            reqwest::Method::POST,
            "/execute/sync",
            Some(json!({"script": format!("return {expression};"), "args": []})),
        )
        .await
    }

    async fn source(&self) -> String {
        self.session_call(reqwest::Method::GET, "/source", None)
            .await
            .as_str()
            .unwrap()
            .to_owned()
    }

    async fn url(&self) -> String {
        self.session_call(reqwest::Method::GET, "/url", None)
            .await
            .as_str()
            .unwrap()
            .to_owned()
    }

    async fn screenshot(&self, name: &str) -> PathBuf {
        let png = self
            .session_call(reqwest::Method::GET, "/screenshot", None)
            .await;
        let bytes = base64::engine::general_purpose::STANDARD
            .decode(png.as_str().unwrap())
            .unwrap();
        let dir = screenshot_dir();
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join(name);
        std::fs::write(&path, bytes).unwrap();
        path
    }

    async fn quit(&self) {
        let _ = self
            .http
            .delete(format!("{}/session/{}", self.base, self.session))
            .send()
            .await;
    }
}

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
    let state = state_for(dir.path(), &github, wiki_client(allow), &["alice"])
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

//! Parity of the front ends: the same actions taken through the `wikiscriptsync` binary and
//! through the web router (in-process) leave the same stored state, and are refused with the
//! same words.
//!
//! One fake wiki and one fake GitHub serve both runs; the CLI writes SQLite file A, the web app
//! SQLite file B. Alice adds a repository, is refused twice (a duplicate and a misspelt branch),
//! watches two files (a README is refused), maps them (one with its page monitored), monitors a
//! page of her own, sets her notification preferences, saves a BotPassword, switches publishing
//! off on one mapping and removes the other; Bob then fails to remove Alice's repository. Both
//! databases are read with the store crate and Alice's state, normalised (no ids, no
//! timestamps), must equal the other front end's and the state written out here, once before
//! the last changes and once at the end.

mod support;

use std::collections::BTreeSet;
use std::process::{Command, Output};
use std::sync::Arc;

use axum::Router;
use axum::body::{Body, to_bytes};
use axum::http::{Request, StatusCode, header};
use secrecy::ExposeSecret as _;
use serde_json::Value;
use tower::ServiceExt as _;

use support::cli_binary;
use wikiscriptsync_core::forge::Forges;
use wikiscriptsync_core::forge::testkit::FakeGitHub;
use wikiscriptsync_core::monitor::ChangeEvent;
use wikiscriptsync_core::mw::testkit::{FakeAccount, FakeWiki};
use wikiscriptsync_core::mw::{ActionApiClient, ClientConfig, RetryPolicy, UserAgent};
use wikiscriptsync_core::vault::Vault;
use wikiscriptsync_store::testkit::TestDatabase;
use wikiscriptsync_store::{
    MappingOptions, MonitorOrigin, NotificationPreferences, PageRequest, PublishLogFilter, Store,
};
use wikiscriptsync_web::keys::Keys;
use wikiscriptsync_web::{AppState, Mode, router};

const REPO: &str = "alice/gadgets";
/// The repository as both front ends store it.
const REPO_URL: &str = "https://github.com/alice/gadgets";
const JS: &str = "src/gadget.js";
const CSS: &str = "src/gadget.css";
const JS_PAGE: &str = "User:Alice/gadget.js";
const CSS_PAGE: &str = "User:Alice/gadget.css";
const OWN_PAGE: &str = "User:Alice/common.js";
const BOT_LOGIN: &str = "Alice@sync";
const BOT_PASSWORD: &str = "Parity7botsecretNeverEcho";

// ----- the CLI against SQLite file A ----------------------------------------------------------

/// The `wikiscriptsync` binary with the fakes and database A configured.
struct Cli {
    dir: tempfile::TempDir,
    env: Vec<(&'static str, String)>,
}

/// How a CLI command ended: its exit code, its JSON on success, its message on a refusal.
#[derive(Debug)]
struct CliOutcome {
    code: Option<i32>,
    json: Value,
    /// The message of `error: <message>` on stderr.
    error: String,
}

impl Cli {
    fn new(wiki: &FakeWiki, github: &FakeGitHub, db: &TestDatabase) -> Self {
        Self {
            dir: tempfile::tempdir().unwrap(),
            env: vec![
                (
                    "WIKISCRIPTSYNC_CONTACT",
                    "https://example.org/parity".into(),
                ),
                ("WIKISCRIPTSYNC_EXTRA_WIKI_HOSTS", wiki.host()),
                ("WIKISCRIPTSYNC_GITHUB_API_URL", github.uri()),
                ("WIKISCRIPTSYNC_DATABASE_URL", db.url().to_owned()),
                (
                    "CREDENTIAL_ENCRYPTION_KEY",
                    Vault::generate_key().expose_secret().to_owned(),
                ),
                ("BOT_PASSWORD", BOT_PASSWORD.into()),
            ],
        }
    }

    /// Runs `args` as `user` with `--json`.
    async fn run(&self, user: &str, args: &[&str]) -> CliOutcome {
        let mut command = Command::new(cli_binary());
        command
            .args(args)
            .args(["--user", user, "--json"])
            .current_dir(self.dir.path())
            .env_clear()
            .env("PATH", std::env::var("PATH").unwrap_or_default())
            .envs(self.env.iter().map(|(k, v)| (*k, v.as_str())));
        let out: Output =
            tokio::task::spawn_blocking(move || command.output().expect("run wikiscriptsync"))
                .await
                .unwrap();
        let stderr = String::from_utf8_lossy(&out.stderr);
        let error = stderr
            .lines()
            .find_map(|line| line.strip_prefix("error: "))
            .unwrap_or_default()
            .to_owned();
        CliOutcome {
            code: out.status.code(),
            json: serde_json::from_slice(&out.stdout).unwrap_or(Value::Null),
            error,
        }
    }

    /// Runs a command that must succeed; its JSON.
    async fn ok(&self, user: &str, args: &[&str]) -> Value {
        let outcome = self.run(user, args).await;
        assert_eq!(outcome.code, Some(0), "{args:?}: {outcome:?}");
        outcome.json
    }

    /// Runs a command that must be refused as the user's to fix (exit 2); its message with
    /// the flag it names (`--branch: `) taken off.
    async fn refused(&self, user: &str, args: &[&str], flag: Option<&str>) -> String {
        let outcome = self.run(user, args).await;
        assert_eq!(outcome.code, Some(2), "{args:?}: {outcome:?}");
        match flag {
            Some(flag) => outcome
                .error
                .strip_prefix(&format!("{flag}: "))
                .unwrap_or_else(|| panic!("{args:?}: the refusal names {flag}: {outcome:?}"))
                .to_owned(),
            None => outcome.error,
        }
    }
}

// ----- the web router against SQLite file B ---------------------------------------------------

/// A browser on the in-process router: the session cookie and the form nonce of the last page.
struct Browser {
    router: Router,
    cookie: Option<String>,
    nonce: Option<String>,
}

/// A response, read fully.
#[derive(Debug)]
struct Page {
    status: StatusCode,
    location: Option<String>,
    body: String,
}

impl Browser {
    /// Logs `username` in through the development login form.
    async fn log_in(router: &Router, username: &str) -> Self {
        let mut browser = Self {
            router: router.clone(),
            cookie: None,
            nonce: None,
        };
        browser.get("/login").await;
        let page = browser.post("/login/dev", &[("username", username)]).await;
        assert_eq!(page.status, StatusCode::SEE_OTHER, "login: {}", page.body);
        assert_eq!(browser.get("/").await.status, StatusCode::OK);
        browser
    }

    async fn send(&mut self, request: axum::http::request::Builder, body: Body) -> Page {
        let request = match &self.cookie {
            Some(cookie) => request.header(header::COOKIE, cookie),
            None => request,
        };
        let response = self
            .router
            .clone()
            .oneshot(request.body(body).unwrap())
            .await
            .unwrap();
        let status = response.status();
        let headers = response.headers().clone();
        let body = to_bytes(response.into_body(), usize::MAX).await.unwrap();
        let body = String::from_utf8_lossy(&body).into_owned();
        assert!(!body.contains(BOT_PASSWORD), "the BotPassword came back");
        if let Some(cookie) = headers
            .get_all(header::SET_COOKIE)
            .iter()
            .filter_map(|v| v.to_str().ok())
            .find(|v| v.starts_with("__Host-session="))
        {
            self.cookie = Some(cookie.split(';').next().unwrap_or_default().to_owned());
        }
        const NONCE: &str = r#"name="csrf" value=""#;
        if let Some(start) = body.find(NONCE).map(|i| i + NONCE.len())
            && let Some(len) = body[start..].find('"')
        {
            self.nonce = Some(body[start..start + len].to_owned());
        }
        Page {
            status,
            location: headers
                .get(header::LOCATION)
                .and_then(|v| v.to_str().ok())
                .map(str::to_owned),
            body,
        }
    }

    async fn get(&mut self, path: &str) -> Page {
        self.send(Request::get(path), Body::empty()).await
    }

    /// Posts a form (repeated names allowed) with the nonce of the last page.
    async fn post(&mut self, path: &str, fields: &[(&str, &str)]) -> Page {
        let nonce = self.nonce.clone().unwrap_or_default();
        let body = url::form_urlencoded::Serializer::new(String::new())
            .extend_pairs(fields)
            .append_pair("csrf", &nonce)
            .finish();
        let request = Request::post(path)
            .header(header::CONTENT_TYPE, "application/x-www-form-urlencoded")
            .header(header::HOST, "localhost");
        self.send(request, Body::from(body)).await
    }

    /// Posts a form that must be accepted with `status`.
    async fn ok(&mut self, path: &str, fields: &[(&str, &str)], status: StatusCode) -> Page {
        let page = self.post(path, fields).await;
        assert_eq!(page.status, status, "POST {path}: {}", page.body);
        page
    }

    /// Posts a form that must come back refused (400, the form again): the one message shown.
    async fn refused(&mut self, path: &str, fields: &[(&str, &str)]) -> (String, Page) {
        let page = self.post(path, fields).await;
        assert_eq!(
            page.status,
            StatusCode::BAD_REQUEST,
            "POST {path}: {}",
            page.body
        );
        (alert(&page.body), page)
    }
}

/// The text of the one error message on a page (above the form or next to an input).
fn alert(html: &str) -> String {
    const ALERT: &str = r#"cdx-message--error" role="alert""#;
    const CONTENT: &str = r#"<div class="cdx-message__content">"#;
    assert_eq!(html.matches(ALERT).count(), 1, "one error shown: {html}");
    let at = html.find(ALERT).unwrap();
    let start = at + html[at..].find(CONTENT).unwrap() + CONTENT.len();
    let end = start + html[start..].find("</div>").unwrap();
    html[start..end]
        .replace("&lt;", "<")
        .replace("&gt;", ">")
        .replace("&quot;", "\"")
        .replace("&#39;", "'")
        .replace("&#x27;", "'")
        .replace("&amp;", "&")
}

/// The web app's state over database B, the fake wiki and the fake GitHub.
async fn web_router(
    dir: &std::path::Path,
    store: Arc<dyn Store>,
    wiki: &FakeWiki,
    github: &FakeGitHub,
) -> Router {
    // The data directory must be the owner's only (the keys refuse a looser one).
    std::fs::set_permissions(dir, std::os::unix::fs::PermissionsExt::from_mode(0o700)).unwrap();
    let keys = Keys::load_or_generate(dir).unwrap();
    let mut config =
        ClientConfig::new(UserAgent::from_contact("https://example.org/parity").unwrap())
            .interactive();
    config.allow_list = wiki.allow_list();
    config.retry = RetryPolicy::fast_for_tests();
    let client = ActionApiClient::new(config).unwrap();
    let forges = Forges::new(github.config_builder().build().unwrap()).unwrap();
    router(AppState::new(
        Mode::Development,
        store,
        Arc::clone(&keys.vault),
        keys.cookie_key().unwrap(),
        Arc::new(client),
        Arc::new(forges),
        None,
        BTreeSet::new(),
    ))
}

// ----- the stored state, normalised -----------------------------------------------------------

/// A user's stored state without ids or timestamps.
#[derive(Debug, PartialEq, Eq)]
struct UserState {
    /// (url, branch).
    repositories: Vec<(String, String)>,
    /// Paths.
    watched_files: Vec<String>,
    /// (file path, wiki, page, options).
    mappings: Vec<(String, String, String, MappingOptions)>,
    /// (wiki, title, origin).
    monitors: Vec<(String, String, MonitorOrigin)>,
    preferences: NotificationPreferences,
    /// (wiki, bot user).
    credentials: Vec<(String, String)>,
    publish_log_rows: usize,
}

async fn user_state(store: &dyn Store, username: &str) -> UserState {
    let user = store
        .user_by_name(username)
        .await
        .unwrap()
        .unwrap_or_else(|| panic!("{username} is stored"))
        .id;
    let mut state = UserState {
        repositories: Vec::new(),
        watched_files: Vec::new(),
        mappings: Vec::new(),
        monitors: Vec::new(),
        preferences: store.notification_preferences(user).await.unwrap(),
        credentials: Vec::new(),
        publish_log_rows: 0,
    };
    for repository in store.list_repositories(user).await.unwrap() {
        state
            .repositories
            .push((repository.url.clone(), repository.branch.clone()));
        for file in store.list_watched_files(user, repository.id).await.unwrap() {
            for m in store.list_mappings(user, file.id).await.unwrap() {
                state
                    .mappings
                    .push((file.path.clone(), m.wiki, m.page_title, m.options));
            }
            state.watched_files.push(file.path);
        }
    }
    for m in store.list_page_monitors(user).await.unwrap() {
        state.monitors.push((m.wiki, m.page_title, m.origin));
    }
    for c in store.list_credentials(user).await.unwrap() {
        state.credentials.push((c.wiki, c.bot_username));
    }
    let page = PageRequest {
        before_id: None,
        limit: 500,
    };
    state.publish_log_rows = store
        .publish_log(user, PublishLogFilter::All, page)
        .await
        .unwrap()
        .items
        .len();
    state.repositories.sort();
    state.watched_files.sort();
    state
        .mappings
        .sort_by(|a, b| (&a.0, &a.1, &a.2).cmp(&(&b.0, &b.1, &b.2)));
    state
        .monitors
        .sort_by(|a, b| (&a.0, &a.1).cmp(&(&b.0, &b.1)));
    state.credentials.sort();
    state
}

/// The id of the user's watched file at `path` (the web pages link it; the store says it
/// plainly).
async fn file_id(store: &dyn Store, username: &str, path: &str) -> i64 {
    let user = store.user_by_name(username).await.unwrap().unwrap().id;
    for repository in store.list_repositories(user).await.unwrap() {
        for file in store.list_watched_files(user, repository.id).await.unwrap() {
            if file.path == path {
                return file.id.0;
            }
        }
    }
    panic!("{username} watches {path}");
}

/// The id of the user's mapping of the file at `path`.
async fn mapping_id(store: &dyn Store, username: &str, path: &str) -> i64 {
    let user = store.user_by_name(username).await.unwrap().unwrap().id;
    let file = file_id(store, username, path).await;
    let mappings = store
        .list_mappings(user, wikiscriptsync_store::WatchedFileId(file))
        .await
        .unwrap();
    assert_eq!(mappings.len(), 1, "{path}: {mappings:?}");
    mappings[0].id.0
}

/// A mapping as expected: publishing as given, creating and banner off unless said.
fn options(publish_enabled: bool, allow_create: bool) -> MappingOptions {
    MappingOptions {
        publish_enabled,
        allow_create,
        add_banner: false,
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_cli_and_the_web_app_leave_the_same_state_and_refuse_with_the_same_words() {
    let wiki = FakeWiki::start().await;
    wiki.add_account(FakeAccount::new(BOT_LOGIN, BOT_PASSWORD).with_rights(&[
        "read",
        "edit",
        "writeapi",
        "createpage",
        "editmyuserjs",
        "editmyusercss",
        "editsitejs",
        "editsitecss",
    ]));
    let github = FakeGitHub::start().await;
    // Both runs and Bob's share one fake: the anonymous 60 an hour would be the test's limit.
    github.set_rate_limits(5_000, 5_000);
    github.add_repo(
        REPO,
        [
            (JS, "// gadget\n".as_bytes()),
            (CSS, b".gadget { color: red; }\n".as_slice()),
            ("README.md", b"# gadgets\n".as_slice()),
        ],
    );
    let api = wiki.api_url();
    let url = github.repo_url(REPO);

    let db_a = TestDatabase::sqlite();
    let db_b = TestDatabase::sqlite();
    let cli = Cli::new(&wiki, &github, &db_a);
    let store_b = db_b.open().await;
    let web_dir = tempfile::tempdir().unwrap();
    let web = web_router(web_dir.path(), Arc::clone(&store_b), &wiki, &github).await;
    let mut alice = Browser::log_in(&web, "Alice").await;

    // 1. The repository by URL alone: its default branch is taken.
    let added = cli.ok("Alice", &["repo", "add", &url]).await;
    assert_eq!(added["branch"], "main", "{added}");
    let cli_repo = added["id"].to_string();
    let page = alice
        .ok("/repositories/new", &[("url", &url)], StatusCode::SEE_OTHER)
        .await;
    let web_repo = page
        .location
        .as_deref()
        .and_then(|l| l.strip_prefix("/repositories/"))
        .expect("redirected to the repository")
        .to_owned();

    // 2. The same repository again.
    let cli_says = cli.refused("Alice", &["repo", "add", &url], None).await;
    let (web_says, page) = alice.refused("/repositories/new", &[("url", &url)]).await;
    assert!(page.body.contains(&format!(r#"value="{url}""#)), "refilled");
    assert_eq!(cli_says, web_says, "step 2");
    assert_eq!(
        cli_says,
        format!("You already track {REPO_URL} at branch main.")
    );

    // 3. A misspelt branch: the default branch is suggested.
    let cli_says = cli
        .refused(
            "Alice",
            &["repo", "add", &url, "--branch", "mian"],
            Some("--branch"),
        )
        .await;
    let (web_says, page) = alice
        .refused("/repositories/new", &[("url", &url), ("branch", "mian")])
        .await;
    assert!(page.body.contains(r#"value="mian""#), "refilled");
    assert_eq!(cli_says, web_says, "step 3");
    assert_eq!(
        cli_says,
        format!(
            "The branch `mian` does not exist in {REPO_URL}. Its default branch is `main`. Did \
             you mean `main`? Check the spelling, or leave the branch empty for the default."
        )
    );

    // 4. Two files watched; a README refused.
    let watched = cli
        .ok("Alice", &["watch", "add", "--repo", &cli_repo, JS, CSS])
        .await;
    let cli_file = |path: &str| {
        watched["added"]
            .as_array()
            .unwrap()
            .iter()
            .find(|f| f["path"] == path)
            .unwrap_or_else(|| panic!("{path} watched: {watched}"))["id"]
            .to_string()
    };
    let (cli_js, cli_css) = (cli_file(JS), cli_file(CSS));
    let watch = format!("/repositories/{web_repo}/watch");
    alice
        .ok(
            &watch,
            &[("path", JS), ("path", CSS)],
            StatusCode::SEE_OTHER,
        )
        .await;
    let cli_says = cli
        .refused(
            "Alice",
            &["watch", "add", "--repo", &cli_repo, "README.md"],
            Some("PATHS"),
        )
        .await;
    let (web_says, _) = alice.refused(&watch, &[("path", "README.md")]).await;
    assert_eq!(cli_says, web_says, "step 4");
    assert_eq!(
        cli_says,
        "README.md is not a .js, .css or .json file, so it cannot be published."
    );
    let web_js = file_id(&*store_b, "Alice", JS).await;
    let web_css = file_id(&*store_b, "Alice", CSS).await;

    // 5. The script mapped with its page monitored (and creating allowed); the style sheet
    // without.
    cli.ok(
        "Alice",
        &[
            "map",
            "add",
            "--file",
            &cli_js,
            "--wiki",
            &api,
            "--page",
            JS_PAGE,
            "--allow-create",
            "--monitor",
        ],
    )
    .await;
    cli.ok(
        "Alice",
        &[
            "map", "add", "--file", &cli_css, "--wiki", &api, "--page", CSS_PAGE,
        ],
    )
    .await;
    alice
        .ok(
            &format!("/files/{web_js}/mappings"),
            &[
                ("wiki", &api),
                ("title", JS_PAGE),
                ("publish_enabled", "on"),
                ("allow_create", "on"),
                ("monitor", "on"),
            ],
            StatusCode::SEE_OTHER,
        )
        .await;
    alice
        .ok(
            &format!("/files/{web_css}/mappings"),
            &[
                ("wiki", &api),
                ("title", CSS_PAGE),
                ("publish_enabled", "on"),
            ],
            StatusCode::SEE_OTHER,
        )
        .await;

    // 6. A page of her own, monitored.
    cli.ok("Alice", &["monitor", "add", "--wiki", &api, OWN_PAGE])
        .await;
    alice
        .ok(
            "/pages",
            &[("wiki", &api), ("title", OWN_PAGE)],
            StatusCode::SEE_OTHER,
        )
        .await;

    // 7. Notices to her talk page on the fake wiki, as a digest, but not about moved pages.
    cli.ok(
        "Alice",
        &[
            "prefs",
            "set",
            "--home-wiki",
            &api,
            "--digest",
            "--disable",
            "page_moved",
        ],
    )
    .await;
    let mut fields = vec![("home_wiki", api.as_str()), ("digest", "on")];
    fields.extend(
        ChangeEvent::KINDS
            .iter()
            .filter(|k| **k != "page_moved")
            .map(|k| ("kind", *k)),
    );
    alice
        .ok("/notifications", &fields, StatusCode::SEE_OTHER)
        .await;

    // 8. The BotPassword, saved after one check login each.
    let logins = wiki.requests_for("login");
    let saved = cli
        .ok(
            "Alice",
            &[
                "credential",
                "set",
                "--wiki",
                &api,
                "--bot-user",
                BOT_LOGIN,
                "--password-env",
                "BOT_PASSWORD",
            ],
        )
        .await;
    assert_eq!(saved["sufficient"], true, "{saved}");
    assert_eq!(
        wiki.requests_for("login"),
        logins + 1,
        "one login from the CLI"
    );
    alice
        .ok(
            "/credentials",
            &[
                ("wiki", &api),
                ("bot_username", BOT_LOGIN),
                ("password", BOT_PASSWORD),
            ],
            StatusCode::OK,
        )
        .await;
    assert_eq!(
        wiki.requests_for("login"),
        logins + 2,
        "one login from the web"
    );

    let store_a = db_a.open().await;
    let prefs = NotificationPreferences {
        home_wiki: Some(api.clone()),
        digest: true,
        disabled_event_kinds: BTreeSet::from(["page_moved".to_owned()]),
    };
    let mut expected = UserState {
        repositories: vec![(REPO_URL.to_owned(), "main".to_owned())],
        watched_files: vec![CSS.to_owned(), JS.to_owned()],
        mappings: vec![
            (
                CSS.to_owned(),
                api.clone(),
                CSS_PAGE.to_owned(),
                options(true, false),
            ),
            (
                JS.to_owned(),
                api.clone(),
                JS_PAGE.to_owned(),
                options(true, true),
            ),
        ],
        monitors: vec![
            (api.clone(), OWN_PAGE.to_owned(), MonitorOrigin::User),
            (api.clone(), JS_PAGE.to_owned(), MonitorOrigin::Mapping),
        ],
        preferences: prefs,
        credentials: vec![(api.clone(), BOT_LOGIN.to_owned())],
        publish_log_rows: 0,
    };
    let (by_cli, by_web) = (
        user_state(&*store_a, "Alice").await,
        user_state(&*store_b, "Alice").await,
    );
    assert_eq!(
        by_cli, by_web,
        "after step 8: CLI (left) and web (right) differ"
    );
    assert_eq!(by_cli, expected, "after step 8");

    // 9. Publishing off on the style sheet; the script's mapping removed, with the monitor it
    // created (her own monitor stays).
    cli.ok(
        "Alice",
        &[
            "map",
            "options",
            &mapping_id(&*store_a, "Alice", CSS).await.to_string(),
            "--publish",
            "false",
        ],
    )
    .await;
    cli.ok(
        "Alice",
        &[
            "map",
            "remove",
            &mapping_id(&*store_a, "Alice", JS).await.to_string(),
        ],
    )
    .await;
    let web_css_mapping = mapping_id(&*store_b, "Alice", CSS).await;
    alice
        .ok(
            &format!("/mappings/{web_css_mapping}/options"),
            &[],
            StatusCode::SEE_OTHER,
        )
        .await;
    let web_js_mapping = mapping_id(&*store_b, "Alice", JS).await;
    alice
        .ok(
            &format!("/mappings/{web_js_mapping}/delete"),
            &[],
            StatusCode::SEE_OTHER,
        )
        .await;

    // 10. Bob, who tracks the repository too, cannot remove Alice's.
    cli.ok("Bob", &["repo", "add", &url]).await;
    let cli_says = cli
        .refused("Bob", &["repo", "remove", &cli_repo], None)
        .await;
    assert_eq!(
        cli_says,
        format!("no repository with id {cli_repo} for this user")
    );
    let mut bob = Browser::log_in(&web, "Bob").await;
    bob.ok("/repositories/new", &[("url", &url)], StatusCode::SEE_OTHER)
        .await;
    let page = bob
        .post(&format!("/repositories/{web_repo}/delete"), &[])
        .await;
    assert_eq!(page.status, StatusCode::NOT_FOUND, "{}", page.body);

    expected.mappings = vec![(
        CSS.to_owned(),
        api.clone(),
        CSS_PAGE.to_owned(),
        options(false, false),
    )];
    expected.monitors = vec![(api.clone(), OWN_PAGE.to_owned(), MonitorOrigin::User)];
    let (by_cli, by_web) = (
        user_state(&*store_a, "Alice").await,
        user_state(&*store_b, "Alice").await,
    );
    assert_eq!(
        by_cli, by_web,
        "at the end: CLI (left) and web (right) differ"
    );
    assert_eq!(by_cli, expected, "at the end");
    for store in [&store_a, &store_b] {
        let bob = user_state(&**store, "Bob").await;
        assert_eq!(bob.repositories, [(REPO_URL.to_owned(), "main".to_owned())]);
    }
}

//! The web app's test harness: the real router over a temporary SQLite store, a fake GitHub and
//! a fake wiki, driven in-process; a user agent that keeps the session cookie and form nonce;
//! and a check on EVERY response that the test BotPassword appears in no header and no body.
#![allow(dead_code)]

use std::collections::BTreeSet;
use std::sync::Arc;
use std::time::Duration;

use axum::Router;
use axum::body::{Body, to_bytes};
use axum::http::{HeaderMap, Request, StatusCode, header};
use tower::ServiceExt as _;

use wikiscriptsync_core::forge::testkit::FakeGitHub;
use wikiscriptsync_core::forge::{Forges, RateLimitWaits};
use wikiscriptsync_core::mw::testkit::{FakeAccount, FakeWiki};
use wikiscriptsync_core::mw::{ActionApiClient, ClientConfig, RetryPolicy, UserAgent};
use wikiscriptsync_core::store::{Store, User};
use wikiscriptsync_core::vault::Vault;
use wikiscriptsync_web::dashboard_cache::DashboardCache;
use wikiscriptsync_web::keys::Keys;
use wikiscriptsync_web::{AppState, Mode, WebConfig, router};

/// The BotPassword used everywhere in the suite: it must never come back in a response.
pub const BOT_PASSWORD: &str = "Zq7botsecretNeverEcho42";
/// Its login name on the fake wiki.
pub const BOT_LOGIN: &str = "Alice@sync";
/// The fake repository.
pub const REPO: &str = "alice/gadgets";
/// Its script.
pub const SCRIPT_PATH: &str = "src/gadget.js";
/// The script's content.
pub const SCRIPT: &str = "// gadget\nmw.hook('wikipage.content').add(function () {});\n";
/// The page it is published to (Alice's own user script).
pub const PAGE: &str = "User:Alice/gadget.js";

/// A response, read fully.
#[derive(Debug)]
pub struct TestResponse {
    /// The status.
    pub status: StatusCode,
    /// The headers.
    pub headers: HeaderMap,
    /// The body as text.
    pub body: String,
}

impl TestResponse {
    /// The `Location` header.
    pub fn location(&self) -> Option<&str> {
        self.headers
            .get(header::LOCATION)
            .and_then(|v| v.to_str().ok())
    }

    /// Asserts a status, showing the body when it differs.
    #[track_caller]
    pub fn expect(&self, status: StatusCode) -> &Self {
        assert_eq!(self.status, status, "body: {}", self.body);
        self
    }
}

/// A browser: the session cookie and the nonce of the last page seen.
#[derive(Debug, Default, Clone)]
pub struct Agent {
    /// `__Host-session=...`.
    pub cookie: Option<String>,
    /// The form nonce from the last page.
    pub nonce: Option<String>,
}

/// The app and its fakes.
pub struct TestApp {
    /// The router under test.
    pub router: Router,
    /// Its state (the use cases, cookie key, ...).
    pub state: AppState,
    /// The store under the app, to set up data the way the scheduled jobs write it and to
    /// look at what the app wrote.
    pub store: Arc<dyn Store>,
    /// The vault under the app (to check what is stored encrypted).
    pub vault: Arc<Vault>,
    /// The fake GitHub holding [`REPO`].
    pub github: FakeGitHub,
    /// The fake wiki with the [`BOT_LOGIN`] account.
    pub wiki: FakeWiki,
    /// The data directory.
    pub dir: tempfile::TempDir,
    /// Responses checked for the BotPassword so far.
    pub checked: std::sync::atomic::AtomicUsize,
}

/// The fake wiki's client: fast retries, short timeouts.
pub fn wiki_client(allow: wikiscriptsync_core::mw::AllowList) -> ActionApiClient {
    let mut config =
        ClientConfig::new(UserAgent::from_contact("https://example.org/tests").unwrap())
            .interactive();
    config.allow_list = allow;
    config.retry = RetryPolicy::fast_for_tests();
    config.request_timeout = Duration::from_secs(5);
    ActionApiClient::new(config).unwrap()
}

/// An app's state over a temporary SQLite store, `github` and `wiki`, with that store and the
/// vault.
pub struct TestState {
    /// The state.
    pub state: AppState,
    /// The store under it.
    pub store: Arc<dyn Store>,
    /// The vault under it.
    pub vault: Arc<Vault>,
}

/// A state over a temporary SQLite store, `github` and `wiki`.
/// Makes a data directory the owner's only, as the development keys require on every start.
pub fn owner_only(dir: &std::path::Path) {
    std::fs::set_permissions(dir, std::os::unix::fs::PermissionsExt::from_mode(0o700)).unwrap();
}

pub async fn state_for(
    dir: &std::path::Path,
    github: &FakeGitHub,
    wiki: ActionApiClient,
    admins: &[&str],
) -> TestState {
    // As the binary builds them (`setup::web_forges_with_contact`): a rate limit fails fast.
    let forges = Forges::new(
        github
            .config_builder()
            .rate_limit_waits(RateLimitWaits::FailFast)
            .build()
            .unwrap(),
    )
    .unwrap();
    state_with_forges(dir, forges, wiki, admins).await
}

/// [`state_for`] with the forge router given, for a test that configures its own.
pub async fn state_with_forges(
    dir: &std::path::Path,
    forges: Forges,
    wiki: ActionApiClient,
    admins: &[&str],
) -> TestState {
    owner_only(dir);
    let keys = Keys::load_or_generate(dir).unwrap();
    let config = WebConfig::development(0, dir.to_owned());
    let store = wikiscriptsync_web::config::open_store(&config)
        .await
        .unwrap();
    let mut state = AppState::new(
        Mode::Development,
        Arc::clone(&store),
        Arc::clone(&keys.vault),
        keys.cookie_key().unwrap(),
        Arc::new(wiki),
        Arc::new(forges),
        None,
        admins
            .iter()
            .map(|a| (*a).to_owned())
            .collect::<BTreeSet<_>>(),
    );
    // Tests write to the store directly, the way the scheduled jobs do, and look at the result
    // at once; the cache's own test turns it back on.
    state.dashboards = Arc::new(DashboardCache::new(std::time::Duration::ZERO));
    TestState {
        state,
        store,
        vault: keys.vault,
    }
}

impl TestApp {
    /// Starts the fakes and the app; `alice` (central id `dev:alice`) is an admin.
    pub async fn start() -> Self {
        let github = FakeGitHub::start().await;
        github.add_repo(
            REPO,
            [
                (SCRIPT_PATH, SCRIPT.as_bytes()),
                ("src/gadget.css", b".gadget { color: red; }\n".as_slice()),
                ("README.md", b"# gadgets\n".as_slice()),
            ],
        );
        let wiki = FakeWiki::start().await;
        wiki.add_account(FakeAccount::new(BOT_LOGIN, BOT_PASSWORD).with_rights(&[
            "read",
            "edit",
            "writeapi",
            "createpage",
            "editmyuserjs",
            "editmyusercss",
            "editsitejs",
        ]));
        let dir = tempfile::tempdir().unwrap();
        let state = state_for(
            dir.path(),
            &github,
            wiki_client(wiki.allow_list()),
            &["dev:alice"],
        )
        .await;
        Self::assemble(state, github, wiki, dir)
    }

    /// The app over `state`, with the fakes it talks to and the data directory it uses.
    pub fn assemble(
        state: TestState,
        github: FakeGitHub,
        wiki: FakeWiki,
        dir: tempfile::TempDir,
    ) -> Self {
        let TestState {
            state,
            store,
            vault,
        } = state;
        Self {
            router: router(state.clone()),
            state,
            store,
            vault,
            github,
            wiki,
            dir,
            checked: Default::default(),
        }
    }

    /// The stored user behind the development login `username` (log them in first).
    pub async fn user(&self, username: &str) -> User {
        self.store
            .user_by_central_id(&format!("dev:{username}"))
            .await
            .unwrap()
            .unwrap_or_else(|| panic!("log {username} in first"))
    }

    /// Adds the repository at `url` through the form, on its default branch; the path of its
    /// page.
    pub async fn add_repository(&self, agent: &mut Agent, url: &str) -> String {
        let added = self
            .post(agent, "/repositories/new", &[("url", url), ("branch", "")])
            .await;
        added.expect(StatusCode::SEE_OTHER);
        added.location().unwrap().to_owned()
    }

    /// The wiki as typed in forms.
    pub fn wiki_input(&self) -> String {
        self.wiki.api_url()
    }

    /// Sends a request; every response is checked for the BotPassword.
    pub async fn send(&self, request: Request<Body>) -> TestResponse {
        let response = self.router.clone().oneshot(request).await.unwrap();
        let status = response.status();
        let headers = response.headers().clone();
        let body = to_bytes(response.into_body(), usize::MAX).await.unwrap();
        let body = String::from_utf8_lossy(&body).into_owned();
        assert_no_secret(&headers, &body);
        self.checked
            .fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        TestResponse {
            status,
            headers,
            body,
        }
    }

    fn remember(agent: &mut Agent, response: &TestResponse) {
        if let Some(cookie) = response
            .headers
            .get_all(header::SET_COOKIE)
            .iter()
            .filter_map(|v| v.to_str().ok())
            .find(|v| v.starts_with("__Host-session="))
        {
            let pair = cookie.split(';').next().unwrap_or_default().to_owned();
            agent.cookie = (!cookie.contains("Max-Age=0")).then_some(pair);
        }
        if let Some(nonce) = find_nonce(&response.body) {
            agent.nonce = Some(nonce);
        }
    }

    /// `GET path` as `agent`.
    pub async fn get(&self, agent: &mut Agent, path: &str) -> TestResponse {
        let mut request = Request::get(path);
        if let Some(cookie) = &agent.cookie {
            request = request.header(header::COOKIE, cookie);
        }
        let response = self.send(request.body(Body::empty()).unwrap()).await;
        Self::remember(agent, &response);
        response
    }

    /// `POST path` with `fields` and the agent's nonce.
    pub async fn post(
        &self,
        agent: &mut Agent,
        path: &str,
        fields: &[(&str, &str)],
    ) -> TestResponse {
        let mut all: Vec<(&str, &str)> = fields.to_vec();
        let nonce = agent.nonce.clone();
        if let Some(nonce) = &nonce {
            all.push(("csrf", nonce));
        }
        self.post_raw(agent, path, &all, &[]).await
    }

    /// `POST path` with exactly `fields` and extra headers.
    pub async fn post_raw(
        &self,
        agent: &mut Agent,
        path: &str,
        fields: &[(&str, &str)],
        headers: &[(&str, &str)],
    ) -> TestResponse {
        let body = url::form_urlencoded::Serializer::new(String::new())
            .extend_pairs(fields)
            .finish();
        let mut request = Request::post(path)
            .header(header::CONTENT_TYPE, "application/x-www-form-urlencoded")
            .header(header::HOST, "localhost");
        if let Some(cookie) = &agent.cookie {
            request = request.header(header::COOKIE, cookie);
        }
        for (name, value) in headers {
            request = request.header(*name, *value);
        }
        let response = self.send(request.body(Body::from(body)).unwrap()).await;
        Self::remember(agent, &response);
        response
    }

    /// A visitor with an anonymous session (from the login page).
    pub async fn visitor(&self) -> Agent {
        let mut agent = Agent::default();
        self.get(&mut agent, "/login").await.expect(StatusCode::OK);
        assert!(agent.cookie.is_some() && agent.nonce.is_some());
        agent
    }

    /// Logs in through the development form.
    pub async fn login(&self, username: &str) -> Agent {
        let mut agent = self.visitor().await;
        let response = self
            .post(&mut agent, "/login/dev", &[("username", username)])
            .await;
        response.expect(StatusCode::SEE_OTHER);
        self.get(&mut agent, "/").await.expect(StatusCode::OK);
        agent
    }
}

/// The value of the first `name="csrf"` field in a page.
pub fn find_nonce(html: &str) -> Option<String> {
    let start = html.find(r#"name="csrf" value=""#)? + r#"name="csrf" value=""#.len();
    let end = html[start..].find('"')?;
    Some(html[start..start + end].to_owned())
}

/// Fails the test if the BotPassword is in any header or the body.
#[track_caller]
pub fn assert_no_secret(headers: &HeaderMap, body: &str) {
    assert!(
        !body.contains(BOT_PASSWORD),
        "the BotPassword appeared in a response body"
    );
    for (name, value) in headers {
        assert!(
            !String::from_utf8_lossy(value.as_bytes()).contains(BOT_PASSWORD),
            "the BotPassword appeared in the {name} header"
        );
    }
}

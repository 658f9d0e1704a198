//! A fake wiki for tests (feature `testkit`): a wiremock server on loopback that answers the
//! Action API from in-memory pages and accounts, counts requests (total and per action), and
//! plays scripted faults (maxlag, 429, 503, badtoken, expired sessions, broken JSON, delays).
//!
//! It imitates MediaWiki where our clients depend on it: BotPassword login with a session cookie
//! and login token, `assert=user`, CSRF tokens, the 50/500 title limit (`toomanyvalues`),
//! `normalized`/`redirects`/`missing`/`invalid`, edits with `baserevid` conflicts (any newer
//! revision conflicts; MediaWiki would try a merge first), `nocreate`/`createonly`, trailing
//! whitespace and CRLF normalisation, `nochange`, rights per page kind, `section=new` with
//! signatures, and Flow boards; owner-only OAuth 2.0 Bearer tokens with their grants, revoked
//! and wrong-wiki tokens answered as the OAuth extension answers them
//! ([`FakeWiki::add_owner_only_token`]), the 2026 `reauthenticate` refusal of site script
//! edits per credential kind ([`FakeWiki::refuse_sensitive_edits`]), and main-account logins
//! answered `Aborted` as for an account with two-factor authentication.
//!
//! For the real test MediaWiki, [`AccessLog`] counts requests on the server side, per
//! [`unique_user_agent`].
//!
//! ```no_run
//! # async fn demo() {
//! use wikiscriptsync_mw::testkit::{FakeAccount, FakeWiki, Fault};
//! let wiki = FakeWiki::start().await;
//! wiki.add_account(FakeAccount::new("Admin@publisher", "a".repeat(32)).with_rights(&["edit"]));
//! wiki.add_page("MediaWiki:Gadget-x.js", "old();");
//! wiki.inject(Fault::Maxlag { retry_after_secs: 0 }, 1);
//! // ... point an ActionApiClient at wiki.wiki_url() with wiki.allow_list() ...
//! assert_eq!(wiki.requests_for("edit"), 0);
//! # }
//! ```

mod access_log;
mod edit;
mod login;
mod merge;
mod query;
mod respond;
mod site;
mod state;
mod tokens;

use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::time::Duration;

use wiremock::matchers::{method, path, path_regex};
use wiremock::{Mock, MockServer, ResponseTemplate};

use crate::title::ContentModel;
use crate::wiki::{AllowList, WikiUrl};
pub use access_log::{ACCESS_LOG_ENV, AccessLog, unique_user_agent};
use respond::Responder;
use state::{State, normalize_title};

/// The API path [`FakeWiki::start`] serves (Wikimedia's layout).
pub const API_PATH: &str = "/w/api.php";
const SESSION_COOKIE: &str = "fakewiki_session";
const ANON_CSRF: &str = "+\\";
/// Rights of logged-out visitors on the fake.
const ANON_RIGHTS: &[&str] = &["read", "edit", "createpage", "createtalk", "writeapi"];

/// `text` with the regex metacharacters escaped.
fn regex_escape(text: &str) -> String {
    text.chars()
        .flat_map(|c| {
            let escape = ".+*?()|[]{}^$\\".contains(c);
            escape.then_some('\\').into_iter().chain([c])
        })
        .collect()
}

/// A scripted failure, answered instead of (or in the case of `Delay`, together with) the
/// normal answer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Fault {
    /// HTTP 200 with error `maxlag`, `Retry-After` and `X-Database-Lag`.
    Maxlag {
        /// The Retry-After value in seconds.
        retry_after_secs: u64,
    },
    /// HTTP 429 with an optional `Retry-After` (seconds or an HTTP date).
    TooManyRequests {
        /// The Retry-After header value, verbatim.
        retry_after: Option<String>,
    },
    /// HTTP 503 with an optional `Retry-After`.
    ServiceUnavailable {
        /// The Retry-After header value, verbatim.
        retry_after: Option<String>,
    },
    /// Error `readonly`.
    ReadOnly,
    /// Error `ratelimited`.
    RateLimited,
    /// Error `badtoken`.
    BadToken,
    /// Error `assertuserfailed`.
    AssertUserFailed,
    /// An HTML page instead of JSON.
    MalformedJson,
    /// JSON cut off in the middle.
    TruncatedJson,
    /// Any HTTP status with an empty body.
    HttpStatus(u16),
    /// The normal answer, delayed.
    Delay(Duration),
    /// The normal answer, after which (before the client sees it) someone else saves `text`
    /// on `title`: an edit racing the client exactly between its read and its next request.
    RacingEdit {
        /// The page (created if missing).
        title: String,
        /// The new text.
        text: String,
        /// Its author.
        user: String,
        /// Its summary.
        comment: String,
    },
}

/// How a scripted login fails even with the right password.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LoginFailure {
    /// `Failed` / `login-throttled`.
    Throttled,
    /// `Failed` / `botpasswords-needs-reset`.
    NeedsReset,
    /// `Failed` / `botpasswords-locked`.
    Locked,
}

/// An account with a BotPassword on the fake wiki.
#[derive(Debug, Clone)]
pub struct FakeAccount {
    login_name: String,
    password: String,
    rights: Vec<String>,
    groups: Vec<String>,
    block_reason: Option<String>,
    failure: Option<LoginFailure>,
}

impl FakeAccount {
    /// `login_name` is `User@BotName`; the rights default to `read`, `edit` and `writeapi`
    /// (no `createpage`: add rights with [`FakeAccount::with_rights`]).
    pub fn new(login_name: impl Into<String>, password: impl Into<String>) -> Self {
        Self {
            login_name: login_name.into(),
            password: password.into(),
            rights: vec!["read".to_owned(), "edit".to_owned(), "writeapi".to_owned()],
            groups: vec!["*".to_owned(), "user".to_owned()],
            block_reason: None,
            failure: None,
        }
    }

    /// Replaces the session rights (groups ∩ grants, as `meta=userinfo` reports them).
    #[must_use]
    pub fn with_rights(mut self, rights: &[&str]) -> Self {
        self.rights = rights.iter().map(|r| (*r).to_owned()).collect();
        self
    }

    /// Adds groups.
    #[must_use]
    pub fn with_groups(mut self, groups: &[&str]) -> Self {
        self.groups.extend(groups.iter().map(|g| (*g).to_owned()));
        self
    }

    /// Blocks the account (edits fail with `blocked`, userinfo shows the block).
    #[must_use]
    pub fn blocked(mut self, reason: &str) -> Self {
        self.block_reason = Some(reason.to_owned());
        self
    }

    /// Makes every login fail this way.
    #[must_use]
    pub fn failing_login(mut self, failure: LoginFailure) -> Self {
        self.failure = Some(failure);
        self
    }

    fn user_name(&self) -> &str {
        self.login_name
            .split_once('@')
            .map_or(self.login_name.as_str(), |(user, _)| user)
    }
}

/// One stored revision.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FakeRevision {
    /// Revision id.
    pub id: u64,
    /// The text (already normalised like MediaWiki saves it).
    pub text: String,
    /// Author.
    pub user: String,
    /// Summary.
    pub comment: String,
    /// Timestamp.
    pub timestamp: String,
    /// Change tags.
    pub tags: Vec<String>,
    /// Marked minor.
    pub minor: bool,
}

/// A stored page.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FakePage {
    /// Page id.
    pub id: u64,
    /// Title (normalised).
    pub title: String,
    /// Content model.
    pub content_model: ContentModel,
    /// Revisions, oldest first.
    pub revisions: Vec<FakeRevision>,
    /// Flow topics (title, content) when the page is a Flow board.
    pub flow_topics: Vec<(String, String)>,
}

impl FakePage {
    /// The current text.
    pub fn text(&self) -> &str {
        self.revisions.last().map_or("", |r| r.text.as_str())
    }

    /// The latest revision.
    pub fn latest(&self) -> Option<&FakeRevision> {
        self.revisions.last()
    }
}

/// A request as the fake received it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RecordedRequest {
    /// `GET` or `POST`.
    pub method: String,
    /// The `action` parameter.
    pub action: String,
    /// Parameters from the URL query string.
    pub query: Vec<(String, String)>,
    /// Parameters from the form body.
    pub body: Vec<(String, String)>,
    /// The User-Agent header.
    pub user_agent: Option<String>,
    /// All headers (lower-case names), in order, except `Authorization`, which is never
    /// recorded (see [`RecordedRequest::bearer`]).
    pub headers: Vec<(String, String)>,
    /// Whether the request carried an `Authorization: Bearer` header (the token itself is not
    /// recorded).
    pub bearer: bool,
}

impl RecordedRequest {
    /// A header's value (name in lower case).
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.as_str())
    }

    /// A parameter from the query or the body.
    pub fn param(&self, name: &str) -> Option<&str> {
        self.body
            .iter()
            .chain(&self.query)
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.as_str())
    }
}

/// The fake wiki. Cheap to clone handles share the same state.
#[derive(Clone)]
pub struct FakeWiki {
    server: Arc<MockServer>,
    state: Arc<Mutex<State>>,
}

impl std::fmt::Debug for FakeWiki {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("FakeWiki")
            .field("uri", &self.server.uri())
            .finish_non_exhaustive()
    }
}

impl FakeWiki {
    /// Starts the fake on a free loopback port, laid out like Wikimedia's wikis: the API at
    /// `/w/api.php`, articles at `/wiki/Title`.
    pub async fn start() -> Self {
        Self::start_with_script_path("/w").await
    }

    /// Starts the fake with its scripts under `script_path`: `"/w"` is Wikimedia's layout, `""`
    /// Debian's (API at `/api.php`, articles at `/index.php/Title`). Siteinfo, article pages
    /// (with their EditURI link) and the API all follow it.
    pub async fn start_with_script_path(script_path: &str) -> Self {
        let server = MockServer::start().await;
        let site = site::Site {
            server: server.uri().trim_end_matches('/').to_owned(),
            script_path: script_path.trim_end_matches('/').to_owned(),
            ..site::Site::default()
        };
        let article_prefix = site.article_path().replace("$1", "");
        let article_html = |site: &site::Site| {
            ResponseTemplate::new(200)
                .set_body_raw(site.article_html("Main Page"), "text/html; charset=UTF-8")
        };
        Mock::given(method("GET"))
            .and(path_regex(format!("^{}.+", regex_escape(&article_prefix))))
            .respond_with(article_html(&site))
            .mount(&server)
            .await;
        let api_path = format!("{}/api.php", site.script_path);
        let state = Arc::new(Mutex::new(State {
            next_page_id: 0,
            next_rev_id: 0,
            clock: 0,
            site,
            ..State::default()
        }));
        Mock::given(path(api_path))
            .respond_with(Responder(Arc::clone(&state)))
            .mount(&server)
            .await;
        Self {
            server: Arc::new(server),
            state,
        }
    }

    /// Renames the wiki (`sitename`, `wikiid`) as siteinfo reports it.
    pub fn set_site_name(&self, sitename: &str, wiki_id: &str) {
        let mut state = self.lock();
        state.site.sitename = sitename.to_owned();
        state.site.wiki_id = wiki_id.to_owned();
    }

    /// An article's URL (`http://127.0.0.1:PORT/wiki/Title`), whose page links to the API.
    pub fn article_url(&self, title: &str) -> String {
        let state = self.lock();
        format!(
            "{}{}",
            state.site.server,
            state
                .site
                .article_path()
                .replace("$1", &title.replace(' ', "_"))
        )
    }

    fn lock(&self) -> MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// `http://127.0.0.1:PORT/w/api.php` (or `/api.php` with an empty script path).
    pub fn api_url(&self) -> String {
        let state = self.lock();
        format!("{}{}/api.php", state.site.server, state.site.script_path)
    }

    /// `127.0.0.1:PORT`, for [`crate::AllowList::with_hosts`] (which takes [`FakeWiki::api_url`]
    /// as well).
    pub fn host(&self) -> String {
        self.server
            .uri()
            .trim_start_matches("http://")
            .trim_end_matches('/')
            .to_owned()
    }

    /// Wikimedia hosts plus this fake.
    pub fn allow_list(&self) -> AllowList {
        AllowList::wikimedia()
            .with_extra_hosts(&self.host())
            .expect("a loopback host:port is a valid extra host")
    }

    /// The fake's API URL as a [`WikiUrl`].
    pub fn wiki_url(&self) -> WikiUrl {
        WikiUrl::parse(&self.api_url(), &self.allow_list()).expect("the fake is allow-listed")
    }

    /// Adds (or replaces) an account.
    pub fn add_account(&self, account: FakeAccount) {
        self.lock()
            .accounts
            .insert(account.login_name.clone(), account);
    }

    /// Creates a page (or adds a revision) by `Someone`; returns the revision id. The content
    /// model comes from the title (`.js`/`.css`/`.json` in MediaWiki/User space) or is wikitext.
    pub fn add_page(&self, title: &str, text: &str) -> u64 {
        self.edit_as(title, text, "Someone", "setup")
    }

    /// Adds a revision as `user` (an "on-wiki edit" between our runs); returns its id.
    pub fn edit_as(&self, title: &str, text: &str, user: &str, comment: &str) -> u64 {
        let title = normalize_title(title).unwrap_or_else(|_| title.to_owned());
        let mut state = self.lock();
        state.deleted.remove(&title);
        state.store_revision(&title, text, user, comment, None).1
    }

    /// Sets a page's content model, creating an empty page if needed (e.g. `FlowBoard`).
    pub fn set_content_model(&self, title: &str, model: ContentModel) {
        let title = normalize_title(title).unwrap_or_else(|_| title.to_owned());
        let mut state = self.lock();
        if !state.pages.contains_key(&title) {
            state.store_revision(&title, "", "Someone", "setup", Some(model.clone()));
        }
        if let Some(page) = state.pages.get_mut(&title) {
            page.content_model = model;
        }
    }

    /// Makes `from` a redirect to `to` (as after a page move).
    pub fn add_redirect(&self, from: &str, to: &str) {
        let from = normalize_title(from).unwrap_or_else(|_| from.to_owned());
        let to = normalize_title(to).unwrap_or_else(|_| to.to_owned());
        self.lock().redirects.insert(from, to);
    }

    /// Deletes a page.
    pub fn delete_page(&self, title: &str) {
        let title = normalize_title(title).unwrap_or_else(|_| title.to_owned());
        let mut state = self.lock();
        let now = state.tick();
        state.pages.remove(&title);
        state.deleted.insert(title, now);
    }

    /// A stored page.
    pub fn page(&self, title: &str) -> Option<FakePage> {
        let title = normalize_title(title).unwrap_or_else(|_| title.to_owned());
        self.lock().pages.get(&title).cloned()
    }

    /// A page's current text.
    pub fn page_text(&self, title: &str) -> Option<String> {
        self.page(title).map(|p| p.text().to_owned())
    }

    /// All requests received.
    pub fn request_count(&self) -> usize {
        self.lock().requests.len()
    }

    /// Requests whose `action` was `action` (`query`, `login`, `edit`, `flow`).
    pub fn requests_for(&self, action: &str) -> usize {
        self.lock()
            .requests
            .iter()
            .filter(|r| r.action == action)
            .count()
    }

    /// Every request received, in order.
    pub fn requests(&self) -> Vec<RecordedRequest> {
        self.lock().requests.clone()
    }

    /// Answers the next `times` requests with `fault`.
    pub fn inject(&self, fault: Fault, times: usize) {
        self.lock().faults.push((None, fault, times));
    }

    /// Answers the next `times` requests with this `action` with `fault`.
    pub fn inject_for(&self, action: &str, fault: Fault, times: usize) {
        self.lock()
            .faults
            .push((Some(action.to_owned()), fault, times));
    }

    /// Logs every session out (as when sessions expire server-side).
    pub fn expire_sessions(&self) {
        for session in self.lock().sessions.values_mut() {
            session.user = None;
        }
    }
}

//! A fake wiki for tests (feature `testkit`): a wiremock server on loopback that answers the
//! Action API from in-memory pages and accounts, counts requests (total and per action), and
//! plays scripted faults (maxlag, 429, 503, badtoken, expired sessions, broken JSON, delays).
//!
//! For the real test MediaWiki, [`AccessLog`] counts requests on the server side, per
//! [`unique_user_agent`].
//!
//! It imitates MediaWiki where our clients depend on it: BotPassword login with a session cookie
//! and login token, `assert=user`, CSRF tokens, the 50/500 title limit (`toomanyvalues`),
//! `normalized`/`redirects`/`missing`/`invalid`, edits with `baserevid` conflicts (any newer
//! revision conflicts; MediaWiki would try a merge first), `nocreate`/`createonly`, trailing
//! whitespace and CRLF normalisation, `nochange`, rights per page kind, `section=new` with
//! signatures, and Flow boards.
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

use std::collections::HashMap;
use std::fmt::Write as _;
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::time::Duration;

use serde_json::{Value, json};
use sha1::{Digest, Sha1};
use wiremock::matchers::path;
use wiremock::{Mock, MockServer, Request, Respond, ResponseTemplate};

mod access_log;
pub use access_log::{ACCESS_LOG_ENV, AccessLog, unique_user_agent};

use crate::ops::normalize_text;
use crate::rights::check_rights;
use crate::title::{ContentModel, Namespace, Title, TitleError};
use crate::wiki::{AllowList, WikiUrl};

/// The API path the fake serves.
pub const API_PATH: &str = "/w/api.php";
const SESSION_COOKIE: &str = "fakewiki_session";
const ANON_CSRF: &str = "+\\";
/// Rights of logged-out visitors on the fake.
const ANON_RIGHTS: &[&str] = &["read", "edit", "createpage", "createtalk", "writeapi"];

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
    /// All headers (lower-case names), in order.
    pub headers: Vec<(String, String)>,
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

#[derive(Debug, Default)]
struct FakeSession {
    user: Option<String>,
    login_token: Option<String>,
    csrf: String,
}

#[derive(Debug, Default)]
struct State {
    accounts: HashMap<String, FakeAccount>,
    pages: HashMap<String, FakePage>,
    redirects: HashMap<String, String>,
    deleted: HashMap<String, String>,
    sessions: HashMap<String, FakeSession>,
    faults: Vec<(Option<String>, Fault, usize)>,
    requests: Vec<RecordedRequest>,
    next_page_id: u64,
    next_rev_id: u64,
    next_token: u64,
    clock: u64,
}

impl State {
    fn tick(&mut self) -> String {
        self.clock += 1;
        timestamp(self.clock)
    }

    fn token(&mut self, kind: &str) -> String {
        self.next_token += 1;
        format!(
            "{kind}{:08x}{}",
            self.next_token * 2_654_435_761 % 0xffff_ffff,
            "+\\"
        )
    }

    fn store_revision(
        &mut self,
        title: &str,
        text: &str,
        user: &str,
        comment: &str,
        model: Option<ContentModel>,
    ) -> (u64, u64, bool) {
        let timestamp = self.tick();
        self.next_rev_id += 1;
        let revision_id = self.next_rev_id;
        let created = !self.pages.contains_key(title);
        if created {
            self.next_page_id += 1;
            let model = model
                .or_else(|| Title::parse(title).ok()?.implied_content_model())
                .unwrap_or(ContentModel::Wikitext);
            self.pages.insert(
                title.to_owned(),
                FakePage {
                    id: self.next_page_id,
                    title: title.to_owned(),
                    content_model: model,
                    revisions: Vec::new(),
                    flow_topics: Vec::new(),
                },
            );
        }
        let page = self.pages.get_mut(title).expect("inserted above");
        page.revisions.push(FakeRevision {
            id: revision_id,
            text: normalize_text(text),
            user: user.to_owned(),
            comment: comment.to_owned(),
            timestamp,
            tags: Vec::new(),
            minor: false,
        });
        (page.id, revision_id, created)
    }
}

/// `2026-01-01T00:00:00Z` plus `seconds`.
fn timestamp(seconds: u64) -> String {
    let day = 1 + seconds / 86_400;
    let rest = seconds % 86_400;
    format!(
        "2026-01-{day:02}T{:02}:{:02}:{:02}Z",
        rest / 3600,
        rest % 3600 / 60,
        rest % 60
    )
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
    /// Starts the fake on a free loopback port.
    pub async fn start() -> Self {
        let server = MockServer::start().await;
        let state = Arc::new(Mutex::new(State {
            next_page_id: 0,
            next_rev_id: 0,
            clock: 0,
            ..State::default()
        }));
        Mock::given(path(API_PATH))
            .respond_with(Responder(Arc::clone(&state)))
            .mount(&server)
            .await;
        Self {
            server: Arc::new(server),
            state,
        }
    }

    fn lock(&self) -> MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// `http://127.0.0.1:PORT/w/api.php`.
    pub fn api_url(&self) -> String {
        format!("{}{API_PATH}", self.server.uri())
    }

    /// `127.0.0.1:PORT`, for `WIKISCRIPTSYNC_EXTRA_WIKI_HOSTS`.
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

/// The fake's title normalisation: our offline rules plus first-letter capitalisation.
fn normalize_title(input: &str) -> Result<String, TitleError> {
    let title = Title::parse(input)?;
    let text = title.to_string();
    Ok(match title.namespace() {
        Namespace::Main | Namespace::Other => crate::title::upper_first(&text),
        _ => text,
    })
}

fn namespace_number(title: &str) -> i64 {
    match Title::parse(title).map(|t| t.namespace()) {
        Ok(Namespace::User) => 2,
        Ok(Namespace::UserTalk) => 3,
        Ok(Namespace::MediaWiki) => 8,
        _ => 0,
    }
}

fn sha1_hex(text: &str) -> String {
    let digest = Sha1::digest(text.as_bytes());
    let mut hex = String::with_capacity(40);
    for byte in digest {
        let _ = write!(hex, "{byte:02x}");
    }
    hex
}

fn api_error(code: &str, text: &str) -> Value {
    json!({"errors": [{"code": code, "text": text, "module": "main"}], "docref": "See the fake."})
}

fn ok(body: &Value) -> ResponseTemplate {
    ResponseTemplate::new(200).set_body_json(body)
}

struct Responder(Arc<Mutex<State>>);

/// The parsed request and the session it belongs to.
struct Call {
    params: HashMap<String, String>,
    post: bool,
    session_id: Option<String>,
}

impl Call {
    fn get(&self, key: &str) -> Option<&str> {
        self.params.get(key).map(String::as_str)
    }

    fn flag(&self, key: &str) -> bool {
        self.params.contains_key(key)
    }

    fn list(&self, key: &str) -> Vec<String> {
        self.get(key)
            .map(|v| v.split('|').map(str::to_owned).collect())
            .unwrap_or_default()
    }
}

impl Respond for Responder {
    fn respond(&self, request: &Request) -> ResponseTemplate {
        let mut state = self.0.lock().unwrap_or_else(PoisonError::into_inner);
        let query: Vec<(String, String)> = request.url.query_pairs().into_owned().collect();
        let body: Vec<(String, String)> = url::form_urlencoded::parse(&request.body)
            .into_owned()
            .collect();
        let params: HashMap<String, String> = query.iter().chain(&body).cloned().collect();
        let action = params.get("action").cloned().unwrap_or_default();
        state.requests.push(RecordedRequest {
            method: request.method.to_string(),
            action: action.clone(),
            query,
            body,
            user_agent: request
                .headers
                .get("user-agent")
                .and_then(|v| v.to_str().ok())
                .map(str::to_owned),
            headers: request
                .headers
                .iter()
                .map(|(k, v)| (k.as_str().to_owned(), v.to_str().unwrap_or("?").to_owned()))
                .collect(),
        });
        let session_id = request
            .headers
            .get_all("cookie")
            .iter()
            .filter_map(|v| v.to_str().ok())
            .flat_map(|v| v.split(';'))
            .filter_map(|pair| pair.trim().split_once('='))
            .find(|(name, _)| *name == SESSION_COOKIE)
            .map(|(_, value)| value.to_owned())
            .filter(|id| state.sessions.contains_key(id));
        let call = Call {
            params,
            post: request.method.as_str() == "POST",
            session_id,
        };

        let mut delay = None;
        let mut racing = None;
        if let Some(fault) = take_fault(&mut state, &action) {
            match fault {
                Fault::Delay(d) => delay = Some(d),
                Fault::RacingEdit {
                    title,
                    text,
                    user,
                    comment,
                } => racing = Some((title, text, user, comment)),
                other => return fault_response(&other),
            }
        }
        let response = handle(&mut state, &call, &action);
        if let Some((title, text, user, comment)) = racing {
            let title = normalize_title(&title).unwrap_or(title);
            state.deleted.remove(&title);
            state.store_revision(&title, &text, &user, &comment, None);
        }
        match delay {
            Some(d) => response.set_delay(d),
            None => response,
        }
    }
}

fn take_fault(state: &mut State, action: &str) -> Option<Fault> {
    let index = state.faults.iter().position(|(only, _, left)| {
        *left > 0 && only.as_deref().is_none_or(|only| only == action)
    })?;
    let entry = &mut state.faults[index];
    entry.2 -= 1;
    let fault = entry.1.clone();
    if entry.2 == 0 {
        state.faults.remove(index);
    }
    Some(fault)
}

fn with_retry_after(template: ResponseTemplate, retry_after: Option<&String>) -> ResponseTemplate {
    match retry_after {
        Some(value) => template.insert_header("retry-after", value.as_str()),
        None => template,
    }
}

fn fault_response(fault: &Fault) -> ResponseTemplate {
    match fault {
        Fault::Maxlag { retry_after_secs } => ok(&json!({"errors": [{
            "code": "maxlag",
            "text": "Waiting for 10.64.0.1: 7 seconds lagged.",
            "data": {"host": "10.64.0.1", "lag": 7, "type": "db"},
            "module": "main"
        }]}))
        .insert_header("retry-after", retry_after_secs.to_string().as_str())
        .insert_header("x-database-lag", "7"),
        Fault::TooManyRequests { retry_after } => with_retry_after(
            ResponseTemplate::new(429).set_body_string("Too many requests"),
            retry_after.as_ref(),
        ),
        Fault::ServiceUnavailable { retry_after } => with_retry_after(
            ResponseTemplate::new(503).set_body_string("Service Unavailable"),
            retry_after.as_ref(),
        ),
        Fault::ReadOnly => ok(&api_error(
            "readonly",
            "The wiki is currently in read-only mode.",
        )),
        Fault::RateLimited => ok(&api_error(
            "ratelimited",
            "As an anti-abuse measure, you are limited from performing this action too many times.",
        )),
        Fault::BadToken => ok(&api_error("badtoken", "Invalid CSRF token.")),
        Fault::AssertUserFailed => ok(&api_error(
            "assertuserfailed",
            "You are no longer logged in, so the action could not be completed.",
        )),
        Fault::MalformedJson => ResponseTemplate::new(200)
            .set_body_raw("<html><body>Internal error</body></html>", "text/html"),
        Fault::TruncatedJson => ResponseTemplate::new(200).set_body_raw(
            r#"{"batchcomplete":true,"query":{"pages":[{"ti"#,
            "application/json",
        ),
        Fault::HttpStatus(status) => ResponseTemplate::new(*status),
        Fault::Delay(_) | Fault::RacingEdit { .. } => ResponseTemplate::new(200),
    }
}

fn handle(state: &mut State, call: &Call, action: &str) -> ResponseTemplate {
    let logged_in_user = call
        .session_id
        .as_ref()
        .and_then(|id| state.sessions.get(id))
        .and_then(|s| s.user.clone());
    if call.get("assert") == Some("user") && logged_in_user.is_none() {
        return ok(&api_error(
            "assertuserfailed",
            "You are no longer logged in, so the action could not be completed.",
        ));
    }
    match action {
        "query" => query(state, call, logged_in_user.as_deref()),
        "login" => login(state, call),
        "edit" => edit(state, call, logged_in_user.as_deref()),
        "flow" => flow(state, call, logged_in_user.as_deref()),
        other => ok(&api_error(
            "badvalue",
            &format!("Unrecognized value for parameter \"action\": {other}."),
        )),
    }
}

fn account_for<'a>(state: &'a State, user: Option<&str>) -> Option<&'a FakeAccount> {
    let user = user?;
    state.accounts.values().find(|a| a.user_name() == user)
}

fn rights_of(state: &State, user: Option<&str>) -> Vec<String> {
    match account_for(state, user) {
        Some(account) => account.rights.clone(),
        None => ANON_RIGHTS.iter().map(|r| (*r).to_owned()).collect(),
    }
}

fn query(state: &mut State, call: &Call, user: Option<&str>) -> ResponseTemplate {
    let mut answer = json!({"batchcomplete": true});
    let mut query = serde_json::Map::new();
    let mut set_cookie = None;
    let meta = call.list("meta");
    if meta.iter().any(|m| m == "tokens") {
        let kind = call.get("type").unwrap_or("csrf");
        if kind == "login" {
            let token = state.token("login");
            let id = match &call.session_id {
                Some(id) => id.clone(),
                None => {
                    let id = state.token("session").replace("+\\", "");
                    set_cookie = Some(id.clone());
                    id
                }
            };
            state.sessions.entry(id).or_default().login_token = Some(token.clone());
            query.insert("tokens".into(), json!({"logintoken": token}));
        } else {
            let csrf = match (&call.session_id, user) {
                (Some(id), Some(_)) => state
                    .sessions
                    .get(id)
                    .map_or_else(|| ANON_CSRF.to_owned(), |s| s.csrf.clone()),
                _ => ANON_CSRF.to_owned(),
            };
            query.insert("tokens".into(), json!({"csrftoken": csrf}));
        }
    }
    if meta.iter().any(|m| m == "userinfo") {
        let info = match account_for(state, user) {
            Some(account) => {
                let mut info = json!({
                    "id": 1 + state.accounts.keys().position(|k| *k == account.login_name).unwrap_or(0),
                    "name": account.user_name(),
                    "groups": account.groups,
                    "rights": account.rights,
                });
                if let Some(reason) = &account.block_reason {
                    info["blockid"] = json!(7);
                    info["blockedby"] = json!("Sysop");
                    info["blockreason"] = json!(reason);
                    info["blockexpiry"] = json!("infinite");
                    info["blockpartial"] = json!(false);
                }
                info
            }
            None => json!({"id": 0, "name": "127.0.0.1", "anon": true,
                           "groups": ["*"], "rights": ANON_RIGHTS}),
        };
        query.insert("userinfo".into(), info);
    }
    let titles = call.list("titles");
    let revids = call.list("revids");
    if !titles.is_empty() || !revids.is_empty() {
        let high = rights_of(state, user).iter().any(|r| r == "apihighlimits");
        let limit = if high { 500 } else { 50 };
        if titles.len() > limit {
            return ok(&api_error(
                "toomanyvalues",
                &format!(
                    "Too many values supplied for parameter \"titles\". The limit is {limit}."
                ),
            ));
        }
        let props = call.list("prop");
        let rvprop = call.list("rvprop");
        let want_revisions = props.iter().any(|p| p == "revisions");
        let mut normalized = Vec::new();
        let mut redirects = Vec::new();
        let mut pages = Vec::new();
        let mut bad_revids = Vec::new();
        for requested in &titles {
            let title = match normalize_title(requested) {
                Ok(title) => title,
                Err(err) => {
                    pages.push(json!({"title": requested, "invalid": true,
                        "invalidreason": {"code": "title-invalid", "text": err.to_string()}}));
                    continue;
                }
            };
            if title != *requested {
                normalized.push(json!({"fromencoded": false, "from": requested, "to": title}));
            }
            let mut target = title.clone();
            if call.flag("redirects")
                && let Some(to) = state.redirects.get(&title)
            {
                redirects.push(json!({"from": title, "to": to}));
                target = to.clone();
            }
            pages.push(page_json(state, &target, None, want_revisions, &rvprop));
        }
        for revid in &revids {
            let found = revid.parse::<u64>().ok().and_then(|id| {
                state
                    .pages
                    .values()
                    .find(|p| p.revisions.iter().any(|r| r.id == id))
                    .map(|p| (p.title.clone(), id))
            });
            match found {
                Some((title, id)) => pages.push(page_json(state, &title, Some(id), true, &rvprop)),
                None => bad_revids
                    .push(json!({"revid": revid.parse::<u64>().unwrap_or(0), "missing": true})),
            }
        }
        if !normalized.is_empty() {
            query.insert("normalized".into(), Value::Array(normalized));
        }
        if !redirects.is_empty() {
            query.insert("redirects".into(), Value::Array(redirects));
        }
        if !bad_revids.is_empty() {
            query.insert("badrevids".into(), Value::Array(bad_revids));
        }
        query.insert("pages".into(), Value::Array(pages));
    }
    if call.flag("curtimestamp") {
        answer["curtimestamp"] = json!(timestamp(state.clock));
    }
    answer["query"] = Value::Object(query);
    let response = ok(&answer);
    match set_cookie {
        Some(id) => response.insert_header(
            "set-cookie",
            format!("{SESSION_COOKIE}={id}; path=/; HttpOnly").as_str(),
        ),
        None => response,
    }
}

fn page_json(
    state: &State,
    title: &str,
    revision: Option<u64>,
    want_revisions: bool,
    rvprop: &[String],
) -> Value {
    let ns = namespace_number(title);
    let Some(page) = state.pages.get(title) else {
        let model = Title::parse(title)
            .ok()
            .and_then(|t| t.implied_content_model())
            .unwrap_or(ContentModel::Wikitext);
        return json!({"ns": ns, "title": title, "missing": true, "contentmodel": model.as_str()});
    };
    let mut value = json!({
        "pageid": page.id, "ns": ns, "title": page.title,
        "contentmodel": page.content_model.as_str(),
        "lastrevid": page.latest().map_or(0, |r| r.id),
        "length": page.text().len(),
    });
    if want_revisions {
        let rev = match revision {
            Some(id) => page.revisions.iter().find(|r| r.id == id),
            None => page.latest(),
        };
        if let Some(rev) = rev {
            let has = |p: &str| rvprop.iter().any(|x| x == p);
            let mut slot =
                json!({"contentmodel": page.content_model.as_str(), "contentformat": "text/plain"});
            if has("content") {
                slot["content"] = json!(rev.text);
            }
            let mut r = json!({"revid": rev.id, "parentid": 0, "slots": {"main": slot}});
            if has("timestamp") {
                r["timestamp"] = json!(rev.timestamp);
            }
            if has("user") {
                r["user"] = json!(rev.user);
            }
            if has("comment") {
                r["comment"] = json!(rev.comment);
            }
            if has("sha1") {
                r["sha1"] = json!(sha1_hex(&rev.text));
            }
            if has("size") {
                r["size"] = json!(rev.text.len());
            }
            value["revisions"] = json!([r]);
        }
    }
    value
}

fn login(state: &mut State, call: &Call) -> ResponseTemplate {
    let failed = |code: &str, text: &str| {
        ok(&json!({"login": {"result": "Failed", "reason": {"code": code, "text": text}}}))
    };
    if !call.post {
        return ok(&api_error(
            "mustbeposted",
            "The \"login\" module requires a POST request.",
        ));
    }
    let name = call.get("lgname").unwrap_or_default().to_owned();
    let Some(token) = call.get("lgtoken") else {
        return ok(&json!({"login": {"result": "NeedToken", "token": "x"}}));
    };
    let Some(id) = call.session_id.clone() else {
        return failed(
            "sessionlost",
            "Unable to continue login. Your session most likely timed out.",
        );
    };
    if state
        .sessions
        .get(&id)
        .and_then(|s| s.login_token.as_deref())
        != Some(token)
    {
        return ok(&json!({"login": {"result": "WrongToken"}}));
    }
    if !name.contains('@') {
        return ok(&json!({"login": {"result": "Aborted", "reason": {
            "code": "api-login-fail-aborted",
            "text": "Main-account login via action=login is not supported; use Special:BotPasswords."
        }}}));
    }
    let account = state.accounts.get(&name).cloned();
    let Some(account) = account.filter(|a| Some(a.password.as_str()) == call.get("lgpassword"))
    else {
        return failed(
            "wrongpassword",
            "Incorrect username or password entered. Please try again.",
        );
    };
    match account.failure {
        Some(LoginFailure::Throttled) => {
            return failed(
                "login-throttled",
                "You have made too many recent login attempts.",
            );
        }
        Some(LoginFailure::NeedsReset) => {
            return failed(
                "botpasswords-needs-reset",
                "The bot password needs to be reset.",
            );
        }
        Some(LoginFailure::Locked) => {
            return failed(
                "botpasswords-locked",
                "You cannot log in with a bot password.",
            );
        }
        None => {}
    }
    let csrf = state.token("csrf");
    let session = state.sessions.entry(id).or_default();
    session.user = Some(account.user_name().to_owned());
    session.login_token = None;
    session.csrf = csrf;
    ok(&json!({"login": {"result": "Success", "lguserid": 1, "lgusername": account.user_name()}}))
}

fn check_token(state: &State, call: &Call, user: Option<&str>) -> bool {
    let expected = match (&call.session_id, user) {
        (Some(id), Some(_)) => state.sessions.get(id).map(|s| s.csrf.as_str()),
        _ => Some(ANON_CSRF),
    };
    call.post && expected.is_some() && call.get("token") == expected
}

/// The error code MediaWiki gives when `right` is missing.
fn missing_right_code(right: &str) -> &'static str {
    match right {
        "editsitejs" => "sitejsprotected",
        "editsitecss" => "sitecssprotected",
        "editsitejson" => "sitejsonprotected",
        "editinterface" => "protectedinterface",
        "edituserjs" => "customjsprotected",
        "editusercss" => "customcssprotected",
        "edituserjson" => "customjsonprotected",
        "editmyuserjs" => "mycustomjsprotected",
        "editmyusercss" => "mycustomcssprotected",
        "editmyuserjson" => "mycustomjsonprotected",
        "createpage" | "createtalk" => "cantcreate",
        _ => "permissiondenied",
    }
}

fn signature(user: Option<&str>, now: &str) -> String {
    match user {
        Some(user) => format!("[[User:{user}|{user}]] ([[User talk:{user}|talk]]) {now} (UTC)"),
        None => format!("[[Special:Contributions/127.0.0.1|127.0.0.1]] {now} (UTC)"),
    }
}

fn edit(state: &mut State, call: &Call, user: Option<&str>) -> ResponseTemplate {
    if !check_token(state, call, user) {
        return ok(&api_error("badtoken", "Invalid CSRF token."));
    }
    let requested = call.get("title").unwrap_or_default();
    let Ok(title) = normalize_title(requested) else {
        return ok(&api_error(
            "invalidtitle",
            &format!("Bad title \"{requested}\"."),
        ));
    };
    let parsed = Title::parse(&title).ok();
    let account = account_for(state, user).cloned();
    if let Some(reason) = account.as_ref().and_then(|a| a.block_reason.clone()) {
        return ok(&api_error(
            "blocked",
            &format!("You have been blocked from editing: {reason}"),
        ));
    }
    let existing = state.pages.get(&title).cloned();
    if existing
        .as_ref()
        .is_some_and(|p| p.content_model == ContentModel::FlowBoard)
    {
        return ok(&api_error(
            "no-direct-editing",
            "Direct editing via API is not supported for content model flow-board.",
        ));
    }
    let section_new = call.get("section") == Some("new");
    if existing.is_none() && call.flag("nocreate") {
        return ok(&api_error(
            "missingtitle",
            "The page you specified doesn't exist.",
        ));
    }
    if existing.is_some() && call.flag("createonly") {
        return ok(&api_error(
            "articleexists",
            "The article you tried to create has been created already.",
        ));
    }
    if existing.is_none()
        && let (Some(start), Some(deleted_at)) =
            (call.get("starttimestamp"), state.deleted.get(&title))
        && deleted_at.as_str() > start
    {
        return ok(&api_error(
            "pagedeleted",
            "The page has been deleted since you fetched its timestamp.",
        ));
    }
    // Rights: what MediaWiki checks for this kind of page.
    if let Some(parsed) = &parsed {
        let rights = rights_of(state, user);
        let acting = user.unwrap_or("127.0.0.1");
        if let Err(missing) = check_rights(parsed, acting, &rights, false) {
            return ok(&api_error(
                missing_right_code(&missing.right),
                &missing.to_string(),
            ));
        }
        let create_right = if parsed.namespace() == Namespace::UserTalk {
            "createtalk"
        } else {
            "createpage"
        };
        if existing.is_none() && !rights.iter().any(|r| r == create_right) {
            return ok(&api_error(
                "cantcreate",
                "You do not have permission to create new pages.",
            ));
        }
    }
    if let (Some(page), Some(base)) = (&existing, call.get("baserevid")) {
        let latest = page.latest().map_or(0, |r| r.id);
        if base.parse::<u64>().ok() != Some(latest) {
            return ok(&api_error("editconflict", "Edit conflict."));
        }
    }
    if let (Some(page), Some(model)) = (&existing, call.get("contentmodel"))
        && model != page.content_model.as_str()
    {
        return ok(&api_error(
            "contentmodel-mismatch",
            &format!(
                "The content supplied is not {model}, the page's model is {}.",
                page.content_model
            ),
        ));
    }
    let now = timestamp(state.clock + 1);
    let text = call
        .get("text")
        .unwrap_or_default()
        .replace("~~~~", &signature(user, &now));
    let new_text = if section_new {
        let heading = call.get("sectiontitle").unwrap_or_default();
        let section = format!("== {heading} ==\n\n{text}");
        match &existing {
            Some(page) if !page.text().is_empty() => format!("{}\n\n{section}", page.text()),
            _ => section,
        }
    } else {
        text
    };
    let current = existing.as_ref().map(|p| p.text().to_owned());
    let model_name = existing
        .as_ref()
        .map(|p| p.content_model.clone())
        .or_else(|| call.get("contentmodel").map(ContentModel::from_api))
        .or_else(|| parsed.as_ref().and_then(Title::implied_content_model))
        .unwrap_or(ContentModel::Wikitext);
    if let (Some(page), Some(current)) = (&existing, current)
        && current == normalize_text(&new_text)
    {
        return ok(
            &json!({"edit": {"result": "Success", "pageid": page.id, "title": title,
            "contentmodel": model_name.as_str(), "nochange": true, "watched": false}}),
        );
    }
    let author = user.unwrap_or("127.0.0.1").to_owned();
    let summary = call.get("summary").unwrap_or_default().to_owned();
    let old_revision = existing
        .as_ref()
        .and_then(|p| p.latest())
        .map_or(0, |r| r.id);
    let (page_id, revision, created) = state.store_revision(
        &title,
        &new_text,
        &author,
        &summary,
        Some(model_name.clone()),
    );
    if let Some(rev) = state
        .pages
        .get_mut(&title)
        .and_then(|p| p.revisions.last_mut())
    {
        rev.tags = call.list("tags");
        rev.minor = call.flag("minor");
    }
    let timestamp = state.pages[&title].latest().map(|r| r.timestamp.clone());
    let mut result = json!({"edit": {"result": "Success", "pageid": page_id, "title": title,
        "contentmodel": model_name.as_str(), "oldrevid": old_revision, "newrevid": revision,
        "newtimestamp": timestamp, "watched": false}});
    if created {
        result["edit"]["new"] = json!(true);
    }
    ok(&result)
}

fn flow(state: &mut State, call: &Call, user: Option<&str>) -> ResponseTemplate {
    if !check_token(state, call, user) {
        return ok(&api_error("badtoken", "Invalid CSRF token."));
    }
    if call.get("submodule") != Some("new-topic") {
        return ok(&api_error("badvalue", "Only new-topic is faked."));
    }
    let title = normalize_title(call.get("page").unwrap_or_default()).unwrap_or_default();
    let topic = call.get("nttopic").unwrap_or_default().to_owned();
    let content = call.get("ntcontent").unwrap_or_default().to_owned();
    let topic_id = format!("topic{}", state.next_token + 1);
    state.next_token += 1;
    match state.pages.get_mut(&title) {
        Some(page) if page.content_model == ContentModel::FlowBoard => {
            page.flow_topics.push((topic, content));
            ok(
                &json!({"flow": {"new-topic": {"status": "ok", "workflow": topic_id,
                "committed": {"topiclist": {"topic-id": topic_id}}}}}),
            )
        }
        _ => ok(&api_error("invalid-page", "The page is not a Flow board.")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fake_timestamps_are_iso_8601() {
        assert_eq!(timestamp(0), "2026-01-01T00:00:00Z");
        assert_eq!(timestamp(90_061), "2026-01-02T01:01:01Z");
    }

    #[test]
    fn fake_titles_are_capitalised_like_mediawiki() {
        assert_eq!(normalize_title("main_page").unwrap(), "Main page");
        assert_eq!(
            normalize_title("mediawiki:gadget-x.js").unwrap(),
            "MediaWiki:Gadget-x.js"
        );
        assert!(normalize_title("a[b").is_err());
    }

    #[test]
    fn sha1_matches_the_known_digest() {
        assert_eq!(sha1_hex("abc"), "a9993e364706816aba3e25717850c26c9cd0d89d");
    }
}

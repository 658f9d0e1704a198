//! Fake GitHub and fake GitLab for tests and benchmarks (feature `testkit`).
//!
//! Each fake is a wiremock server on loopback that serves repositories you populate in memory
//! ([`FakeServer::add_repo`], [`FakeServer::commit`]) with real Git blob, tree and commit SHAs,
//! shaped field for field like the official REST docs, headers included (`ETag`, `Vary`,
//! `x-ratelimit-*` / `RateLimit-*`, `Link`). It counts requests and quota (a GitHub `304` sent
//! with `Authorization` is free; GitLab charges everything), records every request (User-Agent,
//! Accept, If-None-Match, whether authorised), and plays scripted faults ([`Fault`]) and an
//! injectable latency.
//!
//! ```no_run
//! # async fn demo() {
//! use wikiscriptsync_forge::testkit::FakeGitHub;
//! let github = FakeGitHub::start().await;
//! github.add_repo("octo/gadgets", [("src/Gadget.js", "mw.log('hi');")]);
//! let config = github.config_builder().build().unwrap();
//! # }
//! ```

mod git;
mod github;
mod gitlab;

use std::collections::{BTreeMap, HashMap, VecDeque};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use wiremock::{Mock, MockServer, Request, Respond, ResponseTemplate};

pub use github::FakeGitHub;
pub use gitlab::FakeGitLab;

use crate::config::{ForgeConfig, ForgeConfigBuilder, RetryPolicy};
use crate::model::{BlobSha, CommitSha, Visibility};
use git::GitStore;

/// The User-Agent header the fakes' config builders send ([`test_user_agent`]).
pub const TEST_USER_AGENT: &str = "wikiscriptsync/0.1.0 (https://example.org/testkit) reqwest/0.13";

/// The User-Agent the fakes' config builders use: WikiScriptSync's own, with a test contact.
pub fn test_user_agent() -> crate::config::UserAgent {
    crate::config::UserAgent::from_contact("https://example.org/testkit")
        .expect("a URL without control characters or parentheses")
}

/// Which API endpoint a request hit.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Endpoint {
    /// GitHub `GET /repos/{o}/{r}`.
    Repository,
    /// GitHub `GET /repos/{o}/{r}/commits/{ref}`.
    Commit,
    /// GitHub `git/trees/{sha}` or GitLab `repository/tree`.
    Tree,
    /// GitHub `contents/{path}`.
    Contents,
    /// GitHub `git/blobs/{sha}` or GitLab `repository/blobs/{sha}/raw`.
    Blob,
    /// GitLab `GET /projects/:id`.
    Project,
    /// GitLab `repository/branches/:branch`.
    Branch,
    /// GitHub `GET /repos/{o}/{r}/branches` or GitLab `GET /projects/:id/repository/branches`.
    Branches,
    /// GitLab `repository/files/:path` (JSON or `/raw`).
    Files,
    /// GitHub `GET /rate_limit` (costs no quota).
    RateLimit,
    /// GitLab `GET /version`.
    Version,
    /// Anything else (answered 404).
    Other,
}

/// A scripted misbehaviour.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Fault {
    /// The primary quota is used up: GitHub 403 / GitLab 429 with remaining 0.
    PrimaryRateLimit,
    /// A secondary limit: `status` 403 or 429, with `Retry-After` when given.
    SecondaryRateLimit {
        /// 403 or 429.
        status: u16,
        /// Seconds for `Retry-After`.
        retry_after: Option<u64>,
    },
    /// A 5xx with an HTML body, like a proxy error page.
    ServerError(u16),
    /// Answer normally but this much later (on top of the latency).
    Delay(Duration),
    /// Answer 200 with a cut-off JSON body.
    MalformedJson,
    /// GitHub: answer a recursive tree with `truncated: true` and only the top level.
    TruncatedTree,
    /// Answer file content with one byte altered.
    TamperedContent,
}

/// A fault waiting for requests.
#[derive(Debug, Clone)]
struct ScriptedFault {
    fault: Fault,
    endpoint: Option<Endpoint>,
    times: u32,
}

/// One request as the fake saw it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RecordedRequest {
    /// The endpoint.
    pub endpoint: Endpoint,
    /// Path and query, as sent.
    pub path_and_query: String,
    /// `User-Agent` header.
    pub user_agent: Option<String>,
    /// `Accept` header.
    pub accept: Option<String>,
    /// `If-None-Match` header.
    pub if_none_match: Option<String>,
    /// Whether `Authorization` (GitHub) or `PRIVATE-TOKEN` (GitLab) was sent.
    pub authorized: bool,
    /// Status answered.
    pub status: u16,
}

/// Counters of a fake.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct FakeStats {
    /// Requests received.
    pub requests: u64,
    /// Requests charged against a quota.
    pub quota_spent: u64,
    /// `304` answers.
    pub not_modified: u64,
    /// Requests per endpoint.
    pub by_endpoint: BTreeMap<Endpoint, u64>,
}

#[derive(Debug, Default)]
pub(crate) struct Bucket {
    used: u64,
    reset: u64,
}

/// What a dialect handler answers before common decoration.
pub(crate) struct Reply {
    status: u16,
    content_type: &'static str,
    headers: Vec<(String, String)>,
    body: Vec<u8>,
    /// Body is file content (for [`Fault::TamperedContent`]).
    is_content: bool,
}

impl Reply {
    fn json(status: u16, value: &serde_json::Value) -> Self {
        Self {
            status,
            content_type: "application/json; charset=utf-8",
            headers: Vec::new(),
            body: serde_json::to_vec(value).unwrap_or_default(),
            is_content: false,
        }
    }

    fn raw(status: u16, content_type: &'static str, body: Vec<u8>) -> Self {
        Self {
            status,
            content_type,
            headers: Vec::new(),
            body,
            is_content: false,
        }
    }

    fn header(mut self, name: &str, value: impl Into<String>) -> Self {
        self.headers.push((name.to_owned(), value.into()));
        self
    }
}

/// Context a dialect handler gets for one request.
pub(crate) struct Ctx {
    authorized: bool,
    truncate_tree: bool,
    offset_pagination: bool,
    base_url: String,
}

/// The parts of a fake that differ between GitHub and GitLab.
pub(crate) trait Dialect: Send + Sync + 'static {
    fn endpoint(&self, req: &Request) -> Endpoint;
    fn credential(&self, req: &Request) -> Option<String>;
    fn route(&self, git: &GitStore, req: &Request, ctx: &Ctx) -> Reply;
    fn limits(&self) -> (u64, u64);
    fn window(&self) -> Duration;
    fn free_authorized_304(&self) -> bool;
    fn rate_headers(&self, limit: u64, bucket: &Bucket, authorized: bool) -> Vec<(String, String)>;
    fn primary_limited(&self, reset: u64) -> Reply;
    fn secondary_limited(&self, status: u16, retry_after: Option<u64>) -> Reply;
    fn bad_credentials(&self) -> Reply;
}

pub(crate) struct State {
    git: GitStore,
    requests: Vec<RecordedRequest>,
    stats: FakeStats,
    faults: VecDeque<ScriptedFault>,
    latency: Duration,
    limits: Option<(u64, u64)>,
    buckets: HashMap<String, Bucket>,
    truncate_trees: bool,
    offset_pagination: bool,
    accepted_token: Option<String>,
    record: bool,
    base_url: String,
}

fn now_epoch() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_secs())
}

fn lock(state: &Mutex<State>) -> MutexGuard<'_, State> {
    state.lock().unwrap_or_else(PoisonError::into_inner)
}

struct Responder<D: Dialect> {
    dialect: D,
    state: Arc<Mutex<State>>,
}

fn header(req: &Request, name: &str) -> Option<String> {
    req.headers
        .get(name)
        .and_then(|v| v.to_str().ok())
        .map(str::to_owned)
}

impl<D: Dialect> Respond for Responder<D> {
    fn respond(&self, req: &Request) -> ResponseTemplate {
        let mut state = lock(&self.state);
        let state = &mut *state;
        let endpoint = self.dialect.endpoint(req);
        let credential = self.dialect.credential(req);
        let authorized = credential.is_some();
        let (auth_limit, anon_limit) = state.limits.unwrap_or_else(|| self.dialect.limits());
        let limit = if authorized { auth_limit } else { anon_limit };
        let bucket_key = credential.clone().unwrap_or_else(|| "anonymous".into());
        let window = self.dialect.window().as_secs();
        let now = now_epoch();
        let bucket = state.buckets.entry(bucket_key).or_default();
        if bucket.reset <= now {
            *bucket = Bucket {
                used: 0,
                reset: now + window,
            };
        }
        let fault_index = state
            .faults
            .iter()
            .position(|f| f.endpoint.is_none_or(|e| e == endpoint));
        let fault = fault_index.and_then(|i| {
            let f = state.faults.get_mut(i)?;
            f.times = f.times.saturating_sub(1);
            let fault = f.fault.clone();
            if f.times == 0 {
                state.faults.remove(i);
            }
            Some(fault)
        });
        let bucket = state
            .buckets
            .entry(credential.clone().unwrap_or_else(|| "anonymous".into()))
            .or_default();
        let wrong_token =
            matches!((&state.accepted_token, &credential), (Some(ok), Some(given)) if ok != given);
        let mut charged = true;
        let mut reply = if wrong_token {
            charged = false;
            self.dialect.bad_credentials()
        } else if fault == Some(Fault::PrimaryRateLimit) || bucket.used >= limit {
            charged = false;
            bucket.used = bucket.used.max(limit);
            self.dialect.primary_limited(bucket.reset)
        } else if let Some(Fault::SecondaryRateLimit {
            status,
            retry_after,
        }) = fault
        {
            self.dialect.secondary_limited(status, retry_after)
        } else if let Some(Fault::ServerError(status)) = fault {
            Reply::raw(
                status,
                "text/html",
                b"<html><body><h1>Server Error</h1></body></html>".to_vec(),
            )
        } else {
            let ctx = Ctx {
                authorized,
                truncate_tree: state.truncate_trees || fault == Some(Fault::TruncatedTree),
                offset_pagination: state.offset_pagination,
                base_url: state.base_url.clone(),
            };
            self.dialect.route(&state.git, req, &ctx)
        };
        if (reply.status == 304 && authorized && self.dialect.free_authorized_304())
            || endpoint == Endpoint::RateLimit
        {
            charged = false;
        }
        let bucket = state
            .buckets
            .entry(credential.unwrap_or_else(|| "anonymous".into()))
            .or_default();
        if charged {
            bucket.used += 1;
        }
        match &fault {
            Some(Fault::MalformedJson) if reply.status == 200 => {
                reply.body = b"{\"sha\": \"unterminated".to_vec();
                reply.content_type = "application/json; charset=utf-8";
            }
            Some(Fault::TamperedContent) if reply.is_content => {
                if let Some(first) = reply.body.first_mut() {
                    *first ^= 0x20;
                } else {
                    reply.body.push(b'!');
                }
            }
            _ => {}
        }
        let rate_headers = self.dialect.rate_headers(limit, bucket, authorized);
        state.stats.requests += 1;
        if charged {
            state.stats.quota_spent += 1;
        }
        if reply.status == 304 {
            state.stats.not_modified += 1;
        }
        *state.stats.by_endpoint.entry(endpoint).or_default() += 1;
        if state.record {
            state.requests.push(RecordedRequest {
                endpoint,
                path_and_query: match req.url.query() {
                    Some(q) => format!("{}?{q}", req.url.path()),
                    None => req.url.path().to_owned(),
                },
                user_agent: header(req, "user-agent"),
                accept: header(req, "accept"),
                if_none_match: header(req, "if-none-match"),
                authorized,
                status: reply.status,
            });
        }
        let mut delay = state.latency;
        if let Some(Fault::Delay(extra)) = fault {
            delay += extra;
        }
        let mut template = ResponseTemplate::new(reply.status);
        if reply.status != 304 {
            template = template.set_body_raw(reply.body, reply.content_type);
        }
        for (name, value) in rate_headers.into_iter().chain(reply.headers) {
            template = template.append_header(name.as_str(), value.as_str());
        }
        if delay > Duration::ZERO {
            template = template.set_delay(delay);
        }
        template
    }
}

/// The behaviour both fakes share: populating repositories, counters, faults, latency.
/// [`FakeGitHub`] and [`FakeGitLab`] dereference to it.
pub struct FakeServer {
    server: MockServer,
    state: Arc<Mutex<State>>,
}

impl FakeServer {
    async fn start<D: Dialect>(dialect: D) -> Self {
        let server = MockServer::start().await;
        let state = Arc::new(Mutex::new(State {
            git: GitStore::default(),
            requests: Vec::new(),
            stats: FakeStats::default(),
            faults: VecDeque::new(),
            latency: Duration::ZERO,
            limits: None,
            buckets: HashMap::new(),
            truncate_trees: false,
            offset_pagination: false,
            accepted_token: None,
            record: true,
            base_url: server.uri(),
        }));
        Mock::given(wiremock::matchers::any())
            .respond_with(Responder {
                dialect,
                state: Arc::clone(&state),
            })
            .mount(&server)
            .await;
        Self { server, state }
    }

    fn state(&self) -> MutexGuard<'_, State> {
        lock(&self.state)
    }

    /// `http://127.0.0.1:<port>`.
    pub fn uri(&self) -> String {
        self.server.uri()
    }

    /// Creates a public repository with branch `main` holding `files`; returns the first commit.
    pub fn add_repo<P: Into<String>, C: AsRef<[u8]>>(
        &self,
        full_name: &str,
        files: impl IntoIterator<Item = (P, C)>,
    ) -> CommitSha {
        self.add_repo_with(full_name, "main", false, files)
    }

    /// Creates a repository with the given default branch, private when `private` (see
    /// [`Self::set_visibility`] for internal).
    pub fn add_repo_with<P: Into<String>, C: AsRef<[u8]>>(
        &self,
        full_name: &str,
        default_branch: &str,
        private: bool,
        files: impl IntoIterator<Item = (P, C)>,
    ) -> CommitSha {
        let mut state = self.state();
        let git = &mut state.git;
        let mut map = BTreeMap::new();
        for (path, bytes) in files {
            let sha = git.add_blob(bytes.as_ref());
            map.insert(path.into(), sha);
        }
        let commit = git.write_commit(map, None, "Initial commit");
        let id = git.repos.len() as u64 + 1001;
        git.repo_ids.insert(id, full_name.to_owned());
        git.repos.insert(
            full_name.to_owned(),
            git::Repo {
                id,
                full_name: full_name.to_owned(),
                default_branch: default_branch.to_owned(),
                visibility: if private {
                    Visibility::Private
                } else {
                    Visibility::Public
                },
                branches: BTreeMap::from([(default_branch.to_owned(), commit.clone())]),
            },
        );
        to_commit_sha(&commit)
    }

    /// Makes a repository public, internal or private from now on (as its owner can at any
    /// time): anything but public answers anonymous requests `404`, as the forges do.
    ///
    /// # Panics
    /// If the repository does not exist (a mistake in the test).
    pub fn set_visibility(&self, full_name: &str, visibility: Visibility) {
        let mut state = self.state();
        state
            .git
            .repos
            .get_mut(full_name)
            .unwrap_or_else(|| panic!("no fake repository {full_name}"))
            .visibility = visibility;
    }

    /// Commits on `branch` (created from the default branch if new): `Some(bytes)` writes a
    /// file, `None` deletes it. Returns the new head.
    ///
    /// # Panics
    /// If the repository does not exist (a mistake in the test).
    pub fn commit<P: Into<String>, C: AsRef<[u8]>>(
        &self,
        full_name: &str,
        branch: &str,
        changes: impl IntoIterator<Item = (P, Option<C>)>,
    ) -> CommitSha {
        let mut state = self.state();
        let git = &mut state.git;
        let repo = git
            .repos
            .get(full_name)
            .unwrap_or_else(|| panic!("no fake repository {full_name}"))
            .clone();
        let parent = repo
            .branches
            .get(branch)
            .or_else(|| repo.branches.get(&repo.default_branch))
            .cloned()
            .unwrap_or_else(|| panic!("{full_name} has no default branch"));
        let mut files = (*git.commits[&parent].files).clone();
        for (path, bytes) in changes {
            match bytes {
                Some(bytes) => {
                    let sha = git.add_blob(bytes.as_ref());
                    files.insert(path.into(), sha);
                }
                None => {
                    files.remove(&path.into());
                }
            }
        }
        let commit = git.write_commit(files, Some(parent), &format!("Change on {branch}"));
        if let Some(repo) = git.repos.get_mut(full_name) {
            repo.branches.insert(branch.to_owned(), commit.clone());
        }
        to_commit_sha(&commit)
    }

    /// The head of a branch, if both exist.
    pub fn head_of(&self, full_name: &str, branch: &str) -> Option<CommitSha> {
        let state = self.state();
        state
            .git
            .repos
            .get(full_name)?
            .branches
            .get(branch)
            .map(|s| to_commit_sha(s))
    }

    /// The blob SHA of `path` on `branch`.
    pub fn blob_sha_of(&self, full_name: &str, branch: &str, path: &str) -> Option<BlobSha> {
        let state = self.state();
        let head = state.git.repos.get(full_name)?.branches.get(branch)?;
        let sha = state.git.commits.get(head)?.files.get(path)?;
        BlobSha::parse(sha).ok()
    }

    /// Adds this much latency to every answer (benchmarks).
    pub fn set_latency(&self, latency: Duration) {
        self.state().latency = latency;
    }

    /// Plays `fault` on the next request, whatever its endpoint.
    pub fn push_fault(&self, fault: Fault) {
        self.state().faults.push_back(ScriptedFault {
            fault,
            endpoint: None,
            times: 1,
        });
    }

    /// Plays `fault` on the next `times` requests to `endpoint`.
    pub fn push_fault_on(&self, endpoint: Endpoint, fault: Fault, times: u32) {
        self.state().faults.push_back(ScriptedFault {
            fault,
            endpoint: Some(endpoint),
            times: times.max(1),
        });
    }

    /// Answers every recursive tree as truncated (GitHub) until turned off.
    pub fn truncate_recursive_trees(&self, on: bool) {
        self.state().truncate_trees = on;
    }

    /// GitLab: answer trees with offset pagination (`page=`, `x-next-page`, `Link` with
    /// next/first/last), as instances without keyset support for trees do.
    pub fn offset_pagination(&self, on: bool) {
        self.state().offset_pagination = on;
    }

    /// Sets the quota per window for authenticated and anonymous callers.
    pub fn set_rate_limits(&self, authenticated: u64, anonymous: u64) {
        self.state().limits = Some((authenticated, anonymous));
    }

    /// Accepts only this token (others get 401); by default any token is accepted.
    pub fn accept_only_token(&self, token: &str) {
        self.state().accepted_token = Some(token.to_owned());
    }

    /// Whether to keep a [`RecordedRequest`] per request (on by default; off for big benchmarks).
    pub fn record_requests(&self, on: bool) {
        self.state().record = on;
    }

    /// The counters.
    pub fn stats(&self) -> FakeStats {
        self.state().stats.clone()
    }

    /// Every request recorded so far.
    pub fn requests(&self) -> Vec<RecordedRequest> {
        self.state().requests.clone()
    }

    /// Zeroes counters, recorded requests and quota windows (repositories stay).
    pub fn reset_stats(&self) {
        let mut state = self.state();
        state.stats = FakeStats::default();
        state.requests.clear();
        state.buckets.clear();
    }
}

fn to_commit_sha(hex: &str) -> CommitSha {
    // The store only ever produces 40-hex SHA-1s.
    CommitSha::parse(hex).unwrap_or_else(|e| unreachable!("fake produced a bad SHA: {e}"))
}

/// Retry floors of milliseconds and short timeouts, so tests of backoff run fast.
pub fn fast_retry() -> RetryPolicy {
    RetryPolicy {
        max_retries: 2,
        server_error_floor: Duration::from_millis(5),
        secondary_limit_floor: Duration::from_millis(10),
        max_wait: Duration::from_secs(2),
    }
}

fn test_builder() -> ForgeConfigBuilder {
    ForgeConfig::builder(test_user_agent())
        .retry(fast_retry())
        .request_timeout(Duration::from_secs(2))
        .connect_timeout(Duration::from_secs(1))
}

fn base64_lines(bytes: &[u8]) -> String {
    use base64::Engine;
    let encoded = base64::engine::general_purpose::STANDARD.encode(bytes);
    // GitHub wraps base64 content at 60 characters.
    let mut out = String::with_capacity(encoded.len() + encoded.len() / 60 + 1);
    for chunk in encoded.as_bytes().chunks(60) {
        out.push_str(std::str::from_utf8(chunk).unwrap_or_default());
        out.push('\n');
    }
    out
}

fn base64_plain(bytes: &[u8]) -> String {
    use base64::Engine;
    base64::engine::general_purpose::STANDARD.encode(bytes)
}

/// Decoded path segments of a request (`%2F` decoded inside a segment).
fn segments(req: &Request) -> Vec<String> {
    req.url
        .path()
        .trim_start_matches('/')
        .split('/')
        .map(|s| {
            percent_encoding::percent_decode_str(s)
                .decode_utf8_lossy()
                .into_owned()
        })
        .collect()
}

fn query(req: &Request, name: &str) -> Option<String> {
    req.url
        .query_pairs()
        .find(|(k, _)| k == name)
        .map(|(_, v)| v.into_owned())
}

/// `page` and `per_page` from the query (defaults: page 1, `default_per_page`; at most 100 per
/// page, as both APIs cap it), as (page, per_page, index of the page's first item).
fn page_of(req: &Request, default_per_page: usize) -> (usize, usize, usize) {
    let per_page = query(req, "per_page")
        .and_then(|p| p.parse::<usize>().ok())
        .unwrap_or(default_per_page)
        .clamp(1, 100);
    let page = query(req, "page")
        .and_then(|p| p.parse::<usize>().ok())
        .unwrap_or(1)
        .max(1);
    (page, per_page, (page - 1) * per_page)
}

/// The request's URL on the fake's own base (wiremock reports it without our port) with `page`
/// replaced, for `Link` headers.
fn page_link(base: &str, req: &Request, page: usize) -> String {
    let mut url =
        url::Url::parse(&format!("{base}{}", req.url.path())).unwrap_or_else(|_| req.url.clone());
    let mut pairs: Vec<(String, String)> = req
        .url
        .query_pairs()
        .filter(|(k, _)| k != "page")
        .map(|(k, v)| (k.into_owned(), v.into_owned()))
        .collect();
    pairs.push(("page".to_owned(), page.to_string()));
    url.query_pairs_mut().clear().extend_pairs(pairs);
    url.to_string()
}

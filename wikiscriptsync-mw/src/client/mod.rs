//! The reqwest implementation: [`ActionApiClient`] (shared config, per-wiki concurrency gates,
//! request counter) and [`Session`] (one cookie jar, one login, cached token and user info).
//!
//! The login and CSRF token are in `login.rs`; the request loop that adds the common
//! parameters, retries what may be retried and recovers from expired tokens and sessions is in
//! `request.rs`. The operations a session offers live in their own modules (`probe`,
//! `revisions`, `edit`, `notices`).

mod login;
mod request;
mod resolve;

use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, PoisonError, Weak};

use async_trait::async_trait;
use secrecy::SecretString;
use serde_json::Value;
use tokio::sync::Semaphore;

use crate::api::{
    BotPassword, EditOutcome, EditRequest, PageLookup, PageText, Probe, TalkNotice,
    TalkNoticeOutcome, UserInfo, WikiApi, WikiSession,
};
use crate::config::{ClientConfig, ConfigError};
use crate::credential::{Credential, CredentialKind, OwnerOnlyToken};
use crate::error::Error;
use crate::site::WikiIdentity;
use crate::title::Title;
use crate::wiki::{WikiAddress, WikiUrl};

/// State shared by every session a client opens.
#[derive(Debug)]
struct Shared {
    config: ClientConfig,
    /// One semaphore per wiki API URL: at most `max_in_flight` requests in flight to a wiki,
    /// whichever session sends them. Held weakly: the sessions hold them, and a wiki nobody has
    /// a session on is dropped from the map, so the map does not grow with every API URL users
    /// name over the life of the process.
    gates: Mutex<HashMap<String, Weak<Semaphore>>>,
    requests: AtomicU64,
}

impl Shared {
    /// The gate of the wiki at `api_url`: the one live sessions share, else a new one. Gates
    /// no session holds any more are dropped here.
    fn gate(&self, api_url: &str) -> Arc<Semaphore> {
        let mut gates = self.gates.lock().unwrap_or_else(PoisonError::into_inner);
        if let Some(gate) = gates.get(api_url).and_then(Weak::upgrade) {
            return gate;
        }
        gates.retain(|_, gate| gate.strong_count() > 0);
        let gate = Arc::new(Semaphore::new(self.config.max_in_flight));
        gates.insert(api_url.to_owned(), Arc::downgrade(&gate));
        gate
    }
}

/// The MediaWiki Action API client: opens [`Session`]s, enforces the allow-list and the
/// per-wiki concurrency limit, and counts requests.
#[derive(Debug, Clone)]
pub struct ActionApiClient {
    shared: Arc<Shared>,
}

impl ActionApiClient {
    /// Validates `config` and builds a client.
    pub fn new(config: ClientConfig) -> Result<Self, ConfigError> {
        config.validate()?;
        Ok(Self {
            shared: Arc::new(Shared {
                config,
                gates: Mutex::new(HashMap::new()),
                requests: AtomicU64::new(0),
            }),
        })
    }

    /// The configuration.
    pub fn config(&self) -> &ClientConfig {
        &self.shared.config
    }

    /// Requests sent by all sessions of this client.
    pub fn request_count(&self) -> u64 {
        self.shared.requests.load(Ordering::Relaxed)
    }

    /// Parses a wiki address against this client's allow-list.
    pub fn parse_wiki(&self, input: &str) -> Result<WikiUrl, Error> {
        Ok(WikiUrl::parse(input, &self.shared.config.allow_list)?)
    }

    /// An anonymous session on `wiki` (no request is sent).
    pub fn anonymous_session(&self, wiki: &WikiUrl) -> Result<Session, Error> {
        Session::new(Arc::clone(&self.shared), wiki, None, None)
    }

    /// A session acting with an owner-only OAuth 2.0 access token: no request is sent. The
    /// session has its own cookie jar (cookies the wiki sets are kept for this session only)
    /// and every request carries `Authorization: Bearer <token>` (never in a URL, never
    /// logged). Its [`Session::user_name`] is `None` until a user-info or probe answer names
    /// the user; a bad token is found by the first request ([`Error::TokenRejected`]).
    pub fn token_session(&self, wiki: &WikiUrl, token: OwnerOnlyToken) -> Result<Session, Error> {
        Session::new(Arc::clone(&self.shared), wiki, None, Some(token))
    }

    /// A session acting with `credential`: a BotPassword logs in (2 requests, as
    /// [`ActionApiClient::login_session`]); a token sends nothing (as
    /// [`ActionApiClient::token_session`]).
    pub async fn open_session(
        &self,
        wiki: &WikiUrl,
        credential: Credential,
    ) -> Result<Session, Error> {
        match credential {
            Credential::BotPassword(password) => self.login_session(wiki, password).await,
            Credential::OwnerOnlyToken(token) => self.token_session(wiki, token),
        }
    }

    /// Logs in with a BotPassword in a fresh session: 2 requests (login token, login).
    pub async fn login_session(
        &self,
        wiki: &WikiUrl,
        credentials: BotPassword,
    ) -> Result<Session, Error> {
        let session = Session::new(Arc::clone(&self.shared), wiki, Some(credentials), None)?;
        session.log_in().await?;
        Ok(session)
    }
}

#[async_trait]
impl WikiApi for ActionApiClient {
    fn parse_wiki(&self, input: &str) -> Result<WikiUrl, Error> {
        ActionApiClient::parse_wiki(self, input)
    }

    fn parse_address(&self, input: &str) -> Result<WikiAddress, Error> {
        Ok(WikiAddress::parse(input, &self.shared.config.allow_list)?)
    }

    async fn resolve_wiki(&self, input: &str) -> Result<WikiIdentity, Error> {
        ActionApiClient::resolve_wiki(self, input).await
    }

    async fn login(
        &self,
        wiki: &WikiUrl,
        credentials: BotPassword,
    ) -> Result<Arc<dyn WikiSession>, Error> {
        Ok(Arc::new(self.login_session(wiki, credentials).await?))
    }

    fn anonymous(&self, wiki: &WikiUrl) -> Result<Arc<dyn WikiSession>, Error> {
        Ok(Arc::new(self.anonymous_session(wiki)?))
    }

    async fn open(
        &self,
        wiki: &WikiUrl,
        credential: Credential,
    ) -> Result<Arc<dyn WikiSession>, Error> {
        Ok(Arc::new(self.open_session(wiki, credential).await?))
    }

    fn request_count(&self) -> u64 {
        ActionApiClient::request_count(self)
    }
}

/// GET for reads, POST for writes and anything carrying a secret.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Method {
    Get,
    Post,
}

/// An error object from the API (`errors[0]`).
#[derive(Debug, Clone)]
pub(crate) struct ApiFailure {
    pub(crate) code: String,
    pub(crate) text: String,
    pub(crate) data: Option<Value>,
}

/// A request failure: either the API's own error (which callers map to typed errors) or
/// anything else, already typed.
#[derive(Debug)]
pub(crate) enum CallError {
    Api(ApiFailure),
    Other(Error),
}

impl From<Error> for CallError {
    fn from(error: Error) -> Self {
        Self::Other(error)
    }
}

#[derive(Debug, Default)]
struct SessionState {
    /// The logged-in user name; `Some` turns on `assert=user`.
    user: Option<String>,
    csrf: Option<SecretString>,
    user_info: Option<UserInfo>,
}

/// One session on one wiki: its own cookie jar (its own `reqwest::Client`), never shared with
/// another session or user. Anonymous, logged in with a BotPassword, or acting with an
/// owner-only OAuth 2.0 token sent as `Authorization: Bearer` on every request.
pub struct Session {
    shared: Arc<Shared>,
    wiki: WikiUrl,
    host: String,
    http: reqwest::Client,
    gate: Arc<Semaphore>,
    credentials: Option<BotPassword>,
    token: Option<OwnerOnlyToken>,
    state: Mutex<SessionState>,
    requests: AtomicU64,
}

impl std::fmt::Debug for Session {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Session")
            .field("wiki", &self.host)
            .field("credentials", &self.credentials)
            .field("token", &self.token)
            .field("user", &self.lock_state().user)
            .finish_non_exhaustive()
    }
}

impl Session {
    fn new(
        shared: Arc<Shared>,
        wiki: &WikiUrl,
        credentials: Option<BotPassword>,
        token: Option<OwnerOnlyToken>,
    ) -> Result<Self, Error> {
        // Re-check with this client's allow-list: the WikiUrl may come from elsewhere.
        shared.config.allow_list.check_url(wiki.api_url())?;
        let http = reqwest::Client::builder()
            .user_agent(shared.config.user_agent.as_str())
            .cookie_store(true)
            .gzip(true)
            .timeout(shared.config.request_timeout)
            .connect_timeout(shared.config.request_timeout)
            .redirect(reqwest::redirect::Policy::none())
            .build()
            .map_err(|err| Error::Network {
                wiki: wiki.host(),
                detail: format!("could not build the HTTP client: {}", err.without_url()),
            })?;
        let gate = shared.gate(wiki.as_str());
        Ok(Self {
            host: wiki.host(),
            wiki: wiki.clone(),
            shared,
            http,
            gate,
            credentials,
            token,
            state: Mutex::new(SessionState::default()),
            requests: AtomicU64::new(0),
        })
    }

    fn lock_state(&self) -> std::sync::MutexGuard<'_, SessionState> {
        self.state.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// The wiki.
    pub fn wiki(&self) -> &WikiUrl {
        &self.wiki
    }

    /// The wiki's host, for error messages.
    pub(crate) fn host(&self) -> &str {
        &self.host
    }

    /// Requests sent by this session.
    pub fn request_count(&self) -> u64 {
        self.requests.load(Ordering::Relaxed)
    }

    /// The logged-in user name, `None` when anonymous. A token session learns it from its
    /// first user-info or probe answer: `None` before.
    pub fn user_name(&self) -> Option<String> {
        self.lock_state().user.clone()
    }

    /// The kind of credential the session acts with, `None` when anonymous.
    pub fn credential_kind(&self) -> Option<CredentialKind> {
        if self.token.is_some() {
            Some(CredentialKind::OwnerOnlyToken)
        } else {
            self.credentials
                .as_ref()
                .map(|_| CredentialKind::BotPassword)
        }
    }

    /// The Bearer token requests carry, if any.
    pub(crate) fn bearer(&self) -> Option<&OwnerOnlyToken> {
        self.token.as_ref()
    }

    /// The cached user info (from [`Session::user_info`] or a probe).
    pub(crate) fn cached_user_info(&self) -> Option<UserInfo> {
        self.lock_state().user_info.clone()
    }

    /// Caches the user info; a token session learns its user name from it.
    pub(crate) fn cache_user_info(&self, info: UserInfo) {
        let mut state = self.lock_state();
        if self.token.is_some() && !info.anonymous {
            state.user = Some(info.name.clone());
        }
        state.user_info = Some(info);
    }

    pub(crate) fn cache_csrf(&self, token: SecretString) {
        self.lock_state().csrf = Some(token);
    }

    pub(crate) fn has_csrf(&self) -> bool {
        self.lock_state().csrf.is_some()
    }

    /// Whether requests assert a user: logged in with a BotPassword, or acting with a token.
    pub(crate) fn is_logged_in(&self) -> bool {
        self.token.is_some() || self.lock_state().user.is_some()
    }

    /// Maps an API failure that no operation handles specially.
    pub(crate) fn api_error(&self, failure: ApiFailure) -> Error {
        match failure.code.as_str() {
            "assertuserfailed" | "assertbotfailed" => Error::NotLoggedIn {
                wiki: self.host.clone(),
            },
            "badtoken" => Error::BadToken {
                wiki: self.host.clone(),
            },
            code if crate::error::is_token_rejection(code) => Error::TokenRejected {
                wiki: self.host.clone(),
                code: failure.code,
                text: failure.text,
            },
            _ => Error::Api {
                code: failure.code,
                text: failure.text,
            },
        }
    }

    pub(crate) fn to_error(&self, error: CallError) -> Error {
        match error {
            CallError::Api(failure) => self.api_error(failure),
            CallError::Other(error) => error,
        }
    }

    fn invalid(&self, detail: impl Into<String>) -> Error {
        Error::InvalidResponse {
            wiki: self.host.clone(),
            detail: detail.into(),
        }
    }
}

#[async_trait]
impl WikiSession for Session {
    fn wiki(&self) -> &WikiUrl {
        Session::wiki(self)
    }

    fn user_name(&self) -> Option<String> {
        Session::user_name(self)
    }

    fn credential_kind(&self) -> Option<CredentialKind> {
        Session::credential_kind(self)
    }

    fn request_count(&self) -> u64 {
        Session::request_count(self)
    }

    async fn user_info(&self) -> Result<UserInfo, Error> {
        Session::user_info(self).await
    }

    async fn lookup_revisions(&self, titles: &[&str]) -> Result<Vec<PageLookup>, Error> {
        Session::lookup_revisions(self, titles).await
    }

    async fn page_text(
        &self,
        title: &Title,
        revision: Option<u64>,
    ) -> Result<Option<PageText>, Error> {
        Session::page_text(self, title, revision).await
    }

    async fn probe(&self, title: &Title) -> Result<Probe, Error> {
        Session::probe(self, title).await
    }

    async fn edit(&self, request: &EditRequest) -> Result<EditOutcome, Error> {
        Session::edit(self, request).await
    }

    async fn append(&self, request: &EditRequest) -> Result<EditOutcome, Error> {
        Session::append(self, request).await
    }

    async fn post_talk_notice(&self, notice: &TalkNotice) -> Result<TalkNoticeOutcome, Error> {
        Session::post_talk_notice(self, notice).await
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::UserAgent;
    use crate::wiki::AllowList;

    #[test]
    fn gates_live_as_long_as_sessions_on_their_wiki_not_as_long_as_the_client() {
        let mut config = ClientConfig::new(UserAgent::from_contact("tests@example.org").unwrap());
        config.allow_list = AllowList::wikimedia()
            .with_extra_hosts("127.0.0.1:8080")
            .unwrap();
        let client = ActionApiClient::new(config).unwrap();
        let gates = || client.shared.gates.lock().unwrap().len();
        let wiki = |n: usize| {
            client
                .parse_wiki(&format!("http://127.0.0.1:8080/w{n}/api.php"))
                .unwrap()
        };
        // Two sessions on one wiki share its gate.
        let first = client.anonymous_session(&wiki(0)).unwrap();
        let second = client.anonymous_session(&wiki(0)).unwrap();
        assert!(Arc::ptr_eq(&first.gate, &second.gate));
        // Sessions on a hundred other wikis, each ended: the map keeps only live ones.
        for n in 1..=100 {
            drop(client.anonymous_session(&wiki(n)).unwrap());
        }
        assert!(gates() <= 2, "{} gates kept", gates());
        let third = client.anonymous_session(&wiki(0)).unwrap();
        assert!(Arc::ptr_eq(&first.gate, &third.gate), "a live gate is kept");
        drop((first, second, third));
        let _other = client.anonymous_session(&wiki(1)).unwrap();
        assert_eq!(gates(), 1);
    }
}

//! The reqwest implementation: [`ActionApiClient`] (shared config, per-wiki concurrency gates,
//! request counter) and [`Session`] (one cookie jar, one login), with the request loop that adds
//! the common parameters, retries what may be retried and recovers from expired tokens and
//! sessions.

use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::{Duration, SystemTime};

use async_trait::async_trait;
use reqwest::StatusCode;
use reqwest::header::{HeaderMap, RETRY_AFTER};
use secrecy::{ExposeSecret, SecretString};
use serde_json::Value;
use tokio::sync::Semaphore;

use crate::api::{
    BotPassword, EditOutcome, EditRequest, PageLookup, PageText, Probe, TalkNotice,
    TalkNoticeOutcome, UserInfo, WikiApi, WikiSession,
};
use crate::config::{ClientConfig, ConfigError};
use crate::error::{Error, LoginError, RetryCause};
use crate::title::Title;
use crate::wiki::WikiUrl;

/// State shared by every session a client opens.
#[derive(Debug)]
struct Shared {
    config: ClientConfig,
    /// One semaphore per wiki API URL: at most `max_in_flight` requests in flight to a wiki,
    /// whichever session sends them.
    gates: Mutex<HashMap<String, Arc<Semaphore>>>,
    requests: AtomicU64,
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
        Session::new(Arc::clone(&self.shared), wiki, None)
    }

    /// Logs in with a BotPassword in a fresh session: 2 requests (login token, login).
    pub async fn login_session(
        &self,
        wiki: &WikiUrl,
        credentials: BotPassword,
    ) -> Result<Session, Error> {
        let session = Session::new(Arc::clone(&self.shared), wiki, Some(credentials))?;
        session.log_in().await?;
        Ok(session)
    }
}

#[async_trait]
impl WikiApi for ActionApiClient {
    fn parse_wiki(&self, input: &str) -> Result<WikiUrl, Error> {
        ActionApiClient::parse_wiki(self, input)
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

/// What one HTTP attempt produced.
enum Attempt {
    Done(Value),
    Retry {
        cause: RetryCause,
        retry_after: Option<Duration>,
    },
}

#[derive(Debug, Default)]
struct SessionState {
    /// The logged-in user name; `Some` turns on `assert=user`.
    user: Option<String>,
    csrf: Option<SecretString>,
    user_info: Option<UserInfo>,
}

/// One session on one wiki: its own cookie jar (its own `reqwest::Client`), never shared with
/// another session or user.
pub struct Session {
    shared: Arc<Shared>,
    wiki: WikiUrl,
    host: String,
    http: reqwest::Client,
    gate: Arc<Semaphore>,
    credentials: Option<BotPassword>,
    state: Mutex<SessionState>,
    requests: AtomicU64,
}

impl std::fmt::Debug for Session {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Session")
            .field("wiki", &self.host)
            .field("credentials", &self.credentials)
            .field("user", &self.lock_state().user)
            .finish_non_exhaustive()
    }
}

impl Session {
    fn new(
        shared: Arc<Shared>,
        wiki: &WikiUrl,
        credentials: Option<BotPassword>,
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
        let gate = {
            let mut gates = shared.gates.lock().unwrap_or_else(PoisonError::into_inner);
            Arc::clone(
                gates
                    .entry(wiki.as_str().to_owned())
                    .or_insert_with(|| Arc::new(Semaphore::new(shared.config.max_in_flight))),
            )
        };
        Ok(Self {
            host: wiki.host(),
            wiki: wiki.clone(),
            shared,
            http,
            gate,
            credentials,
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

    /// The logged-in user name, `None` when anonymous.
    pub fn user_name(&self) -> Option<String> {
        self.lock_state().user.clone()
    }

    /// The cached user info (from [`Session::user_info`] or a probe).
    pub(crate) fn cached_user_info(&self) -> Option<UserInfo> {
        self.lock_state().user_info.clone()
    }

    pub(crate) fn cache_user_info(&self, info: UserInfo) {
        self.lock_state().user_info = Some(info);
    }

    pub(crate) fn cache_csrf(&self, token: SecretString) {
        self.lock_state().csrf = Some(token);
    }

    pub(crate) fn has_csrf(&self) -> bool {
        self.lock_state().csrf.is_some()
    }

    pub(crate) fn is_logged_in(&self) -> bool {
        self.lock_state().user.is_some()
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

    /// `action=query&meta=tokens&type=login`, then `action=login` with the password and token
    /// in the POST body. Clears cached tokens and rights.
    async fn log_in(&self) -> Result<(), Error> {
        let Some(credentials) = &self.credentials else {
            return Ok(());
        };
        let user = credentials.login_name().to_owned();
        let answer = self
            .call(
                Method::Get,
                &[
                    ("action", "query".into()),
                    ("meta", "tokens".into()),
                    ("type", "login".into()),
                ],
                &[],
                false,
            )
            .await
            .map_err(|e| self.to_error(e))?;
        let token = answer
            .pointer("/query/tokens/logintoken")
            .and_then(Value::as_str)
            .map(|t| SecretString::from(t.to_owned()))
            .ok_or_else(|| self.invalid("no login token in the answer"))?;
        let answer = self
            .call(
                Method::Post,
                &[("action", "login".into()), ("lgname", user.clone())],
                &[("lgpassword", credentials.password()), ("lgtoken", &token)],
                false,
            )
            .await
            .map_err(|e| self.to_error(e))?;
        let login = answer
            .get("login")
            .ok_or_else(|| self.invalid("no `login` object in the login answer"))?;
        let result = login
            .get("result")
            .and_then(Value::as_str)
            .unwrap_or_default();
        match result {
            "Success" => {
                let name = login
                    .get("lgusername")
                    .and_then(Value::as_str)
                    .unwrap_or_else(|| credentials.user_name())
                    .to_owned();
                tracing::info!(wiki = %self.host, user = %name, "logged in");
                let mut state = self.lock_state();
                state.user = Some(name);
                state.csrf = None;
                state.user_info = None;
                Ok(())
            }
            "Failed" => {
                let (code, text) = login_reason(login);
                tracing::warn!(wiki = %self.host, user = %user, reason = %code, "login failed");
                Err(match code.as_str() {
                    "wrongpassword" | "wrongpasswordempty" | "nosuchuser" => {
                        LoginError::WrongPassword { user }
                    }
                    "login-throttled" => LoginError::Throttled { user },
                    "botpasswords-needs-reset" => LoginError::NeedsReset { user },
                    "botpasswords-locked" => LoginError::Locked { user },
                    "sessionlost" => LoginError::SessionLost { user },
                    _ => LoginError::Failed { user, code, text },
                }
                .into())
            }
            "Throttled" => Err(LoginError::Throttled { user }.into()),
            "WrongToken" => Err(LoginError::WrongToken { user }.into()),
            "NeedToken" => Err(LoginError::NeedToken { user }.into()),
            "Aborted" => {
                let (_, text) = login_reason(login);
                Err(LoginError::Aborted { user, text }.into())
            }
            other => Err(LoginError::Unexpected {
                user,
                result: other.to_owned(),
            }
            .into()),
        }
    }

    /// The cached CSRF token, or a fresh one (1 request).
    async fn csrf_token(&self) -> Result<SecretString, Error> {
        if let Some(token) = self.lock_state().csrf.clone() {
            return Ok(token);
        }
        let answer = self
            .call(
                Method::Get,
                &[
                    ("action", "query".into()),
                    ("meta", "tokens".into()),
                    ("type", "csrf".into()),
                ],
                &[],
                true,
            )
            .await
            .map_err(|e| self.to_error(e))?;
        let token = answer
            .pointer("/query/tokens/csrftoken")
            .and_then(Value::as_str)
            .map(|t| SecretString::from(t.to_owned()))
            .ok_or_else(|| self.invalid("no CSRF token in the answer"))?;
        self.cache_csrf(token.clone());
        Ok(token)
    }

    /// A request with `assert=user` (when logged in) that logs in again once on
    /// `assertuserfailed` and, when `with_token`, adds the CSRF token and refetches it once on
    /// `badtoken`.
    pub(crate) async fn call_authed(
        &self,
        method: Method,
        params: &[(&'static str, String)],
        with_token: bool,
    ) -> Result<Value, CallError> {
        let mut token_refetched = false;
        let mut logged_in_again = false;
        loop {
            let token = if with_token {
                Some(self.csrf_token().await?)
            } else {
                None
            };
            let secrets: Vec<(&'static str, &SecretString)> =
                token.iter().map(|t| ("token", t)).collect();
            match self.call(method, params, &secrets, true).await {
                Err(CallError::Api(failure)) if failure.code == "badtoken" && with_token => {
                    if token_refetched {
                        return Err(Error::BadToken {
                            wiki: self.host.clone(),
                        }
                        .into());
                    }
                    tracing::info!(wiki = %self.host, "CSRF token rejected; fetching a new one");
                    self.lock_state().csrf = None;
                    token_refetched = true;
                }
                Err(CallError::Api(failure)) if failure.code == "assertuserfailed" => {
                    if logged_in_again || self.credentials.is_none() {
                        return Err(Error::NotLoggedIn {
                            wiki: self.host.clone(),
                        }
                        .into());
                    }
                    tracing::info!(wiki = %self.host, "session expired; logging in again");
                    self.log_in().await?;
                    logged_in_again = true;
                }
                other => return other,
            }
        }
    }

    /// One API call with the common parameters, retried on maxlag, readonly, ratelimited, HTTP
    /// 429 and 503 per the retry policy.
    pub(crate) async fn call(
        &self,
        method: Method,
        params: &[(&'static str, String)],
        secrets: &[(&'static str, &SecretString)],
        with_assert: bool,
    ) -> Result<Value, CallError> {
        let policy = &self.shared.config.retry;
        let mut waited = Duration::ZERO;
        let mut attempt: u32 = 1;
        loop {
            match self.send_once(method, params, secrets, with_assert).await? {
                Attempt::Done(answer) => return split_api_error(answer),
                Attempt::Retry { cause, retry_after } => {
                    if attempt >= policy.max_attempts {
                        tracing::warn!(wiki = %self.host, %cause, retries = attempt - 1, "giving up");
                        return Err(Error::RetriesExhausted {
                            wiki: self.host.clone(),
                            cause,
                            retries: attempt - 1,
                            waited,
                        }
                        .into());
                    }
                    let delay = policy.delay(attempt, retry_after);
                    tracing::warn!(
                        wiki = %self.host, %cause, attempt, delay_ms = delay.as_millis() as u64,
                        "retrying after backoff"
                    );
                    tokio::time::sleep(delay).await;
                    waited += delay;
                    attempt += 1;
                }
            }
        }
    }

    async fn send_once(
        &self,
        method: Method,
        params: &[(&'static str, String)],
        secrets: &[(&'static str, &SecretString)],
        with_assert: bool,
    ) -> Result<Attempt, Error> {
        let config = &self.shared.config;
        let mut pairs: Vec<(&str, &str)> = vec![
            ("format", "json"),
            ("formatversion", "2"),
            ("errorformat", "plaintext"),
        ];
        let maxlag = config.maxlag.map(|lag| lag.to_string());
        if let Some(maxlag) = &maxlag {
            pairs.push(("maxlag", maxlag));
        }
        if with_assert && self.is_logged_in() {
            pairs.push(("assert", "user"));
        }
        pairs.extend(params.iter().map(|(k, v)| (*k, v.as_str())));
        pairs.extend(secrets.iter().map(|(k, v)| (*k, v.expose_secret())));
        let action = params
            .iter()
            .find(|(k, _)| *k == "action")
            .map_or("", |(_, v)| v.as_str());

        let url = self.wiki.api_url().clone();
        let request = match method {
            Method::Get => self.http.get(url).query(&pairs),
            Method::Post => self.http.post(url).form(&pairs),
        };
        let permit = self.gate.acquire().await.map_err(|_| Error::Network {
            wiki: self.host.clone(),
            detail: "the client was shut down".to_owned(),
        })?;
        self.requests.fetch_add(1, Ordering::Relaxed);
        self.shared.requests.fetch_add(1, Ordering::Relaxed);
        tracing::debug!(wiki = %self.host, action, ?method, "sending API request");
        let response = request.send().await.map_err(|e| self.transport_error(&e))?;
        let status = response.status();
        let retry_after = parse_retry_after(response.headers(), SystemTime::now());
        let body = response
            .bytes()
            .await
            .map_err(|e| self.transport_error(&e))?;
        drop(permit);

        if status == StatusCode::TOO_MANY_REQUESTS {
            return Ok(Attempt::Retry {
                cause: RetryCause::TooManyRequests,
                retry_after,
            });
        }
        if status == StatusCode::SERVICE_UNAVAILABLE {
            return Ok(Attempt::Retry {
                cause: RetryCause::ServiceUnavailable,
                retry_after,
            });
        }
        if !status.is_success() {
            return Err(Error::Http {
                wiki: self.host.clone(),
                status: status.as_u16(),
            });
        }
        let answer: Value = serde_json::from_slice(&body).map_err(|err| {
            self.invalid(format!(
                "not valid JSON: {err}; {} bytes received",
                body.len()
            ))
        })?;
        if !answer.is_object() {
            return Err(self.invalid("the answer is not a JSON object"));
        }
        log_warnings(&self.host, &answer);
        let retry_cause = match first_error_code(&answer) {
            Some("maxlag") => Some(RetryCause::Maxlag),
            Some("readonly") => Some(RetryCause::ReadOnly),
            Some("ratelimited") => Some(RetryCause::RateLimited),
            _ => None,
        };
        Ok(match retry_cause {
            Some(cause) => Attempt::Retry { cause, retry_after },
            None => Attempt::Done(answer),
        })
    }

    fn transport_error(&self, err: &reqwest::Error) -> Error {
        if err.is_timeout() {
            Error::Timeout {
                wiki: self.host.clone(),
                timeout: self.shared.config.request_timeout,
            }
        } else {
            // Without the URL: GET URLs carry query parameters we do not want in messages.
            let detail = error_chain(err);
            Error::Network {
                wiki: self.host.clone(),
                detail,
            }
        }
    }
}

/// The error and its sources, without the URL.
fn error_chain(err: &reqwest::Error) -> String {
    use std::error::Error as _;
    let mut detail = if err.is_connect() {
        "connection failed".to_owned()
    } else if err.is_body() || err.is_decode() {
        "the answer was cut off".to_owned()
    } else {
        "request failed".to_owned()
    };
    let mut source = err.source();
    while let Some(inner) = source {
        detail.push_str(": ");
        detail.push_str(&inner.to_string());
        source = inner.source();
    }
    detail
}

fn login_reason(login: &Value) -> (String, String) {
    match login.get("reason") {
        Some(Value::Object(reason)) => (
            reason
                .get("code")
                .and_then(Value::as_str)
                .unwrap_or_default()
                .to_owned(),
            reason
                .get("text")
                .and_then(Value::as_str)
                .unwrap_or_default()
                .to_owned(),
        ),
        Some(Value::String(text)) => (String::new(), text.clone()),
        _ => (String::new(), String::new()),
    }
}

fn first_error_code(answer: &Value) -> Option<&str> {
    answer
        .pointer("/errors/0/code")
        .or_else(|| answer.pointer("/error/code"))
        .and_then(Value::as_str)
}

/// Turns an answer carrying `errors` (or the legacy `error`) into an [`ApiFailure`].
fn split_api_error(answer: Value) -> Result<Value, CallError> {
    let error = answer
        .pointer("/errors/0")
        .or_else(|| answer.get("error"))
        .cloned();
    match error {
        None => Ok(answer),
        Some(error) => Err(CallError::Api(ApiFailure {
            code: error
                .get("code")
                .and_then(Value::as_str)
                .unwrap_or("unknown")
                .to_owned(),
            text: error
                .get("text")
                .or_else(|| error.get("info"))
                .and_then(Value::as_str)
                .unwrap_or_default()
                .to_owned(),
            data: error.get("data").cloned(),
        })),
    }
}

fn log_warnings(host: &str, answer: &Value) {
    if let Some(warnings) = answer.get("warnings").and_then(Value::as_array) {
        for warning in warnings {
            let code = warning.get("code").and_then(Value::as_str).unwrap_or("?");
            tracing::debug!(wiki = %host, code, "API warning");
        }
    }
}

/// `Retry-After` as seconds or an HTTP date (relative to `now`).
pub(crate) fn parse_retry_after(headers: &HeaderMap, now: SystemTime) -> Option<Duration> {
    let value = headers.get(RETRY_AFTER)?.to_str().ok()?.trim();
    if let Ok(seconds) = value.parse::<u64>() {
        return Some(Duration::from_secs(seconds));
    }
    let date = httpdate::parse_http_date(value).ok()?;
    Some(date.duration_since(now).unwrap_or(Duration::ZERO))
}

#[async_trait]
impl WikiSession for Session {
    fn wiki(&self) -> &WikiUrl {
        Session::wiki(self)
    }

    fn user_name(&self) -> Option<String> {
        Session::user_name(self)
    }

    fn request_count(&self) -> u64 {
        Session::request_count(self)
    }

    async fn user_info(&self) -> Result<UserInfo, Error> {
        Session::user_info(self).await
    }

    async fn lookup_revisions(&self, titles: &[String]) -> Result<Vec<PageLookup>, Error> {
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

    async fn post_talk_notice(&self, notice: &TalkNotice) -> Result<TalkNoticeOutcome, Error> {
        Session::post_talk_notice(self, notice).await
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use reqwest::header::HeaderValue;

    #[test]
    fn retry_after_is_read_as_seconds_or_as_an_http_date() {
        let now = SystemTime::UNIX_EPOCH + Duration::from_secs(1_800_000_000);
        let mut headers = HeaderMap::new();
        headers.insert(RETRY_AFTER, HeaderValue::from_static("7"));
        assert_eq!(
            parse_retry_after(&headers, now),
            Some(Duration::from_secs(7))
        );
        let later = httpdate::fmt_http_date(now + Duration::from_secs(30));
        headers.insert(RETRY_AFTER, HeaderValue::from_str(&later).unwrap());
        assert_eq!(
            parse_retry_after(&headers, now),
            Some(Duration::from_secs(30))
        );
        let past = httpdate::fmt_http_date(now - Duration::from_secs(30));
        headers.insert(RETRY_AFTER, HeaderValue::from_str(&past).unwrap());
        assert_eq!(parse_retry_after(&headers, now), Some(Duration::ZERO));
        headers.insert(RETRY_AFTER, HeaderValue::from_static("soon"));
        assert_eq!(parse_retry_after(&headers, now), None);
    }
}

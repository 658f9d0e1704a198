//! The request loop under every operation: the common parameters (`format=json`,
//! `formatversion=2`, `errorformat=plaintext`, `maxlag`, `assert=user`), the per-wiki gate and
//! the request counters, retries with backoff on maxlag, readonly, ratelimited, HTTP 429 and
//! 503, and recovery from a rejected CSRF token or an expired session (once each).

use std::sync::atomic::Ordering;
use std::time::{Duration, SystemTime};

use reqwest::StatusCode;
use reqwest::header::{HeaderMap, RETRY_AFTER};
use secrecy::{ExposeSecret, SecretString};
use serde_json::Value;

use super::{ApiFailure, CallError, Method, Session};
use crate::error::{Error, RetryCause};

/// What one HTTP attempt produced.
enum Attempt {
    Done(Value),
    Retry {
        cause: RetryCause,
        retry_after: Option<Duration>,
    },
}

impl Session {
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
        let mut request = match method {
            Method::Get => self.http.get(url).query(&pairs),
            Method::Post => self.http.post(url).form(&pairs),
        };
        if let Some(token) = self.bearer() {
            // reqwest marks the header sensitive: it is never shown by its Debug output.
            request = request.bearer_auth(token.secret().expose_secret());
        }
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
        let body = crate::body::read_capped(response, config.max_response_bytes)
            .await
            .map_err(|e| match e {
                crate::body::BodyError::TooLarge => Error::TooLarge {
                    wiki: self.host.clone(),
                    limit: config.max_response_bytes,
                },
                crate::body::BodyError::Transport(e) => self.transport_error(&e),
            })?;
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

/// The code of the answer's first error, if any.
/// The code of the answer's first error, if any.
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

/// Logs the answer's warnings (deprecations and the like) at debug level.
/// Logs the answer's warnings (deprecations and the like) at debug level.
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

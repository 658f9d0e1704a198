//! The one place requests leave the crate: allow-listed hosts only, the configured User-Agent,
//! authorization headers, serial-per-host gates, rate-limit bookkeeping and blocking, bounded
//! backoff on 5xx / secondary limits / 429 (or, for clients where a person waits, failing fast),
//! the ETag cache (bounded, see `etag_cache`) and body size limits.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use reqwest::StatusCode;
use reqwest::header::{self, HeaderMap, HeaderValue};
use tokio::sync::Semaphore;
use url::Url;

use crate::config::{ForgeConfig, RateLimitWaits, RetryPolicy};
use crate::error::{ForgeError, LimitKind};
use crate::etag_cache::{EtagCache, EtagKey};
use crate::instance::ForgeKind;
use crate::instance::Token;
use crate::instance::host_key;
use crate::model::{RateLimitSnapshot, Usage};

/// Largest JSON answer read (GitHub caps recursive trees at 7 MB).
pub(crate) const MAX_JSON_BYTES: u64 = 32 * 1024 * 1024;

fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    // A panic elsewhere never leaves these maps inconsistent (single inserts), so keep going.
    m.lock().unwrap_or_else(PoisonError::into_inner)
}

/// One request as a client module describes it.
pub(crate) struct ApiRequest<'a> {
    pub forge: ForgeKind,
    pub url: Url,
    pub accept: &'static str,
    pub token: Option<&'a Token>,
    /// Send `If-None-Match` (caller's validator, else the cached one) and remember the answer.
    pub conditional: bool,
    /// A validator the caller already holds (takes precedence over the cache).
    pub validator: Option<String>,
    /// Body size limit.
    pub max_bytes: u64,
    /// What the call is, for error messages.
    pub what: &'static str,
    /// The endpoint is documented as not counting against the quota (GitHub `/rate_limit`).
    pub free: bool,
}

/// A response that is neither a rate limit, an auth refusal nor a server error.
pub(crate) struct Reply {
    pub status: StatusCode,
    pub headers: HeaderMap,
    pub body: Vec<u8>,
    /// On 304: the body cached with the validator that was sent, if it came from the cache.
    pub cached_body: Option<Vec<u8>>,
    /// The ETag of this answer (or the one revalidated by a 304).
    pub etag: Option<String>,
}

#[derive(Default)]
struct HostState {
    blocked: Option<(SystemTime, LimitKind)>,
    latest: Option<RateLimitSnapshot>,
}

struct HostGate {
    permits: Semaphore,
    state: Mutex<HostState>,
}

/// Shared HTTP machinery for both forges.
pub(crate) struct Transport {
    client: reqwest::Client,
    allowed: Arc<Vec<Url>>,
    gates: Mutex<HashMap<String, Arc<HostGate>>>,
    etags: Mutex<EtagCache>,
    retry: RetryPolicy,
    waits: RateLimitWaits,
    per_host: usize,
}

fn same_origin(a: &Url, b: &Url) -> bool {
    a.scheme() == b.scheme()
        && a.host_str() == b.host_str()
        && a.port_or_known_default() == b.port_or_known_default()
}

fn origin_allowed(allowed: &[Url], url: &Url) -> bool {
    allowed.iter().any(|a| same_origin(a, url))
}

impl Transport {
    pub(crate) fn new(config: &ForgeConfig) -> Result<Self, reqwest::Error> {
        let allowed: Arc<Vec<Url>> = Arc::new(
            std::iter::once(&config.github)
                .chain(config.gitlab.iter())
                .map(|i| i.api_base.clone())
                .collect(),
        );
        let redirect_allowed = Arc::clone(&allowed);
        let client = reqwest::Client::builder()
            .user_agent(config.user_agent.as_str())
            .timeout(config.request_timeout)
            .connect_timeout(config.connect_timeout)
            // A redirect is followed only within the origin first asked (and only to an allowed
            // one). reqwest drops `Authorization` on a cross-origin redirect but knows nothing of
            // GitLab's `PRIVATE-TOKEN`, which would otherwise go to whichever configured host a
            // forge redirects to. No forge redirects its API to another forge's.
            .redirect(reqwest::redirect::Policy::custom(move |attempt| {
                let same = attempt
                    .previous()
                    .first()
                    .is_some_and(|first| same_origin(first, attempt.url()));
                if attempt.previous().len() < 5
                    && same
                    && origin_allowed(&redirect_allowed, attempt.url())
                {
                    attempt.follow()
                } else {
                    attempt.stop()
                }
            }))
            .build()?;
        Ok(Self {
            client,
            allowed,
            gates: Mutex::new(HashMap::new()),
            etags: Mutex::new(EtagCache::default()),
            retry: config.retry.clone(),
            waits: config.rate_limit_waits,
            per_host: config.per_host_concurrency,
        })
    }

    fn gate(&self, host: &str) -> Arc<HostGate> {
        let mut gates = lock(&self.gates);
        Arc::clone(gates.entry(host.to_owned()).or_insert_with(|| {
            Arc::new(HostGate {
                permits: Semaphore::new(self.per_host),
                state: Mutex::new(HostState::default()),
            })
        }))
    }

    /// The latest rate-limit snapshot seen from `host` (`host[:port]`).
    pub(crate) fn latest_snapshot(&self, host: &str) -> Option<RateLimitSnapshot> {
        lock(&self.gate(host).state).latest.clone()
    }

    /// Sends one logical request, retrying within the policy; records every attempt in `usage`.
    pub(crate) async fn send(
        &self,
        req: ApiRequest<'_>,
        usage: &mut Usage,
    ) -> Result<Reply, ForgeError> {
        let host = host_key(&req.url);
        if !origin_allowed(&self.allowed, &req.url) {
            return Err(ForgeError::HostNotAllowed { host });
        }
        let gate = self.gate(&host);
        // Serial per host: the permit is held through retries and backoff, so nobody else
        // hammers a host that asked us to slow down.
        let _permit = gate
            .permits
            .acquire()
            .await
            .map_err(|_| ForgeError::NoClient(host.clone()))?;
        let credential = req
            .token
            .map_or_else(|| "anonymous".to_owned(), |t| t.fingerprint().to_owned());
        let cache_key = EtagKey {
            url: req.url.to_string(),
            accept: req.accept,
            credential,
        };
        let cached_etag = if req.conditional {
            lock(&self.etags).etag(&cache_key)
        } else {
            None
        };
        let validator = req.validator.clone().or_else(|| cached_etag.clone());

        let mut attempt: u32 = 0;
        loop {
            if let Some((until, kind)) = lock(&gate.state).blocked
                && until > SystemTime::now()
            {
                return Err(ForgeError::RateLimited {
                    host,
                    kind,
                    retry_at: until,
                });
            }
            let mut builder = self
                .client
                .get(req.url.clone())
                .header(header::ACCEPT, req.accept);
            if let Some(token) = req.token {
                builder = match req.forge {
                    ForgeKind::GitHub => builder.bearer_auth(token.expose()),
                    ForgeKind::GitLab => builder.header("PRIVATE-TOKEN", token.expose()),
                };
            }
            if req.conditional
                && let Some(v) = &validator
                && let Ok(value) = HeaderValue::from_str(v)
            {
                builder = builder.header(header::IF_NONE_MATCH, value);
            }
            let response = match builder.send().await {
                Ok(response) => response,
                // A reset or refused connection is often a blip: retry it like a 5xx. Timeouts
                // are not retried: a slow host should not hold the per-host queue for longer.
                Err(e) if !e.is_timeout() && attempt < self.retry.max_retries => {
                    let duration = backoff(self.retry.server_error_floor, attempt);
                    tracing::warn!(%host, error = %e.without_url(), ?duration, "network error; retrying");
                    tokio::time::sleep(duration).await;
                    attempt += 1;
                    continue;
                }
                Err(e) => return Err(transport_error(&host, e)),
            };
            usage.requests += 1;
            let status = response.status();
            tracing::debug!(%host, path = req.url.path(), status = status.as_u16(), "forge answered");
            let headers = response.headers().clone();
            let snapshot = parse_snapshot(req.forge, &host, status.as_u16(), &headers);
            let free = req.free
                || (status == StatusCode::NOT_MODIFIED
                    && req.forge == ForgeKind::GitHub
                    && req.token.is_some());
            if status == StatusCode::NOT_MODIFIED {
                usage.not_modified += 1;
            }
            if !free {
                usage.quota_spent += 1;
            }
            if let Some(s) = &snapshot {
                usage.snapshots.push(s.clone());
                let mut state = lock(&gate.state);
                state.latest = Some(s.clone());
                // Quota gone: the next request to this host would be refused anyway.
                if s.remaining == Some(0)
                    && let Some(reset) = s.reset_at
                {
                    state.blocked = Some((reset, LimitKind::Primary));
                }
            }
            let body = read_limited(response, req.max_bytes, &host, req.what).await?;

            if status == StatusCode::FORBIDDEN || status == StatusCode::TOO_MANY_REQUESTS {
                let Some(wait) = self.limit_wait(
                    req.forge,
                    status,
                    &headers,
                    snapshot.as_ref(),
                    &body,
                    attempt,
                ) else {
                    return Err(ForgeError::Unauthorized {
                        host,
                        status: status.as_u16(),
                    });
                };
                match wait {
                    Wait::UntilReset(reset) => {
                        lock(&gate.state).blocked = Some((reset, LimitKind::Primary));
                        return Err(ForgeError::RateLimited {
                            host,
                            kind: LimitKind::Primary,
                            retry_at: reset,
                        });
                    }
                    Wait::For(duration) => {
                        // Sleeping holds the host's slot: only where nobody waits for a page.
                        if self.waits == RateLimitWaits::WaitAndRetry
                            && attempt < self.retry.max_retries
                            && duration <= self.retry.max_wait
                        {
                            tracing::warn!(%host, ?duration, "secondary rate limit; backing off");
                            tokio::time::sleep(duration).await;
                            attempt += 1;
                            continue;
                        }
                        let until = saturating_at(SystemTime::now(), duration);
                        lock(&gate.state).blocked = Some((until, LimitKind::Secondary));
                        return Err(ForgeError::RateLimited {
                            host,
                            kind: LimitKind::Secondary,
                            retry_at: until,
                        });
                    }
                }
            }
            if status == StatusCode::UNAUTHORIZED {
                return Err(ForgeError::Unauthorized {
                    host,
                    status: status.as_u16(),
                });
            }
            if status.is_server_error() {
                if attempt < self.retry.max_retries {
                    let duration = backoff(self.retry.server_error_floor, attempt);
                    tracing::warn!(%host, status = status.as_u16(), ?duration, "server error; retrying");
                    tokio::time::sleep(duration).await;
                    attempt += 1;
                    continue;
                }
                return Err(ForgeError::Server {
                    host,
                    status: status.as_u16(),
                    attempts: attempt + 1,
                });
            }
            if status.is_redirection() && status != StatusCode::NOT_MODIFIED {
                let target = headers
                    .get(header::LOCATION)
                    .and_then(|v| v.to_str().ok())
                    .and_then(|l| req.url.join(l).ok())
                    .map_or_else(|| "an unknown host".to_owned(), |u| host_key(&u));
                return Err(ForgeError::HostNotAllowed { host: target });
            }

            let etag = headers
                .get(header::ETAG)
                .and_then(|v| v.to_str().ok())
                .map(str::to_owned);
            let mut cached_body = None;
            if req.conditional {
                let mut etags = lock(&self.etags);
                if status == StatusCode::NOT_MODIFIED {
                    if let Some(sent) = &validator {
                        cached_body = etags.body_for(&cache_key, sent);
                    }
                } else if status.is_success()
                    && let Some(e) = &etag
                {
                    etags.insert(cache_key, e.clone(), body.clone());
                }
            }
            let etag = if status == StatusCode::NOT_MODIFIED {
                etag.or(validator)
            } else {
                etag
            };
            return Ok(Reply {
                status,
                headers,
                body,
                cached_body,
                etag,
            });
        }
    }

    fn limit_wait(
        &self,
        forge: ForgeKind,
        status: StatusCode,
        headers: &HeaderMap,
        snapshot: Option<&RateLimitSnapshot>,
        body: &[u8],
        attempt: u32,
    ) -> Option<Wait> {
        let now = SystemTime::now();
        let exhausted = snapshot.is_some_and(|s| s.remaining == Some(0));
        let reset = snapshot.and_then(|s| s.reset_at);
        if let Some(after) = retry_after(headers, now) {
            // GitLab's 429 always carries Retry-After; treat exhausted quota as primary.
            if forge == ForgeKind::GitLab && exhausted && after > self.retry.max_wait {
                return Some(Wait::UntilReset(saturating_at(now, after)));
            }
            return Some(Wait::For(after));
        }
        if exhausted {
            return Some(Wait::UntilReset(
                reset.unwrap_or_else(|| saturating_at(now, Duration::from_secs(60))),
            ));
        }
        let text = String::from_utf8_lossy(body).to_ascii_lowercase();
        let secondary = status == StatusCode::TOO_MANY_REQUESTS
            || text.contains("secondary rate limit")
            || text.contains("abuse detection");
        secondary.then(|| Wait::For(backoff(self.retry.secondary_limit_floor, attempt)))
    }
}

enum Wait {
    UntilReset(SystemTime),
    For(Duration),
}

/// 9999-12-31T23:59:59Z in seconds since the epoch: the last instant an HTTP date can name (and
/// within every timestamp type the instant is later turned into).
const LATEST_SECS: u64 = 253_402_300_799;

/// `from + wait`, clamped to [`LATEST_SECS`]: a forge's `Retry-After` or rate-limit reset is
/// outside input, and a huge one must not overflow `SystemTime` (a panic) or a later formatter.
pub(crate) fn saturating_at(from: SystemTime, wait: Duration) -> SystemTime {
    let latest = UNIX_EPOCH + Duration::from_secs(LATEST_SECS);
    from.checked_add(wait).map_or(latest, |at| at.min(latest))
}

fn backoff(floor: Duration, attempt: u32) -> Duration {
    floor.saturating_mul(1u32 << attempt.min(10))
}

fn retry_after(headers: &HeaderMap, now: SystemTime) -> Option<Duration> {
    let value = headers.get(header::RETRY_AFTER)?.to_str().ok()?.trim();
    if let Ok(secs) = value.parse::<u64>() {
        return Some(Duration::from_secs(secs));
    }
    let at = httpdate::parse_http_date(value).ok()?;
    Some(at.duration_since(now).unwrap_or_default())
}

fn transport_error(host: &str, error: reqwest::Error) -> ForgeError {
    if error.is_timeout() {
        ForgeError::Timeout {
            host: host.to_owned(),
        }
    } else {
        ForgeError::Network {
            host: host.to_owned(),
            source: error.without_url(),
        }
    }
}

async fn read_limited(
    mut response: reqwest::Response,
    max_bytes: u64,
    host: &str,
    what: &'static str,
) -> Result<Vec<u8>, ForgeError> {
    let too_large = |size: u64| ForgeError::TooLarge {
        path: what.to_owned(),
        size,
        limit: max_bytes,
    };
    if let Some(len) = response.content_length()
        && len > max_bytes
    {
        return Err(too_large(len));
    }
    let mut body = Vec::new();
    while let Some(chunk) = response
        .chunk()
        .await
        .map_err(|e| transport_error(host, e))?
    {
        body.extend_from_slice(&chunk);
        if body.len() as u64 > max_bytes {
            return Err(too_large(body.len() as u64));
        }
    }
    Ok(body)
}

fn header_u64(headers: &HeaderMap, name: &str) -> Option<u64> {
    headers.get(name)?.to_str().ok()?.trim().parse().ok()
}

fn header_string(headers: &HeaderMap, name: &str) -> Option<String> {
    Some(headers.get(name)?.to_str().ok()?.trim().to_owned())
}

/// Reads GitHub's `x-ratelimit-*` or GitLab's `RateLimit-*` headers; `None` if there are none.
pub(crate) fn parse_snapshot(
    forge: ForgeKind,
    host: &str,
    status: u16,
    headers: &HeaderMap,
) -> Option<RateLimitSnapshot> {
    let (limit, remaining, used, reset, resource) = match forge {
        ForgeKind::GitHub => (
            header_u64(headers, "x-ratelimit-limit"),
            header_u64(headers, "x-ratelimit-remaining"),
            header_u64(headers, "x-ratelimit-used"),
            header_u64(headers, "x-ratelimit-reset"),
            header_string(headers, "x-ratelimit-resource"),
        ),
        ForgeKind::GitLab => (
            header_u64(headers, "ratelimit-limit"),
            header_u64(headers, "ratelimit-remaining"),
            header_u64(headers, "ratelimit-observed"),
            header_u64(headers, "ratelimit-reset"),
            header_string(headers, "ratelimit-name"),
        ),
    };
    if limit.is_none() && remaining.is_none() && reset.is_none() {
        return None;
    }
    Some(RateLimitSnapshot {
        forge,
        host: host.to_owned(),
        limit,
        remaining,
        used,
        reset_at: reset.map(|s| saturating_at(UNIX_EPOCH, Duration::from_secs(s))),
        resource,
        status,
        observed_at: SystemTime::now(),
    })
}

/// The URL of the `rel="next"` entry of an RFC 8288 `Link` header.
pub(crate) fn next_link(headers: &HeaderMap) -> Option<String> {
    headers
        .get_all(header::LINK)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(','))
        .find_map(|part| {
            let (target, params) = part.split_once(';')?;
            let is_next = params.split(';').any(|p| {
                matches!(
                    p.trim().replace(' ', "").as_str(),
                    "rel=\"next\"" | "rel=next"
                )
            });
            let target = target.trim().strip_prefix('<')?.strip_suffix('>')?;
            is_next.then(|| target.to_owned())
        })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn next_link_is_found_among_other_relations() {
        let mut headers = HeaderMap::new();
        headers.insert(
            header::LINK,
            HeaderValue::from_static(
                "<https://gitlab.example.org/api/v4/projects/1/repository/tree?page_token=abc&pagination=keyset>; rel=\"next\", <https://x/first>; rel=\"first\"",
            ),
        );
        assert_eq!(
            next_link(&headers).as_deref(),
            Some(
                "https://gitlab.example.org/api/v4/projects/1/repository/tree?page_token=abc&pagination=keyset"
            )
        );
        headers.insert(
            header::LINK,
            HeaderValue::from_static("<https://x/first>; rel=\"first\""),
        );
        assert_eq!(next_link(&headers), None);
    }

    #[test]
    fn retry_after_accepts_seconds_and_http_dates() {
        let now = SystemTime::now();
        let mut headers = HeaderMap::new();
        headers.insert(header::RETRY_AFTER, HeaderValue::from_static("42"));
        assert_eq!(retry_after(&headers, now), Some(Duration::from_secs(42)));
        let later = httpdate::fmt_http_date(now + Duration::from_secs(90));
        headers.insert(header::RETRY_AFTER, HeaderValue::from_str(&later).unwrap());
        let wait = retry_after(&headers, now).unwrap();
        assert!(
            wait > Duration::from_secs(85) && wait <= Duration::from_secs(90),
            "{wait:?}"
        );
    }

    #[test]
    fn huge_reset_and_retry_after_headers_saturate_instead_of_overflowing() {
        let latest = UNIX_EPOCH + Duration::from_secs(LATEST_SECS);
        let mut headers = HeaderMap::new();
        headers.insert("x-ratelimit-remaining", HeaderValue::from_static("0"));
        headers.insert(
            "x-ratelimit-reset",
            HeaderValue::from_str(&u64::MAX.to_string()).unwrap(),
        );
        let s = parse_snapshot(ForgeKind::GitHub, "api.github.com", 403, &headers).unwrap();
        assert_eq!(s.reset_at, Some(latest));
        // The clamped instant can still be written as an HTTP date (the error's message does).
        assert_eq!(
            httpdate::fmt_http_date(latest),
            "Fri, 31 Dec 9999 23:59:59 GMT"
        );
        assert_eq!(saturating_at(SystemTime::now(), Duration::MAX), latest);
        let now = SystemTime::now();
        assert_eq!(
            saturating_at(now, Duration::from_secs(60)),
            now + Duration::from_secs(60)
        );
    }

    #[test]
    fn snapshots_read_each_forges_header_names() {
        let mut headers = HeaderMap::new();
        headers.insert("x-ratelimit-limit", HeaderValue::from_static("5000"));
        headers.insert("x-ratelimit-remaining", HeaderValue::from_static("4999"));
        headers.insert("x-ratelimit-used", HeaderValue::from_static("1"));
        headers.insert("x-ratelimit-reset", HeaderValue::from_static("1700000000"));
        headers.insert("x-ratelimit-resource", HeaderValue::from_static("core"));
        let s = parse_snapshot(ForgeKind::GitHub, "api.github.com", 200, &headers).unwrap();
        assert_eq!(
            (s.limit, s.remaining, s.used),
            (Some(5000), Some(4999), Some(1))
        );
        assert_eq!(
            s.reset_at,
            Some(UNIX_EPOCH + Duration::from_secs(1_700_000_000))
        );
        assert_eq!(s.resource.as_deref(), Some("core"));
        assert!(parse_snapshot(ForgeKind::GitLab, "gitlab.com", 200, &headers).is_none());
        let mut headers = HeaderMap::new();
        headers.insert("RateLimit-Limit", HeaderValue::from_static("2000"));
        headers.insert("RateLimit-Remaining", HeaderValue::from_static("1990"));
        headers.insert("RateLimit-Observed", HeaderValue::from_static("10"));
        headers.insert(
            "RateLimit-Name",
            HeaderValue::from_static("throttle_authenticated_api"),
        );
        let s = parse_snapshot(ForgeKind::GitLab, "gitlab.com", 200, &headers).unwrap();
        assert_eq!(
            (s.limit, s.remaining, s.used),
            (Some(2000), Some(1990), Some(10))
        );
        assert_eq!(s.resource.as_deref(), Some("throttle_authenticated_api"));
    }
}

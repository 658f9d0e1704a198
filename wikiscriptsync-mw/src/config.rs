//! Client configuration: User-Agent, maxlag, timeouts, per-wiki concurrency and the retry policy.

use std::time::Duration;

use crate::wiki::AllowList;
pub use wikiscriptsync_useragent::{UserAgent, UserAgentError};

/// The most requests we ever allow in flight to one wiki (Wikimedia's published guidance).
pub const MAX_IN_FLIGHT_CAP: usize = 3;

/// The largest answer a wiki may send unless [`ClientConfig::max_response_bytes`] says
/// otherwise: a page holds at most 2 MiB, and its JSON-escaped text in an answer (or the
/// revisions of 50 pages) stays well below this.
pub const MAX_RESPONSE_BYTES: u64 = 16 * 1024 * 1024;

/// Why a configuration was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum ConfigError {
    /// The User-Agent was refused.
    #[error(transparent)]
    UserAgent(#[from] UserAgentError),
    /// `max_in_flight` was 0 or above [`MAX_IN_FLIGHT_CAP`].
    #[error(
        "max_in_flight must be between 1 and {MAX_IN_FLIGHT_CAP} (got {0}); Wikimedia asks for at most 3"
    )]
    BadConcurrency(usize),
    /// The retry policy allows no attempt at all.
    #[error("the retry policy needs at least one attempt")]
    NoAttempts,
}

/// How retryable failures (maxlag, readonly, ratelimited, HTTP 429 and 503) are retried.
#[derive(Debug, Clone, PartialEq)]
pub struct RetryPolicy {
    /// Total attempts including the first (so 1 means "never retry").
    pub max_attempts: u32,
    /// The shortest wait before a retry, even when the server says less (MediaWiki asks for 5 s
    /// after maxlag). Tests set it to a few milliseconds.
    pub floor: Duration,
    /// The longest single wait, even when the server asks for more.
    pub cap: Duration,
    /// Random extra wait added to each backoff, up to this fraction of it (0.0 – 1.0).
    pub jitter: f64,
}

impl Default for RetryPolicy {
    fn default() -> Self {
        Self {
            max_attempts: 5,
            floor: Duration::from_secs(5),
            cap: Duration::from_secs(120),
            jitter: 0.2,
        }
    }
}

impl RetryPolicy {
    /// A policy for tests: the same shape with millisecond waits.
    pub fn fast_for_tests() -> Self {
        Self {
            max_attempts: 4,
            floor: Duration::from_millis(5),
            cap: Duration::from_millis(50),
            jitter: 0.0,
        }
    }

    /// The wait before retry number `retry` (1-based): exponential backoff from the floor, or
    /// the server's Retry-After when that is longer; never above the cap; plus jitter.
    pub fn delay(&self, retry: u32, retry_after: Option<Duration>) -> Duration {
        let exponent = retry.saturating_sub(1).min(16);
        let backoff = self.floor.saturating_mul(1u32 << exponent);
        // The server's Retry-After is a minimum: repeated "retry after 0" still backs off.
        let base = retry_after
            .map_or(backoff, |asked| asked.max(backoff))
            .max(self.floor)
            .min(self.cap);
        let jitter = self.jitter.clamp(0.0, 1.0);
        if jitter > 0.0 {
            // try_from avoids the panic `mul_f64` has on overflow for absurd caps.
            let extra = Duration::try_from_secs_f64(base.as_secs_f64() * jitter * fastrand::f64())
                .unwrap_or(Duration::ZERO);
            base.saturating_add(extra).min(self.cap.max(self.floor))
        } else {
            base
        }
    }
}

/// Everything a [`crate::ActionApiClient`] needs to know.
#[derive(Debug, Clone)]
pub struct ClientConfig {
    /// The User-Agent sent with every request.
    pub user_agent: UserAgent,
    /// `maxlag` sent with every request (`Some(5)` for background work, `None` for interactive).
    pub maxlag: Option<u32>,
    /// Timeout for one HTTP request (connect + response).
    pub request_timeout: Duration,
    /// Requests in flight per wiki (1 by default, at most [`MAX_IN_FLIGHT_CAP`]).
    pub max_in_flight: usize,
    /// How retryable failures are retried.
    pub retry: RetryPolicy,
    /// Which hosts may be contacted.
    pub allow_list: AllowList,
    /// The largest answer read; a larger one is refused ([`crate::Error::TooLarge`]).
    pub max_response_bytes: u64,
}

impl ClientConfig {
    /// Defaults for background work: maxlag 5, 30 s timeout, one request in flight per wiki,
    /// Wikimedia hosts only.
    pub fn new(user_agent: UserAgent) -> Self {
        Self {
            user_agent,
            maxlag: Some(5),
            request_timeout: Duration::from_secs(30),
            max_in_flight: 1,
            retry: RetryPolicy::default(),
            allow_list: AllowList::wikimedia(),
            max_response_bytes: MAX_RESPONSE_BYTES,
        }
    }

    /// Interactive use (a person waits): no maxlag.
    #[must_use]
    pub fn interactive(mut self) -> Self {
        self.maxlag = None;
        self
    }

    /// Checks the fields a caller may have set out of range; [`crate::ActionApiClient::new`]
    /// calls it, so a bad configuration is refused before any request.
    ///
    /// # Errors
    ///
    /// [`ConfigError::BadConcurrency`] when `max_in_flight` is 0 or above
    /// [`MAX_IN_FLIGHT_CAP`]; [`ConfigError::NoAttempts`] when `retry.max_attempts` is 0.
    pub fn validate(&self) -> Result<(), ConfigError> {
        if self.max_in_flight == 0 || self.max_in_flight > MAX_IN_FLIGHT_CAP {
            return Err(ConfigError::BadConcurrency(self.max_in_flight));
        }
        if self.retry.max_attempts == 0 {
            return Err(ConfigError::NoAttempts);
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_user_agent_follows_the_wikimedia_policy_and_needs_a_contact() {
        let ua = UserAgent::from_contact("https://example.org/me; me@example.org").unwrap();
        assert_eq!(
            ua.as_str(),
            format!(
                "wikiscriptsync/{} (https://example.org/me; me@example.org) reqwest/0.13",
                env!("CARGO_PKG_VERSION")
            )
        );
        assert_eq!(
            UserAgent::from_contact("  "),
            Err(UserAgentError::EmptyContact)
        );
        assert_eq!(
            UserAgent::from_contact("a\nb"),
            Err(UserAgentError::BadContact)
        );
    }

    #[test]
    fn backoff_grows_from_the_floor_honours_retry_after_and_stops_at_the_cap() {
        let policy = RetryPolicy {
            max_attempts: 5,
            floor: Duration::from_secs(5),
            cap: Duration::from_secs(60),
            jitter: 0.0,
        };
        assert_eq!(policy.delay(1, None), Duration::from_secs(5));
        assert_eq!(policy.delay(2, None), Duration::from_secs(10));
        assert_eq!(policy.delay(3, None), Duration::from_secs(20));
        assert_eq!(policy.delay(9, None), Duration::from_secs(60));
        // Retry-After below the floor is raised to it, above the cap lowered to it.
        assert_eq!(
            policy.delay(1, Some(Duration::from_secs(1))),
            Duration::from_secs(5)
        );
        assert_eq!(
            policy.delay(1, Some(Duration::from_secs(7))),
            Duration::from_secs(7)
        );
        assert_eq!(
            policy.delay(1, Some(Duration::from_secs(900))),
            Duration::from_secs(60)
        );
        // A short Retry-After does not undercut the backoff of later retries.
        assert_eq!(
            policy.delay(3, Some(Duration::from_secs(5))),
            Duration::from_secs(20)
        );
    }

    #[test]
    fn jitter_adds_at_most_its_fraction() {
        let policy = RetryPolicy {
            jitter: 0.5,
            ..RetryPolicy::default()
        };
        for _ in 0..100 {
            let delay = policy.delay(1, None);
            assert!(delay >= Duration::from_secs(5) && delay <= Duration::from_millis(7500));
        }
    }

    #[test]
    fn huge_caps_do_not_overflow() {
        let policy = RetryPolicy {
            max_attempts: 100,
            floor: Duration::MAX,
            cap: Duration::MAX,
            jitter: 1.0,
        };
        assert_eq!(policy.delay(99, Some(Duration::MAX)), Duration::MAX);
    }

    #[test]
    fn concurrency_above_three_is_refused() {
        let mut config = ClientConfig::new(UserAgent::from_contact("me@example.org").unwrap());
        assert_eq!(config.validate(), Ok(()));
        config.max_in_flight = 4;
        assert_eq!(config.validate(), Err(ConfigError::BadConcurrency(4)));
        config.max_in_flight = 0;
        assert_eq!(config.validate(), Err(ConfigError::BadConcurrency(0)));
    }
}

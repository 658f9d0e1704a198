//! Configuration of the forge clients: which GitHub and GitLab instances exist, their tokens, the
//! User-Agent, timeouts and retry floors, assembled in code by [`ForgeConfigBuilder`] from what
//! a caller has (a GitHub Enterprise API URL, a GitLab instance's base or API URL, tokens). The
//! crate reads no environment; an application whose operators configure forges in settings
//! passes those values to the builder's options.

use std::time::Duration;

use url::Url;
pub use wikiscriptsync_useragent::{UserAgent, UserAgentError};

use crate::instance::Token;
use crate::instance::{ForgeInstance, ForgeKind, WebBase, host_key, is_loopback};
use crate::locator::{LocatorError, RepoLocator};

/// The GitHub API used unless [`ForgeConfigBuilder::github_api_url`] overrides it.
pub const GITHUB_API_URL: &str = "https://api.github.com";
/// GitLab instances known without configuration.
pub const DEFAULT_GITLAB_INSTANCES: [&str; 2] =
    ["https://gitlab.wikimedia.org", "https://gitlab.com"];
/// MediaWiki pages hold at most 2 MiB, so no larger file can be published.
pub const MAX_FILE_BYTES: u64 = 2 * 1024 * 1024;

/// Why the forge configuration was refused. Messages name the setting and how to fix it, never a
/// token value.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum ConfigError {
    /// A base URL is unusable.
    #[error("{setting}: {value:?} is not usable as a base URL: {reason}")]
    BadBaseUrl {
        /// The setting it came from.
        setting: &'static str,
        /// The URL as given (base URLs carry no secrets; userinfo is refused before echoing).
        value: String,
        /// What is wrong and what to do.
        reason: String,
    },
    /// A token was configured for a host that is no GitLab instance.
    #[error(
        "a GitLab token (`gitlab_token`, or the application's setting, in WikiScriptSync \
         WIKISCRIPTSYNC_GITLAB_TOKENS) names {host:?}, which is not a configured GitLab \
         instance; add the instance with `gitlab_instance` (or the application's setting, in \
         WikiScriptSync WIKISCRIPTSYNC_GITLAB_INSTANCES)"
    )]
    TokenForUnknownHost {
        /// The host named.
        host: String,
    },
    /// The HTTP client could not be built (TLS backend unavailable).
    #[error("could not build the HTTP client: {0}")]
    HttpClient(String),
}

/// Bounds on waiting and retrying. Floors are configurable so tests run in milliseconds.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RetryPolicy {
    /// Retries after a 5xx, a secondary limit or a 429 (0 = never retry).
    pub max_retries: u32,
    /// First wait after a 5xx; doubles on each retry.
    pub server_error_floor: Duration,
    /// First wait after a secondary limit without `Retry-After` (GitHub asks for at least a
    /// minute); doubles on each retry.
    pub secondary_limit_floor: Duration,
    /// Longest single wait. A longer `Retry-After` or reset is returned as
    /// [`crate::ForgeError::RateLimited`] instead of sleeping.
    pub max_wait: Duration,
}

impl Default for RetryPolicy {
    fn default() -> Self {
        Self {
            max_retries: 2,
            server_error_floor: Duration::from_secs(1),
            secondary_limit_floor: Duration::from_secs(60),
            max_wait: Duration::from_secs(120),
        }
    }
}

/// What a client does when a forge asks it to wait a while (a secondary rate limit with a
/// `Retry-After` within [`RetryPolicy::max_wait`]). Waiting holds the host's request slot, so
/// every other request to that host waits too: right for the scheduled jobs, wrong where a
/// person waits for a page.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum RateLimitWaits {
    /// Sleep out the wait (up to [`RetryPolicy::max_wait`]) and retry: the jobs.
    #[default]
    WaitAndRetry,
    /// Return [`crate::ForgeError::RateLimited`] at once, saying when to retry; the host is
    /// not asked again before then (the web app).
    FailFast,
}

/// Everything the forge clients need. Build with [`ForgeConfig::builder`].
#[derive(Debug, Clone)]
pub struct ForgeConfig {
    pub(crate) user_agent: UserAgent,
    pub(crate) github: ForgeInstance,
    /// Extra web bases that are GitHub too (github.com when the API is overridden: Enterprise
    /// or a fake).
    pub(crate) github_web_aliases: Vec<Url>,
    pub(crate) gitlab: Vec<ForgeInstance>,
    pub(crate) request_timeout: Duration,
    pub(crate) connect_timeout: Duration,
    pub(crate) retry: RetryPolicy,
    pub(crate) rate_limit_waits: RateLimitWaits,
    pub(crate) max_file_bytes: u64,
    pub(crate) per_host_concurrency: usize,
    pub(crate) max_tree_requests: u32,
}

impl ForgeConfig {
    /// Starts a configuration for the tool named by `user_agent` (your product, version and
    /// contact: [`UserAgent::new`]); every other setting has a production default.
    pub fn builder(user_agent: UserAgent) -> ForgeConfigBuilder {
        ForgeConfigBuilder {
            user_agent,
            github_api: None,
            github_token: None,
            gitlab: Vec::new(),
            gitlab_tokens: Vec::new(),
            request_timeout: Duration::from_secs(20),
            connect_timeout: Duration::from_secs(10),
            retry: RetryPolicy::default(),
            rate_limit_waits: RateLimitWaits::default(),
            max_file_bytes: MAX_FILE_BYTES,
            per_host_concurrency: 1,
            max_tree_requests: 200,
        }
    }

    /// The User-Agent sent with every request.
    pub fn user_agent(&self) -> &UserAgent {
        &self.user_agent
    }

    /// The GitHub instance (github.com, Enterprise or a fake).
    pub fn github(&self) -> &ForgeInstance {
        &self.github
    }

    /// The GitLab instances, defaults first.
    pub fn gitlab_instances(&self) -> &[ForgeInstance] {
        &self.gitlab
    }

    /// The retry policy.
    pub fn retry(&self) -> &RetryPolicy {
        &self.retry
    }

    /// Whether the clients sleep out a rate limit's wait or fail fast.
    pub fn rate_limit_waits(&self) -> RateLimitWaits {
        self.rate_limit_waits
    }

    /// Largest file [`crate::Forge::file_content`] will return.
    pub fn max_file_bytes(&self) -> u64 {
        self.max_file_bytes
    }

    /// Parses a repository URL against the configured instances; see [`crate::locator`].
    pub fn parse_repo_url(&self, input: &str) -> Result<RepoLocator, LocatorError> {
        crate::locator::parse(&self.web_bases(), input)
    }

    /// The repository at `full_name` (`namespace/name`) on the configured instance of `kind`
    /// whose web host is `web_host` (`host`, or `host:port` off the default port; see
    /// [`RepoLocator::web_host`]), built from these typed parts without parsing a URL. The
    /// path is validated as [`Self::parse_repo_url`] validates a URL's.
    ///
    /// # Errors
    /// [`LocatorError::UnknownHost`] when no instance of `kind` has that host,
    /// [`LocatorError::AmbiguousHost`] when a bare host names several,
    /// [`LocatorError::BadFullName`] or [`LocatorError::InvalidCharacters`] for a path the
    /// forge would not have.
    pub fn locate(
        &self,
        kind: ForgeKind,
        web_host: &str,
        full_name: &str,
    ) -> Result<RepoLocator, LocatorError> {
        crate::locator::locate(&self.web_bases(), kind, web_host, full_name)
    }

    /// Every web base repository URLs are accepted under: GitHub, its aliases, each GitLab.
    fn web_bases(&self) -> Vec<WebBase<'_>> {
        let mut all = vec![WebBase {
            instance: &self.github,
            web_base: &self.github.web_base,
        }];
        all.extend(self.github_web_aliases.iter().map(|alias| WebBase {
            instance: &self.github,
            web_base: alias,
        }));
        all.extend(self.gitlab.iter().map(|i| WebBase {
            instance: i,
            web_base: &i.web_base,
        }));
        all
    }
}

/// How [`ConfigError::BadBaseUrl`] names the GitHub API option.
const GITHUB_API_SETTING: &str = "the GitHub API URL (`github_api_url`, or the application's setting, in WikiScriptSync \
     WIKISCRIPTSYNC_GITHUB_API_URL)";
/// How [`ConfigError::BadBaseUrl`] names the GitLab instances option.
const GITLAB_INSTANCES_SETTING: &str = "a GitLab instance (`gitlab_instance`, or the application's setting, in WikiScriptSync \
     WIKISCRIPTSYNC_GITLAB_INSTANCES)";

/// Assembles a [`ForgeConfig`]; every setting has a production default.
#[derive(Debug)]
#[must_use]
pub struct ForgeConfigBuilder {
    user_agent: UserAgent,
    github_api: Option<String>,
    github_token: Option<Token>,
    gitlab: Vec<String>,
    gitlab_tokens: Vec<(String, Token)>,
    request_timeout: Duration,
    connect_timeout: Duration,
    retry: RetryPolicy,
    rate_limit_waits: RateLimitWaits,
    max_file_bytes: u64,
    per_host_concurrency: usize,
    max_tree_requests: u32,
}

impl ForgeConfigBuilder {
    /// Overrides the GitHub API base (Enterprise `https://host/api/v3`, or a loopback fake).
    pub fn github_api_url(mut self, url: &str) -> Self {
        self.github_api = Some(url.to_owned());
        self
    }

    /// Sets the GitHub token.
    pub fn github_token(mut self, token: Token) -> Self {
        self.github_token = Some(token);
        self
    }

    /// Adds a GitLab instance by its base URL (`https://gitlab.example.org`, or a GitLab under
    /// a path, `https://example.org/gitlab`) or its API URL (`https://gitlab.example.org/api/v4`).
    pub fn gitlab_instance(mut self, base_url: &str) -> Self {
        self.gitlab.push(base_url.to_owned());
        self
    }

    /// Sets the token for the GitLab instance at `host` (`host` or `host:port`).
    pub fn gitlab_token(mut self, host: &str, token: Token) -> Self {
        self.gitlab_tokens.push((host.to_ascii_lowercase(), token));
        self
    }

    /// Per-request timeout (default 20 s).
    pub fn request_timeout(mut self, timeout: Duration) -> Self {
        self.request_timeout = timeout;
        self
    }

    /// Connect timeout (default 10 s).
    pub fn connect_timeout(mut self, timeout: Duration) -> Self {
        self.connect_timeout = timeout;
        self
    }

    /// Retry bounds and backoff floors.
    pub fn retry(mut self, retry: RetryPolicy) -> Self {
        self.retry = retry;
        self
    }

    /// Sleep out rate-limit waits (the default, for jobs) or fail fast (where a person waits).
    pub fn rate_limit_waits(mut self, waits: RateLimitWaits) -> Self {
        self.rate_limit_waits = waits;
        self
    }

    /// Largest file content accepted (default 2 MiB).
    pub fn max_file_bytes(mut self, bytes: u64) -> Self {
        self.max_file_bytes = bytes;
        self
    }

    /// Requests in flight per host (default 1: serial, as GitHub asks).
    pub fn per_host_concurrency(mut self, n: usize) -> Self {
        self.per_host_concurrency = n.max(1);
        self
    }

    /// Most requests one tree walk may make when GitHub truncates a tree (default 200).
    pub fn max_tree_requests(mut self, n: u32) -> Self {
        self.max_tree_requests = n.max(1);
        self
    }

    /// Validates everything and returns the configuration.
    pub fn build(self) -> Result<ForgeConfig, ConfigError> {
        let github_api = validate_base(
            GITHUB_API_SETTING,
            self.github_api.as_deref().unwrap_or(GITHUB_API_URL),
        )?;
        let github_com =
            Url::parse("https://github.com/").map_err(|e| ConfigError::BadBaseUrl {
                setting: "github.com",
                value: "https://github.com/".into(),
                reason: e.to_string(),
            })?;
        let (github_web, github_web_aliases) = if github_api.host_str() == Some("api.github.com") {
            (github_com, Vec::new())
        } else {
            // Enterprise serves pages at the API's origin; a fake also stands in for github.com.
            let mut origin = github_api.clone();
            origin.set_path("/");
            (origin, vec![github_com])
        };
        let github = ForgeInstance {
            kind: ForgeKind::GitHub,
            web_base: github_web,
            api_base: github_api,
            token: self.github_token,
        };

        let mut gitlab: Vec<ForgeInstance> = Vec::new();
        for base in DEFAULT_GITLAB_INSTANCES
            .iter()
            .map(|s| (*s).to_owned())
            .chain(self.gitlab)
        {
            let web_base = gitlab_web_base(validate_base(GITLAB_INSTANCES_SETTING, &base)?);
            if gitlab.iter().any(|i| i.web_base == web_base) {
                continue;
            }
            let api_base = web_base
                .join("api/v4/")
                .map_err(|e| ConfigError::BadBaseUrl {
                    setting: GITLAB_INSTANCES_SETTING,
                    value: base.clone(),
                    reason: e.to_string(),
                })?;
            gitlab.push(ForgeInstance {
                kind: ForgeKind::GitLab,
                web_base,
                api_base,
                token: None,
            });
        }
        for (host, token) in self.gitlab_tokens {
            let instance = gitlab
                .iter_mut()
                .find(|i| host_key(&i.web_base) == host || i.web_base.host_str() == Some(&host))
                .ok_or(ConfigError::TokenForUnknownHost { host })?;
            instance.token = Some(token);
        }

        Ok(ForgeConfig {
            user_agent: self.user_agent,
            github,
            github_web_aliases,
            gitlab,
            request_timeout: self.request_timeout,
            connect_timeout: self.connect_timeout,
            retry: self.retry,
            rate_limit_waits: self.rate_limit_waits,
            max_file_bytes: self.max_file_bytes,
            per_host_concurrency: self.per_host_concurrency,
            max_tree_requests: self.max_tree_requests,
        })
    }
}

/// A GitLab instance's web base from what its user has at hand: the base URL itself or its
/// REST API URL (`…/api/v4`), which is cut back to the base.
fn gitlab_web_base(mut url: Url) -> Url {
    if let Some(base) = url.path().strip_suffix("api/v4/").map(str::to_owned) {
        url.set_path(&base);
    }
    url
}

fn validate_base(setting: &'static str, raw: &str) -> Result<Url, ConfigError> {
    let refuse = |reason: &str| ConfigError::BadBaseUrl {
        setting,
        value: raw.to_owned(),
        reason: reason.to_owned(),
    };
    let mut url = Url::parse(raw)
        .map_err(|e| refuse(&format!("{e}; write e.g. https://gitlab.example.org")))?;
    if !url.username().is_empty() || url.password().is_some() {
        // Never echo credentials embedded in a URL.
        return Err(ConfigError::BadBaseUrl {
            setting,
            value: "(withheld: it contains credentials)".into(),
            reason: "credentials do not belong in the URL; configure a token instead".into(),
        });
    }
    match url.scheme() {
        "https" => {}
        "http" if is_loopback(&url) => {}
        "http" => {
            return Err(refuse(
                "plain http is allowed only for loopback addresses; use https",
            ));
        }
        _ => return Err(refuse("use an https:// URL")),
    }
    if url.host_str().is_none_or(str::is_empty) {
        return Err(refuse("it has no host"));
    }
    if url.query().is_some() || url.fragment().is_some() {
        return Err(refuse("remove the query string and fragment"));
    }
    if !url.path().ends_with('/') {
        let path = format!("{}/", url.path());
        url.set_path(&path);
    }
    Ok(url)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ua() -> UserAgent {
        UserAgent::from_contact("ops@example.org").unwrap()
    }

    #[test]
    fn the_builder_takes_instances_tokens_and_timeout_as_values() {
        let config = ForgeConfig::builder(ua())
            .github_api_url("http://127.0.0.1:9000")
            .github_token(Token::from("ghp_secret"))
            .gitlab_instance("https://git.example.org/")
            .gitlab_instance("http://localhost:8929")
            .gitlab_token("git.example.org", Token::from("glpat-1"))
            .gitlab_token("localhost:8929", Token::from("glpat-2"))
            .request_timeout(Duration::from_secs(7))
            .build()
            .unwrap();
        assert_eq!(config.github.api_base.as_str(), "http://127.0.0.1:9000/");
        assert!(config.github.token.is_some());
        let bases: Vec<&str> = config.gitlab.iter().map(|i| i.web_base.as_str()).collect();
        assert_eq!(
            bases,
            [
                "https://gitlab.wikimedia.org/",
                "https://gitlab.com/",
                "https://git.example.org/",
                "http://localhost:8929/"
            ]
        );
        assert_eq!(
            config.gitlab[3].api_base.as_str(),
            "http://localhost:8929/api/v4/"
        );
        assert!(config.gitlab[2].token.is_some() && config.gitlab[3].token.is_some());
        assert!(config.gitlab[0].token.is_none());
        assert_eq!(config.request_timeout, Duration::from_secs(7));
    }

    #[test]
    fn a_gitlab_instance_may_be_given_by_its_api_url() {
        let config = ForgeConfig::builder(ua())
            .gitlab_instance("https://git.example.org/api/v4")
            .gitlab_instance("https://example.org/gitlab/api/v4/")
            .build()
            .unwrap();
        let web: Vec<&str> = config.gitlab.iter().map(|i| i.web_base.as_str()).collect();
        let api: Vec<&str> = config.gitlab.iter().map(|i| i.api_base.as_str()).collect();
        assert_eq!(
            web[2..],
            ["https://git.example.org/", "https://example.org/gitlab/"]
        );
        assert_eq!(
            api[2..],
            [
                "https://git.example.org/api/v4/",
                "https://example.org/gitlab/api/v4/"
            ]
        );
    }

    #[test]
    fn plain_http_is_refused_for_non_loopback_instances_naming_the_option() {
        let err = ForgeConfig::builder(ua())
            .gitlab_instance("http://git.example.org")
            .build()
            .unwrap_err();
        let message = err.to_string();
        assert!(message.contains("only for loopback"), "{message}");
        assert!(
            message.contains(
                "`gitlab_instance`, or the application's setting, in WikiScriptSync \
                 WIKISCRIPTSYNC_GITLAB_INSTANCES"
            ),
            "{message}"
        );
    }

    #[test]
    fn a_token_for_an_unknown_instance_names_the_code_options_before_the_variables() {
        let message = ConfigError::TokenForUnknownHost {
            host: "git.example.org".to_owned(),
        }
        .to_string();
        assert!(
            message.contains("(`gitlab_token`, or the application's setting")
                && message.contains("with `gitlab_instance` (or the application's setting")
                && !message.contains("operators:"),
            "{message}"
        );
        let message = LocatorError::UnknownHost {
            host: "git.example.org".to_owned(),
            known: "github.com".to_owned(),
        }
        .to_string();
        assert!(
            message.contains("`ForgeConfigBuilder::gitlab_instance`, or the application's setting"),
            "{message}"
        );
    }

    #[test]
    fn a_token_for_an_unknown_instance_names_both_options() {
        let err = ForgeConfig::builder(ua())
            .gitlab_token("git.example.org", Token::from("glpat-leaky-value"))
            .build()
            .unwrap_err();
        assert_eq!(
            err,
            ConfigError::TokenForUnknownHost {
                host: "git.example.org".into()
            }
        );
        let message = err.to_string();
        assert!(!message.contains("leaky"), "{message}");
        assert!(
            message.contains("`gitlab_token`") && message.contains("`gitlab_instance`"),
            "{message}"
        );
    }

    #[test]
    fn credentials_in_a_base_url_are_refused_without_echoing_them() {
        let err = ForgeConfig::builder(ua())
            .github_api_url("https://user:pw-secret@ghe.example.org/api/v3")
            .build()
            .unwrap_err();
        let message = err.to_string();
        assert!(!message.contains("pw-secret"), "{message}");
        assert!(message.contains("`github_api_url`"), "{message}");
    }

    #[test]
    fn tokens_never_appear_in_debug_output() {
        let config = ForgeConfig::builder(ua())
            .github_token(Token::from("ghp_supersecret"))
            .gitlab_token("gitlab.com", Token::from("glpat-supersecret"))
            .build()
            .unwrap();
        let debug = format!("{config:?}");
        assert!(!debug.contains("supersecret"), "{debug}");
        assert!(debug.contains("REDACTED"));
    }
}

//! Configuration of the forge clients: which GitHub and GitLab instances exist, their tokens, the
//! User-Agent, timeouts and retry floors. Read from the environment ([`ForgeConfig::from_env`]) or
//! assembled by [`ForgeConfigBuilder`] in tests.
//!
//! | Variable | Meaning |
//! |---|---|
//! | `WIKISCRIPTSYNC_CONTACT` | **required**: contact URL or e-mail put in the User-Agent |
//! | `WIKISCRIPTSYNC_GITHUB_API_URL` | GitHub API base (default `https://api.github.com`; GitHub Enterprise `https://host/api/v3`; plain http only on loopback) |
//! | `WIKISCRIPTSYNC_GITHUB_TOKEN` | optional GitHub token (read-only public access is enough) |
//! | `WIKISCRIPTSYNC_GITLAB_INSTANCES` | extra GitLab instances, comma-separated base URLs (gitlab.com and gitlab.wikimedia.org are always known; plain http only on loopback) |
//! | `WIKISCRIPTSYNC_GITLAB_TOKENS` | optional GitLab tokens, `host=token,host:port=token` (a `read_api` token) |
//! | `WIKISCRIPTSYNC_FORGE_TIMEOUT_SECS` | per-request timeout in seconds (default 20) |

use std::fmt;
use std::net::IpAddr;
use std::time::Duration;

use secrecy::{ExposeSecret, SecretString};
use sha2::{Digest, Sha256};
use url::Url;

use crate::locator::ForgeKind;

/// The GitHub API used when `WIKISCRIPTSYNC_GITHUB_API_URL` is not set.
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
    /// A required variable is missing.
    #[error("{name} is not set: {hint}")]
    Missing {
        /// The variable.
        name: &'static str,
        /// What to put there.
        hint: &'static str,
    },
    /// The User-Agent contact is empty.
    #[error(
        "the User-Agent contact is empty: Wikimedia and GitHub ask for a way to reach the operator; \
         set WIKISCRIPTSYNC_CONTACT to a URL or e-mail address"
    )]
    EmptyContact,
    /// The contact cannot go into an HTTP header as one comment.
    #[error(
        "the User-Agent contact contains control characters or parentheses: give a plain URL or e-mail address"
    )]
    BadContact,
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
    /// An entry of `WIKISCRIPTSYNC_GITLAB_TOKENS` is malformed (the value is never echoed).
    #[error(
        "WIKISCRIPTSYNC_GITLAB_TOKENS entry {index} is malformed: write host=token pairs separated by commas"
    )]
    BadTokenEntry {
        /// 1-based position of the entry.
        index: usize,
    },
    /// A token was configured for a host that is no GitLab instance.
    #[error(
        "WIKISCRIPTSYNC_GITLAB_TOKENS names {host:?}, which is not a configured GitLab instance; add it to WIKISCRIPTSYNC_GITLAB_INSTANCES"
    )]
    TokenForUnknownHost {
        /// The host named.
        host: String,
    },
    /// The HTTP client could not be built (TLS backend unavailable).
    #[error("could not build the HTTP client: {0}")]
    HttpClient(String),
    /// A number could not be read.
    #[error("{name} must be a whole number of seconds, got {value:?}")]
    BadNumber {
        /// The variable.
        name: &'static str,
        /// What it held.
        value: String,
    },
}

/// Builds the User-Agent Wikimedia's policy asks for:
/// `wikiscriptsync/<version> (<contact>) reqwest/0.13`.
pub fn user_agent(contact: &str) -> Result<String, ConfigError> {
    let contact = contact.trim();
    if contact.is_empty() {
        return Err(ConfigError::EmptyContact);
    }
    if contact
        .chars()
        .any(|c| c.is_control() || c == '(' || c == ')')
    {
        return Err(ConfigError::BadContact);
    }
    Ok(format!(
        "wikiscriptsync/{} ({contact}) reqwest/0.13",
        env!("CARGO_PKG_VERSION")
    ))
}

/// An API token. Its `Debug` never shows the value; the fingerprint keys the ETag cache (ETags
/// vary by credential) without keeping the token around in another form.
#[derive(Clone)]
pub struct Token {
    secret: SecretString,
    fingerprint: String,
}

impl Token {
    /// Wraps a token.
    pub fn new(secret: SecretString) -> Self {
        let digest = Sha256::digest(secret.expose_secret().as_bytes());
        Self {
            fingerprint: hex::encode(&digest[..8]),
            secret,
        }
    }

    pub(crate) fn expose(&self) -> &str {
        self.secret.expose_secret()
    }

    pub(crate) fn fingerprint(&self) -> &str {
        &self.fingerprint
    }
}

impl fmt::Debug for Token {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Token([REDACTED])")
    }
}

impl From<&str> for Token {
    fn from(value: &str) -> Self {
        Self::new(SecretString::from(value.to_owned()))
    }
}

/// One forge instance: where its repository pages live and where its API answers.
#[derive(Debug, Clone)]
pub struct ForgeInstance {
    /// GitHub or GitLab.
    pub kind: ForgeKind,
    /// Web base of repository URLs (`https://github.com/`, `https://gitlab.wikimedia.org/`), with a
    /// trailing slash.
    pub web_base: Url,
    /// API base with a trailing slash (`https://api.github.com/`, `https://host/api/v4/`).
    pub api_base: Url,
    /// Optional token sent as `Authorization` (GitHub `Bearer`, GitLab `PRIVATE-TOKEN`).
    pub token: Option<Token>,
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

/// Everything the forge clients need. Build with [`ForgeConfig::from_env`] or
/// [`ForgeConfig::builder`].
#[derive(Debug, Clone)]
pub struct ForgeConfig {
    pub(crate) user_agent: String,
    pub(crate) github: ForgeInstance,
    /// Extra web bases that are GitHub too (github.com when the API is overridden for tests).
    pub(crate) github_web_aliases: Vec<Url>,
    pub(crate) gitlab: Vec<ForgeInstance>,
    pub(crate) request_timeout: Duration,
    pub(crate) connect_timeout: Duration,
    pub(crate) retry: RetryPolicy,
    pub(crate) max_file_bytes: u64,
    pub(crate) per_host_concurrency: usize,
    pub(crate) max_tree_requests: u32,
}

impl ForgeConfig {
    /// Starts a configuration with the given User-Agent (see [`user_agent`]).
    pub fn builder(user_agent: impl Into<String>) -> ForgeConfigBuilder {
        ForgeConfigBuilder {
            user_agent: user_agent.into(),
            github_api: None,
            github_token: None,
            gitlab: Vec::new(),
            gitlab_tokens: Vec::new(),
            request_timeout: Duration::from_secs(20),
            connect_timeout: Duration::from_secs(10),
            retry: RetryPolicy::default(),
            max_file_bytes: MAX_FILE_BYTES,
            per_host_concurrency: 1,
            max_tree_requests: 200,
        }
    }

    /// Reads the configuration from the process environment (variables in the module docs).
    pub fn from_env() -> Result<Self, ConfigError> {
        Self::from_vars(|name| std::env::var(name).ok())
    }

    /// Reads the configuration through `lookup` (the environment, or a map in tests).
    pub fn from_vars(lookup: impl Fn(&str) -> Option<String>) -> Result<Self, ConfigError> {
        let non_empty = |name: &str| lookup(name).filter(|v| !v.trim().is_empty());
        let contact = non_empty("WIKISCRIPTSYNC_CONTACT").ok_or(ConfigError::Missing {
            name: "WIKISCRIPTSYNC_CONTACT",
            hint: "a URL or e-mail address where the operator can be reached (goes into the User-Agent)",
        })?;
        let mut builder = Self::builder(user_agent(&contact)?);
        if let Some(api) = non_empty("WIKISCRIPTSYNC_GITHUB_API_URL") {
            builder = builder.github_api_url(api.trim());
        }
        if let Some(token) = non_empty("WIKISCRIPTSYNC_GITHUB_TOKEN") {
            builder = builder.github_token(Token::new(SecretString::from(token.trim().to_owned())));
        }
        if let Some(list) = non_empty("WIKISCRIPTSYNC_GITLAB_INSTANCES") {
            for base in list.split(',').map(str::trim).filter(|s| !s.is_empty()) {
                builder = builder.gitlab_instance(base);
            }
        }
        if let Some(list) = non_empty("WIKISCRIPTSYNC_GITLAB_TOKENS") {
            for (i, entry) in list
                .split(',')
                .map(str::trim)
                .filter(|s| !s.is_empty())
                .enumerate()
            {
                let (host, token) = entry
                    .split_once('=')
                    .filter(|(h, t)| !h.trim().is_empty() && !t.trim().is_empty())
                    .ok_or(ConfigError::BadTokenEntry { index: i + 1 })?;
                builder = builder.gitlab_token(
                    host.trim(),
                    Token::new(SecretString::from(token.trim().to_owned())),
                );
            }
        }
        if let Some(secs) = non_empty("WIKISCRIPTSYNC_FORGE_TIMEOUT_SECS") {
            let parsed = secs
                .trim()
                .parse::<u64>()
                .ok()
                .filter(|s| *s > 0)
                .ok_or_else(|| ConfigError::BadNumber {
                    name: "WIKISCRIPTSYNC_FORGE_TIMEOUT_SECS",
                    value: secs.clone(),
                })?;
            builder = builder.request_timeout(Duration::from_secs(parsed));
        }
        builder.build()
    }

    /// The User-Agent sent with every request.
    pub fn user_agent(&self) -> &str {
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

    /// Largest file [`crate::Forge::file_content`] will return.
    pub fn max_file_bytes(&self) -> u64 {
        self.max_file_bytes
    }

    /// Parses a repository URL against the configured instances; see [`crate::locator`].
    pub fn parse_repo_url(&self, input: &str) -> Result<crate::RepoLocator, crate::LocatorError> {
        crate::locator::parse(self, input)
    }
}

/// Assembles a [`ForgeConfig`]; every setting has a production default.
#[derive(Debug)]
#[must_use]
pub struct ForgeConfigBuilder {
    user_agent: String,
    github_api: Option<String>,
    github_token: Option<Token>,
    gitlab: Vec<String>,
    gitlab_tokens: Vec<(String, Token)>,
    request_timeout: Duration,
    connect_timeout: Duration,
    retry: RetryPolicy,
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

    /// Adds a GitLab instance by its base URL (`https://gitlab.example.org`).
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
        if self.user_agent.trim().is_empty() {
            return Err(ConfigError::EmptyContact);
        }
        let github_api = validate_base(
            "WIKISCRIPTSYNC_GITHUB_API_URL",
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
            let web_base = validate_base("WIKISCRIPTSYNC_GITLAB_INSTANCES", &base)?;
            if gitlab.iter().any(|i| i.web_base == web_base) {
                continue;
            }
            let api_base = web_base
                .join("api/v4/")
                .map_err(|e| ConfigError::BadBaseUrl {
                    setting: "WIKISCRIPTSYNC_GITLAB_INSTANCES",
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
            max_file_bytes: self.max_file_bytes,
            per_host_concurrency: self.per_host_concurrency,
            max_tree_requests: self.max_tree_requests,
        })
    }
}

/// `host` or `host:port` (port only when not the scheme's default).
pub(crate) fn host_key(url: &Url) -> String {
    let host = url.host_str().unwrap_or_default().to_ascii_lowercase();
    match url.port() {
        Some(port) => format!("{host}:{port}"),
        None => host,
    }
}

/// Whether a host is a loopback address (where plain http is allowed for fakes and mirrors).
pub(crate) fn is_loopback(url: &Url) -> bool {
    match url.host() {
        Some(url::Host::Ipv4(ip)) => IpAddr::V4(ip).is_loopback(),
        Some(url::Host::Ipv6(ip)) => IpAddr::V6(ip).is_loopback(),
        Some(url::Host::Domain(d)) => d.eq_ignore_ascii_case("localhost"),
        None => false,
    }
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
            reason: "credentials do not belong in the URL; use the token variables".into(),
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
    use std::collections::HashMap;

    fn vars(pairs: &[(&str, &str)]) -> impl Fn(&str) -> Option<String> {
        let map: HashMap<String, String> = pairs
            .iter()
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
            .collect();
        move |k| map.get(k).cloned()
    }

    #[test]
    fn user_agent_names_version_contact_and_library() {
        let ua = user_agent("https://example.org/contact").unwrap();
        assert_eq!(
            ua,
            format!(
                "wikiscriptsync/{} (https://example.org/contact) reqwest/0.13",
                env!("CARGO_PKG_VERSION")
            )
        );
        assert_eq!(user_agent("  "), Err(ConfigError::EmptyContact));
        assert_eq!(user_agent("me (evil)"), Err(ConfigError::BadContact));
        assert_eq!(
            user_agent("a\r\nX-Injected: 1"),
            Err(ConfigError::BadContact)
        );
    }

    #[test]
    fn from_env_requires_a_contact() {
        let err = ForgeConfig::from_vars(vars(&[])).unwrap_err();
        assert!(matches!(
            err,
            ConfigError::Missing {
                name: "WIKISCRIPTSYNC_CONTACT",
                ..
            }
        ));
    }

    #[test]
    fn from_env_reads_instances_tokens_and_timeout() {
        let config = ForgeConfig::from_vars(vars(&[
            ("WIKISCRIPTSYNC_CONTACT", "ops@example.org"),
            ("WIKISCRIPTSYNC_GITHUB_API_URL", "http://127.0.0.1:9000"),
            ("WIKISCRIPTSYNC_GITHUB_TOKEN", "ghp_secret"),
            (
                "WIKISCRIPTSYNC_GITLAB_INSTANCES",
                "https://git.example.org/, http://localhost:8929",
            ),
            (
                "WIKISCRIPTSYNC_GITLAB_TOKENS",
                "git.example.org=glpat-1,localhost:8929=glpat-2",
            ),
            ("WIKISCRIPTSYNC_FORGE_TIMEOUT_SECS", "7"),
        ]))
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
    fn plain_http_is_refused_for_non_loopback_instances() {
        let err = ForgeConfig::from_vars(vars(&[
            ("WIKISCRIPTSYNC_CONTACT", "ops@example.org"),
            ("WIKISCRIPTSYNC_GITLAB_INSTANCES", "http://git.example.org"),
        ]))
        .unwrap_err();
        assert!(err.to_string().contains("only for loopback"), "{err}");
    }

    #[test]
    fn malformed_token_entries_are_refused_without_echoing_the_token() {
        let err = ForgeConfig::from_vars(vars(&[
            ("WIKISCRIPTSYNC_CONTACT", "ops@example.org"),
            (
                "WIKISCRIPTSYNC_GITLAB_TOKENS",
                "gitlab.com=ok,glpat-leaky-value",
            ),
        ]))
        .unwrap_err();
        assert_eq!(err, ConfigError::BadTokenEntry { index: 2 });
        assert!(!err.to_string().contains("leaky"));
        let err = ForgeConfig::from_vars(vars(&[
            ("WIKISCRIPTSYNC_CONTACT", "ops@example.org"),
            (
                "WIKISCRIPTSYNC_GITHUB_API_URL",
                "https://user:pw-secret@ghe.example.org/api/v3",
            ),
        ]))
        .unwrap_err();
        assert!(!err.to_string().contains("pw-secret"), "{err}");
    }

    #[test]
    fn tokens_never_appear_in_debug_output() {
        let config = ForgeConfig::builder("ua")
            .github_token(Token::from("ghp_supersecret"))
            .gitlab_token("gitlab.com", Token::from("glpat-supersecret"))
            .build()
            .unwrap();
        let debug = format!("{config:?}");
        assert!(!debug.contains("supersecret"), "{debug}");
        assert!(debug.contains("REDACTED"));
    }
}

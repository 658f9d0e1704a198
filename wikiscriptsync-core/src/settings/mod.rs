//! The configuration of every binary, read from the environment once ([`Settings::from_env`])
//! and handed to the leaf crates as values: the database rule (including ToolsDB), the
//! User-Agent contact, the wiki allow-list, the forge instances and tokens, the credential keys,
//! the notification bot, log retention, health-check targets, this runner's host name, the
//! limits per user and the web app's OAuth, cookie, admin and dashboard-cache settings.
//!
//! Every variable is listed once, in [`vars::VARIABLES`]; the help texts and `.env.example` are
//! made from that list. Parsing checks every variable and reports all the wrong ones at once,
//! each naming the variable and what to put there. What only some commands need (the contact,
//! the keys) is optional here and required by the function that needs it. Secrets stay
//! [`SecretString`]s and never appear in `Debug`.

pub mod vars;

#[cfg(test)]
mod tests;

use std::collections::BTreeSet;
use std::fmt;
use std::path::PathBuf;
use std::time::Duration;

use secrecy::SecretString;
use url::Url;

use crate::app::UserLimits;
use crate::forge::{ForgeConfig, ForgeConfigBuilder, Token};
use crate::maintenance::{
    DEFAULT_HEALTH_PROBE_WIKIS, DEFAULT_RETENTION_DAYS, HEALTH_FORGES_ENV, HEALTH_PROBE_WIKIS_ENV,
    RETENTION_DAYS_ENV,
};
use crate::mw::oauth::{DEFAULT_OAUTH_BASE, OAuthConfig};
use crate::mw::{AllowList, BotPassword};
use crate::notify::{NOTIFY_BOT_PASSWORD_ENV, NOTIFY_BOT_USER_ENV};
use crate::setup::{CONTACT_ENV, DATABASE_URL_ENV, DEFAULT_DATABASE_URL};
use crate::store::{DatabaseUrl, TOOLSDB_DATABASE_SUFFIX, TOOLSDB_HOST, ToolsDbCredentials};
use crate::vault::{KEY_ENV_VAR, Vault, VaultError};
use vars::{
    ADMIN_USERS_ENV, COOKIE_KEY_ENV, DASHBOARD_CACHE_ENV, DATA_DIR_ENV, EXTRA_WIKI_HOSTS_ENV,
    FORGE_TIMEOUT_ENV, GITHUB_API_URL_ENV, GITHUB_TOKEN_ENV, GITLAB_INSTANCES_ENV,
    GITLAB_TOKENS_ENV, HOSTNAME_ENV, OAUTH_BASE_URL_ENV, OAUTH_CLIENT_ID_ENV,
    OAUTH_CLIENT_SECRET_ENV, OAUTH_REDIRECT_URL_ENV, PORT_ENV, QUOTA_RESERVE_ENV,
    TOOLSDB_PASSWORD_ENV, TOOLSDB_USER_ENV,
};

/// The web app's port unless `PORT` or `--port` says otherwise.
pub const DEFAULT_PORT: u16 = 8000;
/// Seconds a dashboard is cached unless `WIKISCRIPTSYNC_DASHBOARD_CACHE_SECONDS` says otherwise.
pub const DEFAULT_DASHBOARD_CACHE_SECONDS: u64 = 5;
/// The longest dashboard cache time accepted.
pub const MAX_DASHBOARD_CACHE_SECONDS: u64 = 3600;
/// The forge request timeout unless `WIKISCRIPTSYNC_FORGE_TIMEOUT_SECS` says otherwise.
pub const DEFAULT_FORGE_TIMEOUT_SECS: u64 = 20;
/// The runner host name when `HOSTNAME` is not set.
pub const DEFAULT_RUNNER_HOST: &str = "localhost";
/// Development mode's data directory unless `WIKISCRIPTSYNC_DATA_DIR` or `--data-dir` says
/// otherwise.
pub const DEFAULT_DATA_DIR: &str = "data";

/// One variable is wrong: which, and what to do.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{variable}: {reason}")]
pub struct VariableError {
    /// The variable.
    pub variable: &'static str,
    /// What is wrong and what to put there (never a secret value).
    pub reason: String,
}

impl VariableError {
    fn new(variable: &'static str, reason: impl Into<String>) -> Self {
        Self {
            variable,
            reason: reason.into(),
        }
    }
}

/// The environment holds unusable values: every problem found, one per variable.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub struct SettingsError {
    /// The problems, in the order of [`vars::VARIABLES`].
    pub problems: Vec<VariableError>,
}

impl fmt::Display for SettingsError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.problems.as_slice() {
            [one] => write!(f, "configuration: {one} (see .env.example)"),
            many => {
                write!(
                    f,
                    "configuration: {} variables are not usable (see .env.example):",
                    many.len()
                )?;
                for problem in many {
                    write!(f, "\n  {problem}")?;
                }
                Ok(())
            }
        }
    }
}

/// Which database to use, by the one rule every binary follows.
#[derive(Debug, Clone)]
pub enum DatabaseSetting {
    /// `WIKISCRIPTSYNC_DATABASE_URL`.
    Url(DatabaseUrl),
    /// ToolsDB, with Toolforge's `TOOL_TOOLSDB_USER` / `TOOL_TOOLSDB_PASSWORD`.
    ToolsDb(ToolsDbCredentials),
    /// Neither: the local SQLite file [`DEFAULT_DATABASE_URL`].
    Default,
}

impl DatabaseSetting {
    /// The database URL (for ToolsDB: `<user>__wikiscriptsync` on the ToolsDB host).
    pub fn url(&self) -> Result<DatabaseUrl, crate::store::StoreError> {
        match self {
            Self::Url(url) => Ok(url.clone()),
            Self::ToolsDb(credentials) => {
                credentials.database_url(TOOLSDB_HOST, TOOLSDB_DATABASE_SUFFIX)
            }
            Self::Default => Ok(DatabaseUrl::new(DEFAULT_DATABASE_URL)),
        }
    }
}

/// The forge clients' settings, as values for [`ForgeConfig::builder`].
#[derive(Debug, Clone, Default)]
pub struct ForgeSettings {
    /// `WIKISCRIPTSYNC_GITHUB_API_URL` (GitHub Enterprise or a test fake).
    pub github_api_url: Option<String>,
    /// `WIKISCRIPTSYNC_GITHUB_TOKEN`.
    pub github_token: Option<Token>,
    /// `WIKISCRIPTSYNC_GITLAB_INSTANCES`.
    pub gitlab_instances: Vec<String>,
    /// `WIKISCRIPTSYNC_GITLAB_TOKENS`: (host, token).
    pub gitlab_tokens: Vec<(String, Token)>,
    /// `WIKISCRIPTSYNC_FORGE_TIMEOUT_SECS`.
    pub request_timeout: Duration,
    /// `WIKISCRIPTSYNC_QUOTA_RESERVE_PERCENT`: how each host's quota is shared.
    pub quota: crate::quota::QuotaPolicy,
}

impl ForgeSettings {
    /// A builder holding these settings, for the given User-Agent.
    pub fn builder(&self, user_agent: crate::forge::UserAgent) -> ForgeConfigBuilder {
        let mut builder = ForgeConfig::builder(user_agent).request_timeout(self.request_timeout);
        if let Some(api) = &self.github_api_url {
            builder = builder.github_api_url(api);
        }
        if let Some(token) = &self.github_token {
            builder = builder.github_token(token.clone());
        }
        for base in &self.gitlab_instances {
            builder = builder.gitlab_instance(base);
        }
        for (host, token) in &self.gitlab_tokens {
            builder = builder.gitlab_token(host, token.clone());
        }
        builder
    }
}

/// The web app's settings.
#[derive(Clone)]
pub struct WebSettings {
    /// `PORT`.
    pub port: u16,
    /// `WIKISCRIPTSYNC_DATA_DIR` (development mode).
    pub data_dir: PathBuf,
    /// `WIKISCRIPTSYNC_COOKIE_KEY` (production), as given (base64).
    pub cookie_key: Option<SecretString>,
    /// The OAuth consumer (`WIKISCRIPTSYNC_OAUTH_*`); `None` without a client id.
    pub oauth: Option<OAuthConfig>,
    /// The site's public origin, from `WIKISCRIPTSYNC_OAUTH_REDIRECT_URL`.
    pub public_origin: Option<String>,
    /// `WIKISCRIPTSYNC_ADMIN_USERS`: central ids (OAuth `sub`), never user names.
    pub admin_users: BTreeSet<String>,
    /// `WIKISCRIPTSYNC_DASHBOARD_CACHE_SECONDS`.
    pub dashboard_cache: Duration,
}

impl fmt::Debug for WebSettings {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("WebSettings")
            .field("port", &self.port)
            .field("data_dir", &self.data_dir)
            .field(
                "cookie_key",
                &self.cookie_key.as_ref().map(|_| "[REDACTED]"),
            )
            .field("oauth", &self.oauth)
            .field("public_origin", &self.public_origin)
            .field("admin_users", &self.admin_users)
            .field("dashboard_cache", &self.dashboard_cache)
            .finish()
    }
}

/// Everything the binaries read from the environment, typed. Build it once at start with
/// [`Settings::from_env`] and pass it down.
#[derive(Clone)]
pub struct Settings {
    /// The database rule's outcome.
    pub database: DatabaseSetting,
    /// `WIKISCRIPTSYNC_CONTACT`; required by [`Settings::contact`].
    pub contact: Option<String>,
    /// Wikimedia's wikis plus `WIKISCRIPTSYNC_EXTRA_WIKI_HOSTS`.
    pub allow_list: AllowList,
    /// The forge settings.
    pub forge: ForgeSettings,
    /// `CREDENTIAL_ENCRYPTION_KEY`, validated; required by [`Settings::vault`].
    pub credential_keys: Option<SecretString>,
    /// `WIKISCRIPTSYNC_NOTIFY_BOT_USER` and `_PASSWORD`; `None`: notifications off.
    pub notify_bot: Option<BotPassword>,
    /// `WIKISCRIPTSYNC_LOG_RETENTION_DAYS`.
    pub log_retention_days: u32,
    /// `WIKISCRIPTSYNC_HEALTH_FORGES` (empty: every configured forge).
    pub health_forges: Vec<String>,
    /// `WIKISCRIPTSYNC_HEALTH_PROBE_WIKIS`.
    pub health_probe_wikis: Vec<String>,
    /// `HOSTNAME`, for claim owners.
    pub runner_host: String,
    /// The limits per user (`WIKISCRIPTSYNC_MAX_*_PER_USER`,
    /// `WIKISCRIPTSYNC_CREDENTIAL_CHECKS_PER_HOUR`).
    pub limits: UserLimits,
    /// The web app's settings.
    pub web: WebSettings,
}

impl fmt::Debug for Settings {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Settings")
            .field("database", &self.database)
            .field("contact", &self.contact)
            .field("allow_list", &self.allow_list)
            .field("forge", &self.forge)
            .field(
                "credential_keys",
                &self.credential_keys.as_ref().map(|_| "[REDACTED]"),
            )
            .field("notify_bot", &self.notify_bot)
            .field("log_retention_days", &self.log_retention_days)
            .field("health_forges", &self.health_forges)
            .field("health_probe_wikis", &self.health_probe_wikis)
            .field("runner_host", &self.runner_host)
            .field("limits", &self.limits)
            .field("web", &self.web)
            .finish()
    }
}

impl Settings {
    /// Reads every setting from the process environment, once.
    pub fn from_env() -> Result<Self, SettingsError> {
        Self::from_lookup(|name| std::env::var(name).ok())
    }

    /// Reads every setting through `lookup` (the environment, or a map in tests). Blank values
    /// count as unset. Every variable is checked; all problems are returned together.
    pub fn from_lookup(lookup: impl Fn(&str) -> Option<String>) -> Result<Self, SettingsError> {
        let mut parser = Parser {
            lookup: &lookup,
            problems: Vec::new(),
        };
        let settings = parser.settings();
        if parser.problems.is_empty() {
            Ok(settings)
        } else {
            let mut problems = parser.problems;
            let order = |p: &VariableError| {
                vars::VARIABLES
                    .iter()
                    .position(|v| v.name == p.variable)
                    .unwrap_or(usize::MAX)
            };
            problems.sort_by_key(order);
            Err(SettingsError { problems })
        }
    }

    /// The User-Agent contact, or what to set.
    pub fn contact(&self) -> Result<&str, VariableError> {
        self.contact.as_deref().ok_or_else(|| {
            VariableError::new(
                CONTACT_ENV,
                "is not set: set it to a URL or e-mail address where you can be reached; \
                 Wikimedia requires it in the User-Agent of every request",
            )
        })
    }

    /// The credential vault from `CREDENTIAL_ENCRYPTION_KEY` ([`VaultError::MissingKey`] when
    /// it is not set).
    pub fn vault(&self) -> Result<Vault, VaultError> {
        match &self.credential_keys {
            Some(keys) => Vault::from_key_list(keys),
            None => Err(VaultError::MissingKey),
        }
    }
}

/// Reads variables and collects the problems.
struct Parser<'a> {
    lookup: &'a dyn Fn(&str) -> Option<String>,
    problems: Vec<VariableError>,
}

impl Parser<'_> {
    /// The trimmed value, `None` when unset or blank.
    fn get(&self, name: &str) -> Option<String> {
        (self.lookup)(name)
            .map(|v| v.trim().to_owned())
            .filter(|v| !v.is_empty())
    }

    fn problem(&mut self, variable: &'static str, reason: impl Into<String>) {
        self.problems.push(VariableError::new(variable, reason));
    }

    /// A comma-separated list, blank entries dropped.
    fn list(&self, name: &str) -> Vec<String> {
        self.get(name)
            .map(|v| {
                v.split(',')
                    .map(str::trim)
                    .filter(|s| !s.is_empty())
                    .map(str::to_owned)
                    .collect()
            })
            .unwrap_or_default()
    }

    /// A whole number in `range`, or `default` when unset.
    fn number(
        &mut self,
        name: &'static str,
        default: u64,
        range: std::ops::RangeInclusive<u64>,
        what: &str,
    ) -> u64 {
        let Some(value) = self.get(name) else {
            return default;
        };
        match value.parse::<u64>() {
            Ok(n) if range.contains(&n) => n,
            _ => {
                self.problem(
                    name,
                    format!(
                        "`{value}` is not {what} from {} to {}",
                        range.start(),
                        range.end()
                    ),
                );
                default
            }
        }
    }

    fn settings(&mut self) -> Settings {
        let database = self.database();
        let contact = self.get(CONTACT_ENV);
        if let Some(contact) = &contact
            && let Err(err) = crate::forge::UserAgent::from_contact(contact)
        {
            self.problem(CONTACT_ENV, err.to_string());
        }
        let allow_list = self.allow_list();
        let forge = self.forge();
        let credential_keys = self.credential_keys();
        let notify_bot = self.notify_bot();
        let log_retention_days = self.number(
            RETENTION_DAYS_ENV,
            u64::from(DEFAULT_RETENTION_DAYS),
            1..=u64::from(u32::MAX),
            "a whole number of days",
        );
        let health_forges = self.list(HEALTH_FORGES_ENV);
        let mut health_probe_wikis = self.list(HEALTH_PROBE_WIKIS_ENV);
        if health_probe_wikis.is_empty() {
            health_probe_wikis = vec![DEFAULT_HEALTH_PROBE_WIKIS.to_owned()];
        }
        let runner_host = self
            .get(HOSTNAME_ENV)
            .unwrap_or_else(|| DEFAULT_RUNNER_HOST.to_owned());
        let limits = self.limits();
        let web = self.web();
        Settings {
            database,
            contact,
            allow_list,
            forge,
            credential_keys,
            notify_bot,
            log_retention_days: u32::try_from(log_retention_days).unwrap_or(DEFAULT_RETENTION_DAYS),
            health_forges,
            health_probe_wikis,
            runner_host,
            limits,
            web,
        }
    }

    fn limits(&mut self) -> UserLimits {
        let defaults = UserLimits::default();
        let mut count = |name, default| self.number(name, default, 1..=1_000_000, "a whole number");
        let repositories = count(vars::MAX_REPOSITORIES_ENV, defaults.repositories);
        let watched_files = count(vars::MAX_WATCHED_FILES_ENV, defaults.watched_files);
        let mappings = count(vars::MAX_MAPPINGS_ENV, defaults.mappings);
        let monitored_pages = count(vars::MAX_MONITORED_PAGES_ENV, defaults.monitored_pages);
        let checks = self.number(
            vars::CREDENTIAL_CHECKS_PER_HOUR_ENV,
            u64::from(defaults.credential_checks_per_hour),
            1..=10_000,
            "a whole number of checks",
        );
        UserLimits {
            repositories,
            watched_files,
            mappings,
            monitored_pages,
            credential_checks_per_hour: u32::try_from(checks)
                .unwrap_or(defaults.credential_checks_per_hour),
        }
    }

    fn database(&mut self) -> DatabaseSetting {
        if let Some(url) = self.get(DATABASE_URL_ENV) {
            if let Err(err) = crate::store::Backend::from_url(&url) {
                self.problem(DATABASE_URL_ENV, err.to_string());
                return DatabaseSetting::Default;
            }
            return DatabaseSetting::Url(DatabaseUrl::new(url));
        }
        match (self.get(TOOLSDB_USER_ENV), self.get(TOOLSDB_PASSWORD_ENV)) {
            (None, None) => DatabaseSetting::Default,
            (Some(user), Some(password)) => {
                match ToolsDbCredentials::new(user, SecretString::from(password)) {
                    Ok(credentials) => DatabaseSetting::ToolsDb(credentials),
                    Err(err) => {
                        self.problem(TOOLSDB_USER_ENV, err.to_string());
                        DatabaseSetting::Default
                    }
                }
            }
            (Some(_), None) | (None, Some(_)) => {
                let (set, missing) = if self.get(TOOLSDB_USER_ENV).is_some() {
                    (TOOLSDB_USER_ENV, TOOLSDB_PASSWORD_ENV)
                } else {
                    (TOOLSDB_PASSWORD_ENV, TOOLSDB_USER_ENV)
                };
                self.problem(
                    missing,
                    format!(
                        "is not set but {set} is: set both for ToolsDB (Toolforge sets them), \
                         or set {DATABASE_URL_ENV}"
                    ),
                );
                DatabaseSetting::Default
            }
        }
    }

    fn allow_list(&mut self) -> AllowList {
        match AllowList::with_hosts(self.list(EXTRA_WIKI_HOSTS_ENV)) {
            Ok(allow) => allow,
            Err(err) => {
                self.problem(
                    EXTRA_WIKI_HOSTS_ENV,
                    format!(
                        "{err}; write each wiki as its API URL, its base URL or host[:port], \
                         comma-separated"
                    ),
                );
                AllowList::wikimedia()
            }
        }
    }

    fn forge(&mut self) -> ForgeSettings {
        let mut forge = ForgeSettings {
            github_api_url: self.get(GITHUB_API_URL_ENV),
            github_token: self
                .get(GITHUB_TOKEN_ENV)
                .map(|t| Token::new(SecretString::from(t))),
            gitlab_instances: self.list(GITLAB_INSTANCES_ENV),
            gitlab_tokens: Vec::new(),
            request_timeout: Duration::from_secs(DEFAULT_FORGE_TIMEOUT_SECS),
            quota: crate::quota::QuotaPolicy::default(),
        };
        for (index, entry) in self.list(GITLAB_TOKENS_ENV).iter().enumerate() {
            match entry
                .split_once('=')
                .map(|(host, token)| (host.trim(), token.trim()))
                .filter(|(host, token)| !host.is_empty() && !token.is_empty())
            {
                Some((host, token)) => forge.gitlab_tokens.push((
                    host.to_owned(),
                    Token::new(SecretString::from(token.to_owned())),
                )),
                // Never echo the entry: it may be a token.
                None => self.problem(
                    GITLAB_TOKENS_ENV,
                    format!(
                        "entry {} is malformed: write host=token pairs separated by commas",
                        index + 1
                    ),
                ),
            }
        }
        let seconds = self.number(
            FORGE_TIMEOUT_ENV,
            DEFAULT_FORGE_TIMEOUT_SECS,
            1..=3600,
            "a whole number of seconds",
        );
        forge.request_timeout = Duration::from_secs(seconds);
        let percent = self.number(
            QUOTA_RESERVE_ENV,
            u64::from(crate::quota::DEFAULT_RESERVE_PERCENT),
            0..=90,
            "a whole number of percent",
        );
        forge.quota.reserve_percent =
            u8::try_from(percent).unwrap_or(crate::quota::DEFAULT_RESERVE_PERCENT);
        // Check the URLs and tokens now, with a stand-in User-Agent, so that a mistake is
        // reported at start naming its variable.
        let stand_in = crate::forge::UserAgent::from_contact("check@example.org")
            .expect("a plain e-mail address");
        if let Err(err) = forge.builder(stand_in).build() {
            let variable = match &err {
                crate::forge::ConfigError::BadBaseUrl { setting, .. }
                    if setting.contains(GITHUB_API_URL_ENV) =>
                {
                    GITHUB_API_URL_ENV
                }
                crate::forge::ConfigError::BadBaseUrl { .. } => GITLAB_INSTANCES_ENV,
                crate::forge::ConfigError::TokenForUnknownHost { .. } => GITLAB_TOKENS_ENV,
                _ => GITLAB_INSTANCES_ENV,
            };
            self.problem(variable, err.to_string());
        }
        forge
    }

    fn credential_keys(&mut self) -> Option<SecretString> {
        let keys = SecretString::from(self.get(KEY_ENV_VAR)?);
        match Vault::from_key_list(&keys) {
            Ok(_) => Some(keys),
            Err(err) => {
                self.problem(KEY_ENV_VAR, err.to_string());
                None
            }
        }
    }

    fn notify_bot(&mut self) -> Option<BotPassword> {
        match (
            self.get(NOTIFY_BOT_USER_ENV),
            self.get(NOTIFY_BOT_PASSWORD_ENV),
        ) {
            (None, None) => None,
            (Some(_), None) => {
                self.problem(
                    NOTIFY_BOT_PASSWORD_ENV,
                    format!(
                        "is not set but {NOTIFY_BOT_USER_ENV} is: set both to enable talk-page \
                         notifications, or neither to run without them"
                    ),
                );
                None
            }
            (None, Some(_)) => {
                self.problem(
                    NOTIFY_BOT_USER_ENV,
                    format!(
                        "is not set but {NOTIFY_BOT_PASSWORD_ENV} is: set both to enable \
                         talk-page notifications, or neither to run without them"
                    ),
                );
                None
            }
            (Some(user), Some(password)) => {
                if !user.contains('@') {
                    self.problem(
                        NOTIFY_BOT_USER_ENV,
                        format!(
                            "`{user}` is not a BotPassword login name: use `User@BotName` as \
                             shown on Special:BotPasswords"
                        ),
                    );
                    return None;
                }
                Some(BotPassword::new(user, SecretString::from(password)))
            }
        }
    }

    fn url(&mut self, name: &'static str) -> Option<Url> {
        let value = self.get(name)?;
        match Url::parse(&value) {
            Ok(url) if matches!(url.scheme(), "https" | "http") && url.has_host() => Some(url),
            Ok(_) => {
                self.problem(name, format!("`{value}` is not an http(s) URL"));
                None
            }
            Err(err) => {
                self.problem(
                    name,
                    format!("`{value}` is not a URL ({err}); write e.g. https://host/path"),
                );
                None
            }
        }
    }

    fn web(&mut self) -> WebSettings {
        let port = match self.get(PORT_ENV) {
            None => DEFAULT_PORT,
            Some(value) => value.parse::<u16>().unwrap_or_else(|_| {
                self.problem(
                    PORT_ENV,
                    format!("`{value}` is not a port number from 0 to 65535"),
                );
                DEFAULT_PORT
            }),
        };
        let data_dir = PathBuf::from(
            self.get(DATA_DIR_ENV)
                .unwrap_or_else(|| DEFAULT_DATA_DIR.to_owned()),
        );
        let cookie_key = self.get(COOKIE_KEY_ENV).map(SecretString::from);
        let redirect = self.url(OAUTH_REDIRECT_URL_ENV);
        let base_url = self.url(OAUTH_BASE_URL_ENV);
        let client_secret = self.get(OAUTH_CLIENT_SECRET_ENV).map(SecretString::from);
        let oauth = match self.get(OAUTH_CLIENT_ID_ENV) {
            None => None,
            Some(client_id) => match &redirect {
                Some(redirect) => Some(OAuthConfig {
                    base_url: base_url.unwrap_or_else(|| {
                        Url::parse(DEFAULT_OAUTH_BASE).unwrap_or_else(|_| redirect.clone())
                    }),
                    client_id,
                    client_secret,
                    redirect_uri: redirect.to_string(),
                }),
                None => {
                    if self.get(OAUTH_REDIRECT_URL_ENV).is_none() {
                        self.problem(
                            OAUTH_REDIRECT_URL_ENV,
                            format!(
                                "is not set but {OAUTH_CLIENT_ID_ENV} is: set it to the callback \
                                 URL registered with the consumer, \
                                 https://<tool>.toolforge.org/oauth/callback"
                            ),
                        );
                    }
                    None
                }
            },
        };
        let public_origin = redirect
            .map(|url| url.origin().ascii_serialization())
            .filter(|origin| origin != "null");
        let admin_users = self.list(ADMIN_USERS_ENV).into_iter().collect();
        let dashboard_cache = Duration::from_secs(self.number(
            DASHBOARD_CACHE_ENV,
            DEFAULT_DASHBOARD_CACHE_SECONDS,
            0..=MAX_DASHBOARD_CACHE_SECONDS,
            "a whole number of seconds (0 turns the dashboard cache off)",
        ));
        WebSettings {
            port,
            data_dir,
            cookie_key,
            oauth,
            public_origin,
            admin_users,
            dashboard_cache,
        }
    }
}

//! Where the web server listens and where its state lives.
//!
//! Development mode binds to loopback only and keeps everything in a local data directory;
//! production mode (Toolforge) listens on `0.0.0.0:$PORT` and takes all configuration from the
//! environment, because a build-service container has no home directory.

use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::path::PathBuf;
use std::sync::Arc;

use wikiscriptsync_core::setup::{self, SetupError};
use wikiscriptsync_core::store::{DatabaseUrl, MigrationPolicy, Store};

/// The port Toolforge's proxy and the development server use unless told otherwise.
pub const DEFAULT_PORT: u16 = 8000;

/// Development (local, loopback, generated keys) or production (Toolforge).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mode {
    /// Loopback only, SQLite in the data directory, keys generated on first start, a
    /// development login form instead of OAuth and a banner saying so.
    Development,
    /// All configuration from the environment; listens on every interface.
    Production,
}

/// Everything the server needs to start.
#[derive(Debug, Clone)]
pub struct WebConfig {
    /// Development or production.
    pub mode: Mode,
    /// The address to bind.
    pub bind: SocketAddr,
    /// Where development mode keeps its database and keys.
    pub data_dir: PathBuf,
}

impl WebConfig {
    /// Development mode: `127.0.0.1:port`, data under `data_dir`.
    pub fn development(port: u16, data_dir: PathBuf) -> Self {
        Self {
            mode: Mode::Development,
            bind: SocketAddr::new(IpAddr::V4(Ipv4Addr::LOCALHOST), port),
            data_dir,
        }
    }

    /// Production mode: `0.0.0.0:port`.
    pub fn production(port: u16, data_dir: PathBuf) -> Self {
        Self {
            mode: Mode::Production,
            bind: SocketAddr::new(IpAddr::V4(Ipv4Addr::UNSPECIFIED), port),
            data_dir,
        }
    }

    /// The SQLite database development mode uses.
    pub fn development_database_url(&self) -> String {
        format!(
            "sqlite://{}",
            self.data_dir.join("wikiscriptsync.sqlite3").display()
        )
    }
}

/// Opens the store: in development the SQLite file in the data directory, created and migrated
/// on first start; in production the database every binary uses
/// ([`setup::database_url_from_env`]: `WIKISCRIPTSYNC_DATABASE_URL`, else ToolsDB on Toolforge),
/// whose schema must be current (migrations run once, as their own job).
pub async fn open_store(config: &WebConfig) -> Result<Arc<dyn Store>, SetupError> {
    match config.mode {
        Mode::Development => {
            let url = DatabaseUrl::new(config.development_database_url());
            setup::open_store(&url, MigrationPolicy::Apply).await
        }
        Mode::Production => {
            setup::open_store(
                &setup::database_url_from_env()?,
                MigrationPolicy::RequireCurrent,
            )
            .await
        }
    }
}

/// The OAuth consumer's client id.
pub const OAUTH_CLIENT_ID_ENV_VAR: &str = "WIKISCRIPTSYNC_OAUTH_CLIENT_ID";
/// The OAuth consumer's secret (confidential consumers).
pub const OAUTH_CLIENT_SECRET_ENV_VAR: &str = "WIKISCRIPTSYNC_OAUTH_CLIENT_SECRET";
/// The central wiki (default `https://meta.wikimedia.org`).
pub const OAUTH_BASE_URL_ENV_VAR: &str = "WIKISCRIPTSYNC_OAUTH_BASE_URL";
/// The registered callback, `https://<tool>.toolforge.org/oauth/callback`.
pub const OAUTH_REDIRECT_URL_ENV_VAR: &str = "WIKISCRIPTSYNC_OAUTH_REDIRECT_URL";
/// Comma-separated user names that may see usage metrics.
pub const ADMIN_USERS_ENV_VAR: &str = "WIKISCRIPTSYNC_ADMIN_USERS";
/// Seconds a user's dashboard is served from memory (0: always read the database).
pub const DASHBOARD_CACHE_ENV_VAR: &str = "WIKISCRIPTSYNC_DASHBOARD_CACHE_SECONDS";

/// How long an OAuth request may take.
const OAUTH_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(15);

/// Why the web configuration from the environment is unusable.
#[derive(Debug, thiserror::Error)]
pub enum WebConfigError {
    /// A required variable is missing.
    #[error("{0} is not set; see .env.example")]
    Missing(&'static str),
    /// A variable is malformed.
    #[error("{name} is not usable: {reason}")]
    Invalid {
        /// The variable.
        name: &'static str,
        /// What is wrong with it.
        reason: String,
    },
}

/// The OAuth client from the environment; `None` when no client id is set.
pub fn oauth_from_env(
    user_agent: &wikiscriptsync_core::mw::UserAgent,
    allow: &wikiscriptsync_core::mw::AllowList,
) -> Result<Option<wikiscriptsync_core::mw::oauth::OAuthClient>, WebConfigError> {
    use wikiscriptsync_core::mw::oauth::{DEFAULT_OAUTH_BASE, OAuthClient, OAuthConfig};
    let Some(client_id) = std::env::var(OAUTH_CLIENT_ID_ENV_VAR)
        .ok()
        .filter(|v| !v.trim().is_empty())
    else {
        return Ok(None);
    };
    let redirect_uri = std::env::var(OAUTH_REDIRECT_URL_ENV_VAR)
        .ok()
        .filter(|v| !v.trim().is_empty())
        .ok_or(WebConfigError::Missing(OAUTH_REDIRECT_URL_ENV_VAR))?;
    let base = std::env::var(OAUTH_BASE_URL_ENV_VAR).unwrap_or_else(|_| DEFAULT_OAUTH_BASE.into());
    let base_url = url::Url::parse(&base).map_err(|e| WebConfigError::Invalid {
        name: OAUTH_BASE_URL_ENV_VAR,
        reason: e.to_string(),
    })?;
    let config = OAuthConfig {
        base_url,
        client_id: client_id.trim().to_owned(),
        client_secret: std::env::var(OAUTH_CLIENT_SECRET_ENV_VAR)
            .ok()
            .filter(|v| !v.is_empty())
            .map(secrecy::SecretString::from),
        redirect_uri,
    };
    OAuthClient::new(config, user_agent, allow, OAUTH_TIMEOUT)
        .map(Some)
        .map_err(|e| WebConfigError::Invalid {
            name: OAUTH_BASE_URL_ENV_VAR,
            reason: e.to_string(),
        })
}

/// The admin user names from `WIKISCRIPTSYNC_ADMIN_USERS` (comma-separated).
pub fn admins_from_env() -> std::collections::BTreeSet<String> {
    parse_admins(&std::env::var(ADMIN_USERS_ENV_VAR).unwrap_or_default())
}

/// How long dashboards are cached, from `WIKISCRIPTSYNC_DASHBOARD_CACHE_SECONDS` (default
/// [`crate::dashboard_cache::DEFAULT_TTL`]); an error says what is wrong with the value.
pub fn dashboard_cache_ttl_from_env() -> Result<std::time::Duration, String> {
    match std::env::var(DASHBOARD_CACHE_ENV_VAR) {
        Err(_) => Ok(crate::dashboard_cache::DEFAULT_TTL),
        Ok(value) => parse_cache_seconds(&value),
    }
}

fn parse_cache_seconds(value: &str) -> Result<std::time::Duration, String> {
    match value.trim().parse::<u64>() {
        Ok(seconds) if seconds <= 3600 => Ok(std::time::Duration::from_secs(seconds)),
        _ => Err(format!(
            "{DASHBOARD_CACHE_ENV_VAR}=`{value}` is not a number of seconds from 0 to 3600 \
             (0 turns the dashboard cache off)"
        )),
    }
}

/// Splits a comma-separated list of user names.
pub fn parse_admins(list: &str) -> std::collections::BTreeSet<String> {
    list.split(',')
        .map(str::trim)
        .filter(|name| !name.is_empty())
        .map(str::to_owned)
        .collect()
}

/// The site's public origin (scheme, host and port) from the OAuth redirect URL, if set.
pub fn public_origin_from_env() -> Option<String> {
    let redirect = std::env::var(OAUTH_REDIRECT_URL_ENV_VAR).ok()?;
    let url = url::Url::parse(redirect.trim()).ok()?;
    Some(url.origin().ascii_serialization()).filter(|o| o != "null")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_dashboard_cache_takes_whole_seconds_up_to_an_hour() {
        assert_eq!(parse_cache_seconds(" 0 "), Ok(std::time::Duration::ZERO));
        assert_eq!(
            parse_cache_seconds("30"),
            Ok(std::time::Duration::from_secs(30))
        );
        for bad in ["", "-1", "1.5", "5s", "3601"] {
            let error = parse_cache_seconds(bad).unwrap_err();
            assert!(error.contains(DASHBOARD_CACHE_ENV_VAR), "{error}");
        }
    }
}

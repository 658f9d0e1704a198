//! Where the web server listens and where its state lives.
//!
//! Development mode binds to loopback only and keeps everything in a local data directory;
//! production mode (Toolforge) listens on `0.0.0.0:$PORT` and takes all configuration from the
//! [`Settings`] (the environment), because a build-service container has no home directory.

use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::path::PathBuf;
use std::sync::Arc;

use wikiscriptsync_core::settings::{Settings, vars};
use wikiscriptsync_core::setup::{self, SetupError};
use wikiscriptsync_core::store::{DatabaseUrl, MigrationPolicy, Store};

/// The port Toolforge's proxy and the development server use unless told otherwise.
pub const DEFAULT_PORT: u16 = wikiscriptsync_core::settings::DEFAULT_PORT;

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
    /// Production's database (see [`setup::database_url`]; `None`: the SQLite default); unused
    /// in development.
    pub database_url: Option<DatabaseUrl>,
}

impl WebConfig {
    /// Development mode: `127.0.0.1:port`, data under `data_dir`.
    pub fn development(port: u16, data_dir: PathBuf) -> Self {
        Self {
            mode: Mode::Development,
            bind: SocketAddr::new(IpAddr::V4(Ipv4Addr::LOCALHOST), port),
            data_dir,
            database_url: None,
        }
    }

    /// Production mode: `0.0.0.0:port`, the database every binary uses.
    pub fn production(port: u16, data_dir: PathBuf, database_url: DatabaseUrl) -> Self {
        Self {
            mode: Mode::Production,
            bind: SocketAddr::new(IpAddr::V4(Ipv4Addr::UNSPECIFIED), port),
            data_dir,
            database_url: Some(database_url),
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
/// ([`setup::database_url`]: `WIKISCRIPTSYNC_DATABASE_URL`, else ToolsDB on Toolforge), whose
/// schema must be current (migrations run once, as their own job).
pub async fn open_store(config: &WebConfig) -> Result<Arc<dyn Store>, SetupError> {
    match config.mode {
        Mode::Development => {
            let url = DatabaseUrl::new(config.development_database_url());
            setup::open_store(&url, MigrationPolicy::Apply).await
        }
        Mode::Production => {
            let url = match &config.database_url {
                Some(url) => url.clone(),
                None => DatabaseUrl::new(wikiscriptsync_core::setup::DEFAULT_DATABASE_URL),
            };
            setup::open_store(&url, MigrationPolicy::RequireCurrent).await
        }
    }
}

/// How long an OAuth request may take.
const OAUTH_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(15);

/// Why the web configuration is unusable.
#[derive(Debug, thiserror::Error)]
pub enum WebConfigError {
    /// A variable is malformed.
    #[error("{name} is not usable: {reason}")]
    Invalid {
        /// The variable.
        name: &'static str,
        /// What is wrong with it.
        reason: String,
    },
}

/// The OAuth client from the settings; `None` when no client id is set.
pub fn oauth_client(
    settings: &Settings,
    user_agent: &wikiscriptsync_core::mw::UserAgent,
) -> Result<Option<wikiscriptsync_core::mw::oauth::OAuthClient>, WebConfigError> {
    use wikiscriptsync_core::mw::oauth::OAuthClient;
    let Some(config) = settings.web.oauth.clone() else {
        return Ok(None);
    };
    OAuthClient::new(config, user_agent, &settings.allow_list, OAUTH_TIMEOUT)
        .map(Some)
        .map_err(|e| WebConfigError::Invalid {
            name: vars::OAUTH_BASE_URL_ENV,
            reason: e.to_string(),
        })
}

//! Where the web server listens and where its state lives.
//!
//! Development mode binds to loopback only and keeps everything in a local data directory;
//! production mode (Toolforge) listens on `0.0.0.0:$PORT` and takes all configuration from the
//! environment, because a build-service container has no home directory.

use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::path::PathBuf;
use std::sync::Arc;

use wikiscriptsync_core::store::{
    DatabaseUrl, Store, StoreError, StoreSettings, open, toolsdb_url_from_env,
};

/// The variable naming the database in production (otherwise ToolsDB from `TOOL_TOOLSDB_*`).
pub const DATABASE_URL_ENV_VAR: &str = "WIKISCRIPTSYNC_DATABASE_URL";

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
/// on first start; in production `WIKISCRIPTSYNC_DATABASE_URL` or ToolsDB, whose schema must be
/// current (migrations run once, as their own job).
pub async fn open_store(config: &WebConfig) -> Result<Arc<dyn Store>, StoreError> {
    match config.mode {
        Mode::Development => {
            std::fs::create_dir_all(&config.data_dir).map_err(|err| {
                StoreError::Config(format!(
                    "cannot create the data directory {}: {err}",
                    config.data_dir.display()
                ))
            })?;
            let url = DatabaseUrl::new(config.development_database_url());
            open(&url, &StoreSettings::migrating()).await
        }
        Mode::Production => {
            let url = match std::env::var(DATABASE_URL_ENV_VAR) {
                Ok(url) => DatabaseUrl::new(url),
                Err(_) => toolsdb_url_from_env()?,
            };
            open(&url, &StoreSettings::default()).await
        }
    }
}

//! Building the pieces from the environment, the same way in the CLI, the web app and the
//! jobs: the store (`WIKISCRIPTSYNC_DATABASE_URL`, SQLite by default), the MediaWiki client and
//! the forge router (User-Agent contact `WIKISCRIPTSYNC_CONTACT`, extra wiki hosts), the vault
//! (`CREDENTIAL_ENCRYPTION_KEY`), and the local user the CLI publishes as.

use std::path::Path;
use std::sync::Arc;

use chrono::Utc;

use crate::forge::{self, ForgeConfig, Forges};
use crate::mw::{self, ActionApiClient, AllowList, ClientConfig, UserAgent};
use crate::store::{self, DatabaseUrl, MigrationPolicy, Store, StoreError, StoreSettings, User};

/// The variable naming the database.
pub const DATABASE_URL_ENV: &str = "WIKISCRIPTSYNC_DATABASE_URL";
/// The database used when [`DATABASE_URL_ENV`] is not set: a SQLite file under `data/` in the
/// working directory (created on first use).
pub const DEFAULT_DATABASE_URL: &str = "sqlite:data/wikiscriptsync.sqlite3";
/// The variable with the operator's contact (URL or e-mail) for the User-Agent.
pub const CONTACT_ENV: &str = "WIKISCRIPTSYNC_CONTACT";
/// Prefix of the central id of local CLI users (real users have numeric OAuth ids).
pub const CLI_USER_PREFIX: &str = "cli:";

/// A configuration problem found before any work: what is wrong and how to fix it.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum SetupError {
    /// The User-Agent contact is missing.
    #[error(
        "{CONTACT_ENV} is not set: set it to a URL or e-mail address where you can be reached; \
         Wikimedia requires it in the User-Agent of every request"
    )]
    MissingContact,
    /// The MediaWiki client configuration is invalid.
    #[error(transparent)]
    Wiki(#[from] mw::ConfigError),
    /// `WIKISCRIPTSYNC_EXTRA_WIKI_HOSTS` is malformed.
    #[error(transparent)]
    WikiHosts(#[from] mw::WikiUrlError),
    /// The forge configuration is invalid.
    #[error(transparent)]
    Forge(#[from] forge::ConfigError),
    /// The database cannot be opened or migrated.
    #[error(transparent)]
    Store(#[from] StoreError),
    /// The directory for the default SQLite file cannot be created.
    #[error("cannot create the directory {path} for the database: {detail}")]
    DataDir {
        /// The directory.
        path: String,
        /// Why.
        detail: String,
    },
}

/// The database URL from [`DATABASE_URL_ENV`], or [`DEFAULT_DATABASE_URL`].
pub fn database_url_from_env() -> DatabaseUrl {
    match std::env::var(DATABASE_URL_ENV) {
        Ok(url) if !url.trim().is_empty() => DatabaseUrl::new(url.trim().to_owned()),
        _ => DatabaseUrl::new(DEFAULT_DATABASE_URL),
    }
}

/// Opens the store, creating the directory of a SQLite file first, and checks or applies the
/// schema per `migrations`.
pub async fn open_store(
    url: &DatabaseUrl,
    migrations: MigrationPolicy,
) -> Result<Arc<dyn Store>, SetupError> {
    if let Some(dir) = sqlite_parent_dir(url.expose()) {
        std::fs::create_dir_all(dir).map_err(|err| SetupError::DataDir {
            path: dir.display().to_string(),
            detail: err.to_string(),
        })?;
    }
    let settings = StoreSettings {
        migrations,
        ..StoreSettings::default()
    };
    Ok(store::open(url, &settings).await?)
}

/// The directory a `sqlite:` URL's file lives in, when it has one to create.
fn sqlite_parent_dir(url: &str) -> Option<&Path> {
    let path = url.strip_prefix("sqlite:")?;
    let path = path.strip_prefix("//").unwrap_or(path);
    let path = path.split('?').next()?;
    if path.is_empty() || path.contains(":memory:") {
        return None;
    }
    Path::new(path)
        .parent()
        .filter(|p| !p.as_os_str().is_empty())
}

/// The operator's contact from [`CONTACT_ENV`].
pub fn contact_from_env() -> Result<String, SetupError> {
    std::env::var(CONTACT_ENV)
        .ok()
        .filter(|c| !c.trim().is_empty())
        .ok_or(SetupError::MissingContact)
}

/// The MediaWiki client: User-Agent from [`CONTACT_ENV`], Wikimedia wikis plus
/// `WIKISCRIPTSYNC_EXTRA_WIKI_HOSTS`. `interactive` drops `maxlag` (a person is waiting).
pub fn wiki_client_from_env(interactive: bool) -> Result<ActionApiClient, SetupError> {
    let mut config = ClientConfig::new(UserAgent::from_contact(&contact_from_env()?)?);
    config.allow_list = AllowList::from_env()?;
    if interactive {
        config = config.interactive();
    }
    Ok(ActionApiClient::new(config)?)
}

/// The forge router from the environment (see `wikiscriptsync_forge::config`).
pub fn forges_from_env() -> Result<Forges, SetupError> {
    contact_from_env()?;
    Ok(Forges::new(ForgeConfig::from_env()?)?)
}

/// The local user the CLI publishes as: keyed by the bot account's user name (the part of
/// `User@BotName` before `@`) with the central id `cli:<User>`, so that a CLI user never
/// collides with a web user (whose central id is the numeric OAuth `sub`). The CLI's publish
/// mutex and publish log are this user's.
pub async fn cli_user(store: &dyn Store, bot_login: &str) -> Result<User, StoreError> {
    let name = bot_login
        .split_once('@')
        .map_or(bot_login, |(user, _)| user)
        .trim();
    store
        .upsert_user(&format!("{CLI_USER_PREFIX}{name}"), name, Utc::now())
        .await
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_default_database_lives_in_a_data_directory() {
        assert_eq!(
            sqlite_parent_dir(DEFAULT_DATABASE_URL),
            Some(Path::new("data"))
        );
        assert_eq!(
            sqlite_parent_dir("sqlite:///tmp/x/y.db?mode=rwc"),
            Some(Path::new("/tmp/x"))
        );
        assert_eq!(sqlite_parent_dir("sqlite:y.db"), None);
        assert_eq!(sqlite_parent_dir("sqlite::memory:"), None);
        assert_eq!(sqlite_parent_dir("mysql://u@h/db"), None);
    }
}

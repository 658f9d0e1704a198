//! Building the pieces from the [`Settings`], the same way in the CLI, the web app and the
//! jobs: the store (`WIKISCRIPTSYNC_DATABASE_URL`, else ToolsDB, else SQLite), the MediaWiki
//! client and the forge router (User-Agent contact `WIKISCRIPTSYNC_CONTACT`, extra wiki hosts,
//! forge tokens), and the local user the CLI publishes as.

use std::path::Path;
use std::sync::Arc;

use chrono::Utc;

use crate::forge::{self, Forges};
use crate::mw::{self, ActionApiClient, ClientConfig, UserAgent};
use crate::settings::Settings;
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

/// The database every binary uses: [`DATABASE_URL_ENV`] when set; else ToolsDB when Toolforge
/// injected its credentials (`TOOL_TOOLSDB_USER`/`TOOL_TOOLSDB_PASSWORD`, database
/// `<user>__wikiscriptsync`); else the local SQLite default [`DEFAULT_DATABASE_URL`]. One rule
/// for the web app, the jobs and the CLI (decided by [`Settings`]), so that `migrate` on
/// Toolforge migrates the database the services use.
pub fn database_url(settings: &Settings) -> Result<DatabaseUrl, SetupError> {
    Ok(settings.database.url()?)
}

/// Opens the store, creating the directory of a SQLite file first, and checks or applies the
/// schema per `migrations`.
pub async fn open_store(
    url: &DatabaseUrl,
    migrations: MigrationPolicy,
) -> Result<Arc<dyn Store>, SetupError> {
    if let Some(dir) = sqlite_parent_dir(url.expose()) {
        // Owner-only, as the web app's development data directory (often the same `data/`)
        // must be: it holds the database and, in development, the keys.
        use std::os::unix::fs::DirBuilderExt as _;
        let mut builder = std::fs::DirBuilder::new();
        builder.recursive(true).mode(0o700);
        builder.create(dir).map_err(|err| SetupError::DataDir {
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

/// The operator's contact ([`CONTACT_ENV`]), required.
pub fn contact(settings: &Settings) -> Result<&str, SetupError> {
    settings.contact().map_err(|_| SetupError::MissingContact)
}

/// The contact development mode puts in the User-Agent when [`CONTACT_ENV`] is not set: the
/// project's home, so that requests from a laptop still identify the tool. Anything deployed
/// sets its own contact.
pub const DEVELOPMENT_CONTACT: &str = "https://gitlab.wikimedia.org/toolforge-repos/wikiscriptsync";

/// The User-Agent every binary sends: WikiScriptSync by name and version, reachable at
/// `contact` (the same value for the wiki and the forges). A library user names its own tool
/// with [`UserAgent::new`] instead.
pub fn user_agent(contact: &str) -> Result<UserAgent, SetupError> {
    UserAgent::new("wikiscriptsync", env!("CARGO_PKG_VERSION"), contact)
        .map_err(|err| SetupError::Wiki(mw::ConfigError::UserAgent(err)))
}

/// The MediaWiki client: User-Agent from [`CONTACT_ENV`], Wikimedia wikis plus
/// `WIKISCRIPTSYNC_EXTRA_WIKI_HOSTS`. `interactive` drops `maxlag` (a person is waiting).
pub fn wiki_client(settings: &Settings, interactive: bool) -> Result<ActionApiClient, SetupError> {
    wiki_client_with_contact(settings, contact(settings)?, interactive)
}

/// [`wiki_client`] with the User-Agent contact given (development mode's stand-in).
pub fn wiki_client_with_contact(
    settings: &Settings,
    contact: &str,
    interactive: bool,
) -> Result<ActionApiClient, SetupError> {
    let mut config = ClientConfig::new(user_agent(contact)?);
    config.allow_list = settings.allow_list.clone();
    if interactive {
        config = config.interactive();
    }
    Ok(ActionApiClient::new(config)?)
}

/// The forge router: GitHub and the GitLab instances with their tokens (see
/// [`crate::settings::ForgeSettings`]).
pub fn forges(settings: &Settings) -> Result<Forges, SetupError> {
    forges_with_contact(settings, contact(settings)?)
}

/// [`forges`] with the User-Agent contact given.
pub fn forges_with_contact(settings: &Settings, contact: &str) -> Result<Forges, SetupError> {
    let config = settings.forge.builder(user_agent(contact)?).build()?;
    Ok(Forges::new(config)?)
}

/// The web app's forge router: as [`forges_with_contact`], but a rate limit fails fast instead
/// of being slept out. A web request waits for nobody's quota: sleeping would hold the host's
/// request slot (and the page slot) for up to the forge's `Retry-After`, while every other
/// request to that host queued behind it. The jobs wait; a person is told when to retry.
pub fn web_forges_with_contact(settings: &Settings, contact: &str) -> Result<Forges, SetupError> {
    let config = settings
        .forge
        .builder(user_agent(contact)?)
        .rate_limit_waits(forge::RateLimitWaits::FailFast)
        .build()?;
    Ok(Forges::new(config)?)
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

    fn url_with(vars: &[(&str, &str)]) -> Result<DatabaseUrl, String> {
        let settings = Settings::from_lookup(|name| {
            vars.iter()
                .find(|(key, _)| *key == name)
                .map(|(_, value)| (*value).to_owned())
        })
        .map_err(|e| e.to_string())?;
        database_url(&settings).map_err(|e| e.to_string())
    }

    #[test]
    fn the_database_is_chosen_by_one_rule_for_every_binary() {
        let url = |vars: &[(&str, &str)]| url_with(vars).unwrap().expose().to_owned();
        assert_eq!(url(&[]), DEFAULT_DATABASE_URL);
        assert_eq!(
            url(&[(DATABASE_URL_ENV, " mysql://u@h/db ")]),
            "mysql://u@h/db"
        );
        let chosen = url(&[
            ("TOOL_TOOLSDB_USER", "s12345"),
            ("TOOL_TOOLSDB_PASSWORD", "pw"),
        ]);
        assert!(chosen.contains("tools.db.svc.wikimedia.cloud"), "{chosen}");
        assert!(chosen.ends_with("/s12345__wikiscriptsync"), "{chosen}");
        // An explicit URL wins over Toolforge's credentials.
        assert_eq!(
            url(&[
                ("TOOL_TOOLSDB_USER", "s12345"),
                (DATABASE_URL_ENV, "sqlite:x.db")
            ]),
            "sqlite:x.db"
        );
        // On Toolforge without a password: an error, not a silent local SQLite file.
        let error = url_with(&[("TOOL_TOOLSDB_USER", "s12345")]).unwrap_err();
        assert!(error.contains("TOOL_TOOLSDB_PASSWORD"), "{error}");
    }

    #[test]
    fn the_clients_need_a_contact_and_take_the_extra_hosts_and_tokens() {
        let none = Settings::from_lookup(|_| None).unwrap();
        assert!(matches!(forges(&none), Err(SetupError::MissingContact)));
        assert!(matches!(
            wiki_client(&none, true),
            Err(SetupError::MissingContact)
        ));
        let settings = Settings::from_lookup(|name| match name {
            CONTACT_ENV => Some("ops@example.org".to_owned()),
            "WIKISCRIPTSYNC_EXTRA_WIKI_HOSTS" => Some("127.0.0.1:8080".to_owned()),
            "WIKISCRIPTSYNC_GITHUB_TOKEN" => Some("ghp_x".to_owned()),
            _ => None,
        })
        .unwrap();
        let forges = forges(&settings).unwrap();
        assert!(forges.config().github().token.is_some());
        assert_eq!(
            forges.config().rate_limit_waits(),
            forge::RateLimitWaits::WaitAndRetry,
            "the jobs sleep out a short rate limit"
        );
        let web = web_forges_with_contact(&settings, "ops@example.org").unwrap();
        assert_eq!(
            web.config().rate_limit_waits(),
            forge::RateLimitWaits::FailFast,
            "a web request never sleeps out a rate limit"
        );
        assert!(web.config().github().token.is_some());
        // WikiScriptSync names itself, with the operator's contact, to the forges and the wiki.
        let ours = format!(
            "wikiscriptsync/{} (ops@example.org) reqwest/0.13",
            env!("CARGO_PKG_VERSION")
        );
        assert_eq!(forges.config().user_agent().as_str(), ours);
        let client = wiki_client(&settings, true).unwrap();
        assert_eq!(client.config().user_agent.as_str(), ours);
        assert!(mw::WikiApi::parse_wiki(&client, "http://127.0.0.1:8080").is_ok());
    }

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

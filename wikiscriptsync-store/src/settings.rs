//! Connection settings: which backend a URL selects, pool sizes, and the ToolsDB URL built
//! from Toolforge's credentials (given as values or read from a `replica.my.cnf`; the crate
//! reads no environment).

use std::fmt;
use std::path::PathBuf;
use std::time::Duration;

use secrecy::{ExposeSecret, SecretString};
use url::Url;

use crate::error::{StoreError, StoreResult};

/// The ToolsDB host on Toolforge.
pub const TOOLSDB_HOST: &str = "tools.db.svc.wikimedia.cloud";
/// Our database name suffix: the database is `<credential user>__wikiscriptsync`.
pub const TOOLSDB_DATABASE_SUFFIX: &str = "wikiscriptsync";

/// What to do about the schema when opening a store.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum MigrationPolicy {
    /// Apply pending migrations (local use, tests, the `migrate` command).
    Apply,
    /// Refuse to run unless the schema is exactly current (production services: migrations
    /// run once, as their own job).
    #[default]
    RequireCurrent,
}

/// Pool and schema settings. The defaults fit ToolsDB, which allows 10 connections per tool
/// across all its processes.
#[derive(Clone, PartialEq, Eq)]
pub struct StoreSettings {
    /// Most connections this process opens (default 4).
    pub max_connections: u32,
    /// Connections kept open when idle (default 0).
    pub min_connections: u32,
    /// Close a connection idle for this long (default 60 s).
    pub idle_timeout: Duration,
    /// Give up waiting for a connection (or for the server to answer a connect) after this
    /// long (default 10 s).
    pub acquire_timeout: Duration,
    /// How long SQLite waits for a lock held by another process (default 5 s).
    pub sqlite_busy_timeout: Duration,
    /// What to do about the schema on open.
    pub migrations: MigrationPolicy,
}

impl Default for StoreSettings {
    fn default() -> Self {
        Self {
            max_connections: 4,
            min_connections: 0,
            idle_timeout: Duration::from_secs(60),
            acquire_timeout: Duration::from_secs(10),
            sqlite_busy_timeout: Duration::from_secs(5),
            migrations: MigrationPolicy::RequireCurrent,
        }
    }
}

impl StoreSettings {
    /// The defaults with migrations applied on open.
    pub fn migrating() -> Self {
        Self {
            migrations: MigrationPolicy::Apply,
            ..Self::default()
        }
    }

    pub(crate) fn validate(&self) -> StoreResult<()> {
        if self.max_connections == 0 {
            return Err(StoreError::Config(
                "max_connections must be at least 1".to_owned(),
            ));
        }
        if self.min_connections > self.max_connections {
            return Err(StoreError::Config(format!(
                "min_connections ({}) is larger than max_connections ({})",
                self.min_connections, self.max_connections
            )));
        }
        Ok(())
    }
}

impl fmt::Debug for StoreSettings {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("StoreSettings")
            .field("max_connections", &self.max_connections)
            .field("min_connections", &self.min_connections)
            .field("idle_timeout", &self.idle_timeout)
            .field("acquire_timeout", &self.acquire_timeout)
            .field("sqlite_busy_timeout", &self.sqlite_busy_timeout)
            .field("migrations", &self.migrations)
            .finish()
    }
}

/// A database URL whose password is kept out of Debug and Display.
#[derive(Clone)]
pub struct DatabaseUrl(SecretString);

impl DatabaseUrl {
    /// Wrap a URL (it may contain a password).
    pub fn new(url: impl Into<String>) -> Self {
        Self(SecretString::from(url.into()))
    }

    /// The full URL, password included: pass it only to the driver.
    pub fn expose(&self) -> &str {
        self.0.expose_secret()
    }

    /// `scheme://user@host:port/database` without the password, for messages.
    pub fn redacted(&self) -> String {
        redact_url(self.expose())
    }
}

impl From<&str> for DatabaseUrl {
    fn from(url: &str) -> Self {
        Self::new(url)
    }
}

impl From<String> for DatabaseUrl {
    fn from(url: String) -> Self {
        Self::new(url)
    }
}

impl fmt::Debug for DatabaseUrl {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "DatabaseUrl({})", self.redacted())
    }
}

impl fmt::Display for DatabaseUrl {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.redacted())
    }
}

/// Drop the password (and query) from a URL for messages; unparsable input is reduced to its
/// scheme.
pub(crate) fn redact_url(url: &str) -> String {
    match Url::parse(url) {
        Ok(mut parsed) => {
            if parsed.password().is_some() {
                // Only fails for cannot-be-a-base URLs, which have no password anyway.
                let _ = parsed.set_password(Some("REDACTED"));
            }
            parsed.set_query(None);
            parsed.to_string()
        }
        Err(_) => format!("{}:…", url.split(':').next().unwrap_or("")),
    }
}

/// The database backends, chosen from the URL scheme.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Backend {
    /// `sqlite:` — an embedded file (laptop, tests).
    Sqlite,
    /// `mysql:` or `mariadb:` — MariaDB (ToolsDB).
    MariaDb,
}

impl Backend {
    /// The backend for a database URL, or [`StoreError::UnknownScheme`].
    pub fn from_url(url: &str) -> StoreResult<Self> {
        let Some((scheme, _)) = url.split_once(':') else {
            return Err(StoreError::InvalidUrl {
                reason: "expected `sqlite:PATH` or `mysql://user:password@host/database`"
                    .to_owned(),
            });
        };
        match scheme.to_ascii_lowercase().as_str() {
            "sqlite" => Ok(Self::Sqlite),
            "mysql" | "mariadb" => Ok(Self::MariaDb),
            other => Err(StoreError::UnknownScheme {
                scheme: other.to_owned(),
            }),
        }
    }
}

/// ToolsDB credentials, as Toolforge provides them.
#[derive(Clone)]
pub struct ToolsDbCredentials {
    /// The credential user (e.g. `s12345`), also the database name prefix.
    pub user: String,
    /// The password.
    pub password: SecretString,
}

impl fmt::Debug for ToolsDbCredentials {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ToolsDbCredentials")
            .field("user", &self.user)
            .field("password", &"[REDACTED]")
            .finish()
    }
}

impl ToolsDbCredentials {
    /// Credentials given as values (on Toolforge: `TOOL_TOOLSDB_USER` and
    /// `TOOL_TOOLSDB_PASSWORD`, read by `wikiscriptsync_core::settings`). The user must not be
    /// empty.
    pub fn new(user: impl Into<String>, password: SecretString) -> StoreResult<Self> {
        let user = user.into().trim().to_owned();
        if user.is_empty() {
            return Err(StoreError::Config(
                "the ToolsDB user is empty: give the credential user (e.g. s12345; operators: \
                 TOOL_TOOLSDB_USER)"
                    .to_owned(),
            ));
        }
        Ok(Self { user, password })
    }

    /// The credentials in the first `replica.my.cnf` found in `dirs` (Toolforge puts one in the
    /// tool's home directory), in order.
    pub fn from_replica_cnf(dirs: &[PathBuf]) -> StoreResult<Self> {
        let candidates: Vec<PathBuf> = dirs.iter().map(|dir| dir.join("replica.my.cnf")).collect();
        for path in &candidates {
            if let Ok(text) = std::fs::read_to_string(path) {
                return Self::from_my_cnf(&text)
                    .map_err(|error| StoreError::Config(format!("{}: {error}", path.display())));
            }
        }
        Err(StoreError::Config(format!(
            "no ToolsDB credentials: no replica.my.cnf (looked in: {}); give the credentials \
             as values instead (operators: TOOL_TOOLSDB_USER and TOOL_TOOLSDB_PASSWORD)",
            if candidates.is_empty() {
                "no directory given".to_owned()
            } else {
                candidates
                    .iter()
                    .map(|p| p.display().to_string())
                    .collect::<Vec<_>>()
                    .join(", ")
            }
        )))
    }

    /// Parse the `[client]` section of a `replica.my.cnf`.
    pub fn from_my_cnf(text: &str) -> StoreResult<Self> {
        let mut in_client = false;
        let mut user = None;
        let mut password = None;
        for line in text.lines().map(str::trim) {
            if line.starts_with('[') {
                in_client = line.eq_ignore_ascii_case("[client]");
                continue;
            }
            if !in_client || line.starts_with('#') || line.starts_with(';') {
                continue;
            }
            let Some((key, value)) = line.split_once('=') else {
                continue;
            };
            let value = unquote(value.trim()).to_owned();
            match key.trim() {
                "user" => user = Some(value),
                "password" => password = Some(SecretString::from(value)),
                _ => {}
            }
        }
        match (user, password) {
            (Some(user), Some(password)) if !user.is_empty() => Ok(Self { user, password }),
            _ => Err(StoreError::Config(
                "replica.my.cnf has no [client] section with both user and password".to_owned(),
            )),
        }
    }

    /// The `mysql://` URL of `<user>__<database_suffix>` on ToolsDB (`host` overridable for
    /// tests). Refuses a `_p` suffix: such databases are readable by every Toolforge user.
    pub fn database_url(&self, host: &str, database_suffix: &str) -> StoreResult<DatabaseUrl> {
        if database_suffix.is_empty() {
            return Err(StoreError::Config(
                "the database name suffix is empty".to_owned(),
            ));
        }
        if database_suffix.ends_with("_p") {
            return Err(StoreError::Config(format!(
                "refusing database suffix `{database_suffix}`: a `_p` database is readable by \
                 everyone on Toolforge; choose a name without `_p`"
            )));
        }
        let mut url = Url::parse(&format!("mysql://{host}/"))
            .map_err(|error| StoreError::Config(format!("bad ToolsDB host `{host}`: {error}")))?;
        let database = format!("{}__{database_suffix}", self.user);
        url.set_path(&database);
        url.set_username(&self.user)
            .and_then(|()| url.set_password(Some(self.password.expose_secret())))
            .map_err(|()| StoreError::Config(format!("bad ToolsDB host `{host}`")))?;
        Ok(DatabaseUrl::new(String::from(url)))
    }
}

fn unquote(value: &str) -> &str {
    for quote in ['\'', '"'] {
        if let Some(inner) = value
            .strip_prefix(quote)
            .and_then(|rest| rest.strip_suffix(quote))
        {
            return inner;
        }
    }
    value
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_backend_is_chosen_from_the_scheme_and_unknown_schemes_are_refused() {
        assert_eq!(
            Backend::from_url("sqlite:data.db").ok(),
            Some(Backend::Sqlite)
        );
        assert_eq!(
            Backend::from_url("mysql://h/d").ok(),
            Some(Backend::MariaDb)
        );
        assert_eq!(
            Backend::from_url("MariaDB://h/d").ok(),
            Some(Backend::MariaDb)
        );
        let error = Backend::from_url("postgres://h/d").unwrap_err();
        assert!(matches!(error, StoreError::UnknownScheme { ref scheme } if scheme == "postgres"));
        assert!(error.to_string().contains("sqlite:"));
        assert!(matches!(
            Backend::from_url("nocolon"),
            Err(StoreError::InvalidUrl { .. })
        ));
    }

    #[test]
    fn toolsdb_credentials_given_as_values_make_the_database_url() {
        let creds = ToolsDbCredentials::new(" s12345 ", SecretString::from("p@ss/word".to_owned()))
            .unwrap();
        let url = creds
            .database_url(TOOLSDB_HOST, TOOLSDB_DATABASE_SUFFIX)
            .unwrap();
        let parsed = Url::parse(url.expose()).unwrap();
        assert_eq!(parsed.host_str(), Some("tools.db.svc.wikimedia.cloud"));
        assert_eq!(parsed.path(), "/s12345__wikiscriptsync");
        assert_eq!(parsed.username(), "s12345");
        assert_eq!(parsed.password(), Some("p%40ss%2Fword"));
        assert!(
            !format!("{url:?} {url}").contains("p%40ss"),
            "password leaked"
        );
        assert!(!format!("{creds:?}").contains("p@ss"), "password leaked");
        let empty = ToolsDbCredentials::new(" ", SecretString::from("pw".to_owned())).unwrap_err();
        assert!(empty.to_string().contains("TOOL_TOOLSDB_USER"), "{empty}");
    }

    #[test]
    fn toolsdb_credentials_come_from_the_first_replica_my_cnf_found() {
        let data = tempfile::tempdir().unwrap();
        let home = tempfile::tempdir().unwrap();
        std::fs::write(
            home.path().join("replica.my.cnf"),
            "[client]\nuser = 'home_user'\npassword = 'home_pw'\n",
        )
        .unwrap();
        let dirs = [data.path().to_owned(), home.path().to_owned()];
        assert_eq!(
            ToolsDbCredentials::from_replica_cnf(&dirs).unwrap().user,
            "home_user"
        );
        std::fs::write(
            data.path().join("replica.my.cnf"),
            "[mysql]\nuser=wrong\n[client]\nuser=s999\npassword=\"data_pw\"\n",
        )
        .unwrap();
        let creds = ToolsDbCredentials::from_replica_cnf(&dirs).unwrap();
        assert_eq!(creds.user, "s999");
        assert_eq!(creds.password.expose_secret(), "data_pw");
    }

    #[test]
    fn missing_toolsdb_credentials_say_where_we_looked() {
        let dir = tempfile::tempdir().unwrap();
        let error = ToolsDbCredentials::from_replica_cnf(&[dir.path().to_owned()]).unwrap_err();
        let message = error.to_string();
        assert!(message.contains("TOOL_TOOLSDB_USER"), "{message}");
        assert!(
            message.contains(&dir.path().join("replica.my.cnf").display().to_string()),
            "{message}"
        );
        let nowhere = ToolsDbCredentials::from_replica_cnf(&[]).unwrap_err();
        assert!(nowhere.to_string().contains("no directory"), "{nowhere}");
    }

    #[test]
    fn a_public_underscore_p_database_is_refused() {
        let creds = ToolsDbCredentials::from_my_cnf("[client]\nuser=s1\npassword=x\n").unwrap();
        let error = creds
            .database_url(TOOLSDB_HOST, "wikiscriptsync_p")
            .unwrap_err();
        assert!(
            error.to_string().contains("readable by everyone"),
            "{error}"
        );
    }

    #[test]
    fn settings_debug_and_database_url_debug_hide_the_password() {
        let url = DatabaseUrl::new("mysql://root:hunter2@db:3306/x?ssl-mode=disabled");
        assert_eq!(url.redacted(), "mysql://root:REDACTED@db:3306/x");
        assert!(!format!("{url:?}").contains("hunter2"));
        let settings = StoreSettings::default();
        assert_eq!(settings.max_connections, 4);
        assert_eq!(settings.min_connections, 0);
        assert!(format!("{settings:?}").contains("max_connections: 4"));
    }

    #[test]
    fn pool_settings_are_validated() {
        let bad = StoreSettings {
            max_connections: 2,
            min_connections: 3,
            ..StoreSettings::default()
        };
        assert!(matches!(bad.validate(), Err(StoreError::Config(_))));
        assert!(StoreSettings::default().validate().is_ok());
    }
}

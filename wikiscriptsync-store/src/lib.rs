//! Persistence for WikiScriptSync: one [`Store`] trait with SQLite and MariaDB backends.
//!
//! ```
//! # #[tokio::main(flavor = "current_thread")]
//! # async fn main() -> Result<(), wikiscriptsync_store::StoreError> {
//! use wikiscriptsync_store::{StoreSettings, open};
//!
//! // `sqlite::memory:` for a throw-away database; `sqlite:path/to/file.sqlite3` or
//! // `mysql://user:password@host/database` for a kept one.
//! let store = open(&"sqlite::memory:".into(), &StoreSettings::migrating()).await?;
//! let saved = store.upsert_user("12345", "Example", chrono::Utc::now()).await?;
//! let user = store.user(saved.id).await?.expect("just saved");
//! assert_eq!(user.username, "Example");
//! # Ok(()) }
//! ```
//!
//! - The backend is chosen from the URL scheme: `sqlite:` or `mysql:`/`mariadb:`.
//! - Schema: the seed tool's tables (`sync_*`, `wiki_monitor_*`, `publish_*`,
//!   `notifications_*`, `accounts_toolvisit`) plus `users`, one migrations folder per backend
//!   embedded in the binary. Timestamps are BIGINT milliseconds since the epoch (UTC).
//! - The publish mutex is a unique "running slot" column in `publish_task`: the database
//!   itself refuses a second RUNNING task per user, across processes.
#![warn(missing_docs)]

mod backend;
mod error;
mod model;
mod rows;
mod settings;
mod store;
#[cfg(feature = "testkit")]
pub mod testkit;
mod text;

use std::sync::Arc;

pub use backend::{MySqlStore, SqliteStore};
pub use error::{StoreError, StoreResult};
pub use model::*;
pub use settings::{
    Backend, DatabaseUrl, MigrationPolicy, StoreSettings, TOOLSDB_DATABASE_SUFFIX, TOOLSDB_HOST,
    ToolsDbCredentials,
};
pub use store::{PUBLISH_TASK_EXPIRY, Store};

/// Open the store for `url`, choosing the backend from its scheme, and check (or apply,
/// per [`StoreSettings::migrations`]) the schema.
pub async fn open(url: &DatabaseUrl, settings: &StoreSettings) -> StoreResult<Arc<dyn Store>> {
    Ok(match Backend::from_url(url.expose())? {
        Backend::Sqlite => Arc::new(SqliteStore::open(url, settings).await?),
        Backend::MariaDb => Arc::new(MySqlStore::open(url, settings).await?),
    })
}

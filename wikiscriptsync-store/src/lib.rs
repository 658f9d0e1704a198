//! Persistence for WikiScriptSync: one [`Store`] trait with SQLite and MariaDB backends.
//!
//! ```no_run
//! # async fn demo() -> Result<(), wikiscriptsync_store::StoreError> {
//! use wikiscriptsync_store::{StoreSettings, open};
//! let store = open(&"sqlite:wikiscriptsync.db".into(), &StoreSettings::migrating()).await?;
//! let user = store.upsert_user("12345", "Example", chrono::Utc::now()).await?;
//! # let _ = user; Ok(()) }
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

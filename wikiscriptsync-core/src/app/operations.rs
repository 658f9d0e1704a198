//! What an operator does to the installation itself: migrating the database schema,
//! re-encrypting stored BotPasswords with the newest key, and clearing old logs and orphans.

use super::{App, UseCaseResult};
use crate::credentials::{RotationReport, rotate_credentials};
use crate::maintenance::{self, CleanupReport};
use crate::setup::{self, SetupError};
use crate::store::{DatabaseUrl, MigrationPolicy, MigrationReport, OrphanReport, StoreError};

/// What `migrate` did.
#[derive(Debug, Clone)]
pub struct MigrationOutcome {
    /// Migrations that were pending and are now applied.
    pub applied: usize,
    /// The schema as it now is.
    pub report: MigrationReport,
}

/// Brings the database at `url` to this binary's schema, saying how many migrations were
/// pending.
pub async fn migrate_database(url: &DatabaseUrl) -> Result<MigrationOutcome, SetupError> {
    // Open without touching the schema first, to say how many migrations were pending.
    let applied = match setup::open_store(url, MigrationPolicy::RequireCurrent).await {
        Ok(store) => {
            store.close().await;
            0
        }
        Err(SetupError::Store(StoreError::SchemaNotMigrated { pending })) => pending,
        Err(err) => return Err(err),
    };
    let store = setup::open_store(url, MigrationPolicy::Apply).await?;
    let report = store.migrate().await;
    store.close().await;
    Ok(MigrationOutcome {
        applied,
        report: report?,
    })
}

impl App {
    /// Re-encrypts every stored BotPassword with the newest configured key (or, with
    /// `dry_run`, counts what would be), so older keys can be retired.
    pub async fn rotate_credentials(&self, dry_run: bool) -> UseCaseResult<RotationReport> {
        let vault = self.vault()?;
        Ok(rotate_credentials(self.store.as_ref(), vault, dry_run).await?)
    }

    /// Deletes check, quota and notification log rows older than `days` days (never the
    /// publish log); with `dry_run`, only counts them.
    pub async fn cleanup_logs(
        &self,
        days: u32,
        dry_run: bool,
    ) -> Result<CleanupReport, StoreError> {
        maintenance::cleanup_logs(self.store.as_ref(), days, dry_run).await
    }

    /// Finds rows whose parent row is gone and deletes them (or, with `dry_run`, counts them).
    pub async fn clean_orphans(&self, dry_run: bool) -> Result<OrphanReport, StoreError> {
        self.store.clean_orphans(dry_run).await
    }

    /// How many keys the vault holds (1 + retired keys still accepted); 0 without a key.
    pub fn vault_key_count(&self) -> usize {
        self.vault
            .as_deref()
            .map_or(0, crate::vault::Vault::key_count)
    }
}

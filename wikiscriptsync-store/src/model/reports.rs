//! The dashboard, usage metrics and maintenance reports.

use chrono::NaiveDate;

use super::*;

/// A count of uses of one feature on one day (no personal data).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UsageCount {
    /// The day (UTC).
    pub day: NaiveDate,
    /// The feature (`dashboard`, `publish`, ...).
    pub feature: String,
    /// How many times.
    pub count: i64,
}

/// One repository's line on the dashboard: counts, not lists, so the dashboard costs the same
/// for 5 files as for 5,000.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RepositorySummary {
    /// The repository.
    pub repository: Repository,
    /// Watched files.
    pub files: u64,
    /// ... never checked yet.
    pub files_unchecked: u64,
    /// ... whose last check found them missing or failed.
    pub files_failing: u64,
    /// Mappings of its files.
    pub mappings: u64,
    /// ... that are [`MappingSyncState::InSync`].
    pub in_sync: u64,
    /// ... whose publishing is switched off.
    pub off: u64,
}

impl RepositorySummary {
    /// Mappings that are neither in sync nor switched off: they need the user.
    pub fn attention(&self) -> u64 {
        self.mappings.saturating_sub(self.in_sync + self.off)
    }
}

/// Everything the dashboard shows, read in a fixed number of queries whose answers do not
/// grow with the number of files, mappings or pages: counts per repository, and only the
/// items that need attention (up to a limit, with the total).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Dashboard {
    /// Repositories with their counts.
    pub repositories: Vec<RepositorySummary>,
    /// Mappings that are not in sync, the ones needing action first (at most the limit asked
    /// for).
    pub attention: Vec<MappingStatus>,
    /// Watched files whose last check found them missing or failed (at most the limit).
    pub failing_files: Vec<FailingFile>,
    /// Monitored pages, those whose last check saw an edit, deletion, move or error first (at
    /// most the limit).
    pub pages: Vec<PageMonitor>,
    /// How many pages the user monitors.
    pub pages_total: u64,
    /// Stored BotPasswords (summaries).
    pub credentials: Vec<CredentialSummary>,
    /// The newest publish attempts.
    pub recent_publishes: Vec<PublishLogEntry>,
    /// The newest notifications.
    pub recent_notifications: Vec<NotificationLogEntry>,
}

impl Dashboard {
    /// How many mappings need the user in all ([`RepositorySummary::attention`] summed);
    /// `attention` lists at most the limit asked for.
    pub fn attention_total(&self) -> u64 {
        self.repositories
            .iter()
            .map(RepositorySummary::attention)
            .sum()
    }
}

/// A watched file whose last check found it missing or failed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FailingFile {
    /// The file.
    pub file: WatchedFile,
    /// The repository's URL.
    pub repository_url: String,
}

/// How many items of each list the dashboard asks for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct DashboardLimits {
    /// Publishes and notifications.
    pub recent: u32,
    /// Mappings needing attention, failing files, and monitored pages.
    pub items: u32,
}

/// Rows removed (or, in a dry run, that would be removed) by retention.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct RetentionReport {
    /// sync_filechecklog rows.
    pub file_checks: u64,
    /// wiki_monitor_wikipage_checklog rows.
    pub page_checks: u64,
    /// sync_apiquotalog rows.
    pub api_quota: u64,
    /// notifications_notificationlog rows.
    pub notifications: u64,
    /// Whether this was a dry run (nothing deleted).
    pub dry_run: bool,
}

/// Rows whose parent row is gone (possible when foreign keys were off, e.g. after a manual
/// import), removed or, in a dry run, counted.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct OrphanReport {
    /// `(table, rows)` for each child table, parents before children.
    pub tables: Vec<(&'static str, u64)>,
    /// Whether this was a dry run (nothing deleted).
    pub dry_run: bool,
}

impl OrphanReport {
    /// All orphans together.
    pub fn total(&self) -> u64 {
        self.tables.iter().map(|(_, n)| n).sum()
    }
}

//! Maintenance: log retention (`cleanup-logs`), orphaned rows (`clean-orphan-data`) and the
//! health check (`check-health`: database reachable and migrated, encryption key valid, each
//! probed forge and wiki reachable with our User-Agent).

use chrono::{DateTime, Utc};

use crate::forge::Forges;
use crate::mw::WikiApi;
use crate::store::{OrphanReport, RetentionReport, Store, StoreError};

/// Log rows older than this many days are removed by default.
pub const DEFAULT_RETENTION_DAYS: u32 = 90;
/// The variable overriding [`DEFAULT_RETENTION_DAYS`] for the scheduled job.
pub const RETENTION_DAYS_ENV: &str = "WIKISCRIPTSYNC_LOG_RETENTION_DAYS";
/// API hosts (`host[:port]`, comma-separated) `check-health` limits the forge checks to;
/// unset: every configured GitHub and GitLab instance.
pub const HEALTH_FORGES_ENV: &str = "WIKISCRIPTSYNC_HEALTH_FORGES";
/// Wikis `check-health` asks for `meta=userinfo` (comma-separated).
pub const HEALTH_PROBE_WIKIS_ENV: &str = "WIKISCRIPTSYNC_HEALTH_PROBE_WIKIS";
/// Probed when [`HEALTH_PROBE_WIKIS_ENV`] is not set.
pub const DEFAULT_HEALTH_PROBE_WIKIS: &str = "meta.wikimedia.org";

/// What `cleanup-logs` did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CleanupReport {
    /// Rows older than this were removed (or counted).
    pub cutoff: DateTime<Utc>,
    /// Rows per log.
    pub removed: RetentionReport,
}

impl CleanupReport {
    /// The one-line summary.
    pub fn summary(&self) -> String {
        let r = &self.removed;
        format!(
            "cleanup-logs: {} {} rows older than {} (file checks {}, page checks {}, API quota {}, \
             notifications {}); the publish log is kept",
            if r.dry_run { "would remove" } else { "removed" },
            r.file_checks + r.page_checks + r.api_quota + r.notifications,
            self.cutoff.format("%Y-%m-%d %H:%M UTC"),
            r.file_checks,
            r.page_checks,
            r.api_quota,
            r.notifications
        )
    }
}

/// Removes check, quota and notification log rows older than `older_than_days` (or counts
/// them with `dry_run`). The publish log is permanent and never touched.
pub async fn cleanup_logs(
    store: &dyn Store,
    older_than_days: u32,
    dry_run: bool,
) -> Result<CleanupReport, StoreError> {
    let cutoff = Utc::now() - chrono::Duration::days(i64::from(older_than_days.max(1)));
    let removed = store.purge_logs(cutoff, dry_run).await?;
    Ok(CleanupReport { cutoff, removed })
}

/// The one-line summary of `clean-orphan-data`.
pub fn orphan_summary(report: &OrphanReport) -> String {
    let tables: Vec<String> = report
        .tables
        .iter()
        .filter(|(_, n)| *n > 0)
        .map(|(t, n)| format!("{t} {n}"))
        .collect();
    format!(
        "clean-orphan-data: {} {} orphaned rows{}",
        if report.dry_run { "found" } else { "removed" },
        report.total(),
        if tables.is_empty() {
            String::new()
        } else {
            format!(" ({})", tables.join(", "))
        }
    )
}

/// One line of the health check.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HealthCheck {
    /// What was checked (`database`, `encryption key`, `forge github.com`, `wiki ...`).
    pub name: String,
    /// Whether it is fine.
    pub ok: bool,
    /// What was found, or what is wrong and what to do.
    pub detail: String,
}

/// Every check of `check-health`.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct HealthReport {
    /// The checks, in order.
    pub checks: Vec<HealthCheck>,
}

impl HealthReport {
    /// Whether everything is fine.
    pub fn ok(&self) -> bool {
        self.checks.iter().all(|c| c.ok)
    }

    /// Adds a check.
    pub fn push(&mut self, name: impl Into<String>, result: Result<String, String>) {
        let (ok, detail) = match result {
            Ok(detail) => (true, detail),
            Err(detail) => (false, detail),
        };
        self.checks.push(HealthCheck {
            name: name.into(),
            ok,
            detail,
        });
    }

    /// The one-line summary.
    pub fn summary(&self) -> String {
        let failed: Vec<&str> = self
            .checks
            .iter()
            .filter(|c| !c.ok)
            .map(|c| c.name.as_str())
            .collect();
        if failed.is_empty() {
            format!("check-health: all {} checks passed", self.checks.len())
        } else {
            format!(
                "check-health: {} of {} checks failed: {}",
                failed.len(),
                self.checks.len(),
                failed.join(", ")
            )
        }
    }
}

/// The database answers and its schema is this binary's.
pub async fn check_database(store: &dyn Store) -> Result<String, String> {
    store
        .health()
        .await
        .map(|()| format!("{} answers; schema is current", store.backend()))
        .map_err(|e| e.to_string())
}

/// The database at `url` opens, answers and has exactly this binary's schema (it is closed
/// again; nothing is migrated).
pub async fn check_database_at(url: &crate::store::DatabaseUrl) -> Result<String, String> {
    match crate::setup::open_store(url, crate::store::MigrationPolicy::RequireCurrent).await {
        Ok(store) => {
            let result = check_database(store.as_ref()).await;
            store.close().await;
            result
        }
        Err(err) => Err(err.to_string()),
    }
}

/// Each configured forge instance answers our User-Agent and accepts our token (GitHub
/// `/rate_limit`, free of quota; GitLab `/version`): one request per instance. `only` limits
/// the check to these API hosts (`host[:port]`); empty means every configured instance.
pub async fn check_forges(forges: &Forges, only: &[String], report: &mut HealthReport) {
    let config = forges.config();
    let instances = std::iter::once(config.github()).chain(config.gitlab_instances());
    for instance in instances {
        let base = &instance.api_base;
        let host = match base.port() {
            Some(port) => format!("{}:{port}", base.host_str().unwrap_or_default()),
            None => base.host_str().unwrap_or_default().to_owned(),
        };
        if !only.is_empty() && !only.contains(&host) {
            continue;
        }
        let health = forges.check_instance(instance).await;
        let result = health
            .result
            .map(|snapshot| {
                let token = if health.authenticated {
                    "token accepted"
                } else {
                    "no token"
                };
                let quota = snapshot
                    .and_then(|s| s.remaining.zip(s.limit))
                    .map(|(r, l)| format!("; quota {r}/{l} left"))
                    .unwrap_or_default();
                format!("answers ({token}){quota}")
            })
            .map_err(|e| e.to_string());
        report.push(format!("{} {}", health.kind, health.api_base), result);
    }
}

/// Each wiki answers `meta=userinfo` anonymously (one request each, with our User-Agent).
pub async fn check_wikis(wiki: &dyn WikiApi, wikis: &[String], report: &mut HealthReport) {
    for name in wikis {
        let result = async {
            let url = wiki.parse_wiki(name).map_err(|e| e.to_string())?;
            let session = wiki.anonymous(&url).map_err(|e| e.to_string())?;
            session.user_info().await.map_err(|e| e.to_string())?;
            Ok(format!("{} answers", url.api_url()))
        }
        .await;
        report.push(format!("wiki {name}"), result);
    }
}

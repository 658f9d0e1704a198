//! The operator commands around monitoring: `check-updates`, `check-wiki-updates`,
//! `check-health`, `cleanup-logs` and `clean-orphan-data`. Each prints a progress line on a
//! terminal, a one-line summary at the end, and one JSON object with `--json`.

use std::io::{IsTerminal as _, Write as _};
use std::sync::Arc;

use clap::Subcommand;
use serde_json::{Value, json};
use wikiscriptsync_core::jobs::{
    self, PageJobReport, RepositoryJobReport, RunEnd, Services, StopSignal,
};
use wikiscriptsync_core::maintenance::{self, HealthReport};
use wikiscriptsync_core::monitor::{ChangeEvent, Progress, ProgressSink, RunOutlook, Selection};
use wikiscriptsync_core::notify::NotifyReport;
use wikiscriptsync_core::settings::Settings;
use wikiscriptsync_core::setup;
use wikiscriptsync_core::store::{PageMonitorId, RepositoryId};
use wikiscriptsync_core::vault::KEY_ENV_VAR;

use crate::{Exit, Failure};

/// Monitoring and maintenance commands.
#[derive(Debug, Subcommand)]
pub(crate) enum CheckCommand {
    /// Check every due repository for changed watched files, then notify (what the hourly job
    /// runs). Repositories are claimed, so this is safe while the job runs too. The summary
    /// says what is due next and what another runner holds.
    CheckUpdates {
        /// Check every repository now, due or not (except those another runner holds).
        #[arg(long, conflicts_with = "repo")]
        all: bool,
        /// Check this repository now, due or not (repeatable).
        #[arg(long, value_name = "ID")]
        repo: Vec<i64>,
        /// Print one JSON object: counts, every changed file with old and new blob SHA,
        /// failures, notifications and the outlook.
        #[arg(long)]
        json: bool,
    },
    /// Check every due monitored wiki page for new revisions, then notify (what the 30-minute
    /// job runs). The summary says what is due next and what another runner holds.
    CheckWikiUpdates {
        /// Check every monitored page now, due or not (except those another runner holds).
        #[arg(long, conflicts_with = "page")]
        all: bool,
        /// Check this page monitor now, due or not (repeatable).
        #[arg(long, value_name = "ID")]
        page: Vec<i64>,
        /// Print one JSON object: counts, every changed page with old and new revision, and
        /// the outlook.
        #[arg(long)]
        json: bool,
    },
    /// Check the database (reachable, migrated), the encryption key, and that the forges
    /// and wikis answer our User-Agent. Exit code 1 when anything is wrong.
    ///
    /// Probed: every configured GitHub and GitLab API (one request each; GitHub's costs no
    /// quota), or only the hosts in WIKISCRIPTSYNC_HEALTH_FORGES, and the wikis in
    /// WIKISCRIPTSYNC_HEALTH_PROBE_WIKIS (default meta.wikimedia.org), comma-separated.
    CheckHealth {
        /// Print one JSON object.
        #[arg(long)]
        json: bool,
    },
    /// Remove check, quota and notification log rows older than the retention period (the
    /// publish log is permanent).
    CleanupLogs {
        /// Only count what would be removed.
        #[arg(long)]
        dry_run: bool,
        /// Remove rows older than this many days (default: WIKISCRIPTSYNC_LOG_RETENTION_DAYS,
        /// else 90).
        #[arg(long, value_name = "DAYS", value_parser = clap::value_parser!(u32).range(1..))]
        older_than: Option<u32>,
        /// Print one JSON object.
        #[arg(long)]
        json: bool,
    },
    /// Find rows whose parent row is gone (possible after manual imports) and remove them.
    CleanOrphanData {
        /// Only count them.
        #[arg(long)]
        dry_run: bool,
        /// Print one JSON object.
        #[arg(long)]
        json: bool,
    },
}

impl CheckCommand {
    /// Whether `--json` was given.
    fn json(&self) -> bool {
        match self {
            Self::CheckUpdates { json, .. }
            | Self::CheckWikiUpdates { json, .. }
            | Self::CheckHealth { json }
            | Self::CleanupLogs { json, .. }
            | Self::CleanOrphanData { json, .. } => *json,
        }
    }
}

/// Runs a check command. With `--json` a failure (an unreachable database, a bad variable) is
/// also one JSON object on standard output, so that a script reading it always gets an answer
/// it can parse; the message still goes to standard error and the exit code is unchanged.
pub(crate) async fn run(command: CheckCommand, settings: &Settings) -> Result<Exit, Failure> {
    let json = command.json();
    let result = run_command(command, settings).await;
    if json && let Err(failure) = &result {
        println!("{}", failure_json(failure));
    }
    result
}

/// `{"ok": false, "outcome": "usage_error" | "failed", "message": ...}`.
fn failure_json(failure: &Failure) -> Value {
    let (outcome, message) = match failure {
        Failure::Usage(message) => ("usage_error", message.clone()),
        Failure::Other(error) => ("failed", format!("{error:#}")),
    };
    json!({"ok": false, "outcome": outcome, "message": message})
}

async fn run_command(command: CheckCommand, settings: &Settings) -> Result<Exit, Failure> {
    match command {
        CheckCommand::CheckUpdates { all, repo, json } => {
            let selection = Selection::from_flags(all, repo.into_iter().map(RepositoryId));
            let services = services(settings).await?;
            let progress = progress_line(json);
            let result =
                jobs::check_updates_until(&services, &selection, progress, jobs::stop_signal())
                    .await;
            services.close().await;
            finish_progress(json);
            match result? {
                RunEnd::Finished(report) => print_repositories(&report, json),
                stopped => return Ok(print_stopped("check-updates", stopped, json)),
            }
            Ok(Exit::Ok)
        }
        CheckCommand::CheckWikiUpdates { all, page, json } => {
            let selection = Selection::from_flags(all, page.into_iter().map(PageMonitorId));
            let services = services(settings).await?;
            let progress = progress_line(json);
            let result = jobs::check_wiki_updates_until(
                &services,
                &selection,
                progress,
                jobs::stop_signal(),
            )
            .await;
            services.close().await;
            finish_progress(json);
            match result? {
                RunEnd::Finished(report) => print_pages(&report, json),
                stopped => return Ok(print_stopped("check-wiki-updates", stopped, json)),
            }
            Ok(Exit::Ok)
        }
        CheckCommand::CheckHealth { json } => Ok(health(json, settings).await),
        CheckCommand::CleanupLogs {
            dry_run,
            older_than,
            json,
        } => {
            let days = older_than.unwrap_or(settings.log_retention_days);
            let app = crate::manage::open_app(settings, false).await?;
            let result = app.cleanup_logs(days, dry_run).await;
            app.close().await;
            let report = result?;
            if json {
                let r = report.removed;
                println!(
                    "{}",
                    json!({
                        "ok": true,
                        "dry_run": r.dry_run,
                        "cutoff": report.cutoff.to_rfc3339(),
                        "file_checks": r.file_checks,
                        "page_checks": r.page_checks,
                        "api_quota": r.api_quota,
                        "notifications": r.notifications,
                    })
                );
            } else {
                println!("{}", report.summary());
            }
            Ok(Exit::Ok)
        }
        CheckCommand::CleanOrphanData { dry_run, json } => {
            let app = crate::manage::open_app(settings, false).await?;
            let result = app.clean_orphans(dry_run).await;
            app.close().await;
            let report = result?;
            if json {
                let tables: serde_json::Map<String, Value> = report
                    .tables
                    .iter()
                    .map(|(t, n)| ((*t).to_owned(), json!(n)))
                    .collect();
                println!(
                    "{}",
                    json!({"ok": true, "dry_run": report.dry_run, "total": report.total(), "tables": tables})
                );
            } else {
                println!("{}", maintenance::orphan_summary(&report));
            }
            Ok(Exit::Ok)
        }
    }
}

async fn services(settings: &Settings) -> Result<Services, Failure> {
    Services::from_settings(settings)
        .await
        .map_err(|err| match err {
            jobs::JobError::Setup(
                setup::SetupError::MissingContact
                | setup::SetupError::Wiki(_)
                | setup::SetupError::Forge(_),
            ) => Failure::Usage(err.to_string()),
            other => Failure::Other(other.into()),
        })
}

/// A progress line on standard error when it is a terminal (and not in JSON mode).
fn progress_line(json: bool) -> Option<ProgressSink> {
    if json || !std::io::stderr().is_terminal() {
        return None;
    }
    Some(Arc::new(|p: Progress| {
        let mut err = std::io::stderr().lock();
        let _ = write!(err, "\r{} done, {} in progress   ", p.done, p.pending);
        let _ = err.flush();
    }))
}

/// Says that a check run was stopped by a signal and what it gave back (`{"ok": false,
/// "outcome": "stopped", ...}` with `--json`); the exit code is the signal's.
fn print_stopped<T>(job: &str, end: RunEnd<T, StopSignal>, json: bool) -> Exit {
    let RunEnd::Stopped {
        by,
        released,
        release_error,
    } = end
    else {
        return Exit::Ok;
    };
    let message = match &release_error {
        None => format!(
            "{job}: stopped by {}; gave back {released} claims (due again at once)",
            by.name()
        ),
        Some(err) => format!(
            "{job}: stopped by {}; could not give back its claims ({err}): they expire with \
             their leases",
            by.name()
        ),
    };
    if json {
        println!(
            "{}",
            json!({"ok": false, "outcome": "stopped", "signal": by.name(),
                   "released": released, "message": message})
        );
    } else {
        println!("{message}");
    }
    match by {
        StopSignal::Interrupt => Exit::Interrupted,
        StopSignal::Terminate => Exit::Terminated,
    }
}

fn finish_progress(json: bool) {
    if !json && std::io::stderr().is_terminal() {
        eprintln!();
    }
}

/// The outlook as JSON: the queue after the run, and the items asked for but not checked.
fn outlook_json(outlook: Option<&RunOutlook>) -> Value {
    let Some(o) = outlook else {
        return Value::Null;
    };
    let held: Vec<Value> = o
        .held
        .iter()
        .map(|h| json!({"id": h.id, "until": h.until.to_rfc3339()}))
        .collect();
    json!({
        "at": o.at.to_rfc3339(),
        "due": o.queue.due,
        "next_due_at": o.queue.next_due_at.map(|t| t.to_rfc3339()),
        "held_by_another_runner": o.queue.held,
        "held_until": o.queue.held_until.map(|t| t.to_rfc3339()),
        "asked_but_held": held,
        "not_found": o.not_found,
    })
}

fn print_repositories(report: &RepositoryJobReport, json: bool) {
    let r = &report.checks;
    if !json {
        for event in &r.changes {
            println!("  {}", change_line(event));
        }
        for failure in &r.failures {
            println!(
                "  failed: {} ({}): {}",
                failure.url, failure.branch, failure.detail
            );
        }
        println!("{}", r.summary());
        println!("{}", report.notifications.summary());
        return;
    }
    let changes: Vec<Value> = r.changes.iter().map(change_json).collect();
    let failures: Vec<Value> = r
        .failures
        .iter()
        .map(|f| json!({"repository": f.url, "branch": f.branch, "error": f.detail}))
        .collect();
    let reserve: Vec<Value> = r
        .reserve_reached
        .iter()
        .map(|q| {
            json!({
                "host": q.host,
                "remaining": q.remaining,
                "reset_at": q.reset_at.map(|t| t.to_rfc3339()),
                "repositories_left": q.skipped,
            })
        })
        .collect();
    println!(
        "{}",
        json!({
            "ok": true,
            "checked": r.checked,
            "unchanged": r.unchanged,
            "moved": r.moved,
            "failed": r.failed,
            "files_checked": r.files_checked,
            "requests": r.requests,
            "quota_spent": r.quota_spent,
            "not_modified": r.not_modified,
            "lease_lost": r.lease_lost,
            "changes": changes,
            "failures": failures,
            "quota_reserve_reached": reserve,
            "shares_spent": r.shares_spent.iter().map(|s| json!({
                "user_id": s.spent.user.0,
                "host": s.spent.host,
                "share": s.spent.share,
                "spent": s.spent.spent,
                "resumes_at": s.spent.resumes_at.to_rfc3339(),
                "repositories_left": s.skipped,
            })).collect::<Vec<_>>(),
            "outlook": outlook_json(r.outlook.as_ref()),
            "notifications": notifications_json(&report.notifications),
            "summary": r.summary(),
        })
    );
}

fn print_pages(report: &PageJobReport, json: bool) {
    let r = &report.checks;
    if !json {
        for event in &r.changes {
            println!("  {}", change_line(event));
        }
        for failure in &r.failures {
            println!(
                "  failed: {} ({} pages): {}",
                failure.wiki, failure.pages, failure.detail
            );
        }
        println!("{}", r.summary());
        println!("{}", report.notifications.summary());
        return;
    }
    let changes: Vec<Value> = r.changes.iter().map(change_json).collect();
    let failures: Vec<Value> = r
        .failures
        .iter()
        .map(|f| json!({"wiki": f.wiki, "pages": f.pages, "error": f.detail}))
        .collect();
    println!(
        "{}",
        json!({
            "ok": true,
            "checked": r.checked,
            "wikis": r.wikis,
            "unchanged": r.unchanged,
            "changed": r.changed,
            "deleted": r.deleted,
            "moved": r.moved,
            "errors": r.errors,
            "requests": r.requests,
            "lease_lost": r.lease_lost,
            "changes": changes,
            "failures": failures,
            "outlook": outlook_json(r.outlook.as_ref()),
            "notifications": notifications_json(&report.notifications),
            "summary": r.summary(),
        })
    );
}

/// A change as one line of text.
fn change_line(event: &ChangeEvent) -> String {
    match event {
        ChangeEvent::FileChanged(f) | ChangeEvent::FileMissing(f) => format!(
            "{}: {} {} ({}) {} → {} at {}",
            event.kind(),
            f.repository_url,
            f.path,
            f.branch,
            f.old_blob_sha.as_deref().unwrap_or("none"),
            f.new_blob_sha.as_deref().unwrap_or("none"),
            f.commit_sha
        ),
        ChangeEvent::PageChanged(p) | ChangeEvent::PageDeleted(p) | ChangeEvent::PageMoved(p) => {
            format!(
                "{}: {} {} r{} → r{}{}{}",
                event.kind(),
                p.wiki,
                p.title,
                p.old_revid
                    .map_or_else(|| "?".to_owned(), |r| r.to_string()),
                p.new_revid
                    .map_or_else(|| "-".to_owned(), |r| r.to_string()),
                p.editor
                    .as_deref()
                    .map(|e| format!(" by {e}"))
                    .unwrap_or_default(),
                p.new_title
                    .as_deref()
                    .map(|t| format!(" (now {t})"))
                    .unwrap_or_default(),
            )
        }
    }
}

fn change_json(event: &ChangeEvent) -> Value {
    match event {
        ChangeEvent::FileChanged(f) | ChangeEvent::FileMissing(f) => json!({
            "kind": event.kind(),
            "repository": f.repository_url,
            "branch": f.branch,
            "path": f.path,
            "old_sha": f.old_blob_sha,
            "new_sha": f.new_blob_sha,
            "commit": f.commit_sha,
            "commit_url": f.commit_url,
        }),
        ChangeEvent::PageChanged(p) | ChangeEvent::PageDeleted(p) | ChangeEvent::PageMoved(p) => {
            json!({
                "kind": event.kind(),
                "wiki": p.wiki,
                "title": p.title,
                "old_revision": p.old_revid,
                "new_revision": p.new_revid,
                "editor": p.editor,
                "timestamp": p.timestamp,
                "summary": p.summary,
                "diff_url": p.diff_url,
                "new_title": p.new_title,
            })
        }
    }
}

fn notifications_json(report: &NotifyReport) -> Value {
    json!({
        "enabled": report.enabled,
        "sent": report.sent,
        "retried": report.retried,
        "failed": report.failures.len(),
        "already_sent": report.already_sent,
        "switched_off": report.disabled_kind,
        "no_home_wiki": report.no_home_wiki,
        "summary": report.summary(),
    })
}

/// Runs every health check; exit code 1 when any failed.
async fn health(json: bool, settings: &Settings) -> Exit {
    let mut report = HealthReport::default();
    match setup::database_url(settings) {
        Ok(url) => report.push(
            format!("database {}", url.redacted()),
            maintenance::check_database_at(&url).await,
        ),
        Err(err) => report.push("database", Err(err.to_string())),
    }
    report.push(
        "encryption key",
        match &settings.credential_keys {
            None => Err(format!(
                "{KEY_ENV_VAR} is not set: stored BotPasswords cannot be decrypted; create one \
                 with `wikiscriptsync generate-key`"
            )),
            Some(_) => settings
                .vault()
                .map(|v| format!("{} key(s), valid", v.key_count()))
                .map_err(|e| e.to_string()),
        },
    );
    match setup::forges(settings) {
        Ok(forges) => {
            maintenance::check_forges(&forges, &settings.health_forges, &mut report).await;
        }
        Err(err) => report.push("forge configuration", Err(err.to_string())),
    }
    match setup::wiki_client(settings, true) {
        Ok(client) => {
            maintenance::check_wikis(&client, &settings.health_probe_wikis, &mut report).await;
        }
        Err(err) => report.push("wiki configuration", Err(err.to_string())),
    }
    report.push(
        "notification bot",
        match &settings.notify_bot {
            Some(bot) => Ok(format!("configured as {}", bot.login_name())),
            None => Ok("not configured: checks run, notifications are off".to_owned()),
        },
    );
    if json {
        let checks: Vec<Value> = report
            .checks
            .iter()
            .map(|c| json!({"name": c.name, "ok": c.ok, "detail": c.detail}))
            .collect();
        println!(
            "{}",
            json!({"ok": report.ok(), "checks": checks, "summary": report.summary()})
        );
    } else {
        for check in &report.checks {
            println!(
                "  [{}] {}: {}",
                if check.ok { " ok " } else { "FAIL" },
                check.name,
                check.detail
            );
        }
        println!("{}", report.summary());
    }
    if report.ok() { Exit::Ok } else { Exit::Other }
}

//! `wikiscriptsync-jobs`: what Toolforge's scheduler runs.
//!
//! One command per scheduled job — `check-updates` (hourly: repository files),
//! `check-wiki-updates` (every 30 minutes: wiki pages) and `cleanup-logs` (nightly) — plus
//! `run-scheduler`, which runs all three locally on their intervals until SIGTERM or Ctrl-C.
//! The work lives in `wikiscriptsync-core` (`jobs`); this binary parses arguments, sets up
//! logging and prints one summary line per run. Exit codes: 0 the job ran (failures of single
//! repositories or pages are logged, not fatal), 1 the job could not run or stopped early,
//! 2 configuration error, 130/143 a check run stopped by SIGINT/SIGTERM (its claims given back).

use std::io::IsTerminal as _;
use std::process::ExitCode;
use std::time::Duration;

use clap::{Parser, Subcommand};
use wikiscriptsync_core::jobs::{self, JobError, RunEnd, Schedule, Services, StopSignal};
use wikiscriptsync_core::monitor::Selection;
use wikiscriptsync_core::settings::{Settings, vars};
use wikiscriptsync_core::store::{PageMonitorId, RepositoryId};

/// The variables the jobs read, from the one list in core, and how logs are written.
fn env_help() -> String {
    format!(
        "{}\n\nLogs are JSON lines when standard error is not a terminal.",
        vars::env_help(vars::Reader::Jobs)
    )
}

/// The scheduled jobs of WikiScriptSync.
#[derive(Debug, Parser)]
#[command(name = "wikiscriptsync-jobs", version, about, after_help = env_help())]
struct Cli {
    #[command(subcommand)]
    job: Job,
}

#[derive(Debug, Subcommand)]
enum Job {
    /// Check every due repository for changed files, then notify (hourly). The summary says
    /// what is due next and what another runner holds.
    CheckUpdates {
        /// Check every repository now, due or not (except those another runner holds).
        #[arg(long, conflicts_with = "repo")]
        all: bool,
        /// Check this repository now, due or not (repeatable).
        #[arg(long, value_name = "ID")]
        repo: Vec<i64>,
    },
    /// Check every due monitored wiki page for new revisions, then notify (every 30 minutes).
    /// The summary says what is due next and what another runner holds.
    CheckWikiUpdates {
        /// Check every monitored page now, due or not (except those another runner holds).
        #[arg(long, conflicts_with = "page")]
        all: bool,
        /// Check this page monitor now, due or not (repeatable).
        #[arg(long, value_name = "ID")]
        page: Vec<i64>,
    },
    /// Remove check, quota and notification log rows past the retention period (nightly).
    CleanupLogs {
        /// Only count what would be removed.
        #[arg(long)]
        dry_run: bool,
    },
    /// Run all three jobs on their intervals until SIGTERM or Ctrl-C (local use).
    RunScheduler {
        /// Minutes between check-updates runs.
        #[arg(long, value_name = "MIN", default_value_t = 60, value_parser = clap::value_parser!(u64).range(1..))]
        repositories_every: u64,
        /// Minutes between check-wiki-updates runs.
        #[arg(long, value_name = "MIN", default_value_t = 30, value_parser = clap::value_parser!(u64).range(1..))]
        pages_every: u64,
        /// Hours between cleanup-logs runs.
        #[arg(long, value_name = "H", default_value_t = 24, value_parser = clap::value_parser!(u64).range(1..))]
        cleanup_every: u64,
    },
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    init_logging();
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(runtime) => runtime,
        Err(err) => {
            eprintln!("error: cannot start the async runtime: {err}");
            return ExitCode::from(1);
        }
    };
    match runtime.block_on(run(cli.job)) {
        Ok(None) => ExitCode::SUCCESS,
        Ok(Some(signal)) => ExitCode::from(signal.exit_code()),
        Err(err) => {
            tracing::error!(error = %err, "job failed");
            eprintln!("error: {err}");
            ExitCode::from(match err {
                Failed::Settings(_) | Failed::Job(JobError::Setup(_)) => 2,
                _ => 1,
            })
        }
    }
}

/// Plain logs on a terminal, JSON lines otherwise (Toolforge keeps them with the job).
fn init_logging() {
    let filter = tracing_subscriber::EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info"));
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr);
    if std::io::stderr().is_terminal() {
        builder.init();
    } else {
        builder.json().init();
    }
}

/// Why a job did not run to the end.
#[derive(Debug)]
enum Failed {
    /// The environment holds unusable values.
    Settings(wikiscriptsync_core::settings::SettingsError),
    /// The job could not run, or stopped early.
    Job(JobError),
}

impl std::fmt::Display for Failed {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::Settings(err) => err.fmt(f),
            Self::Job(err) => err.fmt(f),
        }
    }
}

impl From<wikiscriptsync_core::settings::SettingsError> for Failed {
    fn from(err: wikiscriptsync_core::settings::SettingsError) -> Self {
        Self::Settings(err)
    }
}

impl From<JobError> for Failed {
    fn from(err: JobError) -> Self {
        Self::Job(err)
    }
}

/// Runs the job; `Some(signal)` when a signal cut a check run short (its claims given back).
async fn run(job: Job) -> Result<Option<StopSignal>, Failed> {
    let settings = Settings::from_env()?;
    let services = Services::from_settings(&settings).await?;
    let result = match job {
        Job::CheckUpdates { all, repo } => {
            let selection = Selection::from_flags(all, repo.into_iter().map(RepositoryId));
            jobs::check_updates_until(&services, &selection, None, jobs::stop_signal())
                .await
                .map(|end| {
                    ended("check-updates", end, |r| {
                        println!("{}", r.checks.summary());
                        println!("{}", r.notifications.summary());
                    })
                })
        }
        Job::CheckWikiUpdates { all, page } => {
            let selection = Selection::from_flags(all, page.into_iter().map(PageMonitorId));
            jobs::check_wiki_updates_until(&services, &selection, None, jobs::stop_signal())
                .await
                .map(|end| {
                    ended("check-wiki-updates", end, |r| {
                        println!("{}", r.checks.summary());
                        println!("{}", r.notifications.summary());
                    })
                })
        }
        Job::CleanupLogs { dry_run } => jobs::cleanup_logs(&services, dry_run)
            .await
            .map(|r| println!("{}", r.summary()))
            .map(|()| None),
        Job::RunScheduler {
            repositories_every,
            pages_every,
            cleanup_every,
        } => {
            let schedule = Schedule {
                repositories: Duration::from_secs(repositories_every * 60),
                pages: Duration::from_secs(pages_every * 60),
                cleanup: Duration::from_secs(cleanup_every * 3600),
            };
            jobs::run_scheduler(&services, schedule, jobs::shutdown_signal(), |line| {
                println!("{line}");
            })
            .await;
            Ok(None)
        }
    };
    services.close().await;
    Ok(result?)
}

/// Prints a finished run with `print`, or says that `job` was stopped and what it gave back.
fn ended<T>(job: &str, end: RunEnd<T, StopSignal>, print: impl FnOnce(T)) -> Option<StopSignal> {
    match end {
        RunEnd::Finished(report) => {
            print(report);
            None
        }
        RunEnd::Stopped {
            by,
            released,
            release_error,
        } => {
            match release_error {
                None => println!(
                    "{job}: stopped by {}; gave back {released} claims (due again at once)",
                    by.name()
                ),
                Some(err) => println!(
                    "{job}: stopped by {}; could not give back its claims ({err}): they expire \
                     with their leases",
                    by.name()
                ),
            }
            Some(by)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::CommandFactory as _;

    #[test]
    fn the_command_line_is_well_formed() {
        Cli::command().debug_assert();
    }

    #[test]
    fn a_zero_interval_is_refused() {
        let err =
            Cli::try_parse_from(["wikiscriptsync-jobs", "run-scheduler", "--pages-every", "0"])
                .unwrap_err();
        assert_eq!(err.exit_code(), 2);
    }
}

//! The scheduled jobs, shared by the `wikiscriptsync-jobs` binary and the CLI: the services
//! built from the [`Settings`], one function per job (check, then notify), and a local
//! scheduler that runs all three on their intervals until told to stop. A run cut short by a
//! signal — a single one ([`check_updates_until`]) or the scheduler's — gives back the claims
//! it still holds.

use std::future::Future;
use std::sync::Arc;
use std::time::Duration;

use crate::forge::Forges;
use crate::maintenance::{self, CleanupReport};
use crate::monitor::{
    PageCheckSettings, PageRunReport, PageWatcher, ProgressSink, RepositoryCheckSettings,
    RepositoryChecker, RepositoryRunReport, RunError, Selection, runner_id,
};
use crate::mw::{BotPassword, WikiApi};
use crate::notify::{Notifier, NotifierSettings, NotifyReport};
use crate::settings::Settings;
use crate::setup::{self, SetupError};
use crate::store::{MigrationPolicy, PageMonitorId, RepositoryId, Store, StoreError};

/// A job could not run, or stopped early.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum JobError {
    /// The settings are incomplete, or a service cannot be set up with them.
    #[error(transparent)]
    Setup(#[from] SetupError),
    /// The run stopped (the database failed mid-run).
    #[error(transparent)]
    Run(#[from] RunError),
    /// The database failed outside a run (e.g. while notifying).
    #[error("the database failed: {0}")]
    Store(#[from] StoreError),
}

/// Everything the jobs use.
#[derive(Clone)]
pub struct Services {
    /// The database.
    pub store: Arc<dyn Store>,
    /// The forge clients.
    pub forges: Arc<Forges>,
    /// The MediaWiki client.
    pub wiki: Arc<dyn WikiApi>,
    /// The notification bot (None: notifications off).
    pub bot: Option<BotPassword>,
    /// This machine's name in claim owners.
    pub runner_host: String,
    /// Days of logs `cleanup-logs` keeps.
    pub retention_days: u32,
    /// How each forge host's quota is shared (`WIKISCRIPTSYNC_QUOTA_RESERVE_PERCENT`).
    pub quota: crate::quota::QuotaPolicy,
}

impl std::fmt::Debug for Services {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Services")
            .field("store", &self.store.backend())
            .field("bot", &self.bot.as_ref().map(BotPassword::login_name))
            .finish_non_exhaustive()
    }
}

impl Services {
    /// Waits for the database connections to be returned and closes them (at the end of a
    /// job).
    pub async fn close(&self) {
        self.store.close().await;
    }

    /// Builds everything from the settings (see [`crate::setup`]). The schema must be
    /// current: run `migrate` first.
    pub async fn from_settings(settings: &Settings) -> Result<Self, JobError> {
        let forges = Arc::new(setup::forges(settings)?);
        let wiki: Arc<dyn WikiApi> = Arc::new(setup::wiki_client(settings, false)?);
        let store = setup::open_store(
            &setup::database_url(settings)?,
            MigrationPolicy::RequireCurrent,
        )
        .await?;
        Ok(Self {
            store,
            forges,
            wiki,
            bot: settings.notify_bot.clone(),
            runner_host: settings.runner_host.clone(),
            retention_days: settings.log_retention_days,
            quota: settings.forge.quota,
        })
    }

    fn notifier(&self, job: &str) -> Notifier {
        Notifier::new(
            Arc::clone(&self.store),
            Arc::clone(&self.wiki),
            self.bot.clone(),
            NotifierSettings::new(runner_id(job, &self.runner_host)),
        )
    }
}

/// What `check-updates` did: the checks, then the notifications.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RepositoryJobReport {
    /// The checks.
    pub checks: RepositoryRunReport,
    /// The notifications.
    pub notifications: NotifyReport,
}

/// What `check-wiki-updates` did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PageJobReport {
    /// The checks.
    pub checks: PageRunReport,
    /// The notifications.
    pub notifications: NotifyReport,
}

/// `check-updates`: checks every due repository, then notifies.
pub async fn check_updates(
    services: &Services,
    progress: Option<ProgressSink>,
) -> Result<RepositoryJobReport, JobError> {
    check_updates_selected(services, &Selection::Due, progress).await
}

/// `check-updates --all` / `--repo ID`: checks the selected repositories whether due or not
/// (see [`RepositoryChecker::run_selection`]), then notifies.
pub async fn check_updates_selected(
    services: &Services,
    selection: &Selection<RepositoryId>,
    progress: Option<ProgressSink>,
) -> Result<RepositoryJobReport, JobError> {
    let owner = runner_id("check-updates", &services.runner_host);
    check_repositories_as(services, selection, progress, owner).await
}

/// `check-updates --all` / `--repo ID` (see [`check_updates_selected`]) until `stop`
/// completes: a run cut short is dropped and gives back the claims it still holds
/// ([`RunEnd::Stopped`]).
pub async fn check_updates_until<S>(
    services: &Services,
    selection: &Selection<RepositoryId>,
    progress: Option<ProgressSink>,
    stop: impl Future<Output = S>,
) -> Result<RunEnd<RepositoryJobReport, S>, JobError> {
    let owner = runner_id("check-updates", &services.runner_host);
    let run = check_repositories_as(services, selection, progress, owner.clone());
    until_stopped(services, &owner, run, stop).await
}

/// `check-updates` claiming as `owner`.
async fn check_repositories_as(
    services: &Services,
    selection: &Selection<RepositoryId>,
    progress: Option<ProgressSink>,
    owner: String,
) -> Result<RepositoryJobReport, JobError> {
    let mut settings = RepositoryCheckSettings::new(owner);
    settings.quota = services.quota;
    let mut checker = RepositoryChecker::new(
        Arc::clone(&services.store),
        services.forges.clone(),
        settings,
    );
    if let Some(sink) = progress {
        checker = checker.with_progress(sink);
    }
    let checks = checker.run_selection(selection).await?;
    let notifications = services
        .notifier("check-updates")
        .notify(&checks.changes)
        .await?;
    Ok(RepositoryJobReport {
        checks,
        notifications,
    })
}

/// `check-wiki-updates`: checks every due monitored page, then notifies.
pub async fn check_wiki_updates(
    services: &Services,
    progress: Option<ProgressSink>,
) -> Result<PageJobReport, JobError> {
    check_wiki_updates_selected(services, &Selection::Due, progress).await
}

/// `check-wiki-updates --all` / `--page ID`: checks the selected pages whether due or not
/// (see [`PageWatcher::run_selection`]), then notifies.
pub async fn check_wiki_updates_selected(
    services: &Services,
    selection: &Selection<PageMonitorId>,
    progress: Option<ProgressSink>,
) -> Result<PageJobReport, JobError> {
    let owner = runner_id("check-wiki-updates", &services.runner_host);
    check_pages_as(services, selection, progress, owner).await
}

/// `check-wiki-updates --all` / `--page ID` (see [`check_wiki_updates_selected`]) until
/// `stop` completes: a run cut short is dropped and gives back the claims it still holds
/// ([`RunEnd::Stopped`]).
pub async fn check_wiki_updates_until<S>(
    services: &Services,
    selection: &Selection<PageMonitorId>,
    progress: Option<ProgressSink>,
    stop: impl Future<Output = S>,
) -> Result<RunEnd<PageJobReport, S>, JobError> {
    let owner = runner_id("check-wiki-updates", &services.runner_host);
    let run = check_pages_as(services, selection, progress, owner.clone());
    until_stopped(services, &owner, run, stop).await
}

/// How a single run that can be stopped ended.
#[derive(Debug)]
pub enum RunEnd<T, S> {
    /// It ran to its end.
    Finished(T),
    /// `stop` came first: the run was cut short and its claims given back.
    Stopped {
        /// What `stop` completed with (e.g. the [`StopSignal`]).
        by: S,
        /// How many repository and page claims were given back (due again at once).
        released: u64,
        /// Why they could not be given back, when they could not (they then expire with
        /// their leases).
        release_error: Option<StoreError>,
    },
}

/// Runs `run`, which claims as `owner`, until `stop` completes; then drops it and gives back
/// every claim `owner` still holds, so that no lease outlives the process (the next run, or
/// a check by hand, need not wait fifteen minutes). Dropping a run is safe: each check is one
/// transaction, so what it finished stays finished. The one way every single run and the
/// scheduler stop.
async fn until_stopped<T, S>(
    services: &Services,
    owner: &str,
    run: impl Future<Output = Result<T, JobError>>,
    stop: impl Future<Output = S>,
) -> Result<RunEnd<T, S>, JobError> {
    tokio::select! {
        result = run => result.map(RunEnd::Finished),
        by = stop => {
            let (released, release_error) = match services.store.release_all_claims(owner).await {
                Ok(released) => (released, None),
                Err(err) => (0, Some(err)),
            };
            Ok(RunEnd::Stopped { by, released, release_error })
        }
    }
}

/// `check-wiki-updates` claiming as `owner`.
async fn check_pages_as(
    services: &Services,
    selection: &Selection<PageMonitorId>,
    progress: Option<ProgressSink>,
    owner: String,
) -> Result<PageJobReport, JobError> {
    let mut watcher = PageWatcher::new(
        Arc::clone(&services.store),
        Arc::clone(&services.wiki),
        PageCheckSettings::new(owner),
    );
    if let Some(sink) = progress {
        watcher = watcher.with_progress(sink);
    }
    let checks = watcher.run_selection(selection).await?;
    let notifications = services
        .notifier("check-wiki-updates")
        .notify(&checks.changes)
        .await?;
    Ok(PageJobReport {
        checks,
        notifications,
    })
}

/// `cleanup-logs` with the retention from the settings.
pub async fn cleanup_logs(services: &Services, dry_run: bool) -> Result<CleanupReport, JobError> {
    Ok(
        maintenance::cleanup_logs(services.store.as_ref(), services.retention_days, dry_run)
            .await?,
    )
}

/// How often the local scheduler runs each job.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Schedule {
    /// `check-updates` (hourly).
    pub repositories: Duration,
    /// `check-wiki-updates` (every 30 minutes).
    pub pages: Duration,
    /// `cleanup-logs` (nightly).
    pub cleanup: Duration,
}

impl Default for Schedule {
    fn default() -> Self {
        Self {
            repositories: Duration::from_secs(3600),
            pages: Duration::from_secs(1800),
            cleanup: Duration::from_secs(24 * 3600),
        }
    }
}

/// Runs the three jobs on their intervals (each once at start) until `shutdown` completes.
/// A job that fails is reported and tried again at its next tick; a job still running at
/// shutdown is cancelled, which is safe: every check is one transaction. The claims the
/// scheduler still holds are then given back, so the next run (or a check started by hand)
/// need not wait out their leases. `report` receives one line per job run.
pub async fn run_scheduler(
    services: &Services,
    schedule: Schedule,
    shutdown: impl Future<Output = ()>,
    report: impl Fn(&str),
) {
    let mut repositories = tokio::time::interval(schedule.repositories);
    let mut pages = tokio::time::interval(schedule.pages);
    let mut cleanup = tokio::time::interval(schedule.cleanup);
    for timer in [&mut repositories, &mut pages, &mut cleanup] {
        timer.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    }
    tokio::pin!(shutdown);
    if services.bot.is_none() {
        // Said once, not after every run.
        report(&NotifyReport::default().summary());
    }
    // One claim owner per job for the scheduler's life, so that its claims can be given back.
    let repository_owner = runner_id("check-updates", &services.runner_host);
    let page_owner = runner_id("check-wiki-updates", &services.runner_host);
    let with_notifications = |checks: String, notifications: &NotifyReport| {
        if notifications.enabled {
            format!("{checks}; {}", notifications.summary())
        } else {
            checks
        }
    };
    loop {
        let line = tokio::select! {
            () = &mut shutdown => break,
            _ = repositories.tick() => tokio::select! {
                () = &mut shutdown => break,
                result = check_repositories_as(services, &Selection::Due, None, repository_owner.clone()) => match result {
                    Ok(r) => with_notifications(r.checks.summary(), &r.notifications),
                    Err(err) => format!("check-updates failed: {err}"),
                },
            },
            _ = pages.tick() => tokio::select! {
                () = &mut shutdown => break,
                result = check_pages_as(services, &Selection::Due, None, page_owner.clone()) => match result {
                    Ok(r) => with_notifications(r.checks.summary(), &r.notifications),
                    Err(err) => format!("check-wiki-updates failed: {err}"),
                },
            },
            _ = cleanup.tick() => tokio::select! {
                () = &mut shutdown => break,
                result = cleanup_logs(services, false) => match result {
                    Ok(r) => r.summary(),
                    Err(err) => format!("cleanup-logs failed: {err}"),
                },
            },
        };
        report(&line);
    }
    let mut released = 0;
    for owner in [&repository_owner, &page_owner] {
        match services.store.release_all_claims(owner).await {
            Ok(n) => released += n,
            Err(err) => report(&format!(
                "scheduler: could not give back the claims of {owner} ({err}); they expire with \
                 their leases"
            )),
        }
    }
    if released > 0 {
        report(&format!(
            "scheduler: gave back {released} claims of the run cut short (due again at once)"
        ));
    }
    report("scheduler: stopping (shutdown requested)");
}

/// Completes on Ctrl-C or, on Unix, SIGTERM (what Kubernetes sends before stopping a pod).
pub async fn shutdown_signal() {
    stop_signal().await;
}

/// The signal that asked a process to stop.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum StopSignal {
    /// SIGINT (Ctrl-C).
    Interrupt,
    /// SIGTERM (what Kubernetes sends before stopping a pod).
    Terminate,
}

impl StopSignal {
    /// The exit code a shell reports for a process ended by this signal (128 + its number).
    pub fn exit_code(self) -> u8 {
        match self {
            Self::Interrupt => 130,
            Self::Terminate => 143,
        }
    }

    /// The signal's name.
    pub fn name(self) -> &'static str {
        match self {
            Self::Interrupt => "SIGINT",
            Self::Terminate => "SIGTERM",
        }
    }
}

/// Completes on Ctrl-C or, on Unix, SIGTERM, saying which. The handlers are installed when
/// it is first polled. Without any handler it never completes (the signal then ends the
/// process the default way).
pub async fn stop_signal() -> StopSignal {
    #[cfg(unix)]
    {
        use tokio::signal::unix::{SignalKind, signal};
        if let Ok(mut term) = signal(SignalKind::terminate()) {
            return tokio::select! {
                _ = tokio::signal::ctrl_c() => StopSignal::Interrupt,
                _ = term.recv() => StopSignal::Terminate,
            };
        }
    }
    match tokio::signal::ctrl_c().await {
        Ok(()) => StopSignal::Interrupt,
        Err(_) => std::future::pending().await,
    }
}

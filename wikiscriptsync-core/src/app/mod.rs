//! The use-case layer: every action a user or an operator can take, written once and called by
//! every front end (the web app, the CLI, the jobs).
//!
//! A front end parses its input, calls one method of [`App`] with the acting user and typed
//! input, and renders the answer. The methods validate everything before any request or write
//! ("at save time"), and refuse with a [`UseCaseError`] whose message says what was wrong and
//! what to do. The store is this layer's business: front ends never call it.
//!
//! | area | module | use cases |
//! |---|---|---|
//! | users | [`users`] | log in (OAuth or development), the CLI's local user |
//! | tracking | [`repositories`], [`files`], [`mappings`], [`monitors`] | add/remove a repository, watch/unwatch files, map/unmap (with its monitor, one transaction), monitor/unmonitor pages, check one repository now |
//! | wikis | [`wikis`] | resolve a wiki once from any address (cached), wiki names for display |
//! | limits | [`limits`] | what one user may hold and how often they may check a BotPassword, checked before any request |
//! | accounts | [`credentials`], [`preferences`] | save/verify/delete a BotPassword (always logs in once and reports the rights), notification preferences |
//! | publishing | [`publishing`] | preview, publish, publish everywhere, publish an ad-hoc file |
//! | operations | [`operations`] | migrate the database, rotate the BotPassword key |
//! | reports | [`reports`] | dashboard, logs, usage metrics, health |

mod branch_cache;
mod error;

pub mod credentials;
pub mod files;
pub mod limits;
pub mod mappings;
pub mod monitors;
pub mod operations;
pub mod preferences;
pub mod publishing;
pub mod reports;
pub mod repositories;
pub mod users;
pub mod wikis;

use std::sync::Arc;

pub use credentials::{CredentialReport, parse_bot_login};
pub use error::{Field, UseCaseError, UseCaseResult};
pub use files::{FileOverview, Watched};
pub use limits::{Limit, UserLimits};
pub use mappings::MapFile;
pub use monitors::Monitored;
pub use preferences::PreferencesChange;
pub use publishing::{Preview, PreviewDiff, TargetOutcome};
pub use repositories::{BranchFiles, CheckNowOutcome, RepositoryListing, RepositoryOverview};

use crate::forge::{Forge, Forges};
use crate::mw::WikiApi;
use crate::publish::Publisher;
use crate::store::Store;
use crate::vault::Vault;

/// The parts the use cases work with, each behind its trait so tests can swap any of them.
#[derive(Clone)]
pub struct AppParts {
    /// Everything the tool persists.
    pub store: Arc<dyn Store>,
    /// MediaWiki (allow-listed wikis only).
    pub wiki: Arc<dyn WikiApi>,
    /// GitHub and GitLab: the router of every configured forge (the use cases hold it behind
    /// the `Forge` trait; the jobs also ask it for the instances' health).
    pub forges: Arc<Forges>,
    /// Encrypts and decrypts stored BotPasswords; `None` when no key is configured (then the
    /// use cases that need a stored BotPassword refuse, saying how to configure one).
    pub vault: Option<Arc<Vault>>,
    /// This machine's name in the ids of runners that claim work (`Settings::runner_host`).
    pub runner_host: String,
}

/// Every use case, over one set of [`AppParts`]. Cheap to clone (it holds `Arc`s).
#[derive(Clone)]
pub struct App {
    store: Arc<dyn Store>,
    wiki: Arc<dyn WikiApi>,
    forges: Arc<dyn Forge>,
    /// The same router, concrete, for the jobs' health checks of the forge instances.
    forge_router: Arc<Forges>,
    vault: Option<Arc<Vault>>,
    runner_host: String,
    limits: UserLimits,
    publisher: Publisher,
    /// Each user's share of each forge host's hourly quota.
    quota: crate::quota::QuotaShares,
    /// What repository page views read, by branch head.
    branches: Arc<branch_cache::BranchCache>,
}

impl std::fmt::Debug for App {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("App")
            .field("store", &self.store.backend())
            .field("vault", &self.vault)
            .finish_non_exhaustive()
    }
}

impl App {
    /// The use cases over these parts.
    pub fn new(parts: AppParts) -> Self {
        let forges: Arc<dyn Forge> = Arc::clone(&parts.forges) as Arc<dyn Forge>;
        let publisher = Publisher::new(
            Arc::clone(&parts.wiki),
            Arc::clone(&forges),
            Arc::clone(&parts.store),
            parts.vault.clone(),
        );
        let quota = crate::quota::QuotaShares::new(
            Arc::clone(&parts.store),
            Arc::clone(&forges),
            crate::quota::QuotaPolicy::default(),
        );
        Self {
            quota,
            branches: Arc::default(),
            store: parts.store,
            wiki: parts.wiki,
            forges,
            forge_router: parts.forges,
            vault: parts.vault,
            runner_host: parts.runner_host,
            limits: UserLimits::default(),
            publisher,
        }
    }

    /// The same use cases with runners named after `host` (see [`AppParts::runner_host`]).
    #[must_use]
    pub fn with_runner_host(mut self, host: impl Into<String>) -> Self {
        self.runner_host = host.into();
        self
    }

    /// The same use cases sharing each forge host's quota by `policy`
    /// (`WIKISCRIPTSYNC_QUOTA_RESERVE_PERCENT`; the default otherwise).
    #[must_use]
    pub fn with_quota_policy(mut self, policy: crate::quota::QuotaPolicy) -> Self {
        let clock = self.quota.clock().clone();
        self.quota = crate::quota::QuotaShares::new(
            Arc::clone(&self.store),
            Arc::clone(&self.forges),
            policy,
        )
        .with_clock(clock);
        self
    }

    /// The same use cases taking the hour of users' forge shares, and the time their requests
    /// are counted at, from `clock` (the wall clock otherwise; tests fix it).
    #[must_use]
    pub fn with_quota_clock(mut self, clock: crate::quota::Clock) -> Self {
        self.publisher = self.publisher.with_quota_clock(clock.clone());
        self.quota = self.quota.with_clock(clock);
        self
    }

    /// The same use cases with the operator's limits per user (default: [`UserLimits::default`]).
    #[must_use]
    pub fn with_limits(mut self, limits: UserLimits) -> Self {
        self.limits = limits;
        self
    }

    /// `sqlite` or `mariadb`: which database backend the tool runs on.
    pub fn backend(&self) -> &'static str {
        self.store.backend()
    }

    /// The MediaWiki client (for front ends that resolve a wiki before calling a use case).
    pub fn wiki(&self) -> &Arc<dyn WikiApi> {
        &self.wiki
    }

    /// The forges, behind their trait.
    pub fn forges(&self) -> &Arc<dyn Forge> {
        &self.forges
    }

    /// The vault, or the refusal that says how to configure its key.
    pub(crate) fn vault(&self) -> UseCaseResult<&Vault> {
        self.vault
            .as_deref()
            .ok_or(UseCaseError::Vault(crate::vault::VaultError::MissingKey))
    }

    /// The parts the scheduled jobs run on, with `bot` as the notification bot and logs kept
    /// for `retention_days` (see [`crate::jobs`]).
    pub fn services(
        &self,
        bot: Option<crate::mw::BotPassword>,
        retention_days: u32,
    ) -> crate::jobs::Services {
        crate::jobs::Services {
            store: Arc::clone(&self.store),
            forges: Arc::clone(&self.forge_router),
            wiki: Arc::clone(&self.wiki),
            bot,
            runner_host: self.runner_host.clone(),
            retention_days,
            quota: self.quota.policy(),
        }
    }

    /// A unique id for a runner of `job` on this machine (claims and leases).
    pub fn runner_id(&self, job: &str) -> String {
        crate::monitor::runner_id(job, &self.runner_host)
    }

    /// Posts talk-page notices of `events` to their users, per their preferences, as `bot`
    /// (the same path as the scheduled jobs: dedup, retry of earlier failures).
    pub async fn notify(
        &self,
        bot: Option<crate::mw::BotPassword>,
        runner: &str,
        events: &[crate::monitor::ChangeEvent],
    ) -> Result<crate::notify::NotifyReport, crate::store::StoreError> {
        crate::notify::Notifier::new(
            Arc::clone(&self.store),
            Arc::clone(&self.wiki),
            bot,
            crate::notify::NotifierSettings::new(self.runner_id(runner)),
        )
        .notify(events)
        .await
    }

    /// Waits for the database connections to be returned and closes them (at shutdown).
    pub async fn close(&self) {
        self.store.close().await;
    }
}

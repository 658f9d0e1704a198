//! What every handler can reach: the use cases (`App`), the session key, OAuth, the
//! administrators, the suggested wikis and the per-user caches. Built once at start and shared
//! by every request.

use std::collections::BTreeSet;
use std::sync::Arc;
use std::time::Duration;

use axum_extra::extract::cookie::Key;
use tokio::sync::Semaphore;
use wikiscriptsync_core::app::{App, AppParts};
use wikiscriptsync_core::forge::Forges;
use wikiscriptsync_core::mw::WikiApi;
use wikiscriptsync_core::mw::oauth::OAuthClient;
use wikiscriptsync_core::store::Store;
use wikiscriptsync_core::vault::Vault;

use crate::config::Mode;
use crate::dashboard_cache::{DEFAULT_TTL, DashboardCache};
use crate::usage::UsageCounter;

/// What every handler can reach, as the router holds it: one allocation shared by every
/// request (extractors and middleware clone the state for each request).
pub type SharedState = Arc<AppState>;

/// What every handler can reach. Set it up, then give it to the router (`router` in this crate).
#[derive(Clone)]
pub struct AppState {
    /// Development or production.
    pub mode: Mode,
    /// Every use case (the store, wiki, forges and vault are its business).
    pub app: App,
    /// Encrypts the session cookie.
    pub cookie_key: Key,
    /// Wikimedia OAuth 2.0 (production); `None` in development, which has a login form.
    pub oauth: Option<Arc<OAuthClient>>,
    /// Central ids (OAuth `sub`) of the users who may see usage metrics.
    pub admins: Arc<BTreeSet<String>>,
    /// Wikis offered in the mapping and BotPassword forms (any allow-listed wiki is accepted).
    pub suggested_wikis: Arc<Vec<String>>,
    /// The site's public origin (`https://wikiscriptsync.toolforge.org`), trusted by the CSRF
    /// layer in case the front proxy rewrites `Host`.
    pub public_origin: Option<String>,
    /// Recently read dashboards, per user.
    pub dashboards: Arc<DashboardCache>,
    /// Usage counts not yet written.
    pub usage: Arc<UsageCounter>,
    /// The slots pages are built in ([`crate::app::MAX_CONCURRENT_PAGES`]); the health check
    /// and the static files take none.
    pub page_slots: Arc<Semaphore>,
    /// How long a form's body may take to arrive (before it takes a page slot).
    pub body_read_timeout: Duration,
}

impl std::fmt::Debug for AppState {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AppState")
            .field("mode", &self.mode)
            .field("app", &self.app)
            .field("oauth", &self.oauth.is_some())
            .field("admins", &self.admins)
            .finish_non_exhaustive()
    }
}

/// Wikis offered in forms by default.
pub const DEFAULT_SUGGESTED_WIKIS: &[&str] = &[
    "meta.wikimedia.org",
    "www.mediawiki.org",
    "en.wikipedia.org",
    "de.wikipedia.org",
    "fr.wikipedia.org",
    "commons.wikimedia.org",
    "www.wikidata.org",
];

impl AppState {
    /// The state over these parts; the use cases ([`App`]) are built from them.
    #[allow(clippy::too_many_arguments)]
    pub fn new(
        mode: Mode,
        store: Arc<dyn Store>,
        vault: Arc<Vault>,
        cookie_key: Key,
        wiki: Arc<dyn WikiApi>,
        forges: Arc<Forges>,
        oauth: Option<OAuthClient>,
        admins: BTreeSet<String>,
    ) -> Self {
        Self {
            mode,
            app: App::new(AppParts {
                store,
                wiki,
                forges,
                vault: Some(vault),
                runner_host: wikiscriptsync_core::settings::DEFAULT_RUNNER_HOST.to_owned(),
            }),
            cookie_key,
            oauth: oauth.map(Arc::new),
            admins: Arc::new(admins),
            suggested_wikis: Arc::new(
                DEFAULT_SUGGESTED_WIKIS
                    .iter()
                    .map(|w| (*w).to_owned())
                    .collect(),
            ),
            public_origin: None,
            dashboards: Arc::new(DashboardCache::new(DEFAULT_TTL)),
            usage: Arc::new(UsageCounter::default()),
            page_slots: Arc::new(Semaphore::new(crate::app::MAX_CONCURRENT_PAGES)),
            body_read_timeout: crate::app::BODY_READ_TIMEOUT,
        }
    }

    /// Whether the user with this central id (OAuth `sub`, never the user name: names can be
    /// renamed away and taken by someone else) may see usage metrics.
    pub fn is_admin(&self, central_id: &str) -> bool {
        self.admins.contains(central_id)
    }
}

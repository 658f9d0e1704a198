//! Monitoring wiki pages for edits made on the wiki, and no longer doing so.

use chrono::Utc;

use super::wikis::site_title;
use super::{App, Field, UseCaseError, UseCaseResult};
use crate::store::{
    PageCheckLogEntry, PageMonitor, PageMonitorId, PageRequest, Paged, StoreError, UserId,
};

/// What monitoring pages did.
#[derive(Debug, Clone)]
pub struct Monitored {
    /// The wiki, as stored.
    pub wiki: String,
    /// Pages monitored by this call (or that the user now monitors on their own, where only a
    /// mapping did before).
    pub added: Vec<PageMonitor>,
    /// Titles the user monitored already.
    pub already: Vec<String>,
}

impl App {
    /// Monitors pages of one wiki. The wiki is resolved (no request once known) and every
    /// title validated against its namespaces before anything is stored; pages past the user's
    /// monitored-page limit are refused.
    pub async fn monitor_pages(
        &self,
        user: UserId,
        wiki: &str,
        titles: &[String],
    ) -> UseCaseResult<Monitored> {
        // The titles' syntax first: a typo costs no request, even for a wiki not yet known.
        for title in titles.iter().filter(|t| !t.trim().is_empty()) {
            super::mappings::parse_title(title)?;
        }
        let identity = self.resolve_wiki(Field::Wiki, wiki).await?;
        let wiki = identity.key();
        let titles = titles
            .iter()
            .filter(|t| !t.trim().is_empty())
            .map(|t| site_title(&identity, t).map(|t| t.title))
            .collect::<Result<Vec<_>, _>>()?;
        if titles.is_empty() {
            return Err(UseCaseError::invalid(
                Field::Title,
                "Name at least one page to monitor.",
            ));
        }
        self.ensure_monitor_room(user, &wiki, &titles).await?;
        let now = Utc::now();
        let mut monitored = Monitored {
            wiki,
            added: Vec::new(),
            already: Vec::new(),
        };
        for title in titles {
            match self
                .store
                .add_page_monitor(user, &monitored.wiki, title.as_str(), now)
                .await
            {
                Ok(monitor) => monitored.added.push(monitor),
                Err(StoreError::AlreadyExists { .. }) => {
                    monitored.already.push(title.as_str().to_owned());
                }
                Err(err) => return Err(err.into()),
            }
        }
        Ok(monitored)
    }

    /// Refuses titles that would take the user past their monitored-page limit (titles they
    /// monitor already, on their own or through a mapping, add nothing).
    async fn ensure_monitor_room(
        &self,
        user: UserId,
        wiki: &str,
        titles: &[crate::mw::Title],
    ) -> UseCaseResult<()> {
        let counts = self.store.user_counts(user).await?;
        let limit = super::Limit::MonitoredPages;
        if super::limits::check_room(self.limits(), &counts, limit, titles.len() as u64).is_ok() {
            return Ok(());
        }
        let monitored: std::collections::BTreeSet<String> = self
            .store
            .list_page_monitors(user)
            .await?
            .into_iter()
            .filter(|m| m.wiki == wiki)
            .map(|m| m.page_title)
            .collect();
        let new: std::collections::BTreeSet<&str> = titles
            .iter()
            .map(crate::mw::Title::as_str)
            .filter(|t| !monitored.contains(*t))
            .collect();
        super::limits::check_room(self.limits(), &counts, limit, new.len() as u64)
    }

    /// The user's monitored pages, by wiki and title.
    pub async fn page_monitors(&self, user: UserId) -> UseCaseResult<Vec<PageMonitor>> {
        Ok(self.store.list_page_monitors(user).await?)
    }

    /// One of the user's monitored pages.
    pub async fn page_monitor(
        &self,
        user: UserId,
        id: PageMonitorId,
    ) -> UseCaseResult<PageMonitor> {
        self.store
            .page_monitor(user, id)
            .await?
            .ok_or(UseCaseError::NotFound {
                what: "monitored page",
                id: id.0,
            })
    }

    /// One of the user's monitored pages with a page of its check history, newest first.
    pub async fn page_monitor_history(
        &self,
        user: UserId,
        id: PageMonitorId,
        page: PageRequest,
    ) -> UseCaseResult<(PageMonitor, Paged<PageCheckLogEntry>)> {
        let monitor = self.page_monitor(user, id).await?;
        let log = self.store.page_check_log(user, id, page).await?;
        Ok((monitor, log))
    }

    /// Stops monitoring one of the user's pages (with its check log).
    pub async fn unmonitor_page(
        &self,
        user: UserId,
        id: PageMonitorId,
    ) -> UseCaseResult<PageMonitor> {
        let monitor = self.page_monitor(user, id).await?;
        if !self.store.remove_page_monitor(user, id).await? {
            return Err(UseCaseError::NotFound {
                what: "monitored page",
                id: id.0,
            });
        }
        Ok(monitor)
    }
}

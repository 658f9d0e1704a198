//! What the user and the operator read: the dashboard, the publish and notification logs,
//! usage metrics and the health of the database.

use chrono::NaiveDate;

use super::{App, UseCaseResult};
use crate::store::{
    Dashboard, DashboardLimits, MappingId, NotificationLogEntry, PageRequest, Paged,
    PublishLogEntry, PublishLogFilter, StoreResult, UsageCount, UserId,
};

impl App {
    /// The user's dashboard: counts per repository and what needs attention.
    pub async fn dashboard(
        &self,
        user: UserId,
        limits: DashboardLimits,
    ) -> UseCaseResult<Dashboard> {
        Ok(self.store.dashboard(user, limits).await?)
    }

    /// The user's publish attempts, newest first; with a mapping, only that mapping's (which
    /// must be the user's).
    pub async fn publish_log(
        &self,
        user: UserId,
        mapping: Option<MappingId>,
        page: PageRequest,
    ) -> UseCaseResult<Paged<PublishLogEntry>> {
        let filter = match mapping {
            Some(id) => {
                self.mapping(user, id).await?;
                PublishLogFilter::Mapping(id)
            }
            None => PublishLogFilter::All,
        };
        Ok(self.store.publish_log(user, filter, page).await?)
    }

    /// The user's notifications, newest first.
    pub async fn notification_log(
        &self,
        user: UserId,
        page: PageRequest,
    ) -> UseCaseResult<Paged<NotificationLogEntry>> {
        Ok(self.store.notification_log(user, page).await?)
    }

    /// Counts `count` uses of a feature on a day (aggregated; no user is recorded).
    pub async fn record_usage(&self, day: NaiveDate, feature: &str, count: u64) -> StoreResult<()> {
        self.store.record_usage(day, feature, count).await
    }

    /// Usage counts for days in `from..=to`, by day then feature.
    pub async fn usage_metrics(
        &self,
        from: NaiveDate,
        to: NaiveDate,
    ) -> UseCaseResult<Vec<UsageCount>> {
        Ok(self.store.usage_metrics(from, to).await?)
    }

    /// Whether the database answers with exactly this binary's schema.
    pub async fn database_health(&self) -> StoreResult<()> {
        self.store.health().await
    }
}

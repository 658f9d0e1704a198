//! Usage metrics for the tool's maintainers, counted in memory per day and feature and written
//! to the database in one upsert per (day, feature) every [`FLUSH_EVERY`], when the metrics
//! page is read, and at shutdown — so a page view costs no database write. No user is
//! recorded.

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

use chrono::{NaiveDate, Utc};
use wikiscriptsync_core::app::App;
use wikiscriptsync_core::store::StoreResult;

/// How often counts are written.
pub const FLUSH_EVERY: Duration = Duration::from_secs(30);

/// Uses per (day, feature) not yet written.
#[derive(Debug, Default)]
pub struct UsageCounter {
    pending: Mutex<BTreeMap<(NaiveDate, &'static str), u64>>,
}

impl UsageCounter {
    /// Counts one use of `feature` today.
    pub fn count(&self, feature: &'static str) {
        self.count_on(Utc::now().date_naive(), feature);
    }

    /// Counts one use of `feature` on `day` (UTC).
    pub fn count_on(&self, day: NaiveDate, feature: &'static str) {
        *self
            .pending
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .entry((day, feature))
            .or_default() += 1;
    }

    /// Writes the pending counts. Counts that could not be written are kept for the next
    /// flush, so a database hiccup loses nothing.
    pub async fn flush(&self, app: &App) -> StoreResult<()> {
        let pending =
            std::mem::take(&mut *self.pending.lock().unwrap_or_else(PoisonError::into_inner));
        let mut first_error = None;
        for ((day, feature), count) in pending {
            if let Err(err) = app.record_usage(day, feature, count).await {
                *self
                    .pending
                    .lock()
                    .unwrap_or_else(PoisonError::into_inner)
                    .entry((day, feature))
                    .or_default() += count;
                first_error.get_or_insert(err);
            }
        }
        first_error.map_or(Ok(()), Err)
    }

    /// Flushes every [`FLUSH_EVERY`] until the task is aborted (then flush once more).
    pub fn spawn_flusher(self: &Arc<Self>, app: App) -> tokio::task::JoinHandle<()> {
        let counter = Arc::clone(self);
        tokio::spawn(async move {
            let mut tick = tokio::time::interval(FLUSH_EVERY);
            tick.tick().await;
            loop {
                tick.tick().await;
                if let Err(err) = counter.flush(&app).await {
                    tracing::warn!(error = %err, "cannot write usage counts; will retry");
                }
            }
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::{WebConfig, open_store};
    use crate::keys::Keys;
    use wikiscriptsync_core::app::AppParts;
    use wikiscriptsync_core::settings::Settings;
    use wikiscriptsync_core::setup;

    #[tokio::test]
    async fn counts_are_written_in_one_batch_and_kept_when_the_database_fails() {
        let dir = tempfile::tempdir().unwrap();
        let store = open_store(&WebConfig::development(0, dir.path().to_owned()))
            .await
            .unwrap();
        let contact = "https://example.org/tests";
        let settings = Settings::from_lookup(|_| None).unwrap();
        let app = App::new(AppParts {
            store,
            wiki: Arc::new(setup::wiki_client_with_contact(&settings, contact, true).unwrap()),
            forges: Arc::new(setup::forges_with_contact(&settings, contact).unwrap()),
            vault: Some({
                // The data directory must be the owner's only (the keys refuse a looser one).
                std::fs::set_permissions(
                    dir.path(),
                    std::os::unix::fs::PermissionsExt::from_mode(0o700),
                )
                .unwrap();
                Keys::load_or_generate(dir.path()).unwrap().vault
            }),
            runner_host: "tests".to_owned(),
        });
        let counter = UsageCounter::default();
        // A fixed day: the test must not depend on whether it runs across UTC midnight.
        let today = NaiveDate::from_ymd_opt(2026, 12, 31).unwrap();
        for _ in 0..3 {
            counter.count_on(today, "dashboard");
        }
        counter.count_on(today, "publish");
        assert!(app.usage_metrics(today, today).await.unwrap().is_empty());
        counter.flush(&app).await.unwrap();
        let counts: Vec<_> = app
            .usage_metrics(today, today)
            .await
            .unwrap()
            .into_iter()
            .map(|c| (c.feature, c.count))
            .collect();
        assert_eq!(counts, [("dashboard".into(), 3), ("publish".into(), 1)]);
        counter.flush(&app).await.unwrap();
        assert_eq!(app.usage_metrics(today, today).await.unwrap().len(), 2);

        // The database goes away: the count stays pending.
        counter.count_on(today, "dashboard");
        app.close().await;
        assert!(counter.flush(&app).await.is_err());
        assert_eq!(
            counter
                .pending
                .lock()
                .unwrap()
                .values()
                .copied()
                .sum::<u64>(),
            1
        );
    }
}

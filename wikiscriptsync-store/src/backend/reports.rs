//! The dashboard: a fixed number of queries whatever the size of the user's data.
//!
//! Written once for both engines as a macro expanding to an inherent `impl` of each backend
//! (see the parent module); the `Store` implementation delegates to it.

macro_rules! impl_reports {
    ($store:ident, $db:ty, $conn:ty, $dialect:expr, $migrator:expr) => {
        impl $store {
            async fn dashboard(
                &self,
                user: UserId,
                limits: DashboardLimits,
            ) -> StoreResult<Dashboard> {
                let recent_page = PageRequest::first(limits.recent.clamp(1, MAX_PAGE));
                let items = i64::from(limits.items.min(MAX_PAGE));

                // Counts per repository: files by check result, mappings by state.
                let file_counts: Vec<(i64, i64, i64, i64)> = sqlx::query_as(&format!(
                    "SELECT f.repository_id, COUNT(*), \
                     COUNT(CASE WHEN f.last_status IS NULL THEN 1 END), \
                     COUNT(CASE WHEN f.last_status IN {FAILING_FILE_STATUSES} THEN 1 END) \
                     FROM sync_watchedfile f \
                     JOIN sync_trackedrepository r ON r.id = f.repository_id \
                     WHERE r.user_id = ? GROUP BY f.repository_id"
                ))
                .bind(user.0)
                .fetch_all(&self.pool)
                .await
                .map_err(from_query)?;
                let state_counts: Vec<(i64, Text, i64)> = sqlx::query_as(&format!(
                    "{} GROUP BY s.repository_id, s.state",
                    mapping_status_sql("s.repository_id, s.state, COUNT(*)")
                ))
                .bind(user.0)
                .fetch_all(&self.pool)
                .await
                .map_err(from_query)?;
                let mut repositories: Vec<RepositorySummary> = self
                    .list_repositories(user)
                    .await?
                    .into_iter()
                    .map(|repository| RepositorySummary {
                        repository,
                        files: 0,
                        files_unchecked: 0,
                        files_failing: 0,
                        mappings: 0,
                        in_sync: 0,
                        off: 0,
                    })
                    .collect();
                let index: HashMap<i64, usize> = repositories
                    .iter()
                    .enumerate()
                    .map(|(i, r)| (r.repository.id.0, i))
                    .collect();
                let count = |n: i64| u64::try_from(n).unwrap_or(0);
                for (repository, files, unchecked, failing) in file_counts {
                    if let Some(summary) = index.get(&repository).map(|&i| &mut repositories[i]) {
                        summary.files = count(files);
                        summary.files_unchecked = count(unchecked);
                        summary.files_failing = count(failing);
                    }
                }
                for (repository, state, n) in state_counts {
                    let Some(summary) = index.get(&repository).map(|&i| &mut repositories[i])
                    else {
                        continue;
                    };
                    let n = count(n);
                    summary.mappings += n;
                    match MappingSyncState::parse(&state)? {
                        MappingSyncState::InSync => summary.in_sync += n,
                        MappingSyncState::Off => summary.off += n,
                        _ => {}
                    }
                }

                // Only the items that need attention, the most urgent first.
                let attention_sql = format!(
                    "{} WHERE s.state NOT IN ('in_sync', 'off') ORDER BY \
                     CASE s.state WHEN 'changed_on_wiki' THEN 0 WHEN 'file_changed' THEN 1 \
                     ELSE 2 END, s.repository_id, s.file_path, s.id LIMIT ?",
                    mapping_status_sql("s.*")
                );
                let attention: Vec<MappingStatusRow> = sqlx::query_as(&attention_sql)
                    .bind(user.0)
                    .bind(items)
                    .fetch_all(&self.pool)
                    .await
                    .map_err(from_query)?;
                let failing_sql = format!(
                    "SELECT {}, r.repo_url AS repository_url FROM sync_watchedfile f \
                     JOIN sync_trackedrepository r ON r.id = f.repository_id \
                     WHERE r.user_id = ? AND f.last_status IN {FAILING_FILE_STATUSES} \
                     ORDER BY f.repository_id, f.path LIMIT ?",
                    WatchedFileRow::COLUMNS
                );
                let failing: Vec<FailingFileRow> = sqlx::query_as(&failing_sql)
                    .bind(user.0)
                    .bind(items)
                    .fetch_all(&self.pool)
                    .await
                    .map_err(from_query)?;
                let pages_sql = format!(
                    "SELECT {} FROM wiki_monitor_pagemonitor p WHERE p.user_id = ? ORDER BY \
                     CASE WHEN p.last_status IN {NOTABLE_PAGE_STATUSES} THEN 0 ELSE 1 END, \
                     p.wiki, p.page_title LIMIT ?",
                    PageMonitorRow::COLUMNS
                );
                let pages: Vec<PageMonitorRow> = sqlx::query_as(&pages_sql)
                    .bind(user.0)
                    .bind(items)
                    .fetch_all(&self.pool)
                    .await
                    .map_err(from_query)?;
                let pages_total = self
                    .count(
                        "SELECT COUNT(*) FROM wiki_monitor_pagemonitor WHERE user_id = ?",
                        &[user.0],
                    )
                    .await?;
                Ok(Dashboard {
                    repositories,
                    attention: map_rows(attention, MappingStatusRow::into_domain)?,
                    failing_files: map_rows(failing, FailingFileRow::into_domain)?,
                    pages: map_rows(pages, PageMonitorRow::into_domain)?,
                    pages_total,
                    credentials: self.list_credentials(user).await?,
                    recent_publishes: self
                        .publish_log(user, PublishLogFilter::All, recent_page)
                        .await?
                        .items,
                    recent_notifications: self.notification_log(user, recent_page).await?.items,
                })
            }
        }
    };
}

pub(crate) use impl_reports;

//! Repository checks: claiming due repositories with a lease, recording what a check found,
//! and the forge quota snapshots; and, for both check queues (repositories and pages), making
//! items due now and the outlook that explains a run which checked little or nothing.
//!
//! Written once for both engines as a macro expanding to an inherent `impl` of each backend
//! (see the parent module); the `Store` implementation delegates to it.

macro_rules! impl_checks {
    ($store:ident, $db:ty, $conn:ty, $dialect:expr, $migrator:expr) => {
        impl $store {
            /// [`Self::claim_ids_once`], tried again after a transient failure (a deadlock or a
            /// busy database between concurrent runners), for both check queues.
            async fn claim_ids(
                &self,
                table: &str,
                claim: &ClaimRequest,
                only: Option<&[i64]>,
            ) -> StoreResult<Vec<i64>> {
                let mut attempt = 0;
                loop {
                    match self.claim_ids_once(table, claim, only).await {
                        Err(error) if is_transient(&error) && attempt + 1 < MAX_ATTEMPTS => {
                            backoff(attempt).await;
                            attempt += 1;
                        }
                        other => return other,
                    }
                }
            }

            /// Lock and lease due rows of `table` (only rows among `only` when given) in one
            /// transaction; returns their ids.
            async fn claim_ids_once(
                &self,
                table: &str,
                claim: &ClaimRequest,
                only: Option<&[i64]>,
            ) -> StoreResult<Vec<i64>> {
                check_claim(claim)?;
                if only.is_some_and(<[i64]>::is_empty) {
                    return Ok(Vec::new());
                }
                let now = ms(claim.now);
                let select = format!(
                    "SELECT id FROM {table} WHERE next_check_at <= ? \
                     AND (lease_expires_at IS NULL OR lease_expires_at <= ?){} \
                     ORDER BY next_check_at, id LIMIT ?{}",
                    match only {
                        Some(ids) => format!(" AND id IN ({})", placeholders(ids.len())),
                        None => String::new(),
                    },
                    Self::DIALECT.claim_lock_suffix
                );
                let mut tx = self.begin_write().await?;
                let mut query = sqlx::query_as(&select).bind(now).bind(now);
                for id in only.unwrap_or_default() {
                    query = query.bind(*id);
                }
                let ids: Vec<(i64,)> = query
                    .bind(i64::from(claim.limit))
                    .fetch_all(&mut *tx)
                    .await
                    .map_err(from_query)?;
                let ids: Vec<i64> = ids.into_iter().map(|(id,)| id).collect();
                if !ids.is_empty() {
                    let update = format!(
                        "UPDATE {table} SET lease_owner = ?, lease_expires_at = ? \
                         WHERE id IN ({})",
                        placeholders(ids.len())
                    );
                    let mut query = sqlx::query(&update)
                        .bind(&claim.owner)
                        .bind(ms(claim.now + claim.lease));
                    for id in &ids {
                        query = query.bind(*id);
                    }
                    query.execute(&mut *tx).await.map_err(from_query)?;
                }
                tx.commit().await.map_err(from_query)?;
                Ok(ids)
            }

            /// Claims due repositories (only among `only` when given) with their watched files.
            async fn claim_repositories(
                &self,
                claim: &ClaimRequest,
                only: Option<&[i64]>,
            ) -> StoreResult<Vec<ClaimedRepository>> {
                let ids = self
                    .claim_ids("sync_trackedrepository", claim, only)
                    .await?;
                if ids.is_empty() {
                    return Ok(Vec::new());
                }
                let list = placeholders(ids.len());
                let repo_sql = format!(
                    "SELECT {} FROM sync_trackedrepository r WHERE r.id IN ({list}) \
                     ORDER BY r.next_check_at, r.id",
                    RepositoryRow::COLUMNS
                );
                let file_sql = format!(
                    "SELECT {} FROM sync_watchedfile f WHERE f.repository_id IN ({list}) \
                     ORDER BY f.repository_id, f.path",
                    WatchedFileRow::COLUMNS
                );
                let mut repo_query = sqlx::query_as::<_, RepositoryRow>(&repo_sql);
                let mut file_query = sqlx::query_as::<_, WatchedFileRow>(&file_sql);
                for id in &ids {
                    repo_query = repo_query.bind(*id);
                    file_query = file_query.bind(*id);
                }
                let repos = repo_query.fetch_all(&self.pool).await.map_err(from_query)?;
                let files = file_query.fetch_all(&self.pool).await.map_err(from_query)?;
                let mut by_repo: HashMap<RepositoryId, Vec<WatchedFile>> = HashMap::new();
                for file in map_rows(files, WatchedFileRow::into_domain)? {
                    by_repo.entry(file.repository_id).or_default().push(file);
                }
                map_rows(repos, |row| {
                    let repository = row.into_domain()?;
                    let files = by_repo.remove(&repository.id).unwrap_or_default();
                    Ok(ClaimedRepository { repository, files })
                })
            }

            async fn release_claims(&self, table: &str, owner: &str, ids: &[i64]) -> StoreResult<u64> {
                if ids.is_empty() {
                    return Ok(0);
                }
                let sql = format!(
                    "UPDATE {table} SET lease_owner = NULL, lease_expires_at = NULL \
                     WHERE lease_owner = ? AND id IN ({})",
                    placeholders(ids.len())
                );
                let mut query = sqlx::query(&sql).bind(owner);
                for id in ids {
                    query = query.bind(*id);
                }
                Ok(query.execute(&self.pool).await.map_err(from_query)?.rows_affected())
            }

            async fn claim_due_repositories(
                &self,
                claim: &ClaimRequest,
            ) -> StoreResult<Vec<ClaimedRepository>> {
                self.claim_repositories(claim, None).await
            }

            async fn claim_due_repository(
                &self,
                id: RepositoryId,
                claim: &ClaimRequest,
            ) -> StoreResult<Option<ClaimedRepository>> {
                Ok(self.claim_repositories(claim, Some(&[id.0])).await?.pop())
            }

            async fn claim_due_repositories_among(
                &self,
                ids: &[RepositoryId],
                claim: &ClaimRequest,
            ) -> StoreResult<Vec<ClaimedRepository>> {
                let ids: Vec<i64> = ids.iter().map(|id| id.0).collect();
                self.claim_repositories(claim, Some(&ids)).await
            }

            async fn make_due_now(
                &self,
                queue: CheckQueue,
                only: Option<&[i64]>,
                owner: &str,
                now: DateTime<Utc>,
            ) -> StoreResult<MadeDue> {
                let table = queue_table(queue);
                let now = ms(now);
                let among = match only {
                    Some(ids) if ids.is_empty() => return Ok(MadeDue::default()),
                    Some(ids) => format!(" AND id IN ({})", placeholders(ids.len())),
                    None => String::new(),
                };
                let ids = only.unwrap_or_default();
                // Items due later move to now; overdue ones keep their (earlier) time, and
                // another runner's claim is never touched.
                let update = format!(
                    "UPDATE {table} SET next_check_at = ? WHERE next_check_at > ? \
                     AND NOT {HELD_BY_ANOTHER}{among}"
                );
                let mut query = sqlx::query(&update).bind(now).bind(now).bind(now).bind(owner);
                for id in ids {
                    query = query.bind(*id);
                }
                query.execute(&self.pool).await.map_err(from_query)?;

                let due_sql = format!(
                    "SELECT COUNT(*) FROM {table} WHERE next_check_at <= ? \
                     AND NOT {HELD_BY_ANOTHER}{among}"
                );
                let mut query = sqlx::query_as::<_, (i64,)>(&due_sql).bind(now).bind(now).bind(owner);
                for id in ids {
                    query = query.bind(*id);
                }
                let (due,) = query.fetch_one(&self.pool).await.map_err(from_query)?;

                let held_sql = format!(
                    "SELECT id, lease_expires_at FROM {table} WHERE {HELD_BY_ANOTHER}{among} \
                     ORDER BY id"
                );
                let mut query = sqlx::query_as::<_, (i64, i64)>(&held_sql).bind(now).bind(owner);
                for id in ids {
                    query = query.bind(*id);
                }
                let held = query
                    .fetch_all(&self.pool)
                    .await
                    .map_err(from_query)?
                    .into_iter()
                    .map(|(id, until)| Ok(HeldItem { id, until: time(until)? }))
                    .collect::<StoreResult<Vec<_>>>()?;

                let mut missing = Vec::new();
                if let Some(ids) = only {
                    let found_sql = format!(
                        "SELECT id FROM {table} WHERE id IN ({})",
                        placeholders(ids.len())
                    );
                    let mut query = sqlx::query_as::<_, (i64,)>(&found_sql);
                    for id in ids {
                        query = query.bind(*id);
                    }
                    let found: Vec<(i64,)> =
                        query.fetch_all(&self.pool).await.map_err(from_query)?;
                    missing = ids
                        .iter()
                        .copied()
                        .filter(|id| !found.iter().any(|(f,)| f == id))
                        .collect();
                    missing.sort_unstable();
                    missing.dedup();
                }
                Ok(MadeDue {
                    due: u64::try_from(due).unwrap_or(0),
                    held,
                    missing,
                })
            }

            async fn check_outlook(
                &self,
                queue: CheckQueue,
                owner: &str,
                now: DateTime<Utc>,
            ) -> StoreResult<CheckOutlook> {
                let table = queue_table(queue);
                let now = ms(now);
                let sql = format!(
                    "SELECT COUNT(CASE WHEN held = 0 AND next_check_at <= ? THEN 1 END), \
                     MIN(CASE WHEN held = 0 AND next_check_at > ? THEN next_check_at END), \
                     COUNT(CASE WHEN held = 1 THEN 1 END), \
                     MAX(CASE WHEN held = 1 THEN lease_expires_at END) \
                     FROM (SELECT next_check_at, lease_expires_at, \
                     CASE WHEN {HELD_BY_ANOTHER} THEN 1 ELSE 0 END AS held FROM {table}) q"
                );
                let (due, next, held, until): (i64, Option<i64>, i64, Option<i64>) =
                    sqlx::query_as(&sql)
                        .bind(now)
                        .bind(now)
                        .bind(now)
                        .bind(owner)
                        .fetch_one(&self.pool)
                        .await
                        .map_err(from_query)?;
                Ok(CheckOutlook {
                    due: u64::try_from(due).unwrap_or(0),
                    next_due_at: next.map(time).transpose()?,
                    held: u64::try_from(held).unwrap_or(0),
                    held_until: until.map(time).transpose()?,
                })
            }

            async fn mark_repository_due(
                &self,
                user: UserId,
                id: RepositoryId,
                now: DateTime<Utc>,
            ) -> StoreResult<bool> {
                if self.repository(user, id).await?.is_none() {
                    return Ok(false);
                }
                self.execute(
                    "UPDATE sync_trackedrepository SET next_check_at = ? \
                     WHERE id = ? AND user_id = ?",
                    &[ms(now), id.0, user.0],
                )
                .await?;
                Ok(true)
            }

            async fn complete_repository_check(&self, check: &RepositoryCheck) -> StoreResult<()> {
                let mut tx = self.begin_write().await?;
                let at = ms(check.checked_at);
                for file in &check.files {
                    // Log first: the row keeps the SHA we had before this check.
                    sqlx::query(
                        "INSERT INTO sync_filechecklog (watched_file_id, checked_at, status, \
                         old_blob_sha, new_blob_sha, commit_sha, detail) \
                         SELECT id, ?, ?, last_blob_sha, ?, ?, ? FROM sync_watchedfile \
                         WHERE id = ? AND repository_id = ?",
                    )
                    .bind(at)
                    .bind(file.status.as_str())
                    .bind(&file.new_blob_sha)
                    .bind(&file.commit_sha)
                    .bind(file.detail.as_ref().map(|d| d.chars().take(1000).collect::<String>()))
                    .bind(file.watched_file_id.0)
                    .bind(check.repository_id.0)
                    .execute(&mut *tx)
                    .await
                    .map_err(from_query)?;
                    sqlx::query(
                        "UPDATE sync_watchedfile SET last_blob_sha = COALESCE(?, last_blob_sha), \
                         last_checked_at = ?, last_status = ? WHERE id = ? AND repository_id = ?",
                    )
                    .bind(&file.new_blob_sha)
                    .bind(at)
                    .bind(file.status.as_str())
                    .bind(file.watched_file_id.0)
                    .bind(check.repository_id.0)
                    .execute(&mut *tx)
                    .await
                    .map_err(from_query)?;
                }
                let done = sqlx::query(
                    "UPDATE sync_trackedrepository SET head_sha = COALESCE(?, head_sha), \
                     etag = COALESCE(?, etag), last_checked_at = ?, last_status = ?, \
                     next_check_at = ?, lease_owner = NULL, lease_expires_at = NULL \
                     WHERE id = ? AND lease_owner = ?",
                )
                .bind(&check.head_sha)
                .bind(&check.etag)
                .bind(at)
                .bind(check.status.as_str())
                .bind(ms(check.next_check_at))
                .bind(check.repository_id.0)
                .bind(&check.owner)
                .execute(&mut *tx)
                .await
                .map_err(from_query)?;
                if done.rows_affected() != 1 {
                    tx.rollback().await.map_err(from_query)?;
                    return Err(StoreError::LeaseLost {
                        what: "repository",
                        id: check.repository_id.0,
                        owner: check.owner.clone(),
                    });
                }
                tx.commit().await.map_err(from_query)
            }

            async fn release_all_claims(&self, owner: &str) -> StoreResult<u64> {
                let mut released = 0;
                for queue in [CheckQueue::Repositories, CheckQueue::Pages] {
                    let sql = format!(
                        "UPDATE {} SET lease_owner = NULL, lease_expires_at = NULL \
                         WHERE lease_owner = ?",
                        queue_table(queue)
                    );
                    released += sqlx::query(&sql)
                        .bind(owner)
                        .execute(&self.pool)
                        .await
                        .map_err(from_query)?
                        .rows_affected();
                }
                Ok(released)
            }

            async fn release_repository_claims(
                &self,
                owner: &str,
                ids: &[RepositoryId],
            ) -> StoreResult<u64> {
                let ids: Vec<i64> = ids.iter().map(|id| id.0).collect();
                self.release_claims("sync_trackedrepository", owner, &ids).await
            }

            async fn file_check_log(
                &self,
                user: UserId,
                file: WatchedFileId,
                page: PageRequest,
            ) -> StoreResult<Paged<FileCheckLogEntry>> {
                let (before, limit) = check_page(page)?;
                if self.watched_file(user, file).await?.is_none() {
                    return Err(StoreError::NotFound { what: "watched file" });
                }
                let sql = format!(
                    "SELECT {} FROM sync_filechecklog l WHERE l.watched_file_id = ? \
                     AND l.id < ? ORDER BY l.id DESC LIMIT ?",
                    FileCheckLogRow::COLUMNS
                );
                let rows: Vec<FileCheckLogRow> = sqlx::query_as(&sql)
                    .bind(file.0)
                    .bind(before)
                    .bind(limit + 1)
                    .fetch_all(&self.pool)
                    .await
                    .map_err(from_query)?;
                Ok(paged(map_rows(rows, FileCheckLogRow::into_domain)?, page, |e| e.id))
            }

            async fn record_api_quota(&self, snapshot: &ApiQuotaSnapshot) -> StoreResult<()> {
                sqlx::query(
                    "INSERT INTO sync_apiquotalog \
                     (host, resource, quota_limit, remaining, reset_at, recorded_at) \
                     VALUES (?, ?, ?, ?, ?, ?)",
                )
                .bind(&snapshot.host)
                .bind(&snapshot.resource)
                .bind(snapshot.limit)
                .bind(snapshot.remaining)
                .bind(snapshot.reset_at.map(ms))
                .bind(ms(snapshot.recorded_at))
                .execute(&self.pool)
                .await
                .map_err(from_query)?;
                Ok(())
            }

            async fn latest_api_quota(&self, host: &str) -> StoreResult<Option<ApiQuotaSnapshot>> {
                let sql = format!(
                    "SELECT {} FROM sync_apiquotalog WHERE host = ? ORDER BY id DESC LIMIT 1",
                    ApiQuotaRow::COLUMNS
                );
                let row: Option<ApiQuotaRow> = sqlx::query_as(&sql)
                    .bind(host)
                    .fetch_optional(&self.pool)
                    .await
                    .map_err(from_query)?;
                row.map(ApiQuotaRow::into_domain).transpose()
            }

            async fn record_forge_quota_use(&self, usage: &ForgeQuotaUse) -> StoreResult<()> {
                let at = ms(usage.recorded_at);
                if usage.spent > 0 {
                    sqlx::query(
                        "INSERT INTO sync_forgequotause (user_id, host, spent, recorded_at) \
                         VALUES (?, ?, ?, ?)",
                    )
                    .bind(usage.user_id.0)
                    .bind(&usage.host)
                    .bind(i64::try_from(usage.spent).unwrap_or(i64::MAX))
                    .bind(at)
                    .execute(&self.pool)
                    .await
                    .map_err(from_query)?;
                }
                // Two hours back: no hourly share reaches further.
                sqlx::query(
                    "DELETE FROM sync_forgequotause WHERE user_id = ? AND host = ? \
                     AND recorded_at < ?",
                )
                .bind(usage.user_id.0)
                .bind(&usage.host)
                .bind(at.saturating_sub(2 * 3_600_000))
                .execute(&self.pool)
                .await
                .map_err(from_query)?;
                Ok(())
            }

            async fn forge_quota_spent(
                &self,
                user: UserId,
                host: &str,
                since: DateTime<Utc>,
            ) -> StoreResult<u64> {
                let (spent,): (Option<i64>,) = sqlx::query_as(
                    "SELECT CAST(SUM(spent) AS SIGNED) FROM sync_forgequotause \
                     WHERE user_id = ? AND host = ? AND recorded_at >= ?",
                )
                .bind(user.0)
                .bind(host)
                .bind(ms(since))
                .fetch_one(&self.pool)
                .await
                .map_err(from_query)?;
                Ok(u64::try_from(spent.unwrap_or(0)).unwrap_or(0))
            }

            async fn users_tracking_host(&self, forge: Forge, host: &str) -> StoreResult<u64> {
                let (n,): (i64,) = sqlx::query_as(
                    "SELECT COUNT(DISTINCT user_id) FROM sync_trackedrepository \
                     WHERE forge = ? AND host = ?",
                )
                .bind(forge.as_str())
                .bind(host)
                .fetch_one(&self.pool)
                .await
                .map_err(from_query)?;
                Ok(u64::try_from(n).unwrap_or(0))
            }

            async fn due_counts(&self, now: DateTime<Utc>) -> StoreResult<DueCounts> {
                let due = |table: &str| {
                    format!(
                        "SELECT COUNT(*) FROM {table} WHERE next_check_at <= ? \
                         AND (lease_expires_at IS NULL OR lease_expires_at <= ?)"
                    )
                };
                let now = ms(now);
                let repositories = self.count(&due("sync_trackedrepository"), &[now, now]).await?;
                let pages = self.count(&due("wiki_monitor_pagemonitor"), &[now, now]).await?;
                Ok(DueCounts {
                    repositories: i64::try_from(repositories).unwrap_or(i64::MAX),
                    pages: i64::try_from(pages).unwrap_or(i64::MAX),
                })
            }
        }
    };
}

pub(crate) use impl_checks;

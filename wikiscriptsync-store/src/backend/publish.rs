//! The per-user publish mutex and the append-only publish log.
//!
//! Written once for both engines as a macro expanding to an inherent `impl` of each backend
//! (see the parent module); the `Store` implementation delegates to it.

macro_rules! impl_publish {
    ($store:ident, $db:ty, $conn:ty, $dialect:expr, $migrator:expr) => {
        impl $store {
            async fn try_acquire(
                &self,
                user: UserId,
                now: DateTime<Utc>,
            ) -> StoreResult<Attempt<PublishLock>> {
                let mut tx = self.begin_write().await?;
                let running: Option<(i64, Option<i64>)> = sqlx::query_as(
                    "SELECT id, started_at FROM publish_task WHERE running_user_id = ?",
                )
                .bind(user.0)
                .fetch_optional(&mut *tx)
                .await
                .map_err(from_query)?;
                let mut expired = None;
                if let Some((id, started_at)) = running {
                    let started_at = started_at.unwrap_or(0);
                    if started_at >= ms(now - PUBLISH_TASK_EXPIRY) {
                        return Ok(Attempt::Done(PublishLock::Busy {
                            task: PublishTaskId(id),
                            running_since: time(started_at)?,
                        }));
                    }
                    let done = sqlx::query(
                        "UPDATE publish_task SET status = 'FAILED', reason = 'expired', \
                         finished_at = ?, running_user_id = NULL \
                         WHERE id = ? AND status = 'RUNNING'",
                    )
                    .bind(ms(now))
                    .bind(id)
                    .execute(&mut *tx)
                    .await
                    .map_err(from_query)?;
                    if done.rows_affected() != 1 {
                        // Someone else expired it first; look again.
                        return Ok(Attempt::Retry);
                    }
                    expired = Some(PublishTaskId(id));
                }
                let inserted: Result<(i64,), sqlx::Error> = sqlx::query_as(
                    "INSERT INTO publish_task \
                     (user_id, status, created_at, started_at, running_user_id) \
                     VALUES (?, 'RUNNING', ?, ?, ?) RETURNING id",
                )
                .bind(user.0)
                .bind(ms(now))
                .bind(ms(now))
                .bind(user.0)
                .fetch_one(&mut *tx)
                .await;
                match inserted {
                    Ok((id,)) => {
                        tx.commit().await.map_err(from_query)?;
                        Ok(Attempt::Done(PublishLock::Acquired {
                            task: PublishTaskId(id),
                            expired,
                        }))
                    }
                    // A concurrent acquirer won between our read and our insert.
                    Err(error) if matches!(classify(&error), DbErrorKind::UniqueViolation) => {
                        Ok(Attempt::Retry)
                    }
                    Err(error) => Err(from_query(error)),
                }
            }

            async fn acquire_publish_task(
                &self,
                user: UserId,
                now: DateTime<Utc>,
            ) -> StoreResult<PublishLock> {
                for attempt in 0..MAX_ATTEMPTS {
                    match self.try_acquire(user, now).await {
                        Ok(Attempt::Done(lock)) => return Ok(lock),
                        Ok(Attempt::Retry) => {}
                        Err(error) if is_transient(&error) && attempt + 1 < MAX_ATTEMPTS => {}
                        Err(error) => return Err(error),
                    }
                    backoff(attempt).await;
                }
                Err(StoreError::Contention(
                    "the publish mutex kept changing hands while acquiring it".to_owned(),
                ))
            }

            async fn release_publish_task(
                &self,
                task: PublishTaskId,
                outcome: &TaskOutcome,
                now: DateTime<Utc>,
            ) -> StoreResult<bool> {
                let (status, reason) = match outcome {
                    TaskOutcome::Done => (PublishTaskStatus::Done, None),
                    TaskOutcome::Failed(reason) => (
                        PublishTaskStatus::Failed,
                        Some(reason.chars().take(255).collect::<String>()),
                    ),
                };
                let done = sqlx::query(
                    "UPDATE publish_task SET status = ?, reason = ?, finished_at = ?, \
                     running_user_id = NULL WHERE id = ? AND status = 'RUNNING'",
                )
                .bind(status.as_str())
                .bind(reason)
                .bind(ms(now))
                .bind(task.0)
                .execute(&self.pool)
                .await
                .map_err(from_query)?;
                Ok(done.rows_affected() == 1)
            }

            async fn publish_task(&self, task: PublishTaskId) -> StoreResult<Option<PublishTask>> {
                let sql = format!(
                    "SELECT {} FROM publish_task WHERE id = ?",
                    PublishTaskRow::COLUMNS
                );
                let row: Option<PublishTaskRow> = sqlx::query_as(&sql)
                    .bind(task.0)
                    .fetch_optional(&self.pool)
                    .await
                    .map_err(from_query)?;
                row.map(PublishTaskRow::into_domain).transpose()
            }

            async fn append_publish_log(
                &self,
                entry: &NewPublishLogEntry,
            ) -> StoreResult<PublishLogId> {
                let message = entry
                    .message
                    .as_ref()
                    .map(|m| m.chars().take(1000).collect::<String>());
                let (id,): (i64,) = sqlx::query_as(
                    "INSERT INTO publish_log (user_id, mapping_id, task_id, created_at, outcome, \
                     dry_run, wiki, page_title, repo_url, branch, file_path, commit_sha, \
                     blob_sha, base_revid, new_revid, message, content_sha1) \
                     VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?) RETURNING id",
                )
                .bind(entry.user_id.0)
                .bind(entry.mapping_id.map(|m| m.0))
                .bind(entry.task_id.map(|t| t.0))
                .bind(ms(entry.at))
                .bind(entry.outcome.as_str())
                .bind(entry.dry_run)
                .bind(&entry.wiki)
                .bind(&entry.page_title)
                .bind(&entry.repo_url)
                .bind(&entry.branch)
                .bind(&entry.file_path)
                .bind(&entry.commit_sha)
                .bind(&entry.blob_sha)
                .bind(entry.base_revid)
                .bind(entry.new_revid)
                .bind(message)
                .bind(&entry.content_sha1)
                .fetch_one(&self.pool)
                .await
                .map_err(from_query)?;
                Ok(PublishLogId(id))
            }

            async fn settle_publish_log(
                &self,
                user: UserId,
                id: PublishLogId,
                settlement: &PublishSettlement,
            ) -> StoreResult<bool> {
                if settlement.outcome == PublishOutcome::Pending {
                    return Err(StoreError::InvalidInput(
                        "a publish-log row is settled with a result, not with `pending`".to_owned(),
                    ));
                }
                let message = settlement
                    .message
                    .as_ref()
                    .map(|m| m.chars().take(1000).collect::<String>());
                // Only a pending row changes, once: the log stays a record of what happened.
                let done = sqlx::query(
                    "UPDATE publish_log SET outcome = ?, new_revid = ?, message = ? \
                     WHERE id = ? AND user_id = ? AND outcome = 'pending'",
                )
                .bind(settlement.outcome.as_str())
                .bind(settlement.new_revid)
                .bind(message)
                .bind(id.0)
                .bind(user.0)
                .execute(&self.pool)
                .await
                .map_err(from_query)?;
                Ok(done.rows_affected() == 1)
            }

            async fn publish_log(
                &self,
                user: UserId,
                filter: PublishLogFilter,
                page: PageRequest,
            ) -> StoreResult<Paged<PublishLogEntry>> {
                let (before, limit) = check_page(page)?;
                let mapping_condition = match filter {
                    PublishLogFilter::All => "",
                    PublishLogFilter::Mapping(_) => "AND mapping_id = ?",
                };
                let sql = format!(
                    "SELECT {} FROM publish_log WHERE user_id = ? {mapping_condition} AND id < ? \
                     ORDER BY id DESC LIMIT ?",
                    PublishLogRow::COLUMNS
                );
                let mut query = sqlx::query_as::<_, PublishLogRow>(&sql).bind(user.0);
                if let PublishLogFilter::Mapping(id) = filter {
                    query = query.bind(id.0);
                }
                let rows = query
                    .bind(before)
                    .bind(limit + 1)
                    .fetch_all(&self.pool)
                    .await
                    .map_err(from_query)?;
                Ok(paged(
                    map_rows(rows, PublishLogRow::into_domain)?,
                    page,
                    |e| e.id.0,
                ))
            }
        }
    };
}

pub(crate) use impl_publish;

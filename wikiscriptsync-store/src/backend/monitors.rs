//! Wiki page monitors: adding them, and claiming, checking and logging due pages.
//!
//! Written once for both engines as a macro expanding to an inherent `impl` of each backend
//! (see the parent module); the `Store` implementation delegates to it.

macro_rules! impl_monitors {
    ($store:ident, $db:ty, $conn:ty, $dialect:expr, $migrator:expr) => {
        impl $store {
            /// Insert a page monitor unless the user has one of the page already; the new
            /// row's id, or `None` when it existed.
            async fn insert_monitor(
                conn: &mut $conn,
                user: UserId,
                wiki: &str,
                page_title: &str,
                origin: MonitorOrigin,
                now: DateTime<Utc>,
            ) -> StoreResult<Option<i64>> {
                if wiki.is_empty() || page_title.is_empty() {
                    return Err(StoreError::InvalidInput(
                        "a page monitor needs a wiki and a page title".to_owned(),
                    ));
                }
                let inserted: Result<(i64,), sqlx::Error> = sqlx::query_as(
                    "INSERT INTO wiki_monitor_pagemonitor \
                     (user_id, wiki, page_title, origin, next_check_at, created_at) \
                     VALUES (?, ?, ?, ?, ?, ?) RETURNING id",
                )
                .bind(user.0)
                .bind(wiki)
                .bind(page_title)
                .bind(origin.as_str())
                .bind(ms(now))
                .bind(ms(now))
                .fetch_one(&mut *conn)
                .await;
                match inserted {
                    Ok((id,)) => Ok(Some(id)),
                    // Only the statement fails; a surrounding transaction goes on.
                    Err(error) if matches!(classify(&error), DbErrorKind::UniqueViolation) => {
                        Ok(None)
                    }
                    Err(error) => Err(from_query(error)),
                }
            }

            async fn add_page_monitor(
                &self,
                user: UserId,
                wiki: &str,
                page_title: &str,
                now: DateTime<Utc>,
            ) -> StoreResult<PageMonitor> {
                let mut conn = self.pool.acquire().await.map_err(from_query)?;
                let inserted = Self::insert_monitor(
                    &mut conn,
                    user,
                    wiki,
                    page_title,
                    MonitorOrigin::User,
                    now,
                )
                .await?;
                let id = match inserted {
                    Some(id) => id,
                    None => {
                        // A monitor a mapping created becomes the user's own, so it outlives
                        // the mapping; a second request of the user's own is a duplicate.
                        let adopted = sqlx::query(
                            "UPDATE wiki_monitor_pagemonitor SET origin = 'user' \
                             WHERE user_id = ? AND wiki = ? AND page_title = ? \
                             AND origin = 'mapping'",
                        )
                        .bind(user.0)
                        .bind(wiki)
                        .bind(page_title)
                        .execute(&mut *conn)
                        .await
                        .map_err(from_query)?;
                        if adopted.rows_affected() == 0 {
                            return Err(StoreError::AlreadyExists {
                                what: "a monitor of this page",
                            });
                        }
                        let (id,): (i64,) = sqlx::query_as(
                            "SELECT id FROM wiki_monitor_pagemonitor \
                             WHERE user_id = ? AND wiki = ? AND page_title = ?",
                        )
                        .bind(user.0)
                        .bind(wiki)
                        .bind(page_title)
                        .fetch_one(&mut *conn)
                        .await
                        .map_err(from_query)?;
                        id
                    }
                };
                drop(conn);
                self.page_monitor(user, PageMonitorId(id))
                    .await?
                    .ok_or(StoreError::NotFound {
                        what: "page monitor",
                    })
            }

            async fn ensure_page_monitor(
                &self,
                user: UserId,
                wiki: &str,
                page_title: &str,
                now: DateTime<Utc>,
            ) -> StoreResult<()> {
                let mut conn = self.pool.acquire().await.map_err(from_query)?;
                Self::insert_monitor(&mut conn, user, wiki, page_title, MonitorOrigin::User, now)
                    .await?;
                Ok(())
            }

            async fn page_monitor(
                &self,
                user: UserId,
                id: PageMonitorId,
            ) -> StoreResult<Option<PageMonitor>> {
                let sql = format!(
                    "SELECT {} FROM wiki_monitor_pagemonitor p WHERE p.user_id = ? AND p.id = ?",
                    PageMonitorRow::COLUMNS
                );
                let row: Option<PageMonitorRow> = sqlx::query_as(&sql)
                    .bind(user.0)
                    .bind(id.0)
                    .fetch_optional(&self.pool)
                    .await
                    .map_err(from_query)?;
                row.map(PageMonitorRow::into_domain).transpose()
            }

            async fn list_page_monitors(&self, user: UserId) -> StoreResult<Vec<PageMonitor>> {
                let sql = format!(
                    "SELECT {} FROM wiki_monitor_pagemonitor p WHERE p.user_id = ? \
                     ORDER BY p.wiki, p.page_title",
                    PageMonitorRow::COLUMNS
                );
                let rows: Vec<PageMonitorRow> = sqlx::query_as(&sql)
                    .bind(user.0)
                    .fetch_all(&self.pool)
                    .await
                    .map_err(from_query)?;
                map_rows(rows, PageMonitorRow::into_domain)
            }

            async fn remove_page_monitor(
                &self,
                user: UserId,
                id: PageMonitorId,
            ) -> StoreResult<bool> {
                let n = self
                    .execute(
                        "DELETE FROM wiki_monitor_pagemonitor WHERE id = ? AND user_id = ?",
                        &[id.0, user.0],
                    )
                    .await?;
                Ok(n > 0)
            }

            async fn claim_due_pages(&self, claim: &ClaimRequest) -> StoreResult<Vec<PageMonitor>> {
                self.claim_pages(claim, None).await
            }

            async fn claim_due_pages_among(
                &self,
                ids: &[PageMonitorId],
                claim: &ClaimRequest,
            ) -> StoreResult<Vec<PageMonitor>> {
                let ids: Vec<i64> = ids.iter().map(|id| id.0).collect();
                self.claim_pages(claim, Some(&ids)).await
            }

            /// Claims due pages (only among `only` when given), ordered by wiki.
            async fn claim_pages(
                &self,
                claim: &ClaimRequest,
                only: Option<&[i64]>,
            ) -> StoreResult<Vec<PageMonitor>> {
                let ids = self
                    .claim_ids("wiki_monitor_pagemonitor", claim, only)
                    .await?;
                if ids.is_empty() {
                    return Ok(Vec::new());
                }
                let sql = format!(
                    "SELECT {} FROM wiki_monitor_pagemonitor p WHERE p.id IN ({}) \
                     ORDER BY p.wiki, p.page_title, p.id",
                    PageMonitorRow::COLUMNS,
                    placeholders(ids.len())
                );
                let mut query = sqlx::query_as::<_, PageMonitorRow>(&sql);
                for id in &ids {
                    query = query.bind(*id);
                }
                let rows = query.fetch_all(&self.pool).await.map_err(from_query)?;
                map_rows(rows, PageMonitorRow::into_domain)
            }

            async fn complete_page_checks(
                &self,
                owner: &str,
                checked_at: DateTime<Utc>,
                checks: &[PageCheck],
            ) -> StoreResult<Vec<PageMonitorId>> {
                let at = ms(checked_at);
                let mut skipped = Vec::new();
                let mut tx = self.begin_write().await?;
                for check in checks {
                    sqlx::query(
                        "INSERT INTO wiki_monitor_wikipage_checklog (page_monitor_id, \
                         checked_at, status, old_revid, new_revid, detail) \
                         SELECT id, ?, ?, last_revid, ?, ? FROM wiki_monitor_pagemonitor \
                         WHERE id = ? AND lease_owner = ?",
                    )
                    .bind(at)
                    .bind(check.status.as_str())
                    .bind(check.new_revid)
                    .bind(
                        check
                            .detail
                            .as_ref()
                            .map(|d| d.chars().take(1000).collect::<String>()),
                    )
                    .bind(check.page_monitor_id.0)
                    .bind(owner)
                    .execute(&mut *tx)
                    .await
                    .map_err(from_query)?;
                    let done = sqlx::query(
                        "UPDATE wiki_monitor_pagemonitor SET last_revid = COALESCE(?, last_revid), \
                         last_checked_at = ?, last_status = ?, next_check_at = ?, \
                         lease_owner = NULL, lease_expires_at = NULL \
                         WHERE id = ? AND lease_owner = ?",
                    )
                    .bind(check.new_revid)
                    .bind(at)
                    .bind(check.status.as_str())
                    .bind(ms(check.next_check_at))
                    .bind(check.page_monitor_id.0)
                    .bind(owner)
                    .execute(&mut *tx)
                    .await
                    .map_err(from_query)?;
                    if done.rows_affected() != 1 {
                        skipped.push(check.page_monitor_id);
                    }
                }
                tx.commit().await.map_err(from_query)?;
                Ok(skipped)
            }

            async fn release_page_claims(
                &self,
                owner: &str,
                ids: &[PageMonitorId],
            ) -> StoreResult<u64> {
                let ids: Vec<i64> = ids.iter().map(|id| id.0).collect();
                self.release_claims("wiki_monitor_pagemonitor", owner, &ids)
                    .await
            }

            async fn page_check_log(
                &self,
                user: UserId,
                monitor: PageMonitorId,
                page: PageRequest,
            ) -> StoreResult<Paged<PageCheckLogEntry>> {
                let (before, limit) = check_page(page)?;
                if self.page_monitor(user, monitor).await?.is_none() {
                    return Err(StoreError::NotFound {
                        what: "page monitor",
                    });
                }
                let sql = format!(
                    "SELECT {} FROM wiki_monitor_wikipage_checklog l \
                     WHERE l.page_monitor_id = ? AND l.id < ? ORDER BY l.id DESC LIMIT ?",
                    PageCheckLogRow::COLUMNS
                );
                let rows: Vec<PageCheckLogRow> = sqlx::query_as(&sql)
                    .bind(monitor.0)
                    .bind(before)
                    .bind(limit + 1)
                    .fetch_all(&self.pool)
                    .await
                    .map_err(from_query)?;
                Ok(paged(
                    map_rows(rows, PageCheckLogRow::into_domain)?,
                    page,
                    |e| e.id,
                ))
            }
        }
    };
}

pub(crate) use impl_monitors;

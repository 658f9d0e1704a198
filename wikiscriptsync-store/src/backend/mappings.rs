//! File → wiki page mappings, with the monitors they create and remove, and their sync
//! state.
//!
//! Written once for both engines as a macro expanding to an inherent `impl` of each backend
//! (see the parent module); the `Store` implementation delegates to it.

macro_rules! impl_mappings {
    ($store:ident, $db:ty, $conn:ty, $dialect:expr, $migrator:expr) => {
        impl $store {
            async fn mappings_where(
                &self,
                condition: &str,
                binds: &[i64],
            ) -> StoreResult<Vec<Mapping>> {
                let sql = format!(
                    "SELECT {} FROM sync_filemapping m \
                     JOIN sync_watchedfile f ON f.id = m.watched_file_id \
                     JOIN sync_trackedrepository r ON r.id = f.repository_id \
                     WHERE {condition} ORDER BY m.watched_file_id, m.id",
                    MappingRow::COLUMNS
                );
                let mut query = sqlx::query_as::<_, MappingRow>(&sql);
                for bind in binds {
                    query = query.bind(*bind);
                }
                let rows = query.fetch_all(&self.pool).await.map_err(from_query)?;
                map_rows(rows, MappingRow::into_domain)
            }

            /// The distinct (wiki, page title) targets of the user's mappings matching
            /// `condition` (on `m`, `f`, `r`, with one bind).
            async fn mapped_pages(
                conn: &mut $conn,
                user: UserId,
                condition: &str,
                bind: i64,
            ) -> StoreResult<Vec<(String, String)>> {
                let sql = format!(
                    "SELECT DISTINCT m.wiki, m.page_title FROM sync_filemapping m \
                     JOIN sync_watchedfile f ON f.id = m.watched_file_id \
                     JOIN sync_trackedrepository r ON r.id = f.repository_id \
                     WHERE r.user_id = ? AND {condition}"
                );
                let pages: Vec<(Text, Text)> = sqlx::query_as(&sql)
                    .bind(user.0)
                    .bind(bind)
                    .fetch_all(&mut *conn)
                    .await
                    .map_err(from_query)?;
                Ok(pages
                    .into_iter()
                    .map(|(wiki, page_title)| (wiki.plain(), page_title.plain()))
                    .collect())
            }

            /// Delete the user's monitors of `pages` that a mapping created and that no
            /// mapping of the user targets any more.
            async fn drop_unmapped_monitors(
                conn: &mut $conn,
                user: UserId,
                pages: &[(String, String)],
            ) -> StoreResult<()> {
                for (wiki, page_title) in pages {
                    sqlx::query(
                        "DELETE FROM wiki_monitor_pagemonitor WHERE user_id = ? AND wiki = ? \
                         AND page_title = ? AND origin = 'mapping' AND NOT EXISTS \
                         (SELECT 1 FROM sync_filemapping m \
                         JOIN sync_watchedfile f ON f.id = m.watched_file_id \
                         JOIN sync_trackedrepository r ON r.id = f.repository_id \
                         WHERE r.user_id = ? AND m.wiki = ? AND m.page_title = ?)",
                    )
                    .bind(user.0)
                    .bind(wiki)
                    .bind(page_title)
                    .bind(user.0)
                    .bind(wiki)
                    .bind(page_title)
                    .execute(&mut *conn)
                    .await
                    .map_err(from_query)?;
                }
                Ok(())
            }

            /// Run `delete` (repository, file or mapping rows of the user, cascading to
            /// mappings) and drop the monitors those mappings created, in one transaction.
            /// `scope` picks the affected mappings as in [`Self::mapped_pages`].
            async fn delete_with_mapping_monitors(
                &self,
                user: UserId,
                scope: &str,
                scope_id: i64,
                delete: &str,
                binds: &[i64],
            ) -> StoreResult<bool> {
                let mut tx = self.begin_write().await?;
                let pages = Self::mapped_pages(&mut tx, user, scope, scope_id).await?;
                let mut query = sqlx::query(delete);
                for bind in binds {
                    query = query.bind(*bind);
                }
                let deleted = query
                    .execute(&mut *tx)
                    .await
                    .map_err(from_query)?
                    .rows_affected();
                if deleted > 0 {
                    Self::drop_unmapped_monitors(&mut tx, user, &pages).await?;
                }
                tx.commit().await.map_err(from_query)?;
                Ok(deleted > 0)
            }

            async fn add_mapping(
                &self,
                user: UserId,
                mapping: &NewMapping,
                now: DateTime<Utc>,
            ) -> StoreResult<Mapping> {
                self.add_mapping_with_monitor(user, mapping, false, now)
                    .await
            }

            async fn add_mapping_with_monitor(
                &self,
                user: UserId,
                mapping: &NewMapping,
                monitor: bool,
                now: DateTime<Utc>,
            ) -> StoreResult<Mapping> {
                if mapping.wiki.is_empty() || mapping.page_title.is_empty() {
                    return Err(StoreError::InvalidInput(
                        "a mapping needs a wiki and a page title".to_owned(),
                    ));
                }
                let mut tx = self.begin_write().await?;
                let owned: Option<(i64,)> = sqlx::query_as(&format!(
                    "SELECT id FROM ({OWNED_FILE_IDS}) owned WHERE id = ?"
                ))
                .bind(user.0)
                .bind(mapping.watched_file_id.0)
                .fetch_optional(&mut *tx)
                .await
                .map_err(from_query)?;
                if owned.is_none() {
                    return Err(StoreError::NotFound {
                        what: "watched file",
                    });
                }
                let (id,): (i64,) = sqlx::query_as(
                    "INSERT INTO sync_filemapping (watched_file_id, wiki, page_title, \
                     publish_enabled, allow_create, add_banner, created_at) \
                     VALUES (?, ?, ?, ?, ?, ?, ?) RETURNING id",
                )
                .bind(mapping.watched_file_id.0)
                .bind(&mapping.wiki)
                .bind(&mapping.page_title)
                .bind(mapping.options.publish_enabled)
                .bind(mapping.options.allow_create)
                .bind(mapping.options.add_banner)
                .bind(ms(now))
                .fetch_one(&mut *tx)
                .await
                .map_err(unique_as("a mapping of this file to this page"))?;
                if monitor {
                    Self::insert_monitor(
                        &mut tx,
                        user,
                        &mapping.wiki,
                        &mapping.page_title,
                        MonitorOrigin::Mapping,
                        now,
                    )
                    .await?;
                }
                tx.commit().await.map_err(from_query)?;
                self.mapping(user, MappingId(id))
                    .await?
                    .ok_or(StoreError::NotFound { what: "mapping" })
            }

            async fn mapping(&self, user: UserId, id: MappingId) -> StoreResult<Option<Mapping>> {
                let mut found = self
                    .mappings_where("r.user_id = ? AND m.id = ?", &[user.0, id.0])
                    .await?;
                Ok(found.pop())
            }

            async fn list_mappings(
                &self,
                user: UserId,
                file: WatchedFileId,
            ) -> StoreResult<Vec<Mapping>> {
                self.mappings_where("r.user_id = ? AND f.id = ?", &[user.0, file.0])
                    .await
            }

            async fn set_mapping_options(
                &self,
                user: UserId,
                id: MappingId,
                options: MappingOptions,
            ) -> StoreResult<bool> {
                let sql = format!(
                    "UPDATE sync_filemapping SET publish_enabled = ?, allow_create = ?, \
                     add_banner = ? WHERE id = ? AND watched_file_id IN ({OWNED_FILE_IDS})"
                );
                let done = sqlx::query(&sql)
                    .bind(options.publish_enabled)
                    .bind(options.allow_create)
                    .bind(options.add_banner)
                    .bind(id.0)
                    .bind(user.0)
                    .execute(&self.pool)
                    .await
                    .map_err(from_query)?;
                Ok(done.rows_affected() > 0)
            }

            async fn remove_mapping(&self, user: UserId, id: MappingId) -> StoreResult<bool> {
                let sql = format!(
                    "DELETE FROM sync_filemapping WHERE id = ? AND watched_file_id IN \
                     ({OWNED_FILE_IDS})"
                );
                self.delete_with_mapping_monitors(user, "m.id = ?", id.0, &sql, &[id.0, user.0])
                    .await
            }

            async fn record_published(
                &self,
                user: UserId,
                id: MappingId,
                state: &PublishedState,
            ) -> StoreResult<()> {
                let sql = format!(
                    "UPDATE sync_filemapping SET last_published_blob_sha = ?, \
                     last_published_commit_sha = ?, last_published_revid = ?, \
                     last_published_at = ? WHERE id = ? AND watched_file_id IN \
                     ({OWNED_FILE_IDS})"
                );
                let mut tx = self.begin_write().await?;
                let done = sqlx::query(&sql)
                    .bind(&state.blob_sha)
                    .bind(&state.commit_sha)
                    .bind(state.revid)
                    .bind(ms(state.at))
                    .bind(id.0)
                    .bind(user.0)
                    .execute(&mut *tx)
                    .await
                    .map_err(from_query)?;
                if done.rows_affected() == 0 {
                    return Err(StoreError::NotFound { what: "mapping" });
                }
                // Our own edit is not an on-wiki change: the user's monitor of the page moves
                // up to it, so it neither reports the publish nor calls the page drifted.
                sqlx::query(
                    "UPDATE wiki_monitor_pagemonitor SET last_revid = ? \
                     WHERE user_id = ? AND (last_revid IS NULL OR last_revid < ?) \
                     AND EXISTS (SELECT 1 FROM sync_filemapping m WHERE m.id = ? \
                     AND m.wiki = wiki_monitor_pagemonitor.wiki \
                     AND m.page_title = wiki_monitor_pagemonitor.page_title)",
                )
                .bind(state.revid)
                .bind(user.0)
                .bind(state.revid)
                .bind(id.0)
                .execute(&mut *tx)
                .await
                .map_err(from_query)?;
                tx.commit().await.map_err(from_query)?;
                Ok(())
            }

            async fn mapping_statuses(
                &self,
                user: UserId,
                scope: &MappingScope,
            ) -> StoreResult<Vec<MappingStatus>> {
                let condition = match scope {
                    MappingScope::All => "",
                    MappingScope::Repository(_) => " WHERE s.repository_id = ?",
                    MappingScope::File(_) => " WHERE s.watched_file_id = ?",
                    MappingScope::Wiki(_) => " WHERE s.wiki = ?",
                };
                let sql = format!(
                    "{}{condition} ORDER BY s.repository_id, s.file_path, s.id",
                    mapping_status_sql("s.*")
                );
                let query = sqlx::query_as::<_, MappingStatusRow>(&sql).bind(user.0);
                let query = match scope {
                    MappingScope::All => query,
                    MappingScope::Repository(id) => query.bind(id.0),
                    MappingScope::File(id) => query.bind(id.0),
                    MappingScope::Wiki(wiki) => query.bind(wiki.as_str()),
                };
                let rows = query.fetch_all(&self.pool).await.map_err(from_query)?;
                map_rows(rows, MappingStatusRow::into_domain)
            }
        }
    };
}

pub(crate) use impl_mappings;

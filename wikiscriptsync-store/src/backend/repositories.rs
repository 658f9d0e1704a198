//! Tracked repositories and their watched files.
//!
//! Written once for both engines as a macro expanding to an inherent `impl` of each backend
//! (see the parent module); the `Store` implementation delegates to it.

macro_rules! impl_repositories {
    ($store:ident, $db:ty, $conn:ty, $dialect:expr, $migrator:expr) => {
        impl $store {
            async fn owned_repositories(
                &self,
                sql: &str,
                bind: i64,
            ) -> StoreResult<Vec<Repository>> {
                let rows: Vec<RepositoryRow> = sqlx::query_as(sql)
                    .bind(bind)
                    .fetch_all(&self.pool)
                    .await
                    .map_err(from_query)?;
                map_rows(rows, RepositoryRow::into_domain)
            }

            async fn add_repository(
                &self,
                user: UserId,
                repository: &NewRepository,
                now: DateTime<Utc>,
            ) -> StoreResult<Repository> {
                if repository.url.is_empty() || repository.branch.is_empty() {
                    return Err(StoreError::InvalidInput(
                        "a repository needs a URL and a branch".to_owned(),
                    ));
                }
                let (id,): (i64,) = sqlx::query_as(
                    "INSERT INTO sync_trackedrepository \
                     (user_id, forge, host, full_name, repo_url, branch, next_check_at, \
                     created_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?) RETURNING id",
                )
                .bind(user.0)
                .bind(repository.forge.as_str())
                .bind(&repository.host)
                .bind(&repository.full_name)
                .bind(&repository.url)
                .bind(&repository.branch)
                .bind(ms(now))
                .bind(ms(now))
                .fetch_one(&self.pool)
                .await
                .map_err(unique_as("a tracked repository with this URL and branch"))?;
                self.repository(user, RepositoryId(id))
                    .await?
                    .ok_or(StoreError::NotFound { what: "repository" })
            }

            async fn repository(
                &self,
                user: UserId,
                id: RepositoryId,
            ) -> StoreResult<Option<Repository>> {
                let sql = format!(
                    "SELECT {} FROM sync_trackedrepository r WHERE r.user_id = ? AND r.id = ?",
                    RepositoryRow::COLUMNS
                );
                let row: Option<RepositoryRow> = sqlx::query_as(&sql)
                    .bind(user.0)
                    .bind(id.0)
                    .fetch_optional(&self.pool)
                    .await
                    .map_err(from_query)?;
                row.map(RepositoryRow::into_domain).transpose()
            }

            async fn list_repositories(&self, user: UserId) -> StoreResult<Vec<Repository>> {
                let sql = format!(
                    "SELECT {} FROM sync_trackedrepository r WHERE r.user_id = ? ORDER BY r.id",
                    RepositoryRow::COLUMNS
                );
                self.owned_repositories(&sql, user.0).await
            }

            async fn remove_repository(&self, user: UserId, id: RepositoryId) -> StoreResult<bool> {
                self.delete_with_mapping_monitors(
                    user,
                    "r.id = ?",
                    id.0,
                    "DELETE FROM sync_trackedrepository WHERE id = ? AND user_id = ?",
                    &[id.0, user.0],
                )
                .await
            }

            async fn watch_file(
                &self,
                user: UserId,
                repository: RepositoryId,
                path: &str,
                now: DateTime<Utc>,
            ) -> StoreResult<WatchedFile> {
                if path.is_empty() {
                    return Err(StoreError::InvalidInput(
                        "the file path is empty".to_owned(),
                    ));
                }
                if self.repository(user, repository).await?.is_none() {
                    return Err(StoreError::NotFound { what: "repository" });
                }
                let (id,): (i64,) = sqlx::query_as(
                    "INSERT INTO sync_watchedfile (repository_id, path, created_at) \
                     VALUES (?, ?, ?) RETURNING id",
                )
                .bind(repository.0)
                .bind(path)
                .bind(ms(now))
                .fetch_one(&self.pool)
                .await
                .map_err(unique_as("a watched file with this path"))?;
                self.watched_file(user, WatchedFileId(id))
                    .await?
                    .ok_or(StoreError::NotFound {
                        what: "watched file",
                    })
            }

            async fn watched_file(
                &self,
                user: UserId,
                id: WatchedFileId,
            ) -> StoreResult<Option<WatchedFile>> {
                let sql = format!(
                    "SELECT {} FROM sync_watchedfile f \
                     JOIN sync_trackedrepository r ON r.id = f.repository_id \
                     WHERE r.user_id = ? AND f.id = ?",
                    WatchedFileRow::COLUMNS
                );
                let row: Option<WatchedFileRow> = sqlx::query_as(&sql)
                    .bind(user.0)
                    .bind(id.0)
                    .fetch_optional(&self.pool)
                    .await
                    .map_err(from_query)?;
                row.map(WatchedFileRow::into_domain).transpose()
            }

            async fn list_watched_files(
                &self,
                user: UserId,
                repository: RepositoryId,
            ) -> StoreResult<Vec<WatchedFile>> {
                let sql = format!(
                    "SELECT {} FROM sync_watchedfile f \
                     JOIN sync_trackedrepository r ON r.id = f.repository_id \
                     WHERE r.user_id = ? AND r.id = ? ORDER BY f.path",
                    WatchedFileRow::COLUMNS
                );
                let rows: Vec<WatchedFileRow> = sqlx::query_as(&sql)
                    .bind(user.0)
                    .bind(repository.0)
                    .fetch_all(&self.pool)
                    .await
                    .map_err(from_query)?;
                map_rows(rows, WatchedFileRow::into_domain)
            }

            async fn unwatch_file(&self, user: UserId, id: WatchedFileId) -> StoreResult<bool> {
                self.delete_with_mapping_monitors(
                    user,
                    "f.id = ?",
                    id.0,
                    "DELETE FROM sync_watchedfile WHERE id = ? AND repository_id IN \
                     (SELECT id FROM sync_trackedrepository WHERE user_id = ?)",
                    &[id.0, user.0],
                )
                .await
            }
        }
    };
}

pub(crate) use impl_repositories;

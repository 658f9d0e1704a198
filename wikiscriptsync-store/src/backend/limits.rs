//! What the per-user limits are checked against: one query counting what a user holds, and
//! rate-limited actions taken in a window (counted and recorded in one write transaction, so
//! two concurrent requests of one user cannot both take the last one).
//!
//! Written once for both engines as a macro expanding to an inherent `impl` of each backend
//! (see the parent module); the `Store` implementation delegates to it.

macro_rules! impl_limits {
    ($store:ident, $db:ty, $conn:ty, $dialect:expr, $migrator:expr) => {
        impl $store {
            async fn user_counts(&self, user: UserId) -> StoreResult<UserCounts> {
                let (repositories, watched_files, mappings, monitored_pages): (i64, i64, i64, i64) =
                    sqlx::query_as(
                        "SELECT \
                     (SELECT COUNT(*) FROM sync_trackedrepository WHERE user_id = ?), \
                     (SELECT COUNT(*) FROM sync_watchedfile f \
                      JOIN sync_trackedrepository r ON r.id = f.repository_id \
                      WHERE r.user_id = ?), \
                     (SELECT COUNT(*) FROM sync_filemapping m \
                      JOIN sync_watchedfile f ON f.id = m.watched_file_id \
                      JOIN sync_trackedrepository r ON r.id = f.repository_id \
                      WHERE r.user_id = ?), \
                     (SELECT COUNT(*) FROM wiki_monitor_pagemonitor WHERE user_id = ?)",
                    )
                    .bind(user.0)
                    .bind(user.0)
                    .bind(user.0)
                    .bind(user.0)
                    .fetch_one(&self.pool)
                    .await
                    .map_err(from_query)?;
                let count = |n: i64| u64::try_from(n).unwrap_or(0);
                Ok(UserCounts {
                    repositories: count(repositories),
                    watched_files: count(watched_files),
                    mappings: count(mappings),
                    monitored_pages: count(monitored_pages),
                })
            }

            async fn take_action_slot(
                &self,
                user: UserId,
                action: UserAction,
                now: DateTime<Utc>,
                window: chrono::TimeDelta,
                limit: u32,
            ) -> StoreResult<ActionSlot> {
                let since = ms(now - window);
                let mut tx = self.begin_write().await?;
                // MariaDB: the user's row lock serialises their takers (SQLite's write
                // transaction already does).
                let lock = format!(
                    "SELECT id FROM users WHERE id = ?{}",
                    Self::DIALECT.lock_row_suffix
                );
                sqlx::query(&lock)
                    .bind(user.0)
                    .fetch_optional(&mut *tx)
                    .await
                    .map_err(from_query)?;
                sqlx::query(
                    "DELETE FROM user_actions WHERE user_id = ? AND action = ? AND taken_at <= ?",
                )
                .bind(user.0)
                .bind(action.as_str())
                .bind(since)
                .execute(&mut *tx)
                .await
                .map_err(from_query)?;
                let (taken, oldest): (i64, Option<i64>) = sqlx::query_as(
                    "SELECT COUNT(*), MIN(taken_at) FROM user_actions \
                     WHERE user_id = ? AND action = ? AND taken_at > ?",
                )
                .bind(user.0)
                .bind(action.as_str())
                .bind(since)
                .fetch_one(&mut *tx)
                .await
                .map_err(from_query)?;
                if taken >= i64::from(limit) {
                    tx.commit().await.map_err(from_query)?;
                    let next_at = match oldest {
                        Some(oldest) => time(oldest)? + window,
                        None => now + window,
                    };
                    return Ok(ActionSlot::Refused { next_at });
                }
                sqlx::query(
                    "INSERT INTO user_actions (user_id, action, taken_at) VALUES (?, ?, ?)",
                )
                .bind(user.0)
                .bind(action.as_str())
                .bind(ms(now))
                .execute(&mut *tx)
                .await
                .map_err(from_query)?;
                tx.commit().await.map_err(from_query)?;
                Ok(ActionSlot::Taken)
            }
        }
    };
}

pub(crate) use impl_limits;

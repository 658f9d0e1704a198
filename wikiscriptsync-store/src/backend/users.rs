//! Users, keyed by the OAuth central id, and their web sessions (rows that a logout deletes).
//!
//! Written once for both engines as a macro expanding to an inherent `impl` of each backend
//! (see the parent module); the `Store` implementation delegates to it.

macro_rules! impl_users {
    ($store:ident, $db:ty, $conn:ty, $dialect:expr, $migrator:expr) => {
        impl $store {
            async fn upsert_user(
                &self,
                central_id: &str,
                username: &str,
                now: DateTime<Utc>,
            ) -> StoreResult<User> {
                if central_id.is_empty() || username.is_empty() {
                    return Err(StoreError::InvalidInput(
                        "a user needs a central id and a user name".to_owned(),
                    ));
                }
                sqlx::query(Self::DIALECT.upsert_user)
                    .bind(central_id)
                    .bind(username)
                    .bind(ms(now))
                    .bind(ms(now))
                    .execute(&self.pool)
                    .await
                    .map_err(from_query)?;
                self.user_by_central_id(central_id)
                    .await?
                    .ok_or(StoreError::NotFound { what: "user" })
            }

            async fn user(&self, id: UserId) -> StoreResult<Option<User>> {
                let sql = format!("SELECT {} FROM users WHERE id = ?", UserRow::COLUMNS);
                let row: Option<UserRow> = sqlx::query_as(&sql)
                    .bind(id.0)
                    .fetch_optional(&self.pool)
                    .await
                    .map_err(from_query)?;
                row.map(UserRow::into_domain).transpose()
            }

            async fn user_by_central_id(&self, central_id: &str) -> StoreResult<Option<User>> {
                let sql = format!(
                    "SELECT {} FROM users WHERE central_id = ?",
                    UserRow::COLUMNS
                );
                let row: Option<UserRow> = sqlx::query_as(&sql)
                    .bind(central_id)
                    .fetch_optional(&self.pool)
                    .await
                    .map_err(from_query)?;
                row.map(UserRow::into_domain).transpose()
            }

            async fn user_by_name(&self, username: &str) -> StoreResult<Option<User>> {
                // A name can have moved between accounts; the most recent login wins.
                let sql = format!(
                    "SELECT {} FROM users WHERE username = ? ORDER BY last_login_at DESC LIMIT 1",
                    UserRow::COLUMNS
                );
                let row: Option<UserRow> = sqlx::query_as(&sql)
                    .bind(username)
                    .fetch_optional(&self.pool)
                    .await
                    .map_err(from_query)?;
                row.map(UserRow::into_domain).transpose()
            }

            async fn create_session(
                &self,
                id: &str,
                user: UserId,
                now: DateTime<Utc>,
                expires: DateTime<Utc>,
            ) -> StoreResult<()> {
                if id.is_empty() || id.len() > 64 {
                    return Err(StoreError::InvalidInput(
                        "a session id is 1 to 64 characters".to_owned(),
                    ));
                }
                // The user's expired sessions go here, so the table stays as small as the
                // sessions that can still be used.
                sqlx::query("DELETE FROM user_sessions WHERE user_id = ? AND expires_at <= ?")
                    .bind(user.0)
                    .bind(ms(now))
                    .execute(&self.pool)
                    .await
                    .map_err(from_query)?;
                sqlx::query(
                    "INSERT INTO user_sessions (id, user_id, created_at, expires_at) \
                     VALUES (?, ?, ?, ?)",
                )
                .bind(id)
                .bind(user.0)
                .bind(ms(now))
                .bind(ms(expires))
                .execute(&self.pool)
                .await
                .map_err(from_query)?;
                Ok(())
            }

            async fn session_user(
                &self,
                id: &str,
                now: DateTime<Utc>,
            ) -> StoreResult<Option<User>> {
                let sql = format!(
                    "SELECT {} FROM users WHERE id = (SELECT user_id FROM user_sessions \
                     WHERE id = ? AND expires_at > ?)",
                    UserRow::COLUMNS
                );
                let row: Option<UserRow> = sqlx::query_as(&sql)
                    .bind(id)
                    .bind(ms(now))
                    .fetch_optional(&self.pool)
                    .await
                    .map_err(from_query)?;
                row.map(UserRow::into_domain).transpose()
            }

            async fn end_session(&self, id: &str) -> StoreResult<bool> {
                let done = sqlx::query("DELETE FROM user_sessions WHERE id = ?")
                    .bind(id)
                    .execute(&self.pool)
                    .await
                    .map_err(from_query)?;
                Ok(done.rows_affected() > 0)
            }

            async fn end_user_sessions(&self, user: UserId) -> StoreResult<u64> {
                let done = sqlx::query("DELETE FROM user_sessions WHERE user_id = ?")
                    .bind(user.0)
                    .execute(&self.pool)
                    .await
                    .map_err(from_query)?;
                Ok(done.rows_affected())
            }
        }
    };
}

pub(crate) use impl_users;

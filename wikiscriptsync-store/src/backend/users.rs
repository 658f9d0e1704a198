//! Users, keyed by the OAuth central id.
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
        }
    };
}

pub(crate) use impl_users;

//! Stored BotPasswords (ciphertext only).
//!
//! Written once for both engines as a macro expanding to an inherent `impl` of each backend
//! (see the parent module); the `Store` implementation delegates to it.

macro_rules! impl_credentials {
    ($store:ident, $db:ty, $conn:ty, $dialect:expr, $migrator:expr) => {
        impl $store {
            async fn set_credential(
                &self,
                user: UserId,
                wiki: &str,
                bot_username: &str,
                ciphertext: &str,
                now: DateTime<Utc>,
            ) -> StoreResult<CredentialSummary> {
                if wiki.is_empty() || bot_username.is_empty() || ciphertext.is_empty() {
                    return Err(StoreError::InvalidInput(
                        "a credential needs a wiki, a bot user name and a ciphertext".to_owned(),
                    ));
                }
                sqlx::query(Self::DIALECT.upsert_credential)
                    .bind(user.0)
                    .bind(wiki)
                    .bind(bot_username)
                    .bind(ciphertext)
                    .bind(ms(now))
                    .execute(&self.pool)
                    .await
                    .map_err(from_query)?;
                let stored = self
                    .credential(user, wiki)
                    .await?
                    .ok_or(StoreError::NotFound { what: "credential" })?;
                Ok(CredentialSummary {
                    id: stored.id,
                    wiki: stored.wiki,
                    bot_username: stored.bot_username,
                    saved_at: stored.saved_at,
                })
            }

            async fn credential(
                &self,
                user: UserId,
                wiki: &str,
            ) -> StoreResult<Option<StoredCredential>> {
                let sql = format!(
                    "SELECT {} FROM publish_botcredential WHERE user_id = ? AND wiki = ?",
                    CredentialRow::COLUMNS
                );
                let row: Option<CredentialRow> = sqlx::query_as(&sql)
                    .bind(user.0)
                    .bind(wiki)
                    .fetch_optional(&self.pool)
                    .await
                    .map_err(from_query)?;
                row.map(CredentialRow::into_domain).transpose()
            }

            async fn list_credentials(&self, user: UserId) -> StoreResult<Vec<CredentialSummary>> {
                let sql = format!(
                    "SELECT {} FROM publish_botcredential WHERE user_id = ? ORDER BY wiki",
                    CredentialSummaryRow::COLUMNS
                );
                let rows: Vec<CredentialSummaryRow> = sqlx::query_as(&sql)
                    .bind(user.0)
                    .fetch_all(&self.pool)
                    .await
                    .map_err(from_query)?;
                map_rows(rows, CredentialSummaryRow::into_domain)
            }

            async fn delete_credential(&self, user: UserId, wiki: &str) -> StoreResult<bool> {
                let done =
                    sqlx::query("DELETE FROM publish_botcredential WHERE user_id = ? AND wiki = ?")
                        .bind(user.0)
                        .bind(wiki)
                        .execute(&self.pool)
                        .await
                        .map_err(from_query)?;
                Ok(done.rows_affected() > 0)
            }

            async fn all_credentials(&self) -> StoreResult<Vec<StoredCredential>> {
                let sql = format!(
                    "SELECT {} FROM publish_botcredential ORDER BY id",
                    CredentialRow::COLUMNS
                );
                let rows: Vec<CredentialRow> =
                    sqlx::query_as(&sql).fetch_all(&self.pool).await.map_err(from_query)?;
                map_rows(rows, CredentialRow::into_domain)
            }

            async fn replace_credential_ciphertext(
                &self,
                id: CredentialId,
                old: &str,
                new: &str,
            ) -> StoreResult<bool> {
                let done = sqlx::query(
                    "UPDATE publish_botcredential SET ciphertext = ? WHERE id = ? AND ciphertext = ?",
                )
                .bind(new)
                .bind(id.0)
                .bind(old)
                .execute(&self.pool)
                .await
                .map_err(from_query)?;
                Ok(done.rows_affected() == 1)
            }
        }
    };
}

pub(crate) use impl_credentials;

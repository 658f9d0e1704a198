//! Notification preferences and the claim-once notification log.
//!
//! Written once for both engines as a macro expanding to an inherent `impl` of each backend
//! (see the parent module); the `Store` implementation delegates to it.

macro_rules! impl_notifications {
    ($store:ident, $db:ty, $conn:ty, $dialect:expr, $migrator:expr) => {
        impl $store {
            async fn notification_preferences(
                &self,
                user: UserId,
            ) -> StoreResult<NotificationPreferences> {
                let row: Option<PreferencesRow> = sqlx::query_as(
                    "SELECT home_wiki, digest, disabled_event_kinds \
                     FROM notifications_userpreference WHERE user_id = ?",
                )
                .bind(user.0)
                .fetch_optional(&self.pool)
                .await
                .map_err(from_query)?;
                Ok(row.map(PreferencesRow::into_domain).unwrap_or_default())
            }

            async fn set_notification_preferences(
                &self,
                user: UserId,
                preferences: &NotificationPreferences,
                now: DateTime<Utc>,
            ) -> StoreResult<()> {
                for kind in &preferences.disabled_event_kinds {
                    check_event_kind(kind)?;
                }
                let disabled = preferences
                    .disabled_event_kinds
                    .iter()
                    .map(String::as_str)
                    .collect::<Vec<_>>()
                    .join(",");
                sqlx::query(Self::DIALECT.upsert_preferences)
                    .bind(user.0)
                    .bind(&preferences.home_wiki)
                    .bind(preferences.digest)
                    .bind(disabled)
                    .bind(ms(now))
                    .execute(&self.pool)
                    .await
                    .map_err(from_query)?;
                Ok(())
            }

            async fn claim_notification(
                &self,
                notification: &NewNotification,
                owner: &str,
                now: DateTime<Utc>,
                lease: chrono::Duration,
            ) -> StoreResult<NotificationClaim> {
                check_event_kind(&notification.event_kind)?;
                if notification.dedup_key.is_empty() || notification.dedup_key.len() > 255 {
                    return Err(StoreError::InvalidInput(
                        "the dedup key must be 1 to 255 bytes".to_owned(),
                    ));
                }
                if owner.is_empty() || owner.len() > 64 || lease <= chrono::Duration::zero() {
                    return Err(StoreError::InvalidInput(
                        "a notification claim needs an owner of 1 to 64 characters and a \
                         positive lease"
                            .to_owned(),
                    ));
                }
                let subject: String = notification.subject.chars().take(255).collect();
                sqlx::query(Self::DIALECT.insert_notification_if_absent)
                    .bind(notification.user_id.0)
                    .bind(&notification.dedup_key)
                    .bind(&notification.event_kind)
                    .bind(&subject)
                    .bind(&notification.body)
                    .bind(ms(now))
                    .bind(ms(now))
                    .execute(&self.pool)
                    .await
                    .map_err(from_query)?;
                // Claiming is one conditional UPDATE, atomic on both engines.
                let claimed = sqlx::query(
                    "UPDATE notifications_notificationlog SET status = 'pending', \
                     lease_owner = ?, lease_expires_at = ?, attempts = attempts + 1, \
                     subject = ?, body = ?, updated_at = ? \
                     WHERE user_id = ? AND dedup_key = ? AND (status = 'failed' OR \
                     (status = 'pending' AND (lease_expires_at IS NULL OR lease_expires_at <= ?)))",
                )
                .bind(owner)
                .bind(ms(now + lease))
                .bind(&subject)
                .bind(&notification.body)
                .bind(ms(now))
                .bind(notification.user_id.0)
                .bind(&notification.dedup_key)
                .bind(ms(now))
                .execute(&self.pool)
                .await
                .map_err(from_query)?;
                let (id, status, lease_owner): (i64, Text, Option<Text>) = sqlx::query_as(
                    "SELECT id, status, lease_owner FROM notifications_notificationlog \
                     WHERE user_id = ? AND dedup_key = ?",
                )
                .bind(notification.user_id.0)
                .bind(&notification.dedup_key)
                .fetch_one(&self.pool)
                .await
                .map_err(from_query)?;
                Ok(match NotificationStatus::parse(&status)? {
                    NotificationStatus::Sent => NotificationClaim::AlreadySent,
                    NotificationStatus::Pending
                        if claimed.rows_affected() == 1 && lease_owner.as_deref() == Some(owner) =>
                    {
                        NotificationClaim::Claimed(NotificationId(id))
                    }
                    _ => NotificationClaim::InProgress,
                })
            }

            async fn finish_notification(
                &self,
                id: NotificationId,
                owner: &str,
                result: &NotificationResult,
                now: DateTime<Utc>,
            ) -> StoreResult<()> {
                let (status, wiki, revid, error) = match result {
                    NotificationResult::Sent { wiki, revid } => {
                        (NotificationStatus::Sent, Some(wiki.as_str()), *revid, None)
                    }
                    NotificationResult::Failed(error) => (
                        NotificationStatus::Failed,
                        None,
                        None,
                        Some(error.chars().take(1000).collect::<String>()),
                    ),
                };
                let done = sqlx::query(
                    "UPDATE notifications_notificationlog SET status = ?, \
                     posted_wiki = COALESCE(?, posted_wiki), posted_revid = COALESCE(?, posted_revid), \
                     error = ?, lease_owner = NULL, lease_expires_at = NULL, updated_at = ? \
                     WHERE id = ? AND lease_owner = ? AND status = 'pending'",
                )
                .bind(status.as_str())
                .bind(wiki)
                .bind(revid)
                .bind(error)
                .bind(ms(now))
                .bind(id.0)
                .bind(owner)
                .execute(&self.pool)
                .await
                .map_err(from_query)?;
                if done.rows_affected() != 1 {
                    return Err(StoreError::LeaseLost {
                        what: "notification",
                        id: id.0,
                        owner: owner.to_owned(),
                    });
                }
                Ok(())
            }

            async fn failed_notifications(
                &self,
                limit: u32,
            ) -> StoreResult<Vec<NotificationLogEntry>> {
                let sql = format!(
                    "SELECT {} FROM notifications_notificationlog WHERE status = 'failed' \
                     ORDER BY updated_at, id LIMIT ?",
                    NotificationRow::COLUMNS
                );
                let rows: Vec<NotificationRow> = sqlx::query_as(&sql)
                    .bind(i64::from(limit))
                    .fetch_all(&self.pool)
                    .await
                    .map_err(from_query)?;
                map_rows(rows, NotificationRow::into_domain)
            }

            async fn notification_log(
                &self,
                user: UserId,
                page: PageRequest,
            ) -> StoreResult<Paged<NotificationLogEntry>> {
                let (before, limit) = check_page(page)?;
                let sql = format!(
                    "SELECT {} FROM notifications_notificationlog WHERE user_id = ? AND id < ? \
                     ORDER BY id DESC LIMIT ?",
                    NotificationRow::COLUMNS
                );
                let rows: Vec<NotificationRow> = sqlx::query_as(&sql)
                    .bind(user.0)
                    .bind(before)
                    .bind(limit + 1)
                    .fetch_all(&self.pool)
                    .await
                    .map_err(from_query)?;
                Ok(paged(map_rows(rows, NotificationRow::into_domain)?, page, |e| e.id.0))
            }
        }
    };
}

pub(crate) use impl_notifications;

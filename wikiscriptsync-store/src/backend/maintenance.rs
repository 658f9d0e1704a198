//! Usage metrics, log retention and orphan cleanup.
//!
//! Written once for both engines as a macro expanding to an inherent `impl` of each backend
//! (see the parent module); the `Store` implementation delegates to it.

macro_rules! impl_maintenance {
    ($store:ident, $db:ty, $conn:ty, $dialect:expr, $migrator:expr) => {
        impl $store {
            async fn record_usage(
                &self,
                day: NaiveDate,
                feature: &str,
                count: u64,
            ) -> StoreResult<()> {
                if feature.is_empty() || feature.len() > 64 {
                    return Err(StoreError::InvalidInput(
                        "the feature name must be 1 to 64 bytes".to_owned(),
                    ));
                }
                let count = i64::try_from(count).map_err(|_| {
                    StoreError::InvalidInput(format!("usage count {count} is too large"))
                })?;
                if count == 0 {
                    return Ok(());
                }
                sqlx::query(Self::DIALECT.upsert_usage)
                    .bind(day_text(day))
                    .bind(feature)
                    .bind(count)
                    .execute(&self.pool)
                    .await
                    .map_err(from_query)?;
                Ok(())
            }

            async fn usage_metrics(
                &self,
                from: NaiveDate,
                to: NaiveDate,
            ) -> StoreResult<Vec<UsageCount>> {
                let rows: Vec<UsageRow> = sqlx::query_as(
                    "SELECT day, feature, visit_count FROM accounts_toolvisit \
                     WHERE day >= ? AND day <= ? ORDER BY day, feature",
                )
                .bind(day_text(from))
                .bind(day_text(to))
                .fetch_all(&self.pool)
                .await
                .map_err(from_query)?;
                map_rows(rows, UsageRow::into_domain)
            }

            async fn purge_logs(
                &self,
                cutoff: DateTime<Utc>,
                dry_run: bool,
            ) -> StoreResult<RetentionReport> {
                let cutoff = ms(cutoff);
                let mut counts = [0_u64; RETAINED_LOGS.len()];
                for ((table, column), count) in RETAINED_LOGS.iter().zip(counts.iter_mut()) {
                    *count = if dry_run {
                        self.count(
                            &format!("SELECT COUNT(*) FROM {table} WHERE {column} < ?"),
                            &[cutoff],
                        )
                        .await?
                    } else {
                        self.execute(
                            &format!("DELETE FROM {table} WHERE {column} < ?"),
                            &[cutoff],
                        )
                        .await?
                    };
                }
                let [file_checks, page_checks, api_quota, notifications] = counts;
                Ok(RetentionReport {
                    file_checks,
                    page_checks,
                    api_quota,
                    notifications,
                    dry_run,
                })
            }

            async fn clean_orphans(&self, dry_run: bool) -> StoreResult<OrphanReport> {
                let mut tables = Vec::with_capacity(ORPHAN_RELATIONS.len());
                for (child, column, parent) in ORPHAN_RELATIONS {
                    let orphan = format!(
                        "NOT EXISTS (SELECT 1 FROM {parent} p WHERE p.id = {child}.{column})"
                    );
                    let n = if dry_run {
                        self.count(&format!("SELECT COUNT(*) FROM {child} WHERE {orphan}"), &[])
                            .await?
                    } else {
                        self.execute(&format!("DELETE FROM {child} WHERE {orphan}"), &[])
                            .await?
                    };
                    tables.push((child, n));
                }
                Ok(OrphanReport { tables, dry_run })
            }
        }
    };
}

pub(crate) use impl_maintenance;

//! Schema and plumbing every domain uses: opening write transactions, counting and executing
//! simple statements, and applying or checking the migrations.
//!
//! Written once for both engines as a macro expanding to an inherent `impl` of each backend
//! (see the parent module); the `Store` implementation delegates to it.

macro_rules! impl_base {
    ($store:ident, $db:ty, $conn:ty, $dialect:expr, $migrator:expr) => {
        impl $store {
            const DIALECT: &'static Dialect = &$dialect;

            async fn begin_write(&self) -> StoreResult<Transaction<'static, $db>> {
                match Self::DIALECT.begin_write {
                    Some(statement) => self.pool.begin_with(statement).await,
                    None => self.pool.begin().await,
                }
                .map_err(from_query)
            }

            /// Versions recorded in `_sqlx_migrations` (creating that table if needed).
            async fn applied_versions(&self) -> StoreResult<Vec<i64>> {
                let mut conn = self.pool.acquire().await.map_err(from_query)?;
                let conn: &mut $conn = &mut conn;
                conn.ensure_migrations_table()
                    .await
                    .map_err(migration_error)?;
                if let Some(version) = conn.dirty_version().await.map_err(migration_error)? {
                    return Err(StoreError::Migration(format!(
                        "migration {version} failed part-way earlier; fix the cause and \
                         repair the schema, then run `wikiscriptsync migrate` again"
                    )));
                }
                Ok(conn
                    .list_applied_migrations()
                    .await
                    .map_err(migration_error)?
                    .into_iter()
                    .map(|m| m.version)
                    .collect())
            }

            async fn prepare_schema(&self, policy: MigrationPolicy) -> StoreResult<()> {
                match policy {
                    MigrationPolicy::Apply => self.migrate().await.map(|_| ()),
                    MigrationPolicy::RequireCurrent => self.health().await,
                }
            }

            async fn count(&self, sql: &str, binds: &[i64]) -> StoreResult<u64> {
                let mut query = sqlx::query_as::<_, (i64,)>(sql);
                for bind in binds {
                    query = query.bind(*bind);
                }
                let (n,) = query.fetch_one(&self.pool).await.map_err(from_query)?;
                Ok(u64::try_from(n).unwrap_or(0))
            }

            async fn execute(&self, sql: &str, binds: &[i64]) -> StoreResult<u64> {
                let mut query = sqlx::query(sql);
                for bind in binds {
                    query = query.bind(*bind);
                }
                Ok(query
                    .execute(&self.pool)
                    .await
                    .map_err(from_query)?
                    .rows_affected())
            }

            async fn migrate(&self) -> StoreResult<MigrationReport> {
                let before = self.applied_versions().await?;
                schema_status(&$migrator, &before)?;
                $migrator.run(&self.pool).await.map_err(migration_error)?;
                let after = self.applied_versions().await?;
                Ok(MigrationReport {
                    applied: after
                        .iter()
                        .copied()
                        .filter(|v| !before.contains(v))
                        .collect(),
                    current: after.iter().copied().max(),
                })
            }

            async fn health(&self) -> StoreResult<()> {
                let applied = self.applied_versions().await?;
                match schema_status(&$migrator, &applied)? {
                    0 => Ok(()),
                    pending => Err(StoreError::SchemaNotMigrated { pending }),
                }
            }

            async fn close(&self) {
                self.pool.close().await;
            }
        }
    };
}

pub(crate) use impl_base;

//! Wikis known by what they are: the identity of each resolved wiki and the spellings that
//! name it.
//!
//! Written once for both engines as a macro expanding to an inherent `impl` of each backend
//! (see the parent module); the `Store` implementation delegates to it.

macro_rules! impl_wikis {
    ($store:ident, $db:ty, $conn:ty, $dialect:expr, $migrator:expr) => {
        impl $store {
            async fn save_wiki(&self, wiki: &KnownWiki, spellings: &[String]) -> StoreResult<()> {
                if wiki.key.is_empty() || wiki.api_url.is_empty() {
                    return Err(StoreError::InvalidInput(
                        "a wiki needs a key and an API URL".to_owned(),
                    ));
                }
                let mut tx = self.begin_write().await?;
                sqlx::query(Self::DIALECT.upsert_wiki)
                    .bind(&wiki.key)
                    .bind(&wiki.api_url)
                    .bind(&wiki.wiki_id)
                    .bind(&wiki.server)
                    .bind(&wiki.sitename)
                    .bind(&wiki.language)
                    .bind(&wiki.namespaces)
                    .bind(ms(wiki.resolved_at))
                    .execute(&mut *tx)
                    .await
                    .map_err(from_query)?;
                let names = spellings
                    .iter()
                    .chain([&wiki.key, &wiki.api_url])
                    .filter(|s| !s.is_empty());
                for spelling in names {
                    sqlx::query(Self::DIALECT.upsert_wiki_spelling)
                        .bind(spelling)
                        .bind(&wiki.key)
                        .execute(&mut *tx)
                        .await
                        .map_err(from_query)?;
                }
                tx.commit().await.map_err(from_query)
            }

            async fn wiki_by_spelling(&self, spelling: &str) -> StoreResult<Option<KnownWiki>> {
                let sql = format!(
                    "SELECT {} FROM wikis w WHERE w.wiki = ? OR w.wiki = \
                     (SELECT s.wiki FROM wiki_spellings s WHERE s.spelling = ?)",
                    KnownWikiRow::COLUMNS
                );
                let row: Option<KnownWikiRow> = sqlx::query_as(&sql)
                    .bind(spelling)
                    .bind(spelling)
                    .fetch_optional(&self.pool)
                    .await
                    .map_err(from_query)?;
                row.map(KnownWikiRow::into_domain).transpose()
            }

            async fn known_wikis(&self) -> StoreResult<Vec<KnownWiki>> {
                let sql = format!(
                    "SELECT {} FROM wikis w ORDER BY w.wiki",
                    KnownWikiRow::COLUMNS
                );
                let rows: Vec<KnownWikiRow> = sqlx::query_as(&sql)
                    .fetch_all(&self.pool)
                    .await
                    .map_err(from_query)?;
                map_rows(rows, KnownWikiRow::into_domain)
            }
        }
    };
}

pub(crate) use impl_wikis;

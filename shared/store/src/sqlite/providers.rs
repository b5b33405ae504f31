//! The provider registry ([`ProviderRegistry`]) and each provider's postings ([`PostingLedger`]).

use super::*;

#[async_trait]
impl ProviderRegistry for SqliteStore {
    async fn create_provider(&self, provider: &Provider) -> Result<(), StoreError> {
        let id = provider.id.0.clone();
        let version = version_to_sql(provider.version)?;
        let body = codec::encode_provider(provider)?;
        self.with_conn(move |conn| {
            let n = conn
                .execute(
                    "INSERT OR IGNORE INTO providers (id, version, body) VALUES (?1, ?2, ?3)",
                    params![id, version, body],
                )
                .map_err(db)?;
            if n == 0 {
                return Err(StoreError::Duplicate { what: "provider" });
            }
            Ok(())
        })
        .await
    }

    async fn provider(&self, id: &ProviderId) -> Result<Option<Provider>, StoreError> {
        let id = id.0.clone();
        self.with_conn(move |conn| {
            let body: Option<String> = conn
                .query_row("SELECT body FROM providers WHERE id = ?1", [&id], |row| {
                    row.get(0)
                })
                .optional()
                .map_err(db)?;
            body.map(|b| codec::decode_provider(&b)).transpose()
        })
        .await
    }

    async fn replace_provider(&self, next: &Provider) -> Result<(), StoreError> {
        let id = next.id.0.clone();
        let version = version_to_sql(next.version)?;
        let body = codec::encode_provider(next)?;
        self.with_conn(move |conn| {
            let n = conn
                .execute(
                    "UPDATE providers SET version = ?2, body = ?3 WHERE id = ?1 AND version = ?2 - 1",
                    params![id, version, body],
                )
                .map_err(db)?;
            if n == 0 {
                return Err(StoreError::VersionConflict);
            }
            Ok(())
        })
        .await
    }

    async fn providers(
        &self,
        after: Option<&IndexCursor>,
        limit: usize,
    ) -> Result<Listing<Provider>, StoreError> {
        let after = after.cloned();
        self.with_conn(move |conn| {
            listing(
                conn,
                "SELECT body, id FROM providers WHERE ?1 = ?1 AND id > ?2 ORDER BY id LIMIT ?3",
                "",
                after.as_ref(),
                limit,
                codec::decode_provider,
            )
        })
        .await
    }
}

#[async_trait]
impl PostingLedger for SqliteStore {
    async fn postings(
        &self,
        provider: &ProviderId,
        completion_ids: &[String],
    ) -> Result<Vec<Posting>, StoreError> {
        let provider = provider.0.clone();
        let ids = completion_ids.to_vec();
        self.with_conn(move |conn| {
            let mut stmt = conn
                .prepare_cached(
                    "SELECT body FROM postings WHERE provider_id = ?1 AND completion_id = ?2",
                )
                .map_err(db)?;
            let mut found = Vec::new();
            for id in &ids {
                let body: Option<String> = stmt
                    .query_row(params![provider, id], |row| row.get(0))
                    .optional()
                    .map_err(db)?;
                if let Some(body) = body {
                    found.push(codec::decode_posting(&body)?);
                }
            }
            Ok(found)
        })
        .await
    }

    async fn posting(
        &self,
        provider: &ProviderId,
        completion_id: &str,
    ) -> Result<Option<Posting>, StoreError> {
        Ok(self
            .postings(provider, &[completion_id.to_owned()])
            .await?
            .pop())
    }

    async fn create_posting(&self, posting: &Posting) -> Result<bool, StoreError> {
        let row = PostingRow::new(posting)?;
        self.with_conn(move |conn| row.insert(conn)).await
    }

    async fn swap_posting(&self, current: &Posting, next: &Posting) -> Result<bool, StoreError> {
        crate::check_posting_swap(current, next)?;
        let row = PostingRow::new(next)?;
        let expected = codec::encode_posting(current)?;
        self.with_conn(move |conn| row.replace(conn, &expected))
            .await
    }

    async fn provider_postings(
        &self,
        provider: &ProviderId,
        after: Option<&IndexCursor>,
        limit: usize,
    ) -> Result<Listing<Posting>, StoreError> {
        let provider = provider.0.clone();
        let after = after.cloned();
        self.with_conn(move |conn| {
            listing(
                conn,
                "SELECT body, listed FROM postings WHERE provider_id = ?1 AND listed > ?2
                 ORDER BY listed LIMIT ?3",
                &provider,
                after.as_ref(),
                limit,
                codec::decode_posting,
            )
        })
        .await
    }

    async fn reconciliation_queue(
        &self,
        after: Option<&IndexCursor>,
        limit: usize,
    ) -> Result<Listing<Posting>, StoreError> {
        let after = after.cloned();
        self.with_conn(move |conn| {
            listing(
                conn,
                "SELECT body, queued FROM postings WHERE ?1 = ?1 AND queued IS NOT NULL
                 AND queued > ?2 ORDER BY queued LIMIT ?3",
                "",
                after.as_ref(),
                limit,
                codec::decode_posting,
            )
        })
        .await
    }
}

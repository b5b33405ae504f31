//! The provider registry ([`ProviderRegistry`]) and each provider's postings ([`PostingLedger`]).

use super::*;

/// The most keys one `BatchGetItem` may ask for.
pub(super) const BATCH_GET_KEYS: usize = 100;
/// Rounds of `BatchGetItem` for the keys DynamoDB left unprocessed (throttling) before giving up.
pub(super) const BATCH_GET_ROUNDS: usize = 5;

#[async_trait]
impl ProviderRegistry for DynamoStore {
    async fn create_provider(&self, provider: &Provider) -> Result<(), StoreError> {
        if self
            .put_if(provider_attributes(provider)?, must_not_exist())
            .await?
        {
            Ok(())
        } else {
            Err(StoreError::Duplicate { what: "provider" })
        }
    }

    async fn provider(&self, id: &ProviderId) -> Result<Option<Provider>, StoreError> {
        self.body(codec::provider_pk(id), codec::PROVIDER_SK, "provider")
            .await?
            .map(|body| codec::decode_provider(&body))
            .transpose()
    }

    async fn replace_provider(&self, next: &Provider) -> Result<(), StoreError> {
        let previous = next
            .version
            .checked_sub(1)
            .ok_or(StoreError::VersionConflict)?;
        let condition = Condition {
            expression: "#v = :previous",
            names: HashMap::from([("#v".to_owned(), VERSION.to_owned())]),
            values: HashMap::from([(":previous".to_owned(), n(previous))]),
        };
        if self.put_if(provider_attributes(next)?, condition).await? {
            Ok(())
        } else {
            Err(StoreError::VersionConflict)
        }
    }

    async fn providers(
        &self,
        after: Option<&IndexCursor>,
        limit: usize,
    ) -> Result<Listing<Provider>, StoreError> {
        self.gsi_listing(
            GSI1,
            (GSI1_PK, GSI1_SK),
            codec::PROVIDERS_PK.to_owned(),
            after,
            limit,
            codec::decode_provider,
        )
        .await
    }
}

#[async_trait]
impl PostingLedger for DynamoStore {
    async fn postings(
        &self,
        provider: &ProviderId,
        completion_ids: &[String],
    ) -> Result<Vec<Posting>, StoreError> {
        let pk = codec::provider_pk(provider);
        let mut unique: Vec<&String> = completion_ids.iter().collect();
        unique.sort();
        unique.dedup();
        let mut found = Vec::new();
        for chunk in unique.chunks(BATCH_GET_KEYS) {
            let keys = chunk
                .iter()
                .map(|id| {
                    HashMap::from([
                        (PK.to_owned(), s(&pk)),
                        (SK.to_owned(), s(codec::posting_sk(id))),
                    ])
                })
                .collect();
            let mut request = Some(
                KeysAndAttributes::builder()
                    .set_keys(Some(keys))
                    .consistent_read(true)
                    .build()
                    .map_err(build_error)?,
            );
            for _ in 0..BATCH_GET_ROUNDS {
                let Some(keys) = request.take() else { break };
                let out = self
                    .client
                    .batch_get_item()
                    .request_items(&*self.table, keys)
                    .return_consumed_capacity(ReturnConsumedCapacity::Total)
                    .send()
                    .await
                    .map_err(|e| sdk_error("BatchGetItem", e))?;
                self.record_capacity("BatchGetItem", out.consumed_capacity());
                for item in out
                    .responses
                    .unwrap_or_default()
                    .remove(&*self.table)
                    .unwrap_or_default()
                {
                    found.push(codec::decode_posting(attribute(&item, BODY, "posting")?)?);
                }
                request = out
                    .unprocessed_keys
                    .and_then(|mut u| u.remove(&*self.table))
                    .filter(|k| !k.keys().is_empty());
            }
            if request.is_some() {
                return Err(backend(DynamoStoreError::Throttled {
                    codes: "UnprocessedKeys".into(),
                    source: "BatchGetItem left keys unprocessed after retries".into(),
                }));
            }
        }
        Ok(found)
    }

    async fn posting(
        &self,
        provider: &ProviderId,
        completion_id: &str,
    ) -> Result<Option<Posting>, StoreError> {
        self.body(
            codec::provider_pk(provider),
            &codec::posting_sk(completion_id),
            "posting",
        )
        .await?
        .map(|body| codec::decode_posting(&body))
        .transpose()
    }

    async fn create_posting(&self, posting: &Posting) -> Result<bool, StoreError> {
        self.put_if(posting_attributes(posting)?, must_not_exist())
            .await
    }

    async fn swap_posting(&self, current: &Posting, next: &Posting) -> Result<bool, StoreError> {
        crate::check_posting_swap(current, next)?;
        let expected = codec::encode_posting(current)?;
        self.put_if(posting_attributes(next)?, body_is(expected))
            .await
    }

    async fn provider_postings(
        &self,
        provider: &ProviderId,
        after: Option<&IndexCursor>,
        limit: usize,
    ) -> Result<Listing<Posting>, StoreError> {
        self.gsi_listing(
            GSI1,
            (GSI1_PK, GSI1_SK),
            codec::provider_postings_pk(provider),
            after,
            limit,
            codec::decode_posting,
        )
        .await
    }

    async fn reconciliation_queue(
        &self,
        after: Option<&IndexCursor>,
        limit: usize,
    ) -> Result<Listing<Posting>, StoreError> {
        self.gsi_listing(
            GSI2,
            (GSI2_PK, GSI2_SK),
            codec::RECONCILIATION_PK.to_owned(),
            after,
            limit,
            codec::decode_posting,
        )
        .await
    }
}

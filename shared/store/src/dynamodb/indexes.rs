//! What waits in a queue ([`QueueIndex`], GSI2) and what falls due on a day ([`DueIndex`], GSI3).

use super::*;

#[async_trait]
impl QueueIndex for DynamoStore {
    async fn queued(
        &self,
        queue: Queue,
        after: Option<&IndexCursor>,
        limit: usize,
    ) -> Result<IndexPage, StoreError> {
        self.index_page(Index::Queue, codec::queue_pk(queue), None, after, limit)
            .await
    }
}

#[async_trait]
impl DueIndex for DynamoStore {
    async fn due(
        &self,
        on: NaiveDate,
        kind: DueKind,
        after: Option<&IndexCursor>,
        limit: usize,
    ) -> Result<IndexPage, StoreError> {
        self.index_page(
            Index::Due,
            codec::due_pk(on),
            Some(codec::due_kind_range(kind)),
            after,
            limit,
        )
        .await
    }
}

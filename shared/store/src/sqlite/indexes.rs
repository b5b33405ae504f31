//! What waits in a queue ([`QueueIndex`]) and what falls due on a day ([`DueIndex`]).

use super::*;

#[async_trait]
impl QueueIndex for SqliteStore {
    async fn queued(
        &self,
        queue: Queue,
        after: Option<&IndexCursor>,
        limit: usize,
    ) -> Result<IndexPage, StoreError> {
        let pk = codec::queue_pk(queue);
        let after = after.map(|a| a.0.clone());
        self.with_conn(move |conn| {
            index_page(conn, Index::Queue, &pk, None, after.as_deref(), limit)
        })
        .await
    }
}

#[async_trait]
impl DueIndex for SqliteStore {
    async fn due(
        &self,
        on: NaiveDate,
        kind: DueKind,
        after: Option<&IndexCursor>,
        limit: usize,
    ) -> Result<IndexPage, StoreError> {
        let pk = codec::due_pk(on);
        let range = codec::due_kind_range(kind);
        let after = after.map(|a| a.0.clone());
        self.with_conn(move |conn| {
            index_page(conn, Index::Due, &pk, Some(range), after.as_deref(), limit)
        })
        .await
    }
}

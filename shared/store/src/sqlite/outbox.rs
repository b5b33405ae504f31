//! The delivery side of the transactional outbox ([`OutboxStore`]).

use super::*;

#[async_trait]
impl OutboxStore for SqliteStore {
    async fn outbox_message(
        &self,
        certification: CertificationId,
        id: uuid::Uuid,
    ) -> Result<Option<OutboxMessage>, StoreError> {
        let cert = certification.to_string();
        let sk = codec::item_sort_key(&ItemKey::Outbox(id));
        let outbox_sk = sk.clone();
        self.with_conn(move |conn| {
            let body: Option<String> = conn
                .query_row(
                    "SELECT body FROM items WHERE certification_id = ?1 AND sk = ?2",
                    params![cert, sk],
                    |row| row.get(0),
                )
                .optional()
                .map_err(db)?;
            match body.map(|b| codec::decode_item(&outbox_sk, &b)) {
                Some(Ok(Some(Item::Outbox(m)))) => Ok(Some(m)),
                Some(Err(e)) => Err(e),
                _ => Ok(None),
            }
        })
        .await
    }

    /// One `BEGIN IMMEDIATE` transaction: compare the stored body, then write the new body and
    /// index entries.
    async fn swap_outbox_message(
        &self,
        current: &OutboxMessage,
        next: &OutboxMessage,
    ) -> Result<bool, StoreError> {
        crate::check_outbox_swap(current, next)?;
        let id = next.certification_id;
        let expected = codec::encode_item(&Item::Outbox(current.clone()))?;
        let row = item_row(id, &Item::Outbox(next.clone()))?;
        let cert = id.to_string();
        self.with_conn(move |conn| {
            let tx = conn
                .transaction_with_behavior(TransactionBehavior::Immediate)
                .map_err(db)?;
            let updated = tx
                .execute(
                    "UPDATE items SET body = ?3 WHERE certification_id = ?1 AND sk = ?2 AND body = ?4",
                    params![cert, row.sk, row.body, expected],
                )
                .map_err(db)?;
            if updated == 0 {
                return Ok(false);
            }
            tx.execute(
                "DELETE FROM index_keys WHERE certification_id = ?1 AND sk = ?2",
                params![cert, row.sk],
            )
            .map_err(db)?;
            for k in &row.index {
                tx.execute(
                    "INSERT INTO index_keys (certification_id, sk, idx, ipk, isk) VALUES (?1, ?2, ?3, ?4, ?5)",
                    params![cert, row.sk, k.index.name(), k.pk, k.sk],
                )
                .map_err(db)?;
            }
            tx.commit().map_err(db)?;
            Ok(true)
        })
        .await
    }
}

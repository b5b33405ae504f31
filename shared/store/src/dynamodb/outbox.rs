//! The delivery side of the transactional outbox ([`OutboxStore`]).

use super::*;

#[async_trait]
impl OutboxStore for DynamoStore {
    async fn outbox_message(
        &self,
        certification: CertificationId,
        id: uuid::Uuid,
    ) -> Result<Option<OutboxMessage>, StoreError> {
        let sk = codec::item_sort_key(&ItemKey::Outbox(id));
        match self.get(codec::cert_pk(certification), &sk).await? {
            None => Ok(None),
            Some(item) => match decode_item(&item)? {
                Some(Item::Outbox(m)) => Ok(Some(m)),
                _ => Ok(None),
            },
        }
    }

    /// One conditional `PutItem`: the new body and index keys, if the stored body is `current`'s.
    async fn swap_outbox_message(
        &self,
        current: &OutboxMessage,
        next: &OutboxMessage,
    ) -> Result<bool, StoreError> {
        crate::check_outbox_swap(current, next)?;
        let id = next.certification_id;
        let item = item_attributes(id, &codec::cert_pk(id), &Item::Outbox(next.clone()))?;
        let expected = codec::encode_item(&Item::Outbox(current.clone()))?;
        self.put_if(item, body_is(expected)).await
    }
}

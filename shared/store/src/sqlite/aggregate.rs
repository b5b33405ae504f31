//! The certification aggregate ([`AggregateStore`]): load, commit, history, older cycles.

use super::*;

#[async_trait]
impl AggregateStore for SqliteStore {
    async fn certification(
        &self,
        id: CertificationId,
    ) -> Result<Option<Certification>, StoreError> {
        let id = id.to_string();
        self.with_conn(move |conn| read_root(conn, &id)).await
    }

    async fn load(
        &self,
        id: CertificationId,
    ) -> Result<Option<CertificationAggregate>, StoreError> {
        let id = id.to_string();
        match &self.paging {
            Some(paging) => self.load_paged(id, paging).await,
            None => self.with_conn(move |conn| load_aggregate(conn, &id)).await,
        }
    }

    async fn commit(&self, changes: &Changes) -> Result<(), StoreError> {
        let prepared = PreparedCommit::new(changes)?;
        self.with_conn(move |conn| prepared.run(conn)).await
    }

    async fn history(
        &self,
        id: CertificationId,
        after: Option<u64>,
        limit: usize,
    ) -> Result<Vec<HistoryEvent>, StoreError> {
        let Some((from, to)) = codec::history_range(after).filter(|_| limit > 0) else {
            return Ok(Vec::new());
        };
        let id = id.to_string();
        self.with_conn(move |conn| {
            read_range(conn, &id, &from, &to, limit)?
                .iter()
                .map(|(_, body)| codec::decode_history(body))
                .collect()
        })
        .await
    }

    async fn entries_of_cycle(
        &self,
        id: CertificationId,
        cycle_starts_on: NaiveDate,
    ) -> Result<Vec<CeEntry>, StoreError> {
        let (from, to) = codec::prefix_range(&codec::entries_prefix(cycle_starts_on));
        let id = id.to_string();
        self.with_conn(move |conn| {
            let mut entries = Vec::new();
            for (sk, body) in read_range(conn, &id, &from, &to, usize::MAX)? {
                if let Some(Item::Entry(e)) = codec::decode_item(&sk, &body)? {
                    entries.push(e);
                }
            }
            codec::sort_entries(&mut entries);
            Ok(entries)
        })
        .await
    }
}

//! The certification aggregate ([`AggregateStore`]): a load (the root, then its working set), a commit
//! (ONE `TransactWriteItems`), the history a page at a time, an older cycle's entries.

use super::*;

/// The transaction of one commit: the root (and on creation its certificate-number guard), the
/// history event, the puts, the deletes.
pub(super) fn commit_transaction(
    table: &str,
    changes: &Changes,
) -> Result<Transaction, StoreError> {
    let c = changes.certification();
    let expected = changes.expected_version();
    let pk = codec::cert_pk(c.id);
    let root = root_attributes(&pk, c)?;
    let mut actions = Vec::with_capacity(3 + changes.puts().len() + changes.deletes().len());
    let mut on_failed = Vec::with_capacity(2);
    if expected == 0 {
        actions.push(put(table, root, Some(must_not_exist()), false)?);
        on_failed.push((0, Guard::Created));
        actions.push(guard(
            table,
            codec::certno_pk(&c.certificate_number),
            pk.clone(),
        )?);
        on_failed.push((1, Guard::Unique("certificate_number")));
    } else {
        let condition = Condition {
            expression: "#v = :expected AND #cn = :cn",
            names: HashMap::from([
                ("#v".to_owned(), VERSION.to_owned()),
                ("#cn".to_owned(), CERT_NO.to_owned()),
            ]),
            values: HashMap::from([
                (":expected".to_owned(), n(expected)),
                (":cn".to_owned(), s(&c.certificate_number)),
            ]),
        };
        actions.push(put(table, root, Some(condition), true)?);
        on_failed.push((0, Guard::Updated { expected }));
    }
    let event = changes.event();
    let history = HashMap::from([
        (PK.to_owned(), s(&pk)),
        (SK.to_owned(), s(codec::history_sort_key(event.seq))),
        (BODY.to_owned(), s(codec::encode_history(event)?)),
    ]);
    actions.push(put(table, history, None, false)?);
    for item in changes.puts() {
        actions.push(put(table, item_attributes(c.id, &pk, item)?, None, false)?);
    }
    for key in changes.deletes() {
        let delete = Delete::builder()
            .table_name(table)
            .key(PK, s(&pk))
            .key(SK, s(codec::item_sort_key(key)))
            .build()
            .map_err(build_error)?;
        actions.push(TransactWriteItem::builder().delete(delete).build());
    }
    for write in changes.postings() {
        let (condition, guard) = match write {
            PostingWrite::Create(_) => (must_not_exist(), Guard::Unique("posting")),
            PostingWrite::Replace { current, .. } => (
                body_is(codec::encode_posting(current)?),
                Guard::PostingChanged,
            ),
        };
        on_failed.push((actions.len(), guard));
        actions.push(put(
            table,
            posting_attributes(write.posting())?,
            Some(condition),
            false,
        )?);
    }
    Ok(Transaction { actions, on_failed })
}

#[async_trait]
impl AggregateStore for DynamoStore {
    async fn certification(
        &self,
        id: CertificationId,
    ) -> Result<Option<Certification>, StoreError> {
        self.get(codec::cert_pk(id), ROOT_SK)
            .await?
            .map(|root| decode_root(&root))
            .transpose()
    }

    async fn load(
        &self,
        id: CertificationId,
    ) -> Result<Option<CertificationAggregate>, StoreError> {
        let pk = codec::cert_pk(id);
        // The root first (see the module docs): its version is never newer than the items.
        let Some(root) = self.get(pk.clone(), ROOT_SK).await? else {
            return Ok(None);
        };
        let certification = decode_root(&root)?;
        let hook = self.paging.as_ref().map(|p| &p.between_pages);
        if let Some(hook) = hook {
            hook().await;
        }
        let (from, to) = codec::working_set_range(certification.cycle_starts_on);
        let out = self
            .query(
                self.sk_between(pk, from, to),
                Pages {
                    page_size: self.paging.as_ref().map(|p| p.page_size),
                    at_most: None,
                    between: hook,
                },
            )
            .await?;
        let mut items = Vec::with_capacity(out.items.len());
        for item in &out.items {
            items.extend(decode_item(item)?);
        }
        Ok(Some(codec::aggregate(certification, items)))
    }

    async fn commit(&self, changes: &Changes) -> Result<(), StoreError> {
        crate::check_commit(changes, usize::from(changes.expected_version() == 0))?;
        let t = commit_transaction(&self.table, changes)?;
        self.transact(t.actions, &t.on_failed).await
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
        let out = self
            .query(
                self.sk_between(codec::cert_pk(id), from, to),
                Pages {
                    at_most: Some(limit),
                    ..Pages::default()
                },
            )
            .await?;
        out.items
            .iter()
            .take(limit)
            .map(|item| codec::decode_history(attribute(item, BODY, "history event")?))
            .collect()
    }

    async fn entries_of_cycle(
        &self,
        id: CertificationId,
        cycle_starts_on: NaiveDate,
    ) -> Result<Vec<CeEntry>, StoreError> {
        let request =
            self.sk_begins_with(codec::cert_pk(id), codec::entries_prefix(cycle_starts_on));
        let out = self.query(request, Pages::default()).await?;
        let mut entries = Vec::with_capacity(out.items.len());
        for item in &out.items {
            if let Some(Item::Entry(e)) = decode_item(item)? {
                entries.push(e);
            }
        }
        codec::sort_entries(&mut entries);
        Ok(entries)
    }
}

//! The adapter's calls: a read, a page of a query and every page, conditional and plain puts, one
//! transaction, and what a cancelled transaction means.

use super::*;

impl DynamoStore {
    /// The store on `table_name` through `client` as given. Its [`CallCounter`] records consumed
    /// capacity; it counts operations only if `client` carries its interceptor (see
    /// [`DynamoStore::with_counter`], [`client`]).
    pub fn new(client: Client, table_name: impl Into<String>) -> Self {
        Self::with_counter(client, table_name, CallCounter::new())
    }

    /// The store with a counter shared with the client's interceptor.
    pub fn with_counter(client: Client, table_name: impl Into<String>, calls: CallCounter) -> Self {
        DynamoStore {
            client,
            table: Arc::from(table_name.into()),
            calls,
            paging: None,
        }
    }

    /// Paged-load mode, for tests of a load racing a writer: [`AggregateStore::load`] awaits
    /// `between_pages` after the root's `GetItem`, then reads the working set with
    /// `Limit = page_size` (at least 1) per `Query`, awaiting `between_pages` after every page
    /// that is not the last. Everything else is unchanged.
    pub fn with_paging(mut self, page_size: usize, between_pages: PageHook) -> Self {
        self.paging = Some(Paging {
            page_size: i32::try_from(page_size.max(1)).unwrap_or(i32::MAX),
            between_pages,
        });
        self
    }

    pub fn table_name(&self) -> &str {
        &self.table
    }

    pub fn client(&self) -> &Client {
        &self.client
    }

    /// The DynamoDB operations and capacity of this store's calls.
    pub fn calls(&self) -> &CallCounter {
        &self.calls
    }

    pub(super) fn record_capacity<'a>(
        &self,
        operation: &str,
        consumed: impl IntoIterator<Item = &'a ConsumedCapacity>,
    ) {
        let units: f64 = consumed
            .into_iter()
            .filter_map(ConsumedCapacity::capacity_units)
            .sum();
        self.calls.record_capacity(operation, units);
    }

    /// One item by its keys, read strongly.
    pub(super) async fn get(&self, pk: String, sk: &str) -> Result<Option<Attributes>, StoreError> {
        let out = self
            .client
            .get_item()
            .table_name(&*self.table)
            .key(PK, s(pk))
            .key(SK, s(sk))
            .consistent_read(true)
            .return_consumed_capacity(ReturnConsumedCapacity::Total)
            .send()
            .await
            .map_err(|e| sdk_error("GetItem", e))?;
        self.record_capacity("GetItem", out.consumed_capacity());
        Ok(out.item)
    }

    /// A `Query` of the table (or an index) with its key condition set by the caller.
    pub(super) fn query_builder(&self, index: Option<&str>) -> QueryFluentBuilder {
        self.client
            .query()
            .table_name(&*self.table)
            .set_index_name(index.map(str::to_owned))
            // GSIs are eventually consistent; the table is read strongly.
            .consistent_read(index.is_none())
            .return_consumed_capacity(ReturnConsumedCapacity::Total)
    }

    /// A consistent `Query` of partition `pk`, sort keys `from..=to`.
    pub(super) fn sk_between(&self, pk: String, from: String, to: String) -> QueryFluentBuilder {
        self.query_builder(None)
            .key_condition_expression("#pk = :pk AND #sk BETWEEN :from AND :to")
            .expression_attribute_names("#pk", PK)
            .expression_attribute_names("#sk", SK)
            .expression_attribute_values(":pk", s(pk))
            .expression_attribute_values(":from", s(from))
            .expression_attribute_values(":to", s(to))
    }

    /// A consistent `Query` of partition `pk`, sort keys beginning with `prefix`.
    pub(super) fn sk_begins_with(
        &self,
        pk: String,
        prefix: impl Into<String>,
    ) -> QueryFluentBuilder {
        self.query_builder(None)
            .key_condition_expression("#pk = :pk AND begins_with(#sk, :prefix)")
            .expression_attribute_names("#pk", PK)
            .expression_attribute_names("#sk", SK)
            .expression_attribute_values(":pk", s(pk))
            .expression_attribute_values(":prefix", s(prefix))
    }

    /// One `PutItem` of `item` under `condition`; `Ok(false)` when the condition failed.
    pub(super) async fn put_if(
        &self,
        item: Attributes,
        condition: Condition,
    ) -> Result<bool, StoreError> {
        let result = self
            .client
            .put_item()
            .table_name(&*self.table)
            .set_item(Some(item))
            .condition_expression(condition.expression)
            .set_expression_attribute_names(Some(condition.names))
            .set_expression_attribute_values(
                (!condition.values.is_empty()).then_some(condition.values),
            )
            .return_consumed_capacity(ReturnConsumedCapacity::Total)
            .send()
            .await;
        match result {
            Ok(out) => {
                self.record_capacity("PutItem", out.consumed_capacity());
                Ok(true)
            }
            Err(e)
                if e.as_service_error()
                    .is_some_and(PutItemError::is_conditional_check_failed_exception) =>
            {
                Ok(false)
            }
            Err(e) => Err(put_item_error(e)),
        }
    }

    /// One unconditional `PutItem` of `item` (creates or replaces).
    pub(super) async fn put_item(&self, item: Attributes) -> Result<(), StoreError> {
        let out = self
            .client
            .put_item()
            .table_name(&*self.table)
            .set_item(Some(item))
            .return_consumed_capacity(ReturnConsumedCapacity::Total)
            .send()
            .await
            .map_err(put_item_error)?;
        self.record_capacity("PutItem", out.consumed_capacity());
        Ok(())
    }

    /// One `DeleteItem` of `(pk, sk)` (a no-op when there is no such item).
    pub(super) async fn delete_item(&self, pk: String, sk: &str) -> Result<(), StoreError> {
        let out = self
            .client
            .delete_item()
            .table_name(&*self.table)
            .key(PK, s(pk))
            .key(SK, s(sk))
            .return_consumed_capacity(ReturnConsumedCapacity::Total)
            .send()
            .await
            .map_err(|e| sdk_error("DeleteItem", e))?;
        self.record_capacity("DeleteItem", out.consumed_capacity());
        Ok(())
    }

    /// The body of item `(pk, sk)`, read strongly; `None` if there is none.
    pub(super) async fn body(
        &self,
        pk: String,
        sk: &str,
        what: &'static str,
    ) -> Result<Option<String>, StoreError> {
        let Some(mut item) = self.get(pk, sk).await? else {
            return Ok(None);
        };
        match item.remove(BODY) {
            Some(AttributeValue::S(body)) => Ok(Some(body)),
            _ => Err(backend(DynamoStoreError::BadAttribute {
                what,
                attribute: BODY,
            })),
        }
    }

    /// Run `request` page after page (following `LastEvaluatedKey`) as `pages` says.
    pub(super) async fn query(
        &self,
        request: QueryFluentBuilder,
        pages: Pages<'_>,
    ) -> Result<Queried, StoreError> {
        let mut items: Vec<Attributes> = Vec::new();
        let mut start = None;
        loop {
            let mut limit = pages.page_size;
            if let Some(at_most) = pages.at_most {
                let left = i32::try_from(at_most.saturating_sub(items.len())).unwrap_or(i32::MAX);
                limit = Some(limit.map_or(left, |l| l.min(left)));
            }
            let out = request
                .clone()
                .set_limit(limit)
                .set_exclusive_start_key(start.take())
                .send()
                .await
                .map_err(|e| sdk_error("Query", e))?;
            self.record_capacity("Query", out.consumed_capacity());
            items.extend(out.items.unwrap_or_default());
            let done = pages.at_most.is_some_and(|m| items.len() >= m);
            match out.last_evaluated_key.filter(|k| !k.is_empty()) {
                Some(key) if !done => {
                    if let Some(hook) = pages.between {
                        hook().await;
                    }
                    start = Some(key);
                }
                last_evaluated_key => {
                    return Ok(Queried {
                        items,
                        last_evaluated_key,
                    });
                }
            }
        }
    }

    /// One page of a sparse index: partition `pk`, sort keys in `range` (inclusive; `None`: the
    /// whole partition), after the cursor, ascending.
    pub(super) async fn index_page(
        &self,
        index: Index,
        pk: String,
        range: Option<(String, String)>,
        after: Option<&IndexCursor>,
        limit: usize,
    ) -> Result<IndexPage, StoreError> {
        let limit = limit.max(1);
        let (index_pk, index_sk) = index_key_names(index);
        let after = after.map(|a| a.0.as_str()).filter(|a| !a.is_empty());
        let mut request = self
            .query_builder(Some(index.name()))
            .expression_attribute_names("#pk", index_pk)
            .expression_attribute_values(":pk", s(pk));
        // One more than asked when the cursor's own entry may come back (BETWEEN is inclusive).
        let mut again = 0;
        request = match (range, after) {
            (None, None) => request.key_condition_expression("#pk = :pk"),
            (None, Some(after)) => request
                .key_condition_expression("#pk = :pk AND #sk > :after")
                .expression_attribute_names("#sk", index_sk)
                .expression_attribute_values(":after", s(after)),
            (Some((from, to)), after) => {
                let from = match after {
                    Some(after) if after >= from.as_str() => {
                        again = 1;
                        after.to_owned()
                    }
                    _ => from,
                };
                if from > to {
                    return Ok(IndexPage::default());
                }
                request
                    .key_condition_expression("#pk = :pk AND #sk BETWEEN :from AND :to")
                    .expression_attribute_names("#sk", index_sk)
                    .expression_attribute_values(":from", s(from))
                    .expression_attribute_values(":to", s(to))
            }
        };
        let out = self
            .query(
                request,
                Pages {
                    at_most: Some(limit.saturating_add(again)),
                    ..Pages::default()
                },
            )
            .await?;
        let mut page = IndexPage::default();
        let mut kept = 0;
        let mut more = false;
        for item in &out.items {
            let isk = attribute(item, index_sk, "index entry")?;
            if after.is_some_and(|a| isk <= a) {
                continue;
            }
            if kept == limit {
                more = true;
                break;
            }
            kept += 1;
            let body = attribute(item, BODY, "index entry")?;
            page.items
                .extend(codec::decode_indexed(isk, body, number(item, VERSION))?);
            page.next = Some(IndexCursor(isk.to_owned()));
        }
        if !more {
            page.next = out
                .last_evaluated_key
                .as_ref()
                .and_then(|key| string(key, index_sk))
                .map(|isk| IndexCursor(isk.to_owned()));
        }
        Ok(page)
    }

    /// One page of GSI `index` (its key attributes `keys`): partition `pk`, sort keys after
    /// the cursor, ascending, decoded from each item's body.
    pub(super) async fn gsi_listing<T>(
        &self,
        index: &str,
        keys: (&'static str, &'static str),
        pk: String,
        after: Option<&IndexCursor>,
        limit: usize,
        decode: impl Fn(&str) -> Result<T, StoreError>,
    ) -> Result<Listing<T>, StoreError> {
        let limit = limit.max(1);
        let (index_pk, index_sk) = keys;
        let mut request = self
            .query_builder(Some(index))
            .expression_attribute_names("#pk", index_pk)
            .expression_attribute_values(":pk", s(pk));
        request = match after.filter(|a| !a.0.is_empty()) {
            None => request.key_condition_expression("#pk = :pk"),
            Some(after) => request
                .key_condition_expression("#pk = :pk AND #sk > :after")
                .expression_attribute_names("#sk", index_sk)
                .expression_attribute_values(":after", s(&after.0)),
        };
        // One more than asked: whether a next page exists.
        let out = self
            .query(
                request,
                Pages {
                    at_most: Some(limit + 1),
                    ..Pages::default()
                },
            )
            .await?;
        let more = out.items.len() > limit;
        let mut listing = Listing {
            items: Vec::with_capacity(limit),
            next: None,
        };
        for item in out.items.iter().take(limit) {
            listing
                .items
                .push(decode(attribute(item, BODY, "listed item")?)?);
            if more {
                listing.next = Some(IndexCursor(
                    attribute(item, index_sk, "listed item")?.to_owned(),
                ));
            }
        }
        Ok(listing)
    }

    /// One `TransactWriteItems`; a cancellation is mapped with `on_failed` (see [`Guard`]).
    pub(super) async fn transact(
        &self,
        actions: Vec<TransactWriteItem>,
        on_failed: &[(usize, Guard)],
    ) -> Result<(), StoreError> {
        match self
            .client
            .transact_write_items()
            .set_transact_items(Some(actions))
            .return_consumed_capacity(ReturnConsumedCapacity::Total)
            .send()
            .await
        {
            Ok(out) => {
                self.record_capacity("TransactWriteItems", out.consumed_capacity());
                Ok(())
            }
            Err(e) => Err(transaction_error(e, on_failed)),
        }
    }
}

/// What a failed condition on one action of a transaction means.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Guard {
    /// The root of a creation: the certification exists.
    Created,
    /// The root of an update loaded at `expected`: a newer version, or a changed certificate number.
    Updated { expected: u64 },
    /// A uniqueness guard: the value is taken.
    Unique(&'static str),
    /// A posting replacement: the posting is no longer as read.
    PostingChanged,
    /// An audit ledger append: the day has a record, or the period moved on (read again).
    LedgerMoved,
}

/// The cancellation reason codes DynamoDB documents for throttling.
pub(super) const THROTTLING_CODES: [&str; 3] = [
    "ThrottlingError",
    "ProvisionedThroughputExceeded",
    "RequestLimitExceeded",
];

/// Map a failed `TransactWriteItems`. `on_failed` lists, in priority order, the actions with a
/// condition and what its failure means; the first failed one decides. Then a
/// `TransactionConflict` anywhere is a `VersionConflict`; anything else is `Backend`.
pub fn transaction_error(
    e: aws_sdk_dynamodb::error::SdkError<
        TransactWriteItemsError,
        aws_sdk_dynamodb::config::http::HttpResponse,
    >,
    on_failed: &[(usize, Guard)],
) -> StoreError {
    let Some(TransactWriteItemsError::TransactionCanceledException(cancelled)) =
        e.as_service_error()
    else {
        return sdk_error("TransactWriteItems", e);
    };
    let reasons = cancelled.cancellation_reasons();
    let code = |i: usize| reasons.get(i).and_then(|r| r.code()).unwrap_or("None");
    for &(i, guard) in on_failed {
        if code(i) != "ConditionalCheckFailed" {
            continue;
        }
        return match guard {
            Guard::Created => StoreError::VersionConflict,
            Guard::Unique(what) => StoreError::Duplicate { what },
            Guard::PostingChanged => StoreError::PostingChanged,
            Guard::LedgerMoved => StoreError::VersionConflict,
            Guard::Updated { expected } => {
                // With ALL_OLD the failed root comes back: the same version means the condition
                // failed on the certificate number.
                let old_version = reasons
                    .get(i)
                    .and_then(|r| r.item())
                    .and_then(|item| number(item, VERSION));
                if old_version == Some(expected) {
                    StoreError::Rejected(
                        "a certification's certificate number cannot change".into(),
                    )
                } else {
                    StoreError::VersionConflict
                }
            }
        };
    }
    let codes: Vec<&str> = reasons.iter().map(|r| r.code().unwrap_or("None")).collect();
    if codes.contains(&"TransactionConflict") {
        return StoreError::VersionConflict;
    }
    let throttled = codes.iter().any(|c| THROTTLING_CODES.contains(c));
    let codes = codes.join(", ");
    let source = Box::new(e);
    backend(if throttled {
        DynamoStoreError::Throttled { codes, source }
    } else {
        DynamoStoreError::Cancelled { codes, source }
    })
}

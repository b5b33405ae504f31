//! The production adapter: the store port on one DynamoDB table (`aws-sdk-dynamodb`).
//!
//! The single-table design is written down in `docs/dynamodb.md`; the table itself is defined in
//! `infra/table.json` ([`table::TableDefinition`]); every key and body comes from
//! [`crate::codec`], shared with the embedded store. In short:
//!
//! | item | `pk` | `sk` | other attributes |
//! |---|---|---|---|
//! | certification (root) | `CERT#<id>` | `META` | `v`, `b`, `cn`, `gsi1pk = CERTIFICANT#<certificant>`, `gsi1sk = CERT#<created_at>#<id>`; while active `gsi3pk = DUE#<closing date>`, `gsi3sk = cycle_closes#<id>#META` |
//! | CE entry | `CERT#<id>` | `CYCLE#<cycle start>#ENTRY#<entry id>` | `b` |
//! | renewal | `CERT#<id>` | `CYCLE#<cycle start>#RENEWAL#<renewal id>` | `b`; while in review `gsi2pk = QUEUE#renewal_review`, `gsi2sk = <submitted_at>#<id>#<sk>` |
//! | idempotency record | `CERT#<id>` | `IDEM#<scoped key>` | `b`, `ttl` (epoch s) |
//! | history event | `CERT#<id>` | `LOG#<seq, 20 digits>` | `b` |
//! | certificant | `CERTIFICANT#<id>` | `PROFILE` | `b` |
//! | email guard | `EMAIL#<lower-cased email>` | `GUARD` | `o = CERTIFICANT#<id>` |
//! | certificate-number guard | `CERTNO#<number>` | `GUARD` | `o = CERT#<id>` |
//! | audit period | `AUDIT#<yyyy-mm>` | `PERIOD` | `b`, `gsi1pk = AUDIT_PERIODS`, `gsi1sk = <yyyy-mm>` |
//! | audit draw record | `AUDIT#<yyyy-mm>` | `DRAW#<run day>` | `b` |
//! | calendar feed | `CERTIFICANT#<id>` | `CALENDAR_FEED` | `b` (the SHA-256 of the feed's secret) |
//! | provider | `PROVIDER#<id>` | `META` | `v`, `b`, `gsi1pk = PROVIDERS`, `gsi1sk = <id>` |
//! | posting | `PROVIDER#<id>` | `POSTING#<completion id>` | `b`, `gsi1pk = POSTINGS#<provider>`, `gsi1sk = <posted_at>#<completion id>`; while it awaits staff `gsi2pk = QUEUE#reconciliation`, `gsi2sk = <updated_at>#<provider>#<completion id>` |
//!
//! - [`AggregateStore::load`] is a consistent `GetItem` of the root, THEN a consistent `Query`
//!   of the root's working set (`sk BETWEEN` [`codec::working_set_range`]: the current cycle's
//!   items and the idempotency records, never the history nor older cycles), following
//!   `LastEvaluatedKey`. Root first: a commit racing the load can only leave the loaded version
//!   behind the items, so the next commit from it fails its version condition; never the
//!   reverse (old items under a new version, which would commit). 2 calls.
//! - [`AggregateStore::commit`] is ONE `TransactWriteItems`: the root `Put` conditioned on
//!   `attribute_not_exists(pk)` (creation) or `v = :expected AND cn = :cn` (update), the history
//!   event's `Put`, the item puts (with their index keys: an item `Put` without them leaves the
//!   index in the same transaction) and deletes, and on creation the certificate-number guard
//!   (`attribute_not_exists(pk)`). Cancellation reasons are mapped per action: a failed
//!   condition on the root is [`StoreError::VersionConflict`], on a guard
//!   [`StoreError::Duplicate`]; `TransactionConflict` (a concurrent transaction on the same
//!   items) is a `VersionConflict` too; throttling and anything else is [`StoreError::Backend`]
//!   with the SDK error kept as its source. The SDK fills `ClientRequestToken` itself, so its own
//!   retry of a commit whose answer was lost is idempotent (it cannot turn into a false conflict).
//! - [`AggregateStore::history`] is a consistent `Query` of `sk BETWEEN LOG#<after + 1> AND LOG$`
//!   with `Limit`; [`AggregateStore::entries_of_cycle`] a consistent `Query` of
//!   `begins_with(sk, CYCLE#<start>#ENTRY#)`; [`CertificateLookup::certification_by_number`] a
//!   `GetItem` of the certificate-number guard.
//! - [`QueueIndex::queued`] and [`DueIndex::due`] are one `Query` page of GSI2 / GSI3 (eventually
//!   consistent), ascending, with `Limit`. `next` is set when DynamoDB returned a
//!   `LastEvaluatedKey`, which it does whenever it stopped at the limit: the page after a full
//!   page may be empty.
//! - Idempotency records carry `ttl`, so DynamoDB deletes them some time after they expire. Until
//!   then a load returns them like any item and callers ignore the expired ones
//!   (`CertificationAggregate::idempotency_record(key, now)`), exactly as with the embedded store,
//!   which drops them at its next commit instead.
//! - [`AuditLedger`]: a period is created with one `PutItem` conditioned on
//!   `attribute_not_exists(pk)` (when it fails, a consistent `GetItem` reads back the one that
//!   won) and replaced (a reveal, a rotation) with one conditioned on `b = <the body read>`. An
//!   append is ONE `TransactWriteItems`: the day's record (`attribute_not_exists(pk)`) and the
//!   period advanced (`b = <the body read>`), so of two runs one appends and the log never forks.
//!   [`AuditLedger::audit_periods`] pages through GSI1 (`AUDIT_PERIODS`);
//!   [`AuditLedger::draws`] is a consistent `Query` of `begins_with(sk, DRAW#)`, all pages, and
//!   [`AuditLedger::draws_page`] one of `sk BETWEEN <after># AND DRAW$`. A body over
//!   [`crate::MAX_BODY_BYTES`] is refused before any call, and DynamoDB's own size refusal (a
//!   `ValidationException`) is `Rejected` too ([`put_item_error`]).
//! - [`CalendarFeeds`]: one item beside the certificant's profile; a put is an unconditional
//!   `PutItem` (a rotation replaces the item), a read a consistent `GetItem`, a revocation a
//!   `DeleteItem`. Outside every transaction: nothing else changes with it.
//! - [`ProviderRegistry`]: a provider is created with a `PutItem` conditioned on
//!   `attribute_not_exists(pk)` and replaced with one conditioned on `v = <next version - 1>`.
//! - [`PostingLedger`]: a posting is created with `attribute_not_exists(pk)` and replaced with
//!   `b = <the body read>`, alone (`PutItem`) or as actions of a certification's commit, where a
//!   failed creation is `Duplicate { what: "posting" }` and a failed replacement
//!   `PostingChanged`. Postings of a batch are read with `BatchGetItem` (100 keys a call,
//!   consistent, unprocessed keys retried); listings are one `Query` page of GSI1 / GSI2.
//! - Certificate numbers never change after issue: an update naming another number is `Rejected`
//!   (the guard item is written once, at creation).
//! - A creation carries its certificate-number guard as one more action, so it may hold one item
//!   less than an update ([`crate::MAX_WRITES_PER_COMMIT`] actions in all).
//!
//! Every call asks for `ReturnConsumedCapacity = TOTAL` and adds it to the store's [`CallCounter`];
//! the clients built by [`client`] and [`local_client`] also count operations with its interceptor,
//! and set explicit timeouts ([`CONNECT_TIMEOUT`], [`ATTEMPT_TIMEOUT`], [`OPERATION_TIMEOUT`]) and
//! the standard retry mode with [`MAX_ATTEMPTS`] attempts.
//!
//! [`DynamoStore::with_paging`] is a test mode: loads read the working set a few items per
//! `Query` and await a hook after the root and between pages, so a test can commit in between.
//!
//! Nothing here logs personal data: no emails (not even guard keys), names or bodies.

pub mod calls;
pub mod table;

pub use crate::codec::{GUARD_SK, PROFILE_SK, ROOT_SK};
pub use aws_sdk_dynamodb::Client;
pub use calls::{CallCounter, OperationCalls, counts};
pub use table::{TableDefinition, create_table};

use crate::codec::{self, Index, IndexKey};
use crate::{
    AggregateStore, AuditLedger, CalendarFeeds, CertificantStore, CertificateLookup, DueIndex,
    IndexCursor, IndexPage, Listing, OutboxStore, PageHook, PostingLedger, ProviderRegistry,
    QueueIndex, StoreError,
};
use async_trait::async_trait;
use aws_sdk_dynamodb::config::retry::RetryConfig;
use aws_sdk_dynamodb::config::timeout::TimeoutConfig;
use aws_sdk_dynamodb::error::ProvideErrorMetadata;
use aws_sdk_dynamodb::operation::put_item::PutItemError;
use aws_sdk_dynamodb::operation::query::builders::QueryFluentBuilder;
use aws_sdk_dynamodb::operation::transact_write_items::TransactWriteItemsError;
use aws_sdk_dynamodb::types::{
    AttributeValue, ConsumedCapacity, Delete, KeysAndAttributes, Put, ReturnConsumedCapacity,
    ReturnValuesOnConditionCheckFailure, TransactWriteItem,
};
use chrono::NaiveDate;
use recert_domain::audit::{AuditPeriod, DrawRecord, Period};
use recert_domain::{
    CalendarFeed, CeEntry, Certificant, CertificantId, Certification, CertificationAggregate,
    CertificationId, Changes, DueKind, HistoryEvent, Item, ItemKey, OutboxMessage, Posting,
    PostingWrite, Provider, ProviderId, Queue,
};
use std::collections::HashMap;
use std::fmt;
use std::sync::Arc;
use std::time::Duration;

/// The table's partition key.
pub const PK: &str = "pk";
/// The table's sort key.
pub const SK: &str = "sk";
/// GSI1: a certificant's certifications (on the root item).
pub const GSI1: &str = "gsi1";
pub const GSI1_PK: &str = "gsi1pk";
pub const GSI1_SK: &str = "gsi1sk";
/// GSI2: what waits in a queue, oldest first ([`codec::queue_keys`]; a renewal in review).
pub const GSI2: &str = "gsi2";
pub const GSI2_PK: &str = "gsi2pk";
pub const GSI2_SK: &str = "gsi2sk";
/// GSI3: what falls due on a day, by kind ([`codec::due_keys`]; an active root's closing date).
pub const GSI3: &str = "gsi3";
pub const GSI3_PK: &str = "gsi3pk";
pub const GSI3_SK: &str = "gsi3sk";
/// The TTL attribute (epoch seconds), on idempotency records.
pub const TTL: &str = "ttl";
/// The root's version (a number).
pub const VERSION: &str = "v";
/// The item's body: the serde JSON of the domain type.
pub const BODY: &str = "b";
/// The root's certificate number (checked on update: it never changes).
pub const CERT_NO: &str = "cn";
/// A guard item's owner (`CERTIFICANT#<id>` or `CERT#<id>`).
pub const OWNER: &str = "o";

/// Time to open a TCP/TLS connection.
pub const CONNECT_TIMEOUT: Duration = Duration::from_secs(3);
/// Time for one attempt of an operation (a 1 MB Query page included).
pub const ATTEMPT_TIMEOUT: Duration = Duration::from_secs(5);
/// Time for a whole operation, retries included (below a Lambda's 29 s API Gateway limit).
pub const OPERATION_TIMEOUT: Duration = Duration::from_secs(12);
/// Attempts per operation (the first try and two retries), standard retry mode.
pub const MAX_ATTEMPTS: u32 = 3;

/// Failures of this adapter. All of them surface as [`StoreError::Backend`].
#[derive(Debug, thiserror::Error)]
pub enum DynamoStoreError {
    #[error("DynamoDB {operation} failed")]
    Sdk {
        operation: &'static str,
        #[source]
        source: Box<dyn std::error::Error + Send + Sync>,
    },
    /// A transaction cancelled by throttling (after the SDK's retries).
    #[error("DynamoDB throttled the transaction (cancellation reasons: {codes})")]
    Throttled {
        codes: String,
        #[source]
        source: Box<dyn std::error::Error + Send + Sync>,
    },
    /// A transaction cancelled for another reason (validation, size limits...).
    #[error("DynamoDB cancelled the transaction (cancellation reasons: {codes})")]
    Cancelled {
        codes: String,
        #[source]
        source: Box<dyn std::error::Error + Send + Sync>,
    },
    #[error("cannot build a DynamoDB request")]
    Build(#[source] aws_sdk_dynamodb::error::BuildError),
    #[error("infra/table.json is not a valid table definition")]
    Definition(#[source] serde_json::Error),
    #[error("the table did not become ACTIVE")]
    TableNotActive,
    #[error("a stored {what} lacks its {attribute:?} attribute or has the wrong type")]
    BadAttribute {
        what: &'static str,
        attribute: &'static str,
    },
    /// A put-if-absent failed on an item that a consistent read then did not find (items of this
    /// kind are never deleted).
    #[error("a stored {what} was there for a conditional put and gone when read")]
    Vanished { what: &'static str },
}

fn backend(e: DynamoStoreError) -> StoreError {
    StoreError::backend(e)
}

/// An SDK failure of `operation`, kept whole as the source.
pub(crate) fn sdk_error(
    operation: &'static str,
    e: impl std::error::Error + Send + Sync + 'static,
) -> StoreError {
    backend(DynamoStoreError::Sdk {
        operation,
        source: Box::new(e),
    })
}

fn build_error(e: aws_sdk_dynamodb::error::BuildError) -> StoreError {
    backend(DynamoStoreError::Build(e))
}

/// Explicit timeouts, standard retries and the counting interceptor, on any client config.
pub fn configure(
    builder: aws_sdk_dynamodb::config::Builder,
    calls: &CallCounter,
) -> aws_sdk_dynamodb::config::Builder {
    builder
        .timeout_config(
            TimeoutConfig::builder()
                .connect_timeout(CONNECT_TIMEOUT)
                .operation_attempt_timeout(ATTEMPT_TIMEOUT)
                .operation_timeout(OPERATION_TIMEOUT)
                .build(),
        )
        .retry_config(RetryConfig::standard().with_max_attempts(MAX_ATTEMPTS))
        .interceptor(calls.interceptor())
}

/// A client from the shared AWS config (region, credentials, `AWS_ENDPOINT_URL_DYNAMODB`), with
/// [`configure`] applied.
pub fn client(sdk: &aws_types::SdkConfig, calls: &CallCounter) -> Client {
    let mut builder = aws_sdk_dynamodb::config::Builder::from(sdk);
    if let Some(url) = std::env::var("AWS_ENDPOINT_URL_DYNAMODB")
        .ok()
        .filter(|u| !u.trim().is_empty())
    {
        builder = builder.endpoint_url(url);
    }
    Client::from_conf(configure(builder, calls).build())
}

/// A client for DynamoDB Local at `endpoint` ([`recert_aws::emulator`]: dummy static credentials,
/// the Lambdas' HTTP client), with [`configure`] applied. Synchronous: no credential chain, no
/// metadata probe.
pub fn local_client(endpoint: &str, calls: &CallCounter) -> Client {
    let builder = aws_sdk_dynamodb::config::Builder::from(&recert_aws::emulator(endpoint));
    Client::from_conf(configure(builder, calls).build())
}

/// Paged-load mode (tests): see [`DynamoStore::with_paging`].
#[derive(Clone)]
struct Paging {
    page_size: i32,
    between_pages: PageHook,
}

/// The store port on one DynamoDB table. Cheap to clone (the clones share the client and counter).
#[derive(Clone)]
pub struct DynamoStore {
    client: Client,
    table: Arc<str>,
    calls: CallCounter,
    paging: Option<Paging>,
}

impl fmt::Debug for DynamoStore {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("DynamoStore")
            .field("table", &self.table)
            .field("page_size", &self.paging.as_ref().map(|p| p.page_size))
            .finish_non_exhaustive()
    }
}

type Attributes = HashMap<String, AttributeValue>;

/// How to read a `Query`: the `Limit` of each request, when to stop, what to await between pages.
#[derive(Default)]
struct Pages<'a> {
    /// `Limit` of each request (otherwise DynamoDB's 1 MB page).
    page_size: Option<i32>,
    /// Stop once this many items are read (each request asks for no more than what is left).
    at_most: Option<usize>,
    /// Awaited before each request after the first.
    between: Option<&'a PageHook>,
}

/// What a `Query` read: its items, and where it stopped when it stopped early.
struct Queried {
    items: Vec<Attributes>,
    last_evaluated_key: Option<Attributes>,
}

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

    fn record_capacity<'a>(
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
    async fn get(&self, pk: String, sk: &str) -> Result<Option<Attributes>, StoreError> {
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
    fn query_builder(&self, index: Option<&str>) -> QueryFluentBuilder {
        self.client
            .query()
            .table_name(&*self.table)
            .set_index_name(index.map(str::to_owned))
            // GSIs are eventually consistent; the table is read strongly.
            .consistent_read(index.is_none())
            .return_consumed_capacity(ReturnConsumedCapacity::Total)
    }

    /// A consistent `Query` of partition `pk`, sort keys `from..=to`.
    fn sk_between(&self, pk: String, from: String, to: String) -> QueryFluentBuilder {
        self.query_builder(None)
            .key_condition_expression("#pk = :pk AND #sk BETWEEN :from AND :to")
            .expression_attribute_names("#pk", PK)
            .expression_attribute_names("#sk", SK)
            .expression_attribute_values(":pk", s(pk))
            .expression_attribute_values(":from", s(from))
            .expression_attribute_values(":to", s(to))
    }

    /// A consistent `Query` of partition `pk`, sort keys beginning with `prefix`.
    fn sk_begins_with(&self, pk: String, prefix: impl Into<String>) -> QueryFluentBuilder {
        self.query_builder(None)
            .key_condition_expression("#pk = :pk AND begins_with(#sk, :prefix)")
            .expression_attribute_names("#pk", PK)
            .expression_attribute_names("#sk", SK)
            .expression_attribute_values(":pk", s(pk))
            .expression_attribute_values(":prefix", s(prefix))
    }

    /// One `PutItem` of `item` under `condition`; `Ok(false)` when the condition failed.
    async fn put_if(&self, item: Attributes, condition: Condition) -> Result<bool, StoreError> {
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
    async fn put_item(&self, item: Attributes) -> Result<(), StoreError> {
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
    async fn delete_item(&self, pk: String, sk: &str) -> Result<(), StoreError> {
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
    async fn body(
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
    async fn query(
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
    async fn index_page(
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
    async fn gsi_listing<T>(
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
    async fn transact(
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
const THROTTLING_CODES: [&str; 3] = [
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

// ---------------------------------------------------------------------------------------------
// Attributes
// ---------------------------------------------------------------------------------------------

/// The attributes holding an index's keys.
fn index_key_names(index: Index) -> (&'static str, &'static str) {
    match index {
        Index::Queue => (GSI2_PK, GSI2_SK),
        Index::Due => (GSI3_PK, GSI3_SK),
    }
}

/// The attributes of `keys` (a sparse index entry is its two key attributes).
fn index_attributes(keys: Vec<IndexKey>) -> impl Iterator<Item = (String, AttributeValue)> {
    keys.into_iter().flat_map(|k| {
        let (pk, sk) = index_key_names(k.index);
        [(pk.to_owned(), s(k.pk)), (sk.to_owned(), s(k.sk))]
    })
}

fn s(value: impl Into<String>) -> AttributeValue {
    AttributeValue::S(value.into())
}

fn n(value: impl fmt::Display) -> AttributeValue {
    AttributeValue::N(value.to_string())
}

fn string<'a>(item: &'a Attributes, name: &str) -> Option<&'a str> {
    match item.get(name) {
        Some(AttributeValue::S(v)) => Some(v),
        _ => None,
    }
}

fn number(item: &Attributes, name: &str) -> Option<u64> {
    match item.get(name) {
        Some(AttributeValue::N(v)) => v.parse().ok(),
        _ => None,
    }
}

/// A string attribute the item must have.
fn attribute<'a>(
    item: &'a Attributes,
    attribute: &'static str,
    what: &'static str,
) -> Result<&'a str, StoreError> {
    string(item, attribute)
        .ok_or_else(|| backend(DynamoStoreError::BadAttribute { what, attribute }))
}

/// A root item's certification, its version taken from `v` (the body's copy is not trusted).
fn decode_root(item: &Attributes) -> Result<Certification, StoreError> {
    let body = attribute(item, BODY, "certification")?;
    let version = number(item, VERSION).ok_or_else(|| {
        backend(DynamoStoreError::BadAttribute {
            what: "certification",
            attribute: VERSION,
        })
    })?;
    codec::decode_root(body, version)
}

/// An aggregate item read back; `None` for a kind this build does not know.
fn decode_item(item: &Attributes) -> Result<Option<Item>, StoreError> {
    let sk = attribute(item, SK, "aggregate item")?;
    let body = attribute(item, BODY, "aggregate item")?;
    codec::decode_item(sk, body)
}

/// A condition expression with its placeholders.
struct Condition {
    expression: &'static str,
    names: HashMap<String, String>,
    values: HashMap<String, AttributeValue>,
}

/// The actions of one `TransactWriteItems` and what their failed conditions mean.
struct Transaction {
    actions: Vec<TransactWriteItem>,
    on_failed: Vec<(usize, Guard)>,
}

fn put(
    table: &str,
    item: Attributes,
    condition: Option<Condition>,
    return_old_on_failure: bool,
) -> Result<TransactWriteItem, StoreError> {
    let mut p = Put::builder().table_name(table).set_item(Some(item));
    if let Some(c) = condition {
        p = p
            .condition_expression(c.expression)
            .set_expression_attribute_names(Some(c.names))
            .set_expression_attribute_values((!c.values.is_empty()).then_some(c.values));
    }
    if return_old_on_failure {
        p = p.return_values_on_condition_check_failure(ReturnValuesOnConditionCheckFailure::AllOld);
    }
    Ok(TransactWriteItem::builder()
        .put(p.build().map_err(build_error)?)
        .build())
}

/// A failed `PutItem`: DynamoDB's refusal of an item over its size limit (a `ValidationException`)
/// is `Rejected`, with DynamoDB's message (it quotes no data); anything else is `Backend`.
pub fn put_item_error(
    e: aws_sdk_dynamodb::error::SdkError<
        PutItemError,
        aws_sdk_dynamodb::config::http::HttpResponse,
    >,
) -> StoreError {
    let too_large = e.as_service_error().and_then(|e| {
        let message = e.message().unwrap_or_default();
        (e.code() == Some("ValidationException")
            && message.to_ascii_lowercase().contains("item size"))
        .then(|| message.to_owned())
    });
    match too_large {
        Some(message) => StoreError::Rejected(format!(
            "the item is larger than DynamoDB's 400 KB item limit ({message})"
        )),
        None => sdk_error("PutItem", e),
    }
}

/// An item holding only its keys and a body.
fn body_item(pk: &str, sk: &str, body: &str) -> Attributes {
    HashMap::from([
        (PK.to_owned(), s(pk)),
        (SK.to_owned(), s(sk)),
        (BODY.to_owned(), s(body)),
    ])
}

/// `b = :expected`: the stored body must be `expected` (compare-and-swap).
fn body_is(expected: String) -> Condition {
    Condition {
        expression: "#b = :expected",
        names: HashMap::from([("#b".to_owned(), BODY.to_owned())]),
        values: HashMap::from([(":expected".to_owned(), s(expected))]),
    }
}

/// `attribute_not_exists(pk)`: the item must not exist.
fn must_not_exist() -> Condition {
    Condition {
        expression: "attribute_not_exists(#pk)",
        names: HashMap::from([("#pk".to_owned(), PK.to_owned())]),
        values: HashMap::new(),
    }
}

/// A guard item making `pk` unique, owned by `owner`.
fn guard(table: &str, pk: String, owner: String) -> Result<TransactWriteItem, StoreError> {
    put(
        table,
        HashMap::from([
            (PK.to_owned(), s(pk)),
            (SK.to_owned(), s(GUARD_SK)),
            (OWNER.to_owned(), s(owner)),
        ]),
        Some(must_not_exist()),
        false,
    )
}

/// An item of certification `id` as stored: keys, body, TTL and index keys.
fn item_attributes(id: CertificationId, pk: &str, item: &Item) -> Result<Attributes, StoreError> {
    let mut attributes = HashMap::from([
        (PK.to_owned(), s(pk)),
        (SK.to_owned(), s(codec::item_sort_key(&item.key()))),
        (BODY.to_owned(), s(codec::encode_item(item)?)),
    ]);
    if let Some(ttl) = codec::item_ttl(item) {
        attributes.insert(TTL.to_owned(), n(ttl));
    }
    attributes.extend(index_attributes(codec::item_index_keys(id, item)));
    Ok(attributes)
}

/// A posting as stored: keys, body, its provider's listing (GSI1) and, while it awaits staff,
/// the reconciliation queue (GSI2).
fn posting_attributes(posting: &Posting) -> Result<Attributes, StoreError> {
    let mut item = body_item(
        &codec::provider_pk(&posting.provider_id),
        &codec::posting_sk(posting.completion_id()),
        &codec::encode_posting(posting)?,
    );
    item.insert(
        GSI1_PK.to_owned(),
        s(codec::provider_postings_pk(&posting.provider_id)),
    );
    item.insert(GSI1_SK.to_owned(), s(codec::posting_listing_sk(posting)));
    if let Some(queued) = codec::posting_queue_sk(posting) {
        item.insert(GSI2_PK.to_owned(), s(codec::RECONCILIATION_PK));
        item.insert(GSI2_SK.to_owned(), s(queued));
    }
    Ok(item)
}

/// An audit period as stored: body, and its place in the ledger's listing (GSI1).
fn period_attributes(period: &AuditPeriod) -> Result<Attributes, StoreError> {
    let mut item = body_item(
        &codec::audit_period_pk(period.period),
        codec::AUDIT_PERIOD_SK,
        &codec::encode_audit_period(period)?,
    );
    item.insert(GSI1_PK.to_owned(), s(codec::AUDIT_PERIODS_PK));
    item.insert(GSI1_SK.to_owned(), s(period.period.to_string()));
    Ok(item)
}

/// A provider as stored: version, body, and its place in the registry listing (GSI1).
fn provider_attributes(provider: &Provider) -> Result<Attributes, StoreError> {
    let mut item = body_item(
        &codec::provider_pk(&provider.id),
        codec::PROVIDER_SK,
        &codec::encode_provider(provider)?,
    );
    item.insert(VERSION.to_owned(), n(provider.version));
    item.insert(GSI1_PK.to_owned(), s(codec::PROVIDERS_PK));
    item.insert(GSI1_SK.to_owned(), s(&provider.id.0));
    Ok(item)
}

/// The root as stored: version, body, certificate number, GSI1 keys and its due date (GSI3).
fn root_attributes(pk: &str, c: &Certification) -> Result<Attributes, StoreError> {
    let (gsi1pk, gsi1sk) = codec::certifications_of_keys(c);
    let mut root = HashMap::from([
        (PK.to_owned(), s(pk)),
        (SK.to_owned(), s(ROOT_SK)),
        (VERSION.to_owned(), n(c.version)),
        (BODY.to_owned(), s(codec::encode_root(c)?)),
        (CERT_NO.to_owned(), s(&c.certificate_number)),
        (GSI1_PK.to_owned(), s(gsi1pk)),
        (GSI1_SK.to_owned(), s(gsi1sk)),
    ]);
    root.extend(index_attributes(codec::root_index_keys(c)));
    Ok(root)
}

/// The transaction of one commit: the root (and on creation its certificate-number guard), the
/// history event, the puts, the deletes.
fn commit_transaction(table: &str, changes: &Changes) -> Result<Transaction, StoreError> {
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

#[async_trait]
impl CertificantStore for DynamoStore {
    async fn create_certificant(&self, certificant: &Certificant) -> Result<(), StoreError> {
        let pk = codec::certificant_pk(certificant.id);
        let profile = put(
            &self.table,
            body_item(&pk, PROFILE_SK, &codec::encode_certificant(certificant)?),
            Some(must_not_exist()),
            false,
        )?;
        let email = guard(&self.table, codec::email_pk(&certificant.email), pk)?;
        self.transact(
            vec![profile, email],
            &[
                (0, Guard::Unique("certificant")),
                (1, Guard::Unique("email")),
            ],
        )
        .await
    }

    async fn certificant(&self, id: CertificantId) -> Result<Option<Certificant>, StoreError> {
        self.get(codec::certificant_pk(id), PROFILE_SK)
            .await?
            .map(|item| codec::decode_certificant(attribute(&item, BODY, "certificant")?))
            .transpose()
    }

    async fn certifications_of(
        &self,
        certificant: CertificantId,
    ) -> Result<Vec<Certification>, StoreError> {
        let request = self
            .query_builder(Some(GSI1))
            .key_condition_expression("#pk = :pk")
            .expression_attribute_names("#pk", GSI1_PK)
            .expression_attribute_values(":pk", s(codec::certificant_pk(certificant)));
        let out = self.query(request, Pages::default()).await?;
        let mut certifications = out
            .items
            .iter()
            .filter(|item| string(item, SK) == Some(ROOT_SK))
            .map(decode_root)
            .collect::<Result<Vec<_>, _>>()?;
        // The index sorts by created_at then id already; sorting again costs nothing and keeps the
        // order right whatever the key format once was.
        certifications.sort_by_key(|c| (c.created_at, c.id));
        Ok(certifications)
    }
}

#[async_trait]
impl CertificateLookup for DynamoStore {
    async fn certification_by_number(
        &self,
        certificate_number: &str,
    ) -> Result<Option<CertificationId>, StoreError> {
        let Some(guard) = self
            .get(codec::certno_pk(certificate_number), GUARD_SK)
            .await?
        else {
            return Ok(None);
        };
        let owner = attribute(&guard, OWNER, "certificate-number guard")?;
        codec::parse_cert_pk(owner).map(Some).ok_or_else(|| {
            backend(DynamoStoreError::BadAttribute {
                what: "certificate-number guard",
                attribute: OWNER,
            })
        })
    }
}

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

#[async_trait]
impl AuditLedger for DynamoStore {
    async fn audit_period(&self, period: Period) -> Result<Option<AuditPeriod>, StoreError> {
        self.body(
            codec::audit_period_pk(period),
            codec::AUDIT_PERIOD_SK,
            "audit period",
        )
        .await?
        .map(|body| codec::decode_audit_period(&body))
        .transpose()
    }

    /// Every page of GSI1 under `AUDIT_PERIODS`.
    async fn audit_periods(&self) -> Result<Vec<AuditPeriod>, StoreError> {
        let mut periods = Vec::new();
        let mut after: Option<IndexCursor> = None;
        loop {
            let page = self
                .gsi_listing(
                    GSI1,
                    (GSI1_PK, GSI1_SK),
                    codec::AUDIT_PERIODS_PK.to_owned(),
                    after.as_ref(),
                    100,
                    codec::decode_audit_period,
                )
                .await?;
            periods.extend(page.items);
            match page.next {
                Some(next) => after = Some(next),
                None => return Ok(periods),
            }
        }
    }

    async fn create_audit_period(&self, period: &AuditPeriod) -> Result<AuditPeriod, StoreError> {
        if self
            .put_if(period_attributes(period)?, must_not_exist())
            .await?
        {
            return Ok(period.clone());
        }
        self.audit_period(period.period).await?.ok_or_else(|| {
            backend(DynamoStoreError::Vanished {
                what: "audit period",
            })
        })
    }

    /// One `PutItem` conditioned on `b = <current's body>`.
    async fn swap_audit_period(
        &self,
        current: &AuditPeriod,
        next: &AuditPeriod,
    ) -> Result<bool, StoreError> {
        crate::check_period_swap(current, next)?;
        let expected = codec::encode_audit_period(current)?;
        self.put_if(period_attributes(next)?, body_is(expected))
            .await
    }

    /// One `TransactWriteItems`: the record's `Put` conditioned on `attribute_not_exists(pk)` and
    /// the period's `Put` conditioned on `b = <current's body>`.
    async fn append_draw(
        &self,
        current: &AuditPeriod,
        next: &AuditPeriod,
        record: &DrawRecord,
    ) -> Result<bool, StoreError> {
        crate::check_append(current, next, record)?;
        let (pk, sk) = codec::draw_keys(record);
        let expected = codec::encode_audit_period(current)?;
        let actions = vec![
            put(
                &self.table,
                body_item(&pk, &sk, &codec::encode_draw(record)?),
                Some(must_not_exist()),
                false,
            )?,
            put(
                &self.table,
                period_attributes(next)?,
                Some(body_is(expected)),
                false,
            )?,
        ];
        let guards = [(0, Guard::LedgerMoved), (1, Guard::LedgerMoved)];
        match self.transact(actions, &guards).await {
            Ok(()) => Ok(true),
            Err(StoreError::VersionConflict) => Ok(false),
            Err(e) => Err(e),
        }
    }

    async fn draws(&self, period: Period) -> Result<Vec<DrawRecord>, StoreError> {
        let request = self.sk_begins_with(codec::audit_period_pk(period), codec::DRAW_PREFIX);
        let out = self.query(request, Pages::default()).await?;
        let mut draws = out
            .items
            .iter()
            .map(|item| codec::decode_draw(attribute(item, BODY, "draw record")?))
            .collect::<Result<Vec<_>, _>>()?;
        // The sort keys order them by day already; the port promises it whatever the key format.
        draws.sort_by_key(|d| d.run_on);
        Ok(draws)
    }

    /// A consistent `Query` of the sort keys after the cursor (one more than asked: whether a
    /// next page exists).
    async fn draws_page(
        &self,
        period: Period,
        after: Option<&IndexCursor>,
        limit: usize,
    ) -> Result<Listing<DrawRecord>, StoreError> {
        let limit = limit.max(1);
        let (from, to) = codec::draws_after(after.map(|a| a.0.as_str()));
        let request = self.sk_between(codec::audit_period_pk(period), from, to);
        let out = self
            .query(
                request,
                Pages {
                    at_most: Some(limit.saturating_add(1)),
                    ..Pages::default()
                },
            )
            .await?;
        let more = out.items.len() > limit;
        let mut listing = Listing {
            items: Vec::with_capacity(limit.min(out.items.len())),
            next: None,
        };
        for item in out.items.iter().take(limit) {
            listing
                .items
                .push(codec::decode_draw(attribute(item, BODY, "draw record")?)?);
            if more {
                listing.next = Some(IndexCursor(attribute(item, SK, "draw record")?.to_owned()));
            }
        }
        Ok(listing)
    }
}

#[async_trait]
impl CalendarFeeds for DynamoStore {
    async fn put_calendar_feed(&self, feed: &CalendarFeed) -> Result<(), StoreError> {
        let body = codec::encode_calendar_feed(feed)?;
        let pk = codec::certificant_pk(feed.certificant_id);
        self.put_item(body_item(&pk, codec::CALENDAR_FEED_SK, &body))
            .await
    }

    async fn calendar_feed(
        &self,
        certificant: CertificantId,
    ) -> Result<Option<CalendarFeed>, StoreError> {
        self.body(
            codec::certificant_pk(certificant),
            codec::CALENDAR_FEED_SK,
            "calendar feed",
        )
        .await?
        .map(|body| codec::decode_calendar_feed(&body))
        .transpose()
    }

    async fn delete_calendar_feed(&self, certificant: CertificantId) -> Result<(), StoreError> {
        self.delete_item(codec::certificant_pk(certificant), codec::CALENDAR_FEED_SK)
            .await
    }
}

/// The most keys one `BatchGetItem` may ask for.
const BATCH_GET_KEYS: usize = 100;
/// Rounds of `BatchGetItem` for the keys DynamoDB left unprocessed (throttling) before giving up.
const BATCH_GET_ROUNDS: usize = 5;

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

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used)]

    use super::*;

    /// `infra/table.json` names exactly the keys and GSIs this adapter writes and queries.
    #[test]
    fn table_definition_matches_the_adapter() {
        let def = TableDefinition::bundled().expect("infra/table.json parses");
        assert_eq!(
            def.key_names(None),
            Some((PK.to_owned(), Some(SK.to_owned())))
        );
        for (index, pk, sk) in [
            (GSI1, GSI1_PK, GSI1_SK),
            (GSI2, GSI2_PK, GSI2_SK),
            (GSI3, GSI3_PK, GSI3_SK),
        ] {
            assert_eq!(
                def.key_names(Some(index)),
                Some((pk.to_owned(), Some(sk.to_owned()))),
                "{index}"
            );
        }
        assert_eq!(def.global_secondary_indexes.len(), 3);
        let mut defined: Vec<_> = def
            .attribute_definitions
            .iter()
            .map(|a| (a.attribute_name.as_str(), a.attribute_type.as_str()))
            .collect();
        defined.sort_unstable();
        let mut expected: Vec<_> = [PK, SK, GSI1_PK, GSI1_SK, GSI2_PK, GSI2_SK, GSI3_PK, GSI3_SK]
            .into_iter()
            .map(|a| (a, "S"))
            .collect();
        expected.sort_unstable();
        assert_eq!(defined, expected);
        assert_eq!(def.billing_mode, "PAY_PER_REQUEST");
        let ttl = def.time_to_live_specification.expect("a TTL specification");
        assert_eq!((ttl.attribute_name.as_str(), ttl.enabled), (TTL, true));
    }

    /// The codec's index names are the GSIs this adapter queries.
    #[test]
    fn the_codec_indexes_are_the_tables_gsis() {
        assert_eq!(Index::Queue.name(), GSI2);
        assert_eq!(Index::Due.name(), GSI3);
        assert_eq!(index_key_names(Index::Queue), (GSI2_PK, GSI2_SK));
        assert_eq!(index_key_names(Index::Due), (GSI3_PK, GSI3_SK));
    }
}

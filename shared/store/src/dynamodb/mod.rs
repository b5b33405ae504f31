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

mod aggregate;
mod attributes;
mod audit_ledger;
mod indexes;
mod ops;
mod outbox;
mod people;
mod providers;
pub use attributes::put_item_error;
use attributes::*;
pub use ops::{Guard, transaction_error};

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

//! The production adapter: the store port on one DynamoDB table (`aws-sdk-dynamodb`).
//!
//! The single-table design is written down in `docs/dynamodb.md`; the table itself is defined in
//! `infra/table.json` ([`table::TableDefinition`]). In short:
//!
//! | item | `pk` | `sk` | other attributes |
//! |---|---|---|---|
//! | certification (root) | `CERT#<id>` | `META` | `v`, `b`, `cn`, `gsi1pk = CERTIFICANT#<certificant>`, `gsi1sk = CERT#<created_at>#<id>` |
//! | entry, renewal, history, idempotency | `CERT#<id>` | [`ItemKey::sort_key`] | `b`; `ttl` (epoch s) on `IDEM#` items |
//! | certificant | `CERTIFICANT#<id>` | `PROFILE` | `b` |
//! | email guard | `EMAIL#<lower-cased email>` | `GUARD` | `o = CERTIFICANT#<id>` |
//! | certificate-number guard | `CERTNO#<number>` | `GUARD` | `o = CERT#<id>` |
//!
//! - [`Store::load`] is ONE `Query` on `pk = CERT#<id>` with a consistent read, following
//!   `LastEvaluatedKey` until the last page (an aggregate over 1 MB costs one call per MB).
//! - [`Store::commit`] is ONE `TransactWriteItems`: the root `Put` conditioned on
//!   `attribute_not_exists(pk)` (creation) or `v = :expected AND cn = :cn` (update), the item puts
//!   and deletes, and on creation the certificate-number guard (`attribute_not_exists(pk)`).
//!   Cancellation reasons are mapped per action: a failed condition on the root is
//!   [`StoreError::VersionConflict`], on a guard [`StoreError::Duplicate`]; `TransactionConflict`
//!   (a concurrent transaction on the same items) is a `VersionConflict` too; throttling and
//!   anything else is [`StoreError::Backend`] with the SDK error kept as its source. The SDK fills
//!   `ClientRequestToken` itself, so its own retry of a commit whose answer was lost is idempotent
//!   (it cannot turn into a false conflict).
//! - Idempotency records carry `ttl`, so DynamoDB deletes them some time after they expire. Until
//!   then [`Store::load`] returns them like any item and callers ignore the expired ones
//!   (`CertificationAggregate::idempotency_record(key, now)`), exactly as with the embedded store,
//!   which drops them at its next commit instead.
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
//! Nothing here logs personal data: no emails (not even guard keys), names or bodies.

pub mod calls;
pub mod table;

pub use aws_sdk_dynamodb::Client;
pub use calls::{CallCounter, OperationCalls, counts};
pub use table::{TableDefinition, create_table};

use crate::{Store, StoreError};
use async_trait::async_trait;
use aws_sdk_dynamodb::config::retry::RetryConfig;
use aws_sdk_dynamodb::config::timeout::TimeoutConfig;
use aws_sdk_dynamodb::config::{Credentials, Region};
use aws_sdk_dynamodb::operation::transact_write_items::TransactWriteItemsError;
use aws_sdk_dynamodb::types::{
    AttributeValue, ConsumedCapacity, Delete, Put, ReturnConsumedCapacity,
    ReturnValuesOnConditionCheckFailure, TransactWriteItem,
};
use recert_domain::{
    CeEntry, Certificant, CertificantId, Certification, CertificationAggregate, CertificationId,
    Changes, HistoryEvent, IdempotencyRecord, Item, Renewal,
};
use serde::de::DeserializeOwned;
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
/// GSI2: staff queues by status and age (declared; written by the renewals/audits issues).
pub const GSI2: &str = "gsi2";
pub const GSI2_PK: &str = "gsi2pk";
pub const GSI2_SK: &str = "gsi2sk";
/// GSI3: due dates by day, and a provider's postings (declared; written by later issues).
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

/// The sort key of a certification's root item.
pub const ROOT_SK: &str = "META";
/// The sort key of a certificant's item.
pub const PROFILE_SK: &str = "PROFILE";
/// The sort key of a uniqueness guard item.
pub const GUARD_SK: &str = "GUARD";

/// Time to open a TCP/TLS connection.
pub const CONNECT_TIMEOUT: Duration = Duration::from_secs(3);
/// Time for one attempt of an operation (a 1 MB Query page included).
pub const ATTEMPT_TIMEOUT: Duration = Duration::from_secs(5);
/// Time for a whole operation, retries included (below a Lambda's 29 s API Gateway limit).
pub const OPERATION_TIMEOUT: Duration = Duration::from_secs(12);
/// Attempts per operation (the first try and two retries), standard retry mode.
pub const MAX_ATTEMPTS: u32 = 3;

/// The environment variable naming the table; set, it selects this adapter.
pub const TABLE_NAME_ENV: &str = "TABLE_NAME";

const ENTRY_PREFIX: &str = "ENTRY#";
const RENEWAL_PREFIX: &str = "RENEWAL#";
const HISTORY_PREFIX: &str = "HIST#";
const IDEMPOTENCY_PREFIX: &str = "IDEM#";

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
    #[error("{TABLE_NAME_ENV} is not set")]
    NoTableName,
    #[error("infra/table.json is not a valid table definition")]
    Definition(#[source] serde_json::Error),
    #[error("the table did not become ACTIVE")]
    TableNotActive,
    #[error("a stored {what} lacks its {attribute:?} attribute or has the wrong type")]
    BadAttribute {
        what: &'static str,
        attribute: &'static str,
    },
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
pub fn client(sdk: &aws_config::SdkConfig, calls: &CallCounter) -> Client {
    let mut builder = aws_sdk_dynamodb::config::Builder::from(sdk);
    if let Some(url) = std::env::var("AWS_ENDPOINT_URL_DYNAMODB")
        .ok()
        .filter(|u| !u.trim().is_empty())
    {
        builder = builder.endpoint_url(url);
    }
    Client::from_conf(configure(builder, calls).build())
}

/// A client for DynamoDB Local at `endpoint` (dummy static credentials, `AWS_REGION` or
/// `us-east-1`), with [`configure`] applied. Synchronous: no credential chain, no metadata probe.
pub fn local_client(endpoint: &str, calls: &CallCounter) -> Client {
    let region = std::env::var("AWS_REGION")
        .ok()
        .filter(|r| !r.trim().is_empty())
        .unwrap_or_else(|| "us-east-1".into());
    let builder = aws_sdk_dynamodb::config::Builder::new()
        .behavior_version_latest()
        .region(Region::new(region))
        .credentials_provider(Credentials::new(
            "test",
            "test",
            None,
            None,
            "recert-dynamodb-local",
        ))
        .endpoint_url(endpoint);
    Client::from_conf(configure(builder, calls).build())
}

/// The store port on one DynamoDB table. Cheap to clone (the clones share the client and counter).
#[derive(Clone)]
pub struct DynamoStore {
    client: Client,
    table: Arc<str>,
    calls: CallCounter,
}

impl fmt::Debug for DynamoStore {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("DynamoStore")
            .field("table", &self.table)
            .finish_non_exhaustive()
    }
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
        }
    }

    /// From the environment: `TABLE_NAME`, the standard AWS variables (region, credentials) and
    /// `AWS_ENDPOINT_URL_DYNAMODB` (DynamoDB Local). Makes no network call.
    pub async fn from_env() -> Result<Self, StoreError> {
        let table = std::env::var(TABLE_NAME_ENV)
            .ok()
            .filter(|t| !t.trim().is_empty())
            .ok_or_else(|| backend(DynamoStoreError::NoTableName))?;
        let sdk = aws_config::defaults(aws_config::BehaviorVersion::latest())
            .load()
            .await;
        let calls = CallCounter::new();
        Ok(Self::with_counter(client(&sdk, &calls), table, calls))
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

    /// Every item of a `Query` with `key_condition` over `pk_value`, all pages.
    async fn query_all(
        &self,
        index: Option<(&str, &str)>,
        pk_value: String,
    ) -> Result<Vec<HashMap<String, AttributeValue>>, StoreError> {
        let (index_name, key) = match index {
            Some((name, key)) => (Some(name.to_owned()), key),
            None => (None, PK),
        };
        let mut items = Vec::new();
        let mut start = None;
        loop {
            let out = self
                .client
                .query()
                .table_name(&*self.table)
                .set_index_name(index_name.clone())
                .key_condition_expression("#k = :k")
                .expression_attribute_names("#k", key)
                .expression_attribute_values(":k", AttributeValue::S(pk_value.clone()))
                // GSIs are eventually consistent; the table is read strongly.
                .consistent_read(index_name.is_none())
                .return_consumed_capacity(ReturnConsumedCapacity::Total)
                .set_exclusive_start_key(start.take())
                .send()
                .await
                .map_err(|e| sdk_error("Query", e))?;
            self.record_capacity("Query", out.consumed_capacity());
            items.extend(out.items.unwrap_or_default());
            match out.last_evaluated_key {
                Some(k) if !k.is_empty() => start = Some(k),
                _ => return Ok(items),
            }
        }
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
// Keys and attributes
// ---------------------------------------------------------------------------------------------

fn cert_pk(id: CertificationId) -> String {
    format!("CERT#{id}")
}

fn certificant_pk(id: CertificantId) -> String {
    format!("CERTIFICANT#{id}")
}

/// Lower-cased like the embedded store, so uniqueness ignores letter case (Unicode too).
fn email_pk(email: &str) -> String {
    format!("EMAIL#{}", email.to_lowercase())
}

fn certno_pk(number: &str) -> String {
    format!("CERTNO#{number}")
}

/// `CERT#<created_at, RFC 3339 with 9 fraction digits>#<id>`: sorts oldest first, then by id.
fn gsi1_sk(c: &Certification) -> String {
    format!(
        "CERT#{}#{}",
        c.created_at.format("%Y-%m-%dT%H:%M:%S%.9fZ"),
        c.id
    )
}

fn s(value: impl Into<String>) -> AttributeValue {
    AttributeValue::S(value.into())
}

fn n(value: impl fmt::Display) -> AttributeValue {
    AttributeValue::N(value.to_string())
}

fn string<'a>(item: &'a HashMap<String, AttributeValue>, name: &str) -> Option<&'a str> {
    match item.get(name) {
        Some(AttributeValue::S(v)) => Some(v),
        _ => None,
    }
}

fn number(item: &HashMap<String, AttributeValue>, name: &str) -> Option<u64> {
    match item.get(name) {
        Some(AttributeValue::N(v)) => v.parse().ok(),
        _ => None,
    }
}

fn decode<T: DeserializeOwned>(
    what: &'static str,
    item: &HashMap<String, AttributeValue>,
) -> Result<T, StoreError> {
    let body = string(item, BODY).ok_or_else(|| {
        backend(DynamoStoreError::BadAttribute {
            what,
            attribute: BODY,
        })
    })?;
    crate::decode_body(what, body)
}

/// A root item's certification, its version taken from `v` (the body's copy is not trusted).
fn decode_root(item: &HashMap<String, AttributeValue>) -> Result<Certification, StoreError> {
    let mut c: Certification = decode("certification", item)?;
    c.version = number(item, VERSION).ok_or_else(|| {
        backend(DynamoStoreError::BadAttribute {
            what: "certification",
            attribute: VERSION,
        })
    })?;
    Ok(c)
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
    item: HashMap<String, AttributeValue>,
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

fn item_attributes(pk: &str, item: &Item) -> Result<HashMap<String, AttributeValue>, StoreError> {
    let (body, ttl) = match item {
        Item::Entry(e) => (crate::encode_body("entry", e)?, None),
        Item::Renewal(r) => (crate::encode_body("renewal", r)?, None),
        Item::History(h) => (crate::encode_body("history event", h)?, None),
        Item::Idempotency(i) => (
            crate::encode_body("idempotency record", i)?,
            Some(i.expires_at.timestamp()),
        ),
    };
    let mut attributes = HashMap::from([
        (PK.to_owned(), s(pk)),
        (SK.to_owned(), s(item.key().sort_key())),
        (BODY.to_owned(), s(body)),
    ]);
    if let Some(ttl) = ttl {
        attributes.insert(TTL.to_owned(), n(ttl));
    }
    Ok(attributes)
}

/// The transaction of one commit.
fn commit_transaction(table: &str, changes: &Changes) -> Result<Transaction, StoreError> {
    let c = &changes.certification;
    let pk = cert_pk(c.id);
    let root = HashMap::from([
        (PK.to_owned(), s(&pk)),
        (SK.to_owned(), s(ROOT_SK)),
        (VERSION.to_owned(), n(c.version)),
        (BODY.to_owned(), s(crate::encode_body("certification", c)?)),
        (CERT_NO.to_owned(), s(&c.certificate_number)),
        (GSI1_PK.to_owned(), s(certificant_pk(c.certificant_id))),
        (GSI1_SK.to_owned(), s(gsi1_sk(c))),
    ]);
    let mut actions = Vec::with_capacity(2 + changes.puts.len() + changes.deletes.len());
    let mut on_failed = Vec::with_capacity(2);
    if changes.expected_version == 0 {
        actions.push(put(table, root, Some(must_not_exist()), false)?);
        on_failed.push((0, Guard::Created));
        actions.push(guard(table, certno_pk(&c.certificate_number), pk.clone())?);
        on_failed.push((1, Guard::Unique("certificate_number")));
    } else {
        let condition = Condition {
            expression: "#v = :expected AND #cn = :cn",
            names: HashMap::from([
                ("#v".to_owned(), VERSION.to_owned()),
                ("#cn".to_owned(), CERT_NO.to_owned()),
            ]),
            values: HashMap::from([
                (":expected".to_owned(), n(changes.expected_version)),
                (":cn".to_owned(), s(&c.certificate_number)),
            ]),
        };
        actions.push(put(table, root, Some(condition), true)?);
        on_failed.push((
            0,
            Guard::Updated {
                expected: changes.expected_version,
            },
        ));
    }
    for item in &changes.puts {
        actions.push(put(table, item_attributes(&pk, item)?, None, false)?);
    }
    for key in &changes.deletes {
        let delete = Delete::builder()
            .table_name(table)
            .key(PK, s(&pk))
            .key(SK, s(key.sort_key()))
            .build()
            .map_err(build_error)?;
        actions.push(TransactWriteItem::builder().delete(delete).build());
    }
    Ok(Transaction { actions, on_failed })
}

fn aggregate_from_items(
    items: Vec<HashMap<String, AttributeValue>>,
) -> Result<Option<CertificationAggregate>, StoreError> {
    let mut root = None;
    let mut entries = Vec::new();
    let mut renewals = Vec::new();
    let mut history = Vec::new();
    let mut idempotency = Vec::new();
    for item in &items {
        let sk = string(item, SK).unwrap_or_default();
        if sk == ROOT_SK {
            root = Some(decode_root(item)?);
        } else if sk.starts_with(ENTRY_PREFIX) {
            entries.push(decode::<CeEntry>("entry", item)?);
        } else if sk.starts_with(RENEWAL_PREFIX) {
            renewals.push(decode::<Renewal>("renewal", item)?);
        } else if sk.starts_with(HISTORY_PREFIX) {
            history.push(decode::<HistoryEvent>("history event", item)?);
        } else if sk.starts_with(IDEMPOTENCY_PREFIX) {
            idempotency.push(decode::<IdempotencyRecord>("idempotency record", item)?);
        } else {
            // An item kind from a newer build; it is not rewritten, so skipping loses nothing.
            let kind = sk.split('#').next().unwrap_or_default();
            tracing::warn!(kind, "skipping an aggregate item of an unknown kind");
        }
    }
    let Some(certification) = root else {
        return Ok(None);
    };
    entries.sort_by_key(|e| (e.activity.completed_on, e.id));
    renewals.sort_by_key(|r| (r.submitted_at, r.id));
    history.sort_by_key(|h| h.seq);
    Ok(Some(CertificationAggregate {
        certification,
        entries,
        renewals,
        history,
        idempotency,
    }))
}

#[async_trait]
impl Store for DynamoStore {
    async fn create_certificant(&self, certificant: &Certificant) -> Result<(), StoreError> {
        let pk = certificant_pk(certificant.id);
        let profile = put(
            &self.table,
            HashMap::from([
                (PK.to_owned(), s(&pk)),
                (SK.to_owned(), s(PROFILE_SK)),
                (
                    BODY.to_owned(),
                    s(crate::encode_body("certificant", certificant)?),
                ),
            ]),
            Some(must_not_exist()),
            false,
        )?;
        let email = guard(&self.table, email_pk(&certificant.email), pk)?;
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
        let out = self
            .client
            .get_item()
            .table_name(&*self.table)
            .key(PK, s(certificant_pk(id)))
            .key(SK, s(PROFILE_SK))
            .consistent_read(true)
            .return_consumed_capacity(ReturnConsumedCapacity::Total)
            .send()
            .await
            .map_err(|e| sdk_error("GetItem", e))?;
        self.record_capacity("GetItem", out.consumed_capacity());
        out.item
            .map(|item| decode("certificant", &item))
            .transpose()
    }

    async fn certifications_of(
        &self,
        certificant: CertificantId,
    ) -> Result<Vec<Certification>, StoreError> {
        let items = self
            .query_all(Some((GSI1, GSI1_PK)), certificant_pk(certificant))
            .await?;
        let mut out = items
            .iter()
            .filter(|item| string(item, SK) == Some(ROOT_SK))
            .map(decode_root)
            .collect::<Result<Vec<_>, _>>()?;
        // The index sorts by created_at then id already; sorting again costs nothing and keeps the
        // order right whatever the key format once was.
        out.sort_by_key(|c| (c.created_at, c.id));
        Ok(out)
    }

    async fn load(
        &self,
        id: CertificationId,
    ) -> Result<Option<CertificationAggregate>, StoreError> {
        let items = self.query_all(None, cert_pk(id)).await?;
        aggregate_from_items(items)
    }

    async fn commit(&self, changes: &Changes) -> Result<(), StoreError> {
        crate::check_commit(changes, usize::from(changes.expected_version == 0))?;
        let t = commit_transaction(&self.table, changes)?;
        self.transact(t.actions, &t.on_failed).await
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

    #[test]
    fn gsi1_sort_key_orders_by_creation_then_id() {
        use crate::conformance::{instant, new_certificant, new_certification};
        let holder = new_certificant().id;
        let mut a = new_certification(holder);
        let mut b = new_certification(holder);
        a.created_at = instant(0) + chrono::Duration::nanoseconds(1);
        b.created_at = instant(0);
        assert!(gsi1_sk(&b) < gsi1_sk(&a));
        assert!(gsi1_sk(&a).starts_with("CERT#2026-01-15T12:00:00.123456790Z#"));
    }

    #[test]
    fn emails_guard_case_insensitively() {
        assert_eq!(email_pk("Ada@Example.ORG"), email_pk("ada@example.org"));
        assert_eq!(email_pk("ÉMILE@x.test"), "EMAIL#émile@x.test");
    }
}

//! The store port, split by capability, and its adapters.
//!
//! One certification is one aggregate: loaded with one read of its root and one of its current
//! cycle's working set (root first, so a write racing the load can only make the next commit
//! conflict, never pair old items with a new version), changed with ONE atomic commit guarded by
//! the version it was loaded at (a stale writer gets [`StoreError::VersionConflict`], never a
//! lost update). The capabilities:
//!
//! - [`AggregateStore`]: load, commit, the history a page at a time, an older cycle's entries;
//! - [`CertificantStore`]: certificants and the certifications they hold;
//! - [`CertificateLookup`]: a certification by its certificate number;
//! - [`QueueIndex`]: what waits in a staff or job queue, oldest first, paged (GSI2);
//! - [`DueIndex`]: what falls due on a day, by kind, paged (GSI3);
//! - [`OutboxStore`]: read one outbox message, and replace it only if unchanged (delivery);
//! - [`AuditLedger`]: the random audit's periods (commitment, sealed seed, log head) and the
//!   append-only log of their daily draw records, outside every certification;
//! - [`CalendarFeeds`]: each certificant's calendar feed (the SHA-256 of its secret URL's token);
//! - [`ProviderRegistry`]: the partner providers staff registered;
//! - [`PostingLedger`]: each provider's postings (one record per completion it posted), its
//!   listing by date and the staff reconciliation queue. A commit may write postings beside a
//!   certification's items ([`recert_domain::PostingWrite`]), atomically.
//!
//! [`Store`] is all of them; code that needs less takes the narrower trait. Adapters:
//! `sqlite::SqliteStore` (embedded, the local default; feature `sqlite`) and [`dynamodb::DynamoStore`]
//! (production, one DynamoDB table; see `docs/dynamodb.md`). Both share [`codec`] (keys and
//! bodies). The `conformance` module (feature `conformance`) holds the one test suite every
//! adapter must pass.
//!
//! Must not depend on HTTP or on any function crate.

pub mod codec;
#[cfg(feature = "conformance")]
pub mod conformance;
pub mod dynamodb;
#[cfg(feature = "sqlite")]
pub mod sqlite;

use async_trait::async_trait;
use chrono::NaiveDate;
use recert_domain::audit::{AuditPeriod, DrawRecord, Period};
use recert_domain::{
    CalendarFeed, CeEntry, Certificant, CertificantId, Certification, CertificationAggregate,
    CertificationId, Changes, DueKind, HistoryEvent, Item, OutboxMessage, Posting, PostingWrite,
    Provider, ProviderId, Queue,
};
use std::collections::HashSet;
use std::fmt::Debug;
use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;

pub use codec::{BodyError, decode_body, encode_body};

#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// The aggregate changed since it was loaded (or, for a creation, it already exists).
    #[error("the certification was changed by someone else; reload and retry")]
    VersionConflict,
    /// A unique value is taken (`what` names it: "email", "certificate_number", "certificant",
    /// "provider"; "posting" when a commit's posting was already recorded).
    #[error("{what} already exists")]
    Duplicate { what: &'static str },
    /// A commit's posting replacement found the posting changed since it was read.
    #[error("the posting was changed by someone else; read it again")]
    PostingChanged,
    /// A commit names something the store cannot hold (too many items for one atomic write...).
    #[error("the change cannot be stored: {0}")]
    Rejected(String),
    /// The backend failed (I/O, corruption, throttling after retries). Never shown to clients.
    #[error("store backend failed")]
    Backend(#[source] Box<dyn std::error::Error + Send + Sync>),
}

impl StoreError {
    pub fn backend(e: impl std::error::Error + Send + Sync + 'static) -> Self {
        StoreError::Backend(Box::new(e))
    }

    /// Whether the same call may succeed later: throttling, the network, a busy database. Corrupt
    /// data, a request the backend refuses, a poisoned connection will fail again: a caller
    /// should not be invited to retry them.
    pub fn is_transient(&self) -> bool {
        let StoreError::Backend(source) = self else {
            return false;
        };
        if let Some(e) = source.downcast_ref::<dynamodb::DynamoStoreError>() {
            return matches!(
                e,
                dynamodb::DynamoStoreError::Sdk { .. }
                    | dynamodb::DynamoStoreError::Throttled { .. }
            );
        }
        #[cfg(feature = "sqlite")]
        if let Some(e) = source.downcast_ref::<rusqlite::Error>() {
            return matches!(
                e.sqlite_error_code(),
                Some(rusqlite::ErrorCode::DatabaseBusy | rusqlite::ErrorCode::DatabaseLocked)
            );
        }
        false
    }
}

/// The certification aggregate: load, commit, and what a load leaves out (history, old cycles).
#[async_trait]
pub trait AggregateStore: Send + Sync + Debug {
    /// The root, then the current cycle's working set (entries by completion date then id,
    /// renewals by submission, idempotency records; expired records may be included, callers
    /// filter). Never the history, never older cycles' items.
    async fn load(&self, id: CertificationId)
    -> Result<Option<CertificationAggregate>, StoreError>;

    /// The root alone (one read): the certification without its items.
    async fn certification(&self, id: CertificationId)
    -> Result<Option<Certification>, StoreError>;

    /// Commit atomically: root version must equal `changes.expected_version()` (0 = must not
    /// exist), else `VersionConflict`; a taken certificate number on creation is `Duplicate`.
    /// The history event, puts and deletes, and the index keys of every written item, go in the
    /// same atomic write.
    async fn commit(&self, changes: &Changes) -> Result<(), StoreError>;

    /// At most `limit` history events with `seq > after` (all when `after` is `None`), by seq.
    async fn history(
        &self,
        id: CertificationId,
        after: Option<u64>,
        limit: usize,
    ) -> Result<Vec<HistoryEvent>, StoreError>;

    /// The entries kept with the cycle that started on `cycle_starts_on` (by completion date,
    /// then id). Empty for an unknown certification or cycle.
    async fn entries_of_cycle(
        &self,
        id: CertificationId,
        cycle_starts_on: NaiveDate,
    ) -> Result<Vec<CeEntry>, StoreError>;
}

/// Certificants and the certifications they hold.
#[async_trait]
pub trait CertificantStore: Send + Sync + Debug {
    /// Create a certificant. `Duplicate { what: "certificant" | "email" }` when the id or email is taken.
    async fn create_certificant(&self, certificant: &Certificant) -> Result<(), StoreError>;

    async fn certificant(&self, id: CertificantId) -> Result<Option<Certificant>, StoreError>;

    /// The certifications a certificant holds, oldest first (a GSI query on DynamoDB).
    async fn certifications_of(
        &self,
        certificant: CertificantId,
    ) -> Result<Vec<Certification>, StoreError>;
}

/// A certification by its certificate number (unique; never changes after issue).
#[async_trait]
pub trait CertificateLookup: Send + Sync + Debug {
    async fn certification_by_number(
        &self,
        certificate_number: &str,
    ) -> Result<Option<CertificationId>, StoreError>;
}

/// Where an index listing stopped: the index sort key of its last item. Opaque to callers; an
/// API hands it out only inside a tamper-evident cursor.
#[derive(Debug, Clone, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
#[serde(transparent)]
pub struct IndexCursor(pub String);

/// What an index entry points at: the root or an item of a certification.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum IndexedItem {
    Certification(Certification),
    Item(Item),
}

/// One index entry, with the item as it was when last written.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Indexed {
    pub certification_id: CertificationId,
    pub item: IndexedItem,
}

/// One page of an index listing; `next` is set when more may follow.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct IndexPage {
    pub items: Vec<Indexed>,
    pub next: Option<IndexCursor>,
}

/// Items waiting in a queue, oldest first (sparse: an item is listed while it is queued).
/// Eventually consistent on DynamoDB: a command re-checks the item it acts on.
#[async_trait]
pub trait QueueIndex: Send + Sync + Debug {
    async fn queued(
        &self,
        queue: Queue,
        after: Option<&IndexCursor>,
        limit: usize,
    ) -> Result<IndexPage, StoreError>;
}

/// What falls due on one day, of one kind (sparse, like [`QueueIndex`]).
#[async_trait]
pub trait DueIndex: Send + Sync + Debug {
    async fn due(
        &self,
        on: NaiveDate,
        kind: DueKind,
        after: Option<&IndexCursor>,
        limit: usize,
    ) -> Result<IndexPage, StoreError>;
}

/// The delivery side of the transactional outbox. Messages are written by commits (with the change
/// they report); delivery reads one and replaces it only if it is still as read, so two senders
/// (the stream's notifier and the sweeper, or a redelivered stream record) never both claim it.
/// Pending messages are listed by [`QueueIndex`] under `Queue::Outbox`, by when they are due.
#[async_trait]
pub trait OutboxStore: Send + Sync + Debug {
    /// The message, read strongly.
    async fn outbox_message(
        &self,
        certification: CertificationId,
        id: uuid::Uuid,
    ) -> Result<Option<OutboxMessage>, StoreError>;

    /// Replace `current` with `next` (the same message, a later state) if the stored message
    /// still equals `current`; `Ok(false)` when it changed meanwhile. The index keys follow
    /// `next` (a sent or parked message leaves the outbox queue). Touches nothing else.
    async fn swap_outbox_message(
        &self,
        current: &OutboxMessage,
        next: &OutboxMessage,
    ) -> Result<bool, StoreError>;
}

/// The random audit's ledger: each period (its commitment, sealed seed, log head, and once ended
/// its seed) and the append-only log of its daily draw records. A period is created once
/// (put-if-absent: two racing job runs end with one seed), then only replaced as read (a reveal, a
/// rotation, or an append, which writes the day's record and advances the period's head in one
/// atomic write), so two writers never both win and the log never forks.
#[async_trait]
pub trait AuditLedger: Send + Sync + Debug {
    /// The period, read strongly; `None` if never created.
    async fn audit_period(&self, period: Period) -> Result<Option<AuditPeriod>, StoreError>;
    /// Every period created under the current scheme, by period (an index on DynamoDB: eventually
    /// consistent; a writer re-reads the one it changes).
    async fn audit_periods(&self) -> Result<Vec<AuditPeriod>, StoreError>;
    /// Create `period` unless it exists; returns what is stored (the existing one if there was one: never two seeds).
    async fn create_audit_period(&self, period: &AuditPeriod) -> Result<AuditPeriod, StoreError>;
    /// Replace `current` with `next` (the same period, a later state) if the stored period still
    /// equals `current`; `Ok(false)` when it changed meanwhile.
    async fn swap_audit_period(
        &self,
        current: &AuditPeriod,
        next: &AuditPeriod,
    ) -> Result<bool, StoreError>;
    /// Append `record` to its period's log in ONE atomic write: the record, stored under its day
    /// unless that day has one, and `current` replaced by `next` (`current` with `record`
    /// appended) if the stored period still equals `current`. `Ok(false)` when either condition
    /// failed (another run appended or revealed first): nothing was written, read again.
    async fn append_draw(
        &self,
        current: &AuditPeriod,
        next: &AuditPeriod,
        record: &DrawRecord,
    ) -> Result<bool, StoreError>;
    /// Every draw record of a period, by run day (strongly consistent on DynamoDB; page through all results).
    async fn draws(&self, period: Period) -> Result<Vec<DrawRecord>, StoreError>;
    /// At most `limit` draw records of a period after the cursor, by run day (strongly consistent).
    async fn draws_page(
        &self,
        period: Period,
        after: Option<&IndexCursor>,
        limit: usize,
    ) -> Result<Listing<DrawRecord>, StoreError>;
}

/// Each certificant's calendar feed: at most one, outside every certification, never in a
/// transaction. The record holds the SHA-256 of the feed's secret, never the secret.
#[async_trait]
pub trait CalendarFeeds: Send + Sync + Debug {
    /// Store `feed` as its certificant's feed, replacing the one there (a rotation: the old
    /// secret stops opening it at once).
    async fn put_calendar_feed(&self, feed: &CalendarFeed) -> Result<(), StoreError>;
    /// The certificant's feed, read strongly; `None` if there is none (never created, or revoked).
    async fn calendar_feed(
        &self,
        certificant: CertificantId,
    ) -> Result<Option<CalendarFeed>, StoreError>;
    /// Remove the certificant's feed (a revocation); a no-op when there is none.
    async fn delete_calendar_feed(&self, certificant: CertificantId) -> Result<(), StoreError>;
}

/// One page of a listing outside the certifications; `next` is set when more may follow.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Listing<T> {
    pub items: Vec<T>,
    pub next: Option<IndexCursor>,
}

/// The partner providers staff registered: each a small versioned record with its history inside.
#[async_trait]
pub trait ProviderRegistry: Send + Sync + Debug {
    /// Register `provider` (version 1). `Duplicate { what: "provider" }` when the id is taken.
    async fn create_provider(&self, provider: &Provider) -> Result<(), StoreError>;
    /// The provider, read strongly.
    async fn provider(&self, id: &ProviderId) -> Result<Option<Provider>, StoreError>;
    /// Replace the stored provider with `next` if the stored version is `next.version - 1`; else
    /// `VersionConflict`.
    async fn replace_provider(&self, next: &Provider) -> Result<(), StoreError>;
    /// Providers by id, paged (eventually consistent on DynamoDB).
    async fn providers(
        &self,
        after: Option<&IndexCursor>,
        limit: usize,
    ) -> Result<Listing<Provider>, StoreError>;
}

/// Each provider's ledger of postings: one record per completion id, created once (put-if-absent,
/// alone or in a certification's commit), changed only by replacing what was read.
#[async_trait]
pub trait PostingLedger: Send + Sync + Debug {
    /// The postings recorded for `completion_ids` of `provider` (those that exist, in no given
    /// order), read strongly.
    async fn postings(
        &self,
        provider: &ProviderId,
        completion_ids: &[String],
    ) -> Result<Vec<Posting>, StoreError>;
    /// One posting, read strongly.
    async fn posting(
        &self,
        provider: &ProviderId,
        completion_id: &str,
    ) -> Result<Option<Posting>, StoreError>;
    /// Record `posting` unless its completion id is recorded already (`Ok(false)` then).
    async fn create_posting(&self, posting: &Posting) -> Result<bool, StoreError>;
    /// Replace `current` with `next` (the same completion, a later state) if the stored posting
    /// still equals `current`; `Ok(false)` when it changed meanwhile.
    async fn swap_posting(&self, current: &Posting, next: &Posting) -> Result<bool, StoreError>;
    /// The provider's postings by when they were posted (then completion id), oldest first,
    /// paged (eventually consistent on DynamoDB).
    async fn provider_postings(
        &self,
        provider: &ProviderId,
        after: Option<&IndexCursor>,
        limit: usize,
    ) -> Result<Listing<Posting>, StoreError>;
    /// Postings waiting for staff (unmatched, or a void request on a locked cycle), oldest
    /// first, paged (eventually consistent on DynamoDB: a decision re-reads the posting).
    async fn reconciliation_queue(
        &self,
        after: Option<&IndexCursor>,
        limit: usize,
    ) -> Result<Listing<Posting>, StoreError>;
}

/// Every capability: what an adapter implements and a composition root holds.
pub trait Store:
    AggregateStore
    + CertificantStore
    + CertificateLookup
    + QueueIndex
    + DueIndex
    + OutboxStore
    + AuditLedger
    + CalendarFeeds
    + ProviderRegistry
    + PostingLedger
{
}

impl<T> Store for T where
    T: AggregateStore
        + CertificantStore
        + CertificateLookup
        + QueueIndex
        + DueIndex
        + OutboxStore
        + AuditLedger
        + CalendarFeeds
        + ProviderRegistry
        + PostingLedger
{
}

/// A posting swap must keep the posting's identity: same provider, same completion id.
pub fn check_posting_swap(current: &Posting, next: &Posting) -> Result<(), StoreError> {
    if current.provider_id != next.provider_id || current.completion_id() != next.completion_id() {
        return Err(StoreError::Rejected(
            "a posting swap must replace a posting with a later state of itself".into(),
        ));
    }
    Ok(())
}

/// A period swap must keep the period and its seed's commitment, except when a period of the old
/// scheme not drawn in yet is committed again under the current one (the rotation).
pub fn check_period_swap(current: &AuditPeriod, next: &AuditPeriod) -> Result<(), StoreError> {
    use recert_domain::audit::period::{LEGACY_SCHEME, SCHEME};
    let recommitted = current.scheme == LEGACY_SCHEME && next.scheme == SCHEME;
    if current.period != next.period || (current.commitment != next.commitment && !recommitted) {
        return Err(StoreError::Rejected(
            "a period swap must replace a period with a later state of itself".into(),
        ));
    }
    Ok(())
}

/// An append must be the record that follows `current`'s head, and `next` that period with it.
pub fn check_append(
    current: &AuditPeriod,
    next: &AuditPeriod,
    record: &DrawRecord,
) -> Result<(), StoreError> {
    check_period_swap(current, next)?;
    let follows = record.period == current.period
        && record.seq == current.draws + 1
        && record.previous == current.head
        && record.entry_sha256 == record.computed_entry_sha256()
        && current.revealed_at.is_none()
        && *next == current.appended(record);
    if !follows {
        return Err(StoreError::Rejected(
            "a draw record must follow its period's log head, unrevealed, and advance it".into(),
        ));
    }
    Ok(())
}

/// A swap must keep the message's identity: same id, same certification.
pub fn check_outbox_swap(current: &OutboxMessage, next: &OutboxMessage) -> Result<(), StoreError> {
    if current.id != next.id || current.certification_id != next.certification_id {
        return Err(StoreError::Rejected(
            "an outbox swap must replace a message with a later state of itself".into(),
        ));
    }
    Ok(())
}

/// The largest item DynamoDB stores: 400 KB, attribute names and values together.
pub const MAX_ITEM_BYTES: usize = 400 * 1024;

/// The largest body an item outside a commit may carry (an audit period, a draw record): the
/// item limit less 1 KB for its keys and attribute names. Every adapter refuses larger ones, so
/// they all refuse the same writes.
pub const MAX_BODY_BYTES: usize = MAX_ITEM_BYTES - 1024;

/// A body must fit in one DynamoDB item ([`MAX_BODY_BYTES`]): else `Rejected`, naming the size.
pub fn check_body_size(what: &str, body: &str) -> Result<(), StoreError> {
    if body.len() > MAX_BODY_BYTES {
        return Err(StoreError::Rejected(format!(
            "a {what} of {} bytes is too large to store: at most {MAX_BODY_BYTES} bytes \
             (DynamoDB's 400 KB item limit)",
            body.len()
        )));
    }
    Ok(())
}

/// Called by an adapter in paged-load mode between two pages of a load (tests use it to write
/// between pages and prove a load never mixes versions).
pub type PageHook = Arc<dyn Fn() -> Pin<Box<dyn Future<Output = ()> + Send>> + Send + Sync>;

/// The most writes one atomic commit may carry: DynamoDB's `TransactWriteItems` limit, which every
/// adapter keeps so they all refuse the same commits.
pub const MAX_WRITES_PER_COMMIT: usize = 100;

/// The checks every adapter makes before writing. `extra_writes` are the adapter's own writes
/// beside the commit's (DynamoDB's uniqueness guard items).
pub fn check_commit(changes: &Changes, extra_writes: usize) -> Result<(), StoreError> {
    let c = changes.certification();
    if changes.expected_version().checked_add(1) != Some(c.version)
        || changes.event().seq != c.version
    {
        return Err(StoreError::Rejected(format!(
            "the new version (and the event's seq) must be {} + 1, not {}",
            changes.expected_version(),
            c.version
        )));
    }
    // The root, its history event, the items, the postings.
    let writes = 2 + changes.puts().len() + changes.deletes().len() + changes.postings().len();
    if writes + extra_writes > MAX_WRITES_PER_COMMIT {
        return Err(StoreError::Rejected(format!(
            "{writes} writes in one commit; at most {}",
            MAX_WRITES_PER_COMMIT - extra_writes
        )));
    }
    let mut seen = HashSet::with_capacity(writes);
    let keys = changes
        .puts()
        .iter()
        .map(Item::key)
        .chain(changes.deletes().iter().cloned());
    for key in keys {
        if !seen.insert(codec::item_sort_key(&key)) {
            // The kind only: an idempotency key may carry the caller's subject.
            return Err(StoreError::Rejected(format!(
                "{} is written twice in one commit",
                key.kind()
            )));
        }
    }
    let mut postings = HashSet::with_capacity(changes.postings().len());
    for write in changes.postings() {
        if let PostingWrite::Replace { current, next } = write {
            check_posting_swap(current, next)?;
        }
        let p = write.posting();
        if !postings.insert((&p.provider_id, p.completion_id())) {
            return Err(StoreError::Rejected(
                "a posting is written twice in one commit".into(),
            ));
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    #[test]
    fn only_what_may_pass_later_is_transient() {
        let corrupt = codec::decode_body::<u32>("entry", "not json").unwrap_err();
        assert!(!corrupt.is_transient(), "corrupt data fails again");
        let throttled = StoreError::backend(dynamodb::DynamoStoreError::Throttled {
            codes: "ThrottlingError".into(),
            source: "throttled".into(),
        });
        assert!(throttled.is_transient());
        assert!(!StoreError::backend(dynamodb::DynamoStoreError::TableNotActive).is_transient());
        assert!(!StoreError::VersionConflict.is_transient());
    }

    #[cfg(feature = "sqlite")]
    #[test]
    fn a_busy_database_is_transient_a_constraint_is_not() {
        let busy = rusqlite::Error::SqliteFailure(
            rusqlite::ffi::Error::new(rusqlite::ffi::SQLITE_BUSY),
            None,
        );
        assert!(StoreError::backend(busy).is_transient());
        let constraint = rusqlite::Error::SqliteFailure(
            rusqlite::ffi::Error::new(rusqlite::ffi::SQLITE_CONSTRAINT),
            None,
        );
        assert!(!StoreError::backend(constraint).is_transient());
    }
}

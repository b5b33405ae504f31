//! The item codec both adapters share: sort keys, index keys and item bodies. The embedded store
//! mirrors the DynamoDB single table (docs/dynamodb.md), so the same keys order the same items.
//!
//! Sort keys inside a certification's partition (`CERT#<id>`), in byte order:
//!
//! | sort key | item |
//! |---|---|
//! | `CYCLE#<cycle start>#ENTRY#<entry id>` | a CE entry, kept with the cycle it was logged in |
//! | `CYCLE#<cycle start>#DUE#<kind>` | a deadline of that cycle (a date a job acts on once) |
//! | `CYCLE#<cycle start>#ENTRY#<entry id>` | (order) |
//! | `CYCLE#<cycle start>#RENEWAL#<renewal id>` | a renewal submission of that cycle |
//! | `CYCLE#<cycle start>#AUDIT#<renewal id>` | the audit of a selected submission of that cycle |
//! | `CYCLE#<cycle start>#WAIVER#<request id>` | a waiver or extension request for that cycle |
//! | `IDEM#<scoped key>` | an idempotency record (TTL) |
//! | `LOG#<seq, 20 digits>` | a history event |
//! | `META` | the root (the certification) |
//! | `OUTBOX#<message id>` | a message of the transactional outbox (never loaded with the aggregate) |
//!
//! A load reads the root first, then [`working_set_range`] of the root's current cycle: that
//! range holds the current cycle's items and the idempotency records, and never the history
//! (`LOG#` sorts after `IDEM$`) or older cycles (their dates sort before the current one). So a
//! load's cost does not grow with the history or the number of past cycles.
//!
//! Index keys (sparse: an item writes them only while it is queued or due; a put without them
//! removes it from the index in the same commit):
//!
//! | index | partition | sort |
//! |---|---|---|
//! | queue (GSI2) | `QUEUE#<queue>` | `<since, RFC 3339 9 digits>#<certification id>#<item sort key>` |
//! | due date (GSI3) | `DUE#<yyyy-mm-dd>` | `<kind>#<certification id>#<item sort key>` |
//!
//! [`root_index_keys`] and [`item_index_keys`] say which of them an item writes; the root writes
//! its due date (`cycle_closes`, while active) under sort key [`ROOT_SK`].
//!
//! Outside the certification partitions (DynamoDB only; the embedded store keeps these in tables
//! of their own, but the formats live here so that every key format is in one place):
//!
//! | item | `pk` | `sk` |
//! |---|---|---|
//! | certificant | `CERTIFICANT#<id>` | `PROFILE` |
//! | certificant's calendar feed (the SHA-256 of its secret) | `CERTIFICANT#<id>` | `CALENDAR_FEED` |
//! | email guard | `EMAIL#<lower-cased email>` | `GUARD` |
//! | certificate-number guard | `CERTNO#<number>` | `GUARD` |
//! | audit period (seed and commitment) | `AUDIT#<yyyy-mm>` | `PERIOD` |
//! | audit draw record (one per day) | `AUDIT#<yyyy-mm>` | `DRAW#<run day, yyyy-mm-dd>` |
//!
//! | provider (registry record, history inside) | `PROVIDER#<id>` | `META` |
//! | posting (one per completion a provider posted) | `PROVIDER#<id>` | `POSTING#<completion id>` |
//!
//! The embedded store keeps the audit items in `audit_ledger (pk, sk, body)` under these very keys,
//! the calendar feeds in `calendar_feed (certificant_id, body)`, providers in `providers` and
//! postings in `postings` (with the listing and queue sort keys below as columns).
//!
//! Provider and posting index keys (GSI1 and GSI2, beside the certifications' entries):
//!
//! | what | index | partition | sort |
//! |---|---|---|---|
//! | the registry | GSI1 | `PROVIDERS` | `<provider id>` |
//! | a provider's postings | GSI1 | `POSTINGS#<provider id>` | `<posted_at, RFC 3339 9 digits>#<completion id>` |
//! | reconciliation queue | GSI2 | `QUEUE#reconciliation` | `<updated_at, RFC 3339 9 digits>#<provider id>#<completion id>` |
//! and GSI1 on the root: `CERTIFICANT#<certificant id>`, `CERT#<created_at>#<certification id>`.

use crate::{Indexed, IndexedItem, StoreError};
use chrono::{DateTime, NaiveDate, Utc};
use recert_domain::audit::{AuditPeriod, DrawRecord, Period};
use recert_domain::{
    CalendarFeed, CeEntry, Certificant, CertificantId, Certification, CertificationAggregate,
    CertificationId, DueKind, DueSlot, HistoryEvent, Item, ItemKey, Posting, Provider, ProviderId,
    Queue, QueueSlot,
};

/// The sort key of a certification's root item.
pub const ROOT_SK: &str = "META";
/// Items kept with one cycle: `CYCLE#<date>#...`.
pub const CYCLE_PREFIX: &str = "CYCLE#";
pub const ENTRY_INFIX: &str = "ENTRY#";
pub const RENEWAL_INFIX: &str = "RENEWAL#";
pub const DEADLINE_INFIX: &str = "DUE#";
pub const AUDIT_INFIX: &str = "AUDIT#";
pub const WAIVER_INFIX: &str = "WAIVER#";
/// Outbox messages: after the root, outside every load's range.
pub const OUTBOX_PREFIX: &str = "OUTBOX#";
pub const IDEMPOTENCY_PREFIX: &str = "IDEM#";
/// The first sort key after every idempotency record (`$` follows `#`).
pub const IDEMPOTENCY_END: &str = "IDEM$";
pub const HISTORY_PREFIX: &str = "LOG#";
/// The first sort key after every history event.
pub const HISTORY_END: &str = "LOG$";

/// The prefix of a certification's partition key.
pub const CERT_PK_PREFIX: &str = "CERT#";
/// The sort key of a certificant's profile item (DynamoDB).
pub const PROFILE_SK: &str = "PROFILE";
/// The sort key of a uniqueness guard item (DynamoDB).
pub const GUARD_SK: &str = "GUARD";

/// The partition key of a certification's items.
pub fn cert_pk(id: CertificationId) -> String {
    format!("{CERT_PK_PREFIX}{id}")
}

/// The certification named by a partition key `CERT#<id>` (a guard's owner).
pub fn parse_cert_pk(pk: &str) -> Option<CertificationId> {
    pk.strip_prefix(CERT_PK_PREFIX)?
        .parse()
        .ok()
        .map(CertificationId)
}

/// The partition key of a certificant's profile, and GSI1's partition of their certifications.
pub fn certificant_pk(id: CertificantId) -> String {
    format!("CERTIFICANT#{id}")
}

/// The email guard's partition key, lower-cased like the embedded store's unique index, so
/// uniqueness ignores letter case (Unicode too).
pub fn email_pk(email: &recert_domain::Email) -> String {
    format!("EMAIL#{}", email.folded())
}

/// The certificate-number guard's partition key.
pub fn certno_pk(number: &str) -> String {
    format!("CERTNO#{number}")
}

/// The sort key of a certificant's calendar feed item (DynamoDB), beside their profile.
pub const CALENDAR_FEED_SK: &str = "CALENDAR_FEED";

pub fn encode_calendar_feed(feed: &CalendarFeed) -> Result<String, StoreError> {
    encode_body("calendar feed", feed)
}

pub fn decode_calendar_feed(body: &str) -> Result<CalendarFeed, StoreError> {
    decode_body("calendar feed", body)
}

/// The partition of a provider: its record and its postings.
pub fn provider_pk(id: &ProviderId) -> String {
    format!("PROVIDER#{}", id.0)
}

/// The sort key of a provider's record.
pub const PROVIDER_SK: &str = "META";
/// GSI1's partition listing every provider (sorted by id).
pub const PROVIDERS_PK: &str = "PROVIDERS";
/// The prefix of a posting's sort key: `POSTING#<completion id>`.
pub const POSTING_PREFIX: &str = "POSTING#";
/// GSI2's partition of the staff reconciliation queue.
pub const RECONCILIATION_PK: &str = "QUEUE#reconciliation";

pub fn posting_sk(completion_id: &str) -> String {
    format!("{POSTING_PREFIX}{completion_id}")
}

/// GSI1's partition of a provider's postings.
pub fn provider_postings_pk(id: &ProviderId) -> String {
    format!("POSTINGS#{}", id.0)
}

/// A posting's place in its provider's listing: when posted, then its completion id.
pub fn posting_listing_sk(posting: &Posting) -> String {
    format!(
        "{}#{}",
        sortable_instant(posting.posted_at),
        posting.completion_id()
    )
}

/// A posting's place in the reconciliation queue, while it awaits staff: since its last change.
pub fn posting_queue_sk(posting: &Posting) -> Option<String> {
    posting.status.awaits_staff().then(|| {
        format!(
            "{}#{}#{}",
            sortable_instant(posting.updated_at),
            posting.provider_id.0,
            posting.completion_id()
        )
    })
}

pub fn encode_provider(provider: &Provider) -> Result<String, StoreError> {
    sized_body("provider", provider)
}

pub fn decode_provider(body: &str) -> Result<Provider, StoreError> {
    decode_body("provider", body)
}

pub fn encode_posting(posting: &Posting) -> Result<String, StoreError> {
    encode_body("posting", posting)
}

pub fn decode_posting(body: &str) -> Result<Posting, StoreError> {
    decode_body("posting", body)
}

/// The sort key of an audit period's item (its seed and commitment).
pub const AUDIT_PERIOD_SK: &str = "PERIOD";
/// The prefix of the sort keys of a period's draw records: `DRAW#<yyyy-mm-dd>`.
pub const DRAW_PREFIX: &str = "DRAW#";

/// The partition of an audit period: its seed and commitment, and its draw records.
pub fn audit_period_pk(period: Period) -> String {
    format!("AUDIT#{period}")
}

/// The GSI1 partition listing every audit period (`gsi1sk` = the period, `yyyy-mm`).
pub const AUDIT_PERIODS_PK: &str = "AUDIT_PERIODS";
/// The range of a period's draw records after the one whose sort key is `after` (all of them
/// without it): from just above `after` (no sort key equals `after#`) to the prefix's end.
pub fn draws_after(after: Option<&str>) -> (String, String) {
    let (from, to) = prefix_range(DRAW_PREFIX);
    (after.map_or(from, |a| format!("{a}#")), to)
}

/// Whether a period of the ledger's listing: every period but those of the old scheme no code
/// since has rewritten (DynamoDB's listing index holds only what the current code wrote).
pub fn listed_period(period: &AuditPeriod) -> bool {
    period.scheme != recert_domain::audit::period::LEGACY_SCHEME || period.rotated_at.is_some()
}

/// The sort key of the draw record of `run_on` (sorts by day).
pub fn draw_sk(run_on: NaiveDate) -> String {
    format!("{DRAW_PREFIX}{}", run_on.format("%Y-%m-%d"))
}

/// The keys `(pk, sk)` of a draw record.
pub fn draw_keys(record: &DrawRecord) -> (String, String) {
    (audit_period_pk(record.period), draw_sk(record.run_on))
}

/// An audit period's body; `Rejected` if it cannot fit in one item.
pub fn encode_audit_period(period: &AuditPeriod) -> Result<String, StoreError> {
    sized_body("audit period", period)
}

pub fn decode_audit_period(body: &str) -> Result<AuditPeriod, StoreError> {
    decode_body("audit period", body)
}

/// A draw record's body; `Rejected` if it cannot fit in one item (see [`crate::MAX_BODY_BYTES`]).
pub fn encode_draw(record: &DrawRecord) -> Result<String, StoreError> {
    sized_body("draw record", record)
}

pub fn decode_draw(body: &str) -> Result<DrawRecord, StoreError> {
    decode_body("draw record", body)
}

fn sized_body<T: serde::Serialize>(what: &'static str, value: &T) -> Result<String, StoreError> {
    let body = encode_body(what, value)?;
    crate::check_body_size(what, &body)?;
    Ok(body)
}

/// GSI1's keys on a root `(partition, sort)`: the certificant, then `CERT#<created_at>#<id>`,
/// which sorts oldest first, then by id.
pub fn certifications_of_keys(c: &Certification) -> (String, String) {
    (
        certificant_pk(c.certificant_id),
        format!("CERT#{}#{}", sortable_instant(c.created_at), c.id),
    )
}

/// `CYCLE#<yyyy-mm-dd>#`: the prefix of one cycle's items.
pub fn cycle_prefix(cycle: NaiveDate) -> String {
    format!("{CYCLE_PREFIX}{}#", cycle.format("%Y-%m-%d"))
}

/// The sort key of an item (see the module table).
pub fn item_sort_key(key: &ItemKey) -> String {
    match key {
        ItemKey::Entry { cycle, id } => format!("{}{ENTRY_INFIX}{id}", cycle_prefix(*cycle)),
        ItemKey::Submission { cycle, id } => format!("{}{RENEWAL_INFIX}{id}", cycle_prefix(*cycle)),
        ItemKey::Idempotency(k) => format!("{IDEMPOTENCY_PREFIX}{k}"),
        ItemKey::Deadline { cycle, kind } => {
            format!("{}{DEADLINE_INFIX}{}", cycle_prefix(*cycle), kind.as_str())
        }
        ItemKey::Audit { cycle, renewal } => {
            format!("{}{AUDIT_INFIX}{renewal}", cycle_prefix(*cycle))
        }
        ItemKey::WaiverRequest { cycle, id } => {
            format!("{}{WAIVER_INFIX}{id}", cycle_prefix(*cycle))
        }
        ItemKey::Outbox(id) => format!("{OUTBOX_PREFIX}{id}"),
    }
}

/// The sort key of the history event with sequence number `seq`.
pub fn history_sort_key(seq: u64) -> String {
    format!("{HISTORY_PREFIX}{seq:020}")
}

/// The inclusive sort-key range `[from, to]` a load reads after the root: the current cycle's
/// items and the idempotency records.
pub fn working_set_range(cycle_starts_on: NaiveDate) -> (String, String) {
    (cycle_prefix(cycle_starts_on), IDEMPOTENCY_END.to_owned())
}

/// The inclusive sort-key range of the history events with `seq > after` (all when `None`);
/// `None` when there can be none (`after` is the largest seq).
pub fn history_range(after: Option<u64>) -> Option<(String, String)> {
    let first = match after {
        None => 0,
        Some(after) => after.checked_add(1)?,
    };
    Some((history_sort_key(first), HISTORY_END.to_owned()))
}

/// `CYCLE#<yyyy-mm-dd>#ENTRY#`: the prefix of the entries kept with one cycle.
pub fn entries_prefix(cycle: NaiveDate) -> String {
    format!("{}{ENTRY_INFIX}", cycle_prefix(cycle))
}

/// The inclusive range `[prefix, prefix with its last '#' made '$']` holding exactly the keys
/// that start with `prefix` (which ends in `#`), and the key `...$` itself, which no key is.
pub fn prefix_range(prefix: &str) -> (String, String) {
    let stem = prefix.strip_suffix('#').unwrap_or(prefix);
    (prefix.to_owned(), format!("{stem}$"))
}

/// RFC 3339 UTC with nine fraction digits: sorts as text.
pub fn sortable_instant(at: DateTime<Utc>) -> String {
    at.format("%Y-%m-%dT%H:%M:%S%.9fZ").to_string()
}

pub fn queue_pk(queue: Queue) -> String {
    format!("QUEUE#{}", queue.as_str())
}

pub fn due_pk(on: NaiveDate) -> String {
    format!("DUE#{}", on.format("%Y-%m-%d"))
}

/// The queue index keys `(partition, sort)` of an item (or the root, `sk` = [`ROOT_SK`]).
pub fn queue_keys(id: CertificationId, sk: &str, slot: &QueueSlot) -> (String, String) {
    (
        queue_pk(slot.queue),
        format!("{}#{id}#{sk}", sortable_instant(slot.since)),
    )
}

/// The due-date index keys `(partition, sort)` of an item (or the root).
pub fn due_keys(id: CertificationId, sk: &str, slot: &DueSlot) -> (String, String) {
    (due_pk(slot.on), format!("{}#{id}#{sk}", slot.kind.as_str()))
}

/// The prefix of a due-date sort key for one kind.
pub fn due_kind_prefix(kind: DueKind) -> String {
    format!("{}#", kind.as_str())
}

/// The inclusive due-date sort-key range of one kind (see [`prefix_range`]).
pub fn due_kind_range(kind: DueKind) -> (String, String) {
    prefix_range(&due_kind_prefix(kind))
}

/// A sparse index an item can be listed in.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Index {
    /// What waits in a queue ([`queue_keys`]).
    Queue,
    /// What falls due on a day ([`due_keys`]).
    Due,
}

impl Index {
    pub const ALL: [Index; 2] = [Index::Queue, Index::Due];

    /// The index's name: the DynamoDB GSI, and the embedded store's `index_keys.idx`.
    pub fn name(self) -> &'static str {
        match self {
            Index::Queue => "gsi2",
            Index::Due => "gsi3",
        }
    }
}

/// One index entry an item writes: which index, its partition and sort keys.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IndexKey {
    pub index: Index,
    pub pk: String,
    pub sk: String,
}

/// The index entries a root writes (its due date while active).
pub fn root_index_keys(c: &Certification) -> Vec<IndexKey> {
    slot_keys(c.id, ROOT_SK, None, c.due_slot())
}

/// The index entries an item of certification `id` writes (none for most items).
pub fn item_index_keys(id: CertificationId, item: &Item) -> Vec<IndexKey> {
    slot_keys(
        id,
        &item_sort_key(&item.key()),
        item.queue_slot(),
        item.due_slot(),
    )
}

fn slot_keys(
    id: CertificationId,
    sk: &str,
    queue: Option<QueueSlot>,
    due: Option<DueSlot>,
) -> Vec<IndexKey> {
    let queue = queue.map(|slot| {
        let (pk, sk) = queue_keys(id, sk, &slot);
        IndexKey {
            index: Index::Queue,
            pk,
            sk,
        }
    });
    let due = due.map(|slot| {
        let (pk, sk) = due_keys(id, sk, &slot);
        IndexKey {
            index: Index::Due,
            pk,
            sk,
        }
    });
    queue.into_iter().chain(due).collect()
}

/// The certification id and item sort key at the end of an index sort key (both index layouts
/// end in `#<certification id>#<item sort key>`; an id is a hyphenated UUID without `#`).
pub fn parse_index_sk(index_sk: &str) -> Option<(CertificationId, &str)> {
    // `<prefix>#<uuid 36 chars>#<sk>`: find the uuid by trying each `#` boundary.
    index_sk.match_indices('#').find_map(|(i, _)| {
        let rest = &index_sk[i + 1..];
        let id = rest.get(..36)?;
        let sk = rest.get(36..)?.strip_prefix('#')?;
        id.parse().ok().map(|id| (CertificationId(id), sk))
    })
}

/// An item's body as stored: its JSON.
pub fn encode_body<T: serde::Serialize>(
    what: &'static str,
    value: &T,
) -> Result<String, StoreError> {
    serde_json::to_string(value)
        .map_err(|source| StoreError::backend(BodyError::Encode { what, source }))
}

/// An item's body read back; a corrupt one is a backend error that does not quote the data.
pub fn decode_body<T: serde::de::DeserializeOwned>(
    what: &'static str,
    body: &str,
) -> Result<T, StoreError> {
    serde_json::from_str(body).map_err(|e| {
        StoreError::backend(BodyError::Corrupt {
            what,
            category: e.classify(),
            line: e.line(),
            column: e.column(),
        })
    })
}

/// An item's body.
pub fn encode_item(item: &Item) -> Result<String, StoreError> {
    match item {
        Item::Entry(e) => encode_body("entry", e),
        Item::Submission(r) => encode_body("renewal", r),
        Item::Idempotency(i) => encode_body("idempotency record", i),
        Item::Deadline(d) => encode_body("deadline", d),
        Item::Audit(a) => encode_body("audit", a),
        Item::WaiverRequest(r) => encode_body("waiver request", r),
        Item::Outbox(m) => encode_body("outbox message", m),
    }
}

/// The item stored under `sk` with `body`; `None` for a kind this build does not know (an item
/// of a newer build: it is not rewritten, so skipping loses nothing).
pub fn decode_item(sk: &str, body: &str) -> Result<Option<Item>, StoreError> {
    if let Some(rest) = sk.strip_prefix(CYCLE_PREFIX) {
        let kind = rest.get(11..).unwrap_or_default();
        if kind.starts_with(ENTRY_INFIX) {
            return Ok(Some(Item::Entry(decode_body("entry", body)?)));
        }
        if kind.starts_with(RENEWAL_INFIX) {
            return Ok(Some(Item::Submission(decode_body("renewal", body)?)));
        }
        if kind.starts_with(DEADLINE_INFIX) {
            return Ok(Some(Item::Deadline(decode_body("deadline", body)?)));
        }
        if kind.starts_with(AUDIT_INFIX) {
            return Ok(Some(Item::Audit(decode_body("audit", body)?)));
        }
        if kind.starts_with(WAIVER_INFIX) {
            return Ok(Some(Item::WaiverRequest(decode_body(
                "waiver request",
                body,
            )?)));
        }
    } else if sk.starts_with(IDEMPOTENCY_PREFIX) {
        return Ok(Some(Item::Idempotency(decode_body(
            "idempotency record",
            body,
        )?)));
    } else if sk.starts_with(OUTBOX_PREFIX) {
        return Ok(Some(Item::Outbox(decode_body("outbox message", body)?)));
    }
    let kind = sk.split('#').next().unwrap_or_default();
    tracing::warn!(kind, "skipping an aggregate item of an unknown kind");
    Ok(None)
}

/// An index entry read back: the item (or root) stored under the item sort key at the end of
/// `index_sk`, with `body`; `root_version` is the root's stored version (its column or attribute;
/// the body's copy is not trusted). `None` for an item of a kind this build does not know.
pub fn decode_indexed(
    index_sk: &str,
    body: &str,
    root_version: Option<u64>,
) -> Result<Option<Indexed>, StoreError> {
    let (certification_id, sk) =
        parse_index_sk(index_sk).ok_or_else(|| StoreError::backend(CodecError::BadIndexKey))?;
    let item = if sk == ROOT_SK {
        let version =
            root_version.ok_or_else(|| StoreError::backend(CodecError::MissingVersion))?;
        IndexedItem::Certification(decode_root(body, version)?)
    } else {
        match decode_item(sk, body)? {
            Some(item) => IndexedItem::Item(item),
            None => return Ok(None),
        }
    };
    Ok(Some(Indexed {
        certification_id,
        item,
    }))
}

/// A root's body. Its `version` is stored beside it too (the copy the commit guards).
pub fn encode_root(c: &Certification) -> Result<String, StoreError> {
    encode_body("certification", c)
}

/// A root read back, its version taken from the stored `version` (not the body's copy).
pub fn decode_root(body: &str, version: u64) -> Result<Certification, StoreError> {
    let mut c: Certification = decode_body("certification", body)?;
    c.version = version;
    Ok(c)
}

pub fn encode_certificant(c: &Certificant) -> Result<String, StoreError> {
    encode_body("certificant", c)
}

pub fn decode_certificant(body: &str) -> Result<Certificant, StoreError> {
    decode_body("certificant", body)
}

/// Entries in the port's order: by completion date, then id.
pub fn sort_entries(entries: &mut [CeEntry]) {
    entries.sort_by_key(|e| (e.activity.completed_on, e.id));
}

/// The aggregate of a root and the items of its working set, in the port's order (entries by
/// completion date then id, renewals by submission then id, idempotency records as read).
pub fn aggregate(
    certification: Certification,
    items: impl IntoIterator<Item = Item>,
) -> CertificationAggregate {
    let mut aggregate = CertificationAggregate::new(certification);
    for item in items {
        match item {
            Item::Entry(e) => aggregate.entries.push(e),
            Item::Submission(r) => aggregate.renewals.push(r),
            Item::Idempotency(i) => aggregate.idempotency.push(i),
            Item::Deadline(d) => aggregate.deadlines.push(d),
            Item::Audit(a) => aggregate.audits.push(a),
            Item::WaiverRequest(r) => aggregate.waiver_requests.push(r),
            // Never in a load's range; delivery reads messages on their own.
            Item::Outbox(_) => {}
        }
    }
    sort_entries(&mut aggregate.entries);
    aggregate.renewals.sort_by_key(|r| (r.submitted_at, r.id));
    aggregate
        .waiver_requests
        .sort_by_key(|r| (r.requested_at, r.id));
    aggregate
}

pub fn encode_history(event: &HistoryEvent) -> Result<String, StoreError> {
    encode_body("history event", event)
}

pub fn decode_history(body: &str) -> Result<HistoryEvent, StoreError> {
    decode_body("history event", body)
}

/// The TTL (epoch seconds) an item carries: idempotency records expire.
pub fn item_ttl(item: &Item) -> Option<i64> {
    match item {
        Item::Idempotency(i) => Some(i.expires_at.timestamp()),
        _ => None,
    }
}

/// Why an item's JSON body could not be written or read (the same in every adapter).
#[derive(Debug, thiserror::Error)]
pub enum BodyError {
    #[error("cannot encode a {what} as JSON")]
    Encode {
        what: &'static str,
        #[source]
        source: serde_json::Error,
    },
    /// serde's message may quote the stored value (personal data), so only its position is kept.
    #[error("a stored {what} is not valid ({category:?} error at line {line}, column {column})")]
    Corrupt {
        what: &'static str,
        category: serde_json::error::Category,
        line: usize,
        column: usize,
    },
}

/// A stored key that does not have the codec's shape (both adapters surface it as a backend
/// error; it quotes no key, since an item sort key may carry a caller's subject).
#[derive(Debug, thiserror::Error)]
pub enum CodecError {
    #[error("an index sort key does not end in `#<certification id>#<item sort key>`")]
    BadIndexKey,
    #[error("a stored certification has no version")]
    MissingVersion,
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;
    use recert_domain::EntryId;
    use uuid::Uuid;

    fn d(y: i32, m: u32, day: u32) -> NaiveDate {
        NaiveDate::from_ymd_opt(y, m, day).unwrap()
    }

    #[test]
    fn the_working_set_holds_the_current_cycle_and_idempotency_only() {
        let (from, to) = working_set_range(d(2025, 4, 1));
        let inside = |sk: &str| from.as_str() <= sk && sk <= to.as_str();
        let entry = |cycle| {
            item_sort_key(&ItemKey::Entry {
                cycle,
                id: EntryId(Uuid::from_u128(5)),
            })
        };
        assert!(inside(&entry(d(2025, 4, 1))));
        assert!(inside(&item_sort_key(&ItemKey::Submission {
            cycle: d(2025, 4, 1),
            id: Uuid::max()
        })));
        assert!(inside(&item_sort_key(&ItemKey::Idempotency(
            "sub:\u{7f}~~".into()
        ))));
        assert!(!inside(&entry(d(2022, 4, 1))));
        assert!(!inside(&history_sort_key(1)));
        assert!(!inside(&history_sort_key(u64::MAX)));
        assert!(!inside(ROOT_SK));
    }

    #[test]
    fn history_keys_sort_by_seq() {
        assert!(history_sort_key(9) < history_sort_key(10));
        assert!(history_sort_key(u64::MAX).as_str() < HISTORY_END);
    }

    #[test]
    fn index_sort_keys_name_their_item() {
        let id = CertificationId(Uuid::from_u128(42));
        let slot = DueSlot {
            kind: DueKind::CycleCloses,
            on: d(2027, 3, 31),
        };
        let (pk, sk) = due_keys(id, ROOT_SK, &slot);
        assert_eq!(pk, "DUE#2027-03-31");
        assert_eq!(parse_index_sk(&sk), Some((id, ROOT_SK)));
        let entry_sk = item_sort_key(&ItemKey::Submission {
            cycle: d(2025, 4, 1),
            id: Uuid::from_u128(1),
        });
        let q = QueueSlot {
            queue: Queue::RenewalReview,
            since: d(2026, 1, 2).and_hms_opt(3, 4, 5).unwrap().and_utc(),
        };
        let (qpk, qsk) = queue_keys(id, &entry_sk, &q);
        assert_eq!(qpk, "QUEUE#renewal_review");
        assert!(qsk.starts_with("2026-01-02T03:04:05.000000000Z#"));
        assert_eq!(parse_index_sk(&qsk), Some((id, entry_sk.as_str())));
    }

    #[test]
    fn certifications_of_sort_keys_order_by_creation_then_id() {
        let at = d(2026, 1, 15)
            .and_hms_nano_opt(12, 0, 0, 123_456_789)
            .unwrap()
            .and_utc();
        let root = |created_at, id| Certification {
            id: CertificationId(Uuid::from_u128(id)),
            certificant_id: CertificantId(Uuid::from_u128(7)),
            credential: recert_domain::Credential::Cphims,
            certificate_number: "CN-1".into(),
            cycle_starts_on: d(2025, 1, 1),
            expires_on: d(2027, 12, 31),
            extended_to: None,
            status: recert_domain::CertificationStatus::Active,
            created_at,
            updated_at: created_at,
            version: 1,
            renewed_by: None,
        };
        let (pk, early) = certifications_of_keys(&root(at, 9));
        let (_, late) = certifications_of_keys(&root(at + chrono::Duration::nanoseconds(1), 1));
        let (_, tie) = certifications_of_keys(&root(at, 10));
        assert_eq!(pk, "CERTIFICANT#00000000-0000-0000-0000-000000000007");
        assert!(early < tie && tie < late);
        assert!(late.starts_with("CERT#2026-01-15T12:00:00.123456790Z#"));
    }

    #[test]
    fn audit_keys_sort_draws_by_day_inside_their_period() {
        let period: Period = "2026-12".parse().unwrap();
        assert_eq!(audit_period_pk(period), "AUDIT#2026-12");
        assert_eq!(draw_sk(d(2026, 12, 5)), "DRAW#2026-12-05");
        assert!(draw_sk(d(2026, 12, 9)) < draw_sk(d(2026, 12, 10)));
        let (from, to) = prefix_range(DRAW_PREFIX);
        let inside = |sk: &str| from.as_str() <= sk && sk <= to.as_str();
        assert!(inside(&draw_sk(d(2026, 12, 31))));
        assert!(!inside(AUDIT_PERIOD_SK));
    }

    #[test]
    fn emails_guard_case_insensitively() {
        let email = |s: &str| recert_domain::Email::parse(s).unwrap();
        assert_eq!(
            email_pk(&email("Ada@Example.ORG")),
            email_pk(&email("ada@example.org"))
        );
        assert_eq!(email_pk(&email("ADA@X.test")), "EMAIL#ada@x.test");
    }

    #[test]
    fn a_guard_owner_names_its_certification() {
        let id = CertificationId(Uuid::from_u128(42));
        assert_eq!(parse_cert_pk(&cert_pk(id)), Some(id));
        assert_eq!(parse_cert_pk("CERTIFICANT#x"), None);
        assert_eq!(parse_cert_pk("CERT#not-a-uuid"), None);
    }

    #[test]
    fn history_ranges_start_after_the_cursor() {
        assert_eq!(
            history_range(None),
            Some((history_sort_key(0), HISTORY_END.to_owned()))
        );
        assert_eq!(
            history_range(Some(6)).map(|r| r.0),
            Some(history_sort_key(7))
        );
        assert_eq!(history_range(Some(u64::MAX)), None);
    }

    #[test]
    fn a_prefix_range_holds_exactly_the_keys_with_the_prefix() {
        let (from, to) = prefix_range(&entries_prefix(d(2025, 4, 1)));
        let inside = |sk: &str| from.as_str() <= sk && sk <= to.as_str();
        let entry = item_sort_key(&ItemKey::Entry {
            cycle: d(2025, 4, 1),
            id: EntryId(Uuid::max()),
        });
        assert!(inside(&entry));
        assert!(!inside(&item_sort_key(&ItemKey::Submission {
            cycle: d(2025, 4, 1),
            id: Uuid::nil()
        })));
        assert!(!inside(&item_sort_key(&ItemKey::Entry {
            cycle: d(2025, 4, 2),
            id: EntryId(Uuid::nil())
        })));
        let (lo, hi) = due_kind_range(DueKind::CycleCloses);
        let (_, sk) = due_keys(
            CertificationId(Uuid::max()),
            ROOT_SK,
            &DueSlot {
                kind: DueKind::CycleCloses,
                on: d(2027, 3, 31),
            },
        );
        assert!(lo <= sk && sk <= hi);
    }

    #[test]
    fn only_a_due_root_and_a_queued_item_write_index_keys() {
        let id = CertificationId(Uuid::from_u128(42));
        let renewal = |status| {
            Item::Submission(recert_domain::Submission {
                id: Uuid::from_u128(1),
                cycle_starts_on: d(2025, 4, 1),
                cycle_expires_on: d(2028, 3, 31),
                status,
                submitted_at: d(2026, 1, 2).and_hms_opt(3, 4, 5).unwrap().and_utc(),
                ..recert_domain::Submission::default()
            })
        };
        let paid = item_index_keys(id, &renewal(recert_domain::SubmissionStatus::InReview));
        assert_eq!(paid.len(), 1);
        assert_eq!(paid[0].index, Index::Queue);
        assert_eq!(paid[0].pk, "QUEUE#audit_draw", "paid: waits for the draw");
        let Item::Submission(mut drawn) = renewal(recert_domain::SubmissionStatus::InReview) else {
            unreachable!()
        };
        drawn.draw = Some(Box::new(recert_domain::audit::DrawJudgement {
            period: "2026-01".parse().unwrap(),
            run_on: d(2026, 1, 2),
            seq: 1,
            candidate: "candidate".into(),
            ticket: recert_domain::audit::Ticket::first("seed", "renewal"),
            selected: false,
        }));
        let queued = item_index_keys(id, &Item::Submission(drawn));
        assert_eq!(queued[0].pk, "QUEUE#renewal_review");
        assert!(
            item_index_keys(id, &renewal(recert_domain::SubmissionStatus::Approved)).is_empty()
        );
    }
}

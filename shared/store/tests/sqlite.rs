//! The embedded adapter against the conformance suite (in memory and on a file), plus what only a
//! file store has: migrations on reopen (and from a version-1 database), WAL, several
//! connections, rollback of a failed commit, and the paged load racing a writer.
#![cfg(feature = "sqlite")]
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use async_trait::async_trait;
use chrono::{Duration, NaiveDate};
use recert_domain::audit::{AuditPeriod, DrawRecord, Period};
use recert_domain::{
    CalendarFeed, CeEntry, Certificant, CertificantId, Certification, CertificationAggregate,
    CertificationId, Changes, DueKind, HistoryEvent, Item, OutboxMessage, Queue, SubmissionStatus,
};
use recert_domain::{Posting, Provider, ProviderId};
use recert_store::conformance::{
    a_load_never_pairs_old_items_with_a_new_version, actor, add_entry, add_entry_changes,
    audit_period, bump, create, create_fresh, date, draw_record, entry_id, expected_after, history,
    history_seqs, idempotency_record, instant, load, new_certificant, new_certification, run_all,
    unique_period,
};
use recert_store::sqlite::{MIGRATIONS, SqliteStore};
use recert_store::{
    AggregateStore, AuditLedger, CalendarFeeds, CertificantStore, CertificateLookup, DueIndex,
    IndexCursor, IndexPage, IndexedItem, Listing, OutboxStore, PostingLedger, ProviderRegistry,
    QueueIndex, StoreError,
};
use std::path::{Path, PathBuf};
use std::sync::Arc;

/// A directory under the system temp dir, removed (with everything in it) on drop.
#[derive(Debug)]
struct TempDir(PathBuf);

impl TempDir {
    fn new() -> Self {
        let dir = std::env::temp_dir().join(format!("recert-store-test-{}", uuid::Uuid::now_v7()));
        std::fs::create_dir_all(&dir).expect("create the temp dir");
        TempDir(dir)
    }

    fn db(&self) -> PathBuf {
        self.0.join("recert.db")
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

/// A file store in its own temp dir; the dir goes when the store does (fields drop in order).
#[derive(Debug)]
struct TempFileStore {
    store: SqliteStore,
    _dir: TempDir,
}

impl TempFileStore {
    fn new() -> Self {
        let dir = TempDir::new();
        let store = SqliteStore::open(&dir.db()).expect("open the file store");
        TempFileStore { store, _dir: dir }
    }
}

#[async_trait]
impl AggregateStore for TempFileStore {
    async fn certification(
        &self,
        id: CertificationId,
    ) -> Result<Option<Certification>, StoreError> {
        self.store.certification(id).await
    }
    async fn load(
        &self,
        id: CertificationId,
    ) -> Result<Option<CertificationAggregate>, StoreError> {
        self.store.load(id).await
    }
    async fn commit(&self, changes: &Changes) -> Result<(), StoreError> {
        self.store.commit(changes).await
    }
    async fn history(
        &self,
        id: CertificationId,
        after: Option<u64>,
        limit: usize,
    ) -> Result<Vec<HistoryEvent>, StoreError> {
        self.store.history(id, after, limit).await
    }
    async fn entries_of_cycle(
        &self,
        id: CertificationId,
        cycle_starts_on: NaiveDate,
    ) -> Result<Vec<CeEntry>, StoreError> {
        self.store.entries_of_cycle(id, cycle_starts_on).await
    }
}

#[async_trait]
impl CertificantStore for TempFileStore {
    async fn create_certificant(&self, certificant: &Certificant) -> Result<(), StoreError> {
        self.store.create_certificant(certificant).await
    }
    async fn certificant(&self, id: CertificantId) -> Result<Option<Certificant>, StoreError> {
        self.store.certificant(id).await
    }
    async fn certifications_of(
        &self,
        certificant: CertificantId,
    ) -> Result<Vec<Certification>, StoreError> {
        self.store.certifications_of(certificant).await
    }
}

#[async_trait]
impl CertificateLookup for TempFileStore {
    async fn certification_by_number(
        &self,
        certificate_number: &str,
    ) -> Result<Option<CertificationId>, StoreError> {
        self.store.certification_by_number(certificate_number).await
    }
}

#[async_trait]
impl QueueIndex for TempFileStore {
    async fn queued(
        &self,
        queue: Queue,
        after: Option<&IndexCursor>,
        limit: usize,
    ) -> Result<IndexPage, StoreError> {
        self.store.queued(queue, after, limit).await
    }
}

#[async_trait]
impl DueIndex for TempFileStore {
    async fn due(
        &self,
        on: NaiveDate,
        kind: DueKind,
        after: Option<&IndexCursor>,
        limit: usize,
    ) -> Result<IndexPage, StoreError> {
        self.store.due(on, kind, after, limit).await
    }
}

#[async_trait]
impl OutboxStore for TempFileStore {
    async fn outbox_message(
        &self,
        certification: CertificationId,
        id: uuid::Uuid,
    ) -> Result<Option<OutboxMessage>, StoreError> {
        self.store.outbox_message(certification, id).await
    }
    async fn swap_outbox_message(
        &self,
        current: &OutboxMessage,
        next: &OutboxMessage,
    ) -> Result<bool, StoreError> {
        self.store.swap_outbox_message(current, next).await
    }
}

#[async_trait]
impl AuditLedger for TempFileStore {
    async fn audit_period(&self, period: Period) -> Result<Option<AuditPeriod>, StoreError> {
        self.store.audit_period(period).await
    }
    async fn create_audit_period(&self, period: &AuditPeriod) -> Result<AuditPeriod, StoreError> {
        self.store.create_audit_period(period).await
    }
    async fn audit_periods(&self) -> Result<Vec<AuditPeriod>, StoreError> {
        self.store.audit_periods().await
    }
    async fn swap_audit_period(
        &self,
        current: &AuditPeriod,
        next: &AuditPeriod,
    ) -> Result<bool, StoreError> {
        self.store.swap_audit_period(current, next).await
    }
    async fn append_draw(
        &self,
        current: &AuditPeriod,
        next: &AuditPeriod,
        record: &DrawRecord,
    ) -> Result<bool, StoreError> {
        self.store.append_draw(current, next, record).await
    }
    async fn draws(&self, period: Period) -> Result<Vec<DrawRecord>, StoreError> {
        self.store.draws(period).await
    }
    async fn draws_page(
        &self,
        period: Period,
        after: Option<&IndexCursor>,
        limit: usize,
    ) -> Result<Listing<DrawRecord>, StoreError> {
        self.store.draws_page(period, after, limit).await
    }
}

#[async_trait]
impl CalendarFeeds for TempFileStore {
    async fn put_calendar_feed(&self, feed: &CalendarFeed) -> Result<(), StoreError> {
        self.store.put_calendar_feed(feed).await
    }
    async fn calendar_feed(
        &self,
        certificant: CertificantId,
    ) -> Result<Option<CalendarFeed>, StoreError> {
        self.store.calendar_feed(certificant).await
    }
    async fn delete_calendar_feed(&self, certificant: CertificantId) -> Result<(), StoreError> {
        self.store.delete_calendar_feed(certificant).await
    }
}

#[async_trait]
impl ProviderRegistry for TempFileStore {
    async fn create_provider(&self, provider: &Provider) -> Result<(), StoreError> {
        self.store.create_provider(provider).await
    }
    async fn provider(&self, id: &ProviderId) -> Result<Option<Provider>, StoreError> {
        self.store.provider(id).await
    }
    async fn replace_provider(&self, next: &Provider) -> Result<(), StoreError> {
        self.store.replace_provider(next).await
    }
    async fn providers(
        &self,
        after: Option<&IndexCursor>,
        limit: usize,
    ) -> Result<Listing<Provider>, StoreError> {
        self.store.providers(after, limit).await
    }
}

#[async_trait]
impl PostingLedger for TempFileStore {
    async fn postings(
        &self,
        provider: &ProviderId,
        completion_ids: &[String],
    ) -> Result<Vec<Posting>, StoreError> {
        self.store.postings(provider, completion_ids).await
    }
    async fn posting(
        &self,
        provider: &ProviderId,
        completion_id: &str,
    ) -> Result<Option<Posting>, StoreError> {
        self.store.posting(provider, completion_id).await
    }
    async fn create_posting(&self, posting: &Posting) -> Result<bool, StoreError> {
        self.store.create_posting(posting).await
    }
    async fn swap_posting(&self, current: &Posting, next: &Posting) -> Result<bool, StoreError> {
        self.store.swap_posting(current, next).await
    }
    async fn provider_postings(
        &self,
        provider: &ProviderId,
        after: Option<&IndexCursor>,
        limit: usize,
    ) -> Result<Listing<Posting>, StoreError> {
        self.store.provider_postings(provider, after, limit).await
    }
    async fn reconciliation_queue(
        &self,
        after: Option<&IndexCursor>,
        limit: usize,
    ) -> Result<Listing<Posting>, StoreError> {
        self.store.reconciliation_queue(after, limit).await
    }
}

mod in_memory {
    use super::*;
    recert_store::conformance_tests!(async {
        SqliteStore::in_memory().expect("open an in-memory store")
    });
}

mod file {
    use super::*;
    recert_store::conformance_tests!(async { TempFileStore::new() });
}

/// The multi-page race on one in-memory database: the paged handle is a clone of the plain one
/// (one connection, each page its own statement).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn in_memory_a_load_never_pairs_old_items_with_a_new_version() {
    let plain = Arc::new(SqliteStore::in_memory().expect("open"));
    let clone = SqliteStore::clone(&plain);
    a_load_never_pairs_old_items_with_a_new_version(plain, move |hook| clone.with_paging(1, hook))
        .await;
}

/// The same on a file, the paged handle on a connection of its own (as another process).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn file_a_load_never_pairs_old_items_with_a_new_version() {
    let dir = TempDir::new();
    let plain = Arc::new(SqliteStore::open(&dir.db()).expect("open"));
    let db = dir.db();
    a_load_never_pairs_old_items_with_a_new_version(plain, move |hook| {
        SqliteStore::open(&db)
            .expect("open a second connection")
            .with_paging(1, hook)
    })
    .await;
}

/// The conformance case; a paged store says so when printed.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_paged_load_without_a_writer_is_the_plain_load() {
    let store = SqliteStore::in_memory().expect("open");
    let paged_from = store.clone();
    let (paged, _) = recert_store::conformance::a_paged_load_without_a_writer_is_the_plain_load(
        &store,
        |hook| paged_from.with_paging(2, hook),
    )
    .await;
    assert!(format!("{paged:?}").contains("page_size: Some(2)"));
}

/// The cases do not depend on each other: all of them on one shared store, twice at the same time
/// (the index cases then see each other's entries, and must look at their own only).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_whole_suite_on_one_shared_store() {
    let store = TempFileStore::new();
    tokio::join!(run_all(&store), run_all(&store));
}

fn raw(path: &Path) -> rusqlite::Connection {
    rusqlite::Connection::open(path).expect("open the database directly")
}

fn user_version(path: &Path) -> i64 {
    raw(path)
        .pragma_query_value(None, "user_version", |r| r.get(0))
        .expect("read user_version")
}

#[tokio::test]
async fn reopening_a_file_store_keeps_data_and_does_not_migrate_again() {
    let dir = TempDir::new();
    let certificant = new_certificant();
    let expected = {
        let store = SqliteStore::open(&dir.db()).expect("open");
        store
            .create_certificant(&certificant)
            .await
            .expect("create the certificant");
        let v1 = create(&store, new_certification(certificant.id), instant(0)).await;
        add_entry(&store, &v1, entry_id(1), date(2026, 1, 2), instant(1)).await
    };
    assert_eq!(user_version(&dir.db()), MIGRATIONS.len() as i64);

    for _ in 0..3 {
        let store = SqliteStore::open(&dir.db()).expect("reopen");
        assert_eq!(load(&store, expected.certification.id).await, expected);
        assert_eq!(
            store.certificant(certificant.id).await.expect("read"),
            Some(certificant.clone())
        );
        assert_eq!(
            store.certifications_of(certificant.id).await.expect("list"),
            std::slice::from_ref(&expected.certification)
        );
        assert_eq!(user_version(&dir.db()), MIGRATIONS.len() as i64);
    }
}

/// Schema step 3 adds the audit ledger to a version-2 database, under the codec's keys.
#[tokio::test]
async fn a_version_2_database_gains_the_audit_ledger() {
    let dir = TempDir::new();
    {
        let conn = raw(&dir.db());
        conn.execute_batch(MIGRATIONS[0]).expect("schema step 1");
        conn.execute_batch(MIGRATIONS[1]).expect("schema step 2");
        conn.pragma_update(None, "user_version", 2)
            .expect("user_version 2");
    }
    let store = SqliteStore::open(&dir.db()).expect("open and migrate");
    assert_eq!(user_version(&dir.db()), MIGRATIONS.len() as i64);
    let period = audit_period(unique_period(), 1);
    let record = draw_record(&period, 1, 2, 3);
    store.create_audit_period(&period).await.expect("create");
    assert!(
        store
            .append_draw(&period, &period.appended(&record), &record)
            .await
            .expect("append")
    );
    assert_eq!(store.draws(period.period).await.expect("draws"), [record]);
    let mut keys: Vec<(String, String)> = raw(&dir.db())
        .prepare("SELECT pk, sk FROM audit_ledger")
        .expect("prepare")
        .query_map([], |r| Ok((r.get(0)?, r.get(1)?)))
        .expect("query")
        .collect::<Result<_, _>>()
        .expect("rows");
    keys.sort();
    let pk = format!("AUDIT#{}", period.period);
    let day = period.period.first_day() + Duration::days(1);
    assert_eq!(
        keys,
        [
            (pk.clone(), format!("DRAW#{day}")),
            (pk, "PERIOD".to_owned())
        ]
    );
}

/// A database of schema version 4 gains the calendar feeds (step 5) and keeps what it held.
#[tokio::test]
async fn a_version_4_database_gains_the_calendar_feeds() {
    let dir = TempDir::new();
    let person = new_certificant();
    {
        let conn = raw(&dir.db());
        for step in &MIGRATIONS[..4] {
            conn.execute_batch(step).expect("schema steps 1 to 4");
        }
        conn.pragma_update(None, "user_version", 4)
            .expect("user_version 4");
    }
    {
        let before = SqliteStore::open(&dir.db()).expect("open and migrate");
        before.create_certificant(&person).await.expect("create");
    }
    let store = SqliteStore::open(&dir.db()).expect("reopen");
    assert_eq!(user_version(&dir.db()), MIGRATIONS.len() as i64);
    assert_eq!(
        store.certificant(person.id).await.expect("read"),
        Some(person.clone())
    );
    let feed = CalendarFeed::new(
        &recert_store::conformance::feed_token(person.id, 'x'),
        instant(1),
    );
    store.put_calendar_feed(&feed).await.expect("put");
    assert_eq!(
        store.calendar_feed(person.id).await.expect("read"),
        Some(feed)
    );
}

#[tokio::test]
async fn a_database_from_a_newer_build_is_refused() {
    let dir = TempDir::new();
    drop(SqliteStore::open(&dir.db()).expect("open"));
    raw(&dir.db())
        .pragma_update(None, "user_version", 99)
        .expect("bump user_version");
    let opened = SqliteStore::open(&dir.db());
    assert!(matches!(opened, Err(StoreError::Backend(_))), "{opened:?}");
}

#[tokio::test]
async fn open_creates_missing_directories_and_uses_wal() {
    let dir = TempDir::new();
    let path = dir.0.join("a").join("b").join("recert.db");
    let store = SqliteStore::open(&path).expect("open");
    assert!(path.is_file());
    let mode: String = raw(&path)
        .pragma_query_value(None, "journal_mode", |r| r.get(0))
        .expect("journal_mode");
    assert_eq!(mode, "wal");
    let certificant = new_certificant();
    store
        .create_certificant(&certificant)
        .await
        .expect("create");
    assert!(format!("{store:?}").contains("recert.db"));
}

#[tokio::test]
async fn in_memory_stores_are_isolated() {
    let a = SqliteStore::in_memory().expect("open");
    let b = SqliteStore::in_memory().expect("open");
    let created = create_fresh(&a).await;
    assert_eq!(b.load(created.certification.id).await.expect("load"), None);
}

/// A failure after the root was already updated (here a trigger refusing the entry) rolls the
/// whole commit back, and the backend error keeps SQLite's error as its source.
#[tokio::test]
async fn a_failure_mid_commit_rolls_everything_back() {
    let dir = TempDir::new();
    let store = SqliteStore::open(&dir.db()).expect("open");
    let v1 = create_fresh(&store).await;
    raw(&dir.db())
        .execute_batch(
            "CREATE TRIGGER refuse_entries BEFORE INSERT ON items WHEN NEW.sk LIKE 'CYCLE#%#ENTRY#%'
             BEGIN SELECT RAISE(ABORT, 'entries refused by the test'); END;",
        )
        .expect("create the trigger");

    let (_, changes) = add_entry_changes(&v1, entry_id(1), date(2026, 1, 2), instant(1));
    let failed = store.commit(&changes).await;
    let Err(StoreError::Backend(source)) = &failed else {
        panic!("expected Backend, got {failed:?}")
    };
    assert!(
        source.to_string().contains("entries refused by the test"),
        "{source}"
    );
    assert_eq!(load(&store, v1.certification.id).await, v1);

    raw(&dir.db())
        .execute_batch("DROP TRIGGER refuse_entries;")
        .expect("drop the trigger");
    store
        .commit(&changes)
        .await
        .expect("the same commit now succeeds");
    assert_eq!(
        load(&store, v1.certification.id).await,
        expected_after(Some(v1), &changes)
    );
}

/// Two stores (two connections, as two processes would have) on one file: concurrent commits of
/// the same version give one Ok and one VersionConflict, never a busy or locking error.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn two_connections_on_one_file_serialize_their_writers() {
    let dir = TempDir::new();
    let first = SqliteStore::open(&dir.db()).expect("open");
    let second = SqliteStore::open(&dir.db()).expect("open again");
    let mut expected = create_fresh(&first).await;
    for round in 0..20u32 {
        let loaded = load(&second, expected.certification.id).await;
        assert_eq!(loaded, expected);
        let now = instant(1) + Duration::minutes(i64::from(round));
        let (_, a) = add_entry_changes(
            &loaded,
            entry_id(2 * u128::from(round) + 1),
            date(2026, 1, 2),
            now,
        );
        let (_, b) = add_entry_changes(
            &loaded,
            entry_id(2 * u128::from(round) + 2),
            date(2026, 1, 2),
            now,
        );
        let (ra, rb) = tokio::join!(first.commit(&a), second.commit(&b));
        let winner = match (ra, rb) {
            (Ok(()), Err(StoreError::VersionConflict)) => a,
            (Err(StoreError::VersionConflict), Ok(())) => b,
            other => panic!("round {round}: {other:?}"),
        };
        expected = expected_after(Some(loaded), &winner);
    }
    assert_eq!(load(&first, expected.certification.id).await, expected);
}

/// The same across two connections for creations, which read before they write: both must take
/// the write lock up front, or the loser fails with a busy snapshot instead of a conflict.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn two_connections_on_one_file_serialize_their_creations() {
    let dir = TempDir::new();
    let first = SqliteStore::open(&dir.db()).expect("open");
    let second = SqliteStore::open(&dir.db()).expect("open again");
    for round in 0..20 {
        let certification = new_certification(new_certificant().id);
        let a = Changes::issue(certification.clone(), &actor(), instant(1));
        let b = Changes::issue(certification.clone(), &actor(), instant(2));
        let (ra, rb) = tokio::join!(first.commit(&a), second.commit(&b));
        let winner = match (ra, rb) {
            (Ok(()), Err(StoreError::VersionConflict)) => a,
            (Err(StoreError::VersionConflict), Ok(())) => b,
            other => panic!("round {round}: {other:?}"),
        };
        assert_eq!(
            load(&first, certification.id).await,
            expected_after(None, &winner)
        );
    }
}

/// Idempotency records are never filtered by the wall clock (the domain's clock may be fixed in
/// the past); a commit drops those that expired before the commit's own time, and only those.
#[tokio::test]
async fn expired_idempotency_records_go_with_the_next_commit() {
    let store = SqliteStore::in_memory().expect("open");
    let v1 = create_fresh(&store).await;
    let short_lived = {
        let mut r = idempotency_record(instant(1), "{}");
        r.expires_at = instant(1) + Duration::hours(24);
        r
    };
    let long_lived = idempotency_record(instant(1), "{}");
    let changes = bump(&v1, instant(1))
        .put(Item::Idempotency(short_lived.clone()))
        .put(Item::Idempotency(long_lived.clone()))
        .build();
    store.commit(&changes).await.expect("commit");
    // Fixed in January 2026: long past by the wall clock of whoever runs this, yet still loaded.
    assert_eq!(load(&store, v1.certification.id).await.idempotency.len(), 2);

    // A commit still inside the record's lifetime keeps it...
    let v2 = load(&store, v1.certification.id).await;
    let still_live = bump(&v2, instant(1) + Duration::hours(23)).build();
    store.commit(&still_live).await.expect("commit");
    assert_eq!(load(&store, v1.certification.id).await.idempotency.len(), 2);

    // ...one after it drops it, and only it.
    let v3 = load(&store, v1.certification.id).await;
    store
        .commit(&bump(&v3, instant(2) + Duration::seconds(1)).build())
        .await
        .expect("commit");
    assert_eq!(
        load(&store, v1.certification.id).await.idempotency,
        [long_lived]
    );
}

#[tokio::test]
async fn a_clone_shares_the_database() {
    let store = SqliteStore::in_memory().expect("open");
    let clone = store.clone();
    let created = create_fresh(&store).await;
    assert_eq!(load(&clone, created.certification.id).await, created);
}

// ---------------------------------------------------------------------------------------------
// Migration from schema version 1
// ---------------------------------------------------------------------------------------------

const CERT_A: &str = "0190a1b2-0000-7000-8000-00000000000a";
const CERT_B: &str = "0190a1b2-0000-7000-8000-00000000000b";
const CERT_C: &str = "0190a1b2-0000-7000-8000-00000000000c";
const HOLDER: &str = "0190a1b2-0000-7000-8000-0000000000f0";
const ENTRY_1: &str = "0190a1b2-0000-7000-8000-000000000e01";
const ENTRY_2: &str = "0190a1b2-0000-7000-8000-000000000e02";
const RENEWAL_1: &str = "0190a1b2-0000-7000-8000-000000000d01";

/// A root as version 1 stored it (the JSON is written out by hand: the old layout, not the
/// current types).
fn v1_root(id: &str, number: &str, status: &str, expires_on: &str, extended_to: &str) -> String {
    let extended = if extended_to.is_empty() {
        String::new()
    } else {
        format!(r#""extended_to":"{extended_to}","#)
    };
    format!(
        r#"{{"id":"{id}","certificant_id":"{HOLDER}","credential":"CPHIMS","certificate_number":"{number}","cycle_starts_on":"2025-01-01","expires_on":"{expires_on}",{extended}"status":"{status}","created_at":"2026-01-15T12:00:00.123456789Z","updated_at":"2026-01-20T08:00:00Z","version":3}}"#
    )
}

/// An entry as version 1 stored it: no `cycle_starts_on`.
fn v1_entry(id: &str, completed_on: &str) -> String {
    format!(
        r#"{{"id":"{id}","title":"Interoperability in practice","provider_name":"The Society","provider_category":"society","canadian_content":false,"completed_on":"{completed_on}","hours_hundredths":150,"ethics_hours_hundredths":25,"evidence":[],"source":"self_reported","created_at":"2026-01-16T09:00:00Z","updated_at":"2026-01-16T09:00:00Z"}}"#
    )
}

/// A version-1 database by hand: schema step 1 and rows in its layout (`ENTRY#`, `RENEWAL#`,
/// `HIST#`, `IDEM#`), for three certifications: A active with two entries, a renewal in review,
/// three history events and an idempotency record; B lapsed; C active and extended.
fn write_v1_database(path: &Path) {
    let conn = raw(path);
    conn.execute_batch(MIGRATIONS[0]).expect("schema step 1");
    conn.pragma_update(None, "user_version", 1)
        .expect("user_version 1");
    let root = |id: &str, number: &str, status: &str, expires: &str, extended: &str| {
        conn.execute(
            "INSERT INTO certifications (id, certificant_id, certificate_number, version, body)
             VALUES (?1, ?2, ?3, 3, ?4)",
            rusqlite::params![
                id,
                HOLDER,
                number,
                v1_root(id, number, status, expires, extended)
            ],
        )
        .expect("insert a v1 root");
    };
    root(CERT_A, "CN-A", "active", "2027-12-31", "");
    root(CERT_B, "CN-B", "lapsed", "2027-12-31", "");
    root(CERT_C, "CN-C", "active", "2027-12-31", "2028-03-31");
    let item = |id: &str, sk: String, body: String, expires_at: Option<i64>| {
        conn.execute(
            "INSERT INTO items (certification_id, sk, body, expires_at) VALUES (?1, ?2, ?3, ?4)",
            rusqlite::params![id, sk, body, expires_at],
        )
        .expect("insert a v1 item");
    };
    item(
        CERT_A,
        format!("ENTRY#{ENTRY_2}"),
        v1_entry(ENTRY_2, "2026-01-10"),
        None,
    );
    item(
        CERT_A,
        format!("ENTRY#{ENTRY_1}"),
        v1_entry(ENTRY_1, "2026-01-12"),
        None,
    );
    item(
        CERT_A,
        format!("RENEWAL#{RENEWAL_1}"),
        format!(
            r#"{{"id":"{RENEWAL_1}","cycle_expires_on":"2027-12-31","status":"in_review","submitted_at":"2026-02-01T10:00:00.5Z"}}"#
        ),
        None,
    );
    let event = |seq: u64, kind: &str| {
        format!(
            r#"{{"seq":{seq},"at":"2026-01-1{seq}T08:00:00Z","actor":{{"subject":"staff-1","role":"admin"}},{kind}}}"#
        )
    };
    item(
        CERT_A,
        "HIST#00000000000000000001".into(),
        event(
            1,
            r#""type":"certification_issued","credential":"CPHIMS","expires_on":"2027-12-31""#,
        ),
        None,
    );
    item(
        CERT_A,
        "HIST#00000000000000000002".into(),
        event(
            2,
            &format!(r#""type":"entry_added","entry_id":"{ENTRY_2}""#),
        ),
        None,
    );
    item(
        CERT_A,
        "HIST#00000000000000000003".into(),
        event(
            3,
            &format!(r#""type":"entry_added","entry_id":"{ENTRY_1}""#),
        ),
        None,
    );
    item(
        CERT_A,
        "IDEM#staff-1:key-1".into(),
        r#"{"key":"staff-1:key-1","request_hash":"sha256:00","status":201,"body":"{}","created_at":"2026-01-16T09:00:00Z","expires_at":"2099-01-01T00:00:00Z"}"#.into(),
        Some(4_070_908_800),
    );
}

fn uuid(s: &str) -> uuid::Uuid {
    s.parse().expect("a uuid")
}

/// The index rows of the database, sorted.
fn index_rows(path: &Path) -> Vec<(String, String, String, String, String)> {
    let conn = raw(path);
    let mut stmt = conn
        .prepare("SELECT certification_id, sk, idx, ipk, isk FROM index_keys ORDER BY 1, 2, 3")
        .expect("prepare");
    stmt.query_map([], |r| {
        Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?, r.get(4)?))
    })
    .expect("query")
    .collect::<Result<_, _>>()
    .expect("rows")
}

/// Opening a version-1 database migrates it: entries and renewals re-keyed under their cycle
/// (and given it in their body), the history under `LOG#`, and the index keys backfilled exactly
/// as the codec writes them; the aggregate, its history and its indexes then read correctly, and
/// commits go on.
#[tokio::test]
async fn a_version_1_database_is_migrated() {
    let dir = TempDir::new();
    write_v1_database(&dir.db());
    let store = SqliteStore::open(&dir.db()).expect("open and migrate");
    assert_eq!(user_version(&dir.db()), MIGRATIONS.len() as i64);
    let a = CertificationId(uuid(CERT_A));
    let cycle = date(2025, 1, 1);

    let loaded = load(&store, a).await;
    assert_eq!(loaded.certification.version, 3);
    assert_eq!(loaded.certification.certificate_number, "CN-A");
    assert_eq!(
        loaded.entries.iter().map(|e| e.id.0).collect::<Vec<_>>(),
        [uuid(ENTRY_2), uuid(ENTRY_1)]
    );
    assert!(loaded.entries.iter().all(|e| e.cycle_starts_on == cycle));
    assert_eq!(loaded.entries[0].activity.completed_on, date(2026, 1, 10));
    assert_eq!(loaded.renewals.len(), 1);
    let renewal = &loaded.renewals[0];
    assert_eq!(
        (renewal.id, renewal.cycle_starts_on, renewal.status),
        (uuid(RENEWAL_1), cycle, SubmissionStatus::InReview)
    );
    assert_eq!(loaded.idempotency.len(), 1);
    assert_eq!(loaded.idempotency[0].body.as_deref(), Some("{}"));
    assert_eq!(
        store.entries_of_cycle(a, cycle).await.expect("entries"),
        loaded.entries
    );

    let events = history(&store, a).await;
    assert_eq!(events.iter().map(|e| e.seq).collect::<Vec<_>>(), [1, 2, 3]);
    assert_eq!(events[0].actor.subject, "staff-1");
    assert_eq!(
        store.history(a, Some(1), 1).await.expect("history")[0].seq,
        2
    );

    assert_eq!(
        store.certification_by_number("CN-C").await.expect("lookup"),
        Some(CertificationId(uuid(CERT_C)))
    );

    // The backfilled index keys are the codec's, for every root and item.
    let mut expected = Vec::new();
    for id in [CERT_A, CERT_B, CERT_C] {
        let id = CertificationId(uuid(id));
        let c = load(&store, id).await;
        for k in recert_store::codec::root_index_keys(&c.certification) {
            expected.push((
                id.to_string(),
                "META".into(),
                k.index.name().into(),
                k.pk,
                k.sk,
            ));
        }
        for item in c.renewals.iter().cloned().map(Item::Submission) {
            let sk = recert_store::codec::item_sort_key(&item.key());
            for k in recert_store::codec::item_index_keys(id, &item) {
                expected.push((
                    id.to_string(),
                    sk.clone(),
                    k.index.name().into(),
                    k.pk,
                    k.sk,
                ));
            }
        }
    }
    expected.sort();
    assert_eq!(index_rows(&dir.db()), expected);
    assert_eq!(
        expected.len(),
        3,
        "A and C due, A's renewal queued: {expected:?}"
    );

    let due = store
        .due(date(2027, 12, 31), DueKind::CycleCloses, None, 10)
        .await
        .expect("due");
    assert_eq!(due.items.len(), 1);
    assert_eq!(due.items[0].certification_id, a);
    assert_eq!(
        due.items[0].item,
        IndexedItem::Certification(loaded.certification.clone())
    );
    let extended = store
        .due(date(2028, 3, 31), DueKind::CycleCloses, None, 10)
        .await
        .expect("due");
    assert_eq!(extended.items.len(), 1);
    assert_eq!(
        extended.items[0].certification_id,
        CertificationId(uuid(CERT_C))
    );
    // A renewal paid before the audit draw existed waits for the draw like any other.
    let queued = store
        .queued(Queue::AuditDraw, None, 10)
        .await
        .expect("queued");
    assert_eq!(queued.items.len(), 1);
    assert_eq!(
        queued.items[0].item,
        IndexedItem::Item(Item::Submission(renewal.clone()))
    );

    // Commits go on from the migrated state, and keep the index (the renewal in review locks the
    // transcript, so this one stores a record).
    let changes = bump(&loaded, instant(10))
        .put(Item::Idempotency(idempotency_record(instant(10), "{}")))
        .build();
    store
        .commit(&changes)
        .await
        .expect("commit after migration");
    let after = load(&store, a).await;
    assert_eq!(after, expected_after(Some(loaded), &changes));
    assert_eq!(history_seqs(&store, a).await, [1, 2, 3, 4]);
    assert_eq!(index_rows(&dir.db()), expected);

    // Reopening does not migrate again.
    drop(store);
    let store = SqliteStore::open(&dir.db()).expect("reopen");
    assert_eq!(load(&store, a).await, after);
}

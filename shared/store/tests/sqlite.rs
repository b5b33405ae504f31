//! The embedded adapter against the conformance suite (in memory and on a file), plus what only a
//! file store has: migrations on reopen, WAL, several connections, rollback of a failed commit.
#![cfg(feature = "sqlite")]
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use async_trait::async_trait;
use chrono::Duration;
use recert_domain::{
    Certificant, CertificantId, Certification, CertificationAggregate, CertificationId, Changes,
    Item,
};
use recert_store::conformance::{
    actor, add_entry, add_entry_changes, bump, create, create_fresh, date, entry_id,
    expected_after, idempotency_record, instant, load, new_certificant, new_certification, run_all,
};
use recert_store::sqlite::{MIGRATIONS, SqliteStore};
use recert_store::{Store, StoreError};
use std::path::{Path, PathBuf};

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
impl Store for TempFileStore {
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
    async fn load(
        &self,
        id: CertificationId,
    ) -> Result<Option<CertificationAggregate>, StoreError> {
        self.store.load(id).await
    }
    async fn commit(&self, changes: &Changes) -> Result<(), StoreError> {
        self.store.commit(changes).await
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

/// The cases do not depend on each other: all of them on one shared store.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_whole_suite_on_one_shared_store() {
    let store = TempFileStore::new();
    run_all(&store).await;
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
            "CREATE TRIGGER refuse_entries BEFORE INSERT ON items WHEN NEW.sk LIKE 'ENTRY#%'
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
        let a = CertificationAggregate::issue(certification.clone(), actor(), instant(1));
        let b = CertificationAggregate::issue(certification.clone(), actor(), instant(2));
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
    let mut changes = bump(&v1, instant(1));
    changes.puts = vec![
        Item::Idempotency(short_lived.clone()),
        Item::Idempotency(long_lived.clone()),
    ];
    store.commit(&changes).await.expect("commit");
    // Fixed in January 2026: long past by the wall clock of whoever runs this, yet still loaded.
    assert_eq!(load(&store, v1.certification.id).await.idempotency.len(), 2);

    // A commit still inside the record's lifetime keeps it...
    let v2 = load(&store, v1.certification.id).await;
    let still_live = bump(&v2, instant(1) + Duration::hours(23));
    store.commit(&still_live).await.expect("commit");
    assert_eq!(load(&store, v1.certification.id).await.idempotency.len(), 2);

    // ...one after it drops it, and only it.
    let v3 = load(&store, v1.certification.id).await;
    store
        .commit(&bump(&v3, instant(2) + Duration::seconds(1)))
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

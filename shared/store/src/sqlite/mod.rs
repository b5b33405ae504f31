//! The embedded adapter: the store port on SQLite (rusqlite, bundled), the local default.
//!
//! It mirrors the DynamoDB single table, with the same keys from [`crate::codec`], so both
//! adapters have the same semantics:
//!
//! - `certifications`: the aggregate roots (DynamoDB `pk = CERT#<id>`, `sk = META`), keyed by
//!   `id`, with a unique `certificate_number` (the guard item and the lookup of
//!   [`CertificateLookup`]) and an index on `certificant_id` (GSI1 of
//!   [`CertificantStore::certifications_of`]). `version` guards every commit.
//! - `items`: every other item of an aggregate, keyed by `(certification_id, sk)` where `sk` is
//!   the codec's sort key (`CYCLE#<start>#ENTRY#…`, `CYCLE#<start>#RENEWAL#…`, `IDEM#…`, and the
//!   history under `LOG#<seq>`). `expires_at` (unix seconds) is set on idempotency records only,
//!   like the DynamoDB TTL attribute.
//! - `index_keys`: the sparse indexes (DynamoDB GSI2 and GSI3): one row per index entry of a root
//!   or an item, `(certification_id, sk, idx)` → `(ipk, isk)`, rewritten for every item a commit
//!   writes, in the commit's transaction.
//! - `certificants`: keyed by `id`, with a unique, case-insensitive `email`.
//! - `audit_ledger`: the random audit's periods and draw records ([`AuditLedger`]), keyed by the
//!   very `(pk, sk)` DynamoDB gives them (`AUDIT#<yyyy-mm>`, `PERIOD` / `DRAW#<run day>`). A
//!   create is `INSERT ... ON CONFLICT DO NOTHING` then a read of what is stored; a reveal
//!   reads and rewrites the period in one `BEGIN IMMEDIATE` transaction.
//! - `calendar_feed`: each certificant's calendar feed ([`CalendarFeeds`]), keyed by
//!   `certificant_id` (DynamoDB `pk = CERTIFICANT#<id>`, `sk = CALENDAR_FEED`). A put is an upsert
//!   (a rotation replaces the record), a revocation a delete.
//!
//! Bodies are the serde JSON of the domain types; the columns beside them are only keys and
//! indexes. The schema is migrated on open with `PRAGMA user_version` ([`MIGRATIONS`]).
//!
//! A load reads the root, then the working set ([`codec::working_set_range`] of the root's
//! cycle), in one read transaction (one snapshot). In paged mode ([`SqliteStore::with_paging`],
//! for tests) it reads the root, then the working set a page at a time, each page its own
//! statement, awaiting a hook between them: another writer may commit in between, which the
//! root-first order turns into a conflict at the next commit, exactly as on DynamoDB.
//!
//! rusqlite is synchronous: one connection sits behind a `std::sync::Mutex` and every call runs
//! on tokio's blocking pool (`spawn_blocking`), so the lock is never held across an `.await`.
//! A commit is one `BEGIN IMMEDIATE` transaction, so writers from other processes on the same
//! file queue on the busy timeout instead of failing to upgrade a read lock.
//!
//! Like a DynamoDB `TransactWriteItems`, a commit may not touch one item twice nor carry more
//! than [`crate::MAX_WRITES_PER_COMMIT`] writes (`Rejected`). Idempotency records are never filtered by
//! the wall clock (the domain's clock is injected and may be fixed in tests); a commit drops the
//! records of its certification that expired before its own time (the root's `updated_at`).
//!
//! Nothing here logs personal data: no emails, names or bodies; only schema versions
//! and item kinds.

use crate::codec::{self, Index, IndexKey, ROOT_SK};
use crate::{
    AggregateStore, AuditLedger, CalendarFeeds, CertificantStore, CertificateLookup, DueIndex,
    IndexCursor, IndexPage, Listing, OutboxStore, PageHook, PostingLedger, ProviderRegistry,
    QueueIndex, StoreError,
};
use async_trait::async_trait;
use chrono::NaiveDate;
use recert_domain::audit::{AuditPeriod, DrawRecord, Period};
use recert_domain::{
    CalendarFeed, CeEntry, Certificant, CertificantId, Certification, CertificationAggregate,
    CertificationId, Changes, DueKind, HistoryEvent, Item, ItemKey, OutboxMessage, Posting,
    PostingWrite, Provider, ProviderId, Queue,
};
use rusqlite::{Connection, ErrorCode, OptionalExtension, TransactionBehavior, params};
use std::fmt;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::time::Duration;

mod aggregate;
mod audit_ledger;
mod commit;
mod indexes;
mod outbox;
mod people;
mod providers;
mod rows;
mod schema;
use commit::*;
use rows::*;
pub use schema::MIGRATIONS;
use schema::*;

/// How long a call waits for another process's write lock on the same file.
const BUSY_TIMEOUT: Duration = Duration::from_secs(5);

/// Failures of this adapter that are not SQLite's own (those pass through as `rusqlite::Error`).
/// All of them surface as [`StoreError::Backend`].
#[derive(Debug, thiserror::Error)]
enum SqliteStoreError {
    #[error("the sqlite connection lock is poisoned: an earlier store call panicked")]
    Poisoned,
    #[error("the database is at schema version {found}, newer than this build knows ({known})")]
    SchemaTooNew { found: i64, known: usize },
    #[error("cannot create the database directory")]
    CreateDir(#[source] std::io::Error),
    #[error("a stored version ({0}) is out of range")]
    BadVersion(i64),
    #[error("a stored certification id is not a UUID")]
    BadId(#[source] uuid::Error),
    #[error("an index entry has no item")]
    DanglingIndexEntry,
    #[error("a stored {0} was there for an insert and gone when read")]
    Vanished(&'static str),
}

fn backend(e: SqliteStoreError) -> StoreError {
    StoreError::backend(e)
}

fn db(e: rusqlite::Error) -> StoreError {
    StoreError::backend(e)
}

struct Inner {
    /// The database file; `None` in memory. Kept for `Debug` (a path is not personal data).
    path: Option<PathBuf>,
    conn: Mutex<Connection>,
}

/// Paged-load mode (tests): the working set is read `page_size` rows at a time, and
/// `between_pages` is awaited after the root and after every page but the last.
#[derive(Clone)]
struct Paging {
    page_size: usize,
    between_pages: PageHook,
}

/// The store port on an embedded SQLite database. Cheap to clone (the clones share the connection).
#[derive(Clone)]
pub struct SqliteStore {
    inner: Arc<Inner>,
    paging: Option<Paging>,
}

impl fmt::Debug for SqliteStore {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let location = self
            .inner
            .path
            .as_deref()
            .map_or(":memory:".into(), Path::to_string_lossy);
        f.debug_struct("SqliteStore")
            .field("location", &location)
            .field("page_size", &self.paging.as_ref().map(|p| p.page_size))
            .finish_non_exhaustive()
    }
}

impl SqliteStore {
    /// Open (or create) the database file at `path`, creating its directory, and migrate it.
    /// WAL journal, a busy timeout and foreign keys are on.
    pub fn open(path: &Path) -> Result<Self, StoreError> {
        if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
            std::fs::create_dir_all(dir).map_err(|e| backend(SqliteStoreError::CreateDir(e)))?;
        }
        let conn = Connection::open(path).map_err(db)?;
        conn.busy_timeout(BUSY_TIMEOUT).map_err(db)?;
        // journal_mode answers with the mode in force; WAL persists in the file once set.
        let _mode: String = conn
            .pragma_update_and_check(None, "journal_mode", "WAL", |row| row.get(0))
            .map_err(db)?;
        conn.pragma_update(None, "synchronous", "NORMAL")
            .map_err(db)?;
        Self::finish(conn, Some(path.to_path_buf()))
    }

    /// A private, empty in-memory database (each call its own), for tests.
    pub fn in_memory() -> Result<Self, StoreError> {
        let conn = Connection::open_in_memory().map_err(db)?;
        Self::finish(conn, None)
    }

    /// Paged-load mode, for tests of a load racing a writer: [`AggregateStore::load`] reads the
    /// root, awaits `between_pages`, then reads the working set `page_size` rows at a time (at
    /// least one), each page its own statement (no common snapshot), awaiting `between_pages`
    /// after every page but the last. Everything else is unchanged. The store keeps sharing its
    /// connection with the handle it was made from, so the hook can commit through that one.
    pub fn with_paging(mut self, page_size: usize, between_pages: PageHook) -> Self {
        self.paging = Some(Paging {
            page_size: page_size.max(1),
            between_pages,
        });
        self
    }

    fn finish(mut conn: Connection, path: Option<PathBuf>) -> Result<Self, StoreError> {
        conn.pragma_update(None, "foreign_keys", "ON").map_err(db)?;
        migrate(&mut conn)?;
        Ok(SqliteStore {
            inner: Arc::new(Inner {
                path,
                conn: Mutex::new(conn),
            }),
            paging: None,
        })
    }

    /// Run `f` with the connection on the blocking pool.
    async fn with_conn<T, F>(&self, f: F) -> Result<T, StoreError>
    where
        T: Send + 'static,
        F: FnOnce(&mut Connection) -> Result<T, StoreError> + Send + 'static,
    {
        let inner = Arc::clone(&self.inner);
        tokio::task::spawn_blocking(move || {
            let mut conn = inner
                .conn
                .lock()
                .map_err(|_| backend(SqliteStoreError::Poisoned))?;
            f(&mut conn)
        })
        .await
        .map_err(StoreError::backend)?
    }

    /// The paged load (see [`SqliteStore::with_paging`]).
    async fn load_paged(
        &self,
        id: String,
        paging: &Paging,
    ) -> Result<Option<CertificationAggregate>, StoreError> {
        let root = {
            let id = id.clone();
            self.with_conn(move |conn| read_root(conn, &id)).await?
        };
        let Some(certification) = root else {
            return Ok(None);
        };
        (paging.between_pages)().await;
        let (from, to) = codec::working_set_range(certification.cycle_starts_on);
        let mut items = Vec::new();
        let mut after = String::new();
        loop {
            let (id, from, to, last) = (id.clone(), from.clone(), to.clone(), after.clone());
            let size = paging.page_size;
            let page = self
                .with_conn(move |conn| read_page(conn, &id, &from, &to, &last, size))
                .await?;
            let full = page.len() >= size;
            for (sk, body) in page {
                items.extend(codec::decode_item(&sk, &body)?);
                after = sk;
            }
            if !full {
                break;
            }
            (paging.between_pages)().await;
        }
        Ok(Some(codec::aggregate(certification, items)))
    }
}

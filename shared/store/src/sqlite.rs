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

/// How long a call waits for another process's write lock on the same file.
const BUSY_TIMEOUT: Duration = Duration::from_secs(5);

/// The schema, one step per version: `MIGRATIONS[i]` takes `user_version` from `i` to `i + 1`.
/// Append only; never edit a released step.
pub const MIGRATIONS: &[&str] = &[
    // 1: the initial schema.
    r#"
    CREATE TABLE certifications (
        id                 TEXT PRIMARY KEY,
        certificant_id     TEXT NOT NULL,
        certificate_number TEXT NOT NULL UNIQUE,
        version            INTEGER NOT NULL,
        body               TEXT NOT NULL
    );
    CREATE INDEX certifications_by_certificant ON certifications (certificant_id);

    CREATE TABLE items (
        certification_id TEXT NOT NULL REFERENCES certifications (id) ON DELETE CASCADE,
        sk               TEXT NOT NULL,
        body             TEXT NOT NULL,
        expires_at       INTEGER NULL,
        PRIMARY KEY (certification_id, sk)
    );

    CREATE TABLE certificants (
        id    TEXT PRIMARY KEY,
        email TEXT NOT NULL UNIQUE COLLATE NOCASE,
        body  TEXT NOT NULL
    );
    "#,
    // 2: entries and renewals kept by cycle (`CYCLE#<start>#ENTRY#<id>`; every existing one
    // belongs to its certification's current cycle: no cycle had rolled over before this step),
    // the history under `LOG#<seq>`, and the sparse index keys (queue = GSI2, due date = GSI3),
    // backfilled: an active root falls due on its closing date, a renewal in review waits in the
    // review queue since its submission (RFC 3339 with nine fraction digits, as the codec writes).
    r#"
    CREATE TABLE index_keys (
        certification_id TEXT NOT NULL REFERENCES certifications (id) ON DELETE CASCADE,
        sk               TEXT NOT NULL,
        idx              TEXT NOT NULL,
        ipk              TEXT NOT NULL,
        isk              TEXT NOT NULL,
        PRIMARY KEY (certification_id, sk, idx)
    );
    CREATE INDEX index_keys_by_key ON index_keys (idx, ipk, isk);

    UPDATE items
    SET sk = 'CYCLE#' || (
            SELECT json_extract(c.body, '$.cycle_starts_on') FROM certifications c
            WHERE c.id = items.certification_id
        ) || '#' || sk,
        body = json_set(body, '$.cycle_starts_on', (
            SELECT json_extract(c.body, '$.cycle_starts_on') FROM certifications c
            WHERE c.id = items.certification_id
        ))
    WHERE substr(sk, 1, 6) = 'ENTRY#' OR substr(sk, 1, 8) = 'RENEWAL#';

    UPDATE items SET sk = 'LOG#' || substr(sk, 6) WHERE substr(sk, 1, 5) = 'HIST#';

    INSERT INTO index_keys (certification_id, sk, idx, ipk, isk)
    SELECT id, 'META', 'gsi3',
           'DUE#' || max(json_extract(body, '$.expires_on'),
                         coalesce(json_extract(body, '$.extended_to'), '')),
           'cycle_closes#' || id || '#META'
    FROM certifications
    WHERE json_extract(body, '$.status') = 'active';

    INSERT INTO index_keys (certification_id, sk, idx, ipk, isk)
    SELECT certification_id, sk, 'gsi2', 'QUEUE#renewal_review',
           substr(t, 1, 19) || '.'
             || substr(CASE WHEN substr(t, 20, 1) = '.' THEN substr(t, 21, length(t) - 21)
                            ELSE '' END || '000000000', 1, 9)
             || 'Z#' || certification_id || '#' || sk
    FROM (SELECT certification_id, sk, json_extract(body, '$.submitted_at') AS t, body
          FROM items
          WHERE substr(sk, 1, 6) = 'CYCLE#' AND instr(sk, '#RENEWAL#') > 0)
    WHERE json_extract(body, '$.status') = 'in_review';
    "#,
    // 3: the random audit's ledger (periods and draw records), under the DynamoDB keys.
    r#"
    CREATE TABLE audit_ledger (
        pk   TEXT NOT NULL,
        sk   TEXT NOT NULL,
        body TEXT NOT NULL,
        PRIMARY KEY (pk, sk)
    );
    "#,
    // 4: a paid renewal waits for the audit draw before review: those not yet drawn move from the
    // review queue to the draw queue (same sort key: oldest payment first).
    r#"
    UPDATE index_keys SET ipk = 'QUEUE#audit_draw'
    WHERE idx = 'gsi2' AND ipk = 'QUEUE#renewal_review'
      AND (certification_id, sk) IN (
          SELECT certification_id, sk FROM items WHERE json_extract(body, '$.draw') IS NULL);
    "#,
    // 5: each certificant's calendar feed (the SHA-256 of its secret, never the secret). No
    // foreign key to `certificants`: DynamoDB's item does not depend on the profile either.
    r#"
    CREATE TABLE calendar_feed (
        certificant_id TEXT PRIMARY KEY,
        body           TEXT NOT NULL
    );
    "#,
    // 6: partner providers and their postings (one row per completion a provider posted; created
    // once, alone or in a certification's commit). `listed` is the provider's listing order,
    // `queued` the reconciliation queue's (set while the posting awaits staff), as the codec
    // writes them for DynamoDB's GSI1 and GSI2.
    r#"
    CREATE TABLE providers (
        id      TEXT PRIMARY KEY,
        version INTEGER NOT NULL,
        body    TEXT NOT NULL
    );
    CREATE TABLE postings (
        provider_id   TEXT NOT NULL,
        completion_id TEXT NOT NULL,
        body          TEXT NOT NULL,
        listed        TEXT NOT NULL,
        queued        TEXT NULL,
        PRIMARY KEY (provider_id, completion_id)
    );
    CREATE INDEX postings_listed ON postings (provider_id, listed);
    CREATE INDEX postings_queued ON postings (queued) WHERE queued IS NOT NULL;
    "#,
];

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

/// Bring the schema up to the last of [`MIGRATIONS`]; a no-op on an up-to-date database.
fn migrate(conn: &mut Connection) -> Result<(), StoreError> {
    // IMMEDIATE: two processes opening a new file at once cannot both run a step.
    let tx = conn
        .transaction_with_behavior(TransactionBehavior::Immediate)
        .map_err(db)?;
    let found: i64 = tx
        .pragma_query_value(None, "user_version", |row| row.get(0))
        .map_err(db)?;
    let known = MIGRATIONS.len();
    let current = usize::try_from(found)
        .ok()
        .filter(|v| *v <= known)
        .ok_or_else(|| backend(SqliteStoreError::SchemaTooNew { found, known }))?;
    for (step, sql) in MIGRATIONS.iter().enumerate().skip(current) {
        let version = step + 1;
        tx.execute_batch(sql).map_err(db)?;
        tx.pragma_update(None, "user_version", version as i64)
            .map_err(db)?;
        tracing::info!(schema_version = version, "store migration applied");
    }
    tx.commit().map_err(db)
}

fn version_to_sql(version: u64) -> Result<i64, StoreError> {
    i64::try_from(version)
        .map_err(|_| StoreError::Rejected(format!("version {version} is too large to store")))
}

fn version_from_sql(version: i64) -> Result<u64, StoreError> {
    u64::try_from(version).map_err(|_| backend(SqliteStoreError::BadVersion(version)))
}

/// A row count for `LIMIT` (SQLite takes an i64; anything larger is "no limit" in practice).
fn limit_to_sql(limit: usize) -> i64 {
    i64::try_from(limit).unwrap_or(i64::MAX)
}

/// The extended code and message of a constraint violation, if `e` is one.
fn constraint_violation(e: &rusqlite::Error) -> Option<(i32, &str)> {
    match e {
        rusqlite::Error::SqliteFailure(f, msg) if f.code == ErrorCode::ConstraintViolation => {
            Some((f.extended_code, msg.as_deref().unwrap_or_default()))
        }
        _ => None,
    }
}

/// A failed write of the root: a taken certificate number, or the row already there.
fn root_write_error(e: rusqlite::Error) -> StoreError {
    match constraint_violation(&e) {
        Some((_, msg)) if msg.contains("certifications.certificate_number") => {
            StoreError::Duplicate {
                what: "certificate_number",
            }
        }
        Some((code, msg))
            if code == rusqlite::ffi::SQLITE_CONSTRAINT_PRIMARYKEY
                || msg.contains("certifications.id") =>
        {
            StoreError::VersionConflict
        }
        _ => db(e),
    }
}

fn certificant_write_error(e: rusqlite::Error) -> StoreError {
    match constraint_violation(&e) {
        Some((code, msg))
            if code == rusqlite::ffi::SQLITE_CONSTRAINT_PRIMARYKEY
                || msg.contains("certificants.id") =>
        {
            StoreError::Duplicate {
                what: "certificant",
            }
        }
        Some((_, msg)) if msg.contains("certificants.email") => {
            StoreError::Duplicate { what: "email" }
        }
        _ => db(e),
    }
}

/// One row of `items`, ready to write, with the index entries it carries.
struct ItemRow {
    sk: String,
    body: String,
    expires_at: Option<i64>,
    index: Vec<IndexKey>,
}

fn item_row(id: CertificationId, item: &Item) -> Result<ItemRow, StoreError> {
    Ok(ItemRow {
        sk: codec::item_sort_key(&item.key()),
        body: codec::encode_item(item)?,
        expires_at: codec::item_ttl(item),
        index: codec::item_index_keys(id, item),
    })
}

/// A commit checked and encoded on the async side, moved whole into the blocking task.
struct PreparedCommit {
    id: String,
    certificant_id: String,
    certificate_number: String,
    expected_version: i64,
    new_version: i64,
    body: String,
    root_index: Vec<IndexKey>,
    /// The history event: its sort key and body.
    history: (String, String),
    /// The command's own "now" (the root's `updated_at`, from the injected clock), in unix
    /// seconds: idempotency records that expired before it are dropped in the same transaction.
    now_unix: i64,
    deletes: Vec<String>,
    puts: Vec<ItemRow>,
    /// Each posting with, for a replacement, the body it must still have.
    postings: Vec<(PostingRow, Option<String>)>,
}

/// A posting as its row is written: keys, body, listing and queue sort keys.
struct PostingRow {
    provider_id: String,
    completion_id: String,
    body: String,
    listed: String,
    queued: Option<String>,
}

impl PostingRow {
    fn new(posting: &Posting) -> Result<Self, StoreError> {
        Ok(PostingRow {
            provider_id: posting.provider_id.0.clone(),
            completion_id: posting.completion_id().to_owned(),
            body: codec::encode_posting(posting)?,
            listed: codec::posting_listing_sk(posting),
            queued: codec::posting_queue_sk(posting),
        })
    }

    /// Insert it; `Ok(false)` when its completion is recorded already.
    fn insert(&self, conn: &Connection) -> Result<bool, StoreError> {
        let n = conn
            .prepare_cached(
                "INSERT OR IGNORE INTO postings (provider_id, completion_id, body, listed, queued)
                 VALUES (?1, ?2, ?3, ?4, ?5)",
            )
            .and_then(|mut st| {
                st.execute(params![
                    self.provider_id,
                    self.completion_id,
                    self.body,
                    self.listed,
                    self.queued
                ])
            })
            .map_err(db)?;
        Ok(n == 1)
    }

    /// Replace the row whose body is `expected`; `Ok(false)` when it is not.
    fn replace(&self, conn: &Connection, expected: &str) -> Result<bool, StoreError> {
        let n = conn
            .prepare_cached(
                "UPDATE postings SET body = ?3, listed = ?4, queued = ?5
                 WHERE provider_id = ?1 AND completion_id = ?2 AND body = ?6",
            )
            .and_then(|mut st| {
                st.execute(params![
                    self.provider_id,
                    self.completion_id,
                    self.body,
                    self.listed,
                    self.queued,
                    expected
                ])
            })
            .map_err(db)?;
        Ok(n == 1)
    }
}

impl PreparedCommit {
    fn new(changes: &Changes) -> Result<Self, StoreError> {
        crate::check_commit(changes, 0)?;
        let c = changes.certification();
        let event = changes.event();
        Ok(PreparedCommit {
            id: c.id.to_string(),
            certificant_id: c.certificant_id.to_string(),
            certificate_number: c.certificate_number.clone(),
            expected_version: version_to_sql(changes.expected_version())?,
            new_version: version_to_sql(c.version)?,
            body: codec::encode_root(c)?,
            root_index: codec::root_index_keys(c),
            history: (
                codec::history_sort_key(event.seq),
                codec::encode_history(event)?,
            ),
            now_unix: c.updated_at.timestamp(),
            deletes: changes.deletes().iter().map(codec::item_sort_key).collect(),
            puts: changes
                .puts()
                .iter()
                .map(|item| item_row(c.id, item))
                .collect::<Result<_, _>>()?,
            postings: changes
                .postings()
                .iter()
                .map(|w| {
                    let expected = match w {
                        PostingWrite::Create(_) => None,
                        PostingWrite::Replace { current, .. } => {
                            Some(codec::encode_posting(current)?)
                        }
                    };
                    Ok((PostingRow::new(w.posting())?, expected))
                })
                .collect::<Result<_, StoreError>>()?,
        })
    }

    /// Everything in one `BEGIN IMMEDIATE` transaction; any error rolls it all back (the
    /// transaction is dropped uncommitted).
    fn run(self, conn: &mut Connection) -> Result<(), StoreError> {
        let tx = conn
            .transaction_with_behavior(TransactionBehavior::Immediate)
            .map_err(db)?;
        if self.expected_version == 0 {
            // Checked first so "already exists" wins over a taken number, whatever order SQLite
            // checks its unique indexes in.
            let exists = tx
                .query_row(
                    "SELECT 1 FROM certifications WHERE id = ?1",
                    [&self.id],
                    |_| Ok(()),
                )
                .optional()
                .map_err(db)?
                .is_some();
            if exists {
                return Err(StoreError::VersionConflict);
            }
            tx.execute(
                "INSERT INTO certifications (id, certificant_id, certificate_number, version, body)
                 VALUES (?1, ?2, ?3, ?4, ?5)",
                params![
                    self.id,
                    self.certificant_id,
                    self.certificate_number,
                    self.new_version,
                    self.body
                ],
            )
            .map_err(root_write_error)?;
        } else {
            let updated = tx
                .execute(
                    "UPDATE certifications
                     SET certificant_id = ?2, certificate_number = ?3, version = ?4, body = ?5
                     WHERE id = ?1 AND version = ?6",
                    params![
                        self.id,
                        self.certificant_id,
                        self.certificate_number,
                        self.new_version,
                        self.body,
                        self.expected_version
                    ],
                )
                .map_err(root_write_error)?;
            if updated == 0 {
                return Err(StoreError::VersionConflict);
            }
        }
        // Whole seconds on both sides, strictly before: never drops a record that is still live.
        // (Idempotency records are in no index.)
        tx.execute(
            "DELETE FROM items WHERE certification_id = ?1 AND expires_at IS NOT NULL AND expires_at < ?2",
            params![self.id, self.now_unix],
        )
        .map_err(db)?;
        {
            let mut delete = tx
                .prepare_cached("DELETE FROM items WHERE certification_id = ?1 AND sk = ?2")
                .map_err(db)?;
            let mut unindex = tx
                .prepare_cached("DELETE FROM index_keys WHERE certification_id = ?1 AND sk = ?2")
                .map_err(db)?;
            let mut index = tx
                .prepare_cached(
                    "INSERT INTO index_keys (certification_id, sk, idx, ipk, isk)
                     VALUES (?1, ?2, ?3, ?4, ?5)",
                )
                .map_err(db)?;
            let mut put = tx
                .prepare_cached(
                    "INSERT OR REPLACE INTO items (certification_id, sk, body, expires_at)
                     VALUES (?1, ?2, ?3, ?4)",
                )
                .map_err(db)?;
            // The root's index entries are rewritten like an item's (sparse: none, none left).
            unindex.execute(params![self.id, ROOT_SK]).map_err(db)?;
            for k in &self.root_index {
                index
                    .execute(params![self.id, ROOT_SK, k.index.name(), k.pk, k.sk])
                    .map_err(db)?;
            }
            for sk in &self.deletes {
                delete.execute(params![self.id, sk]).map_err(db)?;
                unindex.execute(params![self.id, sk]).map_err(db)?;
            }
            for row in &self.puts {
                put.execute(params![self.id, row.sk, row.body, row.expires_at])
                    .map_err(db)?;
                unindex.execute(params![self.id, row.sk]).map_err(db)?;
                for k in &row.index {
                    index
                        .execute(params![self.id, row.sk, k.index.name(), k.pk, k.sk])
                        .map_err(db)?;
                }
            }
            let (sk, body) = &self.history;
            put.execute(params![self.id, sk, body, None::<i64>])
                .map_err(db)?;
        }
        for (row, expected) in &self.postings {
            match expected {
                None if !row.insert(&tx)? => {
                    return Err(StoreError::Duplicate { what: "posting" });
                }
                Some(expected) if !row.replace(&tx, expected)? => {
                    return Err(StoreError::PostingChanged);
                }
                _ => {}
            }
        }
        tx.commit().map_err(db)
    }
}

/// The root of certification `id`, its version from the `version` column.
fn read_root(conn: &Connection, id: &str) -> Result<Option<Certification>, StoreError> {
    let root: Option<(i64, String)> = conn
        .query_row(
            "SELECT version, body FROM certifications WHERE id = ?1",
            [id],
            |row| Ok((row.get(0)?, row.get(1)?)),
        )
        .optional()
        .map_err(db)?;
    root.map(|(version, body)| codec::decode_root(&body, version_from_sql(version)?))
        .transpose()
}

/// The `(sk, body)` rows of `id` with `from <= sk <= to`, by sort key, at most `limit`.
fn read_range(
    conn: &Connection,
    id: &str,
    from: &str,
    to: &str,
    limit: usize,
) -> Result<Vec<(String, String)>, StoreError> {
    read_page(conn, id, from, to, "", limit)
}

/// Like [`read_range`], only the rows after sort key `after` (`""`: from the start).
fn read_page(
    conn: &Connection,
    id: &str,
    from: &str,
    to: &str,
    after: &str,
    limit: usize,
) -> Result<Vec<(String, String)>, StoreError> {
    let mut stmt = conn
        .prepare_cached(
            "SELECT sk, body FROM items
             WHERE certification_id = ?1 AND sk >= ?2 AND sk <= ?3 AND sk > ?4
             ORDER BY sk LIMIT ?5",
        )
        .map_err(db)?;
    let rows = stmt
        .query_map(params![id, from, to, after, limit_to_sql(limit)], |row| {
            Ok((row.get(0)?, row.get(1)?))
        })
        .map_err(db)?;
    rows.collect::<Result<_, _>>().map_err(db)
}

/// The body of `audit_ledger` row `(pk, sk)`, if any.
fn ledger_body(conn: &Connection, pk: &str, sk: &str) -> Result<Option<String>, StoreError> {
    conn.query_row(
        "SELECT body FROM audit_ledger WHERE pk = ?1 AND sk = ?2",
        params![pk, sk],
        |row| row.get(0),
    )
    .optional()
    .map_err(db)
}

/// Insert `audit_ledger` row `(pk, sk)` with `body` unless it exists; the body stored (`body`, or
/// the one that was there: never two).
fn ledger_put_if_absent(
    conn: &Connection,
    pk: &str,
    sk: &str,
    body: &str,
    what: &'static str,
) -> Result<String, StoreError> {
    conn.execute(
        "INSERT INTO audit_ledger (pk, sk, body) VALUES (?1, ?2, ?3) ON CONFLICT DO NOTHING",
        params![pk, sk, body],
    )
    .map_err(db)?;
    ledger_body(conn, pk, sk)?.ok_or_else(|| backend(SqliteStoreError::Vanished(what)))
}

/// Replace the body of `audit_ledger` row `(pk, PERIOD)` with `body` if it is still `expected`.
fn ledger_swap(
    conn: &Connection,
    pk: &str,
    expected: &str,
    body: &str,
) -> Result<bool, StoreError> {
    let changed = conn
        .execute(
            "UPDATE audit_ledger SET body = ?4 WHERE pk = ?1 AND sk = ?2 AND body = ?3",
            params![pk, codec::AUDIT_PERIOD_SK, expected, body],
        )
        .map_err(db)?;
    Ok(changed == 1)
}

fn load_aggregate(
    conn: &mut Connection,
    id: &str,
) -> Result<Option<CertificationAggregate>, StoreError> {
    // One read transaction: the root and its working set come from the same snapshot.
    let tx = conn.transaction().map_err(db)?;
    let Some(certification) = read_root(&tx, id)? else {
        return Ok(None);
    };
    let (from, to) = codec::working_set_range(certification.cycle_starts_on);
    let mut items = Vec::new();
    for (sk, body) in read_range(&tx, id, &from, &to, usize::MAX)? {
        items.extend(codec::decode_item(&sk, &body)?);
    }
    tx.commit().map_err(db)?;
    Ok(Some(codec::aggregate(certification, items)))
}

/// One page of index `index`, partition `pk`, sort keys in `range` (inclusive; `None`: all) and
/// after `after`, by index sort key.
fn index_page(
    conn: &Connection,
    index: Index,
    pk: &str,
    range: Option<(String, String)>,
    after: Option<&str>,
    limit: usize,
) -> Result<IndexPage, StoreError> {
    let limit = limit.max(1);
    let (from, to) = range.map_or((None, None), |(f, t)| (Some(f), Some(t)));
    let mut stmt = conn
        .prepare_cached(
            "SELECT k.isk, c.version, coalesce(i.body, c.body)
             FROM index_keys k
             LEFT JOIN certifications c ON k.sk = ?7 AND c.id = k.certification_id
             LEFT JOIN items i ON k.sk <> ?7 AND i.certification_id = k.certification_id
                                 AND i.sk = k.sk
             WHERE k.idx = ?1 AND k.ipk = ?2
               AND (?3 IS NULL OR k.isk >= ?3) AND (?4 IS NULL OR k.isk <= ?4)
               AND (?5 IS NULL OR k.isk > ?5)
             ORDER BY k.isk LIMIT ?6",
        )
        .map_err(db)?;
    // One more than asked: whether another page follows is then known exactly.
    let rows = stmt
        .query_map(
            params![
                index.name(),
                pk,
                from,
                to,
                after,
                limit_to_sql(limit).saturating_add(1),
                ROOT_SK
            ],
            |row| {
                Ok((
                    row.get::<_, String>(0)?,
                    row.get::<_, Option<i64>>(1)?,
                    row.get::<_, Option<String>>(2)?,
                ))
            },
        )
        .map_err(db)?
        .collect::<Result<Vec<_>, _>>()
        .map_err(db)?;
    let more = rows.len() > limit;
    let mut page = IndexPage::default();
    for (isk, version, body) in rows.into_iter().take(limit) {
        let body = body.ok_or_else(|| backend(SqliteStoreError::DanglingIndexEntry))?;
        let version = version.map(version_from_sql).transpose()?;
        page.items
            .extend(codec::decode_indexed(&isk, &body, version)?);
        page.next = Some(IndexCursor(isk));
    }
    if !more {
        page.next = None;
    }
    Ok(page)
}

#[async_trait]
impl AggregateStore for SqliteStore {
    async fn certification(
        &self,
        id: CertificationId,
    ) -> Result<Option<Certification>, StoreError> {
        let id = id.to_string();
        self.with_conn(move |conn| read_root(conn, &id)).await
    }

    async fn load(
        &self,
        id: CertificationId,
    ) -> Result<Option<CertificationAggregate>, StoreError> {
        let id = id.to_string();
        match &self.paging {
            Some(paging) => self.load_paged(id, paging).await,
            None => self.with_conn(move |conn| load_aggregate(conn, &id)).await,
        }
    }

    async fn commit(&self, changes: &Changes) -> Result<(), StoreError> {
        let prepared = PreparedCommit::new(changes)?;
        self.with_conn(move |conn| prepared.run(conn)).await
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
        let id = id.to_string();
        self.with_conn(move |conn| {
            read_range(conn, &id, &from, &to, limit)?
                .iter()
                .map(|(_, body)| codec::decode_history(body))
                .collect()
        })
        .await
    }

    async fn entries_of_cycle(
        &self,
        id: CertificationId,
        cycle_starts_on: NaiveDate,
    ) -> Result<Vec<CeEntry>, StoreError> {
        let (from, to) = codec::prefix_range(&codec::entries_prefix(cycle_starts_on));
        let id = id.to_string();
        self.with_conn(move |conn| {
            let mut entries = Vec::new();
            for (sk, body) in read_range(conn, &id, &from, &to, usize::MAX)? {
                if let Some(Item::Entry(e)) = codec::decode_item(&sk, &body)? {
                    entries.push(e);
                }
            }
            codec::sort_entries(&mut entries);
            Ok(entries)
        })
        .await
    }
}

#[async_trait]
impl CertificantStore for SqliteStore {
    async fn create_certificant(&self, certificant: &Certificant) -> Result<(), StoreError> {
        let id = certificant.id.to_string();
        // Lower-cased here too: NOCASE alone folds ASCII only.
        let email = certificant.email.to_lowercase();
        let body = codec::encode_certificant(certificant)?;
        self.with_conn(move |conn| {
            conn.execute(
                "INSERT INTO certificants (id, email, body) VALUES (?1, ?2, ?3)",
                params![id, email, body],
            )
            .map_err(certificant_write_error)?;
            Ok(())
        })
        .await
    }

    async fn certificant(&self, id: CertificantId) -> Result<Option<Certificant>, StoreError> {
        let id = id.to_string();
        self.with_conn(move |conn| {
            let body: Option<String> = conn
                .query_row(
                    "SELECT body FROM certificants WHERE id = ?1",
                    [&id],
                    |row| row.get(0),
                )
                .optional()
                .map_err(db)?;
            body.map(|b| codec::decode_certificant(&b)).transpose()
        })
        .await
    }

    async fn certifications_of(
        &self,
        certificant: CertificantId,
    ) -> Result<Vec<Certification>, StoreError> {
        let certificant = certificant.to_string();
        self.with_conn(move |conn| {
            let mut stmt = conn
                .prepare_cached(
                    "SELECT version, body FROM certifications WHERE certificant_id = ?1",
                )
                .map_err(db)?;
            let mut rows = stmt.query([&certificant]).map_err(db)?;
            let mut out = Vec::new();
            while let Some(row) = rows.next().map_err(db)? {
                let version: i64 = row.get(0).map_err(db)?;
                let body: String = row.get(1).map_err(db)?;
                out.push(codec::decode_root(&body, version_from_sql(version)?)?);
            }
            // created_at lives in the body (and its JSON form does not sort as text): order here.
            out.sort_by_key(|c| (c.created_at, c.id));
            Ok(out)
        })
        .await
    }
}

#[async_trait]
impl CertificateLookup for SqliteStore {
    async fn certification_by_number(
        &self,
        certificate_number: &str,
    ) -> Result<Option<CertificationId>, StoreError> {
        let number = certificate_number.to_owned();
        self.with_conn(move |conn| {
            let id: Option<String> = conn
                .query_row(
                    "SELECT id FROM certifications WHERE certificate_number = ?1",
                    [&number],
                    |row| row.get(0),
                )
                .optional()
                .map_err(db)?;
            id.map(|id| {
                id.parse()
                    .map(CertificationId)
                    .map_err(|e| backend(SqliteStoreError::BadId(e)))
            })
            .transpose()
        })
        .await
    }
}

#[async_trait]
impl QueueIndex for SqliteStore {
    async fn queued(
        &self,
        queue: Queue,
        after: Option<&IndexCursor>,
        limit: usize,
    ) -> Result<IndexPage, StoreError> {
        let pk = codec::queue_pk(queue);
        let after = after.map(|a| a.0.clone());
        self.with_conn(move |conn| {
            index_page(conn, Index::Queue, &pk, None, after.as_deref(), limit)
        })
        .await
    }
}

#[async_trait]
impl DueIndex for SqliteStore {
    async fn due(
        &self,
        on: NaiveDate,
        kind: DueKind,
        after: Option<&IndexCursor>,
        limit: usize,
    ) -> Result<IndexPage, StoreError> {
        let pk = codec::due_pk(on);
        let range = codec::due_kind_range(kind);
        let after = after.map(|a| a.0.clone());
        self.with_conn(move |conn| {
            index_page(conn, Index::Due, &pk, Some(range), after.as_deref(), limit)
        })
        .await
    }
}

#[async_trait]
impl OutboxStore for SqliteStore {
    async fn outbox_message(
        &self,
        certification: CertificationId,
        id: uuid::Uuid,
    ) -> Result<Option<OutboxMessage>, StoreError> {
        let cert = certification.to_string();
        let sk = codec::item_sort_key(&ItemKey::Outbox(id));
        let outbox_sk = sk.clone();
        self.with_conn(move |conn| {
            let body: Option<String> = conn
                .query_row(
                    "SELECT body FROM items WHERE certification_id = ?1 AND sk = ?2",
                    params![cert, sk],
                    |row| row.get(0),
                )
                .optional()
                .map_err(db)?;
            match body.map(|b| codec::decode_item(&outbox_sk, &b)) {
                Some(Ok(Some(Item::Outbox(m)))) => Ok(Some(m)),
                Some(Err(e)) => Err(e),
                _ => Ok(None),
            }
        })
        .await
    }

    /// One `BEGIN IMMEDIATE` transaction: compare the stored body, then write the new body and
    /// index entries.
    async fn swap_outbox_message(
        &self,
        current: &OutboxMessage,
        next: &OutboxMessage,
    ) -> Result<bool, StoreError> {
        crate::check_outbox_swap(current, next)?;
        let id = next.certification_id;
        let expected = codec::encode_item(&Item::Outbox(current.clone()))?;
        let row = item_row(id, &Item::Outbox(next.clone()))?;
        let cert = id.to_string();
        self.with_conn(move |conn| {
            let tx = conn
                .transaction_with_behavior(TransactionBehavior::Immediate)
                .map_err(db)?;
            let updated = tx
                .execute(
                    "UPDATE items SET body = ?3 WHERE certification_id = ?1 AND sk = ?2 AND body = ?4",
                    params![cert, row.sk, row.body, expected],
                )
                .map_err(db)?;
            if updated == 0 {
                return Ok(false);
            }
            tx.execute(
                "DELETE FROM index_keys WHERE certification_id = ?1 AND sk = ?2",
                params![cert, row.sk],
            )
            .map_err(db)?;
            for k in &row.index {
                tx.execute(
                    "INSERT INTO index_keys (certification_id, sk, idx, ipk, isk) VALUES (?1, ?2, ?3, ?4, ?5)",
                    params![cert, row.sk, k.index.name(), k.pk, k.sk],
                )
                .map_err(db)?;
            }
            tx.commit().map_err(db)?;
            Ok(true)
        })
        .await
    }
}

#[async_trait]
impl AuditLedger for SqliteStore {
    async fn audit_period(&self, period: Period) -> Result<Option<AuditPeriod>, StoreError> {
        let pk = codec::audit_period_pk(period);
        self.with_conn(move |conn| {
            ledger_body(conn, &pk, codec::AUDIT_PERIOD_SK)?
                .map(|body| codec::decode_audit_period(&body))
                .transpose()
        })
        .await
    }

    async fn audit_periods(&self) -> Result<Vec<AuditPeriod>, StoreError> {
        self.with_conn(move |conn| {
            let mut stmt = conn
                .prepare_cached("SELECT body FROM audit_ledger WHERE sk = ?1 ORDER BY pk")
                .map_err(db)?;
            let bodies = stmt
                .query_map(params![codec::AUDIT_PERIOD_SK], |row| {
                    row.get::<_, String>(0)
                })
                .map_err(db)?
                .collect::<Result<Vec<_>, _>>()
                .map_err(db)?;
            let mut periods = Vec::with_capacity(bodies.len());
            for body in &bodies {
                let period = codec::decode_audit_period(body)?;
                if codec::listed_period(&period) {
                    periods.push(period);
                }
            }
            Ok(periods)
        })
        .await
    }

    async fn create_audit_period(&self, period: &AuditPeriod) -> Result<AuditPeriod, StoreError> {
        let body = codec::encode_audit_period(period)?;
        let pk = codec::audit_period_pk(period.period);
        self.with_conn(move |conn| {
            let stored =
                ledger_put_if_absent(conn, &pk, codec::AUDIT_PERIOD_SK, &body, "audit period")?;
            codec::decode_audit_period(&stored)
        })
        .await
    }

    async fn swap_audit_period(
        &self,
        current: &AuditPeriod,
        next: &AuditPeriod,
    ) -> Result<bool, StoreError> {
        crate::check_period_swap(current, next)?;
        let pk = codec::audit_period_pk(current.period);
        let expected = codec::encode_audit_period(current)?;
        let body = codec::encode_audit_period(next)?;
        self.with_conn(move |conn| ledger_swap(conn, &pk, &expected, &body))
            .await
    }

    async fn append_draw(
        &self,
        current: &AuditPeriod,
        next: &AuditPeriod,
        record: &DrawRecord,
    ) -> Result<bool, StoreError> {
        crate::check_append(current, next, record)?;
        let pk = codec::audit_period_pk(current.period);
        let expected = codec::encode_audit_period(current)?;
        let body = codec::encode_audit_period(next)?;
        let draw = codec::encode_draw(record)?;
        let (_, draw_sk) = codec::draw_keys(record);
        self.with_conn(move |conn| {
            let tx = conn
                .transaction_with_behavior(TransactionBehavior::Immediate)
                .map_err(db)?;
            let inserted = tx
                .execute(
                    "INSERT INTO audit_ledger (pk, sk, body) VALUES (?1, ?2, ?3)
                     ON CONFLICT DO NOTHING",
                    params![pk, draw_sk, draw],
                )
                .map_err(db)?;
            // Dropping the transaction unwritten rolls the insert back.
            if inserted == 0 || !ledger_swap(&tx, &pk, &expected, &body)? {
                return Ok(false);
            }
            tx.commit().map_err(db)?;
            Ok(true)
        })
        .await
    }

    async fn draws(&self, period: Period) -> Result<Vec<DrawRecord>, StoreError> {
        let listing = self.draws_page(period, None, usize::MAX).await?;
        Ok(listing.items)
    }

    async fn draws_page(
        &self,
        period: Period,
        after: Option<&IndexCursor>,
        limit: usize,
    ) -> Result<Listing<DrawRecord>, StoreError> {
        let pk = codec::audit_period_pk(period);
        let (from, to) = codec::draws_after(after.map(|a| a.0.as_str()));
        let limit = limit.max(1);
        self.with_conn(move |conn| {
            let mut stmt = conn
                .prepare_cached(
                    "SELECT sk, body FROM audit_ledger WHERE pk = ?1 AND sk >= ?2 AND sk < ?3
                     ORDER BY sk LIMIT ?4",
                )
                .map_err(db)?;
            // One more than asked: whether a next page exists.
            let rows = stmt
                .query_map(
                    params![pk, from, to, limit_to_sql(limit.saturating_add(1))],
                    |row| Ok((row.get::<_, String>(0)?, row.get::<_, String>(1)?)),
                )
                .map_err(db)?
                .collect::<Result<Vec<_>, _>>()
                .map_err(db)?;
            let more = rows.len() > limit;
            let mut listing = Listing {
                items: Vec::with_capacity(rows.len().min(limit)),
                next: None,
            };
            for (sk, body) in rows.iter().take(limit) {
                listing.items.push(codec::decode_draw(body)?);
                if more {
                    listing.next = Some(IndexCursor(sk.clone()));
                }
            }
            Ok(listing)
        })
        .await
    }
}

#[async_trait]
impl CalendarFeeds for SqliteStore {
    async fn put_calendar_feed(&self, feed: &CalendarFeed) -> Result<(), StoreError> {
        let id = feed.certificant_id.to_string();
        let body = codec::encode_calendar_feed(feed)?;
        self.with_conn(move |conn| {
            conn.execute(
                "INSERT INTO calendar_feed (certificant_id, body) VALUES (?1, ?2)
                 ON CONFLICT (certificant_id) DO UPDATE SET body = excluded.body",
                params![id, body],
            )
            .map_err(db)?;
            Ok(())
        })
        .await
    }

    async fn calendar_feed(
        &self,
        certificant: CertificantId,
    ) -> Result<Option<CalendarFeed>, StoreError> {
        let id = certificant.to_string();
        self.with_conn(move |conn| {
            let body: Option<String> = conn
                .query_row(
                    "SELECT body FROM calendar_feed WHERE certificant_id = ?1",
                    [&id],
                    |row| row.get(0),
                )
                .optional()
                .map_err(db)?;
            body.map(|b| codec::decode_calendar_feed(&b)).transpose()
        })
        .await
    }

    async fn delete_calendar_feed(&self, certificant: CertificantId) -> Result<(), StoreError> {
        let id = certificant.to_string();
        self.with_conn(move |conn| {
            conn.execute("DELETE FROM calendar_feed WHERE certificant_id = ?1", [&id])
                .map_err(db)?;
            Ok(())
        })
        .await
    }
}

/// Rows `(body, sort key)` after `after` in `sql`'s order, at most `limit` (one more is read to
/// know whether a next page exists), as a [`Listing`].
fn listing<T>(
    conn: &Connection,
    sql: &str,
    key: &str,
    after: Option<&IndexCursor>,
    limit: usize,
    decode: impl Fn(&str) -> Result<T, StoreError>,
) -> Result<Listing<T>, StoreError> {
    let limit = limit.max(1);
    let after = after.map(|a| a.0.clone()).unwrap_or_default();
    let mut stmt = conn.prepare_cached(sql).map_err(db)?;
    let mut rows = stmt
        .query(params![key, after, limit_to_sql(limit + 1)])
        .map_err(db)?;
    let mut items = Vec::new();
    let mut last = None;
    let mut more = false;
    while let Some(row) = rows.next().map_err(db)? {
        if items.len() == limit {
            more = true;
            break;
        }
        let body: String = row.get(0).map_err(db)?;
        last = Some(row.get::<_, String>(1).map_err(db)?);
        items.push(decode(&body)?);
    }
    Ok(Listing {
        items,
        next: if more { last.map(IndexCursor) } else { None },
    })
}

#[async_trait]
impl ProviderRegistry for SqliteStore {
    async fn create_provider(&self, provider: &Provider) -> Result<(), StoreError> {
        let id = provider.id.0.clone();
        let version = version_to_sql(provider.version)?;
        let body = codec::encode_provider(provider)?;
        self.with_conn(move |conn| {
            let n = conn
                .execute(
                    "INSERT OR IGNORE INTO providers (id, version, body) VALUES (?1, ?2, ?3)",
                    params![id, version, body],
                )
                .map_err(db)?;
            if n == 0 {
                return Err(StoreError::Duplicate { what: "provider" });
            }
            Ok(())
        })
        .await
    }

    async fn provider(&self, id: &ProviderId) -> Result<Option<Provider>, StoreError> {
        let id = id.0.clone();
        self.with_conn(move |conn| {
            let body: Option<String> = conn
                .query_row("SELECT body FROM providers WHERE id = ?1", [&id], |row| {
                    row.get(0)
                })
                .optional()
                .map_err(db)?;
            body.map(|b| codec::decode_provider(&b)).transpose()
        })
        .await
    }

    async fn replace_provider(&self, next: &Provider) -> Result<(), StoreError> {
        let id = next.id.0.clone();
        let version = version_to_sql(next.version)?;
        let body = codec::encode_provider(next)?;
        self.with_conn(move |conn| {
            let n = conn
                .execute(
                    "UPDATE providers SET version = ?2, body = ?3 WHERE id = ?1 AND version = ?2 - 1",
                    params![id, version, body],
                )
                .map_err(db)?;
            if n == 0 {
                return Err(StoreError::VersionConflict);
            }
            Ok(())
        })
        .await
    }

    async fn providers(
        &self,
        after: Option<&IndexCursor>,
        limit: usize,
    ) -> Result<Listing<Provider>, StoreError> {
        let after = after.cloned();
        self.with_conn(move |conn| {
            listing(
                conn,
                "SELECT body, id FROM providers WHERE ?1 = ?1 AND id > ?2 ORDER BY id LIMIT ?3",
                "",
                after.as_ref(),
                limit,
                codec::decode_provider,
            )
        })
        .await
    }
}

#[async_trait]
impl PostingLedger for SqliteStore {
    async fn postings(
        &self,
        provider: &ProviderId,
        completion_ids: &[String],
    ) -> Result<Vec<Posting>, StoreError> {
        let provider = provider.0.clone();
        let ids = completion_ids.to_vec();
        self.with_conn(move |conn| {
            let mut stmt = conn
                .prepare_cached(
                    "SELECT body FROM postings WHERE provider_id = ?1 AND completion_id = ?2",
                )
                .map_err(db)?;
            let mut found = Vec::new();
            for id in &ids {
                let body: Option<String> = stmt
                    .query_row(params![provider, id], |row| row.get(0))
                    .optional()
                    .map_err(db)?;
                if let Some(body) = body {
                    found.push(codec::decode_posting(&body)?);
                }
            }
            Ok(found)
        })
        .await
    }

    async fn posting(
        &self,
        provider: &ProviderId,
        completion_id: &str,
    ) -> Result<Option<Posting>, StoreError> {
        Ok(self
            .postings(provider, &[completion_id.to_owned()])
            .await?
            .pop())
    }

    async fn create_posting(&self, posting: &Posting) -> Result<bool, StoreError> {
        let row = PostingRow::new(posting)?;
        self.with_conn(move |conn| row.insert(conn)).await
    }

    async fn swap_posting(&self, current: &Posting, next: &Posting) -> Result<bool, StoreError> {
        crate::check_posting_swap(current, next)?;
        let row = PostingRow::new(next)?;
        let expected = codec::encode_posting(current)?;
        self.with_conn(move |conn| row.replace(conn, &expected))
            .await
    }

    async fn provider_postings(
        &self,
        provider: &ProviderId,
        after: Option<&IndexCursor>,
        limit: usize,
    ) -> Result<Listing<Posting>, StoreError> {
        let provider = provider.0.clone();
        let after = after.cloned();
        self.with_conn(move |conn| {
            listing(
                conn,
                "SELECT body, listed FROM postings WHERE provider_id = ?1 AND listed > ?2
                 ORDER BY listed LIMIT ?3",
                &provider,
                after.as_ref(),
                limit,
                codec::decode_posting,
            )
        })
        .await
    }

    async fn reconciliation_queue(
        &self,
        after: Option<&IndexCursor>,
        limit: usize,
    ) -> Result<Listing<Posting>, StoreError> {
        let after = after.cloned();
        self.with_conn(move |conn| {
            listing(
                conn,
                "SELECT body, queued FROM postings WHERE ?1 = ?1 AND queued IS NOT NULL
                 AND queued > ?2 ORDER BY queued LIMIT ?3",
                "",
                after.as_ref(),
                limit,
                codec::decode_posting,
            )
        })
        .await
    }
}

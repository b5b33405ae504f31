//! The embedded adapter: the store port on SQLite (rusqlite, bundled), the local default.
//!
//! It mirrors the DynamoDB single table so both adapters have the same semantics:
//!
//! - `certifications`: the aggregate roots (DynamoDB `pk = CERT#<id>`, `sk = META`), keyed by
//!   `id`, with a unique `certificate_number` and an index on `certificant_id` (the GSI of
//!   [`Store::certifications_of`]). `version` guards every commit.
//! - `items`: every other item of an aggregate, keyed by `(certification_id, sk)` where `sk` is
//!   [`ItemKey::sort_key`] (`ENTRY#…`, `RENEWAL#…`, `HIST#…`, `IDEM#…`). `expires_at` (unix
//!   seconds) is set on idempotency records only, like the DynamoDB TTL attribute.
//! - `certificants`: keyed by `id`, with a unique, case-insensitive `email`.
//!
//! Bodies are the serde JSON of the domain types; the columns beside them are only keys and
//! indexes. The schema is migrated on open with `PRAGMA user_version` ([`MIGRATIONS`]).
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

use crate::{Store, StoreError, decode_body, encode_body};
use async_trait::async_trait;
use recert_domain::{
    CeEntry, Certificant, CertificantId, Certification, CertificationAggregate, CertificationId,
    Changes, HistoryEvent, IdempotencyRecord, Item, ItemKey, Renewal,
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
];

const ENTRY_PREFIX: &str = "ENTRY#";
const RENEWAL_PREFIX: &str = "RENEWAL#";
const HISTORY_PREFIX: &str = "HIST#";
const IDEMPOTENCY_PREFIX: &str = "IDEM#";

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

/// The store port on an embedded SQLite database. Cheap to clone (the clones share the connection).
#[derive(Clone)]
pub struct SqliteStore {
    inner: Arc<Inner>,
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

    fn finish(mut conn: Connection, path: Option<PathBuf>) -> Result<Self, StoreError> {
        conn.pragma_update(None, "foreign_keys", "ON").map_err(db)?;
        migrate(&mut conn)?;
        Ok(SqliteStore {
            inner: Arc::new(Inner {
                path,
                conn: Mutex::new(conn),
            }),
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

/// One row of `items`, ready to write.
struct ItemRow {
    sk: String,
    body: String,
    expires_at: Option<i64>,
}

fn item_row(item: &Item) -> Result<ItemRow, StoreError> {
    let sk = item.key().sort_key();
    let (body, expires_at) = match item {
        Item::Entry(e) => (encode_body("entry", e)?, None),
        Item::Renewal(r) => (encode_body("renewal", r)?, None),
        Item::History(h) => (encode_body("history event", h)?, None),
        Item::Idempotency(i) => (
            encode_body("idempotency record", i)?,
            Some(i.expires_at.timestamp()),
        ),
    };
    Ok(ItemRow {
        sk,
        body,
        expires_at,
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
    /// The command's own "now" (the root's `updated_at`, from the injected clock), in unix
    /// seconds: idempotency records that expired before it are dropped in the same transaction.
    now_unix: i64,
    deletes: Vec<String>,
    puts: Vec<ItemRow>,
}

impl PreparedCommit {
    fn new(changes: &Changes) -> Result<Self, StoreError> {
        crate::check_commit(changes, 0)?;
        let c = &changes.certification;
        Ok(PreparedCommit {
            id: c.id.to_string(),
            certificant_id: c.certificant_id.to_string(),
            certificate_number: c.certificate_number.clone(),
            expected_version: version_to_sql(changes.expected_version)?,
            new_version: version_to_sql(c.version)?,
            body: encode_body("certification", c)?,
            now_unix: c.updated_at.timestamp(),
            deletes: changes.deletes.iter().map(ItemKey::sort_key).collect(),
            puts: changes
                .puts
                .iter()
                .map(item_row)
                .collect::<Result<_, _>>()?,
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
        tx.execute(
            "DELETE FROM items WHERE certification_id = ?1 AND expires_at IS NOT NULL AND expires_at < ?2",
            params![self.id, self.now_unix],
        )
        .map_err(db)?;
        {
            let mut delete = tx
                .prepare_cached("DELETE FROM items WHERE certification_id = ?1 AND sk = ?2")
                .map_err(db)?;
            for sk in &self.deletes {
                delete.execute(params![self.id, sk]).map_err(db)?;
            }
            let mut put = tx
                .prepare_cached(
                    "INSERT OR REPLACE INTO items (certification_id, sk, body, expires_at)
                     VALUES (?1, ?2, ?3, ?4)",
                )
                .map_err(db)?;
            for row in &self.puts {
                put.execute(params![self.id, row.sk, row.body, row.expires_at])
                    .map_err(db)?;
            }
        }
        tx.commit().map_err(db)
    }
}

fn load_aggregate(
    conn: &mut Connection,
    id: &str,
) -> Result<Option<CertificationAggregate>, StoreError> {
    // One read transaction: the root and its items come from the same snapshot.
    let tx = conn.transaction().map_err(db)?;
    let root: Option<(i64, String)> = tx
        .query_row(
            "SELECT version, body FROM certifications WHERE id = ?1",
            [id],
            |row| Ok((row.get(0)?, row.get(1)?)),
        )
        .optional()
        .map_err(db)?;
    let Some((version, body)) = root else {
        return Ok(None);
    };
    let mut certification: Certification = decode_body("certification", &body)?;
    certification.version = version_from_sql(version)?;
    let mut aggregate = CertificationAggregate {
        certification,
        entries: Vec::new(),
        renewals: Vec::new(),
        history: Vec::new(),
        idempotency: Vec::new(),
    };
    {
        let mut stmt = tx
            .prepare_cached("SELECT sk, body FROM items WHERE certification_id = ?1 ORDER BY sk")
            .map_err(db)?;
        let mut rows = stmt.query([id]).map_err(db)?;
        while let Some(row) = rows.next().map_err(db)? {
            let sk: String = row.get(0).map_err(db)?;
            let body: String = row.get(1).map_err(db)?;
            if sk.starts_with(ENTRY_PREFIX) {
                aggregate
                    .entries
                    .push(decode_body::<CeEntry>("entry", &body)?);
            } else if sk.starts_with(RENEWAL_PREFIX) {
                aggregate
                    .renewals
                    .push(decode_body::<Renewal>("renewal", &body)?);
            } else if sk.starts_with(HISTORY_PREFIX) {
                aggregate
                    .history
                    .push(decode_body::<HistoryEvent>("history event", &body)?);
            } else if sk.starts_with(IDEMPOTENCY_PREFIX) {
                aggregate.idempotency.push(decode_body::<IdempotencyRecord>(
                    "idempotency record",
                    &body,
                )?);
            } else {
                // An item kind from a newer build; it is not rewritten, so skipping loses nothing.
                let kind = sk.split('#').next().unwrap_or_default();
                tracing::warn!(kind, "skipping an aggregate item of an unknown kind");
            }
        }
    }
    tx.commit().map_err(db)?;
    aggregate
        .entries
        .sort_by_key(|e| (e.activity.completed_on, e.id));
    aggregate.renewals.sort_by_key(|r| (r.submitted_at, r.id));
    aggregate.history.sort_by_key(|h| h.seq);
    Ok(Some(aggregate))
}

#[async_trait]
impl Store for SqliteStore {
    async fn create_certificant(&self, certificant: &Certificant) -> Result<(), StoreError> {
        let id = certificant.id.to_string();
        // Lower-cased here too: NOCASE alone folds ASCII only.
        let email = certificant.email.to_lowercase();
        let body = encode_body("certificant", certificant)?;
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
            body.map(|b| decode_body("certificant", &b)).transpose()
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
                let mut c: Certification = decode_body("certification", &body)?;
                c.version = version_from_sql(version)?;
                out.push(c);
            }
            // created_at lives in the body (and its JSON form does not sort as text): order here.
            out.sort_by_key(|c| (c.created_at, c.id));
            Ok(out)
        })
        .await
    }

    async fn load(
        &self,
        id: CertificationId,
    ) -> Result<Option<CertificationAggregate>, StoreError> {
        let id = id.to_string();
        self.with_conn(move |conn| load_aggregate(conn, &id)).await
    }

    async fn commit(&self, changes: &Changes) -> Result<(), StoreError> {
        let prepared = PreparedCommit::new(changes)?;
        self.with_conn(move |conn| prepared.run(conn)).await
    }
}

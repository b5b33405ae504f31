//! The store port and its adapters.
//!
//! One certification is one aggregate: loaded with ONE read, changed with ONE atomic commit guarded
//! by the version it was loaded at (a stale writer gets [`StoreError::VersionConflict`], never a
//! lost update). Adapters: [`sqlite::SqliteStore`] (embedded, the local default) and
//! [`dynamodb::DynamoStore`] (production, one DynamoDB table; see `docs/dynamodb.md`).
//! [`conformance`] holds the one test suite every adapter must pass.
//!
//! Must not depend on HTTP or on any function crate.

pub mod conformance;
pub mod dynamodb;
#[cfg(feature = "sqlite")]
pub mod sqlite;

use async_trait::async_trait;
use recert_domain::{
    Certificant, CertificantId, Certification, CertificationAggregate, CertificationId, Changes,
};
use recert_domain::{Item, ItemKey};
use std::collections::HashSet;
use std::fmt::Debug;

#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// The aggregate changed since it was loaded (or, for a creation, it already exists).
    #[error("the certification was changed by someone else; reload and retry")]
    VersionConflict,
    /// A unique value is taken (`what` names it: "email", "certificate_number", "certificant").
    #[error("{what} already exists")]
    Duplicate { what: &'static str },
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
}

/// The repository port. Every method is one round trip to the backend.
#[async_trait]
pub trait Store: Send + Sync + Debug {
    /// Create a certificant. `Duplicate { what: "certificant" | "email" }` when the id or email is taken.
    async fn create_certificant(&self, certificant: &Certificant) -> Result<(), StoreError>;

    async fn certificant(&self, id: CertificantId) -> Result<Option<Certificant>, StoreError>;

    /// The certifications a certificant holds, oldest first (a GSI query on DynamoDB).
    async fn certifications_of(
        &self,
        certificant: CertificantId,
    ) -> Result<Vec<Certification>, StoreError>;

    /// The whole aggregate in one read: root, entries (by completion date, then id), renewals,
    /// history (by seq) and idempotency records (expired ones may be included; callers filter).
    async fn load(&self, id: CertificationId)
    -> Result<Option<CertificationAggregate>, StoreError>;

    /// Commit atomically: root version must equal `changes.expected_version` (0 = must not exist),
    /// else `VersionConflict`; a taken certificate number on creation is `Duplicate`.
    async fn commit(&self, changes: &Changes) -> Result<(), StoreError>;
}

/// The most writes one atomic commit may carry: DynamoDB's `TransactWriteItems` limit, which every
/// adapter keeps so they all refuse the same commits.
pub const MAX_WRITES_PER_COMMIT: usize = 100;

/// The checks every adapter makes before writing. `extra_writes` are the adapter's own writes
/// beside the commit's (DynamoDB's uniqueness guard items).
pub fn check_commit(changes: &Changes, extra_writes: usize) -> Result<(), StoreError> {
    let c = &changes.certification;
    if changes.expected_version.checked_add(1) != Some(c.version) {
        return Err(StoreError::Rejected(format!(
            "the new version must be {} + 1, not {}",
            changes.expected_version, c.version
        )));
    }
    let writes = 1 + changes.puts.len() + changes.deletes.len();
    if writes + extra_writes > MAX_WRITES_PER_COMMIT {
        return Err(StoreError::Rejected(format!(
            "{writes} writes in one commit; at most {}",
            MAX_WRITES_PER_COMMIT - extra_writes
        )));
    }
    let mut seen = HashSet::with_capacity(writes);
    let keys = changes
        .puts
        .iter()
        .map(Item::key)
        .chain(changes.deletes.iter().cloned());
    for key in keys {
        if !seen.insert(key.sort_key()) {
            // The kind only: an idempotency key may carry the caller's subject.
            let kind = match key {
                ItemKey::Entry(_) => "an entry",
                ItemKey::Renewal(_) => "a renewal",
                ItemKey::History(_) => "a history event",
                ItemKey::Idempotency(_) => "an idempotency record",
            };
            return Err(StoreError::Rejected(format!(
                "{kind} is written twice in one commit"
            )));
        }
    }
    Ok(())
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

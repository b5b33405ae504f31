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
pub mod sqlite;

use async_trait::async_trait;
use recert_domain::{
    Certificant, CertificantId, Certification, CertificationAggregate, CertificationId, Changes,
};
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

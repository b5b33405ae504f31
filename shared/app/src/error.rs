//! Why a command or query failed, in the application's terms (no HTTP status here: each edge
//! renders it its own way).

use recert_domain::{DomainError, FieldErrors};
use recert_store::StoreError;

#[derive(Debug, thiserror::Error)]
pub enum AppError {
    /// Not there, or not visible to this actor (we never say which).
    #[error("{0} not found")]
    NotFound(&'static str),
    /// The actor may not do this.
    #[error("this actor may not do this")]
    Forbidden,
    /// A rule said no (invalid fields, a state conflict, a missing item).
    #[error(transparent)]
    Domain(#[from] DomainError),
    /// A concurrent change that the command must not silently override (the item it acts on
    /// changed since it was first read), or contention that outlasted the retry budget.
    #[error("{what} was changed by another request; reload and retry")]
    Changed { what: &'static str },
    /// The client's precondition (`If-Match`) names another state of `what` than the current one.
    #[error("{0} has changed since the version the request names")]
    PreconditionFailed(&'static str),
    /// The store failed or refused the commit.
    #[error(transparent)]
    Store(#[from] StoreError),
    /// The audit draw may not run for that date, or not in that period (the clock and the ledger
    /// decide, not the caller).
    #[error(transparent)]
    DrawRefused(#[from] recert_domain::audit::DrawRefusal),
    /// The key service that seals audit seeds failed, or a sealed seed does not open.
    #[error("audit seed key: {0}")]
    Keys(#[from] recert_keys::KeyError),
    /// The audit jobs need a key to seal seeds with, and none is configured.
    #[error("no key seals the audit seeds: set AUDIT_SEED_KEY_ID (a KMS key) for the audit jobs")]
    NoSealingKey,
    /// A period's seed does not match its commitment (a wrong key, or tampering).
    #[error("the seed of {0} does not match its commitment")]
    SeedUnusable(recert_domain::audit::Period),
    /// A bug (an output that cannot be encoded...): never shown, only logged by the edge.
    #[error("internal error")]
    Internal(#[source] Box<dyn std::error::Error + Send + Sync>),
}

impl From<FieldErrors> for AppError {
    fn from(e: FieldErrors) -> Self {
        AppError::Domain(DomainError::Invalid(e))
    }
}

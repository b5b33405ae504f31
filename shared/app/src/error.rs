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
    /// A bug (an output that cannot be encoded...): never shown, only logged by the edge.
    #[error("internal error")]
    Internal(#[source] Box<dyn std::error::Error + Send + Sync>),
}

impl From<FieldErrors> for AppError {
    fn from(e: FieldErrors) -> Self {
        AppError::Domain(DomainError::Invalid(e))
    }
}

//! HTTP glue shared by every Recert function: authentication, problem+json errors, strict
//! extractors, pagination cursors, the HTTP state and the HTTP wrapping of the application's command runner
//! (idempotent replay, status, `Location`), the Lambda entry point.
//!
//! Handlers live in the function crates; this crate holds no business rule (those are in
//! `recert-domain`) and no storage detail (those are in `recert-store`).

pub mod app;
pub mod auth;
pub mod config;
pub mod cursor;
pub mod error;
pub mod etag;
pub mod extract;
pub mod jwks;
pub mod lambda;
pub mod page;
pub mod routes;
pub mod state;
pub mod token_crypto;

pub use app::finish;
pub use auth::{Principal, Role};
pub use error::{ApiError, Problem};
pub use extract::{Json, Path, Query};
pub use recert_app::{AppError, Concurrency};
pub use routes::Routes;
pub use state::{AppState, Idempotency, IdempotencyKey, Reply};

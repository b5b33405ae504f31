//! A creating request's first response, kept for replay (`Idempotency-Key`).

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

/// The most bytes of a response an idempotency record keeps for replay. A larger response is
/// replayed as a redirect to its `location` instead (records stay small however big a body is).
pub const IDEMPOTENCY_BODY_CAP: usize = 8 * 1024;

/// The stored first response to a creating request with an `Idempotency-Key`: what a replay
/// needs and no more.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct IdempotencyRecord {
    /// The client's key, scoped by the caller (e.g. `<subject>:<key>`).
    pub key: String,
    /// Digest of the request that first used the key (method, path, body).
    pub request_hash: String,
    pub status: u16,
    /// Where the created resource is, if the response named it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub location: Option<String>,
    /// The response body, when at most [`IDEMPOTENCY_BODY_CAP`] bytes.
    #[serde(default)]
    pub body: Option<String>,
    pub created_at: DateTime<Utc>,
    /// After this instant the record is ignored and may be deleted (DynamoDB TTL).
    pub expires_at: DateTime<Utc>,
}

impl IdempotencyRecord {
    /// A record of a response; its body is kept only within [`IDEMPOTENCY_BODY_CAP`].
    pub fn of_response(
        key: String,
        request_hash: String,
        status: u16,
        location: Option<String>,
        body: String,
        created_at: DateTime<Utc>,
        expires_at: DateTime<Utc>,
    ) -> Self {
        IdempotencyRecord {
            key,
            request_hash,
            status,
            location,
            body: (body.len() <= IDEMPOTENCY_BODY_CAP).then_some(body),
            created_at,
            expires_at,
        }
    }
}

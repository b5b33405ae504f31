//! Application state shared by every handler, and the one command loop every write goes through:
//! load the aggregate (one read) → authorize → replay an idempotent retry or decide → commit (one
//! atomic write) → respond. A lost optimistic race is retried on fresh state a few times.

use crate::auth::{Authenticator, Principal};
use crate::cursor::CursorCodec;
use crate::error::ApiError;
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use chrono::Duration;
use recert_domain::{
    CertificationAggregate, CertificationId, Changes, Clock, IdempotencyRecord, RuleBook, RuleSet,
};
use recert_store::{Store, StoreError};
use sha2::{Digest, Sha256};
use std::sync::Arc;

/// How many times a command is re-run on fresh state after losing an optimistic race.
const COMMAND_ATTEMPTS: usize = 3;
/// How long a stored idempotent response is replayed.
pub const IDEMPOTENCY_TTL_HOURS: i64 = 24;

#[derive(Clone, Debug)]
pub struct AppState {
    pub store: Arc<dyn Store>,
    pub auth: Arc<Authenticator>,
    pub rules: Arc<RuleBook>,
    pub clock: Arc<dyn Clock>,
    pub cursors: CursorCodec,
}

/// What a command decided.
#[derive(Debug)]
pub struct Decision<T> {
    pub status: StatusCode,
    /// Serialized as the JSON response body (skipped for 204).
    pub body: T,
    pub location: Option<String>,
    pub changes: Changes,
}

/// An `Idempotency-Key` bound to the request it came with.
#[derive(Debug, Clone)]
pub struct Idempotency {
    /// `<subject>:<client key>` — keys are per caller.
    pub key: String,
    /// SHA-256 of method, path and canonical body.
    pub fingerprint: String,
}

impl Idempotency {
    pub fn new(
        principal: &Principal,
        client_key: &str,
        method: &str,
        path: &str,
        body: &impl serde::Serialize,
    ) -> Self {
        let mut h = Sha256::new();
        h.update(method.as_bytes());
        h.update([0]);
        h.update(path.as_bytes());
        h.update([0]);
        h.update(serde_json::to_vec(body).unwrap_or_default());
        let fingerprint = h.finalize().iter().map(|b| format!("{b:02x}")).collect();
        Idempotency {
            key: format!("{}:{client_key}", principal.subject),
            fingerprint,
        }
    }
}

fn json_response(
    status: StatusCode,
    body: String,
    location: Option<&str>,
    replayed: bool,
) -> Response {
    let mut res = if status == StatusCode::NO_CONTENT {
        status.into_response()
    } else {
        let mut r = (status, body).into_response();
        r.headers_mut().insert(
            header::CONTENT_TYPE,
            HeaderValue::from_static("application/json"),
        );
        r
    };
    if let Some(loc) = location.and_then(|l| HeaderValue::from_str(l).ok()) {
        res.headers_mut().insert(header::LOCATION, loc);
    }
    if replayed {
        res.headers_mut()
            .insert("idempotent-replayed", HeaderValue::from_static("true"));
    }
    res
}

impl AppState {
    /// The certification if the caller may see it; 404 otherwise (we never confirm that another
    /// certificant's certification exists).
    pub async fn load_visible(
        &self,
        principal: &Principal,
        id: CertificationId,
    ) -> Result<CertificationAggregate, ApiError> {
        let aggregate = self
            .store
            .load(id)
            .await?
            .ok_or(ApiError::NotFound("certification"))?;
        if !principal.may_read(aggregate.certification.certificant_id) {
            return Err(ApiError::NotFound("certification"));
        }
        Ok(aggregate)
    }

    /// The rule version that judges this aggregate's current cycle.
    pub fn rules_for(&self, aggregate: &CertificationAggregate) -> &RuleSet {
        self.rules
            .for_cycle_starting(aggregate.certification.cycle_starts_on)
    }

    /// Run a write command on one certification (see the module docs).
    pub async fn execute<T, F>(
        &self,
        principal: &Principal,
        id: CertificationId,
        idempotency: Option<Idempotency>,
        decide: F,
    ) -> Result<Response, ApiError>
    where
        T: serde::Serialize,
        F: Fn(&CertificationAggregate, &RuleSet) -> Result<Decision<T>, ApiError>,
    {
        let mut attempt = 0;
        loop {
            attempt += 1;
            let aggregate = self.load_visible(principal, id).await?;
            let now = self.clock.now();
            if let Some(idem) = &idempotency
                && let Some(record) = aggregate.idempotency_record(&idem.key, now)
            {
                if record.request_hash != idem.fingerprint {
                    return Err(ApiError::IdempotencyMismatch(
                        "this Idempotency-Key was already used with a different request",
                    ));
                }
                let status = StatusCode::from_u16(record.status).unwrap_or(StatusCode::OK);
                return Ok(json_response(status, record.body.clone(), None, true));
            }
            let decision = decide(&aggregate, self.rules_for(&aggregate))?;
            let body = if decision.status == StatusCode::NO_CONTENT {
                String::new()
            } else {
                serde_json::to_string(&decision.body).map_err(ApiError::internal)?
            };
            let record = idempotency.as_ref().map(|idem| IdempotencyRecord {
                key: idem.key.clone(),
                request_hash: idem.fingerprint.clone(),
                status: decision.status.as_u16(),
                body: body.clone(),
                created_at: now,
                expires_at: now + Duration::hours(IDEMPOTENCY_TTL_HOURS),
            });
            let changes = decision.changes.with_idempotency(record);
            match self.store.commit(&changes).await {
                Ok(()) => {
                    return Ok(json_response(
                        decision.status,
                        body,
                        decision.location.as_deref(),
                        false,
                    ));
                }
                Err(StoreError::VersionConflict) if attempt < COMMAND_ATTEMPTS => continue,
                Err(e) => return Err(e.into()),
            }
        }
    }
}

//! One error type for every handler, rendered as `application/problem+json` (RFC 9457).
//!
//! Converting an error to a response has no side effects except one: a 5xx logs its source chain
//! (never request data) and answers with a fixed message.

use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use recert_app::AppError;
use recert_domain::ConflictCode;
use recert_domain::{DomainError, FieldErrors};
use recert_store::StoreError;
use serde::Serialize;
use std::collections::BTreeMap;

pub const PROBLEM_JSON: &str = "application/problem+json";

/// The problem document every error response carries.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
#[schema(example = json!({"type": "urn:recert:problem:validation_failed", "title": "Invalid fields", "status": 422, "detail": "one or more fields are invalid", "code": "validation_failed", "errors": {"hours_hundredths": ["must be more than zero"]}}))]
pub struct Problem {
    /// `urn:recert:problem:<code>`.
    #[serde(rename = "type")]
    pub kind: String,
    pub title: String,
    pub status: u16,
    pub detail: String,
    /// Stable machine-readable reason (also the last part of `type`). On a 409, one of
    /// `ConflictCode` (the components list every one).
    pub code: String,
    /// Field (JSON path, `/`-separated) → messages; only on 422.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub errors: Option<BTreeMap<String, Vec<String>>>,
}

/// Every way a request can fail. Each variant is one HTTP class.
#[derive(Debug, thiserror::Error)]
pub enum ApiError {
    /// 400: the request cannot be read (malformed JSON, bad header, bad cursor, bad path id).
    #[error("{detail}")]
    BadRequest { code: &'static str, detail: String },
    /// 401 with `WWW-Authenticate`: missing, expired or invalid token.
    #[error("{0}")]
    Unauthorized(&'static str),
    /// 403: authenticated, but the role may not do this.
    #[error("your role may not do this")]
    Forbidden,
    /// 404: not there, or not yours (we do not say which).
    #[error("{0} not found")]
    NotFound(&'static str),
    /// 405
    #[error("method not allowed")]
    MethodNotAllowed,
    /// 409: the state forbids it (`code` says why), or a concurrent change won.
    #[error("{detail}")]
    Conflict { code: ConflictCode, detail: String },
    /// 412: `If-Match` names another version than the current one.
    #[error("{0} has changed since the version If-Match names; reload it and retry")]
    PreconditionFailed(&'static str),
    /// 413
    #[error("request body too large")]
    PayloadTooLarge,
    /// 415
    #[error("expected a JSON body (Content-Type: application/json)")]
    UnsupportedMediaType,
    /// 422: well-formed but invalid; the field map says where.
    #[error("one or more fields are invalid")]
    Unprocessable(FieldErrors),
    /// 422 on the `Idempotency-Key` reused with another request.
    #[error("{0}")]
    IdempotencyMismatch(&'static str),
    /// 500: a bug or a backend failure. The source is logged, never sent.
    #[error("internal error")]
    Internal(#[source] Box<dyn std::error::Error + Send + Sync>),
    /// 503: the store could not be reached (after its own retries).
    #[error("service unavailable")]
    Unavailable(#[source] Box<dyn std::error::Error + Send + Sync>),
}

impl ApiError {
    pub fn bad_request(code: &'static str, detail: impl Into<String>) -> Self {
        ApiError::BadRequest {
            code,
            detail: detail.into(),
        }
    }

    pub fn field(field: &str, message: impl Into<String>) -> Self {
        let mut errors = FieldErrors::default();
        errors.add(field, message);
        ApiError::Unprocessable(errors)
    }

    pub fn internal(e: impl std::error::Error + Send + Sync + 'static) -> Self {
        ApiError::Internal(Box::new(e))
    }

    pub fn status(&self) -> StatusCode {
        match self {
            ApiError::BadRequest { .. } => StatusCode::BAD_REQUEST,
            ApiError::Unauthorized(_) => StatusCode::UNAUTHORIZED,
            ApiError::Forbidden => StatusCode::FORBIDDEN,
            ApiError::NotFound(_) => StatusCode::NOT_FOUND,
            ApiError::MethodNotAllowed => StatusCode::METHOD_NOT_ALLOWED,
            ApiError::Conflict { .. } => StatusCode::CONFLICT,
            ApiError::PreconditionFailed(_) => StatusCode::PRECONDITION_FAILED,
            ApiError::PayloadTooLarge => StatusCode::PAYLOAD_TOO_LARGE,
            ApiError::UnsupportedMediaType => StatusCode::UNSUPPORTED_MEDIA_TYPE,
            ApiError::Unprocessable(_) | ApiError::IdempotencyMismatch(_) => {
                StatusCode::UNPROCESSABLE_ENTITY
            }
            ApiError::Internal(_) => StatusCode::INTERNAL_SERVER_ERROR,
            ApiError::Unavailable(_) => StatusCode::SERVICE_UNAVAILABLE,
        }
    }

    fn code(&self) -> &'static str {
        match self {
            ApiError::BadRequest { code, .. } => code,
            ApiError::Conflict { code, .. } => code.as_str(),
            ApiError::Unauthorized(_) => "unauthorized",
            ApiError::Forbidden => "forbidden",
            ApiError::NotFound(_) => "not_found",
            ApiError::MethodNotAllowed => "method_not_allowed",
            ApiError::PreconditionFailed(_) => "precondition_failed",
            ApiError::PayloadTooLarge => "payload_too_large",
            ApiError::UnsupportedMediaType => "unsupported_media_type",
            ApiError::Unprocessable(_) => "validation_failed",
            ApiError::IdempotencyMismatch(_) => "idempotency_key_reused",
            ApiError::Internal(_) => "internal",
            ApiError::Unavailable(_) => "unavailable",
        }
    }

    /// The problem document (pure: no logging).
    pub fn problem(&self) -> Problem {
        let status = self.status();
        let code = self.code();
        let detail = match self {
            ApiError::Internal(_) => "an unexpected error occurred; it has been logged".to_string(),
            ApiError::Unavailable(_) => {
                "the service is temporarily unavailable; retry shortly".to_string()
            }
            other => other.to_string(),
        };
        Problem {
            kind: format!("urn:recert:problem:{code}"),
            title: status.canonical_reason().unwrap_or("Error").to_string(),
            status: status.as_u16(),
            detail,
            code: code.to_string(),
            errors: match self {
                ApiError::Unprocessable(f) => Some(f.0.clone()),
                _ => None,
            },
        }
    }
}

/// Render a problem document with its status and content type.
pub fn problem_response(problem: &Problem) -> Response {
    let status = StatusCode::from_u16(problem.status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
    let body = serde_json::to_vec(problem).unwrap_or_else(|_| b"{}".to_vec());
    let mut res = (status, body).into_response();
    res.headers_mut()
        .insert(header::CONTENT_TYPE, HeaderValue::from_static(PROBLEM_JSON));
    res
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        match &self {
            ApiError::Internal(e) | ApiError::Unavailable(e) => {
                tracing::error!(error = %error_chain(e.as_ref()), status = self.status().as_u16(), "request failed");
            }
            _ => {}
        }
        let mut res = problem_response(&self.problem());
        if let ApiError::Unauthorized(reason) = self {
            let value = format!(
                "Bearer realm=\"recert\", error=\"invalid_token\", error_description=\"{reason}\""
            );
            if let Ok(v) = HeaderValue::from_str(&value) {
                res.headers_mut().insert(header::WWW_AUTHENTICATE, v);
            }
        }
        res
    }
}

/// `outer: inner: innermost` — for logs only.
pub fn error_chain(e: &(dyn std::error::Error + 'static)) -> String {
    let mut s = e.to_string();
    let mut cur = e.source();
    while let Some(inner) = cur {
        s.push_str(": ");
        s.push_str(&inner.to_string());
        cur = inner.source();
    }
    s
}

impl From<DomainError> for ApiError {
    fn from(e: DomainError) -> Self {
        match e {
            DomainError::Invalid(f) => ApiError::Unprocessable(f),
            DomainError::Conflict { code, message } => ApiError::Conflict {
                code,
                detail: message,
            },
            DomainError::NotFound(what) => ApiError::NotFound(what),
        }
    }
}

impl From<FieldErrors> for ApiError {
    fn from(e: FieldErrors) -> Self {
        ApiError::Unprocessable(e)
    }
}

impl From<AppError> for ApiError {
    fn from(e: AppError) -> Self {
        match e {
            AppError::NotFound(what) => ApiError::NotFound(what),
            AppError::Forbidden => ApiError::Forbidden,
            AppError::Domain(d) => d.into(),
            AppError::Changed { what } => ApiError::Conflict {
                code: ConflictCode::ConcurrentUpdate,
                detail: format!("{what} was changed by another request; reload and retry"),
            },
            AppError::Store(s) => s.into(),
            AppError::Internal(e) => ApiError::Internal(e),
            // The audit jobs' failures: no route reaches them.
            e @ (AppError::DrawRefused(_)
            | AppError::Keys(_)
            | AppError::NoSealingKey
            | AppError::SeedUnusable(_)) => ApiError::Internal(e.into()),
            AppError::PreconditionFailed(what) => ApiError::PreconditionFailed(what),
        }
    }
}

impl From<StoreError> for ApiError {
    fn from(e: StoreError) -> Self {
        // Only a failure a retry may get past is a 503 (which invites one); the rest is a 500.
        let transient = e.is_transient();
        match e {
            StoreError::VersionConflict => ApiError::Conflict {
                code: ConflictCode::ConcurrentUpdate,
                detail: "the certification was changed by another request; retry".into(),
            },
            StoreError::Duplicate { what } => ApiError::Conflict {
                code: ConflictCode::Duplicate,
                detail: format!("{what} already exists"),
            },
            StoreError::PostingChanged => ApiError::Conflict {
                code: ConflictCode::ConcurrentUpdate,
                detail: "the posting was changed by another request; retry".into(),
            },
            StoreError::Rejected(m) => ApiError::Internal(m.into()),
            StoreError::Backend(source) if transient => ApiError::Unavailable(source),
            StoreError::Backend(source) => ApiError::Internal(source),
        }
    }
}

/// The error responses every read operation documents (for utoipa `responses(...)`).
#[derive(Debug, utoipa::IntoResponses)]
pub enum ReadErrors {
    /// Malformed id, query parameter or cursor.
    #[response(status = 400, content_type = "application/problem+json")]
    BadRequest(Problem),
    /// Missing, expired or invalid bearer token (with `WWW-Authenticate`).
    #[response(status = 401, content_type = "application/problem+json")]
    Unauthorized(Problem),
    /// The caller's role may not read this (a staff queue, another provider's postings...).
    #[response(status = 403, content_type = "application/problem+json")]
    Forbidden(Problem),
    /// Not there, or not yours.
    #[response(status = 404, content_type = "application/problem+json")]
    NotFound(Problem),
}

/// The error a write with `If-Match` documents beside [`WriteErrors`].
#[derive(Debug, utoipa::IntoResponses)]
pub enum PreconditionErrors {
    /// `If-Match` names another version than the current one: reload, reapply, retry.
    #[response(status = 412, content_type = "application/problem+json")]
    PreconditionFailed(Problem),
}

/// The error responses every write operation documents (for utoipa `responses(...)`).
#[derive(Debug, utoipa::IntoResponses)]
pub enum WriteErrors {
    /// Malformed JSON, id or header.
    #[response(status = 400, content_type = "application/problem+json")]
    BadRequest(Problem),
    /// Missing, expired or invalid bearer token (with `WWW-Authenticate`).
    #[response(status = 401, content_type = "application/problem+json")]
    Unauthorized(Problem),
    /// The caller's role may not do this.
    #[response(status = 403, content_type = "application/problem+json")]
    Forbidden(Problem),
    /// Not there, or not yours.
    #[response(status = 404, content_type = "application/problem+json")]
    NotFound(Problem),
    /// The state forbids it (`code` says why: locked, duplicate...) or a concurrent change won.
    #[response(status = 409, content_type = "application/problem+json")]
    Conflict(Problem),
    /// The body is over 64 KiB.
    #[response(status = 413, content_type = "application/problem+json")]
    PayloadTooLarge(Problem),
    /// The body is not JSON.
    #[response(status = 415, content_type = "application/problem+json")]
    UnsupportedMediaType(Problem),
    /// Invalid fields (see `errors`), or an `Idempotency-Key` reused with another request.
    #[response(status = 422, content_type = "application/problem+json")]
    Unprocessable(Problem),
}

#[cfg(test)]
mod store_error_tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    #[test]
    fn a_failure_a_retry_cannot_fix_is_a_500_not_a_503() {
        let corrupt = recert_store::decode_body::<u32>("entry", "not json").unwrap_err();
        assert_eq!(
            ApiError::from(corrupt).status(),
            StatusCode::INTERNAL_SERVER_ERROR
        );
        let throttled = StoreError::backend(recert_store::dynamodb::DynamoStoreError::Throttled {
            codes: "ThrottlingError".into(),
            source: "throttled".into(),
        });
        assert_eq!(
            ApiError::from(throttled).status(),
            StatusCode::SERVICE_UNAVAILABLE
        );
    }
}

//! The state every handler shares, and the HTTP wrapping of the application's command runner:
//! `Idempotency-Key` replay (the stored first response commits atomically with the command),
//! status, `Location` and the JSON body. Loading, authorizing, deciding, committing and
//! retrying are `recert_app`'s ([`recert_app::runner`]).

use crate::auth::{Authenticator, Principal};
use crate::cursor::CursorCodec;
use crate::error::ApiError;
use crate::page::{Page, PageParams};
use axum::extract::FromRequestParts;
use axum::http::header::AUTHORIZATION;
use axum::http::request::Parts;
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use chrono::Duration;
use recert_app::runner::Context;
use recert_app::{App, AppError, Concurrency, Decision};
use recert_domain::{CertificationId, Changes, IdempotencyRecord, Item, Queue, Recipient};
use recert_store::{IndexCursor, IndexedItem};
use sha2::{Digest, Sha256};
use std::sync::Arc;

/// How long a stored idempotent response is replayed.
pub const IDEMPOTENCY_TTL_HOURS: i64 = 24;

#[derive(Clone, Debug)]
pub struct AppState {
    /// The application: store, rules, clock, retry policy (the composition root's product).
    pub app: App,
    pub auth: Arc<Authenticator>,
    pub cursors: CursorCodec,
}

/// What a command answers over HTTP.
#[derive(Debug)]
pub struct Reply<T> {
    pub status: StatusCode,
    /// Serialized as the JSON response body (skipped for 204).
    pub body: T,
    pub location: Option<String>,
    /// The `ETag` of the resource as it now is.
    pub etag: Option<String>,
}

impl<T> Reply<T> {
    pub fn created(location: String, body: T) -> Self {
        Reply {
            status: StatusCode::CREATED,
            body,
            location: Some(location),
            etag: None,
        }
    }

    pub fn ok(body: T) -> Self {
        Reply {
            status: StatusCode::OK,
            body,
            location: None,
            etag: None,
        }
    }

    /// With the resource's `ETag`.
    pub fn tagged(mut self, etag: String) -> Self {
        self.etag = Some(etag);
        self
    }
}

impl Reply<()> {
    pub fn no_content() -> Self {
        Reply {
            status: StatusCode::NO_CONTENT,
            body: (),
            location: None,
            etag: None,
        }
    }
}

/// The client's `Idempotency-Key` header on a creating request (optional; 1–255 visible ASCII
/// characters, else a 400), with the method and path it came with. Declared once for every
/// operation that takes it: `params(IdempotencyKey)`.
#[derive(Debug, Clone, utoipa::IntoParams)]
#[into_params(parameter_in = Header)]
pub struct IdempotencyKey {
    /// Retry-safe key: a retry with the same key and body gets the first response again (24 h); the same key with another body is a 422.
    #[param(
        rename = "Idempotency-Key",
        min_length = 1,
        max_length = 255,
        pattern = "^[!-~]+$"
    )]
    key: Option<String>,
    #[param(ignore)]
    method: String,
    #[param(ignore)]
    path: String,
}

impl IdempotencyKey {
    /// The key bound to this caller and to this request (method, path and `body`); none without
    /// a key.
    pub fn bind(&self, principal: &Principal, body: &impl serde::Serialize) -> Option<Idempotency> {
        let key = self.key.as_deref()?;
        Some(Idempotency::new(
            principal,
            key,
            &self.method,
            &self.path,
            body,
        ))
    }
}

impl<S: Send + Sync> FromRequestParts<S> for IdempotencyKey {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, _: &S) -> Result<Self, Self::Rejection> {
        let key = match parts.headers.get("idempotency-key") {
            None => None,
            Some(value) => Some(
                value
                    .to_str()
                    .ok()
                    .filter(|k| {
                        !k.is_empty() && k.len() <= 255 && k.bytes().all(|b| b.is_ascii_graphic())
                    })
                    .ok_or_else(|| {
                        ApiError::bad_request(
                            "invalid_idempotency_key",
                            "Idempotency-Key must be 1 to 255 visible ASCII characters",
                        )
                    })?
                    .to_owned(),
            ),
        };
        Ok(IdempotencyKey {
            key,
            method: parts.method.to_string(),
            path: parts.uri.path().to_owned(),
        })
    }
}

/// An `Idempotency-Key` bound to the request it came with.
#[derive(Debug, Clone)]
pub struct Idempotency {
    /// `<kind>:<subject length>:<subject>:<client key>` — keys are per caller.
    pub key: String,
    /// SHA-256 of method, path and canonical body.
    pub fingerprint: String,
}

impl Idempotency {
    fn new(
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
        let fingerprint = hex::encode(h.finalize());
        // Scoped by the caller's kind and subject, length-prefixed: no subject, whatever it
        // contains (`:` included), can make one caller's key another's.
        let subject = principal.subject();
        let kind = principal.actor.acted_by().role;
        Idempotency {
            key: format!("{kind}:{}:{subject}:{client_key}", subject.len()),
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

/// The replay of a stored response: as first sent, or — when its body was over the record's
/// size cap — a `303 See Other` to the resource it created.
fn replay(record: &IdempotencyRecord) -> Response {
    match &record.body {
        Some(body) => {
            let status = StatusCode::from_u16(record.status).unwrap_or(StatusCode::OK);
            json_response(status, body.clone(), record.location.as_deref(), true)
        }
        None => json_response(
            StatusCode::SEE_OTHER,
            String::new(),
            record.location.as_deref(),
            true,
        ),
    }
}

/// What one run of the command produced, before it becomes a response.
enum Outcome {
    Fresh {
        status: StatusCode,
        body: String,
        location: Option<String>,
        etag: Option<String>,
    },
    Replay(IdempotencyRecord),
    KeyReused,
}

impl AppState {
    pub fn new(app: App, auth: Authenticator, cursors: CursorCodec) -> Self {
        AppState {
            app,
            auth: Arc::new(auth),
            cursors,
        }
    }

    /// The holder of a certification `principal` may see, as the recipient of a notice.
    pub async fn recipient(
        &self,
        principal: &Principal,
        id: CertificationId,
    ) -> Result<Recipient, ApiError> {
        let certification = self.app.certification_visible(&principal.actor, id).await?;
        Ok(self.app.recipient(certification.certificant_id).await?)
    }

    /// One page of a staff queue (oldest first) for `params`, its cursor sealed under `scope`:
    /// each listed item `view` keeps (with its certification) becomes an item of the page.
    pub async fn queue_page<T>(
        &self,
        scope: &str,
        queue: Queue,
        params: &PageParams,
        mut view: impl FnMut(CertificationId, Item) -> Option<T>,
    ) -> Result<Page<T>, ApiError> {
        let (after, limit) = self.page_after(scope, params)?;
        let page = self.app.store.queued(queue, after.as_ref(), limit).await?;
        let items = page
            .items
            .into_iter()
            .filter_map(|entry| match entry.item {
                IndexedItem::Item(item) => view(entry.certification_id, item),
                IndexedItem::Certification(_) => None,
            })
            .collect();
        Ok(self.page_of(scope, items, page.next))
    }

    /// Where a page of a listing sealed under `scope` starts (the cursor of `params`, opened),
    /// and how many items it holds.
    pub fn page_after(
        &self,
        scope: &str,
        params: &PageParams,
    ) -> Result<(Option<IndexCursor>, usize), ApiError> {
        let limit = params.limit()?;
        let after = params
            .cursor
            .as_deref()
            .map(|c| self.cursors.decode(scope, c))
            .transpose()?;
        Ok((after, limit))
    }

    /// A page of `items`, with `next` sealed under `scope` as its cursor.
    pub fn page_of<T>(&self, scope: &str, items: Vec<T>, next: Option<IndexCursor>) -> Page<T> {
        Page {
            items,
            next_cursor: next.map(|c| self.cursors.encode(scope, &c)),
        }
    }

    /// Run a write command on one certification for an HTTP caller: the application's runner
    /// with `Idempotency-Key` replay around it. `decide` returns the domain's changes and the
    /// reply; with a key, the reply is stored in the same commit and replayed for 24 h.
    pub async fn execute<T, F>(
        &self,
        principal: &Principal,
        id: CertificationId,
        idempotency: Option<Idempotency>,
        concurrency: Concurrency,
        mut decide: F,
    ) -> Result<Response, ApiError>
    where
        T: serde::Serialize,
        F: FnMut(&Context<'_>) -> Result<(Changes, Reply<T>), AppError>,
    {
        let outcome = self
            .app
            .command(&principal.actor, id)
            .concurrency(concurrency)
            .run(|ctx| {
                if let Some(idem) = &idempotency
                    && let Some(record) = ctx.aggregate.idempotency_record(&idem.key, ctx.now)
                {
                    return Ok(Decision::Unchanged(
                        if record.request_hash == idem.fingerprint {
                            Outcome::Replay(record.clone())
                        } else {
                            Outcome::KeyReused
                        },
                    ));
                }
                let (changes, reply) = decide(ctx)?;
                let body = if reply.status == StatusCode::NO_CONTENT {
                    String::new()
                } else {
                    serde_json::to_string(&reply.body).map_err(|e| AppError::Internal(e.into()))?
                };
                let record = idempotency.as_ref().map(|idem| {
                    IdempotencyRecord::of_response(
                        idem.key.clone(),
                        idem.fingerprint.clone(),
                        reply.status.as_u16(),
                        reply.location.clone(),
                        body.clone(),
                        ctx.now,
                        ctx.now + Duration::hours(IDEMPOTENCY_TTL_HOURS),
                    )
                });
                Ok(Decision::commit(
                    changes.with_idempotency(record),
                    Outcome::Fresh {
                        status: reply.status,
                        body,
                        location: reply.location,
                        etag: reply.etag,
                    },
                ))
            })
            .await?;
        match outcome {
            Outcome::Fresh {
                status,
                body,
                location,
                etag,
            } => {
                let mut res = json_response(status, body, location.as_deref(), false);
                if let Some(v) = etag.and_then(|e| HeaderValue::from_str(&e).ok()) {
                    res.headers_mut().insert(header::ETAG, v);
                }
                Ok(res)
            }
            Outcome::Replay(record) => Ok(replay(&record)),
            Outcome::KeyReused => Err(ApiError::IdempotencyMismatch(
                "this Idempotency-Key was already used with a different request",
            )),
        }
    }
}

/// The caller of a route: the bearer token, verified by the state's authenticator.
impl FromRequestParts<AppState> for Principal {
    type Rejection = ApiError;

    async fn from_request_parts(
        parts: &mut Parts,
        state: &AppState,
    ) -> Result<Self, Self::Rejection> {
        let value = parts
            .headers
            .get(AUTHORIZATION)
            .ok_or(ApiError::Unauthorized("a bearer token is required"))?;
        let value = value
            .to_str()
            .map_err(|_| ApiError::Unauthorized("the Authorization header is malformed"))?;
        let token = value
            .strip_prefix("Bearer ")
            .or_else(|| value.strip_prefix("bearer "))
            .ok_or(ApiError::Unauthorized(
                "the Authorization header must be `Bearer <token>`",
            ))?;
        state.auth.verify(token.trim()).await
    }
}

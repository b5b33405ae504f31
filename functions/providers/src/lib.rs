//! The `providers` function: partner education providers.
//!
//! - Staff keep the registry: an admin registers a provider (id, name, category, approval
//!   period, contact) and changes it (suspends it, with a reason); every change is in its history.
//! - A provider posts batches of completions (up to 500 rows, JSON or CSV) and gets a result per
//!   row: created, duplicate (posted before: nothing new), unmatched (kept for staff
//!   reconciliation) or rejected with a reason. Posting a batch again is always safe.
//! - A provider lists its postings (paged, by when posted) and voids one with a reason.
//! - Staff work the reconciliation queue: link an unmatched posting to a certification or reject
//!   it; decide a void whose cycle is locked.
//!
//! A provider addresses only its own data: another provider's id in the path is a 404. The
//! rules live in the domain ([`recert_domain::provider`]) and the application
//! ([`recert_app::providers`]); the handlers only translate.

pub mod batch;

use axum::Router;
use axum::extract::State;
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use recert_api::Routes;
use recert_api::error::{PreconditionErrors, ReadErrors, WriteErrors};
use recert_api::etag::{IfMatch, etag_of};
use recert_api::page::{Page, PageParams};
use recert_api::{ApiError, AppState, Json, Path, Principal, Query, Role};
use recert_domain::model::posting::{BatchReport, CompletionRow, Reconciliation};
use recert_domain::provider::{ProviderRegistration, ProviderUpdate};
use recert_domain::{Posting, Provider, ProviderId};
use recert_store::{IndexCursor, Listing};
use serde::Deserialize;

/// Every route of this function, each served at the method and path its `#[utoipa::path]` declares.
pub fn routes() -> Routes {
    recert_api::routes![
        register_provider,
        list_providers,
        get_provider,
        update_provider,
        post_completions,
        list_postings,
        get_posting,
        void_posting,
        reconcile_posting,
        reconciliation_queue,
    ]
}

/// The routes as served.
pub fn router() -> Router<AppState> {
    routes().into_router()
}

fn provider_path(id: &ProviderId) -> String {
    format!("/providers/{}", id.0)
}

/// A JSON answer with the provider's `ETag`.
fn provider_response(status: StatusCode, provider: &Provider, location: bool) -> Response {
    let mut res = (status, axum::Json(provider)).into_response();
    if let Ok(tag) = HeaderValue::from_str(&etag_of(provider)) {
        res.headers_mut().insert(header::ETAG, tag);
    }
    if location && let Ok(loc) = HeaderValue::from_str(&provider_path(&provider.id)) {
        res.headers_mut().insert(header::LOCATION, loc);
    }
    res
}

/// One page of a listing, its cursor sealed under `scope`.
async fn listing_page<T, F, Fut>(
    state: &AppState,
    scope: &str,
    params: &PageParams,
    read: F,
) -> Result<Page<T>, ApiError>
where
    F: FnOnce(Option<IndexCursor>, usize) -> Fut,
    Fut: std::future::Future<Output = Result<Listing<T>, recert_store::StoreError>>,
{
    let (after, limit) = state.page_after(scope, params)?;
    let listing = read(after, limit).await?;
    Ok(state.page_of(scope, listing.items, listing.next))
}

#[utoipa::path(
    post,
    path = "/providers",
    tag = "providers",
    request_body = ProviderRegistration,
    responses(
        (status = 201, description = "Registered (active)", body = Provider, headers(("Location" = String), ("ETag" = String))),
        WriteErrors,
    ),
)]
pub async fn register_provider(
    State(state): State<AppState>,
    principal: Principal,
    Json(input): Json<ProviderRegistration>,
) -> Result<Response, ApiError> {
    let provider = state.app.register_provider(&principal.actor, input).await?;
    Ok(provider_response(StatusCode::CREATED, &provider, true))
}

#[utoipa::path(
    get,
    path = "/providers",
    tag = "providers",
    params(PageParams),
    responses((status = 200, description = "The registry, by provider id", body = Page<Provider>), ReadErrors),
)]
pub async fn list_providers(
    State(state): State<AppState>,
    principal: Principal,
    Query(params): Query<PageParams>,
) -> Result<axum::Json<Page<Provider>>, ApiError> {
    principal.require(&Role::STAFF)?;
    let store = &state.app.store;
    let page = listing_page(&state, "providers", &params, |after, limit| async move {
        store.providers(after.as_ref(), limit).await
    })
    .await?;
    Ok(axum::Json(page))
}

#[utoipa::path(
    get,
    path = "/providers/{provider_id}",
    tag = "providers",
    params(("provider_id" = String, Path)),
    responses((status = 200, description = "The provider, with its history", body = Provider, headers(("ETag" = String))), ReadErrors),
)]
pub async fn get_provider(
    State(state): State<AppState>,
    principal: Principal,
    Path(provider_id): Path<String>,
) -> Result<Response, ApiError> {
    let provider = state
        .app
        .provider_visible(&principal.actor, &ProviderId(provider_id))
        .await?;
    Ok(provider_response(StatusCode::OK, &provider, false))
}

#[utoipa::path(
    patch,
    path = "/providers/{provider_id}",
    tag = "providers",
    params(
        ("provider_id" = String, Path),
        ("If-Match" = Option<String>, Header, description = "The provider's ETag as last read: 412 if it changed since"),
    ),
    request_body = ProviderUpdate,
    responses(
        (status = 200, description = "Changed (each change in the history); a status change needs a reason", body = Provider, headers(("ETag" = String))),
        WriteErrors,
        PreconditionErrors,
    ),
)]
pub async fn update_provider(
    State(state): State<AppState>,
    principal: Principal,
    Path(provider_id): Path<String>,
    headers: HeaderMap,
    Json(update): Json<ProviderUpdate>,
) -> Result<Response, ApiError> {
    let if_match = IfMatch::from_headers(&headers)?;
    let provider = state
        .app
        .update_provider(&principal.actor, &ProviderId(provider_id), update, |p| {
            if_match.as_ref().is_none_or(|m| m.matches(&etag_of(p)))
        })
        .await?;
    Ok(provider_response(StatusCode::OK, &provider, false))
}

/// A batch of completions as JSON (the CSV form has the same fields as columns).
#[derive(Debug, Deserialize, utoipa::ToSchema)]
pub struct CompletionBatch {
    /// Up to 500 rows, each a `CompletionRow`. A row is read on its own: one that is not a valid
    /// `CompletionRow` (a field missing or unknown, a wrong type) is rejected in its result
    /// (`invalid_row`) and the others go on, so any value is taken here.
    #[schema(value_type = Vec<serde_json::Value>, max_items = 500)]
    pub completions: Vec<CompletionRow>,
}

#[utoipa::path(
    post,
    path = "/providers/{provider_id}/completions",
    tag = "providers",
    params(("provider_id" = String, Path, description = "The calling provider's own id")),
    request_body(
        description = "Up to 500 completions: JSON `{\"completions\": [...]}`, or `text/csv` with a header row naming the same fields. Each row stands alone: a row that cannot be read is rejected, the others go on. Posting a batch again is safe: rows posted before come back as duplicates.",
        content(
            (CompletionBatch = "application/json"),
            (String = "text/csv", example = "completion_id,certificate_number,activity_id,title,completed_on,hours_hundredths,ethics_hours_hundredths,canadian_content\nC-1,CPHIMS-00042,WEB-114,Interoperability in practice,2026-03-14,150,0,true\n"),
        )
    ),
    responses(
        (status = 200, description = "A result per row (created, duplicate, unmatched, rejected) and the counts", body = BatchReport),
        WriteErrors,
    ),
)]
pub async fn post_completions(
    State(state): State<AppState>,
    principal: Principal,
    Path(provider_id): Path<String>,
    headers: HeaderMap,
    body: axum::body::Body,
) -> Result<axum::Json<BatchReport>, ApiError> {
    principal.require(&[Role::Provider])?;
    let body = recert_api::extract::body_up_to(body, batch::MAX_BATCH_BYTES).await?;
    let content_type = headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("");
    let rows = batch::rows(batch::Format::of(content_type)?, &body)?;
    let report = state
        .app
        .post_completions(&principal.actor, &ProviderId(provider_id), rows)
        .await?;
    Ok(axum::Json(report))
}

#[utoipa::path(
    get,
    path = "/providers/{provider_id}/postings",
    tag = "providers",
    params(("provider_id" = String, Path), PageParams),
    responses((status = 200, description = "The provider's postings, oldest first, with what became of each", body = Page<Posting>), ReadErrors),
)]
pub async fn list_postings(
    State(state): State<AppState>,
    principal: Principal,
    Path(provider_id): Path<String>,
    Query(params): Query<PageParams>,
) -> Result<axum::Json<Page<Posting>>, ApiError> {
    let provider = ProviderId(provider_id);
    state
        .app
        .provider_visible(&principal.actor, &provider)
        .await?;
    let store = &state.app.store;
    let scope = format!("postings:{}", provider.0);
    let page = listing_page(&state, &scope, &params, |after, limit| {
        let provider = provider.clone();
        async move {
            store
                .provider_postings(&provider, after.as_ref(), limit)
                .await
        }
    })
    .await?;
    Ok(axum::Json(page))
}

#[utoipa::path(
    get,
    path = "/providers/{provider_id}/postings/{completion_id}",
    tag = "providers",
    params(("provider_id" = String, Path), ("completion_id" = String, Path)),
    responses((status = 200, description = "One posting and what became of it", body = Posting), ReadErrors),
)]
pub async fn get_posting(
    State(state): State<AppState>,
    principal: Principal,
    Path((provider_id, completion_id)): Path<(String, String)>,
) -> Result<axum::Json<Posting>, ApiError> {
    let posting = state
        .app
        .posting_visible(&principal.actor, &ProviderId(provider_id), &completion_id)
        .await?;
    Ok(axum::Json(posting))
}

/// Why a posting is voided.
#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct VoidRequest {
    #[schema(
        example = "posted for the wrong attendee",
        max_length = 500,
        pattern = r"^[^\x00-\x1f\x7f-\x9f\u061c\u200e\u200f\u202a-\u202e\u2066-\u2069]*[^\x00-\x1f\x7f-\x9f\u061c\u200e\u200f\u202a-\u202e\u2066-\u2069\s\u00ad\u200b-\u200d\u2060\ufeff][^\x00-\x1f\x7f-\x9f\u061c\u200e\u200f\u202a-\u202e\u2066-\u2069]*$"
    )]
    pub reason: String,
}

#[utoipa::path(
    post,
    path = "/providers/{provider_id}/postings/{completion_id}/void",
    tag = "providers",
    params(("provider_id" = String, Path), ("completion_id" = String, Path)),
    request_body = VoidRequest,
    responses(
        (status = 200, description = "Voided: the entry left the transcript; or, when its cycle is locked by a submission, the void waits for staff (`void_requested`)", body = Posting),
        WriteErrors,
    ),
)]
pub async fn void_posting(
    State(state): State<AppState>,
    principal: Principal,
    Path((provider_id, completion_id)): Path<(String, String)>,
    Json(input): Json<VoidRequest>,
) -> Result<axum::Json<Posting>, ApiError> {
    let posting = state
        .app
        .void_posting(
            &principal.actor,
            &ProviderId(provider_id),
            &completion_id,
            &input.reason,
        )
        .await?;
    Ok(axum::Json(posting))
}

#[utoipa::path(
    post,
    path = "/providers/{provider_id}/postings/{completion_id}/reconciliation",
    tag = "providers",
    params(("provider_id" = String, Path), ("completion_id" = String, Path)),
    request_body = Reconciliation,
    responses(
        (status = 200, description = "Decided: linked (its entry is on the certification's transcript), rejected, or the void decided", body = Posting),
        WriteErrors,
    ),
)]
pub async fn reconcile_posting(
    State(state): State<AppState>,
    principal: Principal,
    Path((provider_id, completion_id)): Path<(String, String)>,
    Json(decision): Json<Reconciliation>,
) -> Result<axum::Json<Posting>, ApiError> {
    let posting = state
        .app
        .reconcile_posting(
            &principal.actor,
            &ProviderId(provider_id),
            &completion_id,
            decision,
        )
        .await?;
    Ok(axum::Json(posting))
}

#[utoipa::path(
    get,
    path = "/reconciliation-queue",
    tag = "providers",
    params(PageParams),
    responses((status = 200, description = "Postings waiting for staff (unmatched rows, voids on locked cycles), oldest first", body = Page<Posting>), ReadErrors),
)]
pub async fn reconciliation_queue(
    State(state): State<AppState>,
    principal: Principal,
    Query(params): Query<PageParams>,
) -> Result<axum::Json<Page<Posting>>, ApiError> {
    principal.require(&recert_app::providers::RECONCILERS)?;
    let store = &state.app.store;
    let page = listing_page(
        &state,
        "reconciliation-queue",
        &params,
        |after, limit| async move { store.reconciliation_queue(after.as_ref(), limit).await },
    )
    .await?;
    Ok(axum::Json(page))
}

//! The `waivers` function: waiver and extension requests.
//!
//! - A certificant (or an admin on their behalf) asks for an extension (a later closing date) or
//!   a waiver (lower minimums for named requirements), with a reason, no later than the waiver
//!   cutoff that `GET …/eligibility` reports; one open request per cycle; they may withdraw it
//!   while it is open.
//! - The committee works its queue (oldest first, age visible) and approves (granting what was
//!   asked, or a date or reductions within the rules file's bounds) or denies, with a note; the
//!   certificant is emailed. A granted extension moves the closing date at once; a granted waiver
//!   lowers the minimums eligibility reports (each marked as waived).
//!
//! The rules live in the domain ([`recert_domain::waiver`]); the handlers only translate.

use axum::Router;
use axum::extract::State;
use axum::response::Response;
use chrono::{DateTime, Utc};
use recert_api::error::{ReadErrors, WriteErrors};
use recert_api::page::{Page, PageParams};
use recert_api::{ApiError, AppState, Concurrency, Json, Path, Principal, Query, Reply, Role};
use recert_api::{IdempotencyKey, Routes};
use recert_domain::model::waiver::{WaiverDecisionInput, WaiverRequest, WaiverRequestInput};
use recert_domain::{CertificationId, Item, Queue};
use serde::Serialize;

/// Who may ask and withdraw: the certificant, or an admin on their behalf.
const REQUESTERS: [Role; 2] = [Role::Certificant, Role::Admin];
/// Who decides requests.
const COMMITTEE: [Role; 2] = [Role::Committee, Role::Admin];

/// Every route of this function, each served at the method and path its `#[utoipa::path]` declares.
pub fn routes() -> Routes {
    recert_api::routes![
        create_request,
        list_requests,
        get_request,
        withdraw_request,
        decide_request,
        waiver_queue,
    ]
}

/// The routes as served.
pub fn router() -> Router<AppState> {
    routes().into_router()
}

fn request_path(certification: CertificationId, request: uuid::Uuid) -> String {
    format!("/certifications/{certification}/waiver-requests/{request}")
}

/// The current cycle's requests, oldest first.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct WaiverRequests {
    pub items: Vec<WaiverRequest>,
}

/// An open request in the committee's queue.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct QueuedWaiverRequest {
    pub certification_id: CertificationId,
    pub request: WaiverRequest,
    pub waiting_since: DateTime<Utc>,
    pub waiting_days: i64,
}

#[utoipa::path(
    post,
    path = "/certifications/{certification_id}/waiver-requests",
    tag = "waivers",
    params(
        ("certification_id" = CertificationId, Path),
        IdempotencyKey,
    ),
    request_body = WaiverRequestInput,
    responses(
        (status = 201, description = "Requested: it waits for the committee", body = WaiverRequest, headers(("Location" = String))),
        WriteErrors,
    ),
)]
pub async fn create_request(
    State(state): State<AppState>,
    principal: Principal,
    Path(certification_id): Path<CertificationId>,
    key: IdempotencyKey,
    Json(input): Json<WaiverRequestInput>,
) -> Result<Response, ApiError> {
    principal.require(&REQUESTERS)?;
    let idempotency = key.bind(&principal, &input);
    let request_id = uuid::Uuid::now_v7();
    state
        .execute(
            &principal,
            certification_id,
            idempotency,
            Concurrency::Commutes,
            |ctx| {
                let (request, changes) =
                    ctx.aggregate
                        .request_waiver(&ctx.decide(), request_id, input.clone())?;
                Ok((
                    changes,
                    Reply::created(request_path(certification_id, request.id), request),
                ))
            },
        )
        .await
}

#[utoipa::path(
    get,
    path = "/certifications/{certification_id}/waiver-requests",
    tag = "waivers",
    params(("certification_id" = CertificationId, Path)),
    responses((status = 200, description = "The current cycle's requests, oldest first", body = WaiverRequests), ReadErrors),
)]
pub async fn list_requests(
    State(state): State<AppState>,
    principal: Principal,
    Path(certification_id): Path<CertificationId>,
) -> Result<axum::Json<WaiverRequests>, ApiError> {
    let aggregate = state
        .app
        .load_visible(&principal.actor, certification_id)
        .await?;
    Ok(axum::Json(WaiverRequests {
        items: aggregate.current_waiver_requests().cloned().collect(),
    }))
}

#[utoipa::path(
    get,
    path = "/certifications/{certification_id}/waiver-requests/{request_id}",
    tag = "waivers",
    params(("certification_id" = CertificationId, Path), ("request_id" = uuid::Uuid, Path)),
    responses((status = 200, description = "One request of the current cycle", body = WaiverRequest), ReadErrors),
)]
pub async fn get_request(
    State(state): State<AppState>,
    principal: Principal,
    Path((certification_id, request_id)): Path<(CertificationId, uuid::Uuid)>,
) -> Result<axum::Json<WaiverRequest>, ApiError> {
    let aggregate = state
        .app
        .load_visible(&principal.actor, certification_id)
        .await?;
    Ok(axum::Json(aggregate.waiver_request(request_id)?.clone()))
}

#[utoipa::path(
    post,
    path = "/certifications/{certification_id}/waiver-requests/{request_id}/withdraw",
    tag = "waivers",
    params(("certification_id" = CertificationId, Path), ("request_id" = uuid::Uuid, Path)),
    responses((status = 200, description = "Withdrawn", body = WaiverRequest), WriteErrors),
)]
pub async fn withdraw_request(
    State(state): State<AppState>,
    principal: Principal,
    Path((certification_id, request_id)): Path<(CertificationId, uuid::Uuid)>,
) -> Result<Response, ApiError> {
    principal.require(&REQUESTERS)?;
    state
        .execute(
            &principal,
            certification_id,
            None,
            Concurrency::Commutes,
            |ctx| {
                let (request, changes) = ctx
                    .aggregate
                    .withdraw_waiver_request(&ctx.decide(), request_id)?;
                Ok((changes, Reply::ok(request)))
            },
        )
        .await
}

#[utoipa::path(
    post,
    path = "/certifications/{certification_id}/waiver-requests/{request_id}/decision",
    tag = "waivers",
    params(("certification_id" = CertificationId, Path), ("request_id" = uuid::Uuid, Path)),
    request_body = WaiverDecisionInput,
    responses(
        (status = 200, description = "Decided: the certificant is emailed; an extension moves the closing date at once", body = WaiverRequest),
        WriteErrors,
    ),
)]
pub async fn decide_request(
    State(state): State<AppState>,
    principal: Principal,
    Path((certification_id, request_id)): Path<(CertificationId, uuid::Uuid)>,
    Json(input): Json<WaiverDecisionInput>,
) -> Result<Response, ApiError> {
    principal.require(&COMMITTEE)?;
    let to = state.recipient(&principal, certification_id).await?;
    state
        .execute(
            &principal,
            certification_id,
            None,
            Concurrency::Commutes,
            |ctx| {
                let (request, changes) = ctx.aggregate.decide_waiver_request(
                    &ctx.decide(),
                    request_id,
                    input.clone(),
                    to.clone(),
                )?;
                Ok((changes, Reply::ok(request)))
            },
        )
        .await
}

#[utoipa::path(
    get,
    path = "/waiver-queue",
    tag = "waivers",
    params(PageParams),
    responses((status = 200, description = "Open requests waiting for the committee, oldest first", body = Page<QueuedWaiverRequest>), ReadErrors),
)]
pub async fn waiver_queue(
    State(state): State<AppState>,
    principal: Principal,
    Query(params): Query<PageParams>,
) -> Result<axum::Json<Page<QueuedWaiverRequest>>, ApiError> {
    principal.require(&COMMITTEE)?;
    let today = state.app.clock.today();
    let page = state
        .queue_page(
            "waiver-queue",
            Queue::WaiverDecision,
            &params,
            |certification_id, item| {
                let Item::WaiverRequest(request) = item else {
                    return None;
                };
                Some(QueuedWaiverRequest {
                    certification_id,
                    waiting_since: request.requested_at,
                    waiting_days: (today - request.requested_at.date_naive()).num_days(),
                    request,
                })
            },
        )
        .await?;
    Ok(axum::Json(page))
}

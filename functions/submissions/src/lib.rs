//! The `submissions` function: the renewal itself.
//!
//! - A certificant submits the current cycle's renewal inside the window (attested, billed, priced
//!   by the membership status on record), and may withdraw it until it is paid.
//! - The payment processor's webhook (no JWT: its signature is verified here, Stripe or Standard
//!   Webhooks) applies each payment event once; staff may record a payment made otherwise.
//! - Reviewers work the queue of paid submissions, oldest first, and approve (the expiration moves
//!   one cycle from the old one) or return with reasons.
//! - The certificate: the certification's current status, as JSON and as a printable page.

use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, HeaderValue, header};
use axum::response::{IntoResponse, Response};
use axum::{Extension, Router};
use chrono::{DateTime, NaiveDate, Utc};
use recert_api::error::{ReadErrors, WriteErrors};
use recert_api::page::{Page, PageParams};
use recert_api::{ApiError, AppState, Concurrency, Json, Path, Principal, Query, Reply, Role};
use recert_api::{IdempotencyKey, Routes};
use recert_app::runner::Context;
use recert_domain::Item;
use recert_domain::model::submission::{
    BillingAddress, PaymentEventFacts, ReturnReason, SubmitRequest,
};
use recert_domain::{
    CertificantId, Certification, CertificationId, CertificationStatus, Changes, Credential,
    Membership, Queue, Recipient, Submission,
};
use recert_webhooks::{PaymentKind, Verifier, WebhookError};
use serde::{Deserialize, Serialize};
use std::sync::Arc;

/// Who may decide submissions and record payments.
const REVIEWERS: [Role; 2] = [Role::Reviewer, Role::Admin];
/// Who may submit and withdraw: the certificant, or an admin on their behalf.
const SUBMITTERS: [Role; 2] = [Role::Certificant, Role::Admin];

/// Every route of this function, each served at the method and path its `#[utoipa::path]` declares.
pub fn routes() -> Routes {
    recert_api::routes![
        submit,
        list_submissions,
        get_submission,
        withdraw,
        record_payment,
        approve,
        return_submission,
        review_queue,
        payment_webhook,
        get_certificate,
        certificate_page,
    ]
}

/// The routes as served, with what they use.
pub fn router_with(verifier: Verifier) -> Router<AppState> {
    routes().into_router().layer(Extension(Arc::new(verifier)))
}

/// A renewal submission as the certificant sends it.
#[derive(Debug, Clone, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewSubmission {
    /// Must be `true`: the certificant attests the rules' current attestation text.
    pub attestation: Option<bool>,
    /// The attestation version the certificant read (optional; refused if not the current one).
    #[serde(default)]
    pub attestation_version: Option<String>,
    pub billing_address: BillingAddress,
}

#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct SubmissionList {
    /// The current cycle's submissions, oldest first.
    pub items: Vec<Submission>,
}

/// A payment recorded by staff (a cheque, an invoice).
#[derive(Debug, Clone, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct StaffPayment {
    /// The cheque number, invoice or transfer reference (trimmed: 1 to 200 characters).
    #[schema(max_length = 200, pattern = r"\S")]
    pub reference: String,
    #[schema(minimum = 1)]
    pub amount_minor: i64,
    /// An ISO 4217 code.
    #[schema(example = "USD", pattern = "^[A-Za-z]{3}$")]
    pub currency: String,
}

/// Why a submission goes back to the certificant.
#[derive(Debug, Clone, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ReturnRequest {
    /// At least one reason: about an entry (`entry_id`) or overall.
    #[schema(min_items = 1)]
    pub reasons: Vec<ReturnReason>,
}

/// A paid submission waiting for review.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct QueuedSubmission {
    pub certification_id: CertificationId,
    pub submission: Submission,
    /// When it entered the queue (paid).
    pub waiting_since: DateTime<Utc>,
    /// Whole days it has waited.
    pub waiting_days: i64,
    /// The service level: reviewed by this day.
    pub review_due_on: NaiveDate,
    /// The 7-day service level is breached.
    pub overdue: bool,
}

/// What the webhook did with an event.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct WebhookOutcome {
    /// `applied`, `duplicate` (applied before) or `ignored` (not about a submission we hold).
    pub outcome: &'static str,
}

/// A certification's current status: what a certificate states.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct CertificateStatus {
    pub holder: String,
    pub credential: Credential,
    pub certificate_number: String,
    /// The first day of the current cycle.
    pub valid_from: NaiveDate,
    pub valid_until: NaiveDate,
    pub status: CertificationStatus,
}

/// A decision on one submission (withdraw, a payment, approve, return): the runner with no
/// idempotency key (each is naturally idempotent: a second one finds the state changed), answering
/// the submission as it now stands.
async fn decide(
    state: &AppState,
    principal: &Principal,
    certification_id: CertificationId,
    mut decision: impl FnMut(&Context<'_>) -> Result<(Submission, Changes), recert_domain::DomainError>,
) -> Result<Response, ApiError> {
    state
        .execute(
            principal,
            certification_id,
            None,
            Concurrency::Commutes,
            |ctx| {
                let (renewal, changes) = decision(ctx)?;
                Ok((changes, Reply::ok(renewal)))
            },
        )
        .await
}

fn submission_path(certification: CertificationId, submission: uuid::Uuid) -> String {
    format!("/certifications/{certification}/submissions/{submission}")
}

/// The certificant of a certification, as a notice's recipient (and their membership on record).
async fn holder(
    state: &AppState,
    certificant: CertificantId,
) -> Result<(Recipient, Membership), ApiError> {
    let c = state
        .app
        .store
        .certificant(certificant)
        .await?
        .ok_or(ApiError::NotFound("certificant"))?;
    Ok((Recipient::from(&c), c.membership))
}

/// The certification (its root) the caller may see, and its holder.
async fn visible(
    state: &AppState,
    principal: &Principal,
    id: CertificationId,
) -> Result<(Certification, Recipient, Membership), ApiError> {
    let certification = state
        .app
        .certification_visible(&principal.actor, id)
        .await?;
    let (recipient, membership) = holder(state, certification.certificant_id).await?;
    Ok((certification, recipient, membership))
}

#[utoipa::path(
    post,
    path = "/certifications/{certification_id}/submissions",
    tag = "submissions",
    params(
        ("certification_id" = CertificationId, Path),
        IdempotencyKey,
    ),
    request_body = NewSubmission,
    responses(
        (status = 201, description = "Submitted: pay the fee to move it to review", body = Submission, headers(("Location" = String))),
        WriteErrors,
    ),
)]
pub async fn submit(
    State(state): State<AppState>,
    principal: Principal,
    Path(certification_id): Path<CertificationId>,
    key: IdempotencyKey,
    Json(input): Json<NewSubmission>,
) -> Result<Response, ApiError> {
    principal.require(&SUBMITTERS)?;
    let idempotency = key.bind(&principal, &input);
    let (_, _, membership) = visible(&state, &principal, certification_id).await?;
    let submission_id = uuid::Uuid::now_v7();
    state
        .execute(
            &principal,
            certification_id,
            idempotency,
            Concurrency::Commutes,
            |ctx| {
                let request = SubmitRequest {
                    attestation: input.attestation,
                    attestation_version: input.attestation_version.clone(),
                    billing_address: input.billing_address.clone(),
                };
                let (renewal, changes) =
                    ctx.aggregate
                        .submit(&ctx.decide(), request, membership, submission_id)?;
                Ok((
                    changes,
                    Reply::created(submission_path(certification_id, renewal.id), renewal),
                ))
            },
        )
        .await
}

#[utoipa::path(
    get,
    path = "/certifications/{certification_id}/submissions",
    tag = "submissions",
    params(("certification_id" = CertificationId, Path)),
    responses((status = 200, body = SubmissionList), ReadErrors),
)]
pub async fn list_submissions(
    State(state): State<AppState>,
    principal: Principal,
    Path(certification_id): Path<CertificationId>,
) -> Result<axum::Json<SubmissionList>, ApiError> {
    let aggregate = state
        .app
        .load_visible(&principal.actor, certification_id)
        .await?;
    Ok(axum::Json(SubmissionList {
        items: aggregate.renewals,
    }))
}

#[utoipa::path(
    get,
    path = "/certifications/{certification_id}/submissions/{submission_id}",
    tag = "submissions",
    params(("certification_id" = CertificationId, Path), ("submission_id" = uuid::Uuid, Path)),
    responses((status = 200, body = Submission), ReadErrors),
)]
pub async fn get_submission(
    State(state): State<AppState>,
    principal: Principal,
    Path((certification_id, submission_id)): Path<(CertificationId, uuid::Uuid)>,
) -> Result<axum::Json<Submission>, ApiError> {
    let aggregate = state
        .app
        .load_visible(&principal.actor, certification_id)
        .await?;
    aggregate
        .renewals
        .into_iter()
        .find(|r| r.id == submission_id)
        .map(axum::Json)
        .ok_or(ApiError::NotFound("submission"))
}

#[utoipa::path(
    post,
    path = "/certifications/{certification_id}/submissions/{submission_id}/withdraw",
    tag = "submissions",
    params(("certification_id" = CertificationId, Path), ("submission_id" = uuid::Uuid, Path)),
    responses((status = 200, description = "Withdrawn: the entries are unlocked", body = Submission), WriteErrors),
)]
pub async fn withdraw(
    State(state): State<AppState>,
    principal: Principal,
    Path((certification_id, submission_id)): Path<(CertificationId, uuid::Uuid)>,
) -> Result<Response, ApiError> {
    principal.require(&SUBMITTERS)?;
    decide(&state, &principal, certification_id, |ctx| {
        ctx.aggregate.withdraw(&ctx.decide(), submission_id)
    })
    .await
}

#[utoipa::path(
    post,
    path = "/certifications/{certification_id}/submissions/{submission_id}/payments",
    tag = "submissions",
    params(("certification_id" = CertificationId, Path), ("submission_id" = uuid::Uuid, Path)),
    request_body = StaffPayment,
    responses((status = 200, description = "Recorded (and, if it pays the fee, the submission moves to review)", body = Submission), WriteErrors),
)]
pub async fn record_payment(
    State(state): State<AppState>,
    principal: Principal,
    Path((certification_id, submission_id)): Path<(CertificationId, uuid::Uuid)>,
    Json(input): Json<StaffPayment>,
) -> Result<Response, ApiError> {
    principal.require(&REVIEWERS)?;
    let reference = input.reference.trim().to_owned();
    if reference.is_empty() || reference.chars().count() > 200 {
        return Err(ApiError::field("reference", "must be 1 to 200 characters"));
    }
    if input.amount_minor <= 0 {
        return Err(ApiError::field("amount_minor", "must be more than zero"));
    }
    if input.currency.len() != 3 || !input.currency.bytes().all(|b| b.is_ascii_alphabetic()) {
        return Err(ApiError::field(
            "currency",
            "must be an ISO 4217 code, e.g. USD",
        ));
    }
    let (_, recipient, _) = visible(&state, &principal, certification_id).await?;
    decide(&state, &principal, certification_id, |ctx| {
        ctx.aggregate.record_payment(
            &ctx.decide(),
            submission_id,
            reference.clone(),
            input.amount_minor,
            input.currency.clone(),
            recipient.clone(),
        )
    })
    .await
}

#[utoipa::path(
    post,
    path = "/certifications/{certification_id}/submissions/{submission_id}/approve",
    tag = "review",
    params(("certification_id" = CertificationId, Path), ("submission_id" = uuid::Uuid, Path)),
    responses((status = 200, description = "Approved: the certification's expiration moved one cycle", body = Submission), WriteErrors),
)]
pub async fn approve(
    State(state): State<AppState>,
    principal: Principal,
    Path((certification_id, submission_id)): Path<(CertificationId, uuid::Uuid)>,
) -> Result<Response, ApiError> {
    principal.require(&REVIEWERS)?;
    let (_, recipient, _) = visible(&state, &principal, certification_id).await?;
    // Two reviewers at once: the loser re-runs on fresh state and finds it decided (409).
    decide(&state, &principal, certification_id, |ctx| {
        ctx.aggregate
            .approve(&ctx.decide(), submission_id, recipient.clone())
    })
    .await
}

#[utoipa::path(
    post,
    path = "/certifications/{certification_id}/submissions/{submission_id}/return",
    tag = "review",
    params(("certification_id" = CertificationId, Path), ("submission_id" = uuid::Uuid, Path)),
    request_body = ReturnRequest,
    responses((status = 200, description = "Returned: the entries are unlocked; a resubmission does not pay again", body = Submission), WriteErrors),
)]
pub async fn return_submission(
    State(state): State<AppState>,
    principal: Principal,
    Path((certification_id, submission_id)): Path<(CertificationId, uuid::Uuid)>,
    Json(input): Json<ReturnRequest>,
) -> Result<Response, ApiError> {
    principal.require(&REVIEWERS)?;
    let (_, recipient, _) = visible(&state, &principal, certification_id).await?;
    decide(&state, &principal, certification_id, |ctx| {
        ctx.aggregate.return_submission(
            &ctx.decide(),
            submission_id,
            input.reasons.clone(),
            recipient.clone(),
        )
    })
    .await
}

#[utoipa::path(
    get,
    path = "/review-queue",
    tag = "review",
    params(PageParams),
    responses((status = 200, description = "Paid submissions waiting for review, oldest first", body = Page<QueuedSubmission>), ReadErrors),
)]
pub async fn review_queue(
    State(state): State<AppState>,
    principal: Principal,
    Query(params): Query<PageParams>,
) -> Result<axum::Json<Page<QueuedSubmission>>, ApiError> {
    principal.require(&[Role::Reviewer, Role::Auditor, Role::Admin])?;
    let today = state.app.clock.today();
    let rules = state.app.rules.clone();
    let page = state
        .queue_page(
            "review-queue",
            Queue::RenewalReview,
            &params,
            |certification_id, item| {
                let Item::Submission(r) = item else {
                    return None;
                };
                let waiting_since = r.paid_at.unwrap_or(r.submitted_at);
                let due_days = i64::from(
                    rules
                        .for_cycle_starting(r.cycle_starts_on)
                        .deadlines
                        .review_due_days,
                );
                let review_due_on = waiting_since.date_naive() + chrono::Duration::days(due_days);
                Some(QueuedSubmission {
                    certification_id,
                    waiting_days: (today - waiting_since.date_naive()).num_days(),
                    overdue: today > review_due_on,
                    review_due_on,
                    waiting_since,
                    submission: r,
                })
            },
        )
        .await?;
    Ok(axum::Json(page))
}

fn webhook_problem(e: &WebhookError) -> ApiError {
    match e {
        WebhookError::Stale { .. } => ApiError::bad_request(
            "stale_webhook",
            "the webhook's timestamp is outside the 5-minute tolerance",
        ),
        WebhookError::BadPayload(why) => ApiError::bad_request(
            "invalid_webhook_payload",
            format!("the event cannot be read: {why}"),
        ),
        _ => ApiError::Unauthorized("the webhook signature is missing or does not verify"),
    }
}

#[utoipa::path(
    post,
    path = "/webhooks/payments",
    // Public: no bearer token (overrides the document's default).
    security(),
    tag = "payments",
    params(
        ("Stripe-Signature" = Option<String>, Header, description = "Stripe: `t=<unix>,v1=<hex HMAC-SHA256 of \"t.body\">` (one of the signature schemes)"),
        ("webhook-id" = Option<String>, Header, description = "Standard Webhooks: the event id"),
        ("webhook-timestamp" = Option<String>, Header, description = "Standard Webhooks: unix seconds"),
        ("webhook-signature" = Option<String>, Header, description = "Standard Webhooks: `v1,<base64 HMAC-SHA256 of \"id.timestamp.body\">`"),
    ),
    request_body(content = serde_json::Value, content_type = "application/json", description = "The processor's event, verified against its signature before it is read"),
    responses(
        (status = 200, description = "Accepted: applied, a duplicate, or not about a submission we hold", body = WebhookOutcome),
        (status = 400, description = "A stale timestamp or an unreadable event", body = recert_api::Problem, content_type = "application/problem+json"),
        (status = 401, description = "A missing or forged signature", body = recert_api::Problem, content_type = "application/problem+json"),
    ),
)]
pub async fn payment_webhook(
    State(state): State<AppState>,
    Extension(verifier): Extension<Arc<Verifier>>,
    headers: HeaderMap,
    body: Bytes,
) -> Result<axum::Json<WebhookOutcome>, ApiError> {
    let pairs: Vec<(String, String)> = headers
        .iter()
        .filter_map(|(k, v)| Some((k.as_str().to_owned(), v.to_str().ok()?.to_owned())))
        .collect();
    let now = state.app.clock.now();
    let event = verifier.verify(&pairs, &body, now).map_err(|e| {
        tracing::warn!(error = %e, "payment webhook refused");
        webhook_problem(&e)
    })?;
    let ignored = || axum::Json(WebhookOutcome { outcome: "ignored" });
    let (succeeded, refunded) = match event.kind {
        PaymentKind::Succeeded => (true, false),
        PaymentKind::Failed => (false, false),
        PaymentKind::Refunded => (false, true),
        PaymentKind::Other(_) => return Ok(ignored()),
    };
    let Some(order) = event.order_number.as_deref() else {
        tracing::warn!("payment event without an order number; ignored");
        return Ok(ignored());
    };
    let facts = PaymentEventFacts {
        event_id: event.event_id.clone(),
        succeeded,
        refunded,
        amount_minor: event.amount_minor,
        currency: event.currency.clone(),
        reference: event.payment_reference.clone(),
    };
    let outcome = state.app.apply_payment_event(order, &facts).await?.as_str();
    tracing::info!(outcome, "payment webhook");
    Ok(axum::Json(WebhookOutcome { outcome }))
}

async fn certificate_of(
    state: &AppState,
    principal: &Principal,
    id: CertificationId,
) -> Result<CertificateStatus, ApiError> {
    let (c, recipient, _) = visible(state, principal, id).await?;
    Ok(CertificateStatus {
        holder: recipient.full_name,
        credential: c.credential,
        valid_from: c.cycle_starts_on,
        valid_until: c.cycle().counting_ends_on(),
        status: c.status,
        certificate_number: c.certificate_number,
    })
}

#[utoipa::path(
    get,
    path = "/certifications/{certification_id}/certificate",
    tag = "submissions",
    params(("certification_id" = CertificationId, Path)),
    responses((status = 200, description = "What the certificate states today", body = CertificateStatus), ReadErrors),
)]
pub async fn get_certificate(
    State(state): State<AppState>,
    principal: Principal,
    Path(certification_id): Path<CertificationId>,
) -> Result<axum::Json<CertificateStatus>, ApiError> {
    Ok(axum::Json(
        certificate_of(&state, &principal, certification_id).await?,
    ))
}

#[utoipa::path(
    get,
    path = "/certifications/{certification_id}/certificate.html",
    tag = "submissions",
    params(("certification_id" = CertificationId, Path)),
    responses((status = 200, description = "A printable certificate", content_type = "text/html", body = String), ReadErrors),
)]
pub async fn certificate_page(
    State(state): State<AppState>,
    principal: Principal,
    Path(certification_id): Path<CertificationId>,
) -> Result<Response, ApiError> {
    let status = certificate_of(&state, &principal, certification_id).await?;
    let html =
        recert_notify::templates::certificate_page(&recert_notify::templates::CertificateFacts {
            holder: status.holder,
            credential: status.credential.to_string(),
            certificate_number: status.certificate_number,
            valid_from: status.valid_from,
            valid_until: status.valid_until,
            active: status.status == CertificationStatus::Active,
        })
        .map_err(ApiError::internal)?;
    let mut res = html.into_response();
    res.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("text/html; charset=utf-8"),
    );
    Ok(res)
}

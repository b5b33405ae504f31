//! Staff record an exam pass (`POST /certifications/{id}/exam-passes`, admin only): an active
//! certification is renewed as the CE path would renew it (one cycle from the old expiration), a
//! lapsed or revoked one is reinstated with a new cycle from the pass date. The rules are the
//! domain's (`recert_domain::exam`); this handler checks the role, finds the holder to email, and
//! runs the command with `Idempotency-Key` replay.

use axum::extract::State;
use axum::response::Response;
use chrono::NaiveDate;
use recert_api::IdempotencyKey;
use recert_api::error::WriteErrors;
use recert_api::{ApiError, AppState, Concurrency, Json, Path, Principal, Reply, Role};
use recert_domain::{Certification, CertificationId, ExamOutcome, HistoryKind};
use serde::{Deserialize, Serialize};

/// An exam pass, as staff record it.
#[derive(Debug, Clone, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewExamPass {
    /// The day the exam was passed: not in the future, and after the current cycle's first day.
    #[schema(example = "2026-10-15")]
    pub passed_on: NaiveDate,
    /// The exam's reference (a result or sitting number): 1 to 64 characters.
    #[schema(example = "EXAM-2026-10-0042")]
    pub reference: String,
}

/// What recording the pass did, and the certification as it now is.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct ExamPassRecorded {
    /// `renewed` (it was active: the expiration moved one cycle from the old one) or
    /// `reinstated` (it had lapsed or was revoked: a new cycle from the pass date).
    pub outcome: ExamOutcome,
    pub passed_on: NaiveDate,
    /// The reference as recorded (trimmed).
    pub reference: String,
    /// Active, with its new cycle (`cycle_starts_on`) and expiration (`expires_on`).
    pub certification: Certification,
}

#[utoipa::path(
    post,
    path = "/certifications/{certification_id}/exam-passes",
    tag = "certifications",
    params(
        ("certification_id" = CertificationId, Path),
        IdempotencyKey,
    ),
    request_body = NewExamPass,
    responses(
        (status = 200, description = "Recorded: the certification is renewed (active: one cycle from the old expiration) or reinstated (lapsed or revoked: a new cycle from the pass date); the certificant is emailed", body = ExamPassRecorded, headers(("ETag" = String, description = "The certification's new version (`\"v<version>\"`)"))),
        WriteErrors,
    ),
)]
pub async fn record_exam_pass(
    State(state): State<AppState>,
    principal: Principal,
    Path(certification_id): Path<CertificationId>,
    key: IdempotencyKey,
    Json(input): Json<NewExamPass>,
) -> Result<Response, ApiError> {
    // Staff who issue certifications reinstate them.
    principal.require(&[Role::Admin])?;
    let idempotency = key.bind(&principal, &input);
    let recipient = state.recipient(&principal, certification_id).await?;
    state
        .execute(
            &principal,
            certification_id,
            idempotency,
            Concurrency::Commutes,
            |ctx| {
                let (outcome, changes) = ctx.aggregate.record_exam_pass(
                    &ctx.decide(),
                    input.passed_on,
                    &input.reference,
                    recipient.clone(),
                )?;
                let reference = match &changes.event().kind {
                    HistoryKind::ExamPassed { reference, .. } => reference.clone(),
                    _ => input.reference.trim().to_owned(),
                };
                let certification = changes.certification().clone();
                let etag = format!("\"v{}\"", certification.version);
                let body = ExamPassRecorded {
                    outcome,
                    passed_on: input.passed_on,
                    reference,
                    certification,
                };
                Ok((changes, Reply::ok(body).tagged(etag)))
            },
        )
        .await
}

//! The `audits` function: the random audit, for certificants, auditors and anyone who checks.
//!
//! - Anyone (no token) reads a period's seed commitment, its seed once revealed, and every draw
//!   record, to re-run the draw with the public `consistent-sampler` package.
//! - The selected certificant declares each file (name, type, exact size, SHA-256), gets a
//!   presigned upload for exactly that file, uploads it straight to the evidence store, and then
//!   responds; the response checks the store holds every file it names.
//! - Auditors work their queue (oldest first, age visible) and decide each entry; the domain
//!   decides what follows (passed → review, extra time once, or failed → revoked).
//!
//! The daily draw and the deadline job run in this crate's `audit-jobs` binary
//! ([`recert_app::audit`]).

use axum::extract::State;
use axum::response::Response;
use axum::{Extension, Router};
use chrono::{DateTime, Utc};
use recert_api::error::{ReadErrors, WriteErrors};
use recert_api::page::{Page, PageParams};
use recert_api::{ApiError, AppState, Concurrency, Json, Path, Principal, Query, Reply, Role};
use recert_api::{IdempotencyKey, Routes};
use recert_domain::ConflictCode;
use recert_domain::audit::{
    Audit, AuditStatus, DecisionInput, DrawRecord, Evidence, EvidenceDeclaration, Period,
    PublicPeriod,
};
use recert_domain::{CertificationAggregate, CertificationId, EntryId, Item, Queue};
use recert_evidence::{DownloadTicket, EvidenceStore, EvidenceType, UploadSpec, UploadTicket};
use recert_store::IndexCursor;
use serde::{Deserialize, Serialize};
use std::collections::BTreeSet;
use std::sync::Arc;
use std::time::Duration;

use recert_app::jobs::Job;
use recert_app::schedule::run_scheduled;
pub use recert_app::schedule::{JobError, JobInput, JobOutput};

/// The jobs the `audit-jobs` binary runs.
pub const JOBS: [Job; 2] = [Job::AuditDraw, Job::AuditDeadlines];

/// Run the audit job `input` names for its scheduled date. The draw checks that date against the
/// clock: a schedule's late retry is taken up to a day, any other date is refused.
pub async fn run_job(app: &recert_app::App, input: JobInput) -> Result<JobOutput, JobError> {
    run_scheduled(app, input, &JOBS).await
}

/// The KMS key the audit jobs seal seeds with ([`recert_keys::kms::KEY_ID_ENV`], required).
pub fn seed_key(sdk: &aws_types::SdkConfig) -> Result<recert_keys::kms::KmsKey, String> {
    recert_keys::kms::KmsKey::from_env(sdk).ok_or_else(|| {
        format!(
            "{} is not set: the audit jobs seal each period's seed under that KMS key",
            recert_keys::kms::KEY_ID_ENV
        )
    })
}

/// Who may decide audits.
const AUDITORS: [Role; 2] = [Role::Auditor, Role::Admin];
/// Who may document and respond: the certificant, or an admin on their behalf.
const RESPONDERS: [Role; 2] = [Role::Certificant, Role::Admin];

/// Where evidence goes, and the limits of an upload.
#[derive(Debug, Clone)]
pub struct EvidenceUploads {
    pub store: Arc<dyn EvidenceStore>,
    /// The largest file taken.
    pub max_bytes: u64,
    /// How long an upload URL is valid.
    pub upload_ttl: Duration,
}

/// The environment variable with the largest evidence file taken, in bytes.
pub const MAX_BYTES_ENV: &str = "EVIDENCE_MAX_BYTES";
/// The default largest file: 10 MiB.
pub const DEFAULT_MAX_BYTES: u64 = 10 * 1024 * 1024;
/// How long an upload URL is valid: 15 minutes (ask for a new one after).
pub const UPLOAD_TTL: Duration = Duration::from_secs(15 * 60);

impl EvidenceUploads {
    /// Over `store`, with the size cap from [`MAX_BYTES_ENV`] (default [`DEFAULT_MAX_BYTES`]).
    pub fn from_env(store: Arc<dyn EvidenceStore>) -> Result<Self, String> {
        let max_bytes = match std::env::var(MAX_BYTES_ENV) {
            Ok(v) => v
                .parse::<u64>()
                .ok()
                .filter(|n| *n > 0)
                .ok_or_else(|| format!("{MAX_BYTES_ENV} must be a positive number of bytes"))?,
            Err(_) => DEFAULT_MAX_BYTES,
        };
        Ok(EvidenceUploads {
            store,
            max_bytes,
            upload_ttl: UPLOAD_TTL,
        })
    }
}

/// Every route of this function, each served at the method and path its `#[utoipa::path]` declares.
pub fn routes() -> Routes {
    recert_api::routes![
        get_period,
        get_audit,
        declare_evidence,
        upload_url,
        get_evidence,
        respond,
        decide,
        audit_queue,
    ]
}

/// The routes as served, with what they use.
pub fn router_with(evidence: EvidenceUploads) -> Router<AppState> {
    routes().into_router().layer(Extension(Arc::new(evidence)))
}

/// One page of a period's public log: the period (its commitment from before it started, its
/// log's length and head, its seed once revealed) and its draw records in order.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct PeriodDraws {
    pub period: PublicPeriod,
    /// Draw records of the period's log, by day (this page's).
    pub draws: Vec<DrawRecord>,
    /// Pass as `cursor` for the next records; absent on the last page.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub next_cursor: Option<String>,
    /// How to check the log yourself.
    pub how_to_verify: &'static str,
}

const HOW_TO_VERIFY: &str = "Before the period starts, record its commitment (and save copies of \
this document while it runs). After the reveal: pip install consistent-sampler==1.0.10, save every \
page as one document (scripts/verify-audit-draw.py fetch does it) and run scripts/verify-audit-draw.py \
check with your recorded commitment and copies: it checks sha256('recert-audit-commitment:' + seed) \
== commitment, the log's chain and head, each day's share against the published rules, that no \
candidate is drawn twice, and that a candidate is selected exactly when \
consistent_sampler.first_fraction(id, seed) < share_percent/100. See docs/audit.md.";

/// The most draw records on one page of a period's log (a record may hold ~7,500 candidates).
pub const MAX_DRAWS_PER_PAGE: usize = 10;
/// Draw records on a page unless `limit` says otherwise.
pub const DEFAULT_DRAWS_PER_PAGE: usize = 5;

/// Paging through a period's log.
#[derive(Debug, Clone, Default, Deserialize, utoipa::IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct LogPageParams {
    /// Draw records per page, 1 to 10 (default 5).
    #[param(minimum = 1, maximum = 10)]
    pub limit: Option<usize>,
    /// The `next_cursor` of the previous page.
    pub cursor: Option<String>,
}

/// A file of an audit and a short-lived link to read it.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct EvidenceDownload {
    pub evidence: Evidence,
    pub download: DownloadTicket,
}

/// How long a download link is valid: 5 minutes.
pub const DOWNLOAD_TTL: Duration = Duration::from_secs(5 * 60);

/// An auditor's verdicts: one for every entry waiting for one.
#[derive(Debug, Clone, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct Decisions {
    #[schema(min_items = 1)]
    pub decisions: Vec<DecisionInput>,
}

/// An audit waiting for an auditor.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct QueuedAudit {
    pub certification_id: CertificationId,
    pub audit: Audit,
    /// When the certificant responded.
    pub waiting_since: DateTime<Utc>,
    /// Whole days it has waited.
    pub waiting_days: i64,
}

#[utoipa::path(
    get,
    path = "/audit-periods/{period}",
    // Public: no bearer token (overrides the document's default).
    security(),
    tag = "audits",
    params(("period" = Period, Path, description = "A month, YYYY-MM"), LogPageParams),
    responses(
        (status = 200, description = "The period's commitment, its log's head (its seed once revealed) and a page of its draw records", body = PeriodDraws),
        (status = 404, description = "No such period", body = recert_api::Problem, content_type = "application/problem+json"),
        (status = 400, description = "Not a period, a limit out of range, or a cursor of another listing", body = recert_api::Problem, content_type = "application/problem+json"),
    ),
)]
pub async fn get_period(
    State(state): State<AppState>,
    Path(period): Path<Period>,
    Query(params): Query<LogPageParams>,
) -> Result<axum::Json<PeriodDraws>, ApiError> {
    let limit = match params.limit {
        None => DEFAULT_DRAWS_PER_PAGE,
        Some(n) if (1..=MAX_DRAWS_PER_PAGE).contains(&n) => n,
        Some(_) => {
            return Err(ApiError::bad_request(
                "invalid_query",
                format!("limit must be between 1 and {MAX_DRAWS_PER_PAGE}"),
            ));
        }
    };
    let scope = format!("audit-period:{period}");
    let after: Option<IndexCursor> = params
        .cursor
        .as_deref()
        .map(|c| state.cursors.decode(&scope, c))
        .transpose()?;
    let stored = state
        .app
        .store
        .audit_period(period)
        .await?
        .ok_or(ApiError::NotFound("audit period"))?;
    let page = state
        .app
        .store
        .draws_page(period, after.as_ref(), limit)
        .await?;
    Ok(axum::Json(PeriodDraws {
        period: stored.public(),
        draws: page.items,
        next_cursor: page.next.map(|c| state.cursors.encode(&scope, &c)),
        how_to_verify: HOW_TO_VERIFY,
    }))
}

#[utoipa::path(
    get,
    path = "/certifications/{certification_id}/audit",
    tag = "audits",
    params(("certification_id" = CertificationId, Path)),
    responses((status = 200, description = "The audit of the current cycle's submission", body = Audit), ReadErrors),
)]
pub async fn get_audit(
    State(state): State<AppState>,
    principal: Principal,
    Path(certification_id): Path<CertificationId>,
) -> Result<axum::Json<Audit>, ApiError> {
    let aggregate = state
        .app
        .load_visible(&principal.actor, certification_id)
        .await?;
    aggregate
        .current_audit()
        .cloned()
        .map(axum::Json)
        .ok_or(ApiError::NotFound("audit"))
}

fn audit_path(certification: CertificationId) -> String {
    format!("/certifications/{certification}/audit")
}

/// The evidence store's key of a file: ids only, never a file name or personal data.
fn evidence_key(certification: CertificationId, entry: EntryId, evidence: uuid::Uuid) -> String {
    format!("evidence/{certification}/{entry}/{evidence}")
}

#[utoipa::path(
    post,
    path = "/certifications/{certification_id}/audit/entries/{entry_id}/evidence",
    tag = "audits",
    params(
        ("certification_id" = CertificationId, Path),
        ("entry_id" = EntryId, Path),
        IdempotencyKey,
    ),
    request_body = EvidenceDeclaration,
    responses(
        (status = 201, description = "Declared: ask for its upload URL and PUT the file there", body = Evidence, headers(("Location" = String))),
        WriteErrors,
    ),
)]
pub async fn declare_evidence(
    State(state): State<AppState>,
    Extension(evidence): Extension<Arc<EvidenceUploads>>,
    principal: Principal,
    Path((certification_id, entry_id)): Path<(CertificationId, EntryId)>,
    key: IdempotencyKey,
    Json(input): Json<EvidenceDeclaration>,
) -> Result<Response, ApiError> {
    principal.require(&RESPONDERS)?;
    let idempotency = key.bind(&principal, &input);
    let evidence_id = uuid::Uuid::now_v7();
    let key = evidence_key(certification_id, entry_id, evidence_id);
    let max_bytes = evidence.max_bytes;
    state
        .execute(
            &principal,
            certification_id,
            idempotency,
            Concurrency::Commutes,
            |ctx| {
                let (declared, changes) = ctx.aggregate.declare_evidence(
                    &ctx.decide(),
                    entry_id,
                    input.clone(),
                    evidence_id,
                    key.clone(),
                    max_bytes,
                )?;
                Ok((
                    changes,
                    Reply::created(
                        format!("{}/evidence/{}", audit_path(certification_id), declared.id),
                        declared,
                    ),
                ))
            },
        )
        .await
}

#[utoipa::path(
    post,
    path = "/certifications/{certification_id}/audit/evidence/{evidence_id}/upload",
    tag = "audits",
    params(("certification_id" = CertificationId, Path), ("evidence_id" = uuid::Uuid, Path)),
    responses(
        (status = 200, description = "A fresh presigned upload for exactly the declared file (valid 15 minutes)", body = UploadTicket),
        WriteErrors,
    ),
)]
pub async fn upload_url(
    State(state): State<AppState>,
    Extension(evidence): Extension<Arc<EvidenceUploads>>,
    principal: Principal,
    Path((certification_id, evidence_id)): Path<(CertificationId, uuid::Uuid)>,
) -> Result<axum::Json<UploadTicket>, ApiError> {
    principal.require(&RESPONDERS)?;
    let aggregate = state
        .app
        .load_visible(&principal.actor, certification_id)
        .await?;
    let audit = aggregate
        .current_audit()
        .ok_or(ApiError::NotFound("audit"))?;
    if audit.status != AuditStatus::DocumentsDue {
        return Err(recert_domain::DomainError::conflict(
            ConflictCode::AuditNotOpen,
            "uploads are taken only while the audit waits for documentation",
        )
        .into());
    }
    let declared = declared(&aggregate, evidence_id)?;
    let spec = upload_spec(declared)?;
    let ticket = evidence
        .store
        .presign_upload(&spec, state.app.clock.now(), evidence.upload_ttl)
        .await
        .map_err(|e| ApiError::Unavailable(Box::new(e)))?;
    Ok(axum::Json(ticket))
}

#[utoipa::path(
    get,
    path = "/certifications/{certification_id}/audit/evidence/{evidence_id}",
    tag = "audits",
    params(("certification_id" = CertificationId, Path), ("evidence_id" = uuid::Uuid, Path)),
    responses(
        (status = 200, description = "The file's record and a link to read it (valid 5 minutes; downloads as an attachment)", body = EvidenceDownload),
        ReadErrors,
    ),
)]
pub async fn get_evidence(
    State(state): State<AppState>,
    Extension(evidence): Extension<Arc<EvidenceUploads>>,
    principal: Principal,
    Path((certification_id, evidence_id)): Path<(CertificationId, uuid::Uuid)>,
) -> Result<axum::Json<EvidenceDownload>, ApiError> {
    principal.require(&[Role::Certificant, Role::Auditor, Role::Admin])?;
    let aggregate = state
        .app
        .load_visible(&principal.actor, certification_id)
        .await?;
    let declared = declared(&aggregate, evidence_id)?.clone();
    let unavailable = |e: recert_evidence::EvidenceError| ApiError::Unavailable(Box::new(e));
    if evidence
        .store
        .stat(&declared.key)
        .await
        .map_err(unavailable)?
        .is_none()
    {
        return Err(ApiError::NotFound("uploaded file"));
    }
    let download = evidence
        .store
        .presign_download(&declared.key, state.app.clock.now(), DOWNLOAD_TTL)
        .await
        .map_err(unavailable)?;
    Ok(axum::Json(EvidenceDownload {
        evidence: declared,
        download,
    }))
}

/// The file `id` declared in the current audit.
fn declared(aggregate: &CertificationAggregate, id: uuid::Uuid) -> Result<&Evidence, ApiError> {
    aggregate
        .declared_evidence()
        .into_iter()
        .find(|e| e.id == id)
        .ok_or(ApiError::NotFound("evidence"))
}

/// What to sign for a declared file (checked when it was declared).
fn upload_spec(declared: &Evidence) -> Result<UploadSpec, ApiError> {
    let content_type = EvidenceType::parse(&declared.content_type)
        .ok_or_else(|| ApiError::field("content_type", "not an accepted evidence type"))?;
    let mut sha256 = [0u8; 32];
    for (i, byte) in sha256.iter_mut().enumerate() {
        *byte = declared
            .sha256
            .get(i * 2..i * 2 + 2)
            .and_then(|h| u8::from_str_radix(h, 16).ok())
            .ok_or_else(|| ApiError::field("sha256", "must be 64 hex digits"))?;
    }
    Ok(UploadSpec {
        key: declared.key.clone(),
        size: declared.size_bytes,
        content_type,
        sha256,
    })
}

#[utoipa::path(
    post,
    path = "/certifications/{certification_id}/audit/response",
    tag = "audits",
    params(("certification_id" = CertificationId, Path)),
    responses(
        (status = 200, description = "Responded: the audit waits for an auditor", body = Audit),
        WriteErrors,
    ),
)]
pub async fn respond(
    State(state): State<AppState>,
    Extension(evidence): Extension<Arc<EvidenceUploads>>,
    principal: Principal,
    Path(certification_id): Path<CertificationId>,
) -> Result<Response, ApiError> {
    principal.require(&RESPONDERS)?;
    let aggregate = state
        .app
        .load_visible(&principal.actor, certification_id)
        .await?;
    // Which declared files are in the store, as declared (size and type).
    let mut uploaded = BTreeSet::new();
    for declared in aggregate.declared_evidence() {
        let stored = evidence
            .store
            .stat(&declared.key)
            .await
            .map_err(|e| ApiError::Unavailable(Box::new(e)))?;
        if stored.is_some_and(|s| {
            s.size == declared.size_bytes && s.content_type == declared.content_type
        }) {
            uploaded.insert(declared.id);
        }
    }
    let to = state.recipient(&principal, certification_id).await?;
    state
        .execute(
            &principal,
            certification_id,
            None,
            Concurrency::Commutes,
            |ctx| {
                let (audit, changes) =
                    ctx.aggregate
                        .respond_to_audit(&ctx.decide(), &uploaded, to.clone())?;
                Ok((changes, Reply::ok(audit)))
            },
        )
        .await
}

/// The certificant of a certification, as a notice's recipient.
#[utoipa::path(
    post,
    path = "/certifications/{certification_id}/audit/decisions",
    tag = "audits",
    params(("certification_id" = CertificationId, Path)),
    request_body = Decisions,
    responses(
        (status = 200, description = "Decided: passed (on to review), extra time, or failed (revoked)", body = Audit),
        WriteErrors,
    ),
)]
pub async fn decide(
    State(state): State<AppState>,
    principal: Principal,
    Path(certification_id): Path<CertificationId>,
    Json(input): Json<Decisions>,
) -> Result<Response, ApiError> {
    principal.require(&AUDITORS)?;
    let to = state.recipient(&principal, certification_id).await?;
    state
        .execute(
            &principal,
            certification_id,
            None,
            Concurrency::Commutes,
            |ctx| {
                let (audit, changes) = ctx.aggregate.decide_audit(
                    &ctx.decide(),
                    input.decisions.clone(),
                    to.clone(),
                )?;
                Ok((changes, Reply::ok(audit)))
            },
        )
        .await
}

#[utoipa::path(
    get,
    path = "/audit-queue",
    tag = "audits",
    params(PageParams),
    responses((status = 200, description = "Audits waiting for an auditor, oldest first", body = Page<QueuedAudit>), ReadErrors),
)]
pub async fn audit_queue(
    State(state): State<AppState>,
    principal: Principal,
    Query(params): Query<PageParams>,
) -> Result<axum::Json<Page<QueuedAudit>>, ApiError> {
    principal.require(&AUDITORS)?;
    let today = state.app.clock.today();
    let page = state
        .queue_page(
            "audit-queue",
            Queue::AuditDecision,
            &params,
            |certification_id, item| {
                let Item::Audit(audit) = item else {
                    return None;
                };
                let waiting_since = audit.responded_at.unwrap_or(audit.selected_at);
                Some(QueuedAudit {
                    certification_id,
                    waiting_days: (today - waiting_since.date_naive()).num_days(),
                    waiting_since,
                    audit,
                })
            },
        )
        .await?;
    Ok(axum::Json(page))
}

//! The `certifications` function: the staff surface that makes the API usable from an empty
//! store — enrol certificants, issue certifications (with a welcome email through the outbox) —
//! and the reads a certificant needs to find their own (their profile, their certifications, one
//! certification and its history), and the certificant's private calendar feed ([`calendar`]).
//! Staff also record exam passes here ([`exam`]): they renew an active certification or reinstate
//! a lapsed or revoked one.

use axum::Router;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use chrono::NaiveDate;
use recert_api::error::{ReadErrors, WriteErrors};
use recert_api::page::PageParams;
use recert_api::{ApiError, AppState, Idempotency, Json, Path, Principal, Query, Role};
use recert_api::{IdempotencyKey, Routes};
use recert_domain::usecase::lifecycle::issue_with_welcome;
use recert_domain::{
    Certificant, CertificantId, Certification, CertificationId, CertificationStatus, Credential,
    Email, FieldErrors, HistoryEvent, Membership, Recipient,
};
use recert_store::StoreError;

use serde::{Deserialize, Serialize};

pub mod calendar;
pub mod exam;

/// Every route of this function, each served at the method and path its `#[utoipa::path]` declares.
pub fn routes() -> Routes {
    recert_api::routes![
        create_certificant,
        get_certificant,
        list_certifications,
        issue_certification,
        get_certification,
        get_history,
        exam::record_exam_pass,
        calendar::create_calendar_feed,
        calendar::revoke_calendar_feed,
        calendar::get_calendar_feed,
    ]
}

/// The routes as served.
pub fn router() -> Router<AppState> {
    routes().into_router()
}

const MAX_NAME_CHARS: usize = 200;
const MAX_CERTIFICATE_NUMBER_CHARS: usize = 64;

#[derive(Debug, Clone, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewCertificant {
    /// The certificant's address (read as an [`Email`]: every bad field is reported at once).
    #[schema(value_type = Email)]
    pub email: String,
    /// Free text (trimmed): not blank, no control or bidirectional override characters.
    #[schema(
        example = "Ada Lovelace",
        max_length = 200,
        pattern = r"^[^\x00-\x1f\x7f-\x9f\u061c\u200e\u200f\u202a-\u202e\u2066-\u2069]*[^\x00-\x1f\x7f-\x9f\u061c\u200e\u200f\u202a-\u202e\u2066-\u2069\s\u00ad\u200b-\u200d\u2060\ufeff][^\x00-\x1f\x7f-\x9f\u061c\u200e\u200f\u202a-\u202e\u2066-\u2069]*$"
    )]
    pub full_name: String,
    pub membership: Membership,
}

/// Issue a certification. The cycle starts on `initial_certification_date`, or on the day after
/// `previous_expiration_date` (give exactly one).
#[derive(Debug, Clone, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewCertification {
    pub certificant_id: CertificantId,
    pub credential: Credential,
    #[schema(
        example = "CPHIMS-102938",
        max_length = 64,
        pattern = r"^[^\x00-\x1f\x7f-\x9f\u061c\u200e\u200f\u202a-\u202e\u2066-\u2069]*[^\x00-\x1f\x7f-\x9f\u061c\u200e\u200f\u202a-\u202e\u2066-\u2069\s\u00ad\u200b-\u200d\u2060\ufeff][^\x00-\x1f\x7f-\x9f\u061c\u200e\u200f\u202a-\u202e\u2066-\u2069]*$"
    )]
    pub certificate_number: String,
    #[serde(default)]
    pub initial_certification_date: Option<NaiveDate>,
    #[serde(default)]
    pub previous_expiration_date: Option<NaiveDate>,
    /// The last day of the current cycle.
    pub expires_on: NaiveDate,
}

#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct CertificationList {
    pub items: Vec<Certification>,
}

#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct History {
    /// Recorded changes, oldest first (append-only), one page at a time.
    pub events: Vec<HistoryEvent>,
    /// Pass as `cursor` to get the next page; absent on the last page.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub next_cursor: Option<String>,
}

fn created<T: Serialize>(location: String, body: &T) -> Response {
    let mut res = (StatusCode::CREATED, axum::Json(body)).into_response();
    if let Ok(v) = location.parse() {
        res.headers_mut().insert(axum::http::header::LOCATION, v);
    }
    res
}

/// The first response again, for a retry with the same `Idempotency-Key`.
fn replayed<T: Serialize>(location: String, body: &T) -> Response {
    let mut res = created(location, body);
    res.headers_mut().insert(
        "idempotent-replayed",
        axum::http::HeaderValue::from_static("true"),
    );
    res
}

/// The namespace of ids derived from idempotency keys.
const IDEMPOTENT_IDS: uuid::Uuid = uuid::Uuid::from_u128(0x9d1c_52e4_7a0b_4f6e_8c3d_2b1a_0f9e_8d7c);

/// The id of what a creating request makes: with an `Idempotency-Key`, derived from the caller's
/// scoped key (UUID v5), so a retry addresses exactly what the first request created and needs no
/// stored response; without one, a fresh time-ordered id.
fn new_id(idempotency: Option<&Idempotency>, at_millis: u64) -> uuid::Uuid {
    match idempotency {
        Some(idem) => uuid::Uuid::new_v5(&IDEMPOTENT_IDS, idem.key.as_bytes()),
        None => CertificantId::new_v7(at_millis).0,
    }
}

fn key_reused() -> ApiError {
    ApiError::IdempotencyMismatch("this Idempotency-Key was already used with a different request")
}

fn check_len(errors: &mut FieldErrors, field: &str, value: &str, max: usize) {
    recert_domain::vocabulary::text::check(errors, field, value, max);
}

#[utoipa::path(
    post,
    path = "/certificants",
    tag = "certifications",
    params(IdempotencyKey),
    request_body = NewCertificant,
    responses(
        (status = 201, description = "Enrolled", body = Certificant),
        WriteErrors,
    ),
)]
pub async fn create_certificant(
    State(state): State<AppState>,
    principal: Principal,
    key: IdempotencyKey,
    Json(input): Json<NewCertificant>,
) -> Result<Response, ApiError> {
    principal.require(&[Role::Admin])?;
    // Only the scoped key is used here (the id derives from it); a retry is matched against what
    // the first request created, field by field.
    let idempotency = key.bind(&principal, &());
    let full_name = input.full_name.trim().to_string();
    let mut errors = FieldErrors::default();
    let email = errors.field("email", Email::parse(&input.email));
    check_len(&mut errors, "full_name", &full_name, MAX_NAME_CHARS);
    let now = state.app.clock.now();
    let certificant = errors.then(|| {
        Some(Certificant {
            id: CertificantId(new_id(
                idempotency.as_ref(),
                now.timestamp_millis().unsigned_abs(),
            )),
            email: email?,
            full_name,
            membership: input.membership,
            created_at: now,
        })
    })?;
    let location = format!("/certificants/{}", certificant.id);
    match state.app.store.create_certificant(&certificant).await {
        Ok(()) => Ok(created(location, &certificant)),
        // A retry: what the first request created is there (the store may name the id or the
        // email it found taken); replay it if it is this request's.
        Err(StoreError::Duplicate { what }) if idempotency.is_some() => {
            let Some(first) = state.app.store.certificant(certificant.id).await? else {
                // Not ours: the email belongs to someone else.
                return Err(StoreError::Duplicate { what }.into());
            };
            let same = first.email == certificant.email
                && first.full_name == certificant.full_name
                && first.membership == certificant.membership;
            if same {
                Ok(replayed(location, &first))
            } else {
                Err(key_reused())
            }
        }
        Err(e) => Err(e.into()),
    }
}

#[utoipa::path(
    get,
    path = "/certificants/{certificant_id}",
    tag = "certifications",
    params(("certificant_id" = CertificantId, Path)),
    responses(
        (status = 200, body = Certificant),
        ReadErrors,
    ),
)]
pub async fn get_certificant(
    State(state): State<AppState>,
    principal: Principal,
    Path(certificant_id): Path<CertificantId>,
) -> Result<axum::Json<Certificant>, ApiError> {
    if !principal.may_read(certificant_id) {
        return Err(ApiError::NotFound("certificant"));
    }
    let certificant = state
        .app
        .store
        .certificant(certificant_id)
        .await?
        .ok_or(ApiError::NotFound("certificant"))?;
    Ok(axum::Json(certificant))
}

#[utoipa::path(
    get,
    path = "/certificants/{certificant_id}/certifications",
    tag = "certifications",
    params(("certificant_id" = CertificantId, Path)),
    responses(
        (status = 200, description = "The certificant's certifications, oldest first", body = CertificationList),
        ReadErrors,
    ),
)]
pub async fn list_certifications(
    State(state): State<AppState>,
    principal: Principal,
    Path(certificant_id): Path<CertificantId>,
) -> Result<axum::Json<CertificationList>, ApiError> {
    if !principal.may_read(certificant_id) {
        return Err(ApiError::NotFound("certificant"));
    }
    let items = state.app.store.certifications_of(certificant_id).await?;
    Ok(axum::Json(CertificationList { items }))
}

#[utoipa::path(
    post,
    path = "/certifications",
    tag = "certifications",
    params(IdempotencyKey),
    request_body = NewCertification,
    responses(
        (status = 201, description = "Issued", body = Certification),
        WriteErrors,
    ),
)]
pub async fn issue_certification(
    State(state): State<AppState>,
    principal: Principal,
    key: IdempotencyKey,
    Json(input): Json<NewCertification>,
) -> Result<Response, ApiError> {
    principal.require(&[Role::Admin])?;
    let idempotency = key.bind(&principal, &());
    let mut errors = FieldErrors::default();
    let number = input.certificate_number.trim().to_string();
    check_len(
        &mut errors,
        "certificate_number",
        &number,
        MAX_CERTIFICATE_NUMBER_CHARS,
    );
    let starts_on = match (
        input.initial_certification_date,
        input.previous_expiration_date,
    ) {
        (Some(d), None) => Some(d),
        (None, Some(prev)) => prev.succ_opt(),
        _ => {
            errors.add(
                "initial_certification_date",
                "give exactly one of initial_certification_date and previous_expiration_date",
            );
            None
        }
    };
    if let Some(start) = starts_on {
        let rules = state
            .app
            .rules
            .for_cycle_starting(start)
            .credential(input.credential);
        let longest = recert_domain::add_months(start, (rules.cycle_years * 12) as i32 + 12);
        if input.expires_on <= start {
            errors.add("expires_on", "must be after the cycle start");
        } else if input.expires_on > longest {
            errors.add(
                "expires_on",
                format!(
                    "is more than a cycle ({} years) after the cycle start",
                    rules.cycle_years
                ),
            );
        }
    }
    errors.into_result()?;
    let Some(certificant) = state.app.store.certificant(input.certificant_id).await? else {
        return Err(ApiError::field(
            "certificant_id",
            "no certificant with this id",
        ));
    };
    let now = state.app.clock.now();
    let certification = Certification {
        id: CertificationId(new_id(
            idempotency.as_ref(),
            now.timestamp_millis().unsigned_abs(),
        )),
        certificant_id: input.certificant_id,
        credential: input.credential,
        certificate_number: number,
        cycle_starts_on: starts_on.unwrap_or(input.expires_on),
        expires_on: input.expires_on,
        extended_to: None,
        status: CertificationStatus::Active,
        created_at: now,
        updated_at: now,
        version: 0,
        renewed_by: None,
    };
    let rules = state
        .app
        .rules
        .for_cycle_starting(certification.cycle_starts_on);
    let recipient = Recipient {
        certificant_id: certificant.id,
        email: certificant.email,
        full_name: certificant.full_name,
    };
    let message_id = uuid::Uuid::now_v7();
    // The welcome email and the cycle's deadlines commit with the certification itself.
    let wanted = certification.clone();
    let changes = issue_with_welcome(
        certification,
        rules,
        recipient,
        message_id,
        &principal.actor,
        now,
    );
    let issued = changes.certification();
    let location = format!("/certifications/{}", issued.id);
    match state.app.store.commit(&changes).await {
        Ok(()) => Ok(created(location, issued)),
        // A retry: the certification exists; replay it if it is this request's.
        Err(StoreError::VersionConflict) if idempotency.is_some() => {
            let first = state
                .app
                .store
                .certification(wanted.id)
                .await?
                .ok_or_else(key_reused)?;
            // What never changes after issue (the cycle dates move on renewal).
            let same = first.certificant_id == wanted.certificant_id
                && first.credential == wanted.credential
                && first.certificate_number == wanted.certificate_number;
            if same {
                Ok(replayed(location, &first))
            } else {
                Err(key_reused())
            }
        }
        Err(e) => Err(e.into()),
    }
}

#[utoipa::path(
    get,
    path = "/certifications/{certification_id}",
    tag = "certifications",
    params(("certification_id" = CertificationId, Path)),
    responses(
        (status = 200, body = Certification, headers(("ETag" = String, description = "The certification's version (`\"v<version>\"`)"))),
        ReadErrors,
    ),
)]
pub async fn get_certification(
    State(state): State<AppState>,
    principal: Principal,
    Path(certification_id): Path<CertificationId>,
) -> Result<Response, ApiError> {
    let certification = state
        .app
        .certification_visible(&principal.actor, certification_id)
        .await?;
    // Its version is its entity tag: every change bumps it.
    let mut res = axum::Json(&certification).into_response();
    if let Ok(v) = format!("\"v{}\"", certification.version).parse() {
        res.headers_mut().insert(axum::http::header::ETAG, v);
    }
    Ok(res)
}

#[utoipa::path(
    get,
    path = "/certifications/{certification_id}/history",
    tag = "certifications",
    params(("certification_id" = CertificationId, Path), PageParams),
    responses(
        (status = 200, description = "A page of the history, oldest first", body = History),
        ReadErrors,
    ),
)]
pub async fn get_history(
    State(state): State<AppState>,
    principal: Principal,
    Path(certification_id): Path<CertificationId>,
    Query(params): Query<PageParams>,
) -> Result<axum::Json<History>, ApiError> {
    let limit = params.limit()?;
    let scope = format!("history:{certification_id}");
    let after: Option<u64> = params
        .cursor
        .as_deref()
        .map(|c| state.cursors.decode(&scope, c))
        .transpose()?;
    state
        .app
        .certification_visible(&principal.actor, certification_id)
        .await?;
    let mut events = state
        .app
        .store
        .history(certification_id, after, limit + 1)
        .await?;
    // A certificant sees who acted on their certification by role: staff members' own subjects
    // are not theirs to know.
    if principal.actor.certificant_id().is_some() {
        for e in &mut events {
            if e.actor.role.parse::<Role>().is_ok_and(Role::is_staff) {
                e.actor.subject = e.actor.role.clone();
            }
        }
    }
    let next_cursor = if events.len() > limit {
        events.truncate(limit);
        events.last().map(|e| state.cursors.encode(&scope, &e.seq))
    } else {
        None
    };
    Ok(axum::Json(History {
        events,
        next_cursor,
    }))
}

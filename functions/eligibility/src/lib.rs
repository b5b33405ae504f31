//! The `eligibility` function: where a certification stands — every requirement with required,
//! counted and shortfall, the allocation the engine chose, the cycle and window dates, the waiver
//! cutoff, and whether a renewal submission would be accepted today (and why not). A what-if call
//! judges hypothetical entries alongside the real ones and stores nothing.

use axum::Router;
use axum::extract::State;
use chrono::NaiveDate;
use recert_api::Routes;
use recert_api::error::{ReadErrors, WriteErrors};
use recert_api::{ApiError, AppState, Json, Path, Principal};
use recert_domain::calendar::WindowState;
use recert_domain::model::entry::EntryLimits;
use recert_domain::model::posting::ProbableDuplicate;
use recert_domain::{
    CeEntryInput, CertificationId, Credential, Eligibility, EntryId, FieldErrors,
    SubmissionReadiness,
};
use serde::{Deserialize, Serialize};

/// Every route of this function, each served at the method and path its `#[utoipa::path]` declares.
pub fn routes() -> Routes {
    recert_api::routes![get_eligibility, what_if,]
}

/// The routes as served.
pub fn router() -> Router<AppState> {
    routes().into_router()
}

/// The most hypothetical entries one what-if call may carry.
pub const MAX_PLANNED: usize = 50;

#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct CycleDates {
    pub starts_on: NaiveDate,
    pub expires_on: NaiveDate,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub extended_to: Option<NaiveDate>,
    /// The last day whose completed hours count.
    pub counting_ends_on: NaiveDate,
}

#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct WindowDates {
    pub opens_on: NaiveDate,
    /// Submissions are accepted through the end of this day.
    pub closes_on: NaiveDate,
    pub state: WindowState,
}

/// The full picture of a certification's current cycle.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct EligibilityReport {
    pub certification_id: CertificationId,
    pub credential: Credential,
    /// The date this report was computed for.
    pub as_of: NaiveDate,
    /// The rules version judging this cycle (the one in force when it started).
    pub rules_effective_from: NaiveDate,
    pub cycle: CycleDates,
    pub window: WindowDates,
    /// The last day a waiver or extension request may arrive.
    pub waiver_request_cutoff: NaiveDate,
    pub eligibility: Eligibility,
    /// Self-reported entries that probably report a provider-reported one again: only the
    /// provider's counts until the certificant deletes theirs or confirms it distinct
    /// (`POST …/entries/{entry_id}/confirm-distinct`).
    pub probable_duplicates: Vec<ProbableDuplicate>,
    pub submission: SubmissionReadiness,
}

/// Hypothetical entries to judge alongside the real ones.
#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct WhatIfRequest {
    /// 1 to 50 planned activities (completion dates may be in the future).
    #[schema(min_items = 1, max_items = 50)]
    pub entries: Vec<CeEntryInput>,
}

#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct WhatIfReport {
    /// The requirements would all be met with the planned entries.
    pub met: bool,
    /// They are not met today but would be with the planned entries.
    pub closes_gap: bool,
    /// Ids given to the planned entries in `eligibility.allocation` (in request order); nothing is stored.
    pub planned_entry_ids: Vec<EntryId>,
    /// Today's verdict, for comparison.
    pub current: Eligibility,
    /// The verdict with the planned entries.
    pub eligibility: Eligibility,
}

#[utoipa::path(
    get,
    path = "/certifications/{certification_id}/eligibility",
    tag = "eligibility",
    params(("certification_id" = CertificationId, Path, description = "The certification")),
    responses(
        (status = 200, description = "Where the certification stands today", body = EligibilityReport),
        ReadErrors,
    ),
)]
pub async fn get_eligibility(
    State(state): State<AppState>,
    principal: Principal,
    Path(certification_id): Path<CertificationId>,
) -> Result<axum::Json<EligibilityReport>, ApiError> {
    let aggregate = state
        .app
        .load_visible(&principal.actor, certification_id)
        .await?;
    let rules = state.app.rules_for(&aggregate);
    let today = state.app.clock.today();
    let certification = &aggregate.certification;
    let cycle = certification.cycle();
    let eligibility = aggregate.eligibility(rules);
    let window = cycle.window(&rules.deadlines);
    let submission = SubmissionReadiness::assess(&aggregate, rules, &eligibility, today);
    Ok(axum::Json(EligibilityReport {
        certification_id,
        credential: certification.credential,
        as_of: today,
        rules_effective_from: rules.effective_from,
        cycle: CycleDates {
            starts_on: cycle.starts_on,
            expires_on: cycle.expires_on,
            extended_to: cycle.extended_to,
            counting_ends_on: cycle.counting_ends_on(),
        },
        window: WindowDates {
            opens_on: window.opens_on,
            closes_on: window.closes_on,
            state: window.state_on(today),
        },
        waiver_request_cutoff: cycle.waiver_request_cutoff(&rules.deadlines),
        eligibility,
        probable_duplicates: aggregate.probable_duplicates(&rules.duplicates),
        submission,
    }))
}

#[utoipa::path(
    post,
    path = "/certifications/{certification_id}/eligibility/what-if",
    tag = "eligibility",
    params(("certification_id" = CertificationId, Path, description = "The certification")),
    request_body = WhatIfRequest,
    responses(
        (status = 200, description = "The verdict with the planned entries; nothing is stored", body = WhatIfReport),
        WriteErrors,
    ),
)]
pub async fn what_if(
    State(state): State<AppState>,
    principal: Principal,
    Path(certification_id): Path<CertificationId>,
    Json(request): Json<WhatIfRequest>,
) -> Result<axum::Json<WhatIfReport>, ApiError> {
    let aggregate = state
        .app
        .load_visible(&principal.actor, certification_id)
        .await?;
    let rules = state.app.rules_for(&aggregate);
    if request.entries.is_empty() || request.entries.len() > MAX_PLANNED {
        return Err(ApiError::field(
            "entries",
            format!("must hold 1 to {MAX_PLANNED} planned entries"),
        ));
    }
    let limits = EntryLimits {
        max_hours: rules.entry_max,
        completed_no_later_than: None,
    };
    let now_ms = state.app.clock.now().timestamp_millis().unsigned_abs();
    let mut errors = FieldErrors::default();
    let mut planned = Vec::with_capacity(request.entries.len());
    for (i, input) in request.entries.into_iter().enumerate() {
        match input.validate(limits) {
            Ok(activity) => planned.push(activity.facts(EntryId::new_v7(now_ms))),
            Err(e) => {
                for (field, messages) in e.0 {
                    for m in messages {
                        errors.add(format!("entries/{i}/{field}"), m);
                    }
                }
            }
        }
    }
    errors.into_result()?;
    let mut all = aggregate.entry_facts(rules);
    let current = aggregate.eligibility_of(rules, &all);
    let planned_entry_ids = planned.iter().map(|f| f.id).collect();
    all.extend(planned);
    let eligibility = aggregate.eligibility_of(rules, &all);
    Ok(axum::Json(WhatIfReport {
        met: eligibility.met,
        closes_gap: eligibility.met && !current.met,
        planned_entry_ids,
        current,
        eligibility,
    }))
}

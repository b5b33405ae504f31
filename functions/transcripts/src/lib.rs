//! The `transcripts` function: the CE entries of a certification — list (paginated), create, get,
//! replace, delete. Entries of a submitted cycle are locked (409 `cycle_submitted`). Entries are
//! kept by cycle: the listing shows the current cycle's, or an older cycle's with
//! `cycle_starts_on`. Entries a partner provider posted are listed like the others (`source:
//! provider_reported`, with their posting) and cannot be changed here; a self-reported entry
//! that looks like one of them (see the eligibility report's `probable_duplicates`) can be
//! confirmed distinct.

use axum::Router;
use axum::extract::State;
use axum::http::HeaderMap;
use axum::response::IntoResponse;
use axum::response::Response;
use chrono::NaiveDate;
use recert_api::error::{PreconditionErrors, ReadErrors, WriteErrors};
use recert_api::etag::{IfMatch, etag_of};
use recert_api::page::{Page, PageParams};
use recert_api::{
    ApiError, AppError, AppState, Concurrency, Json, Path, Principal, Query, Reply, Role,
};
use recert_api::{IdempotencyKey, Routes};
use recert_domain::model::entry::EntryLimits;
use recert_domain::{CeEntry, CeEntryInput, CertificationId, EntryId, EntrySource, RuleSet};
use serde::Deserialize;

/// Who may change a transcript: its certificant, or an admin on their behalf.
const WRITERS: [Role; 2] = [Role::Certificant, Role::Admin];

/// Every route of this function, each served at the method and path its `#[utoipa::path]` declares.
pub fn routes() -> Routes {
    recert_api::routes![
        list_entries,
        create_entry,
        get_entry,
        replace_entry,
        delete_entry,
        confirm_distinct,
    ]
}

/// The routes as served.
pub fn router() -> Router<AppState> {
    routes().into_router()
}

/// Where a listing page stops: the last entry's sort key.
type Position = (NaiveDate, EntryId);

fn limits(rules: &RuleSet, today: NaiveDate) -> EntryLimits {
    EntryLimits {
        max_hours: rules.entry_max,
        completed_no_later_than: Some(today),
    }
}

/// The listing's query: a page, and optionally an older cycle.
#[derive(Debug, Clone, Default, Deserialize, utoipa::IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct EntryListParams {
    /// Items per page, 1 to 100 (default 25).
    #[param(minimum = 1, maximum = 100)]
    pub limit: Option<usize>,
    /// The `next_cursor` of the previous page.
    pub cursor: Option<String>,
    /// List the entries kept with the cycle that started on this day (default: the current cycle).
    pub cycle_starts_on: Option<NaiveDate>,
}

#[utoipa::path(
    get,
    path = "/certifications/{certification_id}/entries",
    tag = "transcripts",
    params(("certification_id" = CertificationId, Path, description = "The certification"), EntryListParams),
    responses(
        (status = 200, description = "A page of entries, by completion date then id", body = Page<CeEntry>),
        ReadErrors,
    ),
)]
pub async fn list_entries(
    State(state): State<AppState>,
    principal: Principal,
    Path(certification_id): Path<CertificationId>,
    Query(params): Query<EntryListParams>,
) -> Result<axum::Json<Page<CeEntry>>, ApiError> {
    let limit = PageParams {
        limit: params.limit,
        cursor: None,
    }
    .limit()?;
    let scope = match params.cycle_starts_on {
        None => format!("entries:{certification_id}"),
        Some(cycle) => format!("entries:{certification_id}:{cycle}"),
    };
    let after: Option<Position> = params
        .cursor
        .as_deref()
        .map(|c| state.cursors.decode(&scope, c))
        .transpose()?;
    let aggregate = state
        .app
        .load_visible(&principal.actor, certification_id)
        .await?;
    let entries = match params.cycle_starts_on {
        Some(cycle) if cycle != aggregate.certification.cycle_starts_on => {
            state
                .app
                .store
                .entries_of_cycle(certification_id, cycle)
                .await?
        }
        _ => aggregate.entries,
    };
    let mut rest = entries
        .into_iter()
        .filter(|e| after.is_none_or(|a| (e.activity.completed_on, e.id) > a))
        .peekable();
    let items: Vec<CeEntry> = rest.by_ref().take(limit).collect();
    let next_cursor = match (rest.peek(), items.last()) {
        (Some(_), Some(last)) => Some(
            state
                .cursors
                .encode(&scope, &(last.activity.completed_on, last.id)),
        ),
        _ => None,
    };
    Ok(axum::Json(Page { items, next_cursor }))
}

#[utoipa::path(
    post,
    path = "/certifications/{certification_id}/entries",
    tag = "transcripts",
    params(
        ("certification_id" = CertificationId, Path, description = "The certification"),
        IdempotencyKey,
    ),
    request_body = CeEntryInput,
    responses(
        (status = 201, description = "Logged", body = CeEntry, headers(("Location" = String, description = "The new entry"))),
        (status = 303, description = "A retry with the same Idempotency-Key whose first response was too large to keep (over 8 KiB): the entry it created is at Location", headers(("Location" = String, description = "The entry the first request created"))),
        WriteErrors,
    ),
)]
pub async fn create_entry(
    State(state): State<AppState>,
    principal: Principal,
    Path(certification_id): Path<CertificationId>,
    key: IdempotencyKey,
    Json(input): Json<CeEntryInput>,
) -> Result<Response, ApiError> {
    principal.require(&WRITERS)?;
    let idempotency = key.bind(&principal, &input);
    let entry_id = EntryId::new_v7(state.app.clock.now().timestamp_millis().unsigned_abs());
    // Adding an entry commutes with every other change: a lost race is retried, never a 409.
    state
        .execute(
            &principal,
            certification_id,
            idempotency,
            Concurrency::Commutes,
            |ctx| {
                let activity = input
                    .clone()
                    .validate(limits(ctx.rules, ctx.now.date_naive()))?;
                let (entry, changes) = ctx.aggregate.add_entry(
                    &ctx.decide(),
                    entry_id,
                    activity,
                    EntrySource::SelfReported,
                )?;
                let location = format!("/certifications/{certification_id}/entries/{}", entry.id);
                let etag = etag_of(&entry);
                Ok((changes, Reply::created(location, entry).tagged(etag)))
            },
        )
        .await
}

#[utoipa::path(
    get,
    path = "/certifications/{certification_id}/entries/{entry_id}",
    tag = "transcripts",
    params(("certification_id" = CertificationId, Path), ("entry_id" = EntryId, Path)),
    responses(
        (status = 200, body = CeEntry, headers(("ETag" = String, description = "The entry's version: send it in If-Match to replace or delete exactly this version"))),
        ReadErrors,
    ),
)]
pub async fn get_entry(
    State(state): State<AppState>,
    principal: Principal,
    Path((certification_id, entry_id)): Path<(CertificationId, EntryId)>,
) -> Result<Response, ApiError> {
    let aggregate = state
        .app
        .load_visible(&principal.actor, certification_id)
        .await?;
    let entry = aggregate.entry(entry_id)?;
    Ok(tagged(axum::Json(entry).into_response(), &etag_of(entry)))
}

/// `response` with its `ETag`.
fn tagged(mut response: Response, etag: &str) -> Response {
    if let Ok(v) = axum::http::HeaderValue::from_str(etag) {
        response.headers_mut().insert(axum::http::header::ETAG, v);
    }
    response
}

/// 412 unless `if_match` (when sent) names the entry as it is now.
fn check_if_match(if_match: Option<&IfMatch>, current: &CeEntry) -> Result<(), AppError> {
    match if_match {
        Some(m) if !m.matches(&etag_of(current)) => Err(AppError::PreconditionFailed("the entry")),
        _ => Ok(()),
    }
}

#[utoipa::path(
    put,
    path = "/certifications/{certification_id}/entries/{entry_id}",
    tag = "transcripts",
    params(
        ("certification_id" = CertificationId, Path), ("entry_id" = EntryId, Path),
        ("If-Match" = Option<String>, Header, description = "Optional: the entry's ETag as you read it; another version gets 412 instead of being overwritten"),
    ),
    request_body = CeEntryInput,
    responses(
        (status = 200, description = "Replaced", body = CeEntry, headers(("ETag" = String))),
        PreconditionErrors,
        WriteErrors,
    ),
)]
pub async fn replace_entry(
    State(state): State<AppState>,
    principal: Principal,
    Path((certification_id, entry_id)): Path<(CertificationId, EntryId)>,
    headers: HeaderMap,
    Json(input): Json<CeEntryInput>,
) -> Result<Response, ApiError> {
    principal.require(&WRITERS)?;
    let if_match = IfMatch::from_headers(&headers)?;
    // Replacing an entry that another request changed meanwhile is a real conflict (409); one
    // that changed since the client read it (If-Match) is a 412.
    state
        .execute(
            &principal,
            certification_id,
            None,
            Concurrency::Entry(entry_id),
            |ctx| {
                check_if_match(if_match.as_ref(), ctx.aggregate.entry(entry_id)?)?;
                let activity = input
                    .clone()
                    .validate(limits(ctx.rules, ctx.now.date_naive()))?;
                let (entry, changes) =
                    ctx.aggregate
                        .update_entry(&ctx.decide(), entry_id, activity)?;
                let etag = etag_of(&entry);
                Ok((changes, Reply::ok(entry).tagged(etag)))
            },
        )
        .await
}

#[utoipa::path(
    delete,
    path = "/certifications/{certification_id}/entries/{entry_id}",
    tag = "transcripts",
    params(
        ("certification_id" = CertificationId, Path), ("entry_id" = EntryId, Path),
        ("If-Match" = Option<String>, Header, description = "Optional: the entry's ETag as you read it; another version gets 412 instead of being deleted"),
    ),
    responses(
        (status = 204, description = "Removed"),
        PreconditionErrors,
        WriteErrors,
    ),
)]
pub async fn delete_entry(
    State(state): State<AppState>,
    principal: Principal,
    Path((certification_id, entry_id)): Path<(CertificationId, EntryId)>,
    headers: HeaderMap,
) -> Result<Response, ApiError> {
    principal.require(&WRITERS)?;
    let if_match = IfMatch::from_headers(&headers)?;
    state
        .execute(
            &principal,
            certification_id,
            None,
            Concurrency::Entry(entry_id),
            |ctx| {
                check_if_match(if_match.as_ref(), ctx.aggregate.entry(entry_id)?)?;
                let changes = ctx.aggregate.remove_entry(&ctx.decide(), entry_id)?;
                Ok((changes, Reply::no_content()))
            },
        )
        .await
}

#[utoipa::path(
    post,
    path = "/certifications/{certification_id}/entries/{entry_id}/confirm-distinct",
    tag = "transcripts",
    params(("certification_id" = CertificationId, Path), ("entry_id" = EntryId, Path)),
    responses(
        (status = 200, description = "Confirmed: this self-reported entry is a different activity from the provider-reported one it resembles, and counts again", body = CeEntry, headers(("ETag" = String))),
        WriteErrors,
    ),
)]
pub async fn confirm_distinct(
    State(state): State<AppState>,
    principal: Principal,
    Path((certification_id, entry_id)): Path<(CertificationId, EntryId)>,
) -> Result<Response, ApiError> {
    principal.require(&WRITERS)?;
    state
        .execute(
            &principal,
            certification_id,
            None,
            Concurrency::Entry(entry_id),
            |ctx| {
                let (entry, changes) = ctx.aggregate.confirm_distinct(&ctx.decide(), entry_id)?;
                let etag = etag_of(&entry);
                Ok((changes, Reply::ok(entry).tagged(etag)))
            },
        )
        .await
}

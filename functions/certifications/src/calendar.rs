//! The certificant's private calendar feed over HTTP ([`recert_app::calendar`]).
//!
//! - `POST /certificants/{id}/calendar-feed`: the certificant (or an admin for them) creates the
//!   feed, or rotates it: a new secret URL, the old one answers 404 from then on. The URL is in
//!   this response only (`Cache-Control: no-store`, like every API answer).
//! - `DELETE /certificants/{id}/calendar-feed`: revokes it; the URL answers 404 from then on.
//! - `GET /calendar/{token}` (`.ics` suffix optional): the iCalendar feed, without a bearer token
//!   (calendar apps cannot send one): the token in the URL is the credential. A malformed,
//!   unknown, rotated-out or revoked token gets the same 404. The request log names the route
//!   template only, never the token.

use axum::extract::State;
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use chrono::{DateTime, Utc};
use recert_api::error::WriteErrors;
use recert_api::{ApiError, AppState, Path, Principal, Role};
use recert_domain::CertificantId;
use serde::Serialize;

/// Who may create or revoke a certificant's feed: the certificant, or an admin on their behalf.
const FEED_KEEPERS: [Role; 2] = [Role::Certificant, Role::Admin];

/// Where feeds are served: `<this>/<token>.ics`, relative to the API's root.
pub const FEED_PATH: &str = "/calendar";

/// The content type of the feed.
pub const TEXT_CALENDAR: &str = "text/calendar; charset=utf-8";

/// How long a calendar app (or a private cache) may keep a fetched feed.
pub const FEED_CACHE_CONTROL: &str = "private, max-age=300";

/// A created (or rotated) feed: its secret URL, shown this once.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct CalendarFeedCreated {
    /// The feed's secret URL, relative to the API's root (prefix the API's base URL; calendar
    /// apps also take it as `webcal://`). Anyone holding it reads the feed: keep it private, rotate
    /// it (POST again) or revoke it (DELETE) if it leaks.
    #[schema(
        example = "/calendar/0190c0de-0000-7000-8000-000000000001.AQIDBAUGBwgJCgsMDQ4PEBESExQVFhcYGRobHB0eHyA.ics"
    )]
    pub url: String,
    pub created_at: DateTime<Utc>,
}

/// 404 unless the caller may keep `certificant`'s feed (another certificant's is not theirs to
/// know of); 403 for a role that keeps none.
fn may_keep(principal: &Principal, certificant: CertificantId) -> Result<(), ApiError> {
    principal.require(&FEED_KEEPERS)?;
    if !principal.may_read(certificant) {
        return Err(ApiError::NotFound("certificant"));
    }
    Ok(())
}

#[utoipa::path(
    post,
    path = "/certificants/{certificant_id}/calendar-feed",
    tag = "calendar",
    params(("certificant_id" = CertificantId, Path)),
    responses(
        (status = 201, description = "Created or rotated: the feed's secret URL (the previous URL, if any, answers 404 from now on)", body = CalendarFeedCreated),
        WriteErrors,
    ),
)]
pub async fn create_calendar_feed(
    State(state): State<AppState>,
    principal: Principal,
    Path(certificant_id): Path<CertificantId>,
) -> Result<Response, ApiError> {
    may_keep(&principal, certificant_id)?;
    let (token, record) = recert_app::calendar::rotate_feed(&state.app, certificant_id).await?;
    let created = CalendarFeedCreated {
        url: format!("{FEED_PATH}/{}.ics", token.expose()),
        created_at: record.created_at,
    };
    Ok((StatusCode::CREATED, axum::Json(created)).into_response())
}

#[utoipa::path(
    delete,
    path = "/certificants/{certificant_id}/calendar-feed",
    tag = "calendar",
    params(("certificant_id" = CertificantId, Path)),
    responses(
        (status = 204, description = "Revoked (or there was none): the feed's URL answers 404 from now on"),
        WriteErrors,
    ),
)]
pub async fn revoke_calendar_feed(
    State(state): State<AppState>,
    principal: Principal,
    Path(certificant_id): Path<CertificantId>,
) -> Result<StatusCode, ApiError> {
    may_keep(&principal, certificant_id)?;
    recert_app::calendar::revoke_feed(&state.app, certificant_id).await?;
    Ok(StatusCode::NO_CONTENT)
}

#[utoipa::path(
    get,
    path = "/calendar/{token}",
    // Public: no bearer token (overrides the document's default).
    security(),
    tag = "calendar",
    params(("token" = String, Path, description = "The feed's secret token, optionally followed by `.ics`")),
    responses(
        (status = 200, description = "The certificant's dates as iCalendar (RFC 5545): all-day events for each active certification's renewal window opening, waiver-request cutoff and closing date, and each audit's documentation due date", content_type = "text/calendar", body = String,
            headers(("Cache-Control" = String, description = "`private, max-age=300`"))),
        (status = 404, description = "No feed opens with this token (malformed, unknown, rotated out or revoked: the same answer)", body = recert_api::Problem, content_type = "application/problem+json"),
        (status = 400, description = "The path is not readable (not UTF-8)", body = recert_api::Problem, content_type = "application/problem+json"),
    ),
)]
pub async fn get_calendar_feed(
    State(state): State<AppState>,
    Path(token): Path<String>,
) -> Result<Response, ApiError> {
    let token = token.strip_suffix(".ics").unwrap_or(&token);
    let calendar = recert_app::calendar::feed_calendar(&state.app, token)
        .await?
        .ok_or(ApiError::NotFound("calendar feed"))?;
    let mut res = calendar.into_response();
    let headers = res.headers_mut();
    headers.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static(TEXT_CALENDAR),
    );
    headers.insert(
        header::CACHE_CONTROL,
        HeaderValue::from_static(FEED_CACHE_CONTROL),
    );
    Ok(res)
}

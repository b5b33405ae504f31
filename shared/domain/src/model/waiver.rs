//! Waiver and extension requests: what is asked, how the committee decided, and the notices that
//! say so. The commands are the use case `waiver`; the closing of a cycle is `lifecycle`.

use crate::vocabulary::actor::ActedBy;
use crate::vocabulary::hours::Hours;
use chrono::{DateTime, NaiveDate, Utc};
use serde::{Deserialize, Serialize};

/// The longest reason or note, in characters.
pub const MAX_REASON_CHARS: usize = 2000;

/// What a request asks for, or what the committee granted.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(tag = "type", rename_all = "snake_case", deny_unknown_fields)]
pub enum Relief {
    /// A later closing date: the renewal window and the counting of hours end on `until`.
    Extension { until: NaiveDate },
    /// Lower minimums for the named requirements.
    Waiver {
        #[schema(min_items = 1)]
        reductions: Vec<Reduction>,
    },
}

impl Relief {
    pub fn kind(&self) -> &'static str {
        match self {
            Relief::Extension { .. } => "extension",
            Relief::Waiver { .. } => "waiver",
        }
    }
}

/// One requirement's lowered minimum.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct Reduction {
    /// The requirement set's key (as the eligibility report names it, e.g. `core`).
    pub set: String,
    /// The requirement's key in that set (e.g. `ethics`).
    pub requirement: String,
    /// The minimum asked for or granted, in hundredths of an hour (below the rule's).
    #[serde(rename = "min_hundredths")]
    #[schema(value_type = u32)]
    pub min: Hours,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum WaiverStatus {
    /// Waiting for the committee (the certificant may withdraw it).
    Open,
    Withdrawn,
    Approved,
    Denied,
}

/// How the committee decided a request.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct WaiverDecision {
    pub approved: bool,
    /// What was granted (approved only).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub granted: Option<Relief>,
    pub note: String,
    pub by: ActedBy,
    pub at: DateTime<Utc>,
}

/// A waiver or extension request (kept with its cycle).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct WaiverRequest {
    #[schema(value_type = String, format = Uuid)]
    pub id: uuid::Uuid,
    /// The first day of the cycle it is for.
    pub cycle_starts_on: NaiveDate,
    pub requested: Relief,
    pub reason: String,
    pub status: WaiverStatus,
    pub requested_at: DateTime<Utc>,
    pub requested_by: ActedBy,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub withdrawn_at: Option<DateTime<Utc>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub decision: Option<Box<WaiverDecision>>,
}

/// A certificant's request.
#[derive(Debug, Clone, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({"relief": {"type": "extension", "until": "2027-06-30"}, "reason": "Parental leave, March to June"}))]
pub struct WaiverRequestInput {
    pub relief: Relief,
    /// Why (1 to 2000 characters).
    #[schema(
        min_length = 1,
        max_length = 2000,
        pattern = r"^[^\x00-\x1f\x7f-\x9f\u061c\u200e\u200f\u202a-\u202e\u2066-\u2069]*[^\x00-\x1f\x7f-\x9f\u061c\u200e\u200f\u202a-\u202e\u2066-\u2069\s\u00ad\u200b-\u200d\u2060\ufeff][^\x00-\x1f\x7f-\x9f\u061c\u200e\u200f\u202a-\u202e\u2066-\u2069]*$"
    )]
    pub reason: String,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum WaiverOutcome {
    Approved,
    Denied,
}

/// The committee's decision on a request.
#[derive(Debug, Clone, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct WaiverDecisionInput {
    pub outcome: WaiverOutcome,
    /// What to grant when approving (of the kind requested); omitted: what was requested.
    #[serde(default)]
    pub grant: Option<Relief>,
    /// The committee's note to the certificant (1 to 2000 characters).
    #[schema(
        min_length = 1,
        max_length = 2000,
        pattern = r"^[^\x00-\x1f\x7f-\x9f\u061c\u200e\u200f\u202a-\u202e\u2066-\u2069]*[^\x00-\x1f\x7f-\x9f\u061c\u200e\u200f\u202a-\u202e\u2066-\u2069\s\u00ad\u200b-\u200d\u2060\ufeff][^\x00-\x1f\x7f-\x9f\u061c\u200e\u200f\u202a-\u202e\u2066-\u2069]*$"
    )]
    pub note: String,
}

pub fn waiver_status_name(status: WaiverStatus) -> &'static str {
    match status {
        WaiverStatus::Open => "open",
        WaiverStatus::Withdrawn => "withdrawn",
        WaiverStatus::Approved => "approved",
        WaiverStatus::Denied => "denied",
    }
}

//! The eligibility engine: which hours count, how they are split across requirement sets, and
//! exactly what is still missing.
//!
//! INTERFACE (fixed; other crates depend on it). The implementation is being written.

use crate::credential::ProviderCategory;
use crate::calendar::Cycle;
use crate::hours::Hours;
use crate::ids::EntryId;
use crate::rules::CredentialRules;
use chrono::NaiveDate;
use serde::Serialize;

/// The facts of one entry the engine needs (small and `Copy`, so evaluation never clones text).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct EntryFacts {
    pub id: EntryId,
    pub completed_on: NaiveDate,
    pub hours: Hours,
    pub ethics_hours: Hours,
    pub category: ProviderCategory,
    pub canadian_content: bool,
}

/// The verdict: per requirement set and requirement, and the allocation chosen per entry.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, utoipa::ToSchema)]
pub struct Eligibility {
    /// Every requirement of every set is met.
    pub met: bool,
    pub sets: Vec<SetOutcome>,
    /// One line per unmet requirement, e.g. "2.00 h ethics / conflicts of interest hours in the Canadian requirements".
    pub gaps: Vec<Gap>,
    /// Per entry: how its hours were split across sets, or why it does not count.
    pub allocation: Vec<EntryAllocation>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, utoipa::ToSchema)]
pub struct SetOutcome {
    pub key: String,
    pub label: String,
    pub met: bool,
    pub requirements: Vec<RequirementOutcome>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, utoipa::ToSchema)]
pub struct RequirementOutcome {
    pub key: String,
    pub label: String,
    #[serde(rename = "required_hundredths")]
    #[schema(value_type = u32)]
    pub required: Hours,
    /// Hours allocated to the set that match this requirement (may exceed `required`).
    #[serde(rename = "counted_hundredths")]
    #[schema(value_type = u32)]
    pub counted: Hours,
    #[serde(rename = "shortfall_hundredths")]
    #[schema(value_type = u32)]
    pub shortfall: Hours,
    pub met: bool,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, utoipa::ToSchema)]
pub struct Gap {
    pub set: String,
    pub requirement: String,
    #[serde(rename = "shortfall_hundredths")]
    #[schema(value_type = u32)]
    pub shortfall: Hours,
    pub message: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, utoipa::ToSchema)]
pub struct EntryAllocation {
    pub entry_id: EntryId,
    /// Completed inside the cycle's counting period.
    pub in_cycle: bool,
    /// Why the entry does not count, when it does not.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub excluded_reason: Option<String>,
    pub shares: Vec<Share>,
}

/// Hours of one entry placed in one set.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, utoipa::ToSchema)]
pub struct Share {
    pub set: String,
    #[serde(rename = "hours_hundredths")]
    #[schema(value_type = u32)]
    pub hours: Hours,
    #[serde(rename = "ethics_hours_hundredths")]
    #[schema(value_type = u32)]
    pub ethics_hours: Hours,
}

/// Judge `entries` against `rules` for `cycle`.
pub fn evaluate(rules: &CredentialRules, cycle: &Cycle, entries: &[EntryFacts]) -> Eligibility {
    let _ = (rules, cycle, entries);
    unimplemented!("being written")
}

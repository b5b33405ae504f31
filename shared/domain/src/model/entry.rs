//! Continuing-education entries on a transcript.

use crate::vocabulary::actor::ProviderId;
use crate::vocabulary::credential::ProviderCategory;
use crate::vocabulary::error::FieldErrors;
use crate::vocabulary::hours::Hours;
use crate::vocabulary::ids::EntryId;
use chrono::{DateTime, NaiveDate, Utc};
use serde::{Deserialize, Serialize};

pub const MAX_TEXT_CHARS: usize = 200;
pub const MAX_EVIDENCE: usize = 20;
pub const MAX_REFERENCE_CHARS: usize = 1000;

/// Who put the entry on the transcript.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum EntrySource {
    /// The certificant (or staff on their behalf) logged it.
    SelfReported,
    /// A partner provider posted the completion.
    ProviderReported,
}

/// A pointer to a document proving the activity (certificate of completion, receipt...).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct EvidenceRef {
    /// Where the document is (an upload key or URL).
    pub reference: String,
    /// What it is, for the reader.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
}

/// A validated activity: what was done, when, how many hours. Built only by [`CeEntryInput::validate`].
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct Activity {
    pub title: String,
    pub provider_name: String,
    pub provider_category: ProviderCategory,
    pub canadian_content: bool,
    pub completed_on: NaiveDate,
    /// Hours in hundredths (150 = 1.50 h); more than zero.
    #[serde(rename = "hours_hundredths")]
    #[schema(value_type = u32)]
    pub hours: Hours,
    /// The part of `hours` on ethics / conflicts of interest, in hundredths; never more than `hours`.
    #[serde(rename = "ethics_hours_hundredths")]
    #[schema(value_type = u32)]
    pub ethics_hours: Hours,
    pub evidence: Vec<EvidenceRef>,
}

impl Activity {
    /// What the eligibility engine needs of this activity.
    pub fn facts(&self, id: EntryId) -> crate::eligibility::EntryFacts {
        crate::eligibility::EntryFacts {
            id,
            completed_on: self.completed_on,
            hours: self.hours,
            ethics_hours: self.ethics_hours,
            category: self.provider_category,
            canadian_content: self.canadian_content,
        }
    }
}

/// An entry as stored and returned.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct CeEntry {
    pub id: EntryId,
    /// The first day of the cycle whose transcript holds this entry (the cycle it was logged in).
    pub cycle_starts_on: NaiveDate,
    #[serde(flatten)]
    pub activity: Activity,
    pub source: EntrySource,
    /// The provider's posting it came from (provider-reported entries only).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub posting: Option<PostingRef>,
    /// The certificant confirmed this self-reported entry is not a duplicate of a
    /// provider-reported one (it counts even when it looks like one).
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub distinct_confirmed: bool,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

/// The fields of an entry as a client sends them (create, replace, what-if).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CeEntryInput {
    #[schema(example = "Interoperability in practice")]
    pub title: String,
    #[schema(example = "Digital Health Canada")]
    pub provider_name: String,
    pub provider_category: ProviderCategory,
    /// Canadian-specific content (only such hours can count in the Canadian set).
    #[serde(default)]
    pub canadian_content: bool,
    #[schema(example = "2026-03-14")]
    pub completed_on: NaiveDate,
    /// Hours in hundredths (150 = 1.50 h).
    #[schema(example = 150)]
    pub hours_hundredths: u32,
    /// Ethics part of the hours, in hundredths.
    #[serde(default)]
    #[schema(example = 0)]
    pub ethics_hours_hundredths: u32,
    #[serde(default)]
    pub evidence: Vec<EvidenceRef>,
}

/// What validation needs from the rules and the calendar.
#[derive(Debug, Clone, Copy)]
pub struct EntryLimits {
    /// The largest number of hours one activity may carry.
    pub max_hours: Hours,
    /// The latest completion date accepted (today for real entries; `None` for what-if plans).
    pub completed_no_later_than: Option<NaiveDate>,
}

pub(crate) fn check_text(errors: &mut FieldErrors, field: &str, value: &str) -> String {
    crate::vocabulary::text::check(errors, field, value, MAX_TEXT_CHARS)
}

impl CeEntryInput {
    /// Parse, don't validate: the only way to an [`Activity`].
    pub fn validate(self, limits: EntryLimits) -> Result<Activity, FieldErrors> {
        let mut errors = FieldErrors::default();
        let title = check_text(&mut errors, "title", &self.title);
        let provider_name = check_text(&mut errors, "provider_name", &self.provider_name);
        let hours = Hours(self.hours_hundredths);
        let ethics_hours = Hours(self.ethics_hours_hundredths);
        if hours == Hours::ZERO {
            errors.add("hours_hundredths", "must be more than zero");
        } else if hours > limits.max_hours {
            errors.add(
                "hours_hundredths",
                format!("must be at most {} for one activity", limits.max_hours),
            );
        }
        if ethics_hours > hours {
            errors.add(
                "ethics_hours_hundredths",
                "must not exceed hours_hundredths",
            );
        }
        if let Some(latest) = limits.completed_no_later_than
            && self.completed_on > latest
        {
            errors.add("completed_on", format!("must not be after {latest}"));
        }
        if self.evidence.len() > MAX_EVIDENCE {
            errors.add("evidence", format!("at most {MAX_EVIDENCE} references"));
        }
        for (i, e) in self.evidence.iter().enumerate() {
            let r = e.reference.trim();
            if crate::vocabulary::text::problem(r, MAX_REFERENCE_CHARS).is_some() {
                errors.add(
                    format!("evidence/{i}/reference"),
                    format!("must be 1 to {MAX_REFERENCE_CHARS} printable characters"),
                );
            } else if let Some(p) = crate::vocabulary::text::link_problem(r) {
                errors.add(format!("evidence/{i}/reference"), p);
            }
            if let Some(d) = &e.description {
                check_text(&mut errors, &format!("evidence/{i}/description"), d);
            }
        }
        errors.into_result()?;
        Ok(Activity {
            title,
            provider_name,
            provider_category: self.provider_category,
            canadian_content: self.canadian_content,
            completed_on: self.completed_on,
            hours,
            ethics_hours,
            evidence: self
                .evidence
                .into_iter()
                .map(|e| EvidenceRef {
                    reference: e.reference.trim().to_string(),
                    description: e.description.map(|d| d.trim().to_string()),
                })
                .collect(),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn input() -> CeEntryInput {
        CeEntryInput {
            title: " Ethics in informatics ".into(),
            provider_name: "The Society".into(),
            provider_category: ProviderCategory::Society,
            canadian_content: false,
            completed_on: NaiveDate::from_ymd_opt(2026, 3, 1).unwrap_or_default(),
            hours_hundredths: 300,
            ethics_hours_hundredths: 100,
            evidence: vec![],
        }
    }

    fn limits() -> EntryLimits {
        EntryLimits {
            max_hours: Hours(6000),
            completed_no_later_than: NaiveDate::from_ymd_opt(2026, 11, 23),
        }
    }

    #[test]
    fn a_valid_entry_is_trimmed_and_kept() {
        let a = input()
            .validate(limits())
            .unwrap_or_else(|e| panic!("{e:?}"));
        assert_eq!(a.title, "Ethics in informatics");
        assert_eq!(a.hours, Hours(300));
        assert_eq!(a.ethics_hours, Hours(100));
    }

    #[test]
    fn ethics_hours_above_hours_are_refused_on_that_field() {
        let e = CeEntryInput {
            ethics_hours_hundredths: 301,
            ..input()
        }
        .validate(limits());
        let errors = e.err().unwrap_or_default();
        assert!(errors.0.contains_key("ethics_hours_hundredths"));
    }

    #[test]
    fn zero_and_oversized_hours_are_refused() {
        for h in [0, 6001] {
            let errors = CeEntryInput {
                hours_hundredths: h,
                ethics_hours_hundredths: 0,
                ..input()
            }
            .validate(limits())
            .err()
            .unwrap_or_default();
            assert!(errors.0.contains_key("hours_hundredths"), "{h}");
        }
    }

    #[test]
    fn a_completion_in_the_future_is_refused_but_allowed_for_plans() {
        let future = CeEntryInput {
            completed_on: NaiveDate::from_ymd_opt(2026, 11, 24).unwrap_or_default(),
            ..input()
        };
        assert!(future.clone().validate(limits()).is_err());
        let plan = EntryLimits {
            completed_no_later_than: None,
            ..limits()
        };
        assert!(future.validate(plan).is_ok());
    }

    #[test]
    fn blank_title_and_provider_are_refused() {
        let errors = CeEntryInput {
            title: "  ".into(),
            provider_name: String::new(),
            ..input()
        }
        .validate(limits())
        .err()
        .unwrap_or_default();
        assert!(errors.0.contains_key("title"));
        assert!(errors.0.contains_key("provider_name"));
    }
}

/// What links an entry to the posting it came from.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct PostingRef {
    #[schema(value_type = String)]
    pub provider_id: ProviderId,
    pub completion_id: String,
    pub activity_id: String,
}

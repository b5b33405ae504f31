//! Would a renewal submission be accepted today, and if not, why not.

use crate::calendar::WindowState;
use crate::certification::CertificationAggregate;
use crate::eligibility::Eligibility;
use crate::error::ConflictCode;
use crate::rules::RuleSet;
use chrono::NaiveDate;
use serde::Serialize;

/// One reason a submission would be refused today.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, utoipa::ToSchema)]
pub struct SubmissionCheck {
    /// Stable code for clients: `certification_lapsed`, `cycle_submitted`, `window_not_open`,
    /// `window_closed`, `requirements_not_met` (the submission's 409 says the same).
    pub code: ConflictCode,
    pub message: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, utoipa::ToSchema)]
pub struct SubmissionReadiness {
    /// A submission (with attestation, billing address and fee) would be accepted today.
    pub accepted: bool,
    /// Empty when accepted.
    pub reasons: Vec<SubmissionCheck>,
}

impl SubmissionReadiness {
    pub fn assess(
        aggregate: &CertificationAggregate,
        rules: &RuleSet,
        eligibility: &Eligibility,
        today: NaiveDate,
    ) -> Self {
        let cycle = aggregate.certification.cycle();
        let window = cycle.window(&rules.deadlines);
        let mut reasons = Vec::new();
        if !aggregate.certification.is_active() {
            reasons.push(SubmissionCheck {
                code: ConflictCode::CertificationLapsed,
                message: "the certification is no longer active (lapsed or revoked); only passing the exam again reinstates it"
                    .into(),
            });
        }
        if let Some(r) = aggregate.current_submission() {
            reasons.push(SubmissionCheck {
                code: ConflictCode::CycleSubmitted,
                message: format!(
                    "a renewal for this cycle was submitted on {}",
                    r.submitted_at.date_naive()
                ),
            });
        }
        match window.state_on(today) {
            WindowState::NotYetOpen => reasons.push(SubmissionCheck {
                code: ConflictCode::WindowNotOpen,
                message: format!("the renewal window opens on {}", window.opens_on),
            }),
            WindowState::Closed => reasons.push(SubmissionCheck {
                code: ConflictCode::WindowClosed,
                message: format!(
                    "the renewal window closed at the end of {}",
                    window.closes_on
                ),
            }),
            WindowState::Open => {}
        }
        if !eligibility.met {
            let gaps: Vec<_> = eligibility
                .gaps
                .iter()
                .map(|g| g.message.as_str())
                .collect();
            reasons.push(SubmissionCheck {
                code: ConflictCode::RequirementsNotMet,
                message: format!("still missing: {}", gaps.join("; ")),
            });
        }
        SubmissionReadiness {
            accepted: reasons.is_empty(),
            reasons,
        }
    }
}

//! Renewal submission: submit (inside the window, requirements met, attested, billed, priced by
//! the membership status on record), withdraw before paying, and whether a submission would be
//! accepted today ([`SubmissionReadiness`]).

use crate::calendar::WindowState;
use crate::certification::CertificationAggregate;
use crate::certification::Decide;
use crate::certification::changes::Changes;
use crate::certification::item::Item;
use crate::eligibility::Eligibility;
use crate::model::history::HistoryKind;
use crate::model::submission::AttestationRecord;
use crate::model::submission::Charge;
use crate::model::submission::Submission;
use crate::model::submission::SubmissionStatus;
use crate::model::submission::SubmitRequest;
use crate::model::submission::order_number;
use crate::model::submission::status_name;
use crate::rules::RuleSet;
use crate::vocabulary::credential::Membership;
use crate::vocabulary::error::ConflictCode;
use crate::vocabulary::error::DomainError;
use crate::vocabulary::error::FieldErrors;
use chrono::NaiveDate;
use serde::Serialize;

pub(crate) fn money(amount_minor: i64, currency: &str) -> String {
    format!(
        "{}.{:02} {currency}",
        amount_minor / 100,
        (amount_minor % 100).abs()
    )
}

impl CertificationAggregate {
    pub(crate) fn renewal(&self, id: uuid::Uuid) -> Result<&Submission, DomainError> {
        if let Some(r) = self.renewals.iter().find(|r| r.id == id) {
            return Ok(r);
        }
        // The submission that renewed the certification lives with the previous cycle now.
        if self.certification.renewed_by == Some(id) {
            return Err(DomainError::conflict(
                ConflictCode::NotInReview,
                format!(
                    "this submission was approved: the certification is renewed until {}",
                    self.certification.expires_on
                ),
            ));
        }
        Err(DomainError::NotFound("submission"))
    }

    /// The renewal of the current cycle that an order number names.
    pub fn renewal_by_order(&self, order_number: &str) -> Option<&Submission> {
        self.renewals
            .iter()
            .find(|r| r.order_number == order_number)
    }

    /// Submit the current cycle's renewal (see the module docs). `membership` is the status on
    /// record; a returned submission's accepted payment is carried over (no paying twice).
    pub fn submit(
        &self,
        ctx: &Decide<'_>,
        request: SubmitRequest,
        membership: Membership,
        renewal_id: uuid::Uuid,
    ) -> Result<(Submission, Changes), DomainError> {
        let mut errors = FieldErrors::default();
        let billing = request
            .billing_address
            .validate("billing_address", &mut errors);
        match request.attestation {
            Some(true) => {}
            Some(false) => errors.add(
                "attestation",
                format!(
                    "must be true: a renewal is taken only with the attestation \"{}\"",
                    ctx.rules.attestation.text
                ),
            ),
            None => errors.add("attestation", "is required and must be true"),
        }
        if let Some(v) = &request.attestation_version
            && *v != ctx.rules.attestation.version
        {
            errors.add(
                "attestation_version",
                format!(
                    "the attestation in force is version {}; read it again and attest to that one",
                    ctx.rules.attestation.version
                ),
            );
        }
        errors.into_result().map_err(DomainError::Invalid)?;
        let c = &self.certification;
        let eligibility = self.eligibility(ctx.rules);
        let readiness =
            SubmissionReadiness::assess(self, ctx.rules, &eligibility, ctx.now.date_naive());
        if let Some(first) = readiness.reasons.first() {
            return Err(DomainError::conflict(first.code, first.message.clone()));
        }
        let fee = ctx.rules.fee(c.credential, membership).ok_or_else(|| {
            DomainError::conflict(
                ConflictCode::NoFee,
                "the ctx.rules hold no fee for this credential and membership",
            )
        })?;
        // A returned submission of this cycle that was paid: its payment carries over.
        let carried = self.renewals.iter().find(|r| {
            r.cycle_expires_on == c.expires_on
                && r.status == SubmissionStatus::Returned
                && r.paid_at.is_some()
        });
        let renewal = Submission {
            id: renewal_id,
            cycle_starts_on: c.cycle_starts_on,
            cycle_expires_on: c.expires_on,
            status: if carried.is_some() {
                SubmissionStatus::InReview
            } else {
                SubmissionStatus::AwaitingPayment
            },
            submitted_at: ctx.now,
            order_number: carried.map_or_else(
                || order_number(c.id, renewal_id),
                |r| r.order_number.clone(),
            ),
            attestation: Some(Box::new(AttestationRecord {
                version: ctx.rules.attestation.version.clone(),
                text: ctx.rules.attestation.text.clone(),
                accepted_at: ctx.now,
            })),
            billing_address: Some(Box::new(billing)),
            charge: Some(Box::new(Charge {
                amount_minor: fee.amount_minor,
                currency: fee.currency.clone(),
                membership,
                fee_table_effective_from: ctx.rules.effective_from,
            })),
            payments: carried.map(|r| r.payments.clone()).unwrap_or_default(),
            processed_events: Vec::new(),
            flags: Vec::new(),
            paid_at: carried.and_then(|r| r.paid_at.map(|_| ctx.now)),
            review: None,
            // A resubmission after a return was judged by the draw already (judged once).
            draw: carried.and_then(|r| r.draw.clone()),
            certificate_due_on: None,
        };
        let changes = self
            .change(
                ctx.actor,
                ctx.now,
                HistoryKind::RenewalSubmitted { renewal_id },
            )
            .put(Item::Submission(renewal.clone()))
            .build();
        Ok((renewal, changes))
    }

    /// Withdraw an unpaid submission: the entries unlock.
    pub fn withdraw(
        &self,
        ctx: &Decide<'_>,
        renewal_id: uuid::Uuid,
    ) -> Result<(Submission, Changes), DomainError> {
        let r = self.renewal(renewal_id)?;
        if r.status != SubmissionStatus::AwaitingPayment {
            return Err(DomainError::conflict(
                ConflictCode::NotWithdrawable,
                format!(
                    "only a submission awaiting payment can be withdrawn; this one is {}",
                    status_name(r.status)
                ),
            ));
        }
        let withdrawn = Submission {
            status: SubmissionStatus::Withdrawn,
            ..r.clone()
        };
        let changes = self
            .change(
                ctx.actor,
                ctx.now,
                HistoryKind::RenewalWithdrawn { renewal_id },
            )
            .put(Item::Submission(withdrawn.clone()))
            .build();
        Ok((withdrawn, changes))
    }
}

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

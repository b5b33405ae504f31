//! Staff review of a paid submission: approve (the expiration moves one cycle) or return with
//! reasons.

use crate::certification::CertificationAggregate;
use crate::certification::Decide;
use crate::certification::changes::Changes;
use crate::certification::item::Item;
use crate::model::deadline::Deadline;
use crate::model::history::HistoryKind;
use crate::model::notice::Notice;
use crate::model::notice::OutboxMessage;
use crate::model::notice::Recipient;
use crate::model::submission::ReturnReason;
use crate::model::submission::Review;
use crate::model::submission::ReviewOutcome;
use crate::model::submission::Submission;
use crate::model::submission::SubmissionStatus;
use crate::model::submission::status_name;
use crate::vocabulary::error::ConflictCode;
use crate::vocabulary::error::DomainError;
use crate::vocabulary::error::FieldErrors;

impl CertificationAggregate {
    /// Approve a paid submission: the expiration moves one cycle length from the OLD expiration
    /// (month ends clamped), a new cycle starts the next day with its own deadlines, and the
    /// approval is queued for the certificant.
    pub fn approve(
        &self,
        ctx: &Decide<'_>,
        renewal_id: uuid::Uuid,
        recipient: Recipient,
    ) -> Result<(Submission, Changes), DomainError> {
        let r = self.in_review(renewal_id)?;
        let c = &self.certification;
        let new_expires_on = c
            .cycle()
            .next_expiration(ctx.rules.credential(c.credential).cycle_years);
        let new_starts_on = c.expires_on.succ_opt().unwrap_or(c.expires_on);
        let approved = Submission {
            status: SubmissionStatus::Approved,
            review: Some(Box::new(Review {
                outcome: ReviewOutcome::Approved { new_expires_on },
                by: ctx.actor.acted_by(),
                at: ctx.now,
            })),
            ..r.clone()
        };
        let mut renewed = c.clone();
        renewed.cycle_starts_on = new_starts_on;
        renewed.expires_on = new_expires_on;
        renewed.extended_to = None;
        let notice = Notice::Approved(crate::model::notice::Approved {
            certification_id: c.id,
            credential: c.credential,
            certificate_number: c.certificate_number.clone(),
            valid_until: new_expires_on,
            next_cycle_starts_on: new_starts_on,
        });
        let mut change = self
            .change(
                ctx.actor,
                ctx.now,
                HistoryKind::RenewalApproved {
                    renewal_id,
                    new_expires_on,
                },
            )
            .root(|root| {
                root.cycle_starts_on = new_starts_on;
                root.expires_on = new_expires_on;
                root.extended_to = None;
                root.renewed_by = Some(renewal_id);
            })
            .put(Item::Submission(approved.clone()))
            .put(Item::Outbox(OutboxMessage::new(
                ctx.message_id,
                c.id,
                recipient,
                notice,
                ctx.now,
            )));
        for deadline in Deadline::of_cycle(&renewed, &ctx.rules.deadlines) {
            change = change.put(Item::Deadline(deadline));
        }
        Ok((approved, change.build()))
    }

    /// Return a paid submission with reasons: its entries unlock; the certificant corrects and
    /// resubmits inside the window without paying again.
    pub fn return_submission(
        &self,
        ctx: &Decide<'_>,
        renewal_id: uuid::Uuid,
        reasons: Vec<ReturnReason>,
        recipient: Recipient,
    ) -> Result<(Submission, Changes), DomainError> {
        let r = self.in_review(renewal_id)?;
        let mut errors = FieldErrors::default();
        if reasons.is_empty() {
            errors.add("reasons", "give at least one reason");
        }
        for (i, reason) in reasons.iter().enumerate() {
            crate::vocabulary::text::check(
                &mut errors,
                &format!("reasons/{i}/reason"),
                &reason.reason,
                1000,
            );
            if let Some(entry) = reason.entry_id
                && self.entry(entry).is_err()
            {
                errors.add(
                    format!("reasons/{i}/entry_id"),
                    "no such entry in this cycle",
                );
            }
        }
        errors.into_result().map_err(DomainError::Invalid)?;
        let returned = Submission {
            status: SubmissionStatus::Returned,
            review: Some(Box::new(Review {
                outcome: ReviewOutcome::Returned {
                    reasons: reasons.clone(),
                },
                by: ctx.actor.acted_by(),
                at: ctx.now,
            })),
            ..r.clone()
        };
        let notice = Notice::Returned(crate::model::notice::Returned {
            certification_id: self.certification.id,
            credential: self.certification.credential,
            order_number: r.order_number.clone(),
            window_closes_on: self.certification.cycle().counting_ends_on(),
            reasons: reasons.into_iter().map(|r| r.reason).collect(),
        });
        let changes = self
            .change(
                ctx.actor,
                ctx.now,
                HistoryKind::RenewalReturned { renewal_id },
            )
            .put(Item::Submission(returned.clone()))
            .put(Item::Outbox(OutboxMessage::new(
                ctx.message_id,
                self.certification.id,
                recipient,
                notice,
                ctx.now,
            )))
            .build();
        Ok((returned, changes))
    }

    pub(crate) fn in_review(&self, renewal_id: uuid::Uuid) -> Result<&Submission, DomainError> {
        let r = self.renewal(renewal_id)?;
        if !self.certification.is_active() {
            return Err(DomainError::conflict(
                ConflictCode::CertificationLapsed,
                "this certification is no longer active (lapsed or revoked)",
            ));
        }
        if r.status != SubmissionStatus::InReview {
            return Err(DomainError::conflict(
                ConflictCode::NotInReview,
                format!(
                    "only a paid submission in review can be decided; this one is {}",
                    status_name(r.status)
                ),
            ));
        }
        if r.draw.is_none() {
            return Err(DomainError::conflict(
                ConflictCode::AwaitingAuditDraw,
                "this submission waits for the daily random audit draw; it can be decided once drawn",
            ));
        }
        Ok(r)
    }
}

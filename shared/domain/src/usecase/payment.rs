//! Payment of a submission: by the processor's signed event, or recorded by staff; each event
//! applied once, anything that is not exactly the fee recorded and flagged for staff.

use crate::certification::CertificationAggregate;
use crate::certification::Decide;
use crate::certification::changes::Changes;
use crate::certification::item::Item;
use crate::model::history::HistoryKind;
use crate::model::notice::Notice;
use crate::model::notice::OutboxMessage;
use crate::model::notice::Recipient;
use crate::model::submission::PaymentEventFacts;
use crate::model::submission::PaymentRecord;
use crate::model::submission::PaymentSource;
use crate::model::submission::Submission;
use crate::model::submission::SubmissionStatus;
use crate::model::submission::status_name;
use crate::usecase::submission::money;
use crate::vocabulary::error::DomainError;

impl CertificationAggregate {
    /// Apply a payment event to the submission `order_number` names. `Ok(None)` when there is
    /// nothing to change: the event was applied before (redelivered, however much later), or it
    /// is a failure notice. A payment that pays the submission moves it to review and queues the
    /// receipt; anything else is recorded and flagged for staff.
    pub fn apply_payment(
        &self,
        ctx: &Decide<'_>,
        order_number: &str,
        event: &PaymentEventFacts,
        recipient: Recipient,
    ) -> Result<Option<Changes>, DomainError> {
        let r = self
            .renewal_by_order(order_number)
            .ok_or(DomainError::NotFound("submission"))?;
        if r.processed_events.contains(&event.event_id) {
            return Ok(None);
        }
        let mut next = r.clone();
        next.processed_events.push(event.event_id.clone());
        if event.refunded {
            next.flags.push(format!(
                "refunded by the processor (event {})",
                event.event_id
            ));
        }
        if !event.succeeded {
            return Ok(Some(self.payment_change(ctx, next, false, None)));
        }
        let source = PaymentSource::Processor {
            event_id: event.event_id.clone(),
            reference: event.reference.clone(),
        };
        let (amount, currency) = (
            event.amount_minor.unwrap_or(0),
            event
                .currency
                .clone()
                .unwrap_or_default()
                .to_ascii_uppercase(),
        );
        Ok(Some(
            self.receive(ctx, next, source, amount, currency, recipient),
        ))
    }

    /// Staff record a payment made outside the processor (a cheque, an invoice).
    pub fn record_payment(
        &self,
        ctx: &Decide<'_>,
        renewal_id: uuid::Uuid,
        reference: String,
        amount_minor: i64,
        currency: String,
        recipient: Recipient,
    ) -> Result<(Submission, Changes), DomainError> {
        let r = self.renewal(renewal_id)?.clone();
        let source = PaymentSource::Staff {
            reference,
            by: ctx.actor.acted_by(),
        };
        let changes = self.receive(
            ctx,
            r,
            source,
            amount_minor,
            currency.to_ascii_uppercase(),
            recipient,
        );
        let renewal = changes
            .puts()
            .iter()
            .find_map(|i| match i {
                Item::Submission(r) if r.id == renewal_id => Some(r.clone()),
                _ => None,
            })
            .ok_or(DomainError::NotFound("submission"))?;
        Ok((renewal, changes))
    }

    /// A payment received for `next` (the renewal as it will be): accepted if it pays exactly
    /// what is owed while payment is awaited, else recorded and flagged.
    pub(crate) fn receive(
        &self,
        ctx: &Decide<'_>,
        mut next: Submission,
        source: PaymentSource,
        amount_minor: i64,
        currency: String,
        recipient: Recipient,
    ) -> Changes {
        let charge = next.charge.clone();
        let exact = charge.as_ref().is_some_and(|c| {
            i64::try_from(c.amount_minor).ok() == Some(amount_minor) && c.currency == currency
        });
        let awaited = next.status == SubmissionStatus::AwaitingPayment;
        let accepted = exact && awaited;
        if !accepted {
            let why = if !awaited {
                format!(
                    "a payment of {} arrived while the submission was {}: refund or apply it by hand",
                    money(amount_minor, &currency),
                    status_name(next.status)
                )
            } else {
                let owed = charge
                    .as_ref()
                    .map_or_else(String::new, |c| money(c.amount_minor as i64, &c.currency));
                format!(
                    "paid {} but the fee is {owed}: not accepted",
                    money(amount_minor, &currency)
                )
            };
            next.flags.push(why);
        }
        next.payments.push(PaymentRecord {
            source,
            amount_minor,
            currency: currency.clone(),
            received_at: ctx.now,
            accepted,
        });
        let mut receipt = None;
        if accepted {
            next.status = SubmissionStatus::InReview;
            next.paid_at = Some(ctx.now);
            receipt = Some(OutboxMessage::new(
                ctx.message_id,
                self.certification.id,
                recipient,
                Notice::Receipt(crate::model::notice::Receipt {
                    certification_id: self.certification.id,
                    credential: self.certification.credential,
                    order_number: next.order_number.clone(),
                    amount_minor,
                    currency,
                    paid_at: ctx.now,
                }),
                ctx.now,
            ));
        }
        self.payment_change(ctx, next, accepted, receipt)
    }

    pub(crate) fn payment_change(
        &self,
        ctx: &Decide<'_>,
        next: Submission,
        accepted: bool,
        receipt: Option<OutboxMessage>,
    ) -> Changes {
        let mut change = self
            .change(
                ctx.actor,
                ctx.now,
                HistoryKind::PaymentRecorded {
                    renewal_id: next.id,
                    accepted,
                },
            )
            .put(Item::Submission(next));
        if let Some(message) = receipt {
            change = change.put(Item::Outbox(message));
        }
        change.build()
    }
}

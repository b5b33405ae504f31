//! The payment processor's events, once their signature is verified: each applied once to the
//! submission its order number names, by the payment webhook's actor.

use crate::{App, AppError, Decision};
use recert_domain::model::submission::{PaymentEventFacts, certification_of_order};
use recert_domain::{Actor, CertificantId, DomainError, Recipient, WebhookSender};

/// What a payment event did. Every outcome but an error is a 2xx to the processor, so it stops
/// redelivering: an event we cannot use would never become usable.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PaymentEventOutcome {
    /// Recorded on its submission (paid, failed, refunded; flagged for staff when it does not fit).
    Applied,
    /// Applied before: a redelivery, however much later.
    Duplicate,
    /// Not for a submission of any certification's current cycle (an order number we never
    /// issued, a certification gone, a cycle decided long ago).
    Ignored,
}

impl PaymentEventOutcome {
    pub fn as_str(self) -> &'static str {
        match self {
            PaymentEventOutcome::Applied => "applied",
            PaymentEventOutcome::Duplicate => "duplicate",
            PaymentEventOutcome::Ignored => "ignored",
        }
    }
}

impl App {
    /// The certificant `id` as the recipient of the messages a command queues.
    pub async fn recipient(&self, id: CertificantId) -> Result<Recipient, AppError> {
        let certificant = self
            .store
            .certificant(id)
            .await?
            .ok_or(AppError::NotFound("certificant"))?;
        Ok(Recipient::from(&certificant))
    }

    /// Apply a verified payment event for the submission `order_number` names, once.
    pub async fn apply_payment_event(
        &self,
        order_number: &str,
        facts: &PaymentEventFacts,
    ) -> Result<PaymentEventOutcome, AppError> {
        let Some(certification_id) = certification_of_order(order_number) else {
            tracing::warn!("payment event for an order number we never issued; ignored");
            return Ok(PaymentEventOutcome::Ignored);
        };
        let Some(certification) = self.store.certification(certification_id).await? else {
            return Ok(PaymentEventOutcome::Ignored);
        };
        let recipient = self.recipient(certification.certificant_id).await?;
        let actor = Actor::Webhook(WebhookSender("payments".into()));
        self.command(&actor, certification_id)
            .authorize(|_, _| Ok(()))
            .run(|ctx| {
                match ctx.aggregate.apply_payment(
                    &ctx.decide(),
                    order_number,
                    facts,
                    recipient.clone(),
                ) {
                    Ok(Some(changes)) => {
                        Ok(Decision::commit(changes, PaymentEventOutcome::Applied))
                    }
                    Ok(None) => Ok(Decision::Unchanged(PaymentEventOutcome::Duplicate)),
                    // Not a submission of the current cycle (decided long ago, or unknown).
                    Err(DomainError::NotFound(_)) => {
                        Ok(Decision::Unchanged(PaymentEventOutcome::Ignored))
                    }
                    Err(e) => Err(AppError::from(e)),
                }
            })
            .await
    }
}

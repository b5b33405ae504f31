//! Renewal submissions: submit (inside the window, requirements met, attested, billed, priced by
//! the membership status on record), withdraw before paying, record payments (each processor
//! event applied once; anything that does not pay the fee exactly is recorded and flagged, never
//! silently accepted), and the staff review (approve: the expiration moves one cycle from the OLD
//! expiration and a new cycle starts the next day; return with reasons: the entries unlock and a
//! resubmission carries the payment over). Every command returns the [`Changes`] to commit and,
//! where the certificant must hear of it, an outbox message in the same commit.

use crate::actor::{ActedBy, Actor};
use crate::certification::{
    CertificationAggregate, Changes, Deadline, HistoryKind, Item, Membership, Renewal,
    RenewalStatus,
};
use crate::error::ConflictCode;
use crate::error::{DomainError, FieldErrors};
use crate::ids::{CertificationId, EntryId};
use crate::notice::{Notice, OutboxMessage, Recipient};
use crate::readiness::SubmissionReadiness;
use crate::rules::RuleSet;
use chrono::{DateTime, NaiveDate, Utc};
use serde::{Deserialize, Serialize};

const MAX_FIELD_CHARS: usize = 200;

/// Where the invoice goes. Personal data: stored, never logged.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct BillingAddress {
    #[schema(example = "Ada Lovelace")]
    pub name: String,
    #[schema(example = "12 St James's Square")]
    pub line1: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub line2: Option<String>,
    #[schema(example = "London")]
    pub city: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub region: Option<String>,
    #[schema(example = "SW1Y 4LE")]
    pub postal_code: String,
    /// ISO 3166-1 alpha-2 country code.
    #[schema(example = "GB")]
    pub country: String,
}

impl BillingAddress {
    /// The address trimmed, or the fields that are wrong (under `prefix`).
    pub fn validate(self, prefix: &str, errors: &mut FieldErrors) -> BillingAddress {
        let mut text = |field: &str, value: String, required: bool| -> String {
            let v = value.trim().to_owned();
            let path = format!("{prefix}/{field}");
            if required && v.is_empty() {
                errors.add(path, "must not be blank");
            } else if v.chars().count() > MAX_FIELD_CHARS {
                errors.add(
                    path,
                    format!("must be at most {MAX_FIELD_CHARS} characters"),
                );
            } else if v.chars().any(char::is_control) {
                errors.add(path, "must not contain control characters");
            }
            v
        };
        let name = text("name", self.name, true);
        let line1 = text("line1", self.line1, true);
        let line2 = self
            .line2
            .map(|l| text("line2", l, false))
            .filter(|l| !l.is_empty());
        let city = text("city", self.city, true);
        let region = self
            .region
            .map(|r| text("region", r, false))
            .filter(|r| !r.is_empty());
        let postal_code = text("postal_code", self.postal_code, true);
        let country = self.country.trim().to_ascii_uppercase();
        if country.len() != 2 || !country.bytes().all(|b| b.is_ascii_uppercase()) {
            errors.add(
                format!("{prefix}/country"),
                "must be an ISO 3166-1 alpha-2 code, e.g. US, CA, GB",
            );
        }
        BillingAddress {
            name,
            line1,
            line2,
            city,
            region,
            postal_code,
            country,
        }
    }
}

/// What the certificant attested, as the rules worded it then.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct AttestationRecord {
    pub version: String,
    pub text: String,
    pub accepted_at: DateTime<Utc>,
}

/// The fee of a submission and what priced it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct Charge {
    pub amount_minor: u64,
    pub currency: String,
    /// The membership status on record when it was priced.
    pub membership: Membership,
    /// The rules version whose fee table priced it.
    pub fee_table_effective_from: NaiveDate,
}

/// Who says a payment was made.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(tag = "source", rename_all = "snake_case")]
pub enum PaymentSource {
    /// The payment processor's signed webhook.
    Processor {
        event_id: String,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        reference: Option<String>,
    },
    /// Staff recorded it (a cheque, an invoice), with its reference.
    Staff { reference: String, by: ActedBy },
}

/// One payment received.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct PaymentRecord {
    #[serde(flatten)]
    pub source: PaymentSource,
    pub amount_minor: i64,
    pub currency: String,
    pub received_at: DateTime<Utc>,
    /// It paid this submission (the right amount and currency, while it awaited payment).
    pub accepted: bool,
}

/// A reason a reviewer returned a submission: about one entry, or overall.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ReturnReason {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub entry_id: Option<EntryId>,
    #[schema(
        max_length = 1000,
        pattern = r"^[^\x00-\x1f\x7f-\x9f\u061c\u200e\u200f\u202a-\u202e\u2066-\u2069]*[^\x00-\x1f\x7f-\x9f\u061c\u200e\u200f\u202a-\u202e\u2066-\u2069\s\u00ad\u200b-\u200d\u2060\ufeff][^\x00-\x1f\x7f-\x9f\u061c\u200e\u200f\u202a-\u202e\u2066-\u2069]*$"
    )]
    pub reason: String,
}

/// How a reviewer decided.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(tag = "outcome", rename_all = "snake_case")]
pub enum ReviewOutcome {
    Approved { new_expires_on: NaiveDate },
    Returned { reasons: Vec<ReturnReason> },
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct Review {
    #[serde(flatten)]
    pub outcome: ReviewOutcome,
    pub by: ActedBy,
    pub at: DateTime<Utc>,
}

/// The order number of a submission: names its certification, so a payment finds it.
pub fn order_number(certification: CertificationId, renewal: uuid::Uuid) -> String {
    let renewal = renewal.simple().to_string();
    format!(
        "R-{}-{}",
        certification.0.simple(),
        &renewal[renewal.len() - 8..]
    )
}

/// The certification an order number names.
pub fn certification_of_order(order_number: &str) -> Option<CertificationId> {
    let rest = order_number.strip_prefix("R-")?;
    let (id, _) = rest.split_once('-')?;
    uuid::Uuid::parse_str(id).ok().map(CertificationId)
}

/// What a submission asks.
#[derive(Debug, Clone)]
pub struct SubmitRequest {
    pub attestation: Option<bool>,
    pub attestation_version: Option<String>,
    pub billing_address: BillingAddress,
}

/// A payment event from the processor, provider-neutral.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PaymentEventFacts {
    pub event_id: String,
    pub succeeded: bool,
    pub refunded: bool,
    pub amount_minor: Option<i64>,
    pub currency: Option<String>,
    pub reference: Option<String>,
}

fn conflict(code: ConflictCode, message: impl Into<String>) -> DomainError {
    DomainError::conflict(code, message)
}

fn money(amount_minor: i64, currency: &str) -> String {
    format!(
        "{}.{:02} {currency}",
        amount_minor / 100,
        (amount_minor % 100).abs()
    )
}

impl CertificationAggregate {
    fn renewal(&self, id: uuid::Uuid) -> Result<&Renewal, DomainError> {
        if let Some(r) = self.renewals.iter().find(|r| r.id == id) {
            return Ok(r);
        }
        // The submission that renewed the certification lives with the previous cycle now.
        if self.certification.renewed_by == Some(id) {
            return Err(conflict(
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
    pub fn renewal_by_order(&self, order_number: &str) -> Option<&Renewal> {
        self.renewals
            .iter()
            .find(|r| r.order_number == order_number)
    }

    /// Submit the current cycle's renewal (see the module docs). `membership` is the status on
    /// record; a returned submission's accepted payment is carried over (no paying twice).
    #[allow(clippy::too_many_arguments)]
    pub fn submit(
        &self,
        request: SubmitRequest,
        rules: &RuleSet,
        membership: Membership,
        renewal_id: uuid::Uuid,
        actor: &Actor,
        now: DateTime<Utc>,
    ) -> Result<(Renewal, Changes), DomainError> {
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
                    rules.attestation.text
                ),
            ),
            None => errors.add("attestation", "is required and must be true"),
        }
        if let Some(v) = &request.attestation_version
            && *v != rules.attestation.version
        {
            errors.add(
                "attestation_version",
                format!(
                    "the attestation in force is version {}; read it again and attest to that one",
                    rules.attestation.version
                ),
            );
        }
        errors.into_result().map_err(DomainError::Invalid)?;
        let c = &self.certification;
        let eligibility = self.eligibility(rules);
        let readiness = SubmissionReadiness::assess(self, rules, &eligibility, now.date_naive());
        if let Some(first) = readiness.reasons.first() {
            return Err(conflict(first.code, first.message.clone()));
        }
        let fee = rules.fee(c.credential, membership).ok_or_else(|| {
            conflict(
                ConflictCode::NoFee,
                "the rules hold no fee for this credential and membership",
            )
        })?;
        // A returned submission of this cycle that was paid: its payment carries over.
        let carried = self.renewals.iter().find(|r| {
            r.cycle_expires_on == c.expires_on
                && r.status == RenewalStatus::Returned
                && r.paid_at.is_some()
        });
        let renewal = Renewal {
            id: renewal_id,
            cycle_starts_on: c.cycle_starts_on,
            cycle_expires_on: c.expires_on,
            status: if carried.is_some() {
                RenewalStatus::InReview
            } else {
                RenewalStatus::AwaitingPayment
            },
            submitted_at: now,
            order_number: carried.map_or_else(
                || order_number(c.id, renewal_id),
                |r| r.order_number.clone(),
            ),
            attestation: Some(Box::new(AttestationRecord {
                version: rules.attestation.version.clone(),
                text: rules.attestation.text.clone(),
                accepted_at: now,
            })),
            billing_address: Some(Box::new(billing)),
            charge: Some(Box::new(Charge {
                amount_minor: fee.amount_minor,
                currency: fee.currency.clone(),
                membership,
                fee_table_effective_from: rules.effective_from,
            })),
            payments: carried.map(|r| r.payments.clone()).unwrap_or_default(),
            processed_events: Vec::new(),
            flags: Vec::new(),
            paid_at: carried.and_then(|r| r.paid_at.map(|_| now)),
            review: None,
            // A resubmission after a return was judged by the draw already (judged once).
            draw: carried.and_then(|r| r.draw.clone()),
            certificate_due_on: None,
        };
        let changes = self
            .change(actor, now, HistoryKind::RenewalSubmitted { renewal_id })
            .put(Item::Renewal(renewal.clone()))
            .build();
        Ok((renewal, changes))
    }

    /// Withdraw an unpaid submission: the entries unlock.
    pub fn withdraw(
        &self,
        renewal_id: uuid::Uuid,
        actor: &Actor,
        now: DateTime<Utc>,
    ) -> Result<(Renewal, Changes), DomainError> {
        let r = self.renewal(renewal_id)?;
        if r.status != RenewalStatus::AwaitingPayment {
            return Err(conflict(
                ConflictCode::NotWithdrawable,
                format!(
                    "only a submission awaiting payment can be withdrawn; this one is {}",
                    status_name(r.status)
                ),
            ));
        }
        let withdrawn = Renewal {
            status: RenewalStatus::Withdrawn,
            ..r.clone()
        };
        let changes = self
            .change(actor, now, HistoryKind::RenewalWithdrawn { renewal_id })
            .put(Item::Renewal(withdrawn.clone()))
            .build();
        Ok((withdrawn, changes))
    }

    /// Apply a payment event to the submission `order_number` names. `Ok(None)` when there is
    /// nothing to change: the event was applied before (redelivered, however much later), or it
    /// is a failure notice. A payment that pays the submission moves it to review and queues the
    /// receipt; anything else is recorded and flagged for staff.
    pub fn apply_payment(
        &self,
        order_number: &str,
        event: &PaymentEventFacts,
        recipient: Recipient,
        message_id: uuid::Uuid,
        actor: &Actor,
        now: DateTime<Utc>,
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
            return Ok(Some(self.payment_change(next, false, None, actor, now)));
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
        Ok(Some(self.receive(
            next, source, amount, currency, recipient, message_id, actor, now,
        )))
    }

    /// Staff record a payment made outside the processor (a cheque, an invoice).
    #[allow(clippy::too_many_arguments)]
    pub fn record_payment(
        &self,
        renewal_id: uuid::Uuid,
        reference: String,
        amount_minor: i64,
        currency: String,
        recipient: Recipient,
        message_id: uuid::Uuid,
        actor: &Actor,
        now: DateTime<Utc>,
    ) -> Result<(Renewal, Changes), DomainError> {
        let r = self.renewal(renewal_id)?.clone();
        let source = PaymentSource::Staff {
            reference,
            by: actor.acted_by(),
        };
        let changes = self.receive(
            r,
            source,
            amount_minor,
            currency.to_ascii_uppercase(),
            recipient,
            message_id,
            actor,
            now,
        );
        let renewal = changes
            .puts()
            .iter()
            .find_map(|i| match i {
                Item::Renewal(r) if r.id == renewal_id => Some(r.clone()),
                _ => None,
            })
            .ok_or(DomainError::NotFound("submission"))?;
        Ok((renewal, changes))
    }

    /// A payment received for `next` (the renewal as it will be): accepted if it pays exactly
    /// what is owed while payment is awaited, else recorded and flagged.
    #[allow(clippy::too_many_arguments)]
    fn receive(
        &self,
        mut next: Renewal,
        source: PaymentSource,
        amount_minor: i64,
        currency: String,
        recipient: Recipient,
        message_id: uuid::Uuid,
        actor: &Actor,
        now: DateTime<Utc>,
    ) -> Changes {
        let charge = next.charge.clone();
        let exact = charge.as_ref().is_some_and(|c| {
            i64::try_from(c.amount_minor).ok() == Some(amount_minor) && c.currency == currency
        });
        let awaited = next.status == RenewalStatus::AwaitingPayment;
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
            received_at: now,
            accepted,
        });
        let mut receipt = None;
        if accepted {
            next.status = RenewalStatus::InReview;
            next.paid_at = Some(now);
            receipt = Some(OutboxMessage::new(
                message_id,
                self.certification.id,
                recipient,
                Notice::Receipt(crate::notice::Receipt {
                    certification_id: self.certification.id,
                    credential: self.certification.credential,
                    order_number: next.order_number.clone(),
                    amount_minor,
                    currency,
                    paid_at: now,
                }),
                now,
            ));
        }
        self.payment_change(next, accepted, receipt, actor, now)
    }

    fn payment_change(
        &self,
        next: Renewal,
        accepted: bool,
        receipt: Option<OutboxMessage>,
        actor: &Actor,
        now: DateTime<Utc>,
    ) -> Changes {
        let mut change = self
            .change(
                actor,
                now,
                HistoryKind::PaymentRecorded {
                    renewal_id: next.id,
                    accepted,
                },
            )
            .put(Item::Renewal(next));
        if let Some(message) = receipt {
            change = change.put(Item::Outbox(message));
        }
        change.build()
    }

    /// Approve a paid submission: the expiration moves one cycle length from the OLD expiration
    /// (month ends clamped), a new cycle starts the next day with its own deadlines, and the
    /// approval is queued for the certificant.
    pub fn approve(
        &self,
        renewal_id: uuid::Uuid,
        rules: &RuleSet,
        recipient: Recipient,
        message_id: uuid::Uuid,
        actor: &Actor,
        now: DateTime<Utc>,
    ) -> Result<(Renewal, Changes), DomainError> {
        let r = self.in_review(renewal_id)?;
        let c = &self.certification;
        let new_expires_on = c
            .cycle()
            .next_expiration(rules.credential(c.credential).cycle_years);
        let new_starts_on = c.expires_on.succ_opt().unwrap_or(c.expires_on);
        let approved = Renewal {
            status: RenewalStatus::Approved,
            review: Some(Box::new(Review {
                outcome: ReviewOutcome::Approved { new_expires_on },
                by: actor.acted_by(),
                at: now,
            })),
            ..r.clone()
        };
        let mut renewed = c.clone();
        renewed.cycle_starts_on = new_starts_on;
        renewed.expires_on = new_expires_on;
        renewed.extended_to = None;
        let notice = Notice::Approved(crate::notice::Approved {
            certification_id: c.id,
            credential: c.credential,
            certificate_number: c.certificate_number.clone(),
            valid_until: new_expires_on,
            next_cycle_starts_on: new_starts_on,
        });
        let mut change = self
            .change(
                actor,
                now,
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
            .put(Item::Renewal(approved.clone()))
            .put(Item::Outbox(OutboxMessage::new(
                message_id, c.id, recipient, notice, now,
            )));
        for deadline in Deadline::of_cycle(&renewed, &rules.deadlines) {
            change = change.put(Item::Deadline(deadline));
        }
        Ok((approved, change.build()))
    }

    /// Return a paid submission with reasons: its entries unlock; the certificant corrects and
    /// resubmits inside the window without paying again.
    pub fn return_submission(
        &self,
        renewal_id: uuid::Uuid,
        reasons: Vec<ReturnReason>,
        recipient: Recipient,
        message_id: uuid::Uuid,
        actor: &Actor,
        now: DateTime<Utc>,
    ) -> Result<(Renewal, Changes), DomainError> {
        let r = self.in_review(renewal_id)?;
        let mut errors = FieldErrors::default();
        if reasons.is_empty() {
            errors.add("reasons", "give at least one reason");
        }
        for (i, reason) in reasons.iter().enumerate() {
            crate::text::check(
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
        let returned = Renewal {
            status: RenewalStatus::Returned,
            review: Some(Box::new(Review {
                outcome: ReviewOutcome::Returned {
                    reasons: reasons.clone(),
                },
                by: actor.acted_by(),
                at: now,
            })),
            ..r.clone()
        };
        let notice = Notice::Returned(crate::notice::Returned {
            certification_id: self.certification.id,
            credential: self.certification.credential,
            order_number: r.order_number.clone(),
            window_closes_on: self.certification.cycle().counting_ends_on(),
            reasons: reasons.into_iter().map(|r| r.reason).collect(),
        });
        let changes = self
            .change(actor, now, HistoryKind::RenewalReturned { renewal_id })
            .put(Item::Renewal(returned.clone()))
            .put(Item::Outbox(OutboxMessage::new(
                message_id,
                self.certification.id,
                recipient,
                notice,
                now,
            )))
            .build();
        Ok((returned, changes))
    }

    fn in_review(&self, renewal_id: uuid::Uuid) -> Result<&Renewal, DomainError> {
        let r = self.renewal(renewal_id)?;
        if !self.certification.is_active() {
            return Err(conflict(
                ConflictCode::CertificationLapsed,
                "this certification is no longer active (lapsed or revoked)",
            ));
        }
        if r.status != RenewalStatus::InReview {
            return Err(conflict(
                ConflictCode::NotInReview,
                format!(
                    "only a paid submission in review can be decided; this one is {}",
                    status_name(r.status)
                ),
            ));
        }
        if r.draw.is_none() {
            return Err(conflict(
                ConflictCode::AwaitingAuditDraw,
                "this submission waits for the daily random audit draw; it can be decided once drawn",
            ));
        }
        Ok(r)
    }
}

/// A status as words, for messages.
pub fn status_name(status: RenewalStatus) -> &'static str {
    match status {
        RenewalStatus::AwaitingPayment => "awaiting payment",
        RenewalStatus::InReview => "in review",
        RenewalStatus::Approved => "approved",
        RenewalStatus::Returned => "returned",
        RenewalStatus::Withdrawn => "withdrawn",
        RenewalStatus::InAudit => "in audit",
        RenewalStatus::Rejected => "rejected after its audit",
    }
}

//! A renewal submission for one cycle: what was attested, billed and paid, and how it was
//! decided. The commands that change it are the use cases `submission`, `payment` and `review`.

use crate::vocabulary::actor::ActedBy;
use crate::vocabulary::credential::Membership;
use crate::vocabulary::error::FieldErrors;
use crate::vocabulary::ids::CertificationId;
use crate::vocabulary::ids::EntryId;
use chrono::{DateTime, NaiveDate, Utc};
use serde::{Deserialize, Serialize};

pub(crate) const MAX_FIELD_CHARS: usize = 200;

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum SubmissionStatus {
    /// Submitted; the fee is not paid yet (the certificant may withdraw it).
    #[default]
    AwaitingPayment,
    /// Paid: waiting in the reviewers' queue.
    InReview,
    Approved,
    /// Sent back with reasons: the entries unlock; a resubmission carries the payment over.
    Returned,
    /// Withdrawn by the certificant before paying: the entries unlock.
    Withdrawn,
    /// Paid and selected by the random draw: waiting for its audit (review waits).
    InAudit,
    /// Its audit failed: not renewed (the credential was revoked).
    Rejected,
}

/// A renewal submission for one cycle: what was attested, billed and paid, and how it was decided.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct Submission {
    pub id: uuid::Uuid,
    /// The first day of the cycle this renewal is for (it is kept with that cycle's entries).
    pub cycle_starts_on: NaiveDate,
    /// The expiration date of the cycle this renewal is for.
    pub cycle_expires_on: NaiveDate,
    pub status: SubmissionStatus,
    pub submitted_at: DateTime<Utc>,
    /// The order number payments refer to (`R-<certification>-<n>`).
    #[serde(default)]
    pub order_number: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub attestation: Option<Box<crate::model::submission::AttestationRecord>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub billing_address: Option<Box<crate::model::submission::BillingAddress>>,
    /// The fee, priced from the rules' fee table by the membership status on record.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub charge: Option<Box<crate::model::submission::Charge>>,
    /// Every payment received for this submission (matching the fee or not).
    #[serde(default)]
    pub payments: Vec<crate::model::submission::PaymentRecord>,
    /// The processor's ids of every payment event applied to it (each is applied once).
    #[serde(default)]
    pub processed_events: Vec<String>,
    /// What staff must look at (an amount that does not match, a payment after withdrawal...).
    #[serde(default)]
    pub flags: Vec<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub paid_at: Option<DateTime<Utc>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub review: Option<Box<crate::model::submission::Review>>,
    /// How the random audit draw judged it (once paid; a submission is judged once). Reviewers
    /// see a paid submission only after the draw.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub draw: Option<Box<crate::audit::DrawJudgement>>,
    /// After a passed audit: the updated certificate is due by this day (the service level).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub certificate_due_on: Option<NaiveDate>,
}

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

/// A status as words, for messages.
pub fn status_name(status: SubmissionStatus) -> &'static str {
    match status {
        SubmissionStatus::AwaitingPayment => "awaiting payment",
        SubmissionStatus::InReview => "in review",
        SubmissionStatus::Approved => "approved",
        SubmissionStatus::Returned => "returned",
        SubmissionStatus::Withdrawn => "withdrawn",
        SubmissionStatus::InAudit => "in audit",
        SubmissionStatus::Rejected => "rejected after its audit",
    }
}

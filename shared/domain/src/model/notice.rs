//! What Recert tells certificants, as data: each [`Notice`] holds the facts its email needs
//! (dates, hours, what to do next), decided by the command that queues it in the transactional
//! outbox ([`OutboxMessage`]); `recert-notify` renders it at send time.

use crate::eligibility::Eligibility;
use crate::rules::CredentialRules;
use crate::vocabulary::credential::Credential;
use crate::vocabulary::hours::Hours;
use crate::vocabulary::ids::CertificantId;
use crate::vocabulary::ids::CertificationId;
use chrono::{DateTime, NaiveDate, Utc};
use serde::{Deserialize, Serialize};

/// Who a notice goes to. Personal data: stored with the message, never logged.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Recipient {
    pub certificant_id: CertificantId,
    pub email: crate::vocabulary::email::Email,
    pub full_name: String,
}

impl From<&crate::model::certificant::Certificant> for Recipient {
    fn from(c: &crate::model::certificant::Certificant) -> Self {
        Recipient {
            certificant_id: c.id,
            email: c.email.clone(),
            full_name: c.full_name.clone(),
        }
    }
}

/// One requirement and its hours, for a message.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct HoursLine {
    /// E.g. "Total hours", "From approved providers", "Canadian content: ethics".
    pub label: String,
    #[serde(rename = "hours_hundredths")]
    pub hours: Hours,
}

/// Sent when a certification is issued: the cycle, what it requires, when the window opens.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Welcome {
    pub certification_id: CertificationId,
    pub credential: Credential,
    pub certificate_number: String,
    pub cycle_starts_on: NaiveDate,
    pub expires_on: NaiveDate,
    pub window_opens_on: NaiveDate,
    pub window_closes_on: NaiveDate,
    /// Every requirement of the credential, with the hours it asks for.
    pub requirements: Vec<HoursLine>,
}

/// Sent on the day the renewal window opens: whether the requirements are met, and what is missing.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct WindowOpens {
    pub certification_id: CertificationId,
    pub credential: Credential,
    pub window_opens_on: NaiveDate,
    pub window_closes_on: NaiveDate,
    /// Every requirement is met today: the certificant can submit now.
    pub met: bool,
    /// What is still missing (empty when met), as the eligibility engine counted it.
    pub missing: Vec<HoursLine>,
}

/// Sent when a submission is paid: the receipt and what happens next.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Receipt {
    pub certification_id: CertificationId,
    pub credential: Credential,
    pub order_number: String,
    pub amount_minor: i64,
    pub currency: String,
    pub paid_at: DateTime<Utc>,
}

/// Sent when a renewal is approved: the new expiration.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Approved {
    pub certification_id: CertificationId,
    pub credential: Credential,
    pub certificate_number: String,
    pub valid_until: NaiveDate,
    pub next_cycle_starts_on: NaiveDate,
}

/// Sent when staff record an exam pass: renewed (active) or reinstated (lapsed or revoked), valid
/// until when, and the cycle that now runs.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ExamRecorded {
    pub certification_id: CertificationId,
    pub credential: Credential,
    pub certificate_number: String,
    /// Reinstated with a new cycle from the pass date (else renewed from the old expiration).
    pub reinstated: bool,
    pub passed_on: NaiveDate,
    pub valid_until: NaiveDate,
    /// The first day of the cycle that now runs (the next cycle, when renewed ahead of it).
    pub cycle_starts_on: NaiveDate,
}

/// Sent when a submission is returned: why, and until when to resubmit.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Returned {
    pub certification_id: CertificationId,
    pub credential: Credential,
    pub order_number: String,
    pub window_closes_on: NaiveDate,
    pub reasons: Vec<String>,
}

/// Something to tell a certificant; the variant names the email template.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "template", rename_all = "snake_case")]
pub enum Notice {
    Welcome(Welcome),
    WindowOpens(WindowOpens),
    Receipt(Receipt),
    Approved(Approved),
    Returned(Returned),
    /// Selected for audit: what to document, by when.
    AuditSelected(crate::audit::AuditNotice),
    /// A week and a day before the audit's documentation is due.
    AuditReminder(crate::audit::AuditReminder),
    /// The documentation was received: it waits for an auditor.
    AuditReceived(crate::audit::AuditReceived),
    /// Rejected hours left a gap: what was rejected, what is missing, the new due date.
    AuditExtraTime(crate::audit::AuditNotice),
    /// The audit passed or failed.
    AuditOutcome(crate::audit::AuditOutcome),
    /// The committee decided a waiver or extension request.
    WaiverDecided(WaiverDecided),
    /// A reminder day before the closing date: what is missing, or that only the submission remains.
    ClosingReminder(ClosingReminder),
    /// Not renewed by the closing date: the certification lapsed.
    Lapsed(Lapsed),
    /// Staff recorded an exam pass: renewed or reinstated.
    ExamRecorded(ExamRecorded),
}

impl Notice {
    /// The template's name (for logs and metrics: never personal data).
    pub fn template(&self) -> &'static str {
        match self {
            Notice::Welcome(_) => "welcome",
            Notice::WindowOpens(_) => "window_opens",
            Notice::Receipt(_) => "receipt",
            Notice::Approved(_) => "approved",
            Notice::Returned(_) => "returned",
            Notice::AuditSelected(_) => "audit_selected",
            Notice::AuditReminder(_) => "audit_reminder",
            Notice::AuditReceived(_) => "audit_received",
            Notice::AuditExtraTime(_) => "audit_extra_time",
            Notice::AuditOutcome(_) => "audit_outcome",
            Notice::WaiverDecided(_) => "waiver_decided",
            Notice::ClosingReminder(_) => "closing_reminder",
            Notice::Lapsed(_) => "lapsed",
            Notice::ExamRecorded(_) => "exam_recorded",
        }
    }
}

/// Every requirement of a credential as message lines ("<set>: <requirement>").
pub fn requirement_lines(rules: &CredentialRules) -> Vec<HoursLine> {
    rules
        .requirement_sets
        .iter()
        .flat_map(|set| {
            set.requirements.iter().map(move |r| HoursLine {
                label: format!("{}: {}", set.label, r.label),
                hours: r.min,
            })
        })
        .collect()
}

/// What is missing, as message lines, from an eligibility verdict.
pub fn missing_lines(eligibility: &Eligibility) -> Vec<HoursLine> {
    eligibility
        .sets
        .iter()
        .flat_map(|set| {
            set.requirements
                .iter()
                .filter(|r| !r.met)
                .map(move |r| HoursLine {
                    label: format!("{}: {}", set.label, r.label),
                    hours: r.shortfall,
                })
        })
        .collect()
}

/// Where a message stands in its delivery.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "status", rename_all = "snake_case")]
pub enum Delivery {
    /// Waiting to be sent (first try at `next_attempt_at`, or a retry after a failure).
    Pending,
    /// Claimed by one sender until `until`: nobody else sends it meanwhile; after `until` (the
    /// sender died) it may be claimed again.
    Sending { until: DateTime<Utc> },
    /// Sent: the provider's message id and when.
    Sent {
        provider_id: String,
        at: DateTime<Utc>,
    },
    /// Given up after too many failures (counted by an alarm); a person must look.
    Parked { reason: String },
}

/// One message of the transactional outbox: written in the same atomic commit as the state change
/// it reports, delivered afterwards by the notifier (stream) or the sweeper (schedule).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct OutboxMessage {
    pub id: uuid::Uuid,
    pub certification_id: CertificationId,
    pub recipient: Recipient,
    pub notice: Notice,
    pub created_at: DateTime<Utc>,
    pub delivery: Delivery,
    /// Failed sends so far.
    pub attempts: u32,
    /// When it is (next) due to be sent.
    pub next_attempt_at: DateTime<Utc>,
    /// Why the last attempt failed (never personal data: an error kind and code).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_error: Option<String>,
}

impl OutboxMessage {
    /// A new pending message, due now.
    pub fn new(
        id: uuid::Uuid,
        certification_id: CertificationId,
        recipient: Recipient,
        notice: Notice,
        now: DateTime<Utc>,
    ) -> Self {
        OutboxMessage {
            id,
            certification_id,
            recipient,
            notice,
            created_at: now,
            delivery: Delivery::Pending,
            attempts: 0,
            next_attempt_at: now,
            last_error: None,
        }
    }

    /// Whether a sender may claim it at `now`: pending and due, or a claim that lapsed.
    pub fn claimable(&self, now: DateTime<Utc>) -> bool {
        match &self.delivery {
            Delivery::Pending => self.next_attempt_at <= now,
            Delivery::Sending { until } => *until <= now,
            Delivery::Sent { .. } | Delivery::Parked { .. } => false,
        }
    }

    /// Still to be delivered (pending, or claimed by a sender that may have died).
    pub fn undelivered(&self) -> bool {
        matches!(self.delivery, Delivery::Pending | Delivery::Sending { .. })
    }
}

/// Sent when the committee decides: what was granted (or that it was denied), the note, and the
/// closing date that now applies.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct WaiverDecided {
    pub certification_id: CertificationId,
    pub credential: Credential,
    /// `extension` or `waiver`.
    pub kind: String,
    pub approved: bool,
    pub note: String,
    /// The closing date after the decision.
    pub closes_on: NaiveDate,
    /// The lowered minimums granted (a waiver), as message lines.
    pub reduced: Vec<HoursLine>,
}

/// Sent on each reminder day before the closing date: what is missing, or that everything is met
/// and only the submission remains.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ClosingReminder {
    pub certification_id: CertificationId,
    pub credential: Credential,
    pub closes_on: NaiveDate,
    pub days_left: u32,
    pub met: bool,
    pub missing: Vec<HoursLine>,
}

/// Sent when a certification lapses.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Lapsed {
    pub certification_id: CertificationId,
    pub credential: Credential,
    pub certificate_number: String,
    pub closed_on: NaiveDate,
}

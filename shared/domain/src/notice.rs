//! What Recert tells certificants, as data: each [`Notice`] holds the facts its email needs (dates,
//! hours, what to do next), decided by the command that sends it and kept in the transactional
//! outbox ([`OutboxMessage`]) until delivered. Rendering is the notify crate's; this module has no
//! template and no I/O.

use crate::credential::Credential;
use crate::eligibility::Eligibility;
use crate::hours::Hours;
use crate::ids::{CertificantId, CertificationId};
use crate::rules::CredentialRules;
use chrono::{DateTime, NaiveDate, Utc};
use serde::{Deserialize, Serialize};

/// Who a notice goes to. Personal data: stored with the message, never logged.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Recipient {
    pub certificant_id: CertificantId,
    pub email: crate::email::Email,
    pub full_name: String,
}

impl From<&crate::certification::Certificant> for Recipient {
    fn from(c: &crate::certification::Certificant) -> Self {
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
    WaiverDecided(crate::waiver::WaiverDecided),
    /// A reminder day before the closing date: what is missing, or that only the submission remains.
    ClosingReminder(crate::waiver::ClosingReminder),
    /// Not renewed by the closing date: the certification lapsed.
    Lapsed(crate::waiver::Lapsed),
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

impl crate::certification::CertificationAggregate {
    /// The window-opening reminder, once per cycle: if the current cycle's `WindowOpens` deadline
    /// is still to do, queue a [`WindowOpens`] notice with today's gap and mark the deadline done
    /// (it leaves the due-date index in the same commit). `None` when there is nothing to do —
    /// already reminded, lapsed, or the deadline is not yet due.
    pub fn remind_window_opens(
        &self,
        rules: &crate::rules::RuleSet,
        recipient: Recipient,
        message_id: uuid::Uuid,
        actor: &crate::actor::Actor,
        now: DateTime<Utc>,
    ) -> Option<crate::certification::Changes> {
        use crate::certification::{CertificationStatus, DueKind, HistoryKind, Item};
        let c = &self.certification;
        let deadline = self.open_deadline(DueKind::WindowOpens)?;
        if c.status != CertificationStatus::Active || deadline.on > now.date_naive() {
            return None;
        }
        let eligibility = self.eligibility(rules);
        let window = c.cycle().window(&rules.deadlines);
        let notice = Notice::WindowOpens(WindowOpens {
            certification_id: c.id,
            credential: c.credential,
            window_opens_on: window.opens_on,
            window_closes_on: window.closes_on,
            met: eligibility.met,
            missing: missing_lines(&eligibility),
        });
        let done = crate::certification::Deadline {
            done_at: Some(now),
            ..deadline.clone()
        };
        let message = OutboxMessage::new(message_id, c.id, recipient, notice, now);
        Some(
            self.change(
                actor,
                now,
                HistoryKind::NoticeQueued {
                    template: message.notice.template().to_owned(),
                },
            )
            .put(Item::Deadline(done))
            .put(Item::Outbox(message))
            .build(),
        )
    }
}

/// Issue `certification` under `rules`: version 1, its cycle's deadlines, and the welcome notice
/// to `recipient` in the outbox — all in the one commit that creates it.
pub fn issue_with_welcome(
    certification: crate::certification::Certification,
    rules: &crate::rules::RuleSet,
    recipient: Recipient,
    message_id: uuid::Uuid,
    actor: &crate::actor::Actor,
    now: DateTime<Utc>,
) -> crate::certification::Changes {
    use crate::certification::{Changes, Deadline, Item};
    let notice = welcome(&certification, rules);
    let deadlines = Deadline::of_cycle(&certification, &rules.deadlines);
    let message = OutboxMessage::new(message_id, certification.id, recipient, notice, now);
    let mut change = Changes::issuing(certification, actor, now);
    for deadline in deadlines {
        change = change.put(Item::Deadline(deadline));
    }
    change.put(Item::Outbox(message)).build()
}

/// The welcome notice of a certification being issued under `rules`.
pub fn welcome(
    certification: &crate::certification::Certification,
    rules: &crate::rules::RuleSet,
) -> Notice {
    let window = certification.cycle().window(&rules.deadlines);
    Notice::Welcome(Welcome {
        certification_id: certification.id,
        credential: certification.credential,
        certificate_number: certification.certificate_number.clone(),
        cycle_starts_on: certification.cycle_starts_on,
        expires_on: certification.expires_on,
        window_opens_on: window.opens_on,
        window_closes_on: window.closes_on,
        requirements: requirement_lines(rules.credential(certification.credential)),
    })
}

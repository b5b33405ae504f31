//! The audit of one selected submission: documents due → the auditor decides per entry → passed
//! (the renewal goes on to review), extra time once when rejected hours leave a gap, or failed
//! (the credential is revoked). Every step queues an email in the same commit.
//!
//! The audit is an item of its certification's cycle (`CYCLE#<start>#AUDIT#<renewal id>`), so it
//! is loaded and committed with the aggregate; evidence metadata lives here, not in the entries.
//! Its dates are deadlines in the due-date index: reminders 7 days and 1 day before the due date,
//! and the day after it, when an audit still waiting for documents fails.

use crate::audit::period::Period;
use crate::audit::ticket::Ticket;
use crate::model::deadline::Deadline;
use crate::model::deadline::DueKind;
use crate::model::notice::HoursLine;
use crate::vocabulary::actor::ActedBy;
use crate::vocabulary::hours::Hours;
use crate::vocabulary::ids::EntryId;
use chrono::{DateTime, Days, NaiveDate, Utc};
use serde::{Deserialize, Serialize};

/// The most evidence files one entry may carry.
pub const MAX_EVIDENCE_PER_ENTRY: usize = 10;

/// How a submission fared in the draw (set once: a cycle is judged once). The certificant finds
/// `candidate` among the candidates of the draw of `run_on` (record `seq`) in the period's public
/// log, and after the reveal re-computes `ticket` from the seed.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct DrawJudgement {
    pub period: Period,
    pub run_on: NaiveDate,
    /// The record of the period's log that judged it.
    #[serde(default)]
    pub seq: u32,
    /// The id drawn: `<certification id>/<first day of the cycle>`.
    #[serde(default)]
    pub candidate: String,
    pub ticket: Ticket,
    pub selected: bool,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum AuditStatus {
    /// The certificant must upload documentation and respond by `due_on`.
    DocumentsDue,
    /// Responded: waiting in the auditors' queue.
    AwaitingDecision,
    /// Everything needed was accepted: the renewal went on to review.
    Passed,
    /// Not documented in time, or still short after the extra time: the credential is revoked.
    Failed,
}

/// One uploaded (or declared) document.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct Evidence {
    #[schema(value_type = String, format = Uuid)]
    pub id: uuid::Uuid,
    pub file_name: String,
    /// `application/pdf`, `image/png` or `image/jpeg`.
    pub content_type: String,
    pub size_bytes: u64,
    /// Lower-case hex SHA-256 of the file.
    pub sha256: String,
    /// Where the file is stored (the evidence store's key).
    pub key: String,
    pub declared_at: DateTime<Utc>,
    /// Found in the evidence store when the certificant responded.
    #[serde(default)]
    pub uploaded: bool,
}

/// An auditor's verdict on one entry.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct EntryDecision {
    pub accepted: bool,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
    pub by: ActedBy,
    pub at: DateTime<Utc>,
}

/// An entry under audit: what it claimed, its documents, the verdict.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct AuditedEntry {
    pub entry_id: EntryId,
    pub title: String,
    pub completed_on: NaiveDate,
    #[serde(rename = "hours_hundredths")]
    #[schema(value_type = u32)]
    pub hours: Hours,
    pub evidence: Vec<Evidence>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub decision: Option<EntryDecision>,
}

impl AuditedEntry {
    /// Still waiting for a verdict (never decided, or documented again after a rejection).
    pub fn pending(&self) -> bool {
        self.decision.is_none()
    }

    pub(crate) fn rejected(&self) -> bool {
        self.decision.as_ref().is_some_and(|d| !d.accepted)
    }
}

/// The audit of a selected submission.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct Audit {
    #[schema(value_type = String, format = Uuid)]
    pub renewal_id: uuid::Uuid,
    /// The cycle the audited submission is for (the audit is kept with it).
    pub cycle_starts_on: NaiveDate,
    pub status: AuditStatus,
    pub draw: DrawJudgement,
    pub selected_at: DateTime<Utc>,
    /// The last day to upload documentation and respond.
    pub due_on: NaiveDate,
    /// The extra time after rejected hours left a gap was granted (it is granted once).
    pub extra_time_granted: bool,
    pub entries: Vec<AuditedEntry>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub responded_at: Option<DateTime<Utc>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub closed_at: Option<DateTime<Utc>>,
    /// Why it failed, when it did.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub failure: Option<String>,
}

impl Audit {
    pub(crate) fn entry_mut(&mut self, id: EntryId) -> Option<&mut AuditedEntry> {
        self.entries.iter_mut().find(|e| e.entry_id == id)
    }

    /// The deadlines of this audit's documentation period: reminders a week and a day before the
    /// due date, and the day after it (fail if still undocumented).
    pub(crate) fn deadlines(&self) -> [Deadline; 3] {
        let day = |on: Option<NaiveDate>, kind| Deadline {
            kind,
            cycle_starts_on: self.cycle_starts_on,
            on: on.unwrap_or(self.due_on),
            done_at: None,
        };
        [
            day(
                self.due_on.checked_sub_days(Days::new(7)),
                DueKind::AuditReminderWeek,
            ),
            day(
                self.due_on.checked_sub_days(Days::new(1)),
                DueKind::AuditReminderDay,
            ),
            day(
                self.due_on.checked_add_days(Days::new(1)),
                DueKind::AuditOverdue,
            ),
        ]
    }

    fn lines(entries: &[&AuditedEntry]) -> Vec<HoursLine> {
        entries
            .iter()
            .map(|e| HoursLine {
                label: format!("{} (completed {})", e.title, e.completed_on),
                hours: e.hours,
            })
            .collect()
    }

    /// The entries the certificant must (still) document, as message lines.
    pub(crate) fn to_document(&self) -> Vec<HoursLine> {
        Self::lines(
            &self
                .entries
                .iter()
                .filter(|e| e.pending())
                .collect::<Vec<_>>(),
        )
    }
}

/// The audit-related kinds of deadline.
pub const AUDIT_DEADLINES: [DueKind; 3] = [
    DueKind::AuditReminderWeek,
    DueKind::AuditReminderDay,
    DueKind::AuditOverdue,
];

/// What a certificant declares before uploading a file.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct EvidenceDeclaration {
    /// A file name, not a path (no `/` or `\\`); free text rules otherwise (trimmed: not blank,
    /// no control or bidirectional override characters).
    #[schema(
        example = "certificate-of-completion.pdf",
        min_length = 1,
        max_length = 200,
        pattern = r"^[^\x00-\x1f\x7f-\x9f\u061c\u200e\u200f\u202a-\u202e\u2066-\u2069/\\]*[^\x00-\x1f\x7f-\x9f\u061c\u200e\u200f\u202a-\u202e\u2066-\u2069/\\\s\u00ad\u200b-\u200d\u2060\ufeff][^\x00-\x1f\x7f-\x9f\u061c\u200e\u200f\u202a-\u202e\u2066-\u2069/\\]*$"
    )]
    pub file_name: String,
    /// `application/pdf`, `image/png` or `image/jpeg`.
    #[schema(
        example = "application/pdf",
        pattern = "^(application/pdf|image/png|image/jpeg)$"
    )]
    pub content_type: String,
    /// The exact size of the file in bytes, at most the deployment's `EVIDENCE_MAX_BYTES`
    /// (10485760 unless configured).
    #[schema(minimum = 1)]
    pub size_bytes: u64,
    /// Lower-case hex SHA-256 of the file (the upload must match it).
    #[schema(pattern = "^[0-9a-f]{64}$")]
    pub sha256: String,
}

/// One verdict an auditor gives.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct DecisionInput {
    pub entry_id: EntryId,
    pub accepted: bool,
    /// Required when rejecting: what is wrong with the documentation.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schema(max_length = 1000)]
    pub reason: Option<String>,
}

/// Sent when a submission is selected for audit, and again with the extra time.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AuditNotice {
    pub certification_id: crate::vocabulary::ids::CertificationId,
    pub credential: crate::vocabulary::credential::Credential,
    pub due_on: NaiveDate,
    /// The entries to document.
    pub entries: Vec<HoursLine>,
    /// Rejected entries and why (the extra-time notice).
    #[serde(default)]
    pub rejected: Vec<String>,
    /// What is missing once the rejected hours are taken out (the extra-time notice).
    #[serde(default)]
    pub missing: Vec<HoursLine>,
}

/// Sent a week and a day before the due date while documents are still due.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AuditReminder {
    pub certification_id: crate::vocabulary::ids::CertificationId,
    pub credential: crate::vocabulary::credential::Credential,
    pub due_on: NaiveDate,
    pub days_left: u32,
    pub entries: Vec<HoursLine>,
}

/// Sent when the certificant responds: what the auditors will look at.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AuditReceived {
    pub certification_id: crate::vocabulary::ids::CertificationId,
    pub credential: crate::vocabulary::credential::Credential,
    /// The entries sent for a verdict.
    pub entries: Vec<HoursLine>,
    /// How many files came with them.
    pub files: usize,
}

/// Sent when the audit ends: passed (the renewal goes on to review) or failed (revoked).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AuditOutcome {
    pub certification_id: crate::vocabulary::ids::CertificationId,
    pub credential: crate::vocabulary::credential::Credential,
    pub passed: bool,
    /// Passed: when the updated certificate is due at the latest.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub certificate_due_on: Option<NaiveDate>,
    /// Failed: why.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
}

//! Domain errors: a rule said no. Each maps to one HTTP class in the api crate.

use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

/// Field name (JSON pointer-ish path, e.g. `ethics_hours_hundredths`) → messages.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct FieldErrors(pub BTreeMap<String, Vec<String>>);

impl FieldErrors {
    pub fn add(&mut self, field: impl Into<String>, message: impl Into<String>) {
        self.0.entry(field.into()).or_default().push(message.into());
    }

    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    /// `Ok(())` when nothing was added.
    pub fn into_result(self) -> Result<(), FieldErrors> {
        if self.is_empty() { Ok(()) } else { Err(self) }
    }

    /// The value `parsed` holds, or `None` with its reason added under `field`: parse every field,
    /// then build with [`FieldErrors::then`], so one request reports every bad field at once.
    pub fn field<T, E: Into<String>>(&mut self, field: &str, parsed: Result<T, E>) -> Option<T> {
        parsed.map_err(|why| self.add(field, why)).ok()
    }

    /// `build`'s value when nothing was added. `build` sees the fields [`FieldErrors::field`]
    /// parsed: each is `Some` then, as a failed one added its reason.
    pub fn then<T>(self, build: impl FnOnce() -> Option<T>) -> Result<T, FieldErrors> {
        self.into_result()?;
        build().ok_or_else(|| {
            let mut errors = FieldErrors::default();
            errors.add("body", "could not be read");
            errors
        })
    }
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum DomainError {
    /// Input that parsed but breaks a rule on a field (→ 422 with the field map).
    #[error("invalid fields")]
    Invalid(FieldErrors),
    /// The state of the certification forbids the command (→ 409). `code` is stable for clients.
    #[error("{message}")]
    Conflict { code: ConflictCode, message: String },
    /// The thing addressed does not exist in this certification (→ 404).
    #[error("{0} not found")]
    NotFound(&'static str),
}

impl DomainError {
    pub fn conflict(code: ConflictCode, message: impl Into<String>) -> Self {
        DomainError::Conflict {
            code,
            message: message.into(),
        }
    }
}

/// Why the state refuses a request (a 409's `code`): stable for clients, listed in the OpenAPI
/// document.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum ConflictCode {
    /// The audit is not waiting for an auditor's decision.
    AuditNotAwaitingDecision,
    /// The certification has no open audit (none, or it is closed).
    AuditNotOpen,
    /// The audit's documentation deadline has passed.
    AuditOverdue,
    /// The paid submission waits for the daily random audit draw before review.
    AwaitingAuditDraw,
    /// The certification is no longer active (lapsed or revoked).
    CertificationLapsed,
    /// Another request changed the resource first: reload and retry.
    ConcurrentUpdate,
    /// The cycle has a submission: its entries are locked and another submission or request waits.
    CycleSubmitted,
    /// An entry under audit has no uploaded file yet.
    DocumentationMissing,
    /// The value is taken (an email, a certificate number, an id).
    Duplicate,
    /// The auditor accepted that entry already.
    EntryAccepted,
    /// The entry exists already (a provider posting, or a retried creation).
    EntryExists,
    /// The entry is not under this audit.
    EntryNotAudited,
    /// The rules hold no fee for this credential and membership.
    NoFee,
    /// The submission is not in review (unpaid, decided, withdrawn or in audit).
    NotInReview,
    /// The submission can no longer be withdrawn (it is paid or decided).
    NotWithdrawable,
    /// The completion falls outside the certification's current cycle.
    OutsideCycle,
    /// The posting is not waiting for that decision.
    PostingNotPending,
    /// A partner provider posted that entry: only the provider may void it.
    ProviderReported,
    /// A paid submission of the cycle is in review or audit.
    RenewalInProgress,
    /// Waiver and extension requests had to arrive earlier.
    RequestCutoffPassed,
    /// The waiver or extension request is not open.
    RequestNotOpen,
    /// A waiver or extension request of the cycle is open already.
    RequestOpen,
    /// The cycle's requirements are not met yet.
    RequirementsNotMet,
    /// An unpaid submission of the cycle stands: withdraw it first.
    SubmissionUnpaid,
    /// The entry holds as many files as it may.
    TooMuchEvidence,
    /// The transcript can no longer change (the cycle was submitted, or the certification lapsed).
    TranscriptLocked,
    /// The renewal window has closed.
    WindowClosed,
    /// The renewal window has not opened yet.
    WindowNotOpen,
}

impl ConflictCode {
    /// The code as clients read it (`cycle_submitted`).
    pub fn as_str(self) -> &'static str {
        match self {
            ConflictCode::AuditNotAwaitingDecision => "audit_not_awaiting_decision",
            ConflictCode::AuditNotOpen => "audit_not_open",
            ConflictCode::AuditOverdue => "audit_overdue",
            ConflictCode::AwaitingAuditDraw => "awaiting_audit_draw",
            ConflictCode::CertificationLapsed => "certification_lapsed",
            ConflictCode::ConcurrentUpdate => "concurrent_update",
            ConflictCode::CycleSubmitted => "cycle_submitted",
            ConflictCode::DocumentationMissing => "documentation_missing",
            ConflictCode::Duplicate => "duplicate",
            ConflictCode::EntryAccepted => "entry_accepted",
            ConflictCode::EntryExists => "entry_exists",
            ConflictCode::EntryNotAudited => "entry_not_audited",
            ConflictCode::NoFee => "no_fee",
            ConflictCode::NotInReview => "not_in_review",
            ConflictCode::NotWithdrawable => "not_withdrawable",
            ConflictCode::OutsideCycle => "outside_cycle",
            ConflictCode::PostingNotPending => "posting_not_pending",
            ConflictCode::ProviderReported => "provider_reported",
            ConflictCode::RenewalInProgress => "renewal_in_progress",
            ConflictCode::RequestCutoffPassed => "request_cutoff_passed",
            ConflictCode::RequestNotOpen => "request_not_open",
            ConflictCode::RequestOpen => "request_open",
            ConflictCode::RequirementsNotMet => "requirements_not_met",
            ConflictCode::SubmissionUnpaid => "submission_unpaid",
            ConflictCode::TooMuchEvidence => "too_much_evidence",
            ConflictCode::TranscriptLocked => "transcript_locked",
            ConflictCode::WindowClosed => "window_closed",
            ConflictCode::WindowNotOpen => "window_not_open",
        }
    }
}

impl std::fmt::Display for ConflictCode {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_code_reads_as_it_serializes() {
        for code in [
            ConflictCode::CycleSubmitted,
            ConflictCode::WindowNotOpen,
            ConflictCode::AuditNotAwaitingDecision,
        ] {
            assert_eq!(
                serde_json::to_value(code).ok(),
                Some(serde_json::Value::from(code.as_str()))
            );
        }
    }
}

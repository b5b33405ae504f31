//! A certification's append-only history: who did what, when.

use crate::vocabulary::actor::ActedBy;
use crate::vocabulary::credential::Credential;
use crate::vocabulary::ids::EntryId;
use chrono::{DateTime, NaiveDate, Utc};
use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum HistoryKind {
    CertificationIssued {
        credential: Credential,
        expires_on: NaiveDate,
    },
    EntryAdded {
        entry_id: EntryId,
    },
    EntryUpdated {
        entry_id: EntryId,
    },
    EntryRemoved {
        entry_id: EntryId,
    },
    RenewalSubmitted {
        #[schema(value_type = String, format = Uuid)]
        renewal_id: uuid::Uuid,
    },
    /// Not renewed by the closing date: revoked.
    CertificationLapsed {
        closed_on: NaiveDate,
    },
    /// A notice was queued in the outbox for the certificant (its template's name).
    NoticeQueued {
        template: String,
    },
    RenewalWithdrawn {
        #[schema(value_type = String, format = Uuid)]
        renewal_id: uuid::Uuid,
    },
    /// A payment was recorded; `accepted` says whether it paid the submission (else it is flagged).
    PaymentRecorded {
        #[schema(value_type = String, format = Uuid)]
        renewal_id: uuid::Uuid,
        accepted: bool,
    },
    RenewalApproved {
        #[schema(value_type = String, format = Uuid)]
        renewal_id: uuid::Uuid,
        new_expires_on: NaiveDate,
    },
    RenewalReturned {
        #[schema(value_type = String, format = Uuid)]
        renewal_id: uuid::Uuid,
    },
    /// The random draw judged a paid submission (selected for audit or not).
    AuditDrawn {
        #[schema(value_type = String, format = Uuid)]
        renewal_id: uuid::Uuid,
        selected: bool,
    },
    /// A file was declared for an entry under audit.
    EvidenceDeclared {
        entry_id: EntryId,
    },
    AuditResponded {
        #[schema(value_type = String, format = Uuid)]
        renewal_id: uuid::Uuid,
    },
    AuditPassed {
        #[schema(value_type = String, format = Uuid)]
        renewal_id: uuid::Uuid,
    },
    /// Rejected hours left a gap: extra time to document or replace them, once.
    AuditExtraTime {
        #[schema(value_type = String, format = Uuid)]
        renewal_id: uuid::Uuid,
        due_on: NaiveDate,
    },
    /// The audit failed: the credential is revoked.
    AuditFailed {
        #[schema(value_type = String, format = Uuid)]
        renewal_id: uuid::Uuid,
    },
    /// The certificant asked for an extension or a waiver.
    WaiverRequested {
        #[schema(value_type = String, format = Uuid)]
        request_id: uuid::Uuid,
    },
    WaiverWithdrawn {
        #[schema(value_type = String, format = Uuid)]
        request_id: uuid::Uuid,
    },
    /// The committee approved or denied a request.
    WaiverDecided {
        #[schema(value_type = String, format = Uuid)]
        request_id: uuid::Uuid,
        approved: bool,
    },
    /// Staff recorded an exam pass: an active certification was renewed (the expiration moved one
    /// cycle from the old one), a lapsed or revoked one reinstated (`reinstated`: a new cycle from
    /// the pass date).
    ExamPassed {
        passed_on: NaiveDate,
        /// The exam's reference, as staff recorded it.
        reference: String,
        reinstated: bool,
        new_expires_on: NaiveDate,
    },
    /// A partner provider posted completions: these entries were added.
    CompletionsPosted {
        provider_id: String,
        entry_ids: Vec<EntryId>,
    },
    /// The provider voided a posted entry whose cycle is locked: staff decide.
    PostingVoidRequested {
        entry_id: EntryId,
    },
    /// Staff decided a provider's void: the entry was removed, or kept.
    PostingVoidDecided {
        entry_id: EntryId,
        removed: bool,
    },
}

/// One line of the append-only history of a certification.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct HistoryEvent {
    /// 1, 2, 3... in commit order (the version that recorded it).
    pub seq: u64,
    pub at: DateTime<Utc>,
    pub actor: ActedBy,
    #[serde(flatten)]
    pub kind: HistoryKind,
}

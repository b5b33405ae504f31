//! The random audit: the verifiable draw ([`draw`]) and the audit of a selected submission.

pub mod case;
pub mod draw;

pub use case::{
    AUDIT_DEADLINES, Audit, AuditNotice, AuditOutcome, AuditReceived, AuditReminder, AuditStatus,
    AuditedEntry, DecisionInput, DrawJudgement, EntryDecision, Evidence, EvidenceDeclaration,
};
pub use draw::{AuditPeriod, DrawRecord, Period, PublicPeriod, Selected, Ticket};

//! The random audit: the verifiable draw and the audit of a selected submission.
//!
//! - [`ticket`]: the sampler (the public package's ticket) and the id it draws (a cycle);
//! - [`period`]: a month's seed, its commitment, its reveal, and when a draw may run;
//! - [`draw`]: the daily draw and its record, an entry of the period's hash-chained log;
//! - [`verify`]: the outsider's check of a period's log against what they recorded earlier;
//! - [`case`]: the audit of a selected submission.

pub mod case;
pub mod draw;
#[cfg(any(test, feature = "testing"))]
pub mod forgery;
pub mod period;
pub mod ticket;
pub mod verify;

pub use case::{
    AUDIT_DEADLINES, Audit, AuditNotice, AuditOutcome, AuditReceived, AuditReminder, AuditStatus,
    AuditedEntry, DecisionInput, DrawJudgement, EntryDecision, Evidence, EvidenceDeclaration,
};
pub use draw::{DrawRecord, Selected};
pub use period::{AuditPeriod, DrawRefusal, Period, PublicPeriod, SealedSeed, Seed};
pub use ticket::{Ticket, candidate_id};
pub use verify::{PeriodLog, Problem, Recorded, Verification};

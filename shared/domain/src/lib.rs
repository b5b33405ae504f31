//! Recert's domain: the certification body's rules and the model they judge.
//!
//! Everything here is pure: no I/O, no async, no AWS or HTTP types, no system clock (a [`Clock`]
//! is passed in). Rule numbers (hours, fees, deadlines) are data in a versioned rules file
//! (`rules/default.toml`), never code. `utoipa` is used only for `ToSchema` derives so the API
//! contract and the model cannot drift.

pub mod actor;
pub mod audit;
pub mod calendar;
pub mod certification;
pub mod clock;
pub mod credential;
pub mod eligibility;
pub mod email;
pub mod entry;
pub mod error;
pub mod exam;
pub mod feed;
pub mod hours;
pub mod ids;
pub mod notice;
pub mod provider;
pub mod readiness;
pub mod rules;
pub mod submission;
pub mod text;
pub mod waiver;

pub use actor::{ActedBy, Actor, JobName, ProviderId, Role, WebhookSender};
pub use calendar::{Cycle, RenewalWindow, add_months};
pub use certification::{
    Certificant, Certification, CertificationAggregate, CertificationStatus, ChangeBuilder,
    Changes, Deadline, DueKind, DueSlot, HistoryEvent, HistoryKind, IDEMPOTENCY_BODY_CAP,
    IdempotencyRecord, Item, ItemKey, Membership, Queue, QueueSlot, Renewal, RenewalStatus,
};
pub use clock::{Clock, FixedClock, SystemClock};
pub use credential::{Credential, ProviderCategory};
pub use eligibility::{Eligibility, evaluate};
pub use email::Email;
pub use entry::{CeEntry, CeEntryInput, EntrySource, EvidenceRef};
pub use error::{ConflictCode, DomainError, FieldErrors};
pub use exam::ExamOutcome;
pub use feed::{CalendarFeed, FeedToken};
pub use hours::Hours;
pub use ids::{CertificantId, CertificationId, EntryId};
pub use notice::{Delivery, Notice, OutboxMessage, Recipient};
pub use provider::{Posting, PostingStatus, PostingWrite, Provider};
pub use readiness::{SubmissionCheck, SubmissionReadiness};
pub use rules::{CredentialRules, Deadlines, RuleBook, RuleSet};

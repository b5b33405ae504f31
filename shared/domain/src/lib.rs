//! Recert's domain: the certification body's rules and the model they judge.
//!
//! Everything here is pure: no I/O, no async, no AWS or HTTP types, no system clock (a [`Clock`]
//! is passed in). Rule numbers (hours, fees, deadlines) are data in a versioned rules file
//! (`rules/default.toml`), never code. `utoipa` is used only for `ToSchema` derives so the API
//! contract and the model cannot drift.

// The floors, bottom to top: each imports only those below it (docs/design.md).
pub mod audit;
pub mod calendar;
pub mod certification;
pub mod eligibility;
pub mod feed;
pub mod model;
pub mod provider;
pub mod rules;
pub mod usecase;
pub mod vocabulary;

pub use audit::case::{Audit, AuditStatus, DrawJudgement};
pub use calendar::{Cycle, RenewalWindow};
pub use certification::{CertificationAggregate, ChangeBuilder, Changes, Decide, Item, ItemKey};
pub use eligibility::{Eligibility, evaluate};
pub use feed::{CalendarFeed, FeedToken};
pub use model::certificant::Certificant;
pub use model::certification::{Certification, CertificationStatus};
pub use model::deadline::{Deadline, DueKind, DueSlot, Queue, QueueSlot};
pub use model::entry::{CeEntry, CeEntryInput, EntrySource, EvidenceRef};
pub use model::history::{HistoryEvent, HistoryKind};
pub use model::idempotency::{IDEMPOTENCY_BODY_CAP, IdempotencyRecord};
pub use model::notice::{Delivery, Notice, OutboxMessage, Recipient};
pub use model::posting::{Posting, PostingStatus, PostingWrite};
pub use model::submission::{Submission, SubmissionStatus};
pub use provider::Provider;
pub use rules::{CredentialRules, Deadlines, RuleBook, RuleSet};
pub use usecase::exam::ExamOutcome;
pub use usecase::submission::{SubmissionCheck, SubmissionReadiness};
pub use vocabulary::actor::{ActedBy, Actor, JobName, ProviderId, Role, WebhookSender};
pub use vocabulary::clock::{Clock, FixedClock, SystemClock};
pub use vocabulary::credential::{Credential, Membership, ProviderCategory};
pub use vocabulary::dates::add_months;
pub use vocabulary::email::Email;
pub use vocabulary::error::{ConflictCode, DomainError, FieldErrors};
pub use vocabulary::hours::Hours;
pub use vocabulary::ids::{CertificantId, CertificationId, EntryId};

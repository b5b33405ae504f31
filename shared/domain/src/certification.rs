//! Certificants, certifications and the certification aggregate.
//!
//! The aggregate is one certification with its current cycle's working set (CE entries of the
//! cycle, renewals, live idempotency records; later audits and waiver requests). Its history is
//! append-only and read a page at a time, never with the aggregate, so a command's cost does not
//! grow with the certification's age. A command loads the aggregate once, decides with the pure
//! methods here, and commits the returned [`Changes`] in one atomic write guarded by the version
//! it loaded. [`Changes`] can only be made by [`ChangeBuilder`] (or [`Changes::issue`] for a new
//! certification), which always bumps the version and records one history event: no command can
//! forget either.

use crate::actor::{ActedBy, Actor};
use crate::calendar::Cycle;
use crate::credential::Credential;
use crate::entry::{Activity, CeEntry, EntrySource};
use crate::error::ConflictCode;
use crate::error::DomainError;
use crate::ids::{CertificantId, CertificationId, EntryId};
use crate::notice::{Delivery, OutboxMessage};
use crate::provider::PostingWrite;
use chrono::{DateTime, NaiveDate, Utc};
use serde::{Deserialize, Serialize};

/// Membership status decides the fee.
#[derive(
    Debug,
    Clone,
    Copy,
    PartialEq,
    Eq,
    PartialOrd,
    Ord,
    Hash,
    Serialize,
    Deserialize,
    utoipa::ToSchema,
)]
#[serde(rename_all = "snake_case")]
pub enum Membership {
    Member,
    NonMember,
}

/// A person who holds credentials. Personal data: never logged.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct Certificant {
    pub id: CertificantId,
    pub email: crate::email::Email,
    pub full_name: String,
    pub membership: Membership,
    pub created_at: DateTime<Utc>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum CertificationStatus {
    /// In good standing; the current cycle is running.
    Active,
    /// Not renewed by the closing date: revoked. Only passing the exam again reinstates it.
    Lapsed,
    /// Revoked because its renewal failed an audit.
    Revoked,
}

/// One credential held by one certificant (the aggregate root).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct Certification {
    pub id: CertificationId,
    pub certificant_id: CertificantId,
    pub credential: Credential,
    pub certificate_number: String,
    /// First day of the current cycle (day after the previous expiration, or the initial certification date).
    pub cycle_starts_on: NaiveDate,
    /// Last day of the current cycle.
    pub expires_on: NaiveDate,
    /// A granted extension of the current cycle's closing date.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub extended_to: Option<NaiveDate>,
    pub status: CertificationStatus,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
    /// Optimistic-concurrency version: 1 after creation, +1 per committed command.
    pub version: u64,
    /// The submission that renewed the certification into its current cycle (that submission is
    /// kept with the previous cycle, outside the working set).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schema(value_type = Option<String>, format = Uuid)]
    pub renewed_by: Option<uuid::Uuid>,
}

impl Certification {
    /// In good standing (not lapsed, not revoked).
    pub fn is_active(&self) -> bool {
        self.status == CertificationStatus::Active
    }

    pub fn cycle(&self) -> Cycle {
        Cycle {
            starts_on: self.cycle_starts_on,
            expires_on: self.expires_on,
            extended_to: self.extended_to,
        }
    }

    /// While active, the certification falls due on its closing date (the lapse job's worklist).
    pub fn due_slot(&self) -> Option<DueSlot> {
        (self.status == CertificationStatus::Active).then(|| DueSlot {
            kind: DueKind::CycleCloses,
            on: self.cycle().counting_ends_on(),
        })
    }
}

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum RenewalStatus {
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
pub struct Renewal {
    pub id: uuid::Uuid,
    /// The first day of the cycle this renewal is for (it is kept with that cycle's entries).
    pub cycle_starts_on: NaiveDate,
    /// The expiration date of the cycle this renewal is for.
    pub cycle_expires_on: NaiveDate,
    pub status: RenewalStatus,
    pub submitted_at: DateTime<Utc>,
    /// The order number payments refer to (`R-<certification>-<n>`).
    #[serde(default)]
    pub order_number: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub attestation: Option<Box<crate::submission::AttestationRecord>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub billing_address: Option<Box<crate::submission::BillingAddress>>,
    /// The fee, priced from the rules' fee table by the membership status on record.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub charge: Option<Box<crate::submission::Charge>>,
    /// Every payment received for this submission (matching the fee or not).
    #[serde(default)]
    pub payments: Vec<crate::submission::PaymentRecord>,
    /// The processor's ids of every payment event applied to it (each is applied once).
    #[serde(default)]
    pub processed_events: Vec<String>,
    /// What staff must look at (an amount that does not match, a payment after withdrawal...).
    #[serde(default)]
    pub flags: Vec<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub paid_at: Option<DateTime<Utc>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub review: Option<Box<crate::submission::Review>>,
    /// How the random audit draw judged it (once paid; a submission is judged once). Reviewers
    /// see a paid submission only after the draw.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub draw: Option<Box<crate::audit::DrawJudgement>>,
    /// After a passed audit: the updated certificate is due by this day (the service level).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub certificate_due_on: Option<NaiveDate>,
}

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

/// The most bytes of a response an idempotency record keeps for replay. A larger response is
/// replayed as a redirect to its `location` instead (records stay small however big a body is).
pub const IDEMPOTENCY_BODY_CAP: usize = 8 * 1024;

/// The stored first response to a creating request with an `Idempotency-Key`: what a replay
/// needs and no more.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct IdempotencyRecord {
    /// The client's key, scoped by the caller (e.g. `<subject>:<key>`).
    pub key: String,
    /// Digest of the request that first used the key (method, path, body).
    pub request_hash: String,
    pub status: u16,
    /// Where the created resource is, if the response named it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub location: Option<String>,
    /// The response body, when at most [`IDEMPOTENCY_BODY_CAP`] bytes.
    #[serde(default)]
    pub body: Option<String>,
    pub created_at: DateTime<Utc>,
    /// After this instant the record is ignored and may be deleted (DynamoDB TTL).
    pub expires_at: DateTime<Utc>,
}

impl IdempotencyRecord {
    /// A record of a response; its body is kept only within [`IDEMPOTENCY_BODY_CAP`].
    pub fn of_response(
        key: String,
        request_hash: String,
        status: u16,
        location: Option<String>,
        body: String,
        created_at: DateTime<Utc>,
        expires_at: DateTime<Utc>,
    ) -> Self {
        IdempotencyRecord {
            key,
            request_hash,
            status,
            location,
            body: (body.len() <= IDEMPOTENCY_BODY_CAP).then_some(body),
            created_at,
            expires_at,
        }
    }
}

/// A staff or job queue an item can wait in (GSI2 on DynamoDB), oldest first.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Queue {
    /// Paid renewal submissions waiting for a reviewer.
    RenewalReview,
    /// Outbox messages not yet delivered, by when they are (next) due to be sent.
    Outbox,
    /// Paid submissions the random audit draw has not judged yet (its candidates).
    AuditDraw,
    /// Audits the certificant responded to, waiting for an auditor.
    AuditDecision,
    /// Open waiver and extension requests, waiting for the committee.
    WaiverDecision,
}

impl Queue {
    pub const ALL: [Queue; 5] = [
        Queue::RenewalReview,
        Queue::Outbox,
        Queue::AuditDraw,
        Queue::AuditDecision,
        Queue::WaiverDecision,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Queue::RenewalReview => "renewal_review",
            Queue::Outbox => "outbox",
            Queue::AuditDraw => "audit_draw",
            Queue::AuditDecision => "audit_decision",
            Queue::WaiverDecision => "waiver_decision",
        }
    }
}

/// An item's place in a queue: which queue, and since when it waits.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct QueueSlot {
    pub queue: Queue,
    pub since: DateTime<Utc>,
}

/// What can fall due on a day (GSI3 on DynamoDB): the scheduled jobs' worklists.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum DueKind {
    /// The current cycle closes (the end of the renewal window): lapse unless renewed.
    CycleCloses,
    /// The renewal window opens: tell the certificant where they stand.
    WindowOpens,
    /// A week before an audit's documentation is due: remind.
    AuditReminderWeek,
    /// A day before an audit's documentation is due: remind.
    AuditReminderDay,
    /// The day after an audit's documentation was due: fail it if still undocumented.
    AuditOverdue,
    /// The last closing-date reminder sent in a cycle (a marker, done when written: it is never
    /// in the index; the reminders follow the root's `cycle_closes` date).
    ClosingReminder,
}

impl DueKind {
    pub const ALL: [DueKind; 6] = [
        DueKind::CycleCloses,
        DueKind::WindowOpens,
        DueKind::AuditReminderWeek,
        DueKind::AuditReminderDay,
        DueKind::AuditOverdue,
        DueKind::ClosingReminder,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            DueKind::CycleCloses => "cycle_closes",
            DueKind::WindowOpens => "window_opens",
            DueKind::AuditReminderWeek => "audit_reminder_week",
            DueKind::AuditReminderDay => "audit_reminder_day",
            DueKind::AuditOverdue => "audit_overdue",
            DueKind::ClosingReminder => "closing_reminder",
        }
    }

    /// The kind named `name` (as [`Self::as_str`] writes it).
    pub fn parse(name: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|k| k.as_str() == name)
    }
}

impl Deadline {
    /// The deadlines of `certification`'s current cycle under `rules`: the day its renewal window
    /// opens.
    pub fn of_cycle(
        certification: &Certification,
        rules: &crate::rules::Deadlines,
    ) -> Vec<Deadline> {
        let window = certification.cycle().window(rules);
        vec![Deadline {
            kind: DueKind::WindowOpens,
            cycle_starts_on: certification.cycle_starts_on,
            on: window.opens_on,
            done_at: None,
        }]
    }
}

/// A date in a cycle on which a job must act once (remind, warn...). Kept with its cycle; listed
/// in the due-date index until `done`, so a job that ran for it never finds it again.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Deadline {
    pub kind: DueKind,
    pub cycle_starts_on: NaiveDate,
    pub on: NaiveDate,
    /// When the job acted on it (`None`: still to do).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub done_at: Option<DateTime<Utc>>,
}

/// An item's due date: what falls due, and on which day.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct DueSlot {
    pub kind: DueKind,
    pub on: NaiveDate,
}

/// The certification with its current cycle's working set, as loaded in one read.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CertificationAggregate {
    pub certification: Certification,
    /// The entries of the current cycle (by completion date, then id).
    pub entries: Vec<CeEntry>,
    /// The renewals of the current cycle.
    pub renewals: Vec<Renewal>,
    /// Idempotency records (expired ones may be included; see [`Self::idempotency_record`]).
    pub idempotency: Vec<IdempotencyRecord>,
    /// The current cycle's deadlines (dates a job acts on once).
    pub deadlines: Vec<Deadline>,
    /// The audits of the current cycle's submissions that were selected.
    pub audits: Vec<crate::audit::Audit>,
    /// The current cycle's waiver and extension requests.
    pub waiver_requests: Vec<crate::waiver::WaiverRequest>,
}

/// An item of the aggregate other than the root (the history is written beside them, by
/// [`Changes`], and read on its own).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Item {
    Entry(CeEntry),
    Renewal(Renewal),
    Idempotency(IdempotencyRecord),
    Deadline(Deadline),
    /// The audit of a selected submission.
    Audit(crate::audit::Audit),
    /// A waiver or extension request.
    WaiverRequest(crate::waiver::WaiverRequest),
    /// A message of the transactional outbox. Written with the change it reports; not part of the
    /// loaded aggregate (delivery reads and updates it on its own).
    Outbox(OutboxMessage),
}

/// The key of an item inside its aggregate. Entries and renewals are kept by cycle, so a load
/// reads the current cycle's and older cycles stay readable by cycle.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum ItemKey {
    Entry {
        cycle: NaiveDate,
        id: EntryId,
    },
    Renewal {
        cycle: NaiveDate,
        id: uuid::Uuid,
    },
    Idempotency(String),
    Deadline {
        cycle: NaiveDate,
        kind: DueKind,
    },
    Audit {
        cycle: NaiveDate,
        renewal: uuid::Uuid,
    },
    WaiverRequest {
        cycle: NaiveDate,
        id: uuid::Uuid,
    },
    Outbox(uuid::Uuid),
}

impl Item {
    pub fn key(&self) -> ItemKey {
        match self {
            Item::Entry(e) => ItemKey::Entry {
                cycle: e.cycle_starts_on,
                id: e.id,
            },
            Item::Renewal(r) => ItemKey::Renewal {
                cycle: r.cycle_starts_on,
                id: r.id,
            },
            Item::Idempotency(i) => ItemKey::Idempotency(i.key.clone()),
            Item::Deadline(d) => ItemKey::Deadline {
                cycle: d.cycle_starts_on,
                kind: d.kind,
            },
            Item::Audit(a) => ItemKey::Audit {
                cycle: a.cycle_starts_on,
                renewal: a.renewal_id,
            },
            Item::WaiverRequest(r) => ItemKey::WaiverRequest {
                cycle: r.cycle_starts_on,
                id: r.id,
            },
            Item::Outbox(m) => ItemKey::Outbox(m.id),
        }
    }

    /// The queue this item waits in, if any: a renewal in review waits for a reviewer.
    pub fn queue_slot(&self) -> Option<QueueSlot> {
        match self {
            // A paid submission waits for the draw, then (not selected, or its audit passed) for
            // a reviewer.
            Item::Renewal(r) if r.status == RenewalStatus::InReview => Some(QueueSlot {
                queue: if r.draw.is_some() {
                    Queue::RenewalReview
                } else {
                    Queue::AuditDraw
                },
                since: r.paid_at.unwrap_or(r.submitted_at),
            }),
            Item::Audit(a) if a.status == crate::audit::AuditStatus::AwaitingDecision => {
                Some(QueueSlot {
                    queue: Queue::AuditDecision,
                    since: a.responded_at.unwrap_or(a.selected_at),
                })
            }
            Item::WaiverRequest(r) if r.status == crate::waiver::WaiverStatus::Open => {
                Some(QueueSlot {
                    queue: Queue::WaiverDecision,
                    since: r.requested_at,
                })
            }
            Item::Outbox(m) => match &m.delivery {
                Delivery::Pending => Some(QueueSlot {
                    queue: Queue::Outbox,
                    since: m.next_attempt_at,
                }),
                // A claim that lapses (its sender died) makes the message due again.
                Delivery::Sending { until } => Some(QueueSlot {
                    queue: Queue::Outbox,
                    since: *until,
                }),
                Delivery::Sent { .. } | Delivery::Parked { .. } => None,
            },
            _ => None,
        }
    }

    /// What falls due on this item, if anything: a deadline not yet acted on.
    pub fn due_slot(&self) -> Option<DueSlot> {
        match self {
            Item::Deadline(d) if d.done_at.is_none() => Some(DueSlot {
                kind: d.kind,
                on: d.on,
            }),
            _ => None,
        }
    }

    /// The kind of item, for messages that must not quote keys (an idempotency key may carry a
    /// caller's subject).
    pub fn kind(&self) -> &'static str {
        self.key().kind()
    }
}

impl ItemKey {
    pub fn kind(&self) -> &'static str {
        match self {
            ItemKey::Entry { .. } => "an entry",
            ItemKey::Renewal { .. } => "a renewal",
            ItemKey::Idempotency(_) => "an idempotency record",
            ItemKey::Deadline { .. } => "a deadline",
            ItemKey::Audit { .. } => "an audit",
            ItemKey::WaiverRequest { .. } => "a waiver request",
            ItemKey::Outbox(_) => "an outbox message",
        }
    }
}

/// What one command changes, committed atomically: the new root (its `version` is
/// `expected_version + 1`), the history event it records (seq = the new version), items to put
/// (insert or replace) and items to delete. Made only by [`ChangeBuilder`] or [`Changes::issue`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Changes {
    expected_version: u64,
    certification: Certification,
    event: HistoryEvent,
    puts: Vec<Item>,
    deletes: Vec<ItemKey>,
    postings: Vec<PostingWrite>,
}

impl Changes {
    /// Issue a new certification (version 1) and record it in the history.
    pub fn issue(certification: Certification, actor: &Actor, now: DateTime<Utc>) -> Changes {
        Self::issuing(certification, actor, now).build()
    }

    /// Start issuing a new certification (version 1, recorded as issued), to add items to it.
    pub fn issuing(
        mut certification: Certification,
        actor: &Actor,
        now: DateTime<Utc>,
    ) -> ChangeBuilder {
        certification.created_at = now;
        let event = HistoryEvent {
            seq: 1,
            at: now,
            actor: actor.acted_by(),
            kind: HistoryKind::CertificationIssued {
                credential: certification.credential,
                expires_on: certification.expires_on,
            },
        };
        ChangeBuilder {
            expected_version: 0,
            certification,
            event,
            puts: vec![],
            deletes: vec![],
            postings: vec![],
        }
    }

    /// The version the command loaded; 0 means the certification must not exist yet.
    pub fn expected_version(&self) -> u64 {
        self.expected_version
    }

    /// The root as it will be (its version is `expected_version + 1`).
    pub fn certification(&self) -> &Certification {
        &self.certification
    }

    /// The history event this command records.
    pub fn event(&self) -> &HistoryEvent {
        &self.event
    }

    pub fn puts(&self) -> &[Item] {
        &self.puts
    }

    pub fn deletes(&self) -> &[ItemKey] {
        &self.deletes
    }

    /// Writes of providers' ledgers committed with this change (a posted completion's record).
    pub fn postings(&self) -> &[PostingWrite] {
        &self.postings
    }

    /// Attach the stored response of a creating request, so it commits with the change itself.
    pub fn with_idempotency(mut self, record: Option<IdempotencyRecord>) -> Self {
        if let Some(r) = record {
            self.puts.push(Item::Idempotency(r));
        }
        self
    }

    /// Any combination of parts, checked by nothing: for the store conformance suite to prove
    /// that adapters refuse what the builder can never make.
    #[cfg(feature = "testing")]
    #[doc(hidden)]
    pub fn from_parts_unchecked(
        expected_version: u64,
        certification: Certification,
        event: HistoryEvent,
        puts: Vec<Item>,
        deletes: Vec<ItemKey>,
    ) -> Self {
        Changes {
            expected_version,
            certification,
            event,
            puts,
            deletes,
            postings: vec![],
        }
    }
}

/// The one way to change an existing certification: it starts from the loaded aggregate, bumps
/// the version, stamps `updated_at` and records the event (who, when, what) on [`Self::build`].
#[derive(Debug)]
#[must_use = "a change does nothing until it is built and committed"]
pub struct ChangeBuilder {
    expected_version: u64,
    certification: Certification,
    event: HistoryEvent,
    puts: Vec<Item>,
    deletes: Vec<ItemKey>,
    postings: Vec<PostingWrite>,
}

impl ChangeBuilder {
    /// Change the root (status, dates...); its version and `updated_at` are the builder's.
    pub fn root(mut self, f: impl FnOnce(&mut Certification)) -> Self {
        f(&mut self.certification);
        self
    }

    pub fn put(mut self, item: Item) -> Self {
        self.puts.push(item);
        self
    }

    pub fn delete(mut self, key: ItemKey) -> Self {
        self.deletes.push(key);
        self
    }

    /// Write a provider's ledger in the same commit (see [`PostingWrite`]).
    pub fn post(mut self, write: PostingWrite) -> Self {
        self.postings.push(write);
        self
    }

    pub fn build(self) -> Changes {
        let mut certification = self.certification;
        certification.version = self.expected_version + 1;
        certification.updated_at = self.event.at;
        Changes {
            expected_version: self.expected_version,
            certification,
            event: self.event,
            puts: self.puts,
            deletes: self.deletes,
            postings: self.postings,
        }
    }
}

impl CertificationAggregate {
    /// A certification with nothing in its working set yet.
    pub fn new(certification: Certification) -> Self {
        CertificationAggregate {
            certification,
            entries: Vec::new(),
            renewals: Vec::new(),
            idempotency: Vec::new(),
            deadlines: Vec::new(),
            audits: Vec::new(),
            waiver_requests: Vec::new(),
        }
    }

    /// The current cycle's deadline of `kind` that is still to do.
    pub fn open_deadline(&self, kind: DueKind) -> Option<&Deadline> {
        self.deadlines.iter().find(|d| {
            d.kind == kind
                && d.cycle_starts_on == self.certification.cycle_starts_on
                && d.done_at.is_none()
        })
    }

    /// Start a change of this certification by `actor` at `now`, recorded as `what`.
    pub fn change(&self, actor: &Actor, now: DateTime<Utc>, what: HistoryKind) -> ChangeBuilder {
        let version = self.certification.version;
        ChangeBuilder {
            expected_version: version,
            certification: self.certification.clone(),
            event: HistoryEvent {
                seq: version + 1,
                at: now,
                actor: actor.acted_by(),
                kind: what,
            },
            puts: vec![],
            deletes: vec![],
            postings: vec![],
        }
    }

    pub fn entry(&self, id: EntryId) -> Result<&CeEntry, DomainError> {
        self.entries
            .iter()
            .find(|e| e.id == id)
            .ok_or(DomainError::NotFound("entry"))
    }

    /// The live (unexpired) idempotency record stored under `key`.
    pub fn idempotency_record(&self, key: &str, now: DateTime<Utc>) -> Option<&IdempotencyRecord> {
        self.idempotency
            .iter()
            .find(|r| r.key == key && r.expires_at > now)
    }

    /// A renewal submitted for the current cycle that still stands (not returned).
    pub fn current_submission(&self) -> Option<&Renewal> {
        let c = &self.certification;
        self.renewals.iter().find(|r| {
            r.cycle_expires_on == c.expires_on
                && !matches!(r.status, RenewalStatus::Returned | RenewalStatus::Withdrawn)
        })
    }

    /// Entries may change only while the cycle is open for logging: not lapsed, not submitted.
    pub(crate) fn ensure_transcript_open(&self) -> Result<(), DomainError> {
        if !self.certification.is_active() {
            return Err(DomainError::conflict(
                ConflictCode::CertificationLapsed,
                "this certification is no longer active (lapsed or revoked); its transcript can no longer change",
            ));
        }
        if let Some(r) = self.current_submission() {
            return Err(DomainError::conflict(
                ConflictCode::CycleSubmitted,
                format!(
                    "a renewal for the cycle ending {} was submitted on {}; its entries are locked",
                    r.cycle_expires_on,
                    r.submitted_at.date_naive()
                ),
            ));
        }
        Ok(())
    }

    fn ensure_self_reported(entry: &CeEntry) -> Result<(), DomainError> {
        if entry.source == EntrySource::ProviderReported {
            return Err(DomainError::conflict(
                ConflictCode::ProviderReported,
                "this entry was posted by its provider; only the provider can change or void it",
            ));
        }
        Ok(())
    }

    /// Log an entry on the current cycle's transcript.
    pub fn add_entry(
        &self,
        id: EntryId,
        activity: Activity,
        source: EntrySource,
        actor: &Actor,
        now: DateTime<Utc>,
    ) -> Result<(CeEntry, Changes), DomainError> {
        // During an audit's extra time, replacement hours may be logged (never changed).
        if !self.in_audit_extra_time() {
            self.ensure_transcript_open()?;
        }
        if self.entries.iter().any(|e| e.id == id) {
            return Err(DomainError::conflict(
                ConflictCode::EntryExists,
                "an entry with this id already exists",
            ));
        }
        let entry = CeEntry {
            id,
            cycle_starts_on: self.certification.cycle_starts_on,
            activity,
            source,
            posting: None,
            distinct_confirmed: false,
            created_at: now,
            updated_at: now,
        };
        let changes = self
            .change(actor, now, HistoryKind::EntryAdded { entry_id: id })
            .put(Item::Entry(entry.clone()))
            .build();
        Ok((entry, changes))
    }

    pub fn update_entry(
        &self,
        id: EntryId,
        activity: Activity,
        actor: &Actor,
        now: DateTime<Utc>,
    ) -> Result<(CeEntry, Changes), DomainError> {
        let existing = self.entry(id)?;
        self.ensure_transcript_open()?;
        Self::ensure_self_reported(existing)?;
        let entry = CeEntry {
            activity,
            updated_at: now,
            ..existing.clone()
        };
        let changes = self
            .change(actor, now, HistoryKind::EntryUpdated { entry_id: id })
            .put(Item::Entry(entry.clone()))
            .build();
        Ok((entry, changes))
    }

    pub fn remove_entry(
        &self,
        id: EntryId,
        actor: &Actor,
        now: DateTime<Utc>,
    ) -> Result<Changes, DomainError> {
        let existing = self.entry(id)?;
        self.ensure_transcript_open()?;
        Self::ensure_self_reported(existing)?;
        Ok(self
            .change(actor, now, HistoryKind::EntryRemoved { entry_id: id })
            .delete(Item::Entry(existing.clone()).key())
            .build())
    }

    /// The aggregate as it is after `changes` commit (what a store would load next, items of
    /// other cycles aside).
    pub fn apply(mut self, changes: &Changes) -> Self {
        self.certification = changes.certification.clone();
        for key in &changes.deletes {
            match key {
                ItemKey::Entry { id, .. } => self.entries.retain(|e| e.id != *id),
                ItemKey::Renewal { id, .. } => self.renewals.retain(|r| r.id != *id),
                ItemKey::Idempotency(k) => self.idempotency.retain(|r| r.key != *k),
                ItemKey::Deadline { cycle, kind } => self
                    .deadlines
                    .retain(|d| !(d.cycle_starts_on == *cycle && d.kind == *kind)),
                ItemKey::Audit { renewal, .. } => self.audits.retain(|a| a.renewal_id != *renewal),
                ItemKey::WaiverRequest { id, .. } => self.waiver_requests.retain(|r| r.id != *id),
                ItemKey::Outbox(_) => {}
            }
        }
        for item in &changes.puts {
            match item {
                Item::Entry(e) => match self.entries.iter_mut().find(|x| x.id == e.id) {
                    Some(slot) => *slot = e.clone(),
                    None => self.entries.push(e.clone()),
                },
                Item::Renewal(r) => match self.renewals.iter_mut().find(|x| x.id == r.id) {
                    Some(slot) => *slot = r.clone(),
                    None => self.renewals.push(r.clone()),
                },
                Item::Idempotency(i) => {
                    self.idempotency.retain(|r| r.key != i.key);
                    self.idempotency.push(i.clone());
                }
                Item::Deadline(d) => {
                    self.deadlines
                        .retain(|x| !(x.cycle_starts_on == d.cycle_starts_on && x.kind == d.kind));
                    self.deadlines.push(d.clone());
                }
                Item::Audit(a) => match self
                    .audits
                    .iter_mut()
                    .find(|x| x.renewal_id == a.renewal_id)
                {
                    Some(slot) => *slot = a.clone(),
                    None => self.audits.push(a.clone()),
                },
                Item::WaiverRequest(w) => {
                    match self.waiver_requests.iter_mut().find(|x| x.id == w.id) {
                        Some(slot) => *slot = w.clone(),
                        None => self.waiver_requests.push(w.clone()),
                    }
                }
                // Not part of the loaded working set.
                Item::Outbox(_) => {}
            }
        }
        self
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;
    use crate::credential::ProviderCategory;
    use crate::hours::Hours;
    use uuid::Uuid;

    fn date(y: i32, m: u32, d: u32) -> NaiveDate {
        NaiveDate::from_ymd_opt(y, m, d).unwrap()
    }

    fn at(day: u32) -> DateTime<Utc> {
        date(2026, 1, day).and_hms_opt(12, 0, 0).unwrap().and_utc()
    }

    fn aggregate() -> CertificationAggregate {
        let certification = Certification {
            id: CertificationId(Uuid::from_u128(1)),
            certificant_id: CertificantId(Uuid::from_u128(2)),
            credential: Credential::Cphims,
            certificate_number: "CN-1".into(),
            cycle_starts_on: date(2025, 1, 1),
            expires_on: date(2027, 12, 31),
            extended_to: None,
            status: CertificationStatus::Active,
            created_at: at(1),
            updated_at: at(1),
            version: 0,
            renewed_by: None,
        };
        let issued = Changes::issue(
            certification,
            &Actor::System(crate::JobName("t".into())),
            at(1),
        );
        CertificationAggregate::new(issued.certification().clone())
    }

    fn activity() -> Activity {
        Activity {
            title: "t".into(),
            provider_name: "p".into(),
            provider_category: ProviderCategory::Society,
            canadian_content: false,
            completed_on: date(2025, 6, 1),
            hours: Hours(100),
            ethics_hours: Hours(0),
            evidence: vec![],
        }
    }

    #[test]
    fn every_change_bumps_the_version_and_records_who_when_what() {
        let agg = aggregate();
        let me = Actor::Certificant(agg.certification.certificant_id);
        let (_, changes) = agg
            .add_entry(
                EntryId(Uuid::from_u128(3)),
                activity(),
                EntrySource::SelfReported,
                &me,
                at(2),
            )
            .unwrap();
        assert_eq!(changes.expected_version(), 1);
        assert_eq!(changes.certification().version, 2);
        assert_eq!(changes.certification().updated_at, at(2));
        let event = changes.event();
        assert_eq!(event.seq, 2);
        assert_eq!(event.at, at(2));
        assert_eq!(event.actor, me.acted_by());
        assert!(matches!(event.kind, HistoryKind::EntryAdded { .. }));
    }

    #[test]
    fn a_builder_change_with_no_items_still_bumps_and_records() {
        let agg = aggregate();
        let job = Actor::System(crate::JobName("lapse".into()));
        let changes = agg
            .change(
                &job,
                at(3),
                HistoryKind::RenewalSubmitted {
                    renewal_id: Uuid::nil(),
                },
            )
            .root(|c| c.status = CertificationStatus::Lapsed)
            .build();
        assert_eq!(changes.certification().version, 2);
        assert_eq!(changes.certification().status, CertificationStatus::Lapsed);
        assert_eq!(changes.event().actor.role, "system");
    }

    #[test]
    fn an_entry_is_kept_with_the_cycle_it_was_logged_in() {
        let agg = aggregate();
        let me = Actor::Certificant(agg.certification.certificant_id);
        let (entry, changes) = agg
            .add_entry(
                EntryId(Uuid::from_u128(3)),
                activity(),
                EntrySource::SelfReported,
                &me,
                at(2),
            )
            .unwrap();
        assert_eq!(entry.cycle_starts_on, date(2025, 1, 1));
        assert_eq!(
            changes.puts()[0].key(),
            ItemKey::Entry {
                cycle: date(2025, 1, 1),
                id: entry.id
            }
        );
    }

    #[test]
    fn only_an_active_certification_falls_due_and_only_a_renewal_in_review_is_queued() {
        let mut agg = aggregate();
        assert_eq!(
            agg.certification.due_slot(),
            Some(DueSlot {
                kind: DueKind::CycleCloses,
                on: date(2027, 12, 31)
            })
        );
        agg.certification.status = CertificationStatus::Lapsed;
        assert_eq!(agg.certification.due_slot(), None);
        let mut renewal = Renewal {
            id: Uuid::nil(),
            cycle_starts_on: date(2025, 1, 1),
            cycle_expires_on: date(2027, 12, 31),
            status: RenewalStatus::AwaitingPayment,
            submitted_at: at(4),
            ..Renewal::default()
        };
        assert_eq!(Item::Renewal(renewal.clone()).queue_slot(), None);
        renewal.status = RenewalStatus::InReview;
        assert_eq!(
            Item::Renewal(renewal.clone()).queue_slot(),
            Some(QueueSlot {
                queue: Queue::AuditDraw,
                since: at(4)
            }),
            "paid: it waits for the audit draw first"
        );
        renewal.draw = Some(Box::new(crate::audit::DrawJudgement {
            period: "2026-01".parse().unwrap(),
            run_on: date(2026, 1, 5),
            seq: 1,
            candidate: "candidate".into(),
            ticket: crate::audit::Ticket::first("seed", "id"),
            selected: false,
        }));
        assert_eq!(
            Item::Renewal(renewal.clone()).queue_slot(),
            Some(QueueSlot {
                queue: Queue::RenewalReview,
                since: at(4)
            })
        );
        renewal.status = RenewalStatus::InAudit;
        assert_eq!(Item::Renewal(renewal).queue_slot(), None);
    }

    #[test]
    fn an_oversized_response_is_not_kept_for_replay() {
        let big = "x".repeat(IDEMPOTENCY_BODY_CAP + 1);
        let r = IdempotencyRecord::of_response(
            "k".into(),
            "h".into(),
            201,
            Some("/x".into()),
            big,
            at(1),
            at(2),
        );
        assert_eq!(r.body, None);
        assert_eq!(r.location.as_deref(), Some("/x"));
        let r = IdempotencyRecord::of_response(
            "k".into(),
            "h".into(),
            201,
            None,
            "{}".into(),
            at(1),
            at(2),
        );
        assert_eq!(r.body.as_deref(), Some("{}"));
    }
}

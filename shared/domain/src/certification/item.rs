//! The items of a certification's aggregate ([`Item`]) and their keys ([`ItemKey`]): what one
//! commit puts or deletes, and which queue or due date each item stands in.

use crate::model::deadline::Deadline;
use crate::model::deadline::DueKind;
use crate::model::deadline::DueSlot;
use crate::model::deadline::Queue;
use crate::model::deadline::QueueSlot;
use crate::model::entry::CeEntry;
use crate::model::idempotency::IdempotencyRecord;
use crate::model::notice::Delivery;
use crate::model::notice::OutboxMessage;
use crate::model::submission::Submission;
use crate::model::submission::SubmissionStatus;
use crate::vocabulary::ids::EntryId;
use chrono::NaiveDate;

/// An item of the aggregate other than the root (the history is written beside them, by
/// [`Changes`], and read on its own).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Item {
    Entry(CeEntry),
    Submission(Submission),
    Idempotency(IdempotencyRecord),
    Deadline(Deadline),
    /// The audit of a selected submission.
    Audit(crate::audit::Audit),
    /// A waiver or extension request.
    WaiverRequest(crate::model::waiver::WaiverRequest),
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
    Submission {
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
            Item::Submission(r) => ItemKey::Submission {
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
            Item::Submission(r) if r.status == SubmissionStatus::InReview => Some(QueueSlot {
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
            Item::WaiverRequest(r) if r.status == crate::model::waiver::WaiverStatus::Open => {
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
            ItemKey::Submission { .. } => "a renewal",
            ItemKey::Idempotency(_) => "an idempotency record",
            ItemKey::Deadline { .. } => "a deadline",
            ItemKey::Audit { .. } => "an audit",
            ItemKey::WaiverRequest { .. } => "a waiver request",
            ItemKey::Outbox(_) => "an outbox message",
        }
    }
}

//! What waits in a staff or job queue ([`Queue`]) and what falls due on a day ([`DueKind`],
//! [`Deadline`]): the keys of the indexes the store keeps.

use crate::model::certification::{Certification, CertificationStatus};
use chrono::{DateTime, NaiveDate, Utc};
use serde::{Deserialize, Serialize};

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

/// An item's due date: what falls due, and on which day.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct DueSlot {
    pub kind: DueKind,
    pub on: NaiveDate,
}

impl Certification {
    /// While active, the certification falls due on its closing date (the lapse job's worklist).
    pub fn due_slot(&self) -> Option<DueSlot> {
        (self.status == CertificationStatus::Active).then(|| DueSlot {
            kind: DueKind::CycleCloses,
            on: self.cycle().counting_ends_on(),
        })
    }
}

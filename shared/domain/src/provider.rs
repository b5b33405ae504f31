//! Partner education providers: the registry staff keep, the completions a provider posts, and
//! how a posted row becomes an entry on a transcript exactly once.
//!
//! - A [`Provider`] is its own small aggregate (versioned, with its history inside it): who it
//!   is, its registered category, whether it may post (active, within its approval period).
//! - A provider posts [`CompletionRow`]s; each validated one is a [`Completion`]. Every row that
//!   reaches the store is recorded once in the provider's ledger as a [`Posting`], keyed by the
//!   provider and its own completion id. Creating a posting is put-if-absent, in the same atomic
//!   commit as the entry it adds, so re-posting a row (in the same batch or weeks later, to the
//!   same or another certification) never makes a second entry.
//! - The entry's id is derived from the provider id and the completion id
//!   ([`posted_entry_id`]), its category is the provider's registered one (never what a row
//!   claims), and the certificant cannot edit it.
//! - A row whose certificant cannot be matched is kept as an unmatched posting in the staff
//!   reconciliation queue; staff link it to a certification or reject it, and the provider sees
//!   the outcome in its postings.

use crate::actor::{ActedBy, Actor, ProviderId};
use crate::certification::{CertificationAggregate, Changes, HistoryKind, Item};
use crate::credential::ProviderCategory;
use crate::entry::{Activity, CeEntry, EntrySource};
use crate::error::ConflictCode;
use crate::error::{DomainError, FieldErrors};
use crate::hours::Hours;
use crate::ids::{CertificantId, CertificationId, EntryId};
use chrono::{DateTime, NaiveDate, Utc};
use serde::{Deserialize, Serialize};

/// The most rows one batch may carry.
pub const MAX_BATCH_ROWS: usize = 500;
/// The longest completion or activity id a provider may use.
pub const MAX_EXTERNAL_ID_CHARS: usize = 100;
/// The longest reason (void, rejection, suspension).
pub const MAX_REASON_CHARS: usize = 500;
/// The most rows one commit of a batch carries: each row is two writes (the entry and its
/// posting) beside the root and the history event, within the 100 writes of one transaction.
pub const ROWS_PER_COMMIT: usize = 40;

/// The namespace of entry ids derived from postings (UUIDv5).
const POSTED_ENTRIES: uuid::Uuid = uuid::Uuid::from_u128(0x6a1c_2f0e_93b4_4d7e_8a55_0c3e_71d9_b2a4);

/// The entry id of a provider's completion: the same row always makes the same entry.
pub fn posted_entry_id(provider: &ProviderId, completion_id: &str) -> EntryId {
    let name = format!("{}\n{completion_id}", provider.0);
    EntryId(uuid::Uuid::new_v5(&POSTED_ENTRIES, name.as_bytes()))
}

/// Whether `id` is an acceptable provider id: 2 to 63 lowercase letters, digits and `-`,
/// starting with a letter or digit (it is also the identity provider's claim value).
pub fn provider_id_problem(id: &str) -> Option<&'static str> {
    let mut chars = id.chars();
    let first_ok = chars
        .next()
        .is_some_and(|c| c.is_ascii_lowercase() || c.is_ascii_digit());
    let rest_ok = chars.all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-');
    (!(first_ok && rest_ok && (2..=63).contains(&id.len()))).then_some(
        "must be 2 to 63 lowercase letters, digits or '-', starting with a letter or digit",
    )
}

/// A provider's own id for a completion or an activity: 1 to 100 of letters, digits and
/// `. _ : -` (they become part of keys and URL paths, so nothing else).
fn external_id_problem(id: &str) -> Option<String> {
    let ok = !id.is_empty()
        && id.chars().count() <= MAX_EXTERNAL_ID_CHARS
        && id
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | ':' | '-'));
    (!ok).then(|| format!("must be 1 to {MAX_EXTERNAL_ID_CHARS} letters, digits or . _ : -"))
}

/// Whether a provider may post.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum ProviderStatus {
    Active,
    Suspended,
}

/// The days a provider's activities are approved for (both inclusive).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ApprovalPeriod {
    #[schema(example = "2025-01-01")]
    pub from: NaiveDate,
    #[schema(example = "2027-12-31")]
    pub until: NaiveDate,
}

impl ApprovalPeriod {
    pub fn covers(&self, day: NaiveDate) -> bool {
        self.from <= day && day <= self.until
    }
}

/// Whom the certification body contacts at the provider.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ProviderContact {
    #[schema(
        example = "Registrar",
        max_length = 200,
        pattern = r"^[^\x00-\x1f\x7f-\x9f\u061c\u200e\u200f\u202a-\u202e\u2066-\u2069]*[^\x00-\x1f\x7f-\x9f\u061c\u200e\u200f\u202a-\u202e\u2066-\u2069\s\u00ad\u200b-\u200d\u2060\ufeff][^\x00-\x1f\x7f-\x9f\u061c\u200e\u200f\u202a-\u202e\u2066-\u2069]*$"
    )]
    pub name: String,
    /// The provider's contact address.
    pub email: crate::email::Email,
}

/// A partner provider, as registered by staff.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct Provider {
    /// The provider's id: also the value its tokens carry in the provider claim.
    #[schema(value_type = String, example = "dhc-learning")]
    pub id: ProviderId,
    pub name: String,
    /// The category its completions count in (whatever a row might claim).
    pub category: ProviderCategory,
    pub status: ProviderStatus,
    pub approval: ApprovalPeriod,
    pub contact: ProviderContact,
    /// 1 on registration, +1 on every change.
    pub version: u64,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
    /// Every change, oldest first.
    pub history: Vec<ProviderEvent>,
}

/// One change of a provider's record.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct ProviderEvent {
    /// The version this change made.
    pub seq: u64,
    pub at: DateTime<Utc>,
    pub actor: ActedBy,
    #[serde(flatten)]
    pub kind: ProviderEventKind,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum ProviderEventKind {
    Registered,
    /// Fields other than the status changed (their names).
    Updated {
        fields: Vec<String>,
    },
    /// The status changed, with the reason staff gave.
    StatusChanged {
        status: ProviderStatus,
        reason: String,
    },
}

/// What staff send to register a provider.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ProviderRegistration {
    #[schema(example = "dhc-learning", pattern = "^[a-z0-9][a-z0-9-]{1,62}$")]
    pub id: String,
    #[schema(
        example = "Digital Health Canada Learning",
        max_length = 200,
        pattern = r"^[^\x00-\x1f\x7f-\x9f\u061c\u200e\u200f\u202a-\u202e\u2066-\u2069]*[^\x00-\x1f\x7f-\x9f\u061c\u200e\u200f\u202a-\u202e\u2066-\u2069\s\u00ad\u200b-\u200d\u2060\ufeff][^\x00-\x1f\x7f-\x9f\u061c\u200e\u200f\u202a-\u202e\u2066-\u2069]*$"
    )]
    pub name: String,
    pub category: ProviderCategory,
    pub approval: ApprovalPeriod,
    pub contact: ProviderContact,
}

/// What staff send to change a provider: only the fields given change. A status change needs a
/// reason.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ProviderUpdate {
    #[serde(default)]
    pub name: Option<String>,
    #[serde(default)]
    pub category: Option<ProviderCategory>,
    #[serde(default)]
    pub approval: Option<ApprovalPeriod>,
    #[serde(default)]
    pub contact: Option<ProviderContact>,
    #[serde(default)]
    pub status: Option<ProviderStatus>,
    /// Why the status changes (required with `status`).
    #[serde(default)]
    pub reason: Option<String>,
}

fn check_contact(errors: &mut FieldErrors, contact: &ProviderContact) -> ProviderContact {
    let name = crate::text::check(errors, "contact/name", &contact.name, 200);
    // The address was parsed when it was read (an `Email`): one rule for every address.
    ProviderContact {
        name,
        email: contact.email.clone(),
    }
}

fn check_period(errors: &mut FieldErrors, period: &ApprovalPeriod) {
    if period.until < period.from {
        errors.add("approval/until", "must not be before approval/from");
    }
}

fn check_reason(errors: &mut FieldErrors, field: &str, reason: &str) -> String {
    crate::text::check(errors, field, reason, MAX_REASON_CHARS)
}

impl Provider {
    /// A new provider (active, version 1), as registered by `actor`.
    pub fn register(
        input: ProviderRegistration,
        actor: &Actor,
        now: DateTime<Utc>,
    ) -> Result<Provider, DomainError> {
        let mut errors = FieldErrors::default();
        if let Some(p) = provider_id_problem(&input.id) {
            errors.add("id", p);
        }
        let name = crate::text::check(&mut errors, "name", &input.name, 200);
        let contact = check_contact(&mut errors, &input.contact);
        check_period(&mut errors, &input.approval);
        errors.into_result().map_err(DomainError::Invalid)?;
        Ok(Provider {
            id: ProviderId(input.id),
            name,
            category: input.category,
            status: ProviderStatus::Active,
            approval: input.approval,
            contact,
            version: 1,
            created_at: now,
            updated_at: now,
            history: vec![ProviderEvent {
                seq: 1,
                at: now,
                actor: actor.acted_by(),
                kind: ProviderEventKind::Registered,
            }],
        })
    }

    /// The provider after `update` (one version later, each change in the history), or `None`
    /// when the update changes nothing.
    pub fn updated(
        &self,
        update: ProviderUpdate,
        actor: &Actor,
        now: DateTime<Utc>,
    ) -> Result<Option<Provider>, DomainError> {
        let mut errors = FieldErrors::default();
        let mut next = self.clone();
        let mut fields = Vec::new();
        if let Some(name) = &update.name {
            next.name = crate::text::check(&mut errors, "name", name, 200);
            if next.name != self.name {
                fields.push("name".to_string());
            }
        }
        if let Some(category) = update.category
            && category != self.category
        {
            next.category = category;
            fields.push("category".into());
        }
        if let Some(approval) = update.approval {
            check_period(&mut errors, &approval);
            if approval != self.approval {
                next.approval = approval;
                fields.push("approval".into());
            }
        }
        if let Some(contact) = &update.contact {
            next.contact = check_contact(&mut errors, contact);
            if next.contact != self.contact {
                fields.push("contact".into());
            }
        }
        let reason = update
            .reason
            .as_deref()
            .map(|r| check_reason(&mut errors, "reason", r));
        let status_change = match update.status {
            Some(status) if status != self.status => {
                if reason.is_none() {
                    errors.add("reason", "a status change needs a reason");
                }
                Some(status)
            }
            _ => None,
        };
        errors.into_result().map_err(DomainError::Invalid)?;
        let mut kinds = Vec::new();
        if !fields.is_empty() {
            kinds.push(ProviderEventKind::Updated { fields });
        }
        if let Some(status) = status_change {
            next.status = status;
            kinds.push(ProviderEventKind::StatusChanged {
                status,
                reason: reason.unwrap_or_default(),
            });
        }
        if kinds.is_empty() {
            return Ok(None);
        }
        next.version = self.version + 1;
        next.updated_at = now;
        for kind in kinds {
            next.history.push(ProviderEvent {
                seq: next.version,
                at: now,
                actor: actor.acted_by(),
                kind,
            });
        }
        Ok(Some(next))
    }

    /// Why this provider may not post a completion of `completed_on`, if it may not.
    pub fn posting_refusal(&self, completed_on: NaiveDate) -> Option<RowRejection> {
        if self.status == ProviderStatus::Suspended {
            return Some(RowRejection::new(
                RejectionCode::ProviderSuspended,
                "the provider is suspended; no completion is accepted",
            ));
        }
        if !self.approval.covers(completed_on) {
            return Some(RowRejection::new(
                RejectionCode::OutsideApprovalPeriod,
                format!(
                    "completed on {completed_on}, outside the provider's approval period {} to {}",
                    self.approval.from, self.approval.until
                ),
            ));
        }
        None
    }
}

/// One completion as a provider sends it: a JSON object, or a CSV record under a header row with
/// the same names. Unknown fields are refused.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CompletionRow {
    /// The provider's own id for this completion: unique per provider, the key of the posting.
    #[schema(example = "C-2026-000123")]
    pub completion_id: String,
    /// The certificate number of the certification it counts for (or give `certificant_id`).
    #[serde(default)]
    #[schema(example = "CPHIMS-00042")]
    pub certificate_number: Option<String>,
    /// The certificant, when the provider knows no certificate number.
    #[serde(default)]
    pub certificant_id: Option<CertificantId>,
    #[schema(example = "WEB-114")]
    pub activity_id: String,
    #[schema(example = "Interoperability in practice")]
    pub title: String,
    #[schema(example = "2026-03-14")]
    pub completed_on: NaiveDate,
    /// Hours in hundredths (150 = 1.50 h).
    #[schema(example = 150)]
    pub hours_hundredths: u32,
    /// The ethics part of the hours, in hundredths (0 when absent).
    #[serde(default)]
    pub ethics_hours_hundredths: Option<u32>,
    /// Canadian-specific content (false when absent).
    #[serde(default)]
    pub canadian_content: Option<bool>,
    /// A category the row may claim (providers' exports often carry one). Ignored: an entry
    /// always counts in the provider's registered category.
    #[serde(default)]
    pub provider_category: Option<ProviderCategory>,
}

/// A validated completion, as kept in its posting.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct Completion {
    pub completion_id: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub certificate_number: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub certificant_id: Option<CertificantId>,
    pub activity_id: String,
    pub title: String,
    pub completed_on: NaiveDate,
    #[serde(rename = "hours_hundredths")]
    #[schema(value_type = u32)]
    pub hours: Hours,
    #[serde(rename = "ethics_hours_hundredths")]
    #[schema(value_type = u32)]
    pub ethics_hours: Hours,
    pub canadian_content: bool,
}

impl CompletionRow {
    /// The completion, or why the row is refused. `max_hours` is the rules' largest activity,
    /// `today` the latest completion date accepted.
    pub fn validate(self, max_hours: Hours, today: NaiveDate) -> Result<Completion, RowRejection> {
        let mut errors = FieldErrors::default();
        let completion_id = self.completion_id.trim().to_string();
        if let Some(p) = external_id_problem(&completion_id) {
            errors.add("completion_id", p);
        }
        let activity_id = self.activity_id.trim().to_string();
        if let Some(p) = external_id_problem(&activity_id) {
            errors.add("activity_id", p);
        }
        let title = crate::text::check(
            &mut errors,
            "title",
            &self.title,
            crate::entry::MAX_TEXT_CHARS,
        );
        let certificate_number = self
            .certificate_number
            .map(|n| n.trim().to_string())
            .filter(|n| !n.is_empty());
        if let Some(n) = &certificate_number
            && crate::text::problem(n, 64).is_some()
        {
            errors.add("certificate_number", "must be 1 to 64 printable characters");
        }
        if certificate_number.is_none() && self.certificant_id.is_none() {
            errors.add(
                "certificate_number",
                "give the certificate number or the certificant id",
            );
        }
        if self.completed_on > today {
            errors.add("completed_on", format!("must not be after {today}"));
        }
        let hours = Hours(self.hours_hundredths);
        let ethics_hours = Hours(self.ethics_hours_hundredths.unwrap_or(0));
        let mut hours_invalid = false;
        if hours == Hours::ZERO || hours > max_hours {
            hours_invalid = true;
            errors.add(
                "hours_hundredths",
                format!("must be more than zero and at most {max_hours}"),
            );
        }
        if ethics_hours > hours {
            hours_invalid = true;
            errors.add(
                "ethics_hours_hundredths",
                "must not exceed hours_hundredths",
            );
        }
        if !errors.is_empty() {
            let code = if hours_invalid {
                RejectionCode::HoursInvalid
            } else {
                RejectionCode::InvalidRow
            };
            return Err(RowRejection::fields(code, errors));
        }
        Ok(Completion {
            completion_id,
            certificate_number,
            certificant_id: self.certificant_id,
            activity_id,
            title,
            completed_on: self.completed_on,
            hours,
            ethics_hours,
            canadian_content: self.canadian_content.unwrap_or(false),
        })
    }
}

/// Why a row was refused (stable codes for providers' systems).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum RejectionCode {
    /// A field is missing or malformed (see `fields`).
    InvalidRow,
    /// Hours are zero, over the largest activity, or ethics hours exceed them.
    HoursInvalid,
    ProviderSuspended,
    OutsideApprovalPeriod,
    /// The completion date is not in the certification's current cycle.
    OutsideCycle,
    /// The certification's current cycle was submitted (its transcript is locked) or it is no
    /// longer active.
    TranscriptLocked,
    /// The row could not be stored this time (a store failure); post it again.
    NotStored,
}

/// A refused row: its code, a message for people, and the fields at fault (for `invalid_row` and
/// `hours_invalid`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct RowRejection {
    pub code: RejectionCode,
    pub message: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schema(value_type = Option<std::collections::BTreeMap<String, Vec<String>>>)]
    pub fields: Option<FieldErrors>,
}

impl RowRejection {
    pub fn new(code: RejectionCode, message: impl Into<String>) -> Self {
        RowRejection {
            code,
            message: message.into(),
            fields: None,
        }
    }

    pub fn fields(code: RejectionCode, fields: FieldErrors) -> Self {
        RowRejection {
            code,
            message: "the row has invalid fields".into(),
            fields: Some(fields),
        }
    }
}

/// What became of a posted completion (the provider sees this in its postings).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(tag = "status", rename_all = "snake_case")]
pub enum PostingStatus {
    /// On a certification's transcript.
    Posted {
        certification_id: CertificationId,
        entry_id: EntryId,
        cycle_starts_on: NaiveDate,
        /// The staff member's role who linked it in reconciliation (absent: matched on posting).
        #[serde(default, skip_serializing_if = "Option::is_none")]
        linked_by: Option<String>,
    },
    /// No certification matched: it waits in the staff reconciliation queue.
    Unmatched { reason: String },
    /// Staff rejected it in reconciliation.
    Rejected { reason: String, at: DateTime<Utc> },
    /// The provider voided it; `entry_removed` says whether its entry left the transcript.
    Voided {
        reason: String,
        at: DateTime<Utc>,
        entry_removed: bool,
    },
    /// The provider voided it, but its cycle is locked by a submission (or closed): staff decide
    /// whether the entry goes. It waits in the reconciliation queue.
    VoidRequested {
        reason: String,
        at: DateTime<Utc>,
        certification_id: CertificationId,
        entry_id: EntryId,
        cycle_starts_on: NaiveDate,
    },
}

impl PostingStatus {
    /// Whether staff must act on it (the reconciliation queue).
    pub fn awaits_staff(&self) -> bool {
        matches!(
            self,
            PostingStatus::Unmatched { .. } | PostingStatus::VoidRequested { .. }
        )
    }
}

/// A completion as recorded in its provider's ledger: the one record of "this row was posted".
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct Posting {
    #[schema(value_type = String)]
    pub provider_id: ProviderId,
    pub completion: Completion,
    pub posted_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
    #[serde(flatten)]
    pub status: PostingStatus,
}

impl Posting {
    pub fn completion_id(&self) -> &str {
        &self.completion.completion_id
    }

    /// An unmatched posting, waiting for staff.
    pub fn unmatched(
        provider: &ProviderId,
        completion: Completion,
        reason: impl Into<String>,
        now: DateTime<Utc>,
    ) -> Posting {
        Posting {
            provider_id: provider.clone(),
            completion,
            posted_at: now,
            updated_at: now,
            status: PostingStatus::Unmatched {
                reason: reason.into(),
            },
        }
    }

    /// Rejected by staff in reconciliation (only an unmatched posting).
    pub fn rejected(&self, reason: &str, now: DateTime<Utc>) -> Result<Posting, DomainError> {
        if !matches!(self.status, PostingStatus::Unmatched { .. }) {
            return Err(not_waiting());
        }
        let reason = checked_reason(reason)?;
        Ok(Posting {
            updated_at: now,
            status: PostingStatus::Rejected { reason, at: now },
            ..self.clone()
        })
    }

    /// Voided by its provider while no entry exists for it (unmatched), or kept by staff after a
    /// void request (`entry_removed: false`).
    pub fn voided_without_entry(
        &self,
        reason: &str,
        now: DateTime<Utc>,
    ) -> Result<Posting, DomainError> {
        let reason = match &self.status {
            PostingStatus::Unmatched { .. } => checked_reason(reason)?,
            PostingStatus::VoidRequested { reason, .. } => reason.clone(),
            _ => return Err(not_waiting()),
        };
        Ok(Posting {
            updated_at: now,
            status: PostingStatus::Voided {
                reason,
                at: now,
                entry_removed: false,
            },
            ..self.clone()
        })
    }
}

fn checked_reason(reason: &str) -> Result<String, DomainError> {
    let mut errors = FieldErrors::default();
    let reason = check_reason(&mut errors, "reason", reason);
    errors.into_result().map_err(DomainError::Invalid)?;
    Ok(reason)
}

fn not_waiting() -> DomainError {
    DomainError::conflict(
        ConflictCode::PostingNotPending,
        "this posting is not waiting for that decision (it was decided already)",
    )
}

/// Where a posting's entry lives, when it has one.
fn posted_entry(posting: &Posting) -> Option<(CertificationId, EntryId)> {
    match posting.status {
        PostingStatus::Posted {
            certification_id,
            entry_id,
            ..
        }
        | PostingStatus::VoidRequested {
            certification_id,
            entry_id,
            ..
        } => Some((certification_id, entry_id)),
        _ => None,
    }
}

/// What links an entry to the posting it came from.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct PostingRef {
    #[schema(value_type = String)]
    pub provider_id: ProviderId,
    pub completion_id: String,
    pub activity_id: String,
}

/// A write of the provider ledger made in the same atomic commit as a certification's change.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PostingWrite {
    /// Record a new posting: the commit fails with a duplicate if one is already recorded.
    Create(Box<Posting>),
    /// Replace `current` with `next`: the commit fails (a conflict) unless the stored posting
    /// still equals `current`.
    Replace {
        current: Box<Posting>,
        next: Box<Posting>,
    },
}

impl PostingWrite {
    /// The posting as it will be stored.
    pub fn posting(&self) -> &Posting {
        match self {
            PostingWrite::Create(p) => p,
            PostingWrite::Replace { next, .. } => next,
        }
    }
}

/// What became of one row of a batch.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(tag = "result", rename_all = "snake_case")]
pub enum RowOutcome {
    /// A new entry on the certification's transcript.
    Created {
        certification_id: CertificationId,
        entry_id: EntryId,
    },
    /// This completion id was posted before (in this batch or earlier): nothing new was made.
    /// `posting` is what was recorded for it then.
    Duplicate {
        #[serde(flatten)]
        posting: PostingStatus,
    },
    /// No certification matched: the row is kept for staff reconciliation (see the posting).
    Unmatched { reason: String },
    /// Refused; nothing was recorded (fix and post it again).
    Rejected {
        #[serde(flatten)]
        rejection: RowRejection,
    },
}

/// The outcome of one row, by its position in the batch (1-based; for CSV, the data row after
/// the header).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct RowReport {
    pub row: usize,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub completion_id: Option<String>,
    #[serde(flatten)]
    pub outcome: RowOutcome,
}

/// The outcome of a batch: one report per row (in row order) and the counts.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct BatchReport {
    pub created: usize,
    pub duplicate: usize,
    pub unmatched: usize,
    pub rejected: usize,
    pub rows: Vec<RowReport>,
}

impl BatchReport {
    pub fn new(mut rows: Vec<RowReport>) -> Self {
        rows.sort_by_key(|r| r.row);
        let count = |f: fn(&RowOutcome) -> bool| rows.iter().filter(|r| f(&r.outcome)).count();
        BatchReport {
            created: count(|o| matches!(o, RowOutcome::Created { .. })),
            duplicate: count(|o| matches!(o, RowOutcome::Duplicate { .. })),
            unmatched: count(|o| matches!(o, RowOutcome::Unmatched { .. })),
            rejected: count(|o| matches!(o, RowOutcome::Rejected { .. })),
            rows,
        }
    }
}

/// What staff decide on a posting waiting in the reconciliation queue.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(tag = "action", rename_all = "snake_case", deny_unknown_fields)]
pub enum Reconciliation {
    /// An unmatched posting belongs to this certification: its entry is added there.
    Link { certification_id: CertificationId },
    /// An unmatched posting is refused, with the reason the provider will see.
    Reject {
        #[schema(
            max_length = 500,
            pattern = r"^[^\x00-\x1f\x7f-\x9f\u061c\u200e\u200f\u202a-\u202e\u2066-\u2069]*[^\x00-\x1f\x7f-\x9f\u061c\u200e\u200f\u202a-\u202e\u2066-\u2069\s\u00ad\u200b-\u200d\u2060\ufeff][^\x00-\x1f\x7f-\x9f\u061c\u200e\u200f\u202a-\u202e\u2066-\u2069]*$"
        )]
        reason: String,
    },
    /// A void request on a locked cycle: remove the entry (even from the locked cycle).
    RemoveEntry,
    /// A void request on a locked cycle: keep the entry (the posting is voided all the same).
    KeepEntry,
}

impl CertificationAggregate {
    /// The entry `completion` makes for `provider`: the provider's registered name and category.
    fn posted_entry(
        &self,
        provider: &Provider,
        completion: &Completion,
        now: DateTime<Utc>,
    ) -> CeEntry {
        CeEntry {
            id: posted_entry_id(&provider.id, &completion.completion_id),
            cycle_starts_on: self.certification.cycle_starts_on,
            activity: Activity {
                title: completion.title.clone(),
                provider_name: provider.name.clone(),
                provider_category: provider.category,
                canadian_content: completion.canadian_content,
                completed_on: completion.completed_on,
                hours: completion.hours,
                ethics_hours: completion.ethics_hours,
                evidence: vec![],
            },
            source: EntrySource::ProviderReported,
            posting: Some(PostingRef {
                provider_id: provider.id.clone(),
                completion_id: completion.completion_id.clone(),
                activity_id: completion.activity_id.clone(),
            }),
            distinct_confirmed: false,
            created_at: now,
            updated_at: now,
        }
    }

    /// Why `completion` cannot go on this certification's current transcript, if it cannot.
    fn posting_refusal(&self, completion: &Completion) -> Option<RowRejection> {
        if let Err(DomainError::Conflict { message, .. }) = self.ensure_transcript_open() {
            return Some(RowRejection::new(RejectionCode::TranscriptLocked, message));
        }
        let cycle = self.certification.cycle();
        if !cycle.counts(completion.completed_on) {
            return Some(RowRejection::new(
                RejectionCode::OutsideCycle,
                format!(
                    "completed on {}, outside the current cycle ({} to {})",
                    completion.completed_on,
                    cycle.starts_on,
                    cycle.counting_ends_on()
                ),
            ));
        }
        None
    }

    /// Post `completions` (rows of one batch matched to this certification, by row number) for
    /// `provider`: each becomes an entry and a posting in one commit, or is reported a duplicate
    /// (its entry exists) or rejected. `None` when nothing is to be written.
    pub fn post_completions(
        &self,
        provider: &Provider,
        completions: &[(usize, Completion)],
        actor: &Actor,
        now: DateTime<Utc>,
    ) -> (Vec<(usize, RowOutcome)>, Option<Changes>) {
        let mut outcomes = Vec::with_capacity(completions.len());
        let mut created = Vec::new();
        let mut writes = Vec::new();
        for (row, completion) in completions {
            let entry = self.posted_entry(provider, completion, now);
            let id = entry.id;
            if let Some(existing) = self.entries.iter().find(|e| e.id == id) {
                outcomes.push((
                    *row,
                    RowOutcome::Duplicate {
                        posting: PostingStatus::Posted {
                            certification_id: self.certification.id,
                            entry_id: existing.id,
                            cycle_starts_on: existing.cycle_starts_on,
                            linked_by: None,
                        },
                    },
                ));
                continue;
            }
            if let Some(rejection) = self.posting_refusal(completion) {
                outcomes.push((*row, RowOutcome::Rejected { rejection }));
                continue;
            }
            let posting = Posting {
                provider_id: provider.id.clone(),
                completion: completion.clone(),
                posted_at: now,
                updated_at: now,
                status: PostingStatus::Posted {
                    certification_id: self.certification.id,
                    entry_id: id,
                    cycle_starts_on: self.certification.cycle_starts_on,
                    linked_by: None,
                },
            };
            outcomes.push((
                *row,
                RowOutcome::Created {
                    certification_id: self.certification.id,
                    entry_id: id,
                },
            ));
            created.push(id);
            writes.push((entry, posting));
        }
        if writes.is_empty() {
            return (outcomes, None);
        }
        let mut change = self.change(
            actor,
            now,
            HistoryKind::CompletionsPosted {
                provider_id: provider.id.0.clone(),
                entry_ids: created,
            },
        );
        for (entry, posting) in writes {
            change = change
                .put(Item::Entry(entry))
                .post(PostingWrite::Create(Box::new(posting)));
        }
        (outcomes, Some(change.build()))
    }

    /// Staff link an unmatched `posting` to this certification: its entry is added (with the
    /// provider's registered category) and the posting records where it went, in one commit.
    pub fn link_posting(
        &self,
        posting: &Posting,
        provider: &Provider,
        actor: &Actor,
        now: DateTime<Utc>,
    ) -> Result<(Posting, Changes), DomainError> {
        if !matches!(posting.status, PostingStatus::Unmatched { .. }) {
            return Err(not_waiting());
        }
        if let Some(r) = self.posting_refusal(&posting.completion) {
            return Err(DomainError::conflict(
                match r.code {
                    RejectionCode::OutsideCycle => ConflictCode::OutsideCycle,
                    _ => ConflictCode::TranscriptLocked,
                },
                r.message,
            ));
        }
        let entry = self.posted_entry(provider, &posting.completion, now);
        if self.entries.iter().any(|e| e.id == entry.id) {
            return Err(DomainError::conflict(
                ConflictCode::EntryExists,
                "this completion's entry is already on the transcript",
            ));
        }
        let next = Posting {
            updated_at: now,
            status: PostingStatus::Posted {
                certification_id: self.certification.id,
                entry_id: entry.id,
                cycle_starts_on: self.certification.cycle_starts_on,
                linked_by: actor.role().map(|r| r.as_str().to_string()),
            },
            ..posting.clone()
        };
        let changes = self
            .change(actor, now, HistoryKind::EntryAdded { entry_id: entry.id })
            .put(Item::Entry(entry))
            .post(PostingWrite::Replace {
                current: Box::new(posting.clone()),
                next: Box::new(next.clone()),
            })
            .build();
        Ok((next, changes))
    }

    /// The provider voids a `posting` whose entry is on this certification: the entry leaves the
    /// transcript while it is open; when the cycle is locked (submitted, lapsed, or the entry is
    /// in an older cycle) the void waits for staff.
    pub fn void_posting(
        &self,
        posting: &Posting,
        reason: &str,
        actor: &Actor,
        now: DateTime<Utc>,
    ) -> Result<(Posting, Changes), DomainError> {
        let PostingStatus::Posted {
            certification_id,
            entry_id,
            cycle_starts_on,
            ..
        } = posting.status
        else {
            return Err(not_waiting());
        };
        let reason = checked_reason(reason)?;
        let open =
            self.entries.iter().any(|e| e.id == entry_id) && self.ensure_transcript_open().is_ok();
        let status = if open {
            PostingStatus::Voided {
                reason,
                at: now,
                entry_removed: true,
            }
        } else {
            PostingStatus::VoidRequested {
                reason,
                at: now,
                certification_id,
                entry_id,
                cycle_starts_on,
            }
        };
        let next = Posting {
            updated_at: now,
            status,
            ..posting.clone()
        };
        let write = PostingWrite::Replace {
            current: Box::new(posting.clone()),
            next: Box::new(next.clone()),
        };
        let changes = if open {
            self.change(actor, now, HistoryKind::EntryRemoved { entry_id })
                .delete(crate::certification::ItemKey::Entry {
                    cycle: cycle_starts_on,
                    id: entry_id,
                })
                .post(write)
                .build()
        } else {
            self.change(actor, now, HistoryKind::PostingVoidRequested { entry_id })
                .post(write)
                .build()
        };
        Ok((next, changes))
    }

    /// Staff decide a void request: remove the entry (`remove`, even from a locked cycle) or keep
    /// it; either way the posting is voided.
    pub fn decide_void(
        &self,
        posting: &Posting,
        remove: bool,
        actor: &Actor,
        now: DateTime<Utc>,
    ) -> Result<(Posting, Changes), DomainError> {
        let PostingStatus::VoidRequested {
            reason,
            entry_id,
            cycle_starts_on,
            ..
        } = &posting.status
        else {
            return Err(not_waiting());
        };
        let next = Posting {
            updated_at: now,
            status: PostingStatus::Voided {
                reason: reason.clone(),
                at: now,
                entry_removed: remove,
            },
            ..posting.clone()
        };
        let write = PostingWrite::Replace {
            current: Box::new(posting.clone()),
            next: Box::new(next.clone()),
        };
        let mut change = self.change(
            actor,
            now,
            HistoryKind::PostingVoidDecided {
                entry_id: *entry_id,
                removed: remove,
            },
        );
        if remove {
            change = change.delete(crate::certification::ItemKey::Entry {
                cycle: *cycle_starts_on,
                id: *entry_id,
            });
        }
        Ok((next, change.post(write).build()))
    }
}

/// The certification a posting's entry is on, if it has one.
pub fn posting_certification(posting: &Posting) -> Option<CertificationId> {
    posted_entry(posting).map(|(c, _)| c)
}

/// How a self-reported entry is matched to a provider-reported one as a probable duplicate (the
/// rules file's `[version.duplicates]`): same provider (by its registered name, ignoring case and
/// punctuation), completion dates at most `date_tolerance_days` apart, and — when `match_title`
/// — the same title (ignoring case and punctuation).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DuplicateMatch {
    pub date_tolerance_days: u32,
    pub match_title: bool,
}

impl Default for DuplicateMatch {
    /// Same provider, same day, same title.
    fn default() -> Self {
        DuplicateMatch {
            date_tolerance_days: 0,
            match_title: true,
        }
    }
}

/// A self-reported entry that probably reports a provider-reported one again: only the
/// provider's counts until the certificant deletes theirs or confirms it is a different activity.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, utoipa::ToSchema)]
pub struct ProbableDuplicate {
    /// The certificant's entry (not counted meanwhile).
    pub entry_id: EntryId,
    /// The provider-reported entry it matches (counted).
    pub provider_entry_id: EntryId,
}

/// Lowercase letters and digits only: "Digital Health Canada, Inc." and "digital health canada
/// inc" compare equal.
fn folded(text: &str) -> String {
    text.chars()
        .filter(|c| c.is_alphanumeric())
        .flat_map(char::to_lowercase)
        .collect()
}

impl DuplicateMatch {
    fn matches(&self, own: &CeEntry, posted: &CeEntry) -> bool {
        let (a, b) = (&own.activity, &posted.activity);
        let days = (a.completed_on - b.completed_on).num_days().unsigned_abs();
        days <= u64::from(self.date_tolerance_days)
            && folded(&a.provider_name) == folded(&b.provider_name)
            && (!self.match_title || folded(&a.title) == folded(&b.title))
    }
}

impl CertificationAggregate {
    /// The current cycle's self-reported entries that probably duplicate a provider-reported
    /// one (each provider entry absorbs at most one), unless the certificant confirmed them
    /// distinct.
    pub fn probable_duplicates(&self, rule: &DuplicateMatch) -> Vec<ProbableDuplicate> {
        let mut found: Vec<ProbableDuplicate> = Vec::new();
        let posted = self
            .entries
            .iter()
            .filter(|e| e.source == EntrySource::ProviderReported);
        for p in posted {
            let own = self.entries.iter().find(|e| {
                e.source == EntrySource::SelfReported
                    && !e.distinct_confirmed
                    && !found.iter().any(|d| d.entry_id == e.id)
                    && rule.matches(e, p)
            });
            if let Some(own) = own {
                found.push(ProbableDuplicate {
                    entry_id: own.id,
                    provider_entry_id: p.id,
                });
            }
        }
        found
    }

    /// The certificant confirms their self-reported entry `id` is not a duplicate of a
    /// provider's: it counts again.
    pub fn confirm_distinct(
        &self,
        id: EntryId,
        actor: &Actor,
        now: DateTime<Utc>,
    ) -> Result<(CeEntry, Changes), DomainError> {
        let existing = self.entry(id)?;
        self.ensure_transcript_open()?;
        if existing.source != EntrySource::SelfReported {
            return Err(DomainError::conflict(
                ConflictCode::ProviderReported,
                "only a self-reported entry can be confirmed distinct",
            ));
        }
        let entry = CeEntry {
            distinct_confirmed: true,
            updated_at: now,
            ..existing.clone()
        };
        let changes = self
            .change(actor, now, HistoryKind::EntryUpdated { entry_id: id })
            .put(Item::Entry(entry.clone()))
            .build();
        Ok((entry, changes))
    }
}

#[cfg(test)]
mod tests;

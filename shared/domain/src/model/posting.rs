//! A provider's postings: each completion a partner provider posted, how it was matched to a
//! transcript (or waits for staff), and the per-row report of a batch. The commands on a
//! certification are the use case `posting`; the provider itself is [`crate::provider`].

use crate::vocabulary::actor::ProviderId;
use crate::vocabulary::credential::ProviderCategory;
use crate::vocabulary::error::ConflictCode;
use crate::vocabulary::error::DomainError;
use crate::vocabulary::error::FieldErrors;
use crate::vocabulary::hours::Hours;
use crate::vocabulary::ids::CertificantId;
use crate::vocabulary::ids::CertificationId;
use crate::vocabulary::ids::EntryId;
use chrono::{DateTime, NaiveDate, Utc};
use serde::{Deserialize, Serialize};

/// The most rows one batch may carry.
/// The longest reason or note staff or a provider may give (a void, a rejection, a suspension).
pub const MAX_NOTE_CHARS: usize = 500;

pub const MAX_BATCH_ROWS: usize = 500;

/// The longest completion or activity id a provider may use.
pub const MAX_EXTERNAL_ID_CHARS: usize = 100;

/// The most rows one commit of a batch carries: each row is two writes (the entry and its
/// posting) beside the root and the history event, within the 100 writes of one transaction.
pub const ROWS_PER_COMMIT: usize = 40;

/// The namespace of entry ids derived from postings (UUIDv5).
pub(crate) const POSTED_ENTRIES: uuid::Uuid =
    uuid::Uuid::from_u128(0x6a1c_2f0e_93b4_4d7e_8a55_0c3e_71d9_b2a4);

/// The entry id of a provider's completion: the same row always makes the same entry.
pub fn posted_entry_id(provider: &ProviderId, completion_id: &str) -> EntryId {
    let name = format!("{}\n{completion_id}", provider.0);
    EntryId(uuid::Uuid::new_v5(&POSTED_ENTRIES, name.as_bytes()))
}

/// A provider's own id for a completion or an activity: 1 to 100 of letters, digits and
/// `. _ : -` (they become part of keys and URL paths, so nothing else).
pub(crate) fn external_id_problem(id: &str) -> Option<String> {
    let ok = !id.is_empty()
        && id.chars().count() <= MAX_EXTERNAL_ID_CHARS
        && id
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | ':' | '-'));
    (!ok).then(|| format!("must be 1 to {MAX_EXTERNAL_ID_CHARS} letters, digits or . _ : -"))
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
        let title = crate::vocabulary::text::check(
            &mut errors,
            "title",
            &self.title,
            crate::model::entry::MAX_TEXT_CHARS,
        );
        let certificate_number = self
            .certificate_number
            .map(|n| n.trim().to_string())
            .filter(|n| !n.is_empty());
        if let Some(n) = &certificate_number
            && crate::vocabulary::text::problem(n, 64).is_some()
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

pub(crate) fn checked_reason(reason: &str) -> Result<String, DomainError> {
    let mut errors = FieldErrors::default();
    let reason = check_reason(&mut errors, "reason", reason);
    errors.into_result().map_err(DomainError::Invalid)?;
    Ok(reason)
}

pub(crate) fn not_waiting() -> DomainError {
    DomainError::conflict(
        ConflictCode::PostingNotPending,
        "this posting is not waiting for that decision (it was decided already)",
    )
}

/// Where a posting's entry lives, when it has one.
pub(crate) fn posted_entry(posting: &Posting) -> Option<(CertificationId, EntryId)> {
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

/// The certification a posting's entry is on, if it has one.
pub fn posting_certification(posting: &Posting) -> Option<CertificationId> {
    posted_entry(posting).map(|(c, _)| c)
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

pub(crate) fn check_reason(errors: &mut FieldErrors, field: &str, reason: &str) -> String {
    crate::vocabulary::text::check(errors, field, reason, MAX_NOTE_CHARS)
}

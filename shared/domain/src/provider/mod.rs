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

use crate::model::posting::RejectionCode;
use crate::model::posting::RowRejection;
use crate::model::posting::check_reason;
use crate::vocabulary::actor::ActedBy;
use crate::vocabulary::actor::Actor;
use crate::vocabulary::actor::ProviderId;
use crate::vocabulary::credential::ProviderCategory;
use crate::vocabulary::error::DomainError;
use crate::vocabulary::error::FieldErrors;
use chrono::{DateTime, NaiveDate, Utc};
use serde::{Deserialize, Serialize};

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
    pub email: crate::vocabulary::email::Email,
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
    let name = crate::vocabulary::text::check(errors, "contact/name", &contact.name, 200);
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
        let name = crate::vocabulary::text::check(&mut errors, "name", &input.name, 200);
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
            next.name = crate::vocabulary::text::check(&mut errors, "name", name, 200);
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

#[cfg(test)]
mod tests;

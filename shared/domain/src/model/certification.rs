//! One credential held by one certificant: its status and current cycle.

use crate::calendar::Cycle;
use crate::vocabulary::credential::Credential;
use crate::vocabulary::ids::CertificantId;
use crate::vocabulary::ids::CertificationId;
use chrono::{DateTime, NaiveDate, Utc};
use serde::{Deserialize, Serialize};

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
}

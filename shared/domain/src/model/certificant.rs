//! A person who holds (or held) a credential.

use crate::vocabulary::credential::Membership;
use crate::vocabulary::ids::CertificantId;
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

/// A person who holds credentials. Personal data: never logged.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct Certificant {
    pub id: CertificantId,
    pub email: crate::vocabulary::email::Email,
    pub full_name: String,
    pub membership: Membership,
    pub created_at: DateTime<Utc>,
}
